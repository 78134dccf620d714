//! Files keep their meaning (issue 14): modes are the ones written or an error, files get
//! their final mode from the start, a mode changed by hand is drift, a byte order mark is
//! not text, and odd entries beside manifests and handlers neither abort, hang nor lead
//! ordo out of the directory it reads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{Test, trace_doc, write_file_doc as write_file};

fn mode(t: &Test, file: &str) -> u32 {
    std::fs::metadata(t.path().join(file))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// Runs ordo under a shell with this umask.
fn run_with_umask(t: &Test, umask: &str, args: &str) -> common::Output {
    let script = format!("umask {umask}; exec \"$ORDO\" {args}");
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(t.path())
        .env("ORDO", env!("CARGO_BIN_EXE_ordo"))
        .env("TRACE_FILE", t.path().join("trace.txt"))
        .output()
        .unwrap();
    common::Output::of(out, t.path())
}

#[test]
fn a_yaml_octal_number_as_a_mode_is_refused_never_a_different_mode() {
    // Issue 14: `fileMode: 0o640` (the integer 416) produced a file with mode 0416, exit 0.
    for spelled in ["0o640", "640", "416"] {
        let t = Test::new().manifest(
            "m.yaml",
            &write_file(
                "wf",
                &format!("targetFile: a.txt\ndata: x\nfileMode: {spelled}"),
            ),
        );
        // WriteFile's schema makes `fileMode` a string: refused before anything runs.
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has("manifest `wf`: `spec.fileMode` must be a string, not the int")
            .stderr_has("quote it as written")
            .stderr_has("YAML reads `0o640` as 416");
        assert!(!t.exists("a.txt"), "{spelled}: a file was written");
    }
}

#[test]
fn every_quoted_spelling_of_a_mode_gives_that_mode() {
    let yaml = ["\"0640\"", "\"640\"", "\"0o640\"", "'00640'"]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            write_file(
                &format!("f{i}"),
                &format!("targetFile: f{i}.txt\ndata: x\nfileMode: {m}"),
            )
        })
        .collect::<String>();
    let t = Test::new().manifest("m.yaml", &yaml);
    t.run(&["apply"]).code(0);
    for i in 0..4 {
        assert_eq!(mode(&t, &format!("f{i}.txt")), 0o640, "f{i}");
    }
}

#[test]
fn the_stdlib_takes_modes_by_the_same_rule() {
    // `file::chmod` and `file::write`'s `mode` refuse numbers (Rhai's `0o640` is 416 too)
    // and take octal strings; `http::download` uses the same rule.
    let handler = r#"
register("Modes", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) {
    let p = path::join(m.dir, m.spec.file);
    if m.spec.how == "write" { file::write(p, "x", #{ mode: m.spec.mode }); }
    else { file::write(p, "x"); file::chmod(p, m.spec.mode); }
}
"#;
    let doc = |name: &str, how: &str, mode: &str| {
        format!(
            "---\nkind: Modes\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{file: {name}.txt, how: {how}, mode: {mode}}}\n"
        )
    };
    let t = Test::new().handler("modes.rhai", handler).manifest(
        "m.yaml",
        &(doc("w", "write", "\"0o600\"") + &doc("c", "chmod", "\"750\"")),
    );
    t.run(&["apply"]).code(0);
    assert_eq!(mode(&t, "w.txt"), 0o600);
    assert_eq!(mode(&t, "c.txt"), 0o750);
    for (how, bad, message) in [
        (
            "write",
            "0o600",
            "`file::write`: `mode` must be an octal mode written as a string, not the number 384",
        ),
        (
            "chmod",
            "416",
            "`file::chmod`: `mode` must be an octal mode written as a string, not the number 416",
        ),
        (
            "chmod",
            "\"u+x\"",
            "`file::chmod`: `mode` `u+x` is not a file mode",
        ),
        (
            "write",
            "\"17777\"",
            "`file::write`: `mode` `17777` is not a file mode",
        ),
    ] {
        let t = Test::new()
            .handler("modes.rhai", handler)
            .manifest("m.yaml", &doc("x", how, bad));
        t.run(&["apply"]).code(1).no_panic().stderr_has(message);
    }
}

#[test]
fn a_given_mode_is_exact_whatever_the_umask_and_no_mode_respects_it() {
    let yaml = write_file("open", "targetFile: open.txt\ndata: x\nfileMode: \"0664\"")
        + &write_file("plain", "targetFile: plain.txt\ndata: x");
    let t = Test::new().manifest("m.yaml", &yaml);
    run_with_umask(&t, "077", "apply").code(0);
    assert_eq!(mode(&t, "open.txt"), 0o664);
    assert_eq!(mode(&t, "plain.txt"), 0o600);
}

/// The inotify events (`(mask, name)`) of the entries of `dir` while `f` runs.
fn watch(dir: &std::path::Path, f: impl FnOnce()) -> Vec<(u32, String)> {
    use rustix::fs::inotify;
    let fd = inotify::init(inotify::CreateFlags::NONBLOCK).unwrap();
    inotify::add_watch(
        &fd,
        dir,
        inotify::WatchFlags::CREATE | inotify::WatchFlags::ATTRIB | inotify::WatchFlags::MOVED_TO,
    )
    .unwrap();
    f();
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 65536];
    let mut reader = inotify::Reader::new(&fd, &mut buf);
    let mut out = Vec::new();
    while let Ok(event) = reader.next() {
        let name = event
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((event.events().bits(), name));
    }
    out
}

#[test]
fn a_file_has_its_final_mode_from_the_moment_it_has_its_name() {
    // Issue 14: WriteFile with `fileMode: "0600"` created the file 0644, linked it into
    // place, then chmodded it, so for a moment the secret was world readable. Now no mode
    // change ever happens to the file under its own name, new or replaced.
    let t = Test::new().manifest(
        "m.yaml",
        &write_file(
            "secret",
            "targetFile: out/secret.txt\ndata: s3cret\nfileMode: \"0600\"",
        ),
    );
    std::fs::create_dir(t.path().join("out")).unwrap();
    let attrib = rustix::fs::inotify::ReadFlags::ATTRIB.bits();
    let events = watch(&t.path().join("out"), || {
        t.run(&["apply"]).code(0);
    });
    assert!(
        events.iter().any(|(_, n)| n == "secret.txt"),
        "no event for the file: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|(m, n)| n == "secret.txt" && m & attrib != 0),
        "the file's mode changed under its name: {events:?}"
    );
    assert_eq!(mode(&t, "out/secret.txt"), 0o600);
    // Replaced because its content changed: the same holds.
    std::fs::write(t.path().join("out/secret.txt"), "old").unwrap();
    std::fs::set_permissions(
        t.path().join("out/secret.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let events = watch(&t.path().join("out"), || {
        t.run(&["apply"]).code(0);
    });
    assert!(
        !events
            .iter()
            .any(|(m, n)| n == "secret.txt" && m & attrib != 0),
        "the replaced file's mode changed under its name: {events:?}"
    );
    assert_eq!(mode(&t, "out/secret.txt"), 0o600);
}

#[test]
fn the_state_journal_and_lock_are_private_from_the_start() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", ""));
    run_with_umask(&t, "000", "apply").code(0);
    for f in [".ordo/state.json", ".ordo/state.json.lock"] {
        if t.exists(f) {
            assert_eq!(mode(&t, f), 0o600, "{f}");
        }
    }
    assert!(t.exists(".ordo/state.json"));
    // The journal exists during a run: hold one open with a slow manifest and look.
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", "sleep: 1"));
    let mut child = std::process::Command::new("sh")
        .args(["-c", "umask 000; exec \"$ORDO\" apply"])
        .current_dir(t.path())
        .env("ORDO", env!("CARGO_BIN_EXE_ordo"))
        .env("TRACE_FILE", t.path().join("trace.txt"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !t.exists(".ordo/state.json.journal") && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(mode(&t, ".ordo/state.json.journal"), 0o600);
    assert_eq!(mode(&t, ".ordo/state.json.lock"), 0o600);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_mode_changed_by_hand_is_drift_that_plan_shows_and_apply_undoes() {
    // Issue 14: after `chmod 0644` by hand, plan said nothing and apply left 0644.
    let t = Test::new().manifest(
        "m.yaml",
        &write_file(
            "secret",
            "targetFile: secret.txt\ndata: s\nfileMode: \"0600\"",
        ),
    );
    t.run(&["apply"]).code(0);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    std::fs::set_permissions(
        t.path().join("secret.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    t.run(&["plan", "--detailed-exitcode"])
        .code(4)
        .stdout_has("drift");
    t.run(&["apply"]).code(0).stdout_has("changed");
    assert_eq!(mode(&t, "secret.txt"), 0o600);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

const BOM: &str = "\u{feff}";

#[test]
fn a_byte_order_mark_is_ignored_everywhere_ordo_reads_text() {
    // Issue 14: a `.rhai` file saved with a BOM was a syntax error at 1:1.
    let handler = format!(
        r#"{BOM}import "lib/util" as util;
register("Bommed", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) {{
    let dir = m.dir;
    let y = yaml::parse("{BOM}a: 1");
    let j = json::parse("{BOM}{{\"b\": 2}}");
    let t = template::render("{BOM}{{{{ c }}}}", #{{ c: 3 }});
    file::write(path::join(dir, "out.txt"), `${{y.a}} ${{j.b}} ${{t}} ${{util::four()}} ${{m.spec.v}}`);
}}
"#
    );
    let t = Test::new()
        .handler("bommed.rhai", &handler)
        .file("lib/util.rhai", &format!("{BOM}fn four() {{ 4 }}\n"))
        .file(
            "values.yaml",
            &format!("{BOM}values:\n- {{valueName: v, defaultValue: 5}}\n"),
        )
        .manifest(
            "m.yaml",
            &format!(
                "{BOM}kind: Bommed\nversion: v1\nmetadata: {{name: b}}\nspec: {{v: !Value v}}\n"
            ),
        );
    t.run(&["apply", "-m", "m.yaml", "-f", "values.yaml"])
        .code(0)
        .no_panic();
    assert_eq!(t.read("out.txt"), "1 2 3 4 5");
}

#[test]
fn odd_entries_beside_manifests_neither_abort_nor_hang() {
    // Issue 14: an editor's dangling lock link aborted the run with an IO error on `.`.
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", ""));
    std::os::unix::fs::symlink("user@host.1234:99", t.path().join(".#notes.txt")).unwrap();
    std::os::unix::fs::symlink("nowhere", t.path().join("notes-link")).unwrap();
    t.run(&["apply"]).code(0);
    assert_eq!(t.take_trace(), ["APPLY a"]);

    // A dangling `*.yaml` is an input error naming that file.
    std::os::unix::fs::symlink("gone.yaml", t.path().join("broken.yaml")).unwrap();
    let out = t.run(&["apply"]);
    out.code(3)
        .stderr_has("`broken.yaml`: a symbolic link to `gone.yaml`, which does not exist");
    assert!(t.take_trace().is_empty());
}

#[test]
fn links_out_of_the_tree_are_refused_without_walking_them() {
    // Issue 14: a symlink to `/` beside a manifest made `ordo validate` walk the whole file
    // system. It is refused at once, for manifests and handlers alike.
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", ""));
    std::os::unix::fs::symlink("/", t.path().join("root-link")).unwrap();
    let start = Instant::now();
    let out = t.run(&["validate"]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    // A directory link out of the tree is a warning, said once, and not walked.
    out.code(0).stderr_has(
        "warning: `root-link` is a symbolic link to `/`, outside `.`; ordo does not follow links out of the directory it reads; not followed",
    );
    assert_eq!(out.stderr.matches("warning:").count(), 1, "{}", out.stderr);
    // A link named like a manifest or a handler that leads out is an input error.
    std::os::unix::fs::symlink("/etc/hostname", t.path().join("host.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", t.path().join("host.rhai")).unwrap();
    t.run(&["validate"])
        .code(3)
        .stderr_has("cannot read `host.yaml`: a symbolic link to `/etc/hostname`, outside `.`")
        .stderr_has(
            "cannot read handler `host.rhai`: a symbolic link to `/etc/hostname`, outside `.`",
        );
    std::fs::remove_file(t.path().join("host.yaml")).unwrap();
    std::fs::remove_file(t.path().join("host.rhai")).unwrap();
    // A link to a manifest inside the tree is read, once.
    std::fs::remove_file(t.path().join("root-link")).unwrap();
    std::fs::create_dir_all(t.path().join("sub/data")).unwrap();
    std::fs::write(t.path().join("sub/data/b.yaml"), trace_doc("b", "", "")).unwrap();
    std::os::unix::fs::symlink("data/b.yaml", t.path().join("sub/alias.yaml")).unwrap();
    t.run(&["apply", "-m", "sub", "-s", "."]).code(0);
    assert_eq!(t.take_trace(), ["APPLY b"]);
    // A link to a manifest outside is refused too: pass that file with `-m` instead.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.yaml"), trace_doc("x", "", "")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.yaml"), t.path().join("sub/x.yaml")).unwrap();
    t.run(&["apply", "-m", "sub", "-s", "."])
        .code(3)
        .stderr_has("ordo does not follow links out of the directory it reads");
}

#[test]
fn a_fifo_where_a_manifest_is_expected_is_refused_without_blocking() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", ""));
    let fifo = t.path().join("pipe.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let start = Instant::now();
    let out = t.run(&["validate"]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    out.code(3).stderr_has("not a regular file");
    let out = t.run(&["validate", "-m", "m.yaml", "-f", "pipe.yaml"]);
    out.code(3).stderr_has("not a regular file");
}

#[test]
fn write_file_replaces_a_link_to_nowhere_with_the_file() {
    // Found by the attack on issue 14: `file::exists` is true for a dangling link, and
    // WriteFile's check then failed reading it. A link to nowhere is nothing to keep: the
    // file is written in its place (the rename replaces the link, it does not follow it).
    let t = Test::new().manifest("m.yaml", &write_file("w", "targetFile: d.txt\ndata: x"));
    std::os::unix::fs::symlink("gone.txt", t.path().join("d.txt")).unwrap();
    t.run(&["apply", "--no-state"])
        .code(0)
        .stdout_has("changed");
    let meta = std::fs::symlink_metadata(t.path().join("d.txt")).unwrap();
    assert!(meta.file_type().is_file(), "d.txt is still a link");
    assert_eq!(t.read("d.txt"), "x");
    assert!(!t.exists("gone.txt"), "the write followed the link");
    t.run(&["apply", "--no-state"])
        .code(0)
        .stdout_has("unchanged");
}
