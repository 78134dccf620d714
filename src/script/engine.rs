//! The one Rhai engine of a run: built raw, with exactly what handlers may use.
//!
//! `Engine::new_raw()` has no I/O at all. We add the standard package (pure functions),
//! `register` and `permissions` for the load phase, and an import resolver that only serves
//! `ordo/<name>` and files inside a handler's own source directory. The stdlib's native
//! modules are added one stage up, by `stdlib::engine`: the stdlib is built on this stage
//! (the call context, the permissions), so this stage cannot name it.
//! `eval` is disabled. Every limit is set explicitly, because Rhai's defaults differ between
//! debug and release builds and tests run in debug.

use std::time::Duration;

use rhai::packages::{Package, StandardPackage};
use rhai::{Engine, NativeCallContext, OptimizationLevel};

use super::context;
use super::resolver::ImportResolver;
use crate::events::LogLevel;

/// The sandbox's limits. Each has a flag or a manifest field; the defaults are documented in
/// `stdlib/README.md`.
#[derive(Clone, Copy, Debug)]
pub struct ScriptLimits {
    /// Rhai operations (roughly: expressions, loop iterations, calls) per handler call;
    /// 0 means no limit.
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_fn_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Bytes of all the variables of a run together (`vars::set`, outputs): one manifest
    /// cannot fill ordo's memory through them.
    pub max_variables_size: usize,
    /// Wall-clock time of one handler call unless `metadata.timeout` says otherwise.
    pub timeout: Duration,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 100_000_000,
            max_call_levels: 64,
            max_expr_depth: 64,
            max_fn_expr_depth: 64,
            max_string_size: 64 << 20,
            max_array_size: 1_000_000,
            max_map_size: 100_000,
            max_variables_size: 256 << 20,
            timeout: Duration::from_secs(3600),
        }
    }
}

/// A size for messages: `64 MiB`, `1000 bytes`.
pub fn bytes_text(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Tokens `on_progress` stops a script with.
pub const STOP_TIMEOUT: &str = "timeout";
pub const STOP_INTERRUPTED: &str = "interrupted";

/// Operations between two looks at the clock and the cancel flag (`Instant::now` goes
/// through the vDSO: tens of nanoseconds).
const CHECK_EVERY: u64 = 16;

/// The names of the stdlib's native modules (`file::`, `shell::`, ...), sorted, for this
/// stage's messages about an unknown module. The stdlib registers them one stage up; its
/// tests check this list against what it registers.
pub const NATIVE_MODULES: [&str; 15] = [
    "env", "file", "host", "http", "json", "local", "log", "path", "shell", "template", "term",
    "time", "values", "vars", "yaml",
];

/// The sandbox without the stdlib's native modules; `stdlib::engine` is the engine
/// handlers run on.
pub fn sandbox(limits: &ScriptLimits, resolver: ImportResolver) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(StandardPackage::new().as_shared_module());
    engine.set_optimization_level(OptimizationLevel::Simple);

    engine.disable_symbol("eval");
    engine.set_module_resolver(resolver);
    super::deep::register(&mut engine);

    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_variables(10_000);
    engine.set_max_functions(10_000);
    engine.set_max_modules(256);
    engine.set_strict_variables(true);
    engine.set_fail_on_invalid_map_property(false);

    engine.on_progress(|ops| {
        // Often: one operation can be a slow built-in (`contains` on a million-item
        // array), so the overshoot past the deadline is a few such operations (issue 15).
        if ops % CHECK_EVERY != 0 {
            return None;
        }
        // A module's top level has no grant, but its importer's deadline still holds.
        context::stop_reason().map(Into::into)
    });
    #[expect(
        deprecated,
        reason = "`on_var` is marked volatile, not deprecated; it is the documented hook"
    )]
    engine.on_var(top_level_constant);
    engine.on_print(|text| log_from_script(LogLevel::Info, text));
    engine.on_debug(|text, _source, _pos| log_from_script(LogLevel::Debug, text));

    engine.register_fn("register", register);
    engine.register_fn("permissions", permissions);
    engine.register_fn("actions", actions);
    engine.register_fn("schema", schema);
    engine
}

/// Makes a script's top-level `const NAME` visible by its plain name inside its functions,
/// as the README promises (Rhai alone only offers `global::NAME` there). Locals and
/// parameters win: only a name that is in no scope is looked up among the constants the
/// top level defined (see [`compile`] for the compile-time half).
fn top_level_constant(
    name: &str,
    index: usize,
    ctx: rhai::EvalContext,
) -> Result<Option<rhai::Dynamic>, Box<rhai::EvalAltResult>> {
    // A variable the parser resolved to a slot of the scope is a local.
    if index > 0 || ctx.scope().contains(name) {
        return Ok(None);
    }
    let Some(constants) = &ctx.global_runtime_state().constants else {
        return Ok(None);
    };
    let constants = constants
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(constants.get(name).cloned())
}

/// Compiles a handler script. Rhai's strict-variables mode refuses a function that names a
/// top-level constant; when that is the failure, the script is compiled again with the
/// top level's constant names declared, and [`top_level_constant`] serves their values
/// when the functions run.
pub fn compile(engine: &Engine, text: &str) -> Result<rhai::AST, rhai::ParseError> {
    let first = engine.compile(text);
    let Err(e) = &first else {
        return first;
    };
    if !matches!(e.err_type(), rhai::ParseErrorType::VariableUndefined(_)) {
        return first;
    }
    // The top level's constants, from a lenient parse (nothing is run).
    let mut lenient = Engine::new_raw();
    lenient.set_optimization_level(OptimizationLevel::None);
    let Ok(ast) = lenient.compile(text) else {
        return first;
    };
    let mut scope = rhai::Scope::new();
    for stmt in ast.statements() {
        if let rhai::Stmt::Var(v, flags, _) = stmt
            && flags.contains(rhai::ASTFlags::CONSTANT)
        {
            // Declared as plain variables, so the optimizer does not fold a placeholder
            // value into the functions.
            scope.push_dynamic(v.0.name.as_str(), rhai::Dynamic::UNIT);
        }
    }
    if scope.is_empty() {
        return first;
    }
    engine.compile_with_scope(&scope, text).or(first)
}

fn log_from_script(level: LogLevel, text: &str) {
    if let Some(ctx) = context::current() {
        ctx.log(level, text.to_string());
    }
}

/// `register(kind, range)`: at load, records what the handler serves. Later it does nothing,
/// so a top level that is replayed before calls (to bind its imports) is harmless.
fn register(ctx: NativeCallContext, kind: &str, range: &str) {
    let pos = ctx.call_position();
    context::with_load(|s| {
        s.registrations
            .push((kind.to_string(), range.to_string(), pos))
    });
}

/// `actions(#{...})`: at load, records the handler's custom actions (checked by the
/// handler stage).
fn actions(ctx: NativeCallContext, declared: rhai::Map) {
    let pos = ctx.call_position();
    context::with_load(|s| s.actions.push((declared, pos)));
}

/// `schema(#{...})`: at load, records the declaration of the handler's `spec` (checked by
/// the handler stage, `handler::schema`).
fn schema(ctx: NativeCallContext, fields: rhai::Dynamic) {
    let pos = ctx.call_position();
    let mut fields = Some(fields);
    context::with_load(|s| s.schemas.extend(fields.take().map(|f| (f, pos))));
    // Replayed before a call, the top level declares nothing; a schema nested thousands
    // deep must not overflow the stack as it goes.
    if let Some(f) = fields {
        super::convert::dismantle(f);
    }
}

/// `permissions([...])`: at load, records the handler's grant.
fn permissions(ctx: NativeCallContext, list: rhai::Array) -> Result<(), Box<rhai::EvalAltResult>> {
    let pos = ctx.call_position();
    let mut names = Vec::new();
    for item in list {
        let Some(name) = item.clone().into_immutable_string().ok() else {
            return Err(context::script_error(
                format!(
                    "`permissions` takes a list of strings, found {}",
                    item.type_name()
                ),
                None,
            ));
        };
        names.push((name.to_string(), pos));
    }
    context::with_load(|s| {
        s.permission_calls.push(pos);
        s.permissions.extend(names);
    });
    Ok(())
}
