//! The state journal: a bad line is an error that keeps it, only a torn last line is left
//! out, and a journal that cannot be written stops the run (issue 16, items 2 and 3;
//! DESIGN.md §8).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{Test, recorded, trace_doc};

const JOURNAL: &str = ".ordo/state.json.journal";

/// Three manifests applied, then their state turned back into a journal of three lines
/// (`put a`, `put b`, `put c`) beside an empty state: what a run killed before its fold
/// leaves.
fn journaled() -> (Test, Vec<String>) {
    let t = Test::new().trace().manifest(
        "m.yaml",
        &[
            trace_doc("a", "", ""),
            trace_doc("b", "", ""),
            trace_doc("c", "", ""),
        ]
        .concat(),
    );
    t.run(&["apply", "-j", "1"]).code(0);
    let state: serde_json::Value = serde_json::from_str(&t.read(".ordo/state.json")).unwrap();
    let lines = ["a", "b", "c"]
        .iter()
        .map(|name| {
            serde_json::json!({"put": {
                "env": "default",
                "name": name,
                "entry": state["environments"]["default"][name],
            }})
            .to_string()
        })
        .collect();
    std::fs::remove_file(t.path().join(".ordo/state.json")).unwrap();
    t.take_trace();
    (t, lines)
}

/// A bad line in the middle: every command that reads the state stops with an error naming
/// the journal and the line, nothing runs, and the journal is kept as it was.
fn refused_at_line(t: &Test, journal: &str, line: usize) {
    std::fs::write(t.path().join(JOURNAL), journal).unwrap();
    let at = format!("the state journal .ordo/state.json.journal is not valid at line {line}");
    t.run(&["state", "list"]).code(1).no_panic().stderr_has(&at);
    t.run(&["apply"])
        .code(1)
        .stderr_has(&at)
        .stderr_has("fix or delete that line");
    t.run(&["plan"]).code(1).stderr_has(&at);
    assert!(t.take_trace().is_empty(), "nothing ran");
    assert_eq!(t.read(JOURNAL), journal, "the journal is kept as it was");
    assert!(!t.exists(".ordo/state.json"));
}

/// Issue 16: an empty line in the middle silently dropped every record after it, and the
/// next run deleted the journal.
#[test]
fn an_empty_line_mid_journal_is_an_error_and_the_journal_is_kept() {
    let (t, lines) = journaled();
    refused_at_line(
        &t,
        &format!("{}\n\n{}\n{}\n", lines[0], lines[1], lines[2]),
        2,
    );
}

/// Issue 16: likewise garbage in the middle.
#[test]
fn garbage_mid_journal_is_an_error_and_the_journal_is_kept() {
    let (t, lines) = journaled();
    let journal = format!(
        "{}\n{}\n{{\"put\": garbage\n{}\n",
        lines[0], lines[1], lines[2]
    );
    refused_at_line(&t, &journal, 3);
    // Once the line is fixed (here: deleted), every record is there.
    std::fs::write(
        t.path().join(JOURNAL),
        format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]),
    )
    .unwrap();
    assert_eq!(recorded(&t), ["a", "b", "c"]);
}

/// A last line that does end with a newline but is not a record was not torn by a kill
/// (a record is written in one piece, newline included): an error too.
#[test]
fn a_bad_last_line_with_its_newline_is_an_error() {
    let (t, lines) = journaled();
    refused_at_line(&t, &format!("{}\n{}\n{{\"put\":\n", lines[0], lines[1]), 3);
}

/// A torn last line (no newline: the process died writing it) is that manifest not having
/// finished being recorded: left out, and the journal is folded as usual.
#[test]
fn a_torn_last_line_is_left_out() {
    let (t, lines) = journaled();
    let torn = &lines[2][..lines[2].len() / 2];
    std::fs::write(
        t.path().join(JOURNAL),
        format!("{}\n{}\n{torn}", lines[0], lines[1]),
    )
    .unwrap();
    assert_eq!(recorded(&t), ["a", "b"]);
    t.run(&["apply", "-j", "1"]).code(0);
    assert!(!t.exists(JOURNAL), "folded");
    assert_eq!(recorded(&t), ["a", "b", "c"]);
}

/// Runs ordo with `RLIMIT_FSIZE` at `bytes` (`ulimit -f`): no file it writes can grow past
/// that size, and a write that would fails with `EFBIG` (ordo catches `SIGXFSZ`, which
/// would otherwise end it). A real failure of write(2) on the journal, the way a full disk
/// fails it, without root or a small filesystem.
#[expect(
    unsafe_code,
    reason = "setrlimit between fork and exec has no safe wrapper"
)]
fn run_with_file_size_limit(t: &Test, bytes: u64, args: &[&str]) -> common::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"));
    cmd.args(args)
        .current_dir(t.path())
        .env("TRACE_FILE", t.path().join("trace.txt"));
    // SAFETY: setrlimit is async-signal-safe, and uses only a value copied in.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    common::Output::of(cmd.output().unwrap(), t.path())
}

/// Issue 16: with the disk full, the run went on starting manifests it could no longer
/// record (40 printed `changed`, 18 recorded). A failure to write the journal now stops new
/// work at once, and the error names what finished but is not recorded.
#[test]
fn a_journal_that_cannot_be_written_stops_the_run_and_names_what_is_not_recorded() {
    let names: Vec<String> = (0..12).map(|i| format!("m{i:02}")).collect();
    let yaml: String = names.iter().map(|n| trace_doc(n, "", "")).collect();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    // A journal line is some 500 bytes here: a few fit, not twelve.
    let out = run_with_file_size_limit(&t, 2000, &["apply", "-j", "1"]);
    out.code(1)
        .no_panic()
        .stderr_has("cannot write the state file .ordo/state.json.journal: File too large")
        .stdout_has("(the run stopped: the state cannot record any more)");
    let applied: Vec<String> = t
        .take_trace()
        .iter()
        .map(|l| l.strip_prefix("APPLY ").unwrap().to_string())
        .collect();
    // The manifest whose record failed was the last to start.
    let last = applied.last().unwrap();
    assert!(
        applied.len() > 1 && applied.len() < names.len(),
        "{applied:?}"
    );
    assert_eq!(applied, names[..applied.len()]);
    out.stderr_has(&format!(
        "the run stopped, and the state does not record that `{last}` finished (a later run does it again)"
    ));
    // The state file could not be written either (it is bigger still): said as a note.
    out.stderr_has("saving the state failed too: cannot write the state file .ordo/state.json");
    // Everything before it is recorded (in the journal, folded by the next command).
    assert_eq!(recorded(&t), names[..applied.len() - 1]);
    // With room again, the next run does the rest.
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(recorded(&t), names);
}

/// The fault of the issue itself, a full disk (`ENOSPC`): `.ordo` is a 16 KiB tmpfs,
/// mounted in a user namespace (`unshare -rm`, no root needed). Where user namespaces are
/// not allowed, this test says so and checks nothing; the test above, with a file size
/// limit, takes the same path through ordo everywhere.
#[test]
fn a_full_disk_stops_the_run_and_names_what_is_not_recorded() {
    let names: Vec<String> = (0..60).map(|i| format!("m{i:02}")).collect();
    let yaml: String = names.iter().map(|n| trace_doc(n, "", "")).collect();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    std::fs::create_dir_all(t.path().join(".ordo")).unwrap();
    let probe = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=16k none .ordo"])
        .current_dir(t.path())
        .stderr(std::process::Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot mount a tmpfs in a user namespace here (unshare -rm)");
        return;
    }
    // The tmpfs lives as long as the namespace: everything runs inside, and leaves its
    // output beside `.ordo`.
    let script = r#"mount -t tmpfs -o size=16k none .ordo || exit 99
"$ORDO" apply -j 1 >apply.out 2>apply.err
echo $? >apply.code
"$ORDO" state list -o json >list.json 2>list.err
"#;
    let status = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .current_dir(t.path())
        .env("ORDO", env!("CARGO_BIN_EXE_ordo"))
        .env("TRACE_FILE", t.path().join("trace.txt"))
        .status()
        .unwrap();
    assert!(status.success());
    let stderr = t.read("apply.err");
    assert_eq!(t.read("apply.code").trim(), "1", "{stderr}");
    assert!(
        stderr.contains(
            "cannot write the state file .ordo/state.json.journal: No space left on device"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let applied: Vec<String> = t
        .take_trace()
        .iter()
        .map(|l| l.strip_prefix("APPLY ").unwrap().to_string())
        .collect();
    assert!(
        applied.len() > 1 && applied.len() < names.len(),
        "{applied:?}"
    );
    assert_eq!(
        applied,
        names[..applied.len()],
        "nothing started after the failure"
    );
    let last = applied.last().unwrap();
    assert!(
        stderr.contains(&format!("the state does not record that `{last}` finished")),
        "{stderr}"
    );
    assert!(
        t.read("apply.out")
            .contains("(the run stopped: the state cannot record any more)")
    );
    // What was recorded before the disk filled is all there.
    let listed: serde_json::Value = serde_json::from_str(&t.read("list.json"))
        .unwrap_or_else(|e| panic!("{e}: {}", t.read("list.err")));
    let recorded: Vec<&str> = listed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, names[..applied.len() - 1]);
}

/// A FIFO planted as the journal or the state file is an error naming it, never a hang
/// while holding the lock (issue 16 attack).
#[test]
fn a_fifo_as_the_journal_or_the_state_is_an_error_not_a_hang() {
    for name in ["state.json.journal", "state.json"] {
        let (t, _) = journaled();
        let path = t.path().join(".ordo").join(name);
        let _ = std::fs::remove_file(&path);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        t.run(&["state", "list"])
            .code(1)
            .stderr_has(name)
            .stderr_has("not a regular file");
        t.run(&["apply"]).code(1).stderr_has("not a regular file");
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}
