//! ordo brings YAML manifests to their desired state, with handlers written in Rhai.
//!
//! The crate is a pipeline, one module per stage:
//!
//! - [`cli`]: arguments → checked configuration
//! - [`project`]: the project root, `ordo.yaml`, where the state lives
//! - [`manifest`]: YAML files → documents with source locations → manifests
//! - [`inventory`]: the hosts of `kind: Inventory` documents and `-i` files, host patterns
//! - [`handler`]: handler discovery, registration, version resolution, bundled handlers
//! - [`script`] and [`stdlib`]: the sandboxed Rhai engine and what handlers may call
//! - [`planner`]: the dependency graph, cycle reports, the ordered plan
//! - [`exec`]: the runner, statuses, events, variables
//! - [`state`]: the state file, its journal and lock, persisted variables
//! - [`target`]: where a handler acts; today the OpenSSH transport to remote hosts
//! - [`report`]: diagnostics and events rendered for humans and machines
//!
//! [`input`] reads input files and walks directories for every stage that needs it.
//!
//! [`run`] drives them and turns the outcome into an exit code.

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
pub mod state;
pub mod stdlib;
pub mod target;
pub mod units;

pub use error::Error;
pub use run::run;
