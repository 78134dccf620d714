//! The YAML tree ordo works on: plain data, plus the position of every node and the tags.
//!
//! This is what manifests, values files and `yaml::parse` produce. It keeps what a generic
//! value type loses: the line and column of each node (for error messages) and unknown tags
//! (`!Ref`, `!Value`, ...), which later stages resolve or hand to handlers as data.

use crate::source::Mark;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub mark: Mark,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// A node with a tag ordo does not interpret while parsing, such as `!Ref` or `!Sub`.
    /// The tag is kept as written (`!Ref`, `!!python/object`).
    Tagged(Box<Tagged>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tagged {
    pub tag: String,
    pub node: Node,
}

/// One `key: value` pair of a mapping. Keys are scalars, kept as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_mark: Mark,
    pub value: Node,
}

impl Node {
    pub fn new(mark: Mark, value: Value) -> Self {
        Node { mark, value }
    }

    pub fn null(mark: Mark) -> Self {
        Node::new(mark, Value::Null)
    }

    /// The entry of a mapping node with this key, if this is a mapping and has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What the node is, for "expected a string, found a sequence" messages.
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// Calls `f` on this node and every node below it, depth first, stopping at the first error.
    pub fn try_walk<E>(&self, f: &mut impl FnMut(&Node) -> Result<(), E>) -> Result<(), E> {
        f(self)?;
        match &self.value {
            Value::Seq(items) => items.iter().try_for_each(|n| n.try_walk(f)),
            Value::Map(entries) => entries.iter().try_for_each(|e| e.value.try_walk(f)),
            Value::Tagged(t) => t.node.try_walk(f),
            _ => Ok(()),
        }
    }
}

/// The one text of a float, wherever ordo or a handler turns one into text (issue 14): `!Sub`,
/// Rhai's `"" + x` and `${x}`, ShellScript's `env`, `WriteFile`'s `data`,
/// `template::render`. It is Rhai's own rendering, so text made in a handler agrees with
/// text made by ordo: the shortest digits that read back as the same number, `.0` on a
/// whole number (`2.0`), exponent form from 1e13 up and below 1e-13 (`1e20`, `1.5e-14`),
/// `NaN`, `inf`, `-inf`.
pub fn float_text(f: f64) -> String {
    rhai::Dynamic::from_float(f).to_string()
}

impl Value {
    /// The text of a scalar (a string, number or boolean) when it is put into text; `None`
    /// for null and collections. Numbers have one rendering on every path ([`float_text`]).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(float_text(*f)),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
            Value::Tagged(_) => "a tagged value",
        }
    }
}

/// A node as a Rhai value, its types kept (`true` a bool, `8080` an integer, `"0644"` a
/// string); a tag ordo does not resolve becomes the map `#{ tag, value }`.
pub fn node_to_dynamic(node: &Node) -> rhai::Dynamic {
    match &node.value {
        Value::Null => rhai::Dynamic::UNIT,
        Value::Bool(b) => rhai::Dynamic::from_bool(*b),
        Value::Int(i) => rhai::Dynamic::from_int(*i),
        Value::Float(f) => rhai::Dynamic::from_float(*f),
        Value::String(s) => rhai::Dynamic::from(s.clone()),
        Value::Seq(items) => {
            rhai::Dynamic::from_array(items.iter().map(node_to_dynamic).collect::<rhai::Array>())
        }
        Value::Map(entries) => {
            let map: rhai::Map = entries
                .iter()
                .map(|e| (e.key.as_str().into(), node_to_dynamic(&e.value)))
                .collect();
            rhai::Dynamic::from_map(map)
        }
        Value::Tagged(t) => {
            let mut map = rhai::Map::new();
            map.insert("tag".into(), rhai::Dynamic::from(t.tag.clone()));
            map.insert("value".into(), node_to_dynamic(&t.node));
            rhai::Dynamic::from_map(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_have_one_text() {
        for (f, text) in [
            (2.0, "2.0"),
            (1e20, "1e20"),
            (0.5, "0.5"),
            (3.25, "3.25"),
            (1e5, "100000.0"),
            (-1.5e-14, "-1.5e-14"),
            (0.0, "0.0"),
        ] {
            assert_eq!(float_text(f), text);
            // What a handler's `"" + x` gives.
            assert_eq!(rhai::Dynamic::from_float(f).to_string(), text);
        }
        assert_eq!(Value::Float(2.0).text().as_deref(), Some("2.0"));
        assert_eq!(Value::Null.text(), None);
    }
}
