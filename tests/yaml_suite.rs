//! The official YAML test suite as a test of ordo's YAML reader (issue 14, item 10).
//!
//! Every case under `tests/yaml-test-suite/` (see its README for where the data comes
//! from): an input with an `error` file must be refused; any other input must be read, and
//! where the case has an `in.json`, each document must equal its JSON value. ordo's
//! documented choices (README.md, "YAML") that make a case differ are listed in
//! [`DEVIATIONS`] by test id with the reason; a listed case that starts to pass fails the
//! test too, so the list stays exact.
//!
//! Documents that are empty or null are left out of a stream by ordo (a manifest file may
//! hold `---` alone); the expected values are compared with the `null`s left out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};

use ordo::manifest::{Limits, Node, Value, parse_stream};
use serde_json::Value as J;

/// Cases where ordo deliberately reads YAML differently from the suite's expectation.
const DEVIATIONS: &[(&str, &str)] = &[
    ("565N", "an unknown tag is kept as `{tag, value}`"),
    ("2XXW", "an unknown tag is kept as `{tag, value}`"),
    ("J7PZ", "an unknown tag is kept as `{tag, value}`"),
    ("5TYM", "an unknown tag is kept as `{tag, value}`"),
    ("6CK3", "an unknown tag is kept as `{tag, value}`"),
    ("6WLZ", "an unknown tag is kept as `{tag, value}`"),
    ("7FWL", "an unknown tag is kept as `{tag, value}`"),
    ("9WXW", "an unknown tag is kept as `{tag, value}`"),
    ("C4HZ", "an unknown tag is kept as `{tag, value}`"),
    ("CC74", "an unknown tag is kept as `{tag, value}`"),
    ("CUP7", "an unknown tag is kept as `{tag, value}`"),
    ("M5C3", "an unknown tag is kept as `{tag, value}`"),
    ("P76L", "an unknown tag is kept as `{tag, value}`"),
    ("UGM3", "an unknown tag is kept as `{tag, value}`"),
    ("Z67P", "an unknown tag is kept as `{tag, value}`"),
    ("Z9M4", "an unknown tag is kept as `{tag, value}`"),
    ("4FJ6", "a mapping key must be a scalar"),
    ("6BFJ", "a mapping key must be a scalar"),
    ("6PBE", "a mapping key must be a scalar"),
    ("9MMW", "a mapping key must be a scalar"),
    ("KK5P", "a mapping key must be a scalar"),
    ("LX3P", "a mapping key must be a scalar"),
    ("M2N8/00", "a mapping key must be a scalar"),
    ("M2N8/01", "a mapping key must be a scalar"),
    ("M5DY", "a mapping key must be a scalar"),
    ("Q9WF", "a mapping key must be a scalar"),
    ("RZP5", "a mapping key must be a scalar"),
    ("SBG9", "a mapping key must be a scalar"),
    ("V9D5", "a mapping key must be a scalar"),
    ("X38W", "a mapping key must be a scalar"),
    ("XW4D", "a mapping key must be a scalar"),
    ("2JQS", "duplicate keys are refused (two empty keys)"),
    ("BEC7", "`%YAML` other than 1.0-1.2 is refused"),
];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml-test-suite")
}

/// The case directories: `ID` or `ID/NN` holding an `in.yaml`.
fn cases() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(suite()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let id = dir.file_name().unwrap().to_string_lossy().to_string();
        if dir.join("in.yaml").exists() {
            out.push((id.clone(), dir.clone()));
        }
        for sub in std::fs::read_dir(&dir).unwrap() {
            let sub = sub.unwrap().path();
            if sub.is_dir() && sub.join("in.yaml").exists() {
                let n = sub.file_name().unwrap().to_string_lossy().to_string();
                out.push((format!("{id}/{n}"), sub));
            }
        }
    }
    out.sort();
    out
}

/// A node as the JSON value the suite expects (an unknown tag as `{tag, value}`, as
/// handlers see it).
fn to_json(node: &Node) -> J {
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), to_json(&e.value)))
                .collect(),
        ),
        Value::Tagged(t) => serde_json::json!({"tag": t.tag, "value": to_json(&t.node)}),
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// What is wrong with ordo's reading of one case, if anything.
fn check(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("in.yaml")).unwrap();
    let stream = parse_stream(&text, &Limits::default());
    if dir.join("error").exists() {
        return match stream.error {
            Some(_) => None,
            None => Some("invalid input accepted".into()),
        };
    }
    if let Some(e) = stream.error {
        return Some(format!("refused: line {}: {}", e.mark.line, e.kind));
    }
    let Ok(json) = std::fs::read_to_string(dir.join("in.json")) else {
        return None;
    };
    let expected: Vec<J> = serde_json::Deserializer::from_str(&json)
        .into_iter::<J>()
        .map(Result::unwrap)
        .filter(|v| !v.is_null())
        .collect();
    let got: Vec<J> = stream.documents.iter().map(|d| to_json(&d.root)).collect();
    let equal = got.len() == expected.len() && got.iter().zip(&expected).all(|(a, b)| same(a, b));
    (!equal).then(|| {
        format!(
            "read as {}\n  expected {}",
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&expected).unwrap()
        )
    })
}

#[test]
fn ordo_reads_the_yaml_test_suite() {
    let cases = cases();
    assert!(
        cases.len() > 400,
        "the suite is vendored: {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for (id, dir) in &cases {
        let deviation = DEVIATIONS.iter().any(|(d, _)| d == id);
        match (check(dir), deviation) {
            (Some(problem), false) => failures.push(format!("{id}: {problem}")),
            (None, true) => failures.push(format!("{id}: listed as a deviation but passes")),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
