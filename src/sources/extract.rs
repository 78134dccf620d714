//! The hardened unpacker: a tar stream (plain, or gzip-compressed) into a fresh directory,
//! refusing everything that could write outside it or fill the disk.
//!
//! Two passes over an archive already verified (its sha256, or the commit `git archive`
//! read from): the first reads only the headers and refuses the whole archive before a byte
//! is written — absolute paths, `..`, links whose target leaves the tree (go-getter#175,
//! CVE-2025-8959), hard links to anything but a file unpacked before them, device files and
//! FIFOs, paths that pass through a link, duplicates, more than [`Limits::max_entries`]
//! entries or [`Limits::max_bytes`] bytes (go-getter#407's bombs). The second writes: files
//! with `O_EXCL` (never through an existing link), modes reduced to `0644`/`0755` (no setuid,
//! no owner kept); [`make_read_only`] then takes the write bits off the finished tree.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

/// How much an archive may hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of all files together, unpacked.
    pub max_bytes: u64,
    /// Entries (files, directories, links).
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 512 << 20,
            max_entries: 100_000,
        }
    }
}

/// Unpacks the tar at `archive` (gzip-compressed when `gzip`) into `dest`, which must exist
/// and be empty. The error says which entry was refused and why. The caller makes the tree
/// read-only once it is in its place ([`make_read_only`]): a read-only directory cannot be
/// moved to another parent.
pub fn unpack(archive: &Path, gzip: bool, dest: &Path, limits: Limits) -> Result<(), String> {
    scan(open(archive, gzip)?, limits)?;
    write(open(archive, gzip)?, dest)
}

fn open(archive: &Path, gzip: bool) -> Result<Box<dyn Read>, String> {
    let file = super::cache::open_regular(archive, false)
        .map_err(|e| format!("reading {}: {e}", archive.display()))?;
    let file = std::io::BufReader::new(file);
    Ok(if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// The path of an entry inside the tree: normal parts only. `None` for the root itself
/// (`./`), which some archivers list.
fn inside(path: &Path) -> Result<Option<PathBuf>, String> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => {
                if part
                    .as_encoded_bytes()
                    .iter()
                    .any(|b| *b == b'\n' || *b == 0)
                {
                    return Err(format!(
                        "the entry {} has a line break in its name",
                        path.display()
                    ));
                }
                out.push(part);
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("the entry {} is an absolute path", path.display()));
            }
            Component::ParentDir => {
                return Err(format!(
                    "the entry {} leaves the tree (`..`)",
                    path.display()
                ));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Where a link's target lands, resolved by its text from the link's directory; `None` if
/// it leaves the tree (or is absolute).
fn link_lands(link: &Path, target: &Path) -> Option<PathBuf> {
    if target.is_absolute() {
        return None;
    }
    let mut parts: Vec<_> = link
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    for c in target.components() {
        match c {
            Component::Normal(_) => parts.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// The first pass: every header checked, nothing written.
fn scan(reader: Box<dyn Read>, limits: Limits) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let mut entries_seen = 0_usize;
    let mut bytes = 0_u64;
    let mut files: HashSet<PathBuf> = HashSet::new();
    let mut dirs: HashSet<PathBuf> = HashSet::new();
    let mut links: HashSet<PathBuf> = HashSet::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("a broken tar archive: {e}"))?;
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader) {
            // `git archive` puts the commit id in one; it names no file.
            continue;
        }
        entries_seen += 1;
        if entries_seen > limits.max_entries {
            return Err(format!(
                "the archive holds more than {} entries (the cap against file-count bombs)",
                limits.max_entries
            ));
        }
        let raw = entry
            .path()
            .map_err(|e| format!("an entry with an unreadable name: {e}"))?
            .into_owned();
        let Some(path) = inside(&raw)? else {
            if kind.is_dir() {
                continue;
            }
            return Err(format!("the entry {} has no name", raw.display()));
        };
        // A path through a link would write wherever the link points.
        for ancestor in path.ancestors().skip(1) {
            if links.contains(ancestor) {
                return Err(format!(
                    "the entry {} passes through the link {}",
                    raw.display(),
                    ancestor.display()
                ));
            }
            if files.contains(ancestor) {
                return Err(format!(
                    "the entry {} lies under the file {}",
                    raw.display(),
                    ancestor.display()
                ));
            }
        }
        let duplicate = files.contains(&path) || links.contains(&path);
        match kind {
            EntryType::Directory => {
                if duplicate {
                    return Err(format!("the entry {} is listed twice", raw.display()));
                }
                dirs.insert(path);
            }
            EntryType::Regular | EntryType::Continuous => {
                if duplicate || dirs.contains(&path) {
                    return Err(format!("the entry {} is listed twice", raw.display()));
                }
                // The size that will be read: a PAX `size` overrides the header's.
                let size = entry.size();
                bytes = bytes.saturating_add(size);
                if bytes > limits.max_bytes {
                    return Err(format!(
                        "the archive unpacks to more than {} MiB (the cap against size bombs; {} is {size} bytes)",
                        limits.max_bytes >> 20,
                        raw.display()
                    ));
                }
                files.insert(path);
            }
            EntryType::Symlink => {
                if duplicate || dirs.contains(&path) {
                    return Err(format!("the entry {} is listed twice", raw.display()));
                }
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("the link {} has no target", raw.display()))?;
                if link_lands(&path, &target).is_none() {
                    return Err(format!(
                        "the link {} points outside the tree (to {})",
                        raw.display(),
                        target.display()
                    ));
                }
                links.insert(path);
            }
            EntryType::Link => {
                if duplicate || dirs.contains(&path) {
                    return Err(format!("the entry {} is listed twice", raw.display()));
                }
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("the hard link {} has no target", raw.display()))?;
                // A hard link's target is a path from the archive's root.
                let lands = inside(&target).ok().flatten();
                if !lands.as_ref().is_some_and(|t| files.contains(t)) {
                    return Err(format!(
                        "the hard link {} points to {}, which is not a file unpacked before it inside the tree",
                        raw.display(),
                        target.display()
                    ));
                }
                files.insert(path);
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(format!(
                    "the entry {} is a device file or FIFO, which sources never hold",
                    raw.display()
                ));
            }
            other => {
                return Err(format!(
                    "the entry {} has the type {other:?}, which ordo does not unpack",
                    raw.display()
                ));
            }
        }
    }
    Ok(())
}

/// Creates `dir` under `dest` (and its parents), making sure none of them is a link.
fn make_dirs(dest: &Path, dir: &Path) -> Result<(), String> {
    let mut at = dest.to_path_buf();
    for part in dir.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("{} is not a directory", at.display())),
            Err(_) => {
                std::fs::create_dir(&at).map_err(|e| format!("creating {}: {e}", at.display()))?
            }
        }
    }
    Ok(())
}

/// The second pass, over headers the first one accepted.
fn write(reader: Box<dyn Read>, dest: &Path) -> Result<(), String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("a broken tar archive: {e}"))?;
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader) {
            continue;
        }
        let raw = entry.path().map_err(|e| e.to_string())?.into_owned();
        let Some(path) = inside(&raw)? else {
            continue;
        };
        let parent = path.parent().unwrap_or(Path::new(""));
        make_dirs(dest, parent)?;
        let at = dest.join(&path);
        match kind {
            EntryType::Directory => make_dirs(dest, &path)?,
            EntryType::Regular | EntryType::Continuous => {
                let mode = entry.header().mode().unwrap_or(0o644);
                let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&at)
                    .map_err(|e| format!("writing {}: {e}", at.display()))?;
                std::io::copy(&mut entry, &mut file)
                    .map_err(|e| format!("writing {}: {e}", at.display()))?;
                // The umask may have taken bits; setuid and the like never get in.
                std::fs::set_permissions(&at, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| format!("{}: {e}", at.display()))?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("the link {} has no target", raw.display()))?;
                std::os::unix::fs::symlink(&target, &at)
                    .map_err(|e| format!("creating the link {}: {e}", at.display()))?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .and_then(|t| inside(&t).ok().flatten())
                    .ok_or_else(|| format!("the hard link {} has no target", raw.display()))?;
                std::fs::hard_link(dest.join(target), &at)
                    .map_err(|e| format!("creating the hard link {}: {e}", at.display()))?;
            }
            other => {
                return Err(format!(
                    "the entry {} has the type {other:?}, which ordo does not unpack",
                    raw.display()
                ));
            }
        }
    }
    Ok(())
}

/// Takes the write bits off everything under `root`, `root` included (links have none).
pub fn make_read_only(root: &Path) -> Result<(), String> {
    set_writable(root, false)
}

/// Gives the owner write access again under `root`, so the tree can be removed.
pub fn make_writable(root: &Path) -> Result<(), String> {
    set_writable(root, true)
}

fn set_writable(root: &Path, writable: bool) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    // Directories are opened up first (top down) and closed last (bottom up).
    // Never through a link, the root included: a cache entry swapped for a link to
    // elsewhere must not change the modes of what it points to.
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .follow_root_links(false)
        .contents_first(!writable);
    for entry in walk {
        let entry = entry.map_err(|e| format!("{}: {e}", root.display()))?;
        if entry.file_type().is_symlink() {
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        let mode = meta.permissions().mode();
        let mode = if writable {
            mode | 0o200
        } else {
            mode & !0o222
        };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
    }
    Ok(())
}

/// Removes a tree made read-only by [`make_read_only`].
pub fn remove_tree(root: &Path) -> Result<(), String> {
    let Ok(meta) = std::fs::symlink_metadata(root) else {
        return Ok(());
    };
    if !meta.is_dir() {
        // A link (or a file) where a tree belongs goes itself; what it points to stays.
        return std::fs::remove_file(root).map_err(|e| format!("removing {}: {e}", root.display()));
    }
    make_writable(root)?;
    std::fs::remove_dir_all(root).map_err(|e| format!("removing {}: {e}", root.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_by_their_text() {
        let l = |link: &str, target: &str| link_lands(Path::new(link), Path::new(target));
        assert_eq!(l("a/b", "c"), Some(PathBuf::from("a/c")));
        assert_eq!(l("a/b", "../c"), Some(PathBuf::from("c")));
        assert_eq!(l("a/b", "../../c"), None);
        assert_eq!(l("b", "/etc/passwd"), None);
        assert_eq!(l("a/b", "./../x/../../y"), None);
    }

    #[test]
    fn entry_paths_stay_inside() {
        assert!(inside(Path::new("../x")).is_err());
        assert!(inside(Path::new("/etc/x")).is_err());
        assert!(inside(Path::new("a/../../x")).is_err());
        assert_eq!(
            inside(Path::new("./a/b")).unwrap_or_default(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(inside(Path::new("./")).unwrap_or_default(), None);
    }
}
