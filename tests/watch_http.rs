//! `ordo watch --listen` (DESIGN.md §16, issue 22 part 5): the endpoints of the real binary,
//! on `127.0.0.1:0` (the address it bound is read from its `listening` event), spoken to
//! over plain TCP so that malformed, oversized and slow requests can be sent too.
//! `/metrics` is parsed against the Prometheus text format's rules. Every wait has a
//! generous bound: the machine may be loaded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Test;
use serde_json::Value;

/// Keeps `spec.file` existing; `apply` fails while `spec.needs` (if given) does not exist,
/// with `spec.pw` (if given) in its error.
const NEED: &str = r#"
register("Need", "^1");
permissions(["file:read", "file:write"]);
fn check(m) { !file::exists(path::join(m.dir, m.spec.file)) }
fn apply(m) {
    if m.spec.needs != () && !file::exists(path::join(m.dir, m.spec.needs)) {
        if m.spec.pw != () { throw "login with " + m.spec.pw + " refused"; }
        throw "`" + m.spec.needs + "` is missing";
    }
    file::write(path::join(m.dir, m.spec.file), "ok");
}
"#;

fn need(name: &str, spec: &str) -> String {
    format!("---\nkind: Need\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{{spec}}}\n")
}

/// `db` fails until `ready.flag` exists; `web` does not depend on it.
fn project() -> Test {
    Test::new().handler("need.rhai", NEED).manifest(
        "m.yaml",
        &(need("db", "file: db.txt, needs: ready.flag") + &need("web", "file: web.txt")),
    )
}

/// A running `ordo watch -o jsonl --listen 127.0.0.1:0`, its events collected.
struct Watching {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    addr: String,
}

impl Watching {
    fn start(t: &Test, args: &[&str]) -> Watching {
        let mut all = vec!["watch", "-o", "jsonl"];
        all.extend_from_slice(args);
        if !args.contains(&"--listen") {
            all.extend(["--listen", "127.0.0.1:0"]);
        }
        let mut child = t.spawn(&all);
        let events = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let sink = Arc::clone(&events);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                sink.lock().unwrap().push(value);
            }
        });
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::BufReader::new(err).read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let mut w = Watching {
            child,
            events,
            stderr,
            addr: String::new(),
        };
        let listening = w.wait_for("the listening event", |e| e["event"] == "listening");
        w.addr = listening["address"].as_str().unwrap().to_string();
        w
    }

    fn wait_for(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = self.events.lock().unwrap().iter().find(|e| matches(e)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within 60 s; events:\n{}\nstderr:\n{}",
                self.events
                    .lock()
                    .unwrap()
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn request(&self, raw: &str) -> Answer {
        request(&self.addr, raw.as_bytes())
    }

    fn get(&self, path: &str) -> Answer {
        self.request(&format!("GET {path} HTTP/1.1\r\nHost: ordo\r\n\r\n"))
    }

    /// GETs `path` until `done` holds for the answer (60 s at most).
    fn poll(&self, path: &str, what: &str, done: impl Fn(&Answer) -> bool) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = self.get(path);
            if done(&answer) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: never {what} within 60 s; last answer: {} {}\nstderr:\n{}",
                answer.code,
                answer.body,
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> i32 {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "ordo watch did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status code, headers (names lowercased), body.
struct Answer {
    code: u16,
    headers: HashMap<String, String>,
    body: String,
}

fn request(addr: &str, raw: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // The server may answer (and close) before it read everything sent: ignore a failed write.
    let _ = stream.write_all(raw);
    read_answer(&mut stream)
}

fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.split("\r\n");
    let code = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    assert_eq!(
        headers["content-length"].parse::<usize>().unwrap(),
        body.len(),
        "Content-Length"
    );
    Answer {
        code,
        headers,
        body: body.to_string(),
    }
}

/// One sample of `/metrics`: its name, labels (unescaped) and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses Prometheus text (format 0.0.4), failing on any breach of its rules: every line
/// is a `# HELP`, a `# TYPE` or a sample; names and label names are well formed; label
/// values escape only `\\`, `\"` and `\n`; each family has one HELP and one TYPE, before
/// its samples, and its samples are together; a histogram's buckets, per label set, have
/// increasing `le`, counts that never decrease, and `+Inf` equal to `_count`.
fn parse_metrics(text: &str) -> Vec<Sample> {
    fn name_ok(n: &str) -> bool {
        let mut chars = n.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && types.get(base).is_some_and(|t| t == "histogram")
            {
                return base;
            }
        }
        name
    }
    assert!(text.ends_with('\n'), "the text must end with a line break");
    let mut help: HashMap<String, String> = HashMap::new();
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    let mut finished: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, doc) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(name_ok(name), "bad metric name in `{line}`");
            assert!(
                help.insert(name.into(), doc.into()).is_none(),
                "second HELP: {line}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name_ok(name), "bad metric name in `{line}`");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type in `{line}`"
            );
            assert!(
                types.insert(name.into(), kind.into()).is_none(),
                "second TYPE: {line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line `{line}`"
        );
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("no value in `{line}`"),
        };
        assert!(name_ok(name), "bad metric name in `{line}`");
        let mut labels = BTreeMap::new();
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.chars().peekable();
            loop {
                if chars.peek() == Some(&'}') {
                    chars.next();
                    break;
                }
                let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
                assert!(
                    name_ok(&key) && !key.contains(':'),
                    "bad label name `{key}` in `{line}`"
                );
                assert_eq!(chars.next(), Some('"'), "unquoted label value in `{line}`");
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape \\{other:?} in `{line}`"),
                        },
                        Some('"') => break,
                        Some('\n') | None => panic!("unterminated label value in `{line}`"),
                        Some(c) => value.push(c),
                    }
                }
                assert!(
                    labels.insert(key.clone(), value).is_none(),
                    "label `{key}` twice"
                );
                match chars.next() {
                    Some(',') => {}
                    Some('}') => break,
                    other => panic!("expected , or }} after a label, got {other:?} in `{line}`"),
                }
            }
            chars.collect::<String>()
        } else {
            rest.to_string()
        };
        let mut fields = rest.split_whitespace();
        let value = fields
            .next()
            .unwrap_or_else(|| panic!("no value in `{line}`"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in `{line}`")),
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("bad timestamp in `{line}`"));
        }
        assert!(fields.next().is_none(), "trailing text in `{line}`");
        let family = family_of(name, &types).to_string();
        assert!(
            help.contains_key(&family),
            "no # HELP for `{family}` before `{line}`"
        );
        assert!(
            types.contains_key(&family),
            "no # TYPE for `{family}` before `{line}`"
        );
        if current.as_deref() != Some(&family) {
            assert!(
                !finished.contains(&family),
                "samples of `{family}` not together"
            );
            if let Some(done) = current.replace(family.clone()) {
                finished.push(done);
            }
        }
        if types[&family] == "counter" {
            assert!(value >= 0.0, "negative counter `{line}`");
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    // Histograms: per label set (without `le`), buckets in increasing order, counts that
    // never decrease, and +Inf equal to _count.
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut key = s.labels.clone();
            let le = key
                .remove("le")
                .unwrap_or_else(|| panic!("bucket without le: {s:?}"));
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            series
                .entry(format!("{key:?}"))
                .or_default()
                .push((le, s.value));
        }
        assert!(!series.is_empty(), "histogram `{family}` has no buckets");
        for (key, buckets) in series {
            for pair in buckets.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{family}{key}: le not increasing");
                assert!(
                    pair[0].1 <= pair[1].1,
                    "{family}{key}: bucket counts decrease"
                );
            }
            let (le, inf) = *buckets.last().unwrap();
            assert!(le.is_infinite(), "{family}{key}: no +Inf bucket");
            let count = samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && format!("{:?}", s.labels) == key)
                .unwrap_or_else(|| panic!("{family}{key}: no _count"));
            assert!(
                (count.value - inf).abs() < f64::EPSILON,
                "{family}{key}: +Inf {inf} != _count {}",
                count.value
            );
            assert!(
                samples
                    .iter()
                    .any(|s| s.name == format!("{family}_sum") && format!("{:?}", s.labels) == key),
                "{family}{key}: no _sum"
            );
        }
    }
    samples
}

/// The value of the sample `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

#[test]
fn each_endpoint_answers_and_readyz_is_503_while_a_manifest_fails_then_200_after_the_fix() {
    let t = project();
    let w = Watching::start(
        &t,
        &[
            "--interval",
            "1h",
            "--retry-interval",
            "200ms",
            "--max-backoff",
            "400ms",
        ],
    );
    let answer = w.get("/livez");
    assert_eq!((answer.code, answer.body.as_str()), (200, "ok\n"));

    let not_ready = w.poll("/readyz", "503 naming db", |a| {
        a.code == 503 && a.body.contains("db ")
    });
    assert!(not_ready.body.contains("is missing"), "{}", not_ready.body);
    assert!(!not_ready.body.contains("web"), "{}", not_ready.body);

    let status = w.get("/status");
    assert_eq!(status.code, 200);
    assert_eq!(status.headers["content-type"], "application/json");
    let json: Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(json["ready"], false, "{json:#}");
    assert_eq!(json["live"], true, "{json:#}");
    let manifests = json["last_run"]["manifests"].as_array().unwrap();
    let db = manifests.iter().find(|m| m["name"] == "db").unwrap();
    assert!(
        ["failed", "waiting"].contains(&db["status"].as_str().unwrap()),
        "{db}"
    );
    assert!(db["failures"].as_u64().unwrap() >= 1, "{db}");
    assert!(
        db["reason"].as_str().unwrap().contains("missing") || db["status"] == "waiting",
        "{db}"
    );
    assert!(db["next_attempt"].is_string(), "{db}");
    let web = manifests.iter().find(|m| m["name"] == "web").unwrap();
    assert!(
        ["changed", "unchanged"].contains(&web["status"].as_str().unwrap()),
        "{web}"
    );

    let metrics = w.get("/metrics");
    assert_eq!(metrics.code, 200);
    assert_eq!(
        metrics.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let samples = parse_metrics(&metrics.body);
    assert_eq!(value(&samples, "ordo_up", &[]), Some(1.0));
    assert!(value(&samples, "ordo_cycles_total", &[("result", "failed")]).unwrap() >= 1.0);
    assert!(value(&samples, "ordo_manifest_failures", &[("name", "db")]).unwrap() >= 1.0);
    assert_eq!(
        value(&samples, "ordo_manifest_failures", &[("name", "web")]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "ordo_drift_detected_total", &[("name", "web")]),
        Some(0.0)
    );
    // One status of db is 1, the seven others 0.
    let db_status: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "ordo_manifest_status" && s.labels["name"] == "db")
        .collect();
    assert_eq!(db_status.len(), 8, "{db_status:?}");
    assert_eq!(db_status.iter().map(|s| s.value).sum::<f64>(), 1.0);
    for name in [
        "ordo_cycle_duration_seconds_count",
        "ordo_last_success_timestamp_seconds",
        "ordo_drift_detected_total",
        "ordo_drift_corrected_total",
    ] {
        let family = name.trim_end_matches("_count");
        assert!(
            metrics.body.contains(&format!("# TYPE {family} ")),
            "{name}: {}",
            metrics.body
        );
    }

    // The fix, and a cycle now.
    std::fs::write(t.path().join("ready.flag"), "").unwrap();
    let answer = w.request("POST /reconcile HTTP/1.1\r\nHost: ordo\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        (answer.code, answer.body.as_str()),
        (202, "reconcile requested\n")
    );
    let ready = w.poll("/readyz", "200", |a| a.code == 200);
    assert_eq!(ready.body, "ok\n");
    let samples = parse_metrics(&w.get("/metrics").body);
    assert_eq!(
        value(
            &samples,
            "ordo_manifest_status",
            &[("name", "db"), ("status", "changed")]
        )
        .or_else(|| value(
            &samples,
            "ordo_manifest_status",
            &[("name", "db"), ("status", "unchanged")]
        )),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "ordo_manifest_failures", &[("name", "db")]),
        Some(0.0)
    );
    assert!(value(&samples, "ordo_last_success_timestamp_seconds", &[]).unwrap() > 1.7e9);
    assert_eq!(w.stop(), 0);
}

#[test]
fn post_reconcile_runs_a_cycle_now() {
    let t = project();
    std::fs::write(t.path().join("ready.flag"), "").unwrap();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.wait_for("the end of cycle 1", |e| {
        e["event"] == "cycle_finished" && e["cycle"] == 1
    });
    let answer = w.request("POST /reconcile HTTP/1.1\r\nHost: ordo\r\n\r\n");
    assert_eq!(answer.code, 202, "{}", answer.body);
    let started = w.wait_for("a cycle asked for over HTTP", |e| {
        e["event"] == "cycle_started" && e["trigger"] == "request"
    });
    assert_eq!(started["cycle"], 2);
    w.wait_for("the end of cycle 2", |e| {
        e["event"] == "cycle_finished" && e["cycle"] == 2
    });
    let json: Value = serde_json::from_str(&w.get("/status").body).unwrap();
    assert_eq!(json["cycles"], 2, "{json:#}");
    assert_eq!(json["last_cycle"]["number"], 2, "{json:#}");
    // A GET does not trigger anything.
    assert_eq!(w.get("/reconcile").code, 405);
    assert_eq!(w.stop(), 0);
}

#[test]
fn oversized_requests_bodies_and_unknown_routes_are_refused() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    let big = format!(
        "GET /status HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    assert_eq!(w.request(&big).code, 431);
    let answer = w.request("POST /reconcile HTTP/1.1\r\nContent-Length: 4\r\n\r\nnow!");
    assert_eq!(
        (answer.code, answer.body.as_str()),
        (413, "request bodies are refused\n")
    );
    for path in [
        "/",
        "/status/../metrics",
        "/..%2fstatus",
        "/metrics/x",
        "/favicon.ico",
    ] {
        assert_eq!(w.get(path).code, 404, "{path}");
    }
    let answer = w.request("PUT /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(answer.code, 405);
    assert_eq!(answer.headers["allow"], "GET, HEAD");
    assert_eq!(w.request("garbage\r\n\r\n").code, 400);
    // None of that triggered a cycle.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !w.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "cycle_started" && e["trigger"] == "request")
    );
    assert_eq!(w.get("/livez").code, 200);
    assert_eq!(w.stop(), 0);
}

#[test]
fn a_slow_client_does_not_block_another() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    // Three clients send half a request and then nothing.
    let mut slow: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(&w.addr).unwrap();
            s.write_all(b"GET /status HTTP/1.1\r\nHost: ordo\r\n")
                .unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    let answer = w.get("/livez");
    assert_eq!(answer.code, 200);
    // Answered while the slow ones still wait (they are cut off after 5 s).
    let waited = started.elapsed();
    let first = slow.first_mut().unwrap();
    first.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1];
    let still_open =
        matches!(first.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    assert!(
        still_open || waited > Duration::from_secs(4),
        "the slow client was answered before the other one"
    );
    // The slow clients get 408 in the end, not a connection held forever.
    first.set_nonblocking(false).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let answer = read_answer(first);
    assert_eq!(answer.code, 408, "{}", answer.body);
    assert_eq!(w.stop(), 0);
}

#[test]
fn a_non_loopback_listen_address_needs_listen_any() {
    let t = project();
    let out = t.run(&["watch", "--once", "--listen", "0.0.0.0:0"]);
    out.code(2)
        .stderr_has("`--listen 0.0.0.0:0` is not a loopback address")
        .stderr_has("needs `--listen-any`");
    assert!(!t.exists("web.txt"), "a refused watch ran a cycle");
    t.run(&["watch", "--once", "--listen", "my-host"])
        .code(2)
        .stderr_has("expected an address and port such as `127.0.0.1:9464`");
    t.run(&["watch", "--once", "--listen-any"]).code(2);
    // An address that cannot be bound fails before any cycle.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    t.run(&["watch", "--once", "--listen", &addr])
        .code(1)
        .stderr_has(&format!("cannot listen on `{addr}`"));
    assert!(
        !t.exists("web.txt"),
        "a watch that could not listen ran a cycle"
    );

    // With --listen-any it serves, on every interface (loopback among them).
    let w = Watching::start(
        &t,
        &["--interval", "1h", "--listen", "0.0.0.0:0", "--listen-any"],
    );
    assert!(w.addr.starts_with("0.0.0.0:"), "{}", w.addr);
    let port = w.addr.rsplit(':').next().unwrap();
    let answer = request(&format!("127.0.0.1:{port}"), b"GET /livez HTTP/1.1\r\n\r\n");
    assert_eq!(answer.code, 200);
    assert_eq!(w.stop(), 0);
}

#[test]
fn secrets_are_masked_in_every_label_and_body() {
    const SECRET: &str = "Sup3r-Secret-77";
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: default-pw, secret: true}\n";
    let t = Test::new()
        .handler("need.rhai", NEED)
        .manifest("values.yaml", values)
        .manifest(
            "m.yaml",
            &need(
                &format!("app-{SECRET}"),
                "file: app.txt, needs: ready.flag, pw: !Value pw",
            ),
        );
    let w = Watching::start(
        &t,
        &[
            "--interval",
            "1h",
            "--retry-interval",
            "1h",
            "--set",
            &format!("pw={SECRET}"),
        ],
    );
    let ready = w.poll("/readyz", "503", |a| {
        a.code == 503 && a.body.contains("app-")
    });
    assert!(ready.body.starts_with("app-*** failed: "), "{}", ready.body);
    assert!(
        ready.body.contains("login with *** refused"),
        "{}",
        ready.body
    );
    for path in ["/readyz", "/status", "/metrics"] {
        let answer = w.get(path);
        assert!(!answer.body.contains(SECRET), "{path}: {}", answer.body);
        assert!(answer.body.contains("app-***"), "{path}: {}", answer.body);
    }
    let samples = parse_metrics(&w.get("/metrics").body);
    assert!(
        samples
            .iter()
            .filter(|s| s.labels.contains_key("name"))
            .all(|s| s.labels["name"] == "app-***"),
        "{samples:?}"
    );
    assert_eq!(w.stop(), 0);
}

#[test]
fn idle_connections_do_not_make_livez_answer_503() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    // Many more idle connections than the server serves at once, each one byte in.
    let held: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = TcpStream::connect(&w.addr).unwrap();
            s.write_all(b"G").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..5 {
        let answer = w.get("/livez");
        assert_eq!((answer.code, answer.body.as_str()), (200, "ok\n"));
    }
    drop(held);
    assert_eq!(w.stop(), 0);
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.wait_for("the end of cycle 1", |e| {
        e["event"] == "cycle_finished" && e["cycle"] == 1
    });
    for path in ["/livez", "/readyz", "/status", "/metrics"] {
        let get = w.get(path);
        // The answer to HEAD: GET's status line and headers, and nothing after them.
        let mut stream = TcpStream::connect(&w.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(format!("HEAD {path} HTTP/1.1\r\nHost: ordo\r\n\r\n").as_bytes())
            .unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "", "{path}");
        assert!(
            head.starts_with(&format!("HTTP/1.1 {} ", get.code)),
            "{head}"
        );
        assert!(
            head.contains(&format!(
                "Content-Type: {}\r\n",
                get.headers["content-type"]
            )),
            "{head}"
        );
        assert!(head.contains("Content-Length: "), "{head}");
    }
    let answer = w.request("PUT /livez HTTP/1.1\r\n\r\n");
    assert_eq!(answer.code, 405);
    assert_eq!(answer.headers["allow"], "GET, HEAD");
    assert_eq!(w.stop(), 0);
}

#[test]
fn pipelined_requests_the_http2_preface_and_bare_lf_heads_get_fitting_answers() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    // Pipelined: the first request is answered (then the connection closes).
    let answer = w.request("GET /livez HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n");
    assert_eq!((answer.code, answer.body.as_str()), (200, "ok\n"));
    // HTTP/2's preface: not our version.
    assert_eq!(w.request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").code, 505);
    // Lines ending in a bare LF are read at once, not after the head deadline.
    let started = Instant::now();
    let answer = w.request("GET /livez HTTP/1.1\nHost: ordo\n\n");
    assert_eq!((answer.code, answer.body.as_str()), (200, "ok\n"));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(w.stop(), 0);
}

#[test]
fn readyz_after_a_cycle_that_could_not_run_says_why() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.wait_for("the end of cycle 1", |e| {
        e["event"] == "cycle_finished" && e["cycle"] == 1
    });
    std::fs::write(t.path().join(".ordo/state.json"), "{garbage").unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &w.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let answer = w.poll("/readyz", "unready for the state", |a| {
        a.code == 503 && a.body.contains("could not run")
    });
    assert!(answer.body.contains("could not run"), "{}", answer.body);
    assert!(answer.body.contains("state"), "{}", answer.body);
    assert_eq!(w.stop(), 0);
}

#[test]
fn a_burst_of_reconcile_requests_merges_into_few_cycles() {
    let t = project();
    let w = Watching::start(&t, &["--interval", "1h"]);
    w.wait_for("the end of cycle 1", |e| {
        e["event"] == "cycle_finished" && e["cycle"] == 1
    });
    let posts: Vec<_> = (0..60)
        .map(|_| {
            let addr = w.addr.clone();
            std::thread::spawn(move || request(&addr, b"POST /reconcile HTTP/1.1\r\n\r\n").code)
        })
        .collect();
    // Beyond the connections served at once, some may get 503.
    let codes: Vec<u16> = posts.into_iter().map(|p| p.join().unwrap()).collect();
    assert!(codes.contains(&202), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 202 || *c == 503), "{codes:?}");
    std::thread::sleep(Duration::from_millis(3000));
    let cycles = w
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "cycle_started" && e["trigger"] == "request")
        .count();
    assert!((1..=3).contains(&cycles), "{cycles} cycles for 60 requests");
    assert_eq!(w.stop(), 0);
}
