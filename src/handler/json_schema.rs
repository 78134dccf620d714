//! `ordo schema`: one JSON Schema (draft-07) for manifest files, for editors (DESIGN §11).
//!
//! The top level and `metadata` follow ordo's own rules ([`crate::manifest::METADATA_KEYS`]);
//! `spec` comes from the handlers a run would see, one `if {kind} then {spec}` per kind
//! (per major version where several handlers serve one kind with different schemas).
//!
//! What JSON Schema cannot say, and the choices made (README "Editor support"):
//! - YAML tags: an editor sees `port: !Value port` as the string `port`, and `!Sub [text,
//!   {..}]` as a list. So a field that is not text also accepts a string, and a text field
//!   also accepts the `!Sub` list; a text field with an `enum` does not (a typo in a
//!   choice is caught rather than a tag allowed there).
//! - Version ranges: when one handler serves a kind, its spec applies at every version.
//!   When several do, each gets the versions written `vN` (also `vNbeta1`, `group/vN`)
//!   whose major its range serves; other spellings (`1.2.3`) get only the top-level checks.
//! - Kinds: `kind` lists the known kinds as `examples` (completion), not as an `enum`: a
//!   handler added since the schema was written is not an error in the editor.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::registry::HandlerRegistry;
use super::schema::{Field, Schema, Type, node_json};

/// The kinds of documents ordo reads from manifest files itself, not through handlers.
pub const DATA_KINDS: [&str; 4] = ["Values", "Inventory", "Project", "HandlerTest"];

/// Majors tried when a kind's handlers must be told apart by version.
const MAJORS: std::ops::RangeInclusive<u64> = 0..=20;

/// The JSON Schema of manifest files for the handlers in `registry` (every handler
/// prepared, so that bundled schemas are known).
pub fn manifest_schema(registry: &HandlerRegistry) -> Value {
    let mut kinds: BTreeMap<String, ()> = BTreeMap::new();
    for h in registry.handlers() {
        for r in &h.registrations {
            kinds.insert(r.full_kind(), ());
        }
    }
    let schema_of = |index: usize| -> Option<Value> {
        let compiled = registry.get(index).compiled().ok()?;
        compiled.schema.as_deref().map(spec_schema)
    };
    let mut rules = vec![data_kinds_rule()];
    for kind in kinds.keys() {
        // Which handler serves each major version (user handlers beat bundled ones).
        let served: Vec<(u64, usize)> = MAJORS
            .filter_map(|m| Some((m, registry.resolve(kind, &format!("v{m}")).ok()?)))
            .collect();
        let mut distinct: Vec<usize> = served.iter().map(|&(_, h)| h).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.is_empty() {
            // A range beyond the majors tried: its one handler, if there is one.
            distinct = registry
                .handlers()
                .iter()
                .enumerate()
                .filter(|(_, h)| h.registrations.iter().any(|r| &r.full_kind() == kind))
                .map(|(i, _)| i)
                .collect();
        }
        match distinct.as_slice() {
            [one] => {
                if let Some(spec) = schema_of(*one) {
                    rules.push(rule(kind_is(kind, None), spec));
                }
            }
            several => {
                for &h in several {
                    let majors: Vec<u64> = served
                        .iter()
                        .filter(|&&(_, x)| x == h)
                        .map(|&(m, _)| m)
                        .collect();
                    if let (Some(spec), false) = (schema_of(h), majors.is_empty()) {
                        rules.push(rule(kind_is(kind, Some(&majors)), spec));
                    }
                }
            }
        }
    }
    let known: Vec<Value> = kinds
        .keys()
        .map(|k| Value::from(k.as_str()))
        .chain(DATA_KINDS.iter().map(|&k| Value::from(k)))
        .collect();
    let version = json!({
        "type": ["string", "integer"],
        "description": "The manifest's version: `v1`, `v1.2`, `1.2.3`, `v1beta1` or `group/v2`; the handler registered for a range of them serves it",
        "examples": ["v1"],
    });
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "ordo manifest",
        "description": "A document of an ordo manifest file (written by `ordo schema`; refresh it when handlers change)",
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {
                "type": "string",
                "pattern": "^\\S+$",
                "description": "What the manifest is; the handler registered for this kind serves it",
                "examples": known,
            },
            "version": version,
            "apiVersion": {
                "type": ["string", "integer"],
                "description": "Another name for `version` (give one of them)",
            },
            "metadata": {"type": "object"},
            "spec": {"description": "What the handler of this kind is given as `m.spec`"},
        },
        "additionalProperties": false,
        "oneOf": [{"required": ["version"]}, {"required": ["apiVersion"]}],
        "allOf": rules,
        "definitions": {
            "metadata": metadata_schema(),
            "tagged": {
                "description": "`!Sub [template, {name: value}]`: text made from values",
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": [{"type": "string"}, {"type": "object"}],
            },
        },
    })
}

/// `if` the document's kind is `kind` (and, given `majors`, its version one of them)
/// `then` its spec is `spec`.
fn rule(condition: Value, spec: Value) -> Value {
    json!({"if": condition, "then": {"properties": {"spec": spec}}})
}

/// The condition "this document is of `kind`" (`group/Kind`, or `Kind` with version
/// `group/vN`), at one of `majors` when given.
fn kind_is(kind: &str, majors: Option<&[u64]>) -> Value {
    let (group, bare) = match kind.rsplit_once('/') {
        Some((g, k)) => (Some(g), k),
        None => (None, kind),
    };
    let numbers = majors.map(|ms| ms.iter().map(u64::to_string).collect::<Vec<_>>().join("|"));
    let version = |group_part: &str| -> Option<Value> {
        let major = match &numbers {
            Some(n) => format!("v(?:{n})(?:(?:alpha|beta|rc)[0-9]*)?$"),
            None if group_part.is_empty() => return None,
            None => String::new(),
        };
        let pattern = format!("^{group_part}{major}");
        Some(json!({"anyOf": [
            {"required": ["version"], "properties": {"version": {"type": "string", "pattern": pattern}}},
            {"required": ["apiVersion"], "properties": {"apiVersion": {"type": "string", "pattern": pattern}}},
        ]}))
    };
    let with = |kind: &str, version: Option<Value>| {
        let mut c = json!({"required": ["kind"], "properties": {"kind": {"const": kind}}});
        if let (Some(v), Some(map)) = (version, c.as_object_mut()) {
            map.insert("allOf".into(), json!([v]));
        }
        c
    };
    match group {
        None => with(kind, version("")),
        Some(g) => {
            let escaped = regex_escape(g);
            json!({"anyOf": [
                with(kind, version(&format!("(?:{escaped}/)?"))),
                with(bare, version(&format!("{escaped}/"))),
            ]})
        }
    }
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `Values`, `Inventory`, `Project` and `HandlerTest` documents have their own formats,
/// checked by ordo; every other document has the manifest `metadata`.
fn data_kinds_rule() -> Value {
    json!({
        "if": {"required": ["kind"], "properties": {"kind": {"enum": DATA_KINDS}}},
        "then": {"properties": {"metadata": {"type": "object"}, "spec": {"type": ["object", "null"]}}},
        "else": {"required": ["metadata"], "properties": {"metadata": {"$ref": "#/definitions/metadata"}}},
    })
}

/// A list of names (`[web, db]`).
fn names(description: &str) -> Value {
    json!({"type": ["array", "null"], "items": {"type": "string"}, "description": description})
}

/// Seconds as a number, or text with units (`90s`, `5m`, `1h30m`).
fn seconds(description: &str) -> Value {
    json!({"type": ["number", "string", "null"], "description": description})
}

/// `metadata` of a manifest, as [`crate::manifest`] checks it.
fn metadata_schema() -> Value {
    json!({
        "type": "object",
        "required": ["name"],
        "additionalProperties": false,
        "properties": {
            "name": {
                "type": "string",
                "pattern": "^[A-Za-z0-9._-]+$",
                "description": "Unique in the run: letters, digits, `.`, `_`, `-`",
            },
            "labels": {
                "type": ["object", "null"],
                "additionalProperties": {"type": "string"},
                "description": "For `--selector`; values are text (quote `\"1.10\"`)",
            },
            "annotations": {"type": ["object", "null"], "description": "Free-form notes"},
            "description": {"type": ["string", "null"]},
            "environments": names("The environments this manifest is in (absent: every one)"),
            "dependencies": {
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "apply": names("Applied before this manifest (and deleted after it)"),
                    "delete": names("Also processed before this manifest during delete"),
                },
            },
            "skipApplyAll": {"type": ["boolean", "null"], "description": "Apply only when an applied manifest depends on this one"},
            "skipDeleteAll": {"type": ["boolean", "null"], "description": "Delete only when a deleted manifest lists this one under dependencies.delete"},
            "actionOverrides": {
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "apply": {"enum": ["apply", "delete"]},
                    "delete": {"enum": ["apply", "delete"]},
                },
                "description": "Run the other action's logic: `{delete: apply}`",
            },
            "timeout": seconds("Wall-clock limit of one handler call: seconds, or `90s`, `5m`, `1h30m`"),
            "retries": {"type": ["integer", "null"], "minimum": 0, "maximum": 100, "description": "Tries again after a failure"},
            "retryDelay": seconds("Wait between tries"),
            "hosts": {
                "type": ["array", "string", "null"],
                "items": {"type": "string"},
                "description": "Host patterns of the inventory: names, groups, globs, `!excluded`",
            },
            "serial": {
                "type": ["integer", "string", "null"],
                "minimum": 1,
                "pattern": "^\\s*[0-9]+\\s*%$",
                "description": "Hosts at once: a number, or a share such as \"30%\" (needs `hosts`)",
            },
            "maxFailPercent": {"type": ["integer", "null"], "minimum": 0, "maximum": 100, "description": "Share of hosts that may fail before the rest stop (needs `hosts`)"},
            "rollback": {"enum": ["auto", "newOnly", "never", null], "description": "How `apply --rollback-on-failure` undoes this manifest"},
            "drift": {"enum": ["correct", "warn", "ignore", null], "description": "What `ordo watch` does when the spec is unchanged but `check` says work is needed"},
            "verify": {"enum": ["required", "advisory", null], "description": "`advisory`: a failed verify only warns"},
        },
    })
}

/// A spec schema: a map of the declared fields, nothing else.
pub fn spec_schema(schema: &Schema) -> Value {
    let mut out = object(schema);
    // `spec:` left empty is `{}`; it can be only when nothing is required.
    if !schema.fields.values().any(|f| f.required)
        && let Some(map) = out.as_object_mut()
    {
        map.insert("type".into(), json!(["object", "null"]));
    }
    out
}

fn object(schema: &Schema) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, field) in &schema.fields {
        properties.insert(name.clone(), field_schema(field, !field.required));
        if field.required {
            required.push(Value::from(name.as_str()));
        }
    }
    let mut out =
        json!({"type": "object", "properties": properties, "additionalProperties": false});
    if let (false, Some(map)) = (required.is_empty(), out.as_object_mut()) {
        map.insert("required".into(), Value::Array(required));
    }
    out
}

/// One field; `nullable`: a map entry written empty, which counts as left out.
fn field_schema(field: &Field, nullable: bool) -> Value {
    let mut branches: Vec<Value> = field.types.iter().map(|&t| type_schema(field, t)).collect();
    let any = field.types.contains(&Type::Any);
    let text = field.types.contains(&Type::String);
    if !any {
        // What an editor sees of a tag (see the module doc).
        if !text {
            branches.push(json!({"type": "string"}));
        }
        if field.enumeration.is_none() || !text {
            branches.push(json!({"$ref": "#/definitions/tagged"}));
        }
        if nullable {
            branches.push(json!({"type": "null"}));
        }
    }
    let mut out = match (any, branches.len()) {
        (true, _) => Map::new(),
        (false, 1) => match branches.pop() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        },
        _ => {
            let mut m = Map::new();
            m.insert("anyOf".into(), Value::Array(branches));
            m
        }
    };
    if let Some(about) = &field.about {
        out.insert("description".into(), about.clone().into());
    }
    if let Some(d) = &field.default {
        out.insert("default".into(), node_json(d));
    }
    Value::Object(out)
}

fn type_schema(field: &Field, t: Type) -> Value {
    let mut out = match t {
        Type::String => json!({"type": "string"}),
        Type::Int => json!({"type": "integer"}),
        Type::Float => json!({"type": "number"}),
        Type::Bool => json!({"type": "boolean"}),
        Type::List => {
            let items = field
                .items
                .as_deref()
                .map_or_else(|| json!({}), |i| field_schema(i, false));
            json!({"type": "array", "items": items})
        }
        Type::Map => match &field.fields {
            Some(fields) => object(fields),
            None => json!({"type": "object"}),
        },
        Type::Any => json!({}),
    };
    if let (Some(values), Some(map)) = (&field.enumeration, out.as_object_mut()) {
        let allowed: Vec<Value> = values.iter().map(node_json).collect();
        map.insert("enum".into(), Value::Array(allowed));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_every_key_ordo_accepts() {
        let schema = metadata_schema();
        let mut listed: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        listed.sort_unstable();
        let mut accepted = crate::manifest::METADATA_KEYS.to_vec();
        accepted.sort_unstable();
        assert_eq!(listed, accepted);
    }

    #[test]
    fn a_group_is_escaped_in_version_patterns() {
        assert_eq!(regex_escape("example.com"), "example\\.com");
    }
}
