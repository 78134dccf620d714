//! `ordo new manifest KIND NAME`: a manifest skeleton from a handler's schema.
//!
//! Required fields get a placeholder of their type (the first value of an `enum`), fields
//! with a default show it, other fields are listed commented out; each field's `about`,
//! type and choices are a comment above it. The skeleton loads with `ordo validate`; the
//! placeholders of required fields are marked [`TO_FILL`]. Text from the handler (about,
//! names, choices, defaults) is quoted or made printable so the YAML always reads back.

use std::fmt::Write as _;

use super::schema::{Field, Schema, Type, node_json, type_words};

/// The manifest text: `kind`, `version`, `metadata.name`, and `spec` from `schema`
/// (`None`: a free-form spec, written as `spec: {}`). `title` is the first comment line.
pub fn manifest(
    kind: &str,
    version: &str,
    name: &str,
    schema: Option<&Schema>,
    title: &str,
) -> String {
    let mut out = String::new();
    for line in wrap(title, WIDTH - 2) {
        let _ = writeln!(out, "# {}", comment_text(&line));
    }
    let _ = writeln!(out, "kind: {}", yaml_text(kind));
    let _ = writeln!(out, "version: {}", yaml_text(version));
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {}", yaml_text(name));
    match schema {
        Some(s) if !s.fields.is_empty() => {
            let _ = writeln!(out, "spec:");
            fields(s, 1, false, &mut out);
        }
        Some(_) => {
            let _ = writeln!(out, "spec: {{}}  # this kind declares no fields");
        }
        None => {
            let _ = writeln!(
                out,
                "spec: {{}}  # this kind declares no schema: its handler reads what it needs"
            );
        }
    }
    out
}

/// The fields of a map at `depth` (two spaces each); `commented`: inside a field that is
/// itself commented out.
fn fields(schema: &Schema, depth: usize, commented: bool, out: &mut String) {
    let pad = "  ".repeat(depth);
    for (name, field) in &schema.fields {
        let mut facts = vec![type_words(field)];
        if field.required {
            facts.insert(0, "required".into());
        }
        if let Some(values) = &field.enumeration {
            let shown: Vec<String> = values.iter().map(|v| inline(&node_json(v))).collect();
            facts.push(format!("one of: {}", shown.join(", ")));
        }
        let facts = facts.join("; ");
        let comment = match &field.about {
            Some(a) => format!("{} ({facts})", a.trim_end_matches('.')),
            None => facts,
        };
        for line in wrap(&comment, WIDTH.saturating_sub(pad.len() + 2)) {
            let _ = writeln!(out, "{pad}# {}", comment_text(&line));
        }
        let hide = commented || (!field.required && field.default.is_none());
        let lead = if hide { "# " } else { "" };
        let key = yaml_text(name);
        match (&field.default, &field.fields) {
            (Some(d), _) => {
                let _ = writeln!(out, "{pad}{lead}{key}: {}", inline(&node_json(d)));
            }
            // A map with declared fields: its fields below it.
            (None, Some(nested))
                if field.types == [Type::Map]
                    && field.required
                    && nested
                        .fields
                        .values()
                        .any(|f| f.required || f.default.is_some()) =>
            {
                let _ = writeln!(out, "{pad}{lead}{key}:");
                fields(nested, depth + 1, hide, out);
            }
            // A placeholder to replace: valid, so the skeleton loads, but not a choice.
            (None, _) if !hide => {
                let _ = writeln!(out, "{pad}{key}: {}  {TO_FILL}", placeholder(field));
            }
            (None, _) => {
                let _ = writeln!(out, "{pad}{lead}{key}: {}", placeholder(field));
            }
        }
    }
}

/// The comment after a required field's placeholder (`path: ""  # TODO: fill in`): the
/// skeleton validates as it is, so what still needs a real value is marked.
pub const TO_FILL: &str = "# TODO: fill in";

/// A comment line as YAML allows it: a control character (which `wrap` has not already
/// turned into a space) as its Unicode picture, a non-character as `?`, so text from a
/// handler never ends the comment or makes the file unreadable.
fn comment_text(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\u{7f}' => '\u{2421}',
            c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('?'),
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}' | '\u{feff}') => '?',
            c => c,
        })
        .collect()
}

/// How wide comment lines are, indentation included.
const WIDTH: usize = 90;

/// `text` in lines of at most `width` characters where its words allow (a longer word
/// stands alone on its line).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width.max(20) {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A value of the field's type: the first choice of an `enum`, else an empty one.
fn placeholder(field: &Field) -> String {
    if let Some(first) = field.enumeration.as_ref().and_then(|e| e.first()) {
        return inline(&node_json(first));
    }
    match field.types.first() {
        Some(Type::Int) => "0".into(),
        Some(Type::Float) => "0.0".into(),
        Some(Type::Bool) => "false".into(),
        Some(Type::List) => "[]".into(),
        Some(Type::Map) => match &field.fields {
            // Required nested fields need values too: written inline.
            Some(nested) if nested.fields.values().any(|f| f.required) => {
                let parts: Vec<String> = nested
                    .fields
                    .iter()
                    .filter(|(_, f)| f.required)
                    .map(|(k, f)| format!("{}: {}", yaml_text(k), placeholder(f)))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            _ => "{}".into(),
        },
        Some(Type::String) | Some(Type::Any) | None => "\"\"".into(),
    }
}

/// A JSON value as one line of YAML (flow style; text quoted only where YAML needs it).
fn inline(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => yaml_text(s),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        serde_json::Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", yaml_text(k), inline(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// Text as YAML: plain where ordo would read it back as the same text, else quoted.
/// Flow indicators are quoted too, as the text may stand inside `[...]` or `{...}`.
fn yaml_text(text: &str) -> String {
    if text.contains([',', '[', ']', '{', '}', '#']) {
        return serde_json::Value::from(text).to_string();
    }
    crate::manifest::string_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_comments_are_wrapped_at_words() {
        let lines = wrap("one two three four five six seven eight nine ten", 20);
        assert!(lines.iter().all(|l| l.len() <= 20), "{lines:?}");
        assert_eq!(
            lines.join(" "),
            "one two three four five six seven eight nine ten"
        );
        assert_eq!(wrap("", 20), vec![String::new()]);
    }

    #[test]
    fn flow_text_is_quoted_where_yaml_needs_it() {
        assert_eq!(yaml_text("plain"), "plain");
        assert_eq!(yaml_text("a, b"), "\"a, b\"");
        assert_eq!(yaml_text("true"), "\"true\"");
        assert_eq!(yaml_text(""), "\"\"");
    }
}
