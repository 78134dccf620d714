//! `-m` paths → manifest files → checked [`Manifest`]s, in a stable order.
//!
//! A path is a file, a directory (every `*.yaml` / `*.yml` below it but the project file
//! `ordo.yaml` and the run's values files, sorted by path, not entering a directory that holds
//! its own `ordo.yaml`: another project), or `-` for standard input. Files are read once; each becomes
//! a [`SourceFile`] that later stages point into. Problems are collected, not returned early, so a run reports all of them.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::document::{Manifest, check_document};
use super::error::{ManifestError, ManifestErrorKind as K};
use super::parse::{Limits, parse_stream_parallel};
// The project file (see `project/`) is skipped in directories of manifests.
use crate::paths::PROJECT_FILE;
use crate::source::{Location, Mark, SourceFile};

/// Largest manifest file ordo reads.
pub(super) const MAX_FILE_BYTES: u64 = 256 << 20;

/// Everything read from the `-m` paths.
#[derive(Debug, Default)]
pub struct Loaded {
    pub manifests: Vec<Manifest>,
    /// Every file read, in order (for `-s` defaults and messages).
    pub files: Vec<Arc<SourceFile>>,
    pub errors: Vec<ManifestError>,
    /// What is worth saying but stops nothing: a directory link not followed.
    pub warnings: Vec<ManifestError>,
}

/// Reads and checks every manifest under `paths`.
pub fn load(paths: &[PathBuf], limits: &Limits) -> Loaded {
    load_except(paths, &[], limits)
}

/// [`load`], leaving out of the directory walks the files in `values` (the values files of
/// the run, `-f` and the project's `spec.values`): a file that is values is never also a
/// manifest, as `ordo.yaml` is not.
pub fn load_except(paths: &[PathBuf], values: &[PathBuf], limits: &Limits) -> Loaded {
    let mut loaded = Loaded::default();
    let mut seen = HashSet::new();
    let values: HashSet<PathBuf> = values
        .iter()
        .filter_map(|v| v.canonicalize().ok())
        .collect();
    for path in paths {
        let walked = path.is_dir();
        for file in expand(path, &mut loaded.errors, &mut loaded.warnings) {
            let key = file.canonicalize().unwrap_or_else(|_| file.clone());
            if walked && values.contains(&key) {
                continue;
            }
            if !seen.insert(key) {
                continue;
            }
            if let Some(source) = read(&file, &mut loaded.errors) {
                load_source(&source, limits, &mut loaded);
                loaded.files.push(source);
            }
        }
    }
    check_duplicates(&mut loaded);
    loaded
}

/// Parses and checks one file's text, appending to `loaded`.
pub fn load_source(source: &Arc<SourceFile>, limits: &Limits, loaded: &mut Loaded) {
    let stream = parse_stream_parallel(source.text(), limits);
    if stream.documents.is_empty() && stream.error.is_none() {
        loaded.errors.push(ManifestError {
            location: Location::new(source, Mark::new(1, 1)),
            kind: K::Empty,
        });
    }
    for doc in stream.documents {
        let index = loaded.manifests.len();
        let mark = doc.root.mark;
        let (manifest, errors) = check_document(source, mark, doc.root, index);
        loaded.errors.extend(errors);
        if let Some(m) = manifest {
            loaded.manifests.push(m);
        }
    }
    if let Some(e) = stream.error {
        loaded.errors.push(ManifestError {
            location: Location::new(source, e.mark),
            kind: K::Yaml(e.kind),
        });
    }
}

/// A `-m` argument → the files it names.
fn expand(
    path: &Path,
    errors: &mut Vec<ManifestError>,
    warnings: &mut Vec<ManifestError>,
) -> Vec<PathBuf> {
    if path.as_os_str() == "-" {
        return vec![path.to_path_buf()];
    }
    let shown = path.display().to_string();
    let placeholder = SourceFile::new(shown.clone(), ".", "");
    let fail = |errors: &mut Vec<ManifestError>, kind| {
        errors.push(ManifestError {
            location: Location::new(&placeholder, Mark::default()),
            kind,
        });
    };
    match std::fs::metadata(path) {
        Err(e) => {
            fail(
                errors,
                K::Read {
                    path: shown,
                    reason: e.to_string(),
                },
            );
            Vec::new()
        }
        Ok(meta) if meta.is_dir() => {
            // Hidden directories (`.git`, `.github`, `.ordo`) hold YAML that is not ours.
            // The project file (`ordo.yaml`, `kind: Project`) is not a manifest.
            // Handler tests (`*.test.yaml`) are `ordo test`'s, never manifests.
            let wanted = |p: &Path| {
                is_yaml(p)
                    && p.file_name().is_none_or(|n| n != PROJECT_FILE)
                    && !crate::paths::is_test_file(p)
            };
            let walk = crate::input::walk(path, wanted, |e| {
                !e.file_name().to_string_lossy().starts_with('.')
            });
            for (at, reason) in walk.not_followed {
                let at = clean(&at).display().to_string();
                warnings.push(ManifestError {
                    location: Location::new(&SourceFile::new(at.clone(), ".", ""), Mark::default()),
                    kind: K::NotFollowed { path: at, reason },
                });
            }
            for (at, reason) in walk.problems {
                // Located at the link or directory itself, not at the `-m` argument.
                let at = clean(&at).display().to_string();
                errors.push(ManifestError {
                    location: Location::new(&SourceFile::new(at.clone(), ".", ""), Mark::default()),
                    kind: K::Read { path: at, reason },
                });
            }
            let files: Vec<PathBuf> = walk.files.iter().map(|f| clean(f)).collect();
            if files.is_empty() {
                fail(errors, K::NoFiles(shown));
            }
            files
        }
        Ok(_) if path.extension().is_some_and(|e| e == "rhai") => {
            // A handler given as a manifest used to be reported as a YAML error (issue 13).
            fail(errors, K::HandlerAsManifest(shown));
            Vec::new()
        }
        Ok(_) if path.file_name().is_some_and(|n| n == PROJECT_FILE) => {
            fail(errors, K::ProjectFileAsManifest(shown));
            Vec::new()
        }
        Ok(_) => vec![path.to_path_buf()],
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// `./a/b.yaml` → `a/b.yaml`, so messages show paths the way users type them.
fn clean(path: &Path) -> PathBuf {
    path.strip_prefix(".")
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

fn read(path: &Path, errors: &mut Vec<ManifestError>) -> Option<Arc<SourceFile>> {
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "<stdin>".to_string()
    } else {
        crate::paths::shown_in_source(path).unwrap_or_else(|| path.display().to_string())
    };
    let dir = if stdin {
        PathBuf::from(".")
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let placeholder = SourceFile::new(name.clone(), dir.clone(), "");
    let fail = |errors: &mut Vec<ManifestError>, kind| {
        errors.push(ManifestError {
            location: Location::new(&placeholder, Mark::default()),
            kind,
        });
        None
    };
    let mut bytes = Vec::new();
    let result = if stdin {
        std::io::stdin()
            .lock()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        crate::input::read_bounded(path, MAX_FILE_BYTES).map(|b| {
            bytes = b;
            bytes.len()
        })
    };
    if let Err(e) = result {
        return fail(
            errors,
            K::Read {
                path: name,
                reason: e.to_string(),
            },
        );
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // Reported at the file's start, like an empty file: `file:1:1` in every message.
        errors.push(ManifestError {
            location: Location::new(&placeholder, Mark::new(1, 1)),
            kind: K::TooLarge {
                limit: MAX_FILE_BYTES >> 20,
            },
        });
        return None;
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let before = bytes.get(..at).unwrap_or_default();
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let column = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
                .chars()
                .count()
                + 1;
            let shown = SourceFile::new(name, dir, String::from_utf8_lossy(bytes).into_owned());
            errors.push(ManifestError {
                location: Location::new(
                    &shown,
                    Mark::new(
                        u32::try_from(line).unwrap_or(u32::MAX),
                        u32::try_from(column).unwrap_or(u32::MAX),
                    ),
                ),
                kind: K::NotUtf8 {
                    offset: bytes.get(at).copied().unwrap_or(0),
                    column,
                },
            });
            return None;
        }
    };
    Some(SourceFile::new(name, dir, crate::input::strip_bom(text)))
}

/// Two manifests may share a name only if no environment can hold both.
fn check_duplicates(loaded: &mut Loaded) {
    let mut by_name: HashMap<&str, Vec<&Manifest>> = HashMap::new();
    for m in &loaded.manifests {
        by_name.entry(m.name.as_str()).or_default().push(m);
    }
    let mut found = Vec::new();
    for group in by_name.values().filter(|g| g.len() > 1) {
        for (i, later) in group.iter().enumerate().skip(1) {
            if let Some(first) = group
                .iter()
                .take(i)
                .find(|f| share_an_environment(f, later))
            {
                found.push(ManifestError {
                    location: later
                        .at(later.name_mark)
                        .with_width(later.name.chars().count()),
                    kind: K::DuplicateName {
                        name: later.name.clone(),
                        first: first.at(first.name_mark),
                    },
                });
            }
        }
    }
    found.sort_by_key(|e| (e.location.file.name().to_string(), e.location.mark));
    loaded.errors.extend(found);
}

fn share_an_environment(a: &Manifest, b: &Manifest) -> bool {
    match (&a.metadata.environments, &b.metadata.environments) {
        (Some(x), Some(y)) => x.iter().any(|e| y.contains(e)),
        _ => true,
    }
}
