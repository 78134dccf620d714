//! On a terminal, `ordo delete` and `ordo apply --prune` list what they will delete and go
//! on only on `yes`; `--yes` skips the question, and without a terminal nothing asks.
//! The terminal is a real pseudo-terminal, made by util-linux `script`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Output, TRACE, Test};

const TWO: &str = "\
kind: Trace
version: v1
metadata: {name: first}
spec: {}
---
kind: Trace
version: v1
metadata: {name: second}
spec: {}
";

fn project() -> Test {
    let t = Test::new()
        .handler("trace.rhai", TRACE)
        .manifest("m.yaml", TWO);
    t.run(&["apply"]).code(0);
    t.take_trace();
    t
}

/// Runs `ordo ARGS` on a pseudo-terminal, typing `typed` (then the end of input).
fn on_terminal(t: &Test, args: &str, typed: &str) -> Output {
    let mut child = Command::new("script")
        .args(["-qefc", &format!("\"$ORDO\" {args}"), "/dev/null"])
        .current_dir(t.path())
        .env("ORDO", env!("CARGO_BIN_EXE_ordo"))
        .env("TRACE_FILE", t.path().join("trace.txt"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(typed.as_bytes()).expect("type");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    Output::of(out, t.path())
}

#[test]
fn delete_on_a_terminal_lists_what_it_deletes_and_stops_unless_told_yes() {
    let t = project();
    let out = on_terminal(&t, "delete", "no\n");
    out.code(1);
    assert!(
        out.stdout
            .contains("`ordo delete` will delete 2 manifests in environment `default`"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("- first (Trace)"), "{}", out.stdout);
    assert!(out.stdout.contains("- second (Trace)"), "{}", out.stdout);
    assert!(
        out.stdout.contains("cancelled: nothing was deleted"),
        "{}",
        out.stdout
    );
    assert!(t.take_trace().is_empty(), "nothing may run after `no`");
    // The state still holds both.
    let listed = t.run(&["state", "list"]);
    listed.code(0).stdout_has("first").stdout_has("second");
}

#[test]
fn delete_on_a_terminal_goes_on_after_yes() {
    let t = project();
    let out = on_terminal(&t, "delete", "yes\n");
    out.code(0);
    assert!(out.stdout.contains("Only `yes` goes on"), "{}", out.stdout);
    let mut trace = t.take_trace();
    trace.sort();
    assert_eq!(trace, ["DELETE first", "DELETE second"]);
}

#[test]
fn the_end_of_input_at_the_question_cancels() {
    let t = project();
    let out = on_terminal(&t, "delete", "");
    out.code(1);
    assert!(out.stdout.contains("cancelled"), "{}", out.stdout);
    assert!(t.take_trace().is_empty());
}

#[test]
fn yes_flag_skips_the_question_on_a_terminal() {
    let t = project();
    let out = on_terminal(&t, "delete --yes --only first", "");
    out.code(0);
    assert!(!out.stdout.contains("Only `yes`"), "{}", out.stdout);
    assert_eq!(t.take_trace(), ["DELETE first"]);
}

#[test]
fn without_a_terminal_nothing_asks() {
    let t = project();
    let out = t.run(&["delete"]);
    out.code(0).stderr_lacks("Only `yes`");
    assert_eq!(t.take_trace().len(), 2);
}

#[test]
fn apply_prune_on_a_terminal_asks_about_the_orphans_only() {
    let t = project();
    // `second` leaves the files: it is an orphan `--prune` would delete.
    std::fs::write(
        t.path().join("m.yaml"),
        "kind: Trace\nversion: v1\nmetadata: {name: first}\nspec: {}\n",
    )
    .expect("write");
    let out = on_terminal(&t, "apply --prune", "nope\n");
    out.code(1);
    assert!(
        out.stdout
            .contains("`ordo apply --prune` will delete 1 manifest in environment `default`"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("- second (Trace)"), "{}", out.stdout);
    assert!(!out.stdout.contains("- first"), "{}", out.stdout);
    // Cancelled as a whole: not even the apply of `first` ran.
    assert!(t.take_trace().is_empty());

    let out = on_terminal(&t, "apply --prune", "yes\n");
    out.code(0);
    let trace = t.take_trace();
    assert!(trace.contains(&"DELETE second".to_string()), "{trace:?}");
    assert!(trace.contains(&"APPLY first".to_string()), "{trace:?}");

    // Nothing left to prune: no question.
    let out = on_terminal(&t, "apply --prune", "");
    out.code(0);
    assert!(!out.stdout.contains("Only `yes`"), "{}", out.stdout);
}

#[test]
fn plan_never_asks() {
    let t = project();
    let out = on_terminal(&t, "plan --delete", "");
    out.code(0);
    assert!(!out.stdout.contains("Only `yes`"), "{}", out.stdout);
}
