//! `ordo sources`: sources from git and URLs, ordo.lock, the cache (DESIGN.md §15).
//!
//! Git remotes are bare repositories the tests make (tags, a branch that moves, hooks that
//! must never run), reached through `git+file://` with `--allow-file-sources`. Every test
//! has its own HOME and XDG_CACHE_HOME, so nothing of the machine's git config or cache
//! takes part.

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

/// A project directory with its own HOME and cache.
fn lab() -> Test {
    let t = Test::new().file(".ordo/keep", "").file("home/.keep", "");
    let home = t.path().join("home");
    let cache = t.path().join("cache");
    t.env("HOME", home.to_str().unwrap())
        .env("XDG_CACHE_HOME", cache.to_str().unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1")
}

/// The test's own git: its pushes must not run the hooks the hook test plants.
fn git(t: &Test, dir: &Path, args: &[&str]) -> String {
    git_with(t, dir, &["-c", "core.hooksPath=/dev/null"], args)
}

fn git_with(t: &Test, dir: &Path, config: &[&str], args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(config)
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

/// A bare repository `repos/NAME.git`, fed from a working copy `work/NAME`.
struct Repo {
    work: PathBuf,
    bare: PathBuf,
}

impl Repo {
    fn new(t: &Test, name: &str) -> Repo {
        let work = t.path().join("work").join(name);
        let bare = t.path().join("repos").join(format!("{name}.git"));
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&bare).unwrap();
        git(t, &work, &["init", "-q"]);
        git(t, &bare, &["init", "-q", "--bare"]);
        Repo { work, bare }
    }

    /// Commits these files on `main`, pushes, and returns the commit id.
    fn commit(&self, t: &Test, files: &[(&str, &str)]) -> String {
        for (path, text) in files {
            let full = self.work.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        git(t, &self.work, &["add", "-A"]);
        git(t, &self.work, &["commit", "-q", "-m", "change"]);
        self.push(t);
        git(t, &self.work, &["rev-parse", "HEAD"])
    }

    fn tag(&self, t: &Test, tag: &str) {
        git(t, &self.work, &["tag", tag]);
        self.push(t);
    }

    fn push(&self, t: &Test) {
        let bare = self.bare.to_str().unwrap();
        // The receiving side is another git, which must not run the planted hooks either.
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
        git(
            t,
            &self.work,
            &["push", "-q", "--force", receive, "--tags", bare],
        );
    }

    /// `git+file:///…/NAME.git` followed by `rest` (`//sub?ref=v1`).
    fn address(&self, rest: &str) -> String {
        format!("git+file://{}{rest}", self.bare.display())
    }
}

/// The value of `key:` in the lock entry of `name`.
fn locked(t: &Test, name: &str, key: &str) -> Option<String> {
    let lock = t.read("ordo.lock");
    let mut lines = lock.lines().skip_while(|l| {
        let l = l.trim().trim_end_matches(':');
        l != name && l.trim_matches('"') != name
    });
    lines.next()?;
    lines.take_while(|l| l.starts_with("    ")).find_map(|l| {
        l.trim()
            .strip_prefix(&format!("{key}: "))
            .map(str::to_string)
    })
}

/// The trees in the cache.
fn trees(t: &Test) -> Vec<PathBuf> {
    let dir = t.path().join("cache/ordo/sources/trees");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Makes a cached file writable and changes it (as a user editing the cache would).
fn tamper(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(path, "tampered: true\n").unwrap();
}

#[test]
fn the_first_fetch_writes_the_lock_and_a_read_only_tree() {
    let t = lab();
    let repo = Repo::new(&t, "platform");
    let commit = repo.commit(&t, &[("manifests/app.yaml", "a: 1\n"), ("README", "x")]);
    repo.tag(&t, "v1.0.0");
    let address = repo.address("//manifests?ref=v1.0.0");
    assert!(!t.exists("ordo.lock"));
    let out = t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "-o",
        "json",
        &address,
    ]);
    out.code(0);
    let json = out.json();
    let source = &json["sources"][0];
    assert_eq!(source["pin"], commit.as_str());
    let root = PathBuf::from(source["root"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(root.join("app.yaml")).unwrap(),
        "a: 1\n"
    );
    // Only the sub-directory was extracted, and it is read-only.
    assert!(!root.parent().unwrap().join("README").exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(root.join("app.yaml"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o222, 0, "{mode:o}");
    // The lock pins the commit and the tree hash.
    assert_eq!(
        locked(&t, &address, "url").as_deref(),
        Some(address.as_str())
    );
    assert_eq!(locked(&t, &address, "commit"), Some(commit.clone()));
    let tree = locked(&t, &address, "tree").unwrap();
    assert!(tree.starts_with("h1:"), "{tree}");
    assert_eq!(source["tree"], tree.as_str());
    t.run(&["sources", "list"])
        .code(0)
        .stdout_has(&commit[..12])
        .stdout_has("cached");
    let list = t.run(&["sources", "list", "-o", "json"]);
    list.code(0);
    assert_eq!(list.json()["sources"][0]["cached"], true);
    t.run(&["sources", "verify"]).code(0).stdout_has("intact");
    // `fetch` without addresses fetches what the lock lists, and changes nothing.
    let before = t.read("ordo.lock");
    t.run(&["sources", "fetch", "--allow-file-sources", "--locked"])
        .code(0);
    assert_eq!(t.read("ordo.lock"), before);
}

#[test]
fn a_moved_branch_is_ignored_until_sources_update() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    let first = repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let address = repo.address("?ref=main");
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(0);
    assert_eq!(locked(&t, &address, "commit"), Some(first.clone()));
    let second = repo.commit(&t, &[("m.yaml", "v: 2\n")]);
    // Fetching again keeps the pinned commit.
    let out = t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "-o",
        "json",
        &address,
    ]);
    out.code(0);
    let root = PathBuf::from(out.json()["sources"][0]["root"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(root.join("m.yaml")).unwrap(),
        "v: 1\n"
    );
    assert_eq!(locked(&t, &address, "commit"), Some(first.clone()));
    // Under --locked, update would change the lock: refused, nothing written.
    t.run(&["sources", "update", "--allow-file-sources", "--locked"])
        .code(3)
        .stderr_has("--locked");
    assert_eq!(locked(&t, &address, "commit"), Some(first.clone()));
    t.run(&["sources", "update", "--allow-file-sources"])
        .code(0)
        .stdout_has(&format!(
            "moved {address}: {} -> {}",
            &first[..12],
            &second[..12]
        ));
    assert_eq!(locked(&t, &address, "commit"), Some(second.clone()));
    let out = t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "-o",
        "json",
        &address,
    ]);
    let root = PathBuf::from(out.json()["sources"][0]["root"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(root.join("m.yaml")).unwrap(),
        "v: 2\n"
    );
    t.run(&["sources", "update", "--allow-file-sources"])
        .code(0)
        .stdout_has("nothing moved");
    t.run(&["sources", "update", "--allow-file-sources", "nmae"])
        .code(3)
        .stderr_has("ordo.lock has no source of this name");
}

#[test]
fn offline_works_from_a_warm_cache_with_the_repository_gone_and_fails_clearly_when_cold() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("d/m.yaml", "v: 1\n")]);
    repo.tag(&t, "v1");
    let address = repo.address("//d?ref=v1");
    // Cold: nothing cached, so --offline names the source and the flag.
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--offline",
        &address,
    ])
    .code(3)
    .stderr_has(&format!("source `{address}`"))
    .stderr_has("--offline");
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(0);
    std::fs::remove_dir_all(&repo.bare).unwrap();
    std::fs::remove_dir_all(&repo.work).unwrap();
    let out = t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--frozen",
        "-o",
        "json",
        &address,
    ]);
    out.code(0);
    let root = PathBuf::from(out.json()["sources"][0]["root"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(root.join("m.yaml")).unwrap(),
        "v: 1\n"
    );
    // Without --offline the gone repository is not needed either: the lock and cache serve.
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(0);
    // A new address of the gone repository cannot be resolved: exit 3 naming it.
    let other = repo.address("?ref=v2");
    t.run(&["sources", "fetch", "--allow-file-sources", &other])
        .code(3)
        .stderr_has(&format!("source `{other}`"))
        .stderr_has("cannot fetch");
}

#[test]
fn locked_refuses_a_source_the_lock_lacks() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let address = repo.address("");
    for flag in ["--locked", "--frozen"] {
        t.run(&["sources", "fetch", "--allow-file-sources", flag, &address])
            .code(3)
            .stderr_has("ordo.lock has no entry for it")
            .stderr_has(flag);
    }
    assert!(!t.exists("ordo.lock"));
}

#[test]
fn an_unknown_ref_lists_the_branches_and_tags() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    repo.tag(&t, "v1.0.0");
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        &repo.address("?ref=v1.0.1"),
    ])
    .code(3)
    .stderr_has("the ref `v1.0.1` names no branch, tag or commit")
    .stderr_has("did you mean `v1.0.0`?")
    .stderr_has("`main`");
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        &repo.address("//nope?ref=v1.0.0"),
    ])
    .code(3)
    .stderr_has("has no directory `nope`");
}

#[test]
fn file_sources_are_refused_without_the_flag() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let address = repo.address("");
    t.run(&["sources", "fetch", &address])
        .code(3)
        .stderr_has(&format!("source `{address}`"))
        .stderr_has("--allow-file-sources");
    assert!(!t.path().join("cache/ordo/sources/git").exists());
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--allow-source",
        "git.example.com",
        &address,
    ])
    .code(3)
    .stderr_has("is not among the allowed sources");
}

#[test]
fn plain_http_to_a_host_that_is_not_loopback_is_refused() {
    let t = lab();
    for address in [
        "http://example.com/f.yaml",
        "git+http://10.1.2.3/r.git",
        "git::http://example.com/r.git",
    ] {
        t.run(&["sources", "fetch", address])
            .code(3)
            .stderr_has(&format!("source `{address}`"))
            .stderr_has("only loopback hosts");
    }
}

/// A `git` first in PATH that leaves a mark when it runs, then runs the real one.
fn marking_git(t: &Test) -> (String, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = t.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mark = t.path().join("git-ran");
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\nexec '{real}' \"$@\"\n",
            mark.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (path, mark)
}

#[test]
fn a_ref_that_reads_as_an_option_is_refused_before_git_runs() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let (path, mark) = marking_git(&t);
    let t = t.env("PATH", &path);
    for (reference, says) in [
        ("-x", "starts with `-`"),
        ("--upload-pack=touch%20/tmp/pwned", "starts with `-`"),
        ("--upload-pack=sh", "starts with `-`"),
        ("9f2c1ab", "abbreviated commit"),
    ] {
        let address = repo.address(&format!("?ref={reference}"));
        t.run(&["sources", "fetch", "--allow-file-sources", &address])
            .code(3)
            .stderr_has(says);
        assert!(!mark.exists(), "git ran for ref {reference}");
    }
    // The marking git works: a good address runs it.
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        &repo.address("?ref=main"),
    ])
    .code(0);
    assert!(mark.exists());
}

#[test]
fn hooks_of_a_repository_or_a_git_template_never_run() {
    use std::os::unix::fs::PermissionsExt;
    let t = lab();
    let marker = t.path().join("HOOK-RAN");
    let hook = format!("#!/bin/sh\ntouch '{}'\n", marker.display());
    // The user's git template puts this hook in every new repository; the source
    // repository has it too, and carries hooks in its content.
    let template = t.path().join("template/hooks");
    std::fs::create_dir_all(&template).unwrap();
    std::fs::write(
        t.path().join("home/.gitconfig"),
        format!(
            "[init]\n\ttemplateDir = {}\n",
            template.parent().unwrap().display()
        ),
    )
    .unwrap();
    let repo = Repo::new(&t, "r");
    for dir in [template.clone(), repo.bare.join("hooks")] {
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "reference-transaction",
            "post-checkout",
            "post-update",
            "pre-upload",
            "post-merge",
            "fsmonitor-watchman",
        ] {
            let path = dir.join(name);
            std::fs::write(&path, &hook).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    repo.commit(
        &t,
        &[(".githooks/post-checkout", &hook), ("m.yaml", "v: 1\n")],
    );
    // The hook is real: a plain git fetch into a new repository runs it.
    let probe = t.path().join("probe.git");
    git(
        &t,
        t.path(),
        &["init", "-q", "--bare", probe.to_str().unwrap()],
    );
    assert!(!marker.exists());
    git_with(
        &t,
        &probe,
        &[],
        &[
            "fetch",
            "-q",
            repo.bare.to_str().unwrap(),
            "+refs/heads/*:refs/heads/*",
        ],
    );
    assert!(marker.exists(), "the test's hook does not work");
    std::fs::remove_file(&marker).unwrap();
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        &repo.address("?ref=main"),
    ])
    .code(0);
    repo.commit(&t, &[("m.yaml", "v: 2\n")]);
    t.run(&["sources", "update", "--allow-file-sources"])
        .code(0);
    assert!(!marker.exists(), "a hook ran");
}

#[test]
fn a_tampered_cache_is_detected_by_verify_and_before_use() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let address = repo.address("?ref=main");
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(0);
    let tree = trees(&t).into_iter().find(|p| p.is_dir()).unwrap();
    tamper(&tree.join("m.yaml"));
    t.run(&["sources", "verify"])
        .code(3)
        .stdout_has("MODIFIED")
        .stdout_has(&locked(&t, &address, "tree").unwrap());
    let json = t.run(&["sources", "verify", "-o", "json"]);
    json.code(3);
    assert_eq!(json.json()["sources"][0]["status"], "modified");
    // Before use: --offline refuses it, a normal run extracts it again.
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--offline",
        &address,
    ])
    .code(3)
    .stderr_has("was modified");
    let out = t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "-o",
        "json",
        &address,
    ]);
    out.code(0);
    let root = PathBuf::from(out.json()["sources"][0]["root"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(root.join("m.yaml")).unwrap(),
        "v: 1\n"
    );
    t.run(&["sources", "verify"]).code(0).stdout_has("intact");
}

#[test]
fn two_concurrent_fetches_of_one_source_both_succeed_with_one_intact_entry() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    let files: Vec<(String, String)> = (0..200)
        .map(|i| (format!("d/f{i}.yaml"), format!("i: {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    repo.commit(&t, &refs);
    let address = repo.address("//d?ref=main");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(["sources", "fetch", "--allow-file-sources", &address])
            .current_dir(t.path())
            .env("HOME", t.path().join("home"))
            .env("XDG_CACHE_HOME", t.path().join("cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(start);
        let b = s.spawn(start);
        (a.join().unwrap(), b.join().unwrap())
    });
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dirs: Vec<_> = trees(&t).into_iter().filter(|p| p.is_dir()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_eq!(std::fs::read_dir(dirs[0].join("d")).unwrap().count(), 200);
    t.run(&["sources", "verify"]).code(0).stdout_has("intact");
    assert!(locked(&t, &address, "commit").is_some());
}
