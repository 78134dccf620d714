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

// ---------------------------------------------------------------------------------------
// Downloads: files and archives from an HTTP server on 127.0.0.1.

use common::http::FileServer;

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One tar entry, its header written by hand: names and types the `tar` crate's builder
/// refuses (`../x`, `/etc/x`, devices) get in, and the size may lie.
fn raw(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8], size: u64) {
    let mut header = tar::Header::new_old();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(size);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn file(out: &mut Vec<u8>, name: &str, data: &str) {
    raw(
        out,
        name,
        tar::EntryType::Regular,
        "",
        data.as_bytes(),
        data.len() as u64,
    );
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    out.resize(out.len() + 1024, 0);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn a_file_and_an_archive_are_verified_pinned_and_unpacked() {
    let t = lab();
    let server = FileServer::start();
    server.serve("/f/app.yaml", "a: 1\n");
    let mut tar = Vec::new();
    file(&mut tar, "bundle/manifests/m.yaml", "m: 1\n");
    file(&mut tar, "bundle/handlers/h.rhai", "// h\n");
    let archive = gz(&finish(tar));
    server.serve("/b/bundle.tar.gz", archive.clone());
    let f = format!("{}?sha256={}", server.url("/f/app.yaml"), sha(b"a: 1\n"));
    let a = format!(
        "{}//bundle/manifests?sha256={}",
        server.url("/b/bundle.tar.gz"),
        sha(&archive)
    );
    let out = t.run(&["sources", "fetch", "-o", "json", &f, &a]);
    out.code(0);
    let json = out.json();
    let file_root = PathBuf::from(json["sources"][0]["root"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(&file_root).unwrap(), "a: 1\n");
    assert!(file_root.ends_with("app.yaml"));
    let dir_root = PathBuf::from(json["sources"][1]["root"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(dir_root.join("m.yaml")).unwrap(),
        "m: 1\n"
    );
    assert_eq!(
        locked(&t, &f, "digest"),
        Some(format!("sha256:{}", sha(b"a: 1\n")))
    );
    assert_eq!(
        locked(&t, &a, "digest"),
        Some(format!("sha256:{}", sha(&archive)))
    );
    t.run(&["sources", "verify"]).code(0).stdout_has("intact");
    // Warm: --offline makes no request at all.
    let before = server.requests();
    t.run(&["sources", "fetch", "--offline", &f, &a]).code(0);
    assert_eq!(server.requests(), before);
}

#[test]
fn an_unpinned_download_is_pinned_by_the_lock_until_update() {
    let t = lab();
    let server = FileServer::start();
    server.serve("/app.yaml", "a: 1\n");
    let address = server.url("/app.yaml");
    t.run(&["sources", "fetch", &address]).code(0);
    assert_eq!(
        locked(&t, &address, "digest"),
        Some(format!("sha256:{}", sha(b"a: 1\n")))
    );
    // The server's file changes; the lock and cache still serve the pinned one.
    server.serve("/app.yaml", "a: 2\n");
    let before = server.requests();
    let out = t.run(&["sources", "fetch", "-o", "json", &address]);
    out.code(0);
    let root = PathBuf::from(out.json()["sources"][0]["root"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(&root).unwrap(), "a: 1\n");
    assert_eq!(server.requests(), before);
    t.run(&["sources", "update"]).code(0).stdout_has("moved");
    assert_eq!(
        locked(&t, &address, "digest"),
        Some(format!("sha256:{}", sha(b"a: 2\n")))
    );
    // Cold and offline: a clear error naming the source.
    let other = server.url("/other.yaml");
    t.run(&["sources", "fetch", "--offline", &other])
        .code(3)
        .stderr_has(&format!("source `{other}`"))
        .stderr_has("--offline");
}

#[test]
fn a_wrong_digest_is_exit_3_with_both_hashes_and_nothing_unpacked() {
    let t = lab();
    let server = FileServer::start();
    let mut tar = Vec::new();
    file(&mut tar, "m.yaml", "m: 1\n");
    let archive = finish(tar);
    server.serve("/b.tar", archive.clone());
    let wrong = "0".repeat(64);
    let address = format!("{}?sha256={wrong}", server.url("/b.tar"));
    t.run(&["sources", "fetch", &address])
        .code(3)
        .stderr_has(&format!("source `{address}`"))
        .stderr_has(&sha(&archive))
        .stderr_has(&wrong)
        .stderr_has(&server.url("/b.tar"));
    assert!(trees(&t).is_empty());
    assert!(!t.exists("ordo.lock"));
}

#[test]
fn every_archive_escape_is_refused_before_anything_is_written() {
    use tar::EntryType::{Block, Char, Fifo, Link, Regular, Symlink};
    let t = lab();
    let server = FileServer::start();
    let outside = t.path().join("OUTSIDE");
    let abs = outside.to_str().unwrap().to_string();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    let one = |name: &str, kind, link: &str, says: &'static str| {
        let mut tar = Vec::new();
        file(&mut tar, "ok.yaml", "fine: true\n");
        raw(&mut tar, name, kind, link, b"", 0);
        (finish(tar), says)
    };
    let (a, s) = one("../ESCAPED", Regular, "", "leaves the tree");
    cases.push(("dotdot", a, s));
    let (a, s) = one(&abs, Regular, "", "absolute path");
    cases.push(("absolute", a, s));
    let (a, s) = one(
        "link",
        Symlink,
        "../../../../../../etc",
        "points outside the tree",
    );
    cases.push(("symlink", a, s));
    let (a, s) = one("link", Symlink, "/etc/passwd", "points outside the tree");
    cases.push(("symlink-absolute", a, s));
    let (a, s) = one("hard", Link, "/etc/passwd", "not a file unpacked before it");
    cases.push(("hardlink", a, s));
    let (a, s) = one("hard", Link, "../ESCAPED", "not a file unpacked before it");
    cases.push(("hardlink-dotdot", a, s));
    let (a, s) = one("dev", Char, "", "device file or FIFO");
    cases.push(("char", a, s));
    let (a, s) = one("dev", Block, "", "device file or FIFO");
    cases.push(("block", a, s));
    let (a, s) = one("fifo", Fifo, "", "device file or FIFO");
    cases.push(("fifo", a, s));
    // A link inside the tree, then a file written through it.
    let mut tar = Vec::new();
    raw(&mut tar, "d", Symlink, ".", b"", 0);
    file(&mut tar, "d/ESCAPED", "x");
    cases.push(("through-link", finish(tar), "passes through the link"));
    // A size bomb: one entry claiming 600 MiB (refused from its header, nothing read).
    let mut tar = Vec::new();
    raw(&mut tar, "big", Regular, "", b"", 600 << 20);
    cases.push(("size-bomb", tar, "more than 512 MiB"));
    // A file-count bomb: 100 001 empty files.
    let mut tar = Vec::new();
    for i in 0..100_001 {
        raw(&mut tar, &format!("f/{i}"), Regular, "", b"", 0);
    }
    cases.push(("count-bomb", gz(&finish(tar)), "more than 100000 entries"));
    for (name, bytes, says) in cases {
        let path = if name == "count-bomb" {
            format!("/{name}.tar.gz")
        } else {
            format!("/{name}.tar")
        };
        server.serve(&path, bytes);
        let address = server.url(&path);
        t.run(&["sources", "fetch", &address])
            .code(3)
            .stderr_has(&format!("source `{address}`"))
            .stderr_has("refused to unpack")
            .stderr_has(says);
        assert!(trees(&t).is_empty(), "{name}: a tree was kept");
    }
    assert!(!outside.exists());
    let escaped: Vec<_> = walkdir::WalkDir::new(t.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "ESCAPED" || e.file_name() == "ok.yaml")
        .map(|e| e.path().to_path_buf())
        .collect();
    assert!(escaped.is_empty(), "written: {escaped:?}");
    assert!(!t.exists("ordo.lock"));
}

#[test]
fn redirects_are_followed_only_on_the_same_host() {
    let t = lab();
    let server = FileServer::start();
    server.serve("/app.yaml", "a: 1\n");
    server.redirect("/same", "/app.yaml");
    let port = server.addr.port();
    server.redirect("/elsewhere", &format!("http://localhost:{port}/app.yaml"));
    t.run(&["sources", "fetch", &server.url("/same")]).code(0);
    t.run(&["sources", "fetch", &server.url("/elsewhere")])
        .code(3)
        .stderr_has("follows redirects only to its own scheme, host and port");
}

#[test]
fn a_tampered_download_is_unpacked_again_from_the_verified_copy() {
    let t = lab();
    let server = FileServer::start();
    server.serve("/app.yaml", "a: 1\n");
    let address = format!("{}?sha256={}", server.url("/app.yaml"), sha(b"a: 1\n"));
    let out = t.run(&["sources", "fetch", "-o", "json", &address]);
    out.code(0);
    let root = PathBuf::from(out.json()["sources"][0]["root"].as_str().unwrap());
    tamper(&root);
    t.run(&["sources", "verify"]).code(3).stdout_has("MODIFIED");
    let before = server.requests();
    t.run(&["sources", "fetch", &address]).code(0);
    assert_eq!(std::fs::read_to_string(&root).unwrap(), "a: 1\n");
    // The kept download (checked by its digest) served; no request was needed.
    assert_eq!(server.requests(), before);
}

#[test]
fn fetch_without_addresses_fetches_the_project_files_sources_by_name() {
    let t = lab();
    let repo = Repo::new(&t, "lib");
    let commit = repo.commit(&t, &[("handlers/h.rhai", "// h\n")]);
    repo.tag(&t, "v1");
    let t = t.file(
        "ordo.yaml",
        &format!(
            "kind: Project\nversion: v1\nmetadata: {{name: p}}\nspec:\n  sources:\n  - name: lib\n    url: {}\n    handlers: handlers\n",
            repo.address("?ref=v1")
        ),
    );
    t.run(&["sources", "fetch", "--allow-file-sources"])
        .code(0)
        .stdout_has("lib");
    assert_eq!(locked(&t, "lib", "commit"), Some(commit));
    t.run(&["sources", "list"]).code(0).stdout_has("lib");
    // A bad address there is reported at its line of ordo.yaml.
    let bad = lab().file(
        "ordo.yaml",
        "kind: Project\nversion: v1\nmetadata: {name: p}\nspec:\n  sources:\n  - name: bad\n    url: git+https://h/r.git?ref=-x\n",
    );
    bad.run(&["sources", "fetch"])
        .code(3)
        .stderr_has("ordo.yaml:7")
        .stderr_has("source `bad`")
        .stderr_has("starts with `-`");
}

#[test]
fn a_pinned_branch_that_moved_is_noted_with_both_commits() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    let first = repo.commit(&t, &[("a/m.yaml", "v: 1\n"), ("b/m.yaml", "v: 1\n")]);
    let a = repo.address("//a?ref=main");
    t.run(&["sources", "fetch", "--allow-file-sources", &a])
        .code(0)
        .stderr_lacks("note");
    let second = repo.commit(&t, &[("a/m.yaml", "v: 2\n")]);
    // Another source of the same repository fetches: the shared mirror learns where `main` is.
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        &repo.address("//b?ref=main"),
    ])
    .code(0);
    let note = format!(
        "locked at {}, `main` now at {}; `ordo sources update` moves it",
        &first[..12],
        &second[..12]
    );
    t.run(&["sources", "fetch", "--allow-file-sources", &a])
        .code(0)
        .stdout_has(&format!("note: {note}"));
    let out = t.run(&["sources", "fetch", "--allow-file-sources", "-o", "json", &a]);
    assert_eq!(out.json()["sources"][0]["note"], note.as_str());
    assert_eq!(locked(&t, &a, "commit"), Some(first));
}

#[test]
fn allow_source_and_require_digest_decide_what_may_be_fetched() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    let commit = repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let branch = repo.address("?ref=main");
    let pinned = repo.address(&format!("?ref={commit}"));
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--allow-source",
        "git+file://*",
        &branch,
    ])
    .code(0);
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--require-digest",
        &branch,
    ])
    .code(3)
    .stderr_has(&format!("source `{branch}`"))
    .stderr_has("a git source needs `?ref=` with a full commit id");
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--require-digest",
        &pinned,
    ])
    .code(0);
    assert_eq!(locked(&t, &pinned, "commit"), Some(commit));
    t.run(&[
        "sources",
        "fetch",
        "--require-digest",
        "https://127.0.0.1:1/f.yaml",
    ])
    .code(3)
    .stderr_has("a download needs `?sha256=HEX`");
}

#[test]
fn a_repository_whose_links_leave_the_tree_is_refused_and_inner_links_are_kept() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("d/m.yaml", "v: 1\n")]);
    std::os::unix::fs::symlink("m.yaml", repo.work.join("d/alias.yaml")).unwrap();
    repo.commit(&t, &[]);
    let out = t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "-o",
        "json",
        &repo.address("//d?ref=main"),
    ]);
    out.code(0);
    let root = PathBuf::from(out.json()["sources"][0]["root"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(root.join("alias.yaml")).unwrap(),
        "v: 1\n"
    );
    std::os::unix::fs::symlink("../../../../etc/passwd", repo.work.join("d/evil")).unwrap();
    repo.commit(&t, &[]);
    t.run(&["sources", "update", "--allow-file-sources"])
        .code(3)
        .stderr_has("refused to unpack")
        .stderr_has("points outside the tree");
}

#[test]
fn a_broken_lock_file_is_exit_3_naming_it_and_the_line() {
    let t = lab().file(
        "ordo.lock",
        "version: 1\nsources:\n  lib:\n    url: git+https://h/r.git\n    commit: 9f2c\n    tree: h1:x\n",
    );
    t.run(&["sources", "list"])
        .code(3)
        .stderr_has("ordo.lock:4: the entry `lib` needs either `commit` (a full commit id)");
    let t = lab().file("ordo.lock", "version: 2\nsources: {}\n");
    t.run(&["sources", "verify"])
        .code(3)
        .stderr_has("ordo.lock:1: `version` must be 1");
}

// ---------------------------------------------------------------------------------------
// attack21 regressions: git redirects, unreachable commits, the lock file, the cache.

/// Serves every file of a bare repository under `/PREFIX/…` (git's "dumb" HTTP protocol).
fn serve_repo(t: &Test, repo: &Repo, server: &FileServer, prefix: &str) {
    git(t, &repo.bare, &["update-server-info"]);
    for entry in walk(&repo.bare) {
        let rel = entry.strip_prefix(&repo.bare).unwrap().to_str().unwrap();
        let body = std::fs::read(&entry).unwrap();
        server.serve(&format!("{prefix}/{rel}"), body.clone());
        if rel == "info/refs" {
            server.serve(&format!("{prefix}/{rel}?service=git-upload-pack"), body);
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn git_follows_no_http_redirect() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let elsewhere = FileServer::start();
    serve_repo(&t, &repo, &elsewhere, "/other/r.git");
    // Served directly, the repository is fetched (the server works).
    t.run(&[
        "sources",
        "fetch",
        &format!("git+{}?ref=main", elsewhere.url("/other/r.git")),
    ])
    .code(0);
    // Reached through a redirect, it is not: git talks only to the address's own server.
    let front = FileServer::start();
    let to = elsewhere.url("/other/r.git/info/refs?service=git-upload-pack");
    front.redirect("/r.git/info/refs?service=git-upload-pack", &to);
    let before = elsewhere.requests();
    t.run(&[
        "sources",
        "fetch",
        &format!("git+{}?ref=main", front.url("/r.git")),
    ])
    .code(3)
    .stderr_has("/r.git");
    assert_eq!(elsewhere.requests(), before, "git followed the redirect");
}

#[test]
fn a_commit_no_branch_or_tag_reaches_is_refused_and_a_commit_pin_has_no_moves_note() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    let first = repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    // A commit pushed to a branch that is deleted again: the repository holds it, no ref
    // reaches it (as a fork's commit in GitHub's shared object store).
    std::fs::write(repo.work.join("evil.yaml"), "kind: Evil\n").unwrap();
    git(&t, &repo.work, &["add", "-A"]);
    git(&t, &repo.work, &["commit", "-q", "-m", "evil"]);
    let evil = git(&t, &repo.work, &["rev-parse", "HEAD"]);
    let bare = repo.bare.to_str().unwrap();
    git(&t, &repo.work, &["push", "-q", bare, "HEAD:refs/heads/tmp"]);
    git(&t, &repo.work, &["push", "-q", bare, ":refs/heads/tmp"]);
    git(
        &t,
        &repo.bare,
        &["config", "uploadpack.allowAnySHA1InWant", "true"],
    );
    let address = repo.address(&format!("?ref={evil}"));
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(3)
        .stderr_has("no branch or tag of the repository reaches commit")
        .stderr_has(&address);
    assert!(!t.exists("ordo.lock"));
    // A commit of `main` is fine; when `main` moves on, no note says `update` moves it.
    git(&t, &repo.work, &["reset", "-q", "--hard", &first]);
    repo.commit(&t, &[("m.yaml", "v: 2\n")]);
    let pinned = repo.address(&format!("?ref={first}"));
    let out = t.run(&["sources", "fetch", "--allow-file-sources", &pinned]);
    out.code(0).stderr_lacks("moves it");
    assert!(!out.stdout.contains("moves it"), "{}", out.stdout);
}

#[test]
fn a_lock_file_that_is_a_fifo_is_refused_without_hanging() {
    let t = lab();
    let fifo = t.path().join("ff");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink(&fifo, t.path().join("ordo.lock")).unwrap();
    let mut child = t.spawn(&["sources", "list"]);
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("ordo hung on a FIFO ordo.lock");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(3)
        .stderr_has("ordo.lock")
        .stderr_has("not a regular file");
}

#[test]
fn update_refuses_offline() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let address = repo.address("?ref=main");
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(0);
    repo.commit(&t, &[("m.yaml", "v: 2\n")]);
    t.run(&["sources", "update", "--allow-file-sources", "--offline"])
        .code(3)
        .stderr_has("--offline")
        .stderr_lacks("nothing moved");
}

#[test]
fn a_cached_tree_swapped_for_a_link_is_never_walked() {
    use std::os::unix::fs::PermissionsExt;
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("m.yaml", "v: 1\n")]);
    let address = repo.address("?ref=main");
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(0);
    let tree = trees(&t).into_iter().find(|p| p.is_dir()).unwrap();
    let victim = t.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("top.txt"), "precious").unwrap();
    std::fs::set_permissions(
        victim.join("top.txt"),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    let opened = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&tree)
        .status()
        .unwrap();
    assert!(opened.success());
    std::fs::remove_dir_all(&tree).unwrap();
    std::os::unix::fs::symlink(&victim, &tree).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    t.run(&["sources", "verify"]).code(3);
    t.run(&[
        "sources",
        "fetch",
        "--allow-file-sources",
        "--offline",
        &address,
    ])
    .code(3);
    assert_eq!(mode(&victim.join("top.txt")), 0o400);
    t.run(&["sources", "fetch", "--allow-file-sources", &address])
        .code(0);
    assert_eq!(mode(&victim.join("top.txt")), 0o400);
    assert!(std::fs::symlink_metadata(&tree).unwrap().is_dir());
    assert!(victim.join("top.txt").exists());
    t.run(&["sources", "verify"]).code(0).stdout_has("intact");
}

#[test]
fn a_lock_file_with_an_unknown_key_is_exit_3_naming_the_line() {
    let c = "a".repeat(40);
    let t = lab().file(
        "ordo.lock",
        &format!("version: 1\nsources:\n  x:\n    url: git+https://h/r.git\n    comit: {c}\n    tree: h1:x\n"),
    );
    t.run(&["sources", "list"])
        .code(3)
        .stderr_has("ordo.lock:5: unknown key `comit`; did you mean `commit`?");
    let t = lab().file(
        "ordo.lock",
        &format!("version: 1\nsources:\n  x:\n    url: git+https://h/r.git\n    commit: {c}\n    tree: h1:x\nextra: 2\n"),
    );
    t.run(&["sources", "fetch", "--locked"])
        .code(3)
        .stderr_has("ordo.lock:7: unknown key `extra`");
}

// ---------------------------------------------------------------------------------------
// Addresses read one way by ordo and another by git or the HTTP client (A21-F1, F2, F5, F7,
// F8): every address is parsed by one URL parser and its serialization is what is fetched.

#[test]
fn an_address_whose_host_parsers_read_differently_is_refused_before_any_request() {
    let t = lab();
    let server = FileServer::start();
    server.serve("/x.yaml", "x: 1\n");
    let h = sha(b"x: 1\n");
    let at = server.addr.to_string();
    let port = server.addr.port();
    // Before, `127.0.0.2` was checked (and allowed) while the client reached the server.
    t.run(&[
        "sources",
        "fetch",
        "--allow-source",
        "127.0.0.2",
        &format!("http://{at}#@127.0.0.2/x.yaml?sha256={h}"),
    ])
    .code(3)
    .stderr_has("holds no `#`");
    for (address, says) in [
        (
            format!("http://192.0.2.2#@{at}/x.yaml?sha256={h}"),
            "holds no `#`",
        ),
        (
            format!("git+http://evil.example#@{at}/r.git"),
            "holds no `#`",
        ),
        (
            format!("http://{at}\\@evil.example/x.yaml"),
            "holds no `\\`",
        ),
        (
            format!("http://127.0.0.1.evil:{port}/x.yaml"),
            "only loopback",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/x.yaml"),
            "a URL parser reads this address as",
        ),
        (
            format!("http://2130706433:{port}/x.yaml"),
            "a URL parser reads",
        ),
        (
            format!("http://0177.0.0.1:{port}/x.yaml"),
            "a URL parser reads",
        ),
        (
            format!("http://0x7f.0.0.1:{port}/x.yaml"),
            "a URL parser reads",
        ),
        (
            format!("http://%31%32%37.0.0.1:{port}/x.yaml"),
            "percent-encoded",
        ),
        (
            format!("http://{at}@evil.example/x.yaml"),
            "holds no user name",
        ),
        (
            format!("http://evil.example:80@{at}/x.yaml"),
            "holds no user name",
        ),
    ] {
        t.run(&["sources", "fetch", &address])
            .code(3)
            .stderr_has(says);
    }
    for (pattern, address) in [
        (
            "git.example.com",
            "git+https://evil.example#@git.example.com/org/r.git?ref=main",
        ),
        (
            "files.example.com",
            "https://evil.example#@files.example.com/f.yaml",
        ),
        (
            "files.example.com",
            "https://files.example.com@evil.example/f.yaml",
        ),
    ] {
        t.run(&["sources", "fetch", "--allow-source", pattern, address])
            .code(3);
    }
    assert_eq!(server.requests(), 0);
    assert!(!t.exists("ordo.lock"));
    // The plain spelling of the same source works.
    t.run(&[
        "sources",
        "fetch",
        &format!("http://{at}/x.yaml?sha256={h}"),
    ])
    .code(0);
}

#[test]
fn allow_source_matches_the_host_or_a_url_prefix_never_the_ref_subdir_or_query() {
    let t = lab();
    let repo = Repo::new(&t, "r");
    repo.commit(&t, &[("a.example.com/m.yaml", "v: 1\n")]);
    repo.tag(&t, "x.example.com");
    for address in [
        repo.address("?ref=x.example.com"),
        repo.address("//a.example.com?ref=main"),
    ] {
        t.run(&[
            "sources",
            "fetch",
            "--allow-file-sources",
            "--allow-source",
            "*.example.com",
            &address,
        ])
        .code(3)
        .stderr_has("is not among the allowed sources");
    }
    let server = FileServer::start();
    server.serve("/ok/f.yaml", "f: 1\n");
    server.serve("/okay/f.yaml", "f: 1\n");
    server.serve("/ok/a/b/f.yaml", "f: 1\n");
    let at = server.addr.to_string();
    let prefix = format!("http://{at}/ok");
    let allow = |pattern: &str, address: &str| {
        t.run(&["sources", "fetch", "--allow-source", pattern, address])
            .code
    };
    assert_eq!(
        allow("*.example.com", &server.url("/ok/f.yaml?x=.example.com")),
        3
    );
    assert_eq!(
        allow("*.example.com*", &server.url("/ok/f.yaml?x=.example.com")),
        3
    );
    assert_eq!(allow(&prefix, &server.url("/okay/f.yaml")), 3);
    assert_eq!(
        allow(
            &format!("http://{at}/*/f.yaml"),
            &server.url("/ok/a/b/f.yaml")
        ),
        3
    );
    assert_eq!(server.requests(), 0);
    assert_eq!(allow(&prefix, &server.url("/ok/f.yaml")), 0);
    assert_eq!(
        allow(&format!("http://{at}/*/a"), &server.url("/ok/a/b/f.yaml")),
        0
    );
    assert_eq!(allow("127.0.0.1", &server.url("/okay/f.yaml")), 0);
    assert_eq!(
        allow(
            &format!("127.0.0.1:{}", server.addr.port()),
            &server.url("/ok/f.yaml")
        ),
        0
    );
    assert_eq!(allow("127.0.0.1:1", &server.url("/ok/f.yaml")), 3);
}

#[test]
fn credentials_in_an_address_are_refused_and_never_shown_sent_or_locked() {
    let t = lab();
    let server = FileServer::start();
    server.serve("/x.yaml", "x: 1\n");
    let h = sha(b"x: 1\n");
    let at = server.addr.to_string();
    for address in [
        format!("http://ghp_S3CRET@{at}/x.yaml?sha256={h}"),
        format!("git+http://ghp_S3CRET@{at}/r.git?ref=main"),
        format!("http://user:S3CRET@{at}/x.yaml"),
        format!("http://{at}/x.yaml?token=S3CRET&sha256={h}"),
        format!("http://{at}/x.yaml?X-Amz-Signature=S3CRET&X-Amz-Credential=S3CRET"),
        format!("http://{at}/x.yaml?sig=S3CRET"),
    ] {
        for json in [false, true] {
            let mut args = vec!["sources", "fetch", &address];
            if json {
                args.extend(["-o", "json"]);
            }
            let out = t.run(&args);
            out.code(3);
            assert!(
                !out.stdout.contains("S3CRET") && !out.stderr.contains("S3CRET"),
                "{address}: {}{}",
                out.stdout,
                out.stderr
            );
        }
    }
    assert_eq!(server.requests(), 0);
    assert!(!t.exists("ordo.lock"));
    // From the project file, the error points at the line (the snippet quotes the user's
    // own file) and its message masks the token.
    let t = t.file(
        "ordo.yaml",
        &format!(
            "kind: Project\nversion: v1\nmetadata: {{name: p}}\nspec:\n  sources:\n  - name: s\n    url: http://ghp_S3CRET@{at}/x.yaml?sha256={h}\n"
        ),
    );
    let out = t.run(&["sources", "fetch"]);
    out.code(3).stderr_has("holds no user name");
    let message = out.stderr.lines().next().unwrap_or_default();
    assert!(!message.contains("S3CRET"), "{}", out.stderr);
    assert!(!t.exists("ordo.lock"));
}

#[test]
fn a_redirect_to_another_port_or_scheme_on_the_same_host_is_refused() {
    let t = lab();
    let other = FileServer::start();
    other.serve("/app.yaml", "a: 1\n");
    let server = FileServer::start();
    server.redirect("/port", &other.url("/app.yaml"));
    server.redirect(
        "/scheme",
        &format!("https://127.0.0.1:{}/app.yaml", server.addr.port()),
    );
    for path in ["/port", "/scheme"] {
        t.run(&["sources", "fetch", &server.url(path)])
            .code(3)
            .stderr_has("only to its own scheme, host and port");
    }
    assert_eq!(other.requests(), 0);
}

#[test]
fn a_query_parameter_given_twice_is_refused_naming_it() {
    let t = lab();
    let server = FileServer::start();
    server.serve("/x.yaml", "x: 1\n");
    let good = sha(b"x: 1\n");
    let first = "a".repeat(64);
    for (address, key) in [
        (
            server.url(&format!("/x.yaml?sha256={first}&sha256={good}")),
            "sha256",
        ),
        (server.url(&format!("/x.yaml?v=1&v=2&sha256={good}")), "v"),
        (
            "git+https://h.example/r.git?ref=v1&ref=v2".to_string(),
            "ref",
        ),
    ] {
        t.run(&["sources", "fetch", &address])
            .code(3)
            .stderr_has(&format!("the parameter `{key}` is given twice"));
    }
    assert_eq!(server.requests(), 0);
    assert!(!t.exists("ordo.lock"));
}
