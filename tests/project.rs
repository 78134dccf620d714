//! The project root, where the state lives, `ordo.yaml`, `m.previous`, and which
//! environments exist (DESIGN.md §8, §16; issue 13 items 3, 4 and the `-e` part of 6).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// `Probe` writes `spec.content` to `spec.path` (relative to the manifest), returns an
/// `id`, and on delete reads that `id` back (from the state, in a later process) before
/// removing the file. When `m.previous` says the path was different, the old file is
/// removed first: the "renamed file" clean-up of DESIGN §8.
const PROBE: &str = r#"
register("Probe", "^1");
permissions(["file:read", "file:write"]);

fn target(m, p) { path::join(m.dir, p) }

fn check(m) {
    if m.action == "delete" { return file::exists(target(m, m.spec.path)); }
    let p = target(m, m.spec.path);
    !file::exists(p) || file::read(p) != m.spec.content
}

fn apply(m) {
    if m.previous != () && m.previous.spec.path != m.spec.path {
        log::info("removing " + m.previous.spec.path + ", applied at " + m.previous.applied_at
            + " with id " + m.previous.variables.id);
        file::remove(target(m, m.previous.spec.path));
    }
    file::write(target(m, m.spec.path), m.spec.content);
    #{ id: "id-" + m.name }
}

fn delete(m) {
    let id = vars::get(m.name + ".id");
    file::remove(target(m, m.spec.path));
    log::info("deleted " + id);
}
"#;

fn probe(name: &str, path: &str) -> String {
    format!(
        "---\nkind: Probe\nversion: v1\nmetadata:\n  name: {name}\nspec:\n  path: {path}\n  content: hello from {name}\n"
    )
}

fn project(t: Test, dir: &str, names: &[&str]) -> Test {
    let docs: String = names
        .iter()
        .map(|n| probe(n, &format!("out/{n}.txt")))
        .collect();
    t.handler(&format!("{dir}/probe.rhai"), PROBE)
        .manifest(&format!("{dir}/site.yaml"), &docs)
}

/// The state file without its timestamps, which differ between runs.
/// The state's current entries, without their times and revisions (an apply that ran
/// records a new revision).
fn state_without_times(t: &Test, path: &str) -> String {
    let text = t.read(path);
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("{path} is not JSON ({e}): {text}");
    });
    for env in v["environments"].as_object_mut().unwrap().values_mut() {
        for entry in env.as_object_mut().unwrap().values_mut() {
            entry["applied_at"] = serde_json::Value::Null;
            let fields = entry.as_object_mut().unwrap();
            fields.remove("revision");
            fields.remove("history");
        }
    }
    serde_json::to_string(&v).unwrap()
}

#[test]
fn apply_from_the_parent_and_delete_inside_the_project_share_one_state() {
    let t = project(Test::new(), "proj", &["web"]);
    t.run(&["apply", "-m", "proj"])
        .code(0)
        .stdout_has("changed   Probe/web");
    assert!(
        t.exists("proj/.ordo/state.json"),
        "the state is under the root"
    );
    assert!(!t.exists(".ordo"), "no state where ordo was started");
    // Inside the project, with no flags: same state; the id comes from it.
    t.run_in("proj", &["delete"])
        .code(0)
        .stdout_has("changed   Probe/web")
        .stderr_has("deleted id-web");
    assert!(!t.exists("proj/out/web.txt"));
    let s: serde_json::Value = serde_json::from_str(&t.read("proj/.ordo/state.json")).unwrap();
    assert_eq!(s["environments"], serde_json::json!({}));
}

#[test]
fn a_sibling_directory_reaches_the_same_state_with_dot_dot() {
    let t = project(Test::new(), "proj", &["web"]);
    t.run(&["apply", "-m", "proj"]).code(0);
    t.run_in("ci", &["plan", "-m", "../proj"])
        .code(0)
        .stdout_has("unchanged Probe/web");
    t.run_in("ci", &["delete", "-m", "../proj"])
        .code(0)
        .stderr_has("deleted id-web");
    assert!(!t.exists("ci/.ordo"));
}

#[test]
fn the_same_project_records_the_same_bytes_wherever_ordo_starts() {
    // Regression (issue 13): `-m ../project` from a sibling recorded
    // `/x/ci/../project/out/app.conf`, so variables and specs differed by the start
    // directory, and an unchanged project showed as `changed`.
    let t = project(Test::new(), "proj", &["web"])
        .handler(
            "proj/where.rhai",
            "register(\"Where\", \"^1\");\nfn apply(m) { #{ dir: m.dir, file: path::join(m.dir, \"out/x\") } }\n",
        )
        .manifest(
            "proj/where.yaml",
            "kind: Where\nversion: v1\nmetadata: {name: where}\n",
        );
    t.run(&["apply", "-m", "proj"]).code(0);
    let from_parent = state_without_times(&t, "proj/.ordo/state.json");
    let out = t.run_in("ci", &["apply", "-m", "../proj"]);
    out.code(0).stdout_has("unchanged Probe/web");
    let from_sibling = state_without_times(&t, "proj/.ordo/state.json");
    assert_eq!(from_parent, from_sibling);
    let out = t.run_in("proj/out", &["apply", "-m", "../../proj/./site.yaml"]);
    out.code(0);
    let real = t.path().canonicalize().unwrap().join("proj");
    assert!(!from_sibling.contains(".."), "{from_sibling}");
    assert!(
        from_sibling.contains(&format!("\"dir\":\"{}\"", real.display())),
        "{from_sibling}"
    );
    assert!(
        from_sibling.contains(&format!("\"file\":\"{}/out/x\"", real.display())),
        "{from_sibling}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_to_the_project_is_the_same_project() {
    let t = project(Test::new(), "proj", &["web"]);
    std::os::unix::fs::symlink(t.path().join("proj"), t.path().join("link")).unwrap();
    t.run(&["apply", "-m", "proj"]).code(0);
    let before = state_without_times(&t, "proj/.ordo/state.json");
    t.run(&["apply", "-m", "link"])
        .code(0)
        .stdout_has("unchanged Probe/web");
    assert_eq!(before, state_without_times(&t, "proj/.ordo/state.json"));
}

#[test]
fn prune_of_one_example_never_touches_another() {
    // Regression (issue 13): `apply --prune -m examples/user-override` from the repository
    // root deleted the hello-world example's files, because both shared `./.ordo`.
    let t = project(Test::new(), "examples/a", &["a1"]);
    let t = project(t, "examples/b", &["b1"]);
    t.run(&["apply", "-m", "examples/b"]).code(0);
    t.run(&["apply", "-m", "examples/a"]).code(0);
    let out = t.run(&["apply", "--prune", "-m", "examples/a"]);
    out.code(0).stderr_lacks("b1");
    assert!(t.exists("examples/b/out/b1.txt"), "b's file was pruned");
    assert!(t.exists("examples/b/.ordo/state.json"));
    assert!(!t.exists(".ordo"));
}

#[test]
fn without_a_project_marker_the_root_is_the_directory_of_the_manifest_file() {
    let t = project(Test::new(), "proj", &["web"]);
    t.run(&["apply", "-m", "proj/site.yaml"]).code(0);
    assert!(t.exists("proj/.ordo/state.json"));
    // Standard input: the current directory.
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .stdin(&probe("piped", "out/piped.txt"));
    t.run_in("here", &["apply", "-m", "-", "-s", ".."]).code(0);
    assert!(t.exists("here/.ordo/state.json"));
    assert!(t.exists("here/out/piped.txt"));
}

#[test]
fn a_dot_ordo_directory_above_marks_the_root() {
    let t = project(Test::new(), "proj/app", &["web"]).file("proj/.ordo/.keep", "");
    t.run(&["apply", "-m", "proj/app"]).code(0);
    assert!(t.exists("proj/.ordo/state.json"));
    assert!(!t.exists("proj/app/.ordo"));
}

#[test]
fn state_subcommands_find_the_project_like_runs_do() {
    let t = project(Test::new(), "proj", &["web"]);
    t.run(&["apply", "-m", "proj"]).code(0);
    t.run(&["state", "list", "-m", "proj"])
        .code(0)
        .stdout_has("web");
    t.run_in("proj/out", &["state", "list"])
        .code(0)
        .stdout_has("web");
    t.run(&["state", "list", "-m", "proj", "-e", "defualt"])
        .code(3)
        .stderr_has("unknown environment `defualt`; did you mean `default`?");
    t.run(&["state", "rm", "zzz", "-m", "proj"])
        .code(1)
        .stderr_has("no manifest `zzz` is recorded")
        .stderr_has("proj/.ordo/state.json");
}

#[test]
fn m_previous_lets_a_handler_clean_up_what_an_older_spec_created() {
    let t = Test::new()
        .handler("probe.rhai", PROBE)
        .manifest("m.yaml", &probe("site", "out/old.txt"));
    t.run(&["apply"]).code(0);
    assert!(t.exists("out/old.txt"));
    let t = t.manifest("m.yaml", &probe("site", "out/new.txt"));
    let out = t.run(&["apply"]);
    out.code(0)
        .stderr_has("removing out/old.txt, applied at 20")
        .stderr_has("with id id-site");
    assert!(!t.exists("out/old.txt"), "the renamed file was left behind");
    assert_eq!(t.read("out/new.txt"), "hello from site");
}

#[test]
fn m_previous_keeps_secrets_out() {
    let handler = r#"
register("Secretive", "^1");
permissions(["file:write"]);
fn apply(m) {
    file::write(path::join(m.dir, "previous.json"), json::to_string(m.previous));
    vars::set_secret("token", "s3cr3t-token");
    vars::set("plain", "visible");
}
"#;
    let t = Test::new().handler("s.rhai", handler).manifest(
        "m.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: vals}\nspec:\n  values:\n  - {valueName: pw, defaultValue: hunter2-pw, secret: true}\n---\nkind: Secretive\nversion: v1\nmetadata: {name: s}\nspec: {password: !Value pw}\n",
    );
    t.run(&["apply"]).code(0);
    assert_eq!(t.read("previous.json"), "null");
    t.run(&["apply"]).code(0);
    let previous: serde_json::Value = serde_json::from_str(&t.read("previous.json")).unwrap();
    // Unknown, never the mask (issue 15): `()`, and its path listed under `masked`.
    assert_eq!(previous["spec"]["password"], serde_json::Value::Null);
    assert_eq!(previous["masked"], serde_json::json!(["spec.password"]));
    assert_eq!(previous["variables"]["plain"], "visible");
    assert_eq!(previous["variables"].get("token"), None);
    assert!(previous["applied_at"].as_str().unwrap().ends_with('Z'));
}

const PROJECT_FILE: &str = "kind: Project
version: v1
metadata: {name: shop}
spec:
  manifests: [manifests/]
  handlers: [handlers/]
  values: [values/common.yaml]
  environments: [dev, prod]
";

fn shop() -> Test {
    Test::new()
        .file("shop/ordo.yaml", PROJECT_FILE)
        .handler("shop/handlers/probe.rhai", PROBE)
        .manifest(
            "shop/manifests/site.yaml",
            "kind: Probe\nversion: v1\nmetadata: {name: site}\nspec:\n  path: out/site.txt\n  content: !Value greeting\n",
        )
        .file(
            "shop/values/common.yaml",
            "kind: Values\nversion: v1\nmetadata: {name: common}\nspec:\n  values:\n  - valueName: greeting\n    defaultValue: hello\n    environmentOverrides: [{environmentName: prod, value: hello prod}]\n",
        )
}

#[test]
fn with_a_project_file_apply_alone_does_the_whole_job_from_any_directory_below() {
    let t = shop();
    t.run_in("shop/manifests", &["apply", "-e", "prod"])
        .code(0)
        .stdout_has("changed   Probe/site");
    assert_eq!(t.read("shop/manifests/out/site.txt"), "hello prod");
    assert!(t.exists("shop/.ordo/state.json"));
    t.run_in("shop", &["plan", "-e", "prod"])
        .code(0)
        .stdout_has("unchanged Probe/site");
    t.run_in("shop/handlers", &["delete", "-e", "prod"])
        .code(0)
        .stderr_has("deleted id-site");
    assert!(!t.exists("shop/manifests/out/site.txt"));
    // The project file given as a manifest.
    t.run(&["apply", "-m", "shop/ordo.yaml"])
        .code(3)
        .stderr_has("`shop/ordo.yaml` is the project file, not a manifest file");
}

#[test]
fn command_line_flags_replace_the_project_defaults() {
    let t = shop().file(
        "shop/other.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: other}\nspec:\n  values:\n  - {valueName: greeting, defaultValue: from -f}\n",
    );
    t.run_in("shop", &["apply", "-f", "other.yaml"]).code(0);
    assert_eq!(t.read("shop/manifests/out/site.txt"), "from -f");
    // `-m` replaces `spec.manifests`; handlers still come from the project.
    let t = t.manifest("shop/extra/x.yaml", &probe("extra", "out/extra.txt"));
    t.run_in("shop", &["apply", "-m", "extra"])
        .code(0)
        .stdout_has("changed   Probe/extra")
        .stdout_lacks_site();
}

trait Lacks {
    fn stdout_lacks_site(&self) -> &Self;
}

impl Lacks for common::Output {
    fn stdout_lacks_site(&self) -> &Self {
        assert!(!self.stdout.contains("Probe/site"), "{}", self.stdout);
        self
    }
}

#[test]
fn a_project_file_with_a_typo_is_an_input_error_at_its_line() {
    let t = shop().file(
        "shop/ordo.yaml",
        "kind: Project\nversion: v1\nmetadata: {name: shop}\nspec:\n  manifest: [manifests/]\n  inventory: [hosts.yaml]\n  values: [values/missing.yaml]\n",
    );
    let out = t.run_in("shop", &["apply"]);
    out.code(3)
        .stderr_has("ordo.yaml:5:3")
        .stderr_has("unknown key `manifest` in `spec`; did you mean `manifests`?")
        .stderr_has("ordo.yaml:6:15")
        .stderr_has("`spec.inventory`: cannot read `hosts.yaml`")
        .stderr_has("ordo.yaml:7:")
        .stderr_has("values/missing.yaml")
        .stderr_has("nothing was run");
    assert!(!t.exists("shop/.ordo/state.json"));
    // `validate` and `state` read it too.
    t.run_in("shop", &["validate"]).code(3);
    t.run_in("shop/manifests", &["state", "list"])
        .code(3)
        .stderr_has("did you mean `manifests`?");
    let t = t.file(
        "shop/ordo.yaml",
        "kind: Manifest\nversion: v2\nmetadata: {}\n",
    );
    t.run_in("shop", &["apply"])
        .code(3)
        .stderr_has("must be `kind: Project`, not `Manifest`")
        .stderr_has("version `v2` is not supported")
        .stderr_has("missing required field `metadata.name`");
}

#[test]
fn an_unknown_environment_is_an_input_error_with_a_suggestion() {
    // Regression (issue 13): `-e prdo` (only `prod` exists) applied the default values.
    let t = Test::new().handler("probe.rhai", PROBE).manifest(
        "m.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: vals}\nspec:\n  values:\n  - valueName: greeting\n    defaultValue: hello\n    environmentOverrides: [{environmentName: prod, value: hello prod}]\n---\nkind: Probe\nversion: v1\nmetadata: {name: site}\nspec: {path: out/site.txt, content: !Value greeting}\n",
    );
    t.run(&["apply", "-e", "prdo"])
        .code(3)
        .stderr_has("unknown environment `prdo`; did you mean `prod`?")
        .stderr_has("nothing was run");
    assert!(!t.exists("out/site.txt"));
    t.run(&["plan", "-e", "prdo"]).code(3);
    t.run(&["apply", "-e", "prod"]).code(0);
    t.run(&["apply", "-e", "default"]).code(0);
}

#[test]
fn an_environment_given_in_the_wrong_case_is_suggested() {
    // newuser2 finding 9: `-e PROD` when only `prod` exists gave no suggestion.
    let t = Test::new().handler("probe.rhai", PROBE).manifest(
        "m.yaml",
        "kind: Probe\nversion: v1\nmetadata:\n  name: s\n  environments: [prod]\nspec: {path: out/s.txt, content: x}\n",
    );
    t.run(&["apply", "-e", "PROD"])
        .code(3)
        .stderr_has("unknown environment `PROD`; did you mean `prod`?");
    assert!(!t.exists("out/s.txt"));
}

#[test]
fn environments_a_manifest_names_exist() {
    let t = Test::new().handler("probe.rhai", PROBE).manifest(
        "m.yaml",
        "kind: Probe\nversion: v1\nmetadata:\n  name: s\n  environments: [staging]\nspec: {path: out/s.txt, content: x}\n",
    );
    t.run(&["apply", "-e", "staging"])
        .code(0)
        .stdout_has("changed   Probe/s");
    t.run(&["apply", "-e", "stagign"])
        .code(3)
        .stderr_has("did you mean `staging`?");
}

#[test]
fn the_project_file_lists_the_whole_set_of_environments() {
    let t = shop().manifest(
        "shop/manifests/extra.yaml",
        "kind: Probe\nversion: v1\nmetadata:\n  name: extra\n  environments: [prod, stagign]\nspec: {path: out/e.txt, content: x}\n",
    );
    let out = t.run_in("shop", &["apply", "-e", "dev"]);
    out.code(3)
        .stderr_has("environment `stagign` is not one of the project's environments")
        .stderr_has("manifests/extra.yaml:5:24");
    // A value override naming an environment the project does not list.
    let t = shop().file(
        "shop/values/common.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: common}\nspec:\n  values:\n  - valueName: greeting\n    defaultValue: hello\n    environmentOverrides: [{environmentName: prd, value: x}]\n",
    );
    t.run_in("shop", &["apply"])
        .code(3)
        .stderr_has(
            "environment `prd` is not one of the project's environments; did you mean `prod`?",
        )
        .stderr_has("values/common.yaml:8:46");
    // Listed but unused by any manifest or value: it still exists.
    let t = shop();
    t.run_in("shop", &["apply", "-e", "dev"]).code(0);
    t.run_in("shop", &["apply", "-e", "qa"])
        .code(3)
        .stderr_has("unknown environment `qa`");
}

#[test]
fn variable_errors_name_the_state_file_they_read() {
    let t = project(Test::new(), "proj", &["web"]);
    t.run(&["apply", "-m", "proj"]).code(0);
    // Another state (here: an empty one) has no `web.id`: the error says which was read.
    let out = t.run(&["delete", "-m", "proj", "--state", "elsewhere/state.json"]);
    out.code(1)
        .stderr_has("no variable `web.id`")
        .stderr_has("read from the state file elsewhere/state.json");
    let out = t.run(&["delete", "-m", "proj", "--no-state"]);
    out.code(1).stderr_has("no state file was read");
    // The hint says the likelier cause during a delete: another state was read.
    let out = t.run(&["delete", "-m", "proj", "--state", "elsewhere/state.json"]);
    out.stderr_has("if it was applied earlier, check that it was with this state");
    // `!Variable` resolved at run time, too.
    let t = t.manifest(
        "proj/uses.yaml",
        "kind: Probe\nversion: v1\nmetadata: {name: uses}\nspec: {path: out/u.txt, content: !Variable web.missing}\n",
    );
    t.run(&["apply", "-m", "proj"])
        .code(1)
        .stderr_has("variable `web.missing` is not set")
        .stderr_has("read from the state file proj/.ordo/state.json");
}

#[test]
fn state_errors_name_the_state_file() {
    let t = project(Test::new(), "proj", &["web"]).file(
        "proj/.ordo/state.json",
        "{\"schema\": 1, \"environments\": [}",
    );
    let real = t.path().canonicalize().unwrap();
    t.run_in("ci", &["apply", "-m", "../proj"])
        .code(1)
        .stderr_has(&format!(
            "the state file {}/proj/.ordo/state.json is not valid",
            real.display()
        ));
    t.run(&["apply", "-m", "proj"])
        .code(1)
        .stderr_has("the state file proj/.ordo/state.json is not valid");
}

#[test]
fn a_stray_state_directory_in_home_or_tmp_does_not_capture_projects_below() {
    // `ordo apply -m ~/x.yaml` leaves `~/.ordo`; without ceilings, every project below the
    // home directory (or the temporary directory, for `/tmp/.ordo`) would then share that
    // state. The walk up never takes them as a root unless it starts there.
    for var in ["HOME", "TMPDIR"] {
        let t = Test::new()
            .file(".ordo/state.json.keep", "")
            .file("proj/probe.rhai", PROBE)
            .manifest(
                "proj/m.yaml",
                "kind: Probe\nversion: v1\nmetadata: {name: a}\nspec: {path: a.txt, content: x}\n",
            );
        let dir = t.path().to_str().unwrap().to_string();
        let t = t.env(var, &dir);
        t.run(&["apply", "-m", "proj"]).code(0);
        assert!(
            t.exists("proj/.ordo/state.json"),
            "{var}: state not in the project"
        );
        assert!(
            !t.exists(".ordo/state.json"),
            "{var}: the stray directory was the root"
        );
        // Started right there, it is the root as before.
        t.run(&["apply", "-m", "proj/m.yaml", "-s", "proj", "--no-state"])
            .code(0);
    }
}

// ---- Round 2: prune scope, one project per run, nested projects, values files, links ----

const PROJECT_DOC: &str = "kind: Project\nversion: v1\nmetadata: {name: p}\n";

fn write_file_to(name: &str, data: &str) -> String {
    format!(
        "kind: WriteFile\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{targetFile: out.txt, data: {data}}}\n"
    )
}

/// `apply --prune -m a` in a project holding `a/` and `b/` prunes only what was recorded
/// from `a` (a prune never deletes what it was not shown); `plan -m a` lists no orphan
/// from `b`, and `apply -m a` prints no "gone from the files" note about `b`.
#[test]
fn prune_with_a_subset_manifest_path_deletes_the_rest_of_the_project() {
    let t = Test::new()
        .file("ordo.yaml", PROJECT_DOC)
        .manifest("a/w.yaml", &write_file_to("wa", "a"))
        .manifest("a/x.yaml", &write_file_to("xa", "a"))
        .manifest("b/w.yaml", &write_file_to("wb", "b"));
    std::fs::create_dir_all(t.path().join("a/x")).unwrap();
    std::fs::rename(t.path().join("a/x.yaml"), t.path().join("a/x/x.yaml")).unwrap();
    t.run(&["apply"]).code(0);
    assert!(t.exists("b/out.txt") && t.exists("a/x/out.txt"));
    // `xa` leaves the files of `a`: it is an orphan of `-m a`, `wb` is not.
    std::fs::remove_file(t.path().join("a/x/x.yaml")).unwrap();
    let plan = t.run(&["plan", "-m", "a", "-o", "json"]);
    plan.code(0);
    let text = plan.stdout.clone();
    assert!(text.contains("\"xa\""), "{text}");
    assert!(
        !text.contains("\"wb\""),
        "plan -m a listed b's entry: {text}"
    );
    let note = t.run(&["apply", "-m", "a"]);
    note.code(0).stderr_has("(xa)");
    note.stderr_lacks("wb");
    let out = t.run(&["apply", "--prune", "-m", "a"]);
    out.code(0);
    assert!(
        t.exists("b/out.txt"),
        "`apply --prune -m a` deleted b/out.txt, a file of a manifest it was not given\n{}{}",
        out.stdout,
        out.stderr
    );
    assert!(!t.exists("a/x/out.txt"), "the orphan of `a` was not pruned");
    // From the whole project, `wb` is still there to manage.
    t.run(&["apply", "--prune"]).code(0);
    assert!(t.exists("b/out.txt"));
}

/// `-m A -m B` where A and B are two projects is refused (exit 3, naming both roots),
/// unless `--state` says where the one state is.
#[test]
fn two_projects_in_one_run_share_a_state_and_prune_crosses_projects() {
    let t = Test::new()
        .file("A/ordo.yaml", PROJECT_DOC)
        .file("B/ordo.yaml", PROJECT_DOC)
        .manifest("A/w.yaml", &write_file_to("wA", "a"))
        .manifest("B/w.yaml", &write_file_to("wB", "b"));
    let first = t.run(&["apply", "-m", "A", "-m", "B"]);
    first
        .code(3)
        .stderr_has("-m B: it belongs to the project at B")
        .stderr_has("not to the project at A");
    assert!(!t.exists("A/out.txt") && !t.exists("B/out.txt"));
    t.run(&["plan", "-m", "A", "-m", "B"])
        .code(3)
        .stderr_has("two projects never share one state");
    // Commands that keep no state may read both.
    t.run(&["validate", "-m", "A", "-m", "B"]).code(0);
    t.run(&["apply", "-m", "A", "-m", "B", "--state", "both.json"])
        .code(0);
    assert!(t.exists("B/out.txt"));
    t.run_in("A", &["apply", "--prune"]).code(0);
    assert!(t.exists("B/out.txt"), "a prune in A deleted B's file");
}

/// A `.ordo/` ordo created in a parent (no `ordo.yaml`) is the root of the state, but
/// without `-m` the manifests are the current directory's, not the whole root's.
#[test]
fn implicit_state_dir_in_a_parent_captures_sibling_projects() {
    let wf = |name: &str, file: &str| {
        format!(
            "kind: WriteFile\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{targetFile: {file}, data: x}}\n"
        )
    };
    let t = Test::new()
        .manifest("home/notes.yaml", &wf("n", "notes.txt"))
        .manifest("home/projA/a.yaml", &wf("a", "out.txt"))
        .manifest("home/projB/b.yaml", &wf("b", "out.txt"));
    t.run_in("home", &["apply", "-m", "notes.yaml"]).code(0);
    t.run_in("home", &["apply", "-m", "projA"]).code(0);
    std::fs::remove_file(t.path().join("home/projA/out.txt")).unwrap();
    let out = t.run_in("home/projB", &["apply", "--prune"]);
    out.code(0);
    assert!(t.exists("home/projB/out.txt"));
    assert!(
        !t.exists("home/projA/out.txt"),
        "`ordo apply` in projB applied projA's manifest\n{}{}",
        out.stdout,
        out.stderr
    );
    assert!(t.exists("home/notes.txt"), "a prune in projB deleted notes");
    // The state is still the one at `home/.ordo`.
    let list = t.run_in("home/projB", &["state", "list"]);
    list.code(0).stdout_has("notes.yaml").stdout_has("b.yaml");
}

/// A directory holding its own `ordo.yaml` is another project: the walks for manifests and
/// handlers do not enter it, so its handler cannot serve the parent's kinds.
#[test]
fn nested_project_handler_hijacks_the_parent_projects_kinds() {
    let t = Test::new()
        .file("ordo.yaml", PROJECT_DOC)
        .file("vendor/q/ordo.yaml", PROJECT_DOC)
        .manifest("p.yaml", &write_file_to("pw", "mine"))
        .manifest("vendor/q/q.yaml", &write_file_to("qw", "theirs"))
        .handler(
            "vendor/q/write_file.rhai",
            r#"
register("WriteFile", "^1");
permissions(["file:write"]);
fn apply(m) { file::write(path::join(m.dir, m.spec.targetFile), "HIJACKED by vendor/q"); }
"#,
        );
    let out = t.run(&["apply"]);
    out.code(0);
    assert_eq!(t.read("out.txt"), "mine", "{}{}", out.stdout, out.stderr);
    assert!(!t.exists("vendor/q/out.txt"));
    // Without a project file at the top, `-m .` still stops at the nested project.
    std::fs::remove_file(t.path().join("ordo.yaml")).unwrap();
    t.run(&["validate", "-m", ".", "-s", "."])
        .code(0)
        .stdout_has("1 manifest");
    // The nested project itself, asked for, works on its own.
    t.run_in("vendor/q", &["apply"]).code(0);
    assert_eq!(t.read("vendor/q/out.txt"), "HIJACKED by vendor/q");
}

/// The lock and the journal are never opened through a symbolic link: a state error names
/// the link, and its target is left as it was.
#[test]
fn state_lock_follows_a_symlink_and_overwrites_its_target() {
    let t = Test::new().file("victim.txt", "precious data\n").manifest(
        "m.yaml",
        "kind: WriteFile\nversion: v1\nmetadata: {name: w}\nspec: {targetFile: o.txt, data: x}\n",
    );
    std::fs::create_dir_all(t.path().join(".ordo")).unwrap();
    std::os::unix::fs::symlink("../victim.txt", t.path().join(".ordo/state.json.lock")).unwrap();
    let out = t.run(&["apply"]);
    out.no_panic()
        .code(1)
        .stderr_has(".ordo/state.json.lock is a symbolic link");
    assert_eq!(t.read("victim.txt"), "precious data\n");
    t.run(&["state", "unlock"])
        .code(1)
        .stderr_has("is a symbolic link");
    assert_eq!(t.read("victim.txt"), "precious data\n");
    // The journal, likewise.
    std::fs::remove_file(t.path().join(".ordo/state.json.lock")).unwrap();
    std::os::unix::fs::symlink("../victim.txt", t.path().join(".ordo/state.json.journal")).unwrap();
    t.run(&["apply"])
        .code(1)
        .stderr_has(".ordo/state.json.journal is a symbolic link");
    assert_eq!(t.read("victim.txt"), "precious data\n");
    // And the state file itself is not read through one.
    std::fs::remove_file(t.path().join(".ordo/state.json.journal")).unwrap();
    std::os::unix::fs::symlink("../victim.txt", t.path().join(".ordo/state.json")).unwrap();
    t.run(&["plan"])
        .code(1)
        .stderr_has(".ordo/state.json is a symbolic link");
    assert_eq!(t.read("victim.txt"), "precious data\n");
}

/// The project's values files, and `-f` files, inside a manifest directory are values,
/// never also manifests.
#[test]
fn project_values_file_is_also_loaded_as_a_manifest() {
    let t = Test::new()
        .file(
            "ordo.yaml",
            "kind: Project\nversion: v1\nmetadata: {name: p}\nspec:\n  values: [values/common.yaml]\n",
        )
        .file(
            "values/common.yaml",
            "values:\n- {valueName: v, defaultValue: val}\n",
        )
        .file("extra.yaml", "values:\n- {valueName: w, defaultValue: two}\n")
        .manifest(
            "m.yaml",
            "kind: WriteFile\nversion: v1\nmetadata: {name: w}\nspec: {targetFile: o.txt, data: !Value v}\n",
        );
    t.run(&["validate", "-f", "extra.yaml"])
        .code(0)
        .stdout_has("1 manifest");
    std::fs::remove_file(t.path().join("extra.yaml")).unwrap();
    t.run(&["validate"]).code(0).stdout_has("1 manifest");
    t.run(&["lint"]).code(0);
}

/// `-f FILE` adds to the project file's `values:`: the project's first, `-f` after and
/// winning.
#[test]
fn values_flag_adds_to_the_project_values() {
    let t = Test::new()
        .file(
            "ordo.yaml",
            "kind: Project\nversion: v1\nmetadata: {name: p}\nspec:\n  manifests: [m.yaml]\n  values: [common.yaml]\n",
        )
        .file(
            "common.yaml",
            "values:\n- {valueName: a, defaultValue: from-project}\n- {valueName: b, defaultValue: from-project}\n",
        )
        .file("mine.yaml", "values:\n- {valueName: b, defaultValue: from-f}\n")
        .manifest(
            "m.yaml",
            "kind: WriteFile\nversion: v1\nmetadata: {name: w}\nspec: {targetFile: o.txt, data: !Sub '${a} ${b}'}\n",
        );
    t.run(&["apply", "-f", "mine.yaml"]).code(0);
    assert_eq!(t.read("o.txt"), "from-project from-f");
}

/// `ordo lint` with no PATH checks the handler directories a run uses, the project file's
/// `handlers:` included.
#[test]
fn lint_ignores_the_project_files_handler_directories() {
    let t = Test::new()
        .file(
            "ordo.yaml",
            "kind: Project\nversion: v1\nmetadata: {name: p}\nspec: {manifests: [manifests/], handlers: [handlers/]}\n",
        )
        .handler(
            "handlers/h.rhai",
            "register(\"H\", \"^1\");\nfn apply(m) { file::remvoe(\"x\"); }\n",
        )
        .manifest(
            "manifests/m.yaml",
            "kind: H\nversion: v1\nmetadata: {name: h}\nspec: {}\n",
        );
    t.run(&["validate"]).code(3).stderr_has("file::remvoe");
    t.run(&["lint"]).code(3).stderr_has("file::remvoe");
    t.run_in("manifests", &["lint"])
        .code(3)
        .stderr_has("file::remvoe");
}

/// An `ordo.yaml` that is a directory or a FIFO is an input error, not ignored.
#[test]
fn project_file_that_is_a_directory_is_silently_ignored() {
    let t = Test::new().manifest(
        "m.yaml",
        "kind: WriteFile\nversion: v1\nmetadata: {name: w}\nspec: {targetFile: o, data: x}\n",
    );
    std::fs::create_dir_all(t.path().join("ordo.yaml")).unwrap();
    t.run(&["validate"])
        .code(3)
        .stderr_has("cannot read the project file `ordo.yaml`");
    std::fs::remove_dir(t.path().join("ordo.yaml")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(t.path().join("ordo.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    t.run(&["validate"])
        .code(3)
        .stderr_has("cannot read the project file `ordo.yaml`");
}

/// `spec.environments` refuses an empty name, a blank in a name and a duplicate, at the
/// file's line.
#[test]
fn project_environments_accept_empty_and_duplicate_names() {
    let t = Test::new()
        .file(
            "ordo.yaml",
            "kind: Project\nversion: v1\nmetadata: {name: p}\nspec:\n  environments: [dev, dev, \"\", \"a b\"]\n",
        )
        .manifest(
            "m.yaml",
            "kind: WriteFile\nversion: v1\nmetadata: {name: w}\nspec: {targetFile: o, data: x}\n",
        );
    t.run(&["validate"])
        .code(3)
        .stderr_has("environment `dev` is listed twice")
        .stderr_has("an environment name cannot be empty")
        .stderr_has("a name cannot hold a blank")
        .stderr_has("ordo.yaml:5:");
}
