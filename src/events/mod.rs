//! What a run tells the outside world: events, statuses, plan diffs, and the masking of
//! secrets that every one of them passes through.
//!
//! Deep code never prints: the runner emits [`Event`]s into an [`EventSink`], and so do
//! handlers, through their call context (`log::*`, `print`); `report/` renders them. The
//! types live below `exec/`, `script/` and `stdlib/` because all three emit them (see the
//! layering in `lib.rs`); `exec` re-exports them under their old paths.

pub mod diff;
mod event;
pub mod secrets;
mod status;

pub use event::{Event, EventSink, HandlerSource, LogLevel, Reporter, StepInfo};
pub use status::{Status, Summary};
