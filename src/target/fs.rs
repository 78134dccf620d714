//! The file operations of the stdlib on a host: each one is a small POSIX `sh` script run in
//! one session (one round trip), its arguments passed as quoted positional parameters
//! (never pasted into the script) and file content on stdin.
//!
//! Remote paths must be absolute: a relative path would mean the remote user's home, or
//! `sudo`'s, or the controller's working directory, depending on who reads it, so it is
//! refused (`NotAbsolute`) rather than guessed.
//!
//! **`fsRoot`.** When the inventory gives the host an `fsRoot`, every path is confined
//! beneath it, in the same script that acts on it:
//!
//! - a path with a `..` component is refused before anything is resolved;
//! - the root and the path are resolved on the host with `realpath -m` (every symlink
//!   that exists followed, a missing tail taken as written), and the resolved path must be
//!   the root or lie beneath it; the script then acts on the *resolved* path, so a symlink
//!   inside the root that leads outside is refused, and one that leads inside works;
//! - the calls that act on a name itself (`exists`, `remove`, `remove_dir`) resolve its
//!   directory and keep the last name, so a symlink is removed, never followed; the root
//!   itself cannot be removed;
//! - a regular file with more than one hard link is not changed in place (`append`,
//!   `chmod`), as under `--fs-root` locally.
//!
//! What it does not guarantee, honestly: the check and the action are separate steps of
//! one shell script (microseconds apart, in one round trip), not one system call under
//! the kernel's `RESOLVE_BENEATH` as locally. A process on the host that can rename
//! directories inside the root can swap one for a symlink to outside between the two and
//! win the race. `fsRoot` keeps honest handlers and mistakes (a `..`, a stray symlink)
//! inside the root; it does not contain a hostile process already on the host. The
//! commands `shell::run` starts are not confined either (only their `cwd` is checked).
//!
//! **Nothing is waited on.** As locally, reading a FIFO, a device or a socket is refused up
//! front, and file content is read without blocking (`dd iflag=nonblock`): a "regular" file
//! that would block (`/proc/kmsg`) fails at once with the host's message, never at the
//! call's timeout.
//!
//! Scripts need POSIX `sh` and GNU coreutils (`realpath -m`, `stat -c`, `sha256sum`,
//! `mktemp`, `dd`) and GNU `find` (`-printf`), as on every mainstream Linux distribution.
//! With the host's `become`, they run through `sudo -n` like commands do ([`super::exec`]).

use std::time::Duration;

use super::RemoteHost;
use super::error::TransportError;
use super::ssh::{Output, RemoteCommand};

/// The functions every script starts with. `$1` is the resolved root (or empty), `$2` is 1
/// when a process's environment (`/proc/PID/environ`) must be refused; both are shifted
/// away, so the operation's own arguments start at `$1`.
///
/// `at PATH follow|name` sets `r` to the path to act on: checked absolute, and under a
/// root resolved and checked beneath it. Exit codes: 90 missing, 91 outside the root,
/// 92 wrong kind of file, 93 an environment, 94 not absolute, 95 no root, 96 hard links.
const PRELUDE: &str = r#"root=$1 noenv=$2; shift 2
die() { c=$1; shift; printf '%s\n' "$*" >&2; exit "$c"; }
real() { r=$(realpath -m -- "$1" && echo x) || die 1 "cannot resolve the path"; r=${r%?x}; }
at() {
  case $1 in /*) ;; *) die 94 "not an absolute path";; esac
  p=$1
  if [ -n "$root" ]; then
    case /$p/ in */../*) die 91 "..";; esac
    if [ "$2" = name ]; then
      while :; do case $p in /) break;; */) p=${p%/};; *) break;; esac; done
      b=${p##*/}; d=${p%/*}; [ -n "$d" ] || d=/
      if [ -z "$b" ]; then r=/; else real "$d"; case $r in /) r=/$b;; *) r=$r/$b;; esac; fi
    else
      real "$p"
    fi
    case $r in "$root"|"$pre"*) ;; *) die 91 "outside";; esac
  else
    r=$p
  fi
  if [ "$noenv" = 1 ]; then
    s=$r; real "$p"
    case $r in /proc/*/environ) die 93 "a process environment";; esac
    r=$s
  fi
}
parent() { d=${1%/*}; [ -n "$d" ] || d=/; }
nowait() { dd if="$1" iflag=nonblock bs=1 count=1 of=/dev/null status=none || exit 1; }
if [ -n "$root" ]; then
  real "$root"; [ -d "$r" ] || die 95 "no such directory"; root=$r
  case $root in /) pre=/;; *) pre=$root/;; esac
fi
"#;

const READ: &str = r#"at "$1" follow
[ -e "$r" ] || die 90 missing
[ -f "$r" ] || die 92 "not a regular file (a directory, a FIFO, a device or a socket)"
if [ "$2" = mode ]; then stat -L -c %a -- "$r" || exit 1; fi
exec dd if="$r" iflag=nonblock bs=64K status=none"#;

const WRITE: &str = r#"at "$1" follow; p=$r; m=$2; h=$3
parent "$p"
[ -d "$p" ] && die 92 "a directory"
if [ -e "$p" ]; then
  cur=$(stat -L -c %a -- "$p") || exit 1
  [ -n "$m" ] || m=$cur
  if [ "$cur" = "$m" ] && [ -f "$p" ] && [ "$(sha256sum <"$p")" = "$h  -" ]; then echo unchanged; exit 0; fi
else
  [ -d "$d" ] || mkdir -p -- "$d" || exit 1
  [ -n "$m" ] || m=$(printf %o $((0644 & ~0$(umask))))
fi
[ "$4" = check ] && { echo differs; exit 0; }
t=$(mktemp "$d/.ordo-XXXXXX") || exit 1
if cat >"$t" && chmod -- "$m" "$t" && mv -f -- "$t" "$p"; then echo changed; else rm -f -- "$t"; exit 1; fi"#;

const APPEND: &str = r#"at "$1" follow; p=$r
if [ -e "$p" ]; then
  [ -f "$p" ] || die 92 "not a regular file (a directory, a FIFO, a device or a socket)"
  if [ -n "$root" ] && [ "$(stat -L -c %h -- "$p")" -gt 1 ]; then die 96 "hard links"; fi
else
  parent "$p"; mkdir -p -- "$d" || exit 1
fi
cat >>"$p""#;

const EXISTS: &str = r#"at "$1" name; if [ -e "$r" ] || [ -L "$r" ]; then echo y; else echo n; fi"#;

const IS_DIR: &str = r#"at "$1" follow; if [ -d "$r" ]; then echo y; else echo n; fi"#;

const REMOVE: &str = r#"at "$1" name
if [ -L "$r" ]; then rm -f -- "$r" && echo y
elif [ -d "$r" ]; then die 92 "a directory (use file::remove_dir)"
elif [ -e "$r" ]; then rm -f -- "$r" && echo y
else echo n; fi"#;

const REMOVE_DIR: &str = r#"at "$1" name
if [ -n "$root" ] && [ "$r" = "$root" ]; then die 92 "the host's fsRoot itself"; fi
if [ -L "$r" ]; then rm -f -- "$r" && echo y
elif [ -d "$r" ]; then rm -rf -- "$r" && echo y
elif [ -e "$r" ]; then die 92 "not a directory"
else echo n; fi"#;

const MKDIR: &str = r#"at "$1" follow; mkdir -p -- "$r""#;

const LIST: &str = r#"at "$1" follow
[ -e "$r" ] || die 90 missing
[ -d "$r" ] || die 92 "not a directory"
find -H "$r" -mindepth 1 -maxdepth 1 -printf '%f\0'"#;

const COPY: &str = r#"at "$1" follow; f=$r; at "$2" follow; p=$r
[ -e "$f" ] || die 90 missing
[ -f "$f" ] || die 92 "not a regular file (a directory, a FIFO, a device or a socket)"
nowait "$f"
[ -d "$p" ] && die 92 "the destination is a directory"
parent "$p"; mkdir -p -- "$d" || exit 1
m=$(stat -L -c %a -- "$f") || exit 1
t=$(mktemp "$d/.ordo-XXXXXX") || exit 1
if cat -- "$f" >"$t" && chmod -- "$m" "$t" && mv -f -- "$t" "$p"; then :; else rm -f -- "$t"; exit 1; fi"#;

const SHA256: &str = r#"at "$1" follow
[ -e "$r" ] || die 90 missing
[ -f "$r" ] || die 92 "not a regular file (a directory, a FIFO, a device or a socket)"
nowait "$r"
sha256sum <"$r""#;

const STAT: &str = r#"at "$1" follow
[ -e "$r" ] || die 90 missing
stat -L -c "$2" -- "$r""#;

const CHMOD: &str = r#"at "$1" follow
[ -e "$r" ] || die 90 missing
if [ -n "$root" ] && [ -f "$r" ] && [ "$(stat -L -c %h -- "$r")" -gt 1 ]; then die 96 "hard links"; fi
chmod -- "$2" "$r""#;

const DIR: &str = r#"at "$1" follow
[ -e "$r" ] || die 90 missing
[ -d "$r" ] || die 92 "not a directory"
printf '%s' "$r""#;

/// Writes larger than this are first compared with the file on the host (one round trip
/// more), so an unchanged big file is not sent.
const SEND_WITH_CHECK: usize = 64 << 10;

/// The file operations on one host, as one handler call may use them.
#[derive(Debug)]
pub struct HostFs<'a> {
    host: &'a RemoteHost,
    env_allowed: bool,
    timeout: Option<Duration>,
}

impl RemoteHost {
    /// The file operations on this host. `env_allowed`: whether the calling handler may read
    /// a process's environment (`/proc/PID/environ` is refused otherwise, as locally).
    #[must_use]
    pub fn fs(&self, env_allowed: bool) -> HostFs<'_> {
        HostFs {
            host: self,
            env_allowed,
            timeout: None,
        }
    }
}

impl<'a> HostFs<'a> {
    /// Stops each operation after `limit` (the handler call's remaining time).
    #[must_use]
    pub fn timeout(mut self, limit: Option<Duration>) -> HostFs<'a> {
        self.timeout = limit;
        self
    }

    /// The host's name.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host.name
    }

    /// Runs `body` after the prelude with `args`, through `sudo -n` under `become`.
    fn script(
        &self,
        body: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        max_output: usize,
        guard_env: bool,
    ) -> Result<Output, TransportError> {
        let mut params: Vec<String> = vec![
            self.host.fs_root.clone().unwrap_or_default(),
            if guard_env && !self.env_allowed {
                "1"
            } else {
                "0"
            }
            .into(),
        ];
        params.extend(args.iter().map(|a| (*a).to_string()));
        // The script and its arguments (paths, a content's sha256) go on stdin, not argv.
        let mut cmd = RemoteCommand::script(&format!("{PRELUDE}{body}"), params)
            .prefix(super::exec::become_prefix(self.host, None, None))
            .max_output(max_output);
        if let Some(input) = stdin {
            cmd = cmd.stdin(input);
        }
        if let Some(limit) = self.timeout {
            cmd = cmd.timeout(limit);
        }
        self.host.connection.run(&cmd)
    }

    /// Runs an operation on `path` and turns the script's exit codes into errors.
    fn op(
        &self,
        action: &'static str,
        path: &str,
        body: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        max_output: usize,
    ) -> Result<Output, TransportError> {
        let mut all = vec![path];
        all.extend_from_slice(args);
        // A process's environment can be read, never written: only the calls that look
        // pay for resolving the path to find one (a `realpath` on the host).
        let guard_env = !matches!(
            action,
            "writing" | "appending to" | "making" | "changing the mode of" | "removing"
        );
        let out = self
            .script(body, &all, stdin, max_output, guard_env)
            .map_err(|e| self.stopped(action, path, e))?;
        self.check(action, path, &out)?;
        Ok(out)
    }

    /// A timeout of an operation is the handler call's: say so with the path, not the script.
    fn stopped(&self, action: &'static str, path: &str, e: TransportError) -> TransportError {
        match e {
            TransportError::TimedOut { .. } => TransportError::FileFailed {
                host: self.host.name.clone(),
                action,
                path: path.to_string(),
                detail: "the handler call reached its timeout".into(),
            },
            TransportError::BadArgument { host, reason, .. } => TransportError::BadArgument {
                host,
                what: format!("the path `{}`", path.escape_debug()),
                reason,
            },
            other => other,
        }
    }

    fn check(&self, action: &'static str, path: &str, out: &Output) -> Result<(), TransportError> {
        let host = self.host.name.clone();
        let path = path.to_string();
        let detail = || {
            let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if text.is_empty() {
                format!("exit code {}", out.code)
            } else {
                text
            }
        };
        if self.host.r#become
            && let Some(e) = super::exec::sudo_refusal(self.host, None, out)
        {
            return Err(e);
        }
        Err(match out.code {
            0 => return Ok(()),
            90 => TransportError::NotFound { host, path },
            91 => TransportError::OutsideRoot {
                host,
                path,
                root: self.host.fs_root.clone().unwrap_or_default(),
            },
            93 => TransportError::Environ { host, path },
            94 => TransportError::NotAbsolute { host, path },
            95 => TransportError::FileFailed {
                host,
                action,
                path,
                detail: format!(
                    "the host's fsRoot `{}` is not a directory there",
                    self.host.fs_root.as_deref().unwrap_or_default()
                ),
            },
            96 => TransportError::HardLinks { host, path },
            _ => TransportError::FileFailed {
                host,
                action,
                path,
                detail: detail(),
            },
        })
    }

    /// Reads a regular file, at most `limit` bytes (more is [`TransportError::TooLarge`]).
    ///
    /// # Errors
    ///
    /// The transport's, a missing file, a path refused, or not a regular file.
    pub fn read(&self, path: &str, limit: usize) -> Result<Vec<u8>, TransportError> {
        let out = self.op("reading", path, READ, &[""], None, limit)?;
        self.bounded(path, limit, out)
    }

    /// Reads a regular file and its permission bits.
    ///
    /// # Errors
    ///
    /// As [`HostFs::read`].
    pub fn read_with_mode(
        &self,
        path: &str,
        limit: usize,
    ) -> Result<(Vec<u8>, u32), TransportError> {
        // The mode line is at most 5 bytes more than the content.
        let out = self.op(
            "reading",
            path,
            READ,
            &["mode"],
            None,
            limit.saturating_add(6),
        )?;
        let text = out.stdout.clone();
        let (mode, content) = match text.iter().position(|b| *b == b'\n') {
            Some(nl) => (
                text.get(..nl).unwrap_or_default(),
                text.get(nl + 1..).unwrap_or_default(),
            ),
            None => (&[][..], &[][..]),
        };
        let mode = std::str::from_utf8(mode)
            .ok()
            .and_then(|m| u32::from_str_radix(m.trim(), 8).ok())
            .ok_or_else(|| TransportError::FileFailed {
                host: self.host.name.clone(),
                action: "reading",
                path: path.to_string(),
                detail: "no mode in the answer".into(),
            })?;
        let content = self.bounded(
            path,
            limit,
            Output {
                stdout: content.to_vec(),
                truncated: out.truncated || content.len() > limit,
                ..out
            },
        )?;
        Ok((content, mode))
    }

    fn bounded(&self, path: &str, limit: usize, out: Output) -> Result<Vec<u8>, TransportError> {
        if out.truncated {
            return Err(TransportError::TooLarge {
                host: self.host.name.clone(),
                path: path.to_string(),
                limit,
            });
        }
        Ok(out.stdout)
    }

    /// Writes `content` atomically (a temporary file beside it, renamed over it), parents
    /// made. `mode`: the exact mode, set before the rename; `None`: a replaced file keeps its
    /// mode, a new one gets 0644 less the umask. A file that already has this content and
    /// mode is left alone. Returns whether anything changed.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, or the host's message.
    pub fn write(
        &self,
        path: &str,
        content: &[u8],
        mode: Option<u32>,
    ) -> Result<bool, TransportError> {
        use sha2::Digest;
        let hash = hex(&sha2::Sha256::digest(content));
        let mode = mode
            .map(|m| format!("{:o}", m & 0o7777))
            .unwrap_or_default();
        // A big file is first compared, so an unchanged one is not sent at all; a small one
        // goes with the comparison, in one round trip.
        if content.len() > SEND_WITH_CHECK {
            let out = self.op("writing", path, WRITE, &[&mode, &hash, "check"], None, 64)?;
            if out.stdout.starts_with(b"unchanged") {
                return Ok(false);
            }
        }
        let out = self.op(
            "writing",
            path,
            WRITE,
            &[&mode, &hash, ""],
            Some(content),
            64,
        )?;
        Ok(out.stdout.starts_with(b"changed"))
    }

    /// Appends `content`, creating the file (and its parents) when missing.
    ///
    /// # Errors
    ///
    /// As [`HostFs::write`]; a file with several hard links under `fsRoot`.
    pub fn append(&self, path: &str, content: &[u8]) -> Result<(), TransportError> {
        self.op("appending to", path, APPEND, &[], Some(content), 64)
            .map(drop)
    }

    fn yes(&self, action: &'static str, path: &str, body: &str) -> Result<bool, TransportError> {
        let out = self.op(action, path, body, &[], None, 64)?;
        Ok(out.stdout.starts_with(b"y"))
    }

    /// Whether the name exists (a symlink is not followed).
    ///
    /// # Errors
    ///
    /// The transport's, or a path refused.
    pub fn exists(&self, path: &str) -> Result<bool, TransportError> {
        self.yes("looking at", path, EXISTS)
    }

    /// Whether the path is a directory (its last symlink followed).
    ///
    /// # Errors
    ///
    /// The transport's, or a path refused.
    pub fn is_dir(&self, path: &str) -> Result<bool, TransportError> {
        self.yes("looking at", path, IS_DIR)
    }

    /// Removes a file or a symlink (never a directory); returns whether it existed.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, a directory.
    pub fn remove(&self, path: &str) -> Result<bool, TransportError> {
        self.yes("removing", path, REMOVE)
    }

    /// Removes a directory and everything in it (a symlink is removed, not entered);
    /// returns whether it existed.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, a file, the root itself.
    pub fn remove_dir(&self, path: &str) -> Result<bool, TransportError> {
        self.yes("removing", path, REMOVE_DIR)
    }

    /// Makes a directory and its parents.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, or the host's message.
    pub fn mkdir(&self, path: &str) -> Result<(), TransportError> {
        self.op("making", path, MKDIR, &[], None, 64).map(drop)
    }

    /// The names in a directory, sorted; at most `limit` of them.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, not a directory, more than `limit` names.
    pub fn list(&self, path: &str, limit: usize) -> Result<Vec<String>, TransportError> {
        // Names are at most 255 bytes.
        let cap = limit.saturating_add(1).saturating_mul(256);
        let out = self.op("listing", path, LIST, &[], None, cap)?;
        let mut names: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        if out.truncated || names.len() > limit {
            return Err(TransportError::FileFailed {
                host: self.host.name.clone(),
                action: "listing",
                path: path.to_string(),
                detail: format!("more than {limit} names (the array length)"),
            });
        }
        names.sort();
        Ok(names)
    }

    /// Copies a regular file atomically on the host, keeping its permission bits.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, a missing source.
    pub fn copy(&self, from: &str, to: &str) -> Result<(), TransportError> {
        self.op("copying", from, COPY, &[to], None, 64).map(drop)
    }

    /// The SHA-256 of a regular file, in hex.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, a missing file.
    pub fn sha256(&self, path: &str) -> Result<String, TransportError> {
        let out = self.op("hashing", path, SHA256, &[], None, 256)?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.chars().take(64).collect())
    }

    fn stat(&self, path: &str, format: &str) -> Result<String, TransportError> {
        let out = self.op("looking at", path, STAT, &[format], None, 64)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The size in bytes (its last symlink followed).
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, a missing file.
    pub fn size(&self, path: &str) -> Result<i64, TransportError> {
        let text = self.stat(path, "%s")?;
        text.parse().map_err(|_| self.garbled("looking at", path))
    }

    /// The permission bits (its last symlink followed).
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, a missing file.
    pub fn mode(&self, path: &str) -> Result<u32, TransportError> {
        let text = self.stat(path, "%a")?;
        u32::from_str_radix(&text, 8).map_err(|_| self.garbled("looking at", path))
    }

    fn garbled(&self, action: &'static str, path: &str) -> TransportError {
        TransportError::FileFailed {
            host: self.host.name.clone(),
            action,
            path: path.to_string(),
            detail: "the host's answer is not a number".into(),
        }
    }

    /// Sets the permission bits.
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, a missing file, hard links under `fsRoot`.
    pub fn chmod(&self, path: &str, mode: u32) -> Result<(), TransportError> {
        let mode = format!("{:o}", mode & 0o7777);
        self.op("changing the mode of", path, CHMOD, &[&mode], None, 64)
            .map(drop)
    }

    /// The directory `path`, resolved and checked under `fsRoot` (a command's `cwd`).
    ///
    /// # Errors
    ///
    /// The transport's, a path refused, not a directory.
    pub fn dir(&self, path: &str) -> Result<String, TransportError> {
        let out = self.op("entering", path, DIR, &[], None, 64 << 10)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
