//! `ordo hosts`: the resolved inventory, for people (`human`) and programs (`-o json`).
//!
//! It loads what a run loads to find inventories (the manifests, for their `kind: Inventory`
//! documents, values, `-i` files), but only what decides the hosts can stop it: problems in
//! `Inventory` and `Values` documents, the `-i` files, environments. Other manifests' errors
//! are counted in one warning (a half-written manifest never hides the hosts), a file that is
//! not YAML at all is a warning naming it; no handler is resolved, and nothing about manifests
//! selecting hosts is refused: it shows what they would reach. With
//! `--check` it connects to each selected host (`hosts_check.rs`) and shows what it found
//! instead of the variables; a host that is not reachable makes the exit code 1.

use std::io::Write;

use serde_json::json;

use crate::cli::{Config, OutputFormat};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::inventory::{self, Host, Inventory, VarOrigin, node_json};
use crate::manifest::{
    Limits, ManifestError, ManifestErrorKind, SourceFile, VALUES_KIND, Value, collect_values,
    load_except, metadata_environments, parse_stream,
};
use crate::project::{Project, check_environments};

use super::hosts_check::{self, CheckStatus, HostCheck, millis};

pub(super) fn hosts(config: &Config, project: &Project) -> Result<(), Error> {
    let mut loaded = load_except(
        &config.manifests,
        &super::load::not_manifests(config),
        &Limits::default(),
    );
    let mut environments = Vec::new();
    for m in loaded.manifests.iter().filter(|m| m.kind != VALUES_KIND) {
        metadata_environments(&m.file, &m.metadata_node, &mut environments);
    }
    let mut value_errors = Vec::new();
    let values = collect_values(
        &mut loaded.manifests,
        &config.values,
        &config.env,
        &mut value_errors,
    );
    environments.extend(values.environments.iter().cloned());
    let raw = inventory::collect(&mut loaded.manifests, &config.inventories, &config.env);
    environments.extend(raw.environments.iter().cloned());
    let mut raw = raw;
    let inventory_warnings = std::mem::take(&mut raw.warnings);
    let (inventory, inventory_errors) = raw.resolve();
    let (mut diagnostics, mut warnings) = sort_load_errors(config, loaded.errors, &loaded.files);
    diagnostics.extend(value_errors.into_iter().map(Diagnostic::from));
    warnings.extend(inventory_warnings);
    super::warn(config, &warnings);
    diagnostics.extend(inventory_errors);
    diagnostics.extend(check_environments(&config.env, project, &environments));
    let selected: Vec<String> = if config.limit.is_empty() || !diagnostics.is_empty() {
        inventory.hosts.keys().cloned().collect()
    } else {
        inventory::select_hosts(&inventory, &inventory::limit_patterns(&config.limit))
            .map_err(Error::Input)?
    };
    if !diagnostics.is_empty() {
        return Err(Error::Input(diagnostics));
    }
    let hosts: Vec<&Host> = selected
        .iter()
        .filter_map(|h| inventory.hosts.get(h))
        .collect();
    if config.hosts_check {
        return check(config, &inventory, &hosts);
    }
    let mut out = std::io::stdout().lock();
    if config.output == OutputFormat::Human {
        let _ = write!(out, "{}", human(&inventory, &hosts, &config.env));
    } else {
        let _ = writeln!(out, "{}", to_json(&inventory, &hosts, &config.env));
    }
    Ok(())
}

/// Splits the loader's errors into those that stop `ordo hosts` (in an `Inventory` or
/// `Values` document, or about a path given on the command line) and warnings: a file that
/// cannot be read or parsed (unless it declares an inventory or values), an Ansible inventory
/// among the manifests (not read without `-i`), and one line counting the errors of other
/// manifests.
fn sort_load_errors(
    config: &Config,
    errors: Vec<ManifestError>,
    files: &[std::sync::Arc<SourceFile>],
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    use ManifestErrorKind as K;
    // With `-i`, a directory without manifest files is no problem: the inventory is there.
    let given = !config.inventories.is_empty();
    let named: Vec<String> = config
        .manifests
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut kinds: std::collections::HashMap<String, Vec<(u32, Option<String>)>> =
        std::collections::HashMap::new();
    let mut stop = Vec::new();
    let mut warnings = Vec::new();
    let mut ignored = 0usize;
    for e in errors {
        let file = e.location.file.name().to_string();
        let hosts_data = |text: &str| {
            text.lines().any(|l| {
                let l = l.trim().trim_start_matches("- ").trim();
                l.strip_prefix("kind:").is_some_and(|k| {
                    let k = k.trim().trim_matches(|c| c == '"' || c == '\'');
                    k == crate::inventory::INVENTORY_KIND || k == VALUES_KIND
                })
            })
        };
        match &e.kind {
            K::NoFiles(_) if given => {}
            K::NoFiles(_) | K::HandlerAsManifest(_) | K::ProjectFileAsManifest(_) => {
                stop.push(Diagnostic::from(e));
            }
            K::Read { path, .. } if named.contains(path) => stop.push(Diagnostic::from(e)),
            K::Read { .. } | K::NotFollowed { .. } | K::NotUtf8 { .. } | K::TooLarge { .. } => {
                warnings.push(
                    Diagnostic::from(e)
                        .as_warning()
                        .note("this file is not read"),
                );
            }
            K::Empty => {}
            K::Yaml(_) => {
                let text = files
                    .iter()
                    .find(|f| f.name() == file)
                    .map(|f| f.text().to_string())
                    .unwrap_or_default();
                if hosts_data(&text) {
                    stop.push(Diagnostic::from(e));
                } else {
                    warnings.push(
                        Diagnostic::from(e)
                            .as_warning()
                            .note("this file is not read (it declares no Inventory or Values)"),
                    );
                }
            }
            K::AnsibleInventory => warnings.push(
                Diagnostic::from(e)
                    .as_warning()
                    .note("not read: an Ansible inventory is read only when given with `-i`"),
            ),
            _ => {
                let docs = kinds.entry(file.clone()).or_insert_with(|| {
                    files
                        .iter()
                        .find(|f| f.name() == file)
                        .map(|f| document_kinds(f))
                        .unwrap_or_default()
                });
                let line = e.location.mark.line;
                let kind = docs
                    .iter()
                    .rev()
                    .find(|(start, _)| *start <= line)
                    .or(docs.first())
                    .and_then(|(_, k)| k.as_deref());
                if kind.is_some_and(|k| k == crate::inventory::INVENTORY_KIND || k == VALUES_KIND) {
                    stop.push(Diagnostic::from(e));
                } else {
                    ignored += 1;
                }
            }
        }
    }
    if ignored > 0 {
        let s = if ignored == 1 { "" } else { "s" };
        warnings.push(
            Diagnostic::warning(format!(
                "{ignored} input error{s} in manifests that are not inventories or values; \
                 they do not change the hosts"
            ))
            .help("`ordo validate` shows them"),
        );
    }
    (stop, warnings)
}

/// Where each document of `file` starts (its line) and its `kind` when it is a string.
fn document_kinds(file: &SourceFile) -> Vec<(u32, Option<String>)> {
    parse_stream(file.text(), &Limits::default())
        .documents
        .into_iter()
        .map(|d| {
            let kind = match d.root.get("kind").map(|k| &k.value) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            (d.mark.line, kind)
        })
        .collect()
}

/// `hosts --check`: the hosts are reached, then reported; exit 1 when one is not reachable,
/// 130 when Ctrl-C stopped the checks.
fn check(config: &Config, inventory: &Inventory, hosts: &[&Host]) -> Result<(), Error> {
    let checks = hosts_check::check_hosts(hosts);
    let mut out = std::io::stdout().lock();
    if config.output == OutputFormat::Human {
        let _ = write!(out, "{}", human_check(hosts, &checks));
    } else {
        let mut report = to_json(inventory, hosts, &config.env);
        let all_ok = checks.iter().all(|c| c.status == CheckStatus::Ok);
        if let Some(map) = report.as_object_mut() {
            map.insert("ok".into(), json!(all_ok));
        }
        if let Some(list) = report.get_mut("hosts").and_then(|h| h.as_array_mut()) {
            for (host, c) in list.iter_mut().zip(&checks) {
                if let Some(map) = host.as_object_mut() {
                    map.insert("status".into(), json!(c.status.as_str()));
                    map.insert("reachable".into(), json!(c.status == CheckStatus::Ok));
                    map.insert("latency_ms".into(), json!(c.latency.map(millis)));
                    map.insert("connect_ms".into(), json!(c.connect.map(millis)));
                    map.insert("error".into(), json!(c.error));
                }
            }
        }
        let _ = writeln!(out, "{report}");
    }
    let _ = out.flush();
    if hosts_check::interrupted(&checks) {
        return Err(Error::Interrupted);
    }
    let failed = checks
        .iter()
        .filter(|c| c.status != CheckStatus::Ok)
        .count();
    if failed > 0 {
        return Err(Error::RunFailed { failed });
    }
    Ok(())
}

/// A line per host (`name  user@address:port  ok  1.2 ms  (connected in 80.5 ms)`, or the
/// status and why), and a summary naming the hosts that are not reachable.
fn human_check(hosts: &[&Host], checks: &[HostCheck]) -> String {
    let mut text = String::new();
    let reach: Vec<String> = hosts.iter().map(|h| reach(h)).collect();
    let width = hosts.iter().map(|h| h.name.len()).max().unwrap_or(0);
    let reach_width = reach.iter().map(String::len).max().unwrap_or(0);
    let mut missing = Vec::new();
    for ((h, r), c) in hosts.iter().zip(&reach).zip(checks) {
        let what = match (c.status, c.latency) {
            (CheckStatus::Ok, Some(latency)) => {
                let connect = c
                    .connect
                    .map(|d| format!("  (connected in {:.1} ms)", millis(d)))
                    .unwrap_or_default();
                format!("{:.1} ms{connect}", millis(latency))
            }
            _ => c.error.clone().unwrap_or_default(),
        };
        if c.status != CheckStatus::Ok {
            missing.push(format!("`{}`", h.name));
        }
        text.push_str(&format!(
            "{:width$}  {r:reach_width$}  {:11}  {what}\n",
            h.name,
            c.status.as_str()
        ));
    }
    let total = hosts.len();
    let ok = total - missing.len();
    let noun = if total == 1 { "host" } else { "hosts" };
    if missing.is_empty() {
        text.push_str(&format!("{ok} of {total} {noun} reachable\n"));
    } else {
        text.push_str(&format!(
            "{ok} of {total} {noun} reachable; not reachable: {}\n",
            missing.join(", ")
        ));
    }
    text
}

/// `user@address:port`, each part only when the inventory gives it.
fn reach(h: &Host) -> String {
    let user = h
        .user
        .as_deref()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let port = h.port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{user}{}{port}", h.address)
}

/// A block per host (`name  user@address:port  groups: ...`, then a line per variable with
/// its origin), and a count.
fn human(inventory: &Inventory, hosts: &[&Host], env: &str) -> String {
    let mut text = String::new();
    let width = hosts.iter().map(|h| h.name.len()).max().unwrap_or(0);
    for h in hosts {
        let groups = if h.groups.is_empty() {
            "-".to_string()
        } else {
            h.groups.join(", ")
        };
        let mut extra = String::new();
        if h.r#become {
            let who = h.become_user.as_deref().unwrap_or("root");
            extra.push_str(&format!("  become: {who}"));
        }
        if let Some(root) = &h.fs_root {
            extra.push_str(&format!("  fsRoot: {root}"));
        }
        text.push_str(&format!(
            "{:width$}  {}  groups: {groups}{extra}\n",
            h.name,
            reach(h)
        ));
        for (name, var) in &h.vars {
            text.push_str(&format!(
                "    {name} = {}    ({}, {})\n",
                node_json(&var.value),
                var.origin,
                var.location
            ));
        }
    }
    let count = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    text.push_str(&format!(
        "{} of {}, {} (environment `{env}`)\n",
        count(hosts.len(), "host"),
        inventory.hosts.len(),
        count(inventory.groups.len(), "group"),
    ));
    text
}

/// `{"command": "hosts", "environment", "ok", "hosts": [...], "groups": [...]}`.
fn to_json(inventory: &Inventory, hosts: &[&Host], env: &str) -> serde_json::Value {
    let shown: std::collections::HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let hosts: Vec<serde_json::Value> = hosts
        .iter()
        .map(|h| {
            let vars: serde_json::Map<String, serde_json::Value> = h
                .vars
                .iter()
                .map(|(name, v)| {
                    let (origin, group) = match &v.origin {
                        VarOrigin::Host => ("host", None),
                        VarOrigin::Group(g) => ("group", Some(g.as_str())),
                        VarOrigin::Defaults => ("defaults", None),
                    };
                    (
                        name.clone(),
                        json!({
                            "value": node_json(&v.value),
                            "origin": origin,
                            "group": group,
                            "file": v.location.file.name(),
                            "line": v.location.mark.line,
                        }),
                    )
                })
                .collect();
            json!({
                "name": h.name,
                "address": h.address,
                "port": h.port,
                "user": h.user,
                "identity_file": h.identity_file,
                "ssh_options": h.ssh_options,
                "become": h.r#become,
                "become_user": h.become_user,
                "fs_root": h.fs_root,
                "groups": h.groups,
                "vars": vars,
            })
        })
        .collect();
    let groups: Vec<serde_json::Value> = inventory
        .groups
        .values()
        .map(|g| {
            json!({
                "name": g.name,
                "hosts": g.hosts.iter().filter(|h| shown.contains(h.as_str())).collect::<Vec<_>>(),
                "children": g.children,
                "depth": g.depth,
            })
        })
        .collect();
    json!({"command": "hosts", "environment": env, "ok": true, "hosts": hosts, "groups": groups})
}
