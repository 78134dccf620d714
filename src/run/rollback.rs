//! `ordo rollback NAME... [--to-revision N]`: apply a recorded revision of manifests again.
//!
//! Under the state's lock, each named entry's revision (by default the one before the
//! current) is rebuilt from the state with [`restore_manifest`]: its recorded spec and
//! metadata, each secret re-resolved from this run's values and environment, never `***`.
//! The handler that serves its kind and version now (from `-s`, the project's handlers,
//! the directories of the manifest files, or the bundled ones) runs its `apply` with
//! `m.action == "rollback"` and `m.previous` the current entry; no `check` runs first. The
//! manifest need not be in the files any more: what is applied is what the state recorded,
//! whatever the files say now. A rollback is an apply: it is recorded as a new revision.
//! Named manifests run in the order they were applied in (one that depended on another
//! runs after it); nothing else runs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::load::World;
use super::runs::{catch_file_size_signal, exit_status, install_interrupt, state_error};
use crate::cli::Config;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Error;
use crate::exec::{EventSink, RunSettings, Runner, Variables};
use crate::manifest::{Action, Manifest};
use crate::planner::{Plan, Step};
use crate::script::convert::json_to_dynamic;
use crate::state::{
    Entry, RestoreContext, SpecHasher, State, StateLock, StateRecorder, StateStore, parse_raw,
    previous_value, restore_manifest,
};

/// What is rolled back: the entry's name, its current entry, and the revision to apply.
struct Target<'s> {
    name: &'s str,
    revision: &'s Entry,
}

pub(super) fn rollback(config: &Config, world: &World) -> Result<(), Error> {
    catch_file_size_signal();
    let Some(path) = config.state.clone() else {
        return Err(Error::Input(vec![Diagnostic::error(
            "ordo rollback needs the state file: it applies a revision the state recorded",
        )]));
    };
    let store = StateStore::new(path);
    let command = crate::exec::secrets::masked(&config.command_line);
    let (lock, warning) =
        StateLock::acquire(&store.lock_path(), &command).map_err(|e| state_error(&e))?;
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let state = store.recover().map_err(|e| state_error(&e))?;
    let hasher = SpecHasher::load(store.path(), true).map_err(|e| state_error(&e))?;
    let targets = targets(config, &state, store.path())?;
    let (manifests, plan) = build(config, world, &targets, &hasher, store.path())?;
    let vars = variables(world, &state, &config.env, store.path());
    let journal = store.journal().map_err(|e| state_error(&e))?;
    let recorder = std::sync::Mutex::new(
        StateRecorder::new(
            journal,
            lock,
            state,
            config.env.clone(),
            false,
            HashSet::new(),
            Arc::clone(&vars),
            &world.registry,
        )
        .keyed(hasher),
    );
    let report = run(config, world, &manifests, &plan, vars, &recorder);
    let recorder = recorder
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    recorder
        .save(&store, &command)
        .map_err(|e| state_error(&e))?;
    exit_status(config, &report, false)
}

/// The entries and revisions named on the command line; an unknown name or revision is an
/// input error (exit 3), all of them reported together.
fn targets<'s>(
    config: &Config,
    state: &'s State,
    path: &std::path::Path,
) -> Result<Vec<Target<'s>>, Error> {
    let recorded = state.env(&config.env);
    let mut errors = Vec::new();
    let mut targets = Vec::new();
    let mut seen = HashSet::new();
    for name in &config.rollback {
        if !seen.insert(name.as_str()) {
            continue;
        }
        let Some((key, entry)) = recorded.and_then(|r| r.get_key_value(name)) else {
            let mut d = Diagnostic::error(format!(
                "no manifest `{name}` is recorded for environment `{}` in {}",
                config.env,
                path.display()
            ));
            if let Some(near) =
                recorded.and_then(|r| did_you_mean(name, r.keys().map(String::as_str)))
            {
                d = d.help(format!("did you mean `{near}`?"));
            } else if let Some(other) = state
                .environments
                .iter()
                .find(|(e, entries)| **e != config.env && entries.contains_key(name))
            {
                d = d.help(format!(
                    "it is recorded for environment `{}`: add `-e {}`",
                    other.0, other.0
                ));
            }
            errors.push(d);
            continue;
        };
        let kept = entry
            .revisions()
            .map(|r| r.revision.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let revision = match config.to_revision {
            Some(n) => entry.revision(n).ok_or_else(|| {
                Diagnostic::error(format!("`{name}` has no revision {n} in the state")).help(
                    format!("the state keeps revisions {kept} of it (`ordo state history {name}`)"),
                )
            }),
            None => entry.history.last().ok_or_else(|| {
                Diagnostic::error(format!(
                    "`{name}` has no revision before its current one ({}) in the state",
                    entry.revision
                ))
                .help("the state keeps no earlier revision of it: nothing to roll back to")
            }),
        };
        match revision {
            Ok(revision) => targets.push(Target {
                name: key.as_str(),
                revision,
            }),
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(targets)
    } else {
        Err(Error::Input(errors))
    }
}

/// The manifests to run, rebuilt from the state, and their plan: each after those of them
/// it depended on when the revision was applied.
fn build(
    config: &Config,
    world: &World,
    targets: &[Target<'_>],
    hasher: &SpecHasher,
    state_file: &std::path::Path,
) -> Result<(Vec<Manifest>, Plan), Error> {
    let ctx = RestoreContext {
        values: &world.values,
        env: &config.env,
        deny_env: config.policy.deny.contains(crate::stdlib::Capability::Env),
        hasher,
        state_file,
    };
    let mut manifests = Vec::new();
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    for (index, t) in targets.iter().enumerate() {
        let r = t.revision;
        let handler = match world.registry.resolve(&r.kind, &r.version) {
            Ok(h) => h,
            Err(e) => {
                errors.push(
                    Diagnostic::error(format!(
                        "cannot roll back `{}` ({} {}): no handler of this run serves it",
                        t.name, r.kind, r.version
                    ))
                    .note(format!(
                        "{e}; revision {} was applied with {}",
                        r.revision, r.handler
                    ))
                    .help("give the directory of its handler with `-s DIR`"),
                );
                continue;
            }
        };
        let (_, host_name) = crate::manifest::split_instance(t.name);
        let host = match host_name {
            Some(h) => match world.inventory_hosts.get(h) {
                Some(host) => Some(Arc::clone(host)),
                None => {
                    errors.push(
                        Diagnostic::error(format!(
                            "cannot roll back `{}`: host `{h}` is not in the inventory",
                            t.name
                        ))
                        .help("give the inventory that names it with `-i`"),
                    );
                    continue;
                }
            },
            None => None,
        };
        match restore_manifest(t.name, r, index, host, &ctx) {
            Ok(m) => {
                manifests.push(m);
                steps.push(Step {
                    manifest: index,
                    handler,
                    function: Action::Rollback,
                });
            }
            Err(e) => {
                let help = e.help();
                errors.push(Diagnostic::error(e.to_string()).help(help));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    let position: HashMap<&str, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name, i))
        .collect();
    let mut before = vec![Vec::new(); targets.len()];
    let mut after = vec![Vec::new(); targets.len()];
    for (i, t) in targets.iter().enumerate() {
        for dep in &t.revision.dependencies {
            if let Some(&d) = position.get(dep.as_str())
                && d != i
            {
                if let Some(list) = before.get_mut(i) {
                    list.push(d);
                }
                if let Some(list) = after.get_mut(d) {
                    list.push(i);
                }
            }
        }
    }
    if has_cycle(&before) {
        // A hand-edited state: run them one after another, in the order given.
        for (i, list) in before.iter_mut().enumerate() {
            *list = i.checked_sub(1).into_iter().collect();
        }
        for (i, list) in after.iter_mut().enumerate() {
            *list = (i + 1 < targets.len())
                .then_some(i + 1)
                .into_iter()
                .collect();
        }
    }
    let plan = Plan {
        action: Action::Apply,
        soft: vec![Vec::new(); steps.len()],
        steps,
        before,
        after,
    };
    Ok((manifests, plan))
}

/// Whether the order `before` (step → steps first) has a cycle.
fn has_cycle(before: &[Vec<usize>]) -> bool {
    let mut waiting: Vec<usize> = before.iter().map(Vec::len).collect();
    let mut done = vec![false; before.len()];
    let mut progress = true;
    while progress {
        progress = false;
        for i in 0..before.len() {
            let ready = waiting.get(i) == Some(&0) && done.get(i) == Some(&false);
            if !ready {
                continue;
            }
            if let Some(d) = done.get_mut(i) {
                *d = true;
            }
            progress = true;
            for (j, list) in before.iter().enumerate() {
                if list.contains(&i)
                    && let Some(w) = waiting.get_mut(j)
                {
                    *w = w.saturating_sub(1);
                }
            }
        }
    }
    done.iter().any(|d| !d)
}

/// The variables earlier runs recorded, as `apply` seeds them.
fn variables(world: &World, state: &State, env: &str, path: &std::path::Path) -> Arc<Variables> {
    let recorded = state.env(env);
    let instances = world
        .manifests
        .iter()
        .map(|m| m.name.clone())
        .chain(recorded.into_iter().flat_map(|r| r.keys().cloned()))
        .filter(|n| crate::manifest::split_instance(n).1.is_some())
        .collect();
    let vars =
        Variables::from_state_file(Some(path.display().to_string())).with_instances(instances);
    for (name, entry) in recorded.into_iter().flatten() {
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

/// Runs the plan, recording each manifest as it finishes.
fn run(
    config: &Config,
    world: &World,
    manifests: &[Manifest],
    plan: &Plan,
    vars: Arc<Variables>,
    recorder: &std::sync::Mutex<StateRecorder<'_>>,
) -> crate::exec::RunReport {
    let previous = |name: &str| {
        recorder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .previous(name)
            .map(previous_value)
    };
    let pool = crate::exec::HostPool::new(crate::target::ssh::Settings {
        per_host: config.per_host,
        ..crate::target::ssh::Settings::default()
    });
    let events = EventSink::new(super::reporter(config));
    let cancel = Arc::new(AtomicBool::new(false));
    install_interrupt(&cancel, false);
    crate::stdlib::contain::enter();
    let runner = Runner {
        engine: &world.engine,
        registry: &world.registry,
        manifests,
        limits: &config.limits,
        policy: Arc::new(config.policy.clone()),
        vars,
        values: Arc::clone(&world.values),
        events: events.clone(),
        cancel,
        settings: RunSettings {
            command: config.command.name(),
            environment: config.env.clone(),
            jobs: config.jobs,
            keep_going: config.keep_going,
            dry_run: false,
            keep_resolved: true,
            rollback: false,
            warnings: config.source_notes.clone(),
        },
        recorder: Some(recorder as &std::sync::Mutex<dyn crate::exec::Recorder + '_>),
        baselines: Vec::new(),
        orphans: Vec::new(),
        previous: Some(&previous),
        recorded_specs: Vec::new(),
        state_has_entries: true,
        first_pruned: usize::MAX,
        pruned_why: Vec::new(),
        after_prune: Vec::new(),
        hosts: Some(&pool),
        restore: None,
        mode: crate::exec::RunMode::Lifecycle,
        verify_after: false,
        gate: None,
    };
    let mut used: Vec<usize> = plan.steps.iter().map(|s| s.handler).collect();
    used.sort_unstable();
    used.dedup();
    for h in used {
        world.registry.prepare(&world.engine, &config.limits, h);
    }
    let report = runner.run(plan);
    pool.close();
    crate::stdlib::contain::sweep();
    events.finish();
    report
}

#[cfg(test)]
mod tests {
    use super::has_cycle;

    #[test]
    fn cycles_are_found() {
        assert!(!has_cycle(&[vec![], vec![0], vec![0, 1]]));
        assert!(has_cycle(&[vec![1], vec![0]]));
        assert!(has_cycle(&[vec![], vec![2], vec![1]]));
    }
}
