//! What a YAML scalar means: tags resolved, plain scalars typed, and the reverse question
//! asked by `yaml::to_string`: would some reader take this text for something else?
//!
//! Plain scalars are typed by the YAML 1.2 core schema, with one deliberate exception shared
//! with serde_yaml: a decimal with a leading zero (`0644`) stays a string, because it is almost
//! always a file mode or an identifier, never the number 644. Integers that do not fit in 64
//! bits also stay strings rather than silently losing digits as floats.
//!
//! This file knows nothing of documents, anchors or mappings (`parse.rs` builds the tree).

use saphyr_parser::{ScalarStyle, Tag};

use super::node::{Node, Tagged, Value};
use super::parse::{YamlError, YamlErrorKind};
use crate::source::Mark;

/// The prefix of the tags of the YAML core schema (`!!str` is `tag:yaml.org,2002:str`).
const CORE: &str = "tag:yaml.org,2002:";

/// What a tag asks for.
pub(super) enum TagKind<'a> {
    /// `!`: the node is a plain string (or a plain collection), whatever it looks like.
    NonSpecific,
    /// A core schema tag, by its suffix (`str`, `int`, ...), written as `!!int` or in full
    /// as `!<tag:yaml.org,2002:int>`.
    Core(&'a str),
    /// Any other tag, kept as data with its name as written (`!Ref`, `!!python/object`).
    Other,
}

/// Classifies a tag.
pub(super) fn tag_kind(tag: &Tag) -> TagKind<'_> {
    if tag.handle.is_empty() && tag.suffix == "!" {
        return TagKind::NonSpecific;
    }
    if tag.handle == CORE {
        return TagKind::Core(&tag.suffix);
    }
    if tag.handle.is_empty()
        && let Some(suffix) = tag.suffix.strip_prefix(CORE)
    {
        return TagKind::Core(suffix);
    }
    TagKind::Other
}

/// A tag's name as ordo shows it: core tags as `!!suffix`, others as written.
pub(super) fn tag_name(tag: &Tag) -> String {
    match tag_kind(tag) {
        TagKind::Core(suffix) => format!("!!{suffix}"),
        TagKind::NonSpecific => "!".to_string(),
        TagKind::Other => format!("{}{}", tag.handle, tag.suffix),
    }
}

/// Whether a collection with this tag is a plain sequence or mapping.
pub(super) fn is_plain_collection(tag: &Tag) -> bool {
    matches!(
        tag_kind(tag),
        TagKind::NonSpecific | TagKind::Core("map" | "seq")
    )
}

/// The value of one scalar, from its text, style and tag.
pub(super) fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    mark: Mark,
) -> Result<Value, YamlError> {
    let untagged = || {
        if style == ScalarStyle::Plain {
            plain(text)
        } else {
            Value::String(text.to_string())
        }
    };
    let Some(tag) = tag else {
        return Ok(untagged());
    };
    let bad = || YamlError {
        mark,
        kind: YamlErrorKind::BadCoreTag {
            tag: tag_name(tag),
            value: text.to_string(),
        },
    };
    match tag_kind(tag) {
        TagKind::NonSpecific | TagKind::Core("str") => Ok(Value::String(text.to_string())),
        TagKind::Core("int") => int(text).map(Value::Int).ok_or_else(bad),
        TagKind::Core("float") => match plain(text) {
            Value::Int(i) => Ok(Value::Float(int_as_float(i))),
            v @ Value::Float(_) => Ok(v),
            _ => Err(bad()),
        },
        TagKind::Core("bool") => match plain(text) {
            v @ Value::Bool(_) => Ok(v),
            _ => Err(bad()),
        },
        TagKind::Core("null") => match plain(text) {
            Value::Null => Ok(Value::Null),
            _ => Err(bad()),
        },
        TagKind::Core(_) | TagKind::Other => Ok(Value::Tagged(Box::new(Tagged {
            tag: tag_name(tag),
            node: Node::new(mark, untagged()),
        }))),
    }
}

/// Types a plain (unquoted) scalar by the YAML 1.2 core schema.
pub(super) fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = int(text) {
        return Value::Int(i);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

fn int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (radix, body) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else {
        // `0644` is a string: see the module documentation.
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match fraction {
        Some(f) => digits(whole) && digits(f) && !(whole.is_empty() && f.is_empty()),
        None => !whole.is_empty() && digits(whole),
    };
    if whole.len() > 1 && whole.starts_with('0') {
        return false;
    }
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok && (fraction.is_some() || exponent.is_some())
}

/// Whether `text`, written as a plain (unquoted) scalar, could be read by some common YAML
/// reader as anything other than this string, or would not read back at all: the question
/// `yaml::to_string` asks before leaving a string unquoted (issue 14). It covers ordo's own
/// 1.2 core schema and YAML 1.1 (PyYAML, hence Ansible, and libyaml-based readers): the
/// 1.1 booleans `y`/`n`/`yes`/`no`/`on`/`off` in any case, `null`/`~`, numbers in every base
/// and with `_`, sexagesimal `1:20`, dates and timestamps (anything that starts like a
/// number), `.inf`/`.nan`, the merge key `<<` and the value key `=`, indicators, leading or
/// trailing blanks, and any character that is not printable.
pub fn needs_quotes(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return true;
    };
    // ordo's own reading (null, booleans, numbers, `.inf`...).
    if !matches!(plain(text), Value::String(_)) {
        return true;
    }
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~" | "<<" | "="
    ) {
        return true;
    }
    let unsigned = lower.strip_prefix(['-', '+']).unwrap_or(&lower);
    // Anything that starts like a number: 1.1 ints (`0b1`, `1_000`, `0644`), sexagesimal
    // `1:20`, dates `2001-12-14`, floats `1.`, `.5`, and `.inf`/`.nan` in every spelling.
    if unsigned.starts_with(|c: char| c.is_ascii_digit())
        || unsigned.starts_with(".inf")
        || unsigned.starts_with(".nan")
        || (unsigned.starts_with('.')
            && unsigned.chars().nth(1).is_some_and(|c| c.is_ascii_digit()))
    {
        return true;
    }
    // Indicators that start something else, and the document markers `---`, `...`.
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || text.starts_with("...") {
        return true;
    }
    if text.starts_with([' ', '\t']) || text.ends_with([' ', '\t', ':']) {
        return true;
    }
    if text.contains(": ") || text.contains(" #") || text.contains(":\t") || text.contains("\t#") {
        return true;
    }
    text.chars().any(|c| !is_plain_char(c))
}

/// A character that may stand in a plain scalar on one line: printable, not a tab, not a
/// line break, not the byte order mark, and nothing a reader might normalise.
fn is_plain_char(c: char) -> bool {
    // U+2028 and U+2029 are line breaks to a YAML 1.1 reader.
    !matches!(c, '\u{2028}' | '\u{2029}')
        && matches!(c, ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

/// `!!float 3`: the integer as the nearest float, as YAML asks (above 2^53 it rounds,
/// which is what the tag requests).
#[expect(
    clippy::cast_precision_loss,
    reason = "an explicit `!!float` asks for the nearest float"
)]
fn int_as_float(i: i64) -> f64 {
    i as f64
}

/// A string as YAML text: plain where that is safe for every reader, otherwise
/// double-quoted with every character that is not printable escaped (`yaml::to_string`, and
/// the YAML form of a secret, which is masked too).
pub fn string_text(text: &str) -> String {
    use std::fmt::Write as _;
    if !needs_quotes(text) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            ' '..='~'
            | '\u{a0}'..='\u{d7ff}'
            | '\u{e000}'..='\u{fefe}'
            | '\u{ff00}'..='\u{fffd}'
            | '\u{10000}'..='\u{10ffff}' => {
                out.push(c);
            }
            c if u32::from(c) <= 0xff => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c if u32::from(c) <= 0xffff => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! plain_cases {
        ($($text:expr => $value:expr),* $(,)?) => {
            $( assert_eq!(plain($text), $value, "typing {:?}", $text); )*
        };
    }

    #[test]
    fn plain_scalars_are_typed_by_the_core_schema() {
        plain_cases! {
            "true" => Value::Bool(true),
            "False" => Value::Bool(false),
            "yes" => Value::String("yes".into()),
            "8080" => Value::Int(8080),
            "-3" => Value::Int(-3),
            "0" => Value::Int(0),
            "0644" => Value::String("0644".into()),
            "0x1F" => Value::Int(31),
            "0o17" => Value::Int(15),
            "1.5" => Value::Float(1.5),
            "1e3" => Value::Float(1000.0),
            "1_000" => Value::String("1_000".into()),
            "~" => Value::Null,
            "" => Value::Null,
            "99999999999999999999" => Value::String("99999999999999999999".into()),
            "1.2.3" => Value::String("1.2.3".into()),
            "." => Value::String(".".into()),
            "-" => Value::String("-".into()),
        }
    }
}
