//! The authoring commands (issue 19, DESIGN §11): `ordo schema` (its JSON Schema checked
//! with a JSON Schema library against every example and against broken manifests),
//! `ordo new manifest`, `ordo new handler` and `ordo init`, through the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Test;
use ordo::manifest::{Limits, Node, Value, parse_stream};

/// A document as an editor sees it: data, with a tag's value in place of the tagged node
/// (`!Value port` is the string `port`, `!Sub [t, {..}]` a list).
fn editor_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::json!(f),
        Value::String(s) => s.clone().into(),
        Value::Seq(items) => items.iter().map(editor_json).collect(),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), editor_json(&e.value)))
                .collect(),
        ),
        Value::Tagged(t) => editor_json(&t.node),
    }
}

/// The documents of a YAML file, as an editor sees them.
fn documents(text: &str) -> Vec<serde_json::Value> {
    let parsed = parse_stream(text, &Limits::default());
    assert!(parsed.error.is_none(), "{:?}", parsed.error);
    parsed
        .documents
        .iter()
        .map(|d| editor_json(&d.root))
        .collect()
}

/// The problems `schema` finds in each document of `text` (one string per document that
/// fails, naming its index and the errors).
fn problems(schema: &serde_json::Value, text: &str) -> Vec<String> {
    let validator =
        jsonschema::draft7::new(schema).expect("ordo schema is a valid draft-07 schema");
    documents(text)
        .iter()
        .enumerate()
        .filter_map(|(i, doc)| {
            let errors: Vec<String> = validator
                .iter_errors(doc)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            (!errors.is_empty()).then(|| format!("document {i}: {}", errors.join("; ")))
        })
        .collect()
}

fn schema_of(out: &common::Output) -> serde_json::Value {
    out.code(0);
    serde_json::from_str(&out.stdout).expect("ordo schema prints JSON")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn every_example_manifest_validates_against_ordo_schema() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        // The schema the example's own handlers give (its project file says where).
        let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
            .arg("schema")
            .current_dir(&dir)
            .output()
            .unwrap();
        let out = common::Output::of(out, &dir);
        let schema = schema_of(&out);
        let mut files = Vec::new();
        yaml_files(&dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let found = problems(&schema, &text);
            assert!(found.is_empty(), "{}: {found:#?}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} example files were checked");
}

/// A handler whose schema has every kind of field.
const UNIT: &str = r#"register("Unit", "^1");
permissions(["file:write"]);
schema(#{
    execStart: #{ type: "string", required: true, about: "the command to run" },
    port: #{ type: "int", "default": 8080, about: "where it listens" },
    mode: #{ type: "string", enum: ["simple", "forking"], "default": "simple" },
    user: #{ fields: #{
        name: #{ type: "string", required: true },
        group: #{ type: "string", "default": "root" },
    } },
    tags: #{ type: "list", items: #{ type: "string" } },
    env: #{ type: "map" },
});
fn apply(m) { file::write(path::join(m.dir, "spec.json"), json::to_string(m.spec)); }
"#;

const GOOD: &str = "kind: Unit
version: v1
metadata:
  name: web
  labels: {tier: web}
  dependencies: {apply: [other]}
  timeout: 5m
spec:
  execStart: /bin/web
  port: !Value port
  user: {name: web}
  tags: [a, !Sub \"${x}\"]
---
kind: Unit
version: v1
metadata: {name: other}
spec: {execStart: !Sub [\"run ${a}\", {a: b}], mode: forking}
";

#[test]
fn a_broken_manifest_fails_ordo_schema_and_a_good_one_passes() {
    let t = Test::new().handler("unit.rhai", UNIT);
    let schema = schema_of(&t.run(&["schema"]));
    assert_eq!(problems(&schema, GOOD), Vec::<String>::new());
    let broken = [
        ("a misspelt spec field", "spec: {execStrat: /bin/web}"),
        ("a missing required field", "spec: {port: 80}"),
        (
            "a value not in the enum",
            "spec: {execStart: x, mode: simpel}",
        ),
        ("a wrong type", "spec: {execStart: x, port: true}"),
        ("a wrong type in a list", "spec: {execStart: x, tags: [1]}"),
        (
            "an unknown nested field",
            "spec: {execStart: x, user: {name: a, grup: b}}",
        ),
        (
            "a missing nested field",
            "spec: {execStart: x, user: {group: b}}",
        ),
    ];
    for (what, spec) in broken {
        let text = format!("kind: Unit\nversion: v1\nmetadata: {{name: web}}\n{spec}\n");
        assert!(
            !problems(&schema, &text).is_empty(),
            "{what} passed: {text}"
        );
    }
    let top = [
        (
            "an unknown top-level key",
            "kind: Unit\nversion: v1\nmetadata: {name: a}\nspek: {}\n",
        ),
        ("no version", "kind: Unit\nmetadata: {name: a}\n"),
        (
            "version and apiVersion",
            "kind: Unit\nversion: v1\napiVersion: v1\nmetadata: {name: a}\n",
        ),
        (
            "no metadata.name",
            "kind: Unit\nversion: v1\nmetadata: {labels: {}}\n",
        ),
        (
            "a bad name",
            "kind: Unit\nversion: v1\nmetadata: {name: a b}\n",
        ),
        (
            "a misspelt metadata key",
            "kind: Unit\nversion: v1\nmetadata: {name: a, dependences: {apply: [b]}}\n",
        ),
        (
            "a label that is a number",
            "kind: Unit\nversion: v1\nmetadata: {name: a, labels: {v: 1.1}}\n",
        ),
        (
            "a bad rollback",
            "kind: Unit\nversion: v1\nmetadata: {name: a, rollback: sometimes}\n",
        ),
        (
            "a bad dependencies key",
            "kind: Unit\nversion: v1\nmetadata: {name: a, dependencies: {aply: [b]}}\n",
        ),
    ];
    for (what, text) in top {
        assert!(!problems(&schema, text).is_empty(), "{what} passed: {text}");
    }
    // ordo agrees: the broken spec is an input error there too.
    let t = t.manifest(
        "m.yaml",
        "kind: Unit\nversion: v1\nmetadata: {name: web}\nspec: {execStrat: /bin/web}\n",
    );
    t.run(&["validate"]).code(3);
}

#[test]
fn the_schema_tells_the_versions_of_a_kind_apart_when_two_handlers_serve_it() {
    let t = Test::new()
        .handler(
            "one.rhai",
            "register(\"Thing\", \"^1\");\nschema(#{ a: #{ type: \"string\", required: true } });\nfn apply(m) {}\n",
        )
        .handler(
            "two.rhai",
            "register(\"Thing\", \"^2\");\nschema(#{ b: #{ type: \"int\", required: true } });\nfn apply(m) {}\n",
        );
    let schema = schema_of(&t.run(&["schema"]));
    let doc = |version: &str, spec: &str| {
        format!("kind: Thing\nversion: {version}\nmetadata: {{name: x}}\nspec: {spec}\n")
    };
    assert!(problems(&schema, &doc("v1", "{a: text}")).is_empty());
    assert!(problems(&schema, &doc("v2", "{b: 2}")).is_empty());
    assert!(!problems(&schema, &doc("v1", "{b: 2}")).is_empty());
    assert!(!problems(&schema, &doc("v2beta1", "{a: text}")).is_empty());
}

#[test]
fn a_broken_handler_makes_ordo_schema_an_input_error() {
    Test::new()
        .handler(
            "bad.rhai",
            "register(\"Bad\", \"^1\");\nschema(#{ a: #{ type: \"strng\" } });\n",
        )
        .run(&["schema"])
        .code(3)
        .stderr_has("bad.rhai:2")
        .stderr_has("did you mean `string`?");
}

#[test]
fn new_manifest_prints_a_skeleton_that_validates() {
    let t = Test::new().handler("unit.rhai", UNIT);
    let out = t.run(&["new", "manifest", "Unit", "web"]);
    out.code(0)
        .stdout_has("kind: Unit\nversion: v1\nmetadata:\n  name: web\nspec:\n")
        .stdout_has("  # the command to run (required; string)\n")
        .stdout_has("  execStart: \"\"  # TODO: fill in\n")
        .stdout_has("  port: 8080\n")
        .stdout_has("one of: simple, forking")
        .stdout_has("  mode: simple\n")
        .stdout_has("  # list of string\n  # tags: []\n");
    let t = t.manifest("m.yaml", &out.stdout);
    t.run(&["validate"]).code(0);
}

#[test]
fn new_manifest_of_every_known_kind_validates() {
    let t = Test::new().handler("unit.rhai", UNIT);
    // The kinds the schema offers an editor: every handler's, then ordo's own data kinds.
    let schema = schema_of(&t.run(&["schema"]));
    let kinds: Vec<String> = schema["properties"]["kind"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .filter(|k| !["Values", "Inventory", "Project", "HandlerTest"].contains(&k.as_str()))
        .collect();
    assert!(kinds.contains(&"Unit".to_string()), "{kinds:?}");
    assert!(kinds.len() > 3, "{kinds:?}");
    for (i, kind) in kinds.iter().enumerate() {
        let out = t.run(&["new", "manifest", kind, &format!("m{i}")]);
        out.code(0);
        let t2 = Test::new()
            .handler("h/unit.rhai", UNIT)
            .manifest("m/m.yaml", &out.stdout);
        t2.run(&["validate", "-m", "m", "-s", "h"]).code(0);
    }
}

#[test]
fn new_manifest_of_an_unknown_kind_suggests_the_near_one() {
    Test::new()
        .handler("unit.rhai", UNIT)
        .run(&["new", "manifest", "Unti", "web"])
        .code(2)
        .stderr_has("did you mean `Unit`?");
    Test::new()
        .handler("unit.rhai", UNIT)
        .run(&["new", "manifest", "Unit", "a b"])
        .code(2)
        .stderr_has("not a manifest name");
}

#[test]
fn new_handler_writes_a_working_handler_and_refuses_to_overwrite() {
    let t = Test::new().file("handlers/.keep", "").file("ordo.yaml", "kind: Project\nversion: v1\nmetadata: {name: p}\nspec: {manifests: [manifests/], handlers: [handlers/]}\n")
        .manifest("manifests/keep.yaml", "kind: WriteFile\nversion: v1\nmetadata: {name: keep}\nspec: {targetFile: out/keep.txt, data: x}\n");
    t.run(&["new", "handler", "SystemdUnit"])
        .code(0)
        .stdout_has("handlers/systemd_unit.rhai")
        .stdout_has("handlers/systemd_unit.test.yaml");
    let handler = t.read("handlers/systemd_unit.rhai");
    for part in [
        "register(\"SystemdUnit\", \"^1\")",
        "permissions(",
        "schema(#{",
        "fn check(m)",
        "fn apply(m)",
        "fn delete(m)",
    ] {
        assert!(handler.contains(part), "{part} missing:\n{handler}");
    }
    let test = t.read("handlers/systemd_unit.test.yaml");
    assert!(test.contains("kind: HandlerTest"), "{test}");
    assert!(test.contains("kind: SystemdUnit"), "{test}");
    t.run(&["lint"]).code(0);
    // A manifest from `new manifest`, filled in, applies, plans nothing, and deletes.
    let skeleton = t.run(&["new", "manifest", "SystemdUnit", "web"]);
    skeleton.code(0).stdout_has("path: \"\"");
    let manifest = skeleton
        .stdout
        .replace("path: \"\"", "path: out/web.service")
        .replace("content: \"\"", "content: \"[Unit]\\n\"");
    let t = t.manifest("manifests/web.yaml", &manifest);
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("manifests/out/web.service"), "[Unit]\n");
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    t.run(&["delete", "--yes"]).code(0);
    assert!(!t.exists("manifests/out/web.service"));
    // A second time: refused, naming both files, nothing changed.
    std::fs::write(t.path().join("handlers/systemd_unit.rhai"), "// mine\n").unwrap();
    t.run(&["new", "handler", "SystemdUnit"])
        .code(2)
        .stderr_has("handlers/systemd_unit.rhai, handlers/systemd_unit.test.yaml")
        .stderr_has("--force");
    assert_eq!(t.read("handlers/systemd_unit.rhai"), "// mine\n");
    t.run(&["new", "handler", "SystemdUnit", "--force"]).code(0);
    assert!(t.read("handlers/systemd_unit.rhai").contains("schema(#{"));
}

#[test]
fn new_handler_refuses_a_kind_that_cannot_be_a_file_name() {
    Test::new()
        .run(&["new", "handler", "../Evil"])
        .code(2)
        .stderr_has("not a kind");
}

#[test]
fn a_fresh_init_project_applies_at_once() {
    let t = Test::new();
    let out = t.run(&["init", "shop"]);
    out.code(0);
    for file in [
        "ordo.yaml",
        "manifests/hello.yaml",
        "handlers/note.rhai",
        "handlers/note.test.yaml",
        ".gitignore",
        ".vscode/settings.json",
        "ordo.schema.json",
        "README.md",
    ] {
        assert!(
            t.exists(&format!("shop/{file}")),
            "{file} missing: {}",
            out.stdout
        );
    }
    assert!(t.read("shop/.gitignore").contains(".ordo/"));
    assert!(t.read("shop/handlers/note.rhai").contains("schema(#{"));
    let settings: serde_json::Value =
        serde_json::from_str(&t.read("shop/.vscode/settings.json")).unwrap();
    let tags: Vec<&str> = settings["yaml.customTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tag in ["!Value", "!Sub", "!Variable", "!Env", "!HostVar"] {
        assert!(
            tags.iter().any(|t| t.starts_with(&format!("{tag} "))),
            "{tag}: {tags:?}"
        );
    }
    assert!(settings["yaml.schemas"]["./ordo.schema.json"].is_array());
    // The schema file is what `ordo schema` prints there, and the manifest passes it.
    let printed = t.run_in("shop", &["schema"]);
    printed.code(0);
    assert_eq!(t.read("shop/ordo.schema.json"), printed.stdout);
    let schema = schema_of(&printed);
    assert!(problems(&schema, &t.read("shop/manifests/hello.yaml")).is_empty());
    // It works at once, and then there is nothing to do.
    t.run_in("shop", &["apply"]).code(0).stdout_has("hello");
    assert_eq!(t.read("shop/manifests/out/hello.txt"), "Hello from ordo!\n");
    t.run_in("shop", &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("plan: 0 pending, 1 unchanged");
    // From a subdirectory too (the project file is found walking up).
    t.run_in("shop/manifests", &["plan", "--detailed-exitcode"])
        .code(0);
}

#[test]
fn init_refuses_to_overwrite_and_writes_nothing() {
    let t = Test::new()
        .file("p/README.md", "mine\n")
        .file("p/.gitignore", "target/\n");
    t.run(&["init", "p"])
        .code(2)
        .stderr_has("p/.gitignore, p/README.md")
        .stderr_has("nothing was written")
        .stderr_has("--force");
    assert!(!t.exists("p/ordo.yaml"));
    assert_eq!(t.read("p/README.md"), "mine\n");
    t.run(&["init", "p", "--force"]).code(0);
    assert!(t.read("p/README.md").contains("ordo apply"));
    t.run_in("p", &["apply"]).code(0);
}

#[test]
fn init_force_replaces_a_symlink_and_never_writes_through_it() {
    let t = Test::new()
        .file("outside.txt", "precious\n")
        .file("p/.keep", "");
    std::os::unix::fs::symlink(t.path().join("outside.txt"), t.path().join("p/README.md")).unwrap();
    // Without --force a dangling or live link counts as an existing file.
    t.run(&["init", "p"]).code(2).stderr_has("p/README.md");
    t.run(&["init", "p", "--force"]).code(0);
    assert_eq!(
        t.read("outside.txt"),
        "precious\n",
        "written through the link"
    );
    let meta = std::fs::symlink_metadata(t.path().join("p/README.md")).unwrap();
    assert!(meta.file_type().is_file(), "the link is replaced by a file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    // No temporary file is left beside what was written.
    let left: Vec<_> = std::fs::read_dir(t.path().join("p"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ordo-new-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn init_in_the_current_directory() {
    let t = Test::new();
    t.run_in("here", &["init"])
        .code(0)
        .stdout_has("wrote ordo.yaml");
    t.run_in("here", &["validate"]).code(0);
}

#[test]
fn ordo_test_passes_in_a_fresh_init_project() {
    let t = Test::new();
    t.run(&["init", "p"]).code(0);
    t.run_in("p", &["test"])
        .code(0)
        .stdout_has("test result: 3 passed, 0 failed");
}

#[test]
fn ordo_test_passes_on_new_handler_output_and_its_tests_can_fail() {
    let t = Test::new().manifest(
        "keep.yaml",
        "kind: WriteFile\nversion: v1\nmetadata: {name: keep}\nspec: {targetFile: out/keep.txt, data: x}\n",
    );
    t.run(&["new", "handler", "SystemdUnit"]).code(0);
    t.run(&["test"])
        .code(0)
        .stdout_has("test result: 3 passed, 0 failed");
    // The test file beside the manifests is never loaded as a manifest.
    t.run(&["validate"]).code(0);
    // The tests check the handler: one that writes something else fails them.
    let broken = t.read("systemd_unit.rhai").replace(
        "file::write(target(m), m.spec.content);",
        "file::write(target(m), \"other\");",
    );
    assert!(broken.contains("\"other\""), "{broken}");
    std::fs::write(t.path().join("systemd_unit.rhai"), broken).unwrap();
    t.run(&["test"]).code(1).stdout_has("2 failed");
}

/// The worked example of README.md ("A manifest and its handler": the handler, then "Test
/// it."): its test file passes `ordo test` against its handler, as written there.
#[test]
fn the_readme_handler_test_example_passes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = |opening: &str| -> String {
        let start = readme
            .find(opening)
            .unwrap_or_else(|| panic!("{opening} missing"));
        let body = &readme[start + opening.len()..];
        body[..body.find("```").unwrap()].to_string()
    };
    let handler = block("```rhai\n");
    let tests = block("```yaml\n# greeting.test.yaml\n");
    let t = Test::new()
        .handler("greeting.rhai", &handler)
        .file("greeting.test.yaml", &tests);
    t.run(&["test"])
        .code(0)
        .stdout_has("test result: 2 passed, 0 failed");
}

/// Attack (A-F9): text from a handler's schema (an `about` with line breaks, control
/// characters and `#`, names YAML must quote, enum values and defaults with line breaks,
/// quotes and flow indicators) never makes `ordo new manifest` print YAML that does not
/// load, and every value reads back as the handler wrote it.
#[test]
fn new_manifest_round_trips_hostile_schema_text() {
    let odd = r##"register("Odd", "^1");
permissions(["file:write"]);
schema(#{
    "x: y": #{ type: "string", required: true, about: "colon\nnewline # hash\r\ncr \u0001 nel\u0085 ls\u2028 end" },
    "- dash": #{ type: "string", enum: ["multi\nline # not a comment", "b"], required: true },
    "!Env": #{ type: "string", "default": "it's \"quoted\", [flow] {x: y} # no comment\ttab\u0001" },
    "#hash": #{ type: "list", items: #{ type: "string" }, "default": ["a\nb", "'q'"], about: "\u2029\u00a0\ufeff" },
    "'q'": #{ type: "map", required: true, fields: #{ "k: v": #{ type: "string", required: true, about: "x\ny" } } },
});
fn apply(m) { file::write(path::join(m.dir, "spec.json"), json::to_string(m.spec)); }
"##;
    let t = Test::new().handler("h/odd.rhai", odd);
    let out = t.run(&["new", "manifest", "Odd", "x", "-s", "h"]);
    out.code(0)
        .stdout_has("  # colon newline # hash cr ␁ nel ls end (required; string)\n");
    let t = t.manifest("m/m.yaml", &out.stdout);
    t.run(&["validate", "-s", "h", "-m", "m"]).code(0);
    t.run(&["apply", "-s", "h", "-m", "m"]).code(0);
    let spec: serde_json::Value = serde_json::from_str(&t.read("m/spec.json")).unwrap();
    assert_eq!(spec["x: y"], "");
    assert_eq!(spec["- dash"], "multi\nline # not a comment");
    assert_eq!(
        spec["!Env"],
        "it's \"quoted\", [flow] {x: y} # no comment\ttab\u{1}"
    );
    assert_eq!(spec["#hash"], serde_json::json!(["a\nb", "'q'"]));
    assert_eq!(spec["'q'"], serde_json::json!({"k: v": ""}));
}

/// New user (NU-F1, NU-F9): the placeholders `new manifest` writes for required fields
/// are valid but marked as to be filled in; fields' types read as `ordo explain` shows
/// them (`list of string`, not `list`).
#[test]
fn new_manifest_marks_its_placeholders_and_names_types_as_explain_does() {
    let t = Test::new().handler("unit.rhai", UNIT);
    let out = t.run(&["new", "manifest", "Unit", "web"]);
    out.code(0)
        .stdout_has("  execStart: \"\"  # TODO: fill in\n")
        .stdout_has("  # port: 8080\n".replace("# ", "").as_str())
        .stdout_has("  # list of string\n");
    assert_eq!(
        out.stdout.matches("# TODO: fill in").count(),
        1,
        "{}",
        out.stdout
    );
    t.run(&["explain", "Unit"])
        .code(0)
        .stdout_has("tags       list of string");
}

/// Attack (A-F8): `ordo new handler` refuses the kinds ordo reads itself.
#[test]
fn new_handler_refuses_the_kinds_ordo_reads_itself() {
    let t = Test::new();
    for kind in ["HandlerTest", "Values", "Project", "Inventory"] {
        t.run(&["new", "handler", kind, "-s", "h"])
            .code(2)
            .stderr_has(&format!("`{kind}` is a kind ordo reads itself"));
    }
    assert!(!t.exists("h"), "something was written");
}

/// Attack (A-F7): the directory in the suggested `cd DIR && ordo apply` is one shell word
/// on one line, whatever its name holds.
#[test]
fn init_quotes_the_directory_in_the_command_it_suggests() {
    let t = Test::new();
    t.run(&["init", "x y;touch PWN"])
        .code(0)
        .stdout_has("next: `cd 'x y;touch PWN' && ordo apply`");
    let out = t.run(&["init", "nl\nrm -rf ~"]);
    out.code(0)
        .stdout_has("next: `cd $'nl\\nrm -rf ~' && ordo apply`");
    out.stdout_has("wrote $'nl\\nrm -rf ~/ordo.yaml'\n");
    assert!(!out.stdout.contains("\nrm -rf"), "{}", out.stdout);
    t.run(&["new", "handler", "Probe", "-s", "a b"])
        .code(0)
        .stdout_has("next: `ordo test 'a b'` runs its tests");
}

/// Attack (A-F6): `ordo init` writes all its files or none: a file where a directory must
/// go fails the run, nothing of it is left, and the retry (once fixed) needs no --force.
#[test]
fn init_is_all_or_nothing() {
    let t = Test::new().file("proj/handlers", "in the way\n");
    t.run(&["init", "proj"])
        .code(1)
        .stderr_has("cannot create proj/handlers")
        .stderr_has("nothing was written");
    let mut left: Vec<String> = std::fs::read_dir(t.path().join("proj"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["handlers"], "files left behind");
    // A directory ordo created for the run is removed too.
    let t2 = Test::new().file("new/deeper/handlers", "x");
    t2.run(&["init", "new/deeper"]).code(1);
    assert!(!t2.exists("new/deeper/manifests"));
    std::fs::remove_file(t.path().join("proj/handlers")).unwrap();
    t.run(&["init", "proj"]).code(0);
    t.run_in("proj", &["validate"]).code(0);
}

/// Attack (A-F5, second half): a directory inside the project that is a symlink (to
/// somewhere outside) is refused, and nothing is written through it.
#[test]
fn init_refuses_a_symlinked_directory_inside_the_project() {
    let t = Test::new()
        .file("elsewhere/.keep", "")
        .file("proj/.keep", "");
    std::os::unix::fs::symlink("../elsewhere", t.path().join("proj/.vscode")).unwrap();
    for force in [false, true] {
        let mut args = vec!["init", "proj"];
        if force {
            args.push("--force");
        }
        t.run(&args)
            .code(2)
            .stderr_has("proj/.vscode is a symlink")
            .stderr_has("nothing was written");
        assert!(!t.exists("elsewhere/settings.json"));
        assert!(!t.exists("proj/ordo.yaml"));
    }
}
