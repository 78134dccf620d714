//! The resolved inventory: [`Inventory`], its [`Host`]s and [`Group`]s, as the rest of ordo
//! (the SSH transport, `ordo hosts`, host patterns) reads them. Nothing here is unresolved:
//! every setting has its final value and every variable its origin.

use indexmap::IndexMap;

use crate::manifest::{Location, Node, Value};

/// Every host and group of the run, in definition order (documents in load order, `-i` files
/// after them).
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
}

impl Inventory {
    /// Whether the run has no host at all.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

/// One host, resolved: its connection settings (after `defaults` and groups) and variables.
#[derive(Clone, Debug)]
pub struct Host {
    /// The inventory name, `[A-Za-z0-9._-]+`: what patterns, reports and `name@host` use.
    pub name: String,
    /// What `ssh` connects to: `address`, or `ansible_host`; the name when neither is given.
    pub address: String,
    /// `ssh -p`; `None`: ssh's own default (its config, else 22).
    pub port: Option<u16>,
    /// `ssh -l`; `None`: ssh's own default.
    pub user: Option<String>,
    /// `ssh -i`, as written (relative paths are the user's business, as with ssh).
    pub identity_file: Option<String>,
    /// Arguments given to `ssh` before the host, e.g. `["-o", "ProxyJump=bastion"]`.
    pub ssh_options: Vec<String>,
    /// Whether commands run through `sudo -n` by default.
    pub r#become: bool,
    /// The user `sudo -u` switches to; `None`: root.
    pub become_user: Option<String>,
    /// The directory remote paths are confined to; `None`: not confined.
    pub fs_root: Option<String>,
    /// Host variables, resolved, each with where it came from; in name order.
    pub vars: IndexMap<String, HostVar>,
    /// Every group holding the host, directly or through a child group, in name order.
    pub groups: Vec<String>,
    /// Where the host is defined.
    pub location: Location,
}

/// One host variable's value and where it came from.
#[derive(Clone, Debug)]
pub struct HostVar {
    pub value: Node,
    pub origin: VarOrigin,
    /// Where the winning definition is written.
    pub location: Location,
}

/// Which level of the precedence chain a host variable comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarOrigin {
    /// The host's own `vars` (Ansible: the host's entry).
    Host,
    /// A group's `vars`.
    Group(String),
    /// `defaults.vars` (Ansible: `all.vars`).
    Defaults,
}

impl std::fmt::Display for VarOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarOrigin::Host => f.write_str("host"),
            VarOrigin::Group(g) => write!(f, "group {g}"),
            VarOrigin::Defaults => f.write_str("defaults"),
        }
    }
}

/// One group: its members and children, resolved.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    /// Every host in the group, directly or through a child group, in inventory order.
    pub hosts: Vec<String>,
    /// The groups listed under `children`.
    pub children: Vec<String>,
    /// 1 for a group no other group lists as a child; a child is one deeper than its
    /// deepest parent.
    pub depth: usize,
    pub location: Location,
}

/// A node as JSON data, for `ordo hosts -o json` (a tag is kept as `{tag, value}`, as
/// handlers see unknown tags).
pub fn node_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(node_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), node_json(&e.value)))
                .collect(),
        ),
        Value::Tagged(t) => serde_json::json!({"tag": t.tag, "value": node_json(&t.node)}),
    }
}
