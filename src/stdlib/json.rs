//! `json::parse(text)`, `json::to_string(value)`, `json::to_string_pretty(value)`.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::script_error;
use crate::script::convert::{json_to_dynamic, to_json};

fn parse(text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    // A leading byte order mark is not part of the text (issue 14).
    serde_json::from_str::<serde_json::Value>(crate::input::strip_bom_str(text))
        .map(|v| json_to_dynamic(&v))
        .map_err(|e| script_error(format!("`json::parse`: invalid JSON: {e}"), None))
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("json");
    fallible!(&mut m, "parse", |text: &str| parse(text));
    fallible!(&mut m, "to_string", |value: Dynamic| to_json(
        &value,
        "`json::to_string`"
    )
    .map(|j| j.to_string())
    .map_err(|e| script_error(e, None)));
    fallible!(&mut m, "to_string_pretty", |value: Dynamic| {
        to_json(&value, "`json::to_string_pretty`")
            .map(|j| serde_json::to_string_pretty(&j).unwrap_or_default())
            .map_err(|e| script_error(e, None))
    });
    m
}
