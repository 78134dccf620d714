//! `ordo.lock`: what each source resolved to, meant to be committed.
//!
//! ```yaml
//! # ordo.lock: written by ordo, meant to be committed. `ordo sources update` moves a branch.
//! version: 1
//! sources:
//!   platform:
//!     url: git+https://git.example.com/ops/platform.git//manifests?ref=v2.3.0
//!     commit: 9f2c…                     # the full commit the ref resolved to
//!     tree: h1:Qk3m…                    # the dirhash of the tree as extracted
//!   cfn:
//!     url: https://artifacts.example.com/ordo-cfn-1.4.tar.gz
//!     digest: sha256:5e1c…
//!     tree: h1:…
//! ```
//!
//! Entries keep their order; the file is written only when an entry changed, atomically
//! (a temporary file beside it, fsync, rename), so a reader never sees half of one.

use std::path::Path;

use indexmap::IndexMap;

use super::error::{SourceError, SourceErrorKind};

/// The format's version, the file's first key.
pub const LOCK_VERSION: i64 = 1;

/// The largest lock file read.
const MAX_LOCK_BYTES: u64 = 16 << 20;

/// The lock file's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockFile {
    /// Entries by source name, in file order.
    pub sources: IndexMap<String, LockEntry>,
}

/// What one source resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockEntry {
    /// The canonical address the entry was resolved from; another address re-resolves.
    pub url: String,
    /// The commit (git) or `sha256:HEX` digest (downloads).
    pub pin: super::Pin,
    /// The `h1:` hash of the extracted tree.
    pub tree: String,
}

impl LockFile {
    /// Reads `path`; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<LockFile, SourceError> {
        use std::io::Read as _;
        let file = match super::cache::open_regular(path, true) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockFile::default()),
            Err(e) => {
                return Err(lock_error(path, None, format!("cannot read it: {e}")));
            }
        };
        let mut text = String::new();
        file.take(MAX_LOCK_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| lock_error(path, None, format!("cannot read it: {e}")))?;
        if text.len() as u64 > MAX_LOCK_BYTES {
            return Err(lock_error(
                path,
                None,
                format!("it is larger than {} MiB", MAX_LOCK_BYTES >> 20),
            ));
        }
        LockFile::parse(path, &text)
    }

    /// Parses the text of `path`; the error names the file and line.
    pub fn parse(path: &Path, text: &str) -> Result<LockFile, SourceError> {
        let node = crate::manifest::parse_one(text, &crate::manifest::Limits::default())
            .map_err(|e| lock_error(path, Some(e.mark.line), e.kind.to_string()))?;
        let at = |n: &crate::manifest::Node, message: String| {
            lock_error(path, Some(n.mark.line), message)
        };
        if node.is_null() {
            return Ok(LockFile::default());
        }
        known_keys(path, &node, &["version", "sources"])?;
        let Some(version) = node.get("version") else {
            return Err(at(&node, "no `version`".into()));
        };
        if version.value != crate::manifest::Value::Int(LOCK_VERSION) {
            return Err(at(
                version,
                format!("`version` must be {LOCK_VERSION}; this ordo reads no other"),
            ));
        }
        let mut lock = LockFile::default();
        let Some(sources) = node.get("sources") else {
            return Ok(lock);
        };
        let crate::manifest::Value::Map(entries) = &sources.value else {
            if sources.is_null() {
                return Ok(lock);
            }
            return Err(at(sources, "`sources` must be a mapping".into()));
        };
        for entry in entries {
            known_keys(path, &entry.value, &["url", "commit", "digest", "tree"])?;
            let text = |key: &str| -> Result<Option<String>, SourceError> {
                match entry.value.get(key) {
                    None => Ok(None),
                    Some(n) => n
                        .as_str()
                        .map(|s| Some(s.to_string()))
                        .ok_or_else(|| at(n, format!("`{key}` of `{}` must be text", entry.key))),
                }
            };
            let url = text("url")?.ok_or_else(|| {
                at(
                    &entry.value,
                    format!("the entry `{}` has no `url`", entry.key),
                )
            })?;
            let tree = text("tree")?.ok_or_else(|| {
                at(
                    &entry.value,
                    format!("the entry `{}` has no `tree`", entry.key),
                )
            })?;
            let pin = match (text("commit")?, text("digest")?) {
                (Some(c), None) if super::address::is_full_commit(&c) => super::Pin::Commit(c),
                (None, Some(d)) if d.strip_prefix("sha256:").is_some_and(is_sha256_hex) => {
                    super::Pin::Digest(d.trim_start_matches("sha256:").to_string())
                }
                _ => {
                    return Err(at(
                        &entry.value,
                        format!(
                            "the entry `{}` needs either `commit` (a full commit id) or `digest` (`sha256:` and 64 hexadecimal digits)",
                            entry.key
                        ),
                    ));
                }
            };
            lock.sources
                .insert(entry.key.clone(), LockEntry { url, pin, tree });
        }
        Ok(lock)
    }

    /// The file's text.
    pub fn render(&self) -> String {
        use crate::manifest::string_text as q;
        let mut out = String::from(
            "# ordo.lock: written by ordo, meant to be committed. `ordo sources update` moves a branch.\n",
        );
        out.push_str(&format!("version: {LOCK_VERSION}\nsources:"));
        if self.sources.is_empty() {
            out.push_str(" {}\n");
            return out;
        }
        out.push('\n');
        for (name, e) in &self.sources {
            out.push_str(&format!("  {}:\n    url: {}\n", q(name), q(&e.url)));
            match &e.pin {
                super::Pin::Commit(c) => out.push_str(&format!("    commit: {c}\n")),
                super::Pin::Digest(d) => out.push_str(&format!("    digest: sha256:{d}\n")),
            }
            out.push_str(&format!("    tree: {}\n", q(&e.tree)));
        }
        out
    }

    /// Writes the file atomically: a temporary file in the same directory, fsync, mode
    /// 0644, rename over the old one, then fsync of the directory.
    pub fn write(&self, path: &Path) -> Result<(), SourceError> {
        use std::io::Write as _;
        use std::os::unix::fs::PermissionsExt;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let fail = |e: std::io::Error| lock_error(path, None, format!("cannot write it: {e}"));
        let mut tmp = tempfile::Builder::new()
            .prefix(".ordo.lock.")
            .tempfile_in(dir)
            .map_err(fail)?;
        tmp.write_all(self.render().as_bytes()).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
        tmp.persist(path).map_err(|e| fail(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Refuses a key of the mapping `node` that is not among `known` (a typo such as `comit:`
/// would otherwise pass review unnoticed), with "did you mean".
fn known_keys(
    path: &Path,
    node: &crate::manifest::Node,
    known: &[&str],
) -> Result<(), SourceError> {
    let crate::manifest::Value::Map(entries) = &node.value else {
        return Ok(());
    };
    for e in entries {
        if !known.contains(&e.key.as_str()) {
            let hint = match crate::diagnostic::did_you_mean(&e.key, known.iter().copied()) {
                Some(n) => format!("; did you mean `{n}`?"),
                None => format!(
                    "; the keys are {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(lock_error(
                path,
                Some(e.key_mark.line),
                format!("unknown key `{}`{hint}", e.key),
            ));
        }
    }
    Ok(())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An error of the lock file itself, named `ordo.lock:LINE`.
fn lock_error(path: &Path, line: Option<u32>, message: String) -> SourceError {
    let mut shown = crate::paths::shown(path);
    if let Some(line) = line {
        shown = format!("{shown}:{line}");
    }
    SourceError::new(&shown, &shown, SourceErrorKind::LockFile, message)
        .with_help("the lock file is written by ordo; `ordo sources update` rewrites it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_reads_back_what_it_wrote() {
        let mut lock = LockFile::default();
        lock.sources.insert(
            "git+file:///tmp/r.git?ref=main".into(),
            LockEntry {
                url: "git+file:///tmp/r.git?ref=main".into(),
                pin: super::super::Pin::Commit("a".repeat(40)),
                tree: "h1:abc+/=".into(),
            },
        );
        lock.sources.insert(
            "cfn".into(),
            LockEntry {
                url: "https://h/x.tgz".into(),
                pin: super::super::Pin::Digest("0".repeat(64)),
                tree: "h1:x".into(),
            },
        );
        let text = lock.render();
        let back = LockFile::parse(Path::new("ordo.lock"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, lock);
        assert_eq!(
            LockFile::parse(Path::new("ordo.lock"), "version: 1\nsources: {}\n").ok(),
            Some(LockFile::default())
        );
        let e = LockFile::parse(Path::new("ordo.lock"), "version: 2\n").err();
        assert!(e.is_some_and(|e| e.to_string().starts_with("ordo.lock:1: ")));
    }
}
