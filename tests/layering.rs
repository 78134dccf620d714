//! The house rule of `src/` (the layering in `src/lib.rs`'s doc): data flows one way, and a
//! module imports only modules of a lower layer. This test reads every source file and
//! fails naming `file:line` for each `crate::<module>` path that reaches up or sideways,
//! and for a module the table below does not place.
//!
//! Scanned: every `crate::name` path outside comments, in `use` lines and inline
//! (`crate::exec::split_name(..)`), and each name of a `use crate::{a, b::c}` group.
//! `super::` stays inside a module's own folder, so it is not scanned.

#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};

/// The layers of `src/`, highest first. A module may import any module of a lower layer,
/// never one of its own layer or a higher one. Keep `src/lib.rs`'s doc in step.
const LAYERS: &[&[&str]] = &[
    // The driver: arguments → configuration → subcommand → exit code.
    &["run"],
    // `ordo test`: runs cases through exec, renders with report; `ordo watch`: the
    // reconcile loop over exec, state and report, and its endpoints.
    &["testing", "watch"],
    &["cli", "report", "state"],
    &["exec"],
    &["planner"],
    &["handler"],
    &["stdlib"],
    &["script"],
    &["target"],
    &["events"],
    &["inventory", "project"],
    // git and URL sources, the cache, ordo.lock: below the project file that lists them.
    &["sources"],
    &["manifest"],
    // Small shared leaves.
    &["error"],
    &["diagnostic", "digest", "input", "units"],
    &["source"],
    &["paths"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Every `.rs` file of a module: `src/<m>.rs` or everything under `src/<m>/`.
fn modules(src: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(src)
        .unwrap_or_else(|e| panic!("reading {}: {e}", src.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.is_dir() {
            let mut files = Vec::new();
            collect(&path, &mut files);
            out.push((stem.to_string(), files));
        } else if path.extension().is_some_and(|e| e == "rs") && stem != "lib" && stem != "main" {
            out.push((stem.to_string(), vec![path.clone()]));
        }
    }
    out
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// A line without its `//` comment (a `//` inside a string literal is kept).
fn code(line: &str) -> &str {
    let mut quoted = false;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'/' if !quoted && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// `(line, module)` for every `crate::module` path in `text`, comments skipped.
fn imports(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().map(code).collect();
    let mut found = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let mut rest = *line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(inner) = rest.strip_prefix('{') {
                // A group, perhaps over several lines: the first name of each item at
                // depth one.
                let group: String = std::iter::once(inner)
                    .chain(lines[n + 1..].iter().copied())
                    .collect::<Vec<_>>()
                    .join("\n");
                let mut depth = 1;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => item_start = true,
                        c if item_start && depth == 1 && !c.is_whitespace() => {
                            item_start = false;
                            let name = ident(&group[i..]);
                            if !name.is_empty() {
                                let line = n + group[..i].matches('\n').count();
                                found.push((line + 1, name.to_string()));
                            }
                        }
                        _ => {}
                    }
                }
            } else {
                let name = ident(rest);
                if !name.is_empty() {
                    found.push((n + 1, name.to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn lower_stages_never_import_higher_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut wrong = Vec::new();
    for (module, files) in modules(&root.join("src")) {
        let Some(own) = layer(&module) else {
            wrong.push(format!(
                "src/{module}: not in the layer table of tests/layering.rs; place it there and in src/lib.rs's doc"
            ));
            continue;
        };
        for file in files {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            for (line, name) in imports(&text) {
                if name == module || name == "self" || name.starts_with(char::is_uppercase) {
                    continue;
                }
                match layer(&name) {
                    Some(l) if l > own => {}
                    Some(_) => wrong.push(format!(
                        "{shown}:{line}: `{module}` imports `crate::{name}`, which is not below it"
                    )),
                    None => wrong.push(format!(
                        "{shown}:{line}: `crate::{name}` is not in the layer table of tests/layering.rs"
                    )),
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering (src/lib.rs):\n{}",
        wrong.join("\n")
    );
}

/// The scanner itself: a path reaching up is found, in each form it can take, and
/// comments are not.
#[test]
fn the_scan_finds_every_form_of_import() {
    let text = "use crate::exec::LogLevel;\n\
                // crate::planner in a comment\n\
                let x = crate::script::convert::MAX_DEPTH; // crate::cli\n\
                use crate::{\n    manifest::Node,\n    stdlib::{self, Policy},\n};\n\
                let s = \"a // b\"; let y = crate::target::Target::Local;\n\
                let z = $crate::handler::x; let w = mycrate::run::f;\n";
    assert_eq!(
        imports(text),
        [
            (1, "exec".to_string()),
            (3, "script".to_string()),
            (5, "manifest".to_string()),
            (6, "stdlib".to_string()),
            (8, "target".to_string()),
            (9, "handler".to_string()),
        ]
    );
}
