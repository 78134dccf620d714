//! Watching the input files: a change to a manifest, handler, values, inventory or project
//! file rings the loop's [`Wake`] once its burst of events is over; [`fingerprint`] says
//! whether the inputs' content really changed.
//!
//! `notify` with `notify-debouncer-full` (which merges the rename pairs and duplicate
//! events of one editor save) over every input path. Only input files count: YAML, Rhai and
//! JSON files below an input directory (outside hidden directories such as `.ordo/` and
//! `.git/`), the files given by name, and an input path itself being created, removed or
//! renamed. What handlers write elsewhere never starts a cycle, or a project whose
//! handlers write into its own directory would reconcile for ever.
//!
//! Only changes count — a file created, written, removed or renamed — never a read: a
//! handler's `check` that reads a YAML file beside the manifests, a backup job or the
//! loop's own reload must not start the next cycle.
//!
//! Each input is also watched through its parent directory (an input that does not exist
//! yet, through its nearest existing ancestor), so an input directory that is deleted and
//! created again (`rm -rf manifests && tar x`, `git checkout`, `mv new manifests`), or
//! that appears after the start, is seen. The loop builds a new [`Watcher`] after every
//! reload, so watches follow the directories as they are now.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::event::{AccessKind, AccessMode, ModifyKind};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use super::wake::Wake;

/// How long a burst of file events must be quiet before the loop hears of it.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// The file watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
}

/// Whether an event kind is a change of content or of the tree (not a read, not a change
/// of times or permissions alone).
fn changes(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

/// Whether `name` is the name of an input file (`*.yaml`, `*.yml`, `*.rhai`, `*.json`).
fn input_like(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "rhai" | "json"))
}

/// Whether `path`, below the input directory `root`, is inside a hidden directory (which
/// the loader skips) or is hidden itself.
fn hidden_below(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rest| {
        rest.components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    })
}

/// Whether a change at `path` may change the inputs `roots` (absolute).
fn relevant(roots: &[PathBuf], path: &Path) -> bool {
    roots.iter().any(|root| {
        path == root || (path.starts_with(root) && input_like(path) && !hidden_below(root, path))
    })
}

/// Watches `inputs` (files and directories, existing or not) and rings `wake` when one
/// changes. `Err`: why watching cannot start (the loop then runs on its timer, SIGHUP and
/// requests alone).
pub fn watch(inputs: &[PathBuf], wake: Arc<Wake>) -> Result<Watcher, String> {
    let roots: Vec<PathBuf> = inputs.iter().map(|p| crate::paths::canonical(p)).collect();
    let filter = roots.clone();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        if let Ok(events) = result
            && events.iter().any(|e| {
                changes(&e.event.kind) && e.event.paths.iter().any(|p| relevant(&filter, p))
            })
        {
            wake.files_changed();
        }
    })
    .map_err(|e| e.to_string())?;
    // An input directory recursively; each input also through its parent (a file saved by
    // renaming a new one over it, a directory replaced), or, missing, through its nearest
    // existing ancestor (to see it appear).
    let mut wanted: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    for root in &roots {
        if root.is_dir() {
            wanted.push((root.clone(), RecursiveMode::Recursive));
        }
        if let Some(above) = root.ancestors().skip(1).find(|a| a.is_dir()) {
            wanted.push((above.to_path_buf(), RecursiveMode::NonRecursive));
        }
    }
    // Recursive watches first, the shortest first, so that nothing is watched twice.
    wanted.sort_by_key(|(dir, mode)| (*mode != RecursiveMode::Recursive, dir.clone()));
    let mut watched: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    for (dir, mode) in wanted {
        if watched
            .iter()
            .any(|(w, m)| dir.starts_with(w) && (*m == RecursiveMode::Recursive || *w == dir))
        {
            continue;
        }
        match debouncer.watch(&dir, mode) {
            Ok(()) => watched.push((dir, mode)),
            // An input directory that cannot be watched is an error; a parent only helps.
            Err(e) if mode == RecursiveMode::Recursive => {
                return Err(format!("{}: {e}", crate::paths::shown(&dir)));
            }
            Err(_) => {}
        }
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

/// A hash of what the inputs hold: for each input path whether it exists, and every input
/// file below it (outside hidden directories) with its content. Two equal fingerprints: a
/// reload would load the same inputs (a `touch`, a save without a change, a file read).
#[must_use]
pub fn fingerprint(inputs: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for input in inputs {
        input.hash(&mut hasher);
        let Ok(meta) = std::fs::metadata(input) else {
            "missing".hash(&mut hasher);
            continue;
        };
        if meta.is_dir() {
            let walk = walkdir::WalkDir::new(input)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for entry in walk {
                match entry {
                    Ok(e) if input_like(e.path()) => file(e.path(), &mut hasher),
                    Ok(_) => {}
                    Err(e) => e.to_string().hash(&mut hasher),
                }
            }
        } else {
            file(input, &mut hasher);
        }
    }
    hasher.finish()
}

/// One file's path and content (a FIFO or device only by its path: reading it could block).
fn file(path: &Path, hasher: &mut DefaultHasher) {
    path.hash(hasher);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => match std::fs::read(path) {
            Ok(bytes) => bytes.hash(hasher),
            Err(e) => e.kind().to_string().hash(hasher),
        },
        Ok(meta) if meta.is_dir() => "dir".hash(hasher),
        Ok(_) => "special".hash(hasher),
        Err(e) => e.kind().to_string().hash(hasher),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_input_files_below_an_input_and_the_input_itself_are_relevant() {
        let roots = [PathBuf::from("/p/manifests"), PathBuf::from("/p/ordo.yaml")];
        assert!(relevant(&roots, Path::new("/p/manifests")));
        assert!(relevant(&roots, Path::new("/p/manifests/a/web.yaml")));
        assert!(relevant(&roots, Path::new("/p/ordo.yaml")));
        assert!(!relevant(&roots, Path::new("/p/manifests/out.txt")));
        assert!(!relevant(
            &roots,
            Path::new("/p/manifests/.ordo/state.json")
        ));
        assert!(!relevant(&roots, Path::new("/p/manifests/.git/x.yaml")));
        assert!(!relevant(&roots, Path::new("/p/other.yaml")));
    }

    #[test]
    fn reads_and_attribute_changes_are_no_change() {
        use notify_debouncer_full::notify::event::{CreateKind, DataChange, MetadataKind};
        assert!(!changes(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!changes(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!changes(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
        assert!(changes(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(changes(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(changes(&EventKind::Create(CreateKind::File)));
    }
}
