//! Manifest instances (DESIGN.md §13): a manifest with `metadata.hosts` becomes one
//! manifest per host it runs on, named `name@host`, carrying the host
//! ([`InstanceHost`]) and its spec with every `!HostVar key` replaced by that host's value.
//!
//! Done once at load, after tags are resolved and handlers are chosen (so an error in a
//! manifest is reported once, not once per host), before the graph is built over the
//! instances.

use std::sync::Arc;

use super::collect::Placement;
use super::model::{Host, Inventory};
use crate::manifest::{InstanceHost, Manifest, Node, Value, instance_name};

/// The connection settings and variables of `host`, as an instance carries them.
pub fn instance_host(host: &Host) -> InstanceHost {
    InstanceHost {
        name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        user: host.user.clone(),
        identity_file: host.identity_file.clone(),
        ssh_options: host.ssh_options.clone(),
        r#become: host.r#become,
        become_user: host.become_user.clone(),
        fs_root: host.fs_root.clone(),
        groups: host.groups.clone(),
        vars: host
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
    }
}

/// Replaces each manifest of `placement` by its instances, in place (document order, then
/// the hosts in inventory order), with `handlers` (manifest index → handler) following;
/// renumbers `Manifest::index`. Returns whether any manifest runs on hosts.
pub fn expand(
    manifests: &mut Vec<Manifest>,
    handlers: &mut Vec<usize>,
    inventory: &Inventory,
    placement: &Placement,
) -> bool {
    if placement.hosts.is_empty() {
        return false;
    }
    let shared: std::collections::HashMap<&str, Arc<InstanceHost>> = inventory
        .hosts
        .values()
        .map(|h| (h.name.as_str(), Arc::new(instance_host(h))))
        .collect();
    let mut out = Vec::with_capacity(manifests.len());
    let mut out_handlers = Vec::with_capacity(handlers.len());
    for (m, h) in manifests.drain(..).zip(handlers.drain(..)) {
        let Some(hosts) = placement.hosts.get(&m.name) else {
            out.push(m);
            out_handlers.push(h);
            continue;
        };
        for host in hosts.iter().filter_map(|name| shared.get(name.as_str())) {
            let mut one = m.clone();
            one.name = instance_name(&m.name, &host.name);
            substitute_host_vars(&mut one.spec, host);
            substitute_host_vars(&mut one.metadata_node, host);
            one.host = Some(Arc::clone(host));
            out.push(one);
            out_handlers.push(h);
        }
    }
    for (i, m) in out.iter_mut().enumerate() {
        m.index = i;
    }
    *manifests = out;
    *handlers = out_handlers;
    true
}

/// Every `!HostVar key` in `node` becomes the host's value (checked at load: every host
/// has it).
fn substitute_host_vars(node: &mut Node, host: &InstanceHost) {
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| substitute_host_vars(n, host)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|e| substitute_host_vars(&mut e.value, host)),
        Value::Tagged(t) if t.tag == "!HostVar" => {
            let found = t
                .node
                .as_str()
                .and_then(|key| host.vars.iter().find(|(k, _)| k == key))
                .map(|(_, v)| v.clone());
            if let Some(mut value) = found {
                value.mark = node.mark;
                *node = value;
            }
        }
        Value::Tagged(t) => substitute_host_vars(&mut t.node, host),
        _ => {}
    }
}
