//! `ordo watch`: keep the project at its desired state — the reconcile loop, its triggers
//! and its HTTP endpoints (DESIGN.md §16).
//!
//! [`Loop`] runs cycles — at start, every `--interval` (± `--jitter`), when a manifest in
//! backoff may be tried again, on a change to an input file ([`files`], debounced), on
//! SIGHUP ([`signals`]) and on a reconcile request — each one run of the project with
//! `--keep-going` semantics through a [`Driver`] that `run/` provides, so the loop knows
//! nothing of loading or planning and the run nothing of cycles. The [`Tracker`] remembers
//! each manifest between cycles: its failures and backoff, its drift corrections and
//! whether it is flapping; the runner asks it through [`crate::exec::Gate`] what may start
//! and which drift is corrected. [`Wake`] is the loop's doorbell, rung by the timer, the
//! file watcher, the signal thread and [`Loop::reconcile_trigger`] ([`wake::Trigger`] says
//! which started a cycle).
//!
//! [`Board`] is what the loop and the endpoints share: the loop writes each cycle's
//! report to it, and [`server`] reads it to answer `/livez`, `/readyz`, `/status` and
//! `/metrics` ([`metrics`] encodes the last).
//!
//! The loop's thread owns the cycles; the file watcher, the signal thread and the grace
//! timer after SIGTERM only ring the doorbell or set the running cycle's stop flag.

pub mod board;
pub mod files;
pub mod metrics;
mod reconcile;
pub mod server;
pub mod signals;
mod tracker;
pub mod wake;

pub use board::{Board, CycleReport, CycleResult, ManifestReport};
pub use reconcile::{Cycle, CycleEnd, Driver, Loaded, Loop, MIN_GAP, RunOutcome};
pub use server::{ListenError, OnReconcile, Server, listen_address};
pub use tracker::{FLAP_CORRECTIONS, Observed, StepResult, Tracker};
pub use wake::Wake;
