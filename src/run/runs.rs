//! The commands that run handlers: `apply`, `delete` and `plan`, with the state file.
//!
//! With state (the default): the lock is taken, a journal left by a crashed run is folded,
//! the variables recorded by earlier runs are loaded (so a `delete` can read the id an
//! `apply` stored), each finished manifest is journaled, and the journal is folded into the
//! state file at the end — also after a failure or an interrupt. `plan` only reads the
//! state, takes no lock and writes nothing.
//!
//! [`run_handlers`] reads as its steps: lock and recover the state, seed the variables,
//! find what is gone from the files, select and plan (prunes first), compare with the
//! state, open the recording, run, save, and turn the report into an exit status.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::load::World;
use crate::cli::{CommandKind, Config};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::exec::{Baseline, EventSink, Orphan, RunSettings, Runner, Variables};
use crate::manifest::{Action, Manifest};
use crate::planner::{Plan, Step};
use crate::script::convert::json_to_dynamic;
use crate::state::{
    Entry, SpecHasher, StateErrorKind, StateLock, StateRecorder, StateStore, entry_manifest,
    parse_raw, previous_value,
};

/// Ctrl-C (and SIGTERM): the first stops new work, interrupts running handlers and their
/// commands, and lets the run finish its report and save the state; the second ends ordo
/// at once. Under `apply --rollback-on-failure` the first starts the rollback (the runner
/// clears the stop for it), a second stops the rollback where it is, a third ends ordo.
pub(super) fn install_interrupt(cancel: &Arc<AtomicBool>, rollback: bool) {
    let cancel = Arc::clone(cancel);
    let _ = ctrlc::set_handler(move || {
        // A press while the run (or its rollback) is not stopping yet stops it; a press
        // while it is already stopping ends ordo.
        if !cancel.swap(true, Ordering::SeqCst) {
            crate::exec::interrupt::stop_handlers();
            let message = if crate::exec::rolling_back() {
                "interrupted: stopping the rollback where it is (press Ctrl-C again to quit at once)"
            } else if rollback {
                "interrupted: stopping running handlers, then rolling back what this run changed (press Ctrl-C again to stop the rollback)"
            } else {
                "interrupted: stopping running handlers (press Ctrl-C again to quit at once)"
            };
            eprintln!("{message}");
        } else {
            crate::exec::interrupt::quit_now();
        }
    });
}

/// A write past the file size limit (`ulimit -f`) raises `SIGXFSZ`, whose default ends the
/// process on the spot; caught, the write fails with `EFBIG` instead, so a journal that
/// cannot grow stops the run with an error saying what was not recorded (issue 16), and a
/// handler's write fails its manifest. Caught rather than ignored: a caught signal is
/// reset to its default in the commands handlers run, an ignored one would be inherited.
#[expect(
    unsafe_code,
    reason = "signal(2) has no safe wrapper in std; the handler does nothing"
)]
pub(super) fn catch_file_size_signal() {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: the handler touches no state at all, so it is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGXFSZ,
            nothing as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

pub(super) fn state_error(e: &StateErrorKind) -> Error {
    let help = match e {
        StateErrorKind::Locked { .. } => Some(
            "wait for that run to finish; if it died without cleaning up, `ordo state unlock` removes the lock",
        ),
        StateErrorKind::Corrupt { .. } => {
            Some("restore it from a backup, or move it away to start from an empty state")
        }
        StateErrorKind::JournalCorrupt { .. } => Some(
            "each line records one manifest on its own: fix or delete that line, and run again",
        ),
        _ => None,
    };
    let mut d = Diagnostic::error(e.to_string()).help_opt(help.map(str::to_string));
    if let StateErrorKind::Stopped {
        saving: Some(saving),
        ..
    } = e
    {
        d = d.note(format!("saving the state failed too: {saving}"));
    }
    Error::State(Box::new(d))
}

/// How a manifest compares with what the state recorded.
fn baseline(
    m: &Manifest,
    handler: Option<&crate::handler::Handler>,
    recorded: Option<&Entry>,
    hasher: &SpecHasher,
) -> Baseline {
    let hash = handler.map(|h| h.hash.as_str()).unwrap_or_default();
    match recorded {
        None => Baseline::New,
        Some(e) if !hasher.same(&m.spec, e) => Baseline::SpecChanged,
        Some(e) if e.handler_hash != hash => Baseline::HandlerChanged {
            why: handler.and_then(|h| handler_change(e, h)),
        },
        Some(_) => Baseline::Same,
    }
}

/// Why the handler of a manifest is not the one its last apply recorded: the source it
/// comes from moved (`source `platform` moved 9f2c… → 41aa…`), it now comes from elsewhere,
/// or its file was edited.
fn handler_change(e: &Entry, h: &crate::handler::Handler) -> Option<String> {
    use crate::handler::origin::short_pin;
    let shown = |p: &str| crate::paths::shown(std::path::Path::new(p));
    match (&e.handler_source, h.origin.source()) {
        (Some(old), Some(new)) if old.name == new.name && old.pin != new.pin => Some(format!(
            "source `{}` moved {} → {}",
            new.name,
            short_pin(&old.pin),
            new.short_pin()
        )),
        (Some(old), Some(new)) if old.name != new.name => Some(format!(
            "now from source `{}` at {} (was source `{}` at {})",
            new.name,
            new.short_pin(),
            old.name,
            short_pin(&old.pin)
        )),
        (Some(old), None) => Some(format!(
            "now `{}` (was from source `{}` at {})",
            h.name(),
            old.name,
            short_pin(&old.pin)
        )),
        (None, Some(new)) => Some(format!(
            "now from source `{}` at {} (was `{}`)",
            new.name,
            new.short_pin(),
            shown(&e.handler)
        )),
        _ if e.handler != h.file.canonical_name() => {
            Some(format!("now `{}` (was `{}`)", h.name(), shown(&e.handler)))
        }
        _ if h.bundled => Some("the bundled handler is another version".into()),
        _ => Some(format!("`{}` was edited", h.name())),
    }
}

/// `apply`, `delete` and `plan`: the steps of a run, in order.
pub(super) fn run_handlers(config: &Config, world: &World, action: Action) -> Result<(), Error> {
    match run_with(config, world, action, &Hooks::default())? {
        Ran::Done { report, .. } => {
            exit_status(config, &report, config.command == CommandKind::Plan)
        }
        Ran::Locked(e) => Err(e),
    }
}

/// What `ordo watch` brings to one run of [`run_with`]; the default is a plain run.
#[derive(Default)]
pub(super) struct Hooks<'a> {
    /// The stop flag, set by the caller, who handles the signals itself (no Ctrl-C handler
    /// is installed).
    pub cancel: Option<Arc<AtomicBool>>,
    /// What may start, and which drift is corrected.
    pub gate: Option<&'a dyn crate::exec::Gate>,
    /// The watch cycle: every JSON line carries it.
    pub cycle: Option<u64>,
    /// A state lock held by another run is no error: the run does not happen
    /// ([`Ran::Locked`]).
    pub skip_if_locked: bool,
}

/// What [`run_with`] did.
pub(super) enum Ran {
    /// The run happened: its report, and per plan step what ran.
    Done {
        report: crate::exec::RunReport,
        steps: Vec<RanStep>,
    },
    /// Another run holds the state lock: nothing ran. With [`Hooks::skip_if_locked`], the
    /// error is the one a plain run would have reported.
    Locked(Error),
}

/// One step of a run, for the watch loop: which manifest, and how it compared with the
/// state before the run.
pub(super) struct RanStep {
    /// As the state records it (`web`, `web@h1`).
    pub name: String,
    pub host: Option<String>,
    pub baseline: Baseline,
}

/// The steps of a run, in order: lock and recover the state, seed the variables, find what
/// is gone from the files, select and plan (prunes first), compare with the state, open
/// the recording, run, save.
pub(super) fn run_with(
    config: &Config,
    world: &World,
    action: Action,
    hooks: &Hooks<'_>,
) -> Result<Ran, Error> {
    let dry_run = config.command == CommandKind::Plan;
    // `verify` and `run ACTION` neither apply nor delete (`verify` only reads the state).
    let lifecycle = !matches!(config.command, CommandKind::Verify | CommandKind::Run);
    let action = super::actions::plan_action(config, world, action)?;
    catch_file_size_signal();
    // `run ACTION` records only the variables of manifests the state records: with no state
    // directory yet it has nothing to record, and makes none (A-F15), as `verify`.
    let nothing_recorded = config.command == CommandKind::Run
        && config
            .state
            .as_deref()
            .and_then(std::path::Path::parent)
            .is_some_and(|dir| !dir.exists());
    let read_only = dry_run || config.command == CommandKind::Verify || nothing_recorded;
    let mut state = match StateRun::lock_and_recover(config, read_only) {
        Ok(state) => state,
        Err(Refused::Locked(e)) if hooks.skip_if_locked => return Ok(Ran::Locked(e)),
        Err(Refused::Locked(e) | Refused::Other(e)) => return Err(e),
    };
    let vars = seed_variables(world, &state);
    let gone = state.gone_from_files(config, world);
    let mut planned = plan_steps(config, world, action, &state, &gone, dry_run || !lifecycle)?;
    let mode = super::actions::mode(config, world, &mut planned.plan)?;
    if action == Action::Delete && !config.limit.is_empty() && lifecycle {
        warn_left_dependents(config, world, &planned, &state);
    }
    // `run ACTION` in reverse order walks the graph as delete, but deletes nothing.
    if !dry_run && lifecycle {
        confirm_deletions(config, action, &planned)?;
    }
    let compared = compare(config, world, action, &state, &gone, dry_run);
    let steps = planned
        .plan
        .steps
        .iter()
        .filter_map(|s| planned.manifests.get(s.manifest))
        .map(|m| RanStep {
            name: m.name.clone(),
            host: m.host.as_ref().map(|h| h.name.clone()),
            baseline: compared
                .baselines
                .get(m.index)
                .cloned()
                .unwrap_or(Baseline::New),
        })
        .collect();
    let recording = state.recording(config, world, action, &planned.pruned, &vars)?;
    planned.mode = mode;
    let prior = state.prior.clone();
    let report = execute(
        config,
        world,
        &planned,
        vars,
        compared,
        Records {
            recording: &recording,
            prior: prior.as_deref(),
        },
        hooks,
    );
    state.save(recording)?;
    Ok(Ran::Done { report, steps })
}

/// Why the state could not be opened for a run.
enum Refused {
    /// Another run holds the lock.
    Locked(Error),
    Other(Error),
}

/// `delete`, and `apply --prune` with orphans: on a terminal, ask first (see `confirm.rs`).
fn confirm_deletions(config: &Config, action: Action, planned: &Planned<'_>) -> Result<(), Error> {
    let deleting = |m: &Manifest| super::confirm::Deletion {
        name: m.name.clone(),
        kind: m.kind.clone(),
    };
    let (verb, listed): (&str, Vec<_>) = match action {
        Action::Delete => (
            "ordo delete",
            planned
                .plan
                .steps
                .iter()
                .filter_map(|s| planned.manifests.get(s.manifest))
                .map(deleting)
                .collect(),
        ),
        Action::Apply | Action::Rollback => (
            "ordo apply --prune",
            planned
                .plan
                .steps
                .iter()
                .filter_map(|s| planned.manifests.get(s.manifest))
                .filter(|m| planned.pruned.contains(&m.name))
                .map(deleting)
                .collect(),
        ),
    };
    super::confirm::deletions(config, verb, &listed)
}

/// The state file of a run: its lock (unless `plan`), what it holds, the key of its spec
/// hashes, and the command line the lock records.
struct StateRun {
    store: Option<StateStore>,
    lock: Option<StateLock>,
    /// Taken by [`StateRun::recording`].
    state: crate::state::State,
    hasher: SpecHasher,
    /// The command line, every secret masked (a `--set` of a secret value included; the
    /// values were registered when loading). It is the arguments `run` was given, as
    /// `OsString`s (`std::env::args` panics on an argument that is not UTF-8, a path).
    command: String,
    env: String,
    /// `--rollback-on-failure`: what the state held for the environment before the run
    /// (`m.previous` and `prev` of every undo, the entries an undo puts back).
    prior: Option<Arc<BTreeMap<String, Entry>>>,
}

impl StateRun {
    /// Takes the lock (the lock file outlives a killed run and is shown to the next one and
    /// by `state unlock`) and makes the state whole: a run that crashed left its journal
    /// (`plan` only reads, so it folds in memory and takes no lock).
    fn lock_and_recover(config: &Config, dry_run: bool) -> Result<StateRun, Refused> {
        let store = config.state.clone().map(StateStore::new);
        let command = crate::exec::secrets::masked(&config.command_line);
        let mut lock = None;
        if let (Some(store), false) = (&store, dry_run) {
            let (held, warning) =
                StateLock::acquire(&store.lock_path(), &command).map_err(|e| match e {
                    StateErrorKind::Locked { .. } => Refused::Locked(state_error(&e)),
                    _ => Refused::Other(state_error(&e)),
                })?;
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
            lock = Some(held);
        }
        let state = match (&store, dry_run) {
            (Some(s), false) => s.recover().map_err(|e| Refused::Other(state_error(&e)))?,
            (Some(s), true) => s.read().map_err(|e| Refused::Other(state_error(&e)))?,
            (None, _) => crate::state::State::default(),
        };
        // The key of the recorded spec hashes (made by the first run that records; `plan`
        // only reads it).
        let hasher = match &store {
            Some(s) => {
                SpecHasher::load(s.path(), !dry_run).map_err(|e| Refused::Other(state_error(&e)))?
            }
            None => SpecHasher::none(),
        };
        // A run killed while it rolled back left its rollback journal: where it stopped
        // (removed by a run holding the lock; `plan` reports it and leaves it).
        if let Some(store) = &store
            && (lock.is_some() || dry_run)
            && let Some(left) =
                crate::state::RollbackJournal::unfinished(store.path(), lock.is_some())
        {
            match left {
                Ok(left) => eprintln!("warning: {}", left.message()),
                Err(warning) => eprintln!("warning: {warning}"),
            }
        }
        let prior = config
            .rollback_on_failure
            .then(|| Arc::new(state.env(&config.env).cloned().unwrap_or_default()));
        Ok(StateRun {
            store,
            lock,
            state,
            hasher,
            command,
            env: config.env.clone(),
            prior,
        })
    }

    /// What the state records for this environment.
    fn recorded(&self) -> &BTreeMap<String, Entry> {
        static EMPTY: BTreeMap<String, Entry> = BTreeMap::new();
        self.state.env(&self.env).unwrap_or(&EMPTY)
    }

    fn file_name(&self) -> Option<String> {
        self.store.as_ref().map(|s| s.path().display().to_string())
    }

    /// The entries whose manifest is gone from the files this run was shown. An instance
    /// `--limit` leaves out of the run is not gone; one on a host no longer selected (or
    /// removed from the inventory) is. An entry recorded from a file outside every `-m`
    /// path (or the project's default) is not this run's to prune or report.
    fn gone_from_files(&self, config: &Config, world: &World) -> Vec<Gone> {
        let mut current: HashSet<String> = world
            .graph
            .nodes
            .iter()
            .filter_map(|&i| world.manifests.get(i))
            .map(|m| m.name.clone())
            .collect();
        for (name, hosts) in &world.placement.all_hosts {
            current.extend(
                hosts
                    .iter()
                    .map(|h| crate::manifest::instance_name(name, h)),
            );
        }
        let shown_to_run = super::loaded_from(&config.manifests);
        self.recorded()
            .iter()
            .filter(|(n, e)| !current.contains(n.as_str()) && shown_to_run(&e.file))
            .map(|(n, e)| Gone::new(world, n, e))
            .collect()
    }

    /// Where this run's records go: a recorder journaling into the state (holding the
    /// lock), or, for `plan` and `--no-state`, the state kept as it was read.
    fn recording<'w>(
        &mut self,
        config: &Config,
        world: &'w World,
        action: Action,
        pruned: &HashSet<String>,
        vars: &Arc<Variables>,
    ) -> Result<Recording<'w>, Error> {
        let state = std::mem::take(&mut self.state);
        match (&self.store, self.lock.take()) {
            (Some(s), Some(lock)) => {
                let journal = s.journal().map_err(|e| state_error(&e))?;
                let r = StateRecorder::new(
                    journal,
                    lock,
                    state,
                    config.env.clone(),
                    action == Action::Delete,
                    pruned.clone(),
                    Arc::clone(vars),
                    &world.registry,
                )
                .keyed(self.hasher.clone());
                let r = match &self.prior {
                    Some(prior) => r.rolling_back(Arc::clone(prior), s.path(), &self.command),
                    None => r,
                };
                Ok(Recording::Journal(Box::new(std::sync::Mutex::new(r))))
            }
            _ => Ok(Recording::ReadOnly(state)),
        }
    }

    /// Saves what finished, whatever happened to the rest.
    fn save(&self, recording: Recording<'_>) -> Result<(), Error> {
        if let (Recording::Journal(r), Some(store)) = (recording, &self.store) {
            let recorder = (*r)
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            recorder
                .save(store, &self.command)
                .map_err(|e| state_error(&e))?;
        }
        Ok(())
    }
}

/// A state entry gone from this run: why, and where `apply --prune` would delete it.
struct Gone {
    name: String,
    entry: Entry,
    /// As shown after `in the state, ` or `pruned: ` (`gone from the files`).
    why: String,
    /// An instance's host, as the run's inventory has it. How to reach a host comes only
    /// from the inventory the user passes, never from the state.
    host: Option<Arc<crate::manifest::InstanceHost>>,
    /// An instance whose host is not in the inventory: never run, reported with the fix.
    hostless: bool,
}

impl Gone {
    fn new(world: &World, name: &str, entry: &Entry) -> Gone {
        let (base, host_name) = crate::manifest::split_instance(name);
        let host = host_name
            .and_then(|h| world.inventory_hosts.get(h))
            .cloned();
        let why = match host_name {
            Some(h) if host.is_none() => format!(
                "host `{h}` is not in the inventory: give it again (`-i old.yaml`) to delete its instances, or `ordo state rm {name}` to forget them"
            ),
            Some(h) if world.placement.all_hosts.contains_key(base) => {
                format!("host `{h}` is no longer selected by the `metadata.hosts` of `{base}`")
            }
            _ => "gone from the files".to_string(),
        };
        Gone {
            name: name.to_string(),
            entry: entry.clone(),
            why,
            hostless: host_name.is_some() && host.is_none(),
            host,
        }
    }
}

/// Where a run's records go (see [`StateRun::recording`]).
enum Recording<'w> {
    Journal(Box<std::sync::Mutex<StateRecorder<'w>>>),
    ReadOnly(crate::state::State),
}

impl Recording<'_> {
    /// `m.previous`: what the last apply of `name` recorded.
    fn previous(&self, env: &str, name: &str) -> Option<rhai::Dynamic> {
        match self {
            Recording::Journal(r) => r
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .previous(name)
                .map(previous_value),
            Recording::ReadOnly(state) => state.env(env)?.get(name).map(previous_value),
        }
    }
}

/// The run's variables, seeded with those earlier runs recorded: a later process reads what
/// an earlier one stored. They know the run's instances (`name@host`), so `a.key` read on a
/// host means `a`'s instance there.
fn seed_variables(world: &World, state: &StateRun) -> Arc<Variables> {
    let instances = world
        .manifests
        .iter()
        .filter(|m| m.host.is_some())
        .map(|m| m.name.clone())
        .chain(world.placement.all_hosts.iter().flat_map(|(name, hosts)| {
            hosts
                .iter()
                .map(|h| crate::manifest::instance_name(name, h))
        }))
        .collect();
    let vars = Variables::from_state_file(state.file_name()).with_instances(instances);
    for (name, entry) in state.recorded() {
        if let serde_json::Value::Object(map) = parse_raw(&entry.variables) {
            for (key, value) in &map {
                vars.set(name, key, json_to_dynamic(value), false);
            }
        }
        for key in &entry.secret_variables {
            vars.set_masked(name, key);
        }
    }
    Arc::new(vars)
}

/// The plan of the run, over the manifests it runs: the selection's, plus (`apply
/// --prune`) the entries gone from the files, rebuilt from the state and deleted first.
struct Planned<'w> {
    plan: Plan,
    manifests: std::borrow::Cow<'w, [Manifest]>,
    /// The names of the pruned entries.
    pruned: HashSet<String>,
    /// Per pruned entry (in the order of their manifests), why it is gone.
    pruned_why: Vec<String>,
    /// What each step calls (`verify`, `run ACTION`: see `super::actions::mode`).
    mode: crate::exec::RunMode,
}

/// Selects, plans, and puts the deletions of `--prune` first.
fn plan_steps<'w>(
    config: &Config,
    world: &'w World,
    action: Action,
    state: &StateRun,
    gone: &[Gone],
    dry_run: bool,
) -> Result<Planned<'w>, Error> {
    let selected = super::load::select(config, world, action == Action::Delete)?;
    let mut planned = Planned {
        plan: Plan::build(
            &world.graph,
            &world.manifests,
            &world.handlers,
            action,
            selected.as_ref(),
        ),
        manifests: std::borrow::Cow::Borrowed(&world.manifests),
        pruned: HashSet::new(),
        pruned_why: Vec::new(),
        mode: crate::exec::RunMode::Lifecycle,
    };
    let prune = config.prune && action == Action::Apply;
    let deletable: Vec<&Gone> = gone.iter().filter(|g| !g.hostless).collect();
    if prune && !dry_run && !deletable.is_empty() {
        let state_file = state.file_name();
        let (extra, steps, before) =
            prune_steps(world, &deletable, state_file.as_deref().unwrap_or_default())?;
        // Prune first, per host: an instance waits for the deletions on its own host (the
        // controller's for a manifest without hosts), not for those of other hosts, so an
        // orphan on a host that is down keeps only that host's work back.
        let prune_hosts: Vec<Option<&str>> = deletable
            .iter()
            .map(|g| g.host.as_deref().map(|h| h.name.as_str()))
            .collect();
        let step_hosts: Vec<Option<&str>> = planned
            .plan
            .steps
            .iter()
            .map(|s| {
                world
                    .manifests
                    .get(s.manifest)
                    .and_then(|m| m.host.as_deref())
                    .map(|h| h.name.as_str())
            })
            .collect();
        let mut all = world.manifests.clone();
        all.extend(extra);
        planned.manifests = std::borrow::Cow::Owned(all);
        planned.pruned = deletable.iter().map(|g| g.name.clone()).collect();
        planned.pruned_why = deletable.iter().map(|g| g.why.clone()).collect();
        planned.plan = planned
            .plan
            .prune_first(steps, before, &prune_hosts, &step_hosts);
    } else if !gone.is_empty() && !dry_run && action == Action::Apply && !config.prune {
        let files = gone.iter().all(|g| g.host.is_none() && !g.hostless);
        eprintln!(
            "note: {} {} in the state {} {} ({}); `ordo apply --prune` deletes {}",
            gone.len(),
            if gone.len() == 1 {
                "manifest"
            } else {
                "manifests"
            },
            if gone.len() == 1 { "is" } else { "are" },
            if files {
                "gone from the files"
            } else {
                "no longer selected"
            },
            gone.iter()
                .map(|g| g.name.as_str())
                .take(5)
                .chain((gone.len() > 5).then_some("..."))
                .collect::<Vec<_>>()
                .join(", "),
            if gone.len() == 1 { "it" } else { "them" },
        );
    }
    Ok(planned)
}

/// `delete --limit`: the instances it deletes that something outside the limit depends on
/// (an instance on another host, or a manifest on the controller, as the files and the
/// state record it), named in a warning: they are left standing on a deleted dependency.
fn warn_left_dependents(config: &Config, world: &World, planned: &Planned<'_>, state: &StateRun) {
    let deleted: HashSet<&str> = planned
        .plan
        .steps
        .iter()
        .filter_map(|s| planned.manifests.get(s.manifest))
        .map(|m| m.name.as_str())
        .collect();
    let mut left: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        Default::default();
    let from_files = world.manifests.iter().map(|m| {
        (
            m.name.as_str(),
            m.metadata
                .dependencies
                .apply
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
        )
    });
    let from_state = state.recorded().iter().map(|(name, e)| {
        (
            name.as_str(),
            e.dependencies
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    });
    for (name, deps) in from_files.chain(from_state) {
        if deleted.contains(name) {
            continue;
        }
        for d in deps.into_iter().filter(|d| deleted.contains(d)) {
            left.entry(d).or_default().insert(name);
        }
    }
    let warnings: Vec<Diagnostic> = left
        .into_iter()
        .map(|(dep, dependents)| {
            Diagnostic::warning(format!(
                "`{dep}` is deleted, but {} outside --limit still depend{} on it: {}",
                if dependents.len() == 1 { "one manifest" } else { "manifests" },
                if dependents.len() == 1 { "s" } else { "" },
                dependents
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .help("delete them too (widen --limit, or `--only` with their names), or apply them again afterwards")
        })
        .collect();
    super::warn(config, &warnings);
}

/// How the manifests compare with what the state recorded, for `plan`'s reasons and diffs
/// and `apply`'s notes.
struct Comparison {
    baselines: Vec<Baseline>,
    recorded_specs: Vec<Option<serde_json::Value>>,
    after_prune: Vec<Option<String>>,
    orphans: Vec<Orphan>,
    state_has_entries: bool,
    /// The key of the state's spec hashes (a restored previous spec is checked with it).
    hasher: SpecHasher,
}

fn compare(
    config: &Config,
    world: &World,
    action: Action,
    state: &StateRun,
    gone: &[Gone],
    dry_run: bool,
) -> Comparison {
    let recorded = state.recorded();
    // Without a state file there is nothing to compare with (every manifest is new).
    let baselines: Vec<Baseline> = if state.store.is_some() {
        world
            .manifests
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let h = world
                    .handlers
                    .get(i)
                    .filter(|&&h| h != usize::MAX)
                    .map(|&h| world.registry.get(h));
                baseline(m, h, recorded.get(&m.name), &state.hasher)
            })
            .collect()
    } else {
        Vec::new()
    };
    // `plan` shows how a changed spec changed: the spec recorded by the last apply.
    let recorded_specs = baselines
        .iter()
        .zip(world.manifests.iter())
        .map(|(b, m)| {
            (*b == Baseline::SpecChanged)
                .then(|| recorded.get(&m.name).map(|e| parse_raw(&e.spec)))
                .flatten()
        })
        .collect();
    // `apply --prune` deletes the orphans before anything else: under `plan --prune`, what
    // depended on one is known after apply.
    let prune = config.prune && action == Action::Apply;
    let after_prune = if dry_run && prune && !gone.is_empty() {
        world
            .manifests
            .iter()
            .map(|m| {
                recorded.get(&m.name).and_then(|e| {
                    e.dependencies
                        .iter()
                        .find(|d| gone.iter().any(|g| !g.hostless && g.name == **d))
                        .cloned()
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    // `plan` shows every orphan; `apply --prune` those it leaves: their host is not in the
    // inventory, so it has no way to reach it.
    let orphans = if action == Action::Apply && (dry_run || prune) {
        gone.iter()
            .filter(|g| dry_run || g.hostless)
            .map(|g| Orphan {
                name: g.name.clone(),
                kind: g.entry.kind.clone(),
                version: g.entry.version.clone(),
                handler: crate::paths::shown(std::path::Path::new(&g.entry.handler)),
                reason: format!("in the state, {}", g.why),
            })
            .collect()
    } else {
        Vec::new()
    };
    Comparison {
        baselines,
        recorded_specs,
        after_prune,
        orphans,
        state_has_entries: !recorded.is_empty(),
        hasher: state.hasher.clone(),
    }
}

/// Where a run's records go, and under `--rollback-on-failure` what the state held before.
struct Records<'r, 'w> {
    recording: &'r Recording<'w>,
    prior: Option<&'r BTreeMap<String, Entry>>,
}

/// Runs the plan: events to the reporter, Ctrl-C handled, one SSH connection per host for
/// the whole run (made when its first instance runs, closed at the end).
fn execute(
    config: &Config,
    world: &World,
    planned: &Planned<'_>,
    vars: Arc<Variables>,
    compared: Comparison,
    records: Records<'_, '_>,
    hooks: &Hooks<'_>,
) -> crate::exec::RunReport {
    let Records { recording, prior } = records;
    let dry_run = config.command == CommandKind::Plan;
    // Under `--rollback-on-failure`, `m.previous` is what the state held before the run,
    // also while the rollback runs (after this run recorded its own).
    let previous = |name: &str| match prior {
        Some(p) => p.get(name).map(previous_value),
        None => recording.previous(&config.env, name),
    };
    // "Re-apply previous spec": the entry before the run, its secrets resolved again from
    // the sources of this run, never from the masked text of the state.
    let restore_context = crate::state::RestoreContext {
        values: &world.values,
        env: &config.env,
        deny_env: config.policy.deny.contains(crate::stdlib::Capability::Env),
        hasher: &compared.hasher,
        state_file: config
            .state
            .as_deref()
            .unwrap_or(std::path::Path::new("the state file")),
    };
    // The reason shown after `impossible (`.
    let restore = |m: &Manifest| -> Result<Manifest, String> {
        let entry = prior
            .and_then(|p| p.get(&m.name))
            .ok_or_else(|| "previous spec unknown: not recorded in the state".to_string())?;
        crate::state::restore_manifest(&m.name, entry, m.index, m.host.clone(), &restore_context)
            .map_err(|e| {
                if e.changed {
                    e.what
                } else {
                    format!("previous spec unknown: {}", e.what)
                }
            })
    };
    let recorder = match recording {
        Recording::Journal(r) => {
            Some(r.as_ref() as &std::sync::Mutex<dyn crate::exec::Recorder + '_>)
        }
        Recording::ReadOnly(_) => None,
    };
    let pool = crate::exec::HostPool::new(crate::target::ssh::Settings {
        per_host: config.per_host,
        ..crate::target::ssh::Settings::default()
    });
    let events = EventSink::new(super::reporter_in(config, hooks.cycle));
    let cancel = match &hooks.cancel {
        Some(cancel) => Arc::clone(cancel),
        None => {
            let cancel = Arc::new(AtomicBool::new(false));
            install_interrupt(&cancel, config.rollback_on_failure && !dry_run);
            cancel
        }
    };
    crate::stdlib::contain::enter();
    let mut policy = config.policy.clone();
    policy.read_only = dry_run;
    let runner = Runner {
        engine: &world.engine,
        registry: &world.registry,
        manifests: &planned.manifests,
        limits: &config.limits,
        policy: Arc::new(policy),
        vars,
        values: Arc::clone(&world.values),
        events: events.clone(),
        cancel,
        settings: RunSettings {
            command: config.command.name(),
            environment: config.env.clone(),
            jobs: config.jobs,
            keep_going: config.keep_going,
            dry_run,
            keep_resolved: recorder.is_some(),
            rollback: config.rollback_on_failure,
            warnings: config.source_notes.clone(),
        },
        recorder,
        baselines: compared.baselines,
        orphans: compared.orphans,
        previous: Some(&previous),
        recorded_specs: compared.recorded_specs,
        state_has_entries: compared.state_has_entries,
        first_pruned: world.manifests.len(),
        pruned_why: planned.pruned_why.clone(),
        after_prune: compared.after_prune,
        hosts: Some(&pool),
        restore: Some(&restore),
        mode: planned.mode.clone(),
        verify_after: config.verify_after,
        gate: hooks.gate,
    };
    // Bundled handlers are compiled when a run needs them, here, on this thread.
    let mut used: Vec<usize> = planned.plan.steps.iter().map(|s| s.handler).collect();
    used.sort_unstable();
    used.dedup();
    for h in used {
        world.registry.prepare(&world.engine, &config.limits, h);
    }
    let report = runner.run(&planned.plan);
    // Every master ends with the run: nothing is left to expire on its own.
    pool.close();
    // Every command has ended; whatever a killed keeper left behind goes now.
    crate::stdlib::contain::sweep();
    events.finish();
    report
}

/// The run's exit status: interrupted, a failure (or an unreachable host), pending changes
/// (`plan --detailed-exitcode`), or success.
pub(super) fn exit_status(
    config: &Config,
    report: &crate::exec::RunReport,
    dry_run: bool,
) -> Result<(), Error> {
    if report.interrupted {
        return Err(Error::Interrupted);
    }
    let failed = report.summary.failed + report.summary.unreachable;
    if failed > 0 {
        return Err(Error::RunFailed { failed });
    }
    if dry_run && config.detailed_exitcode {
        let changes = report.summary.pending
            + if config.prune {
                report.summary.orphaned
            } else {
                0
            };
        if changes > 0 {
            return Err(Error::Pending);
        }
    }
    Ok(())
}

type PruneSteps = (Vec<Manifest>, Vec<Step>, Vec<Vec<usize>>);

/// Manifests rebuilt from the state for deletion, with their handlers and their order:
/// one that depended on another is deleted first.
fn prune_steps(world: &World, gone: &[&Gone], state_file: &str) -> Result<PruneSteps, Error> {
    let base = world.manifests.len();
    let mut manifests = Vec::new();
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    for (i, g) in gone.iter().enumerate() {
        let (name, entry) = (&g.name, &g.entry);
        if !entry.masked.is_empty() {
            // Its delete would receive `***` for the secret (issue 15): unknown, refused.
            errors.push(
                Diagnostic::error(format!(
                    "cannot prune `{name}` ({} {}): its recorded {} held secret text, masked in the state, so its value is unknown",
                    entry.kind,
                    entry.version,
                    entry.masked.join(", ")
                ))
                .help(format!(
                    "put the manifest back and run `ordo delete` with its values, or forget it with `ordo state rm {name}`"
                )),
            );
            continue;
        }
        match world.registry.resolve(&entry.kind, &entry.version) {
            Ok(handler) => {
                manifests.push(entry_manifest(name, entry, base + i, g.host.clone()));
                steps.push(Step {
                    manifest: base + i,
                    handler,
                    function: Action::Delete,
                });
            }
            Err(e) => errors.push(
                Diagnostic::error(format!(
                    "cannot prune `{name}` ({} {}): no handler serves it any more",
                    entry.kind, entry.version
                ))
                .note(format!(
                    "{e}; it was applied with {}, as the state file {state_file} records",
                    entry.handler
                ))
                .help(format!(
                    "restore the handler, or forget the manifest with `ordo state rm {name}`"
                )),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    let index: HashMap<&str, usize> = gone
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.as_str(), i))
        .collect();
    let mut before = vec![Vec::new(); gone.len()];
    for (i, g) in gone.iter().enumerate() {
        for dep in &g.entry.dependencies {
            // `i` depended on `dep`: `i` is deleted before `dep`.
            if let Some(list) = index.get(dep.as_str()).and_then(|&d| before.get_mut(d)) {
                list.push(i);
            }
        }
    }
    Ok((manifests, steps, before))
}
