//! Handlers are checked when they load, and by `ordo lint`: unknown functions, wrong
//! argument counts and undeclared capabilities are input errors (exit 3) with the handler's
//! file, line and column, before anything runs (issue 13). No false positives: every
//! bundled handler and every example passes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{Output, Test};

const MANIFEST: &str = "kind: Probe\nversion: v1\nmetadata: {name: p}\n";

/// A `Probe` handler whose `apply` body is `body`, declaring `permissions`.
fn probe(permissions: &str, body: &str) -> Test {
    let handler = format!(
        "register(\"Probe\", \"^1\");\npermissions([{permissions}]);\nfn helper(a, b) {{ a + b }}\nfn apply(m) {{\n    {body}\n}}\n"
    );
    Test::new()
        .handler("probe.rhai", &handler)
        .manifest("m.yaml", MANIFEST)
}

/// The bug of issue 13: `file::remvoe` in `delete` passed `validate`, and `ordo delete`
/// removed the first manifests before failing on it, leaving half a teardown.
#[test]
fn a_typo_in_delete_stops_delete_before_anything_is_deleted() {
    let keep = r#"register("Keep", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) { file::write(path::join(m.dir, m.spec.path), "x"); }
fn delete(m) { file::remove(path::join(m.dir, m.spec.path)); }
"#;
    let broken_ok = keep.replace("Keep", "Broken");
    // `a` needs `b`, so `delete` removes `a` first and `b` (the broken one) after it.
    let yaml = "kind: Keep\nversion: v1\nmetadata: {name: a, dependencies: {apply: [b]}}\nspec: {path: a.txt}\n---\nkind: Broken\nversion: v1\nmetadata: {name: b}\nspec: {path: b.txt}\n";
    let t = Test::new()
        .handler("keep.rhai", keep)
        .handler("broken.rhai", &broken_ok)
        .manifest("m.yaml", yaml);
    t.run(&["apply"]).code(0);
    assert!(t.exists("a.txt") && t.exists("b.txt"));

    let t = t.handler(
        "broken.rhai",
        &broken_ok.replace("file::remove", "file::remvoe"),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("unknown function `file::remvoe`; did you mean `file::remove`?")
        .stderr_has("broken.rhai:4:");
    t.run(&["delete"])
        .code(3)
        .no_panic()
        .stderr_has("unknown function `file::remvoe`; did you mean `file::remove`?")
        .stderr_has("broken.rhai:4:");
    assert!(
        t.exists("a.txt"),
        "`a` was deleted before the typo was found"
    );
    assert!(t.exists("b.txt"));
    t.run(&["plan", "--delete"]).code(3);
}

#[test]
fn wrong_argument_counts_are_input_errors() {
    for (body, message, at) in [
        (
            "file::read(\"a\", \"b\");",
            "`file::read` takes 1 argument, not 2",
            "probe.rhai:5:11",
        ),
        (
            "path::join(\"a\");",
            "`path::join` takes 2 or 3 arguments, not 1",
            "probe.rhai:5:11",
        ),
        (
            "helper(1);",
            "`helper` takes 2 arguments, not 1",
            "probe.rhai:5:5",
        ),
        (
            "let s = \"x\".trim(1);",
            "`.trim` takes 0 arguments, not 1",
            "probe.rhai:5:17",
        ),
    ] {
        let t = probe("\"file:read\"", body);
        t.run(&["validate"])
            .code(3)
            .stderr_has(message)
            .stderr_has(at);
        t.run(&["apply"]).code(3).stderr_has(message);
    }
}

#[test]
fn an_undeclared_capability_is_refused_at_load_with_the_line_to_write() {
    let t = probe("\"file:read\"", "shell::run(\"touch ran\");");
    t.run(&["apply"])
        .code(3)
        .stderr_has("`shell::run` needs the `shell` permission, which handler `probe.rhai` does not declare")
        .stderr_has("probe.rhai:5:")
        .stderr_has(
            "add \"shell\" to the `permissions([...])` call on line 2 of probe.rhai: `permissions([\"shell\", \"file:read\"]);`",
        );
    assert!(!t.exists("ran"));

    // Without a `permissions` call, the line to add at the top.
    let t = Test::new()
        .handler(
            "probe.rhai",
            "register(\"Probe\", \"^1\");\nfn apply(m) {\n    file::copy(\"a\", \"b\");\n}\n",
        )
        .manifest("m.yaml", MANIFEST);
    t.run(&["plan"])
        .code(3)
        .stderr_has("`file::copy` needs the `file:read` permission")
        .stderr_has("`file::copy` needs the `file:write` permission")
        .stderr_has("add `permissions([\"file:read\", \"file:write\"]);` at the top of probe.rhai");
}

#[test]
fn unknown_names_get_a_did_you_mean_over_the_stdlib_and_the_scripts_functions() {
    for (body, message) in [
        (
            "helpr(1, 2);",
            "unknown function `helpr`; did you mean `helper`?",
        ),
        (
            "file::exist(\"a\");",
            "unknown function `file::exist`; did you mean `file::exists`?",
        ),
        (
            "read(\"a\");",
            "unknown function `read`; did you mean `file::read`?",
        ),
        (
            "pritn(\"a\");",
            "unknown function `pritn`; did you mean `print`?",
        ),
        (
            "let x = 1; x.to_strng();",
            "unknown method `to_strng`; did you mean `to_string`?",
        ),
    ] {
        probe("\"file:read\"", body)
            .run(&["validate"])
            .code(3)
            .stderr_has(message)
            .stderr_has("probe.rhai:5:");
    }
}

#[test]
fn a_method_typo_is_found_and_what_cannot_be_ruled_out_is_left_to_run_time() {
    probe("", "let s = \" x \".trimm();")
        .run(&["apply"])
        .code(3)
        .stderr_has("unknown method `trimm`; did you mean `trim`?")
        .stderr_has("probe.rhai:5:19");

    // Closures in maps and variables, `call`, `Fn` and curried functions are fine.
    let body = r#"let ops = #{ step: |x| x + 1 };
    let f = |x| x * 2;
    let g = Fn("helper");
    let h = g.curry(1);
    let total = ops.step(1) + f.call(3) + g.call(1, 2) + h.call(4) + call(f, 5);
    let words = "a b".split(" ").map(|w| w.to_upper());
    if total != 2 + 6 + 3 + 5 + 10 || words != ["A", "B"] { throw `wrong: ${total}`; }"#;
    probe("", body).run(&["apply"]).code(0);

    // A script function called as a method gets the object as `this`, not as a parameter.
    let methods = "register(\"Probe\", \"^1\");\nfn double() { this * 2 }\nfn add(n) { this + n }\nfn apply(m) {\n    let x = 2;\n    if x.double() + x.add(3) != 9 { throw \"no\"; }\n}\n";
    let t = Test::new()
        .handler("probe.rhai", methods)
        .manifest("m.yaml", MANIFEST);
    t.run(&["apply"]).code(0);
    let t = t.handler("probe.rhai", &methods.replace("x.add(3)", "x.add(3, 4)"));
    t.run(&["lint"])
        .code(3)
        .stderr_has("`.add` takes 1 argument, not 2")
        .stderr_has("probe.rhai:6:23");

    // Rhai cannot call a closure held in a variable as `f(x)`: the check says how.
    probe(
        "",
        "let f = |x| x * 2;
    f(2);",
    )
    .run(&["validate"])
    .code(3)
    .stderr_has("unknown function `f`")
    .stderr_has("`f` is a variable; to call the function it holds, write `f.call(...)`");
}

#[test]
fn a_module_import_typo_is_found_before_anything_runs() {
    let util = "fn read_it(p) { file::read(p) }\nfn twice(x) { x * 2 }\n";
    for (body, message) in [
        (
            "import \"lib/utl\" as util;\n    util::twice(1);",
            "did you mean `lib/util`?",
        ),
        (
            "import \"ordo/retyr\" as retry;\n    retry::with_backoff(2, 0.1, || 1);",
            "did you mean `ordo/retry`?",
        ),
        (
            "import \"lib/util\" as util;\n    util::twise(1);",
            "unknown function `util::twise`; did you mean `util::twice`?",
        ),
        (
            "import \"lib/util\" as util;\n    util::twice(1, 2);",
            "`util::twice` takes 1 argument, not 2",
        ),
        (
            "import \"lib/util\" as util;\n    util::read_it(\"x\");",
            "`util::read_it` needs the `file:read` permission, which handler `probe.rhai` does not declare (a function of module `lib/util.rhai` that uses it)",
        ),
    ] {
        let t = probe("", body).file("lib/util.rhai", util);
        t.run(&["apply"])
            .code(3)
            .stderr_has(message)
            .stderr_has("probe.rhai:");
    }
    // A mistake inside the module names the module's file.
    let t = probe("", "import \"lib/util\" as util;\n    util::twice(1);").file(
        "lib/util.rhai",
        "fn twice(x) { x * 2 }\nfn bad() { lenn(\"x\") }\n",
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("unknown function `lenn`; did you mean `len`?")
        .stderr_has("lib/util.rhai:2:12");
    // And the module used right passes.
    probe(
        "\"file:read\"",
        "import \"lib/util\" as util;\n    if util::twice(2) != 4 { throw \"no\"; }",
    )
    .file("lib/util.rhai", util)
    .run(&["apply"])
    .code(0);
}

#[test]
fn lint_passes_a_clean_directory_and_fails_a_broken_one() {
    let t = probe("", "helper(1, 2);");
    t.run(&["lint"])
        .code(0)
        .stdout_has("checked 1 handler: no problems");
    t.run(&["lint", "probe.rhai"]).code(0);
    let json = t.run(&["lint", "-o", "json", "."]).json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["handlers"], serde_json::json!(["probe.rhai"]));

    let t = t.handler(
        "more/broken.rhai",
        "register(\"B\", \"^1\");\nfn apply(m) { file::remvoe(\"x\") }\n",
    );
    t.run(&["lint"])
        .code(3)
        .stderr_has("more/broken.rhai:2:21")
        .stderr_has("unknown function `file::remvoe`; did you mean `file::remove`?");
    t.run(&["lint", "probe.rhai"]).code(0);
    t.run(&["lint", "more"]).code(3);
    t.run(&["lint", "missing.rhai"])
        .code(3)
        .stderr_has("cannot read handler `missing.rhai`");
}

/// No false positives: the bundled handlers and every example's handlers pass.
#[test]
fn every_bundled_handler_and_example_passes_lint() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut dirs = vec![format!("{root}/handlers")];
    for entry in std::fs::read_dir(format!("{root}/examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            dirs.push(path.display().to_string());
        }
    }
    assert!(dirs.len() > 5, "{dirs:?}");
    for dir in dirs {
        let out = Test::new().run(&["lint", &dir]);
        assert_eq!(out.code, 0, "{dir}:\n{}", out.stderr);
        out.stdout_has("no problems");
    }
}

/// Without a PATH, `ordo lint` checks the handlers a run would load: the project's, from
/// any directory below its root.
#[test]
fn lint_without_a_path_checks_the_projects_handlers_from_below_its_root() {
    let project = "kind: Project\nversion: v1\nmetadata: {name: shop}\nspec:\n  manifests: [manifests/]\n  handlers: [handlers/]\n";
    let t = Test::new()
        .file("ordo.yaml", project)
        .manifest("manifests/m.yaml", MANIFEST)
        .handler(
            "handlers/probe.rhai",
            "register(\"Probe\", \"^1\");\nfn apply(m) { file::remvoe(\"x\") }\n",
        )
        .file("manifests/deep/notes.txt", "");
    let deep = t.path().join("manifests/deep");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
        .arg("lint")
        .current_dir(&deep)
        .output()
        .unwrap();
    Output::of(out, &deep)
        .code(3)
        .stderr_has("probe.rhai:2:21")
        .stderr_has("did you mean `file::remove`?");
    // With `-m` from elsewhere, the project of those manifests.
    Test::new()
        .run(&["lint", "-m", t.path().join("manifests").to_str().unwrap()])
        .code(3)
        .stderr_has("did you mean `file::remove`?");
}

/// The manifest of the `Lint` handlers of the tests below.
const LINT_MANIFEST: &str = "kind: Lint\nversion: v1\nmetadata: {name: a}\nspec: {}\n";

/// Reproduction: a handler with `fn grow(n) { this.x += n; this.x }` and, in `apply`,
/// `let obj = #{ x: 1 }; obj.grow(2);`. This is correct Rhai (a script function called in
/// method style binds `this`; its parameters do not count the object), yet `ordo lint`
/// and `ordo apply` refuse it: "`.grow` takes 0 arguments, not 1" (exit 3). A false
/// positive of the load-time check.
#[test]
fn a_this_method_call_of_a_script_function_passes_lint_and_runs() {
    let t = Test::new()
        .handler(
            "h.rhai",
            r#"
register("Lint", "^1");
fn grow(n) { this.x += n; this.x }
fn apply(m) {
    let obj = #{ x: 1 };
    obj.grow(2);
    print("x=" + obj.x);
}
"#,
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"]).code(0);
    t.run(&["apply", "--no-state", "-v"])
        .code(0)
        .stderr_has("x=3");
}

/// Reproduction: a handler with `fn double(x) { x * 2 }` and `v.double()` in `apply`
/// (`let v = 5; print("r=" + v.double());`). `ordo lint h.rhai` says "no problems", and
/// `ordo apply` then fails at run time with "function not found: double (i64)": Rhai
/// looks up a script function called as a method with the arguments in parentheses only
/// (the object is `this`). The check counts the object as an argument, so it misses this
/// error (and refuses the correct `this` calls of the test above).
#[test]
fn a_method_call_lint_passes_also_runs() {
    let t = Test::new()
        .handler(
            "h.rhai",
            r#"
register("Lint", "^1");
fn double(x) { x * 2 }
fn apply(m) {
    let v = 5;
    print("r=" + v.double());
}
"#,
        )
        .manifest("m.yaml", LINT_MANIFEST);
    let out = t.run(&["lint", "h.rhai"]);
    let apply = t.run(&["apply", "--no-state"]);
    assert!(
        out.code == 3 || apply.code == 0,
        "lint passed (exit {}) a call that fails when it runs:\n{}",
        out.code,
        apply.stderr
    );
}

/// Reproduction: `lib/util.rhai` holding a typo at its line 2, col 13
/// (`fn typo() { strng::len("x") }`) imported by `h.rhai` (`import "lib/util" as u;`).
/// `ordo lint h.rhai` reports "Undefined module: strng" at `h.rhai:2:13` with an excerpt of
/// h.rhai's line 2 (the import line), not at `lib/util.rhai:2:13`. The same for a stdlib
/// call at a module's top level ("`file::write` is not available while a handler loads"
/// --> h.rhai:1:15, the `register` line). An error must point at the file that holds it.
#[test]
fn an_error_inside_an_imported_module_points_at_the_module() {
    let t = Test::new()
        .handler(
            "lib/util.rhai",
            "fn ok() { 1 }\nfn typo() { strng::len(\"x\") }\n",
        )
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nimport \"lib/util\" as u;\nfn apply(m) { u::ok(); }\n",
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"])
        .code(3)
        .stderr_has("lib/util.rhai:2:13")
        .stderr_has("fn typo() { strng::len(\"x\") }");
}

/// Reproduction: `lib/a.rhai` is `import "b" as b; fn fa() { b::fb() }`, `lib/b.rhai` is
/// `import "a" as a; fn fb() { 1 }`, and `h.rhai` imports `lib/a`. `ordo lint h.rhai`,
/// `ordo validate` and `ordo apply` all die with "thread 'main' has overflowed its stack /
/// fatal runtime error: stack overflow, aborting" (SIGABRT, exit 134): no message, no
/// file:line. A module that imports itself (`import "a" as a;` in `lib/a.rhai`, or a
/// handler `h.rhai` doing `import "h" as s;`) does the same. An import cycle must be an
/// input error (exit 3) naming the cycle.
#[test]
fn an_import_cycle_is_an_input_error_naming_the_cycle() {
    let t = Test::new()
        .handler("lib/a.rhai", "import \"b\" as b;\nfn fa() { b::fb() }\n")
        .handler("lib/b.rhai", "import \"a\" as a;\nfn fb() { 1 }\n")
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nimport \"lib/a\" as a;\nfn apply(m) { a::fa(); }\n",
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"])
        .no_panic()
        .code(3)
        .stderr_has("import cycle: lib/a.rhai -> lib/b.rhai -> lib/a.rhai")
        .stderr_has("lib/b.rhai:1:8");
    t.run(&["validate"])
        .no_panic()
        .code(3)
        .stderr_has("import cycle");
    t.run(&["apply"])
        .no_panic()
        .code(3)
        .stderr_has("import cycle");

    // A handler importing itself.
    let t = Test::new()
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nimport \"h\" as s;\nfn apply(m) { }\n",
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"])
        .no_panic()
        .code(3)
        .stderr_has("import cycle: h.rhai -> h.rhai")
        .stderr_has("h.rhai:2:8");
}

/// Reproduction: `lib/util.rhai` defines `fn hello() { "hello" }`; the handler does
/// `import "lib/util" as file;` and calls `file::hello()`. Rhai resolves an imported alias
/// before a registered module of the same name, so this runs; but the check compares
/// `file::hello` with the stdlib's `file` module and refuses it as "unknown function
/// `file::hello`" (and would judge `file::write` of that module by the stdlib's
/// permissions). It must either follow the import or refuse the alias itself ("`file`
/// is a stdlib module; choose another alias"), not report a misleading unknown function.
#[test]
fn an_import_alias_named_like_a_stdlib_module_is_the_module() {
    let t = Test::new()
        .handler("lib/util.rhai", "fn hello() { \"hello\" }\n")
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nimport \"lib/util\" as file;\nfn apply(m) { print(file::hello()); }\n",
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"])
        .code(0)
        .stderr_lacks("unknown function `file::hello`");
    t.run(&["apply", "--no-state", "-v"])
        .code(0)
        .stderr_has("hello");
    // A typo in a function of the aliased module is still found, against the module.
    let t = Test::new()
        .handler("lib/util.rhai", "fn hello() { \"hello\" }\n")
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nimport \"lib/util\" as file;\nfn apply(m) { print(file::helo()); }\n",
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"])
        .code(3)
        .stderr_has("unknown function `file::helo`; did you mean `file::hello`?");
}

/// Reproduction: `lib/obj.rhai`: `fn make() { #{ count: 1, greet: |who| "hi " + who } }`;
/// the handler does `import "lib/obj" as o; let obj = o::make(); print(obj.greet("you"));`.
/// Calling a closure stored in a map in method style is correct Rhai, and the README says
/// a method whose name is a map key is left to run time — but only keys written in the
/// handler itself count, so `ordo lint` refuses "unknown method `greet`" (exit 3), and
/// the handler cannot run. Keys of the imported modules count too.
#[test]
fn a_closure_method_of_a_map_made_by_a_module_passes_lint() {
    let t = Test::new()
        .handler(
            "lib/obj.rhai",
            "fn make() { #{ count: 1, greet: |who| \"hi \" + who } }\n",
        )
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nimport \"lib/obj\" as o;\nfn apply(m) {\n    let obj = o::make();\n    print(obj.greet(\"you\"));\n}\n",
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"]).code(0);
    // Rhai keeps such a closure private to the module; ordo exposes it to the importer.
    t.run(&["apply", "--no-state", "-v"])
        .code(0)
        .stderr_has("hi you");
}

/// Reproduction: a handler directory with `h.rhai` (a handler importing `lib/util`) and
/// `lib/util.rhai` (a module: `fn ok() { 1 }`). `ordo lint lib` (or `ordo lint
/// lib/util.rhai`) reported "this handler registers no kind" (exit 3). Files in a `lib`
/// directory are modules (README, "Handler files") and are checked as modules: their calls,
/// not a registration.
#[test]
fn lint_of_a_lib_directory_checks_modules_as_modules() {
    let t = Test::new()
        .handler("lib/util.rhai", "fn ok() { 1 }\n")
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nimport \"lib/util\" as u;\nfn apply(m) { u::ok(); }\n",
        );
    t.run(&["lint", "."]).code(0);
    t.run(&["lint", "lib"]).code(0);
    t.run(&["lint", "lib/util.rhai"]).code(0);
    // A module's own typo is still found, at the module's line.
    let t = Test::new().handler(
        "lib/util.rhai",
        "fn ok() { 1 }\nfn gone() { file::remvoe(\"x\") }\n",
    );
    t.run(&["lint", "lib"])
        .code(3)
        .stderr_has("unknown function `file::remvoe`; did you mean `file::remove`?")
        .stderr_has("lib/util.rhai:2:19");
}

/// `ordo lint m.yaml` reported a Rhai syntax error about the YAML; it says the file is not
/// a handler script, as `-m handler.rhai` says a handler is not a manifest.
#[test]
fn lint_of_a_manifest_file_says_it_is_not_a_handler_script() {
    let t = Test::new().manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "m.yaml"])
        .code(3)
        .stderr_has("`m.yaml` is not a handler script (`.rhai`)")
        .stderr_lacks("syntax error");
}

/// `fn aply(m)` gave "defines no `fn apply(m)`" with no hint; the near name is suggested,
/// at its line and column.
#[test]
fn a_misspelt_apply_gets_a_did_you_mean_at_its_definition() {
    let t = Test::new()
        .handler(
            "h.rhai",
            "register(\"Lint\", \"^1\");\nfn check(m) { true }\nfn aply(m) {\n    1\n}\n",
        )
        .manifest("m.yaml", LINT_MANIFEST);
    t.run(&["lint", "h.rhai"])
        .code(3)
        .stderr_has("defines no `fn apply(m)`; did you mean `aply`?")
        .stderr_has("h.rhai:3:4");
    t.run(&["validate"])
        .code(3)
        .stderr_has("did you mean `aply`?");
}
