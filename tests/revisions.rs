//! Revisions: the state keeps the last 10 of each manifest (schema 2), `ordo state history`,
//! `ordo rollback` re-applying one with its secrets re-resolved (DESIGN.md §8, §14).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

fn state(t: &Test) -> serde_json::Value {
    serde_json::from_str(&t.read(".ordo/state.json"))
        .unwrap_or_else(|e| panic!("state.json: {e}\n{}", t.read(".ordo/state.json")))
}

/// A handler that writes `spec.text` to `out/<name>.txt` on every apply (no `check`: each
/// apply runs, and records a revision).
const WRITER: &str = r#"register("W", "^1");
permissions(["file:write", "file:read"]);
fn apply(m) {
    let f = path::join(m.dir, `out/${m.name}.txt`);
    file::write(f, `${m.spec.text}`);
    file::write(path::join(m.dir, `out/${m.name}.action`), m.action);
}
fn delete(m) { file::remove(path::join(m.dir, `out/${m.name}.txt`)); }
"#;

fn writer(name: &str, text: &str) -> String {
    format!("kind: W\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{text: {text}}}\n")
}

/// The revision numbers the state keeps for `name`, oldest first.
fn revisions(t: &Test, name: &str) -> Vec<u64> {
    let s = state(t);
    let e = &s["environments"]["default"][name];
    let mut out: Vec<u64> = e["history"]
        .as_array()
        .map(|h| h.iter().map(|r| r["revision"].as_u64().unwrap()).collect())
        .unwrap_or_default();
    out.push(e["revision"].as_u64().unwrap());
    out
}

#[test]
fn revisions_are_numbered_from_one_and_the_last_ten_are_kept() {
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "v1"));
    t.run(&["apply"]).code(0);
    assert_eq!(revisions(&t, "a"), [1]);
    for n in 2..=16 {
        std::fs::write(t.path().join("m.yaml"), writer("a", &format!("v{n}"))).unwrap();
        t.run(&["apply"]).code(0);
    }
    assert_eq!(revisions(&t, "a"), (7..=16).collect::<Vec<_>>());
    let s = state(&t);
    let a = &s["environments"]["default"]["a"];
    assert_eq!(a["spec"]["text"], "v16");
    assert_eq!(a["history"][0]["spec"]["text"], "v7");
    assert!(
        a["history"][0]["spec_hash"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    // An apply whose `check` finds nothing to do keeps the revision it recorded.
    let t = Test::new()
        .handler(
            "s.rhai",
            "register(\"S\", \"^1\");\nfn check(m) { false }\nfn apply(m) {}\n",
        )
        .manifest(
            "m.yaml",
            "kind: S\nversion: v1\nmetadata: {name: s}\nspec: {x: 1}\n",
        );
    t.run(&["apply"]).code(0);
    t.run(&["apply"]).code(0);
    assert_eq!(revisions(&t, "s"), [1]);
}

#[test]
fn a_schema_1_state_is_migrated_on_read_and_written_as_schema_2() {
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "new"));
    let dir = t.path().canonicalize().unwrap();
    let old = serde_json::json!({
        "schema": 1,
        "environments": {"default": {"a": {
            "kind": "W", "version": "v1",
            "file": dir.join("m.yaml"), "dir": dir,
            "metadata": {"name": "a"}, "spec": {"text": "old"},
            "spec_hash": "", "handler": dir.join("w.rhai"), "handler_hash": "x",
            "variables": {"k": 1}, "applied_at": "2026-01-01T00:00:00Z"
        }}}
    });
    let t = t.file(".ordo/state.json", &old.to_string());
    t.run(&["state", "list"]).code(0).stdout_has("a");
    t.run(&["apply"]).code(0);
    let s = state(&t);
    assert_eq!(s["schema"], 2);
    assert_eq!(revisions(&t, "a"), [1, 2]);
    let a = &s["environments"]["default"]["a"];
    assert_eq!(a["history"][0]["spec"]["text"], "old");
    assert_eq!(a["history"][0]["applied_at"], "2026-01-01T00:00:00Z");
    assert_eq!(a["spec"]["text"], "new");
}

#[test]
fn a_state_newer_than_schema_2_is_refused() {
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "x"))
        .file(".ordo/state.json", "{\"schema\": 3, \"environments\": {}}");
    t.run(&["apply"])
        .code(1)
        .stderr_has("has schema 3, newer than this ordo understands (2)");
}

/// A state file holding one entry `a` whose fields are `fields` (JSON text after `{`).
fn hand_written(t: &Test, revision: &str, history: &str) -> String {
    let dir = t.path().canonicalize().unwrap();
    format!(
        "{{\"schema\": 2, \"environments\": {{\"default\": {{\"a\": {{\"kind\": \"W\", \"version\": \"v1\", \"file\": {file:?}, \"dir\": {dir:?}, \"metadata\": {{\"name\": \"a\"}}, \"spec\": {{\"text\": \"old\"}}, \"spec_hash\": \"\", \"handler\": \"h\", \"handler_hash\": \"x\", \"variables\": {{}}, \"applied_at\": \"2026-01-01T00:00:00Z\", \"revision\": {revision}, \"history\": {history}}}}}}}}}",
        file = dir.join("m.yaml").display().to_string(),
        dir = dir.display().to_string(),
    )
}

fn old_revision(n: u64) -> String {
    format!(
        "{{\"kind\": \"W\", \"version\": \"v1\", \"file\": \"f\", \"dir\": \"/\", \"metadata\": {{}}, \"spec\": {{}}, \"spec_hash\": \"\", \"handler\": \"h\", \"handler_hash\": \"x\", \"variables\": {{}}, \"applied_at\": \"2026-01-01T00:00:00Z\", \"revision\": {n}}}"
    )
}

#[test]
fn hostile_revision_numbers_and_histories_are_clear_errors() {
    let eleven = format!(
        "[{}]",
        (1..=10).map(old_revision).collect::<Vec<_>>().join(",")
    );
    // A million revisions (empty ones): an error at the first, nothing parsed after it.
    let million = format!("[{}]", vec!["{}"; 1_000_000].join(","));
    let cases: Vec<(String, String, &str)> = vec![
        ("1e300".into(), "[]".into(), "is not valid"),
        ("-3".into(), "[]".into(), "is not valid"),
        ("18446744073709551616".into(), "[]".into(), "is not valid"),
        ("0".into(), "[]".into(), "its revision is 0"),
        ("11".into(), eleven, "more than 9 revisions"),
        ("2".into(), million, "is not valid"),
        (
            "2".into(),
            format!("[{}]", old_revision(5)),
            "not in order (revision 5 in the history of revision 2)",
        ),
        (
            "9".into(),
            format!("[{}, {}]", old_revision(3), old_revision(3)),
            "not in order",
        ),
    ];
    for (revision, history, want) in cases {
        let t = Test::new()
            .handler("w.rhai", WRITER)
            .manifest("m.yaml", &writer("a", "x"));
        let text = hand_written(&t, &revision, &history);
        let t = t.file(".ordo/state.json", &text);
        for args in [&["apply"][..], &["state", "list"]] {
            let out = t.run(args);
            out.no_panic().stderr_has(want);
            assert_ne!(out.code, 0, "{args:?} {revision}");
        }
        // Nothing was overwritten.
        assert_eq!(t.read(".ordo/state.json"), text);
    }
}

#[test]
fn a_symlinked_state_is_refused() {
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "x"))
        .file("elsewhere.json", "{\"schema\": 2, \"environments\": {}}");
    std::fs::create_dir_all(t.path().join(".ordo")).unwrap();
    std::os::unix::fs::symlink(
        t.path().join("elsewhere.json"),
        t.path().join(".ordo/state.json"),
    )
    .unwrap();
    t.run(&["apply"]).code(1).stderr_has("is a symbolic link");
    assert_eq!(
        t.read("elsewhere.json"),
        "{\"schema\": 2, \"environments\": {}}"
    );
}

/// Three applies of `a` (`v1`, `v2`, `v3`).
fn three_revisions() -> Test {
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "v1"));
    t.run(&["apply"]).code(0);
    for v in ["v2", "v3"] {
        std::fs::write(t.path().join("m.yaml"), writer("a", v)).unwrap();
        t.run(&["apply"]).code(0);
    }
    t
}

#[test]
fn state_history_lists_revisions_oldest_first_and_refuses_unknown_names() {
    let t = three_revisions();
    let json = t
        .run(&["state", "history", "a", "-o", "json"])
        .code(0)
        .json();
    let numbers: Vec<u64> = json["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    let current: Vec<bool> = json["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, false, true]);
    let r = &json["revisions"][0];
    assert!(
        r["spec_hash"].as_str().unwrap().starts_with("hmac-sha256:"),
        "{r}"
    );
    assert_eq!(r["handler"], "w.rhai");
    assert!(!r["handler_hash"].as_str().unwrap().is_empty());
    assert!(!r["applied_at"].as_str().unwrap().is_empty());
    t.run(&["state", "history", "a"])
        .code(0)
        .stdout_has("REVISION")
        .stdout_has("3 *")
        .stdout_has("`ordo rollback a` applies revision 2 again");
    let out = t.run(&["state", "history", "aa"]);
    out.code(3)
        .stderr_has("no manifest `aa` is recorded")
        .stderr_has("did you mean `a`?");
    let json = t
        .run(&["state", "history", "aa", "-o", "json"])
        .code(3)
        .json();
    assert_eq!(json["ok"], false);
}

#[test]
fn state_history_takes_an_instance_name() {
    let t = Test::new();
    let text = hand_written(&t, "2", &format!("[{}]", old_revision(1)))
        .replace("\"a\": {", "\"web@h1\": {");
    let t = t.file(".ordo/state.json", &text);
    let json = t
        .run(&["state", "history", "web@h1", "-o", "json"])
        .code(0)
        .json();
    assert_eq!(json["revisions"].as_array().unwrap().len(), 2);
    t.run(&["state", "history", "web@h2"])
        .code(3)
        .stderr_has("did you mean `web@h1`?");
}

#[test]
fn rollback_applies_the_revision_before_the_current_one_and_records_a_new_one() {
    let t = three_revisions();
    // `m.previous` is the current entry; `m.action` says it is a rollback.
    let t = t.handler(
        "w.rhai",
        &WRITER.replace(
            "fn delete(m)",
            "fn previous_of(m) { m.previous.spec.text }\nfn delete(m)",
        )
        .replace(
            "file::write(path::join(m.dir, `out/${m.name}.action`), m.action);",
            "file::write(path::join(m.dir, `out/${m.name}.action`), `${m.action} after ${previous_of(m)}`);",
        ),
    );
    t.run(&["rollback", "a"])
        .code(0)
        .stdout_has("changed")
        .stdout_has("rollback: 1 changed");
    assert_eq!(t.read("out/a.txt"), "v2");
    assert_eq!(t.read("out/a.action"), "rollback after v3");
    assert_eq!(revisions(&t, "a"), [1, 2, 3, 4]);
    assert_eq!(
        state(&t)["environments"]["default"]["a"]["spec"]["text"],
        "v2"
    );
    t.run(&["rollback", "a", "--to-revision", "1"]).code(0);
    assert_eq!(t.read("out/a.txt"), "v1");
    assert_eq!(t.read("out/a.action"), "rollback after v2");
    assert_eq!(revisions(&t, "a"), [1, 2, 3, 4, 5]);
    // The files are untouched: the next apply brings their spec back.
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("out/a.txt"), "v3");
    assert_eq!(t.read("out/a.action"), "apply after v1");
}

#[test]
fn a_manifest_gone_from_the_files_is_rolled_back_from_the_state() {
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "a1"))
        .manifest("b.yaml", &writer("b", "b1"));
    t.run(&["apply"]).code(0);
    std::fs::remove_file(t.path().join("b.yaml")).unwrap();
    std::fs::remove_file(t.path().join("out/b.txt")).unwrap();
    t.run(&["rollback", "b", "--to-revision", "1"]).code(0);
    assert_eq!(t.read("out/b.txt"), "b1");
    assert_eq!(revisions(&t, "b"), [1, 2]);
    // A kind no handler of the run serves: an input error naming it.
    std::fs::remove_file(t.path().join("m.yaml")).unwrap();
    let t = t
        .handler("w.rhai", "register(\"Other\", \"^1\");\nfn apply(m) {}\n")
        .manifest("o.yaml", "kind: Other\nversion: v1\nmetadata: {name: o}\n");
    t.run(&["rollback", "b", "--to-revision", "1"])
        .code(3)
        .stderr_has("cannot roll back `b` (W v1): no handler of this run serves it");
}

#[test]
fn unknown_names_and_revisions_are_input_errors_naming_what_is_kept() {
    let t = three_revisions();
    t.run(&["rollback", "aa"])
        .code(3)
        .stderr_has("no manifest `aa` is recorded")
        .stderr_has("did you mean `a`?");
    t.run(&["rollback", "a", "--to-revision", "9"])
        .code(3)
        .stderr_has("`a` has no revision 9 in the state")
        .stderr_has("keeps revisions 1, 2, 3");
    t.run(&["rollback", "a", "--to-revision", "0"])
        .code(3)
        .stderr_has("no revision 0");
    for bad in ["-3", "1e300", "99999999999999999999999"] {
        t.run(&["rollback", "a", "--to-revision", bad])
            .code(2)
            .no_panic();
    }
    t.run(&["rollback"]).code(2);
    // Nothing ran.
    assert_eq!(t.read("out/a.action"), "apply");
    assert_eq!(revisions(&t, "a"), [1, 2, 3]);
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "v1"));
    t.run(&["apply"]).code(0);
    t.run(&["rollback", "a"])
        .code(3)
        .stderr_has("`a` has no revision before its current one (1)");
}

const SECRET_WRITER: &str = r#"register("S", "^1");
permissions(["file:write"]);
fn apply(m) {
    if `${m.spec}`.contains("***") { throw "a mask reached the handler"; }
    file::write(path::join(m.dir, "out.txt"), `${m.spec.pw}|${m.spec.url}|${m.spec.token}|${m.spec.plain}`);
}
"#;

fn secret_values(pw: &str) -> String {
    format!(
        "kind: Values\nversion: v1\nmetadata: {{name: v}}\nspec:\n  values:\n  - {{valueName: pw, defaultValue: {pw}, secret: true}}\n  - {{valueName: token, defaultValue: !Env SECRET_TOKEN, secret: true}}\n"
    )
}

const SECRET_SPEC: &str = "kind: S\nversion: v1\nmetadata: {name: s}\nspec: {pw: !Value pw, url: !Sub \"u:${pw}@db\", token: !Value token, plain: PLAIN}\n";

#[test]
fn secrets_of_the_revision_are_resolved_again_from_the_current_sources() {
    let t = Test::new()
        .handler("s.rhai", SECRET_WRITER)
        .manifest("values.yaml", &secret_values("pw-one-1111"))
        .manifest("m.yaml", &SECRET_SPEC.replace("PLAIN", "first"))
        .env("SECRET_TOKEN", "tok-one-2222");
    t.run(&["apply"]).code(0);
    assert_eq!(
        t.read("out.txt"),
        "pw-one-1111|u:pw-one-1111@db|tok-one-2222|first"
    );
    std::fs::write(
        t.path().join("m.yaml"),
        SECRET_SPEC.replace("PLAIN", "second"),
    )
    .unwrap();
    t.run(&["apply"]).code(0);
    let s = state(&t);
    let text = t.read(".ordo/state.json");
    assert!(
        !text.contains("pw-one") && !text.contains("tok-one"),
        "{text}"
    );
    let sources = &s["environments"]["default"]["s"]["history"][0]["sources"];
    assert_eq!(
        sources,
        &serde_json::json!([
            {"path": "spec.pw", "tag": "!Value \"pw\""},
            {"path": "spec.url", "tag": "!Sub \"u:${pw}@db\""},
            {"path": "spec.token", "tag": "!Value \"token\""},
        ])
    );
    // The secrets change at their sources: revision 1 cannot be applied as it was (a
    // rotated secret would be re-applied as the old revision), so nothing runs.
    std::fs::write(t.path().join("values.yaml"), secret_values("pw-two-3333")).unwrap();
    let t = t.env("SECRET_TOKEN", "tok-two-4444");
    let out = t.run(&["rollback", "s", "--to-revision", "1", "-o", "json"]);
    out.code(3)
        .stderr_has("`spec.pw` (from `!Value \"pw\"`)")
        .stderr_has(
            "held secret text that now resolves differently from when revision 1 was applied",
        )
        .stderr_has("--set NAME=VALUE");
    assert_eq!(
        t.read("out.txt"),
        "pw-one-1111|u:pw-one-1111@db|tok-one-2222|second"
    );
    assert_eq!(revisions(&t, "s"), [1, 2]);
    // Given the values it was applied with, revision 1 is applied again, secrets included.
    std::fs::write(t.path().join("values.yaml"), secret_values("pw-one-1111")).unwrap();
    let t = t.env("SECRET_TOKEN", "tok-one-2222");
    let out = t.run(&["rollback", "s", "--to-revision", "1", "-o", "json"]);
    out.code(0);
    assert_eq!(
        t.read("out.txt"),
        "pw-one-1111|u:pw-one-1111@db|tok-one-2222|first"
    );
    for secret in ["pw-one-1111", "tok-one-2222"] {
        assert!(!out.stdout.contains(secret), "{}", out.stdout);
        assert!(!t.read(".ordo/state.json").contains(secret));
    }
    let s = state(&t);
    let current = &s["environments"]["default"]["s"];
    assert_eq!(current["revision"], 3);
    assert_eq!(current["spec"]["plain"], "first");
    assert_eq!(current["spec"]["pw"], "***");
    // Recorded again with its sources: it can be rolled back to in turn.
    assert_eq!(current["sources"], *sources);
}

#[test]
fn a_secret_whose_source_is_gone_is_a_clear_error_and_nothing_runs() {
    let t = Test::new()
        .handler("s.rhai", SECRET_WRITER)
        .manifest("values.yaml", &secret_values("pw-one-1111"))
        .manifest("m.yaml", &SECRET_SPEC.replace("PLAIN", "first"))
        .env("SECRET_TOKEN", "tok-one-2222");
    t.run(&["apply"]).code(0);
    // The manifest no longer uses the secrets; `pw` is gone from the values and
    // SECRET_TOKEN from the environment.
    std::fs::write(
        t.path().join("m.yaml"),
        "kind: S\nversion: v1\nmetadata: {name: s}\nspec: {pw: a, url: b, token: c, plain: d}\n",
    )
    .unwrap();
    std::fs::write(
        t.path().join("values.yaml"),
        "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: token, defaultValue: !Env SECRET_TOKEN, secret: true}\n",
    )
    .unwrap();
    // Without SECRET_TOKEN in the environment.
    let bare = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(args)
            .current_dir(t.path())
            .env_remove("SECRET_TOKEN")
            .output()
            .unwrap();
        common::Output::of(out, t.path())
    };
    bare(&["apply"]).code(0);
    assert_eq!(t.read("out.txt"), "a|b|c|d");
    let out = bare(&["rollback", "s"]);
    out.code(3)
        .stderr_has("cannot re-apply `s` (revision 1): `spec.pw` held secret text, masked in the state; it came from `!Value \"pw\"`, which cannot be resolved now: no value named `pw`")
        .stderr_lacks("***");
    assert_eq!(t.read("out.txt"), "a|b|c|d");
    // `pw` is back; SECRET_TOKEN is still unset.
    std::fs::write(t.path().join("values.yaml"), secret_values("pw-again-5555")).unwrap();
    let out = bare(&["rollback", "s"]);
    out.code(3)
        .stderr_has("cannot re-apply `s` (revision 1): `spec.token` held secret text, masked in the state; it came from `!Value \"token\"`, which cannot be resolved now: environment variable `SECRET_TOKEN` is not set")
        .stderr_lacks("***");
    assert_eq!(t.read("out.txt"), "a|b|c|d");
    assert_eq!(revisions(&t, "s"), [1, 2]);
}

#[test]
fn a_revision_no_apply_can_follow_is_an_error_naming_the_state_file() {
    let t = Test::new()
        .handler("w.rhai", WRITER)
        .manifest("m.yaml", &writer("a", "x"));
    let text = hand_written(
        &t,
        "18446744073709551615",
        &format!("[{}]", old_revision(1)),
    );
    let t = t.file(".ordo/state.json", &text);
    for args in [&["apply"][..], &["state", "history", "a"]] {
        let out = t.run(args);
        out.no_panic()
            .stderr_has("state.json")
            .stderr_has("its revision is 18446744073709551615, which no later apply can follow");
        assert_ne!(out.code, 0, "{args:?}");
    }
    // Nothing was overwritten: the current revision is not lost.
    assert_eq!(t.read(".ordo/state.json"), text);
}

#[test]
fn state_history_shows_control_characters_from_the_state_escaped() {
    let t = Test::new();
    let text = hand_written(&t, "2", &format!("[{}]", old_revision(1)))
        .replace(
            "\"applied_at\": \"2026-01-01T00:00:00Z\", \"revision\": 2",
            "\"applied_at\": \"\\u001b]0;pwned\\u0007\\u001b[2JFAKE\", \"revision\": 2",
        )
        .replacen("\"kind\": \"W\"", "\"kind\": \"Rec\\u001b[8m\"", 1);
    assert!(text.contains("pwned"), "{text}");
    let t = t.file(".ordo/state.json", &text);
    let out = t.run(&["state", "history", "a"]);
    out.code(0)
        .stdout_has("?]0;pwned??[2JFAKE")
        .stdout_has("Rec?[8m/v1");
    assert!(
        !out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{7}'),
        "{}",
        out.stdout
    );
}

#[test]
fn a_secret_that_is_a_number_is_masked_everywhere_in_the_state_and_resolved_again() {
    let t = Test::new()
        .manifest(
            "values.yaml",
            "kind: Values\nversion: v1\nmetadata: {name: settings}\nspec:\n  values:\n  - {valueName: pin, defaultValue: 987654321, secret: true}\n  - {valueName: n, defaultValue: 1}\n",
        )
        .handler(
            "rec.rhai",
            "register(\"Rec\", \"^1\");\npermissions([\"file:read\", \"file:write\"]);\nfn apply(m) { file::write(path::join(m.dir, \"out.txt\"), `${m.action} ${json::to_string(m.spec)}`); #{ p: m.spec.pin } }\n",
        )
        .manifest(
            "m.yaml",
            "kind: Rec\nversion: v1\nmetadata: {name: a}\nspec: {pin: !Value pin, n: !Value n, lst: [!Value pin]}\n",
        );
    t.run(&["apply"]).code(0);
    t.run(&["apply", "--set", "n=2"]).code(0);
    t.run(&["rollback", "a"]).code(0);
    // The handler got the number each time, the rollback included.
    let out = t.read("out.txt");
    assert!(
        out.starts_with("rollback ") && out.contains("987654321") && out.contains("\"n\":1"),
        "{out}"
    );
    for file in std::fs::read_dir(t.path().join(".ordo")).unwrap() {
        let path = file.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_string();
        assert!(!text.contains("987654321"), "{}: {text}", path.display());
    }
    let s = state(&t);
    let a = &s["environments"]["default"]["a"];
    for r in a["history"].as_array().unwrap().iter().chain([a]) {
        let mut masked: Vec<&str> = r["masked"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        masked.sort_unstable();
        assert_eq!(masked, ["spec.lst[0]", "spec.pin"], "{r}");
        assert_eq!(r["spec"]["pin"], "***", "{r}");
    }
    assert_eq!(a["secret_variables"], serde_json::json!(["p"]), "{a}");
    let shown = t.run(&["state", "show", "a"]);
    shown.code(0);
    assert!(!shown.stdout.contains("987654321"), "{}", shown.stdout);
}
