//! `apply --rollback-on-failure` and `plan --rollback-on-failure` (DESIGN.md §14): what a
//! failed run changed is undone in the exact reverse of the order it finished (the failed
//! manifest sees `m.failed`; one whose `apply` never ran has nothing to undo); files and
//! state come back to what they were before the run (`auto`), stay (`never`), or are
//! deleted (new in the run); a failed undo stops the rollback (not the failed manifest's
//! own), and so does a lost lock; Ctrl-C starts it and a second Ctrl-C stops it; a SIGKILL during it is reported
//! by the next run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::time::{Duration, Instant};

use common::Test;
use serde_json::Value;

/// `Step`: `apply` and `delete` append `<m.action> <name>[ failed]` to `log.txt` (so a
/// re-apply logs `rollback name`), then wait while the marker file `spec.wait_<function>`
/// is missing; `apply` writes `spec.value` to `<name>.out` and throws after it (half way)
/// with `spec.fail`; `delete` removes the file, or throws with `spec.fail_delete`. Its
/// `check` compares the file with `spec.value` (`delete`: whether the file exists).
const STEP: &str = r#"
register("Step", "^1");
permissions(["file:read", "file:write"]);
fn out(m) { path::join(m.dir, m.name + ".out") }
fn log(m, what) {
    let extra = if m.failed == true { " failed" } else { "" };
    file::append(path::join(m.dir, "log.txt"), what + " " + m.name + extra + "\n");
}
fn wait(m, key) {
    let marker = m.spec[key];
    if marker != () {
        while !file::exists(path::join(m.dir, marker)) { time::sleep(0.02); }
    }
}
fn check(m) {
    if m.action == "delete" { return file::exists(out(m)); }
    !file::exists(out(m)) || file::read(out(m)) != `${m.spec.value}`
}
fn apply(m) {
    log(m, m.action);
    wait(m, "wait_apply");
    file::write(out(m), `${m.spec.value}`);
    if m.spec.fail == true { throw "failed half way"; }
    #{ value: m.spec.value }
}
fn delete(m) {
    log(m, "delete");
    wait(m, "wait_delete");
    if m.spec.fail_delete == true { throw "delete refused"; }
    file::remove(out(m));
}
"#;

/// `Undo`: like a minimal `Step`, with its own `rollback(m, prev)` that logs what it sees.
const UNDO: &str = r#"
register("Undo", "^1");
permissions(["file:read", "file:write"]);
fn out(m) { path::join(m.dir, m.name + ".out") }
fn apply(m) {
    file::append(path::join(m.dir, "log.txt"), "apply " + m.name + "\n");
    file::write(out(m), `${m.spec.value}`);
    if m.spec.fail == true { throw "failed half way"; }
}
fn rollback(m, prev) {
    let before = if prev == () { "none" } else { `${prev.spec.value}` };
    file::append(path::join(m.dir, "log.txt"),
        `undo ${m.name} action=${m.action} failed=${m.failed} prev=${before}` + "\n");
    if m.spec.rollback == "throw" { throw "cannot undo " + m.name; }
    if m.spec.rollback == "loop" { let n = 0; loop { n += 1; } }
    if prev == () { file::remove(out(m)); } else { file::write(out(m), `${prev.spec.value}`); }
}
"#;

/// `Keep`: no `delete`.
const KEEP: &str = r#"
register("Keep", "^1");
permissions(["file:write"]);
fn apply(m) { file::write(path::join(m.dir, m.name + ".out"), "x"); }
"#;

/// A manifest document of `kind` with `metadata` (flow entries, without braces) and `spec`.
fn doc(kind: &str, name: &str, metadata: &str, spec: &str) -> String {
    let extra = if metadata.is_empty() {
        String::new()
    } else {
        format!(", {metadata}")
    };
    format!("---\nkind: {kind}\nversion: v1\nmetadata: {{name: {name}{extra}}}\nspec: {{{spec}}}\n")
}

fn after(names: &str) -> String {
    format!("dependencies: {{apply: [{names}]}}")
}

fn project() -> Test {
    Test::new()
        .handler("step.rhai", STEP)
        .handler("undo.rhai", UNDO)
        .handler("keep.rhai", KEEP)
}

fn log(t: &Test) -> Vec<String> {
    t.read("log.txt").lines().map(str::to_string).collect()
}

/// The JSON lines of a `-o jsonl` run.
fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Names of the `event` events, in order.
fn names_of(events: &[Value], event: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == event)
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

fn entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

/// The state's entries for the default environment.
fn state_entries(t: &Test) -> Value {
    let state: Value = serde_json::from_str(&t.read(".ordo/state.json")).unwrap();
    state["environments"]["default"].clone()
}

/// Checks the rollback of a run whose manifests all changed (or failed) went in the exact
/// reverse of the order they finished, as the `manifest_finished` events say.
fn assert_reverse_order(t: &Test, stdout: &str, failing: &str) {
    let events = events(stdout);
    let finished = names_of(&events, "manifest_finished");
    let mut expected: Vec<String> = finished.iter().rev().cloned().collect();
    let undone = names_of(&events, "manifest_rolled_back");
    assert_eq!(undone, expected, "{stdout}");
    // The handlers did it in that order, the failed one first and told so.
    let logged: Vec<String> = log(t)
        .into_iter()
        .filter(|l| l.starts_with("delete "))
        .collect();
    for (i, name) in expected.iter_mut().enumerate() {
        *name = if i == 0 {
            format!("delete {failing} failed")
        } else {
            format!("delete {name}")
        };
    }
    assert_eq!(logged, expected, "{stdout}");
}

/// A chain `a -> b -> c -> d`, `d` failing half way.
fn chain() -> Test {
    project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc("Step", "b", &after("a"), "value: 1"),
            doc("Step", "c", &after("b"), "value: 1"),
            doc("Step", "d", &after("c"), "value: 1, fail: true"),
        ]
        .concat(),
    )
}

/// A diamond: `a`, then `b` and `c` (in parallel), then `d`, which fails half way.
fn diamond() -> Test {
    project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc("Step", "b", &after("a"), "value: 1"),
            doc("Step", "c", &after("a"), "value: 1"),
            doc("Step", "d", &after("b, c"), "value: 1, fail: true"),
        ]
        .concat(),
    )
}

#[test]
fn a_chain_is_rolled_back_in_the_exact_reverse_order_with_one_job_and_eight() {
    for jobs in ["1", "8"] {
        let t = chain();
        let out = t.run(&["apply", "--rollback-on-failure", "-j", jobs, "-o", "jsonl"]);
        out.code(1).no_panic();
        assert_reverse_order(&t, &out.stdout, "d");
        assert_eq!(
            names_of(&events(&out.stdout), "manifest_rolled_back"),
            ["d", "c", "b", "a"]
        );
        let started = events(&out.stdout)
            .into_iter()
            .find(|e| e["event"] == "rollback_started")
            .unwrap();
        assert_eq!(started["reason"], "`d` failed");
        assert_eq!(
            started["manifests"],
            serde_json::json!(["d", "c", "b", "a"])
        );
        for name in ["a", "b", "c", "d"] {
            assert!(
                !t.exists(&format!("{name}.out")),
                "{name}.out left (-j {jobs})"
            );
        }
    }
}

#[test]
fn a_diamond_is_rolled_back_in_the_exact_reverse_of_its_finishing_order() {
    for jobs in ["1", "8"] {
        let t = diamond();
        let out = t.run(&["apply", "--rollback-on-failure", "-j", jobs, "-o", "jsonl"]);
        out.code(1).no_panic();
        assert_reverse_order(&t, &out.stdout, "d");
        let undone = names_of(&events(&out.stdout), "manifest_rolled_back");
        assert_eq!(undone.first().map(String::as_str), Some("d"));
        assert_eq!(undone.last().map(String::as_str), Some("a"));
        let finished = events(&out.stdout);
        let done = finished
            .iter()
            .find(|e| e["event"] == "rollback_finished")
            .unwrap();
        assert_eq!(done["rollback"], "complete", "{}", out.stdout);
        assert_eq!(done["rolled_back"], 4);
    }
}

#[test]
fn files_and_state_come_back_to_the_pre_run_snapshot_and_new_manifests_are_deleted() {
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc("Step", "b", &after("a"), "value: 1"),
        ]
        .concat(),
    );
    t.run(&["apply"]).code(0);
    let before = state_entries(&t);
    let t = t.manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 2"),
            doc("Step", "b", &after("a"), "value: 2"),
            doc("Step", "c", &after("b"), "value: 2"),
            doc("Step", "d", &after("c"), "value: 2, fail: true"),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-j", "1", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "complete", "{report:#}");
    assert_eq!(report["ok"], false);
    assert_eq!(t.read("a.out"), "1");
    assert_eq!(t.read("b.out"), "1");
    assert!(!t.exists("c.out") && !t.exists("d.out"));
    // The state is exactly what it was: the entries of `a` and `b` as recorded then (time
    // included), nothing of `c` and `d`.
    assert_eq!(state_entries(&t), before);
    assert_eq!(
        log(&t),
        [
            "apply a",
            "apply b",
            "apply a",
            "apply b",
            "apply c",
            "apply d",
            "delete d failed",
            "delete c",
            "rollback b",
            "rollback a"
        ]
    );
    for (name, status, strategy) in [
        ("a", "rolled_back", "re-apply previous spec"),
        ("b", "rolled_back", "re-apply previous spec"),
        ("c", "rolled_back", "delete (new)"),
        ("d", "failed", "delete (new)"),
    ] {
        let e = entry(&report, name);
        assert_eq!(e["status"], status, "{name}: {e:#}");
        assert_eq!(e["rollback"]["strategy"], strategy, "{name}");
        assert_eq!(e["rollback"]["status"], "rolled_back", "{name}");
    }
    assert_eq!(entry(&report, "d")["rollback"]["failed"], true);
    // Counted as the `rollback:` line counts them, the failed manifest's undo included.
    assert_eq!(report["summary"]["rolled_back"], 4);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["changed"], 0);
    // The next plan: back where the first run left everything.
    t.run(&["plan", "--detailed-exitcode", "--only", "a", "--only", "b"])
        .code(4);
}

#[test]
fn human_output_says_what_was_undone_and_how_the_rollback_ended() {
    let t = chain();
    let out = t.run(&["apply", "--rollback-on-failure", "-j", "1"]);
    out.code(1)
        .no_panic()
        .stdout_has(
            "rollback: `d` failed; undoing 4 manifests, in the reverse of the order they finished",
        )
        .stdout_has("rolled_back     Step/d")
        .stdout_has("(delete (new); the manifest that failed)")
        .stdout_has("rollback: complete (4 rolled back)")
        .stdout_has("apply: 0 changed, 0 unchanged, 1 failed, 0 skipped, 4 rolled back");
}

#[test]
fn without_the_flag_nothing_is_undone() {
    let t = chain();
    let out = t.run(&["apply", "-j", "1", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert!(report.get("rollback").is_none(), "{report:#}");
    assert!(entry(&report, "a").get("rollback").is_none());
    assert_eq!(entry(&report, "a")["status"], "changed");
    assert!(report["summary"].get("rolled_back").is_none());
    for name in ["a", "b", "c", "d"] {
        assert!(t.exists(&format!("{name}.out")));
    }
    assert_eq!(log(&t), ["apply a", "apply b", "apply c", "apply d"]);
}

#[test]
fn never_keeps_what_the_run_did_and_new_only_undoes_only_creations() {
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Step", "kept", "rollback: never", "value: 1"),
            doc("Step", "old", "rollback: newOnly", "value: 1"),
        ]
        .concat(),
    );
    t.run(&["apply"]).code(0);
    let t = t.manifest(
        "m.yaml",
        &[
            doc("Step", "kept", "rollback: never", "value: 2"),
            doc("Step", "old", "rollback: newOnly", "value: 2"),
            doc("Step", "fresh", "rollback: newOnly", "value: 2"),
            doc(
                "Step",
                "bad",
                &after("kept, old, fresh"),
                "value: 2, fail: true",
            ),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-j", "1", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    // Kept by choice: the rollback is still complete.
    assert_eq!(report["rollback"], "complete", "{report:#}");
    for (name, status, result, strategy) in [
        ("kept", "changed", "kept", "none (metadata.rollback: never)"),
        (
            "old",
            "changed",
            "kept",
            "none (metadata.rollback: newOnly)",
        ),
        ("fresh", "rolled_back", "rolled_back", "delete (new)"),
    ] {
        let e = entry(&report, name);
        assert_eq!(e["status"], status, "{name}: {e:#}");
        assert_eq!(e["rollback"]["status"], result, "{name}");
        assert_eq!(e["rollback"]["strategy"], strategy, "{name}");
    }
    assert_eq!(t.read("kept.out"), "2");
    assert_eq!(t.read("old.out"), "2");
    assert!(!t.exists("fresh.out") && !t.exists("bad.out"));
    let state = state_entries(&t);
    assert_eq!(state["kept"]["spec"]["value"], 2, "{state:#}");
    assert_eq!(state["old"]["spec"]["value"], 2);
    assert!(state.get("fresh").is_none() && state.get("bad").is_none());
}

#[test]
fn a_handler_rollback_runs_instead_and_sees_prev_action_and_failed() {
    let t = project().manifest("m.yaml", &doc("Undo", "u", "", "value: 1"));
    t.run(&["apply"]).code(0);
    let t = t.manifest(
        "m.yaml",
        &[
            doc("Undo", "u", "", "value: 2"),
            doc("Undo", "v", &after("u"), "value: 2, fail: true"),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    assert_eq!(
        log(&t),
        [
            "apply u",
            "apply u",
            "apply v",
            "undo v action=rollback failed=true prev=none",
            "undo u action=rollback failed=false prev=1",
        ]
    );
    assert_eq!(t.read("u.out"), "1");
    assert!(!t.exists("v.out"));
    let report = out.json();
    assert_eq!(
        entry(&report, "u")["rollback"]["strategy"],
        "handler rollback()"
    );
    assert_eq!(report["rollback"], "complete");
}

#[test]
fn a_failed_undo_stops_the_rollback_and_the_rest_is_not_rolled_back() {
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc("Step", "b", &after("a"), "value: 1, fail_delete: true"),
            doc("Step", "c", &after("b"), "value: 1, fail: true"),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "failed", "{report:#}");
    assert_eq!(entry(&report, "c")["status"], "failed");
    assert_eq!(entry(&report, "c")["rollback"]["status"], "rolled_back");
    let b = entry(&report, "b");
    assert_eq!(b["status"], "rollback_failed");
    assert!(
        b["rollback"]["error"]
            .as_str()
            .unwrap()
            .contains("delete refused"),
        "{b:#}"
    );
    let a = entry(&report, "a");
    assert_eq!(a["status"], "not_rolled_back");
    assert_eq!(
        a["rollback"]["reason"],
        "the rollback stopped: undoing `b` failed"
    );
    assert_eq!(report["summary"]["rollback_failed"], 1);
    assert_eq!(report["summary"]["not_rolled_back"], 1);
    // `a` was never touched by the rollback; what it and `b` did stays, and is recorded.
    assert_eq!(
        log(&t),
        [
            "apply a",
            "apply b",
            "apply c",
            "delete c failed",
            "delete b"
        ]
    );
    assert!(t.exists("a.out") && t.exists("b.out") && !t.exists("c.out"));
    let state = state_entries(&t);
    assert!(state.get("a").is_some() && state.get("b").is_some() && state.get("c").is_none());
    // Human: the recap says it failed, and where.
    let t2 = project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc("Step", "b", &after("a"), "value: 1, fail_delete: true"),
            doc("Step", "c", &after("b"), "value: 1, fail: true"),
        ]
        .concat(),
    );
    t2.run(&["apply", "--rollback-on-failure"])
        .code(1)
        .stdout_has("rollback_failed Step/b")
        .stdout_has("not_rolled_back Step/a  (delete (new); the rollback stopped: undoing `b` failed)")
        .stdout_has("rollback: failed (1 rolled back, 1 failed, 1 not rolled back); stopped: undoing `b` failed")
        .stderr_has("delete refused");
}

#[test]
fn a_rollback_that_throws_or_never_ends_fails_and_stops() {
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Undo", "a", "", "value: 1"),
            doc(
                "Undo",
                "b",
                &format!("{}, timeout: 1", after("a")),
                "value: 1, rollback: loop",
            ),
            doc(
                "Undo",
                "c",
                &after("b"),
                "value: 1, fail: true, rollback: throw",
            ),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    let c = entry(&report, "c");
    assert_eq!(c["status"], "failed");
    assert_eq!(c["rollback"]["status"], "rollback_failed", "{c:#}");
    assert!(
        c["rollback"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot undo c")
    );
    // The failed manifest's own failed undo does not stop the rollback (NU-F6): `b` is
    // undone next, and its failed undo stops it.
    assert_eq!(entry(&report, "b")["status"], "rollback_failed");
    assert_eq!(entry(&report, "a")["status"], "not_rolled_back");
    assert_eq!(report["rollback"], "failed");

    // The endless one: its timeout ends it.
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Undo", "a", "", "value: 1"),
            doc(
                "Undo",
                "b",
                &format!("{}, timeout: 1", after("a")),
                "value: 1, rollback: loop",
            ),
            doc("Undo", "c", &after("b"), "value: 1, fail: true"),
        ]
        .concat(),
    );
    let started = Instant::now();
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    assert!(started.elapsed() < Duration::from_secs(30));
    out.code(1).no_panic();
    let report = out.json();
    let b = entry(&report, "b");
    assert_eq!(b["status"], "rollback_failed", "{b:#}");
    let error = b["rollback"]["error"].as_str().unwrap();
    assert!(error.contains("1 s") || error.contains("time"), "{error}");
    assert_eq!(entry(&report, "a")["status"], "not_rolled_back");
    assert_eq!(entry(&report, "c")["rollback"]["status"], "rolled_back");
}

#[test]
fn a_new_manifest_without_delete_is_not_rolled_back_and_the_rollback_is_partial() {
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Keep", "k", "", ""),
            doc("Step", "s", &after("k"), "value: 1"),
            doc("Step", "f", &after("s"), "value: 1, fail: true"),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "partial", "{report:#}");
    let k = entry(&report, "k");
    assert_eq!(k["status"], "not_rolled_back");
    assert_eq!(k["rollback"]["strategy"], "impossible (no delete)");
    assert_eq!(entry(&report, "s")["status"], "rolled_back");
    assert!(t.exists("k.out") && !t.exists("s.out"));
    // What could not be undone stays recorded.
    assert!(state_entries(&t).get("k").is_some());
}

#[test]
fn plan_shows_how_each_pending_manifest_would_be_undone() {
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Step", "again", "", "value: 1"),
            doc("Step", "same", "", "value: 1"),
        ]
        .concat(),
    );
    t.run(&["apply"]).code(0);
    let t = t.manifest(
        "m.yaml",
        &[
            doc("Step", "again", "", "value: 2"),
            doc("Step", "same", "", "value: 1"),
            doc("Step", "fresh", "", "value: 1"),
            doc("Undo", "own", "", "value: 1"),
            doc("Step", "pinned", "rollback: never", "value: 1"),
            doc("Keep", "stuck", "", ""),
        ]
        .concat(),
    );
    let out = t.run(&["plan", "--rollback-on-failure", "-j", "1"]);
    out.code(0)
        .no_panic()
        .stdout_has("pending   Step/again  (spec changed since the last apply)  rollback: re-apply previous spec")
        .stdout_has("pending   Step/fresh  (new)  rollback: delete (new)")
        .stdout_has("pending   Undo/own  (no `check`: `apply` always runs)  rollback: handler rollback()")
        .stdout_has("pending   Step/pinned  (new)  rollback: none (metadata.rollback: never)")
        .stdout_has("pending   Keep/stuck  (no `check`: `apply` always runs)  rollback: impossible (no delete)");
    assert!(
        !out.stdout.contains("Step/same  rollback"),
        "{}",
        out.stdout
    );
    let report = t
        .run(&["plan", "--rollback-on-failure", "-o", "json"])
        .json();
    for (name, strategy) in [
        ("again", Value::from("re-apply previous spec")),
        ("same", Value::Null),
        ("fresh", Value::from("delete (new)")),
        ("own", Value::from("handler rollback()")),
        ("pinned", Value::from("none (metadata.rollback: never)")),
        ("stuck", Value::from("impossible (no delete)")),
    ] {
        assert_eq!(entry(&report, name)["rollback"], strategy, "{name}");
    }
    let lines = events(
        &t.run(&["plan", "--rollback-on-failure", "-j", "1", "-o", "jsonl"])
            .stdout,
    );
    let planned: Vec<&Value> = lines
        .iter()
        .filter(|e| e["event"] == "rollback_planned")
        .collect();
    assert_eq!(planned.len(), 5, "{lines:?}");
    assert_eq!(planned[0]["strategy"], "re-apply previous spec");
    // Nothing ran, nothing changed.
    assert_eq!(t.read("again.out"), "1");
    assert!(!t.exists("fresh.out"));
    // Without the flag, plan says nothing about it.
    let plain = t.run(&["plan", "-o", "json"]).json();
    assert!(entry(&plain, "again").get("rollback").is_none());
    let human = t.run(&["plan"]);
    assert!(!human.stdout.contains("rollback:"), "{}", human.stdout);
}

#[test]
fn metadata_rollback_is_checked_when_loading() {
    let t = project().manifest("m.yaml", &doc("Step", "a", "rollback: nevr", "value: 1"));
    t.run(&["apply", "--rollback-on-failure"])
        .code(3)
        .stderr_has("`metadata.rollback` must be `auto`, `newOnly` or `never`, not `nevr`; did you mean `never`?")
        .stderr_has("m.yaml:4:");
    assert!(!t.exists("a.out"));
    let t = project().manifest("m.yaml", &doc("Step", "a", "rollback: [auto]", "value: 1"));
    t.run(&["validate"])
        .code(3)
        .stderr_has("`metadata.rollback` must be `auto`, `newOnly` or `never`, not a sequence");
    let t = project().manifest("m.yaml", &doc("Step", "a", "rollback: newonly", "value: 1"));
    t.run(&["validate"])
        .code(3)
        .stderr_has("did you mean `newOnly`?");
}

#[test]
fn a_rollback_function_must_take_two_parameters() {
    let bad = "register(\"Bad\", \"^1\");\nfn apply(m) {}\nfn rollback(m) {}\n";
    let t = Test::new()
        .handler("bad.rhai", bad)
        .manifest("m.yaml", &doc("Bad", "a", "", ""));
    t.run(&["validate"])
        .code(3)
        .stderr_has("`fn rollback` must take exactly two parameters")
        .stderr_has("bad.rhai:3:1");
    t.run(&["lint"])
        .code(3)
        .stderr_has("`fn rollback` must take exactly two parameters");
}

#[test]
fn rollback_on_failure_does_not_mix_with_keep_going() {
    let t = chain();
    t.run(&["apply", "--rollback-on-failure", "--keep-going"])
        .code(2)
        .stderr_has("--keep-going");
    t.run(&["delete", "--rollback-on-failure"]).code(2);
    t.run(&["plan", "--rollback-on-failure", "--delete"])
        .code(2);
    assert!(!t.exists("log.txt"));
}

/// Starts `ordo`, waits until `ready` holds (at most 20 s), sends `signal`.
fn signal_when(t: &Test, child: &std::process::Child, signal: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ready(), "never ready; log: {:?}", log(t));
    std::thread::sleep(Duration::from_millis(100));
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
}

#[test]
fn ctrl_c_during_apply_starts_the_rollback() {
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc(
                "Step",
                "b",
                &after("a"),
                "value: 1, wait_apply: never-there",
            ),
            doc("Step", "c", &after("b"), "value: 1"),
        ]
        .concat(),
    );
    let child = t.spawn(&["apply", "--rollback-on-failure", "-o", "json"]);
    signal_when(&t, &child, "-INT", || {
        log(&t).contains(&"apply b".to_string())
    });
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "complete", "{report:#}");
    assert_eq!(entry(&report, "b")["status"], "interrupted");
    assert_eq!(entry(&report, "b")["rollback"]["status"], "rolled_back");
    assert_eq!(entry(&report, "a")["status"], "rolled_back");
    assert_eq!(entry(&report, "c")["status"], "skipped");
    // `b` was cut before it wrote: its delete found nothing (check), `a` was deleted.
    assert_eq!(log(&t), ["apply a", "apply b", "delete a"]);
    assert!(!t.exists("a.out"));
    assert_eq!(state_entries(&t), Value::Null);
    assert!(
        out.stderr
            .contains("then rolling back what this run changed"),
        "{}",
        out.stderr
    );
}

/// A chain `a -> b -> c`, `c` failing, `b`'s delete waiting on a marker that never comes.
fn stuck_rollback() -> Test {
    project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc(
                "Step",
                "b",
                &after("a"),
                "value: 1, wait_delete: never-there",
            ),
            doc("Step", "c", &after("b"), "value: 1, fail: true"),
        ]
        .concat(),
    )
}

#[test]
fn ctrl_c_during_the_rollback_stops_it_where_it_is() {
    let t = stuck_rollback();
    let child = t.spawn(&["apply", "--rollback-on-failure", "-o", "json"]);
    signal_when(&t, &child, "-INT", || {
        log(&t).contains(&"delete b".to_string())
    });
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "partial", "{report:#}");
    assert_eq!(entry(&report, "c")["rollback"]["status"], "rolled_back");
    assert_eq!(entry(&report, "b")["status"], "not_rolled_back");
    assert_eq!(entry(&report, "a")["status"], "not_rolled_back");
    assert_eq!(
        entry(&report, "a")["rollback"]["reason"],
        "the rollback stopped: interrupted while undoing `b`"
    );
    assert!(
        out.stderr.contains("stopping the rollback where it is"),
        "{}",
        out.stderr
    );
    // Recorded: `c` is gone from the state, `a` and `b` stay as this run applied them.
    let state = state_entries(&t);
    assert!(state.get("c").is_none() && state.get("a").is_some() && state.get("b").is_some());
    assert!(!t.exists(".ordo/state.json.rollback"));
    assert_eq!(
        log(&t),
        [
            "apply a",
            "apply b",
            "apply c",
            "delete c failed",
            "delete b"
        ]
    );
}

#[test]
fn a_rollback_killed_half_way_is_reported_by_the_next_run() {
    let t = stuck_rollback();
    let child = t.spawn(&["apply", "--rollback-on-failure"]);
    signal_when(&t, &child, "-KILL", || {
        log(&t).contains(&"delete b".to_string())
    });
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    assert_eq!(out.code, -1, "killed");
    assert!(t.exists(".ordo/state.json.rollback"));
    // The next run says where the rollback stopped, once.
    let t = t.manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc("Step", "b", &after("a"), "value: 1"),
        ]
        .concat(),
    );
    // `plan` reports it too, and leaves it for the run that takes the lock (A-F13).
    t.run(&["plan"])
        .no_panic()
        .stderr_has("was killed during its rollback, started ");
    assert!(t.exists(".ordo/state.json.rollback"));
    let next = t.run(&["apply"]);
    next.code(0)
        .no_panic()
        .stderr_has("was killed during its rollback, started ");
    next.stderr_has(" while undoing `b`; rolled back: `c`; never reached: `b`, `a`; the state records each as it is now");
    // The state journal folded in what the rollback had done: `c` is no longer recorded.
    let state = state_entries(&t);
    assert!(state.get("c").is_none(), "{state:#}");
    assert!(!t.exists(".ordo/state.json.rollback"));
    t.run(&["apply"]).code(0).stderr_lacks("rollback");
}

/// `Cred`: writes `user:pw` to `<name>.out`, and logs what it wrote.
const CRED: &str = r#"
register("Cred", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) {
    let text = m.spec.user + ":" + m.spec.pw;
    file::write(path::join(m.dir, m.name + ".out"), text);
    file::append(path::join(m.dir, "log.txt"), m.action + " " + m.name + " " + text + "\n");
}
"#;

const SECRET: &str = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: real-sec-4711, secret: true}\n";

#[test]
fn a_secret_in_the_previous_spec_is_re_applied_with_its_real_value_never_the_mask() {
    let t = project()
        .handler("cred.rhai", CRED)
        .file("values.yaml", SECRET)
        .manifest(
            "m.yaml",
            &doc("Cred", "db", "", "user: alice, pw: !Value pw"),
        );
    t.run(&["apply", "-f", "values.yaml"]).code(0);
    assert!(
        t.read(".ordo/state.json").contains("***"),
        "masked in the state"
    );
    let t = t.manifest(
        "m.yaml",
        &[
            doc("Cred", "db", "", "user: bob, pw: !Value pw"),
            doc("Step", "bad", &after("db"), "value: 1, fail: true"),
        ]
        .concat(),
    );
    let plan = t.run(&["plan", "-f", "values.yaml", "--rollback-on-failure"]);
    plan.code(0).stdout_has(
        "pending   Cred/db  (no `check`: `apply` always runs)  rollback: re-apply previous spec",
    );
    let out = t.run(&[
        "apply",
        "-f",
        "values.yaml",
        "--rollback-on-failure",
        "-o",
        "json",
    ]);
    out.code(1).no_panic();
    assert_eq!(out.json()["rollback"], "complete", "{}", out.stdout);
    // The previous spec (alice), with the secret resolved again from the values.
    assert_eq!(t.read("db.out"), "alice:real-sec-4711");
    assert_eq!(
        log(&t),
        [
            "apply db alice:real-sec-4711",
            "apply db bob:real-sec-4711",
            "apply bad",
            "delete bad failed",
            "rollback db alice:real-sec-4711",
        ]
    );
    assert!(!out.stdout.contains("real-sec-4711"), "{}", out.stdout);
    assert!(!t.read(".ordo/state.json").contains("real-sec-4711"));

    // Its source gone: the previous spec cannot be rebuilt, and nothing is re-applied
    // with `***`.
    let t2 = project()
        .handler("cred.rhai", CRED)
        .file("values.yaml", SECRET)
        .manifest(
            "m.yaml",
            &doc("Cred", "db", "", "user: alice, pw: !Value pw"),
        );
    t2.run(&["apply", "-f", "values.yaml"]).code(0);
    let t2 = t2.manifest(
        "m.yaml",
        &[
            doc("Cred", "db", "", "user: bob, pw: literal"),
            doc("Step", "bad", &after("db"), "value: 1, fail: true"),
        ]
        .concat(),
    );
    // No values file now: the `!Value pw` it came from cannot be resolved.
    std::fs::remove_file(t2.path().join("values.yaml")).unwrap();
    let out = t2.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    let db = entry(&out.json(), "db").clone();
    assert_eq!(db["status"], "not_rolled_back", "{db:#}");
    assert!(
        db["rollback"]["strategy"]
            .as_str()
            .unwrap()
            .starts_with("impossible (previous spec unknown: `spec.pw` held secret text"),
        "{db:#}"
    );
    assert_eq!(t2.read("db.out"), "bob:literal");
    assert!(!t2.read("log.txt").contains("***"));
}

/// `Hosted`: appends `<m.action> <name>@<host>` to `log.txt` of the project (the simulated
/// hosts are this machine), fails where `spec.fail_on` names the host, waits (on the host)
/// while the file `spec.wait` is missing.
const HOSTED: &str = r#"
register("Hosted", "^1");
permissions(["file:read", "file:write"]);
fn log(m, what) { file::append(path::join(m.dir, "log.txt"), what + " " + m.name + "@" + m.host.name + "\n"); }
fn apply(m) {
    log(m, m.action);
    if m.spec.fail_on == m.host.name { throw "failure requested on " + m.host.name; }
    if m.spec.wait != () {
        while !file::exists(path::join(m.dir, m.spec.wait)) { time::sleep(0.05); }
    }
}
fn delete(m) { log(m, "delete"); }
"#;

/// An inventory of the lab's hosts, all in group `web`.
fn inventory(lab: &common::sshd::Lab, hosts: &[&common::sshd::Sshd]) -> String {
    let mut doc =
        String::from("kind: Inventory\nversion: v1\nmetadata: {name: lab}\nspec:\n  hosts:\n");
    for h in hosts {
        let reach = lab.reach(h);
        let options: Vec<String> = reach
            .ssh_options
            .iter()
            .map(|o| format!("\"{}\"", o.replace('"', "\\\"")))
            .collect();
        doc.push_str(&format!(
            "    {}: {{address: {}, port: {}, identityFile: \"{}\", sshOptions: [{}]}}\n",
            h.name,
            reach.address,
            reach.port,
            reach.identity_file.display(),
            options.join(", ")
        ));
    }
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    doc.push_str(&format!(
        "  groups:\n    web: {{hosts: [{}]}}\n",
        names.join(", ")
    ));
    doc
}

#[test]
fn instances_are_rolled_back_one_by_one_and_serial_keeps_the_batches_that_succeeded() {
    let Some(lab) = common::sshd::Lab::new() else {
        return;
    };
    let hosts: Vec<common::sshd::Sshd> = (1..=3).map(|i| lab.host(&format!("h{i}"), 10)).collect();
    let refs: Vec<&common::sshd::Sshd> = hosts.iter().collect();

    // Without `serial`: a failed instance stops the run (not only its host), and every
    // instance this run changed is undone on its host, in reverse finishing order.
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &refs[..2]))
        .manifest(
            "m.yaml",
            &[
                doc("Hosted", "pkg", "hosts: [web]", ""),
                doc(
                    "Hosted",
                    "svc",
                    &format!("hosts: [web], {}", after("pkg")),
                    "fail_on: h2",
                ),
            ]
            .concat(),
        );
    let out = t.run(&["apply", "--rollback-on-failure", "-j", "1", "-o", "jsonl"]);
    out.code(1).no_panic();
    let events = events(&out.stdout);
    let finished = names_of(&events, "manifest_finished");
    assert_eq!(finished, ["pkg@h1", "pkg@h2", "svc@h1", "svc@h2"]);
    assert_eq!(
        names_of(&events, "manifest_rolled_back"),
        ["svc@h2", "svc@h1", "pkg@h2", "pkg@h1"]
    );
    assert_eq!(
        log(&t)[4..],
        [
            "delete svc@h2",
            "delete svc@h1",
            "delete pkg@h2",
            "delete pkg@h1"
        ]
    );
    assert_eq!(state_entries(&t), Value::Null, "every instance was new");

    // `serial: 1`: the batch of `svc` on h1 succeeded and stays, with `pkg@h1` under it;
    // the failed batch (h2) and what ran after it are undone.
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &refs))
        .manifest(
            "m.yaml",
            &[
                doc("Hosted", "pkg", "hosts: [web]", ""),
                doc(
                    "Hosted",
                    "svc",
                    &format!("hosts: [web], serial: 1, {}", after("pkg")),
                    "fail_on: h2",
                ),
            ]
            .concat(),
        );
    let out = t.run(&["apply", "--rollback-on-failure", "-j", "1", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "complete", "{report:#}");
    let deletes: Vec<String> = log(&t)
        .into_iter()
        .filter(|l| l.starts_with("delete"))
        .collect();
    assert_eq!(deletes, ["delete svc@h2", "delete pkg@h3", "delete pkg@h2"]);
    for (name, status, undo) in [
        (
            "svc@h1",
            "changed",
            "none (an earlier serial batch of `svc`)",
        ),
        (
            "pkg@h1",
            "changed",
            "none (an earlier serial batch of `svc` depends on it)",
        ),
        ("pkg@h2", "rolled_back", "delete (new)"),
        ("svc@h2", "failed", "delete (new)"),
    ] {
        let e = entry(&report, name);
        assert_eq!(e["status"], status, "{name}: {e:#}");
        assert_eq!(e["rollback"]["strategy"], undo, "{name}");
    }
    let state = state_entries(&t);
    let mut kept: Vec<&String> = state.as_object().unwrap().keys().collect();
    kept.sort();
    assert_eq!(kept, ["pkg@h1", "svc@h1"]);
}

#[test]
fn ctrl_c_during_apply_on_a_host_rolls_back_on_that_host() {
    let Some(lab) = common::sshd::Lab::new() else {
        return;
    };
    let h1 = lab.host("h1", 10);
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1]))
        .manifest(
            "m.yaml",
            &[
                doc("Hosted", "pkg", "hosts: [web]", ""),
                doc(
                    "Hosted",
                    "svc",
                    &format!("hosts: [web], {}", after("pkg")),
                    "wait: never-there",
                ),
            ]
            .concat(),
        );
    let child = t.spawn(&["apply", "--rollback-on-failure", "-o", "json"]);
    signal_when(&t, &child, "-INT", || {
        log(&t).contains(&"apply svc@h1".to_string())
    });
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "complete", "{report:#}\n{}", out.stderr);
    assert_eq!(entry(&report, "svc@h1")["status"], "interrupted");
    assert_eq!(entry(&report, "pkg@h1")["status"], "rolled_back");
    // After the interrupt, the host is reached again for the undo.
    assert_eq!(
        log(&t),
        [
            "apply pkg@h1",
            "apply svc@h1",
            "delete svc@h1",
            "delete pkg@h1"
        ]
    );
}

/// A project writing `spec.data` to `out/cfg.txt` with a secret `pw` (and a plain `port`)
/// in it, and a second manifest after it that fails when `badpath` is unwritable.
fn secret_project() -> Test {
    Test::new()
        .manifest(
            "values.yaml",
            "kind: Values\nversion: v1\nmetadata: {name: settings}\nspec:\n  values:\n  - {valueName: pw, defaultValue: hunter2secret, secret: true}\n  - {valueName: port, defaultValue: 5432}\n  - {valueName: badpath, defaultValue: out/ok.txt}\n",
        )
        .manifest(
            "m.yaml",
            "kind: WriteFile\nversion: v1\nmetadata: {name: cfg}\nspec: {targetFile: out/cfg.txt, data: !Sub \"url=postgres://app:${pw}@db:${port}/app\"}\n---\nkind: WriteFile\nversion: v1\nmetadata: {name: bad, dependencies: {apply: [cfg]}}\nspec: {targetFile: !Value badpath, data: \"x\"}\n",
        )
}

#[test]
fn a_reapply_whose_secret_resolves_differently_is_not_rolled_back_and_the_state_stays_honest() {
    let t = secret_project();
    t.run(&["apply"]).code(0);
    assert_eq!(
        t.read("out/cfg.txt"),
        "url=postgres://app:hunter2secret@db:5432/app"
    );
    // A `!Sub` mixing the secret with a value that changed (A-F16), and a rotated secret
    // (NU-F8): re-applying "the previous spec" would re-apply this run's values.
    for set in ["port=6543", "pw=rotated-secret-2"] {
        let plan = t.run(&[
            "plan",
            "--rollback-on-failure",
            "--set",
            set,
            "--set",
            "badpath=/proc/nope/x",
        ]);
        plan.stdout_has("spec.data` (from `!Sub")
            .stdout_has("held secret text that now resolves differently from when revision");
        let out = t.run(&[
            "apply",
            "--rollback-on-failure",
            "--set",
            set,
            "--set",
            "badpath=/proc/nope/x",
            "-o",
            "json",
        ]);
        out.code(1);
        let json = out.json();
        let cfg = json["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "cfg")
            .unwrap_or_else(|| panic!("{json}"));
        assert_eq!(cfg["status"], "not_rolled_back", "{json}");
        let reason = cfg["reason"].as_str().unwrap_or_default().to_string()
            + cfg["rollback"].as_str().unwrap_or_default();
        assert!(
            json.to_string()
                .contains("impossible (`spec.data` (from `!Sub"),
            "{json}"
        );
        assert!(!json.to_string().contains("rotated-secret-2"), "{reason}");
        // The state records what is there (this run's spec), not the old hash: the files
        // with this run's values show no change, and `verify`-like planning is clean.
        t.run(&["plan", "--set", set, "--only", "cfg", "-o", "json"])
            .code(0)
            .stdout_has("\"unchanged\"");
        // Back to the first values for the next case.
        t.run(&["apply"]).code(0);
    }
    assert!(!t.read(".ordo/state.json").contains("hunter2secret"));
}

#[test]
fn ordo_rollback_refuses_a_revision_whose_secret_now_resolves_differently() {
    let t = secret_project();
    t.run(&["apply"]).code(0);
    t.run(&["apply", "--set", "pw=rotated-secret-2"]).code(0);
    assert_eq!(
        t.read("out/cfg.txt"),
        "url=postgres://app:rotated-secret-2@db:5432/app"
    );
    let out = t.run(&["rollback", "cfg", "--set", "pw=rotated-secret-2"]);
    out.code(3)
        .stderr_has("cannot re-apply `cfg` (revision 1): `spec.data` (from `!Sub \"url=postgres://app:${pw}@db:${port}/app\"`) held secret text that now resolves differently from when revision 1 was applied")
        .stderr_has("`-f FILE`, `--set NAME=VALUE`")
        .stderr_lacks("rotated-secret-2");
    assert_eq!(
        t.read("out/cfg.txt"),
        "url=postgres://app:rotated-secret-2@db:5432/app"
    );
    // With the old secret given back, revision 1 is applied again.
    t.run(&["rollback", "cfg"]).code(0).stdout_has("changed");
    assert_eq!(
        t.read("out/cfg.txt"),
        "url=postgres://app:hunter2secret@db:5432/app"
    );
}

#[test]
fn a_state_file_cannot_inject_a_source_into_a_reapplied_spec() {
    use std::io::{BufRead, Write};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            log.lock().unwrap().push(line);
            let mut stream = stream;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let probe = |path: &str| {
        format!(
            "kind: WebsiteUpTest\nversion: v1\nmetadata: {{name: probe}}\nspec: {{url: \"http://{addr}/{path}\", acceptableResponseCodes: [200, 404]}}\n"
        )
    };
    let t = Test::new()
        .manifest("m.yaml", &probe("v1"))
        .env("MY_CLOUD_TOKEN", "tok-EXFIL-456");
    t.run(&["apply"]).code(0);
    std::fs::write(t.path().join("m.yaml"), probe("v2")).unwrap();
    t.run(&["apply"]).code(0);
    let tag = format!("!Sub [\"http://{addr}/leak?k=${{a}}\", {{a: !Env \"MY_CLOUD_TOKEN\"}}]");
    // A source on a path never masked; then the same with the path listed as masked too.
    for masked in [false, true] {
        let mut s: Value = serde_json::from_str(&t.read(".ordo/state.json")).unwrap();
        let h = s["environments"]["default"]["probe"]["history"]
            .as_array_mut()
            .and_then(|h| h.last_mut())
            .unwrap();
        h["sources"] = serde_json::json!([{"path": "spec.url", "tag": tag}]);
        if masked {
            h["masked"] = serde_json::json!(["spec.url"]);
        }
        std::fs::write(t.path().join(".ordo/state.json"), s.to_string()).unwrap();
        let out = t.run(&["rollback", "probe"]);
        out.code(3).stderr_has("cannot re-apply `probe` (revision");
        if masked {
            out.stderr_has("held secret text that now resolves differently");
        } else {
            out.stderr_has("state.json records a source for it, but no masked value");
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter()
            .all(|l| !l.contains("EXFIL") && !l.contains("leak")),
        "{seen:?}"
    );
    assert!(seen.iter().any(|l| l.contains("/v2")), "{seen:?}");
}

/// `Rec`: `check` says whether `data-<name>.txt` is missing (`delete`: whether it exists),
/// and throws with `spec.broken`; `apply` writes it, `delete` removes it, `rollback` (only
/// with `spec.own_rollback`, in the `RecUndo` copy) logs; `verify` passes with `spec.up`.
const REC: &str = r#"
register("Rec", "^1");
permissions(["file:read", "file:write"]);
fn data(m) { path::join(m.dir, "data-" + m.name + ".txt") }
fn check(m) {
    if m.spec.broken == true { throw "check cannot reach the service"; }
    if m.action == "delete" { return file::exists(data(m)); }
    !file::exists(data(m))
}
fn apply(m) { file::write(data(m), "fresh"); #{ x: 1 } }
fn delete(m) { file::remove(data(m)); }
fn verify(m) { m.spec.up == true }
"#;

/// `RecUndo`: `Rec` with a `rollback(m, prev)` that logs it ran.
const REC_UNDO: &str = r#"
register("RecUndo", "^1");
permissions(["file:read", "file:write"]);
fn data(m) { path::join(m.dir, "data-" + m.name + ".txt") }
fn check(m) { !file::exists(data(m)) }
fn apply(m) { file::write(data(m), "fresh"); }
fn rollback(m, prev) { file::append(path::join(m.dir, "log.txt"), "rollback " + m.name + "\n"); }
fn verify(m) { m.spec.up == true }
"#;

fn rec_project() -> Test {
    project()
        .handler("rec.rhai", REC)
        .handler("recundo.rhai", REC_UNDO)
}

#[test]
fn a_manifest_whose_apply_did_not_run_because_only_verify_failed_is_not_deleted() {
    // A-F10: `check` says the data is there, `apply` never runs, `verify` fails: the
    // rollback must not delete what existed before the run.
    let t = rec_project()
        .manifest("m.yaml", &doc("Rec", "db", "", "up: false"))
        .file("data-db.txt", "precious production data");
    let out = t.run(&["apply", "--verify", "--rollback-on-failure"]);
    out.code(1)
        .no_panic()
        .stdout_has("failed          Rec/db  (nothing to undo (apply did not run); the manifest that failed)")
        .stdout_has("rollback: `db` failed; nothing to undo");
    assert_eq!(t.read("data-db.txt"), "precious production data");
    let out = t.run(&["apply", "--verify", "--rollback-on-failure", "-o", "json"]);
    out.code(1);
    let report = out.json();
    let db = entry(&report, "db");
    assert_eq!(db["status"], "failed", "{db:#}");
    assert_eq!(
        db["rollback"]["strategy"],
        "nothing to undo (apply did not run)"
    );
    assert_eq!(report["rollback"], "complete");
    assert_eq!(t.read("data-db.txt"), "precious production data");
}

#[test]
fn a_handler_rollback_is_not_called_when_only_verify_failed() {
    // NU-F17: `check` found nothing to do, `verify` failed: `fn rollback` must not run.
    let t = rec_project()
        .manifest("m.yaml", &doc("RecUndo", "svc", "", "up: false"))
        .file("data-svc.txt", "running");
    t.run(&["apply", "--verify", "--rollback-on-failure"])
        .code(1)
        .no_panic()
        .stdout_has("nothing to undo (apply did not run)");
    assert!(!t.exists("log.txt"), "{:?}", log(&t));
}

#[test]
fn a_manifest_that_failed_before_its_apply_does_not_block_the_undo_of_the_others() {
    // A-F1: `b` fails on a missing variable (its handler never runs); `a`, created by the
    // run, is still deleted.
    let t = rec_project().manifest(
        "m.yaml",
        &[
            doc("Rec", "a", "", "up: true"),
            doc("Rec", "b", &after("a"), "y: !Variable a.missing"),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "complete", "{report:#}");
    assert_eq!(entry(&report, "a")["status"], "rolled_back");
    assert_eq!(
        entry(&report, "b")["rollback"]["strategy"],
        "nothing to undo (apply did not run)"
    );
    assert!(!t.exists("data-a.txt"));
    assert!(state_entries(&t).get("a").is_none());

    // The same with a `check` that throws (A-F1 addendum).
    let t = rec_project().manifest(
        "m.yaml",
        &[
            doc("Rec", "a", "", ""),
            doc("Rec", "b", &after("a"), "broken: true"),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(report["rollback"], "complete", "{report:#}");
    assert_eq!(entry(&report, "a")["status"], "rolled_back");
    assert_eq!(entry(&report, "b")["status"], "failed");
    assert!(!t.exists("data-a.txt"));
}

/// `Probe`: `apply` throws unless `a.out` holds `spec.expect`.
const PROBE: &str = r#"
register("Probe", "^1");
permissions(["file:read"]);
fn apply(m) {
    let got = file::read(path::join(m.dir, "a.out"));
    if got != `${m.spec.expect}` { throw `expected ${m.spec.expect}, found ${got}`; }
}
"#;

#[test]
fn a_failed_undo_of_the_failed_manifest_itself_does_not_stop_the_rollback() {
    // NU-F6: the probe's undo (its previous spec) fails while `a` is still new; `a` is
    // rolled back all the same.
    let files = |a: u32, expect: u32| {
        [
            doc("Step", "a", "", &format!("value: {a}")),
            doc("Probe", "probe", &after("a"), &format!("expect: {expect}")),
        ]
        .concat()
    };
    let t = project()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &files(1, 1));
    t.run(&["apply"]).code(0);
    let t = t.manifest("m.yaml", &files(2, 3));
    let out = t.run(&["apply", "--rollback-on-failure", "-j", "1"]);
    out.code(1)
        .no_panic()
        .stdout_has("rollback_failed Probe/probe")
        .stdout_has("(re-apply previous spec; the manifest that failed)")
        .stdout_has("rolled_back     Step/a")
        .stdout_has("rollback: failed (1 rolled back, 1 failed)");
    assert_eq!(t.read("a.out"), "1");
    let out = t.run(&["apply", "--rollback-on-failure", "-j", "1", "-o", "json"]);
    let report = out.json();
    assert_eq!(entry(&report, "a")["status"], "rolled_back");
    assert_eq!(
        entry(&report, "probe")["rollback"]["status"],
        "rollback_failed"
    );
}

#[test]
fn rollback_on_failure_is_refused_without_a_state() {
    // A-F3: without the state everything would look new and be deleted.
    let t = chain().file("a.out", "precious");
    for command in ["apply", "plan"] {
        t.run(&[command, "--no-state", "--rollback-on-failure"])
            .code(2)
            .stderr_has("--rollback-on-failure cannot be used with --no-state")
            .stderr_has("every manifest would look new");
    }
    assert_eq!(t.read("a.out"), "precious");
    assert!(!t.exists("log.txt"));
}

#[test]
fn the_rollback_stops_when_the_state_lock_is_lost() {
    // A-F12: the lock is removed (`state unlock --force`) while `b` is being undone: `a`
    // is not undone any more.
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc("Step", "b", &after("a"), "value: 1, wait_delete: go"),
            doc("Step", "c", &after("b"), "value: 1, fail: true"),
        ]
        .concat(),
    );
    let child = t.spawn(&["apply", "--rollback-on-failure", "-j", "1", "-o", "json"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log(&t).contains(&"delete b".to_string()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    t.run(&["state", "unlock", "--force"]).code(0);
    std::fs::write(t.path().join("go"), "").unwrap();
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.no_panic();
    let report = out.json();
    let a = entry(&report, "a");
    assert_eq!(a["status"], "not_rolled_back", "{report:#}");
    assert!(
        a["rollback"]["reason"]
            .as_str()
            .unwrap()
            .contains("the state lock was lost"),
        "{a:#}"
    );
    assert!(t.exists("a.out"));
    assert!(!log(&t).contains(&"delete a".to_string()));
}

#[test]
fn the_json_summary_always_has_the_rollback_counts_once_a_rollback_ran() {
    // NU-F2/F2b/F20: only the failed manifest undone; the counts are there and agree
    // with the `rollback:` line.
    let t = project().manifest("m.yaml", &doc("Step", "d", "", "value: 1, fail: true"));
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1);
    let report = out.json();
    let summary = &report["summary"];
    assert_eq!(summary["rolled_back"], 1, "{summary:#}");
    assert_eq!(summary["rollback_failed"], 0);
    assert_eq!(summary["not_rolled_back"], 0);
    assert_eq!(summary["kept"], 0);
    let out = t.run(&["apply", "--rollback-on-failure"]);
    out.stdout_has("rollback: complete (1 rolled back)")
        .stdout_has("1 failed, 0 skipped, 1 rolled back in");
    // Nothing to undo at all: still reported, all zero.
    let t = rec_project()
        .manifest("m.yaml", &doc("Rec", "db", "", "up: false"))
        .file("data-db.txt", "x");
    let report = t
        .run(&["apply", "--verify", "--rollback-on-failure", "-o", "json"])
        .json();
    assert_eq!(report["summary"]["rolled_back"], 0, "{report:#}");
    assert_eq!(report["summary"]["not_rolled_back"], 0);
    // Without a rollback, no such keys.
    let t = project().manifest("m.yaml", &doc("Step", "d", "", "value: 1, fail: true"));
    let report = t.run(&["apply", "-o", "json"]).json();
    assert!(report["summary"].get("rolled_back").is_none(), "{report:#}");
}

/// `KindA` / `KindB`: `apply` logs which handler ran on which kind and spec.
const KIND_A: &str = r#"
register("KindA", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) { file::append(path::join(m.dir, "log.txt"), `KindA ${m.action} ${m.kind}` + "\n"); }
"#;
const KIND_B: &str = r#"
register("KindB", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) {
    file::append(path::join(m.dir, "log.txt"), `KindB ${m.action} ${m.kind}` + "\n");
    if m.spec.fail == true { throw "B fails"; }
}
"#;

#[test]
fn a_manifest_whose_kind_changed_is_not_re_applied_with_the_new_handler() {
    // A-F2: `a` was a KindA; now a KindB that fails. KindB's apply must never get the
    // KindA spec.
    let t = project()
        .handler("ka.rhai", KIND_A)
        .handler("kb.rhai", KIND_B)
        .manifest("m.yaml", &doc("KindA", "a", "", "forA: 1"));
    t.run(&["apply"]).code(0);
    let t = t.manifest("m.yaml", &doc("KindB", "a", "", "forB: 2, fail: true"));
    t.run(&["plan", "--rollback-on-failure"])
        .code(0)
        .stdout_has("impossible (kind/version changed since the last apply: was KindA/v1)");
    let out = t.run(&["apply", "--rollback-on-failure", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    let a = entry(&report, "a");
    assert_eq!(a["rollback"]["status"], "not_rolled_back", "{a:#}");
    assert_eq!(
        a["rollback"]["strategy"],
        "impossible (kind/version changed since the last apply: was KindA/v1)"
    );
    assert_eq!(log(&t), ["KindA apply KindA", "KindB apply KindB"]);
}

#[test]
fn the_killed_rollback_warning_caps_the_names_and_the_journal_size() {
    // A-F14: a planted journal of 1000 names: 50 named, then a count.
    let t = project().manifest("m.yaml", &doc("Step", "a", "", "value: 1"));
    t.run(&["apply"]).code(0);
    let names: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let line = serde_json::json!({
        "pid": 1, "started": "x", "command": "evil", "env": "default", "manifests": names,
    });
    let journal = t.path().join(".ordo/state.json.rollback");
    std::fs::write(&journal, format!("{line}\n")).unwrap();
    let out = t.run(&["apply"]);
    out.code(0)
        .no_panic()
        .stderr_has("never reached: `m0`, `m1`")
        .stderr_has("`m49`, and 950 more; the state records");
    assert!(!out.stderr.contains("`m50`"), "{}", out.stderr);
    assert!(out.stderr.len() < 4000, "{}", out.stderr.len());
    // Past 16 MiB it is not read (a sparse file: no disk used), and named.
    let f = std::fs::File::create(&journal).unwrap();
    f.set_len(17 * 1024 * 1024).unwrap();
    t.run(&["apply"]).code(0).no_panic().stderr_has(
        "state.json.rollback is left from a rollback that did not finish, but it is 17825792 bytes",
    );
    assert!(journal.exists());
}

#[test]
fn an_interrupted_manifest_is_said_to_be_interrupted_not_failed() {
    // NU-F11 / A-F13: the undo line of the interrupted manifest says so.
    let t = project().manifest(
        "m.yaml",
        &[
            doc("Step", "a", "", "value: 1"),
            doc(
                "Step",
                "b",
                &after("a"),
                "value: 1, wait_apply: never-there",
            ),
        ]
        .concat(),
    );
    let child = t.spawn(&["apply", "--rollback-on-failure", "-j", "1"]);
    signal_when(&t, &child, "-INT", || {
        log(&t).contains(&"apply b".to_string())
    });
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130)
        .no_panic()
        .stdout_has("(delete (new); the manifest that was interrupted")
        .stdout_has("rolled_back     Step/a");
    assert!(!out.stdout.contains("it failed"), "{}", out.stdout);
}
