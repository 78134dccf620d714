//! Sources in everything that loads input (issue 21): `spec.sources` of the project file,
//! addresses given to `-m`/`-s`/`-f`, handler provenance, `maxPermissions`, and what the
//! state records about where a handler came from.

mod common;

use common::Test;

fn project(sources: &str) -> Test {
    Test::new()
        .file(
            "p/ordo.yaml",
            &format!(
                "kind: Project\nversion: v1\nmetadata: {{name: p}}\nspec:\n  sources:\n{sources}"
            ),
        )
        .file("p/manifests/.keep", "")
}

#[test]
fn bad_spec_sources_entries_are_input_errors_at_their_line() {
    let t = project(
        "  - name: platform\n    url: git+https://example.com/p.git?ref=v1\n    maxPermission: [file:read]\n\
         \x20 - name: platform\n    url: git+https://example.com/q.git?ref=v1\n\
         \x20 - name: nourl\n\
         \x20 - name: abs\n    url: git+https://example.com/a.git?ref=v1\n    handlers: /etc\n\
         \x20 - name: up\n    url: git+https://example.com/u.git?ref=v1\n    manifests: sub/../../x\n\
         \x20 - name: bad name\n    url: git+https://example.com/b.git?ref=v1\n\
         \x20 - just-a-string\n",
    );
    let out = t.run_in("p", &["plan"]);
    out.code(3)
        .stderr_has("ordo.yaml:8:5")
        .stderr_has(
            "unknown key `maxPermission` in a `spec.sources` entry; did you mean `maxPermissions`?",
        )
        .stderr_has("ordo.yaml:9:11")
        .stderr_has("source `platform` is listed twice in `spec.sources`")
        .stderr_has("first listed at ordo.yaml:6:11")
        .stderr_has("ordo.yaml:11:5")
        .stderr_has("missing required field `spec.sources[].url`")
        .stderr_has("ordo.yaml:14:15")
        .stderr_has(
            "`spec.sources[].handlers` `/etc` must be relative to the source's tree, not absolute",
        )
        .stderr_has("ordo.yaml:17:16")
        .stderr_has(
            "`spec.sources[].manifests` `sub/../../x` must stay inside the source's tree (no `..`)",
        )
        .stderr_has("ordo.yaml:18:11")
        .stderr_has("source name `bad name` is not a valid name")
        .stderr_has("ordo.yaml:20:5")
        .stderr_has("a `spec.sources` entry")
        .stderr_has("nothing was run");
    // Not a list at all.
    let t = Test::new().file(
        "p/ordo.yaml",
        "kind: Project\nversion: v1\nmetadata: {name: p}\nspec:\n  sources: git+https://example.com/p.git\n",
    );
    t.run_in("p", &["validate"])
        .code(3)
        .stderr_has("ordo.yaml:5:12")
        .stderr_has("`spec.sources`");
}

#[test]
fn an_unknown_permission_in_max_permissions_is_named_with_a_suggestion() {
    let t = project(
        "  - name: platform\n    url: git+https://example.com/p.git?ref=v1\n    maxPermissions: [file:read, shel]\n",
    );
    t.run_in("p", &["plan"])
        .code(3)
        .stderr_has("ordo.yaml:8:33")
        .stderr_has("source `platform`: unknown permission `shel` in `maxPermissions`; did you mean `shell`?");
}

#[test]
fn a_well_formed_source_is_refused_while_this_build_cannot_fetch_it() {
    // Not silently skipped: the run would miss the manifests and handlers it names.
    let t = project(
        "  - name: platform\n    url: git+https://example.com/p.git?ref=v1\n    handlers: handlers\n",
    );
    t.run_in("p", &["apply"])
        .code(3)
        .stderr_has("ordo.yaml:6:11")
        .stderr_has("source `platform`: fetching sources is not available in this build of ordo");
}

#[test]
fn plan_says_why_a_local_handler_changed() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "", "check: always"));
    t.run(&["apply"]).code(0);
    let t = t.handler("trace.rhai", &format!("{}\n// edited\n", common::TRACE));
    t.run(&["plan"])
        .code(0)
        .stdout_has("handler changed since the last apply: `trace.rhai` was edited");
    // The state records no source for a local handler.
    let state: serde_json::Value = serde_json::from_str(&t.read(".ordo/state.json")).unwrap();
    assert!(state["environments"]["default"]["a"]["handler_source"].is_null());
}
