//! Real `sshd` processes on 127.0.0.1 for the remote-host tests: one per simulated host.
//!
//! ```ignore
//! let Some(lab) = Lab::new() else { return };      // None: no sshd here (a skip, not in CI)
//! let web = lab.host("web", 10);                   // an sshd with MaxSessions 10
//! let reach = lab.reach(&web);                     // address, port, key, ssh options
//! web.stop();                                      // the host goes away (unreachable)
//! ```
//!
//! A [`Lab`] is a temporary directory holding an ed25519 client key (its public half is the
//! `authorized_keys` of every host), a `known_hosts` file and, per host, an ed25519 host
//! key, an `sshd_config` (`ListenAddress 127.0.0.1`, a free port, `UsePAM no`,
//! `StrictModes no`, `PasswordAuthentication no`, `PidFile`, `MaxSessions`) checked with
//! `sshd -t` and started as `sshd -f CONF -E LOG`. Each [`Sshd`] is stopped by its pid
//! when dropped. The client side is passed as options ([`Lab::ssh_options`]: `-F none`,
//! `UserKnownHostsFile` in the lab, `StrictHostKeyChecking accept-new`, `IdentitiesOnly`),
//! because OpenSSH reads `~/.ssh/config` from the passwd home, not from `$HOME`.
//!
//! The remote user is the one running the tests (root in CI). Without `sshd` (Debian's
//! `openssh-server`; `.ci/run` installs it) a test is skipped with a message, except
//! under `CI=true`, where it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Lab {
    dir: tempfile::TempDir,
    sshd: PathBuf,
    client_key: PathBuf,
}

/// One running sshd: a simulated host.
pub struct Sshd {
    pub name: String,
    pub port: u16,
    pid: Option<i32>,
    pub log: PathBuf,
}

fn find_sshd() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    // sshd re-executes itself, so it must be started by an absolute path.
    dirs.into_iter()
        .map(|d| d.join("sshd"))
        .find(|p| p.is_absolute() && p.is_file())
}

fn keygen(path: &Path, comment: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "ssh-keygen failed: {out:?}");
}

impl Lab {
    /// A lab, or `None` (with a message) when this machine has no sshd; under `CI=true` a
    /// missing sshd fails the test instead.
    pub fn new() -> Option<Lab> {
        let Some(sshd) = find_sshd() else {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(
                !ci,
                "sshd is missing: .ci/run installs openssh-server; the remote-host tests need it"
            );
            eprintln!("SKIPPED: no sshd on this machine (apt-get install openssh-server)");
            return None;
        };
        // sshd's privilege separation directory; only root can make it, and only root needs it.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::Builder::new()
            .prefix("ordo-lab-")
            .tempdir()
            .expect("temp dir");
        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key, "ordo-test-client");
        std::fs::copy(
            dir.path().join("client_ed25519.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        Some(Lab {
            dir,
            sshd,
            client_key,
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts a host named `name` whose sshd allows `max_sessions` sessions per connection.
    pub fn host(&self, name: &str, max_sessions: u32) -> Sshd {
        self.host_with(name, max_sessions, "")
    }

    /// A directory of stand-in programs, first on the `PATH` of every host started with
    /// [`Lab::with_bin`]'s configuration, holding a fake `sudo`: it insists on `-n`, takes
    /// `-u USER` (default root), runs the command as the same user with `ORDO_BECAME=USER`
    /// in its environment, and answers like a real `sudo -n` that wants a password when
    /// USER is `needs-password`.
    pub fn bin(&self) -> PathBuf {
        let bin = self.dir().join("bin");
        let sudo = bin.join("sudo");
        if !sudo.exists() {
            std::fs::create_dir_all(&bin).expect("bin dir");
            std::fs::write(
                &sudo,
                r#"#!/bin/sh
[ "$1" = -n ] || { echo 'fake sudo: -n missing' >&2; exit 2; }; shift
user=root
if [ "$1" = -u ]; then user=$2; shift 2; fi
[ "$1" = -- ] && shift
if [ "$user" = needs-password ]; then echo 'sudo: a password is required' >&2; exit 1; fi
ORDO_BECAME=$user exec "$@"
"#,
            )
            .expect("fake sudo");
            let mut perms = std::fs::metadata(&sudo).expect("sudo").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&sudo, perms).expect("chmod sudo");
        }
        bin
    }

    /// The sshd configuration line that puts [`Lab::bin`] first on the sessions' `PATH`.
    pub fn with_bin(&self) -> String {
        format!(
            "SetEnv PATH={}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\n",
            self.bin().display()
        )
    }

    /// [`Lab::host`] with `extra` lines added to its sshd configuration.
    pub fn host_with(&self, name: &str, max_sessions: u32, extra: &str) -> Sshd {
        let host_key = self.dir().join(format!("host_{name}_ed25519"));
        keygen(&host_key, name);
        // A free port can be taken between the probe and sshd's bind: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let conf = self.dir().join(format!("sshd_{name}.conf"));
            let pid_file = self.dir().join(format!("sshd_{name}.pid"));
            let log = self.dir().join(format!("sshd_{name}.log"));
            let _ = std::fs::remove_file(&pid_file);
            std::fs::write(
                &conf,
                format!(
                    "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\n\
                     PidFile {}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
                     MaxSessions {max_sessions}\nLogLevel VERBOSE\n{extra}",
                    host_key.display(),
                    self.dir().join("authorized_keys").display(),
                    pid_file.display(),
                ),
            )
            .expect("sshd config");
            let check = Command::new(&self.sshd)
                .arg("-t")
                .arg("-f")
                .arg(&conf)
                .output()
                .expect("sshd -t runs");
            assert!(
                check.status.success(),
                "sshd -t refused the config: {check:?}"
            );
            let started = Command::new(&self.sshd)
                .arg("-f")
                .arg(&conf)
                .arg("-E")
                .arg(&log)
                .status()
                .expect("sshd starts");
            // sshd listens before it daemonises and writes its pid file after.
            let until = Instant::now() + Duration::from_secs(10);
            while started.success() && Instant::now() < until {
                if let Some(pid) = std::fs::read_to_string(&pid_file)
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok())
                {
                    return Sshd {
                        name: name.to_string(),
                        port,
                        pid: Some(pid),
                        log,
                    };
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("sshd for `{name}` did not start: {last_log}");
    }

    /// The client's options: no configuration file, the lab's known_hosts, its key only.
    pub fn ssh_options(&self) -> Vec<String> {
        [
            "-F".to_string(),
            "none".to_string(),
            "-o".to_string(),
            format!(
                "UserKnownHostsFile={}",
                self.dir().join("known_hosts").display()
            ),
            "-o".to_string(),
            "StrictHostKeyChecking=accept-new".to_string(),
            "-o".to_string(),
            "IdentitiesOnly=yes".to_string(),
            "-o".to_string(),
            "LogLevel=ERROR".to_string(),
        ]
        .into()
    }

    /// How a client reaches `host`. (Plain values: this file does not use the `ordo`
    /// library, so the test binaries that share `common/` do not link it for nothing.)
    pub fn reach(&self, host: &Sshd) -> Reach {
        Reach {
            name: host.name.clone(),
            address: "127.0.0.1".into(),
            port: host.port,
            identity_file: self.client_key.clone(),
            ssh_options: self.ssh_options(),
        }
    }
}

/// The connection parameters of one simulated host.
pub struct Reach {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub identity_file: PathBuf,
    pub ssh_options: Vec<String>,
}

impl Reach {
    /// This host as an entry of a native inventory's `spec.hosts`: one line,
    /// `NAME: {address, port, identityFile, sshOptions, vars}`, with `vars` (a YAML flow
    /// mapping's inside, e.g. `root: /tmp/x`) added when not empty.
    pub fn inventory_entry(&self, vars: &str) -> String {
        let quote = |s: &str| serde_json::to_string(s).expect("a string");
        let options: Vec<String> = self.ssh_options.iter().map(|o| quote(o)).collect();
        let vars = if vars.is_empty() {
            String::new()
        } else {
            format!(", vars: {{{vars}}}")
        };
        format!(
            "{}: {{address: {}, port: {}, identityFile: {}, sshOptions: [{}]{vars}}}",
            self.name,
            self.address,
            self.port,
            quote(&self.identity_file.display().to_string()),
            options.join(", "),
        )
    }
}

/// A native inventory (`kind: Inventory`) holding these entries
/// ([`Reach::inventory_entry`]) under `spec.hosts`.
pub fn inventory(entries: &[String]) -> String {
    let mut text =
        "kind: Inventory\nversion: v1\nmetadata: {name: lab}\nspec:\n  hosts:\n".to_string();
    for e in entries {
        text.push_str("    ");
        text.push_str(e);
        text.push('\n');
    }
    text
}

impl Sshd {
    /// Stops this sshd (the listener; sessions already open live on in their own
    /// processes, as on a real host whose sshd restarts) and waits for it to go.
    pub fn stop(&mut self) {
        let Some(pid) = self.pid.take() else { return };
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let until = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whether `pid` runs (a zombie, which nobody may reap here, does not).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
