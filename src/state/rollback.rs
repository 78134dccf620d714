//! The rollback journal (`state.json.rollback`): while `apply --rollback-on-failure` rolls
//! back, which manifests it is undoing, in order, and what became of each so far.
//!
//! The state journal records what each undo did to the state as it finishes; this file
//! only says where the rollback was. It exists from the rollback's start to its end, so a
//! run killed during its rollback (SIGKILL, a power cut) leaves it behind, and the next
//! run that takes the lock reports where the rollback stopped and removes it (`plan`,
//! which takes no lock, reports it and leaves it). A file past [`MAX_JOURNAL_BYTES`] is
//! not read (it is reported by name), and the warning names at most [`MAX_NAMES`]
//! manifests per outcome, then a count.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The largest rollback journal read back (a rollback of 100 000 manifests is ~2 MiB).
const MAX_JOURNAL_BYTES: u64 = 16 * 1024 * 1024;

/// The most manifest names the warning lists per outcome; the rest are counted.
const MAX_NAMES: usize = 50;

/// The first line: the rollback and what it undoes.
#[derive(Debug, Serialize, Deserialize)]
struct Started {
    pid: u32,
    started: String,
    command: String,
    env: String,
    /// In the order they are undone.
    manifests: Vec<String>,
}

/// A later line: one manifest done with.
#[derive(Debug, Serialize, Deserialize)]
struct Done {
    name: String,
    /// `rolled_back`, `rollback_failed`, `not_rolled_back` or `kept`.
    result: String,
}

/// The rollback journal of a run, written while it rolls back.
#[derive(Debug)]
pub struct RollbackJournal {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// When the file was last synced.
    synced: Option<std::time::Instant>,
}

/// A rollback that did not finish, as its journal tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedRollback {
    pub pid: u32,
    pub started: String,
    pub command: String,
    pub env: String,
    /// Per manifest in the order it was to be undone: what became of it (`None`: the
    /// rollback never got to it).
    pub manifests: Vec<(String, Option<String>)>,
}

impl UnfinishedRollback {
    /// The warning the next run prints.
    pub fn message(&self) -> String {
        let listed = |names: Vec<&String>| -> Vec<String> {
            let more = names.len().saturating_sub(MAX_NAMES);
            let mut list: Vec<String> = names
                .into_iter()
                .take(MAX_NAMES)
                .map(|n| format!("`{n}`"))
                .collect();
            if more > 0 {
                list.push(format!("and {more} more"));
            }
            list
        };
        let of = |wanted: &str| -> Vec<String> {
            listed(
                self.manifests
                    .iter()
                    .filter(|(_, r)| r.as_deref() == Some(wanted))
                    .map(|(n, _)| n)
                    .collect(),
            )
        };
        let left: Vec<String> = listed(
            self.manifests
                .iter()
                .filter(|(_, r)| r.is_none())
                .map(|(n, _)| n)
                .collect(),
        );
        let mut parts = Vec::new();
        for (list, what) in [
            (of("rolled_back"), "rolled back"),
            (of("rollback_failed"), "failed to roll back"),
            (of("not_rolled_back"), "not rolled back"),
            (of("kept"), "kept (metadata.rollback)"),
            (left, "never reached"),
        ] {
            if !list.is_empty() {
                parts.push(format!("{what}: {}", list.join(", ")));
            }
        }
        let current = self
            .manifests
            .iter()
            .find(|(_, r)| r.is_none())
            .map(|(n, _)| format!(" while undoing `{n}`"))
            .unwrap_or_default();
        let text = format!(
            "the run of `{}` (pid {}, environment `{}`) was killed during its rollback, started {}{current}; {}; the state records each as it is now",
            self.command,
            self.pid,
            self.env,
            self.started,
            parts.join("; ")
        );
        // The file may come with a cloned project: nothing in it reaches the terminal raw.
        text.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    }
}

impl RollbackJournal {
    /// The rollback journal beside the state file `state`.
    pub fn path_for(state: &Path) -> PathBuf {
        let mut p = state.to_path_buf().into_os_string();
        p.push(".rollback");
        PathBuf::from(p)
    }

    pub fn new(state: &Path) -> Self {
        RollbackJournal {
            path: Self::path_for(state),
            file: None,
            synced: None,
        }
    }

    /// The rollback starts: its first line. A journal that cannot be written is no reason
    /// not to roll back; the state journal still records every undo.
    pub fn start(&mut self, command: &str, env: &str, manifests: &[String]) {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path);
        let Ok(file) = file else {
            return;
        };
        self.file = Some(file);
        self.line(&Started {
            pid: std::process::id(),
            started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            command: command.to_string(),
            env: env.to_string(),
            manifests: manifests.to_vec(),
        });
    }

    /// One manifest is done with.
    pub fn done(&mut self, name: &str, result: &str) {
        self.line(&Done {
            name: name.to_string(),
            result: result.to_string(),
        });
    }

    /// The rollback is over: the run reports it itself.
    pub fn finish(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Appends one line in one write: a process killed after it returns leaves it whole
    /// in the file. It is synced only now and then (the state journal, which says what
    /// each undo did, is the record that matters after a power cut).
    fn line(&mut self, value: &impl Serialize) {
        if let (Some(file), Ok(mut text)) = (&mut self.file, serde_json::to_vec(value)) {
            text.push(b'\n');
            let _ = file.write_all(&text);
            if self
                .synced
                .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1))
            {
                let _ = file.sync_data();
                self.synced = Some(std::time::Instant::now());
            }
        }
    }

    /// The rollback left unfinished beside the state file `state`, if any; `remove` takes
    /// the file away once read (the caller holds the lock). `Err`: the warning for a file
    /// too big to read (past [`MAX_JOURNAL_BYTES`]), which stays.
    pub fn unfinished(state: &Path, remove: bool) -> Option<Result<UnfinishedRollback, String>> {
        let path = Self::path_for(state);
        let file = super::store::open_read(&path).ok()?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if size > MAX_JOURNAL_BYTES {
            let text = format!(
                "{} is left from a rollback that did not finish, but it is {size} bytes, more \
                 than the {MAX_JOURNAL_BYTES} ordo reads: not read; look at it and remove it",
                path.display()
            );
            return Some(Err(text
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect()));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(&file, MAX_JOURNAL_BYTES),
            &mut text,
        )
        .ok()?;
        if remove {
            let _ = std::fs::remove_file(&path);
        }
        let mut lines = text.lines();
        let started: Started = serde_json::from_str(lines.next()?).ok()?;
        let mut manifests: Vec<(String, Option<String>)> =
            started.manifests.into_iter().map(|n| (n, None)).collect();
        // Per name, its places still open, first first (a name may repeat).
        let mut open: std::collections::HashMap<String, std::collections::VecDeque<usize>> =
            std::collections::HashMap::new();
        for (i, (n, _)) in manifests.iter().enumerate() {
            open.entry(n.clone()).or_default().push_back(i);
        }
        // A torn last line (killed while writing it) says nothing.
        for done in lines.filter_map(|l| serde_json::from_str::<Done>(l).ok()) {
            if let Some(slot) = open
                .get_mut(&done.name)
                .and_then(std::collections::VecDeque::pop_front)
                .and_then(|i| manifests.get_mut(i))
            {
                slot.1 = Some(done.result);
            }
        }
        Some(Ok(UnfinishedRollback {
            pid: started.pid,
            started: started.started,
            command: started.command,
            env: started.env,
            manifests,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfinished_rollback_is_read_back_and_said_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let mut j = RollbackJournal::new(&state);
        j.start(
            "ordo apply",
            "default",
            &["c".into(), "b".into(), "a".into()],
        );
        j.done("c", "rolled_back");
        drop(j);
        let left = RollbackJournal::unfinished(&state, false).unwrap().unwrap();
        assert_eq!(
            left.manifests,
            [
                ("c".to_string(), Some("rolled_back".to_string())),
                ("b".to_string(), None),
                ("a".to_string(), None)
            ]
        );
        let text = left.message();
        assert!(text.contains("while undoing `b`"), "{text}");
        assert!(
            text.contains("rolled back: `c`; never reached: `b`, `a`"),
            "{text}"
        );
        assert!(RollbackJournal::path_for(&state).exists());
        RollbackJournal::unfinished(&state, true).unwrap().unwrap();
        assert!(!RollbackJournal::path_for(&state).exists());
        assert!(RollbackJournal::unfinished(&state, true).is_none());
    }
}
