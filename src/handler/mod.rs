//! Handlers: discovery, registration, version resolution, bundled handlers.

pub mod actions;
mod bundled;
mod discover;
mod error;
pub mod lint;
mod registry;
mod version;

pub use bundled::{BUNDLED, shown_name};
pub use discover::{Found, discover};
pub use error::{HandlerError, HandlerErrorKind, ResolveErrorKind};
pub use registry::{
    Compiled, Functions, Handler, HandlerRegistry, Registration, bundled_sources, check_module,
};
pub use version::{ManifestVersion, Range, VersionErrorKind};
