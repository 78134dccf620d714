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

#[test]
fn every_native_function_is_documented() {
    let text = readme();
    let functions = [
        "vars::set",
        "vars::set_secret",
        "vars::get",
        "vars::has",
        "vars::remove",
        "log::verbose",
        "log::info",
        "log::warn",
        "log::error",
        "env::get",
        "json::parse",
        "json::to_string",
        "json::to_string_pretty",
        "yaml::parse",
        "yaml::to_string",
        "template::render",
        "path::join",
        "path::parent",
        "path::file_name",
        "path::extension",
        "path::is_absolute",
        "time::sleep",
        "time::now",
        "file::read",
        "file::write",
        "file::append",
        "file::exists",
        "file::is_dir",
        "file::remove",
        "file::remove_dir",
        "file::mkdir",
        "file::list",
        "file::copy",
        "file::sha256",
        "file::size",
        "file::chmod",
        "file::mode",
        "shell::run",
        "http::get",
        "http::request",
        "http::download",
        "term::prompt",
        "term::interactive",
        "values::get",
        "values::has",
        "retry::with_backoff",
        "retry::wait_until",
    ];
    for f in functions {
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
