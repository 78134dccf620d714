//! `yaml::parse(text)` and `yaml::to_string(value)`.
//!
//! Parsing uses ordo's own YAML reader, so types, tags and limits are exactly those of
//! manifests: an unknown tag becomes `#{ tag, value }`, nothing executes.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::manifest::{Limits, parse_one};
use crate::script::context::script_error;
use crate::script::convert::{dynamic_to_json, node_to_dynamic};

fn parse(text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    parse_one(text, &Limits::default())
        .map(|node| node_to_dynamic(&node))
        .map_err(|e| {
            script_error(
                format!("`yaml::parse`: line {}: {}", e.mark.line, e.kind),
                None,
            )
        })
}

fn to_string(value: &Dynamic) -> Result<String, Box<EvalAltResult>> {
    serde_yaml::to_string(&dynamic_to_json(value))
        .map_err(|e| script_error(format!("`yaml::to_string`: {e}"), None))
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("yaml");
    fallible!(&mut m, "parse", |text: &str| parse(text));
    fallible!(&mut m, "to_string", |value: Dynamic| to_string(&value));
    m
}
