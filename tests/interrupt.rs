//! `interrupted` (DESIGN.md §10): manifests cut by Ctrl-C or SIGTERM are `interrupted`,
//! not `failed` with the signal's exit code; the summary counts them. And every failure
//! names the handler function that actually ran.

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

/// `check` and `apply` each run `spec.<function>_shell` as a command or sleep
/// `spec.<function>_sleep` seconds in the script; both write `STARTED name` first (but
/// not under `plan`, which may not write). `check` says `spec.pending` (default true).
const SLOW: &str = r#"
register("Slow", "^1");
permissions(["file:write", "env", "shell"]);
fn work(m, f) {
    if !m.dry_run { file::append(env::get("TRACE_FILE"), "STARTED " + f + " " + m.name + "\n"); }
    let cmd = m.spec[f + "_shell"];
    if cmd != () { shell::run(cmd, #{ read_only: true }); }
    let secs = m.spec[f + "_sleep"];
    if secs != () { time::sleep(secs); }
}
fn check(m) { work(m, "check"); m.spec.pending ?? true }
fn apply(m) { work(m, "apply"); }
"#;

fn doc(name: &str, after: Option<&str>, spec: &str) -> String {
    let deps = after
        .map(|a| format!("  dependencies: {{apply: [{a}]}}\n"))
        .unwrap_or_default();
    format!("---\nkind: Slow\nversion: v1\nmetadata:\n  name: {name}\n{deps}spec: {{{spec}}}\n")
}

/// `first` (quick), `cut` (`spec`), `later` (after `cut`).
fn project(spec: &str) -> Test {
    let yaml = [
        doc("first", None, ""),
        doc("cut", Some("first"), spec),
        doc("later", Some("cut"), ""),
    ]
    .concat();
    Test::new()
        .handler("slow.rhai", SLOW)
        .manifest("m.yaml", &yaml)
}

/// Runs ordo, sends `signal` once `started` says `cut` runs, and returns the output.
fn interrupt(t: &Test, args: &[&str], signal: &str, started: impl Fn() -> bool) -> common::Output {
    let child = t.spawn(args);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(started(), "`cut` never started");
    // Let the command inside start too.
    std::thread::sleep(Duration::from_millis(200));
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    common::Output::of(child.wait_with_output().unwrap(), t.path())
}

#[test]
fn ctrl_c_during_a_command_makes_the_manifest_interrupted_not_failed() {
    let t = project("apply_shell: 'sleep 30'");
    let out = interrupt(&t, &["apply", "-j", "1"], "-INT", || {
        t.read("trace.txt").contains("STARTED apply cut")
    });
    out.code(130)
        .no_panic()
        .stdout_has("interrupted Slow/cut")
        .stdout_has("(stopped while running `apply`)")
        .stdout_has("skipped   Slow/later  (the run was interrupted)")
        .stdout_has("apply: 1 changed, 0 unchanged, 0 failed, 1 interrupted, 1 skipped");
    for bad in [
        "failed    Slow/cut",
        "exited with code",
        "check: false",
        "130",
    ] {
        assert!(
            !out.stdout.contains(bad) && !out.stderr.contains(bad),
            "{bad:?} in\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    // Not recorded as applied: the next apply runs it again.
    let state = t.read(".ordo/state.json");
    assert!(
        state.contains("\"first\"") && !state.contains("\"cut\""),
        "{state}"
    );
}

#[test]
fn sigterm_during_a_script_is_interrupted_in_json_too() {
    let t = project("apply_sleep: 30");
    let out = interrupt(&t, &["apply", "-j", "1", "-o", "json"], "-TERM", || {
        t.read("trace.txt").contains("STARTED apply cut")
    });
    out.code(130).no_panic();
    let report = out.json();
    assert_eq!(report["ok"], false);
    let cut = report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "cut")
        .unwrap();
    assert_eq!(cut["status"], "interrupted", "{cut}");
    assert_eq!(cut["error"], serde_json::Value::Null, "{cut}");
    assert_eq!(cut["reason"], "stopped while running `apply`", "{cut}");
    assert_eq!(report["summary"]["interrupted"], 1, "{report}");
    assert_eq!(report["summary"]["failed"], 0, "{report}");
    assert_eq!(report["summary"]["skipped"], 1, "{report}");
}

#[test]
fn an_interrupted_plan_names_check() {
    // `plan` writes nothing: the command's unique argument shows that it runs.
    let marker = format!("sleep 30.{}", std::process::id());
    let t = project(&format!("check_shell: '{marker}'"));
    // `first` has nothing to do: were it pending, `cut` would be known after apply, its
    // `check` not run.
    let yaml = t
        .read("m.yaml")
        .replacen("spec: {}", "spec: {pending: false}", 1);
    let t = t.manifest("m.yaml", &yaml);
    let out = interrupt(&t, &["plan", "-j", "1"], "-INT", || {
        !common::processes_matching(&marker).is_empty()
    });
    out.code(130)
        .no_panic()
        .stdout_has("interrupted Slow/cut")
        .stdout_has("(stopped while running `check`)")
        .stdout_has("plan: 0 pending, 1 unchanged, 0 failed, 1 interrupted, 1 skipped");
    assert!(!out.stdout.contains("`apply`"), "{}", out.stdout);
}

#[test]
fn a_failing_check_under_plan_says_check_ran_not_apply() {
    let t = Test::new()
        .handler(
            "h.rhai",
            r#"
register("Probe", "^1");
fn check(m) { throw "cannot probe"; }
fn apply(m) { }
"#,
        )
        .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata:\n  name: p\n");
    t.run(&["plan"])
        .code(1)
        .stderr_has("while running `check` for Probe/p")
        .stderr_lacks("while running `apply`");
    t.run(&["apply", "--no-state"])
        .code(1)
        .stderr_has("while running `check` for Probe/p");
}

#[test]
fn a_failing_apply_and_delete_name_their_function() {
    let t = Test::new()
        .handler(
            "h.rhai",
            r#"
register("Bad", "^1");
fn check(m) { true }
fn apply(m) { throw "apply broke"; }
fn delete(m) { throw "delete broke"; }
"#,
        )
        .manifest("m.yaml", "kind: Bad\nversion: v1\nmetadata:\n  name: b\n");
    t.run(&["apply", "--no-state"])
        .code(1)
        .stderr_has("while running `apply` for Bad/b");
    t.run(&["delete", "--no-state"])
        .code(1)
        .stderr_has("while running `delete` for Bad/b");
}

/// Reproduction: a handler whose `apply` is
/// `try { shell::run("sleep 5"); } catch (e) { } file::write(path::join(m.dir, "after.txt"), "x"); #{ done: true }`
/// (an optional step whose failure it tolerates). Ctrl-C during the `sleep`: the command
/// is stopped, the handler catches that error, `file::write` still succeeds after the
/// interrupt (only `shell::run` is refused from then on), and the manifest is reported
/// `changed` and recorded in the state as applied, although its work was cut. A
/// manifest cut by Ctrl-C must be `interrupted` and not recorded (README: "they are not
/// recorded, so the next run does them again"), and after the interrupt the stdlib must
/// refuse new changes. The interrupt now ends the handler call uncatchably.
#[test]
fn ctrl_c_cannot_be_caught_by_the_handler_which_ends_interrupted_and_unrecorded() {
    let t = Test::new()
        .handler(
            "s.rhai",
            r#"
register("Slow", "^1");
permissions(["shell", "file:write"]);
fn apply(m) {
    file::write(path::join(m.dir, "started.txt"), "x");
    try { shell::run("sleep 5"); } catch (e) { }
    file::write(path::join(m.dir, "after.txt"), "x");
    #{ done: true }
}
"#,
        )
        .manifest(
            "m.yaml",
            "kind: Slow\nversion: v1\nmetadata: {name: s}\nspec: {}\n",
        );
    let child = t.spawn(&["apply", "-o", "json"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !t.exists("started.txt") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130).no_panic();
    assert_eq!(
        out.json()["manifests"][0]["status"],
        "interrupted",
        "{}",
        out.stdout
    );
    assert!(!t.exists("after.txt"), "file::write ran after Ctrl-C");
    let state = std::fs::read_to_string(t.path().join(".ordo/state.json")).unwrap_or_default();
    assert!(!state.contains("\"s\""), "recorded: {state}");
}
