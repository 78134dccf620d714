//! Execution: the runner, statuses, events, shared variables.

pub mod diff;
mod event;
mod runner;
pub mod secrets;
mod status;
mod variables;

pub use event::{Event, EventSink, LogLevel, Reporter, StepInfo};
pub use runner::{
    Baseline, Failure, Orphan, Outcome, Previous, Recorder, RunReport, RunSettings, Runner,
};
pub use status::{Status, Summary};
pub use variables::{Variable, Variables, is_plain, split_name};
