//! `yaml::parse(text)` and `yaml::to_string(value)`.
//!
//! Parsing uses ordo's own YAML reader, so types, tags and limits are exactly those of
//! manifests: an unknown tag becomes `#{ tag, value }`, nothing executes.
//!
//! Writing is ordo's own too, so that the text reads back as the same value in every
//! common reader (issue 14): a string is left unquoted only when no YAML 1.1 or 1.2 reader
//! could take it for something else ([`crate::manifest::needs_quotes`]), otherwise it is
//! double-quoted with escapes, or written as a literal block (`|`) when it spans lines
//! and that is safe; a float is written with a dot and a signed exponent
//! (`1.0e+20`), the form YAML 1.1 requires too. `yaml::parse(yaml::to_string(x)) == x` for
//! every plain value `x`.

use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map};

use super::StdModule;
use crate::manifest::{Limits, parse_one, string_text as string};
use crate::script::context::script_error;
use crate::script::convert::node_to_dynamic;

fn parse(text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    // A leading byte order mark is not part of the text (issue 14).
    parse_one(crate::input::strip_bom_str(text), &Limits::default())
        .map(|node| node_to_dynamic(&node))
        .map_err(|e| {
            script_error(
                format!("`yaml::parse`: line {}: {}", e.mark.line, e.kind),
                None,
            )
        })
}

/// Nesting `yaml::to_string` follows before giving up (the reader's own limit is 64).
const MAX_DEPTH: usize = 64;

/// `value` as YAML text (`yaml::to_string`); also how `ordo state show` prints a spec.
pub(crate) fn to_string(value: &Dynamic) -> Result<String, Box<EvalAltResult>> {
    let mut out = String::new();
    if !emit(value, 0, &mut out, 0) {
        return Err(script_error(
            format!("`yaml::to_string`: the value is nested deeper than {MAX_DEPTH} levels"),
            None,
        ));
    }
    Ok(out)
}

/// Writes `value` at `indent`, its first line already placed (after `- ` or at the start);
/// ends with a line break. False if nested too deep.
fn emit(value: &Dynamic, indent: usize, out: &mut String, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    if let Some(items) = value.read_lock::<Array>() {
        if items.is_empty() {
            out.push_str("[]\n");
            return true;
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                pad(out, indent);
            }
            out.push_str("- ");
            if !emit(item, indent + 2, out, depth + 1) {
                return false;
            }
        }
        return true;
    }
    if let Some(map) = value.read_lock::<Map>() {
        if map.is_empty() {
            out.push_str("{}\n");
            return true;
        }
        for (i, (key, item)) in map.iter().enumerate() {
            if i > 0 {
                pad(out, indent);
            }
            let key = string(key);
            // An implicit key is at most 1024 characters long; longer ones are explicit.
            if key.chars().count() > 1000 {
                out.push_str("? ");
                out.push_str(&key);
                out.push('\n');
                pad(out, indent);
                out.push(':');
            } else {
                out.push_str(&key);
                out.push(':');
            }
            if is_collection(item) {
                // A list under a key starts at the key's column, as serde_yaml wrote it.
                let inner = if item.is_array() { indent } else { indent + 2 };
                out.push('\n');
                pad(out, inner);
                if !emit(item, inner, out, depth + 1) {
                    return false;
                }
            } else {
                out.push(' ');
                emit(item, indent + 2, out, depth + 1);
            }
        }
        return true;
    }
    if let Some(text) = value.read_lock::<ImmutableString>()
        && literal(&text, indent.max(2), out)
    {
        return true;
    }
    out.push_str(&scalar(value));
    out.push('\n');
    true
}

/// Writes a multi-line string as a literal block (`|`), as it reads, when that is safe:
/// every character printable, and a first line that fixes the indentation (not empty, no
/// leading blank). False (nothing written) otherwise; the string is then double-quoted.
fn literal(text: &str, indent: usize, out: &mut String) -> bool {
    let body = text.trim_end_matches('\n');
    if !text.contains('\n')
        || body.is_empty()
        || body.starts_with([' ', '\t', '\n'])
        || !body
            .chars()
            .all(|c| c == '\n' || c == '\t' || (c != '\u{feff}' && is_printable(c)))
    {
        return false;
    }
    out.push_str(match text.len() - body.len() {
        0 => "|-\n",
        1 => "|\n",
        _ => "|+\n",
    });
    for line in text.strip_suffix('\n').unwrap_or(text).split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    true
}

/// Printable in YAML 1.1 and 1.2 and not a line break to either (U+0085, U+2028, U+2029).
fn is_printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn is_collection(value: &Dynamic) -> bool {
    value.read_lock::<Array>().is_some_and(|a| !a.is_empty())
        || value.read_lock::<Map>().is_some_and(|m| !m.is_empty())
}

/// A value that is not a collection, as YAML text.
fn scalar(value: &Dynamic) -> String {
    if value.is_unit() {
        return "null".into();
    }
    if let Ok(b) = value.as_bool() {
        return b.to_string();
    }
    if let Ok(i) = value.as_int() {
        return i.to_string();
    }
    if let Ok(f) = value.as_float() {
        return float(f);
    }
    if let Ok(c) = value.as_char() {
        return string(&c.to_string());
    }
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return string(&s);
    }
    // Functions and host objects are not data: their type name, as `json::to_string` does.
    string(value.type_name())
}

/// A float in the form YAML 1.1 and 1.2 both read as a float: a dot in the mantissa and a
/// signed exponent (`2.0`, `0.5`, `1.0e+20`, `1.5e-7`), `.inf`, `-.inf`, `.nan`.
fn float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // `{:?}` is the shortest text that reads back as the same number.
    let text = format!("{f:?}");
    match text.split_once('e') {
        None => text,
        Some((mantissa, exponent)) => {
            let mantissa = if mantissa.contains('.') {
                mantissa.to_string()
            } else {
                format!("{mantissa}.0")
            };
            let exponent = if exponent.starts_with('-') {
                exponent.to_string()
            } else {
                format!("+{exponent}")
            };
            format!("{mantissa}e{exponent}")
        }
    }
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("yaml");
    fallible!(&mut m, "parse", |text: &str| parse(text));
    fallible!(&mut m, "to_string", |value: Dynamic| to_string(&value));
    m
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    /// Strings a YAML 1.1 reader (PyYAML, Ansible) or a 1.2 one reads as something else.
    const AMBIGUOUS: &[&str] = &[
        "on",
        "On",
        "ON",
        "off",
        "OFF",
        "oFf",
        "yes",
        "Yes",
        "YES",
        "yEs",
        "no",
        "No",
        "NO",
        "y",
        "Y",
        "n",
        "N",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "FALSE",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        "",
        "1:20",
        "190:20:30",
        "-1:20",
        "1:20.5",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5",
        "<<",
        "=",
        "0o17",
        "0x1F",
        "0b101",
        "+0b1",
        "0644",
        "1_000",
        "1__0",
        "-1_0.5",
        "1e3",
        "1.5",
        "1.",
        ".5",
        "+1",
        "-0",
        "12",
        ".inf",
        ".Inf",
        "-.INF",
        "+.inf",
        ".nan",
        ".NaN",
        ".NAN",
        " lead",
        "trail ",
        "tab\t",
        "a: b",
        "a #b",
        "#c",
        "- x",
        "-",
        "? x",
        "?",
        ":",
        "x:",
        "[a]",
        "{a}",
        "]",
        "}",
        ",",
        "&a",
        "*a",
        "!t",
        "|",
        ">",
        "'q'",
        "\"q\"",
        "%x",
        "@x",
        "`x",
        "---",
        "...",
        "a\nb",
        "\u{85}",
        "\u{2028}",
        "\u{feff}x",
        "\u{0}",
        "\u{7f}",
        "\r",
    ];

    fn text(value: &Dynamic) -> String {
        to_string(value).unwrap()
    }

    fn back(text: &str) -> Dynamic {
        parse(text).unwrap_or_else(|e| panic!("{text:?} does not read back: {e}"))
    }

    /// Regression (issue 14): `on`, `NO`, `yes`, `1:20`, `2001-12-14` and `<<` were
    /// written unquoted, which YAML 1.1 readers take for booleans, a number, a date, a merge.
    #[test]
    fn strings_another_reader_would_misread_are_quoted() {
        for s in AMBIGUOUS {
            let t = text(&Dynamic::from(s.to_string()));
            assert!(t.starts_with(['"', '|']), "{s:?} written as {t:?}");
            assert_eq!(back(&t).into_string().unwrap(), *s, "{t:?}");
        }
        for s in [
            "hello",
            "web-1",
            "a b",
            "x.y",
            "http://h/p?q=1",
            "é",
            "C:\\x",
            "a'b",
            "a\"b",
        ] {
            assert_eq!(
                text(&Dynamic::from(s.to_string())),
                format!("{s}\n"),
                "{s:?}"
            );
        }
    }

    /// The same table read by PyYAML, when python3 with PyYAML is on this machine (an
    /// optional extra: nothing is installed for it).
    #[test]
    fn pyyaml_reads_the_quoted_strings_as_strings() {
        let mut map = Map::new();
        for (i, s) in AMBIGUOUS.iter().enumerate() {
            map.insert(format!("k{i}").into(), Dynamic::from(s.to_string()));
            map.insert((*s).into(), Dynamic::from(i64::try_from(i).unwrap()));
        }
        map.insert(
            "floats".into(),
            Dynamic::from_array(vec![
                Dynamic::from_float(2.0),
                Dynamic::from_float(1e20),
                Dynamic::from_float(-1.5e-7),
            ]),
        );
        let yaml = text(&Dynamic::from_map(map));
        let Some(got) = pyyaml(&yaml) else {
            return;
        };
        for (i, s) in AMBIGUOUS.iter().enumerate() {
            assert_eq!(
                got[format!("k{i}")],
                serde_json::json!(s),
                "PyYAML read {s:?} differently"
            );
            assert_eq!(
                got[*s],
                serde_json::json!(i),
                "PyYAML read the key {s:?} differently"
            );
        }
        assert_eq!(got["floats"], serde_json::json!([2.0, 1e20, -1.5e-7]));
    }

    /// Generated strings, as values and as keys, read by PyYAML (when it is here).
    #[test]
    fn pyyaml_reads_generated_strings_back() {
        let mut g = Gen(0x2545_F491_4F6C_DD1D);
        let strings: Vec<String> = (0..3000).map(|_| g.string()).collect();
        let mut map = Map::new();
        for (i, s) in strings.iter().enumerate() {
            map.insert(format!("k{i}").into(), Dynamic::from(s.clone()));
        }
        let list: Array = strings.iter().map(|s| Dynamic::from(s.clone())).collect();
        map.insert("list".into(), Dynamic::from_array(list));
        let Some(got) = pyyaml(&text(&Dynamic::from_map(map))) else {
            return;
        };
        for (i, s) in strings.iter().enumerate() {
            assert_eq!(
                got[format!("k{i}")],
                serde_json::json!(s),
                "PyYAML read {s:?} differently"
            );
            assert_eq!(got["list"][i], serde_json::json!(s));
        }
    }

    /// `text` read by PyYAML, as JSON; `None` when python3 with PyYAML is not on this
    /// machine. PyYAML refusing the text fails the test.
    fn pyyaml(text: &str) -> Option<serde_json::Value> {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let here = Command::new("python3")
            .args(["-c", "import yaml"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !here {
            return None;
        }
        let script = "import sys, yaml, json\nprint(json.dumps(yaml.safe_load(sys.stdin.read())))";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "PyYAML refused the text: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(serde_json::from_slice(&out.stdout).unwrap())
    }

    #[test]
    fn multi_line_strings_are_literal_blocks_when_safe() {
        let mut map = Map::new();
        map.insert(
            "script".into(),
            Dynamic::from("set -e\necho hi\n".to_string()),
        );
        map.insert("kept".into(), Dynamic::from("a\n\n".to_string()));
        map.insert("stripped".into(), Dynamic::from("a\n  b".to_string()));
        map.insert("indented".into(), Dynamic::from(" a\nb".to_string()));
        let t = text(&Dynamic::from_map(map));
        assert_eq!(
            t,
            "indented: \" a\\nb\"\nkept: |+\n  a\n\nscript: |\n  set -e\n  echo hi\nstripped: |-\n  a\n    b\n"
        );
        assert_eq!(
            text(&Dynamic::from_array(vec![Dynamic::from(
                "x\ny".to_string()
            )])),
            "- |-\n  x\n  y\n"
        );
    }

    #[test]
    fn floats_are_written_as_both_yaml_versions_read_them() {
        for (f, t) in [
            (2.0, "2.0"),
            (1e20, "1.0e+20"),
            (0.5, "0.5"),
            (-1.5e-7, "-1.5e-7"),
            (f64::INFINITY, ".inf"),
            (f64::NEG_INFINITY, "-.inf"),
            (f64::NAN, ".nan"),
        ] {
            assert_eq!(float(f), t);
        }
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }

        fn string(&mut self) -> String {
            const PIECES: &[&str] = &[
                "yes",
                "No",
                "ON",
                "off",
                "y",
                "~",
                "null",
                "true",
                "1",
                "0",
                "1:20",
                "2001-12-14",
                "<<",
                "=",
                "0x1F",
                "0o7",
                "0b1",
                "1_0",
                ".inf",
                ".NaN",
                "e3",
                ".",
                "-",
                "+",
                ":",
                ": ",
                " #",
                "#",
                "?",
                "[",
                "]",
                "{",
                "}",
                ",",
                "&",
                "*",
                "!",
                "|",
                ">",
                "'",
                "\"",
                "%",
                "@",
                "`",
                " ",
                "\t",
                "\n",
                "\r",
                "\\",
                "\u{85}",
                "\u{2028}",
                "\u{feff}",
                "\u{0}",
                "\u{1b}",
                "\u{7f}",
                "é",
                "😀",
                "---",
                "...",
                "a",
                "word",
                "x y",
                "\u{fffe}",
            ];
            let mut s = String::new();
            for _ in 0..self.below(5) {
                if self.below(4) == 0 {
                    let c = char::from_u32(u32::try_from(self.below(0x11_0000)).unwrap())
                        .unwrap_or('?');
                    s.push(c);
                } else {
                    s.push_str(PIECES[self.below(PIECES.len())]);
                }
            }
            s
        }

        fn value(&mut self, depth: usize) -> Dynamic {
            match self.below(if depth > 3 { 6 } else { 8 }) {
                0 => Dynamic::UNIT,
                1 => Dynamic::from_bool(self.below(2) == 0),
                2 => Dynamic::from_int(
                    i64::from_ne_bytes(self.next().to_ne_bytes()) >> self.below(64),
                ),
                3 => Dynamic::from_float(match self.below(6) {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => f64::NEG_INFINITY,
                    3 => f64::from_bits(self.next()),
                    _ => f64::from(u32::try_from(self.next() % 100_000).unwrap()) / 8.0,
                }),
                4 | 5 => Dynamic::from(self.string()),
                6 => {
                    Dynamic::from_array((0..self.below(4)).map(|_| self.value(depth + 1)).collect())
                }
                _ => Dynamic::from_map(
                    (0..self.below(4))
                        .map(|_| (self.string().into(), self.value(depth + 1)))
                        .collect(),
                ),
            }
        }
    }

    fn same(a: &Dynamic, b: &Dynamic) -> bool {
        if a.is_unit() || b.is_unit() {
            return a.is_unit() && b.is_unit();
        }
        if let (Ok(x), Ok(y)) = (a.as_float(), b.as_float()) {
            return x == y || (x.is_nan() && y.is_nan());
        }
        if let (Some(x), Some(y)) = (a.read_lock::<Array>(), b.read_lock::<Array>()) {
            return x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same(a, b));
        }
        if let (Some(x), Some(y)) = (a.read_lock::<Map>(), b.read_lock::<Map>()) {
            return x.len() == y.len()
                && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)));
        }
        a.type_name() == b.type_name() && a.to_string() == b.to_string()
    }

    /// The property of issue 14: `yaml::parse(yaml::to_string(x)) == x` for every value.
    #[test]
    fn every_value_reads_back_as_itself() {
        let mut g = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let x = g.value(0);
            let t = text(&x);
            let y = back(&t);
            assert!(same(&x, &y), "{x:?}\nwritten as {t:?}\nread back as {y:?}");
        }
    }
}
