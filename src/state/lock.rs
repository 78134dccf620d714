//! [`StateLock`]: one run at a time per state file.
//!
//! The lock is an advisory `flock` on `state.json.lock`, whose text names the holder (pid,
//! host, start time, command). The kernel releases the `flock` when the holder dies, so a
//! lock file whose `flock` is free was left by a dead process: it is taken over with a
//! warning. A second run while the holder lives is refused with a message naming it.
//! `ordo state unlock` removes a lock file by hand.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::store::StateErrorKind;

/// What the lock file says about its holder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub command: String,
}

impl Holder {
    fn me(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            command: command.to_string(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "pid {} on {} since {} (`{}`)",
            self.pid, self.host, self.started, self.command
        )
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Held for the whole run; released (and the file removed) on drop.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

impl StateLock {
    /// Takes the lock, or says who holds it. Returns a warning when a stale lock was taken over.
    pub fn acquire(
        path: &Path,
        command: &str,
    ) -> Result<(StateLock, Option<String>), StateErrorKind> {
        let shown = path.display().to_string();
        let write_err = |e: std::io::Error| {
            if super::store::is_link_refused(&e) {
                StateErrorKind::Link {
                    path: shown.clone(),
                }
            } else {
                StateErrorKind::Write {
                    path: shown.clone(),
                    reason: e.to_string(),
                }
            }
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        // 0600 from the start, like the state: the holder's command line may carry values.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // Never through a link: it would overwrite the link's target (a repository can
            // ship `.ordo/state.json.lock -> ../somefile`).
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(write_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let h = read_holder(&mut file).unwrap_or(Holder {
                    pid: 0,
                    host: "?".into(),
                    started: "?".into(),
                    command: "?".into(),
                });
                return Err(StateErrorKind::Locked {
                    path: shown,
                    pid: h.pid,
                    host: h.host,
                    since: h.started,
                    command: h.command,
                });
            }
            Err(TryLockError::Error(e)) => return Err(write_err(e)),
        }
        let warning = read_holder(&mut file)
            .filter(|h| h.pid != std::process::id())
            .map(|h| {
                format!(
                    "took over a stale lock on {shown} left by {}, which is no longer running",
                    h.describe()
                )
            });
        let me = serde_json::to_vec(&Holder::me(command)).unwrap_or_default();
        file.set_len(0).map_err(write_err)?;
        file.rewind().map_err(write_err)?;
        file.write_all(&me).map_err(write_err)?;
        file.sync_data().map_err(write_err)?;
        Ok((
            StateLock {
                file,
                path: path.to_path_buf(),
            },
            warning,
        ))
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// `ordo state unlock`: removes a lock left behind. A holder still running is refused
/// unless `force`.
pub fn unlock(path: &Path, force: bool) -> Result<String, StateErrorKind> {
    let shown = path.display().to_string();
    let mut file = match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(format!("{shown} is not locked"));
        }
        Err(e) if super::store::is_link_refused(&e) => {
            return Err(StateErrorKind::Link { path: shown });
        }
        Err(e) => {
            return Err(StateErrorKind::Read {
                path: shown,
                reason: e.to_string(),
            });
        }
    };
    let holder = read_holder(&mut file);
    let held = matches!(file.try_lock(), Err(TryLockError::WouldBlock));
    if held && !force {
        let h = holder.unwrap_or(Holder {
            pid: 0,
            host: "?".into(),
            started: "?".into(),
            command: "?".into(),
        });
        return Err(StateErrorKind::HolderAlive {
            path: shown,
            pid: h.pid,
            host: h.host,
        });
    }
    std::fs::remove_file(path).map_err(|e| StateErrorKind::Write {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    Ok(match holder {
        Some(h) => format!("removed the lock on {shown} held by {}", h.describe()),
        None => format!("removed the lock on {shown}"),
    })
}
