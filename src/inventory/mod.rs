//! The inventory (DESIGN.md §13): the hosts ordo may reach, their groups, connection settings
//! and host variables.
//!
//! Inventories come from `kind: Inventory` documents among the manifests and from `-i FILE`
//! (native documents or an Ansible YAML inventory). [`collect`] reads them all into one
//! [`RawInventory`] of definitions as written (with where), [`RawInventory::resolve`] checks it
//! (duplicates across documents, unknown hosts and groups, group cycles) and resolves each
//! host's settings and variables along one precedence chain: host over child group over parent
//! group over `defaults` (Ansible's `all`), groups of equal depth in name order, remembering
//! where each variable came from. [`select_hosts`] is the one meaning of a host pattern
//! (`metadata.hosts`, `--limit`, `ordo hosts --limit`).
//!
//! This module only describes hosts: nothing here connects to one (that is `target/`); the
//! loader turns a manifest with hosts into one instance per host ([`check_manifests`] says
//! which).

mod ansible;
mod collect;
mod instances;
mod model;
mod native;
mod pattern;
mod raw;
mod resolve;

pub use collect::{INVENTORY_KIND, Placement, check_manifests, collect, limit_patterns};
pub use instances::{expand, instance_host};
pub use model::{Group, Host, HostVar, Inventory, VarOrigin, node_json};
pub use pattern::{Pattern, select_hosts};
pub use raw::RawInventory;
