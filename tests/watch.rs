//! `ordo watch` (DESIGN.md §16, issue 22): the reconcile loop through the real binary, with
//! sub-second intervals. Events are read from `-o jsonl` as they come; cycles are mostly
//! started with SIGHUP, so that nothing depends on how fast a loaded machine runs the timer.
//! Every wait has a generous bound.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::io::BufRead;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Test;
use serde_json::Value;

/// Keeps `spec.file` holding `spec.text`. `check` first sleeps 2 s while a file `slow`
/// exists (so a person's apply holds the lock), and notes `check` in `trace.txt`; `apply`
/// fails while `spec.needs` names a file that does not exist, and sleeps `spec.sleep`
/// seconds first.
const KEEP: &str = r#"
register("Keep", "^1");
permissions(["file:read", "file:write"]);
fn check(m) {
    if !m.dry_run { file::append(path::join(m.dir, "trace.txt"), "check " + m.name + "\n"); }
    if file::exists(path::join(m.dir, "slow")) { time::sleep(2); }
    let f = path::join(m.dir, m.spec.file);
    !file::exists(f) || file::read(f) != m.spec.text
}
fn apply(m) {
    if m.spec.sleep != () {
        file::append(path::join(m.dir, "trace.txt"), "sleeping " + m.name + "\n");
        time::sleep(m.spec.sleep);
    }
    if m.spec.needs != () && !file::exists(path::join(m.dir, m.spec.needs)) {
        throw "`" + m.spec.needs + "` is missing";
    }
    file::write(path::join(m.dir, m.spec.file), m.spec.text);
}
"#;

fn keep(name: &str, spec: &str, metadata: &str) -> String {
    format!(
        "---\nkind: Keep\nversion: v1\nmetadata: {{name: {name}{metadata}}}\nspec: {{{spec}}}\n"
    )
}

/// A project with one manifest `a` keeping `a.txt` at `hello`.
fn project() -> Test {
    Test::new()
        .handler("keep.rhai", KEEP)
        .manifest("m.yaml", &keep("a", "file: a.txt, text: hello", ""))
}

/// A running `ordo watch -o jsonl`, its events collected as they come.
struct Watching {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    /// The project's directory.
    dir: std::path::PathBuf,
}

impl Watching {
    fn start(t: &Test, args: &[&str]) -> Watching {
        let mut all = vec!["watch", "-o", "jsonl"];
        all.extend_from_slice(args);
        let mut child = t.spawn(&all);
        let events = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let sink = Arc::clone(&events);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                sink.lock().unwrap().push(value);
            }
        });
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Watching {
            child,
            events,
            stderr,
            dir: t.path().to_path_buf(),
        }
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    /// Waits (up to 30 s) for the first event matching `what` after the first `after`
    /// events.
    fn wait_for(&self, after: usize, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = self.events().iter().skip(after).find(|e| matches(e)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within 30 s; events:\n{}\nstderr:\n{}",
                self.events()
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `cycle_finished` event of cycle `n`.
    fn finished(&self, n: u64) -> Value {
        self.wait_for(0, &format!("end of cycle {n}"), |e| {
            e["event"] == "cycle_finished" && e["cycle"] == n
        })
    }

    /// Sends SIGHUP and returns the `cycle_finished` of the cycle it started.
    fn hup(&self) -> Value {
        let after = self.events().len();
        self.signal("-HUP");
        let started = self.wait_for(after, "cycle started by SIGHUP", |e| {
            e["event"] == "cycle_started" && e["trigger"] == "sighup"
        });
        self.finished(started["cycle"].as_u64().unwrap())
    }

    /// Writes `text` to the project file `file` and returns the `cycle_finished` of the
    /// cycle the change started.
    fn after_edit(&self, file: &str, text: &str) -> Value {
        let after = self.events().len();
        std::fs::write(self.dir.join(file), text).unwrap();
        let started = self.wait_for(after, "cycle started by the edit", |e| {
            e["event"] == "cycle_started" && e["trigger"] == "files"
        });
        self.finished(started["cycle"].as_u64().unwrap())
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (up to 30 s) for ordo to exit; its exit code and how long that took.
    fn exit(&mut self) -> (Option<i32>, Duration) {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), started.elapsed());
            }
            assert!(Instant::now() < deadline, "ordo watch did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> Option<i32> {
        self.signal("-TERM");
        self.exit().0
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The manifest `name`'s entry of a `cycle_finished` event.
fn manifest<'v>(cycle: &'v Value, name: &str) -> &'v Value {
    cycle["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {cycle}"))
}

#[test]
fn cycles_run_at_start_and_on_the_interval_and_every_line_carries_its_cycle() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "200ms", "--jitter", "10%"]);
    let first = w.finished(1);
    assert_eq!(first["trigger"], "start");
    assert_eq!(first["result"], "changed");
    assert_eq!(t.read("a.txt"), "hello");
    let third = w.finished(3);
    assert_eq!(third["trigger"], "interval");
    assert_eq!(third["result"], "unchanged", "{third}");
    assert_eq!(manifest(&third, "a")["status"], "unchanged");
    // Each cycle is a run: its events carry the cycle's number too.
    let events = w.events();
    for e in &events {
        assert!(e["cycle"].is_u64(), "no cycle: {e}");
    }
    assert!(
        events.iter().any(|e| e["event"] == "manifest_finished"
            && e["cycle"] == 1
            && e["status"] == "changed"),
        "{events:?}"
    );
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn once_exits_as_plan_detailed_exitcode_does() {
    let t = project();
    // Changed, then nothing to do.
    t.run(&["watch", "--once"]).code(4);
    t.run(&["watch", "--once"]).code(0);
    assert_eq!(t.read("a.txt"), "hello");
    // A failure: 1 (and the manifest that does not depend on it still runs).
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &[
            keep("bad", "file: b.txt, text: x, needs: marker", ""),
            keep("good", "file: g.txt, text: ok", ""),
        ]
        .concat(),
    );
    t.run(&["watch", "--once"]).code(1);
    assert_eq!(t.read("g.txt"), "ok");
    // Inputs that do not load: 3, with the place of the error.
    let t = project().manifest(
        "m.yaml",
        "kind: Keep\nversion: v1\nmetadata: {name: a}\nspec: [\n",
    );
    t.run(&["watch", "--once"]).code(3).stderr_has("m.yaml:");
    // Drift that is only reported is something to do: 4, and left as it is.
    let t = project();
    t.run(&["watch", "--once"]).code(4);
    std::fs::write(t.path().join("a.txt"), "changed by hand").unwrap();
    t.run(&["watch", "--once", "--drift", "warn"]).code(4);
    assert_eq!(t.read("a.txt"), "changed by hand");
}

#[test]
fn sigterm_while_idle_exits_0_at_once() {
    let t = project();
    let mut w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    w.signal("-TERM");
    let (code, took) = w.exit();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    w.wait_for(0, "stopping", |e| {
        e["event"] == "stopping" && e["signal"] == "SIGTERM"
    });
}

#[test]
fn sigterm_during_a_cycle_lets_it_finish_then_exits_0() {
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &keep("a", "file: a.txt, text: hello, sleep: 1.5", ""),
    );
    let mut w = Watching::start(&t, &["--interval", "1h", "--shutdown-grace", "30s"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !t.read("trace.txt").contains("sleeping a") {
        assert!(Instant::now() < deadline, "apply never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    w.signal("-TERM");
    assert_eq!(w.exit().0, Some(0));
    // The cycle finished: the apply wrote its file, and the cycle says so.
    assert_eq!(t.read("a.txt"), "hello");
    let first = w.finished(1);
    assert_eq!(manifest(&first, "a")["status"], "changed");
}

#[test]
fn sigterm_past_the_grace_interrupts_the_cycle_and_a_second_signal_quits_at_once() {
    // Past the grace: the handler is interrupted as Ctrl-C would, exit 130.
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &keep("a", "file: a.txt, text: hello, sleep: 60", ""),
    );
    let mut w = Watching::start(&t, &["--interval", "1h", "--shutdown-grace", "300ms"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !t.read("trace.txt").contains("sleeping a") {
        assert!(Instant::now() < deadline, "apply never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    w.signal("-TERM");
    let (code, took) = w.exit();
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let first = w.finished(1);
    assert_eq!(manifest(&first, "a")["status"], "interrupted", "{first}");
    // The message says what was cut, not "nothing to do".
    let message = first["message"].as_str().unwrap();
    assert!(
        message.starts_with("cycle 1 interrupted: 1 interrupted"),
        "{message}"
    );

    // A second signal does not wait for the grace.
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &keep("a", "file: a.txt, text: hello, sleep: 60", ""),
    );
    let mut w = Watching::start(&t, &["--interval", "1h", "--shutdown-grace", "1h"]);
    while !t.read("trace.txt").contains("sleeping a") {
        assert!(
            Instant::now() < deadline + Duration::from_secs(30),
            "apply never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    w.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        w.child.try_wait().unwrap().is_none(),
        "exited on the first signal"
    );
    w.signal("-INT");
    let (code, took) = w.exit();
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn sighup_runs_a_cycle_now() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    std::fs::write(t.path().join("a.txt"), "gone").unwrap();
    let cycle = w.hup();
    assert_eq!(cycle["cycle"], 2);
    assert_eq!(manifest(&cycle, "a")["status"], "changed");
    assert_eq!(t.read("a.txt"), "hello");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_person_s_apply_between_cycles_is_not_blocked_and_a_cycle_finding_the_lock_held_is_skipped() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    // Between cycles the watch holds no lock.
    t.run(&["apply"]).code(0);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    // A person's apply holding the lock (its `check` sleeps): the cycle is skipped, logged.
    std::fs::write(t.path().join("slow"), "").unwrap();
    let _ = std::fs::remove_file(t.path().join("trace.txt"));
    let person = t.spawn(&["apply"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !t.read("trace.txt").contains("check a") {
        assert!(
            Instant::now() < deadline,
            "the person's apply never checked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let after = w.events().len();
    w.signal("-HUP");
    let skipped = w.wait_for(after, "skipped cycle", |e| e["event"] == "cycle_skipped");
    let reason = skipped["reason"].as_str().unwrap();
    assert!(reason.contains("lock"), "{reason}");
    let person = person.wait_with_output().unwrap();
    assert!(person.status.success(), "{person:?}");
    // Once it is done, cycles run again.
    std::fs::remove_file(t.path().join("slow")).unwrap();
    let next = w.hup();
    assert_eq!(next["result"], "unchanged", "{next}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn drift_is_corrected_by_default() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    let first = manifest(&w.finished(1), "a").clone();
    // New: changed, but no drift.
    assert_eq!(first["drift_detected"], false);
    std::fs::write(t.path().join("a.txt"), "changed by hand").unwrap();
    let cycle = w.hup();
    let a = manifest(&cycle, "a");
    assert_eq!(a["status"], "changed");
    assert_eq!(a["drift_detected"], true);
    assert_eq!(a["drift_corrected"], true);
    assert_eq!(t.read("a.txt"), "hello");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn drift_is_only_reported_with_drift_warn_or_metadata_drift_warn_and_not_at_all_with_ignore() {
    for (args, metadata, policy) in [
        (&["--drift", "warn"][..], "", "--drift warn"),
        (&[][..], ", drift: warn", "metadata.drift: warn"),
    ] {
        let t = Test::new()
            .handler("keep.rhai", KEEP)
            .manifest("m.yaml", &keep("a", "file: a.txt, text: hello", metadata));
        let mut all = vec!["--interval", "1h"];
        all.extend_from_slice(args);
        let w = Watching::start(&t, &all);
        w.finished(1);
        std::fs::write(t.path().join("a.txt"), "changed by hand").unwrap();
        let cycle = w.hup();
        let a = manifest(&cycle, "a");
        assert_eq!(a["status"], "drift", "{cycle}");
        assert_eq!(a["drift_detected"], true);
        assert_eq!(a["drift_corrected"], false);
        let reason = a["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("drift: ") && reason.contains(policy),
            "{reason}"
        );
        assert_eq!(t.read("a.txt"), "changed by hand");
        assert_eq!(w.stop(), Some(0));
    }
    // `metadata.drift: correct` wins over `--drift warn`; `ignore` neither corrects nor warns.
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &[
            keep("a", "file: a.txt, text: hello", ", drift: correct"),
            keep("b", "file: b.txt, text: hello", ", drift: ignore"),
        ]
        .concat(),
    );
    let w = Watching::start(&t, &["--interval", "1h", "--drift", "warn"]);
    w.finished(1);
    std::fs::write(t.path().join("a.txt"), "changed by hand").unwrap();
    std::fs::write(t.path().join("b.txt"), "changed by hand").unwrap();
    let cycle = w.hup();
    assert_eq!(manifest(&cycle, "a")["drift_corrected"], true);
    assert_eq!(manifest(&cycle, "b")["status"], "ignored", "{cycle}");
    assert_eq!(cycle["result"], "changed");
    assert_eq!(t.read("a.txt"), "hello");
    assert_eq!(t.read("b.txt"), "changed by hand");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_bad_metadata_drift_is_an_input_error_at_its_place_with_a_suggestion() {
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &keep("a", "file: a.txt, text: hello", ", drift: wran"),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("m.yaml:4")
        .stderr_has("metadata.drift")
        .stderr_has("did you mean `warn`");
}

#[test]
fn a_manifest_whose_drift_was_corrected_3_times_is_flapping_until_its_spec_changes() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h", "--flap-window", "1h"]);
    w.finished(1);
    for n in 1..=3 {
        std::fs::write(t.path().join("a.txt"), format!("fight {n}")).unwrap();
        let a = manifest(&w.hup(), "a").clone();
        assert_eq!(a["drift_corrected"], true, "correction {n}: {a}");
    }
    std::fs::write(t.path().join("a.txt"), "fight 4").unwrap();
    let cycle = w.hup();
    let a = manifest(&cycle, "a");
    assert_eq!(a["status"], "flapping", "{cycle}");
    assert_eq!(a["drift_corrected"], false);
    assert!(
        a["reason"].as_str().unwrap().starts_with("flapping: "),
        "{a}"
    );
    assert_eq!(t.read("a.txt"), "fight 4");
    // Still flapping in the next cycle, even with nothing else changed.
    assert_eq!(manifest(&w.hup(), "a")["status"], "flapping");
    // A new spec: applied, and no longer flapping.
    let before = w.events().len();
    std::fs::write(
        t.path().join("m.yaml"),
        keep("a", "file: a.txt, text: hello again", ""),
    )
    .unwrap();
    let after = w.wait_for(before, "the cycle of the new spec", |e| {
        e["event"] == "cycle_finished" && e["trigger"] == "files"
    });
    assert_eq!(manifest(&after, "a")["status"], "changed", "{after}");
    assert_eq!(t.read("a.txt"), "hello again");
    std::fs::write(t.path().join("a.txt"), "fight 5").unwrap();
    let cycle = w.hup();
    assert_eq!(manifest(&cycle, "a")["drift_corrected"], true, "{cycle}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_failing_manifest_backs_off_doubling_its_wait_and_a_success_resets_it() {
    // `bad` fails until `marker` exists; `after` depends on it; `other` does not.
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &[
            keep("bad", "file: b.txt, text: x, needs: marker", ""),
            keep(
                "after",
                "file: c.txt, text: y",
                ", dependencies: {apply: [bad]}",
            ),
            keep("other", "file: o.txt, text: z", ""),
        ]
        .concat(),
    );
    let w = Watching::start(
        &t,
        &[
            "--interval",
            "1h",
            "--retry-interval",
            "300ms",
            "--max-backoff",
            "1200ms",
        ],
    );
    // Retries run by themselves, each after a longer wait, up to the cap.
    let mut waits = Vec::new();
    for n in 1..=4 {
        let cycle = w.finished(n);
        let bad = manifest(&cycle, "bad");
        assert_eq!(bad["status"], "failed", "{cycle}");
        assert_eq!(bad["failures"], n);
        waits.push(bad["backoff_ms"].as_u64().unwrap());
        assert!(bad["next_attempt_in_ms"].as_u64().unwrap() <= waits[waits.len() - 1]);
        assert_eq!(
            manifest(&cycle, "other")["status"],
            if n == 1 { "changed" } else { "unchanged" }
        );
        assert_eq!(manifest(&cycle, "after")["status"], "skipped");
        if n > 1 {
            assert_eq!(cycle["trigger"], "retry", "{cycle}");
        }
    }
    assert_eq!(waits, [300, 600, 1200, 1200]);
    // Fixed: the next retry succeeds, and the count resets.
    std::fs::write(t.path().join("marker"), "").unwrap();
    let fixed = w.wait_for(0, "the retry that succeeds", |e| {
        e["event"] == "cycle_finished"
            && e["manifests"].as_array().is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["name"] == "bad" && m["status"] == "changed")
            })
    });
    let bad = manifest(&fixed, "bad");
    assert_eq!(bad["failures"], 0);
    assert!(bad["next_attempt"].is_null());
    assert_eq!(manifest(&fixed, "after")["status"], "changed");
    assert_eq!(t.read("c.txt"), "y");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn an_edited_input_file_starts_a_cycle_with_the_new_inputs() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    std::fs::write(
        t.path().join("m.yaml"),
        keep("a", "file: a.txt, text: edited", ""),
    )
    .unwrap();
    let cycle = w.wait_for(0, "a cycle after the edit", |e| {
        e["event"] == "cycle_finished" && e["trigger"] == "files"
    });
    assert_eq!(manifest(&cycle, "a")["status"], "changed", "{cycle}");
    assert_eq!(t.read("a.txt"), "edited");
    // A manifest changed, no handler: the compiled handlers serve again.
    let loaded = w.wait_for(0, "inputs_loaded", |e| e["event"] == "inputs_loaded");
    assert_eq!(loaded["handlers_compiled"], false, "{loaded}");
    // A handler changed: compiled again.
    let before = w.events().len();
    std::fs::write(
        t.path().join("keep.rhai"),
        format!("{KEEP}\n// a comment\n"),
    )
    .unwrap();
    let loaded = w.wait_for(before, "inputs_loaded", |e| e["event"] == "inputs_loaded");
    assert_eq!(loaded["handlers_compiled"], true, "{loaded}");
    w.wait_for(before, "the cycle after the handler change", |e| {
        e["event"] == "cycle_finished"
    });
    // What handlers write beside the manifests starts no cycle.
    let before = w.events().len();
    std::fs::write(t.path().join("notes.txt"), "x").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !w.events()
            .iter()
            .skip(before)
            .any(|e| e["event"] == "cycle_started"),
        "{:?}",
        w.events()
    );
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn an_input_error_while_watching_keeps_the_last_good_inputs_until_it_is_fixed() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    std::fs::write(
        t.path().join("m.yaml"),
        "kind: Keep\nversion: v1\nmetadata: {name: a}\nspec: {file: a.txt, text: [\n",
    )
    .unwrap();
    let failed = w.wait_for(0, "inputs_failed", |e| e["event"] == "inputs_failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("m.yaml:"), "{error}");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("the last inputs that loaded keep running"),
        "{failed}"
    );
    // The change's own cycle runs on the last good graph; then drift is still corrected.
    let events = w.events();
    let at = events
        .iter()
        .position(|e| e["event"] == "inputs_failed")
        .unwrap();
    w.wait_for(at, "the cycle after the broken edit", |e| {
        e["event"] == "cycle_finished"
    });
    std::fs::write(t.path().join("a.txt"), "changed by hand").unwrap();
    let cycle = w.hup();
    assert_eq!(manifest(&cycle, "a")["drift_corrected"], true, "{cycle}");
    assert_eq!(t.read("a.txt"), "hello");
    // Fixed: loaded again, and applied.
    let before = w.events().len();
    std::fs::write(
        t.path().join("m.yaml"),
        keep("a", "file: a.txt, text: fixed", ""),
    )
    .unwrap();
    w.wait_for(before, "inputs_loaded", |e| e["event"] == "inputs_loaded");
    let cycle = w.wait_for(before, "the cycle of the fixed inputs", |e| {
        e["event"] == "cycle_finished" && e["trigger"] == "files"
    });
    assert_eq!(manifest(&cycle, "a")["status"], "changed");
    assert_eq!(t.read("a.txt"), "fixed");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_manifest_in_backoff_is_waiting_its_dependents_wait_with_it_and_the_rest_goes_on() {
    let other = keep("other", "file: o.txt, text: z", "");
    let t = Test::new()
        .handler("keep.rhai", KEEP)
        .manifest(
            "m.yaml",
            &[
                keep("bad", "file: b.txt, text: x, needs: marker", ""),
                keep(
                    "after",
                    "file: c.txt, text: y",
                    ", dependencies: {apply: [bad]}",
                ),
            ]
            .concat(),
        )
        .manifest("n.yaml", &other);
    let w = Watching::start(&t, &["--interval", "1h", "--retry-interval", "1h"]);
    let first = w.finished(1);
    assert_eq!(manifest(&first, "bad")["status"], "failed");
    assert_eq!(manifest(&first, "after")["status"], "skipped");
    // Within its backoff, in a cycle started by a change that leaves `bad` as it was (a
    // comment in another file): `bad` is not tried (not failed again), `after` waits on
    // it, and `other`, which does not depend on it, is corrected.
    std::fs::write(t.path().join("o.txt"), "changed by hand").unwrap();
    let cycle = w.after_edit("n.yaml", &format!("# a comment\n{other}"));
    let bad = manifest(&cycle, "bad");
    assert_eq!(bad["status"], "waiting", "{cycle}");
    assert_eq!(bad["failures"], 1);
    let reason = bad["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "`bad` waits out its backoff: it failed 1 time in a row; next attempt in "
        ),
        "{reason}"
    );
    let after = manifest(&cycle, "after");
    assert_eq!(after["status"], "skipped");
    assert!(
        after["reason"]
            .as_str()
            .unwrap()
            .starts_with("`bad` waits out its backoff"),
        "{after}"
    );
    assert_eq!(manifest(&cycle, "other")["drift_corrected"], true);
    // A manifest waiting out its backoff still fails: the cycle is no success.
    assert_eq!(cycle["result"], "failed", "{cycle}");
    assert_eq!(t.read("o.txt"), "z");
    // The run's own events say the same: skipped, not failed.
    let events = w.events();
    let skipped = events
        .iter()
        .find(|e| e["event"] == "manifest_finished" && e["name"] == "bad" && e["cycle"] == 2)
        .unwrap();
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_fixed_spec_ends_the_backoff_and_sighup_retries_a_waiting_manifest_at_once() {
    let after = keep(
        "after",
        "file: c.txt, text: y",
        ", dependencies: {apply: [bad]}",
    );
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &[
            keep("bad", "file: b.txt, text: x, needs: marker", ""),
            after.clone(),
        ]
        .concat(),
    );
    // A backoff of an hour: whatever is tried again below is tried because of the
    // request or the fix, not because the backoff ran out.
    let w = Watching::start(
        &t,
        &[
            "--interval",
            "1h",
            "--retry-interval",
            "1h",
            "--max-backoff",
            "3h",
        ],
    );
    let first = w.finished(1);
    assert_eq!(manifest(&first, "bad")["failures"], 1, "{first}");
    // An explicit request tries it at once; failing again, its count goes on.
    let cycle = w.hup();
    let bad = manifest(&cycle, "bad");
    assert_eq!(bad["status"], "failed", "{cycle}");
    assert_eq!(bad["failures"], 2, "{cycle}");
    assert_eq!(bad["backoff_ms"], 7_200_000, "{cycle}");
    // The fix (its spec no longer needs the marker) is applied in the cycle the edit starts.
    let cycle = w.after_edit(
        "m.yaml",
        &[keep("bad", "file: b.txt, text: x", ""), after].concat(),
    );
    let bad = manifest(&cycle, "bad");
    assert_eq!(bad["status"], "changed", "{cycle}");
    assert_eq!(bad["failures"], 0, "{cycle}");
    assert_eq!(manifest(&cycle, "after")["status"], "changed", "{cycle}");
    assert_eq!((t.read("b.txt"), t.read("c.txt")), ("x".into(), "y".into()));
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_changed_handler_ends_the_backoff_of_its_manifests() {
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &keep("bad", "file: b.txt, text: x, needs: marker", ""),
    );
    let w = Watching::start(
        &t,
        &[
            "--interval",
            "1h",
            "--retry-interval",
            "1h",
            "--max-backoff",
            "3h",
        ],
    );
    assert_eq!(manifest(&w.finished(1), "bad")["status"], "failed");
    // The handler learns to create what it needs: its manifest is tried at once.
    let fixed = KEEP.replace(
        "throw \"`\" + m.spec.needs + \"` is missing\";",
        "file::write(path::join(m.dir, m.spec.needs), \"\");",
    );
    assert_ne!(fixed, KEEP);
    let cycle = w.after_edit("keep.rhai", &fixed);
    let bad = manifest(&cycle, "bad");
    assert_eq!(bad["status"], "changed", "{cycle}");
    assert_eq!(t.read("b.txt"), "x");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_changed_imported_module_is_used_by_the_next_cycle() {
    // The engine caches imported modules: a changed module must build a new one.
    let t = Test::new()
        .handler("lib/text.rhai", "fn greeting() { \"hello\" }\n")
        .handler(
            "say.rhai",
            r#"
import "lib/text" as text;
register("Say", "^1");
permissions(["file:read", "file:write"]);
fn check(m) { let f = path::join(m.dir, "said.txt"); !file::exists(f) || file::read(f) != text::greeting() }
fn apply(m) { file::write(path::join(m.dir, "said.txt"), text::greeting()); }
"#,
        )
        .manifest("m.yaml", "kind: Say\nversion: v1\nmetadata: {name: s}\nspec: {}\n");
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    assert_eq!(t.read("said.txt"), "hello");
    let before = w.events().len();
    std::fs::write(
        t.path().join("lib/text.rhai"),
        "fn greeting() { \"bonjour\" }\n",
    )
    .unwrap();
    let loaded = w.wait_for(before, "inputs_loaded", |e| e["event"] == "inputs_loaded");
    assert_eq!(loaded["handlers_compiled"], true, "{loaded}");
    w.wait_for(before, "the cycle after the change", |e| {
        e["event"] == "cycle_finished" && e["trigger"] == "files"
    });
    assert_eq!(t.read("said.txt"), "bonjour");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn secrets_are_masked_in_what_the_loop_reports() {
    // `bad` fails with the secret in its error; the cycle's report and the run's events
    // carry it masked.
    let t = Test::new()
        .handler("keep.rhai", KEEP)
        .file(
            "values.yaml",
            "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: s3cr3t-pw, secret: true}\n",
        )
        .manifest(
            "m.yaml",
            &keep("bad", "file: b.txt, text: x, needs: !Value pw", ""),
        );
    let w = Watching::start(&t, &["--interval", "1h", "-f", "values.yaml"]);
    let cycle = w.finished(1);
    let bad = manifest(&cycle, "bad");
    assert_eq!(bad["status"], "failed");
    let reason = bad["reason"].as_str().unwrap();
    assert!(
        reason.contains("***") && !reason.contains("s3cr3t"),
        "{reason}"
    );
    let all: String = w.events().iter().map(Value::to_string).collect();
    assert!(!all.contains("s3cr3t"), "{all}");
    assert_eq!(w.stop(), Some(0));
}

/// The `cycle_started` events so far.
fn started(w: &Watching) -> usize {
    w.events()
        .iter()
        .filter(|e| e["event"] == "cycle_started")
        .count()
}

#[test]
fn a_manifest_directory_deleted_and_created_again_is_loaded_and_sighup_reloads() {
    let t = Test::new()
        .handler("handlers/keep.rhai", KEEP)
        .manifest("manifests/m.yaml", &keep("a", "file: a.txt, text: old", ""));
    let w = Watching::start(
        &t,
        &["-m", "manifests", "-s", "handlers", "--interval", "1h"],
    );
    w.finished(1);
    assert_eq!(t.read("manifests/a.txt"), "old");
    // Deploying by replacing the directory: its removal is an input error ...
    let before = w.events().len();
    std::fs::remove_dir_all(t.path().join("manifests")).unwrap();
    w.wait_for(before, "inputs_failed after the removal", |e| {
        e["event"] == "inputs_failed"
    });
    // ... and the new directory is loaded, not the deleted spec enforced.
    // (The last good graph's cycle after the removal may have written `a.txt` into a new
    // `manifests/` already.)
    let before = w.events().len();
    std::fs::create_dir_all(t.path().join("manifests")).unwrap();
    std::fs::write(
        t.path().join("manifests/m.yaml"),
        keep("a", "file: a.txt, text: new", ""),
    )
    .unwrap();
    w.wait_for(before, "the new directory loaded", |e| {
        e["event"] == "inputs_loaded"
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while t.read("manifests/a.txt") != "new" {
        assert!(Instant::now() < deadline, "{:?}", w.events());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Watched anew: a later edit in the new directory starts a cycle by itself.
    let before = w.events().len();
    std::fs::write(
        t.path().join("manifests/m.yaml"),
        keep("a", "file: a.txt, text: newer", ""),
    )
    .unwrap();
    let _ = before;
    let deadline = Instant::now() + Duration::from_secs(30);
    while t.read("manifests/a.txt") != "newer" {
        assert!(Instant::now() < deadline, "{:?}", w.events());
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGHUP (`systemctl reload`) loads the inputs again before its cycle.
    let before = w.events().len();
    w.hup();
    assert!(
        w.events()
            .iter()
            .skip(before)
            .any(|e| e["event"] == "inputs_loaded"),
        "{:?}",
        w.events()
    );
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn inputs_missing_at_start_load_once_they_appear() {
    let t = Test::new().handler("handlers/keep.rhai", KEEP);
    let w = Watching::start(
        &t,
        &["-m", "manifests", "-s", "handlers", "--interval", "1h"],
    );
    w.wait_for(0, "inputs_failed at start", |e| {
        e["event"] == "inputs_failed"
    });
    std::fs::create_dir(t.path().join("manifests")).unwrap();
    std::fs::write(
        t.path().join("manifests/m.yaml"),
        keep("a", "file: a.txt, text: hello", ""),
    )
    .unwrap();
    w.wait_for(0, "the first cycle once the directory appeared", |e| {
        e["event"] == "cycle_finished"
            && e["manifests"].as_array().is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["name"] == "a" && m["status"] == "changed")
            })
    });
    assert_eq!(t.read("manifests/a.txt"), "hello");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn reading_an_input_or_saving_it_unchanged_starts_no_cycle_and_a_handler_reading_yaml_does_not_loop()
 {
    // The handler keeps a YAML file beside the manifests: its `check` reads it every cycle.
    let t = Test::new().handler("keep.rhai", KEEP).manifest(
        "m.yaml",
        &keep("conf", "file: app.yaml, text: 'port: 8080'", ""),
    );
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    assert_eq!(t.read("app.yaml"), "port: 8080");
    // Writing app.yaml may start one more cycle (it is a change); reading it starts none.
    std::thread::sleep(Duration::from_millis(2500));
    let settled = started(&w);
    assert!(settled <= 2, "{:?}", w.events());
    for _ in 0..3 {
        std::fs::read(t.path().join("m.yaml")).unwrap();
        std::fs::read(t.path().join("app.yaml")).unwrap();
        std::thread::sleep(Duration::from_millis(700));
    }
    // Saved without a change (what an editor's save of an unchanged buffer does).
    let text = t.read("m.yaml");
    std::fs::write(t.path().join("m.yaml"), text).unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(started(&w), settled, "{:?}", w.events());
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_broken_input_is_reported_once_per_change_not_in_a_storm() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    std::fs::write(t.path().join("broken.yaml"), "kind: [\n").unwrap();
    w.wait_for(0, "inputs_failed", |e| e["event"] == "inputs_failed");
    std::thread::sleep(Duration::from_millis(4000));
    let events = w.events();
    let failed = events
        .iter()
        .filter(|e| e["event"] == "inputs_failed")
        .count();
    assert_eq!(failed, 1, "{events:?}");
    assert!(started(&w) <= 2, "{events:?}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn sighups_in_a_loop_merge_and_leave_the_lock_free_for_a_person() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    let before = started(&w);
    let pid = w.child.id().to_string();
    let hammer = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(4);
        while Instant::now() < end {
            let _ = std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status();
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let mut applied = 0;
    for _ in 0..4 {
        if t.run(&["apply"]).code == 0 {
            applied += 1;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    hammer.join().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // At most one cycle per second (plus the one pending at the end), not back to back.
    let cycles = started(&w) - before;
    assert!(cycles <= 7, "{cycles} cycles for 4 s of SIGHUPs");
    assert!(applied >= 1, "every apply was refused");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_retry_interval_beyond_max_backoff_and_intervals_below_100ms_are_refused() {
    let t = project();
    t.run(&["watch", "--retry-interval", "5s", "--max-backoff", "1s"])
        .code(2)
        .stderr_has("--retry-interval 5s is longer than --max-backoff 1s");
    for (flag, value) in [
        ("--interval", "1ns"),
        ("--interval", "1us"),
        ("--interval", "0.0000001"),
        ("--retry-interval", "10ms"),
    ] {
        t.run(&["watch", flag, value])
            .code(2)
            .stderr_has("shorter than the shortest wait ordo watch allows, 100ms");
    }
}

#[test]
fn a_cycle_that_cannot_run_says_why_in_its_message() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.finished(1);
    std::fs::write(t.path().join(".ordo/state.json"), "{garbage").unwrap();
    let cycle = w.hup();
    assert_eq!(cycle["result"], "failed", "{cycle}");
    let message = cycle["message"].as_str().unwrap();
    assert!(!message.contains("nothing to do"), "{message}");
    assert!(message.contains("state"), "{message}");
    assert_eq!(w.stop(), Some(0));
}
