//! The Rhai engine: construction, limits, the per-call context with the permissions and
//! policy it checks, the run's shared variables, conversions, script errors.
//!
//! The stdlib is built on this stage and this stage never names it: [`sandbox`] is the
//! engine without the native modules, `stdlib::engine` the one handlers run on.

pub mod context;
pub mod convert;
mod deep;
mod engine;
mod error;
mod net_rule;
mod permission;
mod resolver;
pub mod scan;
mod twin;
mod unit_args;
mod variables;

pub use context::{CallContext, HandlerInfo};
pub use engine::{
    NATIVE_MODULES, STOP_INTERRUPTED, STOP_TIMEOUT, ScriptLimits, bytes_text, compile, sandbox,
};
pub use error::{LimitKind, ScriptError};
pub use net_rule::NetRule;
pub use permission::{
    Capability, Located, Permissions, Policy, Refusal, absolute, is_environ, is_environ_fd, resolve,
};
pub use resolver::{ImportResolver, ImportRoot, STDLIB_MODULES, module_source};
pub use twin::{Twin, TwinCall};
pub use unit_args::{UnitArguments, function_not_found, unit_arguments};
pub use variables::{Variable, Variables, is_plain};
