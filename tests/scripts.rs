//! Handlers as users write them: `m`, script errors, and the first stdlib modules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// A project with one handler of kind `Probe` and one manifest of it.
fn probe(handler_body: &str, spec: &str) -> Test {
    let handler = format!(
        "register(\"Probe\", \"^1\");\npermissions([\"file:read\", \"file:write\", \"shell\", \"env\"]);\n{handler_body}"
    );
    let mut yaml =
        String::from("kind: Probe\nversion: v1\nmetadata:\n  name: probe\n  labels: {tier: web}\n");
    if !spec.is_empty() {
        yaml.push_str("spec:\n");
        for line in spec.lines() {
            yaml.push_str("  ");
            yaml.push_str(line);
            yaml.push('\n');
        }
    }
    Test::new()
        .handler("probe.rhai", &handler)
        .manifest("m.yaml", &yaml)
}

#[test]
fn m_has_every_field_of_the_design() {
    let t = probe(
        "fn apply(m) {\n  file::write(path::join(m.dir, \"m.json\"), json::to_string(#{\n    kind: m.kind, version: m.version, name: m.name, env: m.env, action: m.action,\n    dry_run: m.dry_run, tier: m.metadata.labels.tier, spec: m.spec, dir: m.dir, previous: m.previous }));\n}\n",
        "port: 8080\nflag: true\nmode: \"0644\"\nplain_mode: 0644\nratio: 0.5\nnothing: ~\nlist: [1, two]\n",
    );
    // `staging` exists because the project file lists it.
    let t = t.file(
        "ordo.yaml",
        "kind: Project\nversion: v1\nmetadata: {name: p}\nspec: {environments: [staging]}\n",
    );
    t.run(&["apply", "-e", "staging"]).code(0);
    let m: serde_json::Value = serde_json::from_str(&t.read("m.json")).unwrap();
    assert_eq!(m["kind"], "Probe");
    assert_eq!(m["version"], "v1");
    assert_eq!(m["name"], "probe");
    assert_eq!(m["env"], "staging");
    assert_eq!(m["action"], "apply");
    assert_eq!(m["dry_run"], false);
    assert_eq!(m["tier"], "web");
    // Types are kept: numbers, booleans, strings, null.
    assert_eq!(m["spec"]["port"], 8080);
    assert_eq!(m["spec"]["flag"], true);
    assert_eq!(m["spec"]["mode"], "0644");
    assert_eq!(m["spec"]["plain_mode"], "0644");
    assert_eq!(m["spec"]["ratio"], 0.5);
    assert_eq!(m["spec"]["nothing"], serde_json::Value::Null);
    assert_eq!(m["spec"]["list"], serde_json::json!([1, "two"]));
    // `m.dir` is canonical; nothing was applied before, so `m.previous` is `()`.
    let dir = t.path().canonicalize().unwrap();
    assert_eq!(m["dir"], dir.display().to_string());
    assert_eq!(m["previous"], serde_json::Value::Null);
}

#[test]
fn m_dir_is_the_absolute_directory_of_the_manifest_file() {
    let handler = "register(\"Probe\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) { file::write(path::join(m.dir, \"here.txt\"), m.dir); }\n";
    let t = Test::new().handler("h/probe.rhai", handler).manifest(
        "deep/m.yaml",
        "kind: Probe\nversion: v1\nmetadata: {name: p}\n",
    );
    t.run(&["apply", "-m", "deep", "-s", "h"]).code(0);
    let dir = t.read("deep/here.txt");
    assert!(dir.starts_with('/') && dir.ends_with("/deep"), "{dir}");
}

#[test]
fn a_runtime_error_names_the_handler_line_column_and_manifest() {
    let t = probe(
        "fn helper(x) {\n    x.nope.len()\n}\nfn apply(m) {\n    helper(m.spec)\n}\n",
        "a: 1",
    );
    let out = t.run(&["apply"]);
    out.code(1)
        .no_panic()
        .stdout_has("failed    Probe/probe")
        .stderr_has("probe.rhai:4:12")
        .stderr_has("in call to `helper` at probe.rhai:7:5");
    let json = t.run(&["apply", "-o", "json"]).json();
    let error = json["manifests"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("probe.rhai:4:12: function not found"),
        "{error}"
    );
}

#[test]
fn a_thrown_error_keeps_its_message_and_position() {
    let t = probe("fn apply(m) {\n    throw \"bucket is missing\";\n}\n", "");
    t.run(&["apply"])
        .code(1)
        .stderr_has("error: bucket is missing")
        .stderr_has("probe.rhai:4:5");
}

#[test]
fn one_failing_manifest_does_not_stop_the_process_from_reporting() {
    let t = probe("fn apply(m) { let a = [1]; a[5] }\n", "");
    t.run(&["apply"])
        .code(1)
        .no_panic()
        .stderr_has("out of bounds")
        .stdout_has("apply: 0 changed, 0 unchanged, 1 failed, 0 skipped");
}

#[test]
fn eval_is_disabled() {
    let t = probe("fn apply(m) { eval(\"1 + 1\") }\n", "");
    t.run(&["apply"])
        .code(3)
        .stderr_has("probe.rhai:3:15")
        .stderr_has("`eval` is disabled");
}

#[test]
fn limits_are_the_same_in_debug_and_release_builds() {
    // Rhai's debug default is 8 call levels; ordo sets 64 explicitly everywhere.
    let t = probe(
        "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }\nfn apply(m) { vars::set(\"d\", depth(40)); }\n",
        "",
    );
    t.run(&["apply"]).code(0);
}

#[test]
fn apply_outputs_become_variables_of_the_manifest() {
    let handlers = "register(\"Make\", \"^1\");\nfn apply(m) { #{ id: \"i-123\", count: 3 } }\n";
    let reader = "register(\"Read\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) {\n  let id = vars::get(\"maker.id\");\n  let count = vars::get(\"maker.count\");\n  let fallback = vars::get(\"maker.none\", \"dflt\");\n  file::write(path::join(m.dir, \"out.txt\"), `${id} ${count + 1} ${fallback} ${vars::has(\"maker.id\")}`);\n}\n";
    let yaml = "kind: Read\nversion: v1\nmetadata: {name: reader, dependencies: {apply: [maker]}}\n---\nkind: Make\nversion: v1\nmetadata: {name: maker}\n";
    let t = Test::new()
        .handler("make.rhai", handlers)
        .handler("read.rhai", reader)
        .manifest("m.yaml", yaml);
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("out.txt"), "i-123 4 dflt true");
}

#[test]
fn vars_are_namespaced_and_a_missing_one_is_an_error_with_a_hint() {
    let t = probe(
        "fn apply(m) {\n  vars::set(\"own\", 1);\n  if vars::get(\"own\") != vars::get(\"probe.own\") { throw \"bare keys are the manifest's own\"; }\n  vars::get(\"other.thing\")\n}\n",
        "",
    );
    t.run(&["apply"])
        .code(1)
        .stderr_has("no variable `other.thing`")
        .stderr_has("list it under `metadata.dependencies.apply`");
}

#[test]
fn vars_keys_with_dots_and_foreign_removals_are_refused() {
    let t = probe("fn apply(m) { vars::set(\"a.b\", 1); }\n", "");
    t.run(&["apply"]).code(1).stderr_has("invalid key `a.b`");
    let t = probe("fn apply(m) { vars::remove(\"other.x\"); }\n", "");
    t.run(&["apply"])
        .code(1)
        .stderr_has("belongs to another manifest");
}

#[test]
fn print_and_log_go_to_stderr_under_the_manifest_name() {
    let t = probe(
        "fn apply(m) { print(\"hello\"); log::warn(\"careful\"); log::verbose(\"details\"); }\n",
        "",
    );
    let out = t.run(&["apply"]);
    out.code(0)
        .stderr_has("info  probe: hello")
        .stderr_has("warn  probe: careful")
        .stderr_lacks("details");
    assert!(!out.stdout.contains("hello"), "logs must not go to stdout");
    t.run(&["apply", "-v"]).stderr_has("debug probe: details");
    t.run(&["apply", "-q"])
        .stderr_lacks("hello")
        .stderr_has("careful");
}

#[test]
fn env_reads_the_process_environment() {
    let t = probe("fn apply(m) { file::write(path::join(m.dir, \"e.txt\"), env::get(\"ORDO_TEST_X\") + env::get(\"ORDO_UNSET\", \"-default\")); }\n", "")
        .env("ORDO_TEST_X", "value");
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("e.txt"), "value-default");
    let t = probe("fn apply(m) { env::get(\"ORDO_UNSET_VARIABLE\") }\n", "");
    t.run(&["apply"])
        .code(1)
        .stderr_has("environment variable `ORDO_UNSET_VARIABLE` is not set");
}

#[test]
fn json_parses_and_prints() {
    let t = probe(
        "fn apply(m) {\n  let v = json::parse(\"{\\\"a\\\": [1, 2.5, true, null, \\\"x\\\"]}\");\n  file::write(path::join(m.dir, \"j.txt\"), json::to_string(v));\n}\n",
        "",
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("j.txt"), r#"{"a":[1,2.5,true,null,"x"]}"#);
    let t = probe("fn apply(m) { json::parse(\"{nope\") }\n", "");
    t.run(&["apply"])
        .code(1)
        .stderr_has("`json::parse`: invalid JSON");
}

#[test]
fn file_functions_read_write_append_list_and_remove() {
    let t = probe(
        r#"fn apply(m) {
  let d = path::join(m.dir, "work/sub");
  file::mkdir(d);
  file::write(path::join(d, "a.txt"), "one");
  file::append(path::join(d, "a.txt"), "+two");
  file::write(path::join(d, "b.txt"), "b");
  let names = file::list(d);
  let removed = file::remove(path::join(d, "b.txt"));
  let again = file::remove(path::join(d, "b.txt"));
  file::write(path::join(m.dir, "report.txt"),
    `${file::read(path::join(d, "a.txt"))} ${names} ${removed} ${again} ${file::exists(path::join(d, "b.txt"))} ${file::is_dir(d)}`);
}
"#,
        "",
    );
    t.run(&["apply"]).code(0);
    assert_eq!(
        t.read("report.txt"),
        r#"one+two ["a.txt", "b.txt"] true false false true"#
    );
}

#[test]
fn file_write_is_atomic_and_keeps_the_mode_of_the_file_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let t = probe(
        "fn apply(m) { file::write(path::join(m.dir, \"x.sh\"), \"new\"); }\n",
        "",
    )
    .file("x.sh", "old");
    std::fs::set_permissions(
        t.path().join("x.sh"),
        std::fs::Permissions::from_mode(0o751),
    )
    .unwrap();
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("x.sh"), "new");
    let mode = std::fs::metadata(t.path().join("x.sh"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o751);
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ordo-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn shell_runs_strings_through_sh_and_arrays_without_a_shell() {
    let t = probe(
        r#"fn apply(m) {
  let a = shell::run("printf $((1 + 2)) && printf err >&2");
  let b = shell::run(["printf", "%s|", "a b", "$HOME"]);
  let c = shell::run("cat; printf %s \"$PWD\"", #{ stdin: "in;", cwd: m.dir });
  let d = shell::run("printf %s \"$GREETING\"", #{ env: #{ GREETING: "hi" } });
  let e = shell::run("exit 3", #{ check: false });
  file::write(path::join(m.dir, "sh.txt"), `${a.stdout}|${a.stderr}|${a.ok}|${b.stdout}|${c.stdout}|${d.stdout}|${e.code}|${e.ok}`);
}
"#,
        "",
    );
    t.run(&["apply"]).code(0);
    let dir = t.path().canonicalize().unwrap();
    assert_eq!(
        t.read("sh.txt"),
        format!("3|err|true|a b|$HOME||in;{}|hi|3|false", dir.display())
    );
}

#[test]
fn a_failing_command_throws_with_its_code_and_the_tail_of_stderr() {
    let t = probe(
        "fn apply(m) {\n    shell::run(\"echo doing; echo 'disk full' >&2; exit 7\");\n}\n",
        "",
    );
    t.run(&["apply"])
        .code(1)
        .stderr_has(
            "command `echo doing; echo 'disk full' >&2; exit 7` exited with code 7: disk full",
        )
        .stderr_has("probe.rhai:4:12");
    let t = probe(
        "fn apply(m) {\n  try { shell::run(\"exit 4\"); } catch (e) { file::write(path::join(m.dir, \"code.txt\"), `${e.code}`); }\n}\n",
        "",
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("code.txt"), "4");
}

#[test]
fn check_must_return_a_boolean() {
    let t = probe("fn check(m) { \"yes\" }\nfn apply(m) {}\n", "");
    t.run(&["apply"])
        .code(1)
        .stderr_has("`check` must return `true` or `false`");
}

#[test]
fn a_handler_without_delete_leaves_the_manifest_unchanged_on_delete() {
    let t = probe("fn apply(m) {}\n", "");
    t.run(&["delete"])
        .code(0)
        .stdout_has("unchanged Probe/probe");
}

#[test]
fn handlers_may_import_modules_from_their_own_lib_directory_and_the_stdlib() {
    let handler = "import \"lib/util\" as util;\nimport \"ordo/retry\" as retry;\nregister(\"Probe\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) {\n  let v = retry::with_backoff(3, 0.01, || util::double(21));\n  file::write(path::join(m.dir, \"v.txt\"), `${v}`);\n}\n";
    let t = Test::new()
        .handler("probe.rhai", handler)
        .handler("lib/util.rhai", "fn double(x) { x * 2 }\n")
        .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata: {name: p}\n");
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("v.txt"), "42");
}

/// The README promised that a top-level `const` is visible inside functions; Rhai alone
/// refuses the plain name there (only `global::NAME` worked), issue 13.
#[test]
fn top_level_constants_are_visible_inside_functions_by_their_plain_name() {
    let handler = r#"register("Probe", "^1");
permissions(["file:write"]);
const GREETING = "hello";
const NAMES = ["a", "b"];
const OUT = "out" + ".txt";
fn greet(who) { `${GREETING} ${who}` }
fn shadow(GREETING) { GREETING }
fn apply(m) {
    let all = NAMES.map(|n| greet(n));
    let text = `${all} ${shadow("local")} ${global::GREETING}`;
    file::write(path::join(m.dir, OUT), text);
}
"#;
    let t = Test::new()
        .handler("probe.rhai", handler)
        .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata: {name: p}\n");
    t.run(&["lint"]).code(0);
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("out.txt"), "[\"hello a\", \"hello b\"] local hello");
    // A name that is no constant is still refused when the handler loads.
    let t = t.handler(
        "probe.rhai",
        &handler.replace("${GREETING} ${who}", "${GREETNG} ${who}"),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("GREETNG")
        .stderr_has("probe.rhai:6:");
}

/// The manifest of the `Lint` handler of the test below.
const LINT_MANIFEST: &str = "kind: Lint\nversion: v1\nmetadata: {name: a}\nspec: {}\n";

/// Reproduction: a handler whose `apply` builds a deeply nested array
/// (`let a = []; for i in 0..10000 { a = [a]; }`) and then calls `json::to_string(a)`, or
/// returns it as an output (`#{ out: a }`). ordo died with a stack overflow (SIGABRT, exit
/// 134), killing every manifest running beside it. Every conversion ordo makes of a script
/// value is bounded, and so are Rhai's `print`/`debug`/`to_string` and `==`/`!=` of arrays
/// and maps: the manifest fails with an error naming the call, the process lives.
#[test]
fn a_deeply_nested_value_fails_its_manifest_not_the_process() {
    for (call, said) in [
        ("print(json::to_string(a).len());", "`json::to_string`"),
        (
            "print(json::to_string_pretty(a).len());",
            "`json::to_string_pretty`",
        ),
        ("template::render(\"x\", #{ a: a });", "`template::render`"),
        ("vars::set(\"x\", a);", "`vars::set`"),
        ("#{ out: a }", "`apply` returned the output `out`"),
        // Rhai's own formatting and equality of arrays and maps, bounded by ordo.
        ("print(a);", "printing an array"),
        ("debug(#{ a: a });", "printing a map"),
        ("let b = a; print(a == b);", "comparing arrays"),
        ("print(#{ x: a } != #{ x: a });", "comparing maps"),
    ] {
        let t = Test::new()
            .handler(
                "h.rhai",
                &format!(
                    "register(\"Lint\", \"^1\");\nfn apply(m) {{ let a = []; for i in 0..3000 {{ a = [a]; }} {call} }}\n"
                ),
            )
            .manifest("m.yaml", LINT_MANIFEST);
        let out = t.run(&["apply"]);
        out.no_panic()
            .stderr_has(said)
            .stderr_has("nested deeper than 128 levels");
        assert_eq!(out.code, 1, "{call}: {}", out.stderr);
    }
}

/// The bounded replacements of Rhai's formatting and equality behave as Rhai's own.
#[test]
fn printing_and_comparing_arrays_and_maps_is_unchanged() {
    let t = Test::new()
        .handler(
            "h.rhai",
            r#"register("Lint", "^1");
fn apply(m) {
    print([1, "x", #{ b: [2.5, ()] }]);
    print(#{ a: 1, "b c": [1] });
    print([1, [2]] == [1, [2]]);
    print(#{ a: [1] } != #{ a: [2] });
    print([1] in [[1], [2]]);
    print([1, 2].to_string() + [3].to_debug());
}
"#,
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["apply", "--no-state", "-v"])
        .code(0)
        .stderr_has(r#"[1, "x", #{"b": [2.5, ()]}]"#)
        .stderr_has(r#"#{"a": 1, "b c": [1]}"#)
        .stderr_has("[1, 2][3]")
        .stderr_lacks("false");
}

/// Issue 19 part 6: `path::join(m.dir, m.spec.path)` without `path` in the manifest said
/// only "function not found: path::join (&str, ())"; now it says which argument was `()`,
/// from what, and that the manifest lacks the field, at the manifest's file:line.
#[test]
fn a_unit_argument_from_a_missing_spec_field_names_the_field_and_the_manifest() {
    let handler = "register(\"Greet\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) {\n    let f = path::join(m.dir, m.spec.path);\n    file::write(f, \"x\");\n}\n";
    let t = Test::new().handler("greet.rhai", handler).manifest(
        "m.yaml",
        "kind: Greet\nversion: v1\nmetadata: {name: hello}\nspec:\n  pth: out.txt\n",
    );
    t.run(&["apply", "--no-state"])
        .code(1)
        .no_panic()
        .stderr_has("function not found: path::join (")
        .stderr_has("argument 2 (`m.spec.path`) was `()`")
        .stderr_has("greet.rhai:4:")
        .stderr_has("manifest `hello` has no `spec.path`")
        .stderr_has("m.yaml:5:")
        .stderr_has("add `path:` to the manifest's spec");
    // Nested: `m.spec.source.file` where `source` has no `file`.
    let handler = "register(\"Greet\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) {\n    file::write(path::join(m.dir, m.spec.source.file), \"x\");\n}\n";
    let t = Test::new().handler("greet.rhai", handler).manifest(
        "m.yaml",
        "kind: Greet\nversion: v1\nmetadata: {name: hello}\nspec:\n  source: {fil: a}\n",
    );
    t.run(&["apply", "--no-state"])
        .code(1)
        .stderr_has("argument 2 (`m.spec.source.file`) was `()`")
        .stderr_has("manifest `hello` has no `spec.source.file`");
}

/// The issue's reproduction: the `()` argument in `check`, not `apply`. Each function a
/// handler has (check, apply, delete, verify, rollback, a custom action) is called the same
/// way, so each failure names the argument, the missing field, and the function that ran.
#[test]
fn a_unit_argument_is_named_in_whichever_handler_function_ran() {
    const CALL: &str = "path::join(\"a\", m.spec.nope)";
    const FOO: &str = "kind: Foo\nversion: v1\nmetadata: {name: a}\nspec: {}\n";
    // A second manifest that fails after `a` changed, so `a` is rolled back.
    const BAD: &str =
        "---\nkind: Bad\nversion: v1\nmetadata:\n  name: b\n  dependencies: {apply: [a]}\n";
    let cases: [(&str, &str, &[&str], &str); 6] = [
        (
            "check",
            "fn check(m) { CALL }\nfn apply(m) {}",
            &["apply"],
            "while running `check` for Foo/a",
        ),
        (
            "apply",
            "fn apply(m) { CALL }",
            &["apply"],
            "while running `apply` for Foo/a",
        ),
        (
            "delete",
            "fn apply(m) {}\nfn delete(m) { CALL }",
            &["delete", "--yes"],
            "while running `delete` for Foo/a",
        ),
        (
            "verify",
            "fn apply(m) {}\nfn verify(m) { CALL }",
            &["verify"],
            "while running `verify` for Foo/a",
        ),
        (
            "rollback",
            "fn apply(m) {}\nfn rollback(m, prev) { CALL }",
            &["apply", "--rollback-on-failure"],
            "while running `rollback` to roll back Foo/a",
        ),
        (
            "action",
            "actions(#{ poke: #{ order: \"forward\" } });\nfn apply(m) {}\nfn poke(m) { CALL }",
            &["run", "poke"],
            "while running `poke` for Foo/a",
        ),
    ];
    for (what, functions, args, running) in cases {
        let handler = format!(
            "register(\"Foo\", \"^1\");\n{}\n",
            functions.replace("CALL", CALL)
        );
        let manifests = if what == "rollback" {
            format!("{FOO}{BAD}")
        } else {
            FOO.to_string()
        };
        let out = Test::new()
            .handler("foo.rhai", &handler)
            .handler(
                "bad.rhai",
                "register(\"Bad\", \"^1\");\nfn apply(m) { throw \"boom\"; }\n",
            )
            .manifest("m.yaml", &manifests)
            .run(args);
        assert_eq!(out.code, 1, "{what}: {}", out.stderr);
        out.no_panic()
            .stderr_has("function not found: path::join (")
            .stderr_has("argument 2 (`m.spec.nope`) was `()`")
            .stderr_has("manifest `a` has no `spec.nope`")
            .stderr_has("m.yaml:4:7")
            .stderr_has("add `nope:` to the manifest's spec")
            .stderr_has(running);
    }
}

/// Issue 19 part 6: "function not found" lists the signatures that exist under the name:
/// the stdlib's, Rhai's built-ins, the handler's own functions; at load time too.
#[test]
fn function_not_found_lists_the_signatures_that_exist() {
    let run = |handler: &str| {
        Test::new()
            .handler(
                "foo.rhai",
                &format!("register(\"Foo\", \"^1\");\n{handler}\n"),
            )
            .manifest(
                "m.yaml",
                "kind: Foo\nversion: v1\nmetadata: {name: a}\nspec: {}\n",
            )
            .run(&["apply", "--no-state"])
    };
    run("fn apply(m) { path::join(1, 2) }")
        .code(1)
        .stderr_has("function not found: path::join (i64, i64)")
        .stderr_has("`path::join` exists as: path::join(string, string), path::join(string, string, string)")
        .stderr_has("while running `apply`");
    run("fn apply(m) { \"abc\".sub_string(\"a\") }")
        .code(1)
        .stderr_has("`sub_string` exists as: sub_string(string, int)");
    // At the handler's top level: an input error, with the same list.
    run("let x = path::join(1, 2);\nfn apply(m) {}")
        .code(3)
        .stderr_has("function not found: path::join (i64, i64)")
        .stderr_has("`path::join` exists as: path::join(string, string)");
    // The JSON report's error line carries it too.
    let out = Test::new()
        .handler(
            "foo.rhai",
            "register(\"Foo\", \"^1\");\nfn apply(m) { path::join(1, 2) }\n",
        )
        .manifest(
            "m.yaml",
            "kind: Foo\nversion: v1\nmetadata: {name: a}\nspec: {}\n",
        )
        .run(&["apply", "--no-state", "-o", "json"]);
    let error = out.json()["manifests"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("`path::join` exists as: path::join(string, string)"),
        "{error}"
    );
}
