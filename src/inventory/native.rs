//! Native inventories: the `spec` of a `kind: Inventory` document (version `v1`), with
//! `defaults`, `hosts` and `groups`:
//!
//! ```yaml
//! kind: Inventory
//! version: v1
//! metadata: {name: lab}
//! spec:
//!   defaults: {user: deploy}
//!   hosts:
//!     web-1: {address: 10.1.0.5, vars: {root: /srv/www}}
//!   groups:
//!     web: {hosts: ["web-*"], children: [], vars: {http_port: 80}}
//! ```

use super::raw::{HOST_KEYS, RawDefaults, RawGroup, RawHost, RawInventory, Reader, Settings, Vars};
use crate::manifest::{Manifest, Node, Value};

const SPEC_KEYS: &[&str] = &["defaults", "hosts", "groups"];
const GROUP_KEYS: &[&str] = &["hosts", "children", "vars"];

/// Reads one `kind: Inventory` manifest into `raw`.
pub(super) fn read(m: &Manifest, raw: &mut RawInventory) {
    let mut r = Reader {
        file: &m.file,
        errors: &mut raw.errors,
    };
    if m.version != "v1" {
        r.error_help(
            m.version_mark,
            m.version.chars().count(),
            format!("`kind: Inventory` has no version `{}`", m.version),
            Some("the only version is `v1`".into()),
        );
        return;
    }
    let spec = &m.spec;
    if !matches!(spec.value, Value::Map(_)) {
        r.wrong_type(spec, "spec", "a mapping");
        return;
    }
    r.unknown_keys(spec, SPEC_KEYS, "the spec of `Inventory`");
    if let Some(d) = spec.get("defaults") {
        let (settings, vars) = host_body(&mut r, d, "`defaults`");
        raw.defaults.push(RawDefaults { settings, vars });
    }
    if let Some(hosts) = spec.get("hosts") {
        for e in r.entries(hosts, "spec.hosts") {
            let (settings, vars) = host_body(&mut r, &e.value, "a host");
            raw.hosts.push(RawHost {
                name: e.key.clone(),
                at: r.at(e.key_mark).with_width(e.key.chars().count()),
                settings,
                vars,
            });
        }
    }
    if let Some(groups) = spec.get("groups") {
        for e in r.entries(groups, "spec.groups") {
            let g = &e.value;
            if !matches!(g.value, Value::Map(_) | Value::Null) {
                r.wrong_type(
                    g,
                    "spec.groups.*",
                    "a mapping with `hosts`, `children`, `vars`",
                );
                continue;
            }
            r.unknown_keys(g, GROUP_KEYS, "a group");
            let mut vars = Vars::new();
            if let Some(v) = g.get("vars") {
                r.vars(v, "vars", &mut vars);
            }
            raw.groups.push(RawGroup {
                name: e.key.clone(),
                at: r.at(e.key_mark).with_width(e.key.chars().count()),
                hosts: g
                    .get("hosts")
                    .map(|n| r.strings(n, "hosts"))
                    .unwrap_or_default(),
                children: g
                    .get("children")
                    .map(|n| r.strings(n, "children"))
                    .unwrap_or_default(),
                settings: Settings::default(),
                vars,
            });
        }
    }
}

/// The keys of a host or of `defaults`: connection settings and `vars`.
fn host_body(r: &mut Reader<'_>, node: &Node, section: &str) -> (Settings, Vars) {
    let mut settings = Settings::default();
    let mut vars = Vars::new();
    if !matches!(node.value, Value::Map(_) | Value::Null) {
        r.wrong_type(node, section.trim_matches('`'), "a mapping of host keys");
        return (settings, vars);
    }
    r.unknown_keys(node, HOST_KEYS, section);
    for e in r.entries(node, section) {
        if e.key == "vars" {
            r.vars(&e.value, "vars", &mut vars);
        } else {
            r.setting(&mut settings, &e.key, &e.value);
        }
    }
    (settings, vars)
}
