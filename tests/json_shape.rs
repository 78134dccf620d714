//! One JSON shape (DESIGN.md §10): every manifest entry of `-o json`, for every command,
//! has the same keys; handler log lines are kept in it, masked; input errors come as
//! `errors[]` with `file`, `line` and `column`; `graph -o json` is real JSON.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use serde_json::{Value, json};

use common::Test;

/// The keys of every manifest entry, in this order.
const KEYS: &[&str] = &[
    "name",
    "manifest",
    "host",
    "kind",
    "version",
    "handler",
    "status",
    "duration_ms",
    "error",
    "reason",
    "logs",
];

/// Logs at every level (a secret in one of them), fails on `spec.fail`.
const LOUD: &str = r#"
register("Loud", "^1");
fn check(m) { m.spec.check ?? true }
fn apply(m) {
    log::verbose("debug line of " + m.name);
    log::info("info line of " + m.name);
    log::warn("warn line with " + values::get("password"));
    if m.spec.fail == true { throw "broke " + m.name; }
}
fn delete(m) { log::warn("deleting " + m.name); }
"#;

const VALUES: &str = "kind: Values\nversion: v1\nmetadata: {name: settings}\nspec:\n  values:\n  - {valueName: password, defaultValue: hunter2, secret: true}\n";

fn doc(name: &str, deps: &[&str], spec: &str) -> String {
    let deps = if deps.is_empty() {
        String::new()
    } else {
        format!("  dependencies: {{apply: [{}]}}\n", deps.join(", "))
    };
    format!("---\nkind: Loud\nversion: v1\nmetadata:\n  name: {name}\n{deps}spec: {{{spec}}}\n")
}

fn project() -> Test {
    let yaml = [
        VALUES.to_string(),
        doc("a", &[], ""),
        doc("b", &["a"], "check: false"),
        doc("c", &["a"], ""),
    ]
    .concat();
    Test::new()
        .handler("loud.rhai", LOUD)
        .manifest("m.yaml", &yaml)
}

/// `plan` may add `diff` (DESIGN.md §10) after the common keys.
const PLAN_EXTRA: &[&str] = &["diff"];

/// Asserts each entry has exactly [`KEYS`] plus `extra`, in order, and returns them.
#[track_caller]
fn entries(list: &Value, what: &str, extra: &[&str]) -> Vec<Value> {
    entries_with(list, what, extra, &[])
}

/// [`entries`], where the keys in `optional` may also follow.
#[track_caller]
fn entries_with(list: &Value, what: &str, extra: &[&str], optional: &[&str]) -> Vec<Value> {
    let list = list
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not a list: {list}"));
    assert!(!list.is_empty(), "{what}: no entries");
    let expected: Vec<&str> = KEYS.iter().chain(extra).copied().collect();
    for entry in list {
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !optional.contains(k))
            .collect();
        assert_eq!(keys, expected, "{what}: {entry}");
        assert!(entry["logs"].is_array(), "{what}: {entry}");
    }
    list.clone()
}

fn find<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {list:?}"))
}

#[test]
fn every_command_gives_every_manifest_the_same_keys() {
    let t = project();
    let plan = t.run(&["plan", "-o", "json"]);
    plan.code(0);
    entries_with(&plan.json()["manifests"], "plan", &[], PLAN_EXTRA);

    let apply = t.run(&["apply", "-o", "json", "-j", "1"]);
    apply.code(0);
    let list = entries(&apply.json()["manifests"], "apply", &[]);
    assert_eq!(find(&list, "a")["status"], "changed");
    assert_eq!(find(&list, "b")["status"], "unchanged");

    let validate = t.run(&["validate", "-o", "json"]);
    validate.code(0);
    let list = entries(&validate.json()["manifests"], "validate", &[]);
    assert_eq!(find(&list, "a")["handler"], "loud.rhai");
    assert_eq!(find(&list, "a")["status"], "valid");
    assert_eq!(find(&list, "a")["duration_ms"], Value::Null);

    let graph = t.run(&["graph", "-o", "json"]);
    graph.code(0);
    entries(&graph.json()["nodes"], "graph", &[]);

    let listed = t.run(&["state", "list", "-o", "json"]);
    listed.code(0);
    let list = entries(
        &listed.json()["manifests"],
        "state list",
        &["file", "applied_at"],
    );
    assert_eq!(find(&list, "a")["status"], "applied");

    let shown = t.run(&["state", "show", "a", "-o", "json"]);
    shown.code(0);
    let manifest = &shown.json()["manifest"];
    let keys: Vec<&str> = manifest
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.get(..KEYS.len()), Some(KEYS), "state show: {manifest}");
    assert_eq!(manifest["name"], "a");
    assert_eq!(manifest["handler"], "loud.rhai");
    assert!(manifest["spec_hash"].is_string(), "{manifest}");

    // A plan with an orphan, and `plan --delete`.
    std::fs::write(
        t.path().join("m.yaml"),
        [VALUES.to_string(), doc("a", &[], ""), doc("b", &["a"], "")].concat(),
    )
    .unwrap();
    let plan = t.run(&["plan", "-o", "json"]);
    plan.code(0);
    let list = entries_with(
        &plan.json()["manifests"],
        "plan with an orphan",
        &[],
        PLAN_EXTRA,
    );
    assert_eq!(find(&list, "c")["status"], "orphaned");
    let plan = t.run(&["plan", "--delete", "-o", "json"]);
    plan.code(0);
    entries_with(&plan.json()["manifests"], "plan --delete", &[], PLAN_EXTRA);

    let delete = t.run(&["delete", "-o", "json", "-j", "1"]);
    delete.code(0);
    let list = entries(&delete.json()["manifests"], "delete", &[]);
    assert_eq!(
        find(&list, "a")["logs"],
        json!([{"level": "warn", "message": "deleting a"}])
    );

    // The list of handlers is not a list of manifests, but is JSON too.
    let handlers = t.run(&["handlers", "-o", "json"]);
    handlers.code(0);
    let handlers = handlers.json();
    assert!(handlers["handlers"].is_array());
    assert_eq!(handlers["command"], "handlers");
    assert_eq!(handlers["ok"], true);
}

#[test]
fn failed_and_skipped_entries_have_the_same_keys() {
    let yaml = [
        VALUES.to_string(),
        doc("a", &[], "fail: true"),
        doc("b", &["a"], ""),
    ]
    .concat();
    let t = Test::new()
        .handler("loud.rhai", LOUD)
        .manifest("m.yaml", &yaml);
    let out = t.run(&["apply", "-o", "json"]);
    out.code(1);
    let report = out.json();
    let list = entries(&report["manifests"], "apply", &[]);
    let a = find(&list, "a");
    assert_eq!(a["status"], "failed");
    assert!(a["error"].as_str().unwrap().contains("broke a"), "{a}");
    let b = find(&list, "b");
    assert_eq!(b["status"], "skipped");
    assert_eq!(b["reason"], "`a` failed");
}

#[test]
fn handler_logs_are_kept_per_manifest_with_warnings_and_masked() {
    let t = project();
    let out = t.run(&["apply", "-o", "json", "--no-state"]);
    out.code(0);
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    let report = out.json();
    let list = entries(&report["manifests"], "apply", &[]);
    assert_eq!(
        find(&list, "a")["logs"],
        json!([
            {"level": "info", "message": "info line of a"},
            {"level": "warn", "message": "warn line with ***"},
        ])
    );
    // `check` said there was nothing to do: `apply` never ran, so no lines.
    assert_eq!(find(&list, "b")["logs"], json!([]));

    // `-v` keeps debug lines too; `-q` only warnings and errors.
    let verbose = t.run(&["apply", "-o", "json", "--no-state", "-v"]).json();
    let logs = &find(verbose["manifests"].as_array().unwrap(), "c")["logs"];
    assert_eq!(
        logs[0],
        json!({"level": "debug", "message": "debug line of c"})
    );
    assert_eq!(logs.as_array().unwrap().len(), 3);
    let quiet = t.run(&["apply", "-o", "json", "--no-state", "-q"]).json();
    assert_eq!(
        find(quiet["manifests"].as_array().unwrap(), "c")["logs"],
        json!([{"level": "warn", "message": "warn line with ***"}])
    );
}

#[test]
fn input_errors_give_file_line_and_column() {
    let t = Test::new()
        .handler("loud.rhai", LOUD)
        .manifest("m.yaml", &[doc("a", &["nope"], "")].concat())
        .handler(
            "broken.rhai",
            "register(\"Broken\", \"^1\");\nfn apply(m) {\n  let x = ;\n}\n",
        );
    for command in ["apply", "plan", "validate", "graph", "delete", "handlers"] {
        let out = t.run(&[command, "-o", "json"]);
        out.code(3);
        let report = out.json();
        assert_eq!(report["command"], command);
        assert_eq!(report["ok"], false);
        let errors = report["errors"].as_array().unwrap();
        for e in errors {
            let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["message", "file", "line", "column", "help"],
                "{command}: {e}"
            );
        }
        let script = errors
            .iter()
            .find(|e| e["file"] == "broken.rhai")
            .unwrap_or_else(|| panic!("{command}: no error in broken.rhai: {report}"));
        assert_eq!(script["line"], 3, "{script}");
        assert!(script["column"].as_u64().unwrap() > 0, "{script}");
        if command != "handlers" {
            let dependency = errors
                .iter()
                .find(|e| e["file"] == "m.yaml")
                .unwrap_or_else(|| panic!("{command}: no error in m.yaml: {report}"));
            assert!(
                dependency["message"].as_str().unwrap().contains("nope"),
                "{dependency}"
            );
            assert_eq!(dependency["line"], 6, "{dependency}");
            assert!(dependency["column"].as_u64().unwrap() > 0, "{dependency}");
        }
    }
}

#[test]
fn an_input_error_under_jsonl_is_a_run_finished_event() {
    // Every line of `-o jsonl` is an event: a run refused for its input still ends with the
    // `run_finished` a reader waits for, carrying the errors.
    let t = Test::new().manifest("m.yaml", "kind: Nope\nversion: v1\nmetadata: {name: a}\n");
    let out = t.run(&["apply", "-o", "jsonl"]);
    out.code(3);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert_eq!(lines[0]["event"], "run_finished");
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["errors"][0]["file"], "m.yaml");
}

fn graph_project() -> Test {
    let yaml = [
        VALUES.to_string(),
        doc("base", &[], ""),
        doc("web", &["base"], ""),
        doc("api", &["base"], ""),
        doc("edge", &["web", "api"], ""),
    ]
    .concat();
    Test::new()
        .handler("loud.rhai", LOUD)
        .manifest("m.yaml", &yaml)
}

#[test]
fn graph_prints_nodes_and_edges_as_json() {
    let t = graph_project();
    let out = t.run(&["graph", "-o", "json"]);
    out.code(0);
    let report = out.json();
    entries(&report["nodes"], "graph", &[]);
    insta::assert_json_snapshot!("graph_apply", report);
    let out = t.run(&["graph", "--delete", "-o", "json"]);
    out.code(0);
    insta::assert_json_snapshot!("graph_delete", out.json());
}

#[test]
fn graph_format_and_json_output_are_one_or_the_other() {
    let t = graph_project();
    t.run(&["graph", "--format", "dot", "-o", "json"])
        .code(2)
        .stderr_has("--format dot is a human rendering");
    t.run(&["graph", "--format", "dot"])
        .code(0)
        .stdout_has("digraph ordo");
}
