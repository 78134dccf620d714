//! [`Config`]: the command line, checked and with defaults filled in.
//!
//! Everything the command line alone can get wrong is caught here and reported with exit
//! code 2, before any file is read.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::args::{
    Cli, ColorChoice, Command, GraphFormat, HandlerArgs, LoadArgs, OutputArgs, OutputFormat,
    RunArgs, SelectArgs,
};
use crate::diagnostic::did_you_mean;
use crate::exec::LogLevel;
use crate::manifest::ValueSources;
use crate::planner::{LabelSelector, Selection};
use crate::script::ScriptLimits;
use crate::stdlib::{Capability, NetRule, Permissions, Policy};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    Apply,
    Delete,
    Plan,
    Validate,
    Handlers,
    Graph,
    Lint,
    Hosts,
    Rollback,
    Verify,
    Run,
    Actions,
    Explain,
    Test,
    Watch,
}

impl CommandKind {
    pub fn name(self) -> &'static str {
        match self {
            CommandKind::Apply => "apply",
            CommandKind::Delete => "delete",
            CommandKind::Plan => "plan",
            CommandKind::Validate => "validate",
            CommandKind::Handlers => "handlers",
            CommandKind::Graph => "graph",
            CommandKind::Lint => "lint",
            CommandKind::Hosts => "hosts",
            CommandKind::Rollback => "rollback",
            CommandKind::Verify => "verify",
            CommandKind::Run => "run",
            CommandKind::Actions => "actions",
            CommandKind::Explain => "explain",
            CommandKind::Test => "test",
            CommandKind::Watch => "watch",
        }
    }
}

#[derive(Debug)]
pub struct Config {
    pub command: CommandKind,
    pub manifests: Vec<PathBuf>,
    /// `None`: the directories of the manifest files.
    pub src: Option<Vec<PathBuf>>,
    /// Handler directories of the project's sources, loaded besides `src` (or its default);
    /// empty when `-s` was given (it replaces the project's handlers).
    pub extra_src: Vec<PathBuf>,
    /// Every source tree handlers are loaded from in this run (`spec.sources`, `-s`
    /// addresses), to tell each handler where it came from.
    pub handler_sources: Vec<std::sync::Arc<crate::handler::SourceOrigin>>,
    /// Notes about the sources of this run ("locked at X, branch now at Y"), warned on
    /// stderr and carried in `-o json`/`-o jsonl` as `warnings`.
    pub source_notes: Vec<String>,
    /// The sources this run resolved, whose pins go to `ordo.lock` once the inputs load
    /// (a run that fails before anything could run leaves the lock as it was).
    pub pending_lock: std::sync::Mutex<Option<crate::sources::Sources>>,
    /// How sources are resolved: `--locked`, `--offline`, `--frozen`,
    /// `--allow-file-sources`, `--allow-source`, `--require-digest`.
    pub source_policy: crate::sources::Policy,
    pub env: String,
    pub values: ValueSources,
    pub output: OutputFormat,
    /// Colours on stdout and on stderr.
    pub color_out: bool,
    pub color_err: bool,
    /// Handler log lines shown in human output.
    pub log_level: LogLevel,
    /// ordo's own tracing output (`-vv`).
    pub trace: bool,
    pub policy: Policy,
    pub limits: ScriptLimits,
    pub jobs: usize,
    pub keep_going: bool,
    /// `--per-host`: commands at once per host.
    pub per_host: usize,
    /// The state file: `--state`, else (once the project is located) the project's; `None`
    /// when `use_state` is false.
    pub state: Option<PathBuf>,
    /// The command keeps state and `--no-state` was not given.
    pub use_state: bool,
    /// `apply --prune` / `plan --prune`.
    pub prune: bool,
    /// `apply --yes` / `delete --yes`: never ask before deleting.
    pub yes: bool,
    /// `plan --delete`.
    pub plan_delete: bool,
    /// `plan --detailed-exitcode`.
    pub detailed_exitcode: bool,
    /// `apply --rollback-on-failure` / `plan --rollback-on-failure`.
    pub rollback_on_failure: bool,
    pub selection: Selection,
    /// `graph --format`, and `graph --delete`.
    pub graph_format: GraphFormat,
    pub graph_delete: bool,
    /// `lint PATH...`: handler files and directories (empty: those a run would use).
    pub lint_paths: Vec<PathBuf>,
    /// `explain KIND[.FIELD]`.
    pub explain: String,
    /// `-i` files, in order.
    pub inventories: Vec<PathBuf>,
    /// `--limit` patterns, as given.
    pub limit: Vec<String>,
    /// `hosts --check`.
    pub hosts_check: bool,
    /// `rollback NAME...`: the state entries to roll back, and `--to-revision`.
    pub rollback: Vec<String>,
    pub to_revision: Option<u64>,
    /// `apply --verify`.
    pub verify_after: bool,
    /// `run ACTION`: the action, its `--param`s as given, and `--order`.
    pub action: Option<ActionRequest>,
    /// `test`: which files and cases, and where the JUnit report goes.
    pub test: TestRequest,
    /// `watch`: when and how cycles run.
    pub watch: WatchRequest,
    /// The command line as the lock file records it (secrets are masked there), filled in
    /// by `run` from the arguments it was given, never from `std::env::args` (which panics
    /// on an argument that is not UTF-8).
    pub command_line: String,
}

/// `ordo run ACTION --param k=v --order o`, as given (checked against the handlers once
/// they are loaded).
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub name: String,
    /// `(key, text)` in the order given.
    pub params: Vec<(String, String)>,
    pub order: Option<crate::handler::actions::Order>,
}

/// `ordo test`'s own options.
#[derive(Debug, Clone, Default)]
pub struct TestRequest {
    /// Test files and directories (empty: those of the handler directories).
    pub paths: Vec<PathBuf>,
    /// `--filter`, as given.
    pub filter: Option<String>,
    pub list: bool,
    pub junit: Option<PathBuf>,
    /// `--bundled`: the bundled handlers' own tests.
    pub bundled: bool,
}

/// `ordo watch`'s own options (see `WatchArgs` for what each means).
#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub interval: Duration,
    /// A fraction of `interval`, 0 to 1.
    pub jitter: f64,
    pub retry_interval: Duration,
    pub max_backoff: Duration,
    pub drift: super::DriftPolicy,
    pub flap_window: Duration,
    pub shutdown_grace: Duration,
    pub once: bool,
    /// `--listen ADDR`, as given (checked by `run/`, which starts the server).
    pub listen: Option<String>,
    /// `--listen-any`: a non-loopback `--listen` address is allowed.
    pub listen_any: bool,
}

impl Default for WatchRequest {
    fn default() -> Self {
        WatchRequest {
            interval: Duration::from_secs(300),
            jitter: 0.1,
            retry_interval: Duration::from_secs(30),
            max_backoff: Duration::from_secs(600),
            drift: super::DriftPolicy::Correct,
            flap_window: Duration::from_secs(3600),
            shutdown_grace: Duration::from_secs(30),
            once: false,
            listen: None,
            listen_any: false,
        }
    }
}

/// Most `--per-host` sessions: more than sshd would ever allow on one connection.
const MAX_PER_HOST: usize = 64;

/// A command-line problem (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
}

#[derive(Default)]
struct PlanOptions {
    prune: bool,
    delete: bool,
    detailed_exitcode: bool,
    rollback_on_failure: bool,
}

/// The shortest `--interval` and `--retry-interval` `ordo watch` accepts: a typo (`1us` for
/// `1m`) must not spin the loop and the state lock.
const MIN_WATCH_INTERVAL: Duration = Duration::from_millis(100);

fn usage(message: impl Into<String>) -> UsageError {
    UsageError {
        message: message.into(),
    }
}

/// `--limit`: every comma-separated pattern has text, and a `!` something after it. An
/// empty `--limit` (`--limit "$HOSTS"` with `HOSTS` unset) must not mean every host.
fn check_limit(limit: &[String]) -> Result<(), UsageError> {
    for given in limit {
        for pattern in given.split(',').map(str::trim) {
            let problem = if pattern.is_empty() {
                "an empty host pattern"
            } else if pattern.trim_start_matches('!').trim().is_empty() {
                "a `!` without a host pattern"
            } else {
                continue;
            };
            return Err(usage(format!(
                "--limit `{given}` holds {problem}: name hosts, groups or globs (`web-*`, `!web-2`), or leave out --limit to run on every host"
            )));
        }
    }
    Ok(())
}

/// The run options as clap gives them, or their defaults for commands that run no handler.
fn run_parts(r: RunArgs) -> (LoadArgs, SelectArgs, OutputArgs, RunOptions) {
    (
        r.load,
        r.select,
        r.output,
        RunOptions::new(r.handlers, r.state, !r.no_state),
    )
}

/// What only the commands that run handlers take; the others get [`RunOptions::default`].
struct RunOptions {
    quiet: bool,
    jobs: usize,
    keep_going: bool,
    per_host: usize,
    /// `--state` (the project's state file when absent, unless `use_state` is false).
    state: Option<PathBuf>,
    use_state: bool,
    deny: Vec<String>,
    fs_roots: Vec<PathBuf>,
    net_allow: Vec<NetRule>,
    timeout: Duration,
    max_operations: u64,
}

impl RunOptions {
    fn new(h: HandlerArgs, state: Option<PathBuf>, use_state: bool) -> RunOptions {
        RunOptions {
            quiet: h.quiet,
            jobs: h.jobs,
            keep_going: h.keep_going,
            per_host: h.per_host,
            state,
            use_state,
            deny: h.deny,
            fs_roots: h.fs_roots,
            net_allow: h.net_allow,
            timeout: h.timeout,
            max_operations: h.max_operations,
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        let limits = ScriptLimits::default();
        RunOptions {
            quiet: false,
            jobs: 1,
            keep_going: false,
            per_host: 8,
            state: None,
            use_state: false,
            deny: Vec::new(),
            fs_roots: Vec::new(),
            net_allow: Vec::new(),
            timeout: limits.timeout,
            max_operations: limits.max_operations,
        }
    }
}

impl Config {
    pub fn from_cli(cli: Cli) -> Result<Config, UsageError> {
        let mut plan = PlanOptions::default();
        let mut graph = (GraphFormat::Text, false);
        let mut lint_paths = Vec::new();
        let mut explain = String::new();
        let mut hosts_check = false;
        let mut yes = false;
        let mut rollback = (Vec::new(), None);
        let mut verify_after = false;
        let mut action = None;
        let mut test = TestRequest::default();
        let mut watch = WatchRequest::default();
        let mut keep_going = false;
        let (command, (load, select, output, run)) = match cli.command {
            Command::Apply(a) => {
                plan.prune = a.prune;
                yes = a.yes;
                plan.rollback_on_failure = a.rollback_on_failure;
                verify_after = a.verify;
                (CommandKind::Apply, run_parts(a.run))
            }
            Command::Delete(d) => {
                yes = d.yes;
                (CommandKind::Delete, run_parts(d.run))
            }
            Command::Verify(r) => (CommandKind::Verify, run_parts(r)),
            Command::Watch(w) => {
                // A typo (`1us` for `1m`) must not spin the loop and the state lock.
                for (flag, value) in [
                    ("--interval", w.interval),
                    ("--retry-interval", w.retry_interval),
                ] {
                    if value < MIN_WATCH_INTERVAL {
                        return Err(usage(format!(
                            "{flag} {} is shorter than the shortest wait ordo watch allows, {}",
                            humantime::format_duration(value),
                            humantime::format_duration(MIN_WATCH_INTERVAL)
                        )));
                    }
                }
                let max_backoff = match w.max_backoff {
                    Some(max) if max < w.retry_interval => {
                        return Err(usage(format!(
                            "--retry-interval {} is longer than --max-backoff {} (the longest wait before a failing manifest is tried again)",
                            humantime::format_duration(w.retry_interval),
                            humantime::format_duration(max)
                        )));
                    }
                    Some(max) => max,
                    None => WatchRequest::default().max_backoff.max(w.retry_interval),
                };
                watch = WatchRequest {
                    interval: w.interval,
                    jitter: w.jitter,
                    retry_interval: w.retry_interval,
                    max_backoff,
                    drift: w.drift,
                    flap_window: w.flap_window,
                    shutdown_grace: w.shutdown_grace,
                    once: w.once,
                    listen: w.listen,
                    listen_any: w.listen_any,
                };
                if w.run.load.manifests.iter().any(|p| p.as_os_str() == "-") {
                    return Err(usage(
                        "ordo watch reads its inputs again after each change; `-m -` (standard input) can be read only once",
                    ));
                }
                // A failure never holds up what does not depend on it.
                keep_going = true;
                (CommandKind::Watch, run_parts(w.run))
            }
            Command::Run(r) => {
                let mut params = Vec::new();
                for p in &r.params {
                    match p.split_once('=') {
                        Some((k, v)) if !k.trim().is_empty() => {
                            params.push((k.to_string(), v.to_string()));
                        }
                        _ => return Err(usage(format!("--param `{p}`: expected KEY=VALUE"))),
                    }
                }
                use crate::handler::actions::Order;
                action = Some(ActionRequest {
                    name: r.action.clone(),
                    params,
                    order: r.order.map(|o| match o {
                        super::args::ActionOrder::Forward => Order::Forward,
                        super::args::ActionOrder::Reverse => Order::Reverse,
                        super::args::ActionOrder::None => Order::None,
                    }),
                });
                (CommandKind::Run, run_parts(r.run))
            }
            Command::Actions(h) => (
                CommandKind::Actions,
                (
                    h.load,
                    SelectArgs::default(),
                    h.output,
                    RunOptions::default(),
                ),
            ),
            Command::Plan(p) => {
                plan = PlanOptions {
                    prune: p.prune,
                    delete: p.delete,
                    detailed_exitcode: p.detailed_exitcode,
                    rollback_on_failure: p.rollback_on_failure,
                };
                (CommandKind::Plan, run_parts(p.run))
            }
            Command::Validate(v) => (
                CommandKind::Validate,
                (v.load, v.select, v.output, RunOptions::default()),
            ),
            Command::Handlers(h) => (
                CommandKind::Handlers,
                (
                    h.load,
                    SelectArgs::default(),
                    h.output,
                    RunOptions::default(),
                ),
            ),
            Command::Graph(g) => {
                if let (Some(format), Some(OutputFormat::Json | OutputFormat::Jsonl)) =
                    (g.format, g.output.output)
                {
                    let format = if format == GraphFormat::Dot {
                        "dot"
                    } else {
                        "text"
                    };
                    return Err(usage(format!(
                        "--format {format} is a human rendering of the graph; with -o json it prints nodes and edges: give one or the other"
                    )));
                }
                graph = (g.format.unwrap_or(GraphFormat::Text), g.delete);
                (
                    CommandKind::Graph,
                    (g.load, g.select, g.output, RunOptions::default()),
                )
            }
            Command::Lint(l) => {
                lint_paths = l.paths;
                let load = LoadArgs::handlers_only(l.manifests, l.src, l.sources);
                (
                    CommandKind::Lint,
                    (load, SelectArgs::default(), l.output, RunOptions::default()),
                )
            }
            Command::Explain(e) => {
                explain = e.target;
                let load = LoadArgs::handlers_only(e.manifests, e.src, e.sources);
                (
                    CommandKind::Explain,
                    (load, SelectArgs::default(), e.output, RunOptions::default()),
                )
            }
            Command::Test(t) => {
                test = TestRequest {
                    paths: t.paths,
                    filter: t.filter,
                    list: t.list,
                    junit: t.junit,
                    bundled: t.bundled,
                };
                let load = LoadArgs::handlers_only(t.manifests, t.src, t.sources);
                let run = RunOptions {
                    jobs: t.jobs,
                    deny: t.deny,
                    timeout: t.timeout,
                    max_operations: t.max_operations,
                    ..RunOptions::default()
                };
                if let Some(OutputFormat::Jsonl) = t.output.output {
                    return Err(usage(
                        "`ordo test` prints -o human or -o json (and --junit FILE), not jsonl",
                    ));
                }
                (
                    CommandKind::Test,
                    (load, SelectArgs::default(), t.output, run),
                )
            }
            Command::Hosts(h) => {
                hosts_check = h.check;
                (
                    CommandKind::Hosts,
                    (
                        h.load,
                        SelectArgs {
                            limit: h.limit,
                            ..SelectArgs::default()
                        },
                        h.output,
                        RunOptions::default(),
                    ),
                )
            }
            Command::Rollback(r) => {
                rollback = (r.names, r.to_revision);
                let run = RunOptions::new(r.handlers, r.state, true);
                (
                    CommandKind::Rollback,
                    (r.load, SelectArgs::default(), r.output, run),
                )
            }
            Command::State(_)
            | Command::Sources(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Schema(_)
            | Command::New(_)
            | Command::Init(_) => {
                return Err(usage("this command is handled before configuration"));
            }
        };
        if plan.rollback_on_failure && !run.use_state {
            return Err(usage(
                "--rollback-on-failure cannot be used with --no-state: without the state nothing \
                 is known about what existed before the run, so every manifest would look new \
                 and its undo would delete it",
            ));
        }
        let mut deny = Permissions::default();
        for name in run.deny.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let cap = Capability::parse(name).ok_or_else(|| {
                let names = Capability::ALL.map(Capability::as_str);
                let hint = did_you_mean(name, names)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                usage(format!(
                    "--deny: unknown capability `{name}`{hint} (capabilities: {})",
                    names.join(", ")
                ))
            })?;
            deny.insert(cap);
        }
        let mut fs_roots = Vec::new();
        for root in &run.fs_roots {
            let real = root
                .canonicalize()
                .map_err(|e| usage(format!("--fs-root {}: {e}", root.display())))?;
            if !real.is_dir() {
                return Err(usage(format!(
                    "--fs-root {}: not a directory",
                    root.display()
                )));
            }
            fs_roots.push(real);
        }
        for set in &load.set {
            match set.split_once('=') {
                Some((name, _)) if !name.trim().is_empty() => {}
                _ => return Err(usage(format!("--set `{set}`: expected KEY=VALUE"))),
            }
        }
        let mut selectors = Vec::new();
        for text in &select.selector {
            selectors
                .push(LabelSelector::parse(text).map_err(|e| usage(format!("--selector: {e}")))?);
        }
        let limit = select.limit;
        check_limit(&limit)?;
        let selection = Selection {
            only: select.only,
            exclude: select.exclude,
            selectors,
        };
        if plan.prune && !selection.is_empty() {
            return Err(usage(
                "--prune deletes everything gone from the files; it cannot be combined with --only, --exclude or --selector",
            ));
        }
        let jobs = run.jobs;
        if jobs == 0 {
            return Err(usage("--jobs must be at least 1"));
        }
        if !(1..=MAX_PER_HOST).contains(&run.per_host) {
            return Err(usage(format!(
                "--per-host must be from 1 to {MAX_PER_HOST}, not {}",
                run.per_host
            )));
        }
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = |terminal: bool| match output.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        Ok(Config {
            command,
            // Empty: the project's `spec.manifests`, else the project root (filled in once
            // the project is located).
            manifests: load.manifests,
            src: if load.src.is_empty() {
                None
            } else {
                Some(load.src)
            },
            extra_src: Vec::new(),
            handler_sources: Vec::new(),
            source_notes: Vec::new(),
            pending_lock: std::sync::Mutex::default(),
            source_policy: load.sources.policy(),
            env: load.env,
            values: ValueSources {
                files: load.values,
                sets: load.set,
            },
            output: output.output.unwrap_or(OutputFormat::Human),
            color_out: color(std::io::stdout().is_terminal()),
            color_err: color(std::io::stderr().is_terminal()),
            log_level: if run.quiet {
                LogLevel::Warn
            } else if output.verbose > 0 {
                LogLevel::Debug
            } else {
                LogLevel::Info
            },
            trace: output.verbose > 1,
            policy: Policy {
                deny,
                fs_roots,
                net_allow: run.net_allow,
                ..Policy::default()
            },
            limits: ScriptLimits {
                max_operations: run.max_operations,
                timeout: run.timeout,
                ..ScriptLimits::default()
            },
            jobs,
            keep_going: run.keep_going || keep_going,
            per_host: run.per_host,
            state: run.state,
            use_state: run.use_state,
            prune: plan.prune,
            yes,
            plan_delete: plan.delete,
            detailed_exitcode: plan.detailed_exitcode,
            rollback_on_failure: plan.rollback_on_failure,
            selection,
            graph_format: graph.0,
            graph_delete: graph.1,
            lint_paths,
            explain,
            inventories: load.inventories,
            limit,
            hosts_check,
            rollback: rollback.0,
            to_revision: rollback.1,
            verify_after,
            action,
            test,
            watch,
            command_line: String::new(),
        })
    }
}
