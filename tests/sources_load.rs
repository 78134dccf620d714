//! Sources in everything that loads input (issue 21): `spec.sources` of the project file,
//! addresses given to `-m`/`-s`/`-f`, handler provenance, `maxPermissions`, and what the
//! state records about where a handler came from.

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
         \x20 - just-a-string\n\
         \x20 - name: ftp\n    url: ftp://example.com/x.tar.gz\n",
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
        .stderr_has("ordo.yaml:22:10")
        .stderr_has("source `ftp`: expected `git+https://")
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

// ---- Sources from git: a bare repository made by the test, `git+file://` with
// `--allow-file-sources`. Each test has its own HOME and XDG_CACHE_HOME (outside the
// project, so the project root's walk never sees the cache).

const ALLOW: &str = "--allow-file-sources";

/// A handler kept in the repository: it writes nothing (a source's tree is read-only),
/// and returns what it was given.
const NOTE: &str = r#"register("Note", "^1");
permissions(["file:read"]);
fn check(m) { true }
fn apply(m) { #{ said: m.spec.text } }
"#;

/// A project `p/` with these `spec.sources` lines (none: no project file), and a home
/// and cache of its own.
fn lab(sources: Option<&str>) -> Test {
    let mut t = Test::new().file("home/.keep", "").file("p/.keep", "");
    if let Some(sources) = sources {
        t = t.file(
            "p/ordo.yaml",
            &format!("kind: Project\nversion: v1\nmetadata: {{name: p}}\nspec:\n  manifests: [manifests/]\n  sources:\n{sources}"),
        )
        .file("p/manifests/.keep", "");
    }
    let home = t.path().join("home");
    let cache = t.path().join("cache");
    t.env("HOME", home.to_str().unwrap())
        .env("XDG_CACHE_HOME", cache.to_str().unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1")
}

fn git(t: &Test, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(["-c", "core.hooksPath=/dev/null"])
        .args(args)
        .current_dir(dir)
        .env("HOME", t.path().join("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `repos/platform.git`, fed from `work/platform`.
struct Repo {
    work: PathBuf,
    bare: PathBuf,
}

impl Repo {
    fn new(t: &Test) -> Repo {
        let work = t.path().join("work/platform");
        let bare = t.path().join("repos/platform.git");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&bare).unwrap();
        git(t, &work, &["init", "-q"]);
        git(t, &bare, &["init", "-q", "--bare"]);
        Repo { work, bare }
    }

    /// Commits these files on `main`, pushes, returns the commit id.
    fn commit(&self, t: &Test, files: &[(&str, &str)]) -> String {
        for (path, text) in files {
            let full = self.work.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        git(t, &self.work, &["add", "-A"]);
        git(t, &self.work, &["commit", "-q", "-m", "change"]);
        let bare = self.bare.to_str().unwrap();
        let receive = "--receive-pack=git -c core.hooksPath=/dev/null receive-pack";
        git(
            t,
            &self.work,
            &[
                "push",
                "-q",
                "--force",
                receive,
                bare,
                "HEAD:refs/heads/main",
            ],
        );
        git(t, &self.work, &["rev-parse", "HEAD"])
    }

    /// `git+file:///…/platform.git` and `rest` (`//ordo?ref=main`).
    fn address(&self, rest: &str) -> String {
        format!("git+file://{}{rest}", self.bare.display())
    }
}

/// The usual repository: `ordo/handlers/note.rhai` and `ordo/manifests/site.yaml`.
fn platform(t: &Test) -> (Repo, String) {
    let repo = Repo::new(t);
    let commit = repo.commit(
        t,
        &[
            ("ordo/handlers/note.rhai", NOTE),
            (
                "ordo/manifests/site.yaml",
                "kind: Note\nversion: v1\nmetadata: {name: site}\nspec: {text: from the source}\n",
            ),
        ],
    );
    (repo, commit)
}

/// A lab whose project lists the repository under `name` (the repository is made first:
/// its address goes into the project file).
fn project_with(extra: &str, rest: &str) -> (Test, Repo, String) {
    let t = lab(None);
    let (repo, commit) = platform(&t);
    let sources = format!(
        "  - name: platform\n    url: {}\n{extra}",
        repo.address(rest)
    );
    let t = t
        .file(
            "p/ordo.yaml",
            &format!("kind: Project\nversion: v1\nmetadata: {{name: p}}\nspec:\n  manifests: [manifests/]\n  sources:\n{sources}"),
        )
        .manifest(
            "p/manifests/local.yaml",
            "kind: Note\nversion: v1\nmetadata: {name: local}\nspec: {text: mine}\n",
        );
    (t, repo, commit)
}

#[test]
fn a_git_source_in_the_project_gives_manifests_and_handlers_to_apply_and_plan() {
    let (t, _repo, commit) = project_with("", "//ordo?ref=main");
    t.run_in("p", &["apply", ALLOW])
        .code(0)
        .stdout_has("changed   Note/site");
    // Pinned in ordo.lock, beside the project file.
    let lock = t.read("p/ordo.lock");
    assert!(
        lock.contains("platform") && lock.contains(&commit),
        "{lock}"
    );
    // The state records where the handler came from.
    let state: serde_json::Value = serde_json::from_str(&t.read("p/.ordo/state.json")).unwrap();
    let recorded = &state["environments"]["default"]["site"]["handler_source"];
    assert_eq!(recorded["name"], "platform");
    assert_eq!(recorded["pin"], commit.as_str());
    // `plan` names the handler's source and commit.
    let short = &commit[..12];
    t.run_in("p", &["plan", ALLOW])
        .code(0)
        .stdout_has(&format!("from platform at {short}"));
    let plan = t.run_in("p", &["plan", "-o", "json", ALLOW]).json();
    let used = plan["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["source"].is_object())
        .unwrap()
        .clone();
    assert_eq!(used["source"]["name"], "platform");
    assert_eq!(used["source"]["commit"], commit.as_str());
    // `handlers`: a SOURCE column, and in JSON the source with its full commit.
    t.run_in("p", &["handlers", ALLOW])
        .code(0)
        .stdout_has("SOURCE")
        .stdout_has(&format!("platform@{short}"));
    let json = t.run_in("p", &["handlers", "-o", "json", ALLOW]).json();
    let note = json["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "Note")
        .unwrap()
        .clone();
    assert_eq!(note["source"]["name"], "platform");
    assert_eq!(note["source"]["commit"], commit.as_str());
    let bundled = json["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] != "Note")
        .unwrap()
        .clone();
    assert!(bundled["source"].is_null(), "{bundled}");
}

#[test]
fn sub_paths_choose_what_a_source_gives() {
    // Only `handlers:`: a handler library; its manifests are not loaded.
    let (t, _repo, _) = project_with("    handlers: handlers\n", "//ordo?ref=main");
    let out = t.run_in("p", &["apply", ALLOW]);
    out.code(0).stdout_has("changed   Note/local");
    assert!(!out.stdout.contains("Note/site"), "{}", out.stdout);
    // Both named: each from its own sub-path.
    let (t, _repo, _) = project_with(
        "    manifests: manifests\n    handlers: handlers\n",
        "//ordo?ref=main",
    );
    t.run_in("p", &["apply", ALLOW])
        .code(0)
        .stdout_has("changed   Note/site");
    // A sub-path the tree lacks is an input error at the entry.
    let (t, _repo, _) = project_with("    handlers: nowhere\n", "//ordo?ref=main");
    t.run_in("p", &["plan", ALLOW])
        .code(3)
        .stderr_has("ordo.yaml:7:11")
        .stderr_has("source `platform`: its tree")
        .stderr_has("has no directory `nowhere` for handlers");
}

#[test]
fn a_handler_declaring_more_than_max_permissions_is_an_input_error() {
    let t = lab(None);
    let repo = Repo::new(&t);
    repo.commit(
        &t,
        &[(
            "ordo/handlers/runner.rhai",
            "register(\"Runner\", \"^1\");\npermissions([\"file:read\", \"shell\"]);\nfn apply(m) { shell::run(\"true\") }\n",
        )],
    );
    let t = t.file(
        "p/ordo.yaml",
        &format!(
            "kind: Project\nversion: v1\nmetadata: {{name: p}}\nspec:\n  manifests: [manifests/]\n  sources:\n  - name: platform\n    url: {}\n    handlers: handlers\n    maxPermissions: [file:read]\n",
            repo.address("//ordo?ref=main")
        ),
    )
    .manifest("p/manifests/r.yaml", "kind: Runner\nversion: v1\nmetadata: {name: r}\n");
    let out = t.run_in("p", &["apply", ALLOW]);
    out.code(3)
        .stderr_has("runner.rhai:2:1")
        .stderr_has("this handler declares shell, which source `platform` does not allow (its `maxPermissions`: file:read)")
        .stderr_has("nothing was run");
    assert!(!t.exists("p/.ordo/state.json"));
}

#[test]
fn after_sources_update_plan_says_the_handler_changed_because_the_source_moved() {
    let (t, repo, first) = project_with("", "//ordo?ref=main");
    t.run_in("p", &["apply", ALLOW]).code(0);
    // The branch moves: the run stays on the pinned commit, and says the branch moved.
    let second = repo.commit(
        &t,
        &[("ordo/handlers/note.rhai", &format!("{NOTE}// v2\n"))],
    );
    let out = t.run_in("p", &["plan", ALLOW]);
    out.code(0)
        .stdout_has("Note/site  (drift")
        .stdout_has(&format!("from platform at {}", &first[..12]));
    assert!(!out.stdout.contains("handler changed"), "{}", out.stdout);
    t.run_in("p", &["sources", "update", ALLOW]).code(0);
    t.run_in("p", &["plan", ALLOW]).code(0).stdout_has(&format!(
        "handler changed since the last apply: source `platform` moved {} → {}",
        &first[..12],
        &second[..12]
    ));
    t.run_in("p", &["apply", ALLOW]).code(0);
    let state: serde_json::Value = serde_json::from_str(&t.read("p/.ordo/state.json")).unwrap();
    assert_eq!(
        state["environments"]["default"]["site"]["handler_source"]["pin"],
        second.as_str()
    );
}

#[test]
fn locked_without_a_lock_entry_and_a_refused_host_are_input_errors_naming_the_source() {
    let (t, _repo, _) = project_with("", "//ordo?ref=main");
    t.run_in("p", &["plan", ALLOW, "--locked"])
        .code(3)
        .stderr_has("source `platform`")
        .stderr_has("--locked")
        .stderr_has("ordo.yaml:8:10");
    assert!(!t.exists("p/ordo.lock"));
    t.run_in("p", &["plan", ALLOW, "--allow-source", "git.example.com"])
        .code(3)
        .stderr_has("source `platform`")
        .stderr_has("is not among the allowed sources (`git.example.com`)");
    // Without --allow-file-sources a local repository is refused.
    t.run_in("p", &["validate"])
        .code(3)
        .stderr_has("source `platform`")
        .stderr_has("--allow-file-sources");
}

#[test]
fn addresses_given_to_m_and_s_are_sources() {
    let t = lab(None);
    let (repo, commit) = platform(&t);
    let m = repo.address("//ordo/manifests?ref=main");
    let s = repo.address("//ordo/handlers?ref=main");
    // Not a project: the lock goes where the project root is found from here.
    t.run_in("p", &["apply", "-m", &m, "-s", &s, ALLOW])
        .code(0)
        .stdout_has("changed   Note/site");
    let lock = t.read("p/ordo.lock");
    assert!(lock.contains(&commit), "{lock}");
    let json = t
        .run_in("p", &["handlers", "-m", &m, "-s", &s, "-o", "json", ALLOW])
        .json();
    let note = json["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "Note")
        .unwrap()
        .clone();
    assert_eq!(note["source"]["commit"], commit.as_str());
    // A bad address is an input error naming it.
    t.run_in("p", &["plan", "-m", "git+file:///x.git?ref=-bad", ALLOW])
        .code(3)
        .stderr_has("source `git+file:///x.git?ref=-bad`");
}

#[test]
fn values_and_inventory_files_given_as_urls_are_sources() {
    let server = common::http::FileServer::start();
    server.serve(
        "/values.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: greeting, defaultValue: from the url}\n",
    );
    server.serve(
        "/hosts.yaml",
        "kind: Inventory\nversion: v1\nmetadata: {name: hosts}\nspec:\n  hosts:\n    web-1: {address: 127.0.0.1}\n",
    );
    let t = lab(None).handler("p/note.rhai", NOTE).manifest(
        "p/m.yaml",
        "kind: Note\nversion: v1\nmetadata: {name: m}\nspec: {text: !Value greeting}\n",
    );
    let values = server.url("/values.yaml");
    t.run_in("p", &["apply", "-f", &values]).code(0);
    let state: serde_json::Value = serde_json::from_str(&t.read("p/.ordo/state.json")).unwrap();
    assert_eq!(
        state["environments"]["default"]["m"]["variables"]["said"],
        "from the url"
    );
    assert!(t.read("p/ordo.lock").contains(&values));
    // `-i` too: `hosts` reads the inventory from the URL.
    t.run_in("p", &["hosts", "-i", &server.url("/hosts.yaml")])
        .code(0)
        .stdout_has("web-1");
    // Under --offline a URL the cache lacks is an error naming it and --offline.
    t.run_in(
        "p",
        &["plan", "-f", &server.url("/other.yaml"), "--offline"],
    )
    .code(3)
    .stderr_has("/other.yaml")
    .stderr_has("--offline");
}

#[test]
fn a_bare_repository_whose_head_names_no_branch_is_fetched_with_a_ref() {
    // `git init --bare` without init.defaultBranch: HEAD names `master`; only `main` is pushed.
    let (t, repo, commit) = project_with("", "//ordo?ref=main");
    git(
        &t,
        &repo.bare,
        &["symbolic-ref", "HEAD", "refs/heads/master"],
    );
    t.run_in("p", &["apply", ALLOW])
        .code(0)
        .stdout_has("changed   Note/site");
    assert!(t.read("p/ordo.lock").contains(&commit));
    // Without a ref, a dangling HEAD is a clear input error naming the source.
    let (t, repo, _) = project_with("", "//ordo");
    git(
        &t,
        &repo.bare,
        &["symbolic-ref", "HEAD", "refs/heads/master"],
    );
    t.run_in("p", &["plan", ALLOW])
        .code(3)
        .stderr_has("source `platform`")
        .stderr_has("HEAD names no branch")
        .stderr_has("?ref=");
}

#[test]
fn a_moved_branch_note_is_in_json_and_jsonl_output() {
    let (t, repo, first) = project_with("", "//ordo?ref=main");
    t.run_in("p", &["apply", ALLOW]).code(0);
    repo.commit(
        &t,
        &[("ordo/handlers/note.rhai", &format!("{NOTE}// v2\n"))],
    );
    // Another address of the repository fetches: the shared mirror learns where `main` is.
    t.run(&[
        "sources",
        "fetch",
        ALLOW,
        &repo.address("//ordo/handlers?ref=main"),
    ])
    .code(0);
    let plan = t.run_in("p", &["plan", "-o", "json", ALLOW]).json();
    let warnings = plan["warnings"].as_array().expect("warnings in -o json");
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("source `platform`") && w.contains(&format!("locked at {}", &first[..12]))
        }),
        "{plan}"
    );
    let out = t.run_in("p", &["plan", "-o", "jsonl", ALLOW]);
    let started: serde_json::Value = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "run_started")
        .unwrap();
    assert!(
        started["warnings"][0]
            .as_str()
            .unwrap()
            .contains("`ordo sources update` moves it"),
        "{started}"
    );
}

#[test]
fn schema_and_new_see_the_handlers_of_the_projects_sources() {
    let (t, _repo, commit) = project_with("    handlers: handlers\n", "//ordo?ref=main");
    let out = t.run_in("p", &["schema", ALLOW]);
    out.code(0).stdout_has("\"Note\"");
    assert!(t.read("p/ordo.lock").contains(&commit));
    t.run_in("p", &["new", "manifest", "Note", "hello", ALLOW])
        .code(0)
        .stdout_has("kind: Note");
    // Without --allow-file-sources the local repository is refused, naming the source.
    t.run_in("p", &["schema"])
        .code(3)
        .stderr_has("source `platform`");
}

#[test]
fn a_manifest_removed_from_a_source_is_an_orphan_after_sources_update() {
    let t = lab(None);
    let repo = Repo::new(&t);
    let note = |name: &str| {
        format!("kind: Note\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{text: t}}\n")
    };
    repo.commit(
        &t,
        &[
            (
                "ordo/handlers/note.rhai",
                &format!("{NOTE}fn delete(m) {{ }}\n"),
            ),
            ("ordo/manifests/keep.yaml", &note("keep")),
            ("ordo/manifests/old.yaml", &note("old")),
        ],
    );
    let t = t.file(
        "p/ordo.yaml",
        &format!(
            "kind: Project\nversion: v1\nmetadata: {{name: p}}\nspec:\n  manifests: [manifests/]\n  sources:\n  - name: platform\n    url: {}\n",
            repo.address("//ordo?ref=main")
        ),
    )
    .manifest("p/manifests/local.yaml", &note("local"));
    t.run_in("p", &["apply", ALLOW])
        .code(0)
        .stdout_has("changed   Note/old");
    // The state records where the manifest is in the source, not in the cache.
    let state: serde_json::Value = serde_json::from_str(&t.read("p/.ordo/state.json")).unwrap();
    assert_eq!(
        state["environments"]["default"]["old"]["file"],
        "platform:manifests/old.yaml"
    );
    std::fs::remove_file(repo.work.join("ordo/manifests/old.yaml")).unwrap();
    repo.commit(&t, &[]);
    t.run_in("p", &["sources", "update", ALLOW]).code(0);
    t.run_in("p", &["plan", "--prune", ALLOW])
        .code(0)
        .stdout_has("orphaned  Note/old");
    t.run_in("p", &["apply", "--prune", ALLOW])
        .code(0)
        .stdout_has("pruned: gone from the files");
    let state: serde_json::Value = serde_json::from_str(&t.read("p/.ordo/state.json")).unwrap();
    let recorded = &state["environments"]["default"];
    assert!(
        recorded["old"].is_null() && !recorded["keep"].is_null(),
        "{recorded}"
    );
}

#[test]
fn files_from_a_source_are_shown_as_the_source_and_the_path_inside_it() {
    let (t, repo, _) = project_with("", "//ordo?ref=main");
    t.run_in("p", &["handlers", ALLOW])
        .code(0)
        .stdout_has("platform:handlers/note.rhai");
    let plan = t.run_in("p", &["plan", "-o", "json", ALLOW]).json();
    assert!(
        plan["handlers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["file"] == "platform:handlers/note.rhai"),
        "{plan}"
    );
    // An error in a source's manifest: at `SOURCE:path:line:column`.
    repo.commit(
        &t,
        &[(
            "ordo/manifests/bad.yaml",
            "kind: Note\nversion: v1\nmetadata: {name: bad}\nspec: {text: t, text: u}\n",
        )],
    );
    t.run_in("p", &["sources", "update", ALLOW]).code(0);
    let out = t.run_in("p", &["plan", ALLOW]);
    out.code(3).stderr_has("platform:manifests/bad.yaml:4:");
    assert!(!out.stderr.contains("ordo/sources/trees"), "{}", out.stderr);
}

#[test]
fn a_run_that_runs_nothing_leaves_ordo_lock_alone_and_update_drops_one_off_addresses() {
    let (t, repo, commit) = project_with("", "//ordo?ref=main");
    let t = t.file("p/none/.keep", "");
    t.run_in("p", &["validate", ALLOW]).code(0);
    let before = t.read("p/ordo.lock");
    assert!(before.contains("platform"), "{before}");
    // No handler serves the address's manifests (`-s none` replaces the project's):
    // nothing was run, and the lock is as it was.
    let m = repo.address("//ordo/manifests?ref=main");
    t.run_in("p", &["validate", "-m", &m, "-s", "none", ALLOW])
        .code(3)
        .stderr_has("Note");
    assert_eq!(t.read("p/ordo.lock"), before);
    // A run that loads pins the address it was given.
    t.run_in("p", &["validate", "-m", &m, ALLOW]).code(0);
    let lock = t.read("p/ordo.lock");
    assert!(lock.contains("ordo/manifests"), "{lock}");
    // `sources update` drops what no `spec.sources` entry names, and keeps the rest.
    t.run_in("p", &["sources", "update", ALLOW])
        .code(0)
        .stdout_has(&format!("dropped {m}: no `spec.sources` entry names it"));
    let lock = t.read("p/ordo.lock");
    assert!(!lock.contains("ordo/manifests"), "{lock}");
    assert!(
        lock.contains("platform") && lock.contains(&commit),
        "{lock}"
    );
}
