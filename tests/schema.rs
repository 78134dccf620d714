//! `schema(#{...})` in handlers (issue 19 part 1, DESIGN §11): manifests are checked
//! against it when they load (exit 3, every error of the run together, each at the
//! offending key's or value's file:line:col, nothing run), defaults reach the handler, and
//! the declaration itself is checked when the handler loads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// A `Unit` handler with a schema; `apply` writes `m.spec` as JSON to `spec.json`.
const UNIT: &str = r#"register("Unit", "^1");
permissions(["file:write"]);
schema(#{
    execStart: #{ type: "string", required: true, about: "the command to run" },
    port: #{ type: "int", "default": 8080 },
    ratio: #{ type: "float", "default": 1 },
    mode: #{ type: "string", enum: ["simple", "forking"], "default": "simple" },
    env: #{ type: "map" },
    user: #{ fields: #{
        name: #{ type: "string", required: true },
        group: #{ type: "string", "default": "root" },
    } },
    tags: #{ type: "list", items: #{ type: "string" } },
    ports: #{ type: "list", items: #{ fields: #{ port: #{ type: "int", required: true } } } },
    anything: #{ type: "any" },
});
fn apply(m) { file::write(path::join(m.dir, "spec.json"), json::to_string(m.spec)); }
"#;

fn unit(spec: &str) -> Test {
    Test::new().handler("unit.rhai", UNIT).manifest(
        "m.yaml",
        &format!("kind: Unit\nversion: v1\nmetadata: {{name: web}}\nspec:\n{spec}"),
    )
}

#[test]
fn a_valid_manifest_gets_its_defaults_before_the_handler_sees_it() {
    let t = unit("  execStart: /bin/web\n  ratio: 2\n  user: {name: www}\n  ports: [{port: 1}]\n");
    t.run(&["apply", "--no-state"]).code(0);
    let spec: serde_json::Value = serde_json::from_str(&t.read("spec.json")).unwrap();
    assert_eq!(spec["execStart"], "/bin/web");
    assert_eq!(spec["port"], 8080, "a default fills a field left out");
    assert_eq!(spec["mode"], "simple");
    assert_eq!(spec["user"]["group"], "root", "nested defaults too");
    // A `float` field given `2` gets the float 2.0, not the integer.
    assert!(spec["ratio"].is_f64(), "{spec}");
    assert_eq!(spec["ratio"], 2.0);
    assert!(spec.get("env").is_none(), "no default, not written: absent");
}

#[test]
fn a_misspelt_key_is_an_error_at_its_place_with_did_you_mean() {
    unit("  execStrat: /bin/web\n")
        .run(&["validate"])
        .code(3)
        .stderr_has(
            "manifest `web`: unknown field `spec.execStrat`; did you mean `spec.execStart`?",
        )
        .stderr_has("--> m.yaml:5:3")
        .stderr_has("`spec.execStart` is required");
}

#[test]
fn every_kind_of_violation_is_reported_together_at_its_place_and_nothing_runs() {
    let t = unit(
        "  execStart: 5\n  port: \"80\"\n  mode: forkin\n  user: {nme: x}\n  tags: [a, [b]]\n  ports: [{port: 1}, {port: x}]\n  env: [a]\n",
    );
    let out = t.run(&["apply", "--no-state"]);
    out.code(3)
        .stderr_has("`spec.execStart` must be a string, not the int `5`")
        .stderr_has("--> m.yaml:5:14")
        .stderr_has("quote it as written to make it text")
        .stderr_has("the field: the command to run")
        .stderr_has("`spec.port` must be an int (a whole number), not the string `80`")
        .stderr_has("--> m.yaml:6:9")
        .stderr_has("write it unquoted")
        .stderr_has("`spec.mode` is the string `forkin`, not one of `simple`, `forking`; did you mean `forking`?")
        .stderr_has("--> m.yaml:7:9")
        .stderr_has("unknown field `spec.user.nme`; did you mean `spec.user.name`?")
        .stderr_has("--> m.yaml:8:10")
        .stderr_has("`spec.user.name` is required")
        .stderr_has("`spec.tags[1]` must be a string, not a list")
        .stderr_has("--> m.yaml:9:13")
        .stderr_has("`spec.ports[1].port` must be an int (a whole number), not the string `x`")
        .stderr_has("`spec.env` must be a map, not a list")
        .stderr_has("8 input errors; nothing was run");
    assert!(!t.exists("spec.json"), "nothing ran");
}

#[test]
fn errors_of_several_manifests_and_files_come_together() {
    let t = Test::new()
        .handler("unit.rhai", UNIT)
        .manifest(
            "a.yaml",
            "kind: Unit\nversion: v1\nmetadata: {name: a}\nspec: {execStart: x, port: 1.5}\n",
        )
        .manifest(
            "b.yaml",
            "kind: Unit\nversion: v1\nmetadata: {name: b}\nspec: {}\n",
        );
    t.run(&["validate"])
        .code(3)
        .stderr_has("manifest `a`: `spec.port` must be an int")
        .stderr_has("--> a.yaml:4:28")
        .stderr_has("manifest `b`: `spec.execStart` is required")
        .stderr_has("--> b.yaml:4:7")
        .stderr_has("2 input errors");
}

#[test]
fn numbers_keep_their_meaning() {
    // An int field refuses a float, even a whole one, and one too large for an integer.
    for (text, hint) in [
        ("2.0", "write the whole number without a point (`2`)"),
        ("2.5", "an int is a whole number"),
        ("1e300", "an int is a whole number"),
    ] {
        unit(&format!("  execStart: x\n  port: {text}\n"))
            .run(&["validate"])
            .code(3)
            .stderr_has("`spec.port` must be an int (a whole number), not the float `")
            .stderr_has(hint);
    }
    // `0644` stays the string it is in ordo's YAML: not an int.
    unit("  execStart: x\n  port: 0644\n")
        .run(&["validate"])
        .code(3)
        .stderr_has("not the string `0644`");
}

#[test]
fn tags_are_checked_after_they_resolve() {
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: p, defaultValue: nope}\n  - {valueName: q, defaultValue: 9}\n";
    let t = unit("  execStart: !Sub \"run ${q}\"\n  port: !Value p\n  ratio: !Value q\n")
        .manifest("values.yaml", values);
    t.run(&["validate"])
        .code(3)
        .stderr_has("`spec.port` must be an int (a whole number), not the string `nope`")
        .stderr_has("--> m.yaml:6:9")
        .stderr_has("1 input error");
    let t = unit("  execStart: !Env HOME\n  port: !Value q\n").manifest("values.yaml", values);
    t.run(&["apply", "--no-state"]).code(0);
    let spec: serde_json::Value = serde_json::from_str(&t.read("spec.json")).unwrap();
    assert_eq!(spec["port"], 9);
}

/// A `!Variable` is known only when its manifest runs: checked then, failing that manifest
/// (not the run's input) with the place of the tag.
#[test]
fn a_variable_is_checked_when_the_manifest_runs() {
    let producer = r#"register("Make", "^1");
fn apply(m) { #{ port: m.spec.give } }
"#;
    let docs = |give: &str| {
        format!(
            "kind: Make\nversion: v1\nmetadata: {{name: src}}\nspec: {{give: {give}}}\n---\nkind: Unit\nversion: v1\nmetadata: {{name: web}}\nspec:\n  execStart: x\n  port: !Variable src.port\n"
        )
    };
    let t = Test::new()
        .handler("unit.rhai", UNIT)
        .handler("make.rhai", producer)
        .manifest("m.yaml", &docs("abc"));
    t.run(&["apply", "--no-state"])
        .code(1)
        .stderr_has("manifest `web`: `spec.port` must be an int (a whole number), not the string `abc` (the value of `!Variable src.port`)")
        .stderr_has("m.yaml:11:9");
    assert!(!t.exists("spec.json"), "the handler did not run");
    let t = Test::new()
        .handler("unit.rhai", UNIT)
        .handler("make.rhai", producer)
        .manifest("m.yaml", &docs("81"));
    t.run(&["apply", "--no-state"]).code(0);
    let spec: serde_json::Value = serde_json::from_str(&t.read("spec.json")).unwrap();
    assert_eq!(spec["port"], 81);
}

#[test]
fn a_handler_without_schema_keeps_a_free_form_spec() {
    let h = "register(\"Free\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) { file::write(path::join(m.dir, \"out\"), `${m.spec.anything}`); }\n";
    let t = Test::new().handler("free.rhai", h).manifest(
        "m.yaml",
        "kind: Free\nversion: v1\nmetadata: {name: f}\nspec: {anything: 1, whatever: [x]}\n",
    );
    t.run(&["apply", "--no-state"]).code(0);
    assert_eq!(t.read("out"), "1");
}

#[test]
fn plan_shows_the_defaults_as_part_of_the_spec() {
    let t = unit("  execStart: /bin/web\n  user: {name: www}\n");
    t.run(&["apply"]).code(0);
    // The state records the spec the handler worked with, defaults included.
    let out = t.run(&["state", "show", "web", "-o", "json"]);
    out.code(0);
    assert_eq!(
        out.json()["manifest"]["spec"]["port"],
        8080,
        "{}",
        out.stdout
    );
    // Writing the default out is no change; changing it is one, from the default.
    std::fs::write(
        t.path().join("m.yaml"),
        "kind: Unit\nversion: v1\nmetadata: {name: web}\nspec:\n  execStart: /bin/web\n  user: {name: www}\n  port: 8080\n",
    )
    .unwrap();
    let out = t.run(&["plan"]);
    out.code(0).stdout_has("pending   Unit/web");
    assert!(!out.stdout.contains("spec.port"), "{}", out.stdout);
    std::fs::write(
        t.path().join("m.yaml"),
        "kind: Unit\nversion: v1\nmetadata: {name: web}\nspec:\n  execStart: /bin/web\n  user: {name: www}\n  port: 9090\n",
    )
    .unwrap();
    t.run(&["plan"])
        .code(0)
        .stdout_has("~ spec.port: 8080 -> 9090");
}

#[test]
fn a_bad_schema_declaration_is_an_error_in_the_handler_at_its_place() {
    let bad = r#"register("Bad", "^1");
schema(#{
    a: #{ type: "strng" },
    b: #{ type: "int", "default": 1e300 },
    c: #{ tpye: "int" },
    d: #{ type: "string", enum: ["x", "y"], "default": "z" },
    e: #{ type: "int", fields: #{} },
    f: #{ type: "list", items: #{ type: "int", required: true } },
    g: #{ type: "map", fields: #{ h: #{ type: "bool", "default": "yes" } } },
    i: #{ type: "int", required: true, "default": 1 },
});
fn apply(m) {}
"#;
    let t = Test::new()
        .handler("bad.rhai", bad)
        .manifest("m.yaml", "kind: Bad\nversion: v1\nmetadata: {name: b}\n");
    for args in [&["validate"][..], &["lint", "bad.rhai"][..]] {
        t.run(args)
            .code(3)
            .stderr_has("schema: `a`: unknown type `strng`; did you mean `string`?")
            .stderr_has("--> bad.rhai:3:17")
            .stderr_has(
                "schema: the default of `b` must be an int (a whole number), not the float `1e300`",
            )
            .stderr_has("--> bad.rhai:4:35")
            .stderr_has(
                "schema: unknown key `tpye` in the description of `c`; did you mean `type`?",
            )
            .stderr_has("--> bad.rhai:5:11")
            .stderr_has("schema: the default of `d` is the string `z`, not one of `x`, `y`")
            .stderr_has("schema: `e`: `fields` describes a map's keys, but its type is `int`")
            .stderr_has("schema: `f[]` describes a list's elements: `required` means nothing there")
            .stderr_has("schema: the default of `g.h` must be a bool")
            .stderr_has("--> bad.rhai:9:66")
            .stderr_has("`i` is required and has a default");
    }
}

#[test]
fn a_schema_that_is_not_a_map_or_declared_twice_is_an_error() {
    let t = Test::new()
        .handler(
            "bad.rhai",
            "register(\"Bad\", \"^1\");\nschema([1]);\nschema(#{});\nfn apply(m) {}\n",
        )
        .manifest("m.yaml", "kind: Bad\nversion: v1\nmetadata: {name: b}\n");
    t.run(&["validate"])
        .code(3)
        .stderr_has("`schema` takes a map of field descriptions")
        .stderr_has("--> bad.rhai:2:1")
        .stderr_has("`schema` is declared twice")
        .stderr_has("--> bad.rhai:3:1");
}

/// Attack: a schema nested 10 000 deep, built by a loop (a literal that deep does not
/// parse): a clear error, no stack overflow.
#[test]
fn a_schema_nested_ten_thousand_deep_is_refused_without_overflowing() {
    let deep = r#"register("Deep", "^1");
let s = #{ leaf: #{ type: "int" } };
for i in 0..10000 { s = #{ a: #{ type: "map", fields: take(s) } }; }
schema(s);
fn apply(m) {}
"#;
    let t = Test::new()
        .handler("deep.rhai", deep)
        .manifest("m.yaml", "kind: Deep\nversion: v1\nmetadata: {name: d}\n");
    t.run(&["validate"])
        .no_panic()
        .code(3)
        .stderr_has("nests `fields`/`items` deeper than 32 levels")
        .stderr_has("--> deep.rhai:4:1");
}

/// Attack: a million fields: a clear error, not a check of every manifest against them.
#[test]
fn a_schema_with_a_million_fields_is_refused() {
    let wide = r#"register("Wide", "^1");
let s = #{};
for i in 0..1000000 { s["f" + i] = #{ type: "int" }; }
schema(s);
fn apply(m) {}
"#;
    let t = Test::new()
        .handler("wide.rhai", wide)
        .manifest("m.yaml", "kind: Wide\nversion: v1\nmetadata: {name: w}\n");
    t.run(&["validate"])
        .no_panic()
        .code(3)
        .stderr_has("schema: more than 10000 fields are declared");
}

#[test]
fn a_spec_that_is_not_a_map_is_an_error() {
    Test::new()
        .handler("unit.rhai", UNIT)
        .manifest(
            "m.yaml",
            "kind: Unit\nversion: v1\nmetadata: {name: web}\nspec: [a]\n",
        )
        .run(&["validate"])
        .code(3)
        .stderr_has("manifest `web`: `spec` must be a mapping, not a list")
        .stderr_has("--> m.yaml:4:7");
}

/// Attack (A-F10): field names that `ordo explain KIND.a.b[]` and editors cannot address
/// (empty, `.`, `[]`, control characters, a space at an end) are refused where declared,
/// nested ones too; names YAML must quote (`- dash`, `!Env`, `x: y`) are fine.
#[test]
fn field_names_that_cannot_be_addressed_are_refused_at_their_place() {
    let bad = "register(\"Odd\", \"^1\");\nschema(#{\n    \"a.b\": #{ type: \"string\" },\n    \"c[]\": #{ type: \"int\" },\n    \"\": #{ type: \"int\" },\n    \"nl\\nkey\": #{ type: \"int\" },\n    ok: #{ type: \"map\", fields: #{ \" sp\": #{ type: \"int\" } } },\n});\nfn apply(m) {}\n";
    let t = Test::new().handler("odd.rhai", bad);
    t.run(&["lint", "odd.rhai"])
        .code(3)
        .stderr_has("schema: the field name \"a.b\" holds `.`, `[` or `]`")
        .stderr_has("--> odd.rhai:3:5")
        .stderr_has("schema: the field name \"c[]\" holds `.`, `[` or `]`")
        .stderr_has("--> odd.rhai:4:5")
        .stderr_has("schema: the field name \"\" is empty")
        .stderr_has("--> odd.rhai:5:5")
        .stderr_has("schema: the field name \"nl\\nkey\" holds a control character")
        .stderr_has("--> odd.rhai:6:5")
        .stderr_has("schema: the field name \" sp\" starts or ends with a space")
        .stderr_has("--> odd.rhai:7:36")
        .stderr_has("5 input errors");
    let good = "register(\"Odd\", \"^1\");\nschema(#{ \"- dash\": #{ type: \"int\" }, \"!Env\": #{ type: \"int\" }, \"x: y\": #{ type: \"int\" } });\nfn apply(m) {}\n";
    let t = Test::new().handler("odd.rhai", good);
    t.run(&["lint", "odd.rhai"]).code(0);
    t.run(&["explain", "Odd.- dash"])
        .code(0)
        .stdout_has("FIELD:    spec.- dash");
}

/// New user (NU-F8): a required field written without a value is told to get one, not
/// to be added; a missing one is told to be added. Both name the type in the words
/// `ordo explain` uses.
#[test]
fn an_empty_required_field_is_told_to_get_a_value() {
    unit("  execStart:\n  tags: [a]\n")
        .run(&["validate"])
        .code(3)
        .stderr_has("`spec.execStart` is required (it is empty)")
        .stderr_has("help: give `execStart:` a value (string)");
    let t = Test::new().handler("unit.rhai", UNIT).manifest(
        "m.yaml",
        "kind: Unit\nversion: v1\nmetadata: {name: web}\nspec: {user: {group: g}}\n",
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("help: add `execStart:` (string)")
        .stderr_has("help: add `name:` (string)");
}
