//! Checking a case's `expect` against what its call did; each failed expectation with a
//! readable difference (`-` expected, `+` found).

use std::path::Path;

use super::case::{Observed, inside};
use super::file::{CallExpect, CallMatch, Case, CaseFile, node_json};
use super::mocks::Call;
use crate::events::Status;
use crate::manifest::Node;

/// One failed expectation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// Which expectation: `status`, `error`, `files: out/a.txt`, `calls`...
    pub expectation: String,
    pub message: String,
    /// The difference, a line each: `- expected`, `+ found`, `  same`.
    pub diff: Vec<String>,
}

impl Failure {
    pub fn plain(expectation: &str, message: String) -> Failure {
        Failure {
            expectation: expectation.to_string(),
            message,
            diff: Vec::new(),
        }
    }

    fn with_diff(expectation: &str, message: String, expected: &str, found: &str) -> Failure {
        Failure {
            expectation: expectation.to_string(),
            message,
            diff: diff(expected, found),
        }
    }
}

/// A line diff of two texts: `- ` what was expected, `+ ` what was found.
pub fn diff(expected: &str, found: &str) -> Vec<String> {
    let with_newline = |t: &str| {
        if t.ends_with('\n') {
            t.to_string()
        } else {
            format!("{t}\n")
        }
    };
    let (e, f) = (with_newline(expected), with_newline(found));
    if e == f {
        return vec![format!(
            "  (they differ only in the newline at the end: expected {}, found {})",
            if expected.ends_with('\n') {
                "one"
            } else {
                "none"
            },
            if found.ends_with('\n') { "one" } else { "none" },
        )];
    }
    // Myers with a deadline: on texts too different to diff in time, `similar` gives up
    // and reports the rest as replaced, which is still a correct (if coarse) diff.
    let d = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(e.as_str(), f.as_str());
    let mut out = Vec::new();
    // Hunks with three lines of context, as `diff -u` shows them.
    for (n, group) in d.grouped_ops(3).iter().enumerate() {
        if n > 0 {
            out.push("  ...".to_string());
        }
        for op in group {
            for change in d.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => " ",
                };
                let text = change.value();
                let text = text.strip_suffix('\n').unwrap_or(text);
                out.push(format!("{sign} {text}"));
            }
        }
        if out.len() > MAX_DIFF_LINES {
            break;
        }
    }
    capped(out)
}

/// How long a diff may take before it falls back to a coarser one.
const DIFF_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);
/// The lines of one failed expectation's diff that are shown.
const MAX_DIFF_LINES: usize = 200;

/// `lines`, cut to [`MAX_DIFF_LINES`] with a last line saying how many were left out.
fn capped(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > MAX_DIFF_LINES {
        let more = lines.len() - MAX_DIFF_LINES;
        lines.truncate(MAX_DIFF_LINES);
        lines.push(format!("  … {more} more lines not shown"));
    }
    lines
}

/// Every expectation of `case` that `observed` does not meet.
pub fn check(case: &Case, observed: &Observed<'_>) -> Vec<Failure> {
    let mut out = Vec::new();
    let x = &case.expect;
    let found_status = match (&observed.invalid, observed.seen.status) {
        (Some(_), _) => "invalid",
        (None, Some(s)) => s.as_str(),
        (None, None) => "none",
    };
    let error_text = observed.invalid.clone().or_else(|| {
        let mut text = observed.seen.error.clone().unwrap_or_default();
        if let Some(d) = &observed.seen.detail {
            text.push('\n');
            text.push_str(&crate::report::diagnostic::render(d, false));
        }
        (!text.is_empty()).then_some(text)
    });
    // Without `status`, a case expects its call to succeed.
    let wanted = x.status.as_ref().map(|(s, _)| s.as_str());
    let ok = match wanted {
        Some(w) => w == found_status,
        None if x.error.is_some() => found_status == "failed" || found_status == "invalid",
        None => !matches!(found_status, "failed" | "invalid" | "none"),
    };
    if !ok {
        let mut f = Failure::plain(
            "status",
            format!(
                "expected {}, got `{found_status}`",
                wanted.map_or_else(
                    || if x.error.is_some() {
                        "a failure".to_string()
                    } else {
                        "success".to_string()
                    },
                    |w| format!("`{w}`")
                )
            ),
        );
        let shown = match (&observed.invalid, &observed.seen.detail) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(d)) => Some(crate::report::diagnostic::render(d, false)),
            (None, None) => observed.seen.error.clone(),
        };
        if let Some(e) = shown {
            f.diff = e.lines().map(|l| format!("  {l}")).collect();
        }
        out.push(f);
    }
    if let Some((re, _)) = &x.error {
        match &error_text {
            Some(text) if re.is_match(text) => {}
            Some(text) => out.push(Failure {
                expectation: "error".into(),
                message: format!("the error does not match /{}/", re.as_str()),
                diff: text.lines().map(|l| format!("+ {l}")).collect(),
            }),
            None => out.push(Failure::plain(
                "error",
                format!(
                    "expected an error matching /{}/, but the call did not fail",
                    re.as_str()
                ),
            )),
        }
    }
    for text in observed.mocks.unmocked() {
        out.push(Failure::plain("mocks", text));
    }
    if let Some(expected) = &x.outputs {
        let found = outputs(observed);
        check_subset("outputs", expected, &found, &mut out);
    }
    if let Some(expected) = &x.variables
        && let crate::manifest::Value::Map(entries) = &expected.value
    {
        for e in entries {
            let found = observed
                .vars
                .get(&e.key)
                .map(|v| crate::script::convert::to_json(&v.value, "variable").unwrap_or_default());
            match found {
                Some(found) => {
                    check_subset(&format!("variables: {}", e.key), &e.value, &found, &mut out)
                }
                None => out.push(Failure::plain(
                    &format!("variables: {}", e.key),
                    format!("variable `{}` is not set", e.key),
                )),
            }
        }
    }
    for f in &x.files {
        check_file(observed.dir, f, &mut out);
    }
    if let Some(calls) = &x.calls {
        check_calls(&calls.calls, calls.strict, &observed.calls, &mut out);
    }
    for (re, _) in &x.logs {
        if !observed.seen.logs.iter().any(|(_, m)| re.is_match(m)) {
            out.push(Failure {
                expectation: "logs".into(),
                message: if observed.seen.logs_left_out > 0 {
                    format!(
                        "no log line matches /{}/ (of the first {} lines kept; {} more were left out)",
                        re.as_str(),
                        observed.seen.logs.len(),
                        observed.seen.logs_left_out
                    )
                } else {
                    format!("no log line matches /{}/", re.as_str())
                },
                diff: capped(
                    observed
                        .seen
                        .logs
                        .iter()
                        .map(|(l, m)| format!("+ {}: {m}", l.as_str()))
                        .collect(),
                ),
            });
        }
    }
    if x.idempotent {
        match (&observed.again, observed.seen.status) {
            (Some((again, calls)), _) => {
                let status = again.status.map_or("none", Status::as_str);
                if again.status != Some(Status::Unchanged) {
                    let mut diff = vec!["- unchanged".to_string(), format!("+ {status}")];
                    diff.extend(
                        calls
                            .iter()
                            .map(|c| format!("  the second apply called {}", c.shown())),
                    );
                    if let Some(e) = &again.error {
                        diff.push(format!("  error: {e}"));
                    }
                    out.push(Failure {
                        expectation: "idempotent".into(),
                        message: format!(
                            "not idempotent: the second apply was `{status}`; its `check` must say there is nothing to do"
                        ),
                        diff,
                    });
                }
            }
            (None, Some(Status::Changed)) | (None, None) => {}
            (None, Some(s)) if s != Status::Unchanged => {}
            (None, _) => {}
        }
    }
    out
}

/// What the case's manifest returned: its own variables (the map `apply` returned, and
/// what it set with `vars::set`), or what an action returned.
fn outputs(observed: &Observed<'_>) -> serde_json::Value {
    if let Some(result) = &observed.seen.result {
        return result.clone();
    }
    let map: serde_json::Map<String, serde_json::Value> = observed
        .vars
        .of_manifest(observed.manifest)
        .into_iter()
        .map(|(k, v)| {
            let value = crate::script::convert::to_json(&v.value, "output").unwrap_or_default();
            (k, value)
        })
        .collect();
    map.into()
}

/// `expected` is a subset of `found`: every key of a map it names, with a value that is a
/// subset again; lists and scalars equal.
fn subset(expected: &serde_json::Value, found: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (expected, found) {
        (J::Object(e), J::Object(f)) => e
            .iter()
            .all(|(k, v)| f.get(k).is_some_and(|fv| subset(v, fv))),
        (J::Array(e), J::Array(f)) => {
            e.len() == f.len() && e.iter().zip(f).all(|(a, b)| subset(a, b))
        }
        (J::Number(a), J::Number(b)) => same_number(a, b),
        (a, b) => a == b,
    }
}

/// Two integers compare exactly (as i64, or u64 beyond it), two floats as floats; an
/// integer never equals a float (`1` is not `1.0`), as Rhai tells them apart.
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.is_f64(), b.is_f64()) {
        (false, false) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_u64().is_some() && a.as_u64() == b.as_u64(),
        },
        (true, true) => a.as_f64() == b.as_f64(),
        _ => false,
    }
}

fn check_subset(what: &str, expected: &Node, found: &serde_json::Value, out: &mut Vec<Failure>) {
    let expected = node_json(expected);
    if subset(&expected, found) {
        return;
    }
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    out.push(Failure::with_diff(
        what,
        format!("{what} differ (expected a subset of what was found)"),
        &pretty(&expected),
        &pretty(&project(&expected, found)),
    ));
}

/// What of `found` the expectation speaks of: the keys of each map it names (others are
/// left out of the diff, they do not matter), the rest as found.
fn project(expected: &serde_json::Value, found: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match (expected, found) {
        (J::Object(e), J::Object(f)) => f
            .iter()
            .filter(|(k, _)| e.contains_key(*k))
            .map(|(k, v)| {
                (
                    k.clone(),
                    e.get(k).map_or_else(|| v.clone(), |ev| project(ev, v)),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => found.clone(),
    }
}

fn check_file(dir: &Path, f: &CaseFile, out: &mut Vec<Failure>) {
    let what = format!("files: {}", f.path.display());
    let Some(path) = inside(dir, &f.path) else {
        out.push(Failure::plain(
            &what,
            format!(
                "`{}` leads outside the case's directory (a symlink the handler made); not read",
                f.path.display()
            ),
        ));
        return;
    };
    let found = match std::fs::symlink_metadata(&path) {
        Err(_) => None,
        Ok(meta) if meta.is_dir() => Some(Err("a directory")),
        Ok(_) => Some(std::fs::read(&path).map_err(|_| "unreadable")),
    };
    match (&f.content, found) {
        (None, None) => {}
        (None, Some(_)) => out.push(Failure::plain(
            &what,
            format!(
                "expected `{}` to be absent, but it exists",
                f.path.display()
            ),
        )),
        (Some(_), None) => out.push(Failure::plain(
            &what,
            format!("expected `{}`, but there is no such file", f.path.display()),
        )),
        (Some(_), Some(Err(why))) => out.push(Failure::plain(
            &what,
            format!("expected a file at `{}`, found {why}", f.path.display()),
        )),
        (Some(want), Some(Ok(bytes))) => {
            let text = String::from_utf8_lossy(&bytes);
            if *want != text {
                out.push(Failure::with_diff(
                    &what,
                    format!("`{}` differs", f.path.display()),
                    want,
                    &text,
                ));
            }
        }
    }
}

/// Whether a recorded call is what an expectation names.
fn call_matches(x: &CallExpect, call: &Call) -> bool {
    if call.module != x.module {
        return false;
    }
    match &x.what {
        CallMatch::Command(m) => m.matches(&call.args, call.script.as_deref()),
        CallMatch::Http { method, url } => {
            let (m, u) = match call.args.as_slice() {
                [m, u] => (m.as_str(), u.as_str()),
                _ => return false,
            };
            method.as_deref().is_none_or(|x| x == m) && url.is_match(u)
        }
        CallMatch::Arg(g) => g.is_match(call.args.join(" ")),
    }
}

fn shown_expect(x: &CallExpect) -> String {
    let what = match &x.what {
        CallMatch::Command(m) => m.shown(),
        CallMatch::Http { method, url } => {
            format!("{} {}", method.as_deref().unwrap_or("*"), url.glob().glob())
        }
        CallMatch::Arg(g) => g.glob().glob().to_string(),
    };
    match x.times {
        Some(n) => format!("{} {what} × {n}", x.module),
        None => format!("{} {what}", x.module),
    }
}

fn check_calls(expected: &[CallExpect], strict: bool, calls: &[Call], out: &mut Vec<Failure>) {
    let made = |module: &str| -> Vec<String> {
        calls
            .iter()
            .filter(|c| c.module == module)
            .map(|c| format!("+ {}", c.shown()))
            .collect()
    };
    for x in expected {
        let n = calls.iter().filter(|c| call_matches(x, c)).count() as u64;
        let ok = match x.times {
            Some(t) => n == t,
            None => n > 0,
        };
        if !ok {
            let mut diff = vec![format!("- {}", shown_expect(x))];
            diff.extend(made(&x.module));
            out.push(Failure {
                expectation: format!("calls: {}", x.module),
                message: match x.times {
                    Some(t) => format!("expected {t} matching call(s), found {n}"),
                    None => "expected at least one matching call, found none".to_string(),
                },
                diff,
            });
        }
    }
    if strict {
        // Each listed call after the previous one's first match.
        let mut at = 0;
        for x in expected {
            match calls
                .iter()
                .enumerate()
                .skip(at)
                .find(|(_, c)| call_matches(x, c))
            {
                Some((i, _)) => at = i + 1,
                None => {
                    let mut diff: Vec<String> = expected
                        .iter()
                        .map(|x| format!("- {}", shown_expect(x)))
                        .collect();
                    diff.extend(calls.iter().map(|c| format!("+ {}", c.shown())));
                    out.push(Failure {
                        expectation: "calls: order".into(),
                        message: format!(
                            "`order: strict`: no call matching {} after the ones before it",
                            shown_expect(x)
                        ),
                        diff,
                    });
                    break;
                }
            }
        }
    }
}
