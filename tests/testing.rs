//! `ordo test` (DESIGN §12, issue 20) through the real binary: handler tests with a
//! mocked standard library, each expectation kind failing with its diff, unmocked calls,
//! the sandbox of a case, invalid test files (exit 3 at file:line), the JUnit report.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// A handler for the tests: writes `Hello, WHO!` to `spec.file` (below `m.dir`), asks
/// `systemctl is-active web` first, returns the path and the state; `check` compares.
const GREETING: &str = r#"
register("Greeting", "^1");
permissions(["file:read", "file:write", "shell"]);

fn target(m) { path::join(m.dir, m.spec.file) }

fn check(m) {
    let p = target(m);
    if m.action == "delete" { return file::exists(p); }
    !file::exists(p) || file::read(p) != "Hello, " + m.spec.who + "!"
}

fn apply(m) {
    let r = shell::run(["systemctl", "is-active", "web"]);
    let state = r.stdout;
    state.trim();
    file::write(target(m), "Hello, " + m.spec.who + "!");
    log::info("greeted " + m.spec.who);
    #{ path: m.spec.file, state: state }
}

fn delete(m) {
    file::remove(target(m));
}
"#;

const MANIFEST: &str = "{kind: Greeting, version: v1, metadata: {name: hello}, spec: {who: World, file: out/hello.txt}}";

fn suite(cases: &str) -> String {
    format!(
        "kind: HandlerTest\nversion: v1\nmetadata: {{name: greeting}}\nspec:\n  cases:\n{cases}"
    )
}

fn greeting(cases: &str) -> Test {
    Test::new()
        .handler("greeting.rhai", GREETING)
        .file("greeting.test.yaml", &suite(cases))
}

const ACTIVE: &str = r#"shell: [{match: ["systemctl", "is-active", "*"], stdout: "active\n"}]"#;

#[test]
fn a_passing_suite_exits_0_with_a_line_per_case_and_the_count() {
    let cases = format!(
        r#"
  - it: writes the greeting on first apply
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
      files: {{out/old.txt: "x"}}
    expect:
      status: changed
      outputs: {{path: out/hello.txt, state: active}}
      variables: {{hello.state: active}}
      files: {{out/hello.txt: "Hello, World!", out/old.txt: "x", out/none.txt: absent}}
      calls: {{shell: [{{argv: ["systemctl", "is-active", "web"], times: 1}}]}}
      logs: ["greeted World"]
      idempotent: true
  - it: does nothing when the greeting is there
    manifest: {MANIFEST}
    mocks:
      files: {{out/hello.txt: "Hello, World!"}}
    expect: {{status: unchanged, calls: {{shell: [{{match: ["*", "*", "*"], times: 0}}]}}}}
  - it: deletes the greeting
    manifest: {MANIFEST}
    action: delete
    mocks:
      files: {{out/hello.txt: "Hello, World!"}}
    expect: {{status: changed, files: {{out/hello.txt: absent}}}}
  - it: check says there is work to do
    manifest: {MANIFEST}
    action: check
    expect: {{status: pending}}
"#
    );
    let t = greeting(&cases);
    let out = t.run(&["test"]);
    out.code(0)
        .stdout_has("test greeting.test.yaml: writes the greeting on first apply ... ok")
        .stdout_has("test greeting.test.yaml: deletes the greeting ... ok")
        .stdout_has("test result: 4 passed, 0 failed");
    assert!(
        out.stdout
            .trim_end()
            .ends_with("test result: 4 passed, 0 failed"),
        "{}",
        out.stdout
    );
    // The cases ran in their own directories, never in the project.
    assert!(!t.exists("out"), "a case wrote into the project");
}

#[test]
fn each_failed_expectation_is_shown_with_its_diff() {
    let cases = format!(
        r#"
  - it: expects wrong things
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect:
      status: changed
      outputs: {{state: inactive}}
      variables: {{hello.path: elsewhere.txt}}
      files: {{out/hello.txt: "Hello, world!", out/other.txt: "x"}}
      calls: {{shell: [{{argv: ["systemctl", "restart", "web"]}}, {{match: ["systemctl", "*", "*"], times: 2}}]}}
      logs: ["greeted Moon"]
  - it: expects a failure that does not come
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: failed, error: "connection refused"}}
  - it: expects an absent file that is there
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{files: {{out/hello.txt: absent}}}}
"#
    );
    let out = greeting(&cases).run(&["test"]);
    out.code(1)
        .stdout_has("test greeting.test.yaml: expects wrong things ... FAILED")
        .stdout_has("---- greeting.test.yaml:7: expects wrong things ----")
        .stdout_has("outputs: outputs differ")
        .stdout_has("-   \"state\": \"inactive\"")
        .stdout_has("+   \"state\": \"active\"")
        .stdout_has("variables: hello.path")
        .stdout_has("files: out/hello.txt: `out/hello.txt` differs")
        .stdout_has("- Hello, world!")
        .stdout_has("+ Hello, World!")
        .stdout_has("files: out/other.txt: expected `out/other.txt`, but there is no such file")
        .stdout_has("calls: shell: expected at least one matching call, found none")
        .stdout_has("- shell [\"systemctl\", \"restart\", \"web\"]")
        .stdout_has("+ shell::run([\"systemctl\", \"is-active\", \"web\"])")
        .stdout_has("calls: shell: expected 2 matching call(s), found 1")
        .stdout_has("logs: no log line matches /greeted Moon/")
        // What the handler logged, as a failed test shows its output.
        .stdout_has("handler log:\n    info: greeted World\n")
        .stdout_has("status: expected `failed`, got `changed`")
        .stdout_has("error: expected an error matching /connection refused/")
        .stdout_has("expected `out/hello.txt` to be absent, but it exists")
        .stdout_has("test result: 0 passed, 3 failed");
}

#[test]
fn a_failing_call_shows_its_error_under_the_status() {
    let cases = format!(
        r#"
  - it: fails on a command
    manifest: {MANIFEST}
    mocks:
      shell: [{{match: ["systemctl", "is-active", "*"], code: 3, stderr: "unit web not found"}}]
    expect: {{status: changed}}
  - it: expects the failure
    manifest: {MANIFEST}
    mocks:
      shell: [{{match: ["systemctl", "is-active", "*"], code: 3, stderr: "unit web not found"}}]
    expect: {{status: failed, error: "exited with code 3: unit web not found"}}
"#
    );
    let out = greeting(&cases).run(&["test"]);
    out.code(1)
        .stdout_has("status: expected `changed`, got `failed`")
        .stdout_has("greeting.rhai:14")
        .stdout_has("test greeting.test.yaml: expects the failure ... ok")
        .stdout_has("test result: 1 passed, 1 failed");
}

#[test]
fn an_unmocked_call_fails_the_case_naming_the_call_the_line_and_the_nearest_mock() {
    let cases = format!(
        r#"
  - it: has the wrong mock
    manifest: {MANIFEST}
    mocks:
      shell:
      - {{match: ["systemctl", "is-enabled", "*"], stdout: "enabled"}}
      - {{match: ["apt-get", "install", "-y", "*"]}}
    expect: {{status: changed}}
"#
    );
    let out = greeting(&cases).run(&["test"]);
    out.code(1)
        .stdout_has("unmocked call shell::run([\"systemctl\", \"is-active\", \"web\"])")
        .stdout_has(
            "the nearest mock is [\"systemctl\", \"is-enabled\", \"*\"] (greeting.test.yaml:11)",
        )
        // The handler line of the call.
        .stdout_has("--> greeting.rhai:14:")
        .stdout_has("test result: 0 passed, 1 failed");
}

#[test]
fn an_unmocked_call_the_handler_catches_still_fails_the_case() {
    let handler = r#"
register("Quiet", "^1");
permissions(["shell", "http"]);
fn apply(m) {
    try { shell::run("curl -sf http://example.com"); } catch (e) { }
    try { http::get("https://api.example.com/v1/things"); } catch (e) { }
}
"#;
    let t = Test::new().handler("quiet.rhai", handler).file(
        "quiet.test.yaml",
        &suite(
            r#"
  - it: swallows errors
    manifest: {kind: Quiet, version: v1, metadata: {name: q}}
    mocks:
      http: [{method: GET, url: "https://api.example.com/v2/*"}]
    expect: {status: changed}
"#,
        ),
    );
    t.run(&["test"])
        .code(1)
        .stdout_has("mocks: unmocked call shell::run(\"curl -sf http://example.com\"); the case has no `mocks.shell`")
        .stdout_has("mocks: unmocked call http GET https://api.example.com/v1/things; the nearest mock is GET https://api.example.com/v2/* (quiet.test.yaml:10)");
}

#[test]
fn http_env_values_vars_prompts_time_and_facts_are_mocked() {
    let handler = r#"
register("World", "^1");
permissions(["http", "env", "prompt", "shell", "file:write"]);
fn apply(m) {
    let r = http::get("https://api.example.com/v1/item");
    let item = json::parse(r.body);
    let t0 = time::now();
    time::sleep(3600);
    let slept = time::now() - t0;
    let answer = term::prompt("Password: ");
    let f = host::facts();
    let line = `${item.id} ${env::get("HOME")} ${values::get("port")} ${vars::get("db.id")} ${m.spec.port} ${slept} ${answer} ${f.os} ${env::get("UNSET", "dflt")}`;
    file::write("out.txt", line);
    #{ line: line }
}
"#;
    let t = Test::new().handler("world.rhai", handler).file(
        "world.test.yaml",
        &suite(
            r#"
  - it: answers everything from the mocks
    manifest: {kind: World, version: v1, metadata: {name: w, timeout: 7200}, spec: {port: !Value port}}
    mocks:
      http: [{method: GET, url: "https://api.example.com/*", status: 200, json: {id: 7}}]
      env: {HOME: /home/test, UNSET: null}
      values: {port: 8080}
      vars: {db.id: i-0abc}
      prompt: {"Password*": hunter2}
      time: {now: 1000}
      facts: {os: linux}
    expect:
      status: changed
      files: {out.txt: "7 /home/test 8080 i-0abc 8080 3600.0 hunter2 linux dflt"}
      calls:
        http: [{method: GET, url: "https://api.example.com/v1/item", times: 1}]
        env: [{arg: HOME}]
        time: [{arg: "3600*", times: 1}]
"#,
        ),
    );
    let started = std::time::Instant::now();
    t.run(&["test"])
        .code(0)
        .stdout_has("test result: 1 passed, 0 failed");
    // `time::sleep(3600)` advanced the virtual clock without waiting.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn an_http_mock_can_fail_with_a_transport_error_or_a_status() {
    let handler = r#"
register("Api", "^1");
permissions(["http"]);
fn apply(m) { let r = http::get(m.spec.url); if !r.ok { throw "status " + r.status; } }
"#;
    let t = Test::new().handler("api.rhai", handler).file(
        "api.test.yaml",
        &suite(
            r#"
  - it: fails clearly when the API is down
    manifest: {kind: Api, version: v1, metadata: {name: a}, spec: {url: "https://api.example.com/x"}}
    mocks: {http: [{method: GET, url: "*", error: "connection refused"}]}
    expect: {status: failed, error: "connection refused"}
  - it: fails on a 503
    manifest: {kind: Api, version: v1, metadata: {name: a}, spec: {url: "https://api.example.com/x"}}
    mocks: {http: [{url: "https://api.example.com/*", status: 503}]}
    expect: {status: failed, error: "status 503"}
"#,
        ),
    );
    t.run(&["test"])
        .code(0)
        .stdout_has("test result: 2 passed, 0 failed");
}

#[test]
fn a_shell_mock_with_times_answers_that_often_then_the_next_one_does() {
    let handler = r#"
register("Probe", "^1");
permissions(["shell"]);
fn apply(m) {
    let n = 0;
    while shell::run(["curl", "-sf", m.spec.url], #{ check: false }).code != 0 { n += 1; time::sleep(1); }
    #{ retries: n }
}
"#;
    let t = Test::new().handler("probe.rhai", handler).file(
        "probe.test.yaml",
        &suite(
            r#"
  - it: retries until ready
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {url: "http://x"}}
    mocks:
      shell:
      - {match: ["curl", "-sf", "*"], code: 7, times: 2}
      - {match: ["curl", "-sf", "*"], code: 0}
    expect:
      outputs: {retries: 2}
      calls: {shell: [{match: ["curl", "*", "*"], times: 3}]}
"#,
        ),
    );
    t.run(&["test"])
        .code(0)
        .stdout_has("test result: 1 passed, 0 failed");
}

#[test]
fn a_string_command_is_matched_by_a_regex_and_a_catch_all_argv_glob_matches_one_word_each() {
    let handler = r#"
register("Sh", "^1");
permissions(["shell"]);
fn apply(m) { shell::run("apt-get install -y nginx && systemctl start nginx"); shell::run(["true"]); }
"#;
    let t = Test::new().handler("sh.rhai", handler).file(
        "sh.test.yaml",
        &suite(
            r#"
  - it: matches by script
    manifest: {kind: Sh, version: v1, metadata: {name: s}}
    mocks:
      shell: [{script: "^apt-get install"}, {match: ["*"]}]
    expect:
      calls:
        order: strict
        shell: [{script: "nginx"}, {argv: ["true"]}]
"#,
        ),
    );
    t.run(&["test"]).code(0).stdout_has("1 passed, 0 failed");
}

#[test]
fn calls_in_the_wrong_order_fail_order_strict() {
    let handler = r#"
register("Two", "^1");
permissions(["shell"]);
fn apply(m) { shell::run(["b"]); shell::run(["a"]); }
"#;
    let t = Test::new().handler("two.rhai", handler).file(
        "two.test.yaml",
        &suite(
            r#"
  - it: wants a then b
    manifest: {kind: Two, version: v1, metadata: {name: t}}
    mocks: {shell: [{match: ["*"]}]}
    expect:
      calls: {order: strict, shell: [{argv: [a]}, {argv: [b]}]}
"#,
        ),
    );
    t.run(&["test"])
        .code(1)
        .stdout_has("calls: order: `order: strict`: no call matching shell [\"b\"] after the ones before it")
        .stdout_has("+ shell::run([\"b\"])");
}

#[test]
fn a_permission_the_handler_does_not_declare_is_an_input_error_at_its_line() {
    let handler = r#"
register("Greedy", "^1");
permissions(["file:write"]);
fn apply(m) {
    shell::run(["id"]);
}
"#;
    let t = Test::new().handler("greedy.rhai", handler).file(
        "greedy.test.yaml",
        &suite(
            r#"
  - it: runs id
    manifest: {kind: Greedy, version: v1, metadata: {name: g}}
    mocks: {shell: [{match: ["id"]}]}
    expect: {status: changed}
"#,
        ),
    );
    t.run(&["test"])
        .code(3)
        .stderr_has("greedy.rhai:5")
        .stderr_has("shell");
}

#[test]
fn a_denied_permission_fails_the_case_as_it_fails_a_run() {
    let cases = format!(
        r#"
  - it: cannot run commands
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: failed, error: "which this run denies"}}
"#
    );
    greeting(&cases)
        .run(&["test", "--deny", "shell"])
        .code(0)
        .stdout_has("1 passed, 0 failed");
}

#[test]
fn an_idempotence_failure_names_what_the_second_apply_did() {
    let handler = r#"
register("Again", "^1");
permissions(["shell"]);
fn check(m) { true }
fn apply(m) { shell::run(["touch", "x"]); }
"#;
    let t = Test::new().handler("again.rhai", handler).file(
        "again.test.yaml",
        &suite(
            r#"
  - it: is not idempotent
    manifest: {kind: Again, version: v1, metadata: {name: a}}
    mocks: {shell: [{match: ["touch", "*"]}]}
    expect: {status: changed, idempotent: true, calls: {shell: [{argv: [touch, x], times: 1}]}}
"#,
        ),
    );
    let out = t.run(&["test"]);
    out.code(1)
        .stdout_has("idempotent: not idempotent: the second apply was `changed`")
        .stdout_has("- unchanged")
        .stdout_has("+ changed")
        .stdout_has("the second apply called shell::run([\"touch\", \"x\"])");
    // The calls expectation counts the first apply's calls only.
    assert!(!out.stdout.contains("calls: shell"), "{}", out.stdout);
}

#[test]
fn a_handler_cannot_write_outside_its_case_directory() {
    let handler = r#"
register("Escape", "^1");
permissions(["file:write"]);
fn apply(m) { file::write(m.spec.path, "owned"); }
"#;
    let t = Test::new().handler("escape.rhai", handler);
    let outside = t.path().join("outside.txt");
    let t = t.file(
        "escape.test.yaml",
        &suite(&format!(
            r#"
  - it: writes up
    manifest: {{kind: Escape, version: v1, metadata: {{name: e}}, spec: {{path: ../escaped.txt}}}}
    expect: {{status: failed, error: "outside the allowed roots"}}
  - it: writes to an absolute path
    manifest: {{kind: Escape, version: v1, metadata: {{name: e}}, spec: {{path: "{}"}}}}
    expect: {{status: failed, error: "outside the allowed roots"}}
  - it: writes inside with a relative path
    manifest: {{kind: Escape, version: v1, metadata: {{name: e}}, spec: {{path: in.txt}}}}
    expect: {{files: {{in.txt: owned}}}}
"#,
            outside.display()
        )),
    );
    t.run(&["test"]).code(0).stdout_has("3 passed, 0 failed");
    assert!(!outside.exists());
    assert!(!t.exists("in.txt"));
}

#[test]
fn an_invalid_test_file_is_an_input_error_at_file_line_with_did_you_mean() {
    let t = greeting(&format!(
        r#"
  - it: misspells
    manifest: {MANIFEST}
    mokcs: {{}}
    expect: {{status: chnaged}}
  - it: escapes
    manifest: {MANIFEST}
    mocks: {{files: {{../x: y, /etc/z: w, ".": v}}}}
    expect: {{error: "(unclosed", files: {{out/../../y: absent}}, calls: {{shell: [{{argv: [a], times: -1}}]}}}}
"#
    ));
    let out = t.run(&["test"]);
    out.code(3)
        .stderr_has("greeting.test.yaml:9:5")
        .stderr_has("unknown key `mokcs` in `spec.cases[0]`; did you mean `mocks`?")
        .stderr_has("greeting.test.yaml:10:22")
        .stderr_has("unknown status `chnaged`; did you mean `changed`?")
        .stderr_has("`mocks.files` `../x` goes up with `..`")
        .stderr_has("`mocks.files` `/etc/z` is absolute")
        .stderr_has("`mocks.files` `.` names the case's directory itself")
        .stderr_has("`expect.error`: invalid regex `(unclosed`")
        .stderr_has("`expect.files` `out/../../y` goes up")
        .stderr_has("`times` must be 0 or more, not -1");
    assert!(out.stdout.is_empty(), "no case ran: {}", out.stdout);
    assert!(!t.exists("x") && !t.path().parent().unwrap().join("x").exists());
}

#[test]
fn a_case_for_an_unknown_kind_or_action_is_an_input_error() {
    let t = greeting(
        r#"
  - it: unknown kind
    manifest: {kind: Greting, version: v1, metadata: {name: g}}
    expect: {status: changed}
  - it: unknown action
    manifest: {kind: Greeting, version: v1, metadata: {name: g}, spec: {who: a, file: b}}
    action: aply
    expect: {status: changed}
"#,
    );
    t.run(&["test"])
        .code(3)
        .stderr_has("greeting.test.yaml:8:")
        .stderr_has("Greeting")
        .stderr_has("unknown action `aply`; did you mean `apply`?")
        .stderr_has("greeting.test.yaml:12:13");
}

#[test]
fn a_test_file_is_never_loaded_as_a_manifest_or_a_handler() {
    let cases = format!(
        r#"
  - it: writes
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: changed}}
"#
    );
    let t = greeting(&cases)
        .file("greeting.test.rhai", "this is not a handler(")
        .manifest(
            "site.yaml",
            "kind: Greeting\nversion: v1\nmetadata: {name: site}\nspec: {who: X, file: x.txt}\n",
        );
    t.run(&["validate"]).code(0);
    t.run(&["lint"]).code(0);
}

#[test]
fn the_junit_report_has_a_suite_per_file_and_a_failure_per_failed_case() {
    let cases = format!(
        r#"
  - it: passes
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: changed}}
  - it: fails
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: unchanged}}
"#
    );
    let t = greeting(&cases);
    t.run(&["test", "--junit", "report.xml"]).code(1);
    let xml = t.read("report.xml");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("<testsuites name=\"ordo test\" tests=\"2\" skipped=\"0\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"greeting.test.yaml\" tests=\"2\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"passes\" classname=\"greeting.test.yaml\""),
        "{xml}"
    );
    assert!(xml.contains("<testcase name=\"fails\""), "{xml}");
    assert!(
        xml.contains(
            "<failure message=\"status: expected `unchanged`, got `changed`\" type=\"expectation\">"
        ),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
}

#[test]
fn json_output_filter_and_list() {
    let cases = format!(
        r#"
  - it: first apply
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: changed}}
  - it: second case
    manifest: {MANIFEST}
    expect: {{status: unchanged}}
"#
    );
    let t = greeting(&cases);
    let out = t.run(&["test", "--list"]);
    out.code(0)
        .stdout_has("greeting.test.yaml: first apply\ngreeting.test.yaml: second case\n2 cases");
    let out = t.run(&["test", "--filter", "first*", "-o", "json"]);
    out.code(0);
    let v = out.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["passed"], 1);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["cases"].as_array().unwrap().len(), 1);
    assert_eq!(v["cases"][0]["it"], "first apply");
    assert_eq!(v["cases"][0]["status"], "changed");
    assert_eq!(v["untested"][0]["functions"][0], "delete");
    let out = t.run(&["test", "-o", "json"]);
    out.code(1);
    let v = out.json();
    assert_eq!(v["failed"], 1);
    let failures = v["cases"][1]["failures"].as_array().unwrap();
    assert_eq!(failures[0]["expectation"], "status");
    assert!(failures.iter().any(|f| f["expectation"] == "mocks"), "{v}");
    t.run(&["test", "--filter", "frist apply"])
        .code(3)
        .stderr_has("--filter `frist apply` matches no case; did you mean `first apply`?");
}

#[test]
fn cases_run_in_parallel_each_in_its_own_directory() {
    let handler = r#"
register("Slow", "^1");
permissions(["file:write", "file:read", "shell"]);
fn apply(m) {
    file::write("mine.txt", m.name);
    shell::run(["sleep", "1"]);
    let i = 0; while i < 200000 { i += 1; }
    if file::read("mine.txt") != m.name { throw "another case wrote here"; }
}
"#;
    let mut cases = String::new();
    for i in 0..8 {
        cases.push_str(&format!(
            "  - it: case {i}\n    manifest: {{kind: Slow, version: v1, metadata: {{name: s{i}}}}}\n    mocks: {{shell: [{{match: [sleep, \"*\"]}}]}}\n    expect: {{files: {{mine.txt: s{i}}}}}\n"
        ));
    }
    let t = Test::new()
        .handler("slow.rhai", handler)
        .file("slow.test.yaml", &suite(&cases));
    let out = t.run(&["test", "-j", "4"]);
    out.code(0).stdout_has("test result: 8 passed, 0 failed");
    // The lines are in the order of the cases, whatever order they finished in.
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("test slow"))
        .collect();
    let expected: Vec<String> = (0..8)
        .map(|i| format!("test slow.test.yaml: case {i} ... ok"))
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn actions_verify_and_rollback_run_the_handler_functions() {
    let handler = r#"
register("Svc", "^1");
permissions(["shell"]);
actions(#{ restart: #{ about: "restart it", params: #{ force: "bool?" } } });
fn apply(m) { shell::run(["svc", "start"]); }
fn verify(m) { shell::run(["svc", "status"], #{ read_only: true }).code == 0 }
fn rollback(m, prev) { shell::run(["svc", "set", prev.spec.version]); }
fn restart(m) { shell::run(["svc", "restart", `${m.params.force}`]); #{ restarted: true } }
"#;
    let t = Test::new().handler("svc.rhai", handler).file(
        "svc.test.yaml",
        &suite(
            r#"
  - it: restarts
    manifest: {kind: Svc, version: v1, metadata: {name: s}, spec: {version: "2"}}
    action: restart
    params: {force: true}
    mocks: {shell: [{match: [svc, restart, "true"]}]}
    expect: {status: done, outputs: {restarted: true}}
  - it: verifies
    manifest: {kind: Svc, version: v1, metadata: {name: s}, spec: {version: "2"}}
    action: verify
    mocks: {shell: [{match: [svc, status]}]}
    expect: {status: verified}
  - it: rolls back to the previous version
    manifest: {kind: Svc, version: v1, metadata: {name: s}, spec: {version: "2"}}
    action: rollback
    mocks:
      previous: {version: "1"}
      shell: [{match: [svc, set, "*"]}]
    expect: {status: rolled_back, calls: {shell: [{argv: [svc, set, "1"], times: 1}]}}
"#,
        ),
    );
    let out = t.run(&["test"]);
    out.code(0)
        .stdout_has("test result: 3 passed, 0 failed")
        .stdout_has("untested: svc.rhai: apply");
}

#[test]
fn unmocked_variables_and_environment_fail_naming_the_nearest_mock_and_a_default_is_kept() {
    let handler = r#"
register("Reads", "^1");
permissions(["env", "file:write"]);
fn apply(m) {
    let home = env::get("HOME_DIR", "/nowhere");
    let v = if m.spec.read_var { vars::get("db.idd") } else { "-" };
    let e = if m.spec.env { env::get("TOKEN") } else { "-" };
    file::write("out.txt", `${home} ${m.spec.from_env} ${v} ${e}`);
}
"#;
    let t = Test::new().handler("reads.rhai", handler).file(
        "reads.test.yaml",
        &suite(
            r#"
  - it: keeps the default and reads !Env from the mocks
    manifest: {kind: Reads, version: v1, metadata: {name: r}, spec: {read_var: false, env: false, from_env: !Env REGION}}
    mocks: {env: {REGION: eu-1}}
    expect: {files: {out.txt: "/nowhere eu-1 - -"}}
  - it: reads a variable no mock sets
    manifest: {kind: Reads, version: v1, metadata: {name: r}, spec: {read_var: true, env: false, from_env: x}}
    mocks: {vars: {db.id: i-1}}
    expect: {status: changed}
  - it: reads an environment variable no mock sets
    manifest: {kind: Reads, version: v1, metadata: {name: r}, spec: {read_var: false, env: true, from_env: x}}
    mocks: {env: {TOKENS: x}}
    expect: {status: changed}
"#,
        ),
    );
    t.run(&["test"])
        .code(1)
        .stdout_has("test reads.test.yaml: keeps the default and reads !Env from the mocks ... ok")
        .stdout_has("mocks: unmocked call vars::get(\"db.idd\"); the nearest mock is `db.id`")
        .stdout_has("mocks: unmocked call env::get(\"TOKEN\"); the nearest mock is `TOKENS`")
        .stdout_has("test result: 1 passed, 2 failed");
}

#[test]
fn a_double_star_in_an_argv_matches_any_number_of_words_once_per_argv() {
    let handler = r#"
register("Many", "^1");
permissions(["shell"]);
fn apply(m) { shell::run(["systemctl", "--user", "restart", "web.service"]); shell::run(["systemctl"]); }
"#;
    let t = Test::new().handler("many.rhai", handler).file(
        "many.test.yaml",
        &suite(
            r#"
  - it: matches the rest
    manifest: {kind: Many, version: v1, metadata: {name: m}}
    mocks: {shell: [{match: ["systemctl", "**"]}]}
    expect: {calls: {shell: [{match: ["**", "*.service"], times: 1}, {match: ["systemctl", "**"], times: 2}]}}
"#,
        ),
    );
    t.run(&["test"]).code(0).stdout_has("1 passed, 0 failed");
    let t = t.file(
        "many.test.yaml",
        &suite(
            r#"
  - it: two rests
    manifest: {kind: Many, version: v1, metadata: {name: m}}
    mocks: {shell: [{match: ["**", "x", "**"]}]}
    expect: {status: changed}
"#,
        ),
    );
    t.run(&["test"])
        .code(3)
        .stderr_has("at most one `**`")
        .stderr_has("many.test.yaml:9:");
}

#[test]
fn a_handler_test_given_to_a_run_is_refused_saying_ordo_test_runs_it() {
    let cases = format!(
        r#"
  - it: writes
    manifest: {MANIFEST}
    expect: {{status: changed}}
"#
    );
    greeting(&cases)
        .run(&["validate", "-m", "greeting.test.yaml"])
        .code(3)
        .stderr_has("this is a handler test (`kind: HandlerTest`), not a manifest")
        .stderr_has("greeting.test.yaml:1:1")
        .stderr_has("`ordo test` runs it");
}

#[test]
fn limits_are_enforced_as_in_a_run() {
    let handler = r#"
register("Spin", "^1");
fn apply(m) { let i = 0; loop { i += 1; } }
"#;
    let t = Test::new().handler("spin.rhai", handler).file(
        "spin.test.yaml",
        &suite(
            r#"
  - it: spins
    manifest: {kind: Spin, version: v1, metadata: {name: s}}
    expect: {status: failed, error: "operations"}
"#,
        ),
    );
    t.run(&["test", "--max-operations", "10000"])
        .code(0)
        .stdout_has("1 passed, 0 failed");
}

#[test]
fn an_invalid_test_file_under_o_json_is_one_json_error_document() {
    let t = greeting(&format!(
        r#"
  - it: misspells
    manifest: {MANIFEST}
    expcet: {{status: changed}}
"#
    ));
    let out = t.run(&["test", "-o", "json"]);
    out.code(3);
    let v = out.json();
    assert_eq!(v["command"], "test");
    assert_eq!(v["ok"], false);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["file"] == "greeting.test.yaml"
            && e["line"] == 9
            && e["message"]
                .as_str()
                .unwrap()
                .contains("did you mean `expect`?")),
        "{v}"
    );
}

#[test]
fn ctrl_c_stops_the_cases_reports_what_finished_and_leaves_no_case_directory() {
    let handler = r#"
register("Spin", "^1");
fn apply(m) { let i = 0; loop { i += 1; } }
"#;
    let t = Test::new().handler("spin.rhai", handler).file(
        "spin.test.yaml",
        &suite(
            r#"
  - it: spins
    manifest: {kind: Spin, version: v1, metadata: {name: s}}
    expect: {status: changed}
  - it: never starts
    manifest: {kind: Spin, version: v1, metadata: {name: s2}}
    expect: {status: changed}
"#,
        ),
    );
    let tmp = t.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args([
            "test",
            "--max-operations",
            "0",
            "-j",
            "1",
            "--junit",
            "report.xml",
        ])
        .current_dir(t.path())
        .env("TMPDIR", &tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the case's directory, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_dir(&tmp).unwrap().next().is_none() && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130)
        .no_panic()
        .stdout_has("running 2 cases")
        .stdout_has("test result: 0 passed, 1 failed, 1 not run (interrupted)");
    // The report holds what ran (A-F15).
    let xml = t.read("report.xml");
    assert!(xml.contains("<testcase name=\"spins\""), "{xml}");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "case directories left: {left:?}");
}

#[test]
fn an_action_case_s_params_are_checked_against_the_declaration() {
    let handler = r#"
register("Svc", "^1");
actions(#{ backup: #{ params: #{ keep: "int", target: "string" } } });
fn apply(m) {}
fn backup(m) { #{ kept: m.params.keep + 1, target: m.params.target } }
"#;
    let t = Test::new().handler("svc.rhai", handler).file(
        "svc.test.yaml",
        &suite(
            r#"
  - it: backs up
    manifest: {kind: Svc, version: v1, metadata: {name: s}}
    action: backup
    params: {keep: 3, target: /srv}
    expect: {status: done, outputs: {kept: 4, target: /srv}}
"#,
        ),
    );
    t.run(&["test"]).code(0).stdout_has("1 passed, 0 failed");
    let t = t.file(
        "svc.test.yaml",
        &suite(
            r#"
  - it: misspells a parameter
    manifest: {kind: Svc, version: v1, metadata: {name: s}}
    action: backup
    params: {kep: 3, target: /srv}
    expect: {status: done}
"#,
        ),
    );
    t.run(&["test"])
        .code(3)
        .stderr_has("`params`: kep: action `backup` has no parameter `kep`; did you mean `keep`?")
        .stderr_has("svc.test.yaml:10:13");
}

/// A-F27: a failed `files` expectation on texts with thousands of differing lines prints
/// a bounded diff (hunks, capped), not every line; A-F26: a handler logging in a loop
/// keeps a bounded log in the case.
#[test]
fn huge_diffs_and_logs_are_bounded() {
    let handler = r#"
register("Big", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) {
    let s = "";
    for i in 0..5000 { s += "a" + i + "\n"; }
    for i in 0..12000 { log::info("line " + i); }
    file::write(path::join(m.dir, "f.txt"), s);
    #{}
}
"#;
    let expected: String = (0..5000).map(|i| format!("b{i}\n")).collect();
    let cases = format!(
        "  - it: big\n    manifest: {{kind: Big, version: v1, metadata: {{name: b}}, spec: {{}}}}\n    expect:\n      files: {{f.txt: {}}}\n      logs: [\"never logged\"]\n",
        serde_json::to_string(&expected).unwrap()
    );
    let out = Test::new()
        .handler("big.rhai", handler)
        .file("big.test.yaml", &suite(&cases))
        .run(&["test", "-s", "."]);
    out.code(1).stdout_has("more lines not shown");
    let lines = out.stdout.lines().count();
    assert!(lines < 1000, "{lines} lines of output");
    // The human output shows the last log lines; the case kept the first 10 000.
    out.stdout_has("earlier lines (all in `-o json`)")
        .stdout_has("2000 more log lines left out");
}

/// A-F25: `spec.handler` names a file by path components; `note.rhai` is not
/// `keynote.rhai`, and an empty name is refused.
#[test]
fn spec_handler_is_matched_by_path_components() {
    let handler = "register(\"Note\", \"^1\");\nfn apply(m) { #{} }\n";
    let file = |h: &str| {
        format!(
            "kind: HandlerTest\nversion: v1\nmetadata: {{name: n}}\nspec:\n  handler: {h}\n  cases:\n  - it: c\n    manifest: {{kind: Note, version: v1, metadata: {{name: n}}, spec: {{}}}}\n    expect: {{status: changed}}\n"
        )
    };
    let t = Test::new()
        .handler("keynote.rhai", handler)
        .file("a.test.yaml", &file("note.rhai"));
    t.run(&["test", "-s", ".", "a.test.yaml"])
        .code(3)
        .stderr_has("not by the `spec.handler` `note.rhai`");
    let t = t.file("a.test.yaml", &file("keynote.rhai"));
    t.run(&["test", "-s", ".", "a.test.yaml"]).code(0);
    let t = t.file("a.test.yaml", &file("\"\""));
    t.run(&["test", "-s", ".", "a.test.yaml"])
        .code(3)
        .stderr_has("a.test.yaml:5:")
        .stderr_has("must name a handler file");
}

/// A-F28: `absent` is the marker for "no such file"; `{content: absent}` is a file
/// holding that text.
#[test]
fn a_file_holding_the_text_absent_can_be_expected() {
    let handler = "register(\"Ab\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) { file::write(path::join(m.dir, \"f.txt\"), \"absent\"); #{} }\n";
    let case = |files: &str| {
        suite(&format!(
            "  - it: c\n    manifest: {{kind: Ab, version: v1, metadata: {{name: a}}, spec: {{}}}}\n    expect: {{files: {files}}}\n"
        ))
    };
    let t = Test::new()
        .handler("ab.rhai", handler)
        .file("ab.test.yaml", &case("{f.txt: {content: absent}}"));
    t.run(&["test", "-s", "."]).code(0);
    let t = t.file("ab.test.yaml", &case("{f.txt: absent}"));
    t.run(&["test", "-s", "."])
        .code(1)
        .stdout_has("to be absent");
    let t = t.file("ab.test.yaml", &case("{f.txt: {content: 1, other: 2}}"));
    t.run(&["test", "-s", "."])
        .code(3)
        .stderr_has("{content: TEXT}");
}

/// A handler that writes, logs and returns control characters, noncharacters and a
/// secret (set with `vars::set_secret`).
const NOISY: &str = r#"
register("Noisy", "^1");
permissions(["file:read", "file:write"]);
fn apply(m) {
    vars::set_secret("pw", "s3cretPW-42");
    file::write(path::join(m.dir, "f.txt"), "A\x1b]0;TITLE\x07 \x1b[2J\x01\uFFFF pw=s3cretPW-42");
    log::info("log \x1b[31mred\uFFFE s3cretPW-42");
    #{ o: "\x1b[32mgreen\x01", copy: "s3cretPW-42" }
}
"#;

fn noisy() -> Test {
    Test::new().handler("noisy.rhai", NOISY).file(
        "noisy.test.yaml",
        &suite(
            r#"
  - it: "esc \e[31m it \uFFFE"
    manifest: {kind: Noisy, version: v1, metadata: {name: n}}
    expect:
      status: changed
      files: {f.txt: x}
      logs: [nomatch]
      outputs: {o: x, copy: x}
      variables: {n.pw: x}
"#,
        ),
    )
}

/// Whether every character of `text` is one XML 1.0 allows (its `Char` production).
fn xml_chars(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

#[test]
fn a_secret_is_masked_in_every_diff_log_and_report() {
    let t = noisy();
    let out = t.run(&["test", "--junit", "report.xml"]);
    out.code(1)
        .stdout_has("+ A")
        .stdout_has("pw=***")
        .stdout_has("\"copy\": \"***\"")
        .stdout_has("+ \"***\"")
        .stdout_has("+ info: log");
    assert!(!out.stdout.contains("s3cretPW"), "{}", out.stdout);
    let xml = t.read("report.xml");
    assert!(xml.contains("***"), "{xml}");
    assert!(!xml.contains("s3cretPW"), "{xml}");
    let out = t.run(&["test", "-o", "json"]);
    out.code(1);
    assert!(!out.stdout.contains("s3cretPW"), "{}", out.stdout);
    assert!(out.stdout.contains("***"), "{}", out.stdout);
}

#[test]
fn control_characters_a_handler_wrote_are_shown_escaped_never_raw() {
    let t = noisy();
    let out = t.run(&["test"]);
    out.code(1)
        .stdout_has("+ A\u{241b}]0;TITLE\u{2407} \u{241b}[2J\u{2401}\\u{ffff} pw=***")
        .stdout_has("info: log \u{241b}[31mred\\u{fffe}")
        .stdout_has("test noisy.test.yaml: esc \u{241b}[31m it \\u{fffe} ... FAILED");
    assert!(!out.stdout.contains('\x1b'), "{}", out.stdout);
    assert!(!out.stdout.contains('\x07'), "{}", out.stdout);
    assert!(!out.stdout.contains('\u{ffff}'), "{}", out.stdout);
    // A run's log lines are shown the same way.
    let t = t.manifest("m.yaml", "{kind: Noisy, version: v1, metadata: {name: n}}");
    let out = t.run(&["apply", "-m", "m.yaml"]);
    out.code(0).stderr_has("log \u{241b}[31mred\\u{fffe} ***");
    assert!(!out.stderr.contains('\x1b'), "{}", out.stderr);
}

#[test]
fn the_junit_report_is_well_formed_whatever_the_handler_wrote() {
    let t = noisy();
    t.run(&["test", "--junit", "report.xml"]).code(1);
    let xml = t.read("report.xml");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml_chars(&xml), "a character XML forbids: {xml:?}");
    assert!(xml.contains("\\u{ffff}"), "{xml}");
    assert!(
        xml.contains("name=\"esc \u{241b}[31m it \\u{fffe}\""),
        "{xml}"
    );
}

#[test]
fn the_junit_report_never_replaces_an_input_and_replaces_a_symlink_not_its_target() {
    let cases = format!(
        r#"
  - it: passes
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: changed}}
"#
    );
    let t = greeting(&cases).file("elsewhere/old.xml", "keep me\n");
    let test_file = t.read("greeting.test.yaml");
    for input in [
        "greeting.test.yaml",
        "greeting.rhai",
        "elsewhere/old.xml",
        "elsewhere",
    ] {
        t.run(&["test", "--junit", input])
            .code(3)
            .stderr_has(&format!("--junit {input}: "))
            .stderr_has("it is not overwritten")
            .stdout_has("");
    }
    assert_eq!(t.read("greeting.test.yaml"), test_file);
    assert_eq!(t.read("elsewhere/old.xml"), "keep me\n");
    // A previous report is replaced; a symlink is replaced, its target left alone.
    t.run(&["test", "--junit", "report.xml"]).code(0);
    t.run(&["test", "--junit", "report.xml"]).code(0);
    std::fs::copy(
        t.path().join("report.xml"),
        t.path().join("elsewhere/target.xml"),
    )
    .unwrap();
    let before = t.read("elsewhere/target.xml");
    std::os::unix::fs::symlink("elsewhere/target.xml", t.path().join("link.xml")).unwrap();
    t.run(&["test", "--junit", "link.xml"]).code(0);
    let meta = std::fs::symlink_metadata(t.path().join("link.xml")).unwrap();
    assert!(meta.is_file(), "link.xml is still a symlink");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    assert_eq!(t.read("elsewhere/target.xml"), before);
    let left: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ordo-junit"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn with_filter_the_untested_line_says_it_counts_the_selected_cases_only() {
    let cases = format!(
        r#"
  - it: first apply
    manifest: {MANIFEST}
    mocks:
      {ACTIVE}
    expect: {{status: changed}}
  - it: deletes
    manifest: {MANIFEST}
    action: delete
    mocks: {{files: {{out/hello.txt: "Hello, World!"}}}}
    expect: {{status: changed}}
"#
    );
    let t = greeting(&cases);
    let out = t.run(&["test", "--filter", "first*"]);
    out.code(0)
        .stdout_has("untested: greeting.rhai: delete (no case that --filter selected calls it)");
    let v = t.run(&["test", "--filter", "first*", "-o", "json"]).json();
    assert_eq!(v["filtered"], true);
    let out = t.run(&["test"]);
    out.code(0);
    assert!(!out.stdout.contains("untested"), "{}", out.stdout);
}

#[test]
fn outputs_compare_integers_exactly_and_an_integer_never_equals_a_float() {
    let handler = r#"
register("Num", "^1");
fn apply(m) { #{ big: 9007199254740992, one: 1, half: 0.5, two: 2.0 } }
"#;
    let case = |outputs: &str| {
        suite(&format!(
            r#"
  - it: numbers
    manifest: {{kind: Num, version: v1, metadata: {{name: n}}}}
    expect: {{status: changed, outputs: {outputs}}}
"#
        ))
    };
    let t = Test::new().handler("num.rhai", handler);
    let mut t = t.file(
        "num.test.yaml",
        &case("{big: 9007199254740992, one: 1, half: 0.5, two: 2.0}"),
    );
    t.run(&["test"]).code(0).stdout_has("1 passed, 0 failed");
    for wrong in [
        "{big: 9007199254740993}",
        "{one: 1.0}",
        "{two: 2}",
        "{half: 0.25}",
    ] {
        t = t.file("num.test.yaml", &case(wrong));
        t.run(&["test"])
            .code(1)
            .stdout_has("outputs differ")
            .stdout_has("0 passed, 1 failed");
    }
}

#[test]
fn mocked_time_must_be_a_time_a_real_clock_can_say() {
    let handler = r#"
register("Clock", "^1");
fn apply(m) { #{ now: time::now() } }
"#;
    let case = |now: &str| {
        suite(&format!(
            r#"
  - it: reads the clock
    manifest: {{kind: Clock, version: v1, metadata: {{name: c}}}}
    mocks: {{time: {{now: {now}}}}}
    expect: {{status: changed}}
"#
        ))
    };
    let mut t = Test::new().handler("clock.rhai", handler);
    for bad in [".nan", ".inf", "-.inf", "1e300", "-1", "later"] {
        t = t.file("clock.test.yaml", &case(bad));
        t.run(&["test"])
            .code(3)
            .stderr_has("`mocks.time.now` must be seconds since the epoch, from 0 to")
            .stderr_has("clock.test.yaml:9:");
    }
    let t = t.file("clock.test.yaml", &case("1767225600.5"));
    t.run(&["test"]).code(0);
}

#[test]
fn a_tag_outside_a_case_s_manifest_is_an_input_error_at_its_line() {
    let handler = r#"
register("Probe", "^1");
fn apply(m) { #{ got: m.spec.x } }
"#;
    let t = Test::new().handler("probe.rhai", handler).file(
        "probe.test.yaml",
        &suite(
            r#"
  - it: tags
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {x: !Value v}}
    mocks:
      values: {v: !Env HOME}
      vars: {a.b: !Variable c.d}
      previous: {x: !Sub "${HOME}"}
    params: {a: !Env HOME}
    expect: {status: changed, outputs: {got: !Env HOME}}
"#,
        ),
    );
    let out = t.run(&["test"]);
    out.code(3)
        .stderr_has("`!Env` here: tags are resolved only in a case's `manifest`")
        .stderr_has("probe.test.yaml:10:")
        .stderr_has("probe.test.yaml:11:")
        .stderr_has("`!Variable` here")
        .stderr_has("probe.test.yaml:12:")
        .stderr_has("`!Sub` here")
        .stderr_has("probe.test.yaml:13:")
        .stderr_has("probe.test.yaml:14:");
    // In the manifest, a tag is resolved (against the mocks).
    let t = t.file(
        "probe.test.yaml",
        &suite(
            r#"
  - it: tags
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {x: !Value v}}
    mocks: {values: {v: mocked}}
    expect: {status: changed, outputs: {got: mocked}}
"#,
        ),
    );
    t.run(&["test"]).code(0);
}

// `*.test.rhai` files (issue 20 part 4): `fn test_*()` cases in Rhai.

fn rhai_tests(script: &str) -> Test {
    Test::new()
        .handler("greeting.rhai", GREETING)
        .file("greeting.test.rhai", script)
}

#[test]
fn a_passing_rhai_test_file_runs_each_test_function_as_a_case() {
    let out = rhai_tests(
        r#"
fn helper() { 40 + 2 }
fn test_arithmetic() {
    assert(helper() == 42);
    assert(true, "never shown");
    assert_eq(helper(), 42);
    assert_eq(#{a: [1, 2]}, #{a: [1, 2]}, "maps compare deeply");
}
fn test_strings() { assert_eq("a" + "b", "ab"); }
"#,
    )
    .run(&["test"]);
    out.code(0)
        .stdout_has("test greeting.test.rhai: test_arithmetic ... ok")
        .stdout_has("test greeting.test.rhai: test_strings ... ok")
        .stdout_has("test result: 2 passed, 0 failed");
    assert!(!out.stdout.contains("helper"), "{}", out.stdout);
}

#[test]
fn a_failing_rhai_assert_eq_shows_the_diff_and_the_line() {
    let out = rhai_tests(
        "fn test_ok() { assert(true); }\n\
         fn test_compare() {\n    let found = #{who: \"World\", n: 1};\n    assert_eq(found, #{who: \"world\", n: 1}, \"the greeting\");\n}\n\
         fn test_assert() {\n    assert(1 > 2, \"one is not more than two\");\n}\n",
    )
    .run(&["test"]);
    out.code(1)
        .stdout_has("test greeting.test.rhai: test_ok ... ok")
        .stdout_has("test greeting.test.rhai: test_compare ... FAILED")
        .stdout_has("greeting.test.rhai:4:5: assert_eq failed: the greeting")
        .stdout_has("-   \"who\": \"world\"")
        .stdout_has("+   \"who\": \"World\"")
        .stdout_has("greeting.test.rhai:7:5: assertion failed: one is not more than two")
        .stdout_has("test result: 1 passed, 2 failed");
}

#[test]
fn a_runtime_error_in_a_rhai_test_fails_the_case_at_its_line() {
    let out = rhai_tests("fn test_boom() {\n    let x = [];\n    x[3].foo\n}\n").run(&["test"]);
    out.code(1)
        .stdout_has("test greeting.test.rhai: test_boom ... FAILED")
        .stdout_has("greeting.test.rhai:3:");
}

/// The test script's own code has no call context: the stdlib reaches nothing from it, and
/// the case says why in a test's terms (not "while a handler loads", not a raw map).
#[test]
fn a_rhai_test_s_own_code_reaches_nothing() {
    let t = rhai_tests(
        "fn test_shell() { shell::run([\"touch\", \"made\"]); }\nfn test_file() { file::write(\"made2\", \"x\"); }\n",
    );
    let out = t.run(&["test"]);
    out.code(1)
        .stdout_has("greeting.test.rhai:1:")
        .stdout_has("`shell::run` is not available in a test script")
        .stdout_has("`file::write` is not available in a test script");
    assert!(!out.stdout.contains("#{"), "a raw map: {}", out.stdout);
    assert!(!t.exists("made") && !t.exists("made2"));
}

#[test]
fn a_syntax_error_in_a_rhai_test_file_is_exit_3_at_its_line_and_column() {
    let out = rhai_tests("fn test_a() {\n    let x = ;\n}\n").run(&["test"]);
    out.code(3).stderr_has("greeting.test.rhai:2:");
    let out = rhai_tests("fn test_a(x) { }\n").run(&["test"]);
    out.code(3)
        .stderr_has("greeting.test.rhai:1")
        .stderr_has("a test function takes no parameters");
}

#[test]
fn filter_and_list_include_rhai_cases() {
    let t = rhai_tests("fn test_one() { }\nfn test_two() { assert(false); }\n");
    let out = t.run(&["test", "--list"]);
    out.code(0)
        .stdout_has("greeting.test.rhai: test_one")
        .stdout_has("greeting.test.rhai: test_two")
        .stdout_has("2 cases");
    let out = t.run(&["test", "--filter", "*one", "-j", "2"]);
    out.code(0)
        .stdout_has("test greeting.test.rhai: test_one ... ok")
        .stdout_has("test result: 1 passed, 0 failed");
    assert!(!out.stdout.contains("test_two"), "{}", out.stdout);
    let out = t.run(&["test", "--filter", "test_tow"]);
    out.code(3).stderr_has("did you mean `test_two`?");
}

#[test]
fn action_check_runs_under_plan_s_read_only_rule() {
    let handler = r#"
register("Probe", "^1");
permissions(["file:read", "file:write", "shell"]);
fn check(m) {
    if m.spec.w == "file" { file::write(path::join(m.dir, "from_check"), "x"); }
    if m.spec.w == "shell" { shell::run(["touch", "y"]); }
    if m.spec.w == "look" { shell::run(["test", "-e", "y"], #{ read_only: true }); }
    true
}
fn apply(m) { #{} }
"#;
    let t = Test::new()
        .handler("probe.rhai", handler)
        .file(
            "probe.test.yaml",
            &suite(
                r#"
  - it: check writes a file
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {w: file}}
    action: check
    expect: {status: pending}
  - it: check runs a changing command
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {w: shell}}
    action: check
    mocks: {shell: [{match: ["*", "*"]}]}
    expect: {status: pending}
  - it: check runs a read-only command
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {w: look}}
    action: check
    mocks: {shell: [{match: ["**"]}]}
    expect: {status: pending}
"#,
            ),
        )
        .manifest(
            "m.yaml",
            "kind: Probe\nversion: v1\nmetadata: {name: p}\nspec: {w: file}\n",
        );
    t.run(&["plan", "-m", "m.yaml"])
        .code(1)
        .stderr_has("`file::write` changes things, and `plan` is read-only");
    t.run(&["test", "probe.test.yaml"])
        .code(1)
        .stdout_has("`file::write` changes things, and `plan` is read-only")
        .stdout_has("`shell::run` may change things, and `plan` is read-only")
        .stdout_has("1 passed, 2 failed");
}

#[test]
fn the_second_apply_of_an_idempotence_check_sees_what_the_first_recorded() {
    let handler = r#"
register("Prev", "^1");
fn check(m) { m.previous == () || m.previous.spec != m.spec || m.previous.variables.n != 1 }
fn apply(m) { #{ n: 1 } }
"#;
    let t = Test::new()
        .handler("prev.rhai", handler)
        .file(
            "prev.test.yaml",
            &suite(
                r#"
  - it: is idempotent as in a run
    manifest: {kind: Prev, version: v1, metadata: {name: p}, spec: {a: 1}}
    expect: {status: changed, idempotent: true}
"#,
            ),
        )
        .manifest(
            "m.yaml",
            "kind: Prev\nversion: v1\nmetadata: {name: p}\nspec: {a: 1}\n",
        );
    t.run(&["apply", "-m", "m.yaml"])
        .code(0)
        .stdout_has("changed");
    t.run(&["apply", "-m", "m.yaml"])
        .code(0)
        .stdout_has("unchanged");
    t.run(&["test", "prev.test.yaml"])
        .code(0)
        .stdout_has("1 passed, 0 failed");
}

#[test]
fn an_env_tag_in_a_case_reads_mocks_env_never_the_real_environment() {
    let handler = r#"
register("Probe", "^1");
fn apply(m) { #{ got: m.spec.x } }
"#;
    let t = Test::new()
        .handler("probe.rhai", handler)
        .file(
            "probe.test.yaml",
            &suite(
                r#"
  - it: unmocked
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {x: !Env SECRET_TOKEN}}
    expect: {status: invalid, error: "SECRET_TOKEN. is not set"}
  - it: mocked
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {x: !Env SECRET_TOKEN}}
    mocks: {env: {SECRET_TOKEN: mocked}}
    expect: {status: changed, outputs: {got: mocked}}
"#,
            ),
        )
        .env("SECRET_TOKEN", "hunter2");
    let out = t.run(&["test", "probe.test.yaml"]);
    out.code(0).stdout_has("2 passed, 0 failed");
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
}

#[test]
fn a_sleep_past_the_call_s_timeout_fails_at_once_on_the_virtual_clock() {
    let handler = r#"
register("Wait", "^1");
fn apply(m) { loop { time::sleep(3600); } }
"#;
    let t = Test::new().handler("wait.rhai", handler).file(
        "wait.test.yaml",
        &suite(
            r#"
  - it: waits forever
    manifest: {kind: Wait, version: v1, metadata: {name: w, timeout: 30}, spec: {}}
    expect: {status: failed, error: "ran longer than its timeout"}
"#,
        ),
    );
    let started = std::time::Instant::now();
    t.run(&["test", "wait.test.yaml"])
        .code(0)
        .stdout_has("1 passed, 0 failed");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn ordo_test_with_s_looks_for_test_files_under_those_directories_only() {
    let handler = r#"
register("Probe", "^1");
fn apply(m) { #{} }
"#;
    let t = Test::new()
        .handler("h/probe.rhai", handler)
        .file(
            "h/probe.test.yaml",
            &suite(
                r#"
  - it: applies
    manifest: {kind: Probe, version: v1, metadata: {name: p}, spec: {}}
    expect: {status: changed}
"#,
            ),
        )
        .file(
            "other.test.yaml",
            &suite(
                r#"
  - it: is for another handler
    manifest: {kind: Missing, version: v1, metadata: {name: p}, spec: {}}
    expect: {status: changed}
"#,
            ),
        );
    t.run(&["test", "-s", "h"])
        .code(0)
        .stdout_has("1 passed, 0 failed");
}

#[test]
fn a_case_manifest_file_must_be_a_yaml_file_below_the_test_file() {
    let t = Test::new()
        .handler(
            "h/probe.rhai",
            "register(\"Probe\", \"^1\");\nfn apply(m) { #{} }\n",
        )
        .file(
            "secret.yaml",
            "kind: Probe\nversion: v1\nmetadata: {name: x}\nspec: {}\n",
        )
        .file(
            "h/m/p.yaml",
            "kind: Probe\nversion: v1\nmetadata: {name: x}\nspec: {}\n",
        );
    let mut t = t;
    for (file, why) in [
        ("/etc/passwd", "not a `*.yaml` or `*.yml` file"),
        ("../secret.yaml", "leads out of the test file's directory"),
        (
            "m/../../secret.yaml",
            "leads out of the test file's directory",
        ),
    ] {
        t = t.file(
            "h/probe.test.yaml",
            &suite(&format!(
                "  - it: reads\n    manifest: {{file: \"{file}\", name: x}}\n    expect: {{status: changed}}\n"
            )),
        );
        t.run(&["test", "h"])
            .code(3)
            .stderr_has(why)
            .stderr_has("probe.test.yaml:7:");
    }
    std::os::unix::fs::symlink(t.path().join("secret.yaml"), t.path().join("h/link.yaml")).unwrap();
    let t = t.file(
        "h/probe.test.yaml",
        &suite("  - it: reads\n    manifest: {file: link.yaml, name: x}\n    expect: {status: changed}\n"),
    );
    t.run(&["test", "h"])
        .code(3)
        .stderr_has("leads out of the test file's directory");
    let t = t.file(
        "h/probe.test.yaml",
        &suite("  - it: reads\n    manifest: {file: m/p.yaml, name: x}\n    expect: {status: changed}\n"),
    );
    t.run(&["test", "h"])
        .code(0)
        .stdout_has("1 passed, 0 failed");
}

#[test]
fn a_case_manifest_naming_hosts_is_an_input_error_at_the_hosts() {
    let t = Test::new()
        .handler(
            "probe.rhai",
            "register(\"Probe\", \"^1\");\nfn apply(m) { #{} }\n",
        )
        .file(
            "probe.test.yaml",
            &suite(
                r#"
  - it: on a host
    manifest: {kind: Probe, version: v1, metadata: {name: p, hosts: [web]}, spec: {}}
    expect: {status: changed}
"#,
            ),
        );
    t.run(&["test", "probe.test.yaml"])
        .code(3)
        .stderr_has("`ordo test` runs a case on the controller")
        .stderr_has("probe.test.yaml:8:");
}

#[test]
fn aliases_copying_too_many_bytes_are_an_input_error_at_the_alias() {
    let big = "x".repeat(1 << 20);
    let mut files = format!("        f0: &a0 {big}\n");
    for i in 1..40 {
        files.push_str(&format!("        f{i}: *a0\n"));
    }
    let t = Test::new()
        .handler("probe.rhai", "register(\"Probe\", \"^1\");\nfn apply(m) { #{} }\n")
        .file(
            "probe.test.yaml",
            &suite(&format!(
                "  - it: c\n    manifest: {{kind: Probe, version: v1, metadata: {{name: p}}, spec: {{}}}}\n    mocks:\n      files:\n{files}    expect: {{status: changed}}\n"
            )),
        )
        .manifest(
            "m.yaml",
            &format!(
                "kind: Probe\nversion: v1\nmetadata: {{name: p}}\nspec:\n  pad:\n{}",
                files
            ),
        );
    t.run(&["test", "probe.test.yaml"])
        .code(3)
        .stderr_has("aliases copy more than 16 MiB of text in one document")
        .stderr_has("probe.test.yaml:");
    t.run(&["validate", "-m", "m.yaml"])
        .code(3)
        .stderr_has("aliases copy more than 16 MiB of text in one document")
        .stderr_has("m.yaml:");
}

#[test]
fn a_case_s_mocked_files_are_bounded_in_total_bytes() {
    let big = "x".repeat(1 << 20);
    let mut files = String::new();
    for i in 0..10 {
        files.push_str(&format!("        f{i}: &a{i} {big}\n"));
        files.push_str(&format!("        g{i}: *a{i}\n"));
    }
    let t = Test::new()
        .handler("probe.rhai", "register(\"Probe\", \"^1\");\nfn apply(m) { #{} }\n")
        .file(
            "probe.test.yaml",
            &suite(&format!(
                "  - it: c\n    manifest: {{kind: Probe, version: v1, metadata: {{name: p}}, spec: {{}}}}\n    mocks:\n      files:\n{files}    expect: {{status: changed}}\n"
            )),
        );
    t.run(&["test", "probe.test.yaml"])
        .code(3)
        .stderr_has("`mocks.files` holds more than 16 MiB in one case");
}

#[test]
fn ordo_run_in_a_rhai_test_runs_the_handler_with_its_mocks() {
    let out = rhai_tests(
        r#"
const M = #{kind: "Greeting", version: "v1", metadata: #{name: "hello"}, spec: #{who: "World", file: "out/hello.txt"}};

fn test_apply_writes_the_greeting() {
    mock::shell(#{"match": ["systemctl", "is-active", "*"], stdout: "active\n"});
    let r = ordo::run("apply", M);
    assert_eq(r.status, "changed");
    assert_eq(r.error, ());
    assert_eq(r.outputs.state, "active");
    let calls = mock::calls("shell");
    assert_eq(calls.len(), 1);
    assert_eq(calls[0].args, ["systemctl", "is-active", "web"]);
    assert_eq(ordo::run("check", M).status, "unchanged");
}

fn test_a_failing_command() {
    mock::shell(#{script: "never"});
    mock::http(#{method: "GET", url: "https://example.com/*", status: 404});
    let r = ordo::run("apply", M);
    assert_eq(r.status, "failed");
}
"#,
    )
    .run(&["test"]);
    out.stdout_has("test greeting.test.rhai: test_apply_writes_the_greeting ... ok")
        .stdout_has("test greeting.test.rhai: test_a_failing_command ... FAILED")
        .stdout_has("unmocked call shell::run([\"systemctl\", \"is-active\", \"web\"])")
        .stdout_has("test result: 1 passed, 1 failed")
        .code(1);
}

#[test]
fn a_bad_mock_or_manifest_in_a_rhai_test_fails_at_its_line() {
    let out = rhai_tests(
        "fn test_bad_mock() {\n    mock::shell(#{stdout: \"x\"});\n}\n\
         fn test_bad_manifest() {\n    ordo::run(\"apply\", #{kind: \"Nope\", version: \"v1\", metadata: #{name: \"a\"}, spec: #{}});\n}\n",
    )
    .run(&["test"]);
    out.code(1)
        .stdout_has("greeting.test.rhai:2:11: mock::shell: `mocks.shell`: which command?")
        .stdout_has("greeting.test.rhai:5:11: ordo::run: no handler serves kind `Nope`");
}
