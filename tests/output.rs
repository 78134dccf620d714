//! Output (DESIGN.md §7): human lines, the JSON report's exact shape, JSON lines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{Test, trace_doc};

fn project() -> Test {
    let yaml = [
        trace_doc("base", "", ""),
        trace_doc("same", "", "check: never"),
        trace_doc("broken", "dependencies: {apply: [base]}", "fail: true"),
        trace_doc("after", "dependencies: {apply: [broken]}", ""),
    ]
    .concat();
    Test::new().trace().manifest("m.yaml", &yaml)
}

/// Replaces timings so snapshots are stable.
fn stable(mut v: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    if k == "duration_ms" {
                        *x = serde_json::json!("[ms]");
                    } else {
                        walk(x);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[test]
fn the_json_report_has_exactly_the_documented_shape() {
    let t = project();
    let out = t.run(&["apply", "-o", "json", "-j", "1"]);
    out.code(1);
    insta::assert_json_snapshot!("apply_report", stable(out.json()));
}

#[test]
fn a_successful_json_report_is_ok() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("only", "", ""));
    let json = t.run(&["apply", "-o", "json"]).json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["command"], "apply");
    assert_eq!(json["environment"], "default");
    assert_eq!(
        json["summary"],
        serde_json::json!({"changed": 1, "unchanged": 0, "failed": 0, "interrupted": 0, "skipped": 0})
    );
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "command",
            "environment",
            "ok",
            "duration_ms",
            "manifests",
            "summary"
        ]
    );
}

#[test]
fn human_output_is_a_line_per_manifest_and_a_summary() {
    let t = project();
    let out = t.run(&["apply", "-j", "1"]);
    out.code(1);
    let words: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(
        words,
        [
            ["changed", "Trace/base"],
            ["unchanged", "Trace/same"],
            ["failed", "Trace/broken"],
            ["skipped", "Trace/after"],
            ["apply:", "1"]
        ]
    );
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("apply: 1 changed, 1 unchanged, 1 failed, 1 skipped in ")
    );
    // Diagnostics go to stderr, with the handler location.
    out.stderr_has("error: failure requested by broken")
        .stderr_has("trace.rhai:");
    assert!(!out.stdout.contains("failure requested"));
}

#[test]
fn jsonl_emits_one_event_per_line() {
    let t = project();
    let out = t.run(&["apply", "-o", "jsonl", "-j", "1"]);
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"run_started"));
    assert_eq!(names.last(), Some(&"run_finished"));
    assert_eq!(
        names.iter().filter(|n| **n == "manifest_started").count(),
        3
    );
    assert_eq!(
        names.iter().filter(|n| **n == "manifest_finished").count(),
        4
    );
}

#[test]
fn manifests_can_come_from_standard_input() {
    let t = Test::new().trace().stdin(&trace_doc("piped", "", ""));
    t.run(&["apply", "-m", "-"])
        .code(0)
        .stdout_has("changed   Trace/piped");
    assert_eq!(t.take_trace(), ["APPLY piped"]);
}

#[test]
fn validate_checks_everything_and_runs_nothing() {
    let t = project();
    t.run(&["validate"])
        .code(0)
        .stdout_has("valid: 4 manifests in environment `default`");
    assert!(t.take_trace().is_empty());
    let json = t.run(&["validate", "-o", "json"]).json();
    assert_eq!(
        json["apply"],
        serde_json::json!(["base", "same", "broken", "after"])
    );
    assert_eq!(
        json["delete"],
        serde_json::json!(["same", "after", "broken", "base"])
    );
}

/// What a user sees of a bug (issue 9): ordo is made to panic on purpose through
/// `ORDO_DEBUG_PANIC`, with `RUST_BACKTRACE` set to show that no backtrace comes out anyway.
fn panicking(at: &str) -> Test {
    let yaml = [
        trace_doc("first", "", ""),
        trace_doc("buggy", "", ""),
        trace_doc("after", "dependencies: {apply: [buggy]}", ""),
        trace_doc("other", "", ""),
    ]
    .concat();
    Test::new()
        .trace()
        .manifest("m.yaml", &yaml)
        .env("ORDO_DEBUG_PANIC", at)
        .env("RUST_BACKTRACE", "1")
}

fn assert_reported_as_a_bug(stderr: &str) {
    assert!(stderr.contains("internal error in ordo"), "{stderr}");
    assert!(stderr.contains("please report it"), "{stderr}");
    for raw in [
        "panicked at",
        "stack backtrace",
        "RUST_BACKTRACE",
        "note: run with",
    ] {
        assert!(!stderr.contains(raw), "stderr shows {raw:?}:\n{stderr}");
    }
}

#[test]
fn a_panic_on_the_main_thread_asks_for_a_report_without_a_backtrace() {
    let t = panicking("main");
    let out = t.run(&["apply", "-j", "1"]);
    out.code(101);
    assert_reported_as_a_bug(&out.stderr);
    assert!(t.take_trace().is_empty(), "nothing ran");
}

#[test]
fn a_panic_in_a_worker_fails_only_that_manifest() {
    let t = panicking("manifest:buggy");
    let out = t.run(&["apply", "-j", "1", "--keep-going"]);
    out.code(1)
        .stdout_has("failed    Trace/buggy")
        .stdout_has("skipped   Trace/after  (`buggy` failed)")
        .stdout_has("changed   Trace/other");
    assert_reported_as_a_bug(&out.stderr);
    assert!(
        out.stderr
            .contains("internal error in ordo while running `buggy`"),
        "{}",
        out.stderr
    );
}
