//! The project: its root, its `ordo.yaml`, where the state lives, which environments exist.
//!
//! This stage sits between the command line and the manifests. It finds the project root
//! from the first `-m` path (or the current directory), reads the project file if there is
//! one, and fills in what the command line left open: the manifests, handler directories
//! and values files to load, and the state file (`<root>/.ordo/state.json`). `-m` and `-s`
//! given on the command line replace the project's defaults; `-f` adds to its values. After loading, it checks that `-e`
//! names an environment that exists.

mod environments;
mod file;
mod root;
mod source;

pub use environments::{DEFAULT_ENV, check_environments};
pub use file::{ListedEnvironment, PROJECT_FILE, PROJECT_KIND, ProjectFile};
pub use root::{Project, STATE_DIR};
pub use source::ProjectSource;
