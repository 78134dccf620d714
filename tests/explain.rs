//! `ordo explain KIND[.FIELD]` (issue 19 part 2, DESIGN §11): a kind's spec fields from its
//! handler's schema, nested; unknown kinds and fields are input errors with "did you mean".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

const UNIT: &str = r#"register("Unit", "^1");
schema(#{
    execStart: #{ type: "string", required: true, about: "the command to run" },
    port: #{ type: "int", "default": 8080, about: "where it listens" },
    mode: #{ type: "string", enum: ["simple", "forking"], "default": "simple" },
    user: #{ about: "who runs it", fields: #{
        name: #{ type: "string", required: true, about: "the user's name" },
        group: #{ type: "string", "default": "root" },
    } },
    ports: #{ type: "list", items: #{ fields: #{ port: #{ type: "int", required: true } } } },
});
fn apply(m) {}
"#;

fn project() -> Test {
    Test::new().handler("unit.rhai", UNIT)
}

#[test]
fn a_kind_lists_its_fields_nested_with_type_required_default_enum_and_about() {
    let out = project().run(&["explain", "Unit"]);
    out.code(0)
        .stdout_has("KIND:     Unit")
        .stdout_has("HANDLER:  unit.rhai")
        .stdout_has("execStart  string, required")
        .stdout_has("the command to run")
        .stdout_has("port       int, default 8080")
        .stdout_has("mode       string, one of: simple | forking, default simple")
        .stdout_has("    name   string, required")
        .stdout_has("    group  string, default root")
        .stdout_has("(each element:)")
        .stdout_has("port  int, required");
    // Declaration order, not sorted.
    let exec = out.stdout.find("execStart").unwrap();
    let port = out.stdout.find("port ").unwrap();
    let mode = out.stdout.find("mode ").unwrap();
    assert!(exec < port && port < mode, "{}", out.stdout);
}

#[test]
fn a_field_is_explained_with_its_nested_fields() {
    project()
        .run(&["explain", "Unit.user"])
        .code(0)
        .stdout_has("FIELD:    spec.user")
        .stdout_has("TYPE:     map")
        .stdout_has("who runs it")
        .stdout_has("name   string, required");
    project()
        .run(&["explain", "Unit.user.name"])
        .code(0)
        .stdout_has("FIELD:    spec.user.name")
        .stdout_has("REQUIRED: yes")
        .stdout_has("the user's name");
    project()
        .run(&["explain", "Unit.ports[].port"])
        .code(0)
        .stdout_has("TYPE:     int");
    project()
        .run(&["explain", "Unit.mode"])
        .code(0)
        .stdout_has("ONE OF:   simple, forking")
        .stdout_has("DEFAULT:  simple");
}

#[test]
fn unknown_kinds_and_fields_are_input_errors_with_did_you_mean() {
    project()
        .run(&["explain", "Unti"])
        .code(3)
        .stderr_has("no handler serves kind `Unti`; did you mean `Unit`?");
    project()
        .run(&["explain", "Unit.execStrat"])
        .code(3)
        .stderr_has("`Unit` has no field `execStrat`; did you mean `Unit.execStart`?")
        .stderr_has("the fields of `spec`: execStart, port, mode, user, ports");
    project()
        .run(&["explain", "Unit.user.nmae"])
        .code(3)
        .stderr_has("did you mean `Unit.user.name`?")
        .stderr_has("the fields of `spec.user`: name, group");
}

#[test]
fn bundled_kinds_are_explained_from_their_schemas() {
    Test::new()
        .run(&["explain", "WriteFile"])
        .code(0)
        .stdout_has("HANDLER:  bundled:handlers/write_file.rhai")
        .stdout_has("targetFile                 string, required");
    Test::new()
        .run(&["explain", "ShellScript.source.type"])
        .code(0)
        .stdout_has("ONE OF:   inline, inLine, filePath");
}

#[test]
fn explain_works_while_the_manifests_are_wrong() {
    project()
        .manifest(
            "m.yaml",
            "kind: Unit\nversion: v1\nmetadata: {name: web}\nspec: {execStrat: x}\n",
        )
        .run(&["explain", "Unit"])
        .code(0)
        .stdout_has("execStart");
}

#[test]
fn a_kind_without_schema_says_its_spec_is_free_form() {
    Test::new()
        .handler("free.rhai", "register(\"Free\", \"^1\");\nfn apply(m) {}\n")
        .run(&["explain", "Free"])
        .code(0)
        .stdout_has("declares no schema: its spec is free-form");
}

#[test]
fn json_output_has_the_schema() {
    let out = project().run(&["explain", "Unit", "-o", "json"]);
    out.code(0);
    let j = out.json();
    assert_eq!(j["command"], "explain");
    assert_eq!(j["kind"], "Unit");
    let schema = &j["handlers"][0]["schema"];
    assert_eq!(schema["execStart"]["type"], "string");
    assert_eq!(schema["execStart"]["required"], true);
    assert_eq!(schema["port"]["default"], 8080);
    assert_eq!(
        schema["mode"]["enum"],
        serde_json::json!(["simple", "forking"])
    );
    assert_eq!(schema["user"]["fields"]["group"]["default"], "root");
    let keys: Vec<&String> = schema.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["execStart", "port", "mode", "user", "ports"]);
    let field = project().run(&["explain", "Unit.user.name", "-o", "json"]);
    field.code(0);
    assert_eq!(field.json()["handlers"][0]["field"], "user.name");
    assert_eq!(field.json()["handlers"][0]["schema"]["required"], true);
}

#[test]
fn handlers_json_shows_each_kinds_schema() {
    let out = project()
        .manifest(
            "m.yaml",
            "kind: Unit\nversion: v1\nmetadata: {name: web}\nspec: {execStart: x}\n",
        )
        .run(&["handlers", "-o", "json"]);
    out.code(0);
    let list = out.json()["handlers"].as_array().unwrap().clone();
    let unit = list.iter().find(|h| h["kind"] == "Unit").unwrap();
    assert_eq!(unit["schema"]["port"]["default"], 8080);
    let write = list.iter().find(|h| h["kind"] == "WriteFile").unwrap();
    assert_eq!(write["schema"]["targetFile"]["required"], true);
}

#[test]
fn every_version_range_of_a_kind_is_explained() {
    let v2 = "register(\"Unit\", \"^2\");\nschema(#{ command: #{ type: \"list\", items: #{ type: \"string\" }, required: true } });\nfn apply(m) {}\n";
    let out = project()
        .handler("unit2.rhai", v2)
        .run(&["explain", "Unit"]);
    out.code(0)
        .stdout_has("VERSIONS: ^1")
        .stdout_has("execStart  string, required")
        .stdout_has("VERSIONS: ^2")
        .stdout_has("HANDLER:  unit2.rhai")
        .stdout_has("command  list of string, required");
    // A field that only one range has is explained for that range alone.
    let out = project()
        .handler("unit2.rhai", v2)
        .run(&["explain", "Unit.command"]);
    out.code(0)
        .stdout_has("VERSIONS: ^2")
        .stdout_has("TYPE:     list of string");
    assert!(!out.stdout.contains("VERSIONS: ^1"), "{}", out.stdout);
    project()
        .handler("unit2.rhai", v2)
        .run(&["explain", "Unit.commnd"])
        .code(3)
        .stderr_has("`Unit` has no field `commnd`; did you mean `Unit.command`?");
}

#[test]
fn explain_sees_the_handlers_of_src_and_of_the_project_file() {
    let t = Test::new()
        .file("lib/unit.rhai", UNIT)
        .file("shop/h/unit.rhai", UNIT)
        .file(
            "shop/ordo.yaml",
            "kind: Project\nversion: v1\nmetadata: {name: shop}\nspec:\n  manifests: [m/]\n  handlers: [h/]\n",
        )
        .file("shop/m/.keep", "");
    t.run(&["explain", "Unit", "-s", "lib"])
        .code(0)
        .stdout_has("HANDLER:  lib/unit.rhai");
    t.run_in("shop", &["explain", "Unit.port"])
        .code(0)
        .stdout_has("HANDLER:  h/unit.rhai")
        .stdout_has("DEFAULT:  8080");
    // Without either, the kind is unknown: exit 3, and the kinds there are.
    t.run(&["explain", "Unit"])
        .code(3)
        .stderr_has("no handler serves kind `Unit`")
        .stderr_has("kinds served: CliInputPrompt, GitRepo");
}

/// Attack (A-F9, A-F10): an `about`, an `enum` value or a default holding line breaks or
/// control characters never breaks the layout or reaches the terminal raw; an empty part
/// of a field path is an input error, not the whole kind.
#[test]
fn hostile_text_in_a_schema_keeps_the_layout_and_empty_path_parts_are_refused() {
    let odd = r#"register("Odd", "^1");
schema(#{
    a: #{ type: "string", required: true, about: "first line\nsecond line\u0007 # hash" },
    e: #{ type: "string", enum: ["x", "multi\nline"], "default": "x" },
    d: #{ type: "string", "default": "bell\u0007" },
});
fn apply(m) {}
"#;
    let t = Test::new().handler("odd.rhai", odd);
    let out = t.run(&["explain", "Odd"]);
    out.code(0)
        .stdout_has("  a  string, required\n       first line\n       second line␇ # hash\n")
        .stdout_has("  e  string, one of: x | \"multi\\nline\", default x\n")
        .stdout_has("  d  string, default \"bell\\u0007\"\n");
    assert!(!out.stdout.contains('\u{7}'), "{}", out.stdout);
    t.run(&["explain", "Odd.a"])
        .code(0)
        .stdout_has("\nfirst line\nsecond line␇ # hash\n");
    for path in ["Odd.", "Odd..a", "Odd.a."] {
        t.run(&["explain", path])
            .code(3)
            .stderr_has("has an empty field name in its path");
    }
}
