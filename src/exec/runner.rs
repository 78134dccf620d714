//! [`Runner`]: executes a [`Plan`], emitting events, on up to `-j` worker threads.
//!
//! The ready set (steps whose predecessors are done) is a min-heap on plan order; a worker
//! that finishes a step takes the next ready one itself, so a step starts as soon as its
//! dependencies finish and, with `-j 1`, steps run exactly in plan order. A failure marks
//! everything downstream `skipped`; without `--keep-going` nothing new starts after it.
//!
//! The pool starts with one worker per CPU and grows to `-j` when steps wait while workers
//! are held up in a step (a shell command, a request): more threads than CPUs only help
//! then, and cost time when handlers are busy computing.
//! Workers share one engine and the compiled handlers; each call gets its own
//! [`CallContext`] on the worker thread.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rhai::{CallFnOptions, Dynamic, Engine, Map, Scope};

use super::diff::{Change, KNOWN_AFTER_APPLY, spec_diff};
use super::hosts::HostPool;
use crate::diagnostic::Diagnostic;
use crate::events::{Event, EventSink, HandlerSource, LogLevel, Status, StepInfo, Summary};
use crate::handler::{Compiled, Handler, HandlerRegistry};
use crate::manifest::{Action, FoundVariable, InstanceHost, Manifest, ValueSet, resolve_deferred};
use crate::planner::{Plan, Step};
use crate::script::convert::node_to_dynamic;
use crate::script::{CallContext, LimitKind, ScriptError, ScriptLimits, context};
use crate::script::{Variables, is_plain};
use crate::stdlib::Policy;

/// How a run behaves, beyond what the plan says.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub command: &'static str,
    pub environment: String,
    pub jobs: usize,
    pub keep_going: bool,
    /// `plan`: only `check` runs; `m.dry_run` is true.
    pub dry_run: bool,
    /// Keep each manifest's resolved `metadata` and `spec` in its outcome (for the state).
    pub keep_resolved: bool,
    /// `apply --rollback-on-failure`: a failure stops new work (an instance's too) and
    /// what the run changed is undone; `plan --rollback-on-failure`: each pending
    /// manifest's undo strategy is reported.
    pub rollback: bool,
    /// Warnings of the run's loading (a source's moved branch), for `-o json`/`-o jsonl`.
    pub warnings: Vec<String>,
}

/// The result of one step.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    pub duration: Duration,
    pub error: Option<Failure>,
    /// `plan`: why there is work to do.
    pub reason: Option<String>,
    /// The `metadata` and `spec` the handler saw, as JSON (with `keep_resolved`, and only
    /// when they differ from the manifest as loaded).
    pub resolved: Option<Box<(serde_json::Value, serde_json::Value)>>,
    /// `plan`: for a pending manifest whose spec changed since the last apply, how.
    pub diff: Option<Vec<Change>>,
    /// The step's mutating function (`apply` or `delete`) was called in this run (in any
    /// attempt): only then is there something for `--rollback-on-failure` to undo.
    pub applied: bool,
}

impl Outcome {
    fn skipped() -> Self {
        Outcome {
            status: Status::Skipped,
            duration: Duration::ZERO,
            error: None,
            reason: None,
            resolved: None,
            diff: None,
            applied: false,
        }
    }
}

/// Told about every finished step, on the coordinating thread, in finishing order: the
/// state file's journal.
pub trait Recorder: Send {
    /// May take what it keeps out of `outcome` (the resolved manifest).
    fn finished(&mut self, step: &Step, manifest: &Manifest, outcome: &mut Outcome);
    /// Whether what finishes can still be recorded; asked before each step starts. Once it
    /// cannot (the journal cannot be written, the lock was lost), nothing new starts, even
    /// with `--keep-going`: what it did would not be recorded (issue 16).
    fn can_record(&mut self) -> bool;
    /// `apply --rollback-on-failure`: the rollback starts, to undo `names` in this order.
    fn rollback_started(&mut self, _names: &[String]) {}
    /// One manifest of the rollback is done with (`result`: `rolled_back`,
    /// `rollback_failed`, `not_rolled_back`, `kept`). When `undone`, the state holds again
    /// what it held before the run (or nothing, for a manifest new in it).
    fn rolled_back(&mut self, _step: &Step, _manifest: &Manifest, _result: &str, _undone: bool) {}
    /// The rollback is over (`complete`, `partial` or `failed`).
    fn rollback_finished(&mut self, _outcome: &str) {}
}

/// What `plan` knows from the state, to say why a manifest has work to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// Not in the state.
    New,
    SpecChanged,
    /// The handler's text changed; `why`, when known (the source it comes from moved).
    HandlerChanged {
        why: Option<String>,
    },
    /// Recorded with this very spec and handler.
    Same,
}

/// A state entry whose manifest is gone from the run (`plan` reports it; `apply --prune`
/// reports those it cannot delete: their host is not in the inventory).
#[derive(Clone, Debug)]
pub struct Orphan {
    pub name: String,
    pub kind: String,
    pub version: String,
    pub handler: String,
    /// Why, as shown (`in the state, gone from the files`).
    pub reason: String,
}

/// Why a step failed.
#[derive(Clone, Debug)]
pub struct Failure {
    pub line: String,
    pub diagnostic: Box<Diagnostic>,
    /// The handler function that was running (`check`, `apply` or `delete`); `None` when
    /// the step failed before calling one (a handler that does not compile, a variable that
    /// is not set).
    pub function: Option<&'static str>,
    /// The instance's host could not be reached: the status is `unreachable`.
    pub unreachable: bool,
}

impl Failure {
    /// This failure, as one raised while `function` ran.
    pub(super) fn during(mut self, function: &'static str) -> Self {
        self.function = Some(function);
        self
    }
}

#[derive(Debug)]
pub struct RunReport {
    /// Per plan step; `None` never happens after a complete run.
    pub outcomes: Vec<Option<Outcome>>,
    pub summary: Summary,
    pub duration: Duration,
    pub interrupted: bool,
}

impl RunReport {
    pub fn ok(&self) -> bool {
        self.summary.failed == 0 && self.summary.unreachable == 0 && !self.interrupted
    }
}

pub struct Runner<'a> {
    pub engine: &'a Engine,
    pub registry: &'a HandlerRegistry,
    pub manifests: &'a [Manifest],
    pub limits: &'a ScriptLimits,
    pub policy: Arc<Policy>,
    pub vars: Arc<Variables>,
    pub values: Arc<ValueSet>,
    pub events: EventSink,
    pub cancel: Arc<AtomicBool>,
    pub settings: RunSettings,
    pub recorder: Option<&'a std::sync::Mutex<dyn Recorder + 'a>>,
    /// `plan` and `apply`: per manifest, how it compares with the state (empty without one).
    pub baselines: Vec<Baseline>,
    /// `plan`: state entries gone from the files; `apply --prune`: those it cannot delete.
    pub orphans: Vec<Orphan>,
    /// `m.previous`: what the last apply of a manifest recorded (`None`: nothing, or no
    /// state). Asked just before the manifest runs.
    pub previous: Option<&'a Previous<'a>>,
    /// `plan`: per manifest whose spec changed since the last apply, the spec recorded then.
    pub recorded_specs: Vec<Option<serde_json::Value>>,
    /// `apply --prune`: manifests from this index on are state entries gone from the files,
    /// deleted first (`usize::MAX`: none).
    pub first_pruned: usize,
    /// `apply --prune`: per pruned manifest (from `first_pruned` on), why it is gone
    /// (`gone from the files`).
    pub pruned_why: Vec<String>,
    /// The state records something for this environment (so a manifest it does not
    /// record, and `check` calls done, is worth a word).
    pub state_has_entries: bool,
    /// `plan --prune`: per manifest that depended, when last applied, on an orphan (which
    /// `apply --prune` deletes before anything else), that orphan.
    pub after_prune: Vec<Option<String>>,
    /// The connections to the hosts manifest instances run on (`None`: no instance runs).
    pub hosts: Option<&'a HostPool>,
    /// `--rollback-on-failure`: a manifest as it was last applied before this run, its
    /// secrets resolved again from the sources (never the masked text of the state), for
    /// "re-apply previous spec"; an error says why it cannot be rebuilt.
    pub restore: Option<&'a Restore<'a>>,
    /// What each step calls: the plan's function, `verify`, or a custom action.
    pub mode: super::mode::RunMode,
    /// `apply --verify`: each applied manifest's `verify` runs after its apply.
    pub verify_after: bool,
    /// `ordo watch`: what may start, and what drift is corrected (`None`: everything).
    pub gate: Option<&'a dyn Gate>,
}

/// `ordo watch`'s say in a run: a manifest waiting out its backoff does not start, and
/// drift is corrected only where its policy says so. Asked on worker threads.
pub trait Gate: Sync {
    /// Before `m` starts: why it must wait (it is `skipped` with this reason, and so are
    /// its dependents), or `None` to run it.
    fn hold(&self, m: &Manifest) -> Option<String>;
    /// `check` found work for `m` although its spec and handler are those the state
    /// recorded (drift): `None` corrects it (its apply runs); `Some((status, reason))` only
    /// reports it, with that status.
    fn drift(&self, m: &Manifest) -> Option<(Status, String)>;
}

/// Looks up `m.previous` by manifest name.
pub type Previous<'a> = dyn Fn(&str) -> Option<Dynamic> + Sync + 'a;

/// Rebuilds a manifest as it was last applied before this run (see [`Runner::restore`]).
pub type Restore<'a> = dyn Fn(&Manifest) -> Result<Manifest, String> + Sync + 'a;

/// What the workers share: the schedule and a way to wake each other.
struct Shared {
    state: Mutex<Schedule>,
    /// Workers wait here for ready steps.
    wake: Condvar,
    /// The pool's supervisor waits here; told when the run is over.
    tick: Condvar,
}

/// A step running longer than this holds its worker up: if steps are waiting, the pool
/// grows (up to `-j`).
const HELD_UP: Duration = Duration::from_millis(1);

struct Schedule {
    /// Steps whose predecessors are done, smallest (plan order) first.
    ready: BinaryHeap<Reverse<usize>>,
    /// Per step, how many predecessors have not finished.
    waiting: Vec<usize>,
    outcomes: Vec<Option<Outcome>>,
    summary: Summary,
    in_flight: usize,
    /// A failure without `--keep-going`: nothing new starts.
    stopped: bool,
    /// The state can no longer record: nothing new starts.
    unrecordable: bool,
    /// Per worker, since when it runs its current step.
    busy_since: Vec<Option<Instant>>,
    /// Hosts out of the run (an instance on it failed or was unreachable), with why: their
    /// later instances are skipped, as Ansible drops a failed host from the play.
    down: std::collections::HashMap<String, String>,
    /// The steps that ran, in the order they finished (what a rollback undoes, reversed).
    order: Vec<usize>,
    /// Per step of an instance, its `serial` batch (an index into `batches`).
    batch_of: Vec<Option<usize>>,
    batches: Vec<Batch>,
}

/// The instances of one manifest that run together (all of them without `serial`), for
/// `maxFailPercent`.
struct Batch {
    manifest: String,
    size: usize,
    failed: usize,
    max_fail_percent: Option<u8>,
    /// Set once the batch failed more than it may: why later batches do not run.
    halted: Option<String>,
}

impl Schedule {
    /// Nothing runs and nothing more will start.
    fn over(&self, cancelled: bool) -> bool {
        self.in_flight == 0 && (self.ready.is_empty() || self.stopped || cancelled)
    }
}

impl<'a> Runner<'a> {
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, each below `plan.steps.len()` (the length of every per-step vector here), and its manifest and handler indices from `Plan::build`"
    )]
    pub fn run(&self, plan: &Plan) -> RunReport {
        let started = Instant::now();
        let infos: Vec<Arc<StepInfo>> = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| Arc::new(self.info(i, s)))
            .collect();
        let mut handlers: Vec<(String, Vec<&'static str>, Option<HandlerSource>)> = Vec::new();
        if self.settings.dry_run {
            let mut seen: Vec<usize> = plan.steps.iter().map(|s| s.handler).collect();
            seen.sort_unstable();
            seen.dedup();
            handlers = seen
                .into_iter()
                .map(|h| {
                    let h = self.registry.get(h);
                    let source = h.origin.source().map(|s| HandlerSource {
                        name: s.name.clone(),
                        url: s.url.clone(),
                        pin: s.pin.clone(),
                    });
                    (h.name().to_string(), h.permissions().names(), source)
                })
                .collect();
        }
        self.events.emit(&Event::RunStarted {
            command: self.settings.command,
            environment: self.settings.environment.clone(),
            total: plan.steps.len(),
            jobs: self.settings.jobs,
            handlers,
            warnings: self.settings.warnings.clone(),
        });

        let n = plan.steps.len();
        let (batch_of, batches) = self.batches(plan);
        let waiting: Vec<usize> = plan.before.iter().map(Vec::len).collect();
        let ready: BinaryHeap<Reverse<usize>> =
            (0..n).filter(|&s| waiting[s] == 0).map(Reverse).collect();
        let workers = self.settings.jobs.max(1).min(n.max(1));
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let shared = Shared {
            state: Mutex::new(Schedule {
                ready,
                waiting,
                outcomes: vec![None; n],
                summary: Summary::default(),
                in_flight: 0,
                stopped: false,
                unrecordable: false,
                busy_since: vec![None; workers],
                down: std::collections::HashMap::new(),
                order: Vec::new(),
                batch_of,
                batches,
            }),
            wake: Condvar::new(),
            tick: Condvar::new(),
        };
        // Workers schedule for themselves: a worker that finishes a step does the
        // bookkeeping under the lock and takes the next ready step at once, with no
        // coordinator in between (a round trip per manifest cost more than a no-op
        // handler).
        std::thread::scope(|scope| {
            let (infos, shared) = (&infos, &shared);
            let spawn = |id: usize| {
                std::thread::Builder::new()
                    .stack_size(16 << 20)
                    .spawn_scoped(scope, move || self.work(id, plan, infos, shared))
                    .is_ok()
            };
            // Worker ids index `busy_since`: an id is used up even when its thread could
            // not be spawned (the pool is then smaller).
            let first = workers.min(cpus);
            (0..first).for_each(|id| {
                spawn(id);
            });
            let mut spawned = first;
            if spawned < workers {
                self.supervise(shared, &mut spawned, first, workers, spawn);
            }
        });
        let Schedule {
            mut outcomes,
            mut summary,
            unrecordable,
            batches,
            order,
            batch_of,
            ..
        } = shared
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        // The last record may have failed with nothing left to start.
        let unrecordable = unrecordable || !self.can_record();

        let interrupted = self.cancel.load(Ordering::Relaxed);
        let halted = batches.iter().find_map(|b| b.halted.clone());
        let reason = if interrupted {
            "the run was interrupted".to_string()
        } else if unrecordable {
            "the run stopped: the state cannot record any more".to_string()
        } else if let Some(h) = halted {
            format!("the run stopped: {h}")
        } else {
            "the run stopped after a failure".to_string()
        };
        for step in 0..n {
            if outcomes[step].is_none() {
                self.emit_skip(&infos[step], &reason, &mut summary);
                outcomes[step] = Some(Outcome::skipped());
            }
        }
        if self.settings.rollback
            && !self.settings.dry_run
            && (interrupted || summary.failed + summary.unreachable > 0)
        {
            let forward = super::rollback::Forward {
                plan,
                infos: &infos,
                order: &order,
                batch_of: &batch_of,
                interrupted,
            };
            self.roll_back(&forward, &mut outcomes, &mut summary);
        }
        // A Ctrl-C that stopped the rollback interrupted the run too.
        let interrupted = interrupted || self.cancel.load(Ordering::Relaxed);
        for (i, orphan) in self.orphans.iter().enumerate() {
            summary.add(Status::Orphaned);
            let info = Arc::new(StepInfo {
                step: n + i,
                name: orphan.name.clone(),
                kind: orphan.kind.clone(),
                version: orphan.version.clone(),
                handler: orphan.handler.clone(),
                function: "delete",
                host: crate::manifest::split_instance(&orphan.name)
                    .1
                    .map(str::to_string),
            });
            self.events.emit(&Event::ManifestFinished {
                info,
                status: Status::Orphaned,
                duration: Duration::ZERO,
                error: None,
                detail: None,
                reason: Some(orphan.reason.clone()),
                diff: None,
            });
        }
        let duration = started.elapsed();
        let ok = summary.failed == 0 && summary.unreachable == 0 && !interrupted && !unrecordable;
        self.events.emit(&Event::RunFinished {
            command: self.settings.command,
            ok,
            interrupted,
            summary,
            duration,
            hosts: self.host_recap(&infos, &outcomes),
        });
        RunReport {
            outcomes,
            summary,
            duration,
            interrupted,
        }
    }

    /// Grows the pool from `spawned` workers up to `workers` while steps wait and workers
    /// are held up in theirs: when every worker is held up, enough for every waiting step;
    /// otherwise one per held-up worker beyond the `base` that keeps the CPUs busy.
    fn supervise(
        &self,
        shared: &Shared,
        spawned: &mut usize,
        base: usize,
        workers: usize,
        spawn: impl Fn(usize) -> bool,
    ) {
        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let cancelled = self.cancel.load(Ordering::Relaxed);
            if state.over(cancelled) || *spawned >= workers {
                return;
            }
            if !state.stopped
                && !cancelled
                && !state.ready.is_empty()
                && state.in_flight >= *spawned
            {
                let now = Instant::now();
                let held_up = state
                    .busy_since
                    .iter()
                    .flatten()
                    .filter(|&&since| now.duration_since(since) >= HELD_UP)
                    .count();
                let want = if held_up >= *spawned {
                    *spawned + state.ready.len()
                } else {
                    held_up + base
                };
                for id in *spawned..want.min(workers) {
                    spawn(id);
                    *spawned = id + 1;
                }
            }
            state = shared
                .tick
                .wait_timeout(state, HELD_UP)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// A worker: take the next ready step, run it, record it, repeat until nothing is left.
    #[expect(
        clippy::indexing_slicing,
        reason = "steps popped from the schedule index the plan and `infos`; `id` is below the number of workers, the length of `busy_since`"
    )]
    fn work(&self, id: usize, plan: &Plan, infos: &[Arc<StepInfo>], shared: &Shared) {
        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let cancelled = self.cancel.load(Ordering::Relaxed);
            let next = if state.stopped || cancelled || state.ready.is_empty() {
                None
            } else if !self.can_record() {
                state.stopped = true;
                state.unrecordable = true;
                shared.wake.notify_all();
                shared.tick.notify_all();
                None
            } else {
                state.ready.pop()
            };
            if let Some(Reverse(step)) = next {
                // A host out of the run, or a manifest whose batch failed too much: its
                // later instances do not start.
                let held = || {
                    let s = &plan.steps[step];
                    self.gate.and_then(|g| g.hold(&self.manifests[s.manifest]))
                };
                if let Some(reason) = self.out_of_run(plan, &state, step).or_else(held) {
                    let skipped = Outcome {
                        reason: Some(reason),
                        ..Outcome::skipped()
                    };
                    self.finished(plan, infos, &mut state, step, skipped);
                    if state.over(false) {
                        shared.wake.notify_all();
                        shared.tick.notify_all();
                    }
                    continue;
                }
                state.in_flight += 1;
                state.busy_since[id] = Some(Instant::now());
                self.events.emit(&Event::ManifestStarted {
                    info: Arc::clone(&infos[step]),
                });
                // `plan`: what this step depends on that is pending (all finished by now).
                let pending = if self.settings.dry_run {
                    pending_before(plan, &state.outcomes, infos, step)
                } else {
                    Vec::new()
                };
                drop(state);
                let mut outcome = self.execute(&plan.steps[step], plan.action, &pending);
                // Recorded before the schedule learns of it, so no dependent starts before
                // the state holds what it depends on; outside the schedule's lock, so other
                // workers go on scheduling meanwhile.
                self.record(plan, step, &mut outcome);
                state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.in_flight -= 1;
                state.busy_since[id] = None;
                let before = state.ready.len();
                self.finished(plan, infos, &mut state, step, outcome);
                // This worker takes one of the steps that became ready; wake one other per
                // remaining step, or everyone when the run is over or stopping.
                let over = state.over(false);
                if over || state.stopped || self.cancel.load(Ordering::Relaxed) {
                    shared.wake.notify_all();
                    shared.tick.notify_all();
                } else {
                    for _ in 1..state.ready.len().saturating_sub(before).max(1) {
                        shared.wake.notify_one();
                    }
                }
                continue;
            }
            if state.in_flight == 0 {
                return;
            }
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Hands a finished step to the state recorder, if there is one.
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, and a step's manifest index from `Plan::build`"
    )]
    fn record(&self, plan: &Plan, step: usize, outcome: &mut Outcome) {
        if let Some(recorder) = &self.recorder {
            let s = &plan.steps[step];
            recorder
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .finished(s, &self.manifests[s.manifest], outcome);
        }
    }

    /// Whether the recorder, if any, can still record what finishes.
    pub(super) fn can_record(&self) -> bool {
        self.recorder.is_none_or(|r| {
            r.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .can_record()
        })
    }

    /// Bookkeeping for a finished step, under the schedule's lock.
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, which sized every vector"
    )]
    fn finished(
        &self,
        plan: &Plan,
        infos: &[Arc<StepInfo>],
        state: &mut Schedule,
        step: usize,
        mut outcome: Outcome,
    ) {
        let failed = matches!(outcome.status, Status::Failed | Status::Unreachable);
        // Recorded: the resolved manifest is not needed any more (at 100k manifests it
        // would be most of the memory).
        outcome.resolved = None;
        let status = outcome.status;
        if self.settings.rollback && self.settings.dry_run && status == Status::Pending {
            self.emit_planned_undo(plan, step);
        }
        if status != Status::Skipped {
            state.order.push(step);
        }
        self.finish(&infos[step], &outcome, &mut state.summary);
        state.outcomes[step] = Some(outcome);
        // `plan` and `--keep-going` run everything a failure does not block: a step is
        // skipped only once all it waits for are done, naming the first failed one in plan
        // order, so what is reported does not depend on `-j` or on timing.
        let go_on = self.settings.dry_run || self.settings.keep_going;
        // An instance that fails stops its host's later work only (Ansible), unless its
        // batch failed more than `maxFailPercent` allows: then new work stops as after a
        // failure on the controller, and the manifest's later batches do not run.
        let mut stop = failed;
        if failed && let Some(host) = infos[step].host.clone() {
            if status == Status::Unreachable || !self.settings.dry_run {
                let why = match status {
                    Status::Unreachable => format!("host `{host}` is unreachable"),
                    _ => format!(
                        "host `{host}` is out of the run: `{}` failed",
                        infos[step].name
                    ),
                };
                state.down.entry(host).or_insert(why);
            }
            stop = self.judge_batch(state, step);
            // Under `--rollback-on-failure` any failure stops new work and is undone.
            stop |= self.settings.rollback && !self.settings.dry_run;
        }
        if stop && !go_on {
            state.stopped = true;
            let Schedule {
                outcomes, summary, ..
            } = state;
            self.skip_downstream(plan, step, infos, outcomes, summary);
            return;
        }
        let mut done = vec![step];
        while let Some(d) = done.pop() {
            for &next in &plan.after[d] {
                state.waiting[next] -= 1;
                if state.waiting[next] != 0 || state.outcomes[next].is_some() {
                    continue;
                }
                match self.blocked_by(plan, &state.outcomes, infos, next) {
                    Some(reason) => {
                        self.emit_skip(&infos[next], &reason, &mut state.summary);
                        state.outcomes[next] = Some(Outcome {
                            reason: Some(reason),
                            ..Outcome::skipped()
                        });
                        done.push(next);
                    }
                    None => state.ready.push(Reverse(next)),
                }
            }
        }
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "a step's manifest index comes from `Plan::build`"
    )]
    fn info(&self, index: usize, step: &Step) -> StepInfo {
        let m = &self.manifests[step.manifest];
        StepInfo {
            step: index,
            name: m.name.clone(),
            kind: m.kind.clone(),
            version: m.version.clone(),
            handler: self.registry.get(step.handler).name().to_string(),
            function: self
                .mode
                .function()
                .unwrap_or_else(|| step.function.as_str()),
            host: m.host.as_ref().map(|h| h.name.clone()),
        }
    }

    fn finish(&self, info: &Arc<StepInfo>, outcome: &Outcome, summary: &mut Summary) {
        summary.add(outcome.status);
        self.events.emit(&Event::ManifestFinished {
            info: Arc::clone(info),
            status: outcome.status,
            duration: outcome.duration,
            error: outcome.error.as_ref().map(|f| f.line.clone()),
            detail: outcome.error.as_ref().map(|f| (*f.diagnostic).clone()),
            reason: outcome.reason.clone(),
            diff: outcome.diff.clone(),
        });
    }

    fn emit_skip(&self, info: &Arc<StepInfo>, reason: &str, summary: &mut Summary) {
        summary.add(Status::Skipped);
        self.events.emit(&Event::ManifestFinished {
            info: Arc::clone(info),
            status: Status::Skipped,
            duration: Duration::ZERO,
            error: None,
            detail: None,
            reason: Some(reason.to_string()),
            diff: None,
        });
    }

    /// Why `step`, ready to start, must not: its host is out of the run, or its manifest's
    /// batch failed more than `maxFailPercent` allows.
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, which sized `batch_of`; batch indices come from `batches`"
    )]
    fn out_of_run(&self, plan: &Plan, state: &Schedule, step: usize) -> Option<String> {
        let m = &self.manifests[plan.steps[step].manifest];
        let host = m.host.as_ref()?;
        if let Some(why) = state.down.get(&host.name) {
            return Some(why.clone());
        }
        state
            .batches
            .iter()
            .zip(0..)
            .find(|(b, i)| {
                b.manifest == m.base_name()
                    && b.halted.is_some()
                    && state.batch_of[step] != Some(*i)
            })
            .and_then(|(b, _)| b.halted.clone())
    }

    /// Counts a failed instance against its batch; whether the batch now failed more than
    /// its manifest's `maxFailPercent` (which halts the manifest's later batches).
    fn judge_batch(&self, state: &mut Schedule, step: usize) -> bool {
        let Some(b) = state
            .batch_of
            .get(step)
            .copied()
            .flatten()
            .and_then(|i| state.batches.get_mut(i))
        else {
            return false;
        };
        b.failed += 1;
        let Some(max) = b.max_fail_percent else {
            return false;
        };
        // Ansible's rule: more than the share, counted in this batch.
        let exceeded = b.failed * 100 > usize::from(max) * b.size;
        if exceeded && b.halted.is_none() {
            b.halted = Some(format!(
                "{} of {} hosts of `{}` failed, more than its maxFailPercent {max}%",
                b.failed, b.size, b.manifest
            ));
        }
        exceeded
    }

    /// Per step, its `serial` batch; the batches (all instances of a manifest form one
    /// without `serial`), in the order of the hosts.
    fn batches(&self, plan: &Plan) -> (Vec<Option<usize>>, Vec<Batch>) {
        let mut by_manifest: Vec<(String, Vec<(usize, usize)>)> = Vec::new();
        for (step, s) in plan.steps.iter().enumerate() {
            let Some(m) = self.manifests.get(s.manifest) else {
                continue;
            };
            // A pruned instance is not in its manifest's batches (nor held to its limits).
            if m.host.is_none() || m.index >= self.first_pruned {
                continue;
            }
            match by_manifest.iter_mut().find(|(n, _)| n == m.base_name()) {
                Some((_, list)) => list.push((m.index, step)),
                None => by_manifest.push((m.base_name().to_string(), vec![(m.index, step)])),
            }
        }
        let mut batch_of = vec![None; plan.steps.len()];
        let mut batches = Vec::new();
        for (name, mut list) in by_manifest {
            list.sort_unstable();
            let meta = list
                .first()
                .and_then(|&(i, _)| self.manifests.get(i))
                .map(|m| (m.metadata.serial, m.metadata.max_fail_percent));
            let (serial, max_fail_percent) = meta.unwrap_or((None, None));
            let size = serial.map_or(list.len(), |s| s.batch(list.len())).max(1);
            for chunk in list.chunks(size) {
                for &(_, step) in chunk {
                    if let Some(slot) = batch_of.get_mut(step) {
                        *slot = Some(batches.len());
                    }
                }
                batches.push(Batch {
                    manifest: name.clone(),
                    size: chunk.len(),
                    failed: 0,
                    max_fail_percent,
                    halted: None,
                });
            }
        }
        (batch_of, batches)
    }

    /// The recap: per host (in the order its first instance is in the plan), the counts of
    /// its instances.
    fn host_recap(
        &self,
        infos: &[Arc<StepInfo>],
        outcomes: &[Option<Outcome>],
    ) -> Vec<(String, Summary)> {
        let mut hosts: Vec<(String, Summary)> = Vec::new();
        for (info, outcome) in infos.iter().zip(outcomes) {
            let (Some(host), Some(outcome)) = (&info.host, outcome) else {
                continue;
            };
            let i = match hosts.iter().position(|(h, _)| h == host) {
                Some(i) => i,
                None => {
                    hosts.push((host.clone(), Summary::default()));
                    hosts.len() - 1
                }
            };
            if let Some((_, s)) = hosts.get_mut(i) {
                s.add(outcome.status);
            }
        }
        hosts
    }

    /// Why `step`, all of whose predecessors are done, cannot run: the first of them in
    /// plan order that failed (or was skipped, for the same reason), if any.
    fn blocked_by(
        &self,
        plan: &Plan,
        outcomes: &[Option<Outcome>],
        infos: &[Arc<StepInfo>],
        step: usize,
    ) -> Option<String> {
        let mut before: Vec<usize> = plan.before.get(step).cloned().unwrap_or_default();
        // The previous `serial` batch is an order, not a dependency.
        let soft = plan.soft.get(step).map(Vec::as_slice).unwrap_or_default();
        before.retain(|b| !soft.contains(b));
        before.sort_unstable();
        before.into_iter().find_map(|b| {
            let outcome = outcomes.get(b)?.as_ref()?;
            match outcome.status {
                Status::Failed | Status::Unreachable if self.cancel.load(Ordering::Relaxed) => {
                    Some("the run was interrupted".to_string())
                }
                Status::Failed => Some(format!("`{}` failed", infos.get(b)?.name)),
                Status::Unreachable => Some(format!("`{}` is unreachable", infos.get(b)?.name)),
                Status::Skipped => outcome.reason.clone(),
                _ => None,
            }
        })
    }

    /// Marks everything that waits (transitively) on `failed` as skipped.
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, each below `plan.steps.len()` (the length of every per-step vector here), and its manifest and handler indices from `Plan::build`"
    )]
    fn skip_downstream(
        &self,
        plan: &Plan,
        failed: usize,
        infos: &[Arc<StepInfo>],
        outcomes: &mut [Option<Outcome>],
        summary: &mut Summary,
    ) {
        let reason = if self.cancel.load(Ordering::Relaxed) {
            "the run was interrupted".to_string()
        } else if outcomes[failed]
            .as_ref()
            .is_some_and(|o| o.status == Status::Unreachable)
        {
            format!("`{}` is unreachable", infos[failed].name)
        } else {
            format!("`{}` failed", infos[failed].name)
        };
        let mut stack = plan.after[failed].clone();
        while let Some(s) = stack.pop() {
            if outcomes[s].is_some() {
                continue;
            }
            outcomes[s] = Some(Outcome::skipped());
            self.emit_skip(&infos[s], &reason, summary);
            stack.extend(plan.after[s].iter().copied());
        }
    }

    /// Runs one step on this thread: `check`, then the function, with retries.
    ///
    /// `plan` (`pending`: the steps this one waits for that are pending): a step downstream
    /// of a pending one is pending, known after apply, and its `check` does not run: it
    /// would see a world that apply changes before the step runs.
    #[expect(
        clippy::indexing_slicing,
        reason = "a step's manifest index comes from `Plan::build`"
    )]
    fn execute(&self, step: &Step, action: Action, pending: &[String]) -> Outcome {
        let started = Instant::now();
        let m = &self.manifests[step.manifest];
        let handler = self.registry.get(step.handler);
        let after = match (pending.first(), action) {
            (Some(first), Action::Apply | Action::Rollback) => {
                Some(format!("depends on pending `{first}`; known after apply"))
            }
            (Some(first), Action::Delete) => {
                Some(format!("runs after pending `{first}`; known after delete"))
            }
            (None, _) => self.after_prune.get(m.index).cloned().flatten().map(|o| {
                format!("depended on `{o}`, which `--prune` deletes first; known after apply")
            }),
        };
        if let Some(reason) = after {
            return Outcome {
                status: Status::Pending,
                duration: started.elapsed(),
                error: None,
                reason: Some(reason),
                resolved: None,
                diff: self.plan_diff(m, action, pending),
                applied: false,
            };
        }
        let applied = AtomicBool::new(false);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            crate::error::debug_panic("manifest", &m.name);
            self.attempts(m, handler, step.function, &applied)
        }));
        let mut reason = None;
        let mut resolved = None;
        let (status, error) = match result {
            Ok(Ok(done)) => {
                reason = done.reason;
                resolved = done.resolved;
                (done.status, None)
            }
            // Cut by Ctrl-C or SIGTERM: whatever the handler or its command made of the
            // signal (a command's exit code 130, an interrupted script), it is no failure.
            Ok(Err(failure)) if self.cancel.load(Ordering::Relaxed) => {
                reason = Some(match failure.function {
                    Some(f) => format!("stopped while running `{f}`"),
                    None => "stopped before a handler function ran".to_string(),
                });
                (Status::Interrupted, None)
            }
            Ok(Err(mut failure)) if failure.unreachable => {
                let note = format!(
                    "on host `{}`, for {} ({})",
                    host_name(m),
                    m.id(),
                    m.at(m.name_mark)
                );
                failure.diagnostic.notes.push(note);
                (Status::Unreachable, Some(failure))
            }
            Ok(Err(mut failure)) => {
                let what = match failure.function {
                    Some(f) => format!("while running `{f}`"),
                    None => "while preparing".to_string(),
                };
                let note = format!("{what} for {} ({})", m.id(), m.at(m.name_mark));
                failure.diagnostic.notes.push(note);
                // The one-line error (`-o json`) says so too for `verify` and an action, which
                // fail a manifest as `apply` does (NU-F5).
                if let Some(f) = failure
                    .function
                    .filter(|f| *f == "verify" || self.mode.function() == Some(f))
                {
                    failure.line = format!("{} (while running `{f}`)", failure.line);
                }
                (Status::Failed, Some(failure))
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let text = format!("internal error in ordo while running `{}`: {what}", m.name);
                let diagnostic = Diagnostic::error(text.clone())
                    .help("this is a bug in ordo; please report it with the manifest and handler that caused it");
                (
                    Status::Failed,
                    Some(Failure {
                        line: text,
                        diagnostic: Box::new(diagnostic),
                        function: None,
                        unreachable: false,
                    }),
                )
            }
        };
        let pruned = m.index.checked_sub(self.first_pruned).map(|i| {
            self.pruned_why
                .get(i)
                .map_or("gone from the files", String::as_str)
        });
        let reason = reason.or_else(|| match (status, pruned) {
            (Status::Changed, Some(why)) => Some(format!("pruned: {why}")),
            (Status::Unchanged, Some(why)) => {
                Some(format!("pruned: {why}, and `check` says nothing is left"))
            }
            _ => None,
        });
        let reason = reason.or_else(|| match status {
            Status::Pending => Some(self.pending_reason(m, handler, action, step.function)),
            Status::Unchanged => self.unchanged_reason(m, action),
            _ => None,
        });
        // `check` is authoritative, but a changed spec it calls done is shown, not hidden.
        let diff = if status == Status::Pending
            || (status == Status::Unchanged && self.settings.dry_run)
        {
            self.plan_diff(m, action, pending)
        } else {
            None
        };
        Outcome {
            status,
            duration: started.elapsed(),
            error,
            reason,
            resolved,
            diff,
            applied: applied.load(Ordering::Relaxed),
        }
    }

    /// `plan` (of an apply): how the spec of `m` changed since the last apply, if it did. A
    /// `!Variable` of a `pending` step, or one not set yet, is shown as known after apply.
    fn plan_diff(&self, m: &Manifest, action: Action, pending: &[String]) -> Option<Vec<Change>> {
        if action != Action::Apply || self.baselines.get(m.index) != Some(&Baseline::SpecChanged) {
            return None;
        }
        let old = self.recorded_specs.get(m.index)?.as_ref()?;
        let unknown = || FoundVariable {
            value: Dynamic::from(KNOWN_AFTER_APPLY),
        };
        let lookup = |name: &str| {
            let producer = crate::manifest::split_name(name).map(|(p, _)| p);
            if producer.is_some_and(|p| pending.iter().any(|u| u == p)) {
                return Some(unknown());
            }
            let host = m.host.as_ref().map(|h| h.name.as_str());
            Some(
                self.vars
                    .get(&self.vars.resolve(name, host))
                    .map_or_else(unknown, |v| FoundVariable { value: v.value }),
            )
        };
        let mut new = spec_json(&m.spec, &lookup);
        super::secrets::mask_json(&mut new);
        Some(spec_diff(old, &new))
    }

    /// Why `m` is `unchanged` although the state says otherwise (`plan` and `apply` of an
    /// apply): its spec changed since the last apply, or it is not recorded, and `check`
    /// says nothing to do. `check` decides; this keeps its verdict from hiding the change.
    fn unchanged_reason(&self, m: &Manifest, action: Action) -> Option<String> {
        if action != Action::Apply {
            return None;
        }
        match self.baselines.get(m.index)? {
            Baseline::SpecChanged => {
                Some("spec changed since the last apply, but `check` says nothing to do".into())
            }
            Baseline::New if self.state_has_entries => Some(
                "not recorded in the state (for this environment), but `check` says nothing to do"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Why `plan` found work to do for `m` (`action`: what the plan is for).
    fn pending_reason(
        &self,
        m: &Manifest,
        handler: &Handler,
        action: Action,
        function: Action,
    ) -> String {
        if !handler.compiled().is_ok_and(|c| c.functions.check) {
            return format!("no `check`: `{}` always runs", function.as_str());
        }
        if action == Action::Delete {
            if function == Action::Apply {
                return "`check` says `apply` has work to do (it runs on delete)".into();
            }
            return match self.baselines.get(m.index) {
                // Without a state file there is nothing to compare with.
                None => "`check` says it exists".into(),
                Some(Baseline::New) => {
                    "not recorded in the state, but `check` says it exists".into()
                }
                Some(_) => "recorded in the state, and `check` says it exists".into(),
            };
        }
        match self
            .baselines
            .get(m.index)
            .cloned()
            .unwrap_or(Baseline::New)
        {
            Baseline::New => "new".into(),
            Baseline::SpecChanged => "spec changed since the last apply".into(),
            Baseline::HandlerChanged { why: None } => "handler changed since the last apply".into(),
            Baseline::HandlerChanged { why: Some(why) } => {
                format!("handler changed since the last apply: {why}")
            }
            Baseline::Same => {
                "drift: `check` says work is needed although the spec did not change".into()
            }
        }
    }

    /// `applied` is set once the step's mutating function is called.
    fn attempts(
        &self,
        m: &Manifest,
        handler: &Handler,
        function: Action,
        applied: &AtomicBool,
    ) -> Result<Done, Failure> {
        let mut delay = m.metadata.retry_delay;
        let mut attempt = 0;
        loop {
            match self.attempt(m, handler, function, applied) {
                Ok(done) => return Ok(done),
                Err((failure, limit)) => {
                    let final_try = attempt >= m.metadata.retries
                        || failure.unreachable
                        || self.cancel.load(Ordering::Relaxed)
                        || limit == Some(LimitKind::Interrupted);
                    if final_try {
                        return Err(failure);
                    }
                    attempt += 1;
                    self.events.emit(&Event::Log {
                        manifest: Some(m.name.clone()),
                        level: LogLevel::Warn,
                        message: format!(
                            "attempt {attempt} of {} failed: {}; retrying in {:.1} s",
                            m.metadata.retries + 1,
                            failure.line,
                            delay.as_secs_f64()
                        ),
                    });
                    // `retryDelay` is at most a year (`crate::units`) and stays so when
                    // doubled, so the deadline exists; `None` (never) would wait for Ctrl-C.
                    let until = Instant::now().checked_add(delay);
                    loop {
                        let now = Instant::now();
                        let left =
                            until.map_or(Duration::MAX, |u| u.saturating_duration_since(now));
                        if left.is_zero() || self.cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(left.min(Duration::from_millis(50)));
                    }
                    delay = delay.saturating_mul(2).min(crate::units::MAX_DURATION);
                }
            }
        }
    }

    fn attempt(
        &self,
        m: &Manifest,
        handler: &Handler,
        function: Action,
        applied: &AtomicBool,
    ) -> Result<Done, (Failure, Option<LimitKind>)> {
        self.with_call(m, handler, |timeout| {
            self.attempt_in(m, handler, function, timeout, applied)
                .and_then(|done| self.verify_after(m, handler, function, done, timeout))
        })
    }

    /// Runs `body` as a call of `handler` for `m`: on its target (its host's connection
    /// made first), under its timeout and the run's limits.
    pub(super) fn with_call<T>(
        &self,
        m: &Manifest,
        handler: &Handler,
        body: impl FnOnce(Duration) -> Result<T, (Failure, Option<LimitKind>)>,
    ) -> Result<T, (Failure, Option<LimitKind>)> {
        let timeout = m.metadata.timeout.unwrap_or(self.limits.timeout);
        let target = match &m.host {
            Some(host) => crate::target::Target::Remote(self.connect(host).map_err(|f| (f, None))?),
            None => crate::target::Target::Local,
        };
        let ctx = Arc::new(CallContext {
            manifest: m.name.clone(),
            handler: Arc::clone(&handler.info),
            vars: Arc::clone(&self.vars),
            values: Arc::clone(&self.values),
            events: self.events.clone(),
            policy: self.mode_policy(),
            dry_run: self.settings.dry_run,
            deadline: Instant::now().checked_add(timeout),
            cancel: Arc::clone(&self.cancel),
            limits: *self.limits,
            target,
            unreachable: AtomicBool::new(false),
        });
        let _guard = context::enter_call(Arc::clone(&ctx));
        let result = body(timeout);
        // A call whose host stopped answering (the stdlib said so) is `unreachable`.
        result.map_err(|(mut failure, limit)| {
            if ctx.unreachable.load(Ordering::Relaxed) {
                failure.unreachable = true;
            }
            (failure, limit)
        })
    }

    /// The connection to an instance's host, its master started (before the handler's
    /// first call, so an unreachable host fails fast).
    pub(super) fn connect(
        &self,
        host: &InstanceHost,
    ) -> Result<Arc<crate::target::RemoteHost>, Failure> {
        let Some(pool) = self.hosts else {
            let text = format!("no connection to host `{}` in this run", host.name);
            return Err(Failure {
                line: text.clone(),
                diagnostic: Box::new(Diagnostic::error(text)),
                function: None,
                unreachable: false,
            });
        };
        pool.connect(host).map_err(|e| {
            let text = crate::exec::secrets::masked(&e.to_string());
            Failure {
                line: text.clone(),
                diagnostic: Box::new(Diagnostic::error(text)),
                function: None,
                unreachable: matches!(e, crate::target::TransportError::Unreachable { .. }),
            }
        })
    }

    fn attempt_in(
        &self,
        m: &Manifest,
        handler: &Handler,
        function: Action,
        timeout: Duration,
        applied: &AtomicBool,
    ) -> Result<Done, (Failure, Option<LimitKind>)> {
        let compiled = handler
            .compiled()
            .map_err(|e| (self.failure_text(handler, e), None))?;
        if let Some(attempt) = self.attempt_mode(m, handler, compiled, timeout) {
            return attempt;
        }
        let has_function = match function {
            Action::Apply | Action::Rollback => compiled.functions.apply,
            Action::Delete => compiled.functions.delete,
        };
        let done = |status, resolved| {
            Ok(Done {
                status,
                reason: None,
                resolved,
            })
        };
        if !has_function {
            // A handler without `delete` has nothing to tear down.
            return done(Status::Unchanged, None);
        }
        let (arg, resolved) = match self.manifest_value(m, function, compiled.schema.as_deref()) {
            Ok(v) => v,
            // `plan`: a variable of a manifest that has not run yet is known after apply.
            Err(Unresolved::Pending(reason)) if self.settings.dry_run => {
                return Ok(Done {
                    status: Status::Pending,
                    reason: Some(reason),
                    resolved: None,
                });
            }
            Err(Unresolved::Pending(reason)) => {
                return Err((self.failure_text(handler, reason), None));
            }
            Err(Unresolved::Failed(f)) => return Err((f, None)),
        };
        if compiled.functions.check && function != Action::Rollback {
            let r = self.call(handler, compiled, "check", arg.clone(), timeout, m)?;
            match r.as_bool() {
                Ok(false) => return done(Status::Unchanged, resolved),
                Ok(true) => {}
                Err(found) => {
                    let text = format!("`check` must return `true` or `false`, not {found}");
                    return Err((self.failure_text(handler, text).during("check"), None));
                }
            }
        }
        if self.settings.dry_run {
            return done(Status::Pending, resolved);
        }
        if let Some(gate) = self.gate
            && function == Action::Apply
            && self.baselines.get(m.index) == Some(&Baseline::Same)
            && let Some((status, reason)) = gate.drift(m)
        {
            return Ok(Done {
                status,
                reason: Some(reason),
                resolved,
            });
        }
        applied.store(true, Ordering::Relaxed);
        let result = self.call(handler, compiled, function.function_name(), arg, timeout, m)?;
        self.store_outputs(m, handler, function, result)
            .map_err(|f| (f.during(function.as_str()), None))?;
        done(Status::Changed, resolved)
    }

    /// Calls the handler function `name` for the manifest `m` with its one argument.
    pub(super) fn call(
        &self,
        handler: &Handler,
        compiled: &Compiled,
        name: &'static str,
        arg: Dynamic,
        timeout: Duration,
        m: &Manifest,
    ) -> Result<Dynamic, (Failure, Option<LimitKind>)> {
        self.call_with(handler, compiled, name, (arg,), timeout, m)
    }

    /// Calls the handler function `name` for the manifest `m` with `args` (`rollback(m,
    /// prev)` takes two). Every handler function (check, apply, delete, verify, rollback,
    /// actions) is called here, so a failure reads the same from each (issue 19 part 6): it
    /// names the function that ran; when a call got `()` because `m` lacks a spec field,
    /// that field and the manifest; for a function not found, the signatures that exist.
    pub(super) fn call_with(
        &self,
        handler: &Handler,
        compiled: &Compiled,
        name: &'static str,
        args: impl rhai::FuncArgs,
        timeout: Duration,
        m: &Manifest,
    ) -> Result<Dynamic, (Failure, Option<LimitKind>)> {
        let options = CallFnOptions::new()
            .eval_ast(compiled.replay_top_level)
            .rewind_scope(true);
        let mut scope = Scope::new();
        self.engine
            .call_fn_with_options::<Dynamic>(options, &mut scope, &compiled.ast, name, args)
            .and_then(|value| {
                // A call the interrupt reached (a handler that caught the error of a command
                // it stopped) did not finish its work: it is interrupted, whatever it returned.
                if self.cancel.load(Ordering::Relaxed) {
                    Err(crate::script::context::interrupted())
                } else {
                    Ok(value)
                }
            })
            .map_err(|e| {
                let mut err = ScriptError::from_eval(
                    handler.name(),
                    &e,
                    self.limits,
                    Some(timeout.as_secs_f64()),
                );
                if err.mark.is_none() && err.file == handler.name() {
                    // Rhai gives limit errors no position; point at the function instead.
                    err.mark = function_line(handler.file.text(), name);
                }
                let unit = (err.file == handler.name())
                    .then(|| crate::script::unit_arguments(&e, &compiled.ast, handler.name()))
                    .flatten();
                if let Some(u) = &unit {
                    err.message = format!("{}: {}", err.message, u.describe());
                    err.help = Some(match u.spec_field() {
                        Some(f) => format!("add `{f}:` to the manifest's spec, or give the field a default in the handler's `schema`, or test it (`m.spec.{f} ?? fallback`)"),
                        None => "a value that is `()` is usually a field that is missing: test it (`x ?? fallback`)".into(),
                    });
                }
                let limit = err.limit;
                // An error inside an imported module is shown in the module's text.
                let source = self
                    .registry
                    .source(&err.file)
                    .cloned()
                    .unwrap_or_else(|| crate::script::module_source(&err.file));
                let mut diagnostic = err.to_diagnostic(Some(&source));
                let mut line = err.located();
                if let Some(field) = unit.as_ref().and_then(|u| u.spec_field()) {
                    let (note, mark) = missing_field(m, &field);
                    line = format!("{line}; {note} ({})", m.at(mark));
                    diagnostic = diagnostic.related(m.at(mark), note);
                }
                if let Some(note) = crate::stdlib::not_found_note(&e, &compiled.ast) {
                    line = format!("{line}; {note}");
                    diagnostic = diagnostic.note(note);
                }
                (
                    Failure {
                        line,
                        diagnostic: Box::new(diagnostic),
                        function: Some(name),
                        unreachable: false,
                    },
                    limit,
                )
            })
    }

    pub(super) fn failure_text(&self, handler: &Handler, text: String) -> Failure {
        Failure {
            line: format!("{}: {text}", handler.name()),
            diagnostic: Box::new(Diagnostic::error(text).note(format!("in {}", handler.name()))),
            function: None,
            unreachable: false,
        }
    }

    /// An `apply` (or `delete`) that returns a map stores each entry as a variable.
    pub(super) fn store_outputs(
        &self,
        m: &Manifest,
        handler: &Handler,
        function: Action,
        result: Dynamic,
    ) -> Result<(), Failure> {
        let result = result.flatten();
        if result.is_unit() {
            return Ok(());
        }
        let Some(map) = result.read_lock::<Map>() else {
            self.events.emit(&Event::Log {
                manifest: Some(m.name.clone()),
                level: LogLevel::Debug,
                message: format!(
                    "`{}` returned {}, not a map; nothing stored",
                    function.as_str(),
                    result.type_name()
                ),
            });
            return Ok(());
        };
        for (key, value) in map.iter() {
            if key.is_empty() || key.contains('.') {
                return Err(self.failure_text(handler, format!("`{}` returned the output key `{key}`; keys must be non-empty and without dots", function.as_str())));
            }
            if crate::script::convert::deeper_than(value, crate::script::convert::MAX_DEPTH) {
                return Err(self.failure_text(
                    handler,
                    crate::script::convert::too_deep(&format!(
                        "`{}` returned the output `{key}`",
                        function.as_str()
                    )),
                ));
            }
            if !is_plain(value) {
                return Err(self.failure_text(
                    handler,
                    format!(
                        "`{}` returned a {} under `{key}`; outputs must be plain data",
                        function.as_str(),
                        value.type_name()
                    ),
                ));
            }
            let limit = self.limits.max_variables_size;
            if self
                .vars
                .set_within(&m.name, key, value.clone(), false, limit)
                .is_err()
            {
                return Err(self.failure_text(
                    handler,
                    format!(
                        "`{}` returned the output `{key}`, which exceeds the run's limit on the size of all variables ({})",
                        function.as_str(),
                        crate::script::bytes_text(limit)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The read-only map `m` handed to handler functions, and (with `keep_resolved`, for a
    /// manifest whose `!Variable`s resolve only now) its `metadata` and `spec` as JSON.
    pub(super) fn manifest_value(
        &self,
        m: &Manifest,
        function: Action,
        schema: Option<&crate::handler::Schema>,
    ) -> Result<(Dynamic, Resolved), Unresolved> {
        let (metadata, spec) = if m.deferred {
            // `!Variable`s are resolved now, just before the manifest runs; on a host,
            // `other.key` is the variable of `other`'s instance there, if it runs there.
            let host = m.host.as_ref().map(|h| h.name.as_str());
            let lookup = |name: &str| {
                self.vars
                    .get(&self.vars.resolve(name, host))
                    .map(|v| FoundVariable { value: v.value })
            };
            let unresolved =
                |(mark, kind): (crate::manifest::Mark, crate::manifest::TagErrorKind)| {
                    if let crate::manifest::TagErrorKind::VariableNotSet { name } = &kind
                        && self.settings.dry_run
                    {
                        let producer =
                            crate::manifest::split_name(name).map_or(name.as_str(), |(p, _)| p);
                        return Unresolved::Pending(format!(
                            "uses `{name}`, known once `{producer}` has run"
                        ));
                    }
                    let location = m.at(mark);
                    let line = format!("{location}: {kind}");
                    let mut diagnostic = Diagnostic::error(kind.to_string())
                        .at(location)
                        .help_opt(kind.help());
                    if let crate::manifest::TagErrorKind::VariableNotSet { name } = &kind {
                        diagnostic = diagnostic.note(self.vars.note_for(name));
                    }
                    Unresolved::Failed(Failure {
                        line,
                        diagnostic: Box::new(diagnostic),
                        function: None,
                        unreachable: false,
                    })
                };
            let mut spec = resolve_deferred(&m.spec, &lookup).map_err(unresolved)?;
            // What the schema could not check at load: the values just resolved.
            if let Some(schema) = schema {
                let problems = crate::handler::conform::check_resolved(schema, &m.spec, &mut spec);
                if !problems.is_empty() {
                    return Err(Unresolved::Failed(schema_failure(m, problems)));
                }
            }
            (
                resolve_deferred(&m.metadata_node, &lookup).map_err(unresolved)?,
                spec,
            )
        } else {
            (node_to_dynamic(&m.metadata_node), node_to_dynamic(&m.spec))
        };
        // Only a manifest resolved now differs from the manifest as loaded, which the
        // recorder serializes itself.
        let resolved = (self.settings.keep_resolved && m.deferred).then(|| {
            Box::new((
                crate::script::convert::dynamic_to_json(&metadata),
                crate::script::convert::dynamic_to_json(&spec),
            ))
        });
        let mut map = Map::new();
        map.insert("kind".into(), m.kind.clone().into());
        map.insert("version".into(), m.version.clone().into());
        map.insert("name".into(), m.base_name().into());
        map.insert(
            "host".into(),
            m.host.as_deref().map_or(Dynamic::UNIT, host_value),
        );
        map.insert("metadata".into(), metadata);
        map.insert("spec".into(), spec);
        map.insert("env".into(), self.settings.environment.clone().into());
        map.insert("action".into(), function.as_str().into());
        map.insert("dir".into(), m.file.absolute_dir().into());
        let previous = self.previous.and_then(|f| f(&m.name));
        map.insert("previous".into(), previous.unwrap_or(Dynamic::UNIT));
        map.insert("dry_run".into(), self.settings.dry_run.into());
        Ok((Dynamic::from_map(map), resolved))
    }
}

pub(super) type Resolved = Option<Box<(serde_json::Value, serde_json::Value)>>;

/// What the manifest `m` says of `spec.<field>` (`a.b` for nested maps): that it has no such
/// field, where the map that lacks it is; or that it is written empty, where.
fn missing_field(m: &Manifest, field: &str) -> (String, crate::manifest::Mark) {
    let mut node = &m.spec;
    let mut walked = String::from("spec");
    for part in field.split('.') {
        match node.entry(part) {
            Some(e) if e.value.is_null() => {
                return (
                    format!("manifest `{}` writes `{walked}.{part}` empty", m.name),
                    e.key_mark,
                );
            }
            Some(e) => {
                node = &e.value;
                walked = format!("{walked}.{part}");
            }
            None => {
                return (
                    format!("manifest `{}` has no `{walked}.{part}`", m.name),
                    node.mark,
                );
            }
        }
    }
    (
        format!(
            "manifest `{}` has `{walked}`, but it was `()` when the handler read it",
            m.name
        ),
        node.mark,
    )
}

/// A manifest whose `!Variable`s, resolved as it runs, break its handler's schema.
fn schema_failure(m: &Manifest, problems: Vec<crate::handler::conform::Problem>) -> Failure {
    let mut lines = Vec::new();
    let mut diagnostic: Option<Diagnostic> = None;
    for p in problems {
        let location = m.at(p.mark);
        let message = format!("manifest `{}`: {}", m.name, p.message);
        lines.push(format!("{location}: {message}"));
        diagnostic = Some(match diagnostic {
            None => Diagnostic::error(message).at(location).help_opt(p.help),
            Some(d) => d.related(location, message),
        });
    }
    Failure {
        line: lines.join("; "),
        diagnostic: Box::new(
            diagnostic
                .unwrap_or_else(|| Diagnostic::error("schema"))
                .note(format!("the schema of `{}` {}", m.kind, m.version)),
        ),
        function: None,
        unreachable: false,
    }
}

/// A finished attempt.
pub(super) struct Done {
    pub(super) status: Status,
    pub(super) reason: Option<String>,
    pub(super) resolved: Resolved,
}

/// Why `m` could not be built.
pub(super) enum Unresolved {
    /// A variable of a manifest that has not run: `plan` reports it as pending.
    Pending(String),
    Failed(Failure),
}

/// A spec as JSON in the order it is written, each tag resolved with `lookup` as the
/// handler would see it (a tag that cannot be resolved is shown as written).
fn spec_json(
    node: &crate::manifest::Node,
    lookup: &dyn Fn(&str) -> Option<FoundVariable>,
) -> serde_json::Value {
    use crate::manifest::Value as V;
    use serde_json::Value as J;
    match &node.value {
        V::Seq(items) => J::Array(items.iter().map(|n| spec_json(n, lookup)).collect()),
        V::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), spec_json(&e.value, lookup)))
                .collect(),
        ),
        _ => crate::script::convert::dynamic_to_json(
            &resolve_deferred(node, lookup).unwrap_or_else(|_| node_to_dynamic(node)),
        ),
    }
}

/// The names of the steps `step` waits for whose outcome is `pending`, in plan order.
/// Downstream of a pending step everything is pending, so the nearest pending one upstream
/// is always among these.
fn pending_before(
    plan: &Plan,
    outcomes: &[Option<Outcome>],
    infos: &[Arc<StepInfo>],
    step: usize,
) -> Vec<String> {
    plan.before
        .get(step)
        .into_iter()
        .flatten()
        .filter(|&&b| {
            outcomes
                .get(b)
                .and_then(Option::as_ref)
                .is_some_and(|o| o.status == Status::Pending)
        })
        .filter_map(|&b| infos.get(b).map(|i| i.name.clone()))
        .collect()
}

/// `m.host`: `#{ name, address, groups, vars }`.
fn host_value(host: &InstanceHost) -> Dynamic {
    let mut map = Map::new();
    map.insert("name".into(), host.name.clone().into());
    map.insert("address".into(), host.address.clone().into());
    let groups: rhai::Array = host.groups.iter().map(|g| g.clone().into()).collect();
    map.insert("groups".into(), groups.into());
    let mut vars = Map::new();
    for (k, v) in &host.vars {
        vars.insert(k.as_str().into(), node_to_dynamic(v));
    }
    map.insert("vars".into(), vars.into());
    Dynamic::from_map(map)
}

/// The host of an instance, for messages.
fn host_name(m: &Manifest) -> &str {
    m.host.as_ref().map_or("", |h| h.name.as_str())
}

/// The position of `fn name(` in a script, for errors Rhai gives no position.
fn function_line(text: &str, name: &str) -> Option<crate::manifest::Mark> {
    let needle = format!("fn {name}(");
    text.lines().enumerate().find_map(|(i, line)| {
        let col = line.find(&needle)?;
        Some(crate::manifest::Mark::new(
            u32::try_from(i + 1).ok()?,
            u32::try_from(col + 1).ok()?,
        ))
    })
}
