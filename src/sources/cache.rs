//! The cache under `$XDG_CACHE_HOME/ordo/sources` (else `~/.cache/ordo/sources`).
//!
//! ```text
//! git/<sha256 of the repository URL>/      bare mirrors (all branches and tags)
//! trees/<sha256 of address + pin>/         extracted trees, read-only
//! blobs/<sha256 of the content>            downloaded files and archives, by their digest
//! tmp/                                     work in progress, renamed into place when done
//! locks/<name of the entry>.lock           one flock per entry
//! ```
//!
//! A tree's key is the FULL address, query included, with what it resolved to: two
//! `?ref=`s never share an entry (helmfile#2103). Every entry is made under an exclusive
//! `flock` of its own, in `tmp/` and renamed into place, so two runs fetching the same source
//! wait for each other and never see half a tree (helmfile#1660). A mirror may be shared by
//! every address of one repository: it holds all refs, and an address resolves its ref in it.

use std::path::{Path, PathBuf};

/// The cache directory and its entries.
#[derive(Clone, Debug)]
pub(super) struct Cache {
    root: PathBuf,
}

/// An exclusive lock on one cache entry, released when dropped.
#[derive(Debug)]
pub(super) struct EntryLock {
    _file: std::fs::File,
}

impl Cache {
    /// The cache at `root`, or the default one.
    pub(super) fn new(root: Option<PathBuf>) -> Result<Cache, String> {
        let root = match root {
            Some(r) => r,
            None => default_root()?,
        };
        Ok(Cache { root })
    }

    /// The cache directory.
    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// The mirror of a repository URL.
    pub(super) fn mirror(&self, url: &str) -> PathBuf {
        self.root
            .join("git")
            .join(crate::digest::sha256_hex(url.as_bytes()))
    }

    /// The tree of an address resolved to `pin` (a commit or a digest).
    pub(super) fn tree(&self, address: &str, pin: &str) -> PathBuf {
        let key = crate::digest::sha256_hex(format!("{address}\n{pin}").as_bytes());
        self.root.join("trees").join(key)
    }

    /// A downloaded file, by the sha256 of its content.
    pub(super) fn blob(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs").join(sha256)
    }

    /// A fresh directory under `tmp/`, on the cache's file system so a rename can move it.
    pub(super) fn temp_dir(&self) -> Result<tempfile::TempDir, String> {
        let tmp = self.root.join("tmp");
        create_private_dir(&tmp)?;
        tempfile::Builder::new()
            .prefix("work-")
            .tempdir_in(&tmp)
            .map_err(|e| format!("creating a directory in {}: {e}", tmp.display()))
    }

    /// Takes the exclusive lock of the entry at `entry` (waiting for another run that holds it).
    pub(super) fn lock(&self, entry: &Path) -> Result<EntryLock, String> {
        let locks = self.root.join("locks");
        create_private_dir(&locks)?;
        let name = entry
            .strip_prefix(&self.root)
            .unwrap_or(entry)
            .to_string_lossy()
            .replace('/', "-");
        let path = locks.join(format!("{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("opening the lock {}: {e}", path.display()))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| format!("locking {}: {e}", path.display()))?;
        Ok(EntryLock { _file: file })
    }
}

/// `$XDG_CACHE_HOME/ordo/sources`, else `$HOME/.cache/ordo/sources`.
fn default_root() -> Result<PathBuf, String> {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        let xdg = PathBuf::from(xdg);
        // The XDG spec: a relative path is invalid and must be ignored.
        if xdg.is_absolute() {
            return Ok(xdg.join("ordo").join("sources"));
        }
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home)
            .join(".cache")
            .join("ordo")
            .join("sources")),
        None => Err(
            "neither XDG_CACHE_HOME nor HOME is set: there is no place for the cache of sources"
                .into(),
        ),
    }
}

/// Creates `dir` and its parents, the last one readable by its owner only.
pub(super) fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))
}

/// Opens `path` for reading only if it is a regular file: a FIFO or a device (or a link to
/// one) would hang the read or never end, so it is refused without blocking
/// (`O_NONBLOCK`, then `fstat` of what was opened). With `follow` false, a link itself is
/// refused too (`O_NOFOLLOW`), for files inside the cache.
pub(super) fn open_regular(path: &Path, follow: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    Ok(file)
}
