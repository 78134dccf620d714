//! The OpenSSH transport (`ordo::target::ssh`) against real sshd processes on 127.0.0.1
//! (tests/common/sshd.rs): commands and exit codes, unreachable hosts, timeouts that kill
//! the remote process group, the per-host session bound under a small `MaxSessions`, the
//! master's end, and atomic, skipped-when-equal file writes. The "remote" host is this
//! machine, so its processes and files are visible here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::processes_matching;
use common::sshd::{Lab, alive};
use ordo::target::TransportError;
use ordo::target::ssh::{Connection, HostParams, RemoteCommand, Settings};

/// A number no other process on the machine has in its command line: a `sleep` of
/// 1000.<pid><n> seconds can be looked for in /proc afterwards (as `^sleep N`: the local
/// `ssh` client's command line holds the text too).
fn unique_sleep() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "1000.{}{:03}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn connect(lab: &Lab, host: &common::sshd::Sshd, settings: Settings) -> Connection {
    let reach = lab.reach(host);
    let params = HostParams {
        name: reach.name,
        address: reach.address,
        port: Some(reach.port),
        user: None,
        identity_file: Some(reach.identity_file),
        ssh_options: reach.ssh_options,
    };
    Connection::new(params, settings).expect("a connection")
}

/// Waits up to `limit` for `pattern` to leave /proc; returns what still matches.
fn gone_within(pattern: &str, limit: Duration) -> String {
    let until = Instant::now() + limit;
    loop {
        let left = processes_matching(pattern);
        if left.trim().is_empty() || Instant::now() >= until {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_command_runs_and_returns_its_output_and_exit_code() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());

    let out = conn
        .run(&RemoteCommand::new([
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ]))
        .unwrap();
    assert_eq!(out.code, 3);
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(
        out.stderr, b"err\n",
        "the start marker is not part of stderr"
    );

    // Hostile arguments arrive as they were sent, through the login shell and `sh -c`.
    let hostile = [
        "a b",
        "it's",
        "\"q\"",
        "$(touch /tmp/ordo-pwned)",
        "`id`",
        "line1\nline2",
        "-n",
        "",
        "*",
        "a;b|c&d",
    ];
    let mut argv = vec!["printf", "%s\\0"];
    argv.extend(hostile);
    let out = conn
        .run(
            &RemoteCommand::new(argv)
                .env("GREETING", "hello 'there' $(x)")
                .cwd(lab.dir().to_str().unwrap()),
        )
        .unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    let words: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split_terminator('\0')
        .collect();
    assert_eq!(words, hostile);

    let out = conn
        .run(
            &RemoteCommand::new(["sh", "-c", "printf '%s|%s' \"$GREETING\" \"$PWD\""])
                .env("GREETING", "hello 'there' $(x)")
                .cwd(lab.dir().to_str().unwrap()),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("hello 'there' $(x)|{}", lab.dir().display())
    );

    let out = conn
        .run(&RemoteCommand::new(["cat"]).stdin("fed on stdin"))
        .unwrap();
    assert_eq!(out.stdout, b"fed on stdin");
    assert!(!std::path::Path::new("/tmp/ordo-pwned").exists());
}

#[test]
fn output_is_capped() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let out = conn
        .run(&RemoteCommand::new(["sh", "-c", "head -c 100000 /dev/zero"]).max_output(1000))
        .unwrap();
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.truncated);
}

#[test]
fn a_command_s_own_exit_255_is_not_a_connection_failure() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let out = conn
        .run(&RemoteCommand::new(["sh", "-c", "echo bye >&2; exit 255"]))
        .unwrap();
    assert_eq!(out.code, 255);
    assert_eq!(out.stderr, b"bye\n");
    // A command killed by a signal exits 128 + N, as locally, not ssh's 255.
    let out = conn
        .run(&RemoteCommand::new(["sh", "-c", "kill -KILL $$"]))
        .unwrap();
    assert_eq!(out.code, 128 + 9);
}

#[test]
fn a_stopped_sshd_makes_the_host_unreachable() {
    let Some(lab) = Lab::new() else { return };
    let mut host = lab.host("db", 10);
    host.stop();
    let conn = connect(&lab, &host, Settings::default());
    let err = conn.run(&RemoteCommand::new(["true"])).unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert!(
        err.to_string().contains("Connection refused"),
        "ssh's reason is kept: {err}"
    );
}

#[test]
fn a_master_that_died_is_restarted_once_then_the_host_is_unreachable() {
    let Some(lab) = Lab::new() else { return };
    let mut host = lab.host("db", 10);
    let conn = connect(&lab, &host, Settings::default());
    conn.run(&RemoteCommand::new(["true"])).unwrap();

    // The master dies (the host rebooted, say): the next command starts a new one.
    let first = conn.master_pid().expect("a master runs");
    std::process::Command::new("kill")
        .arg(first.to_string())
        .status()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while alive(first) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = conn.run(&RemoteCommand::new(["echo", "again"])).unwrap();
    assert_eq!(out.stdout, b"again\n");
    let second = conn.master_pid().expect("a new master runs");
    assert_ne!(first, second);

    // Now the host is gone too: the restart fails, and the command is `unreachable`.
    host.stop();
    std::process::Command::new("kill")
        .arg(second.to_string())
        .status()
        .unwrap();
    while alive(second) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let err = conn.run(&RemoteCommand::new(["true"])).unwrap_err();
    assert!(err.is_unreachable(), "{err}");
}

#[test]
fn a_timeout_kills_the_remote_process_group() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let (a, b) = (unique_sleep(), unique_sleep());
    let started = Instant::now();
    let err = conn
        .run(
            &RemoteCommand::new(["sh", "-c", &format!("sleep {a} & sleep {b}; wait")])
                .timeout(Duration::from_millis(500)),
        )
        .unwrap_err();
    assert!(matches!(err, TransportError::TimedOut { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Both the foreground and the background `sleep` are gone, not just the local client.
    for s in [a, b] {
        let left = gone_within(&format!("^sleep {s}"), Duration::from_secs(1));
        assert!(left.trim().is_empty(), "remote sleep {s} survived: {left}");
    }
    // The connection is still usable.
    assert_eq!(conn.run(&RemoteCommand::new(["true"])).unwrap().code, 0);
}

#[test]
fn a_command_ignoring_sigterm_is_killed_after_the_grace() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let s = unique_sleep();
    let started = Instant::now();
    let err = conn
        .run(
            // An ignored signal stays ignored across exec: the sleep ignores SIGTERM too.
            &RemoteCommand::new(["sh", "-c", &format!("trap '' TERM; sleep {s}")])
                .timeout(Duration::from_millis(300)),
        )
        .unwrap_err();
    assert!(matches!(err, TransportError::TimedOut { .. }), "{err}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "SIGKILL waited for the grace: {took:?}"
    );
    let left = gone_within(&format!("^sleep {s}"), Duration::from_secs(1));
    assert!(left.trim().is_empty(), "remote sleep {s} survived: {left}");
}

#[test]
fn max_sessions_1_with_per_host_4_is_bounded_and_nothing_fails() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("tiny", 1);
    let settings = Settings {
        per_host: 4,
        ..Settings::default()
    };
    let conn = connect(&lab, &host, settings);
    let started = Instant::now();
    let spans: Vec<(f64, f64)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let out = conn
                        .run(&RemoteCommand::new([
                            "sh",
                            "-c",
                            "date +%s.%N; sleep 0.6; date +%s.%N",
                        ]))
                        .unwrap();
                    assert_eq!(out.code, 0, "{out:?}");
                    let text = String::from_utf8(out.stdout).unwrap();
                    let t: Vec<f64> = text.lines().map(|l| l.parse().unwrap()).collect();
                    (t[0], t[1])
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(spans.len(), 8);
    // At most 4 ran at once on the host: at every start, count who was running.
    let most = spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap();
    assert!(most <= 4, "{most} sessions at once: {spans:?}");
    assert!(conn.peak_sessions() <= 4);
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "two waves"
    );
}

#[test]
fn the_master_is_gone_after_close_and_after_drop() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let dir = conn.socket_dir().to_path_buf();
    let pattern = dir.to_str().unwrap().to_string();
    assert!(
        processes_matching(&pattern).trim().is_empty(),
        "started on first use"
    );
    conn.run(&RemoteCommand::new(["true"])).unwrap();
    let pid = conn.master_pid().expect("a master runs");
    assert!(alive(pid));
    assert!(!processes_matching(&pattern).trim().is_empty());
    assert!(
        dir.as_os_str().len() + 1 + 40 < 90,
        "the socket path stays short: {dir:?}"
    );

    conn.close();
    assert!(!alive(pid));
    let left = gone_within(&pattern, Duration::from_secs(1));
    assert!(
        left.trim().is_empty(),
        "an ssh with the ControlPath is left: {left}"
    );

    // Used again, it starts a new master; dropped, it closes it and removes the socket dir.
    conn.run(&RemoteCommand::new(["true"])).unwrap();
    let pid = conn.master_pid().expect("a new master runs");
    drop(conn);
    assert!(!alive(pid));
    let left = gone_within(&pattern, Duration::from_secs(1));
    assert!(
        left.trim().is_empty(),
        "an ssh with the ControlPath is left: {left}"
    );
    assert!(!dir.exists());
}

#[test]
fn an_interrupt_kills_running_commands_and_closes_the_master() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let s = unique_sleep();
    let pattern = conn.socket_dir().to_str().unwrap().to_string();
    std::thread::scope(|scope| {
        let running = scope.spawn(|| conn.run(&RemoteCommand::new(["sleep", &s])));
        let until = Instant::now() + Duration::from_secs(10);
        while processes_matching(&format!("^sleep {s}")).trim().is_empty() {
            assert!(Instant::now() < until, "the remote sleep never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        conn.interrupt();
        let err = running.join().unwrap().unwrap_err();
        assert!(matches!(err, TransportError::Interrupted { .. }), "{err}");
    });
    let left = gone_within(&format!("^sleep {s}"), Duration::from_secs(1));
    assert!(left.trim().is_empty(), "remote sleep survived: {left}");
    let left = gone_within(&pattern, Duration::from_secs(1));
    assert!(
        left.trim().is_empty(),
        "an ssh with the ControlPath is left: {left}"
    );
    let err = conn.run(&RemoteCommand::new(["true"])).unwrap_err();
    assert!(matches!(err, TransportError::Interrupted { .. }), "{err}");
}

#[test]
fn a_write_is_skipped_when_the_file_already_matches() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let path = lab.dir().join("motd");
    let p = path.to_str().unwrap();

    assert!(conn.write(p, b"hello\n", 0o644).unwrap(), "new file");
    let inode = std::fs::metadata(&path).unwrap().ino();
    assert!(
        !conn.write(p, b"hello\n", 0o644).unwrap(),
        "same content and mode"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().ino(),
        inode,
        "an unchanged file is not rewritten"
    );
    assert!(
        conn.write(p, b"hello\n", 0o600).unwrap(),
        "the mode differs"
    );
    assert!(
        conn.write(p, b"changed\n", 0o600).unwrap(),
        "the content differs"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"changed\n");

    // Big content first asks, and is not sent when it matches.
    let big = vec![b'x'; 200 << 10];
    assert!(conn.write(p, &big, 0o644).unwrap());
    assert!(!conn.write(p, &big, 0o644).unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), big);
}

#[test]
fn a_write_is_atomic_with_its_mode() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let dir = lab.dir().join("etc");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("app.conf");
    std::fs::write(&path, "old").unwrap();
    // A reader holding the old file keeps the old content: the new one is renamed over it.
    let held = std::fs::File::open(&path).unwrap();
    let content = "new 'content' with $(no expansion)\n".repeat(100);
    assert!(
        conn.write(path.to_str().unwrap(), content.as_bytes(), 0o640)
            .unwrap()
    );
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    let mut old = String::new();
    std::io::Read::read_to_string(&mut &held, &mut old).unwrap();
    assert_eq!(old, "old");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["app.conf"], "no temp file is left");

    // A write that fails (no such directory) says why, and leaves nothing behind.
    let missing = lab.dir().join("nope").join("x.conf");
    let err = conn
        .write(missing.to_str().unwrap(), b"x", 0o644)
        .unwrap_err();
    assert!(matches!(err, TransportError::FileFailed { .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn a_read_is_bounded() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let path = lab.dir().join("data");
    std::fs::write(&path, vec![b'a'; 100]).unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(conn.read(p, 100).unwrap(), vec![b'a'; 100]);
    let err = conn.read(p, 99).unwrap_err();
    assert!(matches!(err, TransportError::TooLarge { .. }), "{err}");
    let err = conn
        .read(lab.dir().join("missing").to_str().unwrap(), 10)
        .unwrap_err();
    assert!(matches!(err, TransportError::NotFound { .. }), "{err}");
}

#[test]
fn non_utf8_and_nul_arguments_are_refused_before_connecting() {
    use std::os::unix::ffi::OsStringExt;
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let bad = std::ffi::OsString::from_vec(vec![b'a', 0xff]);
    let err = conn
        .run(&RemoteCommand::new([std::ffi::OsString::from("echo"), bad]))
        .unwrap_err();
    assert!(matches!(err, TransportError::BadArgument { .. }), "{err}");
    let err = conn.run(&RemoteCommand::new(["echo", "a\0b"])).unwrap_err();
    assert!(matches!(err, TransportError::BadArgument { .. }), "{err}");
    assert!(conn.master_pid().is_none(), "nothing connected");
}

/// How many lines of the host's sshd log hold `what` ("Accepted publickey": connections;
/// "Starting session": sessions).
fn log_count(host: &common::sshd::Sshd, what: &str) -> usize {
    std::fs::read_to_string(&host.log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(what))
        .count()
}

#[test]
fn commands_run_one_after_another_on_one_worker_session() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    let path = path.to_str().unwrap();
    for i in 0..10 {
        let out = conn
            .run(&RemoteCommand::new(["echo", &i.to_string()]))
            .unwrap();
        assert_eq!(out.stdout, format!("{i}\n").as_bytes());
        assert!(conn.write(path, format!("v{i}").as_bytes(), 0o640).unwrap());
        assert_eq!(conn.read(path, 100).unwrap(), format!("v{i}").as_bytes());
    }
    assert_eq!(conn.workers(), 1);
    assert_eq!(
        log_count(&host, "Starting session"),
        1,
        "30 commands, one session"
    );
    // Larger than a worker takes: a one-shot session, streamed.
    let big = vec![b'x'; 3 << 20];
    assert!(conn.write(path, &big, 0o600).unwrap());
    assert_eq!(std::fs::read(path).unwrap(), big);
    assert_eq!(conn.run(&RemoteCommand::new(["true"])).unwrap().code, 0);
}

#[test]
fn a_command_reading_stdin_cannot_desynchronise_the_worker() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    // No input: the command reads end-of-file at once, not the worker's next request.
    let out = conn.run(&RemoteCommand::new(["cat"])).unwrap();
    assert_eq!((out.code, out.stdout.as_slice()), (0, &b""[..]));
    // Input that looks like requests and markers is the command's input, nothing more.
    let input = "abc\nC x 1\nE\nK x\n\u{1e}ordo-e 00.1 0\n";
    let out = conn
        .run(&RemoteCommand::new(["sh", "-c", "cat; echo done"]).stdin(input))
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{input}done\n")
    );
    // A command that reads only part of its input leaves the rest unread, not queued.
    let out = conn
        .run(&RemoteCommand::new(["sh", "-c", "read x; echo \"$x\""]).stdin("one\ntwo\n"))
        .unwrap();
    assert_eq!(out.stdout, b"one\n");
    // A command printing a marker of its own does not end its output.
    let out = conn
        .run(&RemoteCommand::new([
            "sh",
            "-c",
            "printf '\\036ordo-e 0123.1 0\\n'; echo after; echo err >&2",
        ]))
        .unwrap();
    assert_eq!(out.stdout, b"\x1eordo-e 0123.1 0\nafter\n");
    assert_eq!(out.stderr, b"err\n");
    let out = conn.run(&RemoteCommand::new(["echo", "next"])).unwrap();
    assert_eq!(out.stdout, b"next\n");
    assert_eq!(conn.workers(), 1, "one worker did it all");
}

#[test]
fn a_huge_output_is_capped_and_the_worker_goes_on() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let out = conn
        .run(
            &RemoteCommand::new(["sh", "-c", "head -c 67108864 /dev/zero; echo e >&2"])
                .max_output(1 << 20),
        )
        .unwrap();
    assert_eq!(out.code, 0);
    assert!(out.truncated);
    assert_eq!(out.stdout.len(), 1 << 20);
    assert_eq!(out.stderr, b"e\n");
    let out = conn.run(&RemoteCommand::new(["echo", "ok"])).unwrap();
    assert_eq!(out.stdout, b"ok\n");
    assert_eq!(conn.workers(), 1);
}

#[test]
fn a_timeout_kills_the_command_and_the_worker_serves_the_next() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let s = unique_sleep();
    let err = conn
        .run(&RemoteCommand::new(["sleep", &s]).timeout(Duration::from_millis(300)))
        .unwrap_err();
    assert!(matches!(err, TransportError::TimedOut { .. }), "{err}");
    let left = gone_within(&format!("^sleep {s}"), Duration::from_secs(1));
    assert!(left.trim().is_empty(), "remote sleep {s} survived: {left}");
    let out = conn.run(&RemoteCommand::new(["echo", "ok"])).unwrap();
    assert_eq!(out.stdout, b"ok\n");
    assert_eq!(conn.workers(), 1);
    assert_eq!(log_count(&host, "Starting session"), 1, "the same session");
}

/// The parent of `pid`, from /proc.
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn a_worker_killed_mid_command_makes_the_call_unreachable_and_the_next_call_gets_a_new_one() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("web", 10);
    let conn = connect(&lab, &host, Settings::default());
    let s = unique_sleep();
    std::thread::scope(|scope| {
        let running = scope.spawn(|| conn.run(&RemoteCommand::new(["sleep", &s])));
        let until = Instant::now() + Duration::from_secs(10);
        let sleep = loop {
            if let Some(pid) = processes_matching(&format!("^sleep {s}"))
                .split_whitespace()
                .next()
                .and_then(|p| p.parse::<i32>().ok())
            {
                break pid;
            }
            assert!(Instant::now() < until, "the remote sleep never started");
            std::thread::sleep(Duration::from_millis(20));
        };
        // Its worker is the ancestor running the worker's loop (`ordo-r` in its script).
        let mut pid = sleep;
        let worker = loop {
            pid = parent(pid).expect("an ancestor");
            assert!(pid > 1, "no worker above the sleep");
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("ordo-r") {
                break pid;
            }
        };
        std::process::Command::new("kill")
            .args(["-KILL", &worker.to_string()])
            .status()
            .unwrap();
        let err = running.join().unwrap().unwrap_err();
        assert!(err.is_unreachable(), "{err}");
        assert!(err.to_string().contains("ended before it did"), "{err}");
    });
    let left = gone_within(&format!("^sleep {s}"), Duration::from_secs(5));
    assert!(left.trim().is_empty(), "remote sleep {s} survived: {left}");
    let out = conn.run(&RemoteCommand::new(["echo", "again"])).unwrap();
    assert_eq!(out.stdout, b"again\n");
    assert_eq!(conn.workers(), 1);
}

#[test]
fn max_sessions_1_keeps_one_connection_and_lowers_the_slots() {
    let Some(lab) = Lab::new() else { return };
    let host = lab.host("tiny", 1);
    let conn = connect(&lab, &host, Settings::default());
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let conn = &conn;
                scope.spawn(move || {
                    let out = conn
                        .run(&RemoteCommand::new([
                            "sh",
                            "-c",
                            &format!("sleep 0.2; echo {i}"),
                        ]))
                        .unwrap();
                    assert_eq!(out.stdout, format!("{i}\n").as_bytes());
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
    // A big write goes in a one-shot session: it too fits the one session the host allows.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    assert!(
        conn.write(path.to_str().unwrap(), &vec![b'y'; 2 << 20], 0o600)
            .unwrap()
    );
    assert_eq!(conn.slots(), 1, "the host allows one session");
    assert_eq!(
        log_count(&host, "Accepted publickey"),
        1,
        "one connection to the host, never a second"
    );
}

#[test]
fn a_host_without_setsid_runs_each_command_in_a_session_of_its_own() {
    let Some(lab) = Lab::new() else { return };
    // A PATH with every program of /usr/bin and /bin but `setsid`.
    let bin = tempfile::tempdir().unwrap();
    for dir in ["/usr/bin", "/bin"] {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name();
            let link = bin.path().join(&name);
            if name != "setsid" && !link.exists() {
                std::os::unix::fs::symlink(entry.path(), link).unwrap();
            }
        }
    }
    let host = lab.host_with(
        "nosetsid",
        10,
        &format!("SetEnv PATH={}\n", bin.path().display()),
    );
    let conn = connect(&lab, &host, Settings::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    let path = path.to_str().unwrap();
    for i in 0..3 {
        let out = conn
            .run(&RemoteCommand::new([
                "sh",
                "-c",
                "command -v setsid || echo none",
            ]))
            .unwrap();
        assert_eq!(out.stdout, b"none\n", "the host really lacks setsid");
        assert!(conn.write(path, format!("v{i}").as_bytes(), 0o640).unwrap());
        assert_eq!(conn.read(path, 100).unwrap(), format!("v{i}").as_bytes());
    }
    assert_eq!(conn.workers(), 0, "no worker on a host without setsid");
    assert!(
        log_count(&host, "Starting session") >= 9,
        "one session per command"
    );
}

/// F4 behind a proxy: with the inventory's `-J` or `ProxyCommand`, a session the master is
/// refused must still not open a connection of its own through that proxy.
#[test]
fn max_sessions_1_behind_a_jump_host_keeps_one_connection() {
    let Some(lab) = Lab::new() else { return };
    let jump = lab.host("jump", 10);
    let reach = lab.reach(&jump);
    // A configuration file naming the jump host: `-J` passes `-F` (not `-o`) on to the
    // `ssh -W` it starts for the jump.
    let config = lab.dir().join("jump_config");
    std::fs::write(
        &config,
        format!(
            "Host jump\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  BatchMode yes\n  UserKnownHostsFile {}\n  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n",
            reach.port,
            reach.identity_file.display(),
            lab.dir().join("known_hosts").display()
        ),
    )
    .unwrap();
    let proxy_command = format!("ProxyCommand=ssh -F {} -W %h:%p jump", config.display());
    let ways: [Vec<String>; 2] = [
        vec!["-J".into(), "jump".into()],
        vec!["-o".into(), proxy_command],
    ];
    for (n, way) in ways.into_iter().enumerate() {
        let host = lab.host(&format!("tiny{n}"), 1);
        let reach = lab.reach(&host);
        let mut ssh_options = vec!["-F".to_string(), config.display().to_string()];
        ssh_options.extend(reach.ssh_options.into_iter().skip(2));
        ssh_options.extend(way.clone());
        let params = HostParams {
            name: reach.name,
            address: reach.address,
            port: Some(reach.port),
            user: None,
            identity_file: Some(reach.identity_file),
            ssh_options,
        };
        let jumps_before = log_count(&jump, "Accepted publickey");
        let conn = Connection::new(params, Settings::default()).unwrap();
        std::thread::scope(|scope| {
            for i in 0..6 {
                let conn = &conn;
                scope.spawn(move || {
                    let out = conn
                        .run(&RemoteCommand::new([
                            "sh",
                            "-c",
                            &format!("sleep 0.2; echo {i}"),
                        ]))
                        .unwrap();
                    assert_eq!(out.stdout, format!("{i}\n").as_bytes());
                });
            }
        });
        assert_eq!(conn.slots(), 1, "{way:?}: the host allows one session");
        assert_eq!(
            log_count(&host, "Accepted publickey"),
            1,
            "{way:?}: one connection to the host, never a second"
        );
        assert_eq!(
            log_count(&jump, "Accepted publickey") - jumps_before,
            1,
            "{way:?}: one connection through the jump host"
        );
        conn.close();
    }
}
