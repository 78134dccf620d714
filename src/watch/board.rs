//! The board: what `ordo watch` knows about itself, shared by the reconcile loop (which
//! writes it) and the HTTP endpoints (which read it).
//!
//! The loop calls [`Board::tick`] while it is alive, [`Board::inputs`] after each load of
//! the inputs, and [`Board::record`] after each cycle. The server asks the board whether
//! the loop is live ([`Board::live`]), ready ([`Board::readiness`]), for the status as
//! JSON ([`Board::status`]) and for the numbers `/metrics` shows ([`Board::snapshot`]).
//!
//! Everything sits behind one mutex, held only to copy or update a few fields: a scrape
//! never waits for a cycle, and a cycle never waits for a scrape. Memory is bounded: the
//! last [`HISTORY`] cycles are kept, and the running totals are a few numbers per manifest
//! name. Secret text is masked when the board is read (in [`Board::status`],
//! [`Board::readiness`] and the snapshot's labels), not when it is written, so a secret
//! that becomes known after a cycle was recorded is masked too.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use serde_json::{Value, json};

use crate::events::secrets;

/// How many cycles the board remembers for `/status`.
pub const HISTORY: usize = 100;

/// The shortest window `/livez` allows since the last tick, whatever the interval: a
/// sub-second `--interval` on a loaded machine must not make a busy loop look dead.
pub const MIN_LIVENESS: Duration = Duration::from_secs(30);

/// What the loop and the server share (as an `Arc<Board>`).
pub struct Board {
    /// How long the loop may go without a tick and still be live.
    liveness: Duration,
    inner: Mutex<Inner>,
}

/// The mutable part of the board.
struct Inner {
    last_tick: Instant,
    /// The (already masked) error of the last load of the inputs, if it failed.
    inputs: Option<String>,
    history: VecDeque<CycleReport>,
    totals: Totals,
}

/// Running totals since the watch started, for `/metrics`.
struct Totals {
    /// Cycles by result (`unchanged`, `changed`, `failed`, `skipped`).
    cycles: BTreeMap<&'static str, u64>,
    drift_detected: BTreeMap<String, u64>,
    drift_corrected: BTreeMap<String, u64>,
    /// The start of the last cycle that ended without a failure.
    last_success: Option<SystemTime>,
    /// How long the cycles that ran took.
    durations: Histogram,
}

impl Default for Totals {
    fn default() -> Totals {
        Totals {
            cycles: BTreeMap::new(),
            drift_detected: BTreeMap::new(),
            drift_corrected: BTreeMap::new(),
            last_success: None,
            // 5 ms to about 164 s, doubling: a no-op cycle to a long apply.
            durations: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
        }
    }
}

/// How one cycle ended, as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CycleResult {
    /// Nothing needed doing.
    Unchanged,
    /// Something was applied, and nothing failed.
    Changed,
    /// At least one manifest failed (or the cycle could not run).
    Failed,
    /// The cycle did not run, for the reason given (the state lock held by a person's
    /// `ordo apply`, ...).
    Skipped(String),
}

impl CycleResult {
    /// The result's name, as `/status` and the `result` label of `ordo_cycles_total`
    /// show it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            CycleResult::Unchanged => "unchanged",
            CycleResult::Changed => "changed",
            CycleResult::Failed => "failed",
            CycleResult::Skipped(_) => "skipped",
        }
    }
}

/// What one cycle did.
#[derive(Clone, Debug)]
pub struct CycleReport {
    /// The cycle's number, from 1.
    pub number: u64,
    /// When it started.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub result: CycleResult,
    /// Each manifest (per host) of the selection, as the cycle left it.
    pub manifests: Vec<ManifestReport>,
    /// Why the cycle could not run, when it failed before any manifest ran (a broken
    /// state file, ...).
    pub error: Option<String>,
}

/// What one cycle did with one manifest (on one host).
#[derive(Clone, Debug)]
pub struct ManifestReport {
    /// The manifest's name.
    pub name: String,
    /// The host it acts on, if it runs on hosts.
    pub host: Option<String>,
    /// `unchanged`, `changed`, `failed`, `skipped`, `waiting`, `flapping`, `drift` or
    /// `ignored` (see [`STATUSES`]).
    pub status: String,
    /// Why, in words (the error of a failure, what a skipped manifest waits on, ...).
    pub reason: Option<String>,
    /// Failures in a row (0 after a success).
    pub failures: u32,
    /// When the manifest is tried again, while it backs off.
    pub next_attempt: Option<SystemTime>,
    /// The cycle found drift (the spec unchanged, `check` wanting work).
    pub drift_detected: bool,
    /// The cycle corrected that drift.
    pub drift_corrected: bool,
}

/// Every status a manifest can have, in the order `/metrics` lists them.
pub const STATUSES: &[&str] = &[
    "unchanged",
    "changed",
    "failed",
    "skipped",
    "waiting",
    "flapping",
    "drift",
    "ignored",
];

/// What `/metrics` shows, copied out of the board with secrets masked in every label.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Cycles by result name.
    pub cycles: Vec<(&'static str, u64)>,
    /// The durations of every cycle since the start.
    pub durations: Histogram,
    /// The manifests of the last cycle that ran: name, host (`""` for none), status,
    /// failures in a row.
    pub manifests: Vec<(String, String, String, u32)>,
    /// Drift found per manifest name, since the start.
    pub drift_detected: Vec<(String, u64)>,
    /// Drift corrected per manifest name, since the start.
    pub drift_corrected: Vec<(String, u64)>,
    /// Seconds since the epoch of the last cycle without a failure.
    pub last_success: Option<f64>,
}

impl Board {
    /// A board for a loop that ticks at least every `interval`; it counts as live for
    /// 2 × `interval` (at least [`MIN_LIVENESS`]) from now.
    #[must_use]
    pub fn new(interval: Duration) -> Board {
        Board::with_liveness(interval.saturating_mul(2).max(MIN_LIVENESS))
    }

    /// A board that counts as live for `liveness` after each tick.
    #[must_use]
    pub fn with_liveness(liveness: Duration) -> Board {
        Board {
            liveness,
            inner: Mutex::new(Inner {
                last_tick: Instant::now(),
                inputs: None,
                history: VecDeque::with_capacity(HISTORY),
                totals: Totals::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; reading it is fine.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The loop is alive.
    pub fn tick(&self) {
        self.lock().last_tick = Instant::now();
    }

    /// The inputs loaded (`None`), or did not, with the (already masked) error.
    pub fn inputs(&self, error: Option<String>) {
        self.lock().inputs = error;
    }

    /// A cycle ended: it joins the history (the oldest beyond [`HISTORY`] is dropped) and
    /// the totals. Recording counts as a tick.
    pub fn record(&self, cycle: CycleReport) {
        let mut inner = self.lock();
        inner.last_tick = Instant::now();
        let totals = &mut inner.totals;
        *totals.cycles.entry(cycle.result.name()).or_default() += 1;
        if matches!(cycle.result, CycleResult::Unchanged | CycleResult::Changed) {
            totals.last_success = Some(cycle.started);
        }
        for m in &cycle.manifests {
            if m.drift_detected {
                *totals.drift_detected.entry(m.name.clone()).or_default() += 1;
            }
            if m.drift_corrected {
                *totals.drift_corrected.entry(m.name.clone()).or_default() += 1;
            }
        }
        if !matches!(cycle.result, CycleResult::Skipped(_)) {
            totals.durations.observe(cycle.duration.as_secs_f64());
        }
        if inner.history.len() >= HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(cycle);
    }

    /// Whether the loop ticked within the liveness window (`/livez`).
    #[must_use]
    pub fn live(&self) -> bool {
        self.lock().last_tick.elapsed() < self.liveness
    }

    /// `Ok` when the inputs load and the last cycle that ran left no manifest failed,
    /// flapping or waiting out the backoff of a failure; otherwise why not, masked
    /// (`/readyz`).
    ///
    /// # Errors
    ///
    /// The reason the watch is not ready, one line per cause.
    pub fn readiness(&self) -> Result<(), String> {
        let inner = self.lock();
        let mut reasons = Vec::new();
        if let Some(error) = &inner.inputs {
            reasons.push(format!("inputs do not load: {error}"));
        }
        match last_run(&inner.history) {
            None => reasons.push(match inner.history.back() {
                Some(CycleReport {
                    result: CycleResult::Skipped(why),
                    ..
                }) => format!("no cycle has run yet (skipped: {why})"),
                _ => "no cycle has run yet".to_string(),
            }),
            Some(cycle) => {
                let mut named = false;
                for m in &cycle.manifests {
                    // A manifest waiting out its backoff is still failing: readiness
                    // must not come back while it merely waits for its next attempt.
                    let failing = m.status == "waiting" && m.failures > 0;
                    if m.status == "failed" || m.status == "flapping" || failing {
                        named = true;
                        let mut line = format!("{} {}", qualified(m), m.status);
                        if let Some(reason) = &m.reason {
                            line.push_str(": ");
                            line.push_str(reason);
                        }
                        reasons.push(line);
                    }
                }
                if !named && cycle.result == CycleResult::Failed {
                    reasons.push(match &cycle.error {
                        Some(why) => format!("cycle {} could not run: {why}", cycle.number),
                        None => format!("cycle {} failed", cycle.number),
                    });
                }
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(secrets::masked(&reasons.join("\n")))
        }
    }

    /// The status as JSON (`/status`), secrets masked: whether the loop is live and ready
    /// (and why not), the inputs, the last cycle with each manifest, and a line per
    /// remembered cycle.
    #[must_use]
    pub fn status(&self) -> Value {
        let ready = self.readiness();
        let live = self.live();
        let inner = self.lock();
        let totals: u64 = inner.totals.cycles.values().sum();
        let mut value = json!({
            "live": live,
            "ready": ready.is_ok(),
            "reason": ready.err(),
            "inputs": match &inner.inputs {
                None => json!({"ok": true}),
                Some(error) => json!({"ok": false, "error": error}),
            },
            "cycles": totals,
            "last_success": inner.totals.last_success.map(rfc3339),
            "last_cycle": inner.history.back().map(cycle_json),
            "last_run": last_run(&inner.history).map(cycle_json),
            "history": inner.history.iter().map(|c| json!({
                "number": c.number,
                "started": rfc3339(c.started),
                "duration_seconds": c.duration.as_secs_f64(),
                "result": c.result.name(),
                "changed": c.manifests.iter().filter(|m| m.status == "changed").count(),
                "failed": c.manifests.iter().filter(|m| m.status == "failed").count(),
            })).collect::<Vec<_>>(),
        });
        drop(inner);
        secrets::mask_json(&mut value);
        value
    }

    /// The numbers `/metrics` shows, with secrets masked in every label value.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        let masked = |name: &String| secrets::masked(name);
        let manifests = last_run(&inner.history)
            .map(|c| {
                c.manifests
                    .iter()
                    .map(|m| {
                        (
                            masked(&m.name),
                            m.host.as_deref().map(secrets::masked).unwrap_or_default(),
                            masked(&m.status),
                            m.failures,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Snapshot {
            cycles: inner.totals.cycles.iter().map(|(k, v)| (*k, *v)).collect(),
            durations: inner.totals.durations.clone(),
            manifests,
            drift_detected: merge_masked(&inner.totals.drift_detected),
            drift_corrected: merge_masked(&inner.totals.drift_corrected),
            last_success: inner
                .totals
                .last_success
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64()),
        }
    }
}

/// The last cycle that ran (not skipped).
fn last_run(history: &VecDeque<CycleReport>) -> Option<&CycleReport> {
    history
        .iter()
        .rev()
        .find(|c| !matches!(c.result, CycleResult::Skipped(_)))
}

/// `name` or `name@host`.
fn qualified(m: &ManifestReport) -> String {
    match &m.host {
        Some(host) => format!("{}@{host}", m.name),
        None => m.name.clone(),
    }
}

/// Counts per masked name: two names that mask to the same text add up, so the labels
/// stay unique.
fn merge_masked(counts: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    for (name, n) in counts {
        *merged.entry(secrets::masked(name)).or_default() += n;
    }
    merged.into_iter().collect()
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn cycle_json(c: &CycleReport) -> Value {
    json!({
        "number": c.number,
        "started": rfc3339(c.started),
        "duration_seconds": c.duration.as_secs_f64(),
        "result": c.result.name(),
        "reason": match &c.result {
            CycleResult::Skipped(why) => Some(why.clone()),
            _ => c.error.clone(),
        },
        "manifests": c.manifests.iter().map(|m| json!({
            "name": m.name,
            "host": m.host,
            "status": m.status,
            "reason": m.reason,
            "failures": m.failures,
            "next_attempt": m.next_attempt.map(rfc3339),
            "drift_detected": m.drift_detected,
            "drift_corrected": m.drift_corrected,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    fn manifest(name: &str, status: &str) -> ManifestReport {
        ManifestReport {
            name: name.to_string(),
            host: None,
            status: status.to_string(),
            reason: None,
            failures: 0,
            next_attempt: None,
            drift_detected: false,
            drift_corrected: false,
        }
    }

    fn cycle(number: u64, result: CycleResult, manifests: Vec<ManifestReport>) -> CycleReport {
        CycleReport {
            number,
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + number),
            duration: Duration::from_millis(20),
            result,
            manifests,
            error: None,
        }
    }

    #[test]
    fn live_until_the_window_after_the_last_tick_passes() {
        let board = Board::with_liveness(Duration::from_millis(50));
        assert!(board.live());
        std::thread::sleep(Duration::from_millis(80));
        assert!(!board.live());
        board.tick();
        assert!(board.live());
        // The window is 2 × interval, never under MIN_LIVENESS.
        assert_eq!(Board::new(Duration::from_millis(10)).liveness, MIN_LIVENESS);
        assert_eq!(
            Board::new(Duration::from_secs(300)).liveness,
            Duration::from_secs(600)
        );
    }

    #[test]
    fn not_ready_before_a_cycle_then_ready_after_a_clean_one() {
        let board = Board::new(Duration::from_secs(1));
        assert_eq!(board.readiness().unwrap_err(), "no cycle has run yet");
        board.record(cycle(
            1,
            CycleResult::Changed,
            vec![manifest("a", "changed")],
        ));
        assert_eq!(board.readiness(), Ok(()));
    }

    #[test]
    fn a_failed_or_flapping_manifest_and_broken_inputs_make_it_unready_with_the_reason() {
        let board = Board::new(Duration::from_secs(1));
        let mut failed = manifest("db", "failed");
        failed.reason = Some("exit status 3".to_string());
        failed.host = Some("web1".to_string());
        board.record(cycle(
            1,
            CycleResult::Failed,
            vec![
                failed,
                manifest("hpa", "flapping"),
                manifest("ok", "unchanged"),
            ],
        ));
        board.inputs(Some("manifests/a.yaml:3: unknown field `spce`".to_string()));
        // Other tests of this process add secrets (a process-wide set): expect their masks.
        assert_eq!(
            board.readiness().unwrap_err(),
            secrets::masked(
                "inputs do not load: manifests/a.yaml:3: unknown field `spce`\n\
                 db@web1 failed: exit status 3\nhpa flapping"
            )
        );
        board.inputs(None);
        // Waiting out its backoff, it still fails; a dependent waiting on it does not.
        let mut waiting = manifest("db", "waiting");
        waiting.failures = 2;
        waiting.reason = Some("next attempt in 20s".into());
        board.record(cycle(
            2,
            CycleResult::Unchanged,
            vec![waiting, manifest("app", "waiting")],
        ));
        assert_eq!(
            board.readiness().unwrap_err(),
            secrets::masked("db waiting: next attempt in 20s")
        );
        board.record(cycle(
            3,
            CycleResult::Unchanged,
            vec![manifest("db", "unchanged")],
        ));
        assert_eq!(board.readiness(), Ok(()));
    }

    #[test]
    fn a_skipped_cycle_keeps_the_readiness_of_the_last_cycle_that_ran() {
        let board = Board::new(Duration::from_secs(1));
        board.record(cycle(1, CycleResult::Skipped("lock held".into()), vec![]));
        assert_eq!(
            board.readiness().unwrap_err(),
            "no cycle has run yet (skipped: lock held)"
        );
        board.record(cycle(2, CycleResult::Failed, vec![manifest("a", "failed")]));
        board.record(cycle(3, CycleResult::Skipped("lock held".into()), vec![]));
        assert_eq!(board.readiness().unwrap_err(), secrets::masked("a failed"));
        let status = board.status();
        assert_eq!(status["last_cycle"]["result"], "skipped");
        assert_eq!(status["last_cycle"]["reason"], "lock held");
        assert_eq!(status["last_run"]["number"], 2);
    }

    #[test]
    fn history_is_bounded_to_the_last_100_cycles() {
        let board = Board::new(Duration::from_secs(1));
        for n in 1..=250 {
            board.record(cycle(
                n,
                CycleResult::Unchanged,
                vec![manifest("a", "unchanged")],
            ));
        }
        let status = board.status();
        let history = status["history"].as_array().unwrap();
        assert_eq!(history.len(), HISTORY);
        assert_eq!(history[0]["number"], 151);
        assert_eq!(status["cycles"], 250);
        assert_eq!(status["last_cycle"]["number"], 250);
    }

    #[test]
    fn status_shows_each_manifest_of_the_last_cycle() {
        let board = Board::new(Duration::from_secs(1));
        let mut waiting = manifest("api", "waiting");
        waiting.failures = 2;
        waiting.reason = Some("connection refused".into());
        waiting.next_attempt = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(60));
        board.record(cycle(7, CycleResult::Failed, vec![waiting]));
        let status = board.status();
        let m = &status["last_cycle"]["manifests"][0];
        assert_eq!(m["name"], "api");
        assert_eq!(m["status"], "waiting");
        assert_eq!(m["failures"], 2);
        assert_eq!(m["reason"], "connection refused");
        assert_eq!(m["next_attempt"], "1970-01-01T00:01:00.000Z");
        assert_eq!(status["ready"], false);
        assert_eq!(
            status["reason"],
            secrets::masked("api waiting: connection refused")
        );
    }

    #[test]
    fn totals_count_cycles_by_result_and_drift_per_name() {
        let board = Board::new(Duration::from_secs(1));
        let mut drifted = manifest("cfg", "changed");
        drifted.drift_detected = true;
        drifted.drift_corrected = true;
        board.record(cycle(1, CycleResult::Changed, vec![drifted.clone()]));
        drifted.drift_corrected = false;
        drifted.status = "drift".into();
        board.record(cycle(2, CycleResult::Unchanged, vec![drifted]));
        board.record(cycle(
            3,
            CycleResult::Failed,
            vec![manifest("cfg", "failed")],
        ));
        let snap = board.snapshot();
        assert_eq!(
            snap.cycles,
            vec![("changed", 1), ("failed", 1), ("unchanged", 1)]
        );
        assert_eq!(snap.drift_detected, vec![("cfg".to_string(), 2)]);
        assert_eq!(snap.drift_corrected, vec![("cfg".to_string(), 1)]);
        // The last success is cycle 2's start.
        assert_eq!(snap.last_success, Some(1_002.0));
        assert_eq!(
            snap.manifests,
            vec![("cfg".into(), String::new(), "failed".into(), 0)]
        );
    }

    #[test]
    fn secrets_are_masked_in_labels_status_and_reasons_even_when_learnt_after_the_cycle() {
        let board = Board::new(Duration::from_secs(1));
        let mut m = manifest("db-hunter2-board", "failed");
        m.reason = Some("login as hunter2-board refused".into());
        m.host = Some("hunter2-board.example".into());
        m.drift_detected = true;
        board.record(cycle(1, CycleResult::Failed, vec![m]));
        secrets::add("hunter2-board");
        let reason = board.readiness().unwrap_err();
        assert!(!reason.contains("hunter2"), "{reason}");
        let status = board.status().to_string();
        assert!(!status.contains("hunter2"), "{status}");
        let snap = board.snapshot();
        assert_eq!(snap.manifests[0].0, secrets::masked("db-hunter2-board"));
        assert!(snap.manifests[0].0.ends_with("-***"));
        assert_eq!(
            snap.manifests[0].1,
            secrets::masked("hunter2-board.example")
        );
        assert!(snap.manifests[0].1.starts_with("***."));
        assert_eq!(
            snap.drift_detected,
            vec![(secrets::masked("db-hunter2-board"), 1)]
        );
    }
}
