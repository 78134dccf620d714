//! Arguments → configuration → the pipeline → an exit code.
//!
//! Errors are rendered once, here. Every input problem of the run (YAML, manifests,
//! handlers, the graph) is collected before anything executes, reported together, and the
//! run ends with exit code 3 without calling a single handler.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use rhai::Engine;
use serde_json::json;

use crate::cli::{Cli, CommandKind, Config, OutputFormat};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, exit};
use crate::exec::{EventSink, Reporter, RunSettings, Runner, Variables};
use crate::handler::{HandlerRegistry, discover};
use crate::manifest::{
    Action, Limits, Manifest, ManifestError, StaticContext, StaticResult, ValueSet, collect_values,
    resolve_static,
};
use crate::planner::{Graph, Plan};
use crate::report::{HumanReporter, JsonLinesReporter, JsonReporter, diagnostic};
use crate::script::{ImportResolver, ImportRoot, build};

/// Runs ordo with these arguments; `Err` carries the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<(), i32> {
    install_panic_hook();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Err(exit::USAGE)
            } else {
                Ok(())
            };
        }
    };
    let config = match Config::from_cli(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(exit::USAGE);
        }
    };
    init_tracing(config.trace);
    match execute(&config) {
        Ok(()) => Ok(()),
        Err(e) => {
            report_error(&config, &e);
            Err(e.code())
        }
    }
}

/// A panic is a bug: say so, ask for a report, and exit non-zero without a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: internal error in ordo{location}: {what}");
        eprintln!(
            "  this is a bug; please report it, with the command and the input that caused it"
        );
    }));
}

fn init_tracing(trace: bool) {
    let filter = if trace { "ordo=debug" } else { "ordo=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORDO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn report_error(config: &Config, e: &Error) {
    match e {
        Error::Input(diagnostics) => {
            let mut err = std::io::stderr().lock();
            for d in diagnostics {
                let _ = writeln!(err, "{}\n", diagnostic::render(d, config.color_err));
            }
            let _ = writeln!(err, "error: {e}");
            if config.output != OutputFormat::Human {
                let errors: Vec<_> = diagnostics
                    .iter()
                    .map(|d| {
                        json!({
                            "message": crate::exec::secrets::masked(&d.message),
                            "location": d.location.as_ref().map(ToString::to_string),
                        })
                    })
                    .collect();
                let report = json!({"command": config.command.name(), "environment": config.env, "ok": false, "errors": errors});
                println!("{report}");
            }
        }
        // The run's own report already said which manifests failed and why.
        Error::RunFailed { .. } | Error::Interrupted => {}
        other => eprintln!("error: {other}"),
    }
}

/// Everything loaded and checked: what a command works on.
struct World {
    manifests: Vec<Manifest>,
    engine: Engine,
    registry: HandlerRegistry,
    /// Manifest index → handler index.
    handlers: Vec<usize>,
    graph: Graph,
    values: Arc<ValueSet>,
}

fn load(config: &Config) -> Result<World, Error> {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut loaded = crate::manifest::load(&config.manifests, &Limits::default());
    let mut value_errors = Vec::new();
    let values = collect_values(
        &mut loaded.manifests,
        &config.values,
        &config.env,
        &mut value_errors,
    );
    for secret in values.secret_texts() {
        crate::exec::secrets::add(&secret);
    }
    resolve_tags(config, &mut loaded.manifests, &values, &mut value_errors);
    diagnostics.extend(
        loaded
            .errors
            .into_iter()
            .chain(value_errors)
            .map(Diagnostic::from),
    );

    let src_dirs = config
        .src
        .clone()
        .unwrap_or_else(|| default_src(&loaded.files));
    let mut handler_errors = Vec::new();
    let found = discover(&src_dirs, &mut handler_errors);
    let roots: HashMap<String, ImportRoot> = found
        .iter()
        .map(|f| {
            let dir = f
                .source
                .dir()
                .canonicalize()
                .unwrap_or_else(|_| f.root.clone());
            (
                f.source.name().to_string(),
                ImportRoot {
                    root: f.root.clone(),
                    dir,
                },
            )
        })
        .collect();
    let engine = build(&config.limits, ImportResolver::new(roots));
    let registry = HandlerRegistry::load(&engine, &found, &config.limits, &mut handler_errors);
    let broken_handlers = !handler_errors.is_empty();
    diagnostics.extend(handler_errors.into_iter().map(|e| e.into_diagnostic()));

    // A handler that failed to load may be the one a manifest needs: say so rather than
    // leave "no handler serves kind" looking like a separate problem.
    let manifests = loaded.manifests;
    let mut handlers = vec![usize::MAX; manifests.len()];
    for (i, m) in manifests.iter().enumerate() {
        match registry.resolve(&m.kind, &m.version) {
            Ok(h) => handlers[i] = h,
            Err(e) => {
                let mark = if matches!(e, crate::handler::ResolveErrorKind::BadVersion(_)) {
                    m.version_mark
                } else {
                    m.kind_mark
                };
                let unknown_kind =
                    matches!(e, crate::handler::ResolveErrorKind::UnknownKind { .. });
                let mut d = e.into_diagnostic(m.at(mark));
                if unknown_kind && broken_handlers {
                    d = d.note(
                        "a handler failed to load (see above); it may be the one for this kind",
                    );
                }
                diagnostics.push(d);
            }
        }
    }
    let (graph, plan_errors) = Graph::build(&manifests, &config.env);
    diagnostics.extend(plan_errors.into_iter().map(Diagnostic::from));

    if !diagnostics.is_empty() {
        return Err(Error::Input(diagnostics));
    }
    Ok(World {
        manifests,
        engine,
        registry,
        handlers,
        graph,
        values: Arc::new(values),
    })
}

/// Substitutes `!Value`, `!Env`, `!Sub` and `std.*` in the manifests of the environment,
/// checks every `!Variable`, and records the edges they imply.
fn resolve_tags(
    config: &Config,
    manifests: &mut [Manifest],
    values: &ValueSet,
    errors: &mut Vec<ManifestError>,
) {
    let names: HashMap<String, usize> = manifests
        .iter()
        .enumerate()
        .filter(|(_, m)| m.metadata.in_environment(&config.env))
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    let mut all_names: HashMap<String, Vec<String>> = HashMap::new();
    for m in manifests.iter() {
        all_names
            .entry(m.name.clone())
            .or_default()
            .extend(m.metadata.environments.clone().unwrap_or_default());
    }
    let action = if config.command == CommandKind::Delete {
        "delete"
    } else {
        "apply"
    };
    let ctx = StaticContext {
        values,
        env: &config.env,
        action,
        names: &names,
        all_names: &all_names,
    };
    for m in manifests
        .iter_mut()
        .filter(|m| m.metadata.in_environment(&config.env))
    {
        let mut result = StaticResult::default();
        let file = Arc::clone(&m.file);
        resolve_static(&mut m.spec, &file, &m.name, &ctx, &mut result, errors);
        resolve_static(
            &mut m.metadata_node,
            &file,
            &m.name,
            &ctx,
            &mut result,
            errors,
        );
        m.implicit = result.producers;
        m.deferred = result.deferred;
    }
}

/// The directories holding the manifest files (standard input counts as `.`), in order.
fn default_src(files: &[Arc<crate::manifest::SourceFile>]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in files {
        let dir = if f.name() == "<stdin>" {
            PathBuf::from(".")
        } else {
            f.dir().to_path_buf()
        };
        let covered = dirs.iter().any(|d| dir.starts_with(d) || same_dir(d, &dir));
        if !covered {
            dirs.push(dir);
        }
    }
    dirs
}

fn same_dir(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

fn reporter(config: &Config) -> Box<dyn Reporter> {
    match config.output {
        OutputFormat::Human => Box::new(HumanReporter::new(config.color_out, config.log_level)),
        OutputFormat::Json => Box::new(JsonReporter::new()),
        OutputFormat::Jsonl => Box::new(JsonLinesReporter::new()),
    }
}

fn execute(config: &Config) -> Result<(), Error> {
    let world = load(config)?;
    match config.command {
        CommandKind::Validate => validate(config, &world),
        CommandKind::Handlers => {
            list_handlers(config, &world.registry);
            Ok(())
        }
        CommandKind::Apply => run_action(config, &world, Action::Apply),
        CommandKind::Delete => run_action(config, &world, Action::Delete),
    }
}

/// Ctrl-C (and SIGTERM): the first stops new work, interrupts running handlers and their
/// commands, and lets the run finish its report; the second ends ordo at once.
fn install_interrupt(cancel: &Arc<AtomicBool>) {
    static PRESSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let cancel = Arc::clone(cancel);
    let _ = ctrlc::set_handler(move || {
        if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
            cancel.store(true, Ordering::SeqCst);
            crate::stdlib::interrupt_children(libc::SIGINT);
            eprintln!(
                "interrupted: stopping running handlers (press Ctrl-C again to quit at once)"
            );
        } else {
            crate::stdlib::interrupt_children(libc::SIGKILL);
            std::process::exit(exit::INTERRUPTED);
        }
    });
}

fn run_action(config: &Config, world: &World, action: Action) -> Result<(), Error> {
    let plan = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        action,
        &|_| true,
    );
    let events = EventSink::new(reporter(config));
    let cancel = Arc::new(AtomicBool::new(false));
    install_interrupt(&cancel);
    let runner = Runner {
        engine: &world.engine,
        registry: &world.registry,
        manifests: &world.manifests,
        limits: &config.limits,
        policy: Arc::new(config.policy.clone()),
        vars: Arc::new(Variables::new()),
        values: Arc::clone(&world.values),
        events: events.clone(),
        cancel: Arc::clone(&cancel),
        settings: RunSettings {
            command: config.command.name(),
            environment: config.env.clone(),
            jobs: config.jobs,
            keep_going: config.keep_going,
            dry_run: false,
        },
    };
    let report = runner.run(&plan);
    events.finish();
    if report.interrupted {
        return Err(Error::Interrupted);
    }
    if report.summary.failed > 0 {
        return Err(Error::RunFailed {
            failed: report.summary.failed,
        });
    }
    Ok(())
}

fn validate(config: &Config, world: &World) -> Result<(), Error> {
    let apply = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        Action::Apply,
        &|_| true,
    );
    let delete = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        Action::Delete,
        &|_| true,
    );
    let names = |plan: &Plan| {
        plan.steps
            .iter()
            .map(|s| world.manifests[s.manifest].name.clone())
            .collect::<Vec<_>>()
    };
    let mut out = std::io::stdout().lock();
    if config.output == OutputFormat::Human {
        let _ = writeln!(
            out,
            "valid: {} manifests in environment `{}`, {} handlers; apply runs {} and delete {}",
            world.graph.nodes.len(),
            config.env,
            world.registry.handlers().len(),
            apply.steps.len(),
            delete.steps.len()
        );
    } else {
        let report = json!({
            "command": "validate", "environment": config.env, "ok": true,
            "apply": names(&apply), "delete": names(&delete),
        });
        let _ = writeln!(out, "{report}");
    }
    Ok(())
}

fn list_handlers(config: &Config, registry: &HandlerRegistry) {
    let mut rows = Vec::new();
    for h in registry.handlers() {
        for r in &h.registrations {
            rows.push((
                r.full_kind(),
                r.range.text.clone(),
                h.name().to_string(),
                h.permissions().names().join(", "),
            ));
        }
    }
    rows.sort();
    let mut out = std::io::stdout().lock();
    if config.output != OutputFormat::Human {
        let list: Vec<_> = rows
            .iter()
            .map(|(k, r, f, p)| json!({"kind": k, "range": r, "file": f, "permissions": p.split(", ").filter(|s| !s.is_empty()).collect::<Vec<_>>()}))
            .collect();
        let _ = writeln!(out, "{}", json!({"handlers": list}));
        return;
    }
    let header = (
        "KIND".to_string(),
        "VERSIONS".to_string(),
        "FILE".to_string(),
        "PERMISSIONS".to_string(),
    );
    let w0 = rows
        .iter()
        .map(|r| r.0.len())
        .chain([header.0.len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r.1.len())
        .chain([header.1.len()])
        .max()
        .unwrap_or(0);
    let w2 = rows
        .iter()
        .map(|r| r.2.len())
        .chain([header.2.len()])
        .max()
        .unwrap_or(0);
    for (k, r, f, p) in std::iter::once(&header).chain(rows.iter()) {
        let p = if p.is_empty() { "-" } else { p.as_str() };
        let _ = writeln!(out, "{k:<w0$}  {r:<w1$}  {f:<w2$}  {p}");
    }
}
