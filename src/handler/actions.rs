//! Custom actions (DESIGN §14): what a handler declares with `actions(#{ ... })` at its top
//! level, checked when it loads, and the `--param k=v` of `ordo run` checked against it.
//!
//! ```rhai
//! actions(#{
//!     stop:   #{ order: "reverse", about: "stop the service" },
//!     backup: #{ order: "none", params: #{ target: "string", keep: "int?" } },
//! });
//! fn stop(m) { ... }
//! ```

use rhai::{Dynamic, Map};

use crate::diagnostic::did_you_mean;

/// Names that cannot be actions: the handler functions ordo calls itself, and the
/// top-level declarations.
pub const RESERVED: [&str; 9] = [
    "check",
    "apply",
    "delete",
    "verify",
    "rollback",
    "register",
    "permissions",
    "schema",
    "actions",
];

/// The keys of one action's declaration.
const KEYS: [&str; 3] = ["order", "about", "params"];

/// The parameter types.
const TYPES: [&str; 5] = ["string", "int", "bool", "list", "map"];

/// In which order `ordo run` walks the graph for an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Dependencies first, as `apply`.
    Forward,
    /// Dependents first, as `delete`.
    Reverse,
    /// No order: everything at once (up to `-j`).
    None,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Forward => "forward",
            Order::Reverse => "reverse",
            Order::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Order> {
        match text {
            "forward" => Some(Order::Forward),
            "reverse" => Some(Order::Reverse),
            "none" => Some(Order::None),
            _ => None,
        }
    }
}

/// One declared parameter: `keep: "int?"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    /// One of [`TYPES`].
    pub ty: &'static str,
    pub optional: bool,
}

impl Param {
    /// As declared: `int?`.
    pub fn type_text(&self) -> String {
        format!("{}{}", self.ty, if self.optional { "?" } else { "" })
    }
}

/// One declared action.
#[derive(Clone, Debug)]
pub struct ActionDecl {
    pub name: String,
    pub order: Order,
    pub about: Option<String>,
    /// Sorted by name.
    pub params: Vec<Param>,
}

/// A problem in an `actions(...)` declaration: the message, the text to point at (found
/// after the call in the script, for the column), and a help line.
#[derive(Debug)]
pub struct DeclError {
    pub message: String,
    /// A word of the declaration to point at (a key, a value), if it can be found.
    pub near: Option<String>,
    pub help: Option<String>,
}

fn decl_error(message: String, near: Option<&str>, help: Option<String>) -> DeclError {
    DeclError {
        message,
        near: near.map(str::to_string),
        help,
    }
}

/// Reads one `actions(#{...})` map. `defines(name)` says whether the script has `fn
/// name(m)` with one parameter.
pub fn declared(map: &Map, defines: &dyn Fn(&str) -> bool) -> (Vec<ActionDecl>, Vec<DeclError>) {
    let mut actions = Vec::new();
    let mut errors = Vec::new();
    let mut names: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    for name in names {
        let Some(value) = map.get(name) else {
            continue;
        };
        if RESERVED.contains(&name) {
            errors.push(decl_error(
                format!("`{name}` cannot be an action: the name is reserved"),
                Some(name),
                Some(format!("reserved names: {}", RESERVED.join(", "))),
            ));
            continue;
        }
        if !valid_identifier(name) {
            errors.push(decl_error(
                format!(
                    "action `{name}`: the name must be a Rhai function name (letters, digits, `_`)"
                ),
                Some(name),
                None,
            ));
            continue;
        }
        let Some(decl) = value.read_lock::<Map>() else {
            errors.push(decl_error(
                format!(
                    "action `{name}` must be declared with a map such as `#{{ order: \"forward\" }}`, not {}",
                    value.type_name()
                ),
                Some(name),
                None,
            ));
            continue;
        };
        let before = errors.len();
        for key in decl.keys() {
            if !KEYS.contains(&key.as_str()) {
                let suggestion = did_you_mean(key, KEYS).map(|s| format!("; did you mean `{s}`?"));
                errors.push(decl_error(
                    format!(
                        "unknown key `{key}` in action `{name}`{}",
                        suggestion.unwrap_or_default()
                    ),
                    Some(key),
                    Some(format!("allowed here: {}", KEYS.join(", "))),
                ));
            }
        }
        let order = match decl.get("order") {
            None => Some(Order::Forward),
            Some(o) => match o.clone().into_immutable_string() {
                Ok(text) => Order::parse(&text).or_else(|| {
                    let orders = ["forward", "reverse", "none"];
                    let suggestion =
                        did_you_mean(&text, orders).map(|s| format!("; did you mean `{s}`?"));
                    errors.push(decl_error(
                        format!(
                            "action `{name}`: unknown order `{text}`{}",
                            suggestion.unwrap_or_default()
                        ),
                        Some(&text),
                        Some("orders: forward (dependencies first), reverse (as delete), none (all at once)".into()),
                    ));
                    None
                }),
                Err(found) => {
                    errors.push(decl_error(
                        format!("action `{name}`: `order` must be a string, not {found}"),
                        Some("order"),
                        None,
                    ));
                    None
                }
            },
        };
        let about = match decl.get("about") {
            None => None,
            Some(a) => match a.clone().into_immutable_string() {
                Ok(text) => Some(text.to_string()),
                Err(found) => {
                    errors.push(decl_error(
                        format!("action `{name}`: `about` must be a string, not {found}"),
                        Some("about"),
                        None,
                    ));
                    None
                }
            },
        };
        let params = match decl.get("params") {
            None => Vec::new(),
            Some(p) => params_of(name, p, &mut errors),
        };
        if !defines(name) {
            errors.push(decl_error(
                format!("action `{name}` is declared, but the handler defines no `fn {name}(m)`"),
                Some(name),
                Some(format!("add `fn {name}(m) {{ ... }}`")),
            ));
        }
        if errors.len() == before
            && let Some(order) = order
        {
            actions.push(ActionDecl {
                name: name.to_string(),
                order,
                about,
                params,
            });
        }
    }
    (actions, errors)
}

fn params_of(action: &str, value: &Dynamic, errors: &mut Vec<DeclError>) -> Vec<Param> {
    let Some(map) = value.read_lock::<Map>() else {
        errors.push(decl_error(
            format!(
                "action `{action}`: `params` must be a map of names to types such as `#{{ target: \"string\" }}`, not {}",
                value.type_name()
            ),
            Some("params"),
            None,
        ));
        return Vec::new();
    };
    let mut params = Vec::new();
    for (name, ty) in map.iter() {
        if !valid_param_name(name) {
            errors.push(decl_error(
                format!(
                    "action `{action}`, parameter `{name}`: a parameter name is letters, digits, `_` and `-`, not empty, not starting with a digit or `-`"
                ),
                Some(if name.is_empty() { "params" } else { name.as_str() }),
                Some("`--param NAME=VALUE` gives it; name it like `target` or `keep_days`".into()),
            ));
            continue;
        }
        let Ok(text) = ty.clone().into_immutable_string() else {
            errors.push(decl_error(
                format!(
                    "action `{action}`, parameter `{name}`: the type must be a string such as \"int\" or \"int?\", not {}",
                    ty.type_name()
                ),
                Some(name),
                None,
            ));
            continue;
        };
        let (bare, optional) = match text.strip_suffix('?') {
            Some(b) => (b, true),
            None => (text.as_str(), false),
        };
        let Some(&known) = TYPES.iter().find(|t| **t == bare) else {
            let suggestion = did_you_mean(bare, TYPES).map(|s| format!("; did you mean `{s}`?"));
            errors.push(decl_error(
                format!(
                    "action `{action}`, parameter `{name}`: unknown type `{text}`{}",
                    suggestion.unwrap_or_default()
                ),
                Some(&text),
                Some(format!(
                    "types: {}; a trailing `?` makes a parameter optional",
                    TYPES.join(", ")
                )),
            ));
            continue;
        };
        params.push(Param {
            name: name.to_string(),
            ty: known,
            optional,
        });
    }
    params.sort_by(|a, b| a.name.cmp(&b.name));
    params
}

/// A parameter name: `--param NAME=VALUE` must be able to give it (A-F9).
fn valid_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks `--param k=v` pairs against an action's declared parameters and types them.
/// `Err` names the action and the parameter (a usage error, exit 2).
pub fn check_params(decl: &ActionDecl, given: &[(String, String)]) -> Result<Map, String> {
    let mut map = Map::new();
    for (key, text) in given {
        let Some(param) = decl.params.iter().find(|p| p.name == *key) else {
            let names = decl.params.iter().map(|p| p.name.as_str());
            let suggestion = did_you_mean(key, names).map(|s| format!("; did you mean `{s}`?"));
            let known = if decl.params.is_empty() {
                "it takes no parameters".to_string()
            } else {
                format!(
                    "its parameters: {}",
                    decl.params
                        .iter()
                        .map(|p| format!("{} ({})", p.name, p.type_text()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(format!(
                "--param {key}: action `{}` has no parameter `{key}`{}; {known}",
                decl.name,
                suggestion.unwrap_or_default()
            ));
        };
        if map.contains_key(key.as_str()) {
            return Err(format!(
                "--param {key}: given twice for action `{}`",
                decl.name
            ));
        }
        let value = typed(param.ty, text).map_err(|why| {
            format!(
                "--param {key}={text}: action `{}` takes {} for `{key}`; {why}",
                decl.name,
                article(param.ty)
            )
        })?;
        map.insert(key.as_str().into(), value);
    }
    for p in &decl.params {
        if !p.optional && !map.contains_key(p.name.as_str()) {
            return Err(format!(
                "action `{}` needs --param {}=... ({})",
                decl.name,
                p.name,
                p.type_text()
            ));
        }
    }
    Ok(map)
}

fn article(ty: &str) -> String {
    match ty {
        "int" => "an int (a whole number)".into(),
        "list" => "a list (a JSON array)".into(),
        "map" => "a map (a JSON object)".into(),
        other => format!("a {other}"),
    }
}

/// The text of a `--param` as a value of type `ty`. Nothing changes meaning on the way: a
/// string is the text exactly as given; an int is plain decimal digits (no `2.0`, no
/// `1e3`, no leading zero that could be read as octal, nothing past 64 bits); a bool is
/// `true` or `false`; lists and maps are JSON, whose numbers must be exact.
fn typed(ty: &str, text: &str) -> Result<Dynamic, String> {
    match ty {
        "string" => Ok(text.into()),
        "int" => {
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("`{text}` is not a whole number in decimal digits"));
            }
            if digits.len() > 1 && digits.starts_with('0') {
                return Err(format!(
                    "`{text}` has a leading zero, which some read as octal; write it without, or declare the parameter a string"
                ));
            }
            text.parse::<i64>()
                .map(Dynamic::from)
                .map_err(|_| format!("`{text}` does not fit in 64 bits"))
        }
        "bool" => match text {
            "true" => Ok(true.into()),
            "false" => Ok(false.into()),
            _ => Err(format!("`{text}` is neither `true` nor `false`")),
        },
        _ => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| format!("`{text}` is not valid JSON: {e}"))?;
            serde_json::from_str::<NoDuplicateKeys>(text).map_err(|e| format!("`{text}`: {e}"))?;
            let right = match ty {
                "list" => value.is_array(),
                _ => value.is_object(),
            };
            if !right {
                return Err(format!("`{text}` is JSON, but not {}", article(ty)));
            }
            exact_numbers(text)?;
            Ok(crate::script::convert::json_to_dynamic(&value))
        }
    }
}

/// Reads JSON only to refuse an object with a key given twice, which `serde_json::Value`
/// would silently collapse to the last one (A-F9: nothing changes meaning on the way).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<NoDuplicateKeys>()?;
            if !keys.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` is given twice"
                )));
            }
        }
        Ok(self)
    }
}

/// Refuses a JSON integer that would not come through as written: one past 64 bits would
/// become an approximate float. Read from the text (outside strings), since the parsed
/// value no longer tells `1e20` from `100000000000000000000`.
fn exact_numbers(text: &str) -> Result<(), String> {
    let mut in_string = false;
    let mut escaped = false;
    let mut token = String::new();
    let check = |token: &str| {
        let integer = !token.is_empty() && !token.contains(['.', 'e', 'E']);
        if integer && token.parse::<i64>().is_err() {
            Err(format!(
                "the number {token} does not fit in 64 bits; quote it to pass it as a string"
            ))
        } else {
            Ok(())
        }
    };
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
            token.push(c);
            continue;
        }
        check(&token)?;
        token.clear();
        if c == '"' {
            in_string = true;
        }
    }
    check(&token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(params: &[(&str, &'static str, bool)]) -> ActionDecl {
        ActionDecl {
            name: "backup".into(),
            order: Order::None,
            about: None,
            params: params
                .iter()
                .map(|(n, ty, optional)| Param {
                    name: (*n).into(),
                    ty,
                    optional: *optional,
                })
                .collect(),
        }
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn ints_are_plain_decimal_and_nothing_else() {
        let d = decl(&[("keep", "int", false)]);
        let ok = check_params(&d, &given(&[("keep", "7")])).unwrap();
        assert_eq!(ok.get("keep").unwrap().as_int().unwrap(), 7);
        for bad in [
            "2.0",
            "1e300",
            "0755",
            "0x10",
            "",
            "99999999999999999999",
            "seven",
        ] {
            let e = check_params(&d, &given(&[("keep", bad)])).unwrap_err();
            assert!(e.contains("`backup`") && e.contains("keep"), "{bad}: {e}");
        }
    }

    #[test]
    fn strings_keep_their_text_and_json_numbers_must_be_exact() {
        let d = decl(&[("target", "string", false), ("opts", "map?", true)]);
        let ok = check_params(&d, &given(&[("target", "0755")])).unwrap();
        assert_eq!(ok.get("target").unwrap().to_string(), "0755");
        let e = check_params(
            &d,
            &given(&[("target", "x"), ("opts", "{\"n\": 99999999999999999999}")]),
        )
        .unwrap_err();
        assert!(e.contains("64 bits"), "{e}");
        let e = check_params(&d, &given(&[("target", "x"), ("opts", "[1]")])).unwrap_err();
        assert!(e.contains("not a map"), "{e}");
    }

    #[test]
    fn unknown_missing_and_repeated_parameters_are_refused() {
        let d = decl(&[("target", "string", false)]);
        let e = check_params(&d, &given(&[("targte", "x")])).unwrap_err();
        assert!(e.contains("did you mean `target`"), "{e}");
        let e = check_params(&d, &given(&[])).unwrap_err();
        assert!(e.contains("needs --param target"), "{e}");
        let e = check_params(&d, &given(&[("target", "a"), ("target", "b")])).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
