//! The Rhai engine: construction, limits, the per-call context, conversions, script errors.

pub mod context;
pub mod convert;
mod deep;
mod engine;
mod error;
mod resolver;
pub mod scan;

pub use context::{CallContext, HandlerInfo};
pub use engine::{STOP_INTERRUPTED, STOP_TIMEOUT, ScriptLimits, build, bytes_text, compile};
pub use error::{LimitKind, ScriptError};
pub use resolver::{ImportResolver, ImportRoot, STDLIB_MODULES, module_source};
