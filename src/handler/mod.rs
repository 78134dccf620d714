//! Handlers: discovery, registration, version resolution, bundled handlers.

pub mod actions;
mod bundled;
pub mod conform;
mod discover;
mod error;
pub mod json_schema;
pub mod lint;
pub mod origin;
mod registry;
pub mod schema;
pub mod skeleton;
mod version;

pub use crate::paths::{set_source_trees, shown_in_source, within};
pub use bundled::{BUNDLED, BUNDLED_TESTS, shown_name};
pub use discover::{Found, assign_origins, discover};
pub use error::{HandlerError, HandlerErrorKind, ResolveErrorKind};
pub use origin::{Origin, SourceOrigin};
pub use registry::{
    Compiled, Functions, Handler, HandlerRegistry, Registration, bundled_sources, check_module,
};
pub use schema::{Field, Schema};
pub use version::{ManifestVersion, Range, VersionErrorKind};
