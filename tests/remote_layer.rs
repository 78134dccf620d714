//! The target layer on a host (`ordo::target::{fs, exec, facts}`) against real sshd
//! processes on 127.0.0.1 (tests/common/sshd.rs): every file operation, with hostile names
//! and under an `fsRoot` attacked with `..` and symlinks; commands with env, cwd, stdin, a
//! timeout that kills the remote group, and `become` through a stand-in `sudo`; facts; an
//! unreachable host. The "remote" host is this machine, so its files are checked here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sshd::{Lab, Sshd};
use ordo::target::exec::Exec;
use ordo::target::ssh::{Connection, HostParams, Settings};
use ordo::target::{RemoteHost, TransportError};

fn remote(lab: &Lab, host: &Sshd, fs_root: Option<&Path>, r#become: bool) -> RemoteHost {
    let reach = lab.reach(host);
    let params = HostParams {
        name: reach.name,
        address: reach.address,
        port: Some(reach.port),
        user: None,
        identity_file: Some(reach.identity_file),
        ssh_options: reach.ssh_options,
    };
    RemoteHost {
        name: host.name.clone(),
        connection: Arc::new(Connection::new(params, Settings::default()).unwrap()),
        r#become,
        become_user: None,
        fs_root: fs_root.map(|p| p.display().to_string()),
    }
}

fn outside_refused<T>(e: Result<T, TransportError>) -> bool {
    matches!(e, Err(TransportError::OutsideRoot { .. }))
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn every_file_operation_works_on_a_host_with_hostile_names() {
    let Some(lab) = Lab::new() else { return };
    let sshd = lab.host("web", 10);
    let host = remote(&lab, &sshd, None, false);
    let fs = host.fs(false);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("a b/it's/$(touch pwned)/-n\nline");
    let file = base.join("f 'x'.txt");
    let f = s(&file);

    assert!(!fs.exists(&f).unwrap());
    assert!(fs.write(&f, b"one\n", None).unwrap(), "created");
    assert_eq!(std::fs::read(&file).unwrap(), b"one\n");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644 & !0o022, "0644 less the umask");
    assert!(
        !fs.write(&f, b"one\n", None).unwrap(),
        "the same content is not written again"
    );
    // A big file is compared before it is sent: unchanged, it is not written again.
    let big = vec![b'x'; 200 << 10];
    let big_path = s(&base.join("big"));
    assert!(fs.write(&big_path, &big, None).unwrap());
    assert!(!fs.write(&big_path, &big, None).unwrap());
    assert!(fs.write(&big_path, &big[1..], None).unwrap());
    assert_eq!(fs.size(&big_path).unwrap(), (200 << 10) - 1);
    assert!(fs.remove(&big_path).unwrap());
    fs.append(&f, b"two\n").unwrap();
    assert_eq!(fs.read(&f, 1000).unwrap(), b"one\ntwo\n");
    assert!(fs.exists(&f).unwrap());
    assert!(!fs.is_dir(&f).unwrap());
    assert!(fs.is_dir(&s(&base)).unwrap());
    assert_eq!(fs.size(&f).unwrap(), 8);
    assert_eq!(
        fs.sha256(&f).unwrap(),
        ordo::stdlib::sha256_hex(b"one\ntwo\n")
    );

    // A mode given is exact; without one a replaced file keeps its mode.
    fs.write(&f, b"secret", Some(0o600)).unwrap();
    assert_eq!(fs.mode(&f).unwrap(), 0o600);
    fs.write(&f, b"secret 2", None).unwrap();
    assert_eq!(fs.mode(&f).unwrap(), 0o600);
    fs.chmod(&f, 0o750).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
        0o750
    );
    let (content, mode) = fs.read_with_mode(&f, 1000).unwrap();
    assert_eq!((content.as_slice(), mode), (&b"secret 2"[..], 0o750));

    let copy = base.join("-copy\n");
    fs.copy(&f, &s(&copy)).unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), b"secret 2");
    assert_eq!(
        fs.mode(&s(&copy)).unwrap(),
        0o750,
        "the copy keeps the mode"
    );
    fs.mkdir(&s(&base.join("sub/deeper"))).unwrap();
    assert_eq!(
        fs.list(&s(&base), 100).unwrap(),
        ["-copy\n", "f 'x'.txt", "sub"]
    );
    assert!(matches!(
        fs.list(&s(&base), 2),
        Err(TransportError::FileFailed { .. })
    ));

    // Reads are bounded; a directory is not a file; missing files are told apart.
    assert!(matches!(
        fs.read(&f, 3),
        Err(TransportError::TooLarge { limit: 3, .. })
    ));
    assert!(matches!(
        fs.read(&s(&base), 100),
        Err(TransportError::FileFailed { .. })
    ));
    assert!(matches!(
        fs.read(&s(&base.join("none")), 100),
        Err(TransportError::NotFound { .. })
    ));
    assert!(matches!(
        fs.remove(&s(&base)),
        Err(TransportError::FileFailed { .. })
    ));
    assert!(fs.remove(&f).unwrap());
    assert!(!fs.remove(&f).unwrap());
    assert!(fs.remove_dir(&s(dir.path().join("a b").as_path())).unwrap());
    assert!(!dir.path().join("a b").exists());
    assert!(!fs.remove_dir(&s(dir.path().join("a b").as_path())).unwrap());
    assert!(!Path::new("pwned").exists() && !sshd_home_has("pwned"));

    // Remote paths are absolute.
    assert!(matches!(
        fs.read("relative.txt", 100),
        Err(TransportError::NotAbsolute { .. })
    ));
    assert!(matches!(
        fs.write("", b"x", None),
        Err(TransportError::NotAbsolute { .. })
    ));
}

fn sshd_home_has(name: &str) -> bool {
    std::env::var_os("HOME").is_some_and(|h| Path::new(&h).join(name).exists())
}

#[test]
fn fs_root_confines_paths_against_dotdot_and_symlinks() {
    let Some(lab) = Lab::new() else { return };
    let sshd = lab.host("db", 10);
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    let outside = top.path().join("outside");
    std::fs::create_dir_all(root.join("inside")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "do not read").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("secret-link")).unwrap();
    std::os::unix::fs::symlink("inside", root.join("in-link")).unwrap();
    let host = remote(&lab, &sshd, Some(&root), false);
    let fs = host.fs(false);
    let r = |p: &str| format!("{}/{p}", root.display());

    // Inside works, through a symlink that stays inside too.
    fs.write(&r("inside/a.txt"), b"ok", None).unwrap();
    assert_eq!(fs.read(&r("in-link/a.txt"), 100).unwrap(), b"ok");
    assert!(fs.exists(&s(&root)).unwrap(), "the root itself exists");

    // `..`, even one that would land inside, and symlinks to outside are refused.
    assert!(outside_refused(fs.read(&r("inside/../inside/a.txt"), 100)));
    assert!(outside_refused(fs.read(&r("../outside/secret"), 100)));
    assert!(outside_refused(fs.read(&r("out/secret"), 100)));
    assert!(outside_refused(fs.read(&r("secret-link"), 100)));
    assert!(outside_refused(fs.write(&r("out/new"), b"x", None)));
    assert!(outside_refused(fs.write(&r("secret-link"), b"x", None)));
    assert!(outside_refused(fs.append(&r("secret-link"), b"x")));
    assert!(outside_refused(fs.chmod(&r("secret-link"), 0o777)));
    assert!(outside_refused(fs.mkdir(&r("out/made"))));
    assert!(outside_refused(
        fs.copy(&r("secret-link"), &r("inside/stolen"))
    ));
    assert!(outside_refused(
        fs.copy(&r("inside/a.txt"), &r("out/planted"))
    ));
    assert!(outside_refused(fs.list(&r("out"), 100)));
    assert!(outside_refused(fs.sha256(&r("secret-link"))));
    assert!(outside_refused(fs.read("/etc/hostname", 100)));
    assert!(outside_refused(fs.dir(&r("out"))));
    assert!(outside_refused(fs.remove_dir(&r("out/.."))));
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "do not read"
    );
    assert!(!outside.join("new").exists() && !outside.join("made").exists());
    assert!(!outside.join("planted").exists());
    assert!(!root.join("inside/stolen").exists());

    // A symlink is removed itself, never followed; the root cannot be removed.
    assert!(fs.remove(&r("secret-link")).unwrap());
    assert!(outside.join("secret").exists());
    assert!(fs.remove_dir(&r("out")).unwrap());
    assert!(
        outside.join("secret").exists(),
        "the link went, not its target"
    );
    assert!(matches!(
        fs.remove_dir(&s(&root)),
        Err(TransportError::FileFailed { .. })
    ));
    assert!(root.exists());

    // A file with another name outside is not changed in place.
    std::fs::hard_link(outside.join("secret"), root.join("hard")).unwrap();
    assert!(matches!(
        fs.append(&r("hard"), b"x"),
        Err(TransportError::HardLinks { .. })
    ));
    assert!(matches!(
        fs.chmod(&r("hard"), 0o777),
        Err(TransportError::HardLinks { .. })
    ));
}

#[test]
fn a_process_environment_needs_the_env_capability_on_a_host_too() {
    let Some(lab) = Lab::new() else { return };
    let sshd = lab.host("env", 10);
    let host = remote(&lab, &sshd, None, false);
    assert!(matches!(
        host.fs(false).read("/proc/self/environ", 1 << 20),
        Err(TransportError::Environ { .. })
    ));
    assert!(host.fs(true).read("/proc/self/environ", 1 << 20).is_ok());
}

fn exec(argv: &[&str]) -> Exec {
    Exec::new(argv.iter().map(ToString::to_string).collect())
}

#[test]
fn commands_run_with_env_cwd_stdin_and_become() {
    let Some(lab) = Lab::new() else { return };
    let sshd = lab.host_with("app", 10, &lab.with_bin());
    let host = remote(&lab, &sshd, None, false);
    let dir = tempfile::tempdir().unwrap();

    let mut cmd = exec(&[
        "sh",
        "-c",
        "printf '%s|%s|%s|' \"$K\" \"$PWD\" \"${ORDO_BECAME:-}\"; cat",
    ]);
    cmd.env = vec![("K".into(), "v 'w' $(x)".into())];
    cmd.cwd = Some(s(dir.path()));
    cmd.stdin = Some(b"from stdin".to_vec());
    let out = host.exec(&cmd).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("v 'w' $(x)|{}||from stdin", dir.path().display())
    );

    // become: the call's, then the host's default, with the environment kept past sudo.
    cmd.r#become = Some(true);
    cmd.become_user = Some("deploy".into());
    let out = host.exec(&cmd).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("v 'w' $(x)|{}|deploy|from stdin", dir.path().display())
    );
    let becoming = remote(&lab, &sshd, None, true);
    let out = becoming
        .exec(&exec(&["sh", "-c", "echo $ORDO_BECAME"]))
        .unwrap();
    assert_eq!(out.stdout, b"root\n");
    let mut plain = exec(&["sh", "-c", "echo ${ORDO_BECAME:-nobody}"]);
    plain.r#become = Some(false);
    assert_eq!(becoming.exec(&plain).unwrap().stdout, b"nobody\n");

    // A sudo that wants a password is a clear error, not a hang.
    let mut cmd = exec(&["true"]);
    cmd.become_user = Some("needs-password".into());
    let e = host.exec(&cmd).unwrap_err();
    assert!(
        matches!(e, TransportError::BecomeNeedsPassword { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("wants a password"), "{e}");

    // The file operations go through sudo too under the host's become.
    let f = s(&dir.path().join("by-root.txt"));
    becoming.fs(false).write(&f, b"x", None).unwrap();
    assert_eq!(becoming.fs(false).read(&f, 10).unwrap(), b"x");
}

#[test]
fn a_timeout_kills_the_remote_group_and_nothing_survives() {
    let Some(lab) = Lab::new() else { return };
    let sshd = lab.host("slow", 10);
    let host = remote(&lab, &sshd, None, false);
    let marker = format!("1000.{}77", std::process::id());
    let mut cmd = exec(&[
        "sh",
        "-c",
        &format!("sleep {marker} & sleep {marker}; wait"),
    ]);
    cmd.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let e = host.exec(&cmd).unwrap_err();
    assert!(matches!(e, TransportError::TimedOut { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(8));
    let left = common::processes_left(&format!("^sleep {marker}"), Duration::from_secs(5));
    assert_eq!(left.trim(), "", "no remote sleep survives");
}

#[test]
fn facts_are_gathered_once_and_an_unreachable_host_says_so() {
    let Some(lab) = Lab::new() else { return };
    let mut sshd = lab.host("facts", 10);
    let host = remote(&lab, &sshd, None, false);
    let facts = host.facts().unwrap();
    assert_eq!(
        facts,
        ordo::target::facts::local(),
        "the host is this machine"
    );
    assert_eq!(facts.os, "linux");
    assert!(facts.cpus >= 1);
    sshd.stop();
    host.connection.close();
    // Kept for the run: no round trip the second time, even with the host gone.
    assert_eq!(host.facts().unwrap(), facts);
    let e = host.fs(false).read("/etc/hostname", 100).unwrap_err();
    assert!(e.is_unreachable(), "{e}");
}
