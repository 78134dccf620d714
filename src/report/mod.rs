//! Rendering: diagnostics, and run events for humans, as JSON and as JSON lines.

pub mod diagnostic;
mod human;
mod json;

pub use human::{HumanReporter, duration};
pub use json::{JsonLinesReporter, JsonReporter, ManifestJson, event_json};
