//! ordo brings YAML manifests to their desired state, with handlers written in Rhai.
//!
//! The crate is a pipeline, one module per stage:
//!
//! - [`cli`]: arguments → checked configuration
//! - [`project`]: the project root, `ordo.yaml`, where the state lives
//! - [`sources`]: manifests and handlers from git and URLs, the cache, `ordo.lock`
//! - [`manifest`]: YAML files → documents with source locations → manifests
//! - [`inventory`]: the hosts of `kind: Inventory` documents and `-i` files, host patterns
//! - [`handler`]: handler discovery, registration, version resolution, bundled handlers
//! - [`script`] and [`stdlib`]: the sandboxed Rhai engine, the call context with the
//!   permissions it checks, and what handlers may call
//! - [`planner`]: the dependency graph, cycle reports, the ordered plan
//! - [`exec`]: the runner, the handler call
//! - [`events`]: what a run tells the outside world (events, statuses, diffs), secrets masked
//! - [`state`]: the state file, its journal and lock, persisted variables
//! - [`target`]: where a handler acts; today the OpenSSH transport to remote hosts
//! - [`report`]: diagnostics and events rendered for humans and machines
//! - [`testing`]: `ordo test`, handler tests with a mocked standard library
//! - [`watch`]: `ordo watch`, the reconcile loop (triggers, backoff, drift policy) and its
//!   HTTP endpoints
//!
//! [`input`] reads input files and walks directories for every stage that needs it;
//! [`source`], [`diagnostic`], [`error`], [`paths`], [`units`] and [`digest`] are small
//! leaves every stage shares.
//!
//! [`run`] drives them and turns the outcome into an exit code.
//!
//! # Layering
//!
//! Data flows one way: manifest → handler → planner → exec, with script, stdlib and target
//! below exec, and exec's output rendered by report and kept by state. The layers, from
//! the top: a module imports only modules of the rows below its own, never one of its own
//! row or a row above (layer 1 reaches everything; the leaves reach only lower leaves):
//!
//! | layer | modules                                                      |
//! |-------|--------------------------------------------------------------|
//! | 1     | `run`, the driver                                            |
//! | 2     | `testing`, `watch`                                           |
//! | 3     | `cli`, `report`, `state`                                     |
//! | 4     | `exec`                                                       |
//! | 5     | `planner`                                                    |
//! | 6     | `handler`                                                    |
//! | 7     | `stdlib`                                                     |
//! | 8     | `script`                                                     |
//! | 9     | `target`                                                     |
//! | 10    | `events`                                                     |
//! | 11    | `inventory`, `project`                                       |
//! | 12    | `sources`                                                    |
//! | 13    | `manifest`                                                   |
//! | 14–17 | leaves: `error`; `diagnostic`, `digest`, `input`, `units`; `source`; `paths` |
//!
//! So the stdlib is built on the script stage (the call context, the permission types,
//! the variables) and never the reverse: `script` builds the sandbox and
//! [`stdlib::engine`] adds the native modules to it. What a lower stage needs from a
//! higher one moves down to the lowest stage that needs it (`split_name` and
//! `node_to_dynamic` to `manifest`, events and secrets to `events`); the old paths are
//! re-exported so callers keep reading well. `tests/layering.rs` holds the same table
//! and fails naming `file:line` for any import that reaches up or sideways.

pub mod cli;
pub mod diagnostic;
pub mod digest;
pub mod error;
pub mod events;
pub mod exec;
pub mod handler;
pub mod input;
pub mod inventory;
pub mod manifest;
pub mod paths;
pub mod planner;
pub mod project;
pub mod report;
mod run;
pub mod script;
pub mod source;
pub mod sources;
pub mod state;
pub mod stdlib;
pub mod target;
pub mod testing;
pub mod units;
pub mod watch;

pub use error::Error;
pub use run::run;
