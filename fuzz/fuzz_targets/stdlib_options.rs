//! The stdlib's option maps: arbitrary Rhai values given to the option parsers of
//! `shell::run`, `http::get`/`request`/`download`, `file::write`, `time::sleep` and
//! `template::render` (`ordo::stdlib::options`, the code the calls run before they act),
//! without running a command, sending a request or writing a file (issue 16).
//!
//! Option maps hold every key the calls know and arbitrary ones, with values of every type:
//! numbers at the edges (NaN, infinities, 1e300, tiny and negative ones, `i64::MIN`),
//! text, nested arrays and maps. Invariants: no panic; every refusal renders as text; a
//! sleep that is accepted lasts at most a year and can be added to `Instant::now()`; a
//! URL that is accepted has a host.

#![no_main]

use std::time::Instant;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ordo::stdlib::options;
use ordo::units::MAX_DURATION;
use rhai::{Dynamic, Map};

const KEYS: [&str; 24] = [
    "timeout", "cwd", "env", "clear_env", "stdin", "check", "max_output", "read_only",
    "method", "url", "headers", "body", "json", "insecure", "proxy", "auth", "max_body",
    "mode", "user", "password", "mask", "name", "items", "x",
];

const TEXTS: [&str; 16] = [
    "http://127.0.0.1:8080/x", "https://[::1]/", "http://example.com:0/", "ftp://x/",
    "http://", "GET", "post", "BAD METHOD", "0640", "0o7777", "12345", "{{ x }}",
    "{% for i in range(100000000) %}{{ i }}{% endfor %}", "{{ x | tojson }}", "", "\u{0}",
];

#[derive(Arbitrary, Debug)]
enum Value {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Edge(u8),
    Text(String),
    Known(u8),
    Array(Vec<Value>),
    Map(Vec<(Key, Value)>),
}

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u8),
    Other(String),
}

const EDGES: [f64; 14] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    1e20,
    1e19,
    31_536_000.0,
    31_536_000.000_001,
    1e-9,
    1e-10,
    1e-300,
    -0.0,
    -1.0,
    f64::MIN_POSITIVE,
];

fn pick<'a, T>(list: &'a [T], i: u8) -> Option<&'a T> {
    list.get(usize::from(i) % list.len())
}

fn key(k: &Key) -> String {
    match k {
        Key::Known(i) => pick(&KEYS, *i).copied().unwrap_or_default().to_string(),
        Key::Other(s) => s.clone(),
    }
}

/// The Rhai value of `v`; below depth 5 every collection is `()`, so values stay small.
fn dynamic(v: &Value, depth: usize) -> Dynamic {
    match v {
        Value::Unit => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Int(i) => Dynamic::from_int(*i),
        Value::Float(f) => Dynamic::from_float(*f),
        Value::Edge(i) => Dynamic::from_float(pick(&EDGES, *i).copied().unwrap_or_default()),
        Value::Text(s) => Dynamic::from(s.clone()),
        Value::Known(i) => Dynamic::from(pick(&TEXTS, *i).copied().unwrap_or_default().to_string()),
        Value::Array(items) if depth < 5 => {
            Dynamic::from_array(items.iter().take(16).map(|x| dynamic(x, depth + 1)).collect())
        }
        Value::Map(entries) if depth < 5 => Dynamic::from_map(map(entries, depth + 1)),
        Value::Array(_) | Value::Map(_) => Dynamic::UNIT,
    }
}

fn map(entries: &[(Key, Value)], depth: usize) -> Map {
    entries
        .iter()
        .take(16)
        .map(|(k, v)| (key(k).into(), dynamic(v, depth)))
        .collect()
}

#[derive(Arbitrary, Debug)]
struct Input {
    opts: Vec<(Key, Value)>,
    url: Value,
    seconds: Value,
    template: Value,
    values: Value,
}

fn text(v: &Value) -> String {
    let d = dynamic(v, 0);
    d.clone().into_string().unwrap_or_else(|_| d.to_string())
}

fuzz_target!(|input: Input| {
    let opts = map(&input.opts, 0);
    if let Err(e) = options::shell_run(&opts) {
        let _ = e.to_string();
    }
    let url = text(&input.url);
    for call in ["http::get", "http::request", "http::download"] {
        match options::http(call, &url, &opts) {
            Ok((host, _port)) => assert!(!host.is_empty(), "{call} {url:?}: no host"),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    if let Err(e) = options::file_write(&opts) {
        let _ = e.to_string();
    }
    match options::sleep(&dynamic(&input.seconds, 0)) {
        Ok(d) => {
            assert!(d <= MAX_DURATION, "{:?}: sleeps {d:?}", input.seconds);
            assert!(Instant::now().checked_add(d).is_some());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let template = text(&input.template);
    if template.len() <= 4096 {
        if let Err(e) = options::template_render(&template, &dynamic(&input.values, 0)) {
            let _ = e.to_string();
        }
    }
});
