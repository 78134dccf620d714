//! [`StateLock`]: one run at a time per state file.
//!
//! The lock is an advisory `flock` on `state.json.lock`, whose text names the holder (pid,
//! host, start time, command). The kernel releases the `flock` when the holder dies, so a
//! lock file whose `flock` is free but still names a holder was left by a dead process: it
//! is taken over with a warning. A second run while the holder lives is refused with a
//! message naming it.
//!
//! The file is never removed by the run that holds it (issue 16): a holder that unlinked it
//! before releasing its `flock` let a third process lock a new file at the same path while
//! a second one still held the old one, so two runs ran at once. A run that finishes
//! empties the file and releases the `flock`; the file stays. Because a file can still be
//! removed by hand (or by `ordo state unlock --force`), taking the lock checks after the
//! `flock` that the path still names the very file locked (same device and inode) and
//! starts over otherwise, and a run checks it again ([`StateLock::check`]) before each
//! manifest starts and after each record: a lock removed or replaced under a run stops it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::store::{FileId, StateErrorKind};

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

    /// A holder whose lock file says nothing readable.
    fn unknown() -> Holder {
        Holder {
            pid: 0,
            host: "?".into(),
            started: "?".into(),
            command: "?".into(),
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

/// How many times taking the lock starts over when the file it locked was removed or
/// replaced in between: only a loop deleting the file could make it fail that often.
const ATTEMPTS: usize = 100;

/// Held for the whole run; released on drop (the file is emptied, never removed).
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
    /// The file locked: the path must keep naming it.
    id: FileId,
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
        let mut locked = None;
        for _ in 0..ATTEMPTS {
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
                    let h = read_holder(&mut file).unwrap_or_else(Holder::unknown);
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
            // The file may have been removed (and another created) between the open and the
            // `flock`: then this lock excludes nobody. Start over.
            let id = FileId::of(&file.metadata().map_err(write_err)?);
            if FileId::at(path).map_err(write_err)? == Some(id) {
                locked = Some((file, id));
                break;
            }
        }
        let Some((mut file, id)) = locked else {
            return Err(StateErrorKind::Write {
                path: shown,
                reason: format!(
                    "the lock file was removed or replaced each of the {ATTEMPTS} times it was locked"
                ),
            });
        };
        // An empty file was released by a run that finished; one naming a holder whose
        // `flock` is free was left by one that died.
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
                id,
            },
            warning,
        ))
    }

    /// Whether the lock still holds: its path names the file locked. A lock file removed
    /// (by hand, or `ordo state unlock --force`) or replaced lets another run in, so the
    /// run holding it must stop.
    pub fn check(&self) -> Result<(), StateErrorKind> {
        let how = match FileId::at(&self.path) {
            Ok(Some(id)) if id == self.id => return Ok(()),
            Ok(Some(_)) => "replaced by another file",
            Ok(None) => "removed",
            Err(_) => "made unreadable",
        };
        Err(StateErrorKind::LockLost {
            path: self.path.display().to_string(),
            how,
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Emptied, not removed, while the `flock` is still held: the next run finds a free
        // lock naming nobody (no stale-lock warning), and nobody can lock another file at
        // this path while this one is held.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// `ordo state unlock`: removes a lock left behind. A holder still running is refused
/// unless `force` (it notices and stops: see [`StateLock::check`]). A free lock is removed
/// while this process holds its `flock`, so a run that opened the file meanwhile finds it
/// gone once it locks it, and starts over.
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
    let held = matches!(file.try_lock(), Err(TryLockError::WouldBlock));
    let holder = read_holder(&mut file);
    if !held && holder.is_none() {
        // Emptied by the run that released it: nothing to remove.
        return Ok(format!("{shown} is not locked"));
    }
    if held && !force {
        let h = holder.unwrap_or_else(Holder::unknown);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_released_by_emptying_its_file_never_removing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.lock");
        let (lock, warning) = StateLock::acquire(&path, "ordo apply").unwrap();
        assert!(warning.is_none());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("ordo apply")
        );
        // Held: a second taker is refused and told who holds it.
        let e = StateLock::acquire(&path, "ordo delete").unwrap_err();
        assert!(matches!(e, StateErrorKind::Locked { pid, .. } if pid == std::process::id()));
        drop(lock);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        assert_eq!(
            unlock(&path, false).unwrap(),
            format!("{} is not locked", path.display())
        );
        // Free and naming nobody: taken again without a stale-lock warning.
        let (_lock, warning) = StateLock::acquire(&path, "ordo apply").unwrap();
        assert!(warning.is_none());
    }

    #[test]
    fn a_lock_removed_or_replaced_under_its_holder_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.lock");
        let (lock, _) = StateLock::acquire(&path, "ordo apply").unwrap();
        lock.check().unwrap();
        std::fs::remove_file(&path).unwrap();
        let e = lock.check().unwrap_err();
        assert!(
            matches!(e, StateErrorKind::LockLost { how: "removed", .. }),
            "{e}"
        );
        // Another run gets in through the new file: the first one's check says so.
        let (other, _) = StateLock::acquire(&path, "ordo apply").unwrap();
        let e = lock.check().unwrap_err();
        assert!(
            matches!(
                e,
                StateErrorKind::LockLost {
                    how: "replaced by another file",
                    ..
                }
            ),
            "{e}"
        );
        other.check().unwrap();
        // The first one's release leaves the other's file alone.
        drop(lock);
        other.check().unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("ordo apply")
        );
    }
}
