//! Capabilities a handler declares, and the run-wide policy that can narrow them.
//!
//! A handler's `permissions([...])` is its grant. The user can tighten it for a whole run
//! (`--deny`, `--fs-root`, `--net-allow`); `plan` makes every grant read-only. Each stdlib
//! function asks here before it acts, and a refusal names the handler, the call and the fix.

use std::fmt;
use std::path::{Component, Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    Shell,
    FileRead,
    FileWrite,
    Http,
    Env,
    Prompt,
}

impl Capability {
    pub const ALL: [Capability; 6] = [
        Capability::Shell,
        Capability::FileRead,
        Capability::FileWrite,
        Capability::Http,
        Capability::Env,
        Capability::Prompt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Shell => "shell",
            Capability::FileRead => "file:read",
            Capability::FileWrite => "file:write",
            Capability::Http => "http",
            Capability::Env => "env",
            Capability::Prompt => "prompt",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Capability::ALL.into_iter().find(|c| c.as_str() == text)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Permissions(u8);

impl Permissions {
    pub fn insert(&mut self, c: Capability) {
        self.0 |= c.bit();
    }

    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Capability::as_str).collect()
    }
}

impl FromIterator<Capability> for Permissions {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut p = Permissions::default();
        for c in iter {
            p.insert(c);
        }
        p
    }
}

/// The run-wide policy: what the user allows every handler, whatever it declares.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub deny: Permissions,
    /// When non-empty, every file path must resolve inside one of these (canonical) roots.
    pub fs_roots: Vec<PathBuf>,
    /// When non-empty, HTTP may only reach these hosts (and ports, when a rule names one).
    pub net_allow: Vec<super::NetRule>,
    /// `plan`: no mutation through the stdlib.
    pub read_only: bool,
    /// `ordo test`: relative paths are taken from this directory (the case's), not from
    /// ordo's working directory, which cases running in parallel share.
    pub cwd: Option<PathBuf>,
    /// `ordo test`: the mock twin the stdlib asks instead of the world (see `twin.rs`).
    pub twin: Option<std::sync::Arc<dyn super::Twin>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("`{call}` needs the `{cap}` permission, which handler `{handler}` does not declare")]
    Undeclared {
        call: String,
        cap: Capability,
        handler: String,
    },
    #[error("`{call}` needs the `{cap}` permission, which this run denies (--deny {cap})")]
    Denied { call: String, cap: Capability },
    #[error("`{call}`: path `{path}` is outside the allowed roots ({roots})")]
    OutsideRoots {
        call: String,
        path: String,
        roots: String,
    },
    #[error("`{call}`: host `{host}` is not allowed (--net-allow {allowed})")]
    HostNotAllowed {
        call: String,
        host: String,
        allowed: String,
    },
    #[error("`{call}`: port {port} of host `{host}` is not allowed (--net-allow {allowed})")]
    PortNotAllowed {
        call: String,
        host: String,
        port: u16,
        allowed: String,
    },
    #[error("`{call}` changes things, and `plan` is read-only")]
    ReadOnly { call: String },
}

impl Policy {
    /// Whether HTTP may reach `host` (no brackets) on `port` under `--net-allow`.
    ///
    /// # Errors
    ///
    /// The refusal, saying whether the host or only the port is not allowed.
    pub fn check_host(&self, call: &str, host: &str, port: u16) -> Result<(), Refusal> {
        if self.net_allow.is_empty() || self.net_allow.iter().any(|r| r.matches(host, port)) {
            return Ok(());
        }
        let allowed = self
            .net_allow
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if self.net_allow.iter().any(|r| r.matches_host(host)) {
            return Err(Refusal::PortNotAllowed {
                call: call.to_string(),
                host: host.to_string(),
                port,
                allowed,
            });
        }
        Err(Refusal::HostNotAllowed {
            call: call.to_string(),
            host: host.to_string(),
            allowed,
        })
    }

    /// Resolves `path` (symlinks included, as far as it exists) and checks it against the
    /// roots. Returns the absolute path to use.
    pub fn check_path(&self, call: &str, path: &Path) -> Result<PathBuf, Refusal> {
        self.locate(call, path).map(|l| l.absolute)
    }

    /// [`Policy::check_path`], keeping what an open beneath a root needs: the root the
    /// resolved path lies in, and the resolved path relative to it.
    pub fn locate(&self, call: &str, path: &Path) -> Result<Located, Refusal> {
        let absolute = match &self.cwd {
            Some(cwd) if path.is_relative() => cwd.join(path),
            _ => absolute(path),
        };
        if self.fs_roots.is_empty() {
            return Ok(Located {
                absolute,
                beneath: None,
            });
        }
        let resolved = resolve(&absolute);
        let beneath = self.fs_roots.iter().find_map(|root| {
            let relative = resolved.strip_prefix(root).ok()?;
            Some((root.clone(), relative.to_path_buf()))
        });
        match beneath {
            Some(beneath) => Ok(Located {
                absolute,
                beneath: Some(beneath),
            }),
            None => Err(self.outside(call, path)),
        }
    }

    /// The refusal of `path`, outside every root.
    pub fn outside(&self, call: &str, path: &Path) -> Refusal {
        Refusal::OutsideRoots {
            call: call.to_string(),
            path: path.display().to_string(),
            roots: self
                .fs_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Whether `path` names a process's environment: `/proc/<pid>/environ` and every name that
/// resolves to one (`/proc/self/environ`, `/proc/thread-self/environ`, a task's, one of
/// another process, a symlink to any of them, procfs mounted elsewhere). Reading one is
/// reading environment variables, the `env` capability (issue 15: `--deny env` was bypassed
/// by `file::read("/proc/self/environ")`).
pub fn is_environ(path: &Path) -> bool {
    let Ok(real) = path.canonicalize() else {
        return false;
    };
    real.file_name().is_some_and(|n| n == "environ")
        && rustix::fs::statfs(&real).is_ok_and(|fs| fs.f_type == rustix::fs::PROC_SUPER_MAGIC)
}

/// [`is_environ`] for a file already open, so a name swapped between the check and the
/// open cannot reach an environment either: procfs names its files by what they are.
pub fn is_environ_fd(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    rustix::fs::fstatfs(file).is_ok_and(|fs| fs.f_type == rustix::fs::PROC_SUPER_MAGIC)
        && std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .is_ok_and(|p| p.file_name().is_some_and(|n| n == "environ"))
}

/// A path checked by [`Policy::locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The path made absolute, nothing resolved.
    pub absolute: PathBuf,
    /// Under `--fs-root`: the root the path lies in, and the path relative to it with every
    /// symlink resolved (the last one included); empty for the root itself.
    pub beneath: Option<(PathBuf, PathBuf)>,
}

/// `path` made absolute against the current directory. Nothing is folded: `a/link/..` means
/// what the operating system makes of it, and [`resolve`] checks exactly that.
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    }
}

/// The real location of `path`: the longest existing prefix with every symlink in it
/// followed, with the rest appended. `..` is resolved physically: after a symlink, it goes
/// up from where the link led.
///
/// A symlink whose target does not exist yet (dangling) is followed too (issue 15): opening
/// it to create or append creates its target, so the target is what the roots must contain.
///
/// One `lstat` per component (and a `readlink` per symlink): the prefix resolved so far is
/// real, so a component that is not a symlink extends it as it is (issue 15 item 2 made
/// every file call resolve; canonicalizing each prefix anew cost a system call per
/// component per component).
pub fn resolve(path: &Path) -> PathBuf {
    resolve_hops(path, 0)
}

/// Symlinks followed before giving up, as the kernel's `ELOOP` limit.
const MAX_HOPS: u32 = 40;

/// [`resolve`], having followed `hops` symlinks already.
fn resolve_hops(path: &Path, hops: u32) -> PathBuf {
    let mut resolved = PathBuf::from("/");
    let mut components = path.components();
    while let Some(c) = components.next() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                let next = resolved.join(name);
                match std::fs::symlink_metadata(&next) {
                    Ok(meta) if !meta.file_type().is_symlink() => resolved = next,
                    Ok(_) => {
                        // Where the link points (relative to its directory), then the rest.
                        // A link replaced since the `lstat` is taken as what it is now.
                        let Ok(target) = std::fs::read_link(&next) else {
                            resolved = next;
                            continue;
                        };
                        let tail: PathBuf = components.by_ref().collect();
                        if hops >= MAX_HOPS {
                            // A loop: the path as it is, which no open gets through.
                            return next.join(tail);
                        }
                        return resolve_hops(&resolved.join(target).join(tail), hops + 1);
                    }
                    Err(_) => {
                        // Does not exist (yet): the rest is taken literally, `..` folded.
                        resolved = next;
                        for rest in components.by_ref() {
                            match rest {
                                Component::ParentDir => {
                                    resolved.pop();
                                }
                                Component::Normal(n) => resolved.push(n),
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_round_trip_and_sets_work() {
        for c in Capability::ALL {
            assert_eq!(Capability::parse(c.as_str()), Some(c));
        }
        assert_eq!(Capability::parse("network"), None);
        let p: Permissions = [Capability::Shell, Capability::Env].into_iter().collect();
        assert!(p.contains(Capability::Shell) && !p.contains(Capability::Http));
        assert_eq!(p.names(), vec!["shell", "env"]);
    }

    #[test]
    fn paths_outside_the_roots_are_refused_symlinks_included() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root_path = root.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(outside.path(), root_path.join("link")).unwrap();
        let policy = Policy {
            fs_roots: vec![root_path.clone()],
            ..Policy::default()
        };
        assert!(policy.check_path("t", &root_path.join("a/b.txt")).is_ok());
        assert!(policy.check_path("t", &root_path.join("../x")).is_err());
        assert!(policy.check_path("t", Path::new("/etc/passwd")).is_err());
        assert!(
            policy
                .check_path("t", &root_path.join("link/secret"))
                .is_err()
        );
        assert!(
            policy
                .check_path("t", &root_path.join("link/../inside"))
                .is_err()
        );
    }

    #[test]
    fn a_dangling_symlink_is_checked_at_its_target() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root_path = root.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(outside.path().join("new"), root_path.join("out")).unwrap();
        std::os::unix::fs::symlink("out", root_path.join("chain")).unwrap();
        std::os::unix::fs::symlink("sub/new", root_path.join("in")).unwrap();
        std::os::unix::fs::symlink("loop", root_path.join("loop")).unwrap();
        let policy = Policy {
            fs_roots: vec![root_path.clone()],
            ..Policy::default()
        };
        assert!(policy.check_path("t", &root_path.join("out")).is_err());
        assert!(policy.check_path("t", &root_path.join("out/x")).is_err());
        assert!(policy.check_path("t", &root_path.join("chain")).is_err());
        assert_eq!(resolve(&root_path.join("in")), root_path.join("sub/new"));
        assert!(policy.check_path("t", &root_path.join("in")).is_ok());
        assert!(policy.check_path("t", &root_path.join("loop")).is_ok());
        // A loop keeps the rest of the path: what is acted on is never a shorter path.
        assert_eq!(resolve(&root_path.join("loop/x")), root_path.join("loop/x"));
        // Links to existing places are followed, `..` after one goes up from its target.
        std::fs::create_dir_all(root_path.join("sub/deep")).unwrap();
        std::os::unix::fs::symlink("sub/deep", root_path.join("deep")).unwrap();
        assert_eq!(
            resolve(&root_path.join("deep/../f")),
            root_path.join("sub/f")
        );
        assert_eq!(
            resolve(&root_path.join("./deep/x/../y")),
            root_path.join("sub/deep/y")
        );
    }
}
