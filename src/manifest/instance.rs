//! [`InstanceHost`]: the host a manifest instance runs on (DESIGN.md §13), as the manifest
//! carries it through the plan, the runner and the state.
//!
//! A manifest with `metadata.hosts` becomes one manifest per selected host, named
//! `name@host`. Each carries the host's connection settings and variables as plain values
//! (filled in from the inventory by the loader), so the stages below need not know the
//! inventory, and a state entry can still reach a host removed from it (`--prune`).

use std::sync::Arc;

use super::node::Node;

/// The separator between a manifest's name and its host in an instance name (`web@h1`).
/// Manifest names cannot hold it (`[A-Za-z0-9._-]+`), so the split is never ambiguous.
pub const HOST_SEPARATOR: char = '@';

/// One inventory host as an instance needs it: connection settings, `become`, and what
/// `m.host` shows (`#{ name, address, groups, vars }`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceHost {
    pub name: String,
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_file: Option<String>,
    pub ssh_options: Vec<String>,
    pub r#become: bool,
    pub become_user: Option<String>,
    pub fs_root: Option<String>,
    /// Every group holding the host, in name order.
    pub groups: Vec<String>,
    /// Host variables, resolved, in name order.
    pub vars: Vec<(String, Node)>,
}

/// `name@host`.
pub fn instance_name(name: &str, host: &str) -> String {
    format!("{name}{HOST_SEPARATOR}{host}")
}

/// The manifest name and the host of an instance name; `(name, None)` for a manifest that
/// runs on the controller.
pub fn split_instance(name: &str) -> (&str, Option<&str>) {
    match name.split_once(HOST_SEPARATOR) {
        Some((m, h)) => (m, Some(h)),
        None => (name, None),
    }
}

/// Shared between the instances of every manifest on one host.
pub type SharedHost = Arc<InstanceHost>;
