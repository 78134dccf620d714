//! The commands that only look: `validate` and `handlers`.

use std::io::Write;

use serde_json::json;

use super::load::World;
use crate::cli::{Config, OutputFormat};
use crate::error::Error;
use crate::handler::HandlerRegistry;
use crate::manifest::Action;
use crate::planner::Plan;

pub(super) fn validate(config: &Config, world: &World) -> Result<(), Error> {
    let apply = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        Action::Apply,
        &|_| true,
    );
    let delete = Plan::build(
        &world.graph,
        &world.manifests,
        &world.handlers,
        Action::Delete,
        &|_| true,
    );
    let names = |plan: &Plan| {
        plan.steps
            .iter()
            .map(|s| world.manifests[s.manifest].name.clone())
            .collect::<Vec<_>>()
    };
    let mut out = std::io::stdout().lock();
    if config.output == OutputFormat::Human {
        let _ = writeln!(
            out,
            "valid: {} manifests in environment `{}`, {} handlers; apply runs {} and delete {}",
            world.graph.nodes.len(),
            config.env,
            world.registry.handlers().len(),
            apply.steps.len(),
            delete.steps.len()
        );
    } else {
        let report = json!({
            "command": "validate", "environment": config.env, "ok": true,
            "apply": names(&apply), "delete": names(&delete),
        });
        let _ = writeln!(out, "{report}");
    }
    Ok(())
}

pub(super) fn list_handlers(config: &Config, registry: &HandlerRegistry) {
    let mut rows = Vec::new();
    for h in registry.handlers() {
        for r in &h.registrations {
            rows.push((
                r.full_kind(),
                r.range.text.clone(),
                h.name().to_string(),
                h.permissions().names().join(", "),
            ));
        }
    }
    rows.sort();
    let mut out = std::io::stdout().lock();
    if config.output != OutputFormat::Human {
        let list: Vec<_> = rows
            .iter()
            .map(|(k, r, f, p)| json!({"kind": k, "range": r, "file": f, "permissions": p.split(", ").filter(|s| !s.is_empty()).collect::<Vec<_>>()}))
            .collect();
        let _ = writeln!(out, "{}", json!({"handlers": list}));
        return;
    }
    let header = (
        "KIND".to_string(),
        "VERSIONS".to_string(),
        "FILE".to_string(),
        "PERMISSIONS".to_string(),
    );
    let w0 = rows
        .iter()
        .map(|r| r.0.len())
        .chain([header.0.len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r.1.len())
        .chain([header.1.len()])
        .max()
        .unwrap_or(0);
    let w2 = rows
        .iter()
        .map(|r| r.2.len())
        .chain([header.2.len()])
        .max()
        .unwrap_or(0);
    for (k, r, f, p) in std::iter::once(&header).chain(rows.iter()) {
        let p = if p.is_empty() { "-" } else { p.as_str() };
        let _ = writeln!(out, "{k:<w0$}  {r:<w1$}  {f:<w2$}  {p}");
    }
}
