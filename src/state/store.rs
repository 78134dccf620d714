//! [`StateStore`]: the state file, its journal, and how the two become one.
//!
//! The state file (`.ordo/state.json`) holds, per environment, every manifest an `apply`
//! recorded: the resolved manifest, a hash of its spec, the handler and its hash, its
//! variables and when it was applied. It is only ever replaced whole and atomically
//! (temporary file, fsync, rename, fsync of the directory).
//!
//! Rewriting it after every manifest would be quadratic at 100k manifests, so a run appends
//! one JSON line per finished manifest to a journal beside it (`state.json.journal`),
//! written through to the operating system at once: a crash or SIGKILL of ordo loses
//! nothing that finished. At the end of the run, and at the start of the next one if a
//! crash left a journal behind, the journal is folded into the state file and removed.
//! Replaying a record twice is harmless (records are "put" and "remove" of whole entries),
//! so a crash during the fold is harmless too. A torn last line (killed mid-write: no
//! newline) is ignored, as that manifest's finish was not recorded; any other line that is
//! not a record is an error naming it, and the journal is kept for a person to look at.
//!
//! Schema 2 keeps revisions: each entry is the manifest's current revision (numbered from
//! 1 for its first apply) and holds the [`MAX_REVISIONS`]` - 1` before it in `history`,
//! oldest first. A `put` of a higher revision moves the entry it replaces into the new
//! one's history (see [`State::apply`]); a `put` of the same revision replaces it in place,
//! so replaying a journal stays harmless. A schema 1 state is read as schema 2, each entry
//! becoming revision 1, and written as schema 2.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The version of the state file's format.
pub const SCHEMA: u32 = 2;

/// How many revisions of a manifest the state keeps: the current one and those before it.
pub const MAX_REVISIONS: usize = 10;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Always written as [`SCHEMA`]; what was read is only compared.
    #[serde(serialize_with = "current_schema")]
    pub schema: u32,
    /// Environment → manifest name → entry.
    pub environments: BTreeMap<String, BTreeMap<String, Entry>>,
}

/// One applied manifest.
///
/// `metadata`, `spec` and `variables` are kept as raw JSON text: reading a state of 100k
/// entries then costs a validation pass, not 100k trees, and they are parsed only when a
/// command needs them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub kind: String,
    pub version: String,
    /// The manifest file, as shown in messages.
    pub file: String,
    /// The manifest file's directory, absolute (`m.dir`).
    pub dir: String,
    /// `metadata` and `spec` as the handler saw them, every tag resolved.
    pub metadata: Box<RawValue>,
    pub spec: Box<RawValue>,
    /// Keyed hash of the spec as written (after values), to tell when it changed
    /// (see `key.rs`).
    pub spec_hash: String,
    pub handler: String,
    pub handler_hash: String,
    /// The source the handler came from, at which pin (`None`: a local or bundled handler),
    /// so a changed handler can be explained ("source `platform` moved …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler_source: Option<RecordedHandlerSource>,
    /// The manifest's variables; secret ones are kept out (see `secret_variables`).
    pub variables: Box<RawValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_variables: Vec<String>,
    /// Where the recorded `metadata`/`spec` had secret text masked (`spec.db.password`):
    /// those values are unknown, never the mask (`m.previous`, `apply --prune`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
    /// Names this manifest depended on (apply order), for pruning in reverse order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// RFC 3339, UTC.
    pub applied_at: String,
    /// This revision's number: 1 for the first apply, one more for each apply after it
    /// that recorded a change (0 only while read from a schema 1 state or journal).
    #[serde(default)]
    pub revision: u64,
    /// For each masked path, the tag as written that produced its value
    /// (`!Value "db.password"`), to re-resolve it from the sources of a later run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<RecordedSource>,
    /// The revisions before this one, oldest first (at most [`MAX_REVISIONS`]` - 1`);
    /// their own `history` is empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "bounded_history"
    )]
    pub history: Vec<Entry>,
    /// For a manifest instance (`name@host`): its host's name and address, for display
    /// only. How to reach a host comes from the inventory a run is given, never from the
    /// state (a state file can come with a cloned project: its settings would choose where
    /// ordo connects and what `ssh` runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<RecordedHost>,
}

/// A handler's source as the state records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedHandlerSource {
    /// The source's name.
    pub name: String,
    /// Its address.
    pub url: String,
    /// A full commit id, or `sha256:HEX`.
    pub pin: String,
}

/// Where a masked value came from: the path it is at (`spec.db.password`, as in `masked`,
/// or a path above it when a whole value was secret) and the tag written there, as YAML
/// flow text (`!Value "db"`, `!Env "DB_PW"`, `!Sub ["u:${pw}", {}]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedSource {
    pub path: String,
    pub tag: String,
}

/// Writes the schema this ordo writes, whatever was read.
fn current_schema<S: serde::Serializer>(_: &u32, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_u32(SCHEMA)
}

/// Reads `history`, refusing more than [`MAX_REVISIONS`]` - 1` revisions as soon as the
/// list passes it (a state file of a million revisions is not parsed whole).
fn bounded_history<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<Entry>, D::Error> {
    struct Bounded;
    impl<'de> serde::de::Visitor<'de> for Bounded {
        type Value = Vec<Entry>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {} revisions", MAX_REVISIONS - 1)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Entry>, A::Error> {
            let mut out = Vec::new();
            while let Some(e) = seq.next_element::<Entry>()? {
                if out.len() + 1 >= MAX_REVISIONS {
                    return Err(serde::de::Error::custom(format!(
                        "`history` holds more than {} revisions (ordo keeps {MAX_REVISIONS} in all)",
                        MAX_REVISIONS - 1
                    )));
                }
                out.push(e);
            }
            Ok(out)
        }
    }
    de.deserialize_seq(Bounded)
}

/// The host of a manifest instance as the state records it: its inventory name and
/// address when it last ran there. States written before this kept the connection
/// settings and variables too; those fields are ignored when read and dropped when the
/// entry is written again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedHost {
    pub name: String,
    #[serde(default)]
    pub address: String,
}

/// One journal line.
#[derive(Debug, Serialize, Deserialize)]
// Externally tagged (`{"put": {...}}`): it deserializes without buffering, which matters
// when a journal of 100k lines is folded.
#[serde(rename_all = "lowercase")]
pub enum Record {
    Put {
        env: String,
        name: String,
        entry: Box<Entry>,
    },
    Remove {
        env: String,
        name: String,
    },
    /// `apply --rollback-on-failure` undid a manifest: the entry it had before the run
    /// (with its history) replaces what the run recorded, whatever its revision.
    Restore {
        env: String,
        name: String,
        entry: Box<Entry>,
    },
}

impl Entry {
    /// The revision that follows this one.
    pub fn next_revision(&self) -> u64 {
        self.revision.saturating_add(1)
    }

    /// Every revision kept, oldest first: the history, then this one.
    pub fn revisions(&self) -> impl Iterator<Item = &Entry> {
        self.history.iter().chain(std::iter::once(self))
    }

    /// The revision numbered `n`, if it is kept.
    pub fn revision(&self, n: u64) -> Option<&Entry> {
        self.revisions().find(|e| e.revision == n)
    }

    /// Takes `old`'s place: `old` goes into this entry's history unless this is the same
    /// revision (a record replayed, or an apply that changed nothing), whose history it
    /// keeps. A revision of 0 (an older ordo's journal) becomes the one after `old`.
    fn succeed(&mut self, mut old: Entry) {
        if self.revision == 0 {
            self.revision = old.next_revision();
        }
        let mut history = std::mem::take(&mut old.history);
        if self.revision > old.revision {
            history.push(old);
        }
        let over = history.len().saturating_sub(MAX_REVISIONS - 1);
        history.drain(..over);
        self.history = history;
    }
}

impl State {
    pub fn apply(&mut self, record: Record) {
        match record {
            Record::Put { env, name, entry } => {
                let mut entry = *entry;
                let entries = self.environments.entry(env).or_default();
                match entries.entry(name) {
                    std::collections::btree_map::Entry::Occupied(mut slot) => {
                        // Earlier revisions are never put again: a `put` of a lower one
                        // (a replayed journal behind a newer state) changes nothing.
                        if entry.revision != 0 && entry.revision < slot.get().revision {
                            return;
                        }
                        let old = std::mem::replace(slot.get_mut(), entry);
                        slot.get_mut().succeed(old);
                    }
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        if entry.revision == 0 {
                            entry.revision = 1;
                        }
                        slot.insert(entry);
                    }
                }
            }
            Record::Restore { env, name, entry } => {
                self.environments
                    .entry(env)
                    .or_default()
                    .insert(name, *entry);
            }
            Record::Remove { env, name } => {
                if let Some(e) = self.environments.get_mut(&env) {
                    e.remove(&name);
                    if e.is_empty() {
                        self.environments.remove(&env);
                    }
                }
            }
        }
    }

    pub fn env(&self, env: &str) -> Option<&BTreeMap<String, Entry>> {
        self.environments.get(env)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateErrorKind {
    #[error("cannot read the state file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the state file {path} is not valid (line {line}, column {column}): {reason}")]
    Corrupt {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error(
        "the state file {path} has schema {found}, newer than this ordo understands ({SCHEMA})"
    )]
    TooNew { path: String, found: u32 },
    #[error("the state file {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
    #[error(
        "the state journal {path} is not valid at line {line}, column {column}: {reason}; it is kept as it is"
    )]
    JournalCorrupt {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("cannot write the state file {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("the lock {path} was {how} while this run held it, which lets another run in")]
    LockLost { path: String, how: &'static str },
    #[error("the state journal {path} was {how} while this run wrote to it")]
    JournalLost { path: String, how: &'static str },
    /// A run stopped because it could no longer record (`cause`); `unrecorded` names the
    /// manifests that finished but that the state does not record, `saving` why saving
    /// the rest failed.
    #[error("{cause}; the run stopped, {}", unrecorded_text(.unrecorded))]
    Stopped {
        cause: Box<StateErrorKind>,
        unrecorded: Vec<String>,
        saving: Option<Box<StateErrorKind>>,
    },
    #[error(
        "{path} is a symbolic link; ordo never opens its state, journal or lock through a link (remove the link)"
    )]
    Link { path: String },
    #[error("the state {path} is locked by pid {pid} on {host} since {since}, running `{command}`")]
    Locked {
        path: String,
        pid: u32,
        host: String,
        since: String,
        command: String,
    },
    #[error("the state {path} is locked by pid {pid} on {host}, which is still running")]
    HolderAlive {
        path: String,
        pid: u32,
        host: String,
    },
}

/// What a stopped run could not record, said for people.
fn unrecorded_text(names: &[String]) -> String {
    const SHOWN: usize = 20;
    if names.is_empty() {
        return "and everything that finished is recorded".into();
    }
    let mut list = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        list.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    let them = if names.len() == 1 { "it" } else { "them" };
    format!("and the state does not record that {list} finished (a later run does {them} again)")
}

/// The state file and its journal, at one path.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
}

fn io(path: &Path, e: &std::io::Error) -> StateErrorKind {
    if is_link_refused(e) {
        return StateErrorKind::Link {
            path: path.display().to_string(),
        };
    }
    StateErrorKind::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Whether an open with `O_NOFOLLOW` failed because the path is a symbolic link.
pub(super) fn is_link_refused(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// A state read error: a link refused is said as such.
fn read_error(path: &Path, e: &std::io::Error) -> StateErrorKind {
    if is_link_refused(e) {
        return StateErrorKind::Link {
            path: path.display().to_string(),
        };
    }
    StateErrorKind::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Opens a file of the state for reading without following a symbolic link: a link planted
/// in `.ordo/` (a repository can ship one) must not make ordo read, or later replace,
/// another file.
/// Never anything but a regular file either: a FIFO planted as `state.json` or the journal
/// would block the run forever, holding the lock.
pub(super) fn open_read(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, a device, a socket or a directory)",
        ));
    }
    Ok(file)
}

/// The device and inode of a file: which file a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub(super) fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// The file at `path` now (not following a link); `None` when there is none.
    pub(super) fn at(path: &Path) -> std::io::Result<Option<FileId>> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) => Ok(Some(FileId::of(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Every entry's revisions must count up: numbered from 1, each history older than the
/// entry, in order, without histories of their own. A state edited by hand (a revision 0,
/// numbers out of order) is refused rather than trusted.
fn check_revisions(state: &State) -> Result<(), String> {
    for (env, entries) in &state.environments {
        for (name, entry) in entries {
            let bad = |why: &str| format!("`{name}` (environment `{env}`): {why}");
            if entry.revision == 0 {
                return Err(bad("its revision is 0; revisions are numbered from 1"));
            }
            if entry.revision == u64::MAX {
                return Err(bad(&format!(
                    "its revision is {}, which no later apply can follow",
                    entry.revision
                )));
            }
            let mut last = 0;
            for old in &entry.history {
                if old.revision <= last || old.revision >= entry.revision {
                    return Err(bad(&format!(
                        "its revisions are not in order (revision {} in the history of revision {})",
                        old.revision, entry.revision
                    )));
                }
                if !old.history.is_empty() {
                    return Err(bad(&format!(
                        "revision {} has a history of its own",
                        old.revision
                    )));
                }
                last = old.revision;
            }
        }
    }
    Ok(())
}

/// The records of a journal's text; a bad line is `(line, column, reason)`.
fn parse_journal(bytes: &[u8]) -> Result<Vec<Record>, (usize, usize, String)> {
    let mut records = Vec::new();
    let mut lines = bytes
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
        .peekable();
    while let Some((i, line)) = lines.next() {
        let number = i + 1;
        let complete = line.ends_with(b"\n");
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let parsed = if text.iter().all(u8::is_ascii_whitespace) {
            Err((number, 1, "an empty line is not a record".to_string()))
        } else {
            serde_json::from_slice::<Record>(text).map_err(|e| (number, e.column(), e.to_string()))
        };
        match parsed {
            Ok(r) => records.push(r),
            // The last line, without its newline: torn by a kill mid-write. That manifest
            // had not finished being recorded.
            Err(_) if !complete && lines.peek().is_none() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(records)
}

impl StateStore {
    pub fn new(path: PathBuf) -> Self {
        StateStore { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn journal_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".journal");
        PathBuf::from(p)
    }

    pub fn lock_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        PathBuf::from(p)
    }

    /// The state as of the last finished manifest: the file plus any journal left behind.
    pub fn read(&self) -> Result<State, StateErrorKind> {
        let mut state = self.read_file()?;
        for record in self.read_journal()? {
            state.apply(record);
        }
        Ok(state)
    }

    fn read_file(&self) -> Result<State, StateErrorKind> {
        let shown = self.path.display().to_string();
        let read = open_read(&self.path).and_then(|mut f| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut f, &mut text).map(|_| text)
        });
        let text = match read {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    schema: SCHEMA,
                    environments: BTreeMap::new(),
                });
            }
            Err(e) => return Err(read_error(&self.path, &e)),
        };
        let state: State = serde_json::from_str(&text).map_err(|e| StateErrorKind::Corrupt {
            path: shown.clone(),
            line: e.line(),
            column: e.column(),
            reason: e.to_string(),
        })?;
        if state.schema > SCHEMA {
            return Err(StateErrorKind::TooNew {
                path: shown,
                found: state.schema,
            });
        }
        let mut state = state;
        if state.schema < 2 {
            // Schema 1 kept no revisions: each entry is the first.
            for entry in state.environments.values_mut().flat_map(|e| e.values_mut()) {
                entry.revision = 1;
                entry.history.clear();
            }
        }
        check_revisions(&state).map_err(|reason| StateErrorKind::Invalid {
            path: shown,
            reason,
        })?;
        state.schema = SCHEMA;
        Ok(state)
    }

    /// The journal's records, in order. Only a torn last line (no newline: the process died
    /// writing it) is left out, as a record that did not finish; any other line that is
    /// not a record (an empty line, garbage) is an error naming it, and the journal is kept
    /// (issue 16: skipping it dropped every record after it, and the fold then removed them).
    fn read_journal(&self) -> Result<Vec<Record>, StateErrorKind> {
        let path = self.journal_path();
        let mut file = match open_read(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(read_error(&path, &e)),
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| read_error(&path, &e))?;
        parse_journal(&bytes).map_err(|(line, column, reason)| StateErrorKind::JournalCorrupt {
            path: path.display().to_string(),
            line,
            column,
            reason,
        })
    }

    /// Folds the journal into the state file (atomically) and removes the journal.
    pub fn fold(&self) -> Result<(), StateErrorKind> {
        if !self.journal_path().exists() {
            return Ok(());
        }
        let state = self.read()?;
        self.commit(&state)
    }

    /// The state, with a journal left by a crashed run folded in first.
    pub fn recover(&self) -> Result<State, StateErrorKind> {
        let state = self.read()?;
        if self.journal_path().exists() {
            self.commit(&state)?;
        }
        Ok(state)
    }

    /// Writes `state` (which already holds everything journaled) and drops the journal.
    pub fn commit(&self, state: &State) -> Result<(), StateErrorKind> {
        self.write(state)?;
        match std::fs::remove_file(self.journal_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&self.journal_path(), &e)),
        }
    }

    /// Replaces the state file with `state`: temporary file, fsync, rename, fsync directory.
    pub fn write(&self, state: &State) -> Result<(), StateErrorKind> {
        // Unkeyed spec hashes of an older ordo are never written again (issue 15).
        let clean = super::key::without_unkeyed(state);
        let state = clean.as_ref().unwrap_or(state);
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".state-")
            .tempfile_in(dir)
            .map_err(|e| io(dir, &e))?;
        {
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            serde_json::to_writer(&mut w, state).map_err(|e| StateErrorKind::Write {
                path: self.path.display().to_string(),
                reason: e.to_string(),
            })?;
            w.write_all(b"\n").map_err(|e| io(&self.path, &e))?;
            w.flush().map_err(|e| io(&self.path, &e))?;
        }
        tmp.as_file().sync_all().map_err(|e| io(&self.path, &e))?;
        tmp.persist(&self.path)
            .map_err(|e| io(&self.path, &e.error))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Opens the journal for appending records.
    pub fn journal(&self) -> Result<Journal, StateErrorKind> {
        let path = self.journal_path();
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
        }
        // 0600 from the start, like the state file it feeds.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| io(&path, &e))?;
        let id = FileId::of(&file.metadata().map_err(|e| io(&path, &e))?);
        Ok(Journal {
            file,
            path,
            id,
            last_sync: Instant::now(),
            unsynced: false,
        })
    }
}

/// Appends records; each is written through to the OS at once, and fsynced at least
/// every second and when the journal is closed.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    /// The file opened: a record written after the path stopped naming it is lost.
    id: FileId,
    last_sync: Instant,
    unsynced: bool,
}

impl Journal {
    /// Appends one record. An error means it is not recorded: a write that failed part way
    /// (a full disk) is cut off again, so the journal never holds half a record followed
    /// by more; and a journal removed or replaced meanwhile (its record went to a file
    /// nobody will read) is an error too.
    pub fn append(&mut self, record: &Record) -> Result<(), StateErrorKind> {
        let mut line = serde_json::to_vec(record).map_err(|e| StateErrorKind::Write {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        let end = self.file.seek(std::io::SeekFrom::End(0));
        // One write(2) per record: a SIGKILL cannot leave half of one behind except torn
        // at the very end, which the reader ignores.
        if let Err(e) = self.file.write_all(&line) {
            if let Ok(end) = end {
                let _ = self.file.set_len(end);
            }
            return Err(io(&self.path, &e));
        }
        self.unsynced = true;
        let how = match FileId::at(&self.path) {
            Ok(Some(id)) if id == self.id => None,
            Ok(Some(_)) => Some("replaced by another file"),
            Ok(None) => Some("removed"),
            Err(_) => Some("made unreadable"),
        };
        if let Some(how) = how {
            return Err(StateErrorKind::JournalLost {
                path: self.path.display().to_string(),
                how,
            });
        }
        if self.last_sync.elapsed() >= Duration::from_secs(1) {
            self.sync()?;
        }
        Ok(())
    }

    pub fn sync(&mut self) -> Result<(), StateErrorKind> {
        if self.unsynced {
            self.file.sync_data().map_err(|e| io(&self.path, &e))?;
            self.unsynced = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str) -> Entry {
        Entry {
            kind: kind.into(),
            version: "v1".into(),
            file: "m.yaml".into(),
            dir: "/tmp".into(),
            metadata: RawValue::from_string("{\"name\":\"a\"}".into()).unwrap(),
            spec: RawValue::from_string("{}".into()).unwrap(),
            spec_hash: "h".into(),
            handler: "h.rhai".into(),
            handler_hash: "hh".into(),
            handler_source: None,
            variables: RawValue::from_string("{}".into()).unwrap(),
            secret_variables: Vec::new(),
            masked: Vec::new(),
            dependencies: Vec::new(),
            applied_at: "2026-01-01T00:00:00Z".into(),
            revision: 0,
            sources: Vec::new(),
            history: Vec::new(),
            host: None,
        }
    }

    fn put(state: &mut State, revision: u64) {
        let mut e = entry("A");
        e.revision = revision;
        state.apply(Record::Put {
            env: "e".into(),
            name: "a".into(),
            entry: Box::new(e),
        });
    }

    #[test]
    fn puts_keep_the_last_ten_revisions_and_replays_change_nothing() {
        let mut state = State::default();
        for n in 1..=16 {
            put(&mut state, n);
            // The same record twice: a replayed journal.
            put(&mut state, n);
        }
        let a = &state.env("e").unwrap()["a"];
        let numbers: Vec<u64> = a.revisions().map(|e| e.revision).collect();
        assert_eq!(numbers, (7..=16).collect::<Vec<_>>());
        assert!(a.history.iter().all(|h| h.history.is_empty()));
        // An older revision put again (a stale journal) changes nothing.
        put(&mut state, 3);
        assert_eq!(state.env("e").unwrap()["a"].revision, 16);
        // A record of an older ordo (no revision) comes next.
        put(&mut state, 0);
        assert_eq!(state.env("e").unwrap()["a"].revision, 17);
    }

    #[test]
    fn the_journal_folds_into_the_state_and_replays_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("state.json"));
        let mut j = store.journal().unwrap();
        j.append(&Record::Put {
            env: "e".into(),
            name: "a".into(),
            entry: Box::new(entry("A")),
        })
        .unwrap();
        j.append(&Record::Put {
            env: "e".into(),
            name: "b".into(),
            entry: Box::new(entry("B")),
        })
        .unwrap();
        j.append(&Record::Remove {
            env: "e".into(),
            name: "a".into(),
        })
        .unwrap();
        drop(j);
        // A torn line at the end is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(store.journal_path())
            .unwrap()
            .write_all(b"{\"put\":{\"env")
            .unwrap();
        let state = store.read().unwrap();
        assert_eq!(state.env("e").unwrap().keys().collect::<Vec<_>>(), ["b"]);
        store.fold().unwrap();
        assert!(!store.journal_path().exists());
        let json = |s: &State| serde_json::to_string(s).unwrap();
        assert_eq!(json(&store.read().unwrap()), json(&state));
    }

    #[test]
    fn only_a_torn_last_line_is_left_out_of_a_journal() {
        let put = serde_json::to_string(&Record::Put {
            env: "e".into(),
            name: "a".into(),
            entry: Box::new(entry("A")),
        })
        .unwrap();
        let rm = "{\"remove\":{\"env\":\"e\",\"name\":\"a\"}}";
        let torn = &put[..put.len() - 3];
        /// How many records are read, or the line and column of the bad one.
        type Read = Result<usize, (usize, usize)>;
        let cases: Vec<(String, Read)> = vec![
            (String::new(), Ok(0)),
            (format!("{put}\n{rm}\n"), Ok(2)),
            (format!("{put}\n{torn}"), Ok(1)),
            // Whole but for its newline: the record is there.
            (format!("{put}\n{rm}"), Ok(2)),
            (format!("{put}\n\n{rm}\n"), Err((2, 1))),
            (format!("\n{put}\n"), Err((1, 1))),
            (format!("{put}\n  \n"), Err((2, 1))),
            (format!("{put}\nxx\n{rm}\n"), Err((2, 1))),
            // Torn, but followed by more: not the last line.
            (format!("{torn}\n{rm}\n"), Err((1, torn.len()))),
            (format!("{put}\n{torn}\n"), Err((2, torn.len()))),
            (format!("{put}\n\u{fffd}"), Ok(1)),
        ];
        for (text, want) in cases {
            let got = parse_journal(text.as_bytes())
                .map(|r| r.len())
                .map_err(|(line, column, _)| (line, column));
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("state.json"));
        std::fs::write(store.path(), "{\n  \"schema\": 1,\n  oops\n}").unwrap();
        let e = store.read().unwrap_err();
        assert!(matches!(e, StateErrorKind::Corrupt { line: 3, .. }), "{e}");
    }
}
