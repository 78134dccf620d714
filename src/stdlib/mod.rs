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

/// One stdlib module as it is built: the Rhai functions, and what each one needs.
pub struct StdModule {
    name: &'static str,
    module: Module,
    /// `(function, capabilities)`, as declared by `fallible!`.
    needs: Vec<(&'static str, &'static [Capability])>,
}

impl StdModule {
    fn new(name: &'static str) -> Self {
        StdModule {
            name,
            module: Module::new(),
            needs: Vec::new(),
        }
    }

    /// Records what `function` needs; returns its full name (`file::read`) for messages.
    fn declare(&mut self, function: &'static str, needs: &'static [Capability]) -> String {
        if !needs.is_empty() {
            self.needs.push((function, needs));
        }
        format!("{}::{function}", self.name)
    }
}

/// Every native module, built.
fn modules() -> [StdModule; 13] {
    [
        vars::module(),
        log::module(),
        env::module(),
        json::module(),
        yaml::module(),
        file::module(),
        shell::module(),
        http::module(),
        template::module(),
        path::module(),
        time::module(),
        values::module(),
        term::module(),
    ]
}

/// Adds every native module to the engine, as `shell::`, `file::`, ...
pub fn register_all(engine: &mut Engine) {
    for m in modules() {
        engine.register_static_module(m.name, m.module.into());
    }
}

/// A stdlib function as the static check of handlers sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signature {
    /// The module: `file`.
    pub module: &'static str,
    /// The function: `read`.
    pub name: String,
    /// Its number of arguments (one entry per overload).
    pub arity: usize,
    /// The capabilities a call needs.
    pub needs: Vec<Capability>,
}

impl Signature {
    /// `file::read`.
    pub fn full_name(&self) -> String {
        format!("{}::{}", self.module, self.name)
    }
}

/// Every native stdlib function with its arity and capabilities, read from the registration
/// itself (the functions Rhai holds, the capabilities `fallible!` declared), so the check
/// cannot drift from what runs. Sorted by module, name and arity.
pub fn signatures() -> &'static [Signature] {
    static TABLE: std::sync::OnceLock<Vec<Signature>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut engine = Engine::new_raw();
        let mut needs: Vec<(&'static str, &'static str, &'static [Capability])> = Vec::new();
        let mut names: Vec<&'static str> = Vec::new();
        for m in modules() {
            names.push(m.name);
            needs.extend(m.needs.iter().map(|(f, caps)| (m.name, *f, *caps)));
            engine.register_static_module(m.name, m.module.into());
        }
        let (names, needs) = (&names, &needs);
        let mut table = engine.collect_fn_metadata(
            None,
            |f| {
                let module = *names.iter().find(|n| **n == f.namespace)?;
                let name = f.metadata.name.to_string();
                let caps = needs
                    .iter()
                    .find(|(m, n, _)| *m == module && *n == name)
                    .map(|(_, _, caps)| caps.to_vec())
                    .unwrap_or_default();
                Some(Signature {
                    module,
                    name,
                    arity: f.metadata.num_params,
                    needs: caps,
                })
            },
            false,
        );
        table.sort();
        table.dedup();
        table
    })
}

/// Refuses a call unless the running handler declared every capability it needs and the
/// run allows them.
fn grant(call: &str, needs: &[Capability]) -> Result<(), Box<rhai::EvalAltResult>> {
    if needs.is_empty() {
        return Ok(());
    }
    let ctx = crate::script::context::require(call)?;
    for cap in needs {
        ctx.require(*cap, call)?;
    }
    Ok(())
}

/// Gives an error without a position the position of the native call that raised it.
fn at(ctx: &rhai::NativeCallContext, mut e: Box<rhai::EvalAltResult>) -> Box<rhai::EvalAltResult> {
    if e.position().is_none() {
        e.set_position(ctx.call_position());
    }
    e
}
