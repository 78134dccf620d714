//! The bundled handlers (`handlers/*.rhai`), through the real binary: apply, a second apply,
//! delete, their outputs and their errors. HTTP only against servers on 127.0.0.1 started
//! here; git only against repositories made here. Every example manifest in
//! `handlers/README.md` is applied too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{HttpServer, Output, Test, write_file_doc as write_file};

/// A test handler: writes the variables named in `spec.vars` to `spec.file` (default
/// `dump.json`) as a JSON map; a missing variable is `"<unset>"`.
const DUMP: &str = r#"
register("Dump", "^1");
permissions(["file:write"]);
fn apply(m) {
    let out = #{};
    for name in m.spec.vars { out[name] = vars::get(name, "<unset>"); }
    file::write(path::join(m.dir, m.spec.file ?? "dump.json"), json::to_string(out));
}
"#;

/// A `Dump` manifest that runs after `after` and records `vars`.
fn dump_doc(after: &str, vars: &[&str]) -> String {
    format!(
        "---\nkind: Dump\nversion: v1\nmetadata:\n  name: dump\n  dependencies: {{apply: [{after}]}}\nspec:\n  vars: [{}]\n",
        vars.join(", ")
    )
}

fn dumped(t: &Test) -> serde_json::Value {
    serde_json::from_str(&t.read("dump.json")).unwrap_or_else(|e| panic!("dump.json: {e}"))
}

/// The whole output, for checking that a secret appears nowhere.
fn lacks_everywhere(out: &Output, secret: &str) {
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{secret} leaked:\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes a repository at `dir` (relative to the project) with one commit on `main`
/// adding `file` with `text`; returns the commit.
fn make_repo(t: &Test, dir: &str, file: &str, text: &str) -> String {
    let repo = t.path().join(dir);
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    commit(t, dir, file, text)
}

/// Commits `file` with `text` on the checked-out branch of the repository at `dir`.
fn commit(t: &Test, dir: &str, file: &str, text: &str) -> String {
    let repo = t.path().join(dir);
    std::fs::write(repo.join(file), text).unwrap();
    git(&repo, &["add", file]);
    git(&repo, &["commit", "-q", "-m", &format!("{file}: {text}")]);
    git(&repo, &["rev-parse", "HEAD"])
}

// ---------------------------------------------------------------------------------------
// ShellScript

fn shell(name: &str, spec: &str) -> String {
    let mut doc =
        format!("---\nkind: ShellScript\nversion: v1\nmetadata:\n  name: {name}\nspec:\n");
    for line in spec.lines() {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    doc
}

#[test]
fn shell_script_outputs_exit_code_stdout_and_stderr() {
    let yaml = shell(
        "sh",
        "source:\n  type: inline\n  value: |\n    echo out-line\n    echo err-line >&2\n",
    ) + &dump_doc("sh", &["sh.EXIT_CODE", "sh.STDOUT", "sh.STDERR"]);
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   ShellScript/sh");
    let d = dumped(&t);
    assert_eq!(d["sh.EXIT_CODE"], 0);
    assert_eq!(d["sh.STDOUT"], "out-line\n");
    assert_eq!(d["sh.STDERR"], "err-line\n");
}

#[test]
fn shell_script_without_a_source_runs_exit_0() {
    let yaml = shell("nothing", "{}") + &dump_doc("nothing", &["nothing.EXIT_CODE"]);
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&["apply"]).code(0);
    assert_eq!(dumped(&t)["nothing.EXIT_CODE"], 0);
}

#[test]
fn shell_script_non_zero_exit_fails_the_manifest_with_its_code_and_stderr() {
    // py-animus 1.1 logged -999 and went on; the code is kept and the run fails.
    let yaml = shell("bad", "source: {value: \"echo broken-thing >&2; exit 3\"}")
        + &dump_doc("bad", &["bad.EXIT_CODE"]);
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&["apply"])
        .code(1)
        .stdout_has("failed    ShellScript/bad")
        .stdout_has("skipped   Dump/dump")
        .stderr_has("ShellScript `bad`: the script exited with code 3: broken-thing")
        .stderr_has("allowFailure");
}

#[test]
fn shell_script_allow_failure_keeps_the_real_exit_code() {
    let yaml = shell(
        "tolerated",
        "source: {value: \"echo partial; exit 3\"}\nallowFailure: true",
    ) + &dump_doc("tolerated", &["tolerated.EXIT_CODE", "tolerated.STDOUT"]);
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&["apply"])
        .code(0)
        .stderr_has("exited with code 3 (allowed by allowFailure)");
    let d = dumped(&t);
    assert_eq!(d["tolerated.EXIT_CODE"], 3);
    assert_eq!(d["tolerated.STDOUT"], "partial\n");
}

#[test]
fn shell_script_post_processing_booleans_are_honoured() {
    // py-animus 1.1 turned `true` into "True" and ignored all of these (scenario S25).
    let script =
        "source: {value: \"printf '  hello   world  \\\\n  again\\\\n'; echo ' err ' >&2\"}";
    let yaml = shell("raw", script)
        + &shell("nl", &format!("{script}\nstripNewline: true"))
        + &shell("spaces", &format!("{script}\nconvertRepeatingSpaces: true"))
        + &shell(
            "trim",
            &format!("{script}\nstripLeadingTrailingSpaces: true"),
        )
        + &shell(
            "off",
            &format!("{script}\nstripNewline: false\nconvertRepeatingSpaces: false"),
        )
        + &dump_doc(
            "raw, nl, spaces, trim, off",
            &[
                "raw.STDOUT",
                "nl.STDOUT",
                "spaces.STDOUT",
                "trim.STDOUT",
                "trim.STDERR",
                "off.STDOUT",
            ],
        );
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&["apply"]).code(0);
    let d = dumped(&t);
    assert_eq!(d["raw.STDOUT"], "  hello   world  \n  again\n");
    assert_eq!(d["nl.STDOUT"], "  hello   world    again");
    assert_eq!(d["spaces.STDOUT"], "hello world again");
    assert_eq!(d["trim.STDOUT"], "hello   world  \n  again");
    assert_eq!(d["trim.STDERR"], "err");
    assert_eq!(d["off.STDOUT"], "  hello   world  \n  again\n");
}

#[test]
fn shell_script_runs_a_script_file_in_its_work_dir_with_env_and_interpreters() {
    let yaml = shell(
        "file",
        "source: {type: filePath, value: scripts/where.sh}\nworkDir: {path: work}\nenv: {GREETING: hi, COUNT: 3}\nstripNewline: true",
    ) + &shell(
        "interp",
        "shellInterpreter: bash\nsource: {type: inLine, value: 'echo \"${BASH_VERSION:+bash}\"'}\nstripNewline: true",
    ) + &shell(
        "argv",
        "shellInterpreter: [sh, -c]\nsource: {value: 'echo from-argv', type: inline}\nstripNewline: true",
    ) + &shell(
        "perl",
        "shellInterpreter: perl\nsource: {value: 'print \"perl \", 6 * 7'}",
    ) + &shell(
        "file-interp",
        "shellInterpreter: sh\nsource: {type: filePath, value: scripts/plain.sh}\nstripNewline: true",
    ) + &dump_doc(
        "file, interp, argv, perl, file-interp",
        &[
            "file.STDOUT",
            "interp.STDOUT",
            "argv.STDOUT",
            "perl.STDOUT",
            "file-interp.STDOUT",
        ],
    );
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml)
        .file(
            "scripts/where.sh",
            "#!/bin/sh\necho \"$(basename \"$(pwd)\") $GREETING $COUNT\"\n",
        )
        .file("scripts/plain.sh", "echo not executable but run by sh\n")
        .file("work/.keep", "");
    std::fs::set_permissions(
        t.path().join("scripts/where.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    t.run(&["apply"]).code(0);
    let d = dumped(&t);
    assert_eq!(d["file.STDOUT"], "work hi 3");
    assert_eq!(d["interp.STDOUT"], "bash");
    assert_eq!(d["argv.STDOUT"], "from-argv");
    // py-animus lists perl among its interpreters; perl takes its program with `-e`.
    assert_eq!(d["perl.STDOUT"], "perl 42");
    assert_eq!(d["file-interp.STDOUT"], "not executable but run by sh");
}

#[test]
fn shell_script_errors_name_the_manifest_and_field() {
    // Its schema refuses these when the manifests load (exit 3, nothing runs).
    let refused = [
        (
            "allowFailure: \"true\"",
            "`spec.allowFailure` must be a bool (true or false), not the string `true`",
        ),
        (
            "stripNewline: 1",
            "`spec.stripNewline` must be a bool (true or false), not the int `1`",
        ),
        (
            "source: {type: bogus}",
            "`spec.source.type` is the string `bogus`, not one of `inline`, `inLine`, `filePath`",
        ),
        ("env: [A]", "`spec.env` must be a map, not a list"),
        (
            "envv: {A: b}",
            "unknown field `spec.envv`; did you mean `spec.env`?",
        ),
    ];
    for (spec, message) in refused {
        let t = Test::new().manifest("m.yaml", &shell("broken", spec));
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has(&format!("manifest `broken`: {message}"))
            .stderr_has("nothing was run");
    }
    // The handler itself checks what a schema cannot say.
    let cases = [
        (
            "source: {type: filePath, value: nowhere.sh}",
            "`spec.source.value` names the script file",
        ),
        ("workDir: {path: missing-dir}", "`spec.workDir.path` names"),
    ];
    for (spec, message) in cases {
        let t = Test::new().manifest("m.yaml", &shell("broken", spec));
        t.run(&["apply"])
            .code(1)
            .no_panic()
            .stderr_has(&format!("ShellScript `broken`: {message}"));
    }
    // A script file without its execute bit and without an interpreter.
    let t = Test::new()
        .manifest(
            "m.yaml",
            &shell("noexec", "source: {type: filePath, value: s.sh}"),
        )
        .file("s.sh", "echo hi\n");
    t.run(&["apply"])
        .code(1)
        .stderr_has("ShellScript `noexec`: `shell::run`: cannot start")
        .stderr_has("execute bit");
}

#[test]
fn shell_script_delete_does_nothing_unless_overridden() {
    let plain = shell("plain", "source: {value: 'echo ran >> trace.txt'}");
    let mut overridden = shell("backup", "source: {value: 'echo backup >> trace.txt'}");
    overridden = overridden.replace(
        "  name: backup\n",
        "  name: backup\n  actionOverrides: {delete: apply}\n",
    );
    let t = Test::new().manifest("m.yaml", &(plain + &overridden));
    t.run(&["delete", "-j", "1"])
        .code(0)
        .stdout_has("unchanged ShellScript/plain")
        .stdout_has("changed   ShellScript/backup");
    assert_eq!(t.take_trace(), vec!["backup"]);
}

// ---------------------------------------------------------------------------------------
// WriteFile

#[test]
fn write_file_apply_then_unchanged_then_delete() {
    let t = Test::new().manifest(
        "conf/m.yaml",
        &write_file("conf", "targetFile: out/app.conf\ndata: |\n  port = 8080\n"),
    );
    t.run(&["apply", "-m", "conf"])
        .code(0)
        .stdout_has("changed   WriteFile/conf");
    // Relative to the manifest's directory, parents created.
    assert_eq!(t.read("conf/out/app.conf"), "port = 8080\n");
    t.run(&["apply", "-m", "conf"])
        .code(0)
        .stdout_has("unchanged WriteFile/conf");
    // A changed file is put back.
    std::fs::write(t.path().join("conf/out/app.conf"), "edited").unwrap();
    t.run(&["apply", "-m", "conf"])
        .code(0)
        .stdout_has("changed   WriteFile/conf");
    assert_eq!(t.read("conf/out/app.conf"), "port = 8080\n");
    t.run(&["delete", "-m", "conf"])
        .code(0)
        .stdout_has("changed   WriteFile/conf");
    assert!(!t.exists("conf/out/app.conf"));
    t.run(&["delete", "-m", "conf"])
        .code(0)
        .stdout_has("unchanged WriteFile/conf");
}

#[test]
fn write_file_outputs_path_size_and_sha256_even_when_unchanged() {
    let yaml = write_file("f", "targetFile: h.txt\ndata: abc")
        + &dump_doc("f", &["f.path", "f.size", "f.sha256"]);
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    for status in ["changed   WriteFile/f", "unchanged WriteFile/f"] {
        let _ = std::fs::remove_file(t.path().join("dump.json"));
        t.run(&["apply"]).code(0).stdout_has(status);
        let d = dumped(&t);
        assert!(d["f.path"].as_str().unwrap().ends_with("/h.txt"), "{d}");
        assert_eq!(d["f.size"], 3);
        assert_eq!(
            d["f.sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

#[test]
fn write_file_skip_keeps_an_existing_file() {
    let t = Test::new()
        .manifest(
            "m.yaml",
            &write_file(
                "keep",
                "targetFile: kept.txt\ndata: new\nactionIfFileAlreadyExists: skip",
            ),
        )
        .file("kept.txt", "pre-existing");
    t.run(&["apply"])
        .code(0)
        .stdout_has("unchanged WriteFile/keep");
    assert_eq!(t.read("kept.txt"), "pre-existing");
    std::fs::remove_file(t.path().join("kept.txt")).unwrap();
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   WriteFile/keep");
    assert_eq!(t.read("kept.txt"), "new");
}

#[test]
fn write_file_modes_are_set_as_documented() {
    use std::os::unix::fs::PermissionsExt;
    let yaml = write_file(
        "private",
        "targetFile: private.txt\ndata: x\nfileMode: \"0600\"",
    ) + &write_file(
        "run",
        "targetFile: run.sh\ndata: \"#!/bin/sh\\n\"\nfileMode: executable",
    ) + &write_file("bare", "targetFile: bare.txt\ndata: 42\nfileMode: \"640\"")
        + &write_file("plain", "targetFile: plain.txt\ndata: true");
    let t = Test::new().manifest("m.yaml", &yaml);
    t.run(&["apply"]).code(0);
    let mode = |f: &str| {
        std::fs::metadata(t.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("private.txt"), 0o600);
    assert_eq!(mode("run.sh"), 0o755);
    // Three quoted octal digits are a mode too (a YAML number is refused: tests/files.rs).
    assert_eq!(mode("bare.txt"), 0o640);
    assert_eq!(mode("plain.txt"), 0o644);
    assert_eq!(t.read("bare.txt"), "42");
    assert_eq!(t.read("plain.txt"), "true");
}

#[test]
fn write_file_errors_name_the_manifest_and_field() {
    // Its schema refuses these when the manifests load (exit 3, nothing runs).
    let refused = [
        ("data: x", "`spec.targetFile` is required"),
        ("targetFile: a.txt", "`spec.data` is required"),
        (
            "targetFile: a.txt\ndata: {a: 1}",
            "`spec.data` must be a string or an int (a whole number) or a float (a number) or a bool (true or false), not a map",
        ),
        (
            "targetFile: [a]\ndata: x",
            "`spec.targetFile` must be a string, not a list",
        ),
        (
            "targetFile: a.txt\ndata: x\nactionIfFileAlreadyExists: merge",
            "`spec.actionIfFileAlreadyExists` is the string `merge`, not one of `overwrite`, `skip`",
        ),
        // The issue's misspelt key: silently ignored before schemas.
        (
            "targetFile: a.txt\ndata: x\nfileMdoe: \"0600\"",
            "unknown field `spec.fileMdoe`; did you mean `spec.fileMode`?",
        ),
    ];
    for (spec, message) in refused {
        let t = Test::new().manifest("m.yaml", &write_file("wf", spec));
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has(&format!("manifest `wf`: {message}"))
            .stderr_has("nothing was run");
        assert!(!t.exists("a.txt"));
    }
    let cases = [
        (
            "targetFile: a.txt\ndata: x\nfileMode: rwx",
            "`spec.fileMode` must be `normal`, `executable` or an octal mode",
        ),
        ("targetFile: sub\ndata: x", "`spec.targetFile` names"),
        (
            "targetFile: \"\"\ndata: x",
            "`spec.targetFile` must be a non-empty string",
        ),
    ];
    for (spec, message) in cases {
        let t = Test::new()
            .manifest("m.yaml", &write_file("wf", spec))
            .file("sub/x", "");
        t.run(&["apply"])
            .code(1)
            .no_panic()
            .stderr_has(&format!("WriteFile `wf`: {message}"))
            .stderr_has("handlers/README.md");
    }
}

// ---------------------------------------------------------------------------------------
// WebDownloadFile

fn download(name: &str, spec: &str) -> String {
    let mut doc =
        format!("---\nkind: WebDownloadFile\nversion: v1\nmetadata:\n  name: {name}\nspec:\n");
    for line in spec.lines() {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    doc
}

#[test]
fn web_download_file_apply_then_unchanged_then_delete() {
    let server = HttpServer::start();
    let yaml = download(
        "bin",
        &format!(
            "sourceUrl: {}\ntargetOutputFile: downloads/file.bin",
            server.url("/file.bin")
        ),
    ) + &dump_doc("bin", &["bin.size", "bin.status", "bin.sha256", "bin.path"]);
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   WebDownloadFile/bin")
        .stderr_has("(100000 bytes)");
    let bytes = std::fs::read(t.path().join("downloads/file.bin")).unwrap();
    assert_eq!(bytes.len(), 100_000);
    assert!(
        bytes
            .iter()
            .enumerate()
            .all(|(i, b)| *b == u8::try_from(i % 251).unwrap())
    );
    let d = dumped(&t);
    assert_eq!(d["bin.size"], 100_000);
    assert_eq!(d["bin.status"], 200);
    // A second apply: the HEAD request's Content-Length matches the file.
    t.run(&["apply"])
        .code(0)
        .stdout_has("unchanged WebDownloadFile/bin");
    assert_eq!(dumped(&t)["bin.size"], 100_000);
    // A file of another size is downloaded again.
    std::fs::write(t.path().join("downloads/file.bin"), "short").unwrap();
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   WebDownloadFile/bin");
    assert_eq!(file_len(&t.path().join("downloads/file.bin")), 100_000);
    t.run(&["delete"])
        .code(0)
        .stdout_has("changed   WebDownloadFile/bin");
    assert!(!t.exists("downloads/file.bin"));
}

/// Serves `/a.txt` = `AAAA` and `/b.txt` = `BBBB` (same size, different content) on
/// 127.0.0.1, for as long as the test runs; returns the base URL.
fn two_file_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
            }
            let head = first.starts_with("HEAD");
            let body = if first.contains("/b.txt") {
                "BBBB"
            } else {
                "AAAA"
            };
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n{}",
                if head { "" } else { body }
            );
        }
    });
    format!("http://{addr}")
}

/// `sourceUrl` changed to a file of the same size: `check` compared only the size from a
/// HEAD request, so the old content stayed while the state recorded the new URL. Where
/// the file comes from is part of the end state: `check` compares it with `m.previous`.
#[test]
fn web_download_ignores_a_changed_source_url_of_the_same_size() {
    let base = two_file_server();
    let doc = |file: &str| {
        format!(
            "kind: WebDownloadFile\nversion: v1\nmetadata: {{name: d}}\nspec: {{sourceUrl: \"{base}/{file}\", targetOutputFile: out.txt}}\n"
        )
    };
    let t = Test::new().manifest("m.yaml", &doc("a.txt"));
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("out.txt"), "AAAA");
    t.run(&["apply"])
        .code(0)
        .stdout_has("unchanged WebDownloadFile/d");
    std::fs::write(t.path().join("m.yaml"), doc("b.txt")).unwrap();
    t.run(&["plan"])
        .code(0)
        .stdout_has("pending   WebDownloadFile/d  (spec changed since the last apply)");
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   WebDownloadFile/d");
    assert_eq!(t.read("out.txt"), "BBBB", "the new URL was not downloaded");
    t.run(&["apply"])
        .code(0)
        .stdout_has("unchanged WebDownloadFile/d");
    // Without a state there is nothing to compare with: the size decides, as before.
    t.run(&["apply", "--no-state"])
        .code(0)
        .stdout_has("unchanged WebDownloadFile/d");
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

#[test]
fn web_download_file_http_404_fails_and_writes_nothing() {
    // py-animus 1.1 saved the error page and reported SUCCESS.
    let server = HttpServer::start();
    let t = Test::new().manifest(
        "m.yaml",
        &download(
            "gone",
            &format!(
                "sourceUrl: {}\ntargetOutputFile: out/gone.html",
                server.url("/missing")
            ),
        ),
    );
    t.run(&["apply"])
        .code(1)
        .stdout_has("failed    WebDownloadFile/gone")
        .stderr_has(&format!(
            "WebDownloadFile `gone`: GET {} answered 404; nothing was written",
            server.url("/missing")
        ));
    assert!(!t.exists("out/gone.html"));
}

#[test]
fn web_download_file_sends_headers_and_basic_auth_from_a_secret_value() {
    let server = HttpServer::start();
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: pass-word-secret, secret: true}\n";
    let yaml = download(
        "echo",
        &format!(
            "sourceUrl: {}\ntargetOutputFile: echo.txt\nextraHeaders:\n- {{name: X-Request-Id, value: 42}}\nhttpBasicAuthentication:\n  username: user\n  password: !Value pw",
            server.url("/echo")
        ),
    );
    let t = Test::new()
        .manifest("values.yaml", values)
        .manifest("m.yaml", &yaml);
    let out = t.run(&["apply", "-v"]);
    out.code(0);
    lacks_everywhere(&out, "pass-word-secret");
    let echoed = t.read("echo.txt");
    assert!(echoed.starts_with("GET "), "{echoed}");
    assert!(echoed.contains("x-request-id: 42"), "{echoed}");
    // base64("user:pass-word-secret")
    assert!(
        echoed.contains("authorization: Basic dXNlcjpwYXNzLXdvcmQtc2VjcmV0"),
        "{echoed}"
    );
}

#[test]
fn web_download_file_reads_password_variable_name_in_both_spellings() {
    let server = HttpServer::start();
    let ask = "---\nkind: CliInputPrompt\nversion: v1\nmetadata: {name: pw}\nspec:\n  containsCredentials: true\n";
    let mut yaml = ask.to_string();
    for (name, var) in [
        ("ordo-style", "pw.CLI_INPUT_VALUE"),
        ("animus-style", "CliInputPrompt:pw:default:CLI_INPUT_VALUE"),
    ] {
        yaml += &download(
            name,
            &format!(
                "sourceUrl: {}\ntargetOutputFile: {name}.txt\nhttpBasicAuthentication:\n  username: user\n  passwordVariableName: \"{var}\"",
                server.url("/echo")
            ),
        )
        .replace(
            &format!("  name: {name}\n"),
            &format!("  name: {name}\n  dependencies: {{apply: [pw]}}\n"),
        );
    }
    let t = Test::new().manifest("m.yaml", &yaml);
    let out = t.run(&["apply", "--set", "pw=typed-secret-99"]);
    out.code(0);
    lacks_everywhere(&out, "typed-secret-99");
    for name in ["ordo-style", "animus-style"] {
        // base64("user:typed-secret-99")
        assert!(
            t.read(&format!("{name}.txt"))
                .contains("authorization: Basic dXNlcjp0eXBlZC1zZWNyZXQtOTk="),
            "{name}"
        );
    }
    // A variable nobody set is a clear error.
    let t = Test::new().manifest(
        "m.yaml",
        &download(
            "nopw",
            &format!(
                "sourceUrl: {}\ntargetOutputFile: x.txt\nhttpBasicAuthentication: {{username: u, passwordVariableName: nobody.pw}}",
                server.url("/echo")
            ),
        ),
    );
    t.run(&["apply"])
        .code(1)
        .stderr_has("`spec.httpBasicAuthentication.passwordVariableName` names the variable `nobody.pw`, which is not set");
}

#[test]
fn web_download_file_other_methods_send_the_body() {
    let server = HttpServer::start();
    let t = Test::new().manifest(
        "m.yaml",
        &download(
            "post",
            &format!(
                "sourceUrl: {}\ntargetOutputFile: posted.txt\nmethod: post\nbody: '{{\"a\": 1}}'\nextraHeaders: {{Content-Type: application/json}}",
                server.url("/echo")
            ),
        ),
    );
    t.run(&["apply"]).code(0);
    let echoed = t.read("posted.txt");
    assert!(echoed.starts_with("POST {\"a\": 1}\n"), "{echoed}");
    assert!(
        echoed.contains("content-type: application/json"),
        "{echoed}"
    );
    // Not GET: there is no cheap way to compare, so it runs again.
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   WebDownloadFile/post");
}

#[test]
fn web_download_file_skip_ssl_verification_must_be_a_real_boolean() {
    let server = HttpServer::start();
    let spec = |extra: &str| {
        download(
            "d",
            &format!(
                "sourceUrl: {}\ntargetOutputFile: ok.txt\n{extra}",
                server.url("/ok")
            ),
        )
    };
    // py-animus 1.1 read `skipSslVerification: false` as "False", which disabled it.
    for bad in ["skipSslVerification: \"false\"", "skipSslVerification: no"] {
        let t = Test::new().manifest("m.yaml", &spec(bad));
        t.run(&["apply"])
            .code(3)
            .stderr_has("`spec.skipSslVerification` must be a bool (true or false)");
        assert!(!t.exists("ok.txt"));
    }
    let t = Test::new().manifest("m.yaml", &spec("skipSslVerification: false"));
    t.run(&["apply"])
        .code(0)
        .stderr_lacks("TLS verification is off");
}

/// An HTTP proxy on 127.0.0.1 (CONNECT, as ureq speaks to every proxy) that records the
/// request line and headers it gets, then tunnels to the target.
struct ConnectProxy {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(client.try_clone().unwrap());
                    let mut first = String::new();
                    let _ = reader.read_line(&mut first);
                    log.lock().unwrap().push(first.trim().to_string());
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                            break;
                        }
                        log.lock().unwrap().push(line.trim().to_string());
                    }
                    let target = first.split_whitespace().nth(1).unwrap_or_default();
                    let mut client = client;
                    let Ok(upstream) = std::net::TcpStream::connect(target) else {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                        return;
                    };
                    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                    let mut up_write = upstream.try_clone().unwrap();
                    let mut client_read = client.try_clone().unwrap();
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut client_read, &mut up_write);
                        let _ = up_write.shutdown(std::net::Shutdown::Write);
                    });
                    let mut upstream = upstream;
                    let _ = std::io::copy(&mut upstream, &mut client);
                });
            }
        });
        ConnectProxy { addr, seen }
    }
}

#[test]
fn web_download_file_goes_through_the_proxy_with_its_credentials() {
    use base64::Engine as _;
    let server = HttpServer::start();
    let proxy = ConnectProxy::start();
    // Characters that must be percent-encoded in the proxy URL arrive intact.
    let t = Test::new().manifest(
        "m.yaml",
        &download(
            "proxied",
            &format!(
                "sourceUrl: {}\ntargetOutputFile: proxied.txt\nproxy:\n  host: http://{}\n  basicAuthentication: {{username: squid, password: \"p@ss:w/rd é\"}}",
                server.url("/ok"),
                proxy.addr
            ),
        ),
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("proxied.txt"), "hello");
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.contains(&format!("CONNECT {} HTTP/1.1", server.addr)),
        "{seen:?}"
    );
    let expected = format!(
        "proxy-authorization: basic {}",
        base64::engine::general_purpose::STANDARD.encode("squid:p@ss:w/rd é")
    )
    .to_lowercase();
    assert!(
        seen.iter().any(|l| l.to_lowercase() == expected),
        "{seen:?}"
    );
}

/// `openssl s_server` with a self-signed certificate for 127.0.0.1, stopped on drop.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_server(dir: &Path) -> Option<TlsServer> {
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .current_dir(dir)
        .output()
        .ok()?;
    if !made.status.success() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args([
            "s_server", "-quiet", "-www", "-cert", "cert.pem", "-key", "key.pem",
        ])
        .args(["-accept", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = TlsServer { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[test]
fn web_download_file_verifies_tls_unless_skip_ssl_verification_is_true() {
    let t = Test::new();
    let Some(server) = tls_server(t.path()) else {
        eprintln!("skipped: `openssl` could not start a TLS server");
        return;
    };
    let manifest = |extra: &str| {
        download(
            "tls",
            &format!(
                "sourceUrl: https://127.0.0.1:{}/page\ntargetOutputFile: page.html\n{extra}",
                server.port
            ),
        )
    };
    // A self-signed certificate is refused by default, and with an explicit `false`.
    for extra in ["", "skipSslVerification: false"] {
        std::fs::write(t.path().join("m.yaml"), manifest(extra)).unwrap();
        t.run(&["apply"])
            .code(1)
            .stderr_has("WebDownloadFile `tls`: `http::download`")
            .stderr_has("invalid peer certificate");
        assert!(!t.exists("page.html"));
    }
    std::fs::write(
        t.path().join("m.yaml"),
        manifest("skipSslVerification: true"),
    )
    .unwrap();
    t.run(&["apply"])
        .code(0)
        .stderr_has("TLS verification is off (skipSslVerification: true)");
    assert!(t.read("page.html").contains("s_server"));
}

#[test]
fn web_download_file_errors_name_the_manifest_and_field() {
    let refused = [
        ("targetOutputFile: x", "`spec.sourceUrl` is required"),
        (
            "sourceUrl: http://127.0.0.1:9/x",
            "`spec.targetOutputFile` is required",
        ),
        (
            "sourceUrl: http://127.0.0.1:9/x\ntargetOutputFile: x\nextraHeaders: [X-A]",
            "`spec.extraHeaders[0]` must be a map, not the string `X-A`",
        ),
        (
            "sourceUrl: http://127.0.0.1:9/x\ntargetOutputFile: x\nextraHeaders: [{name: A}]",
            "`spec.extraHeaders[0].value` is required",
        ),
    ];
    for (spec, message) in refused {
        let t = Test::new().manifest("m.yaml", &download("dl", spec));
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has(&format!("manifest `dl`: {message}"));
    }
    let cases = [
        (
            "sourceUrl: ftp://host/x\ntargetOutputFile: x",
            "`spec.sourceUrl` must be an http:// or https:// URL",
        ),
        (
            "sourceUrl: http://127.0.0.1:9/x\ntargetOutputFile: x\nmethod: FETCH",
            "`spec.method` must be GET, HEAD, POST, PUT, PATCH or DELETE, not `FETCH`",
        ),
        (
            "sourceUrl: http://127.0.0.1:9/x\ntargetOutputFile: x\nhttpBasicAuthentication: {username: u}",
            "`spec.httpBasicAuthentication` needs `password` or `passwordVariableName`",
        ),
    ];
    for (spec, message) in cases {
        let t = Test::new().manifest("m.yaml", &download("dl", spec));
        t.run(&["apply"])
            .code(1)
            .no_panic()
            .stderr_has(&format!("WebDownloadFile `dl`: {message}"));
    }
}

// ---------------------------------------------------------------------------------------
// WebsiteUpTest

fn probe(name: &str, spec: &str, metadata: &str) -> String {
    let mut doc = format!("---\nkind: WebsiteUpTest\nversion: v1\nmetadata:\n  name: {name}\n");
    for line in metadata.lines() {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    doc.push_str("spec:\n");
    for line in spec.lines() {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    doc
}

#[test]
fn website_up_test_passes_on_an_acceptable_status_and_outputs_it() {
    let server = HttpServer::start();
    let yaml = probe("up", &format!("url: {}", server.url("/redirect")), "")
        + &dump_doc("up", &["up.up", "up.status"]);
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   WebsiteUpTest/up")
        .stderr_has("is up (200)");
    let d = dumped(&t);
    assert_eq!(d["up.up"], true);
    assert_eq!(d["up.status"], 200);
    // A probe has no delete: nothing to tear down.
    t.run(&["delete"])
        .code(0)
        .stdout_has("unchanged WebsiteUpTest/up");
    // Any status can be declared acceptable.
    let t = Test::new().manifest(
        "m.yaml",
        &probe(
            "gone-is-fine",
            &format!(
                "url: {}\nacceptableResponseCodes: [404, 410]\nmethod: HEAD",
                server.url("/missing")
            ),
            "",
        ),
    );
    t.run(&["apply"]).code(0);
}

#[test]
fn website_up_test_reads_only_the_status_of_a_large_page() {
    // 100 000 bytes: more than the probe reads of a body.
    let server = HttpServer::start();
    let t = Test::new().manifest(
        "m.yaml",
        &probe("big", &format!("url: {}", server.url("/file.bin")), ""),
    );
    t.run(&["apply"]).code(0).stderr_has("is up (200)");
}

#[test]
fn website_up_test_fails_on_404_and_its_dependents_are_skipped() {
    let server = HttpServer::start();
    let yaml = probe(
        "is-page-up",
        &format!(
            "url: {}\nacceptableResponseCodes: [200, 201]",
            server.url("/missing")
        ),
        "skipApplyAll: true\nskipDeleteAll: true",
    ) + &download(
        "page",
        &format!(
            "sourceUrl: {}\ntargetOutputFile: page.txt",
            server.url("/ok")
        ),
    )
    .replace(
        "  name: page\n",
        "  name: page\n  dependencies: {apply: [is-page-up]}\n",
    );
    let t = Test::new().manifest("m.yaml", &yaml);
    t.run(&["apply"])
        .code(1)
        .stdout_has("failed    WebsiteUpTest/is-page-up")
        .stdout_has("skipped   WebDownloadFile/page")
        .stderr_has(&format!(
            "WebsiteUpTest `is-page-up`: {} answered 404, not one of [200, 201]",
            server.url("/missing")
        ));
    assert!(!t.exists("page.txt"));
}

#[test]
fn website_up_test_is_dependency_only_with_skip_apply_all() {
    let server = HttpServer::start();
    let lone = probe(
        "lone-probe",
        &format!("url: {}", server.url("/ok")),
        "skipApplyAll: true",
    );
    let t = Test::new().manifest("m.yaml", &lone);
    let out = t.run(&["apply"]);
    out.code(0);
    assert!(!out.stdout.contains("lone-probe"), "{}", out.stdout);
}

#[test]
fn website_up_test_reports_a_site_that_does_not_answer() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Test::new().manifest(
        "m.yaml",
        &probe(
            "down",
            &format!("url: http://127.0.0.1:{port}/\ntimeout: 5"),
            "",
        ),
    );
    t.run(&["apply"]).code(1).stderr_has(&format!(
        "WebsiteUpTest `down`: http://127.0.0.1:{port}/ is down"
    ));
}

#[test]
fn website_up_test_errors_name_the_manifest_and_field() {
    let refused = [
        ("{}", "`spec.url` is required"),
        (
            "url: http://127.0.0.1:9/\nacceptableResponseCodes: [\"200\"]",
            "`spec.acceptableResponseCodes[0]` must be an int (a whole number), not the string `200`",
        ),
    ];
    for (spec, message) in refused {
        let t = Test::new().manifest("m.yaml", &probe("p", spec, ""));
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has(&format!("manifest `p`: {message}"));
    }
    let cases = [
        (
            "url: example.com",
            "`spec.url` must be an http:// or https:// URL",
        ),
        (
            "url: http://127.0.0.1:9/\nacceptableResponseCodes: []",
            "`spec.acceptableResponseCodes` must be a non-empty list of status codes",
        ),
        (
            "url: http://127.0.0.1:9/\nmethod: POST",
            "`spec.method` must be GET or HEAD",
        ),
    ];
    for (spec, message) in cases {
        let t = Test::new().manifest("m.yaml", &probe("p", spec, ""));
        t.run(&["apply"])
            .code(1)
            .no_panic()
            .stderr_has(&format!("WebsiteUpTest `p`: {message}"));
    }
}

// ---------------------------------------------------------------------------------------
// GitRepo

fn git_repo(name: &str, spec: &str) -> String {
    let mut doc = format!("---\nkind: GitRepo\nversion: v1\nmetadata:\n  name: {name}\nspec:\n");
    for line in spec.lines() {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    doc
}

#[test]
fn git_repo_clones_is_unchanged_then_fetches_and_deletes() {
    let t = Test::new().handler("project/dump.rhai", DUMP);
    let first = make_repo(&t, "upstream", "README", "one");
    // A relative path with `..` in it: relative to the manifest, as git records it.
    let yaml = git_repo("app", "cloneUrl: ../upstream/\nworkDir: ../clones/app")
        + &dump_doc("app", &["app.GIT_DIR", "app.BRANCH", "app.COMMIT"]);
    let t = t.manifest("project/m.yaml", &yaml);
    t.run(&["apply", "-m", "project"])
        .code(0)
        .stdout_has("changed   GitRepo/app")
        .stderr_has("cloned ");
    assert_eq!(t.read("clones/app/README"), "one");
    let dump: serde_json::Value = serde_json::from_str(&t.read("project/dump.json")).unwrap();
    assert!(
        dump["app.GIT_DIR"]
            .as_str()
            .unwrap()
            .ends_with("/clones/app")
    );
    assert_eq!(dump["app.BRANCH"], "main");
    assert_eq!(dump["app.COMMIT"], first.as_str());

    t.run(&["apply", "-m", "project"])
        .code(0)
        .stdout_has("unchanged GitRepo/app");

    let second = commit(&t, "upstream", "README", "two");
    t.run(&["apply", "-m", "project"])
        .code(0)
        .stdout_has("changed   GitRepo/app")
        .stderr_has("updated ");
    assert_eq!(t.read("clones/app/README"), "two");
    let dump: serde_json::Value = serde_json::from_str(&t.read("project/dump.json")).unwrap();
    assert_eq!(dump["app.COMMIT"], second.as_str());

    t.run(&["delete", "-m", "project"])
        .code(0)
        .stdout_has("changed   GitRepo/app");
    assert!(!t.exists("clones/app"));
    assert!(t.exists("upstream/README"));
}

#[test]
fn git_repo_checks_out_the_branch_asked_for() {
    let t = Test::new();
    make_repo(&t, "upstream", "f", "main");
    let upstream = t.path().join("upstream");
    git(&upstream, &["switch", "-q", "-c", "dev"]);
    commit(&t, "upstream", "f", "dev");
    git(&upstream, &["switch", "-q", "main"]);
    let url = format!("file://{}", upstream.display());
    let t = t.manifest(
        "m.yaml",
        &git_repo(
            "dev",
            &format!("cloneUrl: {url}\ncheckoutBranch: dev\nworkDir: dev"),
        ),
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("dev/f"), "dev");
    t.run(&["apply"])
        .code(0)
        .stdout_has("unchanged GitRepo/dev");
    // Switching branch in the manifest switches the clone.
    std::fs::write(
        t.path().join("m.yaml"),
        git_repo(
            "dev",
            &format!("cloneUrl: {url}\ncheckoutBranch: main\nworkDir: dev"),
        ),
    )
    .unwrap();
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   GitRepo/dev");
    assert_eq!(t.read("dev/f"), "main");
    // A branch the remote lacks fails.
    std::fs::write(
        t.path().join("m.yaml"),
        git_repo(
            "dev",
            &format!("cloneUrl: {url}\ncheckoutBranch: nope\nworkDir: other"),
        ),
    )
    .unwrap();
    t.run(&["apply"])
        .code(1)
        .stderr_has("GitRepo `dev`: `git clone` failed (exit 128)")
        .stderr_has("nope");
}

#[test]
fn git_repo_bad_clone_url_fails_with_gits_reason() {
    let t = Test::new().manifest(
        "m.yaml",
        &git_repo("bad", "cloneUrl: does/not/exist\nworkDir: clone"),
    );
    t.run(&["apply"])
        .code(1)
        .stdout_has("failed    GitRepo/bad")
        .stderr_has("GitRepo `bad`: `git clone` failed (exit 128)")
        .stderr_has("does/not/exist' does not exist");
    assert!(!t.exists("clone/.git"));
}

#[test]
fn git_repo_refuses_to_clone_over_or_delete_what_is_not_a_clone() {
    let t = Test::new();
    make_repo(&t, "upstream", "f", "x");
    let t = t
        .manifest(
            "m.yaml",
            &git_repo("r", "cloneUrl: upstream\nworkDir: precious"),
        )
        .file("precious/data.txt", "mine");
    t.run(&["apply"])
        .code(1)
        .stderr_has("holds files but no git repository; refusing to clone over them");
    t.run(&["delete"])
        .code(1)
        .stderr_has("is not a git work tree; refusing to remove it");
    assert_eq!(t.read("precious/data.txt"), "mine");
    // Nor the directory holding the manifests.
    let t = Test::new().manifest("m.yaml", &git_repo("r", "cloneUrl: upstream\nworkDir: ."));
    t.run(&["delete"])
        .code(1)
        .stderr_has("which holds the manifests; refusing to remove it");
    assert!(t.exists("m.yaml"));
}

#[test]
fn git_repo_errors_name_the_manifest_and_field() {
    let refused = [
        ("workDir: w", "`spec.cloneUrl` is required"),
        ("cloneUrl: u", "`spec.workDir` is required"),
        (
            "cloneUrl: u\nworkDir: w\ncheckoutBranch: 7",
            "`spec.checkoutBranch` must be a string, not the int `7`",
        ),
        (
            "cloneUrl: u\nworkDir: w\noptions: {skipSslVerify: \"True\"}",
            "`spec.options.skipSslVerify` must be a bool (true or false)",
        ),
    ];
    for (spec, message) in refused {
        let t = Test::new().manifest("m.yaml", &git_repo("g", spec));
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has(&format!("manifest `g`: {message}"));
    }
    let cases = [
        (
            "cloneUrl: --upload-pack=x\nworkDir: w",
            "`spec.cloneUrl` must not start with `-`",
        ),
        (
            "cloneUrl: u\nworkDir: w\ncheckoutBranch: \"\"",
            "`spec.checkoutBranch` must be a non-empty string",
        ),
        (
            "cloneUrl: u\nworkDir: w\nauthentication: {type: kerberos}",
            "`spec.authentication.type` must be `http` or `ssh`, not `kerberos`",
        ),
        (
            "cloneUrl: u\nworkDir: w\nauthentication: {type: http}",
            "`spec.authentication.httpAuthentication` is required with `type: http`",
        ),
        (
            "cloneUrl: u\nworkDir: w\nauthentication: {type: ssh, sshAuthentication: {sshPrivateKeyFile: no-key}}",
            "`spec.authentication.sshAuthentication.sshPrivateKeyFile` names",
        ),
    ];
    for (spec, message) in cases {
        let t = Test::new().manifest("m.yaml", &git_repo("g", spec));
        t.run(&["apply"])
            .code(1)
            .no_panic()
            .stderr_has(&format!("GitRepo `g`: {message}"));
    }
}

#[test]
fn git_repo_uses_the_ssh_key_through_git_ssh_command() {
    // A stand-in `ssh` first on PATH records how git calls it, then fails.
    let t = Test::new()
        .file(
            "bin/ssh",
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$SSH_ARGS_FILE\"\necho 'stand-in ssh refuses' >&2\nexit 255\n",
        )
        .file("keys/id_test", "not really a key\n");
    std::fs::set_permissions(
        t.path().join("bin/ssh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        t.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let args_file = t.path().join("ssh-args.txt");
    let t = t
        .env("PATH", &path)
        .env("SSH_ARGS_FILE", &args_file.display().to_string())
        .manifest(
            "m.yaml",
            &git_repo(
                "ssh",
                "cloneUrl: git@git.example.com:team/app.git\nworkDir: app\nauthentication:\n  type: ssh\n  sshAuthentication: {sshPrivateKeyFile: keys/id_test}",
            ),
        );
    t.run(&["apply"])
        .code(1)
        .stderr_has("GitRepo `ssh`: `git clone` failed")
        .stderr_has("stand-in ssh refuses");
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let key = t.path().join("keys/id_test").display().to_string();
    assert!(
        args.windows(2).any(|w| w == ["-i", key.as_str()]),
        "{args:?}"
    );
    assert!(args.contains(&"IdentitiesOnly=yes"), "{args:?}");
    assert!(args.contains(&"git@git.example.com"), "{args:?}");
}

#[test]
fn git_repo_verifies_tls_unless_skip_ssl_verify_is_true() {
    let t = Test::new();
    let Some(server) = tls_server(t.path()) else {
        eprintln!("skipped: `openssl` could not start a TLS server");
        return;
    };
    let manifest = |extra: &str| {
        git_repo(
            "tls",
            &format!(
                "cloneUrl: https://127.0.0.1:{}/app.git\nworkDir: clone\n{extra}",
                server.port
            ),
        )
    };
    std::fs::write(t.path().join("m.yaml"), manifest("")).unwrap();
    t.run(&["apply"])
        .code(1)
        .stderr_has("GitRepo `tls`: `git clone` failed")
        .stderr_has("certificate");
    // Past TLS, the stand-in server is no git repository: a different failure.
    std::fs::write(
        t.path().join("m.yaml"),
        manifest("options: {skipSslVerify: true}"),
    )
    .unwrap();
    let out = t.run(&["apply"]);
    out.code(1)
        .stderr_has("GitRepo `tls`: `git clone` failed")
        .stderr_has("info/refs");
    assert!(!out.stderr.contains("certificate"), "{}", out.stderr);
}

/// A git server speaking the "dumb" HTTP protocol (plain files) on 127.0.0.1, behind basic
/// authentication; it records each request's path and whether it was authorized.
struct GitHttpServer {
    addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl GitHttpServer {
    fn start(root: PathBuf, user: &str, password: &str) -> GitHttpServer {
        use base64::Engine as _;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut authorized = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.trim().split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        authorized = v.trim() == expected;
                    }
                }
                let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                seen.lock().unwrap().push(format!("{target} {authorized}"));
                let path = target.split('?').next().unwrap_or("/").to_string();
                let file = root.join(path.trim_start_matches('/'));
                let (status, extra, body) = if !authorized {
                    (
                        "401 Unauthorized",
                        "WWW-Authenticate: Basic realm=\"git\"\r\n",
                        Vec::new(),
                    )
                } else if !path.contains("..") && file.is_file() {
                    ("200 OK", "", std::fs::read(&file).unwrap())
                } else {
                    ("404 Not Found", "", Vec::new())
                };
                let mut stream = stream;
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        GitHttpServer { addr, log }
    }
}

#[test]
fn git_repo_http_password_stays_out_of_urls_output_and_config() {
    let t = Test::new();
    make_repo(&t, "work", "README", "served over http");
    git(
        t.path(),
        &["clone", "-q", "--bare", "work", "served/app.git"],
    );
    git(&t.path().join("served/app.git"), &["update-server-info"]);
    let server = GitHttpServer::start(t.path().join("served"), "robot", "git-pass-secret-7");
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: git_password, defaultValue: git-pass-secret-7, secret: true}\n";
    let manifest = |password: &str| {
        git_repo(
            "private",
            &format!(
                "cloneUrl: http://{}/app.git\nworkDir: app\nauthentication:\n  type: http\n  httpAuthentication:\n    username: robot\n    password: {password}",
                server.addr
            ),
        )
    };
    let t = t
        .manifest("values.yaml", values)
        .manifest("m.yaml", &manifest("!Value git_password"));
    let out = t.run(&["apply", "-v"]);
    out.code(0);
    lacks_everywhere(&out, "git-pass-secret-7");
    assert_eq!(t.read("app/README"), "served over http");
    let config = t.read("app/.git/config");
    assert!(!config.contains("git-pass-secret-7"), "{config}");
    assert!(!config.contains("robot"), "{config}");
    let log = server.log.lock().unwrap().clone();
    // Challenged first, then authenticated; the password was never part of a URL.
    assert!(log.iter().any(|l| l.ends_with(" false")), "{log:?}");
    assert!(log.iter().any(|l| l.ends_with(" true")), "{log:?}");
    assert!(log.iter().all(|l| !l.contains("git-pass")), "{log:?}");

    let out = t.run(&["apply"]);
    out.code(0).stdout_has("unchanged GitRepo/private");

    // A wrong password fails with git's reason, and says nothing of the password.
    std::fs::remove_dir_all(t.path().join("app")).unwrap();
    std::fs::write(t.path().join("m.yaml"), manifest("wrong-pass-secret-8")).unwrap();
    let out = t.run(&["apply"]);
    out.code(1)
        .stderr_has("GitRepo `private`: `git clone` failed (exit 128)")
        .stderr_has("Authentication failed");
    assert!(
        !out.stderr.contains("wrong-pass-secret-8"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// CliInputPrompt

fn prompt(name: &str, spec: &str) -> String {
    let mut doc =
        format!("---\nkind: CliInputPrompt\nversion: v1\nmetadata:\n  name: {name}\nspec:\n");
    for line in spec.lines() {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    doc
}

#[test]
fn cli_input_prompt_without_a_terminal_or_value_fails_at_once() {
    let t = Test::new().manifest("m.yaml", &prompt("db-user", "promptText: Database user?"));
    let started = std::time::Instant::now();
    t.run(&["apply"])
        .code(1)
        .stdout_has("failed    CliInputPrompt/db-user")
        .stderr_has("CliInputPrompt `db-user`: cannot ask \"Database user?\": standard input is not a terminal")
        .stderr_has("--set db-user=...");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // Denying the permission is refused too, even with a value.
    t.run(&["apply", "--deny", "prompt"]).code(1);
}

#[test]
fn cli_input_prompt_takes_the_answer_from_set() {
    let yaml = prompt("db-user", "promptText: Database user?")
        + &prompt("port", "{}")
        + &prompt("empty", "{}")
        + &prompt("kept-empty", "convertEmptyInputToNone: false")
        + &dump_doc(
            "db-user, port, empty, kept-empty",
            &[
                "db-user.CLI_INPUT_VALUE",
                "port.CLI_INPUT_VALUE",
                "empty.CLI_INPUT_VALUE",
                "kept-empty.CLI_INPUT_VALUE",
            ],
        );
    let t = Test::new()
        .handler("dump.rhai", DUMP)
        .manifest("m.yaml", &yaml);
    t.run(&[
        "apply",
        "--set",
        "db-user=admin",
        "--set",
        "port=5432",
        "--set",
        "empty=",
        "--set",
        "kept-empty=",
    ])
    .code(0)
    .stderr_has("CLI_INPUT_VALUE = admin");
    let d = dumped(&t);
    assert_eq!(d["db-user.CLI_INPUT_VALUE"], "admin");
    // An answer is text, as typed.
    assert_eq!(d["port.CLI_INPUT_VALUE"], "5432");
    assert_eq!(d["empty.CLI_INPUT_VALUE"], serde_json::Value::Null);
    assert_eq!(d["kept-empty.CLI_INPUT_VALUE"], "");
    // No delete: nothing to tear down.
    t.run(&["delete", "--set", "db-user=admin"])
        .code(0)
        .stdout_has("unchanged CliInputPrompt/db-user");
}

#[test]
fn cli_input_prompt_credentials_are_secret_everywhere() {
    // py-animus 1.1 echoed and logged these in clear (booleans read as strings).
    let yaml = prompt("token", "maskInput: true\ncontainsCredentials: true")
        + "---\nkind: WriteFile\nversion: v1\nmetadata: {name: use}\nspec:\n  targetFile: token.txt\n  data: !Sub [\"token=${t}\", {t: !Variable token.CLI_INPUT_VALUE}]\n";
    let t = Test::new().manifest("m.yaml", &yaml);
    for args in [vec!["apply", "-v"], vec!["apply", "-o", "jsonl", "-v"]] {
        let mut args = args;
        args.extend(["--set", "token=tok-31337-secret"]);
        let out = t.run(&args);
        out.code(0);
        lacks_everywhere(&out, "tok-31337-secret");
    }
    assert_eq!(t.read("token.txt"), "token=tok-31337-secret");
    for bad in ["maskInput: \"true\"", "containsCredentials: yes"] {
        let t = Test::new().manifest("m.yaml", &prompt("p", bad));
        t.run(&["apply", "--set", "p=x"])
            .code(3)
            .stderr_has("must be a bool (true or false)");
    }
}

/// Runs ordo under `script`, which gives it a pseudo-terminal; types `answer` once the
/// prompt `wait_for` has appeared; returns everything the terminal showed.
fn on_a_terminal(t: &Test, args: &str, wait_for: &str, answer: &str) -> String {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_ordo"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(t.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start script");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0_u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut stdin = child.stdin.take().unwrap();
    let mut typed = false;
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(chunk) => seen.extend(chunk),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !typed && String::from_utf8_lossy(&seen).contains(wait_for) {
            // Give the prompt a moment to switch echo off before typing.
            std::thread::sleep(std::time::Duration::from_millis(200));
            stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
            stdin.flush().unwrap();
            typed = true;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no end in sight:\n{}",
            String::from_utf8_lossy(&seen)
        );
    }
    drop(stdin);
    let _ = child.wait();
    String::from_utf8_lossy(&seen).into_owned()
}

fn script_available() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn cli_input_prompt_asks_on_a_terminal_and_masks_the_answer() {
    if !script_available() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let yaml = prompt(
        "secret",
        "promptText: Type the secret\npromptCharacter: \"secret> \"\nmaskInput: true\ncontainsCredentials: true",
    ) + &prompt("plain", "promptText: Type a word\nmaskInput: false")
        + "---\nkind: WriteFile\nversion: v1\nmetadata: {name: use}\nspec:\n  targetFile: typed.txt\n  data: !Sub [\"${a} ${b}\", {a: !Variable secret.CLI_INPUT_VALUE, b: !Variable plain.CLI_INPUT_VALUE}]\n";
    let t = Test::new().manifest("m.yaml", &yaml);
    // One prompt at a time: answer the first, then the second.
    let shown = on_a_terminal(
        &t,
        "apply -j 1 --set plain=given",
        "secret> ",
        "typed-masked-4242",
    );
    assert!(shown.contains("Type the secret"), "{shown}");
    assert!(
        !shown.contains("typed-masked-4242"),
        "echoed or logged:\n{shown}"
    );
    assert_eq!(t.read("typed.txt"), "typed-masked-4242 given");
    let shown = on_a_terminal(
        &t,
        "apply -j 1 --set secret=s",
        "Type a word",
        "visible-word",
    );
    // Not masked: the terminal echoes it.
    assert!(shown.contains("visible-word"), "{shown}");
    assert_eq!(t.read("typed.txt"), "s visible-word");
}

// ---------------------------------------------------------------------------------------
// handlers/README.md

/// `(info string, code, line)` of every fenced block.
fn blocks(text: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let code: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| !l.starts_with("```"))
                .collect();
            out.push((info.trim().to_string(), code.join("\n"), n + 1));
        }
    }
    out
}

#[test]
fn every_example_in_the_handlers_reference_applies() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/handlers/README.md"))
        .unwrap();
    let server = HttpServer::start();
    let mut ran = 0;
    for (info, code, line) in blocks(&text) {
        if info != "yaml" {
            continue;
        }
        let t = Test::new();
        make_repo(&t, "upstream", "README", "from the example");
        let repo = t.path().join("upstream").display().to_string();
        let code = code
            .replace("127.0.0.1:8080", &server.addr.to_string())
            .replace("https://git.example.com/team/app.git", &repo);
        let t = t.manifest("m.yaml", &code);
        // `--set` of a value nothing reads is an error (issue 13): only where it is read.
        let out = if code.contains("api-token") {
            t.run(&["apply", "--set", "api-token=example-token"])
        } else {
            t.run(&["apply"])
        };
        assert_eq!(
            out.code, 0,
            "handlers/README.md example at line {line} failed:\n{code}\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout, out.stderr
        );
        ran += 1;
    }
    assert!(ran >= 6, "only {ran} examples found");
}

#[test]
fn every_bundled_handler_is_documented() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/handlers/README.md"))
        .unwrap();
    let out = Test::new()
        .manifest(
            "m.yaml",
            "kind: WriteFile\nversion: v1\nmetadata: {name: w}\nspec: {targetFile: a, data: b}\n",
        )
        .run(&["handlers", "-o", "json"]);
    out.code(0);
    let listed = out.stdout.clone();
    for kind in [
        "ShellScript",
        "WriteFile",
        "WebDownloadFile",
        "GitRepo",
        "CliInputPrompt",
        "WebsiteUpTest",
    ] {
        assert!(
            text.contains(&format!("## `{kind}` v1")),
            "handlers/README.md has no section for {kind}"
        );
        assert!(listed.contains(kind), "{kind} is not bundled:\n{listed}");
    }
}

/// `ordo test --bundled` runs the test file of every bundled handler (embedded in the
/// binary, `handlers/*.test.yaml`): each passes, and each handler function is exercised.
#[test]
fn the_bundled_handlers_pass_their_own_tests() {
    let out = Test::new().run(&["test", "--bundled", "-o", "json"]);
    out.code(0);
    let json = out.json();
    assert_eq!(json["failed"], 0, "{}", out.stdout);
    assert_eq!(
        json["untested"].as_array().map(Vec::len),
        Some(0),
        "{}",
        out.stdout
    );
    let cases = json["cases"].as_array().unwrap();
    for handler in [
        "shell_script",
        "write_file",
        "web_download_file",
        "website_up_test",
        "git_repo",
        "cli_input_prompt",
    ] {
        let file = format!("bundled:handlers/{handler}.test.yaml");
        let n = cases.iter().filter(|c| c["file"] == file.as_str()).count();
        assert!(n >= 5, "{file}: {n} cases\n{}", out.stdout);
        // Its documented errors are covered: some case expects a failure.
        assert!(
            cases
                .iter()
                .any(|c| c["file"] == file.as_str() && c["status"] == "failed"
                    || c["file"] == file.as_str() && c["status"] == "invalid"),
            "{file} tests no error"
        );
    }
    let human = Test::new().run(&["test", "--bundled"]);
    human
        .code(0)
        .stdout_has(&format!("test result: {} passed, 0 failed", cases.len()));
}

/// The bundled tests run against the bundled handlers even where a project overrides a
/// kind; `--bundled` takes no PATH.
#[test]
fn bundled_tests_ignore_a_project_override_and_take_no_path() {
    let t = Test::new()
        .handler(
            "write_file.rhai",
            "register(\"WriteFile\", \"^1\");\nfn apply(m) { throw \"mine\"; }\n",
        )
        .file("m.yaml", &write_file("f", "targetFile: out.txt\ndata: x"));
    t.run(&[
        "test",
        "--bundled",
        "--filter",
        "*writes data on first apply*",
    ])
    .code(0)
    .stdout_has("1 passed, 0 failed");
    let out = t.run(&["test", "--bundled", "handlers"]);
    out.code(2);
    assert!(out.stderr.contains("--bundled"), "{}", out.stderr);
}

/// The same files on disk, named as a PATH, pass against the handlers beside them.
#[test]
fn the_handler_test_files_pass_when_named_as_paths() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("handlers");
    Test::new()
        .run(&["test", dir.to_str().unwrap()])
        .code(0)
        .stdout_has(" passed, 0 failed");
}

/// The bundled tests check the handlers: a copy of `handlers/` whose WriteFile ignores
/// `fileMode` and whose WebsiteUpTest accepts any status fails them, naming the cases.
#[test]
fn the_handler_tests_fail_a_broken_handler() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("handlers");
    let mut t = Test::new();
    for name in ["write_file", "website_up_test"] {
        let rhai = std::fs::read_to_string(src.join(format!("{name}.rhai"))).unwrap();
        let broken = match name {
            "write_file" => rhai.replace("if v == \"normal\" { return \"\"; }", "return \"\";"),
            _ => rhai.replace("if !codes.contains(r.status) {", "if false {"),
        };
        assert_ne!(broken, rhai, "{name}: the break did not apply");
        let tests = std::fs::read_to_string(src.join(format!("{name}.test.yaml"))).unwrap();
        t = t
            .file(&format!("h/{name}.rhai"), &broken)
            .file(&format!("h/{name}.test.yaml"), &tests);
    }
    let out = t.run(&["test", "h"]);
    out.code(1)
        .stdout_has("verify fails when the mode is not fileMode's ... FAILED")
        .stdout_has("fails when the URL answers another status ... FAILED");
}

/// Attack (A-F2): the kinds ordo reads itself (values, inventories, the project file,
/// handler tests) cannot be served by a handler: `register` of one is a load error at the
/// call; and a `kind: HandlerTest` document a run meets, in a `.test.yaml` named with `-m`
/// or inside an ordinary manifest file, is an input error that says it is a handler test.
#[test]
fn reserved_kinds_cannot_be_registered_and_a_test_file_is_never_applied() {
    for kind in ["HandlerTest", "Values", "Project", "Inventory"] {
        Test::new()
            .handler(
                "ht.rhai",
                &format!("register(\"Note\", \"^1\");\nregister(\"{kind}\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) {{ file::write(path::join(m.dir, \"PWNED\"), \"x\"); }}\n"),
            )
            .run(&["lint", "ht.rhai"])
            .code(3)
            .stderr_has(&format!("`register`: `{kind}` is a kind ordo reads itself"))
            .stderr_has("--> ht.rhai:2:1");
    }
    // A kind in a group of its own is not ordo's.
    Test::new()
        .handler(
            "ht.rhai",
            "register(\"example.com/Values\", \"^1\");\nfn apply(m) {}\n",
        )
        .run(&["lint", "ht.rhai"])
        .code(0);
    let test = "kind: HandlerTest\nversion: v1\nmetadata: {name: note}\nspec:\n  cases:\n  - it: writes\n    manifest: {kind: Note, version: v1, metadata: {name: n}, spec: {}}\n";
    let handler = "register(\"Note\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) { file::write(path::join(m.dir, \"PWNED\"), \"x\"); }\n";
    let t = Test::new()
        .handler("h/note.rhai", handler)
        .manifest("m/note.test.yaml", test)
        .manifest(
            "m/t.yaml",
            &format!("kind: Note\nversion: v1\nmetadata: {{name: ok}}\nspec: {{}}\n---\n{test}"),
        );
    t.run(&["apply", "-s", "h", "-m", "m/note.test.yaml"])
        .code(3)
        .stderr_has("this is a handler test (`kind: HandlerTest`), not a manifest")
        .stderr_has("note.test.yaml:1:1");
    t.run(&["apply", "-s", "h", "-m", "m"])
        .code(3)
        .stderr_has("this is a handler test (`kind: HandlerTest`), not a manifest")
        .stderr_has("t.yaml:6:1");
    assert!(!t.exists("m/PWNED"));
}
