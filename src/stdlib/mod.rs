//! The standard library handlers reach the world through: one native Rhai module per file.
//!
//! Each function checks the handler's permissions and the run's policy (`permission.rs`)
//! before it acts. `stdlib/README.md` at the top of the repository is the reference.

/// Registers a native function that must never be folded at compile time: every stdlib
/// function reads or changes the world, even with constant arguments.
macro_rules! add {
    ($module:expr, $name:expr, $func:expr) => {
        rhai::FuncRegistration::new($name)
            .with_volatility(true)
            .set_into_module($module, $func)
    };
}

/// Registers a native function that can fail. Rhai does not give errors from namespaced
/// native functions (`file::read`) the position of the call, so the call site is filled in
/// here from the call context.
macro_rules! fallible {
    ($module:expr, $name:expr, |$($arg:ident : $ty:ty),*| $body:expr) => {
        add!($module, $name, |ctx: rhai::NativeCallContext, $($arg: $ty),*| {
            ($body).map_err(|e| $crate::stdlib::at(&ctx, e))
        })
    };
}

mod env;
mod file;
mod http;
mod json;
mod log;
mod path;
mod permission;
mod shell;
mod template;
mod term;
mod time;
mod values;
mod vars;
mod yaml;

use rhai::{Engine, Module};

pub use file::sha256_hex;
pub use permission::{Capability, Permissions, Policy, Refusal, absolute, resolve};
pub use shell::{ProcessGroups, interrupt_children};

/// Adds every native module to the engine, as `shell::`, `file::`, ...
pub fn register_all(engine: &mut Engine) {
    let modules: [(&str, Module); 13] = [
        ("vars", vars::module()),
        ("log", log::module()),
        ("env", env::module()),
        ("json", json::module()),
        ("yaml", yaml::module()),
        ("file", file::module()),
        ("shell", shell::module()),
        ("http", http::module()),
        ("template", template::module()),
        ("path", path::module()),
        ("time", time::module()),
        ("values", values::module()),
        ("term", term::module()),
    ];
    for (name, module) in modules {
        engine.register_static_module(name, module.into());
    }
}

/// Gives an error without a position the position of the native call that raised it.
fn at(ctx: &rhai::NativeCallContext, mut e: Box<rhai::EvalAltResult>) -> Box<rhai::EvalAltResult> {
    if e.position().is_none() {
        e.set_position(ctx.call_position());
    }
    e
}
