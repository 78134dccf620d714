//! Custom actions (DESIGN §14), through the real binary: `actions(#{...})` checked when a
//! handler loads, `ordo run ACTION` in forward, reverse and no order over a three-level
//! graph, `--param` typing (exit 2), unknown actions (exit 3 with a suggestion), manifests
//! without the action, results in the JSON report, variables kept, and `ordo actions`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// `Svc`: `start` (forward), `stop` (reverse), `ping` (none; sleeps 1 s) and `backup`
/// (params) append `ACTION name` to `actions.log` in the project directory.
const SVC: &str = r#"
register("Svc", "^1");
permissions(["file:read", "file:write", "shell"]);
actions(#{
    start: #{ order: "forward", about: "start the service" },
    stop: #{ order: "reverse" },
    ping: #{ order: "none" },
    backup: #{ order: "none", params: #{ target: "string", keep: "int?", dry: "bool?", tags: "list?", opts: "map?" } },
});
fn log(m, what) { file::append(path::join(m.dir, "actions.log"), what + " " + m.name + "\n"); }
fn apply(m) { log(m, "apply"); }
fn start(m) { log(m, m.action); vars::set("pid", 4242); #{ started: m.name } }
fn stop(m) { log(m, m.action); }
fn ping(m) {
    log(m, "begin");
    shell::run("sleep 1");
    log(m, "end");
}
fn backup(m) {
    log(m, "backup");
    #{ params: m.params, types: m.params.values().map(|v| type_of(v)) }
}
"#;

/// A three-level graph: `db` ← `api` ← `web`, plus `cache` ← `web`.
const GRAPH: &str = r#"---
kind: Svc
version: v1
metadata: {name: db}
spec: {}
---
kind: Svc
version: v1
metadata: {name: cache}
spec: {}
---
kind: Svc
version: v1
metadata: {name: api, dependencies: {apply: [db]}}
spec: {}
---
kind: Svc
version: v1
metadata: {name: web, dependencies: {apply: [api, cache]}}
spec: {}
"#;

fn project() -> Test {
    Test::new()
        .handler("svc.rhai", SVC)
        .manifest("m.yaml", GRAPH)
}

fn log(t: &Test) -> Vec<String> {
    t.read("actions.log").lines().map(str::to_string).collect()
}

fn position(log: &[String], line: &str) -> usize {
    log.iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line} not in {log:?}"))
}

#[test]
fn forward_runs_dependencies_first() {
    for jobs in ["1", "8"] {
        let t = project();
        t.run(&["run", "start", "-j", jobs])
            .code(0)
            .stdout_has("run: 4 done, 0 failed, 0 skipped");
        let log = log(&t);
        assert_eq!(log.len(), 4, "{log:?}");
        assert!(
            position(&log, "start db") < position(&log, "start api"),
            "{log:?}"
        );
        assert!(
            position(&log, "start api") < position(&log, "start web"),
            "{log:?}"
        );
        assert!(
            position(&log, "start cache") < position(&log, "start web"),
            "{log:?}"
        );
    }
}

#[test]
fn reverse_runs_dependents_first_as_delete() {
    for jobs in ["1", "8"] {
        let t = project();
        t.run(&["run", "stop", "-j", jobs]).code(0);
        let log = log(&t);
        assert_eq!(log.len(), 4, "{log:?}");
        assert!(
            position(&log, "stop web") < position(&log, "stop api"),
            "{log:?}"
        );
        assert!(
            position(&log, "stop api") < position(&log, "stop db"),
            "{log:?}"
        );
        assert!(
            position(&log, "stop web") < position(&log, "stop cache"),
            "{log:?}"
        );
    }
    // `--order` overrides the declared order.
    let t = project();
    t.run(&["run", "stop", "-j", "1", "--order", "forward"])
        .code(0);
    let log = log(&t);
    assert!(
        position(&log, "stop db") < position(&log, "stop web"),
        "{log:?}"
    );
}

#[test]
fn none_runs_everything_at_once() {
    let t = project();
    let started = std::time::Instant::now();
    t.run(&["run", "ping", "-j", "4"]).code(0);
    let took = started.elapsed();
    let log = log(&t);
    // Every `begin` comes before any `end`: the four ran together, the graph ignored.
    let last_begin = log.iter().rposition(|l| l.starts_with("begin")).unwrap();
    let first_end = log.iter().position(|l| l.starts_with("end")).unwrap();
    assert!(last_begin < first_end, "{log:?}");
    assert!(took < std::time::Duration::from_millis(3500), "{took:?}");
}

#[test]
fn params_are_typed_as_declared_and_returned_in_the_json_report() {
    let t = project();
    let out = t.run(&[
        "run",
        "backup",
        "--only",
        "db",
        "--param",
        "target=0755",
        "--param",
        "keep=7",
        "--param",
        "dry=true",
        "--param",
        "tags=[\"a\",1]",
        "--param",
        "opts={\"x\":2.5}",
        "-o",
        "json",
    ]);
    out.code(0);
    let json = out.json();
    assert_eq!(json["command"], "run");
    let db = &json["manifests"][0];
    assert_eq!(db["name"], "db");
    assert_eq!(db["status"], "done");
    let params = &db["result"]["params"];
    assert_eq!(params["target"], "0755", "a string keeps its text");
    assert_eq!(params["keep"], 7);
    assert_eq!(params["dry"], true);
    assert_eq!(params["tags"], serde_json::json!(["a", 1]));
    assert_eq!(params["opts"]["x"], 2.5);
    assert_eq!(json["summary"]["done"], 1);
    // `-o jsonl`: the result as an event of its own, before the manifest's end.
    let out = t.run(&["run", "start", "--only", "db", "-o", "jsonl"]);
    out.code(0);
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let result = events
        .iter()
        .position(|e| e["event"] == "action_result")
        .unwrap();
    assert_eq!(events[result]["name"], "db");
    assert_eq!(events[result]["result"]["started"], "db");
    let finished = events
        .iter()
        .position(|e| e["event"] == "manifest_finished")
        .unwrap();
    assert!(result < finished);
    assert_eq!(events[finished]["status"], "done");
}

#[test]
fn param_errors_exit_2_naming_the_action_and_the_param() {
    let t = project();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--param", "target=x", "--param", "keep=1e300"],
            "--param keep=1e300: action `backup` takes an int",
        ),
        (&["--param", "target=x", "--param", "keep=2.0"], "keep=2.0"),
        (
            &["--param", "target=x", "--param", "keep=0755"],
            "leading zero",
        ),
        (
            &[
                "--param",
                "target=x",
                "--param",
                "keep=99999999999999999999",
            ],
            "64 bits",
        ),
        (
            &["--param", "target=x", "--param", "dry=yes"],
            "neither `true` nor `false`",
        ),
        (&["--param", "target=x", "--param", "tags={}"], "not a list"),
        (
            &["--param", "target=x", "--param", "kepe=1"],
            "action `backup` has no parameter `kepe`; did you mean `keep`?",
        ),
        (
            &["--param", "keep=1"],
            "action `backup` needs --param target",
        ),
        (
            &["--param", "target"],
            "--param `target`: expected KEY=VALUE",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["run", "backup"];
        all.extend_from_slice(args);
        t.run(&all).code(2).stderr_has(expected);
    }
    assert!(!t.exists("actions.log"), "nothing ran");
}

#[test]
fn an_unknown_action_is_an_input_error_with_a_suggestion() {
    let t = project();
    t.run(&["run", "stpo"])
        .code(3)
        .stderr_has(
            "no handler of the loaded manifests has the action `stpo`; did you mean `stop`?",
        )
        .stderr_has("backup, ping, start, stop");
    assert!(!t.exists("actions.log"));
}

#[test]
fn manifests_without_the_action_are_skipped_and_do_not_hold_others_back() {
    let plain = "register(\"Plain\", \"^1\");\nfn apply(m) {}\n";
    let graph = format!(
        "{GRAPH}---\nkind: Plain\nversion: v1\nmetadata: {{name: base}}\nspec: {{}}\n---\nkind: Svc\nversion: v1\nmetadata: {{name: top, dependencies: {{apply: [base]}}}}\nspec: {{}}\n"
    );
    let t = Test::new()
        .handler("svc.rhai", SVC)
        .handler("plain.rhai", plain)
        .manifest("m.yaml", &graph);
    let out = t.run(&["run", "start", "-o", "json"]);
    out.code(0);
    let json = out.json();
    let base = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "base")
        .unwrap();
    assert_eq!(base["status"], "skipped");
    assert_eq!(base["reason"], "no action `start`");
    let top = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "top")
        .unwrap();
    assert_eq!(top["status"], "done");
    // Only manifests without it selected: an input error.
    t.run(&["run", "start", "--only", "base"])
        .code(3)
        .stderr_has("no selected manifest's handler has the action `start`");
}

#[test]
fn actions_keep_the_recorded_spec_and_persist_their_variables() {
    let t = project();
    t.run(&["apply"]).code(0);
    let before = t.run(&["state", "show", "db", "-o", "json"]).json();
    t.run(&["run", "start"]).code(0);
    let after = t.run(&["state", "show", "db", "-o", "json"]).json();
    let show = t.run(&["state", "show", "db"]);
    show.stdout_has("pid: 4242");
    assert_eq!(before["spec"], after["spec"], "the spec is untouched");
    // A manifest never applied gets no entry from an action.
    let t = project();
    t.run(&["run", "start", "--only", "db"]).code(0);
    t.run(&["state", "show", "db"]).code(1);
}

#[test]
fn bad_declarations_are_input_errors_with_their_place() {
    let cases = [
        (
            "actions(#{ stop: #{ ordre: \"reverse\" } });\nfn stop(m) {}",
            "unknown key `ordre` in action `stop`; did you mean `order`?",
            "h.rhai:3:21",
        ),
        (
            "actions(#{ stop: #{ order: \"backwards\" } });\nfn stop(m) {}",
            "action `stop`: unknown order `backwards`",
            "h.rhai:3:",
        ),
        (
            "actions(#{ b: #{ params: #{ n: \"integer\" } } });\nfn b(m) {}",
            "unknown type `integer`",
            "h.rhai:3:",
        ),
        (
            "actions(#{ delete: #{} });",
            "`delete` cannot be an action: the name is reserved",
            "h.rhai:3:",
        ),
        (
            "actions(#{ verify: #{} });\nfn verify(m) {}",
            "`verify` cannot be an action",
            "h.rhai:3:",
        ),
        (
            "actions(#{ stop: #{} });",
            "action `stop` is declared, but the handler defines no `fn stop(m)`",
            "h.rhai:3:",
        ),
    ];
    for (decl, message, place) in cases {
        let handler = format!("register(\"Svc\", \"^1\");\nfn apply(m) {{}}\n{decl}\n");
        let t = Test::new().handler("h.rhai", &handler).manifest(
            "m.yaml",
            "kind: Svc\nversion: v1\nmetadata: {name: a}\nspec: {}\n",
        );
        t.run(&["validate"])
            .code(3)
            .stderr_has(message)
            .stderr_has(place);
        // `ordo lint` says the same.
        t.run(&["lint", "h.rhai"]).code(3).stderr_has(message);
    }
}

#[test]
fn ordo_actions_lists_kind_versions_action_order_params_and_file() {
    let t = project();
    let out = t.run(&["actions"]);
    out.code(0)
        .stdout_has("KIND  VERSIONS  ACTION")
        .stdout_has("start the service");
    let line = out.stdout.lines().find(|l| l.contains(" backup ")).unwrap();
    for part in [
        "Svc",
        "^1",
        "none",
        "keep: int?",
        "target: string",
        "svc.rhai",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    let json = t.run(&["actions", "-o", "json"]).json();
    let stop = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "stop")
        .unwrap();
    assert_eq!(stop["kind"], "Svc");
    assert_eq!(stop["range"], "^1");
    assert_eq!(stop["order"], "reverse");
    assert_eq!(stop["file"], "svc.rhai");
    let backup = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "backup")
        .unwrap();
    assert_eq!(backup["params"]["keep"], "int?");
}

/// A-F9: a parameter name `--param NAME=VALUE` cannot give (empty, with a blank, starting
/// with a digit or `-`) is an input error at the declaration, with its place; `-` and `_`
/// inside a name are fine.
#[test]
fn parameter_names_must_be_identifiers_checked_at_load_with_their_place() {
    for bad in ["", "x y", "1st", "-x", "a=b"] {
        let handler = format!(
            "register(\"Svc\", \"^1\");\nfn apply(m) {{}}\nactions(#{{ stop: #{{ params: #{{ \"{bad}\": \"string\" }} }} }});\nfn stop(m) {{ m.params }}\n"
        );
        let t = Test::new().handler("h.rhai", &handler).manifest(
            "m.yaml",
            "kind: Svc\nversion: v1\nmetadata: {name: a}\nspec: {}\n",
        );
        let message = format!("action `stop`, parameter `{bad}`: a parameter name is letters");
        t.run(&["validate"])
            .code(3)
            .no_panic()
            .stderr_has(&message)
            .stderr_has("h.rhai:3:");
        t.run(&["lint", "h.rhai"]).code(3).stderr_has(&message);
        t.run(&["run", "stop"]).code(3).stderr_has(&message);
    }
    let handler = "register(\"Svc\", \"^1\");\nfn apply(m) {}\nactions(#{ stop: #{ params: #{ \"keep-days\": \"int\", _x: \"int?\" } } });\nfn stop(m) { m.params }\n";
    let t = Test::new().handler("h.rhai", handler).manifest(
        "m.yaml",
        "kind: Svc\nversion: v1\nmetadata: {name: a}\nspec: {}\n",
    );
    let json = t
        .run(&["run", "stop", "--param", "keep-days=3", "-o", "json"])
        .code(0)
        .json();
    assert_eq!(json["manifests"][0]["result"]["keep-days"], 3, "{json}");
}

/// A-F9: a `map` (or a map inside a `list`) given with a key twice is refused (exit 2,
/// naming the key), not silently collapsed to the last one.
#[test]
fn a_param_map_with_a_key_given_twice_is_a_usage_error_naming_the_key() {
    let t = project();
    for (param, key) in [
        (r#"opts={"a":1,"a":2}"#, "a"),
        (r#"tags=[{"x":1},{"y":1,"y":2}]"#, "y"),
        (r#"opts={"n":{"k":1,"k":1}}"#, "k"),
    ] {
        t.run(&["run", "backup", "--param", "target=x", "--param", param])
            .code(2)
            .no_panic()
            .stderr_has(&format!("the key `{key}` is given twice"));
    }
    assert!(!t.exists("actions.log"), "nothing ran");
}

/// A-F15: a value nested past the depth limit says so, not that it is a map; and `ordo
/// run` on a project with no state writes no `.ordo/` (as `verify`).
#[test]
fn a_too_deep_result_says_so_and_run_without_state_writes_nothing() {
    let t = project();
    let deep = format!("tags={}1{}", "[".repeat(127), "]".repeat(127));
    let out = t.run(&["run", "backup", "--param", "target=x", "--param", &deep]);
    out.code(1)
        .no_panic()
        .stderr_has("returned a value nested deeper than 128 levels")
        .stderr_lacks("returned a map");
    assert!(!t.exists(".ordo"), "`ordo run` made .ordo/");
    t.run(&["run", "start"]).code(0);
    assert!(!t.exists(".ordo"), "`ordo run` made .ordo/");
    t.run(&["verify"]);
    assert!(!t.exists(".ordo"), "`ordo verify` made .ordo/");
}

/// NU-F13: human `ordo run` shows what each action returned, short and masked, and sums
/// up the manifests without the action in one line (each one under `-v`); JSON is as it was.
#[test]
fn run_shows_results_short_and_summarises_manifests_without_the_action() {
    let plain = "register(\"Plain\", \"^1\");\nfn apply(m) {}\n";
    let long = "x".repeat(200);
    let handler = format!(
        "register(\"Svc\", \"^1\");\nactions(#{{ show: #{{ order: \"none\" }} }});\nfn apply(m) {{}}\nfn show(m) {{ if m.name == \"s\" {{ return \"backup at bk/conf.bak\"; }} if m.name == \"l\" {{ return \"{long}\"; }} if m.name == \"u\" {{ return; }} #{{ path: \"bk/x\", keep: 3 }} }}\n"
    );
    let mut docs = String::new();
    for n in ["s", "l", "u", "mp"] {
        docs.push_str(&format!(
            "---\nkind: Svc\nversion: v1\nmetadata: {{name: {n}}}\nspec: {{}}\n"
        ));
    }
    for n in 0..12 {
        docs.push_str(&format!(
            "---\nkind: Plain\nversion: v1\nmetadata: {{name: p{n}}}\nspec: {{}}\n"
        ));
    }
    let t = Test::new()
        .handler("svc.rhai", &handler)
        .handler("plain.rhai", plain)
        .manifest("m.yaml", &docs);
    let out = t.run(&["run", "show"]);
    out.code(0)
        .stdout_has("Svc/s  ")
        .stdout_has("(backup at bk/conf.bak)")
        .stdout_has(r#"({"keep":3,"path":"bk/x"})"#)
        .stdout_has("skipped   12 manifests without the action `show`");
    assert!(!out.stdout.contains("Plain/p"), "{}", out.stdout);
    let long_line = out.stdout.lines().find(|l| l.contains("Svc/l")).unwrap();
    assert!(
        long_line.contains(&format!("({}...)", "x".repeat(60))),
        "{long_line}"
    );
    assert!(!long_line.contains(&"x".repeat(61)), "{long_line}");
    let unit = out.stdout.lines().find(|l| l.contains("Svc/u")).unwrap();
    assert!(!unit.contains('('), "{unit}");
    // `-v` lists each one.
    t.run(&["run", "show", "-v"])
        .code(0)
        .stdout_has("Plain/p11  (no action `show`)");
    // JSON keeps a line per manifest, the reason and the whole result.
    let json = t.run(&["run", "show", "-o", "json"]).code(0).json();
    assert_eq!(json["manifests"].as_array().unwrap().len(), 16);
    let l = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "l")
        .unwrap();
    assert_eq!(l["result"], long.as_str());
}

/// NU-F14: `ordo actions` lists what the handlers declare even when a value does not
/// resolve (the secrets file not given); commands that run still refuse it.
#[test]
fn ordo_actions_lists_without_every_value_resolving() {
    let t = project().manifest(
        "more.yaml",
        "kind: Svc\nversion: v1\nmetadata: {name: needs}\nspec: {key: !Value api_key}\n",
    );
    t.run(&["actions"])
        .code(0)
        .no_panic()
        .stdout_has("backup")
        .stdout_has("stop");
    t.run(&["run", "stop"])
        .code(3)
        .stderr_has("no value named `api_key`");
}
