//! Paths as ordo records and shows them.
//!
//! What is recorded (the state's `file`, `dir` and `handler`, `m.dir`, the project root)
//! is canonical: absolute, symlinks resolved, no `.` or `..`, so it does not depend on
//! where ordo was started (`-m ../proj` from a sibling and `-m proj` from the parent record
//! the same bytes). What is shown in messages stays as the user would type it.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// The file name that marks a project root.
pub const PROJECT_FILE: &str = "ordo.yaml";

/// Whether `path` names a handler test file (`*.test.yaml`, `*.test.yml`, `*.test.rhai`;
/// DESIGN §12): `ordo test` runs them, and a run never loads them as manifests or handlers.
pub fn is_test_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        [".test.yaml", ".test.yml", ".test.rhai"]
            .iter()
            .any(|s| n.len() > s.len() && n.ends_with(s))
    })
}

/// `path` made absolute and canonical when it exists; made absolute, with `.` and `..`
/// removed lexically, when it does not (yet).
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    // The longest existing ancestor may still be a symlink: resolve that part.
    let mut existing = out.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return out,
        }
    }
    let mut real = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    real.extend(rest.iter().rev());
    real
}

/// A path as shown to the user: relative to the current directory when it is below it.
pub fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().ok().map(|d| canonical(&d));
    match cwd.as_deref().and_then(|c| path.strip_prefix(c).ok()) {
        Some(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Some(rel) => rel.display().to_string(),
        None => path.display().to_string(),
    }
}

/// The trees of this run's sources (canonical root, source name), for [`shown_in_source`].
static SOURCE_TREES: RwLock<Vec<(PathBuf, String)>> = RwLock::new(Vec::new());

/// Records the trees of this run's sources (each tree's root, the directory its address
/// names, and the source's name), replacing the last run's (`ordo watch` resolves them
/// every cycle).
pub fn set_source_trees(trees: Vec<(PathBuf, String)>) {
    if let Ok(mut held) = SOURCE_TREES.write() {
        *held = trees
            .into_iter()
            .map(|(root, name)| (canonical(&root), name))
            .collect();
    }
}

/// How a file inside a source's tree is shown and recorded: `NAME:path/inside/the/tree`
/// (`platform:manifests/web.yaml`), the same whatever revision the cache holds, so errors
/// read well and the state's record of a manifest survives `ordo sources update` (a
/// manifest removed upstream is then an orphan). `None` for a file of no source.
pub fn shown_in_source(path: &Path) -> Option<String> {
    let trees = SOURCE_TREES.read().ok()?;
    if trees.is_empty() {
        return None;
    }
    let canonical = canonical(path);
    trees
        .iter()
        .filter_map(|(root, name)| Some((root, name, canonical.strip_prefix(root).ok()?)))
        .max_by_key(|(root, _, _)| root.as_os_str().len())
        .map(|(_, name, rel)| {
            if rel.as_os_str().is_empty() && !canonical.is_dir() {
                name.clone()
            } else {
                format!("{name}:{}", rel.display())
            }
        })
}

/// Whether a recorded file (`NAME:path` or a path) lies in `scope` (the same forms).
pub fn within(file: &str, scope: &str) -> bool {
    file.strip_prefix(scope)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || scope.ends_with(['/', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_removes_dot_dot_and_resolves_symlinks_also_for_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(real.join("a/b")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(real.join("a"), real.join("link")).unwrap();
        assert_eq!(canonical(&real.join("a/b/../b")), real.join("a/b"));
        assert_eq!(canonical(&real.join("a/b/../new/x")), real.join("a/new/x"));
        #[cfg(unix)]
        assert_eq!(
            canonical(&real.join("link/b/missing")),
            real.join("a/b/missing")
        );
    }

    #[test]
    fn shown_is_relative_below_the_current_directory_and_absolute_elsewhere() {
        let cwd = canonical(Path::new("."));
        assert_eq!(shown(&cwd), ".");
        assert_eq!(shown(&cwd.join("a/b.yaml")), "a/b.yaml");
        assert_eq!(shown(Path::new("/")), "/");
        assert_eq!(
            shown(Path::new("bundled:handlers/x.rhai")),
            "bundled:handlers/x.rhai"
        );
    }
}
