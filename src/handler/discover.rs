//! Finding handler scripts: every `*.rhai` below each source directory, sorted.
//!
//! Files inside a directory named `lib` are helper modules for `import`, not handlers.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{HandlerError, HandlerErrorKind};
use super::origin::{Origin, SourceOrigin};
use crate::input::MAX_SCRIPT_BYTES as MAX_HANDLER_BYTES;
use crate::manifest::{Location, Mark, SourceFile};
use crate::script::ImportRoot;

/// A handler file found on disk, with the source directory it was found in.
#[derive(Debug)]
pub struct Found {
    pub source: Arc<SourceFile>,
    /// The canonical source directory: imports must stay inside it.
    pub root: PathBuf,
    /// Where it came from (set by [`assign_origins`] for the trees of sources).
    pub origin: Origin,
}

impl Found {
    /// The handler's name and where its imports may come from, for the import resolver.
    pub fn import_root(&self) -> (String, ImportRoot) {
        let dir = self
            .source
            .dir()
            .canonicalize()
            .unwrap_or_else(|_| self.root.clone());
        (
            self.source.name().to_string(),
            ImportRoot {
                root: self.root.clone(),
                dir,
            },
        )
    }

    /// One handler file named on the command line (`ordo lint FILE`); its directory is its
    /// source directory. `None` (and an error) when it cannot be read.
    pub fn file(path: &Path, errors: &mut Vec<HandlerError>) -> Option<Found> {
        let found = Found::read(path);
        match found {
            Ok(f) => Some(f),
            Err(e) => {
                errors.push(*e);
                None
            }
        }
    }

    fn read(path: &Path) -> Result<Found, Box<HandlerError>> {
        let shown = super::shown_in_source(path)
            .unwrap_or_else(|| path.strip_prefix(".").unwrap_or(path).display().to_string());
        let error = |reason: String| {
            Box::new(HandlerError {
                location: Location::new(&SourceFile::new(shown.clone(), ".", ""), Mark::default()),
                kind: HandlerErrorKind::Read {
                    path: shown.clone(),
                    reason,
                },
            })
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let root = dir.canonicalize().map_err(|e| error(e.to_string()))?;
        let text = read_bounded(path).map_err(|e| error(e.to_string()))?;
        if text.len() as u64 > MAX_HANDLER_BYTES {
            return Err(error(format!(
                "larger than the limit of {} MiB for a handler",
                MAX_HANDLER_BYTES >> 20
            )));
        }
        Ok(Found {
            source: SourceFile::new(shown, dir, text),
            root,
            origin: Origin::Local,
        })
    }
}

pub fn discover(dirs: &[PathBuf], errors: &mut Vec<HandlerError>) -> Vec<Found> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(root) = dir.canonicalize() else {
            let placeholder = SourceFile::new(dir.display().to_string(), ".", "");
            errors.push(HandlerError {
                location: Location::new(&placeholder, Mark::default()),
                kind: HandlerErrorKind::Read {
                    path: dir.display().to_string(),
                    reason: "no such directory".into(),
                },
            });
            continue;
        };
        let walk = crate::input::walk(
            dir,
            // `*.test.rhai` are handler tests (`ordo test`), not handlers.
            |p| p.extension().is_some_and(|e| e == "rhai") && !crate::paths::is_test_file(p),
            |e| {
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                let lib = e.file_type().is_dir() && e.file_name() == "lib";
                !hidden && !lib
            },
        );
        for (at, reason) in walk.not_followed {
            let shown = at.strip_prefix(".").unwrap_or(&at).display().to_string();
            let placeholder = SourceFile::new(shown.clone(), ".", "");
            errors.push(HandlerError {
                location: Location::new(&placeholder, Mark::default()),
                kind: HandlerErrorKind::NotFollowed {
                    path: shown,
                    reason,
                },
            });
        }
        for (at, reason) in walk.problems {
            let shown = at.strip_prefix(".").unwrap_or(&at).display().to_string();
            let placeholder = SourceFile::new(shown.clone(), ".", "");
            errors.push(HandlerError {
                location: Location::new(&placeholder, Mark::default()),
                kind: HandlerErrorKind::Read {
                    path: shown,
                    reason,
                },
            });
        }
        for path in &walk.files {
            let path = path.as_path();
            let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            if !seen.insert(key) {
                continue;
            }
            let shown = super::shown_in_source(path)
                .unwrap_or_else(|| path.strip_prefix(".").unwrap_or(path).display().to_string());
            match read_bounded(path) {
                Ok(text) if text.len() as u64 > MAX_HANDLER_BYTES => {
                    let placeholder = SourceFile::new(shown.clone(), ".", "");
                    errors.push(HandlerError {
                        location: Location::new(&placeholder, Mark::new(1, 1)),
                        kind: HandlerErrorKind::Read {
                            path: shown,
                            reason: format!(
                                "larger than the limit of {} MiB for a handler",
                                MAX_HANDLER_BYTES >> 20
                            ),
                        },
                    });
                }
                Ok(text) => found.push(Found {
                    source: SourceFile::new(shown, path.parent().unwrap_or(Path::new(".")), text),
                    root: root.clone(),
                    origin: Origin::Local,
                }),
                Err(e) => {
                    let placeholder = SourceFile::new(shown.clone(), ".", "");
                    errors.push(HandlerError {
                        location: Location::new(&placeholder, Mark::default()),
                        kind: HandlerErrorKind::Read {
                            path: shown,
                            reason: e.to_string(),
                        },
                    });
                }
            }
        }
    }
    found
}

/// Marks each handler found below a source's tree as coming from that source.
pub fn assign_origins(found: &mut [Found], sources: &[Arc<SourceOrigin>]) {
    if sources.is_empty() {
        return;
    }
    for f in found {
        f.origin = Origin::of(&f.root, sources);
    }
}

/// A script's text, reading at most one byte more than the limit; regular files only,
/// without a byte order mark (issue 14: a handler saved with one was a syntax error at 1:1).
fn read_bounded(path: &Path) -> std::io::Result<String> {
    crate::input::read_text_bounded(path, MAX_HANDLER_BYTES)
}
