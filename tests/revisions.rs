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
