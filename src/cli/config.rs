//! [`Config`]: the command line, checked and with defaults filled in.
//!
//! Everything the command line alone can get wrong is caught here and reported with exit
//! code 2, before any file is read.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::args::{Cli, ColorChoice, Command, CommonArgs, GraphFormat, OutputFormat};
use crate::diagnostic::did_you_mean;
use crate::exec::LogLevel;
use crate::manifest::ValueSources;
use crate::planner::{LabelSelector, Selection};
use crate::script::ScriptLimits;
use crate::stdlib::{Capability, Permissions, Policy};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    Apply,
    Delete,
    Plan,
    Validate,
    Handlers,
    Graph,
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
        }
    }
}

#[derive(Debug)]
pub struct Config {
    pub command: CommandKind,
    pub manifests: Vec<PathBuf>,
    /// `None`: the directories of the manifest files.
    pub src: Option<Vec<PathBuf>>,
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
    /// The state file; `None` with `--no-state` (and for commands that do not use one).
    pub state: Option<PathBuf>,
    /// `apply --prune` / `plan --prune`.
    pub prune: bool,
    /// `plan --delete`.
    pub plan_delete: bool,
    /// `plan --detailed-exitcode`.
    pub detailed_exitcode: bool,
    pub selection: Selection,
    /// `graph --format`, and `graph --delete`.
    pub graph_format: GraphFormat,
    pub graph_delete: bool,
}

/// Where the state lives unless `--state` says otherwise.
pub fn default_state_path() -> PathBuf {
    PathBuf::from(".ordo").join("state.json")
}

/// A command-line problem (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
}

/// The options only commands that run handlers have.
struct RunOptions {
    jobs: usize,
    keep_going: bool,
    state: Option<PathBuf>,
}

impl RunOptions {
    fn from(jobs: usize, keep_going: bool, state: Option<PathBuf>, no_state: bool) -> Self {
        let state = if no_state {
            None
        } else {
            Some(state.unwrap_or_else(default_state_path))
        };
        RunOptions {
            jobs,
            keep_going,
            state,
        }
    }
}

#[derive(Default)]
struct PlanOptions {
    prune: bool,
    delete: bool,
    detailed_exitcode: bool,
}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError {
        message: message.into(),
    }
}

impl Config {
    pub fn from_cli(cli: Cli) -> Result<Config, UsageError> {
        let mut plan = PlanOptions::default();
        let mut graph = (GraphFormat::Text, false);
        let (command, common, run): (CommandKind, CommonArgs, Option<RunOptions>) =
            match cli.command {
                Command::Apply(a) => {
                    plan.prune = a.prune;
                    (
                        CommandKind::Apply,
                        a.run.common,
                        Some(RunOptions::from(
                            a.run.jobs,
                            a.run.keep_going,
                            a.run.state,
                            a.run.no_state,
                        )),
                    )
                }
                Command::Delete(r) => (
                    CommandKind::Delete,
                    r.common,
                    Some(RunOptions::from(r.jobs, r.keep_going, r.state, r.no_state)),
                ),
                Command::Plan(p) => {
                    plan = PlanOptions {
                        prune: p.prune,
                        delete: p.delete,
                        detailed_exitcode: p.detailed_exitcode,
                    };
                    (
                        CommandKind::Plan,
                        p.run.common,
                        Some(RunOptions::from(
                            p.run.jobs,
                            p.run.keep_going,
                            p.run.state,
                            p.run.no_state,
                        )),
                    )
                }
                Command::Validate(c) => (CommandKind::Validate, c, None),
                Command::Handlers(c) => (CommandKind::Handlers, c, None),
                Command::Graph(g) => {
                    graph = (g.format, g.delete);
                    (CommandKind::Graph, g.common, None)
                }
                Command::State(_) => return Err(usage("`state` is handled before configuration")),
            };
        let mut deny = Permissions::default();
        for name in common
            .deny
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
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
        for root in &common.fs_roots {
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
        if !(common.timeout.is_finite() && common.timeout > 0.0) {
            return Err(usage(format!(
                "--timeout: `{}` is not a positive number of seconds",
                common.timeout
            )));
        }
        for set in &common.set {
            match set.split_once('=') {
                Some((name, _)) if !name.trim().is_empty() => {}
                _ => return Err(usage(format!("--set `{set}`: expected KEY=VALUE"))),
            }
        }
        let mut selectors = Vec::new();
        for text in &common.selector {
            selectors
                .push(LabelSelector::parse(text).map_err(|e| usage(format!("--selector: {e}")))?);
        }
        let selection = Selection {
            only: common.only.clone(),
            exclude: common.exclude.clone(),
            selectors,
        };
        if plan.prune && !selection.is_empty() {
            return Err(usage(
                "--prune deletes everything gone from the files; it cannot be combined with --only, --exclude or --selector",
            ));
        }
        let jobs = run.as_ref().map_or(1, |r| r.jobs);
        if jobs == 0 {
            return Err(usage("--jobs must be at least 1"));
        }
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = |terminal: bool| match common.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        Ok(Config {
            command,
            manifests: if common.manifests.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                common.manifests
            },
            src: if common.src.is_empty() {
                None
            } else {
                Some(common.src)
            },
            env: common.env,
            values: ValueSources {
                files: common.values,
                sets: common.set,
            },
            output: common.output.unwrap_or(OutputFormat::Human),
            color_out: color(std::io::stdout().is_terminal()),
            color_err: color(std::io::stderr().is_terminal()),
            log_level: if common.quiet {
                LogLevel::Warn
            } else if common.verbose > 0 {
                LogLevel::Debug
            } else {
                LogLevel::Info
            },
            trace: common.verbose > 1,
            policy: Policy {
                deny,
                fs_roots,
                net_allow: common.net_allow,
                read_only: false,
            },
            limits: ScriptLimits {
                max_operations: common.max_operations,
                timeout: Duration::from_secs_f64(common.timeout),
                ..ScriptLimits::default()
            },
            jobs,
            keep_going: run.as_ref().is_some_and(|r| r.keep_going),
            state: run.and_then(|r| r.state),
            prune: plan.prune,
            plan_delete: plan.delete,
            detailed_exitcode: plan.detailed_exitcode,
            selection,
            graph_format: graph.0,
            graph_delete: graph.1,
        })
    }
}
