//! `/metrics`: the board's numbers in the Prometheus text format (version 0.0.4), encoded
//! by the `prometheus-client` crate so that names, `# HELP`/`# TYPE` lines, label escaping
//! and histogram buckets follow the format's rules.
//!
//! A fresh registry is filled from a [`Snapshot`] at each scrape: the per-manifest series
//! are those of the last cycle that ran, so a manifest removed from the project stops
//! being reported instead of lingering with its last value. Label values come masked from
//! the board.

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::board::{STATUSES, Snapshot};

/// The `Content-Type` of what [`render`] returns.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type Labels = Vec<(&'static str, String)>;

/// The snapshot as Prometheus text.
#[must_use]
pub fn render(snapshot: &Snapshot) -> String {
    let mut registry = Registry::default();

    let up = Gauge::<i64>::default();
    up.set(1);
    registry.register("ordo_up", "Whether the watch is running (always 1)", up);

    let cycles = Family::<Labels, Counter>::default();
    for result in ["unchanged", "changed", "failed", "skipped"] {
        let n = snapshot
            .cycles
            .iter()
            .find(|(r, _)| *r == result)
            .map_or(0, |(_, n)| *n);
        cycles
            .get_or_create(&vec![("result", result.to_string())])
            .inc_by(n);
    }
    registry.register(
        "ordo_cycles",
        "Reconcile cycles since the watch started, by result",
        cycles,
    );

    registry.register(
        "ordo_cycle_duration_seconds",
        "How long the reconcile cycles took",
        snapshot.durations.clone(),
    );

    let status = Family::<Labels, Gauge>::default();
    let failures = Family::<Labels, Gauge>::default();
    for (name, host, current, failed) in &snapshot.manifests {
        for s in STATUSES {
            status
                .get_or_create(&vec![
                    ("name", name.clone()),
                    ("host", host.clone()),
                    ("status", (*s).to_string()),
                ])
                .set(i64::from(s == current));
        }
        // A manifest on several hosts: its worst host's failures in a row.
        let gauge = failures.get_or_create(&vec![("name", name.clone())]);
        gauge.set(gauge.get().max(i64::from(*failed)));
    }
    registry.register(
        "ordo_manifest_status",
        "The status of each manifest (per host) after the last cycle: 1 for its status, 0 for the others",
        status,
    );
    registry.register(
        "ordo_manifest_failures",
        "Failures in a row of each manifest after the last cycle (0 after a success)",
        failures,
    );

    for (metric, help, counts) in [
        (
            "ordo_drift_detected",
            "Cycles that found a manifest drifted (spec unchanged, check wanting work)",
            &snapshot.drift_detected,
        ),
        (
            "ordo_drift_corrected",
            "Cycles that corrected a manifest's drift",
            &snapshot.drift_corrected,
        ),
    ] {
        let family = Family::<Labels, Counter>::default();
        // Every manifest of the last cycle has its series, at 0 until it drifts, so that
        // `increase()` sees the first drift and the family is never missing.
        for (name, ..) in &snapshot.manifests {
            let _ = family.get_or_create(&vec![("name", name.clone())]);
        }
        for (name, n) in counts {
            family
                .get_or_create(&vec![("name", name.clone())])
                .inc_by(*n);
        }
        registry.register(metric, help, family);
    }

    let last = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    last.set(snapshot.last_success.unwrap_or(0.0));
    registry.register(
        "ordo_last_success_timestamp_seconds",
        "When the last cycle without a failure started, in seconds since the epoch (0: none yet)",
        last,
    );

    let mut text = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug in the crate,
    // and an empty answer is then better than a panic in the server thread.
    if prometheus_text::encode(&mut text, &registry).is_err() {
        text.clear();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::watch::board::{Board, CycleReport, CycleResult, ManifestReport};

    const NAME: &str = "odd \"name\" \\ here\nnext";

    fn board() -> Board {
        let board = Board::new(Duration::from_secs(1));
        for (n, ms) in [(1, 3), (2, 40), (3, 9_000)] {
            board.record(CycleReport {
                number: n,
                started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + n),
                duration: Duration::from_millis(ms),
                result: if n == 3 {
                    CycleResult::Failed
                } else {
                    CycleResult::Changed
                },
                manifests: vec![ManifestReport {
                    name: NAME.into(),
                    host: Some("web1".into()),
                    status: if n == 3 { "failed" } else { "changed" }.into(),
                    reason: None,
                    failures: u32::from(n == 3),
                    next_attempt: None,
                    drift_detected: true,
                    drift_corrected: n != 3,
                }],
                error: None,
            });
        }
        board
    }

    #[test]
    fn every_metric_is_named_typed_and_counted() {
        let text = render(&board().snapshot());
        for line in [
            "# TYPE ordo_up gauge",
            "ordo_up 1",
            "# TYPE ordo_cycles_total counter",
            "ordo_cycles_total{result=\"changed\"} 2",
            "ordo_cycles_total{result=\"failed\"} 1",
            "ordo_cycles_total{result=\"unchanged\"} 0",
            "# TYPE ordo_cycle_duration_seconds histogram",
            "ordo_cycle_duration_seconds_count 3",
            "ordo_cycle_duration_seconds_bucket{le=\"+Inf\"} 3",
            "ordo_cycle_duration_seconds_bucket{le=\"0.005\"} 1",
            "# TYPE ordo_manifest_status gauge",
            "# TYPE ordo_manifest_failures gauge",
            "# TYPE ordo_drift_detected_total counter",
            "# TYPE ordo_drift_corrected_total counter",
            "# TYPE ordo_last_success_timestamp_seconds gauge",
            "ordo_last_success_timestamp_seconds 1700000002.0",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let text = render(&board().snapshot());
        // Other tests of this process add secrets (a process-wide set): expect their masks.
        let name = crate::events::secrets::masked(NAME)
            .replace('\\', r"\\")
            .replace('"', r#"\""#)
            .replace('\n', r"\n");
        assert!(
            name.contains(r#"\"name\" \\ "#) && name.contains(r"\n"),
            "{name}"
        );
        let escaped = format!("name=\"{name}\"");
        for line in [
            format!("ordo_manifest_status{{{escaped},host=\"web1\",status=\"failed\"}} 1"),
            format!("ordo_manifest_status{{{escaped},host=\"web1\",status=\"changed\"}} 0"),
            format!("ordo_manifest_failures{{{escaped}}} 1"),
            format!("ordo_drift_detected_total{{{escaped}}} 3"),
            format!("ordo_drift_corrected_total{{{escaped}}} 2"),
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
        // One sample per line: the newline in the name never breaks one.
        assert!(
            text.lines()
                .all(|l| l.starts_with("# ") || l.starts_with("ordo_"))
        );
    }

    #[test]
    fn no_cycle_yet_still_renders_every_family() {
        let text = render(&Board::new(Duration::from_secs(1)).snapshot());
        assert!(text.contains("ordo_up 1"), "{text}");
        assert!(
            text.contains("ordo_cycle_duration_seconds_count 0"),
            "{text}"
        );
        assert!(
            text.contains("ordo_last_success_timestamp_seconds 0.0"),
            "{text}"
        );
    }
}
