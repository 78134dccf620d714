//! `values::get(name)`, `values::get(name, default)`, `values::has(name)`: the run's values
//! (`kind: Values` manifests, `-f` files, `--set`) for the selected environment.
//!
//! Manifests usually take values through `!Value` in their `spec`; this is for handlers
//! that look a value up by a name they compute, such as `CliInputPrompt` taking its answer
//! from `--set <manifest name>=...` when there is no terminal.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::{self, script_error};
use crate::script::convert::node_to_dynamic;

fn get(name: &str, default: Option<Dynamic>) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = context::require("values::get")?;
    match ctx.values.get(name) {
        Some(v) => Ok(node_to_dynamic(&v.value)),
        None => default.ok_or_else(|| {
            script_error(
                format!("`values::get`: no value named `{name}`"),
                Some(format!("define it, or pass `--set {name}=...`")),
            )
        }),
    }
}

fn has(name: &str) -> Result<bool, Box<EvalAltResult>> {
    let ctx = context::require("values::has")?;
    Ok(ctx.values.get(name).is_some())
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("values");
    fallible!(&mut m, "get", |name: &str| get(name, None));
    fallible!(&mut m, "get", |name: &str, default: Dynamic| get(
        name,
        Some(default)
    ));
    fallible!(&mut m, "has", |name: &str| has(name));
    m
}
