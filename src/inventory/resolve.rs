//! [`RawInventory`] → [`Inventory`]: the checks that need every source at once, and the
//! precedence chain.
//!
//! Checked here: names (`[A-Za-z0-9._-]+`, as manifest names, since a host becomes part of
//! `name@host`), a host or group defined twice (across documents and files: an error naming
//! both places), a group named like a host or `all`, group members that match no host and
//! children that name no group (with a "did you mean"), and cycles among children.
//!
//! Precedence, lowest first: `defaults` (Ansible `all`), then every group holding the host
//! ordered by depth (a child is deeper than its parents) and, at equal depth, by name, then
//! the host itself. A later level's setting or variable replaces an earlier one's, and each
//! variable remembers the level it came from.

use std::collections::{BTreeSet, HashMap, HashSet};

use globset::Glob;
use indexmap::IndexMap;

use super::model::{Group, Host, HostVar, Inventory, VarOrigin};
use super::pattern::is_glob;
use super::raw::{RawGroup, RawHost, RawInventory, Settings, Spot, Vars};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::manifest::valid_name;

impl RawInventory {
    /// Checks every source together and resolves each host; returns the inventory (of what
    /// could be resolved) and every input error found, reading included.
    pub fn resolve(mut self) -> (Inventory, Vec<Diagnostic>) {
        let mut errors = std::mem::take(&mut self.errors);
        let defaults = self.merged_defaults(&mut errors);

        let mut hosts: IndexMap<&str, &RawHost> = IndexMap::new();
        for h in &self.hosts {
            if !valid_name(&h.name) {
                errors.push(invalid_name("host", &h.name, &h.at));
                continue;
            }
            match hosts.get(h.name.as_str()) {
                Some(first) => errors.push(
                    Diagnostic::error(format!("host `{}` is defined twice", h.name))
                        .at(h.at.clone())
                        .related(first.at.clone(), "first defined here"),
                ),
                None => {
                    hosts.insert(&h.name, h);
                }
            }
        }
        let mut groups: IndexMap<&str, &RawGroup> = IndexMap::new();
        for g in &self.groups {
            if !valid_name(&g.name) {
                errors.push(invalid_name("group", &g.name, &g.at));
            } else if g.name == "all" {
                errors.push(
                    Diagnostic::error("a group cannot be named `all`: `all` means every host")
                        .at(g.at.clone()),
                );
            } else if let Some(host) = hosts.get(g.name.as_str()) {
                errors.push(
                    Diagnostic::error(format!(
                        "`{}` is both a host and a group; a host pattern could not tell them apart",
                        g.name
                    ))
                    .at(g.at.clone())
                    .related(host.at.clone(), "the host is defined here"),
                );
            } else if let Some(first) = groups.get(g.name.as_str()) {
                errors.push(
                    Diagnostic::error(format!("group `{}` is defined twice", g.name))
                        .at(g.at.clone())
                        .related(first.at.clone(), "first defined here"),
                );
            } else {
                groups.insert(&g.name, g);
            }
        }

        // Direct members and children, checked.
        let host_names: Vec<&str> = hosts.keys().copied().collect();
        let group_names: Vec<&str> = groups.keys().copied().collect();
        let mut direct: HashMap<&str, BTreeSet<usize>> = HashMap::new();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for (name, g) in &groups {
            let members = direct.entry(name).or_default();
            for p in &g.hosts {
                match members_of(&p.value, &host_names) {
                    Ok(found) if !found.is_empty() => members.extend(found),
                    Ok(_) => {
                        let hint = did_you_mean(&p.value, host_names.iter().copied())
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        errors.push(
                            Diagnostic::error(format!(
                                "group `{name}` lists `{}`, which matches no host{hint}",
                                p.value
                            ))
                            .at(p.at.clone())
                            .help("a group's `hosts` are names or globs of hosts defined under `hosts`; list groups under `children`"),
                        );
                    }
                    Err(e) => errors.push(
                        Diagnostic::error(format!("invalid glob `{}`: {e}", p.value))
                            .at(p.at.clone()),
                    ),
                }
            }
            let kids = children.entry(name).or_default();
            for c in &g.children {
                if let Some((child, _)) = groups.get_key_value(c.value.as_str()) {
                    kids.push(*child);
                } else {
                    let hint = did_you_mean(&c.value, group_names.iter().copied())
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    errors.push(
                        Diagnostic::error(format!(
                            "group `{name}` has unknown child group `{}`{hint}",
                            c.value
                        ))
                        .at(c.at.clone()),
                    );
                }
            }
        }
        break_cycles(&groups, &mut children, &mut errors);

        // Depth (1 + the deepest parent's) and every member, through children.
        let mut parents: HashMap<&str, Vec<&str>> = HashMap::new();
        for (g, kids) in &children {
            for k in kids {
                parents.entry(k).or_default().push(g);
            }
        }
        let mut depths: HashMap<&str, usize> = HashMap::new();
        let mut all_members: HashMap<&str, BTreeSet<usize>> = HashMap::new();
        for name in &group_names {
            depth(name, &parents, &mut depths);
            members(name, &children, &direct, &mut all_members);
        }

        let mut inventory = Inventory::default();
        for name in &group_names {
            let Some(g) = groups.get(name) else { continue };
            inventory.groups.insert(
                (*name).to_string(),
                Group {
                    name: (*name).to_string(),
                    hosts: all_members
                        .get(name)
                        .map(|m| {
                            m.iter()
                                .filter_map(|&i| host_names.get(i).map(|h| (*h).to_string()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    children: children
                        .get(name)
                        .map(|c| c.iter().map(|c| (*c).to_string()).collect())
                        .unwrap_or_default(),
                    depth: depths.get(name).copied().unwrap_or(1),
                    location: g.at.clone(),
                },
            );
        }
        for (index, (name, raw)) in hosts.iter().enumerate() {
            let mut holding: Vec<(usize, &str)> = group_names
                .iter()
                .filter(|g| all_members.get(*g).is_some_and(|m| m.contains(&index)))
                .map(|g| (depths.get(g).copied().unwrap_or(1), *g))
                .collect();
            holding.sort();
            let mut settings = defaults.settings.clone();
            let mut vars: IndexMap<String, HostVar> = IndexMap::new();
            lay(&mut vars, &defaults.vars, &VarOrigin::Defaults);
            for (_, g) in &holding {
                if let Some(group) = groups.get(g) {
                    settings.overlay(&group.settings);
                    lay(&mut vars, &group.vars, &VarOrigin::Group((*g).to_string()));
                }
            }
            settings.overlay(&raw.settings);
            lay(&mut vars, &raw.vars, &VarOrigin::Host);
            vars.sort_keys();
            let mut group_list: Vec<String> =
                holding.iter().map(|(_, g)| (*g).to_string()).collect();
            group_list.sort();
            inventory.hosts.insert(
                (*name).to_string(),
                host(name, raw, settings, vars, group_list),
            );
        }
        (inventory, errors)
    }
}

fn host(
    name: &str,
    raw: &RawHost,
    s: Settings,
    vars: IndexMap<String, HostVar>,
    groups: Vec<String>,
) -> Host {
    let value = |o: Option<Spot<String>>| o.map(|s| s.value);
    Host {
        name: name.to_string(),
        address: s.address.map_or_else(|| name.to_string(), |a| a.value),
        port: s.port.map(|p| p.value),
        user: value(s.user),
        identity_file: value(s.identity_file),
        ssh_options: s.ssh_options.map(|o| o.value).unwrap_or_default(),
        r#become: s.r#become.is_some_and(|b| b.value),
        become_user: value(s.become_user),
        fs_root: value(s.fs_root),
        vars,
        groups,
        location: raw.at.clone(),
    }
}

/// Lays one level's variables over `vars`.
fn lay(vars: &mut IndexMap<String, HostVar>, level: &Vars, origin: &VarOrigin) {
    for (name, v) in level {
        vars.insert(
            name.clone(),
            HostVar {
                value: v.value.clone(),
                origin: origin.clone(),
                location: v.at.clone(),
            },
        );
    }
}

fn invalid_name(what: &str, name: &str, at: &crate::manifest::Location) -> Diagnostic {
    Diagnostic::error(format!("invalid {what} name `{name}`"))
        .at(at.clone())
        .help("names use only letters, digits, `.`, `_` and `-` (ranges such as `web[1:3]` are not expanded: list the hosts)")
}

/// The indexes of the hosts a group member entry (a name or a glob) matches.
fn members_of(pattern: &str, hosts: &[&str]) -> Result<Vec<usize>, globset::Error> {
    if is_glob(pattern) {
        let glob = Glob::new(pattern)?.compile_matcher();
        Ok(hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| glob.is_match(h))
            .map(|(i, _)| i)
            .collect())
    } else {
        Ok(hosts
            .iter()
            .position(|h| *h == pattern)
            .into_iter()
            .collect())
    }
}

/// Reports each cycle among children once, at the child entry that closes it, and drops
/// that edge so depths and members stay finite.
fn break_cycles<'a>(
    groups: &IndexMap<&'a str, &RawGroup>,
    children: &mut HashMap<&'a str, Vec<&'a str>>,
    errors: &mut Vec<Diagnostic>,
) {
    fn visit<'a>(
        g: &'a str,
        children: &mut HashMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut HashSet<&'a str>,
        closing: &mut Vec<(Vec<&'a str>, &'a str, &'a str)>,
    ) {
        if done.contains(g) {
            return;
        }
        path.push(g);
        let kids = children.get(g).cloned().unwrap_or_default();
        for k in kids {
            if let Some(start) = path.iter().position(|p| *p == k) {
                let mut circle: Vec<&str> = path.iter().skip(start).copied().collect();
                circle.push(k);
                closing.push((circle, g, k));
                if let Some(list) = children.get_mut(g) {
                    list.retain(|c| *c != k);
                }
            } else {
                visit(k, children, path, done, closing);
            }
        }
        path.pop();
        done.insert(g);
    }
    let mut done = HashSet::new();
    let mut closing = Vec::new();
    for g in groups.keys() {
        visit(g, children, &mut Vec::new(), &mut done, &mut closing);
    }
    for (circle, parent, child) in closing {
        let at = groups
            .get(parent)
            .and_then(|g| g.children.iter().find(|c| c.value == child))
            .map(|c| c.at.clone());
        errors.push(
            Diagnostic::error(format!(
                "groups form a cycle through `children`: {}",
                circle.join(" -> ")
            ))
            .at_opt(at),
        );
    }
}

fn depth<'a>(
    g: &'a str,
    parents: &HashMap<&'a str, Vec<&'a str>>,
    memo: &mut HashMap<&'a str, usize>,
) -> usize {
    if let Some(d) = memo.get(g) {
        return *d;
    }
    // Cycles are broken before this runs; the guard keeps a missed one finite all the same.
    memo.insert(g, 1);
    let d = 1 + parents
        .get(g)
        .map(|ps| {
            ps.iter()
                .map(|p| depth(p, parents, memo))
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    memo.insert(g, d);
    d
}

fn members<'a>(
    g: &'a str,
    children: &HashMap<&'a str, Vec<&'a str>>,
    direct: &HashMap<&'a str, BTreeSet<usize>>,
    memo: &mut HashMap<&'a str, BTreeSet<usize>>,
) -> BTreeSet<usize> {
    if let Some(m) = memo.get(g) {
        return m.clone();
    }
    memo.insert(g, BTreeSet::new());
    let mut all = direct.get(g).cloned().unwrap_or_default();
    for k in children.get(g).into_iter().flatten() {
        all.extend(members(k, children, direct, memo));
    }
    memo.insert(g, all.clone());
    all
}
