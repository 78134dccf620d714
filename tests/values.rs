//! Environments, values and variables in manifests (DESIGN.md §6).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

/// `Show` records its resolved `spec` as JSON in `show-<name>.json`; `Make` returns
/// `spec.outputs` as its outputs.
const HANDLERS: &str = r#"
register("Show", "^1");
register("Make", "^1");
permissions(["file:write", "file:read"]);
fn apply(m) {
    if m.kind == "Make" {
        file::append(path::join(m.dir, "order.txt"), m.name + "\n");
        return m.spec.outputs ?? #{};
    }
    file::append(path::join(m.dir, "order.txt"), m.name + "\n");
    file::write(path::join(m.dir, "show-" + m.name + ".json"), json::to_string(m.spec));
}
"#;

const VALUES: &str = r#"kind: Values
version: v1
metadata: {name: settings}
spec:
  values:
  - valueName: port
    defaultValue: 8080
    environmentOverrides:
    - {environmentName: prod, value: 443}
  - valueName: host
    defaultValue: localhost
  - valueName: debug
    defaultValue: false
    environmentOverrides:
    - {environmentName: dev, value: true}
"#;

fn project(manifests: &str) -> Test {
    Test::new()
        .handler("h.rhai", HANDLERS)
        .manifest("values.yaml", VALUES)
        .manifest("m.yaml", manifests)
}

fn shown(t: &Test, name: &str) -> serde_json::Value {
    let text = t.read(&format!("show-{name}.json"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("show-{name}.json: {e}: {text:?}"))
}

const SHOW: &str = "kind: Show\nversion: v1\nmetadata: {name: s}\nspec:\n  port: !Value port\n  host: !Value host\n  debug: !Value debug\n";

#[test]
fn values_are_typed_and_chosen_per_environment() {
    let t = project(SHOW);
    t.run(&["apply"]).code(0);
    assert_eq!(
        shown(&t, "s"),
        serde_json::json!({"port": 8080, "host": "localhost", "debug": false})
    );
    t.run(&["apply", "-e", "prod"]).code(0);
    assert_eq!(shown(&t, "s")["port"], 443);
    t.run(&["apply", "-e", "dev"]).code(0);
    assert_eq!(shown(&t, "s")["debug"], true);
}

#[test]
fn set_beats_files_later_files_beat_earlier_ones_and_files_beat_manifests() {
    let file = |port: &str| {
        format!(
            "kind: Values\nversion: v1\nmetadata: {{name: f}}\nspec:\n  values:\n  - {{valueName: port, defaultValue: {port}}}\n"
        )
    };
    let t = project(SHOW)
        .file("one.yaml", &file("1111"))
        .file("two.yaml", &file("2222"));
    let m = ["-m", "m.yaml", "-m", "values.yaml"];
    t.run(&[&["apply"][..], &m, &["-f", "one.yaml"]].concat())
        .code(0);
    assert_eq!(shown(&t, "s")["port"], 1111);
    t.run(&[&["apply"][..], &m, &["-f", "one.yaml", "-f", "two.yaml"]].concat())
        .code(0);
    assert_eq!(shown(&t, "s")["port"], 2222);
    t.run(
        &[
            &["apply"][..],
            &m,
            &[
                "-f",
                "one.yaml",
                "--set",
                "port=9",
                "--set",
                "host=\"0099\"",
            ],
        ]
        .concat(),
    )
    .code(0);
    assert_eq!(
        shown(&t, "s")["port"],
        9,
        "--set reads YAML: a number stays a number"
    );
    assert_eq!(shown(&t, "s")["host"], "0099");
    // A bare `values:` list is a values file too.
    let t = project(SHOW).file(
        "bare.yaml",
        "values:\n- {valueName: host, defaultValue: bare.example}\n",
    );
    t.run(&[
        "apply",
        "-m",
        "m.yaml",
        "-m",
        "values.yaml",
        "-f",
        "bare.yaml",
    ])
    .code(0);
    assert_eq!(shown(&t, "s")["host"], "bare.example");
}

#[test]
fn every_values_manifest_counts() {
    let more = "kind: Values\nversion: v1\nmetadata: {name: more}\nspec:\n  values:\n  - {valueName: extra, defaultValue: from-the-second}\n";
    let show = "kind: Show\nversion: v1\nmetadata: {name: s}\nspec:\n  extra: !Value extra\n  port: !Value port\n";
    let t = project(show).manifest("more/values.yaml", more);
    t.run(&["apply", "-s", "."]).code(0);
    assert_eq!(
        shown(&t, "s"),
        serde_json::json!({"extra": "from-the-second", "port": 8080})
    );
}

#[test]
fn a_value_defined_twice_differently_is_an_input_error_at_both_places() {
    let clash = "kind: Values\nversion: v1\nmetadata: {name: clash}\nspec:\n  values:\n  - {valueName: port, defaultValue: 9999}\n";
    let t = project(SHOW).manifest("clash.yaml", clash);
    t.run(&["apply"])
        .code(3)
        .stderr_has("value `port` is defined twice with different values")
        .stderr_has("values.yaml:6:")
        .stderr_has("clash.yaml:6:");
    // The same definition twice is harmless.
    let same = "kind: Values\nversion: v1\nmetadata: {name: same}\nspec:\n  values:\n  - {valueName: host, defaultValue: localhost}\n";
    project(SHOW)
        .manifest("same.yaml", same)
        .run(&["apply"])
        .code(0);
}

#[test]
fn sub_interpolates_values_in_both_forms() {
    let show = r#"kind: Show
version: v1
metadata: {name: s}
spec:
  url: !Sub "https://${host}:${port}/api?x=$${literal}"
  pair: !Sub ["${a}-${b}", {a: !Value host, b: 7}]
"#;
    let t = project(show);
    t.run(&["apply", "-e", "prod"]).code(0);
    assert_eq!(
        shown(&t, "s"),
        serde_json::json!({"url": "https://localhost:443/api?x=${literal}", "pair": "localhost-7"})
    );
}

#[test]
fn env_reads_the_ordo_process_environment() {
    let show =
        "kind: Show\nversion: v1\nmetadata: {name: s}\nspec:\n  region: !Env ORDO_TEST_REGION\n";
    let t = project(show).env("ORDO_TEST_REGION", "eu-west-1");
    t.run(&["apply"]).code(0);
    assert_eq!(shown(&t, "s")["region"], "eu-west-1");
    let t = project(show);
    t.run(&["apply"])
        .code(3)
        .stderr_has("environment variable `ORDO_TEST_REGION` is not set")
        .stderr_has("m.yaml:5:11");
}

#[test]
fn variables_resolve_just_before_the_consumer_runs_and_order_it_after_the_producer() {
    // The consumer is listed first and declares no dependency: the `!Variable` orders it.
    let manifests = r#"kind: Show
version: v1
metadata: {name: consumer}
spec:
  id: !Variable producer.id
  count: !Variable producer.count
  both: !Sub ["${id}/${n}", {id: !Variable producer.id, n: !Value port}]
  env: !Variable std.env
  action: !Variable std.action
---
kind: Make
version: v1
metadata: {name: producer}
spec:
  outputs: {id: i-0abc, count: 3}
"#;
    let t = project(manifests);
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(t.read("order.txt"), "producer\nconsumer\n");
    assert_eq!(
        shown(&t, "consumer"),
        serde_json::json!({"id": "i-0abc", "count": 3, "both": "i-0abc/8080", "env": "default", "action": "apply"})
    );
}

/// Regression (issue 9, found with the `tags` fuzz target's invariant): a `!Variable`
/// inside a value used through `!Value` gave the consumer no edge to the producer and did
/// not mark it for run-time resolution, so the consumer could run first and fail with
/// "variable `producer.id` is not set".
#[test]
fn a_value_holding_a_variable_orders_the_consumer_after_the_producer() {
    let values = "kind: Values\nversion: v1\nmetadata: {name: linked}\nspec:\n  values:\n  - {valueName: later, defaultValue: !Variable producer.id}\n";
    let manifests = "kind: Show\nversion: v1\nmetadata: {name: consumer}\nspec:\n  id: !Value later\n---\nkind: Make\nversion: v1\nmetadata: {name: producer}\nspec:\n  outputs: {id: i-0abc}\n";
    let t = project(manifests).manifest("linked.yaml", values);
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(t.read("order.txt"), "producer\nconsumer\n");
    assert_eq!(shown(&t, "consumer"), serde_json::json!({"id": "i-0abc"}));
    t.run(&["graph"])
        .code(0)
        .stdout_has("Show/consumer  (after producer)");
}

#[test]
fn a_variable_the_producer_never_set_fails_the_consumer_at_the_tag() {
    let manifests = "kind: Show\nversion: v1\nmetadata: {name: consumer}\nspec:\n  id: !Variable producer.nope\n---\nkind: Make\nversion: v1\nmetadata: {name: producer}\n";
    let t = project(manifests);
    let out = t.run(&["apply"]);
    out.code(1)
        .stderr_has("variable `producer.nope` is not set")
        .stderr_has("m.yaml:5:7")
        .stderr_has("`producer` must set it");
    assert!(!t.exists("show-consumer.json"), "never an empty value");
}

#[test]
fn unresolvable_references_are_input_errors_with_file_line_and_name() {
    let cases = [
        (
            "id: !Value prot",
            "no value named `prot`; did you mean `port`?",
        ),
        (
            "id: !Variable nobody.id",
            "`!Variable nobody.id`: no manifest `nobody`",
        ),
        (
            "id: !Variable justaname",
            "a variable is named `<manifest>.<key>`",
        ),
        (
            "id: !Variable std.nope",
            "the built-in variables are `std.env` and `std.action`",
        ),
        ("id: !Variable s.x", "refers to the manifest's own variable"),
        ("id: !Sub \"${nope}\"", "no value named `nope`"),
        (
            "id: !Sub [\"${a}\", {b: 1}]",
            "`${a}` is not defined in its map",
        ),
        (
            "id: !Value [port]",
            "`!Value` takes a value name, not a sequence",
        ),
    ];
    for (spec, message) in cases {
        let manifest = format!("kind: Show\nversion: v1\nmetadata: {{name: s}}\nspec:\n  {spec}\n");
        let t = project(&manifest);
        t.run(&["apply"])
            .code(3)
            .no_panic()
            .stderr_has(message)
            .stderr_has("m.yaml:5:");
        assert!(!t.exists("order.txt"), "{spec}: something ran");
    }
    let t = project("kind: Show\nversion: v1\nmetadata: {name: s}\nspec:\n  id: !Value port\n");
    t.run(&["apply", "--set", "noequals"])
        .code(2)
        .stderr_has("expected KEY=VALUE");
}

#[test]
fn a_value_without_a_default_is_missing_outside_its_environments() {
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - valueName: bucket\n    environmentOverrides: [{environmentName: prod, value: prod-bucket}]\n";
    let t = Test::new()
        .handler("h.rhai", HANDLERS)
        .manifest("values.yaml", values)
        .manifest(
            "m.yaml",
            "kind: Show\nversion: v1\nmetadata: {name: s}\nspec:\n  b: !Value bucket\n",
        );
    t.run(&["apply", "-e", "prod"]).code(0);
    t.run(&["apply"])
        .code(3)
        .stderr_has("value `bucket` has no default and no override for environment `default`");
}

#[test]
fn handlers_can_look_values_up() {
    let handler = "register(\"Look\", \"^1\");\npermissions([\"file:write\"]);\nfn apply(m) { file::write(path::join(m.dir, \"v.txt\"), `${values::get(\"port\")} ${values::get(\"none\", \"-\")} ${values::has(\"host\")}`); }\n";
    let t = Test::new()
        .handler("h.rhai", handler)
        .manifest("values.yaml", VALUES)
        .manifest("m.yaml", "kind: Look\nversion: v1\nmetadata: {name: l}\n");
    t.run(&["apply", "--set", "port=1"]).code(0);
    assert_eq!(t.read("v.txt"), "1 - true");
}

#[test]
fn secrets_never_appear_in_any_output() {
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: password, defaultValue: hunter2-secret, secret: true}\n";
    // The handler logs the secret, stores it, sets a secret variable, then fails with both.
    let handler = r#"
register("Leak", "^1");
fn apply(m) {
    print("the password is " + m.spec.pw);
    debug(m.spec.pw);
    log::warn(`warn ${m.spec.pw}`);
    vars::set_secret("token", "tok-98765-secret");
    log::info("token " + vars::get("token"));
    throw "failed with " + m.spec.pw + " and " + vars::get("token");
}
"#;
    let manifest =
        "kind: Leak\nversion: v1\nmetadata: {name: leak}\nspec:\n  pw: !Value password\n";
    let t = Test::new()
        .handler("h.rhai", handler)
        .manifest("values.yaml", values)
        .manifest("m.yaml", manifest);
    for args in [
        vec!["apply"],
        vec!["apply", "-v"],
        vec!["apply", "-o", "json"],
        vec!["apply", "-o", "jsonl", "-v"],
    ] {
        let out = t.run(&args);
        out.code(1);
        for secret in ["hunter2-secret", "tok-98765-secret"] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{secret} leaked with {args:?}:\n{}\n{}",
                out.stdout,
                out.stderr
            );
        }
        assert!(
            out.stdout.contains("***") || out.stderr.contains("***"),
            "{args:?}"
        );
    }
    // A secret from `--set` on a secret value stays secret; an input error quoting the
    // secret's line shows it masked.
    let bad = "kind: Leak\nversion: v1\nmetadata: {name: leak}\nspec:\n  pw: !Value password\n  oops: !Value nope\n";
    let t = Test::new()
        .handler("h.rhai", handler)
        .manifest("values.yaml", values)
        .manifest("m.yaml", bad);
    let out = t.run(&["apply", "--set", "password=hunter2-secret"]);
    out.code(3);
    assert!(!out.stderr.contains("hunter2-secret"));
}

/// Regression (issue 14): `secret: "yes"` is not a boolean; it is refused, and the value it
/// was meant to hide stays masked in the excerpt of that error.
#[test]
fn a_secret_flag_that_is_not_a_boolean_is_refused_without_showing_the_value() {
    let t = Test::new().handler("h.rhai", HANDLERS).manifest(
        "v.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: token, defaultValue: hunter2, secret: \"yes\"}\n",
    );
    let out = t.run(&["validate"]);
    out.code(3)
        .stderr_has("v.yaml:6:")
        .stderr_has("`secret` must be a boolean")
        .stderr_lacks("hunter2");
}

/// Regression (attack on issue 14): a misspelt `secret` key (`secrte: true`) was refused,
/// but the excerpt of that error printed the value in clear. The value fails closed.
#[test]
fn a_misspelt_secret_key_is_refused_without_showing_the_value() {
    let t = Test::new().handler("h.rhai", HANDLERS).manifest(
        "v.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: hunter2, secrte: true}\n",
    );
    let out = t.run(&["validate"]);
    out.code(3)
        .stderr_has("unknown key `secrte`")
        .stderr_has("did you mean `secret`?")
        .stderr_lacks("hunter2");
}

/// Regression (issue 14): unknown keys in an `environmentOverrides` entry were accepted.
#[test]
fn unknown_keys_in_an_environment_override_are_refused() {
    let t = Test::new().handler("h.rhai", HANDLERS).manifest(
        "v.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - valueName: port\n    defaultValue: 80\n    environmentOverrides:\n    - {environmentName: prod, value: 443, secrett: true}\n",
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("v.yaml:9:")
        .stderr_has("unknown key `secrett` in an environment override")
        .stderr_has("allowed here: environmentName, value");
}

/// Regression (issue 14): `2.0` and `1e20` rendered as `2` and `100000000000000000000`
/// through `!Sub`, but as `2.0` and `1e20` through ShellScript's `env`, `!Value` into
/// `WriteFile.data` and `template::render`. One value, one text, on every path.
#[test]
fn a_number_renders_as_one_text_on_every_path() {
    let handler = r#"
register("Render", "^1");
permissions(["file:write"]);
fn apply(m) {
    let line = template::render("app-{{ ver }}.tar.gz big={{ big }}", m.spec);
    file::write(path::join(m.dir, "template.txt"), line);
    file::write(path::join(m.dir, "concat.txt"), "app-" + m.spec.ver + ".tar.gz big=" + m.spec.big);
    file::write(path::join(m.dir, "interp.txt"), `app-${m.spec.ver}.tar.gz big=${m.spec.big}`);
    file::write(path::join(m.dir, "yaml.txt"), yaml::to_string(m.spec));
}
"#;
    let manifests = r#"kind: Values
version: v1
metadata: {name: settings}
spec:
  values:
  - {valueName: ver, defaultValue: 2.0}
  - {valueName: big, defaultValue: 1e20}
---
kind: WriteFile
version: v1
metadata: {name: sub}
spec:
  targetFile: sub.txt
  data: !Sub "app-${ver}.tar.gz big=${big}"
---
kind: WriteFile
version: v1
metadata: {name: value}
spec:
  targetFile: value.txt
  data: !Value big
---
kind: WriteFile
version: v1
metadata: {name: literal}
spec:
  targetFile: literal.txt
  data: 2.0
---
kind: ShellScript
version: v1
metadata: {name: env}
spec:
  source: {value: 'printf "app-%s.tar.gz big=%s" "$VER" "$BIG" > env.txt'}
  env: {VER: !Value ver, BIG: !Value big}
---
kind: Render
version: v1
metadata: {name: render}
spec: {ver: !Value ver, big: 1e20}
"#;
    let t = Test::new()
        .handler("render.rhai", handler)
        .manifest("m.yaml", manifests);
    t.run(&["apply"]).code(0);
    let wanted = "app-2.0.tar.gz big=1e20";
    for file in [
        "sub.txt",
        "env.txt",
        "template.txt",
        "concat.txt",
        "interp.txt",
    ] {
        assert_eq!(t.read(file), wanted, "{file}");
    }
    assert_eq!(t.read("value.txt"), "1e20");
    assert_eq!(t.read("literal.txt"), "2.0");
    // As YAML data the float keeps its value, in the form YAML 1.1 readers need too.
    assert_eq!(t.read("yaml.txt"), "big: 1.0e+20\nver: 2.0\n");
}

/// Regression (issue 14): a secret float was remembered for masking as the text `!Sub`
/// gave it (`100000000000000000000`), so its usual text `1e20` was shown in clear.
#[test]
fn a_secret_number_is_masked_in_the_text_it_is_shown_as() {
    let handler = r#"
register("Say", "^1");
fn apply(m) { throw "pin is " + m.spec.pin; }
"#;
    let manifests = "kind: Values\nversion: v1\nmetadata: {name: s}\nspec:\n  values:\n  - {valueName: pin, defaultValue: 1e20, secret: true}\n---\nkind: Say\nversion: v1\nmetadata: {name: say}\nspec: {pin: !Value pin}\n";
    let t = Test::new()
        .handler("say.rhai", handler)
        .manifest("m.yaml", manifests);
    let out = t.run(&["apply"]);
    out.code(1).stderr_has("pin is ***").stderr_lacks("1e20");
    assert!(!out.stdout.contains("1e20"), "{}", out.stdout);
}
