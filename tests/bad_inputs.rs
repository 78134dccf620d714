//! The bad-input corpus (issue 9): every directory under `tests/bad-inputs/` is one invalid
//! project, and ordo must answer each with exit code 3, no panic and no backtrace, the place
//! of the problem (`file:line`) in its message, and nothing executed.
//!
//! A case directory holds its manifests (`*.yaml`) and handlers (`*.rhai`), and:
//!
//! - `expect`: one location per line (`file:line:` or `file:line:col`) that stderr must show;
//! - `args` (optional): extra arguments after `apply`, split on whitespace;
//! - `usage` (optional, empty): the input is the command line (`args`), which ordo refuses
//!   with exit code 2 before reading any file; `expect` then holds, one a line, text that
//!   stderr must show (the option and the problem), as a command line has no `file:line`;
//! - `generate` (optional): `KIND FILE`, a large input made here rather than committed:
//!   `huge-file` (over the 256 MiB file limit, for manifests and values files alike),
//!   `huge-handler` (over the 16 MiB limit of a handler script), `huge-document` (over the 16 MiB document
//!   limit), `too-many-nodes` (over 1 000 000 nodes), `too-many-documents` (over 1 000 000).
//!
//! The harness adds a witness: the `Trace` handler (`trace.rhai`) and a manifest that uses it
//! (`witness.yaml`). `Trace` appends a line to a trace file whenever it runs, so an empty
//! trace proves nothing ran. The whole of stderr is a snapshot per case
//! (`tests/snapshots/bad_inputs__<case>.snap`), with the temporary directory shown as `[DIR]`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{Test, trace_doc};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-inputs")
}

/// Copies a case's inputs (not its `expect`, `args` and `generate`) into `to`, bytes as is.
fn copy_inputs(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_inputs(&entry.path(), &target);
        } else if !matches!(
            name.to_str(),
            Some("expect" | "args" | "generate" | "usage")
        ) {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Makes the large inputs of `generate` files.
fn generate(spec: &str, dir: &Path) {
    let (kind, file) = spec.trim().split_once(' ').expect("`KIND FILE`");
    let path = dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    match kind {
        // A sparse file one byte over the limit: instant to make, and ordo must refuse it
        // after reading no more than the limit.
        "huge-file" => {
            let f = std::fs::File::create(&path).unwrap();
            f.set_len((256 << 20) + 1).unwrap();
        }
        // A sparse handler script one byte over the 16 MiB limit for handlers.
        "huge-handler" => {
            let f = std::fs::File::create(&path).unwrap();
            f.set_len((16 << 20) + 1).unwrap();
        }
        // One document of 17 MiB, after a comment line, so it starts on line 2.
        "huge-document" => {
            let mut text = String::from(
                "# one document over the 16 MiB limit\nkind: Trace\nversion: v1\nmetadata: {name: big}\nspec:\n  data: '",
            );
            text.push_str(&"x".repeat(17 << 20));
            text.push_str("'\n");
            std::fs::write(&path, text).unwrap();
        }
        "too-many-nodes" => {
            let mut text =
                String::from("kind: Trace\nversion: v1\nmetadata: {name: big}\nspec:\n  data: [");
            text.push_str(&"1,".repeat(1_000_001));
            text.push_str("]\n");
            std::fs::write(&path, text).unwrap();
        }
        "too-many-documents" => {
            std::fs::write(&path, "---\n".repeat(1_000_001)).unwrap();
        }
        other => panic!("unknown generator `{other}`"),
    }
}

/// `a.yaml:3:` or `a.yaml:3:7`: a file name, then a line number.
fn is_location(text: &str) -> bool {
    let mut parts = text.split(':');
    let file = parts.next().unwrap_or_default();
    let line = parts.next().unwrap_or_default();
    !file.is_empty() && !line.is_empty() && line.chars().all(|c| c.is_ascii_digit())
}

#[test]
fn every_bad_input_is_an_input_error_with_its_place_and_nothing_runs() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();

    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap().to_string();
        let expect = std::fs::read_to_string(case.join("expect"))
            .unwrap_or_else(|_| panic!("{name}: no `expect` file"));
        let locations: Vec<&str> = expect.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!locations.is_empty(), "{name}: `expect` is empty");

        let t = Test::new();
        copy_inputs(case, t.path());
        if !t.exists("trace.rhai") {
            std::fs::write(t.path().join("trace.rhai"), common::TRACE).unwrap();
        }
        std::fs::write(t.path().join("witness.yaml"), trace_doc("witness", "", "")).unwrap();
        if let Ok(spec) = std::fs::read_to_string(case.join("generate")) {
            generate(&spec, t.path());
        }
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        let mut args = vec!["apply"];
        args.extend(extra.split_whitespace());

        let out = t.run(&args);
        let usage = case.join("usage").exists();
        let want = if usage { 2 } else { 3 };
        // Every problem of every case is collected, so one run shows them all.
        if out.code != want {
            failures.push(format!("{name}: exit code {}, not {want}", out.code));
        }
        // What `Output::no_panic` asserts, collected rather than stopping at the first.
        for bad in out.panic_signs() {
            failures.push(format!("{name}: stderr has `{bad}`"));
        }
        if !usage && !out.stderr.contains("nothing was run") {
            failures.push(format!("{name}: stderr does not say that nothing was run"));
        }
        for location in &locations {
            if usage {
                if !out.stderr.contains(location) {
                    failures.push(format!("{name}: stderr lacks `{location}`"));
                }
            } else if !is_location(location) {
                failures.push(format!(
                    "{name}: `{location}` in `expect` is not `file:line`"
                ));
            } else if !out.stderr.contains(location) {
                failures.push(format!("{name}: stderr lacks `{location}`"));
            }
        }
        if !t.take_trace().is_empty() {
            failures.push(format!("{name}: a handler ran despite invalid input"));
        }
        if failures
            .last()
            .is_some_and(|f| f.starts_with(&format!("{name}:")))
        {
            failures.push(format!("--- {name}: stderr\n{}", out.stderr));
        }

        let dir = t.path().display().to_string();
        let shown = out.stderr.replace(&dir, "[DIR]");
        insta::assert_snapshot!(name.as_str(), shown);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
