//! The difference between the spec the last `apply` recorded and the spec as written now,
//! for `plan` (DESIGN.md §10): one [`Change`] per added (`+`), removed (`-`) or changed
//! (`~`) value, each with its key path (`spec.ports[1].name`), Terraform style.
//!
//! Both sides are JSON as handlers see it. The recorded side has its secrets stored as
//! `***`; the caller masks the new side the same way before comparing, so a secret never
//! shows and an unchanged secret is not a difference.

use serde::Serialize;
use serde_json::Value;
use similar::{Algorithm, DiffOp, TextDiff, capture_diff_slices};

/// What happened to one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "+")]
    Added,
    #[serde(rename = "-")]
    Removed,
    #[serde(rename = "~")]
    Changed,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Added => "+",
            Op::Removed => "-",
            Op::Changed => "~",
        }
    }
}

/// One line of a spec diff: `{"op": "~", "path": "spec.port", "old": 80, "new": 8080}`.
/// `old` is `null` for an added value, `new` for a removed one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub op: Op,
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// What a value that only `apply` will know is shown as, on the new side of a diff.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// The changes from `old` (the recorded spec) to `new`, under the path `spec`.
pub fn spec_diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff(old, new, "spec", &mut out);
    out
}

fn diff(old: &Value, new: &Value, path: &str, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, nv) in b {
                let p = key_path(path, key);
                match a.get(key) {
                    Some(ov) => diff(ov, nv, &p, out),
                    None => out.push(added(p, nv)),
                }
            }
            for (key, ov) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
                out.push(removed(key_path(path, key), ov));
            }
        }
        (Value::Array(a), Value::Array(b)) => diff_arrays(a, b, path, out),
        _ if old == new => {}
        _ => out.push(Change {
            op: Op::Changed,
            path: path.to_string(),
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
    }
}

/// Lists are compared as sequences: an item inserted in the middle is one `+`, not a `~`
/// for every item after it.
fn diff_arrays(a: &[Value], b: &[Value], path: &str, out: &mut Vec<Change>) {
    let text = |v: &Value| v.to_string();
    let (ta, tb): (Vec<String>, Vec<String>) =
        (a.iter().map(text).collect(), b.iter().map(text).collect());
    let at = |list: &[Value], i: usize| list.get(i).cloned().unwrap_or(Value::Null);
    for op in capture_diff_slices(Algorithm::Myers, &ta, &tb) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for i in old_index..old_index + old_len {
                    out.push(removed(format!("{path}[{i}]"), &at(a, i)));
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for i in new_index..new_index + new_len {
                    out.push(added(format!("{path}[{i}]"), &at(b, i)));
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let common = old_len.min(new_len);
                for k in 0..common {
                    let p = format!("{path}[{}]", new_index + k);
                    diff(&at(a, old_index + k), &at(b, new_index + k), &p, out);
                }
                for i in old_index + common..old_index + old_len {
                    out.push(removed(format!("{path}[{i}]"), &at(a, i)));
                }
                for i in new_index + common..new_index + new_len {
                    out.push(added(format!("{path}[{i}]"), &at(b, i)));
                }
            }
        }
    }
}

fn added(path: String, value: &Value) -> Change {
    Change {
        op: Op::Added,
        path,
        old: None,
        new: Some(value.clone()),
    }
}

fn removed(path: String, value: &Value) -> Change {
    Change {
        op: Op::Removed,
        path,
        old: Some(value.clone()),
        new: None,
    }
}

/// `parent.key`, or `parent["odd key"]` for a key that is not a plain name.
fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::String(key.to_string()))
    }
}

/// At most this many lines of a multi-line text's own diff are shown.
const MAX_TEXT_LINES: usize = 40;

/// The diff as text lines, one per change (`~ spec.port: 80 -> 8080`); a change between
/// two texts of several lines is shown as a line diff of the texts under its path.
pub fn render(changes: &[Change]) -> Vec<String> {
    let mut lines = Vec::new();
    for c in changes {
        let show = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
        match (c.op, &c.old, &c.new) {
            (Op::Changed, Some(Value::String(a)), Some(Value::String(b)))
                if a.contains('\n') || b.contains('\n') =>
            {
                lines.push(format!("~ {}:", c.path));
                text_diff(a, b, &mut lines);
            }
            (Op::Changed, ..) => lines.push(format!(
                "~ {}: {} -> {}",
                c.path,
                show(&c.old),
                show(&c.new)
            )),
            (Op::Added, ..) => lines.push(format!("+ {}: {}", c.path, show(&c.new))),
            (Op::Removed, ..) => lines.push(format!("- {}: {}", c.path, show(&c.old))),
        }
    }
    lines
}

/// The lines that differ between two texts, with two lines of context, indented under
/// their `~` line.
fn text_diff(a: &str, b: &str, lines: &mut Vec<String>) {
    let diff = TextDiff::from_lines(a, b);
    let mut shown = 0;
    let mut hidden = 0;
    for (g, group) in diff.grouped_ops(2).iter().enumerate() {
        if g > 0 {
            push_limited(lines, "      ...".to_string(), &mut shown, &mut hidden);
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                let text = change.value().trim_end_matches(['\n', '\r']);
                push_limited(lines, format!("    {sign} {text}"), &mut shown, &mut hidden);
            }
        }
    }
    if hidden > 0 {
        lines.push(format!("      ({hidden} more lines)"));
    }
}

fn push_limited(lines: &mut Vec<String>, line: String, shown: &mut usize, hidden: &mut usize) {
    if *shown < MAX_TEXT_LINES {
        lines.push(line);
        *shown += 1;
    } else {
        *hidden += 1;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn maps_lists_and_scalars_give_paths_and_ops() {
        let old = json!({"port": 80, "gone": true, "tags": ["a", "b", "c"], "nested": {"x": 1}, "odd key": 1});
        let new = json!({"port": 8080, "tags": ["a", "new", "b", "c"], "nested": {"x": 1, "y": [2]}, "odd key": 2, "added": "v"});
        let lines = render(&spec_diff(&old, &new));
        assert_eq!(
            lines,
            [
                "~ spec.port: 80 -> 8080",
                "+ spec.tags[1]: \"new\"",
                "+ spec.nested.y: [2]",
                "~ spec[\"odd key\"]: 1 -> 2",
                "+ spec.added: \"v\"",
                "- spec.gone: true",
            ]
        );
        assert!(spec_diff(&old, &old).is_empty());
    }

    #[test]
    fn a_type_change_is_one_change_and_json_has_op_path_old_new() {
        let changes = spec_diff(&json!({"a": {"b": 1}}), &json!({"a": [1]}));
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            json!([{"op": "~", "path": "spec.a", "old": {"b": 1}, "new": [1]}])
        );
        let changes = spec_diff(&Value::Null, &json!({"a": 1}));
        assert_eq!(render(&changes), ["~ spec: null -> {\"a\":1}"]);
    }

    #[test]
    fn texts_of_several_lines_are_diffed_line_by_line() {
        let old = json!({"content": "one\ntwo\nthree\n"});
        let new = json!({"content": "one\n2\nthree\n"});
        assert_eq!(
            render(&spec_diff(&old, &new)),
            [
                "~ spec.content:",
                "      one",
                "    - two",
                "    + 2",
                "      three",
            ]
        );
    }
}
