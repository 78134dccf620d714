//! Memory is bounded (issue 15 item 8): every way a handler can make ordo hold data has a
//! ceiling, an error names it, and an option a script passes can lower a ceiling, never
//! raise it above the run's. Each test attacks one way and checks that ordo refuses it
//! quickly, with the limit named, instead of growing until the kernel kills it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Test, probe};

/// Runs `apply` and expects the manifest to fail, within `secs`, with every text of
/// `expected` in the error; returns the error line.
fn fails_quickly(t: &Test, secs: u64, expected: &[&str]) -> String {
    let started = Instant::now();
    let out = t.run(&["apply", "-o", "json"]);
    assert!(
        started.elapsed() < Duration::from_secs(secs),
        "took {:?}",
        started.elapsed()
    );
    out.code(1);
    let report = out.json();
    let error = report["manifests"][0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {report}"))
        .to_string();
    for text in expected {
        assert!(error.contains(text), "`{text}` not in: {error}");
    }
    error
}

// `file::read` trusted nothing but read to the end: a file larger than a script may hold
// (sparse here, so it takes no disk) was read whole before Rhai's limit could see it.
#[test]
fn file_read_of_a_file_larger_than_the_string_limit_fails_naming_the_limit() {
    let t = probe(
        "\"file:read\"",
        "let text = file::read(path::join(m.dir, \"big.bin\")); text.len()",
    );
    let big = std::fs::File::create(t.path().join("big.bin")).unwrap();
    big.set_len((64 << 20) + 1).unwrap();
    fails_quickly(
        &t,
        30,
        &["`file::read`", "big.bin", "limit on string length (64 MiB)"],
    );
    // Exactly at the limit it is read (the check is one byte more, not the reported size).
    big.set_len(64 << 20).unwrap();
    let at_limit = probe(
        "\"file:read\"",
        "let n = file::read(path::join(m.dir, \"big.bin\")).len(); if n != 64 * 1024 * 1024 { throw `read ${n}`; }",
    );
    std::fs::rename(t.path().join("big.bin"), at_limit.path().join("big.bin")).unwrap();
    at_limit.run(&["apply"]).code(0);
}

// An endless file is refused at once: `/dev/zero` is not a regular file.
#[test]
fn file_read_of_an_endless_device_fails_at_once() {
    let t = probe("\"file:read\"", "file::read(\"/dev/zero\");");
    fails_quickly(&t, 10, &["`file::read`", "/dev/zero", "not a regular file"]);
}

// `file::sha256` and `file::copy` stream: a file larger than the string limit is hashed
// and copied, never held whole.
#[test]
fn file_sha256_and_copy_stream_files_larger_than_the_string_limit() {
    let t = probe(
        "\"file:read\", \"file:write\"",
        "let from = path::join(m.dir, \"big.bin\");\n\
         let to = path::join(m.dir, \"copy.bin\");\n\
         file::copy(from, to);\n\
         if file::size(to) != 65 * 1024 * 1024 { throw \"size\"; }\n\
         if file::sha256(to) != file::sha256(from) { throw \"hash\"; }",
    );
    let big = std::fs::File::create(t.path().join("big.bin")).unwrap();
    big.set_len(65 << 20).unwrap();
    t.run(&["apply"]).code(0);
    std::fs::remove_file(t.path().join("copy.bin")).unwrap();
}

// A template looping over a value had no bound on its output: fuel bounds instructions,
// not bytes.
#[test]
fn template_output_larger_than_the_string_limit_fails_naming_the_limit() {
    let t = probe(
        "",
        "let s = \"\"; s.pad(1000, 'x');\n\
         template::render(\"{% for i in range(100000) %}{{ s }}{% endfor %}\", #{ s: s });",
    );
    fails_quickly(
        &t,
        60,
        &[
            "`template::render`",
            "the output",
            "limit on string length (64 MiB)",
        ],
    );
}

// Attack on issue 15 (F5): a template filter built a result far larger than the string
// limit inside minijinja (`replace` on a 64 MiB string took ordo to 1.9 GB) before the
// output bound could see it. Each expanding filter works out the result's size first.
#[test]
fn expanding_template_filters_are_refused_before_building_a_result_over_the_limit() {
    // `s` is 10 000 bytes, `n` 10 000 lines; each template asks for about 100 MB.
    for template in [
        "{{ s|replace('x', s)|length }}",
        "{{ ([s] * 10000)|join|length }}",
        "{{ ([s] * 5000)|join(s)|length }}",
        "{{ n|indent(10000)|length }}",
        "{{ '%100000000s'|format('x')|length }}",
        "{{ ([s] * 10000)|pprint|length }}",
    ] {
        let t = probe(
            "",
            &format!(
                "let s = \"\"; s.pad(10000, 'x');\nlet n = \"\"; n.pad(10000, '\\n');\nlet r = template::render(\"{template}\", #{{ s: s, n: n }});\nprint(\"rendered \" + r);"
            ),
        );
        fails_quickly(
            &t,
            60,
            &[
                "`template::render`",
                "would exceed the run's limit on string length (64 MiB)",
            ],
        );
    }
    // Within the limit they work as before.
    let t = probe(
        "",
        "print(template::render(\"{{ s|replace('a', 'bb') }} {{ ['x', 'y']|join(', ') }} {{ '%3s'|format('z') }}\", #{ s: \"aXa\" }));",
    );
    t.run(&["apply"]).code(0).stderr_has("bbXbb x, y   z");
}

// Values stored with `vars::set` in a loop grew without end.
#[test]
fn variables_set_in_a_loop_fail_at_the_run_limit() {
    let t = probe(
        "",
        "let s = \"\"; s.pad(1000000, 'x');\n\
         for i in 0..1000 { vars::set(`k${i}`, s); }",
    );
    fails_quickly(
        &t,
        60,
        &[
            "`vars::set`",
            "limit on the size of all variables (256 MiB)",
        ],
    );
    // Replacing a variable frees what it held: the same key set again and again is fine.
    let same = probe(
        "",
        "let s = \"\"; s.pad(1000000, 'x');\n\
         for i in 0..1000 { vars::set(\"k\", s); }",
    );
    same.run(&["apply"]).code(0);
}

// The map `apply` returns is stored as variables: the same ceiling.
#[test]
fn outputs_count_against_the_variables_limit() {
    let t = probe(
        "",
        "let s = \"\"; s.pad(1000000, 'x');\n\
         let out = #{};\n\
         for i in 0..60 { out[`k${i}`] = s; }\n\
         for i in 0..250 { vars::set(`v${i}`, s); }\n\
         out",
    );
    fails_quickly(
        &t,
        60,
        &[
            "returned the output",
            "limit on the size of all variables (256 MiB)",
        ],
    );
}

// `max_output` and `max_body` chosen by the script could raise the ceiling to anything.
#[test]
fn options_cannot_raise_a_ceiling_above_the_run_limit() {
    let t = probe(
        "\"shell\"",
        "shell::run(\"yes | head -c 100\", #{ max_output: 1_000_000_000_000 });",
    );
    fails_quickly(
        &t,
        10,
        &[
            "`shell::run`",
            "`max_output` of 1000000000000 bytes",
            "limit on string length (64 MiB)",
        ],
    );
    let http = probe(
        "\"http\"",
        "http::get(\"http://127.0.0.1:9/\", #{ max_body: 1_000_000_000_000 });",
    );
    fails_quickly(
        &http,
        10,
        &[
            "`http::get`",
            "`max_body`",
            "limit on string length (64 MiB)",
        ],
    );
    // Lowering one is fine.
    let lower = probe(
        "\"shell\"",
        "let r = shell::run(\"yes | head -c 100\", #{ max_output: 10 });\n\
         if r.stdout.len() != 10 || !r.truncated { throw \"not cut\"; }",
    );
    lower.run(&["apply"]).code(0);
}

// `json::parse` of a text with millions of values built a tree many times the text's size
// before Rhai's limits could see the result.
#[test]
fn json_parse_of_more_values_than_a_script_may_hold_is_refused_before_parsing() {
    let t = probe(
        "",
        "let t = \"\"; t.pad(2000000, ',');\n\
         t.replace(\",\", \"0,\");\n\
         json::parse(\"[\" + t + \"0]\");",
    );
    fails_quickly(
        &t,
        60,
        &["`json::parse`", "more values than the run's limits"],
    );
}

// Under `-o json` the report holds every log line until the end: at most 64 MiB of them.
#[test]
fn the_json_report_keeps_a_bounded_amount_of_logs() {
    let t = probe(
        "",
        "let s = \"\"; s.pad(1000000, 'x');\n\
         for i in 0..70 { print(s); }",
    );
    let out = t.run(&["apply", "-o", "json"]);
    out.code(0);
    let report = out.json();
    let logs = report["manifests"][0]["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 68, "67 lines of 1 MB and the note");
    let note = logs.last().unwrap()["message"].as_str().unwrap();
    assert!(
        note.contains("3 more log lines were not kept") && note.contains("64 MiB"),
        "{note}"
    );
}

// A thrown string of any size was held whole, for each failed manifest, until the report.
#[test]
fn a_huge_thrown_message_is_cut() {
    let t = probe("", "let s = \"\"; s.pad(10000000, 'x');\nthrow s;");
    let error = fails_quickly(&t, 30, &["more bytes not shown"]);
    assert!(error.len() < 70_000, "{} bytes kept", error.len());
}

/// The peak resident memory of a running process, in KiB (`VmHWM`), if it still runs.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// ordo's own memory stays bounded under the attacks: a 1 GiB file read and a template
// asked for 100 MB of output leave its peak far below what they would have taken.
#[test]
fn ordos_peak_memory_stays_bounded_under_the_attacks() {
    let t = probe(
        "\"file:read\"",
        "try { file::read(path::join(m.dir, \"huge.bin\")); throw \"read\"; } catch (e) { if e == \"read\" { throw e; } }\n\
         let s = \"\"; s.pad(1000, 'x');\n\
         try { template::render(\"{% for i in range(100000) %}{{ s }}{% endfor %}\", #{ s: s }); throw \"rendered\"; } catch (e) { if e == \"rendered\" { throw e; } }\n\
         time::sleep(1.0);",
    );
    std::fs::File::create(t.path().join("huge.bin"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let mut child = t.spawn(&["apply"]);
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kib) = peak_kib(child.id()) {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    assert!(peak > 0, "no sample of the running process");
    // 64 MiB read and refused, then at most 64 MiB of output: well under 400 MiB.
    assert!(peak < 400 * 1024, "peak resident memory {peak} KiB");
}
