//! How the stdlib is registered: each module's functions and the capabilities each one
//! needs, declared together (`fallible!`'s `needs`), so the engine, the runtime check and
//! the load-time check of handlers ([`signatures`]) all read one declaration.

use rhai::{Engine, Module};

use super::Capability;
use super::{
    env, file, host, http, json, local, log, path, shell, template, term, time, values, vars, yaml,
};
use crate::script::{ImportResolver, ScriptLimits};

/// One stdlib module as it is built: the Rhai functions, and what each one needs.
pub struct StdModule {
    name: &'static str,
    /// The Rhai functions (`add!` registers into it).
    pub(super) module: Module,
    /// `(function, capabilities)`, as declared by `fallible!`.
    needs: Vec<(&'static str, &'static [Capability])>,
}

impl StdModule {
    pub(super) fn new(name: &'static str) -> Self {
        StdModule {
            name,
            module: Module::new(),
            needs: Vec::new(),
        }
    }

    /// Records what `function` needs; returns its full name (`file::read`) for messages.
    pub(super) fn declare(
        &mut self,
        function: &'static str,
        needs: &'static [Capability],
    ) -> String {
        if !needs.is_empty() {
            self.needs.push((function, needs));
        }
        format!("{}::{function}", self.name)
    }
}

/// Every native module, built.
fn modules() -> [StdModule; 15] {
    [
        vars::module(),
        log::module(),
        env::module(),
        json::module(),
        yaml::module(),
        file::module(),
        shell::module(),
        local::module(),
        host::module(),
        http::module(),
        template::module(),
        path::module(),
        time::module(),
        values::module(),
        term::module(),
    ]
}

/// The engine handlers run on: the script stage's sandbox with every native module added.
pub fn engine(limits: &ScriptLimits, resolver: ImportResolver) -> Engine {
    let mut engine = crate::script::sandbox(limits, resolver);
    register_all(&mut engine);
    engine
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

/// The native functions (stdlib modules and Rhai's built-ins) a script can call by `name`
/// (`path::join`, `sub_string`), one signature per overload in Rhai's type names:
/// `path::join(string, string)`. For "function not found" errors, which name only the
/// types given. Read once from the registration itself.
pub fn overloads(name: &str) -> &'static [String] {
    table().get(name).map_or(&[], Vec::as_slice)
}

/// For a "function not found" error `e` in the script `ast`: the signatures that exist under
/// its name (the stdlib's and Rhai's native ones, the script's own functions), or the
/// nearest name when none does.
pub fn not_found_note(e: &rhai::EvalAltResult, ast: &rhai::AST) -> Option<String> {
    let name = crate::script::function_not_found(e)?;
    const SHOWN: usize = 8;
    let mut all: Vec<String> = overloads(name).to_vec();
    if !name.contains("::") {
        all.extend(
            ast.iter_functions()
                .filter(|f| f.name == name)
                .map(|f| format!("{name}({})", f.params.join(", "))),
        );
    }
    if all.is_empty() {
        let mut names: Vec<&str> = ast.iter_functions().map(|f| f.name).collect();
        for n in function_names() {
            names.push(n);
        }
        return crate::diagnostic::did_you_mean(name, names)
            .map(|near| format!("no function is named `{name}`; did you mean `{near}`?"));
    }
    let more = all.len().saturating_sub(SHOWN);
    all.truncate(SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(format!("`{name}` exists as: {}{more}", all.join(", ")))
}

/// Every native function's name (`path::join`, `sub_string`), for a "did you mean".
pub fn function_names() -> impl Iterator<Item = &'static str> {
    table().keys().map(String::as_str)
}

fn table() -> &'static std::collections::BTreeMap<String, Vec<String>> {
    static TABLE: std::sync::OnceLock<std::collections::BTreeMap<String, Vec<String>>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let engine = engine(&ScriptLimits::default(), ImportResolver::default());
        let list = engine.collect_fn_metadata(
            None,
            |f| {
                let name = f.metadata.name.as_str();
                // Operators and property/index accessors (`get$x`) are not called by name.
                if f.script.is_some()
                    || !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    || name.contains('$')
                {
                    return None;
                }
                let full = if f.namespace.is_empty() {
                    name.to_string()
                } else {
                    format!("{}::{name}", f.namespace)
                };
                let types: Vec<&str> = f.metadata.param_types.iter().map(type_name).collect();
                Some((full.clone(), format!("{full}({})", types.join(", "))))
            },
            true,
        );
        let mut table: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (name, signature) in list {
            let all = table.entry(name).or_default();
            if !all.contains(&signature) {
                all.push(signature);
            }
        }
        for all in table.values_mut() {
            all.sort();
        }
        table
    })
}

/// A parameter type as scripts know it (`type_of` names, `string` for every string kind).
fn type_name(id: &std::any::TypeId) -> &'static str {
    use std::any::TypeId;
    let known: [(TypeId, &str); 14] = [
        (TypeId::of::<rhai::ImmutableString>(), "string"),
        (TypeId::of::<String>(), "string"),
        (TypeId::of::<&str>(), "string"),
        (TypeId::of::<rhai::INT>(), "int"),
        (TypeId::of::<rhai::FLOAT>(), "float"),
        (TypeId::of::<bool>(), "bool"),
        (TypeId::of::<char>(), "char"),
        (TypeId::of::<rhai::Array>(), "array"),
        (TypeId::of::<rhai::Map>(), "map"),
        (TypeId::of::<rhai::Blob>(), "blob"),
        (TypeId::of::<rhai::FnPtr>(), "Fn"),
        (TypeId::of::<()>(), "()"),
        (TypeId::of::<std::ops::Range<rhai::INT>>(), "range"),
        (TypeId::of::<std::ops::RangeInclusive<rhai::INT>>(), "range"),
    ];
    known
        .iter()
        .find(|(k, _)| k == id)
        .map_or("any", |(_, n)| *n)
}

/// Refuses a call unless the running handler declared every capability it needs and the
/// run allows them.
pub(super) fn grant(call: &str, needs: &[Capability]) -> Result<(), Box<rhai::EvalAltResult>> {
    if needs.is_empty() {
        return Ok(());
    }
    let ctx = crate::script::context::require(call)?;
    for cap in needs {
        ctx.require(*cap, call)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script stage names the native modules in its messages without importing this
    /// stage (layering): its list must be what is registered here.
    #[test]
    fn native_modules_are_the_registered_modules() {
        let mut names: Vec<&str> = modules().iter().map(|m| m.name).collect();
        names.sort_unstable();
        assert_eq!(names, crate::script::NATIVE_MODULES);
    }

    #[test]
    fn overloads_name_each_signature_in_script_types() {
        let join = overloads("path::join");
        assert!(
            join.iter().any(|s| s == "path::join(string, string)"),
            "{join:?}"
        );
        assert!(overloads("sub_string").len() >= 2);
        assert!(overloads("nope::nothing").is_empty());
        assert!(function_names().any(|n| n == "file::read"));
        assert!(!function_names().any(|n| n.contains('$') || n == "+"));
    }
}
