//! The command line as clap sees it. `config.rs` turns it into a checked [`super::Config`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::stdlib::NetRule;

#[derive(Debug, Parser)]
#[command(
    name = "ordo",
    version,
    about = "Bring YAML manifests to their desired state, with handlers written in Rhai.",
    long_about = None,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring every selected manifest to its desired state
    Apply(ApplyArgs),
    /// Tear the selected manifests down, in reverse dependency order
    Delete(DeleteArgs),
    /// Read-only: what `apply` (or `plan --delete`) would do; only `check` runs
    Plan(PlanArgs),
    /// Load, resolve and order everything; run no handler
    Validate(ValidateArgs),
    /// List kinds, version ranges, source files and permissions
    Handlers(HandlersArgs),
    /// Inspect the state file, or remove a stale lock
    State(StateArgs),
    /// Apply a recorded revision of manifests again (default: the one before the current)
    Rollback(RollbackArgs),
    /// Print the dependency graph: levels as text, or Graphviz with `--format dot`
    Graph(GraphArgs),
    /// Check handler scripts without running them: calls, argument counts, permissions
    Lint(LintArgs),
    /// List the hosts of the inventory: address, port, user, groups, variables and their origin;
    /// `--check` connects to each
    Hosts(HostsArgs),
    /// Show the fields of a kind's `spec` from its handler's schema (`ordo explain WriteFile`,
    /// `ordo explain ShellScript.source.type`)
    Explain(ExplainArgs),
    /// Print a completion script for a shell (`ordo completions bash > /etc/bash_completion.d/ordo`)
    Completions(CompletionsArgs),
    /// Print the manual page of ordo, or of one command (`ordo man apply`), as roff
    Man(ManArgs),
    /// Run every selected manifest's `verify` (read-only), dependencies first: does it work?
    Verify(RunArgs),
    /// Run a custom action of the handlers (`start`, `stop`, `backup`...) over the graph
    Run(RunActionArgs),
    /// List the custom actions of the handlers: kind, versions, action, order, parameters
    Actions(HandlersArgs),
    /// Print a JSON Schema (draft-07) of manifest files for editors, from the handlers a run would see
    Schema(SchemaArgs),
    /// Write a skeleton: `new manifest KIND NAME` prints a manifest, `new handler KIND` writes a handler and its tests
    New(NewArgs),
    /// Start a project in DIR: ordo.yaml, a manifest, a handler with its tests, editor settings
    Init(InitArgs),
    /// Keep the project at its desired state: plan and apply what is pending at start, every
    /// `--interval`, on a change to an input file and on SIGHUP
    Watch(WatchArgs),
    /// Run handler tests (`*.test.yaml`): each case's manifest through its handler, with
    /// shell, HTTP, environment, values, prompts and time mocked
    Test(TestArgs),
    /// Sources from git and URLs: `fetch` them into the cache and pin them in ordo.lock,
    /// `update` moves pinned branches, `list`, `verify` the cached trees
    Sources(SourcesArgs),
}

/// How sources from git and URLs are resolved (DESIGN.md §15). Every command that loads
/// sources flattens it.
#[derive(Debug, Clone, Default, Args)]
pub struct SourceArgs {
    /// Fail if ordo.lock lacks a source or would change
    #[arg(long = "locked", global = true)]
    pub locked: bool,

    /// Never touch the network: sources come from the cache only
    #[arg(long = "offline", global = true)]
    pub offline: bool,

    /// Both --locked and --offline
    #[arg(long = "frozen", global = true)]
    pub frozen: bool,

    /// Allow local git repositories (`git+file://...`)
    #[arg(long = "allow-file-sources", global = true)]
    pub allow_file_sources: bool,

    /// Allow sources only from hosts (or whole addresses) matching this glob; repeatable
    #[arg(long = "allow-source", value_name = "PATTERN", global = true)]
    pub allow_source: Vec<String>,

    /// Refuse addresses that do not pin their content (`?sha256=`, or `?ref=` a full commit id)
    #[arg(long = "require-digest", global = true)]
    pub require_digest: bool,
}

impl SourceArgs {
    /// The policy these flags ask for.
    pub fn policy(&self) -> crate::sources::Policy {
        crate::sources::Policy {
            locked: self.locked || self.frozen,
            offline: self.offline || self.frozen,
            allow_file_sources: self.allow_file_sources,
            allow_source: self.allow_source.clone(),
            require_digest: self.require_digest,
        }
    }
}

/// `sources`: the project's sources, its ordo.lock and the cache.
#[derive(Debug, Args)]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub action: SourcesAction,

    #[command(flatten)]
    pub source: SourceArgs,

    /// A manifest file or directory, to locate the project (and its ordo.lock) by [default: .]
    #[arg(short = 'm', long = "manifest", value_name = "PATH", global = true, value_parser = super::values::Utf8Path)]
    pub manifests: Vec<PathBuf>,

    /// Output format
    #[arg(short = 'o', long = "output", value_name = "FORMAT", global = true)]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Subcommand)]
pub enum SourcesAction {
    /// Resolve the sources, fill the cache and pin them in ordo.lock [default: those ordo.lock lists]
    Fetch {
        /// Addresses to fetch (`git+https://host/repo.git//dir?ref=v1`, `https://host/f.yaml?sha256=HEX`)
        #[arg(value_name = "ADDRESS")]
        addresses: Vec<String>,
    },
    /// Resolve the refs again and pin what they name now: the only way a pinned branch moves
    Update {
        /// The sources to update, by name [default: all of ordo.lock]
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// List the sources of ordo.lock: name, pinned commit or digest, cached or not, address
    List,
    /// Hash every cached tree again and compare it with ordo.lock
    Verify,
}

/// `test`: which test files, which cases, how to run and report them.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files (`*.test.yaml`) or directories of them [default: the handler directories a run would use]
    #[arg(value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub paths: Vec<PathBuf>,

    /// Manifests whose directories hold the handlers [default: ordo.yaml's spec.manifests, else .]
    #[arg(short = 'm', long = "manifest", value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub manifests: Vec<PathBuf>,

    /// A directory of handler scripts [default: ordo.yaml's spec.handlers, else the directories of the manifest and test files]
    #[arg(short = 's', long = "src", value_name = "DIR", value_parser = super::values::Utf8Path)]
    pub src: Vec<PathBuf>,

    /// Only the cases whose `it` (or `FILE: it`) matches this glob
    #[arg(long = "filter", value_name = "GLOB")]
    pub filter: Option<String>,

    /// List the cases, run none
    #[arg(long = "list")]
    pub list: bool,

    /// Run the tests of the bundled handlers (embedded in ordo), against the bundled handlers alone
    #[arg(long = "bundled", conflicts_with_all = ["paths", "manifests", "src"])]
    pub bundled: bool,

    /// Also write a JUnit XML report to FILE, for CI
    #[arg(long = "junit", value_name = "FILE", value_parser = super::values::Utf8Path)]
    pub junit: Option<PathBuf>,

    /// Cases run at once
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 4)]
    pub jobs: usize,

    /// Deny a capability to every handler, as a run would: shell, file:read, file:write, http, env, prompt
    #[arg(long = "deny", value_name = "CAP", value_delimiter = ',')]
    pub deny: Vec<String>,

    /// Wall-clock limit for one handler call, in seconds or with units (`90s`, `5m`)
    #[arg(long = "timeout", value_name = "SECS", default_value = "60", value_parser = super::values::timeout)]
    pub timeout: Duration,

    /// Limit on script operations in one handler call
    #[arg(
        long = "max-operations",
        value_name = "N",
        default_value_t = 100_000_000
    )]
    pub max_operations: u64,

    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// `schema`, `new`: where the handlers are.
#[derive(Debug, Args)]
pub struct HandlerDirsArgs {
    /// Manifests whose directories hold the handlers [default: ordo.yaml's spec.manifests, else .]
    #[arg(short = 'm', long = "manifest", value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub manifests: Vec<PathBuf>,

    /// A directory of handler scripts [default: ordo.yaml's spec.handlers, else the directories of the manifest files]
    #[arg(short = 's', long = "src", value_name = "DIR", value_parser = super::values::Utf8Path)]
    pub src: Vec<PathBuf>,

    /// How the handler trees of the project's `spec.sources` are resolved.
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// `schema`: the handlers to read.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    #[command(flatten)]
    pub dirs: HandlerDirsArgs,
}

/// `new`: what to write.
#[derive(Debug, Args)]
pub struct NewArgs {
    #[command(subcommand)]
    pub what: NewWhat,
}

#[derive(Debug, Subcommand)]
pub enum NewWhat {
    /// Print a manifest of KIND that loads as it is: required fields, defaults, choices and descriptions as comments
    Manifest {
        /// The kind, as `ordo handlers` lists it
        #[arg(value_name = "KIND")]
        kind: String,
        /// The manifest's name
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        dirs: HandlerDirsArgs,
    },
    /// Write a working handler for KIND and its tests (`kind_name.rhai`, `kind_name.test.yaml`) into the first handler directory
    Handler {
        /// The kind: a letter, then letters and digits (`SystemdUnit`)
        #[arg(value_name = "KIND")]
        kind: String,
        /// Overwrite the files if they exist
        #[arg(long = "force")]
        force: bool,
        #[command(flatten)]
        dirs: HandlerDirsArgs,
    },
}

/// `init`: where.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project directory, created if missing [default: .]
    #[arg(value_name = "DIR", value_parser = super::values::Utf8Path)]
    pub dir: Option<PathBuf>,

    /// Overwrite files that exist
    #[arg(long = "force")]
    pub force: bool,
}

/// `explain`: which kind or field, where the handlers are, and output.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A kind, or a field of its spec: `KIND`, `KIND.field`, `KIND.field.nested`,
    /// `KIND.list[].field`
    #[arg(value_name = "KIND[.FIELD]")]
    pub target: String,

    /// Manifests whose directories hold the handlers [default: ordo.yaml's spec.manifests, else .]
    #[arg(short = 'm', long = "manifest", value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub manifests: Vec<PathBuf>,

    /// A directory of handler scripts [default: ordo.yaml's spec.handlers, else the directories of the manifest files]
    #[arg(short = 's', long = "src", value_name = "DIR", value_parser = super::values::Utf8Path)]
    pub src: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// `completions`: which shell.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `man`: which page.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command (`apply`, `state`, ...) for its own page, `ordo-COMMAND(1)` [default: ordo(1)]
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// `run ACTION`: the action, its parameters and order, and the options of a run.
#[derive(Debug, Args)]
pub struct RunActionArgs {
    /// The action, as a handler declares it in `actions(#{...})`
    #[arg(value_name = "ACTION")]
    pub action: String,

    /// A parameter of the action, typed as the handler declares it (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// The order over the graph, instead of the declared one: `forward` (dependencies
    /// first), `reverse` (as delete), `none` (all at once)
    #[arg(long = "order", value_name = "ORDER")]
    pub order: Option<ActionOrder>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// `run --order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ActionOrder {
    Forward,
    Reverse,
    None,
}

/// `hosts`: loading (for `kind: Inventory` documents and `-i`), `--limit`, output.
#[derive(Debug, Args)]
pub struct HostsArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Only these hosts: names, groups, globs, `!excluded` (repeatable, or comma-separated)
    #[arg(long = "limit", value_name = "PATTERN")]
    pub limit: Vec<String>,

    /// Connect to each host and run `true` there: `ok` with the latency, or `unreachable` and
    /// why; exit 1 when a host is unreachable
    #[arg(long = "check")]
    pub check: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `lint`: which handlers to check, and output.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Handler files or directories [default: the handler directories a run would use]
    #[arg(value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub paths: Vec<PathBuf>,

    /// Manifests whose directories hold the handlers, when no PATH is given [default: ordo.yaml's spec.manifests, else .]
    #[arg(short = 'm', long = "manifest", value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub manifests: Vec<PathBuf>,

    /// A directory of handler scripts, when no PATH is given [default: ordo.yaml's spec.handlers, else the directories of the manifest files]
    #[arg(short = 's', long = "src", value_name = "DIR", value_parser = super::values::Utf8Path)]
    pub src: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// The human rendering: `text` (levels) or `dot` (Graphviz) [default: text]; `-o json`
    /// prints nodes and edges instead
    #[arg(long = "format", value_name = "FORMAT")]
    pub format: Option<GraphFormat>,

    /// Show the delete order instead of the apply order
    #[arg(long = "delete")]
    pub delete: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// First delete, in reverse dependency order, what the state holds but the files no longer do
    #[arg(long = "prune")]
    pub prune: bool,

    /// Do not ask before `--prune` deletes (only a terminal is ever asked)
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,

    /// On a failure (or Ctrl-C), undo what this run changed, in the reverse of the order it finished
    #[arg(long = "rollback-on-failure", conflicts_with = "keep_going")]
    pub rollback_on_failure: bool,

    /// After each manifest's apply (also when `check` found nothing to do), run its `verify`;
    /// a failure fails the manifest (a warning for `metadata.verify: advisory`)
    #[arg(long = "verify")]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Do not ask before deleting (only a terminal is ever asked)
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Plan a `delete` instead of an `apply`
    #[arg(long = "delete")]
    pub delete: bool,

    /// Exit 0 when nothing would change, 4 when changes are pending, 1 on error
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,

    /// Count manifests that `apply --prune` would delete as changes
    #[arg(long = "prune")]
    pub prune: bool,

    /// Show how `apply --rollback-on-failure` would undo each pending manifest
    #[arg(long = "rollback-on-failure", conflicts_with = "delete")]
    pub rollback_on_failure: bool,
}

/// `watch`: the options of a run, and when and how cycles run.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Time between cycles (`200ms`, `30s`, `5m`, `1h`)
    #[arg(long = "interval", value_name = "DURATION", default_value = "5m", value_parser = super::values::duration)]
    pub interval: Duration,

    /// Each wait varies by up to this share of `--interval`, up or down (`10%`, `0`), so that
    /// many watchers do not run at the same moment
    #[arg(long = "jitter", value_name = "PERCENT", default_value = "10%", value_parser = super::values::percent)]
    pub jitter: f64,

    /// After a manifest fails, wait this long before trying it again; doubled after each
    /// further failure
    #[arg(long = "retry-interval", value_name = "DURATION", default_value = "30s", value_parser = super::values::duration)]
    pub retry_interval: Duration,

    /// The longest wait before a failing manifest is tried again [default: 10m, or
    /// `--retry-interval` if longer; given, it cannot be shorter than `--retry-interval`]
    #[arg(long = "max-backoff", value_name = "DURATION", value_parser = super::values::duration)]
    pub max_backoff: Option<Duration>,

    /// What to do about drift (the spec did not change, but `check` says work is needed):
    /// correct it, or only report it (`metadata.drift` overrides it per manifest)
    #[arg(long = "drift", value_name = "POLICY", default_value = "correct")]
    pub drift: DriftPolicy,

    /// A manifest whose drift was corrected 3 times within this window is `flapping`: only
    /// reported, until its spec changes
    #[arg(long = "flap-window", value_name = "DURATION", default_value = "1h", value_parser = super::values::duration)]
    pub flap_window: Duration,

    /// On SIGTERM or Ctrl-C, how long the running cycle may take to finish before its
    /// handlers are interrupted
    #[arg(long = "shutdown-grace", value_name = "DURATION", default_value = "30s", value_parser = super::values::duration)]
    pub shutdown_grace: Duration,

    /// Run one cycle and exit with the detailed exit codes of `plan`: 0 nothing to do, 4
    /// something changed, 1 something failed (for cron and systemd timers)
    #[arg(long = "once")]
    pub once: bool,
    /// Serve `/livez`, `/readyz`, `/status`, `/metrics` and `POST /reconcile` over HTTP on
    /// this address (`127.0.0.1:9464`; port 0: any free port, named on stderr)
    #[arg(long = "listen", value_name = "ADDR")]
    pub listen: Option<String>,

    /// Allow `--listen` on an address other than loopback (the endpoints have no
    /// authentication)
    #[arg(long = "listen-any", requires = "listen")]
    pub listen_any: bool,
}

/// `watch --drift`, and `metadata.drift` (which also takes `ignore`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DriftPolicy {
    /// Apply again what drifted
    Correct,
    /// Only report it
    Warn,
}

/// `rollback`: which manifests, which revision, and the options of a run.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The manifests to roll back, as the state records them (`web`, `web@h1`)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    /// The revision to apply again (`ordo state history NAME` lists them) [default: the one before the current]
    #[arg(long = "to-revision", value_name = "N")]
    pub to_revision: Option<u64>,

    #[command(flatten)]
    pub load: LoadArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub handlers: HandlerArgs,

    /// The state file [default: .ordo/state.json at the project root]
    #[arg(long = "state", value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub action: StateAction,

    /// The state file [default: .ordo/state.json at the project root]
    #[arg(long = "state", value_name = "PATH", global = true, value_parser = super::values::Utf8Path)]
    pub state: Option<PathBuf>,

    /// A manifest file or directory, to locate the project by [default: .]
    #[arg(short = 'm', long = "manifest", value_name = "PATH", global = true, value_parser = super::values::Utf8Path)]
    pub manifests: Vec<PathBuf>,

    /// The environment whose entries to show
    #[arg(
        short = 'e',
        long = "env",
        value_name = "NAME",
        default_value = "default",
        value_parser = super::values::env_name,
        global = true
    )]
    pub env: String,

    /// Output format
    #[arg(short = 'o', long = "output", value_name = "FORMAT", global = true)]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// List the manifests recorded for the environment
    List,
    /// Show one recorded manifest: its resolved spec, variables and handler
    Show {
        /// The manifest's name
        name: String,
    },
    /// List the revisions the state keeps of a manifest (the last 10), oldest first
    History {
        /// The manifest's name (`web`, or `web@h1` for an instance)
        name: String,
    },
    /// Forget a recorded manifest (nothing is deleted)
    Rm {
        /// The manifest's name
        name: String,
    },
    /// Remove the lock left by a run that died
    Unlock {
        /// Remove it even if its holder still runs
        #[arg(long = "force")]
        force: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Where the manifests, handlers and values come from: every command that loads them.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// A manifest file, a directory of them, or `-` for standard input [default: ordo.yaml's spec.manifests (absent: the project root), else .]
    #[arg(short = 'm', long = "manifest", value_name = "PATH", value_parser = super::values::Utf8Path)]
    pub manifests: Vec<PathBuf>,

    /// A directory of handler scripts [default: ordo.yaml's spec.handlers, else the directories of the manifest files]
    #[arg(short = 's', long = "src", value_name = "DIR", value_parser = super::values::Utf8Path)]
    pub src: Vec<PathBuf>,

    /// Target environment
    #[arg(
        short = 'e',
        long = "env",
        value_name = "NAME",
        default_value = "default",
        value_parser = super::values::env_name
    )]
    pub env: String,

    /// A values file (`kind: Values` documents); repeatable, later files win; added after ordo.yaml's spec.values
    #[arg(short = 'f', long = "values", value_name = "FILE", value_parser = super::values::Utf8Path)]
    pub values: Vec<PathBuf>,

    /// Set a value (read as YAML: `--set port=9` is a number); repeatable, wins over files
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// An inventory: `kind: Inventory` documents or an Ansible YAML inventory (repeatable)
    #[arg(short = 'i', long = "inventory", value_name = "FILE", value_parser = super::values::Utf8Path)]
    pub inventories: Vec<PathBuf>,

    /// How sources from git and URLs (`spec.sources`, addresses given to -m/-s/-f/-i) are resolved
    #[command(flatten)]
    pub sources: SourceArgs,
}

impl LoadArgs {
    /// What commands that only need handlers (`lint`, `explain`, `test`) load: these
    /// manifest paths and handler directories, the default environment, no values, no
    /// inventory.
    pub fn handlers_only(
        manifests: Vec<PathBuf>,
        src: Vec<PathBuf>,
        sources: SourceArgs,
    ) -> LoadArgs {
        LoadArgs {
            manifests,
            src,
            env: "default".into(),
            values: Vec::new(),
            set: Vec::new(),
            inventories: Vec::new(),
            sources,
        }
    }
}

/// Which manifests a command works on: the commands that walk the graph.
#[derive(Debug, Default, Args)]
pub struct SelectArgs {
    /// Run only these manifests (names or globs, repeatable) and what they need
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,

    /// Never run these manifests (names or globs, repeatable)
    #[arg(long = "exclude", value_name = "NAME")]
    pub exclude: Vec<String>,

    /// Run only manifests whose labels match (`k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`)
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Vec<String>,

    /// Narrow the hosts of manifests with `metadata.hosts`: names, groups, globs, `!excluded` (repeatable, or comma-separated)
    #[arg(long = "limit", value_name = "PATTERN")]
    pub limit: Vec<String>,
}

/// How the result is printed: every command that loads manifests.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format [default: human]
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// More output (-v: debug logs from handlers; -vv: ordo's own debug logs)
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours (`NO_COLOR` is honoured)
    #[arg(long = "color", value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

/// Options of the commands that run handlers: `apply`, `delete`, `plan`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub handlers: HandlerArgs,

    /// The state file [default: .ordo/state.json at the project root]
    #[arg(long = "state", value_name = "PATH", conflicts_with = "no_state", value_parser = super::values::Utf8Path)]
    pub state: Option<PathBuf>,

    /// Run without a state file: nothing is read or recorded
    #[arg(long = "no-state")]
    pub no_state: bool,
}

/// How handlers run: output, parallelism and the sandbox; every command that runs handlers
/// (`apply`, `delete`, `plan`, `rollback`) takes the same.
#[derive(Debug, Args)]
pub struct HandlerArgs {
    /// Less output: no log lines from handlers below `warn`
    #[arg(short = 'q', long = "quiet", conflicts_with = "verbose")]
    pub quiet: bool,

    /// Manifests run at once when the graph allows it
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 10)]
    pub jobs: usize,

    /// After a failure, keep running what does not depend on it
    #[arg(long = "keep-going")]
    pub keep_going: bool,

    /// Commands at once per host, over its one SSH connection (keep it at or below sshd's `MaxSessions`, 10 by default)
    #[arg(long = "per-host", value_name = "N", default_value_t = 8)]
    pub per_host: usize,

    /// Deny a capability to every handler in this run: shell, file:read, file:write, http, env, prompt
    #[arg(long = "deny", value_name = "CAP", value_delimiter = ',')]
    pub deny: Vec<String>,

    /// Confine every file path handlers use to this directory (repeatable)
    #[arg(long = "fs-root", value_name = "DIR", value_parser = super::values::Utf8Path)]
    pub fs_roots: Vec<PathBuf>,

    /// Allow HTTP only to this host, or host and port (repeatable): `example.com`, `127.0.0.1:8080`, `[::1]`
    #[arg(long = "net-allow", value_name = "HOST[:PORT]", value_parser = super::values::net_rule)]
    pub net_allow: Vec<NetRule>,

    /// Wall-clock limit for one handler call, in seconds or with units (`90s`, `5m`, `1h30m`), at most a year (`metadata.timeout` overrides it)
    #[arg(long = "timeout", value_name = "SECS", default_value = "3600", value_parser = super::values::timeout)]
    pub timeout: Duration,

    /// Limit on script operations in one handler call
    #[arg(
        long = "max-operations",
        value_name = "N",
        default_value_t = 100_000_000
    )]
    pub max_operations: u64,
}

/// `validate`: loading, selection and output.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `handlers`: loading and output (the list does not depend on a selection).
#[derive(Debug, Args)]
pub struct HandlersArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}
