//! `env::get(name)` / `env::get(name, default)`: the ordo process's environment variables.
//! Needs the `env` permission.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::script_error;

fn get(name: &str, default: Option<Dynamic>) -> Result<Dynamic, Box<EvalAltResult>> {
    // `ordo test`: the case's `env` mocks stand for the environment.
    let mocked = crate::script::context::current()
        .and_then(|ctx| {
            ctx.ask_twin(crate::script::TwinCall::Env {
                name,
                has_default: default.is_some(),
            })
        })
        .transpose()?
        .map(|v| v.into_string().map_err(|_| ()));
    let value = match mocked {
        Some(v) => v,
        None => std::env::var(name).map_err(|_| ()),
    };
    match value {
        Ok(v) => Ok(v.into()),
        Err(()) => default.ok_or_else(|| {
            script_error(
                format!("`env::get`: environment variable `{name}` is not set"),
                Some(format!("pass a default: `env::get(\"{name}\", \"...\")`")),
            )
        }),
    }
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("env");
    fallible!(&mut m, "get", needs[Env], |name: &str| get(name, None));
    fallible!(&mut m, "get", needs[Env], |name: &str, default: Dynamic| {
        get(name, Some(default))
    });
    m
}
