//! The standard library handlers reach the world through: one native Rhai module per file.
//!
//! Each function checks the handler's permissions and the run's policy (`script/permission.rs`)
//! before it acts. `stdlib/README.md` at the top of the repository is the reference.

/// Registers a native function that must never be folded at compile time: every stdlib
/// function reads or changes the world, even with constant arguments.
macro_rules! add {
    ($module:expr, $name:expr, $func:expr) => {
        rhai::FuncRegistration::new($name)
            .with_volatility(true)
            .set_into_module(&mut $module.module, $func)
    };
}

/// Registers a native function that can fail. Rhai does not give errors from namespaced
/// native functions (`file::read`) the position of the call, so the call site is filled in
/// here from the call context.
///
/// `needs [Cap, ...]` declares the capabilities the function needs. The declaration is the
/// one place they are written: the wrapper refuses the call unless the handler declared
/// them (and the run allows them; function bodies check only the rest of the policy), and
/// the load-time check reads the same declaration ([`signatures`]) to refuse an undeclared
/// call before anything runs.
macro_rules! fallible {
    ($module:expr, $name:expr, |$($arg:ident : $ty:ty),*| $body:expr) => {
        fallible!($module, $name, needs [], |$($arg: $ty),*| $body)
    };
    ($module:expr, $name:expr, needs [$($cap:ident),*], || $body:expr) => {{
        const NEEDS: &[$crate::stdlib::Capability] = &[$($crate::stdlib::Capability::$cap),*];
        let module: &mut $crate::stdlib::StdModule = $module;
        let call = module.declare($name, NEEDS);
        add!(module, $name, move |ctx: rhai::NativeCallContext| {
            $crate::stdlib::grant(&call, NEEDS)
                .and_then(|()| $body)
                .map_err(|e| $crate::stdlib::at(&ctx, e))
        })
    }};
    ($module:expr, $name:expr, needs [$($cap:ident),*], |$($arg:ident : $ty:ty),*| $body:expr) => {{
        const NEEDS: &[$crate::stdlib::Capability] = &[$($crate::stdlib::Capability::$cap),*];
        let module: &mut $crate::stdlib::StdModule = $module;
        let call = module.declare($name, NEEDS);
        add!(module, $name, move |ctx: rhai::NativeCallContext, $($arg: $ty),*| {
            $crate::stdlib::grant(&call, NEEDS)
                .and_then(|()| $body)
                .map_err(|e| $crate::stdlib::at(&ctx, e))
        })
    }};
}

mod beneath;
pub mod contain;
mod env;
mod file;
mod host;
mod http;
mod json;
mod local;
mod log;
mod on_host;
pub mod options;
mod path;
mod registration;
mod shell;
mod template;
mod term;
mod time;
mod values;
mod vars;
pub(crate) mod yaml;

/// Moved to `digest` (the state and secrets hash too, below this stage); kept here under its
/// old path.
pub use crate::digest::sha256_hex;
// The permission types live in `script/` (the call context checks them, below the stdlib);
// kept here under their old paths.
pub use crate::script::{
    Capability, Located, NetRule, Permissions, Policy, Refusal, absolute, is_environ,
    is_environ_fd, resolve,
};
pub use registration::{
    Signature, StdModule, engine, function_names, not_found_note, overloads, register_all,
    signatures,
};
pub use shell::{ProcessGroups, interrupt_children};

use registration::grant;

/// Gives an error without a position the position of the native call that raised it.
fn at(ctx: &rhai::NativeCallContext, mut e: Box<rhai::EvalAltResult>) -> Box<rhai::EvalAltResult> {
    if e.position().is_none() {
        e.set_position(ctx.call_position());
    }
    e
}
