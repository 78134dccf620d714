//! `json::parse(text)`, `json::to_string(value)`, `json::to_string_pretty(value)`.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::script_error;
use crate::script::convert::{json_to_dynamic, to_json};

/// Separators (`,`) outside strings: each value of an array or map after its first has one.
fn separators(text: &str) -> usize {
    let (mut count, mut in_string, mut escaped) = (0_usize, false, false);
    for b in text.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b',') => count += 1,
            _ => {}
        }
    }
    count
}

fn parse(text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    // A document with more values than a script may hold is refused before it is parsed
    // (issue 15): its tree would take many times the text's size before Rhai's limits on
    // array length and map size could see it.
    let limits = crate::script::context::require("json::parse")?.limits;
    let most = limits.max_array_size.saturating_add(limits.max_map_size);
    if separators(text) > most {
        return Err(script_error(
            format!(
                "`json::parse`: the text holds more values than the run's limits on array length ({}) and map size ({}) allow",
                limits.max_array_size, limits.max_map_size
            ),
            Some("see Limits in stdlib/README.md".into()),
        ));
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn separators_inside_strings_do_not_count() {
        assert_eq!(super::separators(r#"[1, 2, {"a,b": "c\\",", "d": 3}]"#), 3);
    }
}
