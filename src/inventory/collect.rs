//! Where inventories come from, and what the rest of a run must respect about them.
//!
//! [`collect`] takes the `kind: Inventory` documents out of the loaded manifests (as values
//! collection takes `kind: Values` out: they are data, no handler serves them) and reads the
//! `-i` files, native or Ansible. [`check_manifests`] checks `metadata.hosts`, `--limit` and
//! `!HostVar` against the resolved inventory and says which hosts each manifest runs on
//! (its [`Placement`]); the loader makes one instance per host of it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::model::Inventory;
use super::pattern::{Pattern, select_hosts};
use super::raw::RawInventory;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::manifest::{
    Limits, Loaded, Location, Manifest, ManifestError, ManifestErrorKind, Mark, Node, SourceFile,
    Value, load_source, metadata_environments, parse_stream,
};

/// The kind of the manifests that hold an inventory.
pub const INVENTORY_KIND: &str = "Inventory";

/// Largest inventory file ordo reads, as for manifest files.
const MAX_FILE_BYTES: u64 = 256 << 20;

/// Takes the `kind: Inventory` documents out of `manifests` (those of environment `env`
/// count) and reads the `-i` `files`; every problem is in the result's `errors`.
pub fn collect(manifests: &mut Vec<Manifest>, files: &[PathBuf], env: &str) -> RawInventory {
    let mut raw = RawInventory::default();
    let mut kept = Vec::with_capacity(manifests.len());
    for m in manifests.drain(..) {
        if m.kind != INVENTORY_KIND {
            kept.push(m);
            continue;
        }
        if m.metadata.in_environment(env) {
            super::native::read(&m, &mut raw);
        }
    }
    for (i, m) in kept.iter_mut().enumerate() {
        m.index = i;
    }
    *manifests = kept;
    for path in files {
        read_file(path, env, &mut raw);
    }
    // Readers put warnings among the errors, in file order; they stop nothing.
    let (warnings, errors) = std::mem::take(&mut raw.errors)
        .into_iter()
        .partition(|d| d.severity == crate::diagnostic::Severity::Warning);
    raw.errors = errors;
    raw.warnings = warnings;
    raw
}

/// One `-i` file: `kind: Inventory` documents, or an Ansible YAML inventory (documents
/// without `kind`).
fn read_file(path: &std::path::Path, env: &str, raw: &mut RawInventory) {
    let shown = path.display().to_string();
    let text = match crate::input::read_text_bounded(path, MAX_FILE_BYTES) {
        Ok(t) if t.len() as u64 > MAX_FILE_BYTES => {
            raw.errors.push(Diagnostic::error(format!(
                "-i {shown}: the file is larger than the limit of {} MiB",
                MAX_FILE_BYTES >> 20
            )));
            return;
        }
        Ok(t) => t,
        Err(e) => {
            raw.errors.push(Diagnostic::error(format!(
                "-i {shown}: cannot read it: {e}"
            )));
            return;
        }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    let ini = path.extension().is_some_and(|e| e == "ini");
    let file = SourceFile::new(shown, dir, text);
    let stream = parse_stream(file.text(), &Limits::default());
    let not_yaml = stream.error.is_some()
        || stream
            .documents
            .iter()
            .any(|d| matches!(d.root.value, Value::String(_)));
    if ini || (not_yaml && looks_like_ini(file.text())) {
        let name = path.display();
        let yaml = path.with_extension("yaml");
        raw.errors.push(
            Diagnostic::error("this looks like an INI inventory; ordo reads only YAML inventories")
                .at(Location::new(&file, Mark::new(1, 1)))
                .help(format!(
                    "convert it: `ansible-inventory -i {name} --list -y > {}`, then pass `-i {}`",
                    yaml.display(),
                    yaml.display()
                )),
        );
        return;
    }
    if let Some(e) = stream.error {
        raw.errors.push(Diagnostic::from(ManifestError {
            location: Location::new(&file, e.mark),
            kind: ManifestErrorKind::Yaml(e.kind),
        }));
        return;
    }
    if stream.documents.is_empty() {
        raw.errors.push(
            Diagnostic::error("this inventory file holds no hosts")
                .at(Location::new(&file, Mark::new(1, 1)))
                .help("write `kind: Inventory` documents, or an Ansible YAML inventory (`all:` with `hosts`)"),
        );
        return;
    }
    if stream
        .documents
        .iter()
        .any(|d| d.root.get("kind").is_some())
    {
        native_file(&file, env, raw);
    } else {
        let roots: Vec<Node> = stream.documents.into_iter().map(|d| d.root).collect();
        super::ansible::read(&file, &roots, raw);
    }
}

/// Whether `text`, which is not a YAML inventory, has the shape of an Ansible INI one: a
/// `[group]` header or a `host key=value` line.
fn looks_like_ini(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .any(|l| (l.starts_with('[') && l.ends_with(']')) || (l.contains('=') && !l.contains(": ")))
}

/// A `-i` file of `kind: Inventory` documents, checked as manifests are.
fn native_file(file: &Arc<SourceFile>, env: &str, raw: &mut RawInventory) {
    let mut loaded = Loaded::default();
    load_source(file, &Limits::default(), &mut loaded);
    raw.errors
        .extend(loaded.errors.into_iter().map(Diagnostic::from));
    for m in &loaded.manifests {
        if m.kind != INVENTORY_KIND {
            raw.errors.push(
                Diagnostic::error(format!(
                    "an inventory file holds `kind: Inventory` documents (or an Ansible YAML inventory), not `kind: {}`",
                    m.kind
                ))
                .at(m.at(m.kind_mark).with_width(m.kind.chars().count()))
                .help("give manifests with `-m`"),
            );
            continue;
        }
        metadata_environments(&m.file, &m.metadata_node, &mut raw.environments);
        if m.metadata.in_environment(env) {
            super::native::read(m, raw);
        }
    }
}

/// `--limit` arguments as patterns: each may hold several, separated by commas.
pub fn limit_patterns(limit: &[String]) -> Vec<Pattern> {
    limit
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Pattern {
            text: p.to_string(),
            at: None,
            source: "--limit",
        })
        .collect()
}

/// Where each manifest with `metadata.hosts` runs: its hosts under `--limit` (the
/// instances of this run) and without it (what the state may record).
#[derive(Debug, Default)]
pub struct Placement {
    /// Manifest name → the hosts it runs on in this run, in inventory order.
    pub hosts: std::collections::HashMap<String, Vec<String>>,
    /// Manifest name → every host its patterns select, whatever `--limit` says: an instance
    /// outside the limit is not in this run, but not gone from the files either.
    pub all_hosts: std::collections::HashMap<String, Vec<String>>,
}

/// Checks `--limit`, every `metadata.hosts` and every `!HostVar` of the manifests of `env`
/// against the inventory, and says where each manifest with hosts runs.
pub fn check_manifests(
    inventory: &Inventory,
    manifests: &[Manifest],
    env: &str,
    limit: &[Pattern],
) -> (Vec<Diagnostic>, Placement) {
    let mut errors = Vec::new();
    let mut placement = Placement::default();
    let limited: Option<BTreeSet<String>> = if limit.is_empty() {
        None
    } else {
        match select_hosts(inventory, limit) {
            Ok(hosts) => Some(hosts.into_iter().collect()),
            Err(e) => {
                errors.extend(e);
                None
            }
        }
    };
    for m in manifests.iter().filter(|m| m.metadata.in_environment(env)) {
        let hosts_entry = m.metadata_node.entry("hosts");
        let selected = match (&m.metadata.hosts, hosts_entry) {
            // A list whose every item was refused already said why.
            (Some(list), Some(entry))
                if list.is_empty()
                    && matches!(&entry.value.value, Value::Seq(items) if !items.is_empty()) =>
            {
                None
            }
            (Some(list), Some(entry)) if list.is_empty() => {
                errors.push(
                    Diagnostic::error(format!(
                        "manifest `{}`: `metadata.hosts` lists no host pattern",
                        m.name
                    ))
                    .at(m.at(entry.value.mark))
                    .help("name hosts, groups or globs, or remove `metadata.hosts` to run the manifest on this machine"),
                );
                None
            }
            (Some(list), Some(_)) => {
                let patterns: Vec<Pattern> = list
                    .iter()
                    .map(|r| Pattern {
                        text: r.name.clone(),
                        at: Some(m.at(r.mark)),
                        source: "metadata.hosts",
                    })
                    .collect();
                match select_hosts(inventory, &patterns) {
                    Ok(hosts) => {
                        let run: Vec<String> = hosts
                            .iter()
                            .filter(|h| limited.as_ref().is_none_or(|l| l.contains(*h)))
                            .cloned()
                            .collect();
                        placement.all_hosts.insert(m.name.clone(), hosts);
                        placement.hosts.insert(m.name.clone(), run.clone());
                        Some(run)
                    }
                    Err(e) => {
                        errors.extend(e);
                        None
                    }
                }
            }
            _ => None,
        };
        host_vars(inventory, m, selected.as_deref(), &mut errors);
    }
    (errors, placement)
}

/// Every `!HostVar key` of a manifest: a key (a string) that each selected host defines.
/// Without `metadata.hosts` there is no host to read it from.
fn host_vars(
    inventory: &Inventory,
    m: &Manifest,
    selected: Option<&[String]>,
    errors: &mut Vec<Diagnostic>,
) {
    let mut found: Vec<(Node, Mark)> = Vec::new();
    for node in [&m.spec, &m.metadata_node] {
        let _ = node.try_walk(&mut |n: &Node| {
            if let Value::Tagged(t) = &n.value
                && t.tag == "!HostVar"
            {
                found.push((t.node.clone(), n.mark));
            }
            Ok::<(), ()>(())
        });
    }
    for (arg, mark) in found {
        let at = m.at(mark).with_width("!HostVar".len());
        let Some(key) = arg.as_str().filter(|k| !k.is_empty()) else {
            errors.push(
                Diagnostic::error(format!(
                    "`!HostVar` takes a host variable name, not {}",
                    arg.type_name()
                ))
                .at(at),
            );
            continue;
        };
        if m.metadata.hosts.is_none() {
            errors.push(
                Diagnostic::error(format!(
                    "`!HostVar {key}` in manifest `{}`, which has no `metadata.hosts`: host variables exist only for a manifest run on hosts",
                    m.name
                ))
                .at(at)
                .help("add `metadata.hosts`, or use `!Value` for a setting of this machine's run"),
            );
            continue;
        }
        let Some(hosts) = selected else { continue };
        let lacking: Vec<&String> = hosts
            .iter()
            .filter(|h| {
                inventory
                    .hosts
                    .get(h.as_str())
                    .is_none_or(|host| !host.vars.contains_key(key))
            })
            .collect();
        if lacking.is_empty() {
            continue;
        }
        let known: BTreeSet<&str> = hosts
            .iter()
            .filter_map(|h| inventory.hosts.get(h.as_str()))
            .flat_map(|h| h.vars.keys().map(String::as_str))
            .collect();
        let hint = did_you_mean(key, known.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let names: Vec<String> = lacking.iter().map(|h| format!("`{h}`")).collect();
        errors.push(
            Diagnostic::error(format!(
                "`!HostVar {key}`: {} {} of manifest `{}` {} no variable `{key}`{hint}",
                if names.len() == 1 { "host" } else { "hosts" },
                names.join(", "),
                m.name,
                if names.len() == 1 { "has" } else { "have" },
            ))
            .at(at)
            .help("`ordo hosts` lists each host's variables"),
        );
    }
}
