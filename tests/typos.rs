//! Names the user typed that match nothing are input errors (issue 13, DESIGN.md §10):
//! `--set` of a value nothing reads, `-l` that selects nothing, label values that are not
//! strings, a handler given as a manifest. Each exits 3 before anything runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{Output, Test, trace_doc};

const VALUES: &str = "---\nkind: Values\nversion: v1\nmetadata: {name: settings}\nspec:\n  values:\n  - {valueName: replicas, defaultValue: 1}\n";

/// Runs `args` and checks the input-error contract: exit 3, nothing ran.
#[track_caller]
fn refused(t: &Test, args: &[&str]) -> Output {
    let out = t.run(args);
    out.code(3).no_panic();
    assert!(
        t.take_trace().is_empty(),
        "something ran despite invalid input"
    );
    out
}

fn project() -> Test {
    let web = trace_doc(
        "web",
        "labels: {tier: web, release: \"1.10\"}",
        "replicas: !Value replicas",
    );
    let db = trace_doc("db", "labels: {tier: data}", "");
    Test::new()
        .trace()
        .manifest("site.yaml", &format!("{VALUES}{web}{db}"))
}

#[test]
fn a_set_of_a_value_nothing_uses_is_an_error_with_a_suggestion() {
    // Issue 13: `--set replicsa=5` was silently ignored and the default applied.
    let t = project();
    refused(&t, &["apply", "--set", "replicsa=5"])
        .stderr_has("--set `replicsa`: no value definition")
        .stderr_has("did you mean `replicas`?");
    // The same through plan and validate: the check is part of loading.
    refused(&t, &["plan", "--set", "replicsa=5"]).stderr_has("--set `replicsa`");
    refused(&t, &["validate", "--set", "replicsa=5"]).stderr_has("--set `replicsa`");
    t.run(&["apply", "--set", "replicas=5"]).code(0);
}

#[test]
fn a_set_read_only_by_a_tag_or_a_handler_literal_is_accepted() {
    // No definition anywhere: a `!Value`, a `!Sub` name and a literal `values::get` count
    // as uses; anything else does not.
    let handler = r#"
register("Reader", "^1");
permissions(["file:write"]);
fn apply(m) {
    let token = values::get("token", "none");
    file::write(path::join(m.dir, "out.txt"), `${m.spec.port} ${m.spec.url} ${token}`);
}
"#;
    let t = Test::new().handler("reader.rhai", handler).manifest(
        "m.yaml",
        "kind: Reader\nversion: v1\nmetadata: {name: r}\nspec:\n  port: !Value port\n  url: !Sub \"http://${host}/\"\n",
    );
    t.run(&[
        "apply", "--set", "port=8", "--set", "host=h", "--set", "token=t",
    ])
    .code(0);
    assert_eq!(t.read("out.txt"), "8 http://h/ t");
    let out = t.run(&[
        "apply", "--set", "port=8", "--set", "host=h", "--set", "tokn=t",
    ]);
    out.code(3)
        .stderr_has("--set `tokn`")
        .stderr_has("did you mean `token`?");
}

#[test]
fn a_set_naming_a_prompt_manifest_is_read_by_the_bundled_handler() {
    // `CliInputPrompt` looks its answer up by its own name: `--set ask=...` is a use.
    let t = Test::new().manifest(
        "m.yaml",
        "kind: CliInputPrompt\nversion: v1\nmetadata: {name: ask}\nspec: {promptText: Name?}\n",
    );
    t.run(&["apply", "--set", "ask=Ada"]).code(0);
    t.run(&["apply", "--set", "ask=Ada", "--set", "aks=x"])
        .code(3)
        .stderr_has("--set `aks`")
        .stderr_has("did you mean `ask`?");
}

#[test]
fn a_selector_that_matches_nothing_is_an_error() {
    // Issue 13: `-l tier=nope` exited 0 having done nothing, while `--only nope` was exit 3.
    let t = project();
    refused(&t, &["apply", "-l", "tier=nope"])
        .stderr_has("`-l tier=nope`: in this environment, no manifest has `tier=nope`")
        .stderr_has("values of `tier` here: data, web");
    refused(&t, &["apply", "-l", "tier=wbe"]).stderr_has("did you mean `tier=web`?");
    refused(&t, &["apply", "-l", "teir=web"])
        .stderr_has("no manifest has the label `teir`; did you mean `tier`?");
    refused(&t, &["delete", "-l", "tier in (nope, none)"])
        .stderr_has("no manifest has `tier=nope`")
        .stderr_has("no manifest has `tier=none`");
    refused(&t, &["plan", "-l", "tier!=web,tier!=data"]).stderr_has("matches no manifest");
    t.run(&["apply", "-l", "tier=web"]).code(0);
    assert_eq!(t.take_trace(), ["APPLY web"]);
}

fn labelled(name: &str, tier: &str) -> String {
    format!(
        "---\nkind: WriteFile\nversion: v1\nmetadata:\n  name: {name}\n  labels: {{tier: {tier}}}\nspec: {{targetFile: {name}.txt, data: x}}\n"
    )
}

/// Manifests `w` (`tier: web`) and `d` (`tier: db`), applied. A user tearing down all but
/// the database mistypes it: `ordo delete -l 'tier!=dbb'` used to match no label, exclude
/// nothing and delete `d.txt` too. Every key and value a selector names must exist.
#[test]
fn negative_label_selector_with_a_typo_selects_everything() {
    let t = Test::new().manifest(
        "m.yaml",
        &format!("{}{}", labelled("w", "web"), labelled("d", "db")),
    );
    t.run(&["apply"]).code(0);
    for (sel, hint) in [
        ("tier!=dbb", "did you mean `tier=db`?"),
        ("tier notin (dbb)", "did you mean `tier=db`?"),
        ("teir!=db", "did you mean `tier`?"),
        ("!teir", "did you mean `tier`?"),
        ("tier!=db,!teir", "no manifest has the label `teir`"),
    ] {
        let out = t.run(&["plan", "--delete", "-l", sel]);
        out.code(3).no_panic().stderr_has(hint);
    }
    t.run(&["delete", "-l", "tier!=dbb"]).code(3);
    assert!(
        t.exists("d.txt"),
        "`delete -l tier!=dbb` deleted the db manifest"
    );
    assert!(
        t.exists("w.txt"),
        "`delete -l tier!=dbb` ran although refused"
    );
    // Spelt right, the negative selector deletes only what it says.
    t.run(&["delete", "-l", "tier!=db"]).code(0);
    assert!(t.exists("d.txt") && !t.exists("w.txt"));
}

/// `ordo apply -l 'tier in (web,dbb)'` ran only `w`, exit 0: the misspelt `dbb` was dropped
/// without a word.
#[test]
fn label_set_with_a_typo_drops_the_misspelt_value() {
    let t = Test::new().manifest(
        "m.yaml",
        &format!("{}{}", labelled("w", "web"), labelled("d", "db")),
    );
    t.run(&["validate", "-l", "tier in (web,dbb)"])
        .code(3)
        .stderr_has("no manifest has `tier=dbb`; did you mean `tier=db`?");
    t.run(&["validate", "-l", "tier in (web,db)"]).code(0);
}

#[test]
fn a_selection_whose_parts_match_but_leave_nothing_is_an_error() {
    let t = project();
    refused(&t, &["apply", "--only", "db", "-l", "tier=web"])
        .stderr_has("the selection (--only db -l tier=web) leaves no manifest to run");
    refused(&t, &["apply", "--exclude", "*"]).stderr_has("leaves no manifest to run");
}

#[test]
fn an_unquoted_number_as_a_label_value_is_refused_with_a_hint_to_quote_it() {
    // Issue 13: `release: 1.10` became `1.1`, so `-l release=1.10` selected nothing.
    let t = Test::new().trace().manifest(
        "site.yaml",
        &trace_doc(
            "web",
            "labels: {tier: web, release: 1.10, canary: true}",
            "",
        ),
    );
    let out = refused(&t, &["apply"]);
    out.stderr_has("label `release` must be a string, not a number")
        .stderr_has("site.yaml:6:32")
        .stderr_has("`release: \"1.10\"`")
        .stderr_has("label `canary` must be a string, not a boolean")
        .stderr_has("`canary: \"true\"`");
}

#[test]
fn a_quoted_label_keeps_its_text_and_selects() {
    let t = project();
    t.run(&["apply", "-l", "release=1.10"]).code(0);
    assert_eq!(t.take_trace(), ["APPLY web"]);
}

#[test]
fn a_handler_given_as_a_manifest_says_so() {
    // Issue 13: `-m greeting.rhai` gave a YAML error about the script's text.
    let t = project();
    refused(&t, &["apply", "-m", "trace.rhai"])
        .stderr_has("`trace.rhai` is a handler script, not a manifest file")
        .stderr_has("-s .")
        .stderr_lacks("invalid YAML");
}
