//! `vars::`: variables shared between manifests, namespaced by manifest name.
//!
//! `vars::set("id", x)` in manifest `db` stores `db.id`. Reads take a full name
//! (`vars::get("db.id")`) or, for the running manifest's own variables, a bare key
//! (`vars::get("id")`). A handler can only set and remove its own manifest's variables.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::manifest::split_name;
use crate::script::context::{self, CallContext, script_error};
use crate::script::is_plain;

/// A bare key means the running manifest's own variable; on a host, `other.key` means the
/// instance of `other` on the same host when there is one (DESIGN §13).
fn full_name(ctx: &CallContext, name: &str) -> String {
    if name.contains('.') {
        let host = ctx.target.host().map(|h| h.name.as_str());
        ctx.vars.resolve(name, host)
    } else {
        format!("{}.{name}", ctx.manifest)
    }
}

fn check_key(call: &str, key: &str) -> Result<(), Box<EvalAltResult>> {
    if key.is_empty() || key.contains('.') {
        return Err(script_error(
            format!("`{call}`: invalid key `{key}`"),
            Some(
                "a key is a non-empty name without dots; it is stored as `<manifest>.<key>`".into(),
            ),
        ));
    }
    Ok(())
}

/// `verify` is read-only for variables too: what it set would change what later manifests
/// read and what the state records (A-F4). `plan` keeps them (its `check` may set some).
fn refuse_in_verify(ctx: &CallContext, call: &str) -> Result<(), Box<EvalAltResult>> {
    if ctx.policy.read_only && !ctx.dry_run {
        ctx.require_mutation(call)?;
    }
    Ok(())
}

fn set(key: &str, value: Dynamic, secret: bool) -> Result<(), Box<EvalAltResult>> {
    let call = if secret {
        "vars::set_secret"
    } else {
        "vars::set"
    };
    let ctx = context::require(call)?;
    refuse_in_verify(&ctx, call)?;
    check_key(call, key)?;
    let value = value.flatten();
    if crate::script::convert::deeper_than(&value, crate::script::convert::MAX_DEPTH) {
        return Err(script_error(
            crate::script::convert::too_deep(&format!("`{call}`")),
            None,
        ));
    }
    if !is_plain(&value) {
        return Err(script_error(
            format!(
                "`{call}`: a {} cannot be stored; variables hold plain data",
                value.type_name()
            ),
            None,
        ));
    }
    if secret {
        crate::events::secrets::add_value(&value);
    }
    let limit = ctx.limits.max_variables_size;
    ctx.vars
        .set_within(&ctx.manifest, key, value, secret, limit)
        .map_err(|_| {
            context::too_large(
                call,
                &format!("`{key}`"),
                "the size of all variables",
                limit,
            )
        })
}

fn get(name: &str, default: Option<Dynamic>) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = context::require("vars::get")?;
    let full = full_name(&ctx, name);
    if let Some(v) = ctx.vars.get(&full) {
        return Ok(v.value);
    }
    if ctx.vars.is_masked(&full) {
        // Held secret text in an earlier run: unknown, not absent (a default would hide it).
        return Err(script_error(
            format!("`vars::get`: the value of `{full}` is unknown"),
            Some(ctx.vars.note_for(&full)),
        ));
    }
    if let Some(d) = default {
        return Ok(d);
    }
    // `ordo test`: another manifest's variable comes from the case's `mocks.vars` only.
    if split_name(&full).is_some_and(|(m, _)| m != ctx.manifest)
        && let Some(answer) = ctx.ask_twin(crate::script::TwinCall::Var { name: &full })
    {
        return answer;
    }
    let known = split_name(&full)
        .map(|(m, _)| {
            ctx.vars
                .of_manifest(m)
                .into_iter()
                .map(|(k, _)| format!("`{m}.{k}`"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let owner = split_name(&full).map_or(full.as_str(), |(m, _)| m);
    let help = if let Some(hint) = ctx.vars.per_host_hint(&full) {
        format!("{hint}; {}", ctx.vars.source_note())
    } else if known.is_empty() {
        // Not only "run it first": during a `delete` the likelier cause is that the apply
        // recorded it in another state (issue 13: apply from a parent directory, delete
        // inside the project).
        format!(
            "no variable of `{owner}` is known: it has not set one in this run, and it has none in the state; if it must run first, list it under `metadata.dependencies.apply`; if it was applied earlier, check that it was with this state ({})",
            ctx.vars.source_note()
        )
    } else {
        format!(
            "set so far: {}; {}",
            known.join(", "),
            ctx.vars.source_note()
        )
    };
    Err(script_error(
        format!("`vars::get`: no variable `{full}`"),
        Some(help),
    ))
}

fn remove(name: &str) -> Result<bool, Box<EvalAltResult>> {
    let ctx = context::require("vars::remove")?;
    refuse_in_verify(&ctx, "vars::remove")?;
    let full = full_name(&ctx, name);
    match split_name(&full) {
        Some((m, _)) if m == ctx.manifest => Ok(ctx.vars.remove(&full).is_some()),
        _ => Err(script_error(
            format!("`vars::remove`: `{full}` belongs to another manifest"),
            Some(format!(
                "a handler may only remove variables of its own manifest (`{}.*`)",
                ctx.manifest
            )),
        )),
    }
}

fn has(name: &str) -> Result<bool, Box<EvalAltResult>> {
    let ctx = context::require("vars::has")?;
    Ok(ctx.vars.contains(&full_name(&ctx, name)))
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("vars");
    fallible!(&mut m, "set", |key: &str, value: Dynamic| set(
        key, value, false
    ));
    fallible!(&mut m, "set_secret", |key: &str, value: Dynamic| set(
        key, value, true
    ));
    fallible!(&mut m, "get", |name: &str| get(name, None));
    fallible!(&mut m, "get", |name: &str, default: Dynamic| get(
        name,
        Some(default)
    ));
    fallible!(&mut m, "has", |name: &str| has(name));
    fallible!(&mut m, "remove", |name: &str| remove(name));
    m
}
