//! [`Loop`]: the reconcile loop of `ordo watch`.
//!
//! A cycle runs at start, `--interval` (± `--jitter`) after the last one ended, as soon as a
//! manifest in backoff may be tried again, on a change to an input file (the inputs are
//! loaded again first), on SIGHUP and on a reconcile request ([`Loop::reconcile_trigger`]).
//! Each cycle is one run of the project through a [`Driver`] (the plan and apply machinery
//! of `ordo apply --keep-going`, which `run/watch.rs` provides): `check`, then `apply`
//! where work is needed, with the [`Tracker`]'s [`Gate`](crate::exec::Gate) holding back
//! manifests in backoff and drift whose policy is to report it. Inputs that stop loading
//! keep the last good ones running. Between cycles nothing is held: the state lock is the
//! run's, taken and released inside the cycle.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use super::board::{Board, CycleReport, CycleResult, ManifestReport};
use super::tracker::{CycleGate, Observed, StepResult, Tracker};
use super::wake::{Trigger, Wake, Woken, jittered};
use crate::cli::WatchRequest;
use crate::error::exit;
use crate::events::Event;
use crate::exec::Gate;

/// The shortest gap between the end of a cycle and a cycle started by a file change,
/// SIGHUP or a request (which merge while they wait): the state lock stays free for a
/// person's `ordo apply` at least this long, and at least as long as the last cycle took.
pub const MIN_GAP: Duration = Duration::from_secs(1);

/// What the loop needs from the rest of ordo: load the inputs, run a cycle, say things.
pub trait Driver {
    /// Loads the inputs (again). `Err`: why they do not load, masked, for people.
    fn load(&mut self) -> Result<Loaded, String>;
    /// The files and directories whose change loads the inputs again.
    fn inputs(&self) -> Vec<PathBuf>;
    /// One run over the last inputs that loaded: `check`, then `apply` where work is
    /// needed, asking `gate`; `cancel` interrupts it.
    fn run(&mut self, cycle: u64, gate: &dyn Gate, cancel: &Arc<AtomicBool>) -> RunOutcome;
    /// Hands a watch event to the reporter; JSON lines carry `cycle`.
    fn emit(&self, cycle: u64, event: &Event);
}

/// What loading the inputs did.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The engine was built and the handlers compiled anew (a handler file changed, or it
    /// is the first load); otherwise the last ones serve again.
    pub handlers_compiled: bool,
    /// Per manifest (as the state names it), a digest of its spec and its handler: a
    /// change ends its backoff ([`Tracker::inputs_loaded`]).
    pub fingerprints: std::collections::HashMap<String, String>,
}

/// What a cycle's run came to.
#[derive(Debug)]
pub enum RunOutcome {
    /// It ran: per step, what happened.
    Ran {
        steps: Vec<StepResult>,
        interrupted: bool,
    },
    /// Another run (a person's `ordo apply`) holds the state lock: nothing ran. The text says
    /// who holds it (masked).
    Locked(String),
    /// It could not run (the state file is broken): why, masked.
    Failed(String),
}

/// How a cycle ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CycleEnd {
    /// Nothing needed work, or only drift that is reported.
    Unchanged,
    Changed,
    Failed,
    /// It did not run (the state lock was held): why.
    Skipped(String),
    /// A stop interrupted it.
    Interrupted,
}

impl CycleEnd {
    pub fn as_str(&self) -> &'static str {
        match self {
            CycleEnd::Unchanged => "unchanged",
            CycleEnd::Changed => "changed",
            CycleEnd::Failed => "failed",
            CycleEnd::Skipped(_) => "skipped",
            CycleEnd::Interrupted => "interrupted",
        }
    }
}

/// One finished cycle, as reported (the last ones are kept for `/status`).
#[derive(Clone, Debug)]
pub struct Cycle {
    pub number: u64,
    pub trigger: Trigger,
    pub started: SystemTime,
    pub duration: Duration,
    pub end: CycleEnd,
    pub manifests: Vec<Observed>,
    /// Why the run could not start, when it could not (masked).
    pub error: Option<String>,
}

/// The reconcile loop. Shared between the loop's thread and whatever triggers it.
///
/// What the endpoints (`--listen`) hook into: [`Loop::board`], where every cycle's report,
/// the inputs' health and the loop's ticks are published, and [`Loop::reconcile_trigger`],
/// which runs a cycle now. Take both before [`Loop::run`], which holds the loop's thread.
pub struct Loop {
    settings: WatchRequest,
    board: Arc<Board>,
    wake: Arc<Wake>,
    tracker: Mutex<Tracker>,
    /// A cycle is running (the grace after SIGTERM is for it).
    running: Arc<AtomicBool>,
    /// Set when the grace is over: the running cycle's handlers are interrupted.
    cancel: Arc<AtomicBool>,
}

impl Loop {
    pub fn new(settings: WatchRequest) -> Loop {
        Loop {
            tracker: Mutex::new(Tracker::new(&settings)),
            board: Arc::new(Board::new(settings.interval)),
            settings,
            wake: Arc::new(Wake::default()),
            running: Arc::new(AtomicBool::new(false)),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The board the loop publishes to: each cycle's report ([`Board::record`]), whether
    /// the inputs load ([`Board::inputs`]) and that it is alive ([`Board::tick`]: while it
    /// waits, at least every half `--interval`; while a cycle runs, as often).
    pub fn board(&self) -> Arc<Board> {
        Arc::clone(&self.board)
    }

    /// A function that asks for a cycle now (what `POST /reconcile` calls): the loop runs
    /// one as soon as it is idle, or right after the running one. Cheap, never blocks, can
    /// be called from any thread, as often as wanted (requests while one is waiting merge).
    pub fn reconcile_trigger(&self) -> impl Fn() + Send + Sync + 'static {
        let wake = Arc::clone(&self.wake);
        move || wake.request()
    }

    /// Runs the loop until SIGTERM or SIGINT (or one cycle with `--once`); returns the exit
    /// code: 0 after a clean stop, 130 when the grace ran out and handlers were interrupted;
    /// with `--once` 0 (nothing to do), 4 (changed, or drift reported), 1 (failed), 3 (the
    /// inputs do not load).
    pub fn run(&self, driver: &mut dyn Driver) -> i32 {
        let stopper = super::signals::Stopper {
            wake: Arc::clone(&self.wake),
            running: Arc::clone(&self.running),
            cancel: Arc::clone(&self.cancel),
            grace: self.settings.shutdown_grace,
        };
        if let Err(e) = super::signals::listen(stopper) {
            driver.emit(
                0,
                &note(
                    "signals_failed",
                    format!("cannot listen for signals: {e}"),
                    Map::new(),
                ),
            );
        }
        self.heartbeat();
        let before = (driver.inputs(), super::files::fingerprint(&driver.inputs()));
        let mut loaded = self.load(driver, 0);
        if self.settings.once {
            if !loaded {
                return exit::INPUT;
            }
            let cycle = self.cycle(driver, 1, Trigger::Start);
            return once_code(&cycle);
        }
        let mut watcher = None;
        let mut print = self.rearm(driver, &mut watcher, before);
        let mut number = 0;
        let mut last: Option<(Instant, Duration)> = None;
        let mut woken = Woken::Cycle {
            trigger: Trigger::Start,
            reload: false,
        };
        loop {
            if let Woken::Cycle { trigger, .. } = woken
                && matches!(trigger, Trigger::Files | Trigger::Hangup | Trigger::Request)
                && let Some((ended, took)) = last
            {
                // Triggers from outside wait out a gap after the last cycle (at least
                // MIN_GAP, at least as long as that cycle took) and merge meanwhile: a
                // request loop cannot hold the state lock from a person's `ordo apply`.
                let until = ended.checked_add(MIN_GAP.max(took)).unwrap_or(ended);
                if let Some(signal) = self.wake.pause(until) {
                    woken = Woken::Stop(signal);
                }
            }
            match woken {
                Woken::Stop(signal) => {
                    let interrupted = self.cancel.load(Ordering::SeqCst);
                    driver.emit(
                        number,
                        &note(
                            "stopping",
                            format!("{signal}: stopping"),
                            fields([("signal", json!(signal))]),
                        ),
                    );
                    return if interrupted { exit::INTERRUPTED } else { 0 };
                }
                Woken::Cycle { trigger, reload } => {
                    let (force, files) = self.wake.merge_pending();
                    let force = reload || force;
                    let files = files || trigger == Trigger::Files;
                    // A file event whose inputs hold what was loaded last (a touch, a save
                    // without a change) starts nothing.
                    let changed =
                        force || (files && super::files::fingerprint(&driver.inputs()) != print);
                    if trigger == Trigger::Files && !changed {
                        woken = self.idle_until_next(last.map(|(ended, _)| ended));
                        continue;
                    }
                    if changed {
                        let inputs = driver.inputs();
                        let before = (inputs.clone(), super::files::fingerprint(&inputs));
                        loaded = self.load(driver, number) || loaded;
                        // New inputs may be new files or directories to watch, and a
                        // directory replaced must be watched anew.
                        print = self.rearm(driver, &mut watcher, before);
                    }
                    if loaded {
                        number += 1;
                        let cycle = self.cycle(driver, number, trigger);
                        last = Some((Instant::now(), cycle.duration));
                    }
                }
            }
            woken = self.idle_until_next(last.map(|(ended, _)| ended));
        }
    }

    /// Watches the inputs as they are now (a new watcher after each load) and returns
    /// their fingerprint. `before`: the fingerprint taken before the load; when the
    /// inputs are the same paths and changed since, the loop is woken to load them again.
    fn rearm(
        &self,
        driver: &dyn Driver,
        watcher: &mut Option<super::files::Watcher>,
        before: (Vec<PathBuf>, u64),
    ) -> u64 {
        drop(watcher.take());
        *watcher = self.watch_files(driver);
        let inputs = driver.inputs();
        let now = super::files::fingerprint(&inputs);
        if inputs == before.0 && now != before.1 {
            // Changed between the load's reads and the new watches: load again.
            self.wake.files_changed();
            return before.1;
        }
        now
    }

    /// Waits for the next trigger or timer: `--interval` (± `--jitter`) after the last
    /// cycle ended, or sooner when a manifest in backoff may be tried again.
    fn idle_until_next(&self, ended: Option<Instant>) -> Woken {
        let from = ended.unwrap_or_else(Instant::now);
        let next_interval = from
            .checked_add(jittered(self.settings.interval, self.settings.jitter))
            .unwrap_or_else(Instant::now);
        let retry = self
            .tracker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_retry();
        let (timer, why) = match retry {
            Some(at) if at < next_interval => (at, Trigger::Retry),
            _ => (next_interval, Trigger::Interval),
        };
        self.idle(timer, why)
    }

    /// Waits for a trigger, or until `timer` (then `why` is the trigger), ticking the
    /// board meanwhile.
    fn idle(&self, timer: Instant, why: Trigger) -> Woken {
        let slice = self.tick_every();
        loop {
            self.board.tick();
            let until = Instant::now()
                .checked_add(slice)
                .map_or(timer, |t| t.min(timer));
            if let Some(woken) = self.wake.wait(until) {
                return woken;
            }
            if Instant::now() >= timer {
                return Woken::Cycle {
                    trigger: why,
                    reload: false,
                };
            }
        }
    }

    /// How often the board is ticked: half the interval (the board counts the loop live
    /// for twice the interval after a tick), at most every 10 s.
    fn tick_every(&self) -> Duration {
        (self.settings.interval / 2).clamp(Duration::from_millis(10), Duration::from_secs(10))
    }

    /// Ticks the board while a cycle runs: a long apply is no dead loop.
    fn heartbeat(&self) {
        let (board, running, every) = (
            Arc::clone(&self.board),
            Arc::clone(&self.running),
            self.tick_every(),
        );
        let _ = std::thread::Builder::new()
            .name("ordo-heartbeat".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    if running.load(Ordering::SeqCst) {
                        board.tick();
                    }
                }
            });
    }

    /// Loads the inputs; says so when they do not load (the last good ones keep running).
    fn load(&self, driver: &mut dyn Driver, cycle: u64) -> bool {
        let loaded = driver.load();
        self.board.inputs(loaded.as_ref().err().cloned());
        match loaded {
            Ok(loaded) => {
                self.tracker
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .inputs_loaded(loaded.fingerprints);
                if cycle > 0 {
                    let handlers = if loaded.handlers_compiled {
                        "handlers compiled again"
                    } else {
                        "handlers unchanged, not compiled again"
                    };
                    driver.emit(
                        cycle,
                        &note(
                            "inputs_loaded",
                            format!("inputs loaded ({handlers})"),
                            fields([("handlers_compiled", json!(loaded.handlers_compiled))]),
                        ),
                    );
                }
                true
            }
            Err(error) => {
                let kept = if cycle > 0 {
                    "; the last inputs that loaded keep running"
                } else {
                    ""
                };
                driver.emit(
                    cycle,
                    &note(
                        "inputs_failed",
                        format!("the inputs do not load{kept}:\n{error}"),
                        fields([("error", json!(error))]),
                    ),
                );
                false
            }
        }
    }

    fn watch_files(&self, driver: &dyn Driver) -> Option<super::files::Watcher> {
        match super::files::watch(&driver.inputs(), Arc::clone(&self.wake)) {
            Ok(w) => Some(w),
            Err(e) => {
                driver.emit(
                    0,
                    &note(
                        "files_not_watched",
                        format!(
                            "input files are not watched ({e}); cycles run on --interval and SIGHUP"
                        ),
                        Map::new(),
                    ),
                );
                None
            }
        }
    }

    /// One cycle: the run, what the tracker makes of it, and the events saying so.
    fn cycle(&self, driver: &mut dyn Driver, number: u64, trigger: Trigger) -> Cycle {
        driver.emit(
            number,
            &note(
                "cycle_started",
                format!("cycle {number} ({})", trigger.as_str()),
                fields([("trigger", json!(trigger.as_str()))]),
            ),
        );
        let started = SystemTime::now();
        let clock = Instant::now();
        {
            let mut tracker = self.tracker.lock().unwrap_or_else(PoisonError::into_inner);
            tracker.start_cycle();
            if matches!(trigger, Trigger::Hangup | Trigger::Request) {
                tracker.retry_now();
            }
        }
        self.running.store(true, Ordering::SeqCst);
        let outcome = driver.run(
            number,
            &CycleGate {
                tracker: &self.tracker,
            },
            &self.cancel,
        );
        self.running.store(false, Ordering::SeqCst);
        let mut error = None;
        let (end, manifests) = match outcome {
            RunOutcome::Locked(who) => (CycleEnd::Skipped(who), Vec::new()),
            RunOutcome::Failed(why) => {
                driver.emit(
                    number,
                    &note(
                        "cycle_failed",
                        format!("cycle {number} could not run: {why}"),
                        fields([("error", json!(why))]),
                    ),
                );
                error = Some(why);
                (CycleEnd::Failed, Vec::new())
            }
            RunOutcome::Ran { steps, interrupted } => {
                let observed = self
                    .tracker
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .observe(&steps, Instant::now());
                let end = if interrupted {
                    CycleEnd::Interrupted
                } else if observed
                    .iter()
                    .any(|o| o.status == "failed" || o.status == "waiting")
                {
                    // A manifest waiting out its backoff still fails: the project is not
                    // at its desired state.
                    CycleEnd::Failed
                } else if observed.iter().any(|o| o.status == "changed") {
                    CycleEnd::Changed
                } else {
                    CycleEnd::Unchanged
                };
                (end, observed)
            }
        };
        let cycle = Cycle {
            number,
            trigger,
            started,
            duration: clock.elapsed(),
            end,
            manifests,
            error,
        };
        driver.emit(number, &finished_event(&cycle));
        self.board.record(report(&cycle));
        cycle
    }
}

/// A cycle as the board keeps it. An interrupted cycle (ordo is stopping) counts as
/// failed, its interrupted manifests as skipped.
fn report(cycle: &Cycle) -> CycleReport {
    CycleReport {
        number: cycle.number,
        started: cycle.started,
        duration: cycle.duration,
        result: match &cycle.end {
            CycleEnd::Unchanged => CycleResult::Unchanged,
            CycleEnd::Changed => CycleResult::Changed,
            CycleEnd::Failed | CycleEnd::Interrupted => CycleResult::Failed,
            CycleEnd::Skipped(why) => CycleResult::Skipped(why.clone()),
        },
        manifests: cycle
            .manifests
            .iter()
            .map(|m| ManifestReport {
                name: crate::manifest::split_instance(&m.name).0.to_string(),
                host: m.host.clone(),
                status: match m.status {
                    "interrupted" => "skipped",
                    other => other,
                }
                .to_string(),
                reason: m.reason.clone(),
                failures: m.failures,
                next_attempt: m.next_attempt,
                drift_detected: m.drift_detected,
                drift_corrected: m.drift_corrected,
            })
            .collect(),
        error: cycle.error.clone(),
    }
}

/// `--once`: the exit code of `plan --detailed-exitcode` for what the cycle did.
fn once_code(cycle: &Cycle) -> i32 {
    match cycle.end {
        CycleEnd::Failed => exit::FAILED,
        CycleEnd::Interrupted => exit::INTERRUPTED,
        CycleEnd::Changed => exit::PENDING,
        CycleEnd::Unchanged
            if cycle
                .manifests
                .iter()
                .any(|m| matches!(m.status, "drift" | "flapping")) =>
        {
            exit::PENDING
        }
        CycleEnd::Unchanged | CycleEnd::Skipped(_) => exit::SUCCESS,
    }
}

/// `cycle_finished` (or `cycle_skipped`): how it ended, and per manifest what it made of it.
fn finished_event(cycle: &Cycle) -> Event {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let manifests: Vec<Value> = cycle
        .manifests
        .iter()
        .map(|m| {
            let next = m.next_attempt.map(|at| {
                (
                    humantime::format_rfc3339_millis(at).to_string(),
                    at.duration_since(SystemTime::now()).unwrap_or_default(),
                )
            });
            json!({
                "name": m.name, "host": m.host, "status": m.status, "reason": m.reason,
                "failures": m.failures,
                "next_attempt": next.as_ref().map(|(at, _)| at.clone()),
                "next_attempt_in_ms": next.map(|(_, left)| ms(left)),
                "backoff_ms": m.backoff.map(ms),
                "drift_detected": m.drift_detected, "drift_corrected": m.drift_corrected,
            })
        })
        .collect();
    let count = |status: &str| {
        cycle
            .manifests
            .iter()
            .filter(|m| m.status == status)
            .count()
    };
    if let CycleEnd::Skipped(why) = &cycle.end {
        return note(
            "cycle_skipped",
            format!("cycle {} skipped: {why}", cycle.number),
            fields([("reason", json!(why))]),
        );
    }
    let mut parts = Vec::new();
    for status in [
        "changed",
        "failed",
        "waiting",
        "drift",
        "flapping",
        "skipped",
        "interrupted",
    ] {
        let n = count(status);
        if n > 0 {
            parts.push(format!("{n} {status}"));
        }
    }
    let corrected = cycle.manifests.iter().filter(|m| m.drift_corrected).count();
    if corrected > 0 {
        parts.push(format!("{corrected} drift corrected"));
    }
    let summary = if let Some(why) = &cycle.error {
        // The run could not start (a broken state file): say why, on one line.
        why.lines().next().unwrap_or_default().to_string()
    } else if parts.is_empty() {
        "nothing to do".to_string()
    } else {
        parts.join(", ")
    };
    note(
        "cycle_finished",
        format!(
            "cycle {} {}: {summary} ({} ms)",
            cycle.number,
            cycle.end.as_str(),
            ms(cycle.duration)
        ),
        fields([
            ("result", json!(cycle.end.as_str())),
            ("trigger", json!(cycle.trigger.as_str())),
            ("duration_ms", json!(ms(cycle.duration))),
            ("manifests", Value::Array(manifests)),
        ]),
    )
}

fn note(event: &'static str, message: String, fields: Map<String, Value>) -> Event {
    Event::Watch {
        event,
        message,
        fields,
    }
}

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(name: &str, host: Option<&str>, status: &'static str) -> Observed {
        Observed {
            name: name.into(),
            host: host.map(str::to_string),
            status,
            reason: None,
            failures: 0,
            next_attempt: None,
            backoff: None,
            drift_detected: false,
            drift_corrected: false,
        }
    }

    fn cycle(end: CycleEnd, manifests: Vec<Observed>) -> Cycle {
        Cycle {
            number: 7,
            trigger: Trigger::Interval,
            started: SystemTime::now(),
            duration: Duration::from_millis(5),
            end,
            manifests,
            error: None,
        }
    }

    #[test]
    fn the_board_gets_manifest_names_without_their_host_and_no_interrupted_status() {
        let c = cycle(
            CycleEnd::Interrupted,
            vec![
                observed("web@h1", Some("h1"), "changed"),
                observed("db", None, "interrupted"),
            ],
        );
        let r = report(&c);
        assert_eq!((r.number, r.result), (7, CycleResult::Failed));
        assert_eq!(r.manifests[0].name, "web");
        assert_eq!(r.manifests[0].host.as_deref(), Some("h1"));
        assert_eq!(r.manifests[1].status, "skipped");
    }

    #[test]
    fn once_exits_0_4_1_as_plan_detailed_exitcode() {
        let code = |end, status| once_code(&cycle(end, vec![observed("a", None, status)]));
        assert_eq!(code(CycleEnd::Unchanged, "unchanged"), 0);
        assert_eq!(code(CycleEnd::Unchanged, "drift"), 4);
        assert_eq!(code(CycleEnd::Unchanged, "flapping"), 4);
        assert_eq!(code(CycleEnd::Changed, "changed"), 4);
        assert_eq!(code(CycleEnd::Failed, "failed"), 1);
        assert_eq!(code(CycleEnd::Skipped("locked".into()), "unchanged"), 0);
        assert_eq!(code(CycleEnd::Interrupted, "interrupted"), 130);
    }
}
