//! The sandbox, tested by attacking it: undeclared capabilities, run-wide policy, path and
//! import escapes, runaway scripts, and commands that try to outlive their timeout. HTTP
//! runs against a server on 127.0.0.1 started by the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::time::{Duration, Instant};

use common::{HttpServer, Test, probe};

#[test]
fn undeclared_capabilities_are_refused_with_the_line_to_add() {
    let cases = [
        (
            "shell::run(\"true\")",
            "`shell::run` needs the `shell` permission",
            "\"shell\"",
        ),
        (
            "file::read(\"/etc/hostname\")",
            "`file::read` needs the `file:read` permission",
            "\"file:read\"",
        ),
        (
            "file::write(\"x.txt\", \"x\")",
            "`file::write` needs the `file:write` permission",
            "\"file:write\"",
        ),
        (
            "http::get(\"http://127.0.0.1:9/\")",
            "`http::get` needs the `http` permission",
            "\"http\"",
        ),
        (
            "env::get(\"HOME\")",
            "`env::get` needs the `env` permission",
            "\"env\"",
        ),
    ];
    for (call, message, cap) in cases {
        let t = probe("", call);
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has(message)
            .stderr_has("which handler `probe.rhai` does not declare")
            .stderr_has(&format!(
                "add {cap} to the `permissions([...])` call on line 2 of probe.rhai"
            ))
            .stderr_has("probe.rhai:4:");
        assert!(!t.exists("x.txt"));
    }
    // Without any `permissions` call the hint says where to put one.
    let handler = "register(\"Probe\", \"^1\");\nfn apply(m) { shell::run(\"true\") }\n";
    let t = Test::new()
        .handler("probe.rhai", handler)
        .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata: {name: p}\n");
    t.run(&["apply"])
        .code(3)
        .stderr_has("add `permissions([\"shell\"]);` at the top of probe.rhai");
}

/// `--deny` is checked when the run loads: a handler serving a manifest of the run whose
/// code calls a denied function is refused at that call, and nothing runs (not even the
/// handler's earlier steps).
#[test]
fn deny_overrides_what_a_handler_declares_before_anything_runs() {
    let t = probe(
        "\"shell\", \"file:write\"",
        "file::write(\"written-first\", \"x\");\nshell::run(\"touch made-by-shell\");",
    );
    for command in ["apply", "plan"] {
        t.run(&[command, "--deny", "shell,http"])
            .code(3)
            .stderr_has(
                "`shell::run` needs the `shell` permission, which this run denies (--deny shell)",
            )
            .stderr_has("probe.rhai:5:8")
            .stderr_has("handler `probe.rhai` serves `p`; nothing was run");
    }
    assert!(!t.exists("written-first"));
    assert!(!t.exists("made-by-shell"));
    t.run(&["apply"]).code(0);
    assert!(t.exists("made-by-shell"));
    // A handler that serves nothing in the run is not in the way.
    let t = probe("\"shell\"", "shell::run(\"true\");")
        .handler(
            "other.rhai",
            "register(\"Other\", \"^1\");\nfn apply(m) {}\n",
        )
        .manifest("m.yaml", "kind: Other\nversion: v1\nmetadata: {name: o}\n");
    t.run(&["apply", "--deny", "shell"]).code(0);
}

#[test]
fn fs_root_confines_paths_against_dotdot_absolute_paths_and_symlinks() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s3cret").unwrap();
    let attacks = [
        "file::read(path::join(m.dir, \"../../../etc/hostname\"))".to_string(),
        "file::read(\"/etc/hostname\")".to_string(),
        "file::read(path::join(m.dir, \"escape/secret\"))".to_string(),
        "file::write(path::join(m.dir, \"escape/planted\"), \"x\")".to_string(),
        "shell::run(\"true\", #{ cwd: \"/\" })".to_string(),
        "file::list(path::join(m.dir, \"escape/..\"))".to_string(),
    ];
    for attack in attacks {
        let t = probe("\"file:read\", \"file:write\", \"shell\"", &attack);
        std::os::unix::fs::symlink(outside.path(), t.path().join("escape")).unwrap();
        let root = t.path().to_str().unwrap().to_string();
        t.run(&["apply", "--fs-root", &root])
            .code(1)
            .no_panic()
            .stderr_has("is outside the allowed roots");
        assert!(
            !outside.path().join("planted").exists(),
            "{attack} planted a file"
        );
    }
    // Inside the root everything works.
    let t = probe(
        "\"file:read\", \"file:write\"",
        "file::write(path::join(m.dir, \"in/side.txt\"), \"ok\"); file::read(path::join(m.dir, \"in/side.txt\"));",
    );
    let root = t.path().to_str().unwrap().to_string();
    t.run(&["apply", "--fs-root", &root]).code(0);
    assert_eq!(t.read("in/side.txt"), "ok");
}

#[test]
fn fs_root_follows_a_dangling_symlink_to_where_it_would_create() {
    // Issue 15: `dangle` -> outside/created, which does not exist yet. Opening the link to
    // create or append would create the file outside the root.
    let outside = tempfile::tempdir().unwrap();
    let server = HttpServer::start();
    let attacks = [
        "file::append(path::join(m.dir, \"dangle\"), \"x\")".to_string(),
        "file::write(path::join(m.dir, \"dangle\"), \"x\")".to_string(),
        "file::copy(path::join(m.dir, \"m.yaml\"), path::join(m.dir, \"dangle\"))".to_string(),
        "file::mkdir(path::join(m.dir, \"dangle\"))".to_string(),
        "file::mkdir(path::join(m.dir, \"dangle/sub\"))".to_string(),
        "file::append(path::join(m.dir, \"dangle/sub\"), \"x\")".to_string(),
        "file::chmod(path::join(m.dir, \"dangle\"), \"0600\")".to_string(),
        "file::remove(path::join(m.dir, \"dangle\"))".to_string(),
        // A chain: an in-root dangling link to the dangling link.
        "file::append(path::join(m.dir, \"chain\"), \"x\")".to_string(),
        format!(
            "http::download(\"{}\", path::join(m.dir, \"dangle\"))",
            server.url("/file.bin")
        ),
    ];
    for attack in attacks {
        let t = probe("\"file:read\", \"file:write\", \"http\"", &attack);
        std::os::unix::fs::symlink(outside.path().join("created"), t.path().join("dangle"))
            .unwrap();
        std::os::unix::fs::symlink("dangle", t.path().join("chain")).unwrap();
        let root = t.path().to_str().unwrap().to_string();
        t.run(&["apply", "--fs-root", &root])
            .code(1)
            .no_panic()
            .stderr_has("is outside the allowed roots");
        assert!(
            !outside.path().join("created").exists(),
            "{attack} created a file outside the root"
        );
    }
    // A dangling link whose target is inside the root is followed and works.
    let t = probe(
        "\"file:write\"",
        "file::append(path::join(m.dir, \"inner\"), \"ok\")",
    );
    std::os::unix::fs::symlink("made/here.txt", t.path().join("inner")).unwrap();
    std::fs::create_dir(t.path().join("made")).unwrap();
    let root = t.path().to_str().unwrap().to_string();
    t.run(&["apply", "--fs-root", &root]).code(0);
    assert_eq!(t.read("made/here.txt"), "ok");
}

#[test]
fn a_fifo_is_refused_instead_of_blocking_the_call() {
    // Issue 15: reading or appending to a FIFO with no other end blocked forever, past the
    // timeout and SIGTERM. Every call that opens a file's content refuses what is not a
    // regular file, naming the call and the path.
    let attacks = [
        ("file::read", "file::read(path::join(m.dir, \"pipe\"))"),
        (
            "file::append",
            "file::append(path::join(m.dir, \"pipe\"), \"x\")",
        ),
        ("file::sha256", "file::sha256(path::join(m.dir, \"pipe\"))"),
        (
            "file::copy",
            "file::copy(path::join(m.dir, \"pipe\"), path::join(m.dir, \"out\"))",
        ),
    ];
    for (call, attack) in attacks {
        for with_reader in [false, true] {
            let t = probe("\"file:read\", \"file:write\"", attack);
            let fifo = t.path().join("pipe");
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(made.success());
            // With a reader present, an append's open succeeds: the descriptor's type is
            // what refuses it.
            let _reader = with_reader.then(|| {
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&fifo)
                    .unwrap()
            });
            // Started and watched: a call that blocks fails the test instead of hanging it.
            let mut child = t.spawn(&["apply"]);
            let started = Instant::now();
            while child.try_wait().unwrap().is_none() {
                if started.elapsed() > Duration::from_secs(20) {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    panic!("{attack} blocked on the FIFO");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            common::Output::of(child.wait_with_output().unwrap(), t.path())
                .code(1)
                .no_panic()
                .stderr_has(&format!("`{call}`: {}", fifo.display()))
                .stderr_has("not a regular file");
            assert!(!t.exists("out"), "{attack} wrote a copy");
        }
    }
}

#[test]
fn fs_root_refuses_to_change_a_file_with_other_hard_links() {
    // Issue 15: a hard link inside the root to a file outside it cannot be seen by a path
    // check. Under `--fs-root`, changing a hard-linked file in place (append, chmod) is
    // refused; `file::write` replaces the name and leaves the outside file alone. Reads are
    // not refused: `--fs-root` cannot tell a hard link from the file (documented).
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target");
    let attacks = [
        (
            "file::append",
            "file::append(path::join(m.dir, \"hard\"), \"x\")",
        ),
        (
            "file::chmod",
            "file::chmod(path::join(m.dir, \"hard\"), \"0777\")",
        ),
    ];
    for (call, attack) in attacks {
        std::fs::write(&target, "original").unwrap();
        std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let t = probe("\"file:read\", \"file:write\"", attack);
        std::fs::hard_link(&target, t.path().join("hard")).unwrap();
        let root = t.path().to_str().unwrap().to_string();
        t.run(&["apply", "--fs-root", &root])
            .code(1)
            .no_panic()
            .stderr_has(&format!("`{call}`"))
            .stderr_has("has 2 hard links");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "original");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&target).unwrap().permissions(),
        );
        assert_eq!(
            mode & 0o7777,
            0o600,
            "{attack} changed the outside file's mode"
        );
        std::fs::remove_file(&target).unwrap();
    }
    // `file::write` replaces the name: the outside file keeps its content.
    std::fs::write(&target, "original").unwrap();
    let t = probe(
        "\"file:read\", \"file:write\"",
        "file::write(path::join(m.dir, \"hard\"), \"new\")",
    );
    std::fs::hard_link(&target, t.path().join("hard")).unwrap();
    let root = t.path().to_str().unwrap().to_string();
    t.run(&["apply", "--fs-root", &root]).code(0);
    assert_eq!(t.read("hard"), "new");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "original");
    // Without `--fs-root` there is no root to protect: append works on any file.
    let t = probe(
        "\"file:write\"",
        "file::append(path::join(m.dir, \"hard\"), \"+\")",
    );
    std::fs::hard_link(&target, t.path().join("hard")).unwrap();
    t.run(&["apply"]).code(0);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "original+");
}

#[test]
fn imports_cannot_leave_the_handler_directory() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("evil.rhai"), "fn x() { 1 }").unwrap();
    let evil = outside.path().join("evil").display().to_string();
    for (import, why) in [
        (
            "../outside".to_string(),
            "`..` and absolute paths are not allowed",
        ),
        (evil, "`..` and absolute paths are not allowed"),
        (
            "lib/link/evil".to_string(),
            "outside the handler's source directory",
        ),
        ("ordo/nope".to_string(), "the stdlib modules are"),
    ] {
        let handler = format!(
            "register(\"Probe\", \"^1\");\nfn apply(m) {{\n    import \"{import}\" as x;\n    x::x()\n}}\n"
        );
        let t = Test::new()
            .handler("src/probe.rhai", &handler)
            .file("outside.rhai", "fn x() { 1 }")
            .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata: {name: p}\n");
        std::fs::create_dir_all(t.path().join("src/lib")).unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("src/lib/link")).unwrap();
        t.run(&["apply", "-s", "src"])
            .code(3)
            .no_panic()
            .stderr_has("module not found")
            .stderr_has(why);
    }
}

/// Issue 15: a module imported inside `apply` was evaluated once, in the first importer's
/// call and grant, and cached for every handler: a handler with no permissions received a
/// file read by the module's top level under another handler's `file:read`. A module's top
/// level now runs with no capability at all, whichever handler imports it first.
#[test]
fn a_module_top_level_never_borrows_an_importers_grant() {
    let secret = tempfile::tempdir().unwrap();
    let secret_file = secret.path().join("secret.txt");
    std::fs::write(&secret_file, "TOPSECRET-4711").unwrap();
    let module = format!(
        "export const SECRET = file::read(\"{}\");\n",
        secret_file.display()
    );
    let reader_doc =
        "---\nkind: Reader\nversion: v1\nmetadata: {name: reader}\nspec: {lib: lib/m}\n";
    let thief_doc = "---\nkind: Thief\nversion: v1\nmetadata: {name: thief}\nspec: {lib: lib/m}\n";
    // An import the load-time check resolves is refused before anything runs; one it cannot
    // see (a path from the spec) is refused when it runs. Both orders: the module must not
    // depend on who imports it first.
    for (path, code) in [("\"lib/m\"", 3), ("m.spec.lib", 1)] {
        let reader = format!(
            "register(\"Reader\", \"^1\");\npermissions([\"file:read\"]);\nfn apply(m) {{\n    import {path} as s;\n    print(\"reader got \" + s::SECRET);\n}}\n"
        );
        let thief = format!(
            "register(\"Thief\", \"^1\");\nfn apply(m) {{\n    import {path} as s;\n    print(\"thief got \" + s::SECRET);\n}}\n"
        );
        for docs in [
            format!("{reader_doc}{thief_doc}"),
            format!("{thief_doc}{reader_doc}"),
        ] {
            let t = Test::new()
                .handler("lib/m.rhai", &module)
                .handler("reader.rhai", &reader)
                .handler("thief.rhai", &thief)
                .manifest("m.yaml", &docs);
            let out = t.run(&["apply", "-j", "1", "--keep-going", "--no-state"]);
            out.code(code)
                .no_panic()
                .stderr_has("`file::read` is not available at the top level of module `lib/m.rhai`")
                .stderr_has("lib/m.rhai:1:29");
            if code == 1 {
                out.stdout_has("0 changed, 0 unchanged, 2 failed");
            }
            assert!(
                !out.stdout.contains("TOPSECRET") && !out.stderr.contains("TOPSECRET"),
                "the module's top level read the file:\n{}\n{}",
                out.stdout,
                out.stderr
            );
        }
    }
}

/// The other half of the rule: a module's function runs with the grant of the handler that
/// calls it. A handler with `file:read` reads through it; one without is refused before
/// anything runs; and the run's `--deny` reaches the function before anything runs.
#[test]
fn a_module_function_runs_with_its_callers_grant() {
    let secret = tempfile::tempdir().unwrap();
    let secret_file = secret.path().join("secret.txt");
    std::fs::write(&secret_file, "TOPSECRET-4712").unwrap();
    let module = "fn read(p) { file::read(p) }\n";
    let handler = |permissions: &str| {
        format!(
            "register(\"Probe\", \"^1\");\npermissions([{permissions}]);\nfn apply(m) {{\n    import \"lib/m\" as s;\n    print(\"got \" + s::read(\"{}\"));\n}}\n",
            secret_file.display()
        )
    };
    let doc = "kind: Probe\nversion: v1\nmetadata: {name: p}\n";
    let reader = Test::new()
        .handler("lib/m.rhai", module)
        .handler("probe.rhai", &handler("\"file:read\""))
        .manifest("m.yaml", doc);
    reader
        .run(&["apply", "--no-state"])
        .code(0)
        .stderr_has("got TOPSECRET-4712");
    reader
        .run(&["apply", "--no-state", "--deny", "file:read"])
        .code(3)
        .stderr_has("`s::read` (through module `lib/m.rhai`) needs the `file:read` permission, which this run denies")
        .stderr_has("probe.rhai:5:23");
    let thief = Test::new()
        .handler("lib/m.rhai", module)
        .handler("probe.rhai", &handler(""))
        .manifest("m.yaml", doc);
    let out = thief.run(&["apply", "--no-state"]);
    out.code(3).stderr_has(
        "`s::read` needs the `file:read` permission, which handler `probe.rhai` does not declare",
    );
    assert!(!out.stderr.contains("TOPSECRET"), "{}", out.stderr);
}

/// Issue 15: `--deny env` was bypassed by `file::read("/proc/self/environ")`. A process's
/// environment is the `env` capability under every name that reaches it.
#[test]
fn a_process_environment_in_proc_needs_the_env_capability() {
    let names = r#"let names = ["/proc/self/environ", "/proc/thread-self/environ",
    "/proc/self/root/proc/self/environ", path::join(m.dir, "link")];
for tid in file::list("/proc/self/task") { names.push(`/proc/self/task/${tid}/environ`); }
let refused = 0;
for n in names {
    try { file::read(n); print("READ " + n); }
    catch (e) { if e.message.contains("needs the `env` permission") { refused += 1; } else { print("OTHER " + e.message); } }
    try { file::sha256(n); print("HASHED " + n); } catch (e) { refused += 1; }
}
print(`refused ${refused} of ${names.len() * 2}`);
if refused != names.len() * 2 { throw "read an environment"; }"#;
    for (permissions, args, refusal) in [
        (
            "\"file:read\"",
            vec![],
            "which handler `probe.rhai` does not declare",
        ),
        (
            "\"file:read\", \"env\"",
            vec!["--deny", "env"],
            "which this run denies",
        ),
    ] {
        let t = probe(permissions, names).env("ORDO_SECRET_15", "hunter2-env");
        std::os::unix::fs::symlink("/proc/self/environ", t.path().join("link")).unwrap();
        let mut argv = vec!["apply", "--no-state"];
        argv.extend(args.iter().copied());
        let out = t.run(&argv);
        out.code(0).stderr_has("refused ");
        assert!(!out.stderr.contains("READ ") && !out.stderr.contains("HASHED "));
        assert!(!out.stderr.contains("OTHER "), "{}", out.stderr);
        assert!(!out.stderr.contains("hunter2-env"), "{}", out.stderr);
        // The refusal names the capability and why.
        let t = probe(permissions, "file::read(\"/proc/self/environ\")");
        t.run(&argv)
            .code(1)
            .stderr_has("`file::read(\"/proc/self/environ\")` needs the `env` permission")
            .stderr_has(refusal);
    }
    // With `env`, reading it is reading the environment, as `env::get` does.
    let t = probe(
        "\"file:read\", \"env\"",
        "if !file::read(\"/proc/self/environ\").contains(\"ORDO_SECRET_15\") { throw \"not read\"; }",
    )
    .env("ORDO_SECRET_15", "x");
    t.run(&["apply", "--no-state"]).code(0);
}

/// Commands of a handler that may not read the environment (no `env`, or `--deny env`) get
/// only what the handler passes plus a few harmless variables (`PATH`, `HOME`, ...).
#[test]
fn commands_of_a_handler_without_env_get_a_reduced_environment() {
    let body = r#"let r = shell::run("env", #{ env: #{ PASSED: "yes" } });
let out = r.stdout;
out.replace("\n", " ");
print("OUT " + out);"#;
    for (permissions, args) in [
        ("\"shell\"", vec![]),
        ("\"shell\", \"env\"", vec!["--deny", "env"]),
    ] {
        let t = probe(permissions, body).env("ORDO_SECRET_15", "hunter2-env");
        let mut argv = vec!["apply", "--no-state"];
        argv.extend(args);
        let out = t.run(&argv);
        out.code(0).stderr_has("PASSED=yes").stderr_has("PATH=");
        assert!(!out.stderr.contains("hunter2-env"), "{}", out.stderr);
    }
    // With `env` the command inherits ordo's environment.
    let t = probe("\"shell\", \"env\"", body).env("ORDO_SECRET_15", "hunter2-env");
    t.run(&["apply", "--no-state"])
        .code(0)
        .stderr_has("ORDO_SECRET_15=hunter2-env");
}

/// `!Env` under `--deny env` is an input error at its line: nothing runs.
#[test]
fn an_env_tag_is_refused_under_deny_env() {
    let t = Test::new().trace().manifest(
        "m.yaml",
        "kind: Trace\nversion: v1\nmetadata: {name: a}\nspec:\n  home: !Env HOME\n",
    );
    t.run(&["apply", "--no-state", "--deny", "env"])
        .code(3)
        .stderr_has("`!Env HOME` reads the environment, which this run denies (--deny env)")
        .stderr_has("m.yaml:5:9");
    assert!(!t.exists("trace.txt"), "something ran");
    t.run(&["apply", "--no-state"]).code(0);
}

/// Attack on issue 15 (F4): `--deny env` let an `!Env` in another environment's override
/// (and in a manifest of another environment) pass, because only what the run resolves was
/// checked. Every `!Env` of every document is refused, whatever `-e` says.
#[test]
fn deny_env_refuses_env_tags_of_other_environments_too() {
    let t = Test::new()
        .handler("p.rhai", "register(\"Probe\", \"^1\");\nfn apply(m) { }\n")
        .manifest(
            "m.yaml",
            "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: k, defaultValue: 1, environmentOverrides: [{environmentName: prod, value: !Env HOME}]}\n---\nkind: Probe\nversion: v1\nmetadata: {name: a}\nspec: {x: !Value k}\n---\nkind: Probe\nversion: v1\nmetadata: {name: b, environments: [prod]}\nspec: {y: !Env PATH}\n",
        );
    for args in [
        &["apply", "--no-state", "--deny", "env"][..],
        &["apply", "--no-state", "--deny", "env", "-e", "prod"][..],
    ] {
        t.run(args)
            .code(3)
            .stderr_has("`!Env HOME` reads the environment, which this run denies (--deny env)")
            .stderr_has("m.yaml:6:");
    }
    t.run(&["apply", "--no-state", "--deny", "env"])
        .stderr_has("`!Env PATH` reads the environment, which this run denies (--deny env)")
        .stderr_has("m.yaml:16:11");
    let out = t.run(&["apply", "--no-state", "--deny", "env", "-e", "prod"]);
    let stderr = &out.stderr;
    assert_eq!(
        stderr.matches("`!Env HOME`").count(),
        1,
        "said once: {stderr}"
    );
    t.run(&["apply", "--no-state"]).code(0);
}

#[test]
fn a_runaway_loop_is_stopped_by_its_timeout_and_the_run_goes_on() {
    let handler = "register(\"Spin\", \"^1\");\nfn apply(m) { loop { } }\n";
    let yaml = "kind: Spin\nversion: v1\nmetadata: {name: spin, timeout: 1}\n---\nkind: Spin\nversion: v1\nmetadata: {name: spin2, timeout: 0.5}\n";
    let t = Test::new()
        .handler("spin.rhai", handler)
        .manifest("m.yaml", yaml);
    let started = Instant::now();
    // No operation limit here: the wall clock must stop it.
    let out = t.run(&["apply", "--keep-going", "--max-operations", "0"]);
    out.code(1)
        .no_panic()
        .stderr_has("stopped: the handler call ran longer than its timeout of 1 s")
        .stderr_has("stopped: the handler call ran longer than its timeout of 0.5 s")
        .stderr_has("spin.rhai:2:1")
        .stdout_has("0 changed, 0 unchanged, 2 failed");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    // The CLI flag sets the default.
    let t = Test::new().handler("spin.rhai", handler).manifest(
        "m.yaml",
        "kind: Spin\nversion: v1\nmetadata: {name: spin}\n",
    );
    t.run(&["apply", "--timeout", "0.5", "--max-operations", "0"])
        .code(1)
        .stderr_has("timeout of 0.5 s");
}

/// Attack on issue 15 (F2): a module's top level, imported inside `apply`, ran with no
/// deadline: with `--max-operations 0` a module `loop {}` hung `apply` and `plan` for ever.
/// It runs under the importing call's deadline (and, for the check at load, a short budget
/// whose end is not an error).
#[test]
fn a_module_top_level_is_bound_by_the_handler_timeout() {
    let t = Test::new()
        .handler(
            "probe.rhai",
            "register(\"Probe\", \"^1\");\nfn apply(m) { import \"lib/spin\" as s; }\n",
        )
        .file("lib/spin.rhai", "loop { }\n")
        .manifest(
            "m.yaml",
            "kind: Probe\nversion: v1\nmetadata: {name: p, timeout: 1}\n",
        );
    for command in ["apply", "plan"] {
        let started = Instant::now();
        let mut child = t.spawn(&[command, "--no-state", "--max-operations", "0"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                let _ = child.wait();
                panic!("{command}: a module's endless top level ignored the 1 s handler timeout");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{command} took {:?}",
            started.elapsed()
        );
        if command == "apply" {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("ran longer than its timeout of 1 s"),
                "{stderr}"
            );
            assert!(stderr.contains("spin.rhai"), "{stderr}");
        } else {
            // plan runs no `apply`: the load-time check gave up, nothing failed.
            assert_eq!(out.status.code(), Some(0), "{stderr}");
        }
    }
}

/// Attack on issue 15 (F3): the deadline was looked at every 512 operations, so a loop of
/// slow built-in calls (`contains` on a million-item array) overshot a 2 s timeout by
/// 16-51 s. It is looked at every 16 operations now.
#[test]
fn slow_builtin_calls_do_not_overshoot_the_timeout() {
    let handler = "register(\"Probe\", \"^1\");\nfn apply(m) {\n  let a = []; a.pad(1000000, \"abcdefghijklmnop\");\n  for i in 0..100000 { let c = a.contains(\"zz\"); }\n}\n";
    let t = Test::new().handler("probe.rhai", handler).manifest(
        "m.yaml",
        "kind: Probe\nversion: v1\nmetadata: {name: p, timeout: 1}\n",
    );
    let started = Instant::now();
    t.run(&["apply", "--no-state", "--max-operations", "0"])
        .code(1)
        .stderr_has("ran longer than its timeout of 1 s");
    // Generous for a loaded debug build; with the old check every 512 operations it
    // took well over 10 s here.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_operation_limit_stops_a_loop_and_names_itself() {
    let t = probe("", "let i = 0; loop { i += 1; }");
    t.run(&["apply", "--max-operations", "100000"])
        .code(1)
        .stderr_has("exceeded the limit of 100000 operations")
        .stderr_has("--max-operations");
}

#[test]
fn deep_recursion_is_stopped() {
    let handler =
        "register(\"Probe\", \"^1\");\nfn down(n) { down(n + 1) }\nfn apply(m) { down(0) }\n";
    let t = Test::new()
        .handler("probe.rhai", handler)
        .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata: {name: p}\n");
    t.run(&["apply"])
        .code(1)
        .no_panic()
        .stderr_has("calls nested deeper than the limit of 64 levels");
}

#[test]
fn a_huge_string_is_stopped() {
    let t = probe("", "let s = \"x\"; loop { s += s; }");
    t.run(&["apply"])
        .code(1)
        .no_panic()
        .stderr_has("is over its limit");
}

#[test]
fn a_shell_timeout_kills_the_whole_process_group() {
    // A marker no other process uses, to look for survivors afterwards.
    let marker = format!("30.{}", std::process::id());
    let body = format!("shell::run(\"sleep {marker} & sleep {marker}\", #{{ timeout: 1 }});");
    let t = probe("\"shell\"", &body);
    let started = Instant::now();
    t.run(&["apply"])
        .code(1)
        .stderr_has("timed out after 1 s and was killed");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(300));
    let survivors = common::processes_matching(&format!("sleep {marker}"));
    assert!(survivors.is_empty(), "left behind: {survivors}");
}

/// Waits until no process's command line holds `marker`; panics naming the survivors after
/// `within`.
fn assert_gone(marker: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let survivors = common::processes_matching(marker);
        if survivors.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left behind: {survivors}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 15: a grandchild started with `setsid` left the command's process group, survived
/// the timeout and ordo's exit, and created its file 30 s later. Every process a command
/// starts is below the command's keeper, whatever session it makes.
#[test]
fn a_setsid_grandchild_is_stopped_with_its_command_on_timeout() {
    let marker = format!("3.{}1", std::process::id());
    let t = probe("\"shell\"", "");
    let out_file = t.path().join("OUT");
    let body = format!(
        "shell::run([\"sh\", \"-c\", \"setsid sh -c 'sleep {marker}; touch {out}' & sleep {marker}0\"], #{{ timeout: 1 }});",
        out = out_file.display()
    );
    let t = t.handler(
        "probe.rhai",
        &format!(
            "register(\"Probe\", \"^1\");\npermissions([\"shell\"]);\nfn apply(m) {{\n{body}\n}}\n"
        ),
    );
    let started = Instant::now();
    t.run(&["apply", "--no-state"])
        .code(1)
        .stderr_has("timed out after 1 s and was killed");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_gone(&format!("sleep {marker}"), Duration::from_secs(1));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!out_file.exists(), "the grandchild outlived its command");
}

/// When a command ends by itself, what it left running goes with it (as systemd's
/// `KillMode=control-group`), a new session included; a command of another manifest
/// running at the same time is not touched.
#[test]
fn what_a_command_leaves_running_is_stopped_when_it_ends() {
    let marker = format!("3.{}2", std::process::id());
    let t = Test::new();
    let out_file = t.path().join("OUT");
    let handler = format!(
        r#"register("Probe", "^1");
permissions(["shell"]);
fn apply(m) {{
    if m.name == "leaver" {{
        shell::run("setsid sh -c 'sleep {marker}; touch {out}' >/dev/null 2>&1 &");
        // Gone already, while ordo still runs (`[p]`: not this command's own line).
        let left = shell::run("pgrep -f 'slee[p] {marker}'", #{{ check: false }});
        print("leaver returned, left: [" + left.stdout + "]");
    }} else {{
        let r = shell::run("sleep 1.5; echo still-here");
        print("worker " + r.stdout);
    }}
}}
"#,
        out = out_file.display()
    );
    let t = t.handler("probe.rhai", &handler).manifest(
        "m.yaml",
        "kind: Probe\nversion: v1\nmetadata: {name: worker}\n---\nkind: Probe\nversion: v1\nmetadata: {name: leaver}\n",
    );
    let started = Instant::now();
    t.run(&["apply", "--no-state", "-j", "2"])
        .code(0)
        .stderr_has("leaver returned, left: []")
        .stderr_has("worker still-here")
        .stdout_has("2 changed");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_gone(&format!("sleep {marker}"), Duration::from_secs(1));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !out_file.exists(),
        "the detached process outlived its command"
    );
}

/// SIGTERM (as Ctrl-C), a second SIGTERM (quit at once) and SIGKILL of ordo itself: the
/// command's whole tree goes, its `setsid` grandchild included.
#[test]
fn a_setsid_grandchild_is_stopped_when_ordo_is_stopped_or_killed() {
    for (n, signals, code) in [
        (3, &["-TERM"][..], Some(130)),
        (4, &["-KILL"][..], None),
        (5, &["-TERM", "-TERM"][..], Some(130)),
    ] {
        let signal = signals.join(" ");
        let marker = format!("3.{}{n}", std::process::id());
        let t = probe("\"shell\"", "");
        let out_file = t.path().join("OUT");
        let body = format!(
            "shell::run([\"sh\", \"-c\", \"setsid sh -c 'sleep {marker}; touch {out}' & sleep {marker}0\"]);",
            out = out_file.display()
        );
        let t = t.handler(
            "probe.rhai",
            &format!("register(\"Probe\", \"^1\");\npermissions([\"shell\"]);\nfn apply(m) {{\n{body}\n}}\n"),
        );
        let child = t.spawn(&["apply", "--no-state"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while common::processes_matching(&format!("sleep {marker}0")).is_empty() {
            assert!(Instant::now() < deadline, "the command never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        for signal in signals {
            std::process::Command::new("kill")
                .args([*signal, &child.id().to_string()])
                .status()
                .unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            code,
            "{signal}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_gone(&format!("sleep {marker}"), Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(3));
        assert!(!out_file.exists(), "{signal}: the grandchild outlived ordo");
    }
}

/// Attack on issue 15 (F1): a command killed its own keeper (`kill -9 $PPID`), so its
/// tree was reparented to ordo and stopped only at the end of the run; ordo then killed by
/// SIGKILL left it running for good. ordo stops what such a keeper leaves as soon as it
/// reaps the keeper, while the command still runs.
#[test]
fn a_command_that_kills_its_keeper_does_not_outlive_a_killed_ordo() {
    let marker = format!("4.{}7", std::process::id());
    let t = probe("\"shell\"", "");
    let out_file = t.path().join("OUT");
    let body = format!(
        "shell::run([\"sh\", \"-c\", \"setsid sh -c 'sleep {marker}; touch {out}' & sleep 0.2; kill -9 $PPID; sleep {marker}0\"]);",
        out = out_file.display()
    );
    let t = t.handler(
        "probe.rhai",
        &format!(
            "register(\"Probe\", \"^1\");\npermissions([\"shell\"]);\nfn apply(m) {{\n{body}\n}}\n"
        ),
    );
    let child = t.spawn(&["apply", "--no-state"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::processes_matching(&format!("sleep {marker}0")).is_empty() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The keeper is dead by now, and what it kept is ordo's.
    std::thread::sleep(Duration::from_millis(500));
    std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait_with_output().unwrap();
    assert_gone(&format!("sleep {marker}"), Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(5));
    assert!(!out_file.exists(), "the grandchild outlived ordo");
}

#[test]
fn shell_output_is_capped() {
    let t = probe(
        "\"shell\", \"file:write\"",
        "let r = shell::run(\"head -c 100000 /dev/zero\", #{ max_output: 1000 }); file::write(path::join(m.dir, \"o.txt\"), `${r.stdout.len()} ${r.truncated}`);",
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("o.txt"), "1000 true");
}

#[test]
fn http_reports_statuses_follows_redirects_and_times_out() {
    let server = HttpServer::start();
    let body = format!(
        r#"let ok = http::get("{ok}");
let missing = http::get("{missing}");
let moved = http::get("{redirect}");
let posted = http::request(#{{ method: "POST", url: "{echo}", json: #{{ a: 1 }}, headers: #{{ "x-test": "yes" }} }});
file::write(path::join(m.dir, "h.txt"), `${{ok.status}} ${{ok.body}} ${{missing.status}} ${{missing.ok}} ${{moved.status}} ${{moved.body}}`);
file::write(path::join(m.dir, "echo.txt"), posted.body);
http::get("{slow}", #{{ timeout: 0.5 }});"#,
        ok = server.url("/ok"),
        missing = server.url("/missing"),
        redirect = server.url("/redirect"),
        echo = server.url("/echo"),
        slow = server.url("/slow"),
    );
    let t = probe("\"http\", \"file:write\"", &body);
    let out = t.run(&["apply"]);
    out.code(1).stderr_has("timed out after 0.5 s");
    assert_eq!(t.read("h.txt"), "200 hello 404 false 200 hello");
    let echo = t.read("echo.txt");
    assert!(echo.starts_with("POST {\"a\":1}"), "{echo}");
    assert!(
        echo.contains("x-test: yes") && echo.contains("content-type: application/json"),
        "{echo}"
    );
}

#[test]
fn http_connection_errors_are_clear() {
    let t = probe("\"http\"", "http::get(\"http://127.0.0.1:9/\")");
    t.run(&["apply"])
        .code(1)
        .no_panic()
        .stderr_has("`http::get` http://127.0.0.1:9/: ");
}

#[test]
fn net_allow_refuses_other_hosts_even_after_a_redirect() {
    let server = HttpServer::start();
    let t = probe("\"http\"", &format!("http::get(\"{}\")", server.url("/ok")));
    t.run(&["apply", "--net-allow", "example.com"])
        .code(1)
        .stderr_has("host `127.0.0.1` is not allowed (--net-allow example.com)");
    t.run(&["apply", "--net-allow", "127.0.0.1"]).code(0);
}

#[test]
fn download_writes_atomically_and_a_non_2xx_status_throws() {
    let server = HttpServer::start();
    let body = format!(
        "let r = http::download(\"{}\", path::join(m.dir, \"dl/file.bin\"));\nif r.size != 100000 {{ throw \"size\"; }}\nhttp::download(\"{}\", path::join(m.dir, \"dl/missing.bin\"));",
        server.url("/file.bin"),
        server.url("/missing")
    );
    let t = probe("\"http\", \"file:write\"", &body);
    t.run(&["apply"])
        .code(1)
        .stderr_has("the server answered 404");
    let bytes = std::fs::read(t.path().join("dl/file.bin")).unwrap();
    assert_eq!(bytes.len(), 100_000);
    assert_eq!(bytes[300], (300 % 251) as u8);
    assert!(!t.exists("dl/missing.bin"));
    let leftovers = std::fs::read_dir(t.path().join("dl")).unwrap().count();
    assert_eq!(leftovers, 1, "only the finished download stays");
}

#[test]
fn templates_render_and_undefined_names_are_errors() {
    let t = probe(
        "\"file:write\"",
        "file::write(path::join(m.dir, \"t.txt\"), template::render(\"{{ name }} has {{ items | length }} items{% for i in items %} {{ i }}{% endfor %}\", #{ name: \"web\", items: [1, 2] }));",
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("t.txt"), "web has 2 items 1 2");
    let t = probe("", "template::render(\"{{ nope }}\", #{})");
    t.run(&["apply"])
        .code(1)
        .stderr_has("`template::render`: undefined value");
}

#[test]
fn a_rendered_template_keeps_its_final_newline() {
    let t = probe(
        "\"file:read\", \"file:write\"",
        "let tpl = file::read(path::join(m.dir, \"app.conf.j2\"));\n\
         file::write(path::join(m.dir, \"app.conf\"), template::render(tpl, #{ host: \"web\" }));\n\
         file::write(path::join(m.dir, \"two.txt\"), template::render(\"a\\n\\n\", #{}));\n\
         file::write(path::join(m.dir, \"none.txt\"), template::render(\"{{ host }}\", #{ host: \"x\" }));",
    )
    .file("app.conf.j2", "[server]\nhost = {{ host }}\n");
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("app.conf"), "[server]\nhost = web\n");
    assert_eq!(t.read("two.txt"), "a\n\n");
    assert_eq!(t.read("none.txt"), "x", "no newline is added either");
}

#[test]
fn yaml_round_trips() {
    let t = probe(
        "\"file:write\"",
        "let v = yaml::parse(\"a: 1\\nb: [x, true]\\nc: !Ref thing\\n\"); file::write(path::join(m.dir, \"y.txt\"), `${v.a} ${v.b[1]} ${v.c.tag} ${yaml::to_string(#{ k: [1, \"two\"] })}`);",
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("y.txt"), "1 true !Ref k:\n- 1\n- two\n");
}

#[test]
fn ctrl_c_stops_running_commands_and_exits_130() {
    let marker = format!("60.{}", std::process::id() + 7);
    let body = format!("shell::run(\"sleep {marker} & sleep {marker}\");");
    let t = probe("\"shell\"", &body);
    let child = t.spawn(&["apply"]);
    // Wait until the command runs, then interrupt ordo the way a terminal would.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !common::processes_matching(&format!("sleep {marker}")).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(300));
    let survivors = common::processes_matching(&format!("sleep {marker}"));
    assert!(survivors.is_empty(), "left behind: {survivors}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("(interrupted)"));
}

#[test]
fn arrays_maps_and_expression_nesting_are_bounded() {
    // Doubling reaches the limits quickly (Rhai checks sizes on every change).
    let t = probe("", "let a = [1]; loop { a += a; }");
    t.run(&["apply"])
        .code(1)
        .no_panic()
        .stderr_has("Size of array/BLOB is over its limit");
    // A map built natively is checked when it reaches the script.
    let keys: Vec<String> = (0..100_001).map(|i| format!("\"k{i}\": {i}")).collect();
    let t = probe(
        "\"file:read\"",
        "json::parse(file::read(path::join(m.dir, \"big.json\")))",
    )
    .file("big.json", &format!("{{{}}}", keys.join(",")));
    t.run(&["apply"])
        .code(1)
        .no_panic()
        .stderr_has("Size of object map is over its limit");
    // Nesting beyond the limit is refused when the handler loads.
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let t = probe("", &format!("let x = {deep};"));
    t.run(&["apply"])
        .code(3)
        .no_panic()
        .stderr_has("probe.rhai:4:");
}

/// Runs `f` while a thread swaps the directory `a` and the symlink `b` (both in the same
/// directory) with `renameat2(RENAME_EXCHANGE)` as fast as it can, so that a path checked
/// while `a` is a directory may be opened while it is the symlink. Returns what `f` returns
/// and how many swaps were made.
fn while_swapping<R>(a: &std::path::Path, b: &std::path::Path, f: impl FnOnce() -> R) -> (R, u64) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let swapper = s.spawn(|| {
            let mut swaps = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    a,
                    rustix::fs::CWD,
                    b,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps += 1;
            }
            swaps
        });
        let result = f();
        stop.store(true, Ordering::Relaxed);
        (result, swapper.join().unwrap())
    })
}

/// The project and the root of a swap attack: a `Probe` handler running `body` with
/// `permissions`, and a separate root (`m.spec.area`) holding `d`, a directory, `s`, a
/// symlink to `canary`, and `src.txt`. The root is not the project directory, so that
/// loading the project (which walks it) does not race with the swap.
fn swap_area(
    permissions: &str,
    body: &str,
    fallback: bool,
    canary: &std::path::Path,
) -> (Test, tempfile::TempDir) {
    let area = tempfile::tempdir().unwrap();
    std::fs::create_dir(area.path().join("d")).unwrap();
    std::fs::write(area.path().join("src.txt"), "source").unwrap();
    std::os::unix::fs::symlink(canary, area.path().join("s")).unwrap();
    let manifest = format!(
        "kind: Probe\nversion: v1\nmetadata: {{name: p}}\nspec: {{area: {:?}}}\n",
        area.path().to_str().unwrap()
    );
    let mut t = probe(permissions, body).manifest("m.yaml", &manifest);
    if fallback {
        t = t.env("ORDO_NO_OPENAT2", "1");
    }
    (t, area)
}

/// Issue 15: a path checked against `--fs-root` and then opened by name can be redirected
/// between the two: `d` (a directory in the root) swapped with `s` (a symlink to a canary
/// directory outside) in a loop put files outside the root and read files there. Every
/// file function (and `http::download`), run for two seconds in a loop against that swap, must never touch the
/// canary: confinement is enforced by the open itself.
fn file_functions_stay_beneath_the_root_while_a_directory_is_swapped(fallback: bool) {
    let canary = tempfile::tempdir().unwrap();
    let secret = canary.path().join("secret");
    std::fs::write(&secret, "CANARY").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::create_dir(canary.path().join("keep")).unwrap();
    let server = HttpServer::start();
    // `d` never holds `secret` or `keep`: any call that sees them saw the canary.
    let body = r#"
let d = path::join(m.spec.area, "d");
let url = "URL";
let leaks = [];
let ok = 0;
let end = time::now() + 2.0;
while time::now() < end {
    try { file::write(d + "/w.txt", "w"); ok += 1; } catch {}
    try { file::append(d + "/a.txt", "a"); ok += 1; } catch {}
    try { http::download(url, d + "/dl.txt"); ok += 1; } catch {}
    try { file::mkdir(d + "/made/deeper"); ok += 1; } catch {}
    try { file::copy(path::join(m.spec.area, "src.txt"), d + "/copied"); ok += 1; } catch {}
    try { if file::read(d + "/secret").contains("CANARY") { leaks.push("read"); } } catch {}
    try { file::sha256(d + "/secret"); leaks.push("sha256"); } catch {}
    try { file::size(d + "/secret"); leaks.push("size"); } catch {}
    try { file::mode(d + "/secret"); leaks.push("mode"); } catch {}
    try { if file::exists(d + "/secret") { leaks.push("exists"); } } catch {}
    try { if file::is_dir(d + "/keep") { leaks.push("is_dir"); } } catch {}
    try { if file::list(d).contains("secret") { leaks.push("list"); } } catch {}
    try { file::copy(d + "/secret", path::join(m.spec.area, "stolen")); leaks.push("copy"); } catch {}
    try { file::chmod(d + "/secret", "0666"); leaks.push("chmod"); } catch {}
    try { if file::remove(d + "/secret") { leaks.push("remove"); } } catch {}
    try { if file::remove_dir(d + "/keep") { leaks.push("remove_dir"); } } catch {}
}
file::write(path::join(m.spec.area, "result.txt"), `${ok} ${leaks}`);
"#;
    let body = body.replace("URL", &server.url("/ok"));
    let (t, area) = swap_area(
        "\"file:read\", \"file:write\", \"http\"",
        &body,
        fallback,
        canary.path(),
    );
    let root = area.path().to_str().unwrap().to_string();
    let (out, swaps) = while_swapping(&area.path().join("d"), &area.path().join("s"), || {
        t.run(&["apply", "--fs-root", &root])
    });
    out.code(0).no_panic();
    let result = std::fs::read_to_string(area.path().join("result.txt")).unwrap();
    let (ok, leaks) = result.split_once(' ').unwrap();
    assert_eq!(leaks, "[]", "calls reached the canary ({swaps} swaps)");
    assert!(
        ok.parse::<u64>().unwrap() > 0,
        "nothing worked inside: {result}"
    );
    let mut names: Vec<String> = std::fs::read_dir(canary.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["keep", "secret"],
        "files were made outside the root"
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "CANARY");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&secret).unwrap().permissions());
    assert_eq!(mode & 0o7777, 0o600, "the canary's mode changed");
    assert!(!area.path().join("stolen").exists());
}

#[test]
fn fs_root_is_enforced_by_the_open_while_a_directory_is_swapped_for_a_symlink() {
    file_functions_stay_beneath_the_root_while_a_directory_is_swapped(false);
}

#[test]
fn fs_root_fallback_walk_is_enforced_while_a_directory_is_swapped_for_a_symlink() {
    // `ORDO_NO_OPENAT2=1`: the component-by-component walk used where `openat2` is missing.
    file_functions_stay_beneath_the_root_while_a_directory_is_swapped(true);
}

#[test]
fn shell_cwd_stays_beneath_the_root_while_a_directory_is_swapped() {
    // Issue 15: `shell::run`'s `cwd` was checked and then passed by name to the child.
    for fallback in [false, true] {
        let canary = tempfile::tempdir().unwrap();
        let body = r#"
let d = path::join(m.spec.area, "d");
let ok = 0;
let end = time::now() + 2.0;
while time::now() < end {
    try { shell::run(["touch", "planted"], #{ cwd: d }); ok += 1; } catch {}
}
file::write(path::join(m.spec.area, "result.txt"), `${ok}`);
"#;
        let (t, area) = swap_area("\"shell\", \"file:write\"", body, fallback, canary.path());
        let root = area.path().to_str().unwrap().to_string();
        let (out, swaps) = while_swapping(&area.path().join("d"), &area.path().join("s"), || {
            t.run(&["apply", "--fs-root", &root])
        });
        out.code(0).no_panic();
        let result = std::fs::read_to_string(area.path().join("result.txt")).unwrap();
        assert!(result.parse::<u64>().unwrap() > 0, "no command ran inside");
        assert!(
            !canary.path().join("planted").exists(),
            "a command ran outside the root ({swaps} swaps)"
        );
    }
}

#[test]
fn fs_root_follows_symlinks_that_stay_inside_the_root_with_openat2_and_the_walk() {
    // Every file function, through a relative and an absolute symlink inside the root to a
    // directory inside it, under `--fs-root`: with `openat2` and with the fallback walk
    // (`ORDO_NO_OPENAT2=1`), the same results.
    let body = r#"
let r = m.dir;
let out = [];
file::write(r + "/rel/a.txt", "one");
file::append(r + "/abs/a.txt", "+two");
out.push(file::read(r + "/real/a.txt"));
file::mkdir(r + "/rel/sub/deeper");
file::copy(r + "/abs/a.txt", r + "/rel/sub/copy.txt");
file::chmod(r + "/abs/sub/copy.txt", "0604");
out.push(file::mode(r + "/real/sub/copy.txt"));
out.push(file::size(r + "/rel/a.txt"));
out.push(file::sha256(r + "/abs/a.txt").sub_string(0, 8));
out.push(file::exists(r + "/rel/sub/deeper"));
out.push(file::exists(r + "/rel/nothing"));
out.push(file::is_dir(r + "/abs/sub"));
out.push(file::list(r + "/rel"));
out.push(file::list(r));
shell::run(["touch", "by-shell"], #{ cwd: r + "/abs/sub" });
out.push(file::exists(r + "/real/sub/by-shell"));
out.push(file::remove(r + "/rel/a.txt"));
out.push(file::remove(r + "/rel/a.txt"));
out.push(file::remove_dir(r + "/abs/sub"));
out.push(file::remove_dir(r + "/abs/sub"));
// The link itself is what `remove` removes, not the directory it points to.
out.push(file::remove(r + "/abs"));
out.push(file::is_dir(r + "/real"));
file::write(r + "/out.txt", `${out}`);
"#;
    let mut results = Vec::new();
    for fallback in [false, true] {
        let mut t = probe("\"file:read\", \"file:write\", \"shell\"", body);
        if fallback {
            t = t.env("ORDO_NO_OPENAT2", "1");
        }
        std::fs::create_dir(t.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", t.path().join("rel")).unwrap();
        std::os::unix::fs::symlink(t.path().join("real"), t.path().join("abs")).unwrap();
        let root = t.path().to_str().unwrap().to_string();
        t.run(&["apply", "--fs-root", &root]).code(0).no_panic();
        assert!(!t.exists("abs") && t.exists("rel"));
        results.push(t.read("out.txt"));
    }
    assert_eq!(
        results[0],
        "[\"one+two\", \"0604\", 7, \"c1eea744\", true, false, true, [\"a.txt\", \"sub\"], \
         [\".ordo\", \"abs\", \"m.yaml\", \"probe.rhai\", \"real\", \"rel\"], true, true, false, true, false, true, true]"
    );
    assert_eq!(
        results[0], results[1],
        "the fallback walk differs from openat2"
    );
}

#[test]
fn fs_root_a_root_itself_cannot_be_removed() {
    // A root is not a name inside a root: `remove_dir` and `remove` on it are errors, and
    // it is still there; looking at it works.
    for (call, attack) in [
        ("file::remove_dir", "file::remove_dir(m.dir)"),
        ("file::remove", "file::remove(m.dir)"),
    ] {
        let t = probe(
            "\"file:read\", \"file:write\"",
            &format!(
                "if !file::exists(m.dir) || !file::is_dir(m.dir) {{ throw \"unseen\"; }}\n{attack}"
            ),
        );
        let root = t.path().to_str().unwrap().to_string();
        t.run(&["apply", "--fs-root", &root])
            .code(1)
            .no_panic()
            .stderr_has(&format!("`{call}`: {root}"));
        assert!(
            t.exists("m.yaml") && t.exists("probe.rhai"),
            "{attack} removed the root"
        );
    }
}
