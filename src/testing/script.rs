//! `*.test.rhai` files (DESIGN §12): handler tests written in Rhai.
//!
//! Each `fn test_*()` (no parameters) of such a file is one case, named `FILE: test_name`,
//! run in a fresh [`Sandbox`] on an engine built as the run's ([`engine`]: the same limits,
//! no `eval`) with `assert`, `assert_eq` added. The case's sandbox is reached from those
//! functions through a per-thread context set while the case runs (a case runs on one
//! thread). A runtime error or a failed assertion fails the case with the file:line:col of
//! the failing line; a syntax error is an input error of the file.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext, Position};

use super::case::{CaseResult, Invocation, Sandbox, Suite};
use super::expect::{Failure, diff};
use super::file::{CaseAction, MockSpec};
use crate::diagnostic::Diagnostic;
use crate::manifest::SourceFile;
use crate::script::{ImportResolver, ScriptLimits};
use crate::source::{Location, Mark};

/// Largest `*.test.rhai` file read.
const MAX_FILE_BYTES: u64 = 8 << 20;

/// A compiled `*.test.rhai` file and its test functions.
pub struct ScriptFile {
    pub source: Arc<SourceFile>,
    pub ast: rhai::AST,
    /// Each `fn test_*()`: its name and line, in the file's order.
    pub tests: Vec<(String, u32)>,
}

/// One case of a script file that the filter keeps: the file's index, the test's index.
#[derive(Debug, Clone, Copy)]
pub struct ScriptCase {
    pub file: usize,
    pub test: usize,
}

/// The engine `*.test.rhai` files run on: the run's (`stdlib::engine`: limits, no `eval`)
/// with the test functions added.
pub fn engine(limits: &ScriptLimits, resolver: ImportResolver) -> Engine {
    let mut engine = crate::stdlib::engine(limits, resolver);
    engine.register_fn("assert", assert1);
    engine.register_fn("assert", assert2);
    engine.register_fn("assert_eq", assert_eq2);
    engine.register_fn("assert_eq", assert_eq3);
    let mut mock = rhai::Module::new();
    mock.set_native_fn("shell", |ctx: NativeCallContext, spec: rhai::Map| {
        add_mock(&ctx, "shell", spec)
    });
    mock.set_native_fn("http", |ctx: NativeCallContext, spec: rhai::Map| {
        add_mock(&ctx, "http", spec)
    });
    mock.set_native_fn("calls", |ctx: NativeCallContext, module: &str| {
        calls(&ctx, module)
    });
    engine.register_static_module("mock", mock.into());
    let mut ordo = rhai::Module::new();
    ordo.set_native_fn(
        "run",
        |ctx: NativeCallContext, action: &str, manifest: rhai::Map| {
            run_manifest(&ctx, action, manifest)
        },
    );
    engine.register_static_module("ordo", ordo.into());
    engine
}

/// The case running on this thread, or an error naming `what` outside a case.
fn current(
    ctx: &NativeCallContext,
    what: &str,
) -> Result<std::rc::Rc<CaseContext>, Box<EvalAltResult>> {
    CURRENT.with(|c| c.borrow().clone()).ok_or_else(|| {
        fail(
            ctx,
            format!("`{what}` works only inside a `fn test_*()` of a `*.test.rhai`"),
        )
    })
}

/// `map` as a YAML node of a document of its own (JSON text is YAML), read back as the
/// test file's parts are.
fn as_node(
    ctx: &NativeCallContext,
    case: &CaseContext,
    what: &str,
    map: rhai::Map,
) -> Result<(Arc<SourceFile>, crate::manifest::Node), Box<EvalAltResult>> {
    let json = crate::script::convert::to_json(&Dynamic::from_map(map), what)
        .map_err(|e| fail(ctx, format!("{what}: {e}")))?;
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    let source = SourceFile::new(case.file.name(), case.sandbox.dir.clone(), text);
    let stream = crate::manifest::parse_stream(source.text(), &crate::manifest::Limits::default());
    if let Some(e) = stream.error {
        return Err(fail(ctx, format!("{what}: {}", e.kind)));
    }
    let node = stream
        .documents
        .into_iter()
        .next()
        .map(|d| d.root)
        .ok_or_else(|| fail(ctx, format!("{what}: empty")))?;
    Ok((source, node))
}

fn problems(ctx: &NativeCallContext, what: &str, errors: Vec<Diagnostic>) -> Box<EvalAltResult> {
    let text: Vec<String> = errors.into_iter().map(|d| d.message).collect();
    fail(ctx, format!("{what}: {}", text.join("; ")))
}

/// `mock::shell(#{...})` / `mock::http(#{...})`: a mock read as a `mocks.shell` /
/// `mocks.http` entry of a YAML case, added after the case's others.
fn add_mock(
    ctx: &NativeCallContext,
    module: &str,
    spec: rhai::Map,
) -> Result<(), Box<EvalAltResult>> {
    let what = format!("mock::{module}");
    let case = current(ctx, &what)?;
    let (source, node) = as_node(ctx, &case, &what, spec)?;
    let at = mark(ctx.call_position());
    let mut errors = Vec::new();
    if module == "shell" {
        match super::file::shell_mock(&source, &node, &mut errors) {
            Some(mut m) if errors.is_empty() => {
                m.mark = at;
                case.sandbox.mocks.add_shell(m);
            }
            _ => return Err(problems(ctx, &what, errors)),
        }
    } else {
        match super::file::http_mock(&source, &node, &mut errors) {
            Some(mut m) if errors.is_empty() => {
                m.mark = at;
                case.sandbox.mocks.add_http(m);
            }
            _ => return Err(problems(ctx, &what, errors)),
        }
    }
    Ok(())
}

/// `mock::calls(module)`: the calls of the case so far to `module` (`shell`, `http`,
/// `env`, ...), each `#{args: [...], script: "..." or ()}`.
fn calls(ctx: &NativeCallContext, module: &str) -> Result<rhai::Array, Box<EvalAltResult>> {
    let case = current(ctx, "mock::calls")?;
    Ok(case
        .sandbox
        .mocks
        .calls()
        .into_iter()
        .filter(|c| c.module == module)
        .map(|c| {
            let mut m = rhai::Map::new();
            m.insert(
                "args".into(),
                Dynamic::from_array(c.args.into_iter().map(Dynamic::from).collect()),
            );
            m.insert(
                "script".into(),
                c.script.map_or(Dynamic::UNIT, Dynamic::from),
            );
            Dynamic::from_map(m)
        })
        .collect())
}

/// `ordo::run(action, manifest)`: the manifest (a map, checked as a manifest document is)
/// through its handler's `action` as a YAML case runs it, in this case's sandbox and
/// mocks; `#{status, error, outputs}`.
fn run_manifest(
    ctx: &NativeCallContext,
    action: &str,
    manifest: rhai::Map,
) -> Result<rhai::Map, Box<EvalAltResult>> {
    let what = "ordo::run";
    let case = current(ctx, what)?;
    let action = match action {
        "apply" => CaseAction::Apply,
        "delete" => CaseAction::Delete,
        "check" => CaseAction::Check,
        "verify" => CaseAction::Verify,
        "rollback" => CaseAction::Rollback,
        "" => return Err(fail(ctx, format!("{what}: the action is empty"))),
        other => CaseAction::Custom(other.to_string()),
    };
    let (source, node) = as_node(ctx, &case, what, manifest)?;
    let (m, errors) = crate::manifest::check_document(&source, node.mark, node, 0);
    let Some(mut m) = m.filter(|_| errors.is_empty()) else {
        return Err(problems(
            ctx,
            what,
            errors.into_iter().map(Diagnostic::from).collect(),
        ));
    };
    let shared = &case.shared;
    let suite = shared.suite();
    let handler = shared
        .registry
        .resolve(&m.kind, &m.version)
        .map_err(|e| problems(ctx, what, vec![e.into_diagnostic(m.at(m.kind_mark))]))?;
    shared
        .registry
        .prepare(&shared.engine, &shared.limits, handler);
    let h = shared.registry.get(handler);
    let compiled = h.compiled().map_err(|e| {
        fail(
            ctx,
            format!("{what}: handler {} does not load: {e}", h.name()),
        )
    })?;
    let mut out = rhai::Map::new();
    if let Some(schema) = compiled.schema.clone() {
        let mut found = Vec::new();
        crate::handler::conform::check_spec(&schema, &mut m.spec, &mut found);
        if !found.is_empty() {
            let text: Vec<String> = found.into_iter().map(|p| p.message).collect();
            out.insert("status".into(), "invalid".into());
            out.insert("error".into(), text.join("; ").into());
            out.insert("outputs".into(), Dynamic::from_map(rhai::Map::new()));
            return Ok(out);
        }
    }
    let seen = suite.invoke(
        &case.sandbox,
        &m,
        handler,
        &Invocation {
            action,
            params: None,
            previous: None,
        },
    );
    out.insert(
        "status".into(),
        seen.status.map_or("none", |s| s.as_str()).into(),
    );
    out.insert(
        "error".into(),
        seen.error.map_or(Dynamic::UNIT, Dynamic::from),
    );
    let outputs = match seen.result {
        Some(r) => crate::script::convert::json_to_dynamic(&r),
        None => Dynamic::from_map(
            case.sandbox
                .vars
                .of_manifest(&m.name)
                .into_iter()
                .map(|(k, v)| (k.into(), v.value))
                .collect(),
        ),
    };
    out.insert("outputs".into(), outputs);
    Ok(out)
}

/// Reads and compiles the test file at `path`; a problem (unreadable, a syntax error, a
/// `fn test_*` with parameters, no test function) is an input error with file:line:col.
pub fn load(path: &Path, engine: &Engine, errors: &mut Vec<Diagnostic>) -> Option<ScriptFile> {
    let shown = path.strip_prefix(".").unwrap_or(path).display().to_string();
    let text = match crate::input::read_text_bounded(path, MAX_FILE_BYTES) {
        Ok(t) => t,
        Err(e) => {
            errors.push(Diagnostic::error(format!(
                "cannot read test file {shown}: {e}"
            )));
            return None;
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let source = SourceFile::new(shown, dir, text);
    let ast = match crate::script::compile(engine, source.text()) {
        Ok(ast) => ast,
        Err(e) => {
            errors.push(
                Diagnostic::error(format!("syntax error: {}", e.err_type()))
                    .at(Location::new(&source, mark(e.position()))),
            );
            return None;
        }
    };
    let mut tests = Vec::new();
    let mut bad = false;
    for f in ast.iter_functions() {
        if !f.name.starts_with("test_") {
            continue;
        }
        let line = line_of(source.text(), f.name);
        if !f.params.is_empty() {
            errors.push(
                Diagnostic::error(format!(
                    "`fn {}({})`: a test function takes no parameters",
                    f.name,
                    f.params.join(", ")
                ))
                .at(Location::new(&source, Mark::new(line, 1))),
            );
            bad = true;
            continue;
        }
        tests.push((f.name.to_string(), line));
    }
    if bad {
        return None;
    }
    tests.sort_by_key(|(_, line)| *line);
    if tests.is_empty() {
        errors.push(
            Diagnostic::error("the test file defines no `fn test_*()` function")
                .at(Location::new(&source, Mark::new(1, 1))),
        );
        return None;
    }
    Some(ScriptFile { source, ast, tests })
}

/// The line `fn NAME` is defined on (1 when not found).
fn line_of(text: &str, name: &str) -> u32 {
    let want = format!("fn {name}");
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(&want)
                .is_some_and(|rest| rest.trim_start().starts_with('('))
        })
        .and_then(|i| u32::try_from(i + 1).ok())
        .unwrap_or(1)
}

fn mark(pos: Position) -> Mark {
    let n = |v: Option<usize>| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(1);
    Mark::new(n(pos.line()), n(pos.position()))
}

/// The cases of `files` that `filter` keeps (matched against the test name and
/// `FILE: test_name`).
pub fn select(files: &[ScriptFile], filter: Option<&globset::GlobMatcher>) -> Vec<ScriptCase> {
    let mut out = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for (ti, (name, _)) in f.tests.iter().enumerate() {
            if let Some(g) = filter
                && !g.is_match(name)
                && !g.is_match(format!("{}: {name}", f.source.name()))
            {
                continue;
            }
            out.push(ScriptCase { file: fi, test: ti });
        }
    }
    out
}

/// What every script case shares: the run's engine and handlers (owned, so a case's
/// per-thread context can hold them), its limits and `--deny`.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub registry: Arc<crate::handler::HandlerRegistry>,
    pub limits: ScriptLimits,
    pub deny: crate::stdlib::Permissions,
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
}

impl Shared {
    fn suite(&self) -> Suite<'_> {
        Suite {
            engine: &self.engine,
            registry: &self.registry,
            limits: &self.limits,
            deny: self.deny,
            cancel: Arc::clone(&self.cancel),
        }
    }
}

/// What a running case's Rhai functions reach.
struct CaseContext {
    shared: Arc<Shared>,
    sandbox: Sandbox,
    file: Arc<SourceFile>,
    /// The diff of the assertion that failed, for the case's failure.
    diff: RefCell<Vec<String>>,
}

thread_local! {
    static CURRENT: RefCell<Option<std::rc::Rc<CaseContext>>> = const { RefCell::new(None) };
}

fn with_current<R>(f: impl FnOnce(&CaseContext) -> R) -> Option<R> {
    let ctx = CURRENT.with(|c| c.borrow().clone());
    ctx.as_deref().map(f)
}

/// Runs every selected case, `jobs` at a time; the results in the order of the cases.
pub fn run_all(
    shared: &Arc<Shared>,
    engine: &Engine,
    files: &[ScriptFile],
    cases: &[ScriptCase],
    jobs: usize,
    cancel: &std::sync::atomic::AtomicBool,
) -> Vec<CaseResult> {
    super::suite::in_parallel(cases.len(), jobs, cancel, |i| {
        let c = cases.get(i)?;
        let file = files.get(c.file)?;
        let (name, line) = file.tests.get(c.test)?;
        Some(run_one(shared, engine, file, name, *line))
    })
}

/// Runs one test function in a fresh sandbox.
fn run_one(
    shared: &Arc<Shared>,
    engine: &Engine,
    file: &ScriptFile,
    name: &str,
    line: u32,
) -> CaseResult {
    let started = Instant::now();
    let mut result = CaseResult {
        file: file.source.name().to_string(),
        it: name.to_string(),
        line,
        duration: Duration::ZERO,
        failures: Vec::new(),
        status: "passed".into(),
        logs: Vec::new(),
    };
    let sandbox = match Sandbox::new(&MockSpec::default(), file.source.name()) {
        Ok(s) => s,
        Err(e) => {
            result.status = "error".into();
            result.failures.push(Failure::plain(
                "setup",
                format!("the case could not be set up: {e}"),
            ));
            return result;
        }
    };
    let ctx = std::rc::Rc::new(CaseContext {
        shared: Arc::clone(shared),
        sandbox,
        file: Arc::clone(&file.source),
        diff: RefCell::new(Vec::new()),
    });
    CURRENT.with(|c| *c.borrow_mut() = Some(std::rc::Rc::clone(&ctx)));
    let outcome = engine.call_fn::<Dynamic>(&mut rhai::Scope::new(), &file.ast, name, ());
    CURRENT.with(|c| *c.borrow_mut() = None);
    if let Err(e) = outcome {
        let mut inner = innermost(*e);
        let at = mark(inner.position());
        let message = match &inner {
            EvalAltResult::ErrorRuntime(value, _) => runtime_message(value),
            _ => {
                let _ = inner.take_position();
                inner.to_string()
            }
        };
        result.status = "failed".into();
        result.failures.push(Failure {
            expectation: "script".into(),
            message: format!("{}:{}:{}: {message}", file.source.name(), at.line, at.col),
            diff: ctx.diff.take(),
        });
    }
    // A call no mock answered fails the case, even when the test caught the error.
    for unmocked in ctx.sandbox.mocks.unmocked() {
        result.status = "failed".into();
        result.failures.push(Failure::plain("unmocked", unmocked));
    }
    result.duration = started.elapsed();
    result
}

/// The error a failing call raised where it was raised (inside every function call).
fn innermost(e: EvalAltResult) -> EvalAltResult {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => innermost(*inner),
        other => other,
    }
}

fn fail(ctx: &NativeCallContext, message: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        message.into(),
        ctx.call_position(),
    ))
}

fn assert1(ctx: NativeCallContext, cond: bool) -> Result<(), Box<EvalAltResult>> {
    assert2(ctx, cond, "")
}

fn assert2(ctx: NativeCallContext, cond: bool, message: &str) -> Result<(), Box<EvalAltResult>> {
    if cond {
        return Ok(());
    }
    Err(fail(
        &ctx,
        if message.is_empty() {
            "assertion failed".into()
        } else {
            format!("assertion failed: {message}")
        },
    ))
}

fn assert_eq2(ctx: NativeCallContext, a: Dynamic, b: Dynamic) -> Result<(), Box<EvalAltResult>> {
    assert_eq3(ctx, a, b, "")
}

/// `assert_eq(found, expected)`: the diff shows `- ` the expected value's lines (the
/// second argument), `+ ` the found value's (the first), as JSON.
fn assert_eq3(
    ctx: NativeCallContext,
    a: Dynamic,
    b: Dynamic,
    message: &str,
) -> Result<(), Box<EvalAltResult>> {
    let shown = |v: &Dynamic| {
        let json = crate::script::convert::dynamic_to_json(v);
        serde_json::to_string_pretty(&json).unwrap_or_else(|_| format!("{v:?}"))
    };
    let (found, expected) = (shown(&a), shown(&b));
    if a.type_name() == b.type_name() && found == expected {
        return Ok(());
    }
    let mut lines = diff(&expected, &found);
    if found == expected {
        lines = vec![format!(
            "  (the same as JSON, but {} is not {})",
            a.type_name(),
            b.type_name()
        )];
    }
    with_current(|c| *c.diff.borrow_mut() = lines);
    let what = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    Err(fail(
        &ctx,
        format!("assert_eq failed{what} (- expected, + found)"),
    ))
}

/// The text of an error a test script threw or a stdlib function raised: a map's
/// `message` (and `help`) rather than the map itself. A stdlib call in the test's own code
/// (not in the handler `ordo::run` runs) has no call context, so the stdlib refuses it as
/// it does at a handler's load; a test is told why in its own terms.
fn runtime_message(value: &Dynamic) -> String {
    let Some(map) = value.read_lock::<rhai::Map>() else {
        return value.to_string();
    };
    let Some(message) = map.get("message").map(ToString::to_string) else {
        return value.to_string();
    };
    if let Some(call) = message.strip_suffix(" is not available while a handler loads") {
        return format!(
            "{call} is not available in a test script: a test reaches the world only through the handler it runs with `ordo::run(action, manifest)`, whose calls the `mock::` functions answer"
        );
    }
    match map.get("help") {
        Some(help) => format!("{message} (help: {help})"),
        None => message,
    }
}
