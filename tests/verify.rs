//! `fn verify(m)` (DESIGN §14), through the real binary: `ordo verify` (pass, fail, a note,
//! advisory, no verify, read-only, dependencies first), `apply --verify`, and the bundled
//! handlers' `verify` against an HTTP server on 127.0.0.1 and files made here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{HttpServer, Test, write_file_doc};

/// `Probe`: `apply` writes `NAME.applied`; `verify` answers as `spec.answer` says (`true`,
/// `false`, `unit` for `()`, `throw`, any other string as a note), or tries a change
/// (`write`: a file, `shell`: a command not marked read-only), or looks (`look`: a
/// read-only command's output as the note).
const PROBE: &str = r#"
register("Probe", "^1");
permissions(["file:read", "file:write", "shell"]);
fn apply(m) { file::write(path::join(m.dir, m.name + ".applied"), "yes"); }
fn verify(m) {
    let a = m.spec.answer ?? "true";
    if a == "true" { return true; }
    if a == "false" { return false; }
    if a == "unit" { return; }
    if a == "throw" { throw "the service does not answer"; }
    if a == "write" { file::write(path::join(m.dir, "verify-wrote.txt"), "no"); return true; }
    if a == "shell" { shell::run("touch verify-ran.txt", #{ cwd: m.dir }); return true; }
    if a == "look" { return shell::run(["cat", path::join(m.dir, m.name + ".applied")], #{ read_only: true }).stdout; }
    if a == "applied" { return file::exists(path::join(m.dir, m.name + ".applied")); }
    a
}
"#;

fn probe(name: &str, metadata: &str, answer: &str) -> String {
    format!(
        "---\nkind: Probe\nversion: v1\nmetadata:\n  name: {name}\n{metadata}spec:\n  answer: \"{answer}\"\n"
    )
}

fn statuses(json: &serde_json::Value) -> Vec<(String, String)> {
    json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of(json: &serde_json::Value, name: &str) -> String {
    statuses(json)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        .1
}

#[test]
fn verify_passes_on_true_and_unit_and_fails_on_false_and_a_throw() {
    let docs = [
        probe("yes", "", "true"),
        probe("unit", "", "unit"),
        probe("no", "", "false"),
        probe("throws", "", "throw"),
    ]
    .concat();
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &docs);
    let out = t.run(&["verify", "--keep-going", "-o", "json"]);
    out.code(1);
    let json = out.json();
    assert_eq!(json["command"], "verify");
    assert_eq!(status_of(&json, "yes"), "verified");
    assert_eq!(status_of(&json, "unit"), "verified");
    assert_eq!(status_of(&json, "no"), "failed");
    assert_eq!(status_of(&json, "throws"), "failed");
    let no = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "no")
        .unwrap();
    assert!(
        no["error"]
            .as_str()
            .unwrap()
            .contains("`verify` returned false"),
        "{no}"
    );
    assert_eq!(json["summary"]["verified"], 2);
    assert_eq!(json["summary"]["failed"], 2);
    // Nothing was applied by verify.
    assert!(!t.exists("yes.applied"));
}

#[test]
fn verify_exits_zero_when_everything_verified_and_shows_a_string_as_a_note() {
    let docs = [probe("a", "", "true"), probe("b", "", "listening on 8080")].concat();
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &docs);
    t.run(&["verify"])
        .code(0)
        .stdout_has("verified  Probe/a")
        .stdout_has("verified  Probe/b")
        .stdout_has("(listening on 8080)")
        .stdout_has("verify: 2 verified, 0 failed, 0 skipped");
    let json = t.run(&["verify", "-o", "json"]).json();
    let b = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "b")
        .unwrap();
    assert_eq!(b["reason"], "listening on 8080");
}

#[test]
fn an_advisory_verify_failure_is_a_warning_and_exit_zero() {
    let docs = [
        probe("soft", "  verify: advisory\n", "false"),
        probe("soft-throw", "  verify: advisory\n", "throw"),
        probe("hard", "  verify: required\n", "true"),
    ]
    .concat();
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &docs);
    let out = t.run(&["verify"]);
    out.code(0)
        .stdout_has("warning   Probe/soft")
        .stdout_has("advisory: `verify` returned false")
        .stdout_has("the service does not answer")
        .stdout_has("1 verified, 2 warning, 0 failed");
    let json = t.run(&["verify", "-o", "json"]).json();
    assert_eq!(json["ok"], true);
    assert_eq!(status_of(&json, "soft"), "warning");
    assert_eq!(json["summary"]["warning"], 2);
}

#[test]
fn a_bad_metadata_verify_is_an_input_error_with_a_suggestion() {
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &probe("a", "  verify: advisroy\n", "true"));
    t.run(&["verify"])
        .code(3)
        .stderr_has("`metadata.verify` must be `required` or `advisory`, not `advisroy`; did you mean `advisory`?")
        .stderr_has("m.yaml:6:11");
    t.run(&["apply"]).code(3);
    assert!(!t.exists("a.applied"), "nothing runs on an input error");
}

#[test]
fn verify_refuses_a_write_with_the_sandbox_error() {
    let t = Test::new().handler("probe.rhai", PROBE).manifest(
        "m.yaml",
        &[probe("w", "", "write"), probe("s", "", "shell")].concat(),
    );
    let out = t.run(&["verify", "--keep-going"]);
    out.code(1)
        .stderr_has("`file::write` changes things, and `verify` is read-only")
        .stderr_has("`shell::run` may change things, and `verify` is read-only")
        .stderr_has("probe.rhai:");
    assert!(!t.exists("verify-wrote.txt"));
    assert!(!t.exists("verify-ran.txt"));
    // Under `apply --verify` too: the apply writes, its verify may not.
    let out = t.run(&["apply", "--verify", "--only", "w"]);
    out.code(1).stderr_has("and `verify` is read-only");
    assert!(t.exists("w.applied"));
    assert!(!t.exists("verify-wrote.txt"));
}

#[test]
fn verify_may_read_and_run_read_only_commands() {
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &probe("r", "", "look"));
    t.run(&["apply"]).code(0);
    t.run(&["verify"])
        .code(0)
        .stdout_has("verified  Probe/r")
        .stdout_has("(yes)");
}

#[test]
fn a_manifest_without_verify_is_skipped_and_holds_nothing_back() {
    let plain = "register(\"Plain\", \"^1\");\nfn apply(m) {}\n";
    let docs = format!(
        "---\nkind: Plain\nversion: v1\nmetadata: {{name: base}}\nspec: {{}}\n{}",
        probe("top", "  dependencies: {apply: [base]}\n", "true")
    );
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .handler("plain.rhai", plain)
        .manifest("m.yaml", &docs);
    let out = t.run(&["verify"]);
    out.code(0)
        .stdout_has("skipped   Plain/base  (no `verify`)")
        .stdout_has("verified  Probe/top");
}

#[test]
fn verify_runs_dependencies_first_and_a_failure_skips_what_depends_on_it() {
    let docs = [
        probe("db", "", "false"),
        probe("web", "  dependencies: {apply: [db]}\n", "true"),
        probe("other", "", "true"),
    ]
    .concat();
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &docs);
    let json = t
        .run(&["verify", "-j", "1", "--keep-going", "-o", "json"])
        .json();
    assert_eq!(status_of(&json, "db"), "failed");
    assert_eq!(status_of(&json, "web"), "skipped");
    assert_eq!(status_of(&json, "other"), "verified");
    let web = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "web")
        .unwrap();
    assert_eq!(web["reason"], "`db` failed");
    // jsonl: every event names the function it runs.
    let out = t.run(&["verify", "-o", "jsonl", "--only", "other"]);
    out.code(0).stdout_has("\"function\":\"verify\"");
}

#[test]
fn verify_runs_in_parallel_with_jobs() {
    // Four verifies that each sleep 1 s finish together with -j 4 (generous bound).
    let slow = r#"
register("Slow", "^1");
permissions(["shell"]);
fn apply(m) {}
fn verify(m) { shell::run("sleep 1", #{ read_only: true }); true }
"#;
    let mut docs = String::new();
    for i in 0..4 {
        docs.push_str(&format!(
            "---\nkind: Slow\nversion: v1\nmetadata: {{name: s{i}}}\nspec: {{}}\n"
        ));
    }
    let t = Test::new()
        .handler("slow.rhai", slow)
        .manifest("m.yaml", &docs);
    let started = std::time::Instant::now();
    t.run(&["verify", "-j", "4"])
        .code(0)
        .stdout_has("4 verified");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(3500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn apply_verify_fails_the_manifest_when_its_verify_fails() {
    let docs = [
        probe("db", "", "false"),
        probe("web", "  dependencies: {apply: [db]}\n", "true"),
    ]
    .concat();
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &docs);
    let out = t.run(&["apply", "--verify", "-o", "json"]);
    out.code(1);
    let json = out.json();
    assert_eq!(status_of(&json, "db"), "failed");
    assert_eq!(status_of(&json, "web"), "skipped");
    let db = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "db")
        .unwrap();
    assert!(
        db["error"]
            .as_str()
            .unwrap()
            .contains("`verify` returned false"),
        "{db}"
    );
    // The apply ran (it is the verify that failed), and the failed manifest is not recorded.
    assert!(t.exists("db.applied"));
    assert!(!t.exists("web.applied"));
    t.run(&["state", "list", "-o", "json"]).code(0);
    let listed = t.run(&["state", "list"]);
    assert!(!listed.stdout.contains("db"), "{}", listed.stdout);
    // Without --verify the same apply succeeds: nothing changes from today.
    t.run(&["apply"]).code(0);
}

#[test]
fn apply_verify_checks_unchanged_manifests_too_and_advisory_only_warns() {
    let checked = r#"
register("Checked", "^1");
permissions(["file:read", "file:write"]);
fn check(m) { !file::exists(path::join(m.dir, m.name + ".applied")) }
fn apply(m) { file::write(path::join(m.dir, m.name + ".applied"), "yes"); }
fn verify(m) { if m.spec.ok { "fine" } else { false } }
"#;
    let docs = "---\nkind: Checked\nversion: v1\nmetadata: {name: a}\nspec: {ok: true}\n---\nkind: Checked\nversion: v1\nmetadata: {name: b, verify: advisory}\nspec: {ok: false}\n";
    let t = Test::new()
        .handler("checked.rhai", checked)
        .manifest("m.yaml", docs);
    t.run(&["apply", "--verify"])
        .code(0)
        .stdout_has("changed   Checked/a")
        .stderr_has("b: verify failed (advisory): `verify` returned false");
    // Second run: `check` says unchanged, and verify still runs (a broken service is found).
    let docs = docs.replace("{ok: true}", "{ok: false}");
    let t2 = t.manifest("m.yaml", &docs);
    let out = t2.run(&["apply", "--verify"]);
    out.code(1)
        .stdout_has("failed    Checked/a")
        .stderr_has("while running `verify`");
}

#[test]
fn verify_works_on_per_host_instances() {
    // Real sshd per host on 127.0.0.1; skipped with a message where there is none.
    let Some(lab) = common::sshd::Lab::new() else {
        return;
    };
    let (h1, h2) = (lab.host("h1", 10), lab.host("h2", 10));
    let inventory = common::sshd::inventory(&[
        lab.reach(&h1).inventory_entry(""),
        lab.reach(&h2).inventory_entry(""),
    ]);
    // `verify` reads on the host: `shell::run` acts on `m.host` (read-only), and its note
    // names the host the command ran on.
    let hosted = r#"
register("Hosted", "^1");
permissions(["shell"]);
fn apply(m) {}
fn verify(m) {
    let r = shell::run(["sh", "-c", "echo $0", m.host.name], #{ read_only: true });
    let out = r.stdout;
    out.trim();
    "on " + out
}
"#;
    let doc = "---\nkind: Hosted\nversion: v1\nmetadata: {name: svc, hosts: [h1, h2]}\nspec: {}\n";
    let t = Test::new()
        .manifest("inventory.yaml", &inventory)
        .handler("hosted.rhai", hosted)
        .manifest("m.yaml", doc);
    let out = t.run(&["verify", "-o", "json"]);
    out.code(0);
    let json = out.json();
    assert_eq!(
        statuses(&json),
        vec![
            ("svc@h1".to_string(), "verified".to_string()),
            ("svc@h2".to_string(), "verified".to_string())
        ]
    );
    let h1 = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "svc@h1")
        .unwrap();
    assert_eq!(h1["reason"], "on h1");
}

#[test]
fn website_up_test_verifies_against_a_local_server() {
    let server = HttpServer::start();
    let doc = |name: &str, path: &str| {
        format!(
            "---\nkind: WebsiteUpTest\nversion: v1\nmetadata: {{name: {name}}}\nspec:\n  url: {}\n",
            server.url(path)
        )
    };
    let t = Test::new().manifest(
        "m.yaml",
        &[doc("up", "/ok"), doc("down", "/error")].concat(),
    );
    let out = t.run(&["verify", "--keep-going", "-o", "json"]);
    out.code(1);
    let json = out.json();
    assert_eq!(status_of(&json, "up"), "verified");
    assert_eq!(status_of(&json, "down"), "failed");
    let up = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "up")
        .unwrap();
    assert!(
        up["reason"].as_str().unwrap().ends_with("is up (200)"),
        "{up}"
    );
    let down = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "down")
        .unwrap();
    assert!(
        down["error"].as_str().unwrap().contains("answered 500"),
        "{down}"
    );
}

#[test]
fn write_file_verifies_content_and_mode() {
    let doc = write_file_doc(
        "conf",
        "targetFile: out/app.conf\ndata: \"port=80\"\nfileMode: \"0600\"",
    );
    let t = Test::new().manifest("m.yaml", &doc);
    t.run(&["verify"]).code(1).stderr_has("does not exist");
    t.run(&["apply", "--verify"])
        .code(0)
        .stdout_has("changed   WriteFile/conf");
    t.run(&["verify"])
        .code(0)
        .stdout_has("verified  WriteFile/conf");
    // The mode changed by hand: verify says so.
    let path = t.path().join("out/app.conf");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    t.run(&["verify"])
        .code(1)
        .stderr_has("has mode 0644, not 0600");
    // The content changed by hand.
    std::fs::write(&path, "port=81").unwrap();
    t.run(&["verify"])
        .code(1)
        .stderr_has("no longer holds `spec.data`");
}

#[test]
fn git_repo_verifies_the_clone_without_the_network() {
    let t = Test::new();
    let origin = t.path().join("origin");
    let git = |args: &[&str], dir: &std::path::Path| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    std::fs::create_dir_all(&origin).unwrap();
    git(&["init", "-q", "-b", "main"], &origin);
    std::fs::write(origin.join("README"), "hi").unwrap();
    git(&["add", "README"], &origin);
    git(&["commit", "-q", "-m", "first"], &origin);
    let doc = "---\nkind: GitRepo\nversion: v1\nmetadata: {name: repo}\nspec:\n  cloneUrl: origin\n  workDir: work/clone\n";
    let t = t.manifest("m.yaml", doc);
    t.run(&["verify"]).code(1).stderr_has("is not a git clone");
    t.run(&["apply"]).code(0);
    t.run(&["verify"])
        .code(0)
        .stdout_has("verified  GitRepo/repo")
        .stdout_has("(main at ");
    git(
        &["switch", "-q", "-c", "other"],
        &t.path().join("work/clone"),
    );
    t.run(&["verify"])
        .code(1)
        .stderr_has("does not have main checked out");
}

#[test]
fn an_apply_verify_failure_starts_the_rollback_under_rollback_on_failure() {
    let removing = PROBE.replace(
        "fn verify(m) {",
        "fn delete(m) { file::remove(path::join(m.dir, m.name + \".applied\")); }\nfn verify(m) {",
    );
    let docs = [
        probe("db", "", "true"),
        probe("web", "  dependencies: {apply: [db]}\n", "false"),
    ]
    .concat();
    let t = Test::new()
        .handler("probe.rhai", &removing)
        .manifest("m.yaml", &docs);
    let out = t.run(&["apply", "--verify", "--rollback-on-failure", "-j", "1"]);
    out.code(1)
        .stdout_has("rolled_back     Probe/web")
        .stdout_has("rolled_back     Probe/db")
        .stderr_has("while running `verify` for Probe/web");
    // Both were new in the run: the rollback deleted what their applies made.
    assert!(!t.exists("db.applied"));
    assert!(!t.exists("web.applied"));
}

#[test]
fn a_verify_with_the_wrong_number_of_parameters_is_refused_at_load() {
    let bad = "register(\"Bad\", \"^1\");\nfn apply(m) {}\nfn verify(m, extra) { true }\n";
    let t = Test::new().handler("bad.rhai", bad).manifest(
        "m.yaml",
        "kind: Bad\nversion: v1\nmetadata: {name: a}\nspec: {}\n",
    );
    t.run(&["verify"])
        .code(3)
        .stderr_has("`fn verify` must take exactly one parameter, the manifest `m`");
    t.run(&["lint", "bad.rhai"])
        .code(3)
        .stderr_has("`fn verify` must take exactly one parameter");
}

/// A-F6: whatever a handler's `verify` or action says (a note, an advisory throw, a
/// returned value) is masked by `ordo verify`, `apply --verify` and `ordo run` in human,
/// `-o json` and `-o jsonl` output, as `apply` masks it: in every spelling ordo renders.
#[test]
fn verify_and_run_mask_secrets_in_notes_warnings_and_results_in_every_format() {
    let secret = "hunter2\"se\\cret";
    let spellings = [
        "hunter2",
        "hunter2\"se\\cret",
        "hunter2\\\"se\\\\cret",
        "se\\cret",
        "se\\\\cret",
    ];
    let values = "kind: Values\nversion: v1\nmetadata: {name: settings}\nspec:\n  values:\n  - {valueName: pw, defaultValue: 'hunter2\"se\\cret', secret: true}\n";
    let handler = r#"
register("V", "^1");
actions(#{ show: #{ order: "none" } });
fn apply(m) { }
fn verify(m) {
    if m.spec.how == "note" { return `note ${m.spec.pw}`; }
    throw `down ${m.spec.pw}`;
}
fn show(m) { #{ pw: m.spec.pw, text: `is ${m.spec.pw}` } }
"#;
    let manifests = "---\nkind: V\nversion: v1\nmetadata: {name: a}\nspec: {pw: !Value pw, how: note}\n---\nkind: V\nversion: v1\nmetadata: {name: b, verify: advisory}\nspec: {pw: !Value pw, how: throw}\n";
    let t = Test::new()
        .manifest("values.yaml", values)
        .handler("v.rhai", handler)
        .manifest("m.yaml", manifests);
    assert!(secret.contains('"'));
    let runs: [&[&str]; 9] = [
        &["verify"],
        &["verify", "-o", "json"],
        &["verify", "-o", "jsonl"],
        &["apply", "--verify"],
        &["apply", "--verify", "-o", "json"],
        &["apply", "--verify", "-o", "jsonl"],
        &["run", "show"],
        &["run", "show", "-o", "json"],
        &["run", "show", "-o", "jsonl"],
    ];
    for args in runs {
        let out = t.run(args);
        out.code(0).no_panic();
        let all = format!("{}\n{}", out.stdout, out.stderr);
        for s in spellings {
            assert!(!all.contains(s), "{args:?} shows {s:?}:\n{all}");
        }
        assert!(all.contains("***"), "{args:?} shows no mask:\n{all}");
    }
    // The note and the advisory warning are there, masked.
    t.run(&["verify"])
        .stdout_has("note ***")
        .stdout_has("down ***");
    let json = t.run(&["run", "show", "-o", "json"]).json();
    let text = json.to_string();
    assert!(text.contains(r#""pw":"***""#), "{text}");
}

/// A-F4: `verify` may not set or remove variables (the same refusal as a write), and under
/// `apply --verify` nothing it tried reaches the state: the apply's outputs stay recorded.
#[test]
fn verify_cannot_set_or_remove_variables_and_the_state_keeps_what_apply_recorded() {
    let handler = r#"
register("V", "^1");
fn apply(m) { vars::set("k", "orig"); #{ out: "orig" } }
fn verify(m) {
    let t = m.spec.trick;
    if t == "set" { vars::set("k", "changed-by-verify"); vars::set("newvar", 1); }
    if t == "secret" { vars::set_secret("s", "x"); }
    if t == "remove" { vars::remove("k"); vars::remove("out"); }
    true
}
"#;
    for trick in ["set", "secret", "remove"] {
        let t = Test::new().handler("v.rhai", handler).manifest(
            "m.yaml",
            &format!("kind: V\nversion: v1\nmetadata: {{name: a}}\nspec: {{trick: {trick}}}\n"),
        );
        t.run(&["apply"]).code(0);
        let out = t.run(&["verify"]);
        out.code(1)
            .no_panic()
            .stderr_has("changes things, and `verify` is read-only");
        let out = t.run(&["apply", "--verify", "-o", "json"]);
        out.code(1);
        let text = out.stdout.clone();
        assert!(text.contains("`verify` is read-only"), "{text}");
        let state = t.run(&["state", "show", "a", "-o", "json"]).json();
        let vars = &state["manifest"]["variables"];
        assert_eq!(vars["k"], "orig", "{trick}: {state}");
        assert_eq!(vars["out"], "orig", "{trick}: {state}");
        assert!(vars.get("newvar").is_none(), "{trick}: {state}");
        assert!(vars.get("s").is_none(), "{trick}: {state}");
    }
}

/// NU-F5: in `-o json` (and `-o jsonl`) a failed `verify`'s one-line error says it came
/// from `verify`, for `ordo verify` and `apply --verify`, thrown or `false`.
#[test]
fn a_failed_verify_error_in_json_says_it_came_from_verify() {
    let docs = [probe("no", "", "false"), probe("throws", "", "throw")].concat();
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &docs);
    for args in [
        &["verify", "--keep-going", "-o", "json"][..],
        &["apply", "--verify", "--keep-going", "-o", "json"][..],
    ] {
        let json = t.run(args).code(1).json();
        for m in json["manifests"].as_array().unwrap() {
            let error = m["error"].as_str().unwrap_or_else(|| panic!("{json}"));
            assert!(
                error.ends_with("(while running `verify`)"),
                "{args:?}: {error}"
            );
        }
    }
    let out = t.run(&["verify", "--keep-going", "-o", "jsonl"]);
    assert!(
        out.stdout.contains("(while running `verify`)"),
        "{}",
        out.stdout
    );
}
