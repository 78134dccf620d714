//! Watching the input files: a change to a manifest, handler, values, inventory or project
//! file rings the loop's [`Wake`] once its burst of events is over.
//!
//! `notify` with `notify-debouncer-full` (which merges the rename pairs and duplicate
//! events of one editor save) over every input path. Only input files count: YAML, Rhai and
//! JSON files, and the files given by name; what handlers write beside the manifests (an
//! `out/` directory) and the state under `.ordo/` never start a cycle, or a project whose
//! handlers write into its own directory would reconcile for ever.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use super::wake::Wake;

/// How long a burst of file events must be quiet before the loop hears of it.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// The file watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
}

/// Watches `inputs` (files and directories; those missing are left out) and rings `wake`
/// when an input file among them changes. `Err`: why watching cannot start (the loop then
/// runs on its timer and SIGHUP alone).
pub fn watch(inputs: &[PathBuf], wake: Arc<Wake>) -> Result<Watcher, String> {
    let named: Vec<PathBuf> = inputs
        .iter()
        .filter(|p| p.is_file())
        .map(|p| crate::paths::canonical(p))
        .collect();
    let relevant = move |path: &Path| {
        if path.components().any(|c| c.as_os_str() == ".ordo") {
            return false;
        }
        let input = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "rhai" | "json"));
        input || named.iter().any(|n| n == path)
    };
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        if let Ok(events) = result
            && events
                .iter()
                .any(|e| e.event.paths.iter().any(|p| relevant(p)))
        {
            wake.files_changed();
        }
    })
    .map_err(|e| e.to_string())?;
    // A file is watched through its directory: an editor that saves by renaming a new
    // file over it would leave a watch on the file itself watching nothing.
    let mut watched: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    for path in inputs.iter().filter(|p| p.exists()) {
        let path = crate::paths::canonical(path);
        let (dir, mode) = if path.is_dir() {
            (path, RecursiveMode::Recursive)
        } else {
            match path.parent() {
                Some(dir) => (dir.to_path_buf(), RecursiveMode::NonRecursive),
                None => continue,
            }
        };
        if watched
            .iter()
            .any(|(w, m)| dir.starts_with(w) && (*m == RecursiveMode::Recursive || *w == dir))
        {
            continue;
        }
        debouncer
            .watch(&dir, mode)
            .map_err(|e| format!("{}: {e}", crate::paths::shown(&dir)))?;
        watched.push((dir, mode));
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}
