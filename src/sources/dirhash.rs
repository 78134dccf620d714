//! The tree hash recorded in `ordo.lock`: Go's `h1:` directory hash
//! (`golang.org/x/mod/sumdb/dirhash`, `Hash1`), so a directory is verified as a whole, not
//! only the archive it came from.
//!
//! `h1:` + base64 (standard, padded) of the SHA-256 of the lines `"{sha256 hex}  {name}\n"`,
//! one per file, sorted by name; names are relative to the tree's root with `/`
//! separators (Go prefixes them with `module@version/`; a tree has no such name, so there is
//! no prefix). Directories count only through their files. Go's scheme knows no symbolic
//! links; here a link is a line too, whose hash is that of `symlink\0` and its target, so
//! replacing a link by a file of the same text (or pointing it elsewhere) changes the hash.

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The `h1:` hash of the tree under `root`. A name with a line break (which would make two
/// lines of one) or a file that cannot be read is an error.
pub fn hash_tree(root: &Path) -> Result<String, String> {
    let mut lines: Vec<(String, String)> = Vec::new();
    // A root that is a link is hashed as a link, never walked.
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .follow_root_links(false);
    for entry in walk {
        let entry = entry.map_err(|e| format!("reading {}: {e}", root.display()))?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if name.contains('\n') {
            return Err(format!("the file name {name:?} holds a line break"));
        }
        let hash = if kind.is_symlink() {
            let target = std::fs::read_link(entry.path())
                .map_err(|e| format!("reading the link {}: {e}", entry.path().display()))?;
            let mut h = Sha256::new();
            h.update(b"symlink\0");
            h.update(target.as_os_str().as_encoded_bytes());
            hex(&h.finalize())
        } else if kind.is_file() {
            file_sha256(entry.path())?
        } else {
            return Err(format!(
                "{} is neither a file, a directory nor a link",
                entry.path().display()
            ));
        };
        lines.push((name, hash));
    }
    lines.sort();
    let mut summary = Sha256::new();
    for (name, hash) in &lines {
        summary.update(format!("{hash}  {name}\n").as_bytes());
    }
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    ))
}

/// A file's SHA-256 as lowercase hex, read in pieces.
pub(super) fn file_sha256(path: &Path) -> Result<String, String> {
    let mut file = super::cache::open_regular(path, false)
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_gos_h1_and_changes_with_any_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("a.txt"), "hello\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("sub/b.txt"), "").unwrap_or_else(|e| panic!("{e}"));
        // The same lines Go's Hash1 hashes, computed by hand.
        let expected = {
            let mut s = Sha256::new();
            s.update(format!("{}  a.txt\n", hex(&Sha256::digest(b"hello\n"))));
            s.update(format!("{}  sub/b.txt\n", hex(&Sha256::digest(b""))));
            format!(
                "h1:{}",
                base64::engine::general_purpose::STANDARD.encode(s.finalize())
            )
        };
        let first = hash_tree(root).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, expected);
        std::fs::write(root.join("sub/b.txt"), "x").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(hash_tree(root).unwrap_or_else(|e| panic!("{e}")), first);
    }
}
