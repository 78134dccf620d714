//! The state lock: one run at a time in every interleaving, and a lock removed under a run
//! stops it without losing what finished (issue 16, item 1; DESIGN.md §8).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Test, recorded};

/// Appends `start RUN TIME` and `end RUN TIME` to `STAMP_FILE` around a short busy stretch,
/// with the handler's own clock.
const STAMP: &str = r#"
register("Stamp", "^1");
permissions(["file:write", "env"]);
fn apply(m) {
    let f = env::get("STAMP_FILE");
    let run = env::get("RUN_ID");
    file::append(f, `start ${run} ${time::now()}` + "\n");
    let x = 0;
    for i in 0..2000 { x += i; }
    file::append(f, `end ${run} ${time::now()}` + "\n");
}
"#;

/// A chain of `Slow` manifests `PREFIX0, PREFIX1, ...`, each applied after the one before;
/// each waits for its own file `go-NAME` to exist (the test says when each finishes).
fn slow_chain(prefix: &str, n: usize) -> String {
    let mut yaml = String::new();
    for i in 0..n {
        let deps = if i == 0 {
            String::new()
        } else {
            format!("  dependencies: {{apply: [{prefix}{}]}}\n", i - 1)
        };
        yaml.push_str(&format!(
            "---\nkind: Slow\nversion: v1\nmetadata:\n  name: {prefix}{i}\n{deps}"
        ));
    }
    yaml
}

/// Writes `START name`, waits until the file `go-NAME` exists beside the manifest, writes
/// `END name` (to `TRACE_FILE`).
const SLOW: &str = r#"
register("Slow", "^1");
permissions(["file:read", "file:write", "env"]);
fn apply(m) {
    file::append(env::get("TRACE_FILE"), "START " + m.name + "\n");
    let gate = path::join(m.dir, "go-" + m.name);
    while !file::exists(gate) { time::sleep(0.01); }
    file::append(env::get("TRACE_FILE"), "END " + m.name + "\n");
    #{ done: true }
}
"#;

/// Lets the `Slow` manifests named finish (their `go-` files, in `dir`).
fn go(t: &Test, dir: &str, names: &[&str]) {
    for name in names {
        std::fs::write(t.path().join(dir).join(format!("go-{name}")), "").unwrap();
    }
}

fn wait_for(t: &Test, file: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !t.read(file).contains(text) {
        assert!(
            Instant::now() < deadline,
            "{text:?} never appeared in {file}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Issue 16: the lock file was removed before the lock was released, so a third process
/// could lock a new file while a second still held the old one, and two runs ran handler
/// calls at the same time. Many concurrent runs; the handlers' own clocks show no overlap.
#[test]
fn concurrent_runs_never_overlap() {
    const THREADS: usize = 4;
    // Each thread runs until this many of its runs got the lock (a refused run is retried),
    // so the hammer does the same amount of locked work on a fast or a slow machine.
    const WINS: usize = 15;
    const MAX_TRIES: usize = 2000;
    let t = Test::new()
        .handler("stamp.rhai", STAMP)
        .manifest("m.yaml", "kind: Stamp\nversion: v1\nmetadata: {name: s}\n");
    let stamps = t.path().join("stamps.txt");
    let ran = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (t, stamps, ran) = (&t, &stamps, &ran);
            scope.spawn(move || {
                let mut wins = 0;
                for run in 0..MAX_TRIES {
                    if wins == WINS {
                        break;
                    }
                    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
                        .args(["apply", "-q"])
                        .current_dir(t.path())
                        .env("STAMP_FILE", stamps)
                        .env("RUN_ID", format!("{thread}-{run}"))
                        .output()
                        .unwrap();
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    match out.status.code() {
                        Some(0) => {
                            wins += 1;
                            ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        // Refused: another run holds the lock.
                        Some(1) if stderr.contains("is locked by pid") => {}
                        other => panic!("run {thread}-{run} ended with {other:?}:\n{stderr}"),
                    }
                }
                assert_eq!(wins, WINS, "thread {thread} got the lock {wins} times");
            });
        }
    });
    let text = std::fs::read_to_string(&stamps).unwrap();
    // Per run, the interval its handler ran in; sorted by start, each must end before the
    // next starts. The lines are appended with O_APPEND, so their order is the order the
    // calls happened in, too: start and end must alternate.
    let mut intervals = std::collections::HashMap::<String, (f64, f64)>::new();
    let mut open: Option<String> = None;
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let [what, run, at] = parts[..] else {
            panic!("bad line {line:?}")
        };
        let at: f64 = at.parse().unwrap();
        match what {
            "start" => {
                assert!(open.is_none(), "{run} started while {open:?} ran:\n{text}");
                open = Some(run.to_string());
                intervals.insert(run.to_string(), (at, f64::NAN));
            }
            _ => {
                assert_eq!(open.as_deref(), Some(run), "{text}");
                open = None;
                intervals.get_mut(run).unwrap().1 = at;
            }
        }
    }
    let mut sorted: Vec<(f64, f64)> = intervals.into_values().collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in sorted.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "two runs overlapped: {pair:?}\n{text}"
        );
    }
    let ran = ran.into_inner();
    assert_eq!(
        sorted.len(),
        ran,
        "every run that succeeded ran its handler once"
    );
    assert_eq!(ran, THREADS * WINS);
}

/// Issue 16: deleting the lock file by hand let a second run in, which lost most of the
/// first run's records. Now the first run notices at once: it starts nothing more, records
/// everything that finished (taking the lock again) and says so, exit 1.
#[test]
fn a_lock_removed_mid_run_stops_the_run_and_keeps_every_record() {
    let t = Test::new()
        .handler("slow.rhai", SLOW)
        .manifest("m.yaml", &slow_chain("s", 6));
    go(&t, ".", &["s0", "s1"]);
    let child = t.spawn(&["apply", "-j", "1"]);
    wait_for(&t, "trace.txt", "START s2");
    std::fs::remove_file(t.path().join(".ordo/state.json.lock")).unwrap();
    go(&t, ".", &["s2", "s3", "s4", "s5"]);
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(1)
        .no_panic()
        .stderr_has(".ordo/state.json.lock was removed while this run held it")
        .stderr_has("the run stopped, and everything that finished is recorded")
        .stdout_has("(the run stopped: the state cannot record any more)");
    let trace = t.read("trace.txt");
    assert!(
        !trace.contains("START s3"),
        "nothing starts after:\n{trace}"
    );
    assert!(trace.contains("END s2"), "{trace}");
    // s2 finished after the lock was gone: it is recorded all the same.
    assert_eq!(recorded(&t), ["s0", "s1", "s2"]);
    assert!(!t.exists(".ordo/state.json.journal"));
    // The lock is back, free: the next run goes on without a stale-lock warning.
    assert_eq!(t.read(".ordo/state.json.lock"), "");
    t.run(&["apply", "-j", "1"])
        .code(0)
        .stderr_lacks("stale lock");
    assert_eq!(recorded(&t), ["s0", "s1", "s2", "s3", "s4", "s5"]);
}

/// A second run that gets in after the lock file was deleted: it takes over the first
/// run's records; the first stops, records nothing behind the second's back, and names what
/// finished but is not recorded. Nothing recorded is lost.
#[test]
fn a_run_let_in_by_a_removed_lock_loses_none_of_the_first_runs_records() {
    let t = Test::new()
        .handler("slow.rhai", SLOW)
        .manifest("a.yaml", &slow_chain("a", 3))
        .manifest("b/b.yaml", &slow_chain("b", 1));
    std::fs::create_dir_all(t.path().join(".ordo")).unwrap();
    go(&t, ".", &["a0"]);
    let first = t.spawn(&["apply", "-j", "1", "-m", "a.yaml", "-s", "."]);
    wait_for(&t, "trace.txt", "START a1");
    std::fs::remove_file(t.path().join(".ordo/state.json.lock")).unwrap();
    // The second run takes a new lock, and folds the first one's journal (a0) in; it still
    // runs b0 when a1 finishes.
    let second = t.spawn(&["apply", "-m", "b", "-s", "."]);
    wait_for(&t, "trace.txt", "START b0");
    go(&t, ".", &["a1", "a2"]);
    let first = common::Output::of(first.wait_with_output().unwrap(), t.path());
    first
        .code(1)
        .no_panic()
        .stderr_has(".ordo/state.json.lock was replaced by another file while this run held it")
        .stderr_has("the state does not record that `a1` finished")
        .stderr_has(&format!("is locked by pid {}", second.id()));
    go(&t, "b", &["b0"]);
    let second = common::Output::of(second.wait_with_output().unwrap(), t.path());
    second.code(0);
    let trace = t.read("trace.txt");
    assert!(
        !trace.contains("START a2"),
        "nothing starts after:\n{trace}"
    );
    // a0 (recorded before the lock went) and b0 are there; a1 is not, as the first run said.
    assert_eq!(recorded(&t), ["a0", "b0"]);
}

/// The lock file is replaced (removed, and a new one made) under a run: the same.
#[test]
fn a_lock_replaced_mid_run_stops_the_run() {
    let t = Test::new()
        .handler("slow.rhai", SLOW)
        .manifest("m.yaml", &slow_chain("s", 4));
    go(&t, ".", &["s0"]);
    let child = t.spawn(&["apply", "-j", "1"]);
    wait_for(&t, "trace.txt", "START s1");
    let lock = t.path().join(".ordo/state.json.lock");
    std::fs::remove_file(&lock).unwrap();
    std::fs::write(&lock, "").unwrap();
    go(&t, ".", &["s1", "s2", "s3"]);
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(1)
        .stderr_has("state.json.lock was replaced by another file while this run held it")
        .stderr_has("everything that finished is recorded");
    assert_eq!(recorded(&t), ["s0", "s1"]);
}

/// `ordo state unlock --force` removes a lock whose holder runs: the holder stops.
#[test]
fn a_forced_unlock_stops_the_holder() {
    let t = Test::new()
        .handler("slow.rhai", SLOW)
        .manifest("m.yaml", &slow_chain("s", 4));
    go(&t, ".", &["s0"]);
    let child = t.spawn(&["apply", "-j", "1"]);
    wait_for(&t, "trace.txt", "START s1");
    t.run(&["state", "unlock", "--force"])
        .code(0)
        .stdout_has("removed the lock");
    go(&t, ".", &["s1", "s2", "s3"]);
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(1).stderr_has("was removed while this run held it");
    assert_eq!(recorded(&t), ["s0", "s1"]);
}
