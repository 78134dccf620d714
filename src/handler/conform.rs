//! Checking a manifest's `spec` against its handler's [`Schema`], and filling in defaults.
//!
//! At load ([`check_spec`]) on the YAML tree, after `!Value`, `!Env` and `!Sub` of values
//! are resolved, so each problem is at the offending key's or value's place in the file:
//! a wrong type, a missing required field, a value not in `enum`, an unknown key (with a
//! "did you mean"). Values keep their meaning: an `int` field refuses `2.5`, `2.0` and
//! `1e300` (ordo never turns a float into an integer), a `float` field takes `2` as `2.0`,
//! a `string` field refuses an unquoted number or boolean. Defaults go into the tree, so
//! the handler, the state and `plan`'s diff all see the spec the handler works with.
//!
//! What is known only when the manifest runs (a `!Variable`, a `!Sub` using one) is checked
//! then ([`check_resolved`]), on the resolved value, failing that manifest.

use std::collections::HashSet;

use rhai::Dynamic;

use super::schema::{Field, Schema, Type, data_node};
use crate::diagnostic::did_you_mean;
use crate::manifest::{Entry, Mark, Node, Value, node_to_dynamic};

/// One way a value breaks a schema.
#[derive(Debug, Clone)]
pub struct Problem {
    pub mark: Mark,
    pub message: String,
    pub help: Option<String>,
    /// The field's `about`, when the problem is its value.
    pub about: Option<String>,
}

/// Checks a manifest's `spec` (the tree, at load) and fills in defaults. Values known only
/// at run time are left to [`check_resolved`].
pub fn check_spec(schema: &Schema, spec: &mut Node, problems: &mut Vec<Problem>) {
    if is_deferred(spec) {
        return;
    }
    if spec.is_null() {
        spec.value = Value::Map(Vec::new());
    }
    if !matches!(spec.value, Value::Map(_)) {
        problems.push(Problem {
            mark: spec.mark,
            message: format!("`spec` must be a mapping, not {}", describe(spec)),
            help: None,
            about: None,
        });
        return;
    }
    check_map(schema, spec, "spec", problems);
}

/// A `!Variable`, or a `!Sub` that uses one: resolved only when the manifest runs.
fn is_deferred(node: &Node) -> bool {
    matches!(&node.value, Value::Tagged(t) if t.tag == "!Variable" || t.tag == "!Sub")
}

fn child(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

/// Checks the entries of the mapping `node` against `schema`; fills in defaults.
fn check_map(schema: &Schema, node: &mut Node, path: &str, problems: &mut Vec<Problem>) {
    let mark = node.mark;
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let mut present: HashSet<String> = HashSet::with_capacity(entries.len());
    for entry in entries.iter_mut() {
        let here = child(path, &entry.key);
        match schema.fields.get(&entry.key) {
            Some(field) => {
                if !entry.value.is_null() {
                    present.insert(entry.key.clone());
                    check_value(field, &mut entry.value, &here, problems);
                }
            }
            None => {
                let hint = did_you_mean(&entry.key, schema.fields.keys().map(String::as_str))
                    .map(|s| format!("; did you mean `{}`?", child(path, s)))
                    .unwrap_or_default();
                problems.push(Problem {
                    mark: entry.key_mark,
                    message: format!("unknown field `{here}`{hint}"),
                    help: Some(fields_help(schema)),
                    about: None,
                });
            }
        }
    }
    for (name, field) in &schema.fields {
        if present.contains(name) {
            continue;
        }
        let written = entries.iter_mut().find(|e| &e.key == name);
        match (&field.default, written) {
            (Some(default), Some(entry)) => {
                entry.value = at_mark(default, entry.value.mark);
            }
            (Some(default), None) => entries.push(Entry {
                key: name.clone(),
                key_mark: mark,
                value: at_mark(default, mark),
            }),
            (None, written) if field.required => {
                let types = super::schema::type_words(field);
                let (at, empty, help) = match written {
                    Some(e) => (
                        e.key_mark,
                        " (it is empty)",
                        format!("give `{name}:` a value ({types})"),
                    ),
                    None => (mark, "", format!("add `{name}:` ({types})")),
                };
                problems.push(Problem {
                    mark: at,
                    message: format!("`{}` is required{empty}", child(path, name)),
                    help: Some(help),
                    about: field.about.clone(),
                });
            }
            (None, _) => {}
        }
    }
}

/// The default, placed where it stands in for what was not written.
fn at_mark(default: &Node, mark: Mark) -> Node {
    fn walk(node: &mut Node, mark: Mark) {
        node.mark = mark;
        match &mut node.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| walk(n, mark)),
            Value::Map(entries) => entries.iter_mut().for_each(|e| {
                e.key_mark = mark;
                walk(&mut e.value, mark);
            }),
            _ => {}
        }
    }
    // Defaults are data from `data_node`, bounded in depth.
    let mut node = default.clone();
    walk(&mut node, mark);
    node
}

fn fields_help(schema: &Schema) -> String {
    let names: Vec<&str> = schema.fields.keys().map(String::as_str).take(30).collect();
    let more = schema.fields.len().saturating_sub(names.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    if names.is_empty() {
        "the schema declares no fields here".into()
    } else {
        format!("the fields are: {}{more}", names.join(", "))
    }
}

/// Checks one value against its field (and what it holds against `fields`/`items`); an
/// `int` given to a `float` field becomes the float.
pub fn check_value(field: &Field, node: &mut Node, path: &str, problems: &mut Vec<Problem>) {
    if is_deferred(node) {
        return;
    }
    let mark = node.mark;
    let found = describe(node);
    let mismatch = |hint: Option<String>| {
        (
            format!("`{path}` must be {}, not {found}", expected(field)),
            hint,
        )
    };
    let wrong: Option<(String, Option<String>)> = match &node.value {
        Value::Null => (!field.accepts(Type::Any)).then(|| mismatch(None)),
        Value::Bool(_) => (!field.accepts(Type::Bool)).then(|| {
            mismatch(
                field
                    .accepts(Type::String)
                    .then(|| "quote it as written to make it text".into()),
            )
        }),
        Value::Int(i) => {
            if field.accepts(Type::Int) {
                None
            } else if field.accepts(Type::Float) {
                match exact_float(*i) {
                    Some(f) => {
                        node.value = Value::Float(f);
                        None
                    }
                    None => Some((
                        format!("`{path}` must be a float, and {i} has no exact float"),
                        Some("write it as a float (`1e19`) if a rounded value is meant".into()),
                    )),
                }
            } else {
                Some(mismatch(
                    field
                        .accepts(Type::String)
                        .then(|| "quote it as written to make it text".to_string()),
                ))
            }
        }
        Value::Float(f) => {
            if field.accepts(Type::Float) {
                None
            } else if field.accepts(Type::Int) {
                let hint = if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                    format!(
                        "write the whole number without a point (`{}`): ordo never turns a float into an int",
                        crate::manifest::float_text(*f).trim_end_matches(".0")
                    )
                } else {
                    "an int is a whole number from -9223372036854775808 to 9223372036854775807"
                        .into()
                };
                Some(mismatch(Some(hint)))
            } else {
                Some(mismatch(
                    field
                        .accepts(Type::String)
                        .then(|| "quote it as written to make it text".into()),
                ))
            }
        }
        Value::String(s) => (!field.accepts(Type::String)).then(|| {
            let scalar = s.parse::<f64>().is_ok() || matches!(s.as_str(), "true" | "false");
            mismatch(scalar.then(|| "write it unquoted: a quoted value is text".to_string()))
        }),
        Value::Seq(_) => (!field.accepts(Type::List)).then(|| mismatch(None)),
        Value::Map(_) => (!field.accepts(Type::Map)).then(|| mismatch(None)),
        Value::Tagged(t) => (!field.accepts(Type::Map) || field.fields.is_some()).then(|| {
            (
                format!(
                    "`{path}` must be {}, not a `{}` tag (which reaches the handler as the map `#{{ tag, value }}`)",
                    expected(field),
                    t.tag
                ),
                None,
            )
        }),
    };
    if let Some((message, help)) = wrong {
        problems.push(Problem {
            mark,
            message,
            help,
            about: field.about.clone(),
        });
        return;
    }
    if let (Value::Seq(items), Some(item)) = (&mut node.value, &field.items) {
        for (i, n) in items.iter_mut().enumerate() {
            check_value(item, n, &format!("{path}[{i}]"), problems);
        }
    }
    if let (true, Some(fields)) = (matches!(node.value, Value::Map(_)), &field.fields) {
        check_map(fields, node, path, problems);
    }
    if let Some(allowed) = &field.enumeration
        && !allowed.iter().any(|a| same(&a.value, &node.value))
    {
        let texts: Vec<String> = allowed.iter().map(|a| value_text(&a.value)).collect();
        let hint = node
            .as_str()
            .and_then(|s| {
                let strings: Vec<&str> = allowed.iter().filter_map(Node::as_str).collect();
                did_you_mean(s, strings)
            })
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        problems.push(Problem {
            mark: node.mark,
            message: format!(
                "`{path}` is {}, not one of {}{hint}",
                describe(node),
                texts
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            help: None,
            about: field.about.clone(),
        });
    }
}

/// `i` as a float, when the float is exactly `i` (up to 2^53).
#[expect(
    clippy::cast_precision_loss,
    reason = "only integers of at most 53 bits are converted, which floats hold exactly"
)]
fn exact_float(i: i64) -> Option<f64> {
    (i.unsigned_abs() <= 1 << 53).then_some(i as f64)
}

/// Equal as data (marks aside); numbers compare by value (`2` and `2.0` differ only when
/// the field keeps both apart, which a checked value never does).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(&p.value, &q.value))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|e| {
                    y.iter()
                        .any(|f| f.key == e.key && same(&e.value.value, &f.value.value))
                })
        }
        (Value::Float(x), Value::Float(y)) => x == y,
        _ => a == b,
    }
}

/// `a string`, `an int or a list`.
fn expected(field: &Field) -> String {
    let names: Vec<&str> = field
        .types
        .iter()
        .map(|t| match t {
            Type::String => "a string",
            Type::Int => "an int (a whole number)",
            Type::Float => "a float (a number)",
            Type::Bool => "a bool (true or false)",
            Type::List => "a list",
            Type::Map => "a map",
            Type::Any => "anything",
        })
        .collect();
    names.join(" or ")
}

/// The longest value shown in a message; a longer one is named by its type only (never cut:
/// a cut secret would escape the masking of its whole text).
const SHOWN: usize = 60;

fn describe(node: &Node) -> String {
    let shown = |kind: &str, text: String| {
        if text.chars().count() <= SHOWN && !text.contains('\n') {
            format!("the {kind} `{text}`")
        } else {
            format!("a {kind}")
        }
    };
    match &node.value {
        Value::Null => "null (nothing)".into(),
        Value::Bool(b) => shown("bool", b.to_string()),
        Value::Int(i) => shown("int", i.to_string()),
        Value::Float(f) => shown("float", crate::manifest::float_text(*f)),
        Value::String(s) => shown("string", s.clone()),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a map".into(),
        Value::Tagged(t) => format!("a `{}` tag", t.tag),
    }
}

fn value_text(v: &Value) -> String {
    v.text().unwrap_or_else(|| "…".into())
}

/// Checks, when the manifest runs, what the load could not: the values of `!Variable`s
/// (and `!Sub`s using them) in `spec`, resolved into `value` (what the handler gets as
/// `m.spec`); an `int` for a `float` field becomes the float, and an empty value takes the
/// field's default.
pub fn check_resolved(schema: &Schema, node: &Node, value: &mut Dynamic) -> Vec<Problem> {
    let mut problems = Vec::new();
    let top = Field {
        types: vec![Type::Map],
        required: false,
        default: None,
        enumeration: None,
        about: None,
        fields: Some(schema.clone()),
        items: None,
    };
    if is_deferred(node) {
        resolved_value(&top, node, value, "spec", &mut problems);
    } else {
        resolved_map(schema, node, value, "spec", &mut problems);
    }
    problems
}

fn resolved_map(
    schema: &Schema,
    node: &Node,
    value: &mut Dynamic,
    path: &str,
    problems: &mut Vec<Problem>,
) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    let Some(mut map) = value.write_lock::<rhai::Map>() else {
        return;
    };
    for e in entries {
        if let (Some(field), Some(v)) = (schema.fields.get(&e.key), map.get_mut(e.key.as_str())) {
            resolved_value(field, &e.value, v, &child(path, &e.key), problems);
        }
    }
}

fn resolved_value(
    field: &Field,
    node: &Node,
    value: &mut Dynamic,
    path: &str,
    problems: &mut Vec<Problem>,
) {
    if let Value::Tagged(t) = &node.value
        && is_deferred(node)
    {
        let from = match t.node.as_str() {
            Some(name) if t.tag == "!Variable" => format!("`!Variable {name}`"),
            _ => format!("`{}`", t.tag),
        };
        let Some(mut resolved) = data_node(value, node.mark, 0) else {
            return;
        };
        if resolved.is_null() {
            if let Some(d) = &field.default {
                *value = node_to_dynamic(d);
            } else if field.required {
                problems.push(Problem {
                    mark: node.mark,
                    message: format!("`{path}` is required, and {from} is empty"),
                    help: None,
                    about: field.about.clone(),
                });
            }
            return;
        }
        let before = problems.len();
        check_value(field, &mut resolved, path, problems);
        for p in problems.iter_mut().skip(before) {
            p.message = format!("{} (the value of {from})", p.message);
        }
        *value = node_to_dynamic(&resolved);
        return;
    }
    match &node.value {
        Value::Map(_) => {
            if let Some(fields) = &field.fields {
                resolved_map(fields, node, value, path, problems);
            }
        }
        Value::Seq(items) => {
            let (Some(item), Some(mut array)) = (&field.items, value.write_lock::<rhai::Array>())
            else {
                return;
            };
            for (i, (n, v)) in items.iter().zip(array.iter_mut()).enumerate() {
                resolved_value(item, n, v, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}
