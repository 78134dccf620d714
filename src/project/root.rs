//! [`Project`]: where the project root is, and what it gives a run by default.
//!
//! The root is the nearest directory, from the first `-m` path (the current directory when
//! there is none, or for `-m -`) walking up, that holds `ordo.yaml` or a `.ordo/`
//! directory; failing that, the directory of the first `-m` path (DESIGN.md §8). The walk
//! does not stop at `/`, `$HOME` or the temporary directory unless it starts there. Everything
//! here is canonical (symlinks resolved, no `..`), so the same project gives the same root,
//! state file and recorded paths wherever ordo was started from.

use std::path::{Path, PathBuf};

use super::file::{PROJECT_FILE, ProjectFile};
use crate::diagnostic::Diagnostic;
use crate::paths::canonical;

/// The directory that holds a project's state.
pub const STATE_DIR: &str = ".ordo";

/// A located project.
#[derive(Debug)]
pub struct Project {
    /// The project root, canonical.
    pub root: PathBuf,
    /// `ordo.yaml` at the root, when there is one.
    pub file: Option<ProjectFile>,
}

/// Directories the walk up never takes as a root unless it starts there: `/`, `$HOME` and
/// the temporary directory (`$TMPDIR`, else `/tmp`), canonical.
fn ceilings() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("/"), canonical(&std::env::temp_dir())];
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        dirs.push(canonical(Path::new(&home)));
    }
    dirs
}

impl Project {
    /// Finds the project of a run whose first `-m` path is `first` (`None`: no `-m`).
    pub fn locate(first: Option<&Path>) -> Result<Project, Vec<Diagnostic>> {
        let (start, found) = Self::find(first);
        let root = found.unwrap_or(start);
        let file = root.join(PROJECT_FILE);
        // Anything named `ordo.yaml` marks the root; one that is not a regular file (a
        // directory, a FIFO) is an input error, not silently ignored.
        let file = if file.symlink_metadata().is_ok() {
            Some(ProjectFile::load(&canonical(&file))?)
        } else {
            None
        };
        Ok(Project { root, file })
    }

    /// The root the walk up from `path` finds by its markers (`ordo.yaml` or `.ordo/`), if
    /// any: a second `-m` path found in another project than the first's is refused.
    pub fn marked_root(path: &Path) -> Option<PathBuf> {
        Self::find(Some(path)).1
    }

    /// Where the walk up starts (the fallback root), and the marked root it found.
    fn find(first: Option<&Path>) -> (PathBuf, Option<PathBuf>) {
        let cwd = canonical(Path::new("."));
        let start = match first {
            None => cwd,
            Some(p) if p.as_os_str() == "-" => cwd,
            Some(p) => {
                let p = canonical(p);
                if p.is_dir() {
                    p
                } else {
                    p.parent().map_or(cwd, Path::to_path_buf)
                }
            }
        };
        // Above the start, the file system root, the home directory and the temporary
        // directory are ceilings, as for git's GIT_CEILING_DIRECTORIES: a stray `/tmp/.ordo`
        // or `~/.ordo` (left by a run on a file there) must not silently become the root,
        // and the state, of every project below it.
        let ceilings = ceilings();
        let found = start
            .ancestors()
            .enumerate()
            .find(|(depth, dir)| {
                (*depth == 0 || !ceilings.iter().any(|c| c == dir))
                    && (dir.join(PROJECT_FILE).symlink_metadata().is_ok()
                        || dir.join(STATE_DIR).is_dir())
            })
            .map(|(_, dir)| dir.to_path_buf());
        (start, found)
    }

    /// Where the state lives unless `--state` says otherwise.
    pub fn state_path(&self) -> PathBuf {
        self.root.join(STATE_DIR).join("state.json")
    }

    /// The environments the project file lists, if it lists them.
    pub fn environments(&self) -> Option<&[super::file::ListedEnvironment]> {
        self.file.as_ref()?.environments.as_deref()
    }
}
