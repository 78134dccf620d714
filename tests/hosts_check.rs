//! `ordo hosts --check` (issue 17 part 1) against real sshd processes on 127.0.0.1
//! (tests/common/sshd.rs): each selected host is connected to and timed, an unreachable one
//! is named with ssh's reason and makes the exit code 1, and no `ssh` process outlives the
//! command, whether it ends by itself or by Ctrl-C.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::sshd::{Lab, inventory};
use common::{Test, processes_matching};
use serde_json::Value;

/// The `ssh` clients and masters of this lab: every one has the lab's known_hosts file on
/// its command line (the lab's sshd processes do not).
fn lab_ssh_processes(lab: &Lab) -> String {
    processes_matching(&format!(
        "UserKnownHostsFile={}",
        lab.dir().join("known_hosts").display()
    ))
}

/// What is still running of this lab's `ssh` processes after up to `limit`.
fn ssh_left_after(lab: &Lab, limit: Duration) -> String {
    let until = Instant::now() + limit;
    loop {
        let left = lab_ssh_processes(lab);
        if left.trim().is_empty() || Instant::now() >= until {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn host<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host `{name}` in {report}"))
}

#[test]
fn two_hosts_up_and_one_stopped_exit_1_naming_the_stopped_one() {
    let Some(lab) = Lab::new() else { return };
    let web1 = lab.host("web-1", 10);
    let web2 = lab.host("web-2", 10);
    let mut db1 = lab.host("db-1", 10);
    let entries = [&web1, &web2, &db1].map(|h| lab.reach(h).inventory_entry(""));
    let stopped_port = db1.port;
    db1.stop();
    let t = Test::new().file("inventory.yaml", &inventory(&entries));

    let out = t.run(&["hosts", "--check", "-i", "inventory.yaml"]);
    out.code(1)
        .no_panic()
        .stdout_has("2 of 3 hosts reachable; not reachable: `db-1`")
        .stdout_has(&format!("port {stopped_port}: Connection refused"));
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for `{name}`:\n{}", out.stdout))
            .to_string()
    };
    for up in ["web-1", "web-2"] {
        let l = line(up);
        assert!(
            l.contains("  ok  ") && l.contains(" ms"),
            "`{up}` is reachable, with a latency: {l}"
        );
    }
    assert!(line("db-1").contains("  unreachable  "), "{}", out.stdout);
    assert!(
        line("db-1").contains(&format!("127.0.0.1:{stopped_port}")),
        "the line says where the host was looked for: {}",
        out.stdout
    );
    let left = ssh_left_after(&lab, Duration::from_secs(3));
    assert!(left.trim().is_empty(), "ssh processes left: {left}");
}

#[test]
fn json_has_reachable_latency_and_error_per_host_and_ok_only_when_all_are_reachable() {
    let Some(lab) = Lab::new() else { return };
    let web1 = lab.host("web-1", 10);
    let mut db1 = lab.host("db-1", 10);
    let entries = [&web1, &db1].map(|h| lab.reach(h).inventory_entry(""));
    db1.stop();
    let t = Test::new().file("inventory.yaml", &inventory(&entries));

    let out = t.run(&["hosts", "--check", "-i", "inventory.yaml", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(report["command"], "hosts");
    assert_eq!(report["ok"], false);
    let web = host(&report, "web-1");
    assert_eq!(web["reachable"], true, "{web}");
    assert_eq!(web["status"], "ok");
    assert!(web["latency_ms"].as_f64().unwrap() > 0.0, "{web}");
    assert!(web["connect_ms"].as_f64().unwrap() > 0.0, "{web}");
    assert_eq!(web["error"], Value::Null);
    let db = host(&report, "db-1");
    assert_eq!(db["reachable"], false, "{db}");
    assert_eq!(db["status"], "unreachable");
    assert_eq!(db["latency_ms"], Value::Null);
    assert!(
        db["error"].as_str().unwrap().contains("Connection refused"),
        "ssh's own reason: {db}"
    );

    // `--limit` leaves the stopped host out: all reachable, exit 0.
    let out = t.run(&[
        "hosts",
        "--check",
        "-i",
        "inventory.yaml",
        "--limit",
        "!db-1",
        "-o",
        "json",
    ]);
    out.code(0);
    let report = out.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["hosts"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(host(&report, "web-1")["reachable"], true);
    let left = ssh_left_after(&lab, Duration::from_secs(3));
    assert!(left.trim().is_empty(), "ssh processes left: {left}");
}

#[test]
fn ctrl_c_while_a_host_is_still_connecting_leaves_no_ssh_running() {
    let Some(lab) = Lab::new() else { return };
    let web1 = lab.host("web-1", 10);
    // A host that accepts the TCP connection and never says a word: ssh waits for its
    // banner until ConnectTimeout (10 s), far past the Ctrl-C.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut mute = lab.reach(&web1);
    mute.name = "mute".into();
    mute.port = silent.local_addr().unwrap().port();
    let entries = [
        lab.reach(&web1).inventory_entry(""),
        mute.inventory_entry(""),
    ];
    let t = Test::new().file("inventory.yaml", &inventory(&entries));

    let child = t.spawn(&["hosts", "--check", "-i", "inventory.yaml"]);
    let until = Instant::now() + Duration::from_secs(10);
    let waiting = || processes_matching(&format!("^ssh .*-p {} ", mute.port));
    while waiting().trim().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!waiting().trim().is_empty(), "ssh never started for `mute`");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130).no_panic();
    assert!(
        sent.elapsed() < Duration::from_secs(8),
        "Ctrl-C ends the check at once, not after ConnectTimeout: {:?}",
        sent.elapsed()
    );
    let mute_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("mute "))
        .unwrap_or_else(|| panic!("no line for `mute`:\n{}", out.stdout));
    assert!(mute_line.contains("interrupted"), "{mute_line}");
    let left = ssh_left_after(&lab, Duration::from_secs(3));
    assert!(left.trim().is_empty(), "ssh processes left: {left}");
    drop(silent);
}

#[test]
fn a_host_refusing_the_key_is_unreachable_with_ssh_s_reason() {
    let Some(lab) = Lab::new() else { return };
    let web1 = lab.host("web-1", 10);
    // Another key than the one in the host's authorized_keys: the host's own key.
    let mut wrong = lab.reach(&web1);
    wrong.name = "wrong-key".into();
    wrong.identity_file = lab.dir().join("host_web-1_ed25519");
    let entries = [
        lab.reach(&web1).inventory_entry(""),
        wrong.inventory_entry(""),
    ];
    let t = Test::new().file("inventory.yaml", &inventory(&entries));

    let out = t.run(&["hosts", "--check", "-i", "inventory.yaml", "-o", "json"]);
    out.code(1).no_panic();
    let report = out.json();
    assert_eq!(host(&report, "web-1")["reachable"], true);
    let refused = host(&report, "wrong-key");
    assert_eq!(refused["status"], "unreachable", "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("Permission denied (publickey"),
        "BatchMode: no prompt, ssh's own reason: {refused}"
    );
    let left = ssh_left_after(&lab, Duration::from_secs(3));
    assert!(left.trim().is_empty(), "ssh processes left: {left}");
}
