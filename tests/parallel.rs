//! Parallel execution, failure policy, selection, live output and `ordo graph`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Test, trace_doc};

/// START/END lines with the manifest name, and a sleep between them.
const STEP: &str = r#"
register("Step", "^1");
permissions(["file:write", "env", "shell"]);
fn apply(m) {
    file::append(env::get("TRACE_FILE"), "START " + m.name + "\n");
    if m.spec.shell != () { shell::run(m.spec.shell); }
    if m.spec.sleep != () { time::sleep(m.spec.sleep); }
    file::append(env::get("TRACE_FILE"), "END " + m.name + "\n");
}
fn delete(m) {
    file::append(env::get("TRACE_FILE"), "START " + m.name + "\n");
    if m.spec.sleep != () { time::sleep(m.spec.sleep); }
    file::append(env::get("TRACE_FILE"), "END " + m.name + "\n");
}
"#;

fn step(name: &str, deps: &[String], spec: &str) -> String {
    let deps = if deps.is_empty() {
        String::new()
    } else {
        format!("  dependencies: {{apply: [{}]}}\n", deps.join(", "))
    };
    format!("---\nkind: Step\nversion: v1\nmetadata:\n  name: {name}\n{deps}spec: {{{spec}}}\n")
}

#[test]
fn independent_manifests_run_in_parallel() {
    let yaml: String = (0..8)
        .map(|i| step(&format!("s{i}"), &[], "shell: sleep 0.5"))
        .collect();
    let t = Test::new()
        .handler("step.rhai", STEP)
        .manifest("m.yaml", &yaml);
    let started = Instant::now();
    t.run(&["apply", "-j", "8", "--no-state"]).code(0);
    let parallel = started.elapsed();
    // Eight half-second sleeps: 4 s one at a time, 0.5 s all at once. The pool starts
    // with a worker per CPU and must grow to all 8 while the sleeps wait: with only as many
    // workers as CPUs (2 here) it would take 2 s or more.
    assert!(
        parallel < Duration::from_millis(1500),
        "-j 8 took {parallel:?}"
    );
    let started = Instant::now();
    t.run(&["apply", "-j", "1", "--no-state"]).code(0);
    assert!(
        started.elapsed() >= Duration::from_millis(3900),
        "-j 1 must be sequential"
    );
}

/// A small deterministic generator (tests must not depend on a crate for randomness).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn random_dags_keep_every_edge_at_j16() {
    for seed in [1_u64, 7, 42] {
        let mut rng = Lcg(seed);
        let n = 40;
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, d) in deps.iter_mut().enumerate() {
            for j in 0..i {
                if rng.next() % 100 < 8 {
                    d.push(j);
                }
            }
        }
        // Documents in a shuffled order, so document order does not help.
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, usize::try_from(rng.next() % (i as u64 + 1)).unwrap());
        }
        let yaml: String = order
            .iter()
            .map(|&i| {
                let names: Vec<String> = deps[i].iter().map(|d| format!("n{d}")).collect();
                let sleep = format!("sleep: 0.0{}", rng.next() % 3);
                step(&format!("n{i}"), &names, &sleep)
            })
            .collect();
        let t = Test::new()
            .handler("step.rhai", STEP)
            .manifest("m.yaml", &yaml);
        for action in ["apply", "delete", "apply"] {
            t.run(&[action, "-j", "16", "--no-state"]).code(0);
            let trace = t.take_trace();
            let pos: HashMap<String, usize> = trace
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), i))
                .collect();
            assert_eq!(trace.len(), 2 * n, "{action}: every manifest exactly once");
            for (i, d) in deps.iter().enumerate() {
                for j in d {
                    // apply: j ends before i starts; delete: i ends before j starts.
                    let (first, second) = if action == "delete" { (i, *j) } else { (*j, i) };
                    let end = pos[&format!("END n{first}")];
                    let start = pos[&format!("START n{second}")];
                    assert!(
                        end < start,
                        "seed {seed} {action}: n{first} must finish before n{second} starts"
                    );
                }
            }
        }
    }
}

#[test]
fn retries_back_off_and_then_succeed_or_fail() {
    let flaky = r#"
register("Flaky", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) {
    let f = path::join(m.dir, m.name + ".count");
    let n = if file::exists(f) { parse_int(file::read(f)) } else { 0 };
    file::write(f, `${n + 1}`);
    if n + 1 < m.spec.succeed_on { throw `attempt ${n + 1} fails`; }
}
"#;
    let yaml = "kind: Flaky\nversion: v1\nmetadata: {name: ok, retries: 2, retryDelay: 0.1}\nspec: {succeed_on: 3}\n---\nkind: Flaky\nversion: v1\nmetadata: {name: bad, retries: 1, retryDelay: 0.1}\nspec: {succeed_on: 9}\n";
    let t = Test::new()
        .handler("flaky.rhai", flaky)
        .manifest("m.yaml", yaml);
    let out = t.run(&["apply", "--keep-going", "--no-state"]);
    out.code(1)
        .stdout_has("changed   Flaky/ok")
        .stdout_has("failed    Flaky/bad")
        .stderr_has("warn  ok: attempt 1 of 3 failed")
        .stderr_has("retrying in 0.1 s")
        .stderr_has("warn  ok: attempt 2 of 3 failed")
        .stderr_has("retrying in 0.2 s")
        .stderr_has("attempt 2 fails");
    assert_eq!(t.read("ok.count"), "3");
    assert_eq!(t.read("bad.count"), "2");
}

#[test]
fn a_timeout_fails_the_manifest_and_its_dependents_are_skipped() {
    let yaml = step("slow", &[], "sleep: 5")
        .replace("  name: slow\n", "  name: slow\n  timeout: 0.5\n")
        + &step("after", &["slow".into()], "");
    let t = Test::new()
        .handler("step.rhai", STEP)
        .manifest("m.yaml", &yaml);
    let started = Instant::now();
    t.run(&["apply", "--no-state"])
        .code(1)
        .stderr_has("ran longer than its timeout")
        .stdout_has("skipped   Step/after  (`slow` failed)");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn ctrl_c_saves_the_state_of_what_finished_and_exits_130() {
    let yaml: String = (0..6)
        .map(|i| {
            let deps = if i == 0 {
                vec![]
            } else {
                vec![format!("c{}", i - 1)]
            };
            step(&format!("c{i}"), &deps, "sleep: 0.4")
        })
        .collect();
    let t = Test::new()
        .handler("step.rhai", STEP)
        .manifest("m.yaml", &yaml);
    let child = t.spawn(&["apply", "-j", "1"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !t.read("trace.txt").contains("START c2") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("skipped   Step/c3  (the run was interrupted)"),
        "{stdout}"
    );
    let state: serde_json::Value = serde_json::from_str(&t.read(".ordo/state.json")).unwrap();
    let names: Vec<&String> = state["environments"]["default"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(names, ["c0", "c1"], "the state holds exactly what finished");
    assert!(!t.exists(".ordo/state.json.journal"));
    assert_eq!(t.read(".ordo/state.json.lock"), "", "the lock is released");
}

#[test]
fn a_second_ctrl_c_ends_the_run_at_once() {
    // A command that ignores SIGINT and SIGTERM: after the first Ctrl-C ordo would wait out
    // the grace period (2 s) before killing it; the second must end ordo at once and kill
    // it. The marker is unique, to look for survivors afterwards.
    let marker = format!("40.{}", std::process::id());
    let yaml = step(
        "stubborn",
        &[],
        &format!("shell: \"trap '' INT TERM; sleep {marker}\""),
    );
    let t = Test::new()
        .handler("step.rhai", STEP)
        .manifest("m.yaml", &yaml);
    let sleeping = || !common::processes_matching(&format!("sleep {marker}")).is_empty();
    let interrupt = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
    };
    let mut child = t.spawn(&["apply"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    // The sleep runs once the trap is set.
    while !sleeping() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(sleeping(), "the command never started");
    let first = Instant::now();
    interrupt(child.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C gives running commands time to stop"
    );
    interrupt(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(
        first.elapsed() < Duration::from_millis(1800),
        "ordo ended {:?} after the first Ctrl-C: the second did not end it at once",
        first.elapsed()
    );
    assert_eq!(out.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("press Ctrl-C again to quit at once"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!sleeping(), "the command outlived ordo");
}

fn labelled() -> Test {
    let yaml = [
        trace_doc("db", "labels: {tier: data}", ""),
        trace_doc("cache", "labels: {tier: data, canary: 'yes'}", ""),
        trace_doc(
            "api",
            "labels: {tier: app}\ndependencies: {apply: [db]}",
            "",
        ),
        trace_doc(
            "web",
            "labels: {tier: front}\ndependencies: {apply: [api]}",
            "",
        ),
        trace_doc("probe", "skipApplyAll: true", ""),
    ]
    .concat();
    Test::new().trace().manifest("m.yaml", &yaml)
}

fn ran(t: &Test, args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend_from_slice(&["-j", "1", "--no-state"]);
    t.run(&all).code(0);
    let mut names: Vec<String> = t
        .take_trace()
        .into_iter()
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn only_selects_by_name_or_glob_and_brings_dependencies_along() {
    let t = labelled();
    assert_eq!(ran(&t, &["apply", "--only", "web"]), ["api", "db", "web"]);
    assert_eq!(ran(&t, &["apply", "--only", "ca*"]), ["cache"]);
    assert_eq!(
        ran(&t, &["apply", "--only", "db", "--only", "cache"]),
        ["cache", "db"]
    );
    // An explicitly selected dependency-only manifest runs.
    assert_eq!(ran(&t, &["apply", "--only", "probe"]), ["probe"]);
    // For delete, what depends on the selection comes along.
    assert_eq!(ran(&t, &["delete", "--only", "db"]), ["api", "db", "web"]);
}

#[test]
fn exclude_removes_manifests_even_when_needed() {
    let t = labelled();
    assert_eq!(
        ran(&t, &["apply", "--exclude", "api"]),
        ["cache", "db", "web"]
    );
    assert_eq!(
        ran(&t, &["apply", "--only", "web", "--exclude", "d*"]),
        ["api", "web"]
    );
}

#[test]
fn selectors_use_kubernetes_syntax() {
    let t = labelled();
    assert_eq!(ran(&t, &["apply", "-l", "tier=data"]), ["cache", "db"]);
    assert_eq!(
        ran(&t, &["apply", "-l", "tier!=data,tier"]),
        ["api", "db", "web"]
    );
    assert_eq!(
        ran(&t, &["apply", "-l", "tier in (app, front)"]),
        ["api", "db", "web"]
    );
    assert_eq!(
        ran(&t, &["apply", "-l", "tier notin (data, app)"]),
        ["api", "db", "probe", "web"]
    );
    assert_eq!(ran(&t, &["apply", "-l", "canary"]), ["cache"]);
    assert_eq!(ran(&t, &["apply", "-l", "!canary,tier=data"]), ["db"]);
    assert_eq!(
        ran(&t, &["apply", "--selector", "tier=data", "--only", "c*"]),
        ["cache"]
    );
}

#[test]
fn bad_selections_are_refused_before_anything_runs() {
    let t = labelled();
    t.run(&["apply", "--only", "wbe"])
        .code(3)
        .stderr_has("`wbe` matches no manifest in this environment; did you mean `web`?");
    t.run(&["apply", "-l", "tier in data"])
        .code(2)
        .stderr_has("--selector");
    t.run(&["apply", "--prune", "--only", "web"])
        .code(2)
        .stderr_has("cannot be combined");
    assert!(t.take_trace().is_empty());
}

#[test]
fn jsonl_events_follow_the_schema() {
    let t = labelled();
    let out = t.run(&["apply", "-o", "jsonl", "-j", "2", "--no-state"]);
    out.code(0);
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys = |e: &serde_json::Value| {
        let mut k: Vec<String> = e.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for e in &events {
        let expected: &[&str] = match e["event"].as_str().unwrap() {
            "run_started" => &["command", "environment", "event", "jobs", "total"],
            "manifest_started" => &[
                "event", "function", "handler", "host", "kind", "name", "step", "version",
            ],
            "manifest_finished" => &[
                "duration_ms",
                "error",
                "event",
                "handler",
                "host",
                "kind",
                "name",
                "reason",
                "status",
                "step",
                "version",
            ],
            "log" => &["event", "level", "manifest", "message"],
            "run_finished" => &[
                "command",
                "duration_ms",
                "event",
                "hosts",
                "interrupted",
                "ok",
                "summary",
            ],
            other => panic!("unknown event {other}"),
        };
        assert_eq!(keys(e), expected, "{e}");
    }
    assert_eq!(events[0]["event"], "run_started");
    assert_eq!(events[0]["total"], 4);
    assert_eq!(events.last().unwrap()["event"], "run_finished");
    assert_eq!(events.last().unwrap()["summary"]["changed"], 4);
    // Each manifest starts before it finishes, and after what it depends on finished.
    let index = |event: &str, name: &str| {
        events
            .iter()
            .position(|e| e["event"] == event && e["name"] == name)
            .unwrap()
    };
    assert!(index("manifest_finished", "db") < index("manifest_started", "api"));
    assert!(index("manifest_finished", "api") < index("manifest_started", "web"));
}

#[test]
fn graph_prints_levels_and_dot() {
    let t = labelled();
    let out = t.run(&["graph"]);
    out.code(0);
    insta::assert_snapshot!("graph_text", out.stdout);
    let dot = t.run(&["graph", "--format", "dot"]);
    dot.code(0);
    insta::assert_snapshot!("graph_dot", dot.stdout);
    let delete = t.run(&["graph", "--delete"]);
    delete.code(0);
    insta::assert_snapshot!("graph_delete", delete.stdout);
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let t = Test::new().handler("step.rhai", STEP).manifest(
        "m.yaml",
        &(step("a", &[], "sleep: 0.6") + &step("b", &[], "sleep: 0.6")),
    );
    // Not a terminal: plain lines only.
    let out = t.run(&["apply", "--no-state"]);
    assert!(!out.stderr.contains(" done ·"), "{}", out.stderr);
    // A terminal, through script(1) when the machine has it.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let cmd = format!("{} apply --no-state -j 2", env!("CARGO_BIN_EXE_ordo"));
    let tty = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(t.path())
        .env("TRACE_FILE", t.path().join("trace.txt"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(text.contains("/2 done"), "{text}");
    assert!(text.contains("running a, b"), "{text}");
    assert!(text.contains("apply: 2 changed"), "{text}");
}
