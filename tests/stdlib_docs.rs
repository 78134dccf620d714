//! Every example in `stdlib/README.md` runs, and every native function is documented there.
//!
//! A `rhai` block is the body of an `apply` function, run with every permission in an empty
//! directory; `http://127.0.0.1:8080` is replaced by a server the test starts. A
//! `rhai,handler` block is a whole handler file, which must load.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{HttpServer, Test};

const PRELUDE: &str = r#"
register("Doc", "^1");
permissions(["shell", "file:read", "file:write", "http", "env", "prompt"]);
fn assert(ok) { if !ok { throw "assertion failed"; } }
fn assert_eq(actual, expected) {
    if type_of(actual) != type_of(expected) || `${actual}` != `${expected}` {
        throw `expected ${expected} (${type_of(expected)}), got ${actual} (${type_of(actual)})`;
    }
}
"#;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stdlib/README.md")).unwrap()
}

/// `(info string, code, line)` of every fenced block.
fn blocks(text: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let code: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| !l.starts_with("```"))
                .collect();
            out.push((info.trim().to_string(), code.join("\n"), n + 1));
        }
    }
    out
}

#[test]
fn every_example_in_the_stdlib_reference_runs() {
    let server = HttpServer::start();
    let text = readme();
    let mut ran = 0;
    for (info, code, line) in blocks(&text) {
        let code = code.replace("127.0.0.1:8080", &server.addr.to_string());
        let t = match info.as_str() {
            "rhai" => {
                // Imports go at the top of the function body, where Rhai allows them too.
                let handler = format!("{PRELUDE}\nfn apply(m) {{\n{code}\n}}\n");
                Test::new()
                    .handler("doc.rhai", &handler)
                    .manifest("m.yaml", "kind: Doc\nversion: v1\nmetadata: {name: doc}\n")
            }
            "rhai,handler" => Test::new()
                .handler("doc.rhai", &code)
                .manifest("m.yaml", "kind: Bucket\nversion: v1\nmetadata: {name: b}\n"),
            _ => continue,
        };
        let out = t.run(&["apply", "-v"]);
        assert_eq!(
            out.code, 0,
            "stdlib/README.md example at line {line} failed:\n{code}\n--- stderr\n{}",
            out.stderr
        );
        ran += 1;
    }
    assert!(ran >= 25, "only {ran} examples found");
}

/// Every native function, as registered: `(module::name, capabilities)`, from the table the
/// load-time check uses, so this list cannot drift from the code.
fn registered() -> Vec<(String, Vec<&'static str>)> {
    let mut out: Vec<(String, Vec<&'static str>)> = Vec::new();
    for s in ordo::stdlib::signatures() {
        let caps: Vec<&'static str> = s.needs.iter().map(|c| c.as_str()).collect();
        match out.iter_mut().find(|(n, _)| *n == s.full_name()) {
            Some((_, existing)) => {
                assert_eq!(*existing, caps, "{}: overloads differ", s.full_name())
            }
            None => out.push((s.full_name(), caps)),
        }
    }
    out
}

#[test]
fn every_native_function_is_documented() {
    let text = readme();
    let mut functions: Vec<String> = registered().into_iter().map(|(f, _)| f).collect();
    assert!(functions.len() > 40, "{functions:?}");
    functions.extend(["retry::with_backoff".into(), "retry::wait_until".into()]);
    for f in &functions {
        let f = f.as_str();
        let heading = text
            .lines()
            .any(|l| l.starts_with("### ") && l.contains(&format!("`{f}(")));
        assert!(heading, "stdlib/README.md has no `### ` heading for {f}");
        let example = blocks(&text).iter().any(|(info, code, _)| {
            info.starts_with("rhai")
                && code.contains(&format!("{}(", f.rsplit("::").next().unwrap()))
        });
        assert!(example, "no example calls {f}");
    }
}

/// The functions the permission table lists in the row of `cap`: `module::name` once, then
/// bare names of the same module (`file::read`, `exists`, ...).
fn table_row(text: &str, cap: &str) -> Vec<String> {
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("| `{cap}` |")))
        .unwrap_or_else(|| panic!("stdlib/README.md: no permission table row for `{cap}`"));
    let grants = row.splitn(3, '|').nth(2).unwrap();
    let mut module = String::new();
    let mut names = Vec::new();
    for (i, piece) in grants.split('`').enumerate() {
        // Prose between the names, and capability names (`(with `http`)`), are skipped.
        if i % 2 == 0 || ordo::stdlib::Capability::parse(piece).is_some() {
            continue;
        }
        if let Some((m, _)) = piece.split_once("::") {
            module = m.to_string();
            names.push(piece.to_string());
        } else {
            names.push(format!("{module}::{piece}"));
        }
    }
    names
}

/// `file::mode` was missing from the table (issue 13): every function that needs a
/// capability is in that capability's row, and every function in a row needs it.
#[test]
fn the_permission_table_lists_every_function_under_each_capability_it_needs() {
    let text = readme();
    let registered = registered();
    for cap in ordo::stdlib::Capability::ALL {
        let row = table_row(&text, cap.as_str());
        for (f, caps) in &registered {
            if caps.contains(&cap.as_str()) {
                assert!(
                    row.contains(f),
                    "stdlib/README.md: `{f}` needs `{cap}` but is not in its row {row:?}"
                );
            }
        }
        for f in &row {
            let needs = registered.iter().find(|(n, _)| n == f);
            assert!(
                needs.is_some_and(|(_, caps)| caps.contains(&cap.as_str())),
                "stdlib/README.md: the `{cap}` row lists `{f}`, which does not need it"
            );
        }
    }
}
