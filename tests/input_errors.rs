//! Invalid input (DESIGN.md §2–§4): exit code 3, every error with its file and line, reported
//! together, and nothing executed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{Output, Test, trace_doc};

/// A manifest that would leave a trace if anything ran.
fn witness() -> String {
    trace_doc("witness", "", "")
}

/// Runs `apply` and checks the common contract of input errors.
#[track_caller]
fn rejected(t: &Test) -> Output {
    let out = t.run(&["apply"]);
    out.code(3).no_panic().stderr_has("nothing was run");
    assert!(
        t.take_trace().is_empty(),
        "something ran despite invalid input"
    );
    out
}

#[test]
fn yaml_syntax_errors_name_the_file_and_line() {
    let t = Test::new()
        .trace()
        .manifest("a.yaml", &witness())
        .manifest("b.yaml", "kind: Trace\nmetadata: {name: x\n");
    rejected(&t)
        .stderr_has("error: invalid YAML")
        .stderr_has("b.yaml:3:1");
}

#[test]
fn missing_fields_are_reported() {
    let t = Test::new().trace().manifest(
        "a.yaml",
        &format!("{}---\nversion: v1\nmetadata: {{}}\n", witness()),
    );
    rejected(&t)
        .stderr_has("missing required field `kind`")
        .stderr_has("missing required field `metadata.name`")
        .stderr_has("a.yaml:7:1");
}

#[test]
fn unknown_keys_get_a_did_you_mean() {
    let t = Test::new()
        .trace()
        .manifest("a.yaml", &format!("{}specs: {{}}\n", witness()));
    rejected(&t)
        .stderr_has("unknown key `specs` in a manifest; did you mean `spec`?")
        .stderr_has("a.yaml:6:1");
}

#[test]
fn wrong_types_in_metadata_are_reported_with_the_expected_type() {
    let t = Test::new().trace().manifest(
        "a.yaml",
        &trace_doc("x", "skipApplyAll: 'yes'\ndependencies: {apply: db}", ""),
    );
    rejected(&t)
        .stderr_has("`metadata.skipApplyAll` must be a boolean (`true` or `false`), not a string")
        .stderr_has("a.yaml:6:17")
        .stderr_has("`metadata.dependencies.apply` must be a list of names, not a string");
}

#[test]
fn invalid_and_empty_names_are_rejected() {
    let t = Test::new().trace().manifest(
        "a.yaml",
        &[trace_doc("has space", "", ""), trace_doc("''", "", "")].concat(),
    );
    rejected(&t)
        .stderr_has("invalid manifest name `has space`")
        .stderr_has("invalid manifest name ``");
}

#[test]
fn duplicate_names_point_at_both_definitions() {
    let t = Test::new().trace().manifest(
        "a.yaml",
        &[witness(), trace_doc("witness", "", "")].concat(),
    );
    rejected(&t)
        .stderr_has("duplicate manifest name `witness`")
        .stderr_has("a.yaml:10:9")
        .stderr_has("a.yaml:5:9")
        .stderr_has("first defined here");
}

#[test]
fn unknown_dependencies_suggest_the_near_name() {
    let t = Test::new().trace().manifest(
        "a.yaml",
        &[
            trace_doc("network", "", ""),
            trace_doc("db", "dependencies: {apply: [netwrk]}", ""),
        ]
        .concat(),
    );
    rejected(&t)
        .stderr_has("manifest `db` depends on unknown manifest `netwrk`; did you mean `network`?")
        .stderr_has("a.yaml:11:26");
}

#[test]
fn a_dependency_outside_the_environment_is_an_input_error() {
    let t = Test::new().trace().manifest(
        "a.yaml",
        &[
            trace_doc("db", "environments: [prod]", ""),
            trace_doc("app", "dependencies: {apply: [db]}", ""),
        ]
        .concat(),
    );
    let out = t.run(&["apply", "-e", "dev"]);
    out.code(3)
        .stderr_has("manifest `app` depends on `db`, which is not in environment `dev`")
        .stderr_has("it is limited to: prod");
    assert!(t.take_trace().is_empty());
}

#[test]
fn cycles_print_the_whole_path_with_every_edge() {
    let yaml = [
        trace_doc("a", "dependencies: {apply: [b]}", ""),
        trace_doc("b", "dependencies: {apply: [c]}", ""),
        trace_doc("c", "dependencies: {apply: [a]}", ""),
        witness(),
    ]
    .concat();
    let t = Test::new().trace().manifest("a.yaml", &yaml);
    rejected(&t)
        .stderr_has("dependency cycle: a -> b -> c -> a")
        .stderr_has("a.yaml:6:26")
        .stderr_has("a.yaml:12:26")
        .stderr_has("a.yaml:18:26")
        .stderr_has("`b` depends on `c`")
        .stderr_has("`c` depends on `a`");
}

#[test]
fn self_dependencies_are_rejected() {
    let t = Test::new()
        .trace()
        .manifest("a.yaml", &trace_doc("a", "dependencies: {apply: [a]}", ""));
    rejected(&t)
        .stderr_has("manifest `a` depends on itself")
        .stderr_has("a.yaml:6:26");
}

#[test]
fn a_cycle_only_in_the_delete_order_is_reported() {
    // `a` needs `b` first on apply, so on delete `a` goes first; but `a` also asks for `b`
    // to be deleted before it.
    let yaml =
        trace_doc("a", "dependencies: {apply: [b], delete: [b]}", "") + &trace_doc("b", "", "");
    let t = Test::new().trace().manifest("a.yaml", &yaml);
    rejected(&t).stderr_has("dependency cycle in the delete order: a -> b -> a");
}

#[test]
fn a_bad_version_is_rejected_with_the_accepted_forms() {
    let t = Test::new().trace().manifest(
        "a.yaml",
        "kind: Trace\nversion: latest\nmetadata: {name: x}\n",
    );
    rejected(&t)
        .stderr_has("`latest` is not a version; use `v1`, `v1.2`, `1.2.3`, `v1beta1` or `group/v2`")
        .stderr_has("a.yaml:2:10");
}

#[test]
fn an_unknown_kind_lists_what_is_served() {
    let t = Test::new()
        .trace()
        .manifest("a.yaml", "kind: Trac\nversion: v1\nmetadata: {name: x}\n");
    rejected(&t)
        .stderr_has("no handler serves kind `Trac`; did you mean `Trace`?")
        .stderr_has("a.yaml:1:7")
        .stderr_has("kinds served:");
}

#[test]
fn an_unserved_version_lists_the_ranges_and_files() {
    let t = Test::new()
        .trace()
        .manifest("a.yaml", "kind: Trace\nversion: v2\nmetadata: {name: x}\n");
    rejected(&t)
        .stderr_has("no handler serves `Trace` version `v2`")
        .stderr_has("served: `^1` by trace.rhai");
}

#[test]
fn two_user_handlers_for_one_version_are_ambiguous() {
    let t = Test::new()
        .trace()
        .handler(
            "other/trace2.rhai",
            "register(\"Trace\", \">=1.0, <1.5\");\nfn apply(m) {}\n",
        )
        .manifest("a.yaml", &witness());
    rejected(&t)
        .stderr_has("several handlers serve `Trace` version `v1`")
        .stderr_has("candidate: other/trace2.rhai")
        .stderr_has("candidate: trace.rhai");
}

#[test]
fn handler_syntax_errors_have_line_and_column() {
    let t = Test::new()
        .trace()
        .handler(
            "bad.rhai",
            "register(\"Bad\", \"^1\");\nfn apply(m) {\n    let x = ;\n}\n",
        )
        .manifest("a.yaml", &witness());
    rejected(&t)
        .stderr_has("syntax error")
        .stderr_has("bad.rhai:3:13");
}

#[test]
fn handlers_that_register_nothing_or_lack_apply_are_rejected() {
    let t = Test::new()
        .trace()
        .handler("nothing.rhai", "fn apply(m) {}\n")
        .handler(
            "noapply.rhai",
            "register(\"NoApply\", \"^1\");\nfn check(m) { true }\n",
        )
        .manifest("a.yaml", &witness());
    rejected(&t)
        .stderr_has("nothing.rhai:1:1")
        .stderr_has("this handler registers no kind")
        .stderr_has("this handler registers `NoApply` but defines no `fn apply(m)`");
}

#[test]
fn registering_a_kind_twice_with_overlapping_ranges_is_rejected() {
    let t = Test::new()
        .trace()
        .handler(
            "twice.rhai",
            "register(\"Twice\", \"^1\");\nregister(\"Twice\", \">=1.2\");\nfn apply(m) {}\n",
        )
        .manifest("a.yaml", &witness());
    rejected(&t)
        .stderr_has("`Twice` is registered twice with overlapping ranges `^1` and `>=1.2`")
        .stderr_has("twice.rhai:2:1");
}

#[test]
fn bad_ranges_and_permissions_are_rejected_at_their_line() {
    let t = Test::new()
        .trace()
        .handler(
            "bad.rhai",
            "register(\"Bad\", \"one\");\npermissions([\"shel\"]);\nfn apply(m) {}\n",
        )
        .manifest("a.yaml", &witness());
    rejected(&t)
        .stderr_has("`one` is not a version range")
        .stderr_has("bad.rhai:1:1")
        .stderr_has("unknown permission `shel`; did you mean `shell`?")
        .stderr_has("bad.rhai:2:1");
}

#[test]
fn a_handler_top_level_may_not_use_the_stdlib() {
    let t = Test::new()
        .trace()
        .handler("eager.rhai", "register(\"Eager\", \"^1\");\nlet x = file::read(\"/etc/hostname\");\nfn apply(m) {}\n")
        .manifest("a.yaml", &witness());
    rejected(&t)
        .stderr_has("`file::read` is not available while a handler loads")
        .stderr_has("eager.rhai:2:15");
}

#[test]
fn errors_from_every_stage_and_file_are_reported_together() {
    let t = Test::new()
        .trace()
        .handler("bad.rhai", "register(\"Bad\", \"^1\")\nfn apply(m) {}\n")
        .manifest(
            "a.yaml",
            &[
                witness(),
                trace_doc("x", "dependencies: {apply: [nope]}", ""),
            ]
            .concat(),
        )
        .manifest("b.yaml", "kind: Nope\nversion: v1\nmetadata: {name: y}\n");
    let out = rejected(&t);
    out.stderr_has("a.yaml:11:26")
        .stderr_has("b.yaml:1:7")
        .stderr_has("bad.rhai:2:1")
        .stderr_has("3 input errors");
}

#[test]
fn a_missing_manifest_path_is_an_input_error() {
    let t = Test::new().trace();
    t.run(&["apply", "-m", "nope.yaml"])
        .code(3)
        .stderr_has("cannot read `nope.yaml`");
}

#[test]
fn a_file_without_manifests_is_an_input_error() {
    let t = Test::new()
        .trace()
        .manifest("a.yaml", &witness())
        .manifest("empty.yaml", "---\n");
    rejected(&t)
        .stderr_has("empty.yaml:1:1")
        .stderr_has("this file holds no manifests");
}

#[test]
fn a_non_utf8_file_names_the_line_and_column() {
    let t = Test::new().trace().manifest("a.yaml", &witness());
    std::fs::write(
        t.path().join("bad.yaml"),
        b"kind: Trace\nversion: v1\nmetadata: {name: \xff}\n",
    )
    .unwrap();
    rejected(&t)
        .stderr_has("not valid UTF-8")
        .stderr_has("bad.yaml:3:18");
}

#[test]
fn yaml_tags_never_execute_anything() {
    let yaml = "kind: Echo\nversion: v1\nmetadata: {name: e}\nspec:\n  x: !!python/object/apply:os.system [\"touch pwned\"]\n";
    let handler = "register(\"Echo\", \"^1\");\nfn apply(m) { vars::set(\"tag\", m.spec.x.tag); vars::set(\"arg\", m.spec.x.value[0]); #{ ok: true } }\n";
    let t = Test::new()
        .handler("echo.rhai", handler)
        .manifest("a.yaml", yaml);
    t.run(&["apply"]).code(0);
    assert!(!t.exists("pwned"));
}

#[test]
fn a_bad_flag_is_exit_code_2() {
    let t = Test::new();
    t.run(&["apply", "--no-such-flag"])
        .code(2)
        .stderr_has("--no-such-flag");
    t.run(&["frobnicate"]).code(2);
    t.run(&["apply", "-j"]).code(2);
    t.run(&["apply", "--deny", "network"])
        .code(2)
        .stderr_has("unknown capability `network`");
    t.run(&["--version"]).code(0).stdout_has("ordo ");
}
