//! `ordo watch`: the reconcile loop, its triggers and its HTTP endpoints (DESIGN.md §16).
//!
//! [`Board`] is what the loop and the endpoints share: the loop writes each cycle's
//! report to it, and [`server`] reads it to answer `/livez`, `/readyz`, `/status` and
//! `/metrics` ([`metrics`] encodes the last).

pub mod board;
pub mod metrics;
pub mod server;

pub use board::{Board, CycleReport, CycleResult, ManifestReport};
pub use server::{ListenError, Server, Trigger, listen_address};
