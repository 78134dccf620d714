//! The order of execution (DESIGN.md §3), through the real binary, with the `Trace` handler.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{Test, trace_doc};

fn applies(trace: &[String]) -> Vec<String> {
    trace
        .iter()
        .filter_map(|l| l.strip_prefix("APPLY ").map(str::to_string))
        .collect()
}

fn deletes(trace: &[String]) -> Vec<String> {
    trace
        .iter()
        .filter_map(|l| l.strip_prefix("DELETE ").map(str::to_string))
        .collect()
}

#[test]
fn a_chain_of_50_listed_backwards_runs_each_manifest_once_in_dependency_order() {
    // Listed last-first, so document order alone would get it wrong.
    let mut yaml = String::new();
    for i in (0..50).rev() {
        let deps = if i == 0 {
            String::new()
        } else {
            format!("dependencies: {{apply: [m{:02}]}}", i - 1)
        };
        yaml.push_str(&trace_doc(&format!("m{i:02}"), &deps, ""));
    }
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply"])
        .code(0)
        .stdout_has("apply: 50 changed, 0 unchanged, 0 failed, 0 skipped");
    let expected: Vec<String> = (0..50).map(|i| format!("m{i:02}")).collect();
    assert_eq!(applies(&t.take_trace()), expected);

    t.run(&["delete"]).code(0);
    let reversed: Vec<String> = expected.iter().rev().cloned().collect();
    assert_eq!(deletes(&t.take_trace()), reversed);
}

#[test]
fn a_diamond_runs_the_shared_dependency_once_and_deletes_in_exact_reverse() {
    let yaml = [
        trace_doc("top", "dependencies: {apply: [left, right]}", ""),
        trace_doc("left", "dependencies: {apply: [base]}", ""),
        trace_doc("right", "dependencies: {apply: [base]}", ""),
        trace_doc("base", "", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply", "-j", "1"]).code(0);
    let order = applies(&t.take_trace());
    assert_eq!(order, ["base", "left", "right", "top"]);
    t.run(&["delete", "-j", "1"]).code(0);
    assert_eq!(deletes(&t.take_trace()), ["top", "left", "right", "base"]);
}

#[test]
fn ties_are_broken_by_document_order_so_runs_repeat_exactly() {
    let yaml = [
        trace_doc("c", "", ""),
        trace_doc("a", "", ""),
        trace_doc("b", "", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    for _ in 0..3 {
        t.run(&["apply", "-j", "1"]).code(0);
        assert_eq!(applies(&t.take_trace()), ["c", "a", "b"]);
    }
}

#[test]
fn dependencies_delete_are_deleted_first_and_ignored_by_apply() {
    let yaml = [
        trace_doc("app", "dependencies: {delete: [cleanup]}", ""),
        trace_doc("cleanup", "", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(applies(&t.take_trace()), ["app", "cleanup"]);
    t.run(&["delete", "-j", "1"]).code(0);
    assert_eq!(deletes(&t.take_trace()), ["cleanup", "app"]);
}

#[test]
fn backup_before_delete_runs_apply_logic_during_delete() {
    // The py-animus idiom: a ShellScript-like step with `actionOverrides: {delete: apply}`,
    // listed under the data's `dependencies.delete`, backs the data up before it goes.
    let yaml = [
        trace_doc("data", "dependencies: {delete: [backup]}", "file: data.txt"),
        trace_doc(
            "backup",
            "skipApplyAll: true\nactionOverrides: {delete: apply}",
            "",
        ),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply"]).code(0);
    assert_eq!(
        applies(&t.take_trace()),
        ["data"],
        "the backup is not applied by apply"
    );
    assert!(t.exists("data.txt"));
    t.run(&["delete", "-j", "1"])
        .code(0)
        .stdout_has("changed   Trace/backup");
    assert_eq!(t.take_trace(), ["APPLY backup", "DELETE data"]);
    assert!(!t.exists("data.txt"));
}

#[test]
fn skip_apply_all_manifests_run_only_when_something_needs_them() {
    let yaml = [
        trace_doc("probe", "skipApplyAll: true", ""),
        trace_doc("unused", "skipApplyAll: true", ""),
        trace_doc("app", "dependencies: {apply: [probe]}", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(applies(&t.take_trace()), ["probe", "app"]);
}

#[test]
fn skip_delete_all_manifests_are_deleted_only_when_listed_under_dependencies_delete() {
    let yaml = [
        trace_doc("keep", "skipDeleteAll: true", ""),
        trace_doc("pulled", "skipDeleteAll: true", ""),
        trace_doc("app", "dependencies: {delete: [pulled]}", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["delete", "-j", "1"]).code(0);
    assert_eq!(deletes(&t.take_trace()), ["pulled", "app"]);
}

#[test]
fn a_failure_skips_its_dependents_and_stops_new_work() {
    let yaml = [
        trace_doc("broken", "", "fail: true"),
        trace_doc("child", "dependencies: {apply: [broken]}", ""),
        trace_doc("grandchild", "dependencies: {apply: [child]}", ""),
        trace_doc("later", "", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    let out = t.run(&["apply", "-j", "1"]);
    out.code(1)
        .stdout_has("failed    Trace/broken")
        .stdout_has("skipped   Trace/child  (`broken` failed)")
        .stdout_has("skipped   Trace/grandchild  (`broken` failed)")
        .stdout_has("skipped   Trace/later  (the run stopped after a failure)")
        .stdout_has("apply: 0 changed, 0 unchanged, 1 failed, 3 skipped")
        .stderr_has("failure requested by broken");
    assert_eq!(applies(&t.take_trace()), ["broken"]);
}

#[test]
fn keep_going_runs_the_branches_that_do_not_depend_on_the_failure() {
    let yaml = [
        trace_doc("broken", "", "fail: true"),
        trace_doc("child", "dependencies: {apply: [broken]}", ""),
        trace_doc("other", "", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply", "-j", "1", "--keep-going"])
        .code(1)
        .stdout_has("1 changed, 0 unchanged, 1 failed, 1 skipped");
    assert_eq!(applies(&t.take_trace()), ["broken", "other"]);
}

#[test]
fn check_returning_false_means_unchanged_and_the_function_is_not_called() {
    let yaml = [trace_doc("a", "", "check: file\nfile: a.txt")].concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply"]).code(0).stdout_has("changed   Trace/a");
    assert_eq!(applies(&t.take_trace()), ["a"]);
    t.run(&["apply"]).code(0).stdout_has("unchanged Trace/a");
    assert!(t.take_trace().is_empty());
}

#[test]
fn environments_limit_manifests() {
    let yaml = [
        trace_doc("everywhere", "", ""),
        trace_doc("dev-only", "environments: [dev]", ""),
        trace_doc("prod-only", "environments: [prod]", ""),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply", "-e", "dev", "-j", "1"]).code(0);
    assert_eq!(applies(&t.take_trace()), ["everywhere", "dev-only"]);
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(applies(&t.take_trace()), ["everywhere"]);
}

#[test]
fn the_same_name_may_be_used_in_disjoint_environments() {
    let yaml = [
        trace_doc("db", "environments: [dev]", "file: dev.txt"),
        trace_doc("db", "environments: [prod]", "file: prod.txt"),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["apply", "-e", "prod"]).code(0);
    assert!(t.exists("prod.txt") && !t.exists("dev.txt"));
}

#[test]
fn manifests_from_several_files_and_directories_load_in_sorted_order() {
    let t = Test::new()
        .trace()
        .manifest("b/two.yaml", &trace_doc("two", "", ""))
        .manifest("a/one.yml", &trace_doc("one", "", ""))
        .manifest("c/ignored.txt", "not yaml");
    t.run(&["apply", "-j", "1", "-s", "."]).code(0);
    assert_eq!(applies(&t.take_trace()), ["one", "two"]);
}

#[test]
fn hidden_directories_are_not_searched_for_manifests_or_handlers() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("one", "", ""))
        .manifest(".github/workflows/ci.yml", "on: push\njobs: {}\n")
        .handler(".hidden/broken.rhai", "this is not rhai");
    t.run(&["apply"]).code(0);
    assert_eq!(applies(&t.take_trace()), ["one"]);
}

#[test]
fn steps_that_run_apply_during_delete_keep_their_apply_order() {
    // Regression: two backup steps run by `actionOverrides: {delete: apply}`, the second
    // after the first, were reversed (and with a `!Variable` between them, a cycle).
    let yaml = [
        trace_doc("data", "dependencies: {delete: [dump, upload]}", ""),
        trace_doc(
            "dump",
            "skipApplyAll: true\nactionOverrides: {delete: apply}",
            "",
        ),
        trace_doc(
            "upload",
            "skipApplyAll: true\nactionOverrides: {delete: apply}\ndependencies: {apply: [dump]}",
            "",
        ),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &yaml);
    t.run(&["delete", "-j", "1", "--no-state"]).code(0);
    assert_eq!(
        t.take_trace(),
        ["APPLY dump", "APPLY upload", "DELETE data"]
    );
}
