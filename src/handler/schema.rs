//! [`Schema`]: what a handler's `schema(#{...})` declares about its `spec` (DESIGN §11).
//!
//! The top level of a handler calls `schema(#{ field: #{ type, required, "default", enum,
//! about, fields, items } })`; the map is read here into typed [`Field`]s, and the
//! declaration itself is checked: unknown keys in a field description, bad type names, a
//! default or enum value that does not fit its own field are errors at their place in the
//! script. Where they are is found by reading the call's map literal in the script text
//! ([`places`]); a schema built by code (from variables) is reported at the call.
//!
//! Checking manifests against a schema is [`super::conform`]'s job.

use std::collections::HashMap;

use indexmap::IndexMap;
use rhai::{Dynamic, Position};

use crate::diagnostic::did_you_mean;
use crate::manifest::{Entry, Mark, Node, Value};

/// How deep `fields` and `items` may nest. A schema deeper than that (built by a loop,
/// say) is refused when the handler loads, so no walk over a schema or a spec goes deeper.
pub const MAX_DEPTH: usize = 32;

/// How many field descriptions one schema may hold, nested ones included: a schema built
/// by a loop cannot make every manifest's check slow.
pub const MAX_FIELDS: usize = 10_000;

/// The keys of a field description.
pub const FIELD_KEYS: [&str; 7] = [
    "type", "required", "default", "enum", "about", "fields", "items",
];

/// A type a field may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Int,
    Float,
    Bool,
    List,
    Map,
    Any,
}

impl Type {
    pub const ALL: [Type; 7] = [
        Type::String,
        Type::Int,
        Type::Float,
        Type::Bool,
        Type::List,
        Type::Map,
        Type::Any,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Int => "int",
            Type::Float => "float",
            Type::Bool => "bool",
            Type::List => "list",
            Type::Map => "map",
            Type::Any => "any",
        }
    }

    fn parse(name: &str) -> Option<Type> {
        Type::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// What a handler's `schema(#{...})` declares: the fields of `spec`, in the order written.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub fields: IndexMap<String, Field>,
}

/// One field of a spec (or of a nested map, or a list's elements).
#[derive(Clone, Debug)]
pub struct Field {
    /// The types it may have (one, or several written as a list); never empty.
    pub types: Vec<Type>,
    pub required: bool,
    /// Filled in when the manifest leaves the field out (or writes it empty).
    pub default: Option<Node>,
    /// The values it may take.
    pub enumeration: Option<Vec<Node>>,
    pub about: Option<String>,
    /// A map's fields: known keys, each checked; others refused. `None`: a free-form map.
    pub fields: Option<Schema>,
    /// A list's elements.
    pub items: Option<Box<Field>>,
}

impl Field {
    /// Whether the field accepts values of type `t` (`any` accepts everything).
    pub fn accepts(&self, t: Type) -> bool {
        self.types.iter().any(|&x| x == t || x == Type::Any)
    }

    /// `string`, or `string | list`.
    pub fn type_text(&self) -> String {
        self.types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The field as JSON, for `ordo handlers -o json` and `ordo explain -o json`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        let types: Vec<&str> = self.types.iter().map(|t| t.as_str()).collect();
        out.insert(
            "type".into(),
            match types.as_slice() {
                [one] => (*one).into(),
                _ => types.into(),
            },
        );
        out.insert("required".into(), self.required.into());
        if let Some(d) = &self.default {
            out.insert("default".into(), node_json(d));
        }
        if let Some(e) = &self.enumeration {
            out.insert("enum".into(), e.iter().map(node_json).collect());
        }
        if let Some(a) = &self.about {
            out.insert("about".into(), a.clone().into());
        }
        if let Some(f) = &self.fields {
            out.insert("fields".into(), f.to_json());
        }
        if let Some(i) = &self.items {
            out.insert("items".into(), i.to_json());
        }
        serde_json::Value::Object(out)
    }
}

impl Schema {
    /// `{"field": {...}, ...}` in declaration order.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.fields
                .iter()
                .map(|(k, f)| (k.clone(), f.to_json()))
                .collect(),
        )
    }

    /// The field at a dotted path (`source.type`; `items` of a list is `[]`:
    /// `extraHeaders[].name`), with the path's parts as written.
    pub fn find(&self, path: &str) -> Option<&Field> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut field = self.lookup(first)?;
        for part in parts {
            field = descend(field, part)?;
        }
        Some(field)
    }

    fn lookup(&self, part: &str) -> Option<&Field> {
        let (name, items) = match part.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (part, false),
        };
        let f = self.fields.get(name)?;
        if items { f.items.as_deref() } else { Some(f) }
    }
}

fn descend<'a>(field: &'a Field, part: &str) -> Option<&'a Field> {
    field.fields.as_ref()?.lookup(part)
}

/// The schema as a Markdown table, one row per field (nested ones as `a.b`, list elements'
/// as `a[].b`): the tables of `handlers/README.md`, which a test compares with this.
pub fn markdown_table(schema: &Schema) -> String {
    let mut out = String::from("| field | type | default | meaning |\n|---|---|---|---|\n");
    rows(schema, "", &mut out);
    out
}

fn rows(schema: &Schema, prefix: &str, out: &mut String) {
    for (name, field) in &schema.fields {
        let path = format!("{prefix}{name}");
        let default = if field.required {
            "required".to_string()
        } else {
            field
                .default
                .as_ref()
                .map_or_else(|| "—".to_string(), |d| format!("`{}`", flow_text(d)))
        };
        let about = field.about.as_deref().unwrap_or("").replace('|', "\\|");
        out.push_str(&format!(
            "| `{path}` | {} | {default} | {about} |\n",
            type_cell(field)
        ));
        if let Some(f) = &field.fields {
            rows(f, &format!("{path}."), out);
        }
        if let Some(item) = &field.items
            && let Some(f) = &item.fields
        {
            rows(f, &format!("{path}[]."), out);
        }
    }
}

/// `string`, `` `a` \| `b` `` for an enum, `list of int`, `string or list of string`.
pub fn type_cell(field: &Field) -> String {
    if let Some(values) = &field.enumeration {
        return values
            .iter()
            .map(|v| format!("`{}`", flow_text(v)))
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    type_words(field)
}

/// A field's type in words, the one rendering `ordo explain`, `ordo new manifest` and the
/// errors use: `string`, `list of int`, `list of map`, `string or list of string`.
pub fn type_words(field: &Field) -> String {
    field
        .types
        .iter()
        .map(|t| match (t, &field.items) {
            (Type::List, Some(item)) if item.fields.is_none() => {
                format!(
                    "list of {}",
                    item.types
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            }
            (Type::List, Some(_)) => "list of map".to_string(),
            _ => t.as_str().to_string(),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A value as YAML flow text: `exit 0`, `[200]`, `{type: inline}`.
pub fn flow_text(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|e| {
                    let key = if e.key.chars().any(char::is_control) {
                        serde_json::Value::from(e.key.as_str()).to_string()
                    } else {
                        e.key.to_string()
                    };
                    format!("{key}: {}", flow_text(&e.value))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::String(s) if s.is_empty() => "\"\"".into(),
        // Quoted, with escapes, where the text would not read back as itself on one line.
        Value::String(s) if s.trim() != s || s.chars().any(char::is_control) => {
            serde_json::Value::from(s.as_str()).to_string()
        }
        v => v.text().unwrap_or_default(),
    }
}

/// A node as JSON (defaults and enum values: plain data).
pub fn node_json(node: &Node) -> serde_json::Value {
    crate::script::convert::dynamic_to_json(&crate::manifest::node_to_dynamic(node))
}

/// Where the parts of a `schema(#{...})` literal are in the script: each key's position and
/// its value's, by the path of keys from the top (`["who", "type"]`).
#[derive(Debug, Default)]
pub struct Places {
    keys: HashMap<Vec<String>, Position>,
    values: HashMap<Vec<String>, Position>,
    /// The keys of each map of the literal, in the order written, by the map's path.
    order: HashMap<Vec<String>, Vec<String>>,
}

impl Places {
    fn key(&self, path: &[String]) -> Option<Position> {
        self.keys.get(path).copied()
    }

    fn value(&self, path: &[String]) -> Option<Position> {
        self.values.get(path).copied()
    }
}

/// Reads the map literal of the first top-level `schema(...)` call in `text`, for
/// positions. Parsed apart, without optimisation, so the literal is still there (the run's
/// engine folds a constant map into one value, positions gone).
pub fn places(text: &str) -> Places {
    let mut engine = rhai::Engine::new_raw();
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    // The depths the run's engine allows (a debug build's raw engine allows less): the
    // handler compiled there, so it parses here.
    let limits = crate::script::ScriptLimits::default();
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth);
    let mut places = Places::default();
    let Ok(ast) = engine.compile(text) else {
        return places;
    };
    for stmt in ast.statements() {
        let call = match stmt {
            rhai::Stmt::FnCall(call, _) => call,
            rhai::Stmt::Expr(e) => match &**e {
                rhai::Expr::FnCall(call, _) => call,
                _ => continue,
            },
            _ => continue,
        };
        if call.name.as_str() != "schema" || !call.namespace.is_empty() {
            continue;
        }
        if let Some(arg) = call.args.first() {
            walk_literal(arg, &mut Vec::new(), &mut places);
        }
        break;
    }
    places
}

fn walk_literal(expr: &rhai::Expr, path: &mut Vec<String>, places: &mut Places) {
    // The literal is as deep as the parser allowed (its expression depth limit).
    if path.len() > 2 * MAX_DEPTH + 4 {
        return;
    }
    if let rhai::Expr::Map(map, _) = expr {
        places.order.insert(
            path.clone(),
            map.0.iter().map(|(i, _)| i.name.to_string()).collect(),
        );
        for (ident, value) in &map.0 {
            path.push(ident.name.to_string());
            places.keys.insert(path.clone(), ident.pos);
            places.values.insert(path.clone(), value.position());
            walk_literal(value, path, places);
            path.pop();
        }
    }
}

/// A problem in a schema declaration: what, and where (a path of keys into the literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationError {
    pub message: String,
    /// The keys leading to the problem; empty for the call itself.
    pub path: Vec<String>,
    /// Whether the problem is the value at `path` (a bad type name) rather than its key.
    pub at_value: bool,
}

impl DeclarationError {
    /// Where it is in the script, given the literal's places and the call's position.
    pub fn position(&self, places: &Places, call: Position) -> Position {
        let found = if self.at_value {
            places.value(&self.path)
        } else {
            places.key(&self.path)
        };
        found
            .or_else(|| {
                // The nearest enclosing part that is in the literal.
                (1..self.path.len())
                    .rev()
                    .find_map(|n| places.key(self.path.get(..n)?))
            })
            .unwrap_or(call)
    }
}

/// Reads a `schema(#{...})` argument. Every problem is reported, not just the first.
pub fn declare(value: &Dynamic, places: &Places) -> Result<Schema, Vec<DeclarationError>> {
    let mut errors = Vec::new();
    let Some(map) = value.read_lock::<rhai::Map>() else {
        return Err(vec![DeclarationError {
            message: format!(
                "`schema` takes a map of field descriptions, like `schema(#{{ path: #{{ type: \"string\", required: true }} }})`, not {}",
                value.type_name()
            ),
            path: Vec::new(),
            at_value: false,
        }]);
    };
    let mut count = 0;
    let mut schema = fields(&map, &mut Vec::new(), 0, &mut count, &mut errors);
    order(&mut schema, &mut Vec::new(), places);
    if errors.is_empty() {
        Ok(schema)
    } else {
        Err(errors)
    }
}

fn fields(
    map: &rhai::Map,
    path: &mut Vec<String>,
    depth: usize,
    count: &mut usize,
    errors: &mut Vec<DeclarationError>,
) -> Schema {
    let mut schema = Schema::default();
    for (name, desc) in map {
        *count += 1;
        if *count > MAX_FIELDS {
            if *count == MAX_FIELDS + 1 {
                errors.push(DeclarationError {
                    message: format!(
                        "schema: more than {MAX_FIELDS} fields are declared (nested ones included)"
                    ),
                    path: Vec::new(),
                    at_value: false,
                });
            }
            break;
        }
        path.push(name.to_string());
        if let Some(why) = bad_field_name(name) {
            errors.push(DeclarationError {
                message: format!(
                    "schema: the field name {} {why}: `ordo explain KIND.a.b[]` and editors address fields by name",
                    printable_name(name)
                ),
                path: path.clone(),
                at_value: false,
            });
            path.pop();
            continue;
        }
        if let Some(field) = field(desc, path, depth, count, false, errors) {
            schema.fields.insert(name.to_string(), field);
        }
        path.pop();
    }
    schema
}

/// Why `name` cannot name a field, if it cannot: a field name is not empty, has no `.`,
/// `[` or `]` (the path syntax of `ordo explain` and of error messages), no control
/// characters and no space at either end.
fn bad_field_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.contains(['.', '[', ']']) {
        Some("holds `.`, `[` or `]`")
    } else if name.chars().any(char::is_control) {
        Some("holds a control character")
    } else if name.trim() != name {
        Some("starts or ends with a space")
    } else {
        None
    }
}

/// A name for an error message: quoted, control characters escaped.
fn printable_name(name: &str) -> String {
    format!("{name:?}")
}

/// Puts the fields in the order the literal writes them (a Rhai map is sorted by key);
/// fields the literal does not show (built by code) stay sorted, after those.
fn order(schema: &mut Schema, path: &mut Vec<String>, places: &Places) {
    if let Some(written) = places.order.get(path.as_slice()) {
        let rank = |k: &str| written.iter().position(|w| w == k).unwrap_or(usize::MAX);
        schema
            .fields
            .sort_by(|a, _, b, _| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    }
    for (name, field) in &mut schema.fields {
        path.push(name.clone());
        order_field(field, path, places);
        path.pop();
    }
}

fn order_field(field: &mut Field, path: &mut Vec<String>, places: &Places) {
    if let Some(f) = &mut field.fields {
        path.push("fields".into());
        order(f, path, places);
        path.pop();
    }
    if let Some(i) = &mut field.items {
        path.push("items".into());
        order_field(i, path, places);
        path.pop();
    }
}

/// Reads one field description at `path`; `None` after an error (reported).
fn field(
    desc: &Dynamic,
    path: &mut Vec<String>,
    depth: usize,
    count: &mut usize,
    is_items: bool,
    errors: &mut Vec<DeclarationError>,
) -> Option<Field> {
    let shown = shown_path(path);
    let mut error = |path: &[String], at_value: bool, message: String| {
        errors.push(DeclarationError {
            message,
            path: path.to_vec(),
            at_value,
        });
    };
    if depth >= MAX_DEPTH {
        error(
            path,
            false,
            format!("schema: `{shown}` nests `fields`/`items` deeper than {MAX_DEPTH} levels"),
        );
        return None;
    }
    let Some(desc) = desc.read_lock::<rhai::Map>() else {
        error(
            path,
            true,
            format!(
                "schema: `{shown}` must be a field description, a map like `#{{ type: \"string\" }}`, not {}",
                desc.type_name()
            ),
        );
        return None;
    };
    let before = errors.len();
    let base = path.clone();
    let at = |key: &str| {
        let mut p = base.clone();
        p.push(key.to_string());
        p
    };
    for key in desc.keys() {
        if !FIELD_KEYS.contains(&key.as_str()) {
            let hint = did_you_mean(key, FIELD_KEYS)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            let mut e = |p: Vec<String>, m: String| {
                errors.push(DeclarationError {
                    message: m,
                    path: p,
                    at_value: false,
                })
            };
            e(
                at(key),
                format!(
                    "schema: unknown key `{key}` in the description of `{shown}`{hint} (a field description has {})",
                    FIELD_KEYS.join(", ")
                ),
            );
        }
    }
    let mut push = |p: Vec<String>, at_value: bool, m: String| {
        errors.push(DeclarationError {
            message: m,
            path: p,
            at_value,
        })
    };
    // type: a name or a list of names; absent: inferred from `fields`/`items`, else `any`.
    let mut types = Vec::new();
    match desc.get("type") {
        None => types.push(if desc.contains_key("fields") {
            Type::Map
        } else if desc.contains_key("items") {
            Type::List
        } else {
            Type::Any
        }),
        Some(t) => {
            let names: Vec<Dynamic> = match t.read_lock::<rhai::Array>() {
                Some(a) => a.clone(),
                None => vec![t.clone()],
            };
            if names.is_empty() {
                push(
                    at("type"),
                    true,
                    format!("schema: `{shown}`: `type` lists no type"),
                );
            }
            for n in names {
                let Some(name) = n.clone().into_immutable_string().ok() else {
                    push(
                        at("type"),
                        true,
                        format!(
                            "schema: `{shown}`: `type` must be a type name or a list of them, not {}",
                            n.type_name()
                        ),
                    );
                    continue;
                };
                match Type::parse(&name) {
                    Some(t) => types.push(t),
                    None => {
                        let names = Type::ALL.map(Type::as_str);
                        let hint = did_you_mean(&name, names)
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        push(
                            at("type"),
                            true,
                            format!(
                                "schema: `{shown}`: unknown type `{name}`{hint} (types: {})",
                                names.join(", ")
                            ),
                        );
                    }
                }
            }
        }
    }
    let required = match desc.get("required") {
        None => false,
        Some(r) => match r.as_bool() {
            Ok(b) => b,
            Err(found) => {
                push(
                    at("required"),
                    true,
                    format!("schema: `{shown}`: `required` must be true or false, not {found}"),
                );
                false
            }
        },
    };
    let about = match desc.get("about") {
        None => None,
        Some(a) => match a.clone().into_immutable_string() {
            Ok(s) => Some(s.to_string()),
            Err(found) => {
                push(
                    at("about"),
                    true,
                    format!("schema: `{shown}`: `about` must be text, not {found}"),
                );
                None
            }
        },
    };
    let mut nested = None;
    if let Some(f) = desc.get("fields") {
        if !types.iter().any(|t| matches!(t, Type::Map | Type::Any)) {
            push(
                at("fields"),
                false,
                format!(
                    "schema: `{shown}`: `fields` describes a map's keys, but its type is `{}`",
                    types
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ),
            );
        }
        match f.read_lock::<rhai::Map>() {
            Some(map) => {
                path.push("fields".into());
                let mut inner = Vec::new();
                let s = fields(&map, path, depth + 1, count, &mut inner);
                path.pop();
                errors.extend(inner);
                nested = Some(s);
            }
            None => errors.push(DeclarationError {
                message: format!(
                    "schema: `{shown}`: `fields` must be a map of field descriptions, not {}",
                    f.type_name()
                ),
                path: at("fields"),
                at_value: true,
            }),
        }
    }
    let mut items = None;
    if let Some(i) = desc.get("items") {
        if !types.iter().any(|t| matches!(t, Type::List | Type::Any)) {
            errors.push(DeclarationError {
                message: format!(
                    "schema: `{shown}`: `items` describes a list's elements, but its type is `{}`",
                    types
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ),
                path: at("items"),
                at_value: false,
            });
        }
        path.push("items".into());
        let mut inner = Vec::new();
        items = field(i, path, depth + 1, count, true, &mut inner).map(Box::new);
        path.pop();
        errors.extend(inner);
    }
    if is_items {
        for key in ["required", "default"] {
            if desc.contains_key(key) {
                errors.push(DeclarationError {
                    message: format!(
                        "schema: `{shown}` describes a list's elements: `{key}` means nothing there"
                    ),
                    path: at(key),
                    at_value: false,
                });
            }
        }
    }
    if errors.len() > before || types.is_empty() {
        return None;
    }
    let mut field = Field {
        types,
        required,
        default: None,
        enumeration: None,
        about,
        fields: nested,
        items,
    };
    // Enum values and the default must fit the field (types, nested fields) themselves.
    if let Some(e) = desc.get("enum") {
        let values = match e.read_lock::<rhai::Array>() {
            Some(a) if !a.is_empty() => a.clone(),
            _ => {
                errors.push(DeclarationError {
                    message: format!(
                        "schema: `{shown}`: `enum` must be a non-empty list of the values allowed"
                    ),
                    path: at("enum"),
                    at_value: true,
                });
                return None;
            }
        };
        let mut allowed = Vec::new();
        for v in values {
            let Some(mut node) = data_node(&v, Mark::default(), 0) else {
                errors.push(DeclarationError {
                    message: format!(
                        "schema: `{shown}`: `enum` holds {}, which is not data",
                        v.type_name()
                    ),
                    path: at("enum"),
                    at_value: true,
                });
                continue;
            };
            let mut problems = Vec::new();
            super::conform::check_value(&field, &mut node, &shown, &mut problems);
            match problems.first() {
                Some(p) => errors.push(DeclarationError {
                    message: format!("schema: `enum` of {}", p.message),
                    path: at("enum"),
                    at_value: true,
                }),
                None => allowed.push(node),
            }
        }
        field.enumeration = Some(allowed);
    }
    if let Some(d) = desc.get("default") {
        if required {
            errors.push(DeclarationError {
                message: format!(
                    "schema: `{shown}` is required and has a default; a default is used only when the field is left out: drop one"
                ),
                path: at("default"),
                at_value: false,
            });
        }
        match data_node(d, Mark::default(), 0) {
            None => errors.push(DeclarationError {
                message: format!(
                    "schema: `{shown}`: `default` is {}, which is not data",
                    d.type_name()
                ),
                path: at("default"),
                at_value: true,
            }),
            Some(Node {
                value: Value::Null, ..
            }) => {}
            Some(mut node) => {
                let mut problems = Vec::new();
                super::conform::check_value(&field, &mut node, &shown, &mut problems);
                match problems.first() {
                    Some(p) => errors.push(DeclarationError {
                        message: format!("schema: the default of {}", p.message),
                        path: at("default"),
                        at_value: true,
                    }),
                    None => field.default = Some(node),
                }
            }
        }
    }
    (errors.len() == before).then_some(field)
}

/// `source.fields.type` → `source.type`: the path a manifest writes.
fn shown_path(path: &[String]) -> String {
    let mut out = String::new();
    let mut iter = path.iter().peekable();
    while let Some(p) = iter.next() {
        match p.as_str() {
            "fields" if !out.is_empty() => {
                if let Some(next) = iter.next() {
                    out.push('.');
                    out.push_str(next);
                }
            }
            "items" if !out.is_empty() => out.push_str("[]"),
            _ => out.push_str(p),
        }
    }
    out
}

/// A Rhai value as a node (every node at `mark`); `None` for what is not data (a function
/// pointer, a host object) or nests deeper than [`crate::script::convert::MAX_DEPTH`].
pub fn data_node(value: &Dynamic, mark: Mark, depth: usize) -> Option<Node> {
    if depth > crate::script::convert::MAX_DEPTH {
        return None;
    }
    let v = if value.is_unit() {
        Value::Null
    } else if let Ok(b) = value.as_bool() {
        Value::Bool(b)
    } else if let Ok(i) = value.as_int() {
        Value::Int(i)
    } else if let Ok(f) = value.as_float() {
        Value::Float(f)
    } else if let Ok(c) = value.as_char() {
        Value::String(c.to_string())
    } else if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
        Value::String(s.to_string())
    } else if let Some(a) = value.read_lock::<rhai::Array>() {
        let mut items = Vec::with_capacity(a.len());
        for item in a.iter() {
            items.push(data_node(item, mark, depth + 1)?);
        }
        Value::Seq(items)
    } else if let Some(m) = value.read_lock::<rhai::Map>() {
        let mut entries = Vec::with_capacity(m.len());
        for (k, item) in m.iter() {
            entries.push(Entry {
                key: k.to_string(),
                key_mark: mark,
                value: data_node(item, mark, depth + 1)?,
            });
        }
        Value::Map(entries)
    } else {
        return None;
    };
    Some(Node::new(mark, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_a_manifest_writes_them() {
        let p = |s: &[&str]| shown_path(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["source", "fields", "type"]), "source.type");
        assert_eq!(p(&["headers", "items", "fields", "name"]), "headers[].name");
        assert_eq!(p(&["fields"]), "fields");
    }

    #[test]
    fn places_are_found_in_the_literal() {
        let text = "register(\"X\", \"^1\");\nschema(#{\n  who: #{ type: \"strng\" },\n});\n";
        let places = places(text);
        let pos = places.value(&["who".into(), "type".into()]).unwrap();
        assert_eq!((pos.line(), pos.position()), (Some(3), Some(17)));
    }
}
