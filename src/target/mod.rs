//! Where a handler acts: the controller (the machine ordo runs on) or a host reached over
//! OpenSSH (DESIGN.md §9, §13).
//!
//! The stdlib's `file::*` and `shell::run` are meant to act through the target of the
//! running call, without knowing which one it is; this stage is that layer. It sits below
//! `exec/`, beside `script/` and `stdlib/`, and reaches up into nothing: it takes plain
//! connection parameters (an inventory fills them in) and returns values and
//! [`TransportError`]s, never printing.
//!
//! Today it holds the transport, [`ssh`]: a master connection per host, commands with
//! quoted argv and a start marker that tells a connection failure (`unreachable`) from a
//! command's own exit 255, bounded sessions per host, atomic file writes in one round
//! trip, and remote process groups killed on timeout and Ctrl-C. The stdlib and the graph
//! do not use it yet (issue 17 parts 2 and 3).

mod error;
mod output;
mod quote;
mod slots;
pub mod ssh;

pub use error::TransportError;
