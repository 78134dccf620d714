//! Every example's README is executable: each `cargo run -q -- ...` command in a `sh` block
//! (optionally after `cd DIR && `, which lasts for the commands after it, as in a shell) is
//! run (in a copy of the example, with the real binary), and the block that follows it is
//! its expected output. Timings are ignored; log lines (`info  ...`) are looked for on
//! stderr, every other line must be on stdout, in order.
//!
//! Examples that need a web server use `127.0.0.1:8080`; the test starts one on a free
//! port (`common::HttpServer`: `/ok`, `/file.bin`, ...) and puts its address in place of
//! that one, in the copied files, the commands and the expected output.
//!
//! examples/remote-hosts runs against two real sshd processes on 127.0.0.1
//! (tests/common/sshd.rs): the test writes the example's `inventory.yaml` with their
//! addresses, and shows them as the README's in the output it compares.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::sshd::Lab;
use common::{HttpServer, Test};

/// The address examples use for a web server; replaced by the test server's.
const PLACEHOLDER: &str = "127.0.0.1:8080";

struct Step {
    /// `cd DIR && cargo run ...`: the directory, relative to where the previous commands ran.
    dir: Option<String>,
    args: Vec<String>,
    expected: Vec<String>,
}

/// Extracts the commands and their expected output from a README.
fn steps(readme: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let fence = line.trim_start();
        if !fence.starts_with("```") {
            continue;
        }
        let lang = fence.trim_start_matches('`').trim();
        let block: Vec<String> = lines
            .by_ref()
            .take_while(|l| !l.trim_start().starts_with("```"))
            .map(str::to_string)
            .collect();
        if lang == "sh" {
            for cmd in &block {
                let (dir, cmd) = match cmd.trim().strip_prefix("cd ") {
                    Some(rest) => match rest.split_once(" && ") {
                        Some((dir, cmd)) => (Some(dir.to_string()), cmd),
                        None => (None, cmd.as_str()),
                    },
                    None => (None, cmd.as_str()),
                };
                if let Some(rest) = cmd.trim().strip_prefix("cargo run -q -- ") {
                    steps.push(Step {
                        dir,
                        args: shell_words(rest),
                        expected: Vec::new(),
                    });
                }
            }
        } else if lang.is_empty()
            && let Some(last) = steps.last_mut()
            && last.expected.is_empty()
        {
            last.expected = block;
        }
    }
    steps
}

/// Splits a command line on spaces, honouring double quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Replaces timings (`3 ms`, `1.20 s`) so output compares across machines.
fn normalize(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let unit = words.get(i + 1).copied().unwrap_or_default();
        let unit = unit.trim_end_matches(|c: char| !c.is_alphabetic());
        // `3 ms`, and `(29 ms)` as `ordo watch` ends a cycle's line.
        let number = words[i].strip_prefix('(').unwrap_or(words[i]);
        if number.parse::<f64>().is_ok() && (unit == "ms" || unit == "s") {
            out.push("<time>".to_string());
            i += 2;
        } else {
            out.push(words[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A line on stderr: a log line, an error, or a line of an error's excerpt (`  --> file`,
/// `   |`, `54 |  source`, `   = note: ...`).
fn is_log(line: &str) -> bool {
    let excerpt = line.starts_with(' ') && {
        let t = line.trim_start();
        t.starts_with("-->") || t.starts_with('|') || t.starts_with("= ")
    } || line
        .split_once(" |")
        .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    ["info ", "warn ", "debug ", "error ", "watch "]
        .iter()
        .any(|p| line.starts_with(p))
        || line.starts_with("error:")
        || excerpt
}

/// Copies an example (without its `out/`), with `PLACEHOLDER` replaced by `addr` in text
/// files; permission bits are kept (scripts stay executable).
fn copy_dir(from: &Path, to: &Path, addr: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            // Neither what a run wrote nor its state, if the example was run in place.
            if entry.file_name() != "out" && entry.file_name() != ".ordo" {
                copy_dir(&entry.path(), &target, addr);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            if let Ok(text) = std::fs::read_to_string(&target)
                && text.contains(PLACEHOLDER)
            {
                std::fs::write(&target, text.replace(PLACEHOLDER, addr)).unwrap();
            }
        }
    }
}

/// Runs the README of `examples/<name>` in a fresh copy, and checks that its commands
/// leave nothing behind in the example's state; returns the copy's root.
fn run_example(name: &str) -> tempfile::TempDir {
    run_example_with(name, |_| {}, &[], false, |_, _| {})
}

/// [`run_example`], with `prepare` called on the copied example directory before the first
/// command, each `(actual, shown)` of `replace` put back to what the README shows in the
/// output before it is compared (addresses a test chose), the lines compared in any order
/// when `any_order` (hosts run in parallel), and `after(i, example_dir)` called after the
/// `i`th command (from 0) has been checked.
fn run_example_with(
    name: &str,
    prepare: impl FnOnce(&Path),
    replace: &[(String, String)],
    any_order: bool,
    mut after: impl FnMut(usize, &Path),
) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let server = HttpServer::start();
    let addr = server.addr.to_string();
    copy_dir(
        &root.join("examples").join(name),
        &work.path().join("examples").join(name),
        &addr,
    );
    let readme =
        std::fs::read_to_string(root.join("examples").join(name).join("README.md")).unwrap();
    let steps = steps(&readme.replace(PLACEHOLDER, &addr));
    prepare(&work.path().join("examples").join(name));
    assert!(
        !steps.is_empty(),
        "examples/{name}/README.md shows no `cargo run -q -- ...` command"
    );
    // A `cd` lasts, as in the shell the reader types the commands into: the commands
    // after it run from that directory too.
    let mut cwd = work.path().to_path_buf();
    for (i, step) in steps.into_iter().enumerate() {
        if let Some(dir) = &step.dir {
            cwd = cwd.join(dir);
            assert!(
                cwd.is_dir(),
                "examples/{name}/README.md: `cd {dir}` fails where the reader is ({})",
                cwd.display()
            );
        }
        let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(&step.args)
            .current_dir(&cwd)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        for (actual, shown) in replace {
            stdout = stdout.replace(actual.as_str(), shown);
            stderr = stderr.replace(actual.as_str(), shown);
        }
        let context = format!(
            "examples/{name}: ordo {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            step.args.join(" ")
        );
        let expected_out: Vec<String> = step
            .expected
            .iter()
            .filter(|l| !is_log(l))
            .map(|l| normalize(l))
            .collect();
        let mut actual_out: Vec<String> = stdout.lines().map(normalize).collect();
        let mut expected_out = expected_out;
        if any_order {
            actual_out.sort();
            expected_out.sort();
        }
        assert_eq!(actual_out, expected_out, "{context}");
        for log in step.expected.iter().filter(|l| is_log(l)) {
            assert!(
                stderr.lines().any(|l| normalize(l) == normalize(log)),
                "missing on stderr: {log}\n{context}"
            );
        }
        // Each example is its own project: no run sees another's state.
        assert!(
            !stderr.contains("gone from the files"),
            "an orphan note\n{context}"
        );
        after(i, &work.path().join("examples").join(name));
    }
    assert_state_is_empty(name, work.path());
    work
}

/// The example's own state (`examples/<name>/.ordo/state.json`, its project root holds
/// `ordo.yaml`) records nothing: the README cleaned up fully. No state was written
/// anywhere else.
fn assert_state_is_empty(name: &str, work: &Path) {
    let example = work.join("examples").join(name);
    assert!(
        example.join("ordo.yaml").exists(),
        "examples/{name} has no ordo.yaml"
    );
    assert!(
        !work.join(".ordo").exists(),
        "examples/{name}: a state was written outside the example"
    );
    let path = example.join(".ordo/state.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            state["environments"],
            serde_json::json!({}),
            "examples/{name}: its README leaves entries in the state"
        );
    }
}

fn example_names() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("README.md").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn hello_world_runs_as_its_readme_says() {
    let work = run_example("hello-world");
    // The README's last command deleted what the first created.
    assert!(
        !work
            .path()
            .join("examples/hello-world/out/hello.txt")
            .exists()
    );
}

#[test]
fn environments_runs_as_its_readme_says() {
    let work = run_example("environments");
    assert!(
        !work
            .path()
            .join("examples/environments/out/app.example.com.conf")
            .exists()
    );
    // `dev` was torn down too.
    assert!(
        !work
            .path()
            .join("examples/environments/out/localhost.conf")
            .exists()
    );
}

#[test]
fn linked_manifests_runs_as_its_readme_says() {
    let work = run_example("linked-manifests");
    // The notes were written, then deleted by the last command, which read the variable
    // they use from the state; the download was removed before that.
    assert!(
        !work
            .path()
            .join("examples/linked-manifests/out/release.txt")
            .exists()
    );
    assert!(
        !work
            .path()
            .join("examples/linked-manifests/out/example-page.txt")
            .exists()
    );
}

#[test]
fn backup_on_delete_runs_as_its_readme_says() {
    let work = run_example("backup-on-delete");
    let out = work.path().join("examples/backup-on-delete/out");
    assert!(!out.join("data/records.csv").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("backup/records.csv.bak")).unwrap(),
        "id,name\n1,Ada\n2,Grace\n"
    );
}

#[test]
fn git_repo_runs_as_its_readme_says() {
    let work = run_example("git-repo");
    let out = work.path().join("examples/git-repo/out");
    // The clone was made, updated to 1.1, then deleted; the upstream has both releases.
    assert!(!out.join("checkout").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("upstream/VERSION")).unwrap(),
        "1.1\n"
    );
    let log = Command::new("git")
        .args(["log", "--format=%s"])
        .current_dir(out.join("upstream"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&log.stdout),
        "release 1.1\nrelease 1.0\n"
    );
}

#[test]
fn shell_pipeline_runs_as_its_readme_says() {
    let work = run_example("shell-pipeline");
    let report =
        std::fs::read_to_string(work.path().join("examples/shell-pipeline/out/report.txt"))
            .unwrap();
    // The README shows the report; it must be what the run wrote.
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shell-pipeline/README.md"),
    )
    .unwrap();
    let shown = readme
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    assert_eq!(report, shown);
    assert_eq!(
        report,
        "words: 17\ntop: 4 the 2 manifests 2 order\nTODO check exit code: 1\n"
    );
}

#[test]
fn service_lifecycle_runs_as_its_readme_says() {
    // start/stop in their orders, verify failing while stopped, a broken upgrade rolled
    // back; the last command deleted everything.
    let work = run_example("service-lifecycle");
    let out = work.path().join("examples/service-lifecycle/out");
    for name in ["db", "api", "web"] {
        assert!(!out.join(name).exists(), "{name} is left");
    }
}

#[test]
fn user_override_runs_as_its_readme_says() {
    // The `info` line only the user's handler logs is in the README's expected output.
    let work = run_example("user-override");
    assert!(!work.path().join("examples/user-override/out/motd").exists());
}

/// A stand-in for a program on a lab host: logs its arguments to `log`, then runs `body`.
fn stand_in(bin: &Path, name: &str, log: &Path, body: &str) {
    let path = bin.join(name);
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n{body}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// The README of examples/remote-hosts against two real sshd hosts on 127.0.0.1 (in place
/// of the inventory's `192.0.2.x`), each with its own directory as the host variable `root`
/// and stand-ins for `sudo` (which logs, then runs the command) and `systemctl` (which only
/// logs) first on its `PATH`.
#[test]
fn remote_hosts_runs_as_its_readme_says_on_two_lab_hosts() {
    let Some(lab) = Lab::new() else { return };
    let hosts = tempfile::tempdir().unwrap();
    let mut sshds = Vec::new();
    let mut entries = Vec::new();
    let mut replace = Vec::new();
    for (name, shown) in [
        ("web-1", "deploy@192.0.2.10"),
        ("web-2", "deploy@192.0.2.11"),
    ] {
        let root = hosts.path().join(name);
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        stand_in(
            &bin,
            "sudo",
            &root.join("sudo.log"),
            "[ \"$1\" = -n ] || exit 2; shift\n[ \"$1\" = -u ] && shift 2\n[ \"$1\" = -- ] && shift\nexec \"$@\"",
        );
        stand_in(&bin, "systemctl", &root.join("systemctl.log"), "exit 0");
        let sshd = lab.host_with(
            name,
            10,
            &format!(
                "SetEnv PATH={}:/usr/local/bin:/usr/bin:/bin\n",
                bin.display()
            ),
        );
        let reach = lab.reach(&sshd);
        entries.push(reach.inventory_entry(&format!(
            "root: {}",
            serde_json::to_string(&root.display().to_string()).unwrap()
        )));
        replace.push((format!("127.0.0.1:{}", sshd.port), shown.to_string()));
        sshds.push(sshd);
    }
    let inventory = format!(
        "{}  groups:\n    web: {{hosts: [\"web-*\"]}}\n",
        common::sshd::inventory(&entries)
    );
    let log = |host: &str, which: &str| {
        std::fs::read_to_string(hosts.path().join(host).join(which)).unwrap_or_default()
    };
    let config = |host: &str| hosts.path().join(host).join("etc/greeter/greeter.conf");
    let shipper = |host: &str| hosts.path().join(host).join("etc/logship/logship.conf");
    let mut applied = 0;
    run_example_with(
        "remote-hosts",
        |example| std::fs::write(example.join("inventory.yaml"), &inventory).unwrap(),
        &replace,
        true,
        |_, example| {
            // Which command ran: the state says whether anything is applied.
            let state =
                std::fs::read_to_string(example.join(".ordo/state.json")).unwrap_or_default();
            let now_applied = state.contains("greeter");
            if now_applied {
                applied += 1;
            }
            for host in ["web-1", "web-2"] {
                if now_applied {
                    // Each host has its own files, rendered for it...
                    let text = std::fs::read_to_string(config(host)).unwrap();
                    assert!(
                        text.contains(&format!("message = \"hello from {host}\"")),
                        "{text}"
                    );
                    assert!(shipper(host).exists());
                    // ...and each unit was restarted once, through sudo, however many
                    // applies ran: the second changed nothing.
                    assert_eq!(
                        log(host, "systemctl.log"),
                        "restart logship.service\nrestart greeter.service\n",
                        "on {host} after apply {applied}"
                    );
                    assert!(
                        log(host, "sudo.log").contains("-n "),
                        "{}",
                        log(host, "sudo.log")
                    );
                } else if applied > 0 {
                    // Deleted: the files are gone, the units told to restart if running.
                    assert!(!config(host).exists() && !shipper(host).exists());
                    assert!(
                        log(host, "systemctl.log").ends_with("try-restart logship.service\n"),
                        "{}",
                        log(host, "systemctl.log")
                    );
                }
            }
        },
    );
    assert_eq!(applied, 2, "the README applies twice");
    let left = common::processes_matching(&format!(
        "UserKnownHostsFile={}",
        lab.dir().join("known_hosts").display()
    ));
    assert!(left.trim().is_empty(), "ssh processes left: {left}");
    drop(sshds);
}

/// newuser17 #6: examples/remote-hosts' handler writes the file, then restarts. A restart
/// that fails once (after the file was written) is done by the next apply, not lost: the
/// handler's "restart pending" marker on the host makes `check` report work until a restart
/// succeeded.
#[test]
fn remote_hosts_handler_restarts_on_the_next_apply_when_a_restart_failed() {
    let Some(lab) = Lab::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    stand_in(
        &bin,
        "sudo",
        &root.path().join("sudo.log"),
        "[ \"$1\" = -n ] || exit 2; shift\n[ \"$1\" = -u ] && shift 2\n[ \"$1\" = -- ] && shift\nexec \"$@\"",
    );
    // The greeter's first restart fails (a broken unit, a sudo glitch); later ones work.
    let once = root.path().join("failed-once");
    stand_in(
        &bin,
        "systemctl",
        &root.path().join("systemctl.log"),
        &format!(
            "if [ \"$2\" = greeter.service ] && [ ! -e '{0}' ]; then touch '{0}'; echo 'Job for greeter.service failed' >&2; exit 1; fi",
            once.display()
        ),
    );
    let sshd = lab.host_with(
        "web-1",
        10,
        &format!(
            "SetEnv PATH={}:/usr/local/bin:/usr/bin:/bin\n",
            bin.display()
        ),
    );
    let entry = lab.reach(&sshd).inventory_entry(&format!(
        "root: {}",
        serde_json::to_string(&root.path().display().to_string()).unwrap()
    ));
    let t = Test::new()
        .handler(
            "service_config.rhai",
            &std::fs::read_to_string("examples/remote-hosts/service_config.rhai").unwrap(),
        )
        .manifest(
            "inventory.yaml",
            &format!(
                "{}  groups:\n    web: {{hosts: [\"web-*\"]}}\n",
                common::sshd::inventory(&[entry])
            ),
        )
        .manifest(
            "services.yaml",
            &std::fs::read_to_string("examples/remote-hosts/services.yaml").unwrap(),
        );
    let restarts = || std::fs::read_to_string(root.path().join("systemctl.log")).unwrap();
    let conf = root.path().join("etc/greeter/greeter.conf");
    let marker = root.path().join("etc/greeter/greeter.conf.restart-pending");

    let out = t.run(&["apply"]);
    out.code(1)
        .stdout_has("failed    ServiceConfig/greeter@web-1");
    // The file was written, the restart failed: the marker stays.
    assert!(conf.exists() && marker.exists());
    assert_eq!(
        restarts(),
        "restart logship.service\nrestart greeter.service\n"
    );

    // The next plan and apply see the restart still owed, though the file is right.
    t.run(&["plan"])
        .code(0)
        .stdout_has("pending   ServiceConfig/greeter@web-1");
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   ServiceConfig/greeter@web-1")
        .stdout_has("unchanged ServiceConfig/logship@web-1");
    assert_eq!(
        restarts(),
        "restart logship.service\nrestart greeter.service\nrestart greeter.service\n"
    );
    assert!(!marker.exists());
    // Then nothing is owed: no more restarts.
    t.run(&["apply"])
        .code(0)
        .stdout_has("unchanged ServiceConfig/greeter@web-1");
    assert_eq!(restarts().lines().count(), 3);
    drop(sshd);
}

#[test]
fn watch_runs_as_its_readme_says() {
    const MOTD: &str = "Welcome. This machine is managed by ordo: edits to this file are undone.\n";
    const EDITED: &str = "Authorized use only. Ask Kim first.\n";
    let work = run_example_with(
        "watch",
        |_| {},
        &[],
        false,
        |i, dir| match i {
            // The README's hand edits, after the first cycle wrote both files.
            0 => {
                assert_eq!(std::fs::read_to_string(dir.join("out/motd")).unwrap(), MOTD);
                std::fs::write(dir.join("out/motd"), "gone fishing\n").unwrap();
                std::fs::write(dir.join("out/banner"), EDITED).unwrap();
            }
            // The second cycle put motd back and left banner's edit (drift: warn).
            2 => {
                assert_eq!(std::fs::read_to_string(dir.join("out/motd")).unwrap(), MOTD);
                assert_eq!(
                    std::fs::read_to_string(dir.join("out/banner")).unwrap(),
                    EDITED
                );
            }
            _ => {}
        },
    );
    let dir = work.path().join("examples/watch");
    assert!(!dir.join("out/motd").exists());
    // The systemd unit's command line works: run from the project's directory, as its
    // WorkingDirectory says, for one cycle (on a free port rather than 9464).
    let unit = std::fs::read_to_string(dir.join("ordo-watch.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    assert!(
        exec.contains(" watch ") && exec.contains("--listen 127.0.0.1:9464"),
        "{exec}"
    );
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|a| a.replace("127.0.0.1:9464", "127.0.0.1:0"))
        .chain(["--once".to_string()])
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(&args)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("watch serving http://127.0.0.1:"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("out/motd")).unwrap(), MOTD);
    // It leaves what it wrote; the README's clean-up was already checked.
    let _ = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["delete"])
        .current_dir(&dir)
        .output();
}

#[test]
fn every_example_has_a_test() {
    let tested = [
        "backup-on-delete",
        "environments",
        "git-repo",
        "hello-world",
        "linked-manifests",
        "remote-hosts",
        "service-lifecycle",
        "shell-pipeline",
        "user-override",
        "watch",
    ];
    for name in example_names() {
        assert!(
            tested.contains(&name.as_str()),
            "examples/{name} has no test in tests/examples.rs"
        );
    }
}

#[test]
fn normalize_ignores_timings() {
    assert_eq!(normalize("changed   A/b  3 ms"), "changed A/b <time>");
    assert_eq!(
        normalize("apply: 2 changed in 1.20 s"),
        "apply: 2 changed in <time>"
    );
    assert_eq!(
        normalize("watch cycle 1 changed: 2 changed (29 ms)"),
        "watch cycle 1 changed: 2 changed <time>"
    );
}
