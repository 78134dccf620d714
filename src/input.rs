//! Reading the files ordo takes as input (manifests, values files, handler scripts and
//! their modules) and finding them below a directory.
//!
//! Reads are bounded in size, take regular files only (a FIFO would block the run and a
//! device never end), and drop a leading UTF-8 byte order mark, which editors on Windows
//! write and which is not part of the text (issue 14). Walks never leave the directory they
//! start in: symbolic links are not followed out of it (a link to `/` beside a manifest
//! made `ordo validate` walk the whole file system), and a link that matters (one named
//! like a file being looked for, or one to a directory) and points outside, or nowhere,
//! is reported rather than silently skipped. Nor do walks enter a nested project (a
//! directory below the start holding its own `ordo.yaml`). What is *not* here: parsing, and the
//! sandbox's confinement of handler file access (`stdlib/`).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Largest script ordo reads, handler or module (issue 9: every input is bounded). Scripts
/// are code; data belongs in manifests and values.
pub const MAX_SCRIPT_BYTES: u64 = 16 << 20;

/// The Unicode byte order mark, as it starts a UTF-8 file.
const BOM: char = '\u{feff}';

/// `text` without a leading byte order mark.
pub fn strip_bom(text: String) -> String {
    match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// `text` without a leading byte order mark, borrowed.
pub fn strip_bom_str(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

/// Reads at most `limit + 1` bytes of the regular file at `path` (so a caller can tell a
/// file over the limit), refusing anything that is not a regular file.
///
/// The file is opened without blocking, so a FIFO planted where a manifest is expected
/// cannot hang the run, and checked on the open descriptor, so a swap between a check and
/// the open changes nothing.
///
/// # Errors
///
/// The I/O error, or `InvalidInput` "not a regular file (a FIFO, a device or a socket)".
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = open_regular(std::fs::OpenOptions::new().read(true), path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Opens `path` with `options` without blocking and refuses anything but a regular file,
/// checked on the open descriptor: a FIFO, a device or a socket where a file is expected
/// would block a read or a write forever (issue 15), whatever the timeout.
///
/// # Errors
///
/// The I/O error, or `InvalidInput` "a directory" / "not a regular file (a FIFO, a device
/// or a socket)".
pub fn open_regular(
    options: &mut std::fs::OpenOptions,
    path: &Path,
) -> std::io::Result<std::fs::File> {
    let not_regular = "not a regular file (a FIFO, a device or a socket)";
    let file = match options.custom_flags(libc::O_NONBLOCK).open(path) {
        Ok(file) => file,
        // A FIFO opened for writing without a reader.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                not_regular,
            ));
        }
        Err(e) => return Err(e),
    };
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            not_regular
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, what));
    }
    Ok(file)
}

/// [`read_bounded`] as UTF-8 text without a byte order mark.
///
/// # Errors
///
/// As [`read_bounded`], and `InvalidData` for text that is not UTF-8.
pub fn read_text_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    let bytes = read_bounded(path, limit)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    Ok(strip_bom(text))
}

/// What a walk found: the files wanted, in path order, and the problems met on the way.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<PathBuf>,
    /// `(path, reason)`: a wanted link out of the tree or to nowhere, a wanted name that is
    /// not a regular file, an unreadable directory. Input errors.
    pub problems: Vec<(PathBuf, String)>,
    /// `(path, reason)`: a link to a directory outside the tree, which is not followed.
    /// Worth a warning, not an error: a link to shared data beside the manifests is fine.
    pub not_followed: Vec<(PathBuf, String)>,
}

/// Whether `entry` is a directory holding its own project file: another project (a vendored
/// one, say), whose manifests and handlers are not this one's.
fn other_project(entry: &walkdir::DirEntry) -> bool {
    entry.file_type().is_dir()
        && entry
            .path()
            .join(crate::paths::PROJECT_FILE)
            .symlink_metadata()
            .is_ok()
}

/// Every file below `root` for which `wanted` holds, sorted by path, without entering
/// directories for which `enter` is false nor, below `root`, a directory that holds its own
/// `ordo.yaml` (another project), and without following a symbolic link out of `root`.
///
/// A link to a file inside `root` that is wanted is listed under its own name; a link to
/// a directory inside `root` is not entered (what it holds is found through the real
/// path). A wanted link that points nowhere or outside `root`, and a wanted name that is
/// not a regular file (a FIFO), are problems; a link to a directory outside `root` is
/// listed as not followed; any other link or special file is ignored.
pub fn walk(
    root: &Path,
    wanted: impl Fn(&Path) -> bool,
    enter: impl Fn(&walkdir::DirEntry) -> bool,
) -> Walk {
    let mut found = Walk::default();
    let real_root = match root.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            found.problems.push((root.to_path_buf(), e.to_string()));
            return found;
        }
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || (enter(e) && !other_project(e)));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e.path().unwrap_or(root).to_path_buf();
                let reason = e
                    .io_error()
                    .map_or_else(|| e.to_string(), ToString::to_string);
                found.problems.push((at, reason));
                continue;
            }
        };
        let path = entry.path();
        let kind = entry.file_type();
        if kind.is_file() {
            if wanted(path) {
                found.files.push(path.to_path_buf());
            }
            continue;
        }
        if !kind.is_symlink() {
            // A FIFO, socket or device named like a wanted file: reading it would block or
            // never end.
            if !kind.is_dir() && wanted(path) {
                found.problems.push((
                    path.to_path_buf(),
                    "not a regular file (a FIFO, a device or a socket)".into(),
                ));
            }
            continue;
        }
        let shown_target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        match path.canonicalize() {
            Err(_) if wanted(path) => found.problems.push((
                path.to_path_buf(),
                format!("a symbolic link to `{shown_target}`, which does not exist"),
            )),
            Err(_) => {}
            Ok(target) => {
                let is_dir = target.is_dir();
                if !target.starts_with(&real_root) {
                    let why = format!(
                        "a symbolic link to `{}`, outside `{}`; ordo does not follow links out of the directory it reads",
                        target.display(),
                        root.display()
                    );
                    if wanted(path) {
                        found.problems.push((path.to_path_buf(), why));
                    } else if is_dir {
                        found.not_followed.push((path.to_path_buf(), why));
                    }
                } else if !is_dir && wanted(path) {
                    found.files.push(path.to_path_buf());
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_dropped_once_and_only_at_the_start() {
        assert_eq!(strip_bom("\u{feff}a: 1".into()), "a: 1");
        assert_eq!(strip_bom("\u{feff}\u{feff}x".into()), "\u{feff}x");
        assert_eq!(strip_bom("a\u{feff}".into()), "a\u{feff}");
        assert_eq!(strip_bom_str("\u{feff}fn f() {}"), "fn f() {}");
    }
}
