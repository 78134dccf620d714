//! Manifests and handlers from git and URLs (DESIGN.md §15), pinned by `ordo.lock`.
//!
//! An [`Address`] (`git+https://host/repo.git//dir?ref=v1`, `https://host/b.tar.gz?sha256=…`)
//! is parsed and checked before anything runs. [`Sources`] holds one project's lock and the
//! cache: [`Sources::materialize`] resolves an address — the lock first (a branch stays where
//! it was pinned until [`Sources::update`]), then the cache (trees hashed with Go's `h1:`
//! dirhash before each use), then the network — and returns a verified, read-only [`Tree`].
//! Git runs hardened ([`git`]: no hooks, no submodules, no `file://` unless allowed, refs
//! validated) and trees come out of a bare mirror through `git archive` and our own
//! extractor ([`extract`]: no `..`, absolute paths, escaping links, devices or bombs), never
//! from a working copy. What a run allows is its [`Policy`] (`--locked`, `--offline`,
//! `--frozen`, `--allow-file-sources`, `--allow-source`). Every failure is a [`SourceError`]
//! naming the source; the command line makes it exit code 3.
//!
//! Not here: which sources a project has (the project file), and how their trees become
//! manifest and handler directories (the loading commands).

mod address;
mod cache;
mod dirhash;
mod error;
pub mod extract;
pub mod git;
mod http;
mod lock;
mod policy;
mod store;

pub use address::{Address, AddressKind};
pub use dirhash::hash_tree;
pub use error::{SourceError, SourceErrorKind};
pub use lock::{LOCK_VERSION, LockEntry, LockFile};
pub use policy::Policy;
pub use store::{Listed, Moved, Pin, Sources, Tree, Verified, VerifyStatus};

/// The lock file's name, beside the project file.
pub const LOCK_FILE: &str = "ordo.lock";
