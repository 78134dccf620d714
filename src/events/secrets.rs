//! Secrets: values marked `secret: true` and variables set with `vars::set_secret`.
//!
//! Their text is replaced by `***` in everything ordo writes: human output, logs, error
//! messages and excerpts, JSON reports and events, the state file. The set is process-wide
//! because output comes from everywhere (worker threads, the reporter, error rendering),
//! and a secret, once known, must stay masked for the rest of the run.

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock};

use rhai::Dynamic;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// What a secret is shown as.
pub const MASK: &str = "***";

/// The shortest line of a multi-line secret that is masked on its own, counted in
/// characters without its surrounding blanks: shorter lines (`}`, `-----`, `true`) are too
/// common in other text to be masked wherever they appear.
pub const MIN_LINE: usize = 8;

/// Remembers `text` as secret (empty text is ignored), in every form ordo itself renders
/// it: as is, JSON-escaped (`json::to_string`, `-o json`), as Rhai shows a string inside a
/// printed or thrown map (Rust's debug escaping), and YAML double-quoted. Each line of a
/// secret of several lines is a secret too (at least [`MIN_LINE`] characters, without its
/// surrounding blanks), so text cut at a line break, or showing one line, masks it
/// (issue 15). Its sha256 (hex) is masked too.
pub fn add(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut forms = forms(text);
    // Its sha256, as `file::sha256` gives it for a file holding just the secret (WriteFile's
    // `sha256` output): kept in the state, it let a short secret be guessed (issue 15).
    forms.push(crate::digest::sha256_hex(text.as_bytes()));
    if text.contains(['\n', '\r']) {
        for line in text.lines().map(str::trim) {
            if line.chars().count() >= MIN_LINE {
                forms.extend(self::forms(line));
            }
        }
    }
    let mut secrets = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
    for form in forms {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so a secret containing another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` as is and in every escaped form ordo renders a string in.
fn forms(text: &str) -> Vec<String> {
    let mut forms = vec![text.to_string()];
    forms.extend(quoted_inner(
        &serde_json::to_string(text).unwrap_or_default(),
    ));
    forms.extend(quoted_inner(&format!("{text:?}")));
    forms.extend(quoted_inner(&crate::manifest::string_text(text)));
    forms
}

/// The text between the quotes of a quoted rendering (`"a\"b"` → `a\"b`).
fn quoted_inner(rendered: &str) -> Option<String> {
    rendered
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// Remembers every string, number and boolean inside `value` as secret.
pub fn add_value(value: &Dynamic) {
    if let Some(a) = value.read_lock::<rhai::Array>() {
        a.iter().for_each(add_value);
    } else if let Some(m) = value.read_lock::<rhai::Map>() {
        m.values().for_each(add_value);
    } else if !value.is_unit() {
        add(&value.to_string());
    }
}

/// Whether any secret is known yet (most runs have none, and skip masking).
pub fn any() -> bool {
    !SECRETS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
}

/// `text` with every secret replaced by `***`.
pub fn mask(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    if secrets.is_empty() || !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// [`mask`] into an owned string.
pub fn masked(text: &str) -> String {
    mask(text).into_owned()
}

/// Masks every string inside a JSON value, in place.
pub fn mask_json(value: &mut serde_json::Value) {
    if any() {
        mask_json_inner(value);
    }
}

fn mask_json_inner(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(m) = mask(s) {
                *s = m;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_json_inner),
        serde_json::Value::Object(map) => map.values_mut().for_each(mask_json_inner),
        other => {
            if secret_scalar(other) {
                *other = serde_json::Value::String(MASK.into());
            }
        }
    }
}

/// Whether `value`, a number or a bool, is a secret as a whole (a `secret: true` value
/// that is `987654321` in YAML): it is masked as `***` like a string holding one. Only
/// the whole text counts: a secret `5432` does not mask the number `154320`.
pub fn secret_scalar(value: &serde_json::Value) -> bool {
    let text = match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return false,
    };
    mask(&text) == MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_longest_first() {
        add("hunter2");
        add("hunter2-long");
        assert_eq!(mask("pw=hunter2-long and hunter2"), "pw=*** and ***");
        assert!(matches!(mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn each_line_of_a_multi_line_secret_is_masked_but_not_trivial_ones() {
        add("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n}\n");
        assert_eq!(mask("line: MIIEvQIBADANBgkqhkiG9w0B"), "line: ***");
        assert_eq!(mask("-----BEGIN KEY-----"), "***");
        assert_eq!(mask("{ x }"), "{ x }");
    }

    #[test]
    fn escaped_renderings_are_masked() {
        add("q\"u\\o\nte-9");
        assert_eq!(mask(r#"{"pw":"q\"u\\o\nte-9"}"#), r#"{"pw":"***"}"#);
        assert_eq!(mask("q\"u\\o\nte-9"), "***");
    }
}
