//! Execution: the runner and the handler call. The events, statuses and variables it
//! shares with the handlers live below it (`events/`, `script/`) and are re-exported here.

mod hosts;
pub mod interrupt;
mod mode;
mod rollback;
mod runner;

// Events, statuses, diffs and secrets live in `events/`, the shared variables in `script/`,
// below this stage (the handlers' call context needs them); kept here under their old paths.
pub use crate::events::{Event, EventSink, LogLevel, Reporter, Status, StepInfo, Summary};
pub use crate::events::{diff, secrets};
pub use crate::manifest::split_name;
pub use crate::script::{Variable, Variables, is_plain};
pub use hosts::{HostPool, params as host_params};
pub use mode::RunMode;
pub use rollback::rolling_back;
pub use runner::{
    Baseline, Failure, Gate, Orphan, Outcome, Previous, Recorder, Restore, RunReport, RunSettings,
    Runner,
};
