//! `json::parse(text)`, `json::to_string(value)`, `json::to_string_pretty(value)`.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::script_error;
use crate::script::convert::{dynamic_to_json, json_to_dynamic};

fn parse(text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    // A leading byte order mark is not part of the text (issue 14).
    serde_json::from_str::<serde_json::Value>(crate::input::strip_bom_str(text))
        .map(|v| json_to_dynamic(&v))
        .map_err(|e| script_error(format!("`json::parse`: invalid JSON: {e}"), None))
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("json");
    fallible!(&mut m, "parse", |text: &str| parse(text));
    add!(&mut m, "to_string", |value: Dynamic| dynamic_to_json(
        &value
    )
    .to_string());
    add!(&mut m, "to_string_pretty", |value: Dynamic| {
        serde_json::to_string_pretty(&dynamic_to_json(&value)).unwrap_or_default()
    });
    m
}
