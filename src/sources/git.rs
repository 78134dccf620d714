//! The system `git`, run so that a fetched repository cannot run code or read ours.
//!
//! Every call: `GIT_TERMINAL_PROMPT=0` (no password prompt hangs a run), no system config
//! (`GIT_CONFIG_NOSYSTEM`; the user's global config stays, for credential helpers and
//! `insteadOf`, as Terraform does), hooks off (`core.hooksPath=/dev/null`: no
//! `reference-transaction` hook in a mirror runs), submodules off, `core.fsmonitor` off,
//! only the protocols the address may use (`GIT_ALLOW_PROTOCOL`; `file` only with
//! `--allow-file-sources`, and `protocol.file.allow=never` otherwise), variables such as
//! `GIT_DIR` from the caller's environment removed, no HTTP redirects followed
//! (`http.followRedirects=false`: the host and scheme ordo checked are the ones git talks
//! to), a stall limit (`http.lowSpeedLimit`/`lowSpeedTime`: no byte for [`STALL`] ends it),
//! and a time limit. Arguments that come
//! from an address were validated by [`super::address`] and follow `--` or `--end-of-options`
//! where git accepts it. Trees are never checked out: [`Git::archive`] reads a commit out of
//! the bare mirror.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How git is run for one [`super::Sources`].
#[derive(Clone, Debug)]
pub struct Git {
    /// Whether `file://` repositories may be read.
    pub allow_file: bool,
    /// The limit on one git command.
    pub timeout: Duration,
}

/// The environment of a caller that would steer git elsewhere.
const CLEARED: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_TEMPLATE_DIR",
];

/// How long a transfer may make no progress before it is given up.
pub const STALL: Duration = Duration::from_secs(60);

impl Git {
    fn command(&self, git_dir: Option<&Path>) -> Command {
        let mut cmd = Command::new("git");
        for var in CLEARED {
            cmd.env_remove(var);
        }
        let protocols = if self.allow_file {
            "https:ssh:http:file"
        } else {
            "https:ssh:http"
        };
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_ALLOW_PROTOCOL", protocols)
            .env("LC_ALL", "C")
            .args(["-c", "core.hooksPath=/dev/null"])
            .args(["-c", "core.fsmonitor=false"])
            .args(["-c", "submodule.recurse=false"])
            .args(["-c", "fetch.recurseSubmodules=false"])
            .args(["-c", "protocol.ext.allow=never"])
            .args(["-c", "http.followRedirects=false"])
            .args(["-c", "http.lowSpeedLimit=1"])
            .arg("-c")
            .arg(format!("http.lowSpeedTime={}", STALL.as_secs()))
            .args([
                "-c",
                if self.allow_file {
                    "protocol.file.allow=always"
                } else {
                    "protocol.file.allow=never"
                },
            ])
            .stdin(Stdio::null());
        if let Some(dir) = git_dir {
            cmd.arg("--git-dir").arg(dir);
        }
        cmd
    }

    /// The one protocol git may use for `url`: its own scheme (`https`, `ssh`, `http`,
    /// `file`), so no redirect or helper switches to another.
    fn protocol_of(&self, url: &str) -> &'static str {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("https") => "https",
            Some("http") => "http",
            Some("file") if self.allow_file => "file",
            Some("file") => "none",
            _ => "ssh",
        }
    }

    /// A new bare repository at `dir`, with no hooks from a template.
    pub fn init_bare(&self, dir: &Path) -> Result<(), String> {
        let mut cmd = self.command(None);
        cmd.args(["init", "--bare", "--quiet", "--template="])
            .arg(dir);
        self.run(cmd, None).map(|_| ())
    }

    /// Fetches every branch and tag of `url` (and, with `head`, its `HEAD` as
    /// `refs/ordo/head`) into the bare mirror `dir`, replacing what the mirror had.
    pub fn fetch_all(&self, dir: &Path, url: &str, head: bool) -> Result<(), String> {
        let mut cmd = self.command(Some(dir));
        cmd.env("GIT_ALLOW_PROTOCOL", self.protocol_of(url));
        cmd.args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--prune",
            "--force",
            "--no-recurse-submodules",
            "--",
            url,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ]);
        if head {
            cmd.arg("+HEAD:refs/ordo/head");
        }
        self.run(cmd, None).map(|_| ())
    }

    /// Forgets the mirror's `refs/ordo/head` (the remote's `HEAD` names no branch now).
    pub fn forget_head(&self, dir: &Path) {
        let mut cmd = self.command(Some(dir));
        cmd.args(["update-ref", "-d", "refs/ordo/head"]);
        // A mirror without the ref is what is wanted either way.
        let _ = self.run(cmd, None);
    }

    /// Whether a branch or tag of the mirror (as last fetched) reaches `commit`: a commit
    /// only a fork holds (GitHub serves those by id from the shared object store) is
    /// reached by none.
    pub fn reachable(&self, dir: &Path, commit: &str) -> bool {
        let mut cmd = self.command(Some(dir));
        cmd.args(["for-each-ref", "--count=1", "--format=%(refname)"])
            .arg(format!("--contains={commit}"))
            .args(["refs/heads", "refs/tags", "refs/ordo/head"]);
        self.run(cmd, None)
            .is_ok_and(|out| !String::from_utf8_lossy(&out).trim().is_empty())
    }

    /// The commit a full ref name (`refs/tags/v1`) or a commit id names in the mirror.
    pub fn resolve(&self, dir: &Path, name: &str) -> Option<String> {
        let mut cmd = self.command(Some(dir));
        cmd.args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{name}^{{commit}}"));
        let out = self.run(cmd, None).ok()?;
        let text = String::from_utf8_lossy(&out).trim().to_string();
        super::address::is_full_commit(&text).then_some(text)
    }

    /// The branches and tags of the mirror, for "unknown ref" errors.
    pub fn refs(&self, dir: &Path) -> Vec<String> {
        let mut cmd = self.command(Some(dir));
        cmd.args([
            "for-each-ref",
            "--format=%(refname)",
            "refs/heads",
            "refs/tags",
        ]);
        let out = self.run(cmd, None).unwrap_or_default();
        String::from_utf8_lossy(&out)
            .lines()
            .map(|l| {
                l.strip_prefix("refs/heads/")
                    .or_else(|| l.strip_prefix("refs/tags/"))
                    .unwrap_or(l)
                    .to_string()
            })
            .collect()
    }

    /// Writes `git archive` of `commit` (only `subdir`, when given) as a tar to `out`; more
    /// than `max_bytes` stops git (a repository too large to unpack is refused before it
    /// fills the disk).
    pub fn archive(
        &self,
        dir: &Path,
        commit: &str,
        subdir: Option<&str>,
        out: &Path,
        max_bytes: u64,
    ) -> Result<(), String> {
        let file =
            std::fs::File::create(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
        let mut cmd = self.command(Some(dir));
        cmd.args(["archive", "--format=tar", commit]);
        if let Some(sub) = subdir {
            cmd.arg("--").arg(sub);
        }
        self.run(cmd, Some((file, max_bytes))).map(|_| ())
    }

    /// Runs `cmd` in a process group of its own, its output copied to `sink` (at most its
    /// limit) or collected (at most 16 MiB); an error holds git's message. On the time
    /// limit the whole group is killed: git's helpers (`ssh`, `git-remote-https`) too.
    fn run(&self, mut cmd: Command, sink: Option<(std::fs::File, u64)>) -> Result<Vec<u8>, String> {
        use std::os::unix::process::CommandExt;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("cannot run git: {e}"))?;
        let over = Arc::new(AtomicBool::new(false));
        let out_reader = child.stdout.take().map(|s| {
            let over = Arc::clone(&over);
            std::thread::spawn(move || copy_out(s, sink, &over))
        });
        let err_reader = child.stderr.take().map(|s| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = s.take(64 * 1024).read_to_end(&mut buf);
                buf
            })
        });
        let kill = |child: &mut std::process::Child| {
            let _ = rustix::process::kill_process_group(
                rustix::process::Pid::from_child(child),
                rustix::process::Signal::KILL,
            );
            let _ = child.kill();
            let _ = child.wait();
        };
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if over.load(Ordering::SeqCst) => {
                    kill(&mut child);
                    return Err("the archive is larger than the cap on a source's size".into());
                }
                Ok(None) if Instant::now() >= deadline => {
                    kill(&mut child);
                    return Err(format!(
                        "git did not finish within {} s",
                        self.timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for git: {e}")),
            }
        };
        let out = out_reader.and_then(|t| t.join().ok()).unwrap_or_default();
        let err = err_reader.and_then(|t| t.join().ok()).unwrap_or_default();
        if status.success() {
            return Ok(out);
        }
        let err = String::from_utf8_lossy(&err);
        let message = err
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Err(if message.is_empty() {
            format!("git failed ({status})")
        } else {
            message
        })
    }
}

/// Copies git's output into the sink (stopping at its limit, and saying so in `over`) or
/// collects it (at most 16 MiB).
fn copy_out(
    mut from: std::process::ChildStdout,
    sink: Option<(std::fs::File, u64)>,
    over: &std::sync::atomic::AtomicBool,
) -> Vec<u8> {
    use std::io::Write as _;
    let Some((mut file, limit)) = sink else {
        let mut buf = Vec::new();
        let _ = (&mut from).take(16 << 20).read_to_end(&mut buf);
        return buf;
    };
    let mut written: u64 = 0;
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        written = written.saturating_add(n as u64);
        if written > limit || file.write_all(buf.get(..n).unwrap_or_default()).is_err() {
            over.store(written > limit, std::sync::atomic::Ordering::SeqCst);
            break;
        }
    }
    Vec::new()
}
