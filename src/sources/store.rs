//! One project's sources: its `ordo.lock` and the cache, resolved under a [`Policy`].
//!
//! [`Sources::materialize`] turns an address into a verified, read-only tree: the lock
//! first (a pinned commit or digest is used even if the branch has moved), then the cache
//! (the tree is hashed and compared with the lock's `h1:` before each use; a modified one
//! is extracted again, or refused under `--offline`), then the network (a fetch into the
//! bare mirror, or a download). Whatever it resolved is pinned in the lock, which
//! [`Sources::save`] writes once at the end. [`Sources::update`] is the only way a pinned
//! branch moves.
//!
//! Locks are taken in one order, tree before mirror, never the other way round, so two runs
//! cannot deadlock on the cache.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::address::{Address, AddressKind, is_full_commit};
use super::cache::Cache;
use super::dirhash::{file_sha256, hash_tree};
use super::error::{SourceError, SourceErrorKind};
use super::extract::{self, Limits};
use super::git::Git;
use super::lock::{LockEntry, LockFile};
use super::policy::Policy;

/// How long one git command or download may take.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(600);

/// What a source resolved to: a commit, or the sha256 of a download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pin {
    /// The full commit id.
    Commit(String),
    /// The sha256 of the downloaded file or archive, hex.
    Digest(String),
}

impl Pin {
    /// The commit id or the hex digest (the cache's key).
    pub fn key(&self) -> &str {
        match self {
            Pin::Commit(c) | Pin::Digest(c) => c,
        }
    }

    /// The first 12 digits, for messages.
    pub fn short(&self) -> &str {
        self.key().get(..12).unwrap_or(self.key())
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::Commit(c) => f.write_str(c),
            Pin::Digest(d) => write!(f, "sha256:{d}"),
        }
    }
}

/// A verified, read-only tree of one source.
#[derive(Clone, Debug)]
pub struct Tree {
    /// The sub-directory the address names (or the single file) inside the tree.
    pub root: PathBuf,
    /// What the source is pinned to.
    pub pin: Pin,
    /// The `h1:` hash of the whole tree.
    pub tree_hash: String,
    /// "locked at 9f2c…, branch `main` now at 41aa…" when the ref has moved since it was
    /// pinned (as far as the cached mirror knows).
    pub note: Option<String>,
}

/// A source `update` moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The source's name.
    pub name: String,
    /// Its pin before.
    pub from: Pin,
    /// Its pin now.
    pub to: Pin,
}

/// The outcome of checking one cached tree against the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The source's name.
    pub name: String,
    /// Its address.
    pub url: String,
    /// What was found.
    pub status: VerifyStatus,
}

/// What `verify` found for a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyStatus {
    /// The tree hashes to what the lock records.
    Intact,
    /// The cache holds no tree for it (`sources fetch` would make one).
    NotCached,
    /// The tree was changed after it was extracted.
    Modified {
        /// The lock's hash.
        expected: String,
        /// The tree's hash now.
        found: String,
    },
    /// The tree could not be read.
    Unreadable(String),
}

/// One lock entry, for `sources list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The source's name.
    pub name: String,
    /// Its address.
    pub url: String,
    /// What it is pinned to.
    pub pin: Pin,
    /// The `h1:` hash of its tree.
    pub tree_hash: String,
    /// Whether the cache holds its tree.
    pub cached: bool,
}

/// One project's lock and the cache.
#[derive(Debug)]
pub struct Sources {
    lock_path: PathBuf,
    cache: Cache,
    policy: Policy,
    git: Git,
    lock: LockFile,
    /// The names whose entries changed since the lock was read.
    touched: Vec<String>,
    limits: Limits,
}

impl Sources {
    /// Opens the lock at `lock_path` (missing: empty) and the cache (`None`: the default,
    /// `$XDG_CACHE_HOME/ordo/sources`).
    pub fn open(
        lock_path: PathBuf,
        cache_dir: Option<PathBuf>,
        policy: Policy,
    ) -> Result<Sources, SourceError> {
        let lock = LockFile::read(&lock_path)?;
        let cache = Cache::new(cache_dir).map_err(|e| {
            SourceError::new("cache", "cache", SourceErrorKind::Io, e)
                .with_help("set XDG_CACHE_HOME to a directory ordo may write")
        })?;
        let git = Git {
            allow_file: policy.allow_file_sources,
            timeout: NETWORK_TIMEOUT,
        };
        Ok(Sources {
            lock_path,
            cache,
            policy,
            git,
            lock,
            touched: Vec::new(),
            limits: Limits::default(),
        })
    }

    /// The lock file's path.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        self.cache.root()
    }

    /// The lock's entries, by name.
    pub fn locked(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lock
            .sources
            .iter()
            .map(|(n, e)| (n.as_str(), e.url.as_str()))
    }

    /// Drops `name` from the lock (written by [`Sources::save`]).
    pub fn forget(&mut self, name: &str) {
        if self.lock.sources.shift_remove(name).is_some() && !self.touched.iter().any(|t| t == name)
        {
            self.touched.push(name.to_string());
        }
    }

    /// Resolves `address` (lock first, then cache, then network), verifies it, pins it in
    /// the lock under `name`, and returns the verified read-only tree.
    pub fn materialize(&mut self, name: &str, address: &Address) -> Result<Tree, SourceError> {
        self.policy.check(name, address)?;
        let text = address.to_string();
        let entry = self
            .lock
            .sources
            .get(name)
            .filter(|e| e.url == text)
            .cloned();
        if entry.is_none() && self.policy.locked {
            let message = match self.lock.sources.get(name) {
                Some(old) => format!(
                    "ordo.lock pins it to `{}`; the address is now `{text}`, so the lock would change, which `--locked` forbids",
                    old.url
                ),
                None => "ordo.lock has no entry for it, so the lock would change, which `--locked` forbids".to_string(),
            };
            return Err(
                SourceError::new(name, &text, SourceErrorKind::Locked, message).with_help(
                    "run `ordo sources fetch` without `--locked`/`--frozen` and commit ordo.lock",
                ),
            );
        }
        let tree = self.resolve(name, address, entry.as_ref())?;
        self.pin(name, &text, &tree);
        Ok(tree)
    }

    /// Re-resolves the named sources (all of the lock's when `names` is empty) and pins what
    /// their refs name now: the only way a branch moves. Returns the sources that moved.
    pub fn update(&mut self, names: &[String]) -> Result<Vec<Moved>, SourceError> {
        if self.policy.offline {
            let shown = crate::paths::shown(&self.lock_path);
            return Err(SourceError::new(
                &shown,
                &shown,
                SourceErrorKind::Offline,
                "`sources update` asks the remotes where each ref is now, which `--offline` forbids",
            )
            .with_help("run `ordo sources update` with the network"));
        }
        let all: Vec<String> = self.lock.sources.keys().cloned().collect();
        for name in names {
            if !self.lock.sources.contains_key(name) {
                let near = crate::diagnostic::did_you_mean(name, all.iter().map(String::as_str));
                let mut e = SourceError::new(
                    name,
                    name,
                    SourceErrorKind::BadAddress,
                    "ordo.lock has no source of this name",
                );
                e.help = Some(match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None if all.is_empty() => {
                        "ordo.lock lists no sources yet; `ordo sources fetch` writes it".into()
                    }
                    None => format!(
                        "the lock lists {}",
                        all.iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                return Err(e);
            }
        }
        let targets = if names.is_empty() {
            all
        } else {
            names.to_vec()
        };
        let mut moved = Vec::new();
        for name in targets {
            let Some(entry) = self.lock.sources.get(&name).cloned() else {
                continue;
            };
            let address = Address::parse(&entry.url).map_err(|e| e.named(&name, &entry.url))?;
            self.policy.check(&name, &address)?;
            let tree = self.resolve(&name, &address, None)?;
            if tree.pin != entry.pin || tree.tree_hash != entry.tree {
                if self.policy.locked {
                    return Err(SourceError::new(
                        &name,
                        &entry.url,
                        SourceErrorKind::Locked,
                        format!(
                            "it moved from {} to {}, so the lock would change, which `--locked` forbids",
                            entry.pin.short(),
                            tree.pin.short()
                        ),
                    ));
                }
                moved.push(Moved {
                    name: name.clone(),
                    from: entry.pin.clone(),
                    to: tree.pin.clone(),
                });
            }
            self.pin(&name, &entry.url, &tree);
        }
        Ok(moved)
    }

    /// Hashes every cached tree the lock names and compares it with the lock.
    pub fn verify(&self) -> Vec<Verified> {
        self.lock
            .sources
            .iter()
            .map(|(name, e)| {
                let dir = self.cache.tree(&e.url, e.pin.key());
                let meta = std::fs::symlink_metadata(&dir);
                let status = if meta.is_err() {
                    VerifyStatus::NotCached
                } else if meta.is_ok_and(|m| !m.is_dir()) {
                    VerifyStatus::Unreadable(format!("{} is not a directory", dir.display()))
                } else {
                    match hash_tree(&dir) {
                        Ok(h) if h == e.tree => VerifyStatus::Intact,
                        Ok(found) => VerifyStatus::Modified {
                            expected: e.tree.clone(),
                            found,
                        },
                        Err(err) => VerifyStatus::Unreadable(err),
                    }
                };
                Verified {
                    name: name.clone(),
                    url: e.url.clone(),
                    status,
                }
            })
            .collect()
    }

    /// The lock's entries, with whether the cache holds each tree.
    pub fn list(&self) -> Vec<Listed> {
        self.lock
            .sources
            .iter()
            .map(|(name, e)| Listed {
                name: name.clone(),
                url: e.url.clone(),
                pin: e.pin.clone(),
                tree_hash: e.tree.clone(),
                cached: self.cache.tree(&e.url, e.pin.key()).is_dir(),
            })
            .collect()
    }

    /// Writes ordo.lock atomically (temp, fsync, rename, mode 0644) if an entry changed;
    /// under `--locked` a change is an error. Entries another run wrote meanwhile are kept:
    /// the file is read again under a lock of its directory, and only this run's entries
    /// are replaced.
    pub fn save(&mut self) -> Result<(), SourceError> {
        if self.touched.is_empty() {
            return Ok(());
        }
        let shown = crate::paths::shown(&self.lock_path);
        if self.policy.locked {
            return Err(SourceError::new(
                &shown,
                &shown,
                SourceErrorKind::Locked,
                "the lock would change, which `--locked` forbids",
            ));
        }
        let dir = self
            .lock_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let io = |e: String| SourceError::new(&shown, &shown, SourceErrorKind::Io, e);
        let dir_handle =
            std::fs::File::open(&dir).map_err(|e| io(format!("opening {}: {e}", dir.display())))?;
        rustix::fs::flock(&dir_handle, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io(format!("locking {}: {e}", dir.display())))?;
        let on_disk = LockFile::read(&self.lock_path)?;
        let mut merged = on_disk.clone();
        for name in &self.touched {
            match self.lock.sources.get(name) {
                Some(e) => {
                    merged.sources.insert(name.clone(), e.clone());
                }
                None => {
                    merged.sources.shift_remove(name);
                }
            }
        }
        if merged != on_disk || !self.lock_path.exists() {
            merged.write(&self.lock_path)?;
        }
        self.lock = merged;
        self.touched.clear();
        Ok(())
    }

    fn pin(&mut self, name: &str, url: &str, tree: &Tree) {
        let entry = LockEntry {
            url: url.to_string(),
            pin: tree.pin.clone(),
            tree: tree.tree_hash.clone(),
        };
        if self.lock.sources.get(name) != Some(&entry) {
            self.lock.sources.insert(name.to_string(), entry);
            if !self.touched.iter().any(|t| t == name) {
                self.touched.push(name.to_string());
            }
        }
    }

    /// The tree of `address`, pinned by `entry` when there is one; without one, the ref is
    /// resolved afresh (fetched, unless `--offline`).
    fn resolve(
        &self,
        name: &str,
        address: &Address,
        entry: Option<&LockEntry>,
    ) -> Result<Tree, SourceError> {
        match address.kind() {
            AddressKind::Git => self.git_tree(name, address, entry),
            AddressKind::Archive | AddressKind::File => self.http_tree(name, address, entry),
        }
    }

    fn error(
        &self,
        name: &str,
        address: &Address,
        kind: SourceErrorKind,
        message: String,
    ) -> SourceError {
        SourceError::new(name, &address.to_string(), kind, message)
    }

    fn offline_error(&self, name: &str, address: &Address, what: &str) -> SourceError {
        self.error(
            name,
            address,
            SourceErrorKind::Offline,
            format!("{what} is not in the cache, and `--offline` forbids fetching it"),
        )
        .with_help(
            "run `ordo sources fetch` once with the network, then `--offline` works from the cache",
        )
    }

    fn git_tree(
        &self,
        name: &str,
        address: &Address,
        entry: Option<&LockEntry>,
    ) -> Result<Tree, SourceError> {
        let text = address.to_string();
        let mirror = self.cache.mirror(address.url());
        let mut fetched = false;
        let commit = match entry.map(|e| &e.pin) {
            Some(Pin::Commit(c)) => c.clone(),
            Some(Pin::Digest(_)) => {
                return Err(self.error(
                    name,
                    address,
                    SourceErrorKind::Mismatch,
                    "ordo.lock records a digest for a git source".into(),
                ));
            }
            None => {
                let _mirror_lock = self.cache_lock(name, address, &mirror)?;
                if !self.policy.offline {
                    self.fetch(name, address, &mirror)?;
                    fetched = true;
                } else if !mirror.is_dir() {
                    return Err(self.offline_error(name, address, "the repository"));
                }
                self.resolve_ref(name, address, &mirror)?
            }
        };
        let pin = Pin::Commit(commit.clone());
        let dir = self.cache.tree(&text, &commit);
        let _tree_lock = self.cache_lock(name, address, &dir)?;
        let note = self.moved_note(address, &mirror, &commit);
        if let Some(tree) = self.cached(name, address, &dir, &pin, entry, note.clone())? {
            return Ok(tree);
        }
        // Extract it from the mirror, fetching what the mirror lacks.
        let _mirror_lock = self.cache_lock(name, address, &mirror)?;
        if !mirror.is_dir() || self.git.resolve(&mirror, &commit).is_none() {
            if self.policy.offline {
                return Err(self.offline_error(name, address, &format!("commit {commit}")));
            }
            if !fetched {
                self.fetch(name, address, &mirror)?;
            }
            if self.git.resolve(&mirror, &commit).is_none() {
                return Err(self
                    .error(
                        name,
                        address,
                        SourceErrorKind::UnknownRef,
                        format!("no branch or tag of the repository reaches commit {commit}"),
                    )
                    .with_help("the repository has no such commit on any branch or tag; pin a commit of one of them"));
            }
        }
        // A commit no branch or tag reaches may live only in a fork that shares the
        // repository's objects (GitHub serves those by id): refused, whoever pinned it.
        if !self.git.reachable(&mirror, &commit) {
            return Err(self
                .error(
                    name,
                    address,
                    SourceErrorKind::UnknownRef,
                    format!("no branch or tag of the repository reaches commit {commit}"),
                )
                .with_help("a commit only a fork (or a deleted branch) holds is refused; pin a commit of one of the repository's branches or tags"));
        }
        let work = self
            .cache
            .temp_dir()
            .map_err(|e| self.io(name, address, e))?;
        let tar = work.path().join("archive.tar");
        self.git
            .archive(&mirror, &commit, address.subdir(), &tar, self.archive_cap())
            .map_err(|e| {
                let message = if address.subdir().is_some() && e.contains("did not match") {
                    format!(
                        "commit {} has no directory `{}`",
                        pin.short(),
                        address.subdir().unwrap_or_default()
                    )
                } else {
                    format!("git archive failed: {e}")
                };
                self.error(name, address, SourceErrorKind::Fetch, message)
            })?;
        self.install(name, address, work, &tar, false, &dir, pin, entry, note)
    }

    /// The most bytes a tar of a tree within [`Limits`] can take: its files, and a header
    /// and padding per entry.
    fn archive_cap(&self) -> u64 {
        let entries = u64::try_from(self.limits.max_entries).unwrap_or(u64::MAX);
        self.limits
            .max_bytes
            .saturating_add(entries.saturating_mul(1024))
            .saturating_add(1 << 20)
    }

    /// Takes the lock of a cache entry.
    fn cache_lock(
        &self,
        name: &str,
        address: &Address,
        entry: &Path,
    ) -> Result<super::cache::EntryLock, SourceError> {
        self.cache
            .lock(entry)
            .map_err(|e| self.io(name, address, e))
    }

    fn io(&self, name: &str, address: &Address, message: String) -> SourceError {
        self.error(name, address, SourceErrorKind::Io, message)
    }

    /// Makes the mirror if it is missing and fetches every branch and tag into it.
    fn fetch(&self, name: &str, address: &Address, mirror: &Path) -> Result<(), SourceError> {
        if !mirror.is_dir() {
            let work = self
                .cache
                .temp_dir()
                .map_err(|e| self.io(name, address, e))?;
            let fresh = work.path().join("mirror.git");
            self.git
                .init_bare(&fresh)
                .map_err(|e| self.io(name, address, e))?;
            if let Some(parent) = mirror.parent() {
                super::cache::create_private_dir(parent).map_err(|e| self.io(name, address, e))?;
            }
            std::fs::rename(&fresh, mirror).map_err(|e| {
                self.io(name, address, format!("creating {}: {e}", mirror.display()))
            })?;
        }
        // `HEAD` is asked for only when no ref is given: a bare repository's `HEAD` often
        // names a branch that was never pushed (`git init --bare` then pushing `main`).
        let head = address.reference().is_none();
        let fetched = self.git.fetch_all(mirror, address.url(), head);
        let fetched = match fetched {
            Err(e) if head && e.contains("remote ref HEAD") => {
                // A dangling `HEAD`: fetch the rest; `resolve_ref` then says to give `?ref=`.
                self.git.forget_head(mirror);
                self.git.fetch_all(mirror, address.url(), false)
            }
            other => other,
        };
        fetched.map_err(|e| {
            self.error(
                name,
                address,
                SourceErrorKind::Fetch,
                format!("cannot fetch {}: {e}", address.url()),
            )
            .with_help("check the address and the network; `--offline` uses what the cache holds")
        })
    }

    /// The commit the address's ref names in the mirror; an unknown ref lists the known ones.
    fn resolve_ref(
        &self,
        name: &str,
        address: &Address,
        mirror: &Path,
    ) -> Result<String, SourceError> {
        let Some(reference) = address.reference() else {
            return self.git.resolve(mirror, "refs/ordo/head").ok_or_else(|| {
                self.error(
                    name,
                    address,
                    SourceErrorKind::UnknownRef,
                    "the repository's HEAD names no branch (no default branch); give `?ref=BRANCH`"
                        .into(),
                )
            });
        };
        if is_full_commit(reference) {
            return Ok(reference.to_ascii_lowercase());
        }
        let found = if reference.starts_with("refs/") {
            self.git.resolve(mirror, reference)
        } else {
            self.git
                .resolve(mirror, &format!("refs/tags/{reference}"))
                .or_else(|| self.git.resolve(mirror, &format!("refs/heads/{reference}")))
        };
        found.ok_or_else(|| {
            let refs = self.git.refs(mirror);
            let near = crate::diagnostic::did_you_mean(reference, refs.iter().map(String::as_str));
            let listed = if refs.is_empty() {
                "the repository has no branches or tags".to_string()
            } else {
                format!(
                    "its branches and tags: {}",
                    refs.iter()
                        .take(30)
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let help = match near {
                Some(n) => format!("did you mean `{n}`? {listed}"),
                None => listed,
            };
            self.error(
                name,
                address,
                SourceErrorKind::UnknownRef,
                format!("the ref `{reference}` names no branch, tag or commit of the repository"),
            )
            .with_help(help)
        })
    }

    /// "locked at 9f2c…, branch `main` now at 41aa…", from what the mirror last fetched.
    fn moved_note(&self, address: &Address, mirror: &Path, commit: &str) -> Option<String> {
        let reference = address.reference();
        // A commit pin names no ref: nothing moves it.
        if !mirror.is_dir() || reference.is_some_and(is_full_commit) {
            return None;
        }
        let now = match reference {
            Some(r) => self
                .git
                .resolve(mirror, &format!("refs/tags/{r}"))
                .or_else(|| self.git.resolve(mirror, &format!("refs/heads/{r}")))?,
            None => self.git.resolve(mirror, "refs/ordo/head")?,
        };
        (now != commit).then(|| {
            let short = |c: &str| c.get(..12).unwrap_or(c).to_string();
            format!(
                "locked at {}, {} now at {}; `ordo sources update` moves it",
                short(commit),
                reference.map_or("the default branch".to_string(), |r| format!("`{r}`")),
                short(&now)
            )
        })
    }

    /// The cached tree at `dir` if it is intact. A modified one is removed (to be extracted
    /// again), or refused under `--offline`.
    fn cached(
        &self,
        name: &str,
        address: &Address,
        dir: &Path,
        pin: &Pin,
        entry: Option<&LockEntry>,
        note: Option<String>,
    ) -> Result<Option<Tree>, SourceError> {
        let Ok(meta) = std::fs::symlink_metadata(dir) else {
            return Ok(None);
        };
        // A cache entry that is not a real directory (a link to elsewhere) is never used.
        let found = if meta.is_dir() {
            hash_tree(dir)
        } else {
            Err("it is not a directory".to_string())
        };
        let expected = entry.map(|e| e.tree.as_str());
        match found {
            Ok(h) if expected.is_none_or(|e| e == h) => {
                return Ok(Some(Tree {
                    root: self.root_in(name, address, dir)?,
                    pin: pin.clone(),
                    tree_hash: h,
                    note,
                }));
            }
            found => {
                if self.policy.offline {
                    let found = found.unwrap_or_else(|e| format!("unreadable: {e}"));
                    return Err(self
                        .error(
                            name,
                            address,
                            SourceErrorKind::Mismatch,
                            format!(
                                "the cached tree {} was modified: ordo.lock records {}, it hashes to {found}",
                                dir.display(),
                                expected.unwrap_or_default()
                            ),
                        )
                        .with_help("run without `--offline` to extract it again"));
                }
                extract::remove_tree(dir).map_err(|e| self.io(name, address, e))?;
            }
        }
        Ok(None)
    }

    /// Unpacks `archive` (or places a single file), hashes it, checks the hash against the
    /// lock, moves it to `dir` and makes it read-only.
    #[expect(clippy::too_many_arguments, reason = "one step with its whole context")]
    fn install(
        &self,
        name: &str,
        address: &Address,
        work: tempfile::TempDir,
        archive: &Path,
        gzip: bool,
        dir: &Path,
        pin: Pin,
        entry: Option<&LockEntry>,
        note: Option<String>,
    ) -> Result<Tree, SourceError> {
        let out = work.path().join("tree");
        std::fs::create_dir(&out).map_err(|e| self.io(name, address, e.to_string()))?;
        if address.kind() == AddressKind::File {
            let target = out.join(file_name(address));
            std::fs::copy(archive, &target).map_err(|e| {
                self.io(name, address, format!("writing {}: {e}", target.display()))
            })?;
        } else {
            extract::unpack(archive, gzip, &out, self.limits).map_err(|e| {
                self.error(
                    name,
                    address,
                    SourceErrorKind::Archive,
                    format!("refused to unpack: {e}"),
                )
            })?;
        }
        let hash = hash_tree(&out).map_err(|e| self.io(name, address, e))?;
        if let Some(e) = entry
            && e.tree != hash
        {
            return Err(self
                .error(
                    name,
                    address,
                    SourceErrorKind::Mismatch,
                    format!(
                        "the tree of {pin} hashes to {hash}, but ordo.lock records {}",
                        e.tree
                    ),
                )
                .with_help("the content behind the pin changed; check the source, then `ordo sources update` pins what it holds now"));
        }
        if let Some(parent) = dir.parent() {
            super::cache::create_private_dir(parent).map_err(|e| self.io(name, address, e))?;
        }
        std::fs::rename(&out, dir).map_err(|e| {
            self.io(
                name,
                address,
                format!("moving the tree to {}: {e}", dir.display()),
            )
        })?;
        extract::make_read_only(dir).map_err(|e| self.io(name, address, e))?;
        drop(work);
        Ok(Tree {
            root: self.root_in(name, address, dir)?,
            pin,
            tree_hash: hash,
            note,
        })
    }

    /// The sub-directory (or the single file) the address names inside its tree.
    fn root_in(&self, name: &str, address: &Address, dir: &Path) -> Result<PathBuf, SourceError> {
        let root = match (address.kind(), address.subdir()) {
            (AddressKind::File, _) => dir.join(file_name(address)),
            (_, Some(sub)) => dir.join(sub),
            (_, None) => dir.to_path_buf(),
        };
        if std::fs::symlink_metadata(&root).is_err() {
            return Err(self.error(
                name,
                address,
                SourceErrorKind::BadAddress,
                format!(
                    "it has no `{}`",
                    address.subdir().unwrap_or_else(|| file_name(address))
                ),
            ));
        }
        Ok(root)
    }

    fn http_tree(
        &self,
        name: &str,
        address: &Address,
        entry: Option<&LockEntry>,
    ) -> Result<Tree, SourceError> {
        let text = address.to_string();
        let pinned = match entry.map(|e| &e.pin) {
            Some(Pin::Digest(d)) => Some(d.clone()),
            Some(Pin::Commit(_)) => {
                return Err(self.error(
                    name,
                    address,
                    SourceErrorKind::Mismatch,
                    "ordo.lock records a commit for a download".into(),
                ));
            }
            None => address.sha256().map(str::to_string),
        };
        // The fast path: the tree of the pinned digest, intact.
        if let Some(d) = &pinned {
            let dir = self.cache.tree(&text, d);
            let _tree_lock = self.cache_lock(name, address, &dir)?;
            let pin = Pin::Digest(d.clone());
            if let Some(tree) = self.cached(name, address, &dir, &pin, entry, None)? {
                return Ok(tree);
            }
            let blob = self.cache.blob(d);
            if file_sha256(&blob).is_ok_and(|h| &h == d) {
                return self.unpack_blob(name, address, &blob, &dir, pin, entry);
            }
        }
        if self.policy.offline {
            return Err(self.offline_error(name, address, "the download"));
        }
        let work = self
            .cache
            .temp_dir()
            .map_err(|e| self.io(name, address, e))?;
        let part = work.path().join("download");
        let digest =
            super::http::download(address.url(), &part, self.limits.max_bytes, NETWORK_TIMEOUT)
                .map_err(|e| {
                    self.error(
                        name,
                        address,
                        SourceErrorKind::Fetch,
                        format!("cannot download {}: {e}", address.url()),
                    )
                    .with_help(
                        "check the address and the network; `--offline` uses what the cache holds",
                    )
                })?;
        if let Some(d) = &pinned
            && *d != digest
        {
            let whose = if entry.is_some() {
                "ordo.lock records"
            } else {
                "the address pins"
            };
            return Err(self
                .error(
                    name,
                    address,
                    SourceErrorKind::Mismatch,
                    format!(
                        "the download from {} has sha256 {digest}, but {whose} {d}",
                        address.url()
                    ),
                )
                .with_help("nothing was unpacked; check the file on the server, or the digest"));
        }
        // Verified: keep the download by its digest, then unpack it.
        let blob = self.cache.blob(&digest);
        if let Some(parent) = blob.parent() {
            super::cache::create_private_dir(parent).map_err(|e| self.io(name, address, e))?;
        }
        std::fs::rename(&part, &blob)
            .map_err(|e| self.io(name, address, format!("writing {}: {e}", blob.display())))?;
        let dir = self.cache.tree(&text, &digest);
        let _tree_lock = self.cache_lock(name, address, &dir)?;
        let pin = Pin::Digest(digest);
        if let Some(tree) = self.cached(name, address, &dir, &pin, entry, None)? {
            return Ok(tree);
        }
        self.unpack_blob(name, address, &blob, &dir, pin, entry)
    }

    fn unpack_blob(
        &self,
        name: &str,
        address: &Address,
        blob: &Path,
        dir: &Path,
        pin: Pin,
        entry: Option<&LockEntry>,
    ) -> Result<Tree, SourceError> {
        let work = self
            .cache
            .temp_dir()
            .map_err(|e| self.io(name, address, e))?;
        let gzip = is_gzip(blob);
        self.install(name, address, work, blob, gzip, dir, pin, entry, None)
    }
}

/// The name a single downloaded file gets: the last part of its URL's path.
fn file_name(address: &Address) -> &str {
    let path = address.url().split('?').next().unwrap_or_default();
    path.rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .unwrap_or("file")
}

/// Whether a file starts with gzip's magic bytes.
fn is_gzip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0_u8; 2];
    super::cache::open_regular(path, false)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == [0x1f, 0x8b]
}
