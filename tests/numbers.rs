//! Numbers, paths and names from input never panic (issue 16 items 4 and 5).
//!
//! Every duration from input goes through one checked conversion (`src/units.rs`): NaN,
//! infinities, negative numbers, more than a year and positive numbers that round to zero
//! are refused with an error naming the field, on the command line (`--timeout`, exit 2),
//! in manifests (`metadata.timeout`, `metadata.retryDelay`, exit 3), in stdlib calls
//! (`shell::run`, `http::*`, `time::sleep`) and in the bundled handlers (`spec.timeout`).
//! Paths on the command line need not be UTF-8. `--net-allow` takes `[::1]` and
//! `host:port`; `-e` takes only names an environment can have.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};

use common::{HttpServer, Output, Test, probe};

/// Runs ordo in the test's directory with arguments that need not be UTF-8.
fn run_os(t: &Test, args: &[OsString]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .current_dir(t.path())
        .env_remove("NO_COLOR")
        .env("TRACE_FILE", t.path().join("trace.txt"))
        .stdin(Stdio::null())
        .output()
        .expect("run ordo");
    Output::of(out, t.path())
}

/// A name with a byte that is not UTF-8: `name\xff` + `suffix`.
fn not_utf8(name: &str, suffix: &str) -> OsString {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(bytes)
}

/// Asserts what every case here asserts: no panic (exit 101, "panicked", "internal error").
#[track_caller]
fn sane(out: &Output) -> &Output {
    assert_ne!(out.code, 101, "exit 101\n{}", out.stderr);
    out.no_panic()
}

// --- item 4: the panics -------------------------------------------------------------------

/// `--timeout 1e20` panicked in `Duration::from_secs_f64` (exit 101).
#[test]
fn a_timeout_above_a_year_on_the_command_line_is_a_usage_error() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "", ""));
    for value in ["1e20", "1e300", "31536001", "inf", "NaN", "-5"] {
        sane(&t.run(&["apply", &format!("--timeout={value}")]))
            .code(2)
            .stderr_has(&format!("invalid value '{value}' for '--timeout <SECS>'"));
    }
    t.run(&["apply", "--timeout", "1e20"]).stderr_has(
        "`1e20` seconds is more than the longest duration ordo takes, 31536000 (365 days)",
    );
    t.run(&["apply", "--timeout=-5"])
        .stderr_has("`-5` is negative");
    assert!(
        t.take_trace().is_empty(),
        "nothing runs after a usage error"
    );
    sane(&t.run(&["apply", "--timeout", "31536000"])).code(0);
}

/// The lock recorded `std::env::args()`, which panicked on an argument that is not UTF-8;
/// and a lossy path put the state of `m\xff` and `m\xfe` in one `m\u{FFFD}/.ordo` (issue 16
/// attack). A path that is not UTF-8 is a usage error naming the flag: nothing runs.
#[test]
fn manifest_and_state_paths_that_are_not_utf8_are_refused_naming_the_flag() {
    let t = Test::new().trace();
    let manifest = not_utf8("m", ".yaml");
    std::fs::write(t.path().join(&manifest), common::trace_doc("a", "", "")).unwrap();
    let out = run_os(&t, &["apply".into(), "-m".into(), manifest.clone()]);
    sane(&out).code(2).stderr_has(
        "--manifest <PATH>: `m\u{FFFD}.yaml` is not UTF-8; ordo takes UTF-8 paths only",
    );
    let args = [
        "apply".into(),
        "-m".into(),
        "m.yaml".into(),
        "--state".into(),
        not_utf8("s", ".json"),
    ];
    sane(&run_os(&t, &args))
        .code(2)
        .stderr_has("--state <PATH>: `s\u{FFFD}.json` is not UTF-8");
    assert!(t.take_trace().is_empty(), "nothing ran");
    assert!(!t.exists(".ordo"), "no state was made");
}

/// Every other path option refuses a path that is not UTF-8 as a usage error, no panic.
#[test]
fn every_path_option_refuses_a_path_that_is_not_utf8() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "", ""));
    let dir = not_utf8("d", "");
    std::fs::create_dir(t.path().join(&dir)).unwrap();
    std::fs::write(t.path().join(&dir).join("trace.rhai"), common::TRACE).unwrap();
    let values = not_utf8("v", ".yaml");
    std::fs::write(
        t.path().join(&values),
        "kind: Values\nversion: v1\nmetadata: {name: v}\nspec: {values: [{valueName: x, defaultValue: 1}]}\n",
    )
    .unwrap();
    let cases: Vec<Vec<OsString>> = vec![
        vec!["apply".into(), "-s".into(), dir.clone()],
        vec!["apply".into(), "-f".into(), values.clone()],
        vec!["apply".into(), "--fs-root".into(), dir.clone()],
        vec!["plan".into(), "--state".into(), not_utf8("p", ".json")],
        vec!["lint".into(), dir.clone()],
        vec!["validate".into(), "-m".into(), not_utf8("missing", ".yaml")],
        vec![
            "state".into(),
            "list".into(),
            "--state".into(),
            not_utf8("s", ".json"),
        ],
        vec!["state".into(), "list".into(), "-m".into(), dir.clone()],
        vec![
            "state".into(),
            "unlock".into(),
            "--state".into(),
            not_utf8("s", ".json"),
        ],
    ];
    for args in cases {
        let out = run_os(&t, &args);
        assert_eq!(out.code, 2, "{args:?}\n{}", out.stderr);
        assert!(
            out.stderr
                .contains("is not UTF-8; ordo takes UTF-8 paths only"),
            "{args:?}\n{}",
            out.stderr
        );
        assert!(out.panic_signs().is_empty(), "{args:?}\n{}", out.stderr);
    }
}

/// `shell::run(cmd, #{timeout: 1e300})` and `1e19` panicked in the worker ("internal
/// error"); now the call fails naming its option.
#[test]
fn a_shell_timeout_out_of_range_fails_the_call_naming_the_option() {
    for (value, problem) in [
        (
            "1e300",
            "`1e300` seconds is more than the longest duration ordo takes",
        ),
        (
            "1e19",
            "`1e19` seconds is more than the longest duration ordo takes",
        ),
        ("1.0e-300", "`1e-300` seconds rounds to zero"),
        ("-1", "`-1` is negative"),
        ("0", "must be more than 0 seconds"),
        (
            "\"soon\"",
            "must be a number of seconds or a duration like `90s`, `5m`, `1h30m`, not string",
        ),
    ] {
        let t = probe(
            "\"shell\"",
            &format!("shell::run(\"true\", #{{ timeout: {value} }});"),
        );
        sane(&t.run(&["apply"]))
            .code(1)
            .stderr_has(&format!("`shell::run`: option `timeout`: {problem}"));
    }
    let t = probe("\"shell\"", "shell::run(\"true\", #{ timeout: 31536000 });");
    sane(&t.run(&["apply"])).code(0);
}

/// `http::get(u, #{timeout: 1e300})` panicked; the options are checked before any request.
#[test]
fn an_http_timeout_out_of_range_fails_the_call_naming_the_option() {
    let server = HttpServer::start();
    for (call, problem) in [
        (
            format!(
                "http::get(\"{}\", #{{ timeout: 1e300 }})",
                server.url("/ok")
            ),
            "`http::get`: option `timeout`: `1e300` seconds is more than",
        ),
        (
            format!(
                "http::request(#{{ url: \"{}\", timeout: 1e19 }})",
                server.url("/ok")
            ),
            "`http::request`: option `timeout`: `1e19` seconds is more than",
        ),
        (
            format!(
                "http::download(\"{}\", path::join(m.dir, \"f\"), #{{ timeout: 0.0 }})",
                server.url("/ok")
            ),
            "`http::download`: option `timeout`: must be more than 0 seconds",
        ),
    ] {
        let t = probe("\"http\", \"file:write\"", &format!("{call};"));
        sane(&t.run(&["apply"])).code(1).stderr_has(problem);
    }
    let t = probe(
        "\"http\"",
        &format!("http::get(\"{}\", #{{ timeout: 5 }});", server.url("/ok")),
    );
    sane(&t.run(&["apply"])).code(0);
}

/// `time::sleep(1e19)` panicked on `Instant + Duration`.
#[test]
fn a_sleep_out_of_range_fails_naming_time_sleep() {
    for (value, problem) in [
        (
            "1e19",
            "`time::sleep`: `1e19` seconds is more than the longest duration ordo takes",
        ),
        ("1e300", "`time::sleep`: `1e300` seconds is more than"),
        ("-1", "`time::sleep`: `-1` is negative"),
        ("1.0e-300", "`time::sleep`: `1e-300` seconds rounds to zero"),
    ] {
        let t = probe("", &format!("time::sleep({value});"));
        sane(&t.run(&["apply"])).code(1).stderr_has(problem);
    }
    let t = probe("", "time::sleep(0); time::sleep(0.001);");
    sane(&t.run(&["apply"])).code(0);
}

/// `retryDelay: 1e19` with retries panicked when the retry waited; now the manifest is
/// refused before anything runs, at the field's line.
#[test]
fn a_retry_delay_out_of_range_is_an_input_error_at_its_line() {
    let t = Test::new().trace().manifest(
        "m.yaml",
        "kind: Trace\nversion: v1\nmetadata:\n  name: a\n  retries: 2\n  retryDelay: 1e19\nspec: {fail: true}\n",
    );
    sane(&t.run(&["apply"]))
        .code(3)
        .stderr_has(
            "`metadata.retryDelay`: `1e19` seconds is more than the longest duration ordo takes",
        )
        .stderr_has("m.yaml:6:15");
    assert!(t.take_trace().is_empty());
}

/// `metadata.timeout` takes the same checks as `--timeout`.
#[test]
fn a_manifest_timeout_out_of_range_is_an_input_error_at_its_line() {
    for (value, problem) in [
        ("1e20", "`metadata.timeout`: `1e20` seconds is more than"),
        (
            "1e-300",
            "`metadata.timeout`: `1e-300` seconds rounds to zero",
        ),
        ("0", "`metadata.timeout`: must be more than 0 seconds"),
        (".nan", "`metadata.timeout`: NaN is not a number of seconds"),
    ] {
        let t = Test::new().trace().manifest(
            "m.yaml",
            &format!("kind: Trace\nversion: v1\nmetadata:\n  name: a\n  timeout: {value}\n"),
        );
        sane(&t.run(&["apply"]))
            .code(3)
            .stderr_has(problem)
            .stderr_has("m.yaml:5:12");
        assert!(t.take_trace().is_empty());
    }
}

/// The bundled `WebsiteUpTest` and `WebDownloadFile` passed `spec.timeout: 1e300` to
/// `http`, which panicked; they refuse it naming `spec.timeout`.
#[test]
fn the_bundled_http_handlers_refuse_a_timeout_out_of_range_naming_spec_timeout() {
    let server = HttpServer::start();
    for (kind, spec) in [
        ("WebsiteUpTest", format!("url: {}", server.url("/ok"))),
        (
            "WebDownloadFile",
            format!(
                "sourceUrl: {}\ntargetOutputFile: out/f.txt",
                server.url("/ok")
            ),
        ),
    ] {
        for value in ["1e300", "1e-300", ".nan", "-1"] {
            let yaml = format!(
                "kind: {kind}\nversion: v1\nmetadata: {{name: w}}\nspec:\n  {}\n  timeout: {value}\n",
                spec.replace('\n', "\n  ")
            );
            let t = Test::new().manifest("m.yaml", &yaml);
            sane(&t.run(&["apply", "--no-state"]))
                .code(1)
                .stderr_has(&format!(
                    "{kind} `w`: `spec.timeout` must be a number of seconds"
                ))
                .stderr_has("31536000 (365 days)");
        }
        let yaml = format!(
            "kind: {kind}\nversion: v1\nmetadata: {{name: w}}\nspec:\n  {}\n  timeout: 2.5\n",
            spec.replace('\n', "\n  ")
        );
        let t = Test::new().manifest("m.yaml", &yaml);
        sane(&t.run(&["apply", "--no-state"])).code(0);
    }
}

// --- item 5: small leftovers --------------------------------------------------------------

/// `--timeout 1e-300` was accepted: a limit that rounds to no time at all.
#[test]
fn a_timeout_that_rounds_to_zero_is_a_usage_error() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "", ""));
    for value in ["1e-300", "1e-10", "0"] {
        sane(&t.run(&["apply", "--timeout", value])).code(2);
    }
    t.run(&["apply", "--timeout", "1e-300"])
        .stderr_has("`1e-300` seconds rounds to zero; the shortest duration is 1 nanosecond");
    t.run(&["apply", "--timeout", "0"])
        .stderr_has("must be more than 0 seconds");
    assert!(t.take_trace().is_empty());
}

/// `--net-allow host:port` never matched (the rule was taken as a host name).
#[test]
fn net_allow_with_a_port_allows_that_port_only() {
    let server = HttpServer::start();
    let port = server.addr.port();
    let t = probe(
        "\"http\"",
        &format!("http::get(\"{}\");", server.url("/ok")),
    );
    sane(&t.run(&["apply", "--net-allow", &format!("127.0.0.1:{port}")])).code(0);
    let other = if port == 65535 { 1 } else { port + 1 };
    sane(&t.run(&["apply", "--net-allow", &format!("127.0.0.1:{other}")]))
        .code(1)
        .stderr_has(&format!(
            "port {port} of host `127.0.0.1` is not allowed (--net-allow 127.0.0.1:{other})"
        ));
    // The default port of the scheme counts: `http://127.0.0.1/` is port 80.
    let t = probe("\"http\"", "http::get(\"http://127.0.0.1/ok\");");
    sane(&t.run(&["apply", "--net-allow", "127.0.0.1:8080"]))
        .code(1)
        .stderr_has("port 80 of host `127.0.0.1` is not allowed");
}

/// `--net-allow [::1]` never matched (the brackets were part of the name compared).
#[test]
fn net_allow_takes_an_ipv6_address_in_brackets() {
    // An IPv6 server on [::1], when the machine has IPv6.
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here; skipping the request half");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let _ = common::read_head(&mut reader);
            let mut stream = stream;
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
        }
    });
    let t = probe(
        "\"http\"",
        &format!(
            "let r = http::get(\"http://[::1]:{port}/\"); if r.body != \"ok\" {{ throw r.body; }}"
        ),
    );
    for rule in [
        "[::1]".to_string(),
        "::1".into(),
        format!("[::1]:{port}"),
        "[0:0:0:0:0:0:0:1]".into(),
    ] {
        sane(&t.run(&["apply", "--net-allow", &rule])).code(0);
    }
    sane(&t.run(&["apply", "--net-allow", "127.0.0.1"]))
        .code(1)
        .stderr_has("host `::1` is not allowed (--net-allow 127.0.0.1)");
}

/// Rules that cannot match anything are refused when the command line is read.
#[test]
fn net_allow_refuses_what_is_not_a_host() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "", ""));
    for (rule, problem) in [
        ("http://example.com", "not a URL"),
        ("example.com/x", "not a URL"),
        ("", "an empty host"),
        ("host:0", "`0` is not a port (1-65535)"),
        ("host:99999", "`99999` is not a port (1-65535)"),
        ("[::1", "`[` without `]`"),
        ("[example.com]", "is not an IPv6 address"),
        ("1:2:3", "with a port, write it `[ADDRESS]:PORT`"),
        ("*.example.com", "cannot be in a host name"),
    ] {
        sane(&t.run(&["apply", "--net-allow", rule]))
            .code(2)
            .stderr_has(&format!(
                "invalid value '{rule}' for '--net-allow <HOST[:PORT]>'"
            ))
            .stderr_has(problem);
    }
    assert!(t.take_trace().is_empty());
}

/// An `-e` value that is no environment name was accepted.
#[test]
fn an_environment_name_that_cannot_be_one_is_a_usage_error() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "", ""));
    for (name, problem) in [
        ("", "an environment name cannot be empty"),
        ("prod\nx", "'\\n' cannot be in an environment name"),
        ("a/b", "'/' cannot be in an environment name"),
        ("a b", "' ' cannot be in an environment name"),
    ] {
        for command in [&["apply"][..], &["state", "list"]] {
            let mut args = command.to_vec();
            args.extend(["-e", name]);
            sane(&t.run(&args))
                .code(2)
                .stderr_has("for '--env <NAME>'")
                .stderr_has(problem);
        }
    }
    assert!(t.take_trace().is_empty());
}

/// newuser2 finding 5: `--timeout 5m` and `metadata.timeout: 5m` were refused; every
/// duration takes humantime text (`90s`, `5m`, `1h30m`) as well as seconds, with the same
/// limits.
#[test]
fn durations_take_units_on_the_command_line_in_manifests_and_in_stdlib_options() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "", ""));
    for value in ["5m", "90s", "1h30m", "2h 5m"] {
        sane(&t.run(&["apply", &format!("--timeout={value}")])).code(0);
    }
    sane(&t.run(&["apply", "--timeout=400days"]))
        .code(2)
        .stderr_has("seconds is more than the longest duration ordo takes");
    sane(&t.run(&["apply", "--timeout=soon"]))
        .code(2)
        .stderr_has("`soon` is not a number of seconds or a duration like `90s`, `5m`, `1h30m`");
    sane(&t.run(&["apply", "--timeout=0s"]))
        .code(2)
        .stderr_has("must be more than 0 seconds");

    // metadata.timeout: 1s is one second: the 5 s sleep is stopped.
    let t = Test::new().trace().manifest(
        "m.yaml",
        &common::trace_doc("slow", "timeout: 1s\nretryDelay: 0s", "sleep: 5"),
    );
    let started = std::time::Instant::now();
    sane(&t.run(&["apply"])).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &common::trace_doc("a", "timeout: soon", ""));
    sane(&t.run(&["apply"]))
        .code(3)
        .stderr_has("`metadata.timeout` must be a number of seconds or a duration like `90s`")
        .stderr_has("m.yaml:6:12");

    let t = probe(
        "\"shell\"",
        "shell::run(\"true\", #{ timeout: \"2m\" }); time::sleep(\"10ms\");",
    );
    sane(&t.run(&["apply"])).code(0);
}
