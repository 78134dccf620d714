//! Version resolution (DESIGN.md §4): ranges, pre-releases, groups, overrides, and results
//! that never depend on file order.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// A handler registering `kind` for `range`, recording which handler ran in `who.txt`.
fn handler(tag: &str, registrations: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (kind, range) in registrations {
        s.push_str(&format!("register(\"{kind}\", \"{range}\");\n"));
    }
    s.push_str("permissions([\"file:write\"]);\n");
    s.push_str(&format!(
        "fn apply(m) {{ file::append(path::join(m.dir, \"who.txt\"), m.name + \"={tag}\\n\"); }}\n"
    ));
    s
}

fn manifest(name: &str, kind: &str, version: &str) -> String {
    format!("---\nkind: {kind}\nversion: {version}\nmetadata: {{name: {name}}}\n")
}

#[test]
fn versions_map_to_the_handler_whose_range_holds_them() {
    let yaml = [
        manifest("a", "Thing", "v1"),
        manifest("b", "Thing", "v1.4"),
        manifest("c", "Thing", "1.9.3"),
        manifest("d", "Thing", "v1beta1"),
        manifest("e", "Thing", "v2alpha1"),
        manifest("f", "Thing", "v2"),
        manifest("g", "Thing", "example.com/v1"),
    ]
    .concat();
    let t = Test::new()
        .handler("one.rhai", &handler("one", &[("Thing", "^1")]))
        .handler("two.rhai", &handler("two", &[("Thing", ">=2.0.0-0, <3")]))
        .handler(
            "group.rhai",
            &handler("group", &[("example.com/Thing", "*")]),
        )
        .manifest("m.yaml", &yaml);
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(
        t.read("who.txt"),
        "a=one\nb=one\nc=one\nd=one\ne=two\nf=two\ng=group\n"
    );
}

#[test]
fn a_group_may_be_written_on_the_kind_or_the_version() {
    let yaml =
        manifest("a", "example.com/Bucket", "v2") + &manifest("b", "Bucket", "example.com/v2");
    let t = Test::new()
        .handler(
            "b.rhai",
            &handler("grouped", &[("example.com/Bucket", "^2")]),
        )
        .manifest("m.yaml", &yaml);
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(t.read("who.txt"), "a=grouped\nb=grouped\n");
    let t = Test::new()
        .handler("b.rhai", &handler("plain", &[("Bucket", "^2")]))
        .manifest("m.yaml", &manifest("a", "Bucket", "example.com/v2"));
    t.run(&["apply"])
        .code(3)
        .stderr_has("no handler serves kind `example.com/Bucket`");
}

#[test]
fn a_user_handler_overrides_a_bundled_one() {
    let t = Test::new()
        .handler("mine.rhai", &handler("mine", &[("WriteFile", "^1")]))
        .manifest("m.yaml", &manifest("w", "WriteFile", "v1"));
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   WriteFile/w");
    assert_eq!(t.read("who.txt"), "w=mine\n");
    let json = t.run(&["apply", "-o", "json"]).json();
    assert_eq!(json["manifests"][0]["handler"], "mine.rhai");
}

#[test]
fn resolution_does_not_depend_on_file_order() {
    // Two handlers whose names sort differently in each project; the one whose range
    // matches must win both times, and overlapping ones must be ambiguous both times.
    for (first, second) in [("a.rhai", "z.rhai"), ("z.rhai", "a.rhai")] {
        let t = Test::new()
            .handler(first, &handler("old", &[("Thing", "^1")]))
            .handler(second, &handler("new", &[("Thing", "^2")]))
            .manifest(
                "m.yaml",
                &(manifest("x", "Thing", "v2") + &manifest("y", "Thing", "v1")),
            );
        t.run(&["apply", "-j", "1"]).code(0);
        assert_eq!(t.read("who.txt"), "x=new\ny=old\n");

        let t = Test::new()
            .handler(first, &handler("p", &[("Thing", "^1")]))
            .handler(second, &handler("q", &[("Thing", ">=1.2")]))
            .manifest("m.yaml", &manifest("x", "Thing", "v1.5"));
        let out = t.run(&["apply"]);
        out.code(3)
            .stderr_has("several handlers serve `Thing` version `v1.5`");
        assert!(
            out.stderr.find("candidate: a.rhai").unwrap()
                < out.stderr.find("candidate: z.rhai").unwrap()
        );
    }
}

#[test]
fn the_handlers_command_lists_kinds_ranges_files_and_permissions() {
    let t = Test::new()
        .handler(
            "one.rhai",
            &handler("one", &[("Thing", "^1"), ("Other", "=2.1.0")]),
        )
        .manifest("m.yaml", &manifest("a", "Thing", "v1"));
    let out = t.run(&["handlers"]);
    out.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("KIND") && lines[0].contains("PERMISSIONS"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["Thing", "^1", "one.rhai", "file:write"])
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["Other", "=2.1.0", "one.rhai", "file:write"])
    );
    assert!(out.stdout.contains("bundled:handlers/write_file.rhai"));
    let json = t.run(&["handlers", "-o", "json"]).json();
    let thing = json["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "Thing")
        .unwrap();
    assert_eq!(thing["permissions"], serde_json::json!(["file:write"]));
}
