//! Arguments → configuration → the pipeline → an exit code.
//!
//! Errors are rendered once, here. Every input problem of the run (YAML, manifests,
//! handlers, the graph) is collected before anything executes, reported together, and the
//! run ends with exit code 3 without calling a single handler.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use serde_json::json;

use crate::cli::{Cli, CommandKind, Config, OutputFormat};
use crate::error::{Error, exit};
use crate::exec::Reporter;
use crate::manifest::Action;
use crate::project::Project;
use crate::report::{HumanReporter, JsonLinesReporter, JsonReporter, diagnostic};

/// Runs ordo with these arguments; `Err` carries the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<(), i32> {
    let args: Vec<OsString> = args.into_iter().collect();
    // `shell::run` starts each command under ordo itself, as its keeper.
    if args
        .get(1)
        .is_some_and(|a| a == crate::stdlib::contain::KEEPER)
    {
        return match crate::stdlib::contain::keeper(&args) {
            0 => Ok(()),
            code => Err(code),
        };
    }
    install_panic_hook();
    // Kept as given: a path on the command line need not be UTF-8 (issue 16).
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
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
    match &cli.command {
        crate::cli::Command::Completions(a) => {
            let mut out = std::io::stdout().lock();
            return crate::cli::pages::completions(a.shell, &mut out).map_err(|e| {
                eprintln!("error: cannot write the completion script: {e}");
                exit::FAILED
            });
        }
        crate::cli::Command::Man(a) => {
            let mut out = std::io::stdout().lock();
            return match crate::cli::pages::man(a.command.as_deref(), &mut out) {
                Ok(()) => Ok(()),
                Err(e @ crate::cli::pages::ManError::Unknown(_)) => {
                    eprintln!("error: {e}");
                    Err(exit::USAGE)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Err(exit::FAILED)
                }
            };
        }
        crate::cli::Command::Schema(a) => return author::schema(a),
        crate::cli::Command::New(a) => return author::new(a),
        crate::cli::Command::Init(a) => return author::init(a),
        crate::cli::Command::Sources(a) => return sources::sources(a),
        _ => {}
    }
    if let crate::cli::Command::State(args) = cli.command {
        let json = matches!(args.output, Some(OutputFormat::Json | OutputFormat::Jsonl));
        let command = match &args.action {
            crate::cli::StateAction::List => "state list",
            crate::cli::StateAction::Show { .. } => "state show",
            crate::cli::StateAction::History { .. } => "state history",
            crate::cli::StateAction::Rm { .. } => "state rm",
            crate::cli::StateAction::Unlock { .. } => "state unlock",
        };
        let env = args.env.clone();
        return match state::run_state(args) {
            Ok(()) => Ok(()),
            Err(e) => {
                let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
                // Under `-o json` a failure is one JSON document too.
                if json {
                    let errors: Vec<_> = match &e {
                        Error::State(d) => vec![error_json(d)],
                        Error::Input(diagnostics) => diagnostics.iter().map(error_json).collect(),
                        other => vec![
                            json!({"message": other.to_string(), "file": null, "line": null, "column": null, "help": null}),
                        ],
                    };
                    let report = json!({"command": command, "environment": env, "ok": false, "errors": errors});
                    println!("{report}");
                }
                match &e {
                    Error::State(d) => eprintln!("{}", diagnostic::render(d, color)),
                    // A broken project file.
                    Error::Input(diagnostics) => {
                        for d in diagnostics {
                            eprintln!("{}\n", diagnostic::render(d, color));
                        }
                        eprintln!("error: {e}");
                    }
                    _ => {}
                }
                Err(e.code())
            }
        };
    }
    let mut config = match Config::from_cli(cli) {
        Ok(c) => Config {
            command_line: command_line(&args),
            ..c
        },
        Err(e) => {
            eprintln!("error: {e}");
            return Err(exit::USAGE);
        }
    };
    init_tracing(config.trace);
    crate::error::debug_panic("main", "");
    if config.command == CommandKind::Watch {
        return match watch::watch(&mut config) {
            Ok(0) => Ok(()),
            Ok(code) => Err(code),
            Err(e) => {
                report_error(&config, &e);
                Err(e.code())
            }
        };
    }
    match execute(&mut config) {
        Ok(()) => Ok(()),
        Err(e) => {
            report_error(&config, &e);
            Err(e.code())
        }
    }
}

/// The command line as the lock file records it: each argument as text, bytes that are
/// not UTF-8 shown as `\u{FFFD}`, joined by spaces.
fn command_line(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A panic is a bug: say so, ask for a report, and exit non-zero without a backtrace. The
/// default hook, which prints the backtrace hint, is replaced; a panic on the main thread
/// then ends the process with exit code 101, and one in a worker fails only its manifest.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", panic_message(info.location(), info.payload()));
    }));
}

/// What the panic hook prints: where the bug is, what it said, and a request for a report.
fn panic_message(
    location: Option<&std::panic::Location<'_>>,
    payload: &(dyn std::any::Any + Send),
) -> String {
    let location = location
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let what = payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!(
        "error: internal error in ordo{location}: {what}\n  this is a bug; please report it, with the command and the input that caused it"
    )
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

/// Warnings about the input: rendered on stderr as they are found; they stop nothing.
/// At most [`MAX_WARNINGS`] are shown, then how many more there were: a directory like
/// `/proc` holds thousands of links, and one screen says what matters.
fn warn(config: &Config, warnings: &[crate::diagnostic::Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in warnings.iter().take(MAX_WARNINGS) {
        let _ = writeln!(err, "{}\n", diagnostic::render(d, config.color_err));
    }
    if let Some(more) = warnings.len().checked_sub(MAX_WARNINGS).filter(|&n| n > 0) {
        let _ = writeln!(err, "warning: {more} more like these not shown\n");
    }
}

/// How many warnings [`warn`] shows.
const MAX_WARNINGS: usize = 5;

fn report_error(config: &Config, e: &Error) {
    match e {
        Error::Input(diagnostics) => {
            let mut err = std::io::stderr().lock();
            for d in diagnostics {
                let _ = writeln!(err, "{}\n", diagnostic::render(d, config.color_err));
            }
            let _ = writeln!(err, "error: {e}");
            if config.output != OutputFormat::Human {
                let errors: Vec<_> = diagnostics.iter().map(error_json).collect();
                let mut report = json!({"command": config.command.name(), "environment": config.env, "ok": false, "errors": errors});
                // In `-o jsonl` it is the one event of a run that never started, so a reader
                // waiting for `run_finished` gets it.
                if config.output == OutputFormat::Jsonl
                    && let Some(map) = report.as_object_mut()
                {
                    map.insert("event".into(), json!("run_finished"));
                }
                println!("{report}");
            }
        }
        // The run's own report already said which manifests failed and why.
        Error::RunFailed { .. } | Error::Interrupted | Error::Pending => {}
        Error::State(d) => eprintln!("{}", diagnostic::render(d, config.color_err)),
        other => eprintln!("error: {other}"),
    }
}

/// One input error of `-o json`: `message`, `file`, `line`, `column` (null where
/// unknown, `line` and `column` 1-based), and the `help` the human output shows.
fn error_json(d: &crate::diagnostic::Diagnostic) -> serde_json::Value {
    let masked = crate::exec::secrets::masked;
    let location = d.location.as_ref();
    let mark = location.map(|l| l.mark).filter(|m| m.line > 0);
    json!({
        "message": masked(&d.message),
        "file": location.map(|l| l.file.name()),
        "line": mark.map(|m| m.line),
        "column": mark.map(|m| m.col).filter(|&c| c > 0),
        "help": d.help.as_deref().map(masked),
    })
}

mod actions;
mod author;
mod confirm;
mod explain;
mod hosts;
mod hosts_check;
mod info;
mod lint;
mod load;
mod rollback;
mod runs;
mod sources;
mod state;
mod test;
mod trees;
mod watch;

fn reporter(config: &Config) -> Box<dyn Reporter> {
    reporter_in(config, None)
}

/// The reporter of a run; in `ordo watch`, its JSON lines carry the `cycle`.
fn reporter_in(config: &Config, cycle: Option<u64>) -> Box<dyn Reporter> {
    match config.output {
        OutputFormat::Human => Box::new(HumanReporter::new(config.color_out, config.log_level)),
        OutputFormat::Json => Box::new(JsonReporter::new(config.log_level)),
        OutputFormat::Jsonl => Box::new(JsonLinesReporter::new().in_cycle(cycle)),
    }
}

/// Finds the project and fills in what the command line left to it: the manifests (the
/// project file's `spec.manifests`, else its root; without a project file, the current
/// directory), handler directories, values files (the project's first, then `-f`'s), and the
/// state file (`<root>/.ordo/state.json`). `-m` and `-s` given replace the project's
/// defaults; `-f` adds to them. `-m` paths in two projects are refused unless `--state` says
/// where the one state is.
fn locate_project(config: &mut Config) -> Result<Project, Error> {
    // A first `-m` that is a source address: the project is found from here (DESIGN §15).
    let first = config
        .manifests
        .first()
        .filter(|p| !trees::is_address(p))
        .map(PathBuf::as_path);
    let project = Project::locate(first).map_err(Error::Input)?;
    if config.use_state && config.state.is_none() {
        check_one_project(&config.manifests, &project)?;
    }
    // Sources become local trees before anything else reads a path.
    let added = trees::resolve(config, &project)?;
    let shown = |paths: &[PathBuf]| -> Vec<PathBuf> {
        paths
            .iter()
            .map(|p| PathBuf::from(crate::paths::shown(p)))
            .collect()
    };
    if let Some(file) = &project.file {
        if config.manifests.is_empty() && !file.manifests.is_empty() {
            config.manifests = shown(&file.manifests);
        }
        // The manifest trees of `spec.sources` (found only when `-m` was not given), after
        // the project's own (`spec.manifests`, else its root).
        if !added.manifests.is_empty() {
            if config.manifests.is_empty() {
                config.manifests = shown(std::slice::from_ref(&project.root));
            }
            config.manifests.extend(added.manifests);
        }
        if config.src.is_none() && !file.handlers.is_empty() {
            config.src = Some(shown(&file.handlers));
        }
        // `-i` given replaces the project's inventory, as `-m` and `-s` replace theirs.
        if config.inventories.is_empty() {
            config.inventories = shown(&file.inventory);
        }
        // Project values first, `-f` files after them (later files win), as Helm's `-f`.
        let mut files = shown(&file.values);
        files.append(&mut config.values.files);
        config.values.files = files;
    }
    if config.manifests.is_empty() {
        // Only a project file makes the whole root the default: a `.ordo/` alone (which
        // ordo creates on its own) must not pull in the directories beside this one.
        config.manifests = if project.file.is_some() {
            shown(std::slice::from_ref(&project.root))
        } else {
            vec![PathBuf::from(".")]
        };
    }
    if config.use_state && config.state.is_none() {
        config.state = Some(PathBuf::from(crate::paths::shown(&project.state_path())));
    }
    Ok(project)
}

/// Whether a file recorded in the state (canonical) lies under one of the manifest paths
/// a run loaded from: `--prune`, plan's `orphaned` entries and the "gone from the files"
/// note consider only those, so a prune never deletes what it was not shown (`--prune -m
/// a` leaves what was recorded from `b` alone). Standard input covers what it recorded.
fn loaded_from(manifests: &[PathBuf]) -> impl Fn(&str) -> bool + use<> {
    // A manifest from a source is recorded as `NAME:path` (stable across revisions).
    let scopes: Vec<String> = manifests
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                "<stdin>".to_string()
            } else {
                crate::handler::shown_in_source(p)
                    .unwrap_or_else(|| crate::paths::canonical(p).display().to_string())
            }
        })
        .collect();
    move |file: &str| scopes.iter().any(|s| crate::handler::within(file, s))
}

/// Every `-m` path must belong to the first one's project: a path whose walk up finds
/// another root (its own `ordo.yaml` or `.ordo/`) would record that project's manifests in
/// this one's state, and a later `--prune` in either would delete the other's.
fn check_one_project(manifests: &[PathBuf], project: &Project) -> Result<(), Error> {
    let mut errors = Vec::new();
    for path in manifests.iter().skip(1) {
        if path.as_os_str() == "-" || trees::is_address(path) {
            continue;
        }
        if let Some(other) = Project::marked_root(path)
            && other != project.root
        {
            errors.push(
                crate::diagnostic::Diagnostic::error(format!(
                    "-m {}: it belongs to the project at {}, not to the project at {} (the first -m's); two projects never share one state",
                    path.display(),
                    crate::paths::shown(&other),
                    crate::paths::shown(&project.root),
                ))
                .help("run ordo once per project, or give `--state FILE` to keep one state for both on purpose"),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Input(errors))
    }
}

fn execute(config: &mut Config) -> Result<(), Error> {
    if config.command == CommandKind::Test {
        // Without a PATH, the test files of the handler directories a run would use.
        locate_project(config)?;
        trees::save_lock(config)?;
        return test::test(config);
    }
    if config.command == CommandKind::Lint {
        // Without a PATH, the handlers a run would load: those of the project.
        if config.lint_paths.is_empty() {
            locate_project(config)?;
            trees::save_lock(config)?;
        }
        return lint::lint(config);
    }
    if config.command == CommandKind::Explain {
        locate_project(config)?;
        trees::save_lock(config)?;
        return explain::explain(config);
    }
    let project = locate_project(config)?;
    let config = &*config;
    if config.command == CommandKind::Hosts {
        trees::save_lock(config)?;
        return hosts::hosts(config, &project);
    }
    let world = load::load(config, &project)?;
    match config.command {
        CommandKind::Validate => info::validate(config, &world),
        CommandKind::Handlers => {
            info::list_handlers(config, &world.registry, &world.engine);
            Ok(())
        }
        CommandKind::Apply => runs::run_handlers(config, &world, Action::Apply),
        CommandKind::Delete => runs::run_handlers(config, &world, Action::Delete),
        CommandKind::Verify | CommandKind::Run => runs::run_handlers(config, &world, Action::Apply),
        CommandKind::Actions => {
            actions::list(config, &world);
            Ok(())
        }
        CommandKind::Graph => info::graph(config, &world),
        CommandKind::Lint => lint::lint(config),
        CommandKind::Explain => explain::explain(config),
        CommandKind::Test => test::test(config),
        // Driven from `run`, before anything loads: it loads again on each change.
        CommandKind::Watch => Ok(()),
        CommandKind::Hosts => hosts::hosts(config, &project),
        CommandKind::Rollback => rollback::rollback(config, &world),
        CommandKind::Plan => {
            let action = if config.plan_delete {
                Action::Delete
            } else {
                Action::Apply
            };
            runs::run_handlers(config, &world, action)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panic_message_asks_for_a_report_and_has_no_backtrace() {
        let here = std::panic::Location::caller();
        let text = panic_message(Some(here), &"index out of bounds");
        assert!(
            text.starts_with(&format!(
                "error: internal error in ordo at {}:{}: index out of bounds\n",
                here.file(),
                here.line()
            )),
            "{text}"
        );
        assert!(text.contains("this is a bug; please report it"), "{text}");
        for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!text.contains(bad), "{text}");
        }
    }

    #[test]
    fn the_panic_message_shows_formatted_payloads_and_survives_others() {
        let text = panic_message(None, &String::from("bad state 7"));
        assert!(
            text.starts_with("error: internal error in ordo: bad state 7\n"),
            "{text}"
        );
        let text = panic_message(None, &42_u8);
        assert!(
            text.starts_with("error: internal error in ordo: \n"),
            "{text}"
        );
        assert!(text.contains("please report it"), "{text}");
    }
}
