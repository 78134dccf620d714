//! [`Tracker`]: what the watch loop remembers of each manifest between cycles — its
//! failures and when it may be tried again (backoff), the drift corrections of the flap
//! window, and whether it is flapping — and the [`Gate`] it gives each run.
//!
//! Keyed by the name the state records (`web`, `web@h1`), so an instance on one host backs
//! off alone. It decides and reports; the runner asks it through [`Gate`] and knows nothing
//! of cycles.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::cli::{DriftPolicy, WatchRequest};
use crate::events::Status;
use crate::exec::{Baseline, Gate};
use crate::manifest::{Drift, Manifest};

/// Corrections of one manifest's drift within `--flap-window` that make it `flapping`.
pub const FLAP_CORRECTIONS: usize = 3;

/// What a cycle made of one manifest, as `/status`, the metrics and the `cycle_finished`
/// event show it. Every text is masked.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// As the state records it (`web`, `web@h1`).
    pub name: String,
    pub host: Option<String>,
    /// `unchanged`, `changed`, `failed`, `skipped`, `waiting`, `flapping`, `drift`,
    /// `ignored` (or `interrupted` when a stop cut it).
    pub status: &'static str,
    pub reason: Option<String>,
    /// Failures in a row (0 after a success).
    pub failures: u32,
    /// When a failing manifest is tried again.
    pub next_attempt: Option<SystemTime>,
    /// The wait until then: `--retry-interval` × 2^(failures−1), at most `--max-backoff`.
    pub backoff: Option<Duration>,
    /// `check` found drift in this cycle.
    pub drift_detected: bool,
    /// ... and the apply corrected it.
    pub drift_corrected: bool,
}

/// One step of a cycle's run, as the watch loop needs it.
#[derive(Clone, Debug)]
pub struct StepResult {
    pub name: String,
    pub host: Option<String>,
    /// How it compared with the state before the run.
    pub baseline: Baseline,
    pub status: Status,
    /// Why (skipped, pending, ...), masked.
    pub reason: Option<String>,
    /// What went wrong, on one line, masked.
    pub error: Option<String>,
}

/// What the loop knows of one manifest.
#[derive(Debug, Default)]
struct Memory {
    failures: u32,
    next_attempt: Option<(Instant, SystemTime)>,
    /// When its drift was corrected, within the flap window.
    corrections: VecDeque<Instant>,
    /// Flapping: left alone until its spec (or handler) changes.
    flapping: bool,
}

/// What the gate did in the current cycle.
#[derive(Debug, Default)]
struct Seen {
    /// Held back by their backoff.
    held: HashSet<String>,
    /// Drift found, and what was done about it (`None`: corrected).
    drift: HashMap<String, Option<&'static str>>,
}

/// Per manifest, across cycles: backoff, drift corrections, flapping.
#[derive(Debug)]
pub struct Tracker {
    retry_interval: Duration,
    max_backoff: Duration,
    flap_window: Duration,
    drift: DriftPolicy,
    manifests: HashMap<String, Memory>,
    /// Per manifest, what its spec and handler were at the last load (see
    /// [`Tracker::inputs_loaded`]).
    fingerprints: HashMap<String, String>,
    seen: Seen,
}

impl Tracker {
    pub fn new(settings: &WatchRequest) -> Tracker {
        Tracker {
            retry_interval: settings.retry_interval,
            max_backoff: settings.max_backoff,
            flap_window: settings.flap_window,
            drift: settings.drift,
            manifests: HashMap::new(),
            fingerprints: HashMap::new(),
            seen: Seen::default(),
        }
    }

    /// The wait after `failures` failures in a row: `--retry-interval` × 2^(failures−1),
    /// at most `--max-backoff`.
    pub fn backoff(&self, failures: u32) -> Duration {
        backoff(self.retry_interval, self.max_backoff, failures)
    }

    /// The earliest moment a manifest in backoff may be tried again, if any is.
    pub fn next_retry(&self) -> Option<Instant> {
        self.manifests
            .values()
            .filter_map(|m| m.next_attempt.map(|(at, _)| at))
            .min()
    }

    /// The inputs loaded (again): `fingerprints` holds, per manifest, a digest of its spec
    /// and its handler. A manifest whose spec or handler changed since the last load starts
    /// anew: its backoff ends (it is tried in the next cycle, failures count from 0), and
    /// so does its flapping.
    pub fn inputs_loaded(&mut self, fingerprints: HashMap<String, String>) {
        for (name, print) in &fingerprints {
            if self.fingerprints.get(name).is_some_and(|old| old != print)
                && let Some(memory) = self.manifests.get_mut(name)
            {
                *memory = Memory::default();
            }
        }
        self.fingerprints = fingerprints;
    }

    /// An explicit request (SIGHUP, `POST /reconcile`): every manifest waiting out its
    /// backoff is tried in this cycle. Its failures still count: failing again doubles
    /// the wait as before; succeeding resets it.
    pub fn retry_now(&mut self) {
        for memory in self.manifests.values_mut() {
            memory.next_attempt = None;
        }
    }

    /// Forgets what the gate saw: a cycle starts.
    pub fn start_cycle(&mut self) {
        self.seen = Seen::default();
    }

    /// Takes in a cycle's run, step by step, and says what it made of each manifest.
    /// Manifests gone from the files are forgotten.
    pub fn observe(&mut self, steps: &[StepResult], now: Instant) -> Vec<Observed> {
        let wall = SystemTime::now();
        let present: HashSet<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        self.manifests
            .retain(|name, _| present.contains(name.as_str()));
        let seen = std::mem::take(&mut self.seen);
        let mut out = Vec::with_capacity(steps.len());
        for step in steps {
            let (retry, cap) = (self.retry_interval, self.max_backoff);
            let memory = self.manifests.entry(step.name.clone()).or_default();
            // A new spec or handler is a new start: no flapping, no corrections counted.
            if step.baseline != Baseline::Same {
                memory.corrections.clear();
                memory.flapping = false;
            }
            let drift = seen.drift.get(&step.name).copied();
            let mut status = match step.status {
                Status::Changed | Status::Done | Status::Verified => "changed",
                Status::Unchanged => "unchanged",
                Status::Failed | Status::Unreachable => "failed",
                Status::Pending => "drift",
                Status::Interrupted => "interrupted",
                _ => "skipped",
            };
            let mut corrected = false;
            match step.status {
                Status::Changed | Status::Unchanged | Status::Done | Status::Verified => {
                    memory.failures = 0;
                    memory.next_attempt = None;
                    if step.status == Status::Changed && drift == Some(None) {
                        corrected = true;
                        memory.corrections.push_back(now);
                    }
                }
                Status::Failed | Status::Unreachable => {
                    memory.failures = memory.failures.saturating_add(1);
                    let wait = backoff(retry, cap, memory.failures);
                    memory.next_attempt = now
                        .checked_add(wait)
                        .map(|at| (at, wall.checked_add(wait).unwrap_or(wall)));
                }
                _ => {}
            }
            if let Some(Some(held)) = drift {
                status = held;
            }
            if seen.held.contains(&step.name) {
                status = "waiting";
            }
            out.push(Observed {
                name: step.name.clone(),
                host: step.host.clone(),
                status,
                reason: step.error.clone().or_else(|| step.reason.clone()),
                failures: memory.failures,
                next_attempt: memory.next_attempt.map(|(_, at)| at),
                backoff: (memory.failures > 0).then(|| backoff(retry, cap, memory.failures)),
                drift_detected: drift.is_some(),
                drift_corrected: corrected,
            });
        }
        out
    }

    /// Why `name` must wait (its backoff), if it must.
    fn hold(&mut self, name: &str, now: Instant) -> Option<String> {
        let memory = self.manifests.get(name)?;
        let (at, _) = memory.next_attempt?;
        let left = at.checked_duration_since(now).filter(|d| !d.is_zero())?;
        self.seen.held.insert(name.to_string());
        Some(format!(
            "`{name}` waits out its backoff: it failed {} time{} in a row; next attempt in {}",
            memory.failures,
            if memory.failures == 1 { "" } else { "s" },
            shown(left)
        ))
    }

    /// What to do about drift of `m`: `None` corrects it.
    fn drift(&mut self, m: &Manifest, now: Instant) -> Option<(Status, String)> {
        let window = self.flap_window;
        let memory = self.manifests.entry(m.name.clone()).or_default();
        while memory
            .corrections
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) > window)
        {
            memory.corrections.pop_front();
        }
        if memory.corrections.len() >= FLAP_CORRECTIONS {
            memory.flapping = true;
        }
        let (held, status, reason) = if memory.flapping {
            (
                Some("flapping"),
                Status::Pending,
                format!(
                    "flapping: drift corrected {FLAP_CORRECTIONS} times within {} (something else changes it back); only reported until its spec changes",
                    shown(window)
                ),
            )
        } else {
            let policy = match m.metadata.drift {
                Some(Drift::Correct) => return self.corrected(m),
                Some(Drift::Warn) => "metadata.drift: warn",
                Some(Drift::Ignore) => {
                    self.seen.drift.insert(m.name.clone(), Some("ignored"));
                    return Some((
                        Status::Unchanged,
                        "drift ignored (metadata.drift: ignore)".to_string(),
                    ));
                }
                None if self.drift == DriftPolicy::Warn => "--drift warn",
                None => return self.corrected(m),
            };
            (
                Some("drift"),
                Status::Pending,
                format!(
                    "drift: `check` says work is needed although the spec did not change; only reported ({policy})"
                ),
            )
        };
        self.seen.drift.insert(m.name.clone(), held);
        Some((status, reason))
    }

    fn corrected(&mut self, m: &Manifest) -> Option<(Status, String)> {
        self.seen.drift.insert(m.name.clone(), None);
        None
    }
}

/// `retry` × 2^(failures−1), at most `cap`.
fn backoff(retry: Duration, cap: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    retry.saturating_mul(1_u32 << doublings).min(cap)
}

/// A duration as reports show it: `250ms`, `30s`, `10m` (rounded to what reads well).
pub(super) fn shown(d: Duration) -> String {
    let d = if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    };
    humantime::format_duration(d).to_string()
}

/// The [`Gate`] of one cycle's run: the tracker, asked from the workers.
pub(super) struct CycleGate<'a> {
    pub(super) tracker: &'a Mutex<Tracker>,
}

impl Gate for CycleGate<'_> {
    fn hold(&self, m: &Manifest) -> Option<String> {
        self.tracker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hold(&m.name, Instant::now())
    }

    fn drift(&self, m: &Manifest) -> Option<(Status, String)> {
        self.tracker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drift(m, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> Tracker {
        Tracker::new(&WatchRequest {
            retry_interval: Duration::from_secs(30),
            max_backoff: Duration::from_secs(600),
            ..WatchRequest::default()
        })
    }

    fn step(name: &str, status: Status) -> StepResult {
        StepResult {
            name: name.into(),
            host: None,
            baseline: Baseline::Same,
            status,
            reason: None,
            error: None,
        }
    }

    #[test]
    fn backoff_doubles_from_the_retry_interval_up_to_the_cap() {
        let t = tracker();
        let secs: Vec<u64> = (1..=7).map(|f| t.backoff(f).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(t.backoff(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn a_failure_holds_the_manifest_until_its_next_attempt_and_a_success_resets_it() {
        let mut t = tracker();
        let now = Instant::now();
        let seen = t.observe(&[step("web", Status::Failed)], now);
        assert_eq!(seen[0].failures, 1);
        assert!(seen[0].next_attempt.is_some());
        let reason = t.hold("web", now).unwrap_or_default();
        assert!(
            reason.starts_with("`web` waits out its backoff: it failed 1 time"),
            "{reason}"
        );
        assert_eq!(t.hold("web", now + Duration::from_secs(31)), None);
        let seen = t.observe(&[step("web", Status::Changed)], now);
        assert_eq!((seen[0].failures, seen[0].next_attempt), (0, None));
        assert_eq!(t.next_retry(), None);
    }

    #[test]
    fn a_changed_fingerprint_ends_the_backoff_and_a_request_retries_keeping_the_count() {
        let mut t = tracker();
        let now = Instant::now();
        let prints = |p: &str| HashMap::from([("web".to_string(), p.to_string())]);
        t.inputs_loaded(prints("a"));
        t.observe(&[step("web", Status::Failed)], now);
        t.inputs_loaded(prints("a"));
        assert!(t.hold("web", now).is_some(), "same inputs: still waiting");
        t.inputs_loaded(prints("b"));
        assert_eq!(t.hold("web", now), None);
        let seen = t.observe(&[step("web", Status::Failed)], now);
        assert_eq!(seen[0].failures, 1, "a changed spec counts from 0");
        t.retry_now();
        assert_eq!(t.hold("web", now), None);
        let seen = t.observe(&[step("web", Status::Failed)], now);
        assert_eq!(seen[0].failures, 2, "a request keeps the count");
    }
}
