//! The commands that only look: `validate`, `handlers` and `graph`.

use std::collections::HashSet;
use std::io::Write;

use serde_json::json;

use super::load::World;
use crate::cli::{Config, GraphFormat, OutputFormat};
use crate::error::Error;
use crate::handler::HandlerRegistry;
use crate::manifest::Action;
use crate::planner::Plan;
use crate::report::ManifestJson;

/// The `-o json` entries of a plan's steps, in plan order: loaded and resolved, nothing run.
fn step_entries(world: &World, plan: &Plan) -> Vec<serde_json::Value> {
    plan.steps
        .iter()
        .filter_map(|s| {
            let m = world.manifests.get(s.manifest)?;
            let handler = world.registry.get(s.handler).name();
            Some(ManifestJson::loaded(&m.name, &m.kind, &m.version, handler, "valid").to_json())
        })
        .collect()
}

pub(super) fn validate(config: &Config, world: &World) -> Result<(), Error> {
    let selected = super::load::select(config, world, false)?;
    let apply = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        Action::Apply,
        selected.as_ref(),
    );
    let selected = super::load::select(config, world, true)?;
    let delete = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        Action::Delete,
        selected.as_ref(),
    );
    let names = |plan: &Plan| {
        plan.steps
            .iter()
            .filter_map(|s| world.manifests.get(s.manifest))
            .map(|m| m.name.clone())
            .collect::<Vec<_>>()
    };
    let mut out = std::io::stdout().lock();
    if config.output == OutputFormat::Human {
        // Instances (`web@h1`) are counted apart from the manifests written.
        let nodes: Vec<&crate::manifest::Manifest> = world
            .graph
            .nodes
            .iter()
            .filter_map(|&i| world.manifests.get(i))
            .collect();
        let written: HashSet<&str> = nodes.iter().map(|m| m.base_name()).collect();
        let instances = nodes.iter().filter(|m| m.host.is_some()).count();
        let hosts: HashSet<&str> = nodes
            .iter()
            .filter_map(|m| m.host.as_deref().map(|h| h.name.as_str()))
            .collect();
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let counted = if instances > 0 {
            format!(
                "{} ({} on {})",
                plural(written.len(), "manifest", "manifests"),
                plural(instances, "instance", "instances"),
                plural(hosts.len(), "host", "hosts")
            )
        } else {
            plural(written.len(), "manifest", "manifests")
        };
        let _ = writeln!(
            out,
            "valid: {counted} in environment `{}`, {} handlers; apply runs {} and delete {}",
            config.env,
            world.registry.handlers().len(),
            apply.steps.len(),
            delete.steps.len()
        );
    } else {
        let report = json!({
            "command": "validate", "environment": config.env, "ok": true,
            "manifests": step_entries(world, &apply),
            "apply": names(&apply), "delete": names(&delete),
        });
        let _ = writeln!(out, "{report}");
    }
    Ok(())
}

/// One row of `ordo handlers`.
struct HandlerRow {
    kind: String,
    range: String,
    file: String,
    permissions: Vec<&'static str>,
    /// A bundled registration that a user handler overrides for some versions.
    overridden: bool,
    /// What the handler's `schema(#{...})` declares, as JSON (`null`: a free-form spec).
    schema: serde_json::Value,
    origin: crate::handler::Origin,
}

/// A handler's source as JSON: `null` for a local or bundled one, else its name, address
/// and `commit` (or `digest`).
pub(super) fn source_json(origin: &crate::handler::Origin) -> serde_json::Value {
    match origin.source() {
        None => serde_json::Value::Null,
        Some(s) => {
            let (field, pin) = s.pin_field();
            let mut v = json!({"name": s.name, "url": s.url});
            if let Some(map) = v.as_object_mut() {
                map.insert(field.into(), json!(pin));
            }
            v
        }
    }
}

pub(super) fn list_handlers(config: &Config, registry: &HandlerRegistry, engine: &rhai::Engine) {
    let mut rows = Vec::new();
    for (index, h) in registry.handlers().iter().enumerate() {
        let schema = if config.output == OutputFormat::Human {
            serde_json::Value::Null
        } else {
            registry.prepare(engine, &config.limits, index);
            h.compiled()
                .ok()
                .and_then(|c| c.schema.as_ref())
                .map_or(serde_json::Value::Null, |s| s.to_json())
        };
        for r in &h.registrations {
            let overridden = h.bundled
                && registry.handlers().iter().filter(|u| !u.bundled).any(|u| {
                    u.registrations
                        .iter()
                        .any(|ur| ur.full_kind() == r.full_kind() && ur.range.overlaps(&r.range))
                });
            rows.push(HandlerRow {
                kind: r.full_kind(),
                range: r.range.text.clone(),
                file: h.name().to_string(),
                permissions: h.permissions().names(),
                overridden,
                schema: schema.clone(),
                origin: h.origin.clone(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.kind, &a.file, &a.range).cmp(&(&b.kind, &b.file, &b.range)));
    let mut out = std::io::stdout().lock();
    if config.output != OutputFormat::Human {
        let list: Vec<_> = rows
            .iter()
            .map(|r| json!({"kind": r.kind, "range": r.range, "file": r.file, "source": source_json(&r.origin), "permissions": r.permissions, "overridden": r.overridden, "schema": r.schema}))
            .collect();
        let report =
            json!({"command": "handlers", "environment": config.env, "ok": true, "handlers": list});
        let _ = writeln!(out, "{report}");
        return;
    }
    let file = |r: &HandlerRow| {
        if r.overridden {
            format!("{} (overridden)", r.file)
        } else {
            r.file.clone()
        }
    };
    let w0 = rows
        .iter()
        .map(|r| r.kind.len())
        .chain(["KIND".len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r.range.len())
        .chain(["VERSIONS".len()])
        .max()
        .unwrap_or(0);
    let w2 = rows
        .iter()
        .map(|r| file(r).len())
        .chain(["FILE".len()])
        .max()
        .unwrap_or(0);
    // A SOURCE column (`name@commit`, `local`, `bundled`) when a handler came from a source.
    let sourced = rows.iter().any(|r| r.origin.source().is_some());
    let source = |r: &HandlerRow| {
        if sourced {
            format!("{}  ", r.origin.shown())
        } else {
            String::new()
        }
    };
    let w3 = rows
        .iter()
        .map(|r| source(r).len())
        .chain([if sourced { "SOURCE  ".len() } else { 0 }])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}PERMISSIONS",
        "KIND",
        "VERSIONS",
        "FILE",
        if sourced { "SOURCE" } else { "" }
    );
    for r in &rows {
        let p = if r.permissions.is_empty() {
            "-".to_string()
        } else {
            r.permissions.join(", ")
        };
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}{p}",
            r.kind,
            r.range,
            file(r),
            source(r)
        );
    }
}

/// `ordo graph`: the plan's steps by level (each after everything it waits for), or
/// Graphviz.
pub(super) fn graph(config: &Config, world: &World) -> Result<(), Error> {
    let action = if config.graph_delete {
        Action::Delete
    } else {
        Action::Apply
    };
    let selected = super::load::select(config, world, config.graph_delete)?;
    let plan = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        action,
        selected.as_ref(),
    );
    let id = |s: usize| {
        plan.steps
            .get(s)
            .and_then(|step| world.manifests.get(step.manifest))
            .map(|m| (m.name.clone(), m.id()))
            .unwrap_or_default()
    };
    let mut out = std::io::stdout().lock();
    if config.output != OutputFormat::Human {
        // An edge goes from a manifest to one that waits for it, in this action's order.
        let edges: Vec<_> = plan
            .before
            .iter()
            .enumerate()
            .flat_map(|(s, before)| before.iter().map(move |&b| (b, s)))
            .map(|(from, to)| json!({"from": id(from).0, "to": id(to).0}))
            .collect();
        let report = json!({
            "command": "graph", "environment": config.env, "ok": true,
            "action": action.as_str(),
            "nodes": step_entries(world, &plan), "edges": edges,
        });
        let _ = writeln!(out, "{report}");
        return Ok(());
    }
    if config.graph_format == GraphFormat::Dot {
        let _ = writeln!(out, "digraph ordo {{");
        let _ = writeln!(out, "  rankdir=LR;");
        let _ = writeln!(out, "  node [shape=box];");
        for s in 0..plan.steps.len() {
            let (name, label) = id(s);
            let _ = writeln!(out, "  {} [label={}];", dot_quote(&name), dot_quote(&label));
        }
        for (s, before) in plan.before.iter().enumerate() {
            for &b in before {
                let _ = writeln!(out, "  {} -> {};", dot_quote(&id(b).0), dot_quote(&id(s).0));
            }
        }
        let _ = writeln!(out, "}}");
        return Ok(());
    }
    // Steps are in a topological order, so each level is known when a step is reached.
    let mut level: Vec<usize> = Vec::with_capacity(plan.before.len());
    for before in &plan.before {
        let l = before
            .iter()
            .filter_map(|&b| level.get(b))
            .map(|l| l + 1)
            .max()
            .unwrap_or(0);
        level.push(l);
    }
    let levels = level.iter().copied().max().map_or(0, |m| m + 1);
    for l in 0..levels {
        let _ = writeln!(out, "{} level {l}", action.as_str());
        let at_level = level.iter().zip(&plan.before).enumerate();
        for (s, (_, before)) in at_level.filter(|(_, (sl, _))| **sl == l) {
            let (_, label) = id(s);
            if before.is_empty() {
                let _ = writeln!(out, "  {label}");
            } else {
                let after: Vec<String> = before.iter().map(|&b| id(b).0).collect();
                let _ = writeln!(out, "  {label}  (after {})", after.join(", "));
            }
        }
    }
    Ok(())
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
