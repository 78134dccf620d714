//! `ordo run ACTION` (which order, which parameters, checked before anything runs),
//! `ordo verify`'s mode, and `ordo actions` (DESIGN §14).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use serde_json::json;

use super::load::World;
use crate::cli::{CommandKind, Config, OutputFormat};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Error;
use crate::exec::RunMode;
use crate::handler::actions::{ActionDecl, Order, check_params};
use crate::manifest::Action;
use crate::planner::Plan;

/// The plan's action for the command: `run ACTION` walks the graph as `apply` (forward,
/// none) or as `delete` (reverse); every other command as it says.
pub(super) fn plan_action(config: &Config, world: &World, action: Action) -> Result<Action, Error> {
    if config.command != CommandKind::Run {
        return Ok(action);
    }
    Ok(match order(config, world)? {
        Order::Reverse => Action::Delete,
        Order::Forward | Order::None => Action::Apply,
    })
}

/// The declarations of `name` among the handlers of the loaded manifests, with their files.
fn declarations<'w>(
    world: &'w World,
    handlers: &BTreeSet<usize>,
    name: &str,
) -> Vec<(&'w str, &'w ActionDecl)> {
    handlers
        .iter()
        .map(|&h| world.registry.get(h))
        .filter_map(|h| Some((h.name(), h.actions.iter().find(|a| a.name == name)?)))
        .collect()
}

/// Every action the handlers declare, sorted.
fn known(world: &World, handlers: &BTreeSet<usize>) -> BTreeSet<String> {
    handlers
        .iter()
        .flat_map(|&h| world.registry.get(h).actions.iter().map(|a| a.name.clone()))
        .collect()
}

/// An action no handler of these manifests declares: an input error with "did you mean".
fn unknown(name: &str, known: &BTreeSet<String>, whose: &str) -> Error {
    let suggestion = did_you_mean(name, known.iter().map(String::as_str));
    let mut message = format!("no {whose} has the action `{name}`");
    if let Some(s) = suggestion {
        message.push_str(&format!("; did you mean `{s}`?"));
    }
    let d = Diagnostic::error(message);
    let d = if known.is_empty() {
        d.help("a handler declares actions at its top level: `actions(#{ stop: #{ order: \"reverse\" } });` and defines `fn stop(m)`")
    } else {
        d.note(format!(
            "actions of these manifests' handlers: {}",
            known.iter().cloned().collect::<Vec<_>>().join(", ")
        ))
        .help("`ordo actions` lists them with their parameters")
    };
    Error::Input(vec![d])
}

/// `run ACTION`'s order: `--order`, else the one its handlers declare (they must agree).
fn order(config: &Config, world: &World) -> Result<Order, Error> {
    let Some(request) = &config.action else {
        return Ok(Order::Forward);
    };
    let handlers: BTreeSet<usize> = world.handlers.iter().copied().collect();
    let decls = declarations(world, &handlers, &request.name);
    if decls.is_empty() {
        return Err(unknown(
            &request.name,
            &known(world, &handlers),
            "handler of the loaded manifests",
        ));
    }
    if let Some(o) = request.order {
        return Ok(o);
    }
    let orders: BTreeSet<&str> = decls.iter().map(|(_, d)| d.order.as_str()).collect();
    match decls.first() {
        Some((_, d)) if orders.len() == 1 => Ok(d.order),
        _ => Err(Error::Input(vec![
            Diagnostic::error(format!(
                "action `{}` is declared with different orders: {}",
                request.name,
                decls
                    .iter()
                    .map(|(f, d)| format!("{} in {f}", d.order.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .help("give `--order forward|reverse|none`, or declare one order in every handler"),
        ])),
    }
}

/// What each step of the run calls. For `run ACTION`: some selected manifest's handler
/// must declare it (exit 3 otherwise), the `--param`s must fit each declaring handler
/// (exit 2 otherwise), and `order: none` drops the plan's edges.
pub(super) fn mode(config: &Config, world: &World, plan: &mut Plan) -> Result<RunMode, Error> {
    match config.command {
        CommandKind::Verify => return Ok(RunMode::Verify),
        CommandKind::Run => {}
        _ => return Ok(RunMode::Lifecycle),
    }
    let Some(request) = &config.action else {
        return Ok(RunMode::Lifecycle);
    };
    let handlers: BTreeSet<usize> = plan.steps.iter().map(|s| s.handler).collect();
    let decls = declarations(world, &handlers, &request.name);
    if decls.is_empty() {
        return Err(unknown(
            &request.name,
            &known(world, &handlers),
            "selected manifest's handler",
        ));
    }
    let mut params = HashMap::new();
    for (file, decl) in &decls {
        let checked = check_params(decl, &request.params)
            .map_err(|e| Error::Usage(format!("{e} (declared in {file})")))?;
        params.insert((*file).to_string(), checked);
    }
    if order(config, world)? == Order::None {
        for list in plan
            .before
            .iter_mut()
            .chain(plan.after.iter_mut())
            .chain(plan.soft.iter_mut())
        {
            list.clear();
        }
    }
    // One name per run, kept for the run's events (which name the function statically).
    let name: &'static str = request.name.clone().leak();
    Ok(RunMode::Action { name, params })
}

/// `ordo actions`: per handler registration and action, its order, parameters and file.
pub(super) fn list(config: &Config, world: &World) {
    struct Row {
        kind: String,
        range: String,
        action: String,
        order: &'static str,
        params: Vec<(String, String)>,
        about: Option<String>,
        file: String,
    }
    let mut rows = Vec::new();
    for h in world.registry.handlers() {
        for r in &h.registrations {
            for a in &h.actions {
                rows.push(Row {
                    kind: r.full_kind(),
                    range: r.range.text.clone(),
                    action: a.name.clone(),
                    order: a.order.as_str(),
                    params: a
                        .params
                        .iter()
                        .map(|p| (p.name.clone(), p.type_text()))
                        .collect(),
                    about: a.about.clone(),
                    file: h.name().to_string(),
                });
            }
        }
    }
    rows.sort_by(|a, b| (&a.kind, &a.range, &a.action).cmp(&(&b.kind, &b.range, &b.action)));
    let mut out = std::io::stdout().lock();
    if config.output != OutputFormat::Human {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                let params: serde_json::Map<String, serde_json::Value> = r
                    .params
                    .iter()
                    .map(|(n, t)| (n.clone(), json!(t)))
                    .collect();
                json!({"kind": r.kind, "range": r.range, "action": r.action, "order": r.order,
                       "params": params, "about": r.about, "file": r.file})
            })
            .collect();
        let report =
            json!({"command": "actions", "environment": config.env, "ok": true, "actions": list});
        let _ = writeln!(out, "{report}");
        return;
    }
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "no handler declares actions (a handler declares them with `actions(#{{ ... }})`)"
        );
        return;
    }
    let params = |r: &Row| {
        if r.params.is_empty() {
            "-".to_string()
        } else {
            r.params
                .iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let width = |f: &dyn Fn(&Row) -> usize, head: &str| {
        rows.iter().map(f).chain([head.len()]).max().unwrap_or(0)
    };
    let w0 = width(&|r| r.kind.len(), "KIND");
    let w1 = width(&|r| r.range.len(), "VERSIONS");
    let w2 = width(&|r| r.action.len(), "ACTION");
    let w3 = width(&|r| r.order.len(), "ORDER");
    let w4 = width(&|r| params(r).len(), "PARAMS");
    let w5 = width(&|r| r.file.len(), "FILE");
    let _ = writeln!(
        out,
        "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:<w4$}  {:<w5$}  ABOUT",
        "KIND", "VERSIONS", "ACTION", "ORDER", "PARAMS", "FILE"
    );
    for r in &rows {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:<w4$}  {:<w5$}  {}",
            r.kind,
            r.range,
            r.action,
            r.order,
            params(r),
            r.file,
            r.about.as_deref().unwrap_or("-")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
