//! Where a handler acts: the controller (the machine ordo runs on) or a host reached over
//! OpenSSH (DESIGN.md §9, §13).
//!
//! The stdlib's `file::*` and `shell::run` act through the target of the running call
//! (`CallContext::target`), without knowing which one it is; this stage is that layer. It sits below
//! `exec/`, beside `script/` and `stdlib/`, and reaches up into nothing: it takes plain
//! connection parameters (an inventory fills them in) and returns values and
//! [`TransportError`]s, never printing.
//!
//! - [`ssh`], the transport: a master connection per host, commands with quoted argv and
//!   a start marker that tells a connection failure (`unreachable`) from a command's own
//!   exit 255, bounded sessions per host, and remote process groups killed on timeout and
//!   Ctrl-C;
//! - [`fs`], the file operations of `file::*` on a host, each one small `sh` script in one
//!   round trip, confined beneath the host's `fsRoot` when it has one;
//! - [`exec`], `shell::run` on a host, `become` through `sudo -n`;
//! - [`facts`], `host::facts()`.
//!
//! On the controller the stdlib acts itself (`stdlib/file.rs`, `stdlib/shell.rs`, with
//! `--fs-root` enforced by `stdlib/beneath.rs`): that code needs the run's policy and
//! script errors, which live above this stage.

mod error;
pub mod exec;
pub mod facts;
pub mod fs;
mod output;
mod quote;
mod slots;
pub mod ssh;
mod worker;

use std::sync::Arc;

pub use error::TransportError;

/// Where a handler call acts (DESIGN §13): set by the runner on each call's
/// [`CallContext`](crate::script::CallContext), read by the stdlib's `file::*` and
/// `shell::run`, which act through it without knowing which one it is.
#[derive(Clone, Debug, Default)]
pub enum Target {
    /// The controller: the machine ordo runs on.
    #[default]
    Local,
    /// A host of the inventory, over the run's master connection to it.
    Remote(Arc<RemoteHost>),
}

/// One inventory host as the stdlib needs it: its connection and how commands run there.
#[derive(Debug)]
pub struct RemoteHost {
    /// The inventory name (`web-1`): what messages, `name@host` and the report use.
    pub name: String,
    /// The run's master connection to the host, shared by every call on it; it connects on
    /// first use.
    pub connection: Arc<ssh::Connection>,
    /// Whether commands run through `sudo -n` unless a call says otherwise.
    pub r#become: bool,
    /// The user `sudo -u` switches to; `None`: root.
    pub become_user: Option<String>,
    /// The directory remote paths are confined to (the inventory's `fsRoot`); `None`: not
    /// confined.
    pub fs_root: Option<String>,
}

impl Target {
    /// The host, when the call acts on one.
    #[must_use]
    pub fn host(&self) -> Option<&RemoteHost> {
        match self {
            Target::Local => None,
            Target::Remote(h) => Some(h),
        }
    }
}
