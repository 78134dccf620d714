//! `plan` (DESIGN.md §10): the spec diff, secrets masked, plan order whatever `-j`, and the
//! reasons of `plan --delete`. The "never lies" property is in `plan_property.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// `Conf`: writes `spec` as JSON to `<name>.json`; `check` says whether the file differs.
/// With `spec.token_from_check`, `check` also sets a secret variable `token`.
const CONF: &str = r#"
register("Conf", "^1");
permissions(["file:read", "file:write"]);

fn check(m) {
    if m.spec.token_from_check == true { vars::set_secret("token", "tok-secret-9"); }
    let p = path::join(m.dir, m.name + ".json");
    !file::exists(p) || file::read(p) != json::to_string(m.spec)
}

fn apply(m) {
    file::write(path::join(m.dir, m.name + ".json"), json::to_string(m.spec));
}
"#;

const VALUES: &str = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: PW, secret: true}\n";

fn conf(name: &str, spec: &str) -> String {
    format!("---\nkind: Conf\nversion: v1\nmetadata: {{name: {name}}}\nspec:\n{spec}")
}

#[test]
fn plan_shows_how_a_changed_spec_changed_with_secrets_masked() {
    let v1 = conf(
        "web",
        "  port: 80\n  gone: 1\n  tags: [a, b]\n  url: !Sub [\"pg://u:${p}@host\", {p: !Value pw}]\n  password: !Value pw\n  content: \"one\\ntwo\\nthree\\n\"\n",
    );
    let t = Test::new()
        .handler("conf.rhai", CONF)
        .manifest("values.yaml", &VALUES.replace("PW", "old-secret-1"))
        .manifest("m.yaml", &v1);
    t.run(&["apply"]).code(0);
    let v2 = conf(
        "web",
        "  port: 8080\n  tags: [a, c, b]\n  url: !Sub [\"pg://u:${p}@other\", {p: !Value pw}]\n  password: !Value pw\n  content: \"one\\n2\\nthree\\n\"\n  added: {x: true}\n",
    );
    let t = t
        .manifest("values.yaml", &VALUES.replace("PW", "new-secret-2"))
        .manifest("m.yaml", &v2);
    let out = t.run(&["plan"]);
    out.code(0)
        .stdout_has("pending   Conf/web  (spec changed since the last apply)\n          ~ spec.port: 80 -> 8080\n")
        .stdout_has("\n          + spec.tags[1]: \"c\"\n")
        .stdout_has("\n          ~ spec.url: \"pg://u:***@host\" -> \"pg://u:***@other\"\n")
        .stdout_has("\n          ~ spec.content:\n                one\n              - two\n              + 2\n                three\n")
        .stdout_has("\n          + spec.added: {\"x\":true}\n")
        .stdout_has("\n          - spec.gone: 1\n");
    assert!(
        !out.stdout.contains("spec.password"),
        "a secret that changed is not shown, not even as a change: {}",
        out.stdout
    );
    for secret in ["old-secret-1", "new-secret-2"] {
        assert!(!out.stdout.contains(secret), "{}", out.stdout);
        assert!(!out.stderr.contains(secret), "{}", out.stderr);
    }
    let json = t.run(&["plan", "-o", "json"]).json();
    let web = &json["manifests"][0];
    assert_eq!(web["reason"], "spec changed since the last apply");
    assert_eq!(
        web["diff"],
        serde_json::json!([
            {"op": "~", "path": "spec.port", "old": 80, "new": 8080},
            {"op": "+", "path": "spec.tags[1]", "old": null, "new": "c"},
            {"op": "~", "path": "spec.url", "old": "pg://u:***@host", "new": "pg://u:***@other"},
            {"op": "~", "path": "spec.content", "old": "one\ntwo\nthree\n", "new": "one\n2\nthree\n"},
            {"op": "+", "path": "spec.added", "old": null, "new": {"x": true}},
            {"op": "-", "path": "spec.gone", "old": 1, "new": null},
        ])
    );
    // `-o jsonl` carries it on `manifest_finished`.
    let lines = t.run(&["plan", "-o", "jsonl"]);
    let finished: serde_json::Value = lines
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "manifest_finished")
        .unwrap();
    assert_eq!(finished["diff"], web["diff"]);
    // A manifest whose spec did not change has no diff.
    t.run(&["apply"]).code(0);
    let json = t.run(&["plan", "-o", "json"]).json();
    assert_eq!(json["manifests"][0]["status"], "unchanged");
    assert_eq!(json["manifests"][0]["diff"], serde_json::Value::Null);
    // A change in a secret alone is a change with nothing to show.
    let t = t.manifest("values.yaml", &VALUES.replace("PW", "third-secret-3"));
    let out = t.run(&["plan"]);
    out.code(0).stdout_has(
        "pending   Conf/web  (spec changed since the last apply)\n          (no difference to show: the change is in a secret or a `!Variable` reference)\n",
    );
    assert!(!out.stdout.contains("third-secret-3"), "{}", out.stdout);
    assert_eq!(
        t.run(&["plan", "-o", "json"]).json()["manifests"][0]["diff"],
        serde_json::json!([])
    );
}

#[test]
fn a_diff_masks_variables_set_with_set_secret_and_marks_what_apply_will_know() {
    // `token` comes from a variable set with `vars::set_secret` by `check`; `id` from a
    // manifest that is pending, so only apply knows it.
    let docs = |port: u32, note: &str| {
        [
            conf("src", "  token_from_check: true\n"),
            "---\nkind: Always\nversion: v1\nmetadata: {name: ids}\n".to_string(),
            conf(
                "app",
                &format!("  port: {port}\n  token: !Variable src.token\n  id: !Variable ids.id\n  note: {note}\n"),
            ),
        ]
        .concat()
    };
    let always = "register(\"Always\", \"^1\");\nfn apply(m) { #{ id: \"id-\" + time::now() } }\n";
    let t = Test::new()
        .handler("conf.rhai", CONF)
        .handler("always.rhai", always)
        .manifest("m.yaml", &docs(80, "a"));
    t.run(&["apply"]).code(0);
    let t = t.manifest("m.yaml", &docs(81, "a"));
    let json = t.run(&["plan", "-o", "json"]).json();
    let app = &json["manifests"][2];
    assert_eq!(app["name"], "app");
    assert_eq!(app["reason"], "depends on pending `ids`; known after apply");
    let diff = app["diff"].as_array().unwrap();
    assert!(
        diff.contains(&serde_json::json!({"op": "~", "path": "spec.port", "old": 80, "new": 81})),
        "{diff:?}"
    );
    let id = diff.iter().find(|c| c["path"] == "spec.id").unwrap();
    assert_eq!(id["new"], "(known after apply)");
    assert!(
        !diff.iter().any(|c| c["path"] == "spec.token"),
        "the secret is the same, masked on both sides: {diff:?}"
    );
    let text = t.run(&["plan"]);
    text.stdout_has("          ~ spec.id: \"id-");
    assert!(!text.stdout.contains("tok-secret-9"), "{}", text.stdout);
}

#[test]
fn plan_lists_manifests_in_plan_order_whatever_jobs() {
    // Independent manifests whose checks sleep less the later they come: with -j 8 they
    // finish in reverse order.
    let handler = r#"
register("Slow", "^1");
fn check(m) { time::sleep(m.spec.sleep); m.spec.pending }
fn apply(m) { }
"#;
    let mut yaml = String::new();
    for i in 0..8 {
        yaml.push_str(&format!(
            "---\nkind: Slow\nversion: v1\nmetadata: {{name: s{i}}}\nspec: {{sleep: {}, pending: {}}}\n",
            f64::from(8 - i) * 0.04,
            i % 2 == 0
        ));
    }
    yaml.push_str("---\nkind: Slow\nversion: v1\nmetadata: {name: last, dependencies: {apply: [s7]}}\nspec: {sleep: 0, pending: false}\n");
    let t = Test::new()
        .handler("slow.rhai", handler)
        .manifest("m.yaml", &yaml);
    let lines = |jobs: &str| {
        let out = t.run(&["plan", "-j", jobs]);
        out.code(0);
        out.stdout
            .lines()
            .filter(|l| l.starts_with("pending") || l.starts_with("unchanged"))
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    let expected: Vec<String> = (0..8)
        .map(|i| {
            let status = if i % 2 == 0 { "pending" } else { "unchanged" };
            format!("{status} Slow/s{i}")
        })
        .chain(["unchanged Slow/last".to_string()])
        .collect();
    assert_eq!(lines("1"), expected);
    assert_eq!(lines("8"), expected);
    let names = |jobs: &str| {
        t.run(&["plan", "-o", "json", "-j", jobs]).json()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let order: Vec<String> = (0..8)
        .map(|i| format!("s{i}"))
        .chain(["last".to_string()])
        .collect();
    assert_eq!(names("1"), order);
    assert_eq!(names("8"), order);
}

#[test]
fn plan_delete_gives_each_manifest_its_own_reason() {
    // `Res` has work to do on delete while its file exists.
    let res = r#"
register("Res", "^1");
permissions(["file:read", "file:write"]);
fn check(m) {
    let exists = file::exists(path::join(m.dir, m.name + ".txt"));
    if m.action == "delete" { exists } else { !exists }
}
fn apply(m) { file::write(path::join(m.dir, m.name + ".txt"), m.name); }
fn delete(m) { file::remove(path::join(m.dir, m.name + ".txt")); }
"#;
    let bare = "register(\"Bare\", \"^1\");\nfn apply(m) { }\nfn delete(m) { }\n";
    let res_doc = |name: &str, deps: &str| {
        format!("---\nkind: Res\nversion: v1\nmetadata: {{name: {name}{deps}}}\n")
    };
    let yaml = [
        res_doc("base", ""),
        res_doc("app", ", dependencies: {apply: [base]}"),
        res_doc("stray", ""),
        res_doc("gone", ""),
        "---\nkind: Bare\nversion: v1\nmetadata: {name: bare}\n".to_string(),
    ]
    .concat();
    let t = Test::new()
        .handler("res.rhai", res)
        .handler("bare.rhai", bare)
        .manifest("m.yaml", &yaml);
    t.run(&["apply", "--only", "app", "--only", "gone"]).code(0);
    std::fs::remove_file(t.path().join("gone.txt")).unwrap();
    std::fs::write(t.path().join("stray.txt"), "made by hand").unwrap();
    let out = t.run(&["plan", "--delete"]);
    out.code(0)
        .stdout_has("pending   Res/app  (recorded in the state, and `check` says it exists)")
        .stdout_has("pending   Res/base  (runs after pending `app`; known after delete)")
        .stdout_has("pending   Res/stray  (not recorded in the state, but `check` says it exists)")
        .stdout_has("unchanged Res/gone")
        .stdout_has("pending   Bare/bare  (no `check`: `delete` always runs)");
    assert!(!out.stdout.contains("drift"), "{}", out.stdout);
    // Without a state file there is nothing to compare with.
    t.run(&["plan", "--delete", "--no-state"])
        .code(0)
        .stdout_has("pending   Res/stray  (`check` says it exists)");
    // The plan was right: delete deletes those.
    t.run(&["delete"])
        .code(0)
        .stdout_has("changed   Res/app")
        .stdout_has("changed   Res/base")
        .stdout_has("changed   Res/stray")
        .stdout_has("unchanged Res/gone");
}

/// Durations vary between runs: `12 ms` becomes `[time]`.
fn stable(text: &str) -> String {
    text.lines()
        .map(
            |line| match line.rfind(" in ").or_else(|| line.rfind("  ")) {
                Some(i) if line.ends_with(" ms") || line.ends_with(" s") => {
                    let cut = if line[i..].starts_with(" in ") {
                        i + 4
                    } else {
                        i + 2
                    };
                    format!("{}[time]", &line[..cut])
                }
                _ => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn plan_output_with_a_diff_and_known_after_apply() {
    let docs = |port: u32| {
        [
            conf("db", &format!("  port: {port}\n  name: main\n")),
            conf("untouched", "  x: 1\n"),
            "---\nkind: Conf\nversion: v1\nmetadata: {name: app, dependencies: {apply: [db]}}\nspec:\n  db_port: 1\n".to_string(),
            conf("fresh", "  y: 2\n"),
        ]
        .concat()
    };
    let t = Test::new().handler("conf.rhai", CONF).manifest(
        "m.yaml",
        &docs(5432).replace(&conf("fresh", "  y: 2\n"), ""),
    );
    t.run(&["apply"]).code(0);
    let t = t.manifest("m.yaml", &docs(5433));
    let out = t.run(&["plan", "-j", "4"]);
    out.code(0);
    insta::assert_snapshot!("plan_diff_and_known_after_apply", stable(&out.stdout));
}

/// `Probe`: `check` sleeps `spec.s` seconds, then throws when `spec.fail` is true, else
/// says there is work to do.
const PROBE: &str = r#"
register("Probe", "^1");
permissions(["shell"]);

fn check(m) {
    shell::run("sleep " + m.spec.s, #{ read_only: true });
    if m.spec.fail == true { throw "probe " + m.name + " fails"; }
    true
}

fn apply(m) { }
"#;

fn probe(name: &str, s: &str, fail: bool, deps: &[&str]) -> String {
    format!(
        "---\nkind: Probe\nversion: v1\nmetadata: {{name: {name}, dependencies: {{apply: [{}]}}}}\nspec: {{s: \"{s}\", fail: {fail}}}\n",
        deps.join(", ")
    )
}

/// A new user: a check that throws, and `ordo plan` run several times gave different
/// results, because `plan` stopped at the first failure and called the rest `skipped`.
/// Under `plan` a failing check stops nothing: every manifest is reported, dependents of a
/// failed one skipped naming the first failed one in plan order, the same whatever `-j`.
#[test]
fn plan_reports_every_manifest_after_a_failing_check_whatever_jobs() {
    let docs = [
        probe("a", "0.3", true, &[]),
        probe("b", "0.2", false, &[]),
        probe("c", "0", false, &["a"]),
        probe("d", "0", false, &["c"]),
        probe("e", "0", true, &[]),
        probe("f", "0.1", false, &[]),
        probe("g", "0", false, &["a", "e"]),
    ]
    .concat();
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &docs);
    let expected = [
        ("a", "failed", None),
        ("b", "pending", Some("new")),
        ("c", "skipped", Some("`a` failed")),
        ("d", "skipped", Some("`a` failed")),
        ("e", "failed", None),
        ("f", "pending", Some("new")),
        ("g", "skipped", Some("`a` failed")),
    ];
    for jobs in ["1", "8", "8", "8"] {
        let out = t.run(&["plan", "-j", jobs, "-o", "json"]);
        out.code(1).no_panic();
        let json = out.json();
        let mut got: Vec<(String, String, Option<String>)> = json["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["status"].as_str().unwrap().to_string(),
                    e["reason"].as_str().map(str::to_string),
                )
            })
            .collect();
        got.sort();
        let want: Vec<(String, String, Option<String>)> = expected
            .iter()
            .map(|(n, s, r)| (n.to_string(), s.to_string(), r.map(str::to_string)))
            .collect();
        assert_eq!(got, want, "plan -j {jobs}");
        let human = t.run(&["plan", "-j", jobs]);
        human
            .code(1)
            .stdout_has("pending   Probe/b")
            .stdout_has("pending   Probe/f");
    }
}

/// `Content`: writes `spec.data` to `<name>.txt`; its `check` compares the content only
/// (so a change of `spec.mode` is invisible to it).
const CONTENT: &str = r#"
register("Content", "^1");
permissions(["file:read", "file:write"]);

fn check(m) {
    let p = path::join(m.dir, m.name + ".txt");
    !file::exists(p) || file::read(p) != m.spec.data
}

fn apply(m) { file::write(path::join(m.dir, m.name + ".txt"), m.spec.data); }
"#;

fn content(name: &str, mode: &str) -> String {
    format!(
        "---\nkind: Content\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{data: hello, mode: \"{mode}\"}}\n"
    )
}

/// A new user: a handler whose `check` compares content only; `mode:` changed, and `plan`
/// and `apply` said `unchanged` with no diff while the state took the new spec. `check`
/// decides, but the change is shown with its reason (plan: and the diff, also in JSON).
#[test]
fn a_changed_spec_that_check_calls_done_is_unchanged_with_a_reason_and_a_diff() {
    let t = Test::new().handler("content.rhai", CONTENT).manifest(
        "m.yaml",
        &format!("{}{}", content("a", "0644"), content("b", "0644")),
    );
    t.run(&["apply"]).code(0);
    let t = t.manifest(
        "m.yaml",
        &format!("{}{}", content("a", "0600"), content("b", "0644")),
    );
    let reason = "spec changed since the last apply, but `check` says nothing to do";
    let out = t.run(&["plan"]);
    out.code(0)
        .stdout_has("unchanged Content/a  ")
        .stdout_has(&format!(
            "({reason})\n          ~ spec.mode: \"0644\" -> \"0600\"\n"
        ));
    let b_line = out
        .stdout
        .lines()
        .find(|l| l.contains("Content/b"))
        .unwrap();
    assert!(
        !b_line.contains("but `check`"),
        "b did not change:\n{}",
        out.stdout
    );
    let json = t.run(&["plan", "-o", "json"]).json();
    let entries = json["manifests"].as_array().unwrap();
    let a = entries.iter().find(|e| e["name"] == "a").unwrap();
    let b = entries.iter().find(|e| e["name"] == "b").unwrap();
    assert_eq!(a["status"], "unchanged");
    assert_eq!(a["reason"], reason);
    assert!(a["diff"].as_array().is_some_and(|d| !d.is_empty()), "{a}");
    assert!(b["reason"].is_null() && b["diff"].is_null(), "{b}");
    t.run(&["apply"]).code(0).stdout_has(&format!("({reason})"));
    // Now recorded: nothing more to say.
    let out = t.run(&["plan"]);
    out.code(0);
    assert!(!out.stdout.contains("but `check`"), "{}", out.stdout);
    // Removed from the state, it is unrecorded, and `plan` says so.
    t.run(&["state", "rm", "a"]).code(0);
    t.run(&["plan"]).code(0).stdout_has(
        "not recorded in the state (for this environment), but `check` says nothing to do",
    );
}
