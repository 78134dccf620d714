//! The test harness: a temporary project, the real `ordo` binary, and its whole output.
//!
//! ```ignore
//! let out = Test::new().manifest("m.yaml", "...").handler("h.rhai", "...").run(&["apply"]);
//! out.code(0).stdout_has("changed");
//! ```

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail by panicking"
)]

pub mod http;
pub mod sshd;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Test {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    stdin: Option<String>,
}

#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
}

/// A handler for tests: `Trace` appends `APPLY name` / `DELETE name` lines to `trace.txt` in
/// the project directory (`TRACE_FILE`), fails on `spec.fail: true`, and sleeps `spec.sleep`
/// seconds. `spec.check` is `always` (default: work to do), `never`, or `file` (work to do
/// while `spec.file` is missing).
pub const TRACE: &str = r#"
register("Trace", "^1");
permissions(["file:read", "file:write", "env"]);

fn trace(m, what) {
    file::append(env::get("TRACE_FILE"), what + " " + m.name + "\n");
}

fn check(m) {
    let mode = m.spec.check ?? "always";
    if mode == "never" { return false; }
    if mode == "file" { return !file::exists(path::join(m.dir, m.spec.file)); }
    true
}

fn apply(m) {
    trace(m, "APPLY");
    if m.spec.sleep != () { time::sleep(m.spec.sleep); }
    if m.spec.fail == true { throw "failure requested by " + m.name; }
    if m.spec.file != () { file::write(path::join(m.dir, m.spec.file), m.name); }
    #{ applied: m.name }
}

fn delete(m) {
    trace(m, "DELETE");
    if m.spec.fail_delete == true { throw "delete failure requested by " + m.name; }
    if m.spec.file != () { file::remove(path::join(m.dir, m.spec.file)); }
}
"#;

/// The pids of running processes whose command line contains `pattern` (`pgrep -f`), one
/// a line; empty when there are none. Tests use a unique marker in a command's arguments to
/// look for processes that outlived ordo.
pub fn processes_matching(pattern: &str) -> String {
    let out = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What [`processes_matching`] still finds once none match or `within` has passed: tests
/// wait this way for processes that must end (a killed command, a closed master).
pub fn processes_left(pattern: &str, within: std::time::Duration) -> String {
    let until = std::time::Instant::now() + within;
    let mut left = processes_matching(pattern);
    while !left.trim().is_empty() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
        left = processes_matching(pattern);
    }
    left
}

/// One `WriteFile` manifest document (the bundled handler) with this spec YAML.
pub fn write_file_doc(name: &str, spec: &str) -> String {
    let mut doc = format!("---\nkind: WriteFile\nversion: v1\nmetadata:\n  name: {name}\nspec:\n");
    for line in spec.lines() {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    doc
}

/// One `Trace` manifest document with the given name and extra metadata/spec YAML.
pub fn trace_doc(name: &str, metadata: &str, spec: &str) -> String {
    let mut doc = format!("---\nkind: Trace\nversion: v1\nmetadata:\n  name: {name}\n");
    for line in metadata.lines().filter(|l| !l.trim().is_empty()) {
        doc.push_str("  ");
        doc.push_str(line);
        doc.push('\n');
    }
    if !spec.trim().is_empty() {
        doc.push_str("spec:\n");
        for line in spec.lines().filter(|l| !l.trim().is_empty()) {
            doc.push_str("  ");
            doc.push_str(line);
            doc.push('\n');
        }
    }
    doc
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Self {
        Test {
            dir: tempfile::tempdir().expect("tempdir"),
            env: Vec::new(),
            stdin: None,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (parents created) relative to the project directory.
    pub fn file(self, path: &str, contents: &str) -> Self {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&full, contents).expect("write");
        self
    }

    pub fn manifest(self, path: &str, yaml: &str) -> Self {
        self.file(path, yaml)
    }

    pub fn handler(self, path: &str, rhai: &str) -> Self {
        self.file(path, rhai)
    }

    /// Adds the `Trace` handler as `trace.rhai`.
    pub fn trace(self) -> Self {
        self.file("trace.rhai", TRACE)
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path)).unwrap_or_default()
    }

    pub fn exists(&self, path: &str) -> bool {
        self.dir.path().join(path).exists()
    }

    /// The lines of `trace.txt`, then empties it.
    pub fn take_trace(&self) -> Vec<String> {
        let path = self.dir.path().join("trace.txt");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text.lines().map(str::to_string).collect()
    }

    /// Starts ordo without waiting for it (for signal tests).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(args)
            .current_dir(self.dir.path())
            .env("TRACE_FILE", self.dir.path().join("trace.txt"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ordo")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(".", args)
    }

    /// Runs ordo in `dir`, a directory relative to the test's directory (created).
    pub fn run_in(&self, dir: &str, args: &[&str]) -> Output {
        let cwd = self.dir.path().join(dir);
        std::fs::create_dir_all(&cwd).expect("mkdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.args(args)
            .current_dir(&cwd)
            .env_remove("NO_COLOR")
            .env_remove("ORDO_LOG")
            .env("TRACE_FILE", self.dir.path().join("trace.txt"))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start ordo");
        if let Some(input) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait for ordo");
        Output::of(out, self.dir.path())
    }
}

impl Output {
    /// The output of a process a test started itself (through a shell, or to signal it).
    pub fn of(out: std::process::Output, dir: &Path) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: dir.to_path_buf(),
        }
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stderr.contains(text),
            "stderr has {text:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    /// No panic message and no Rust backtrace, whatever happened.
    #[track_caller]
    pub fn no_panic(&self) -> &Self {
        if let Some(bad) = self.panic_signs().first() {
            panic!("stderr has {bad:?}\n{}", self.stderr);
        }
        self
    }

    /// The signs of a panic or a backtrace in stderr (none is what [`Output::no_panic`]
    /// asserts).
    pub fn panic_signs(&self) -> Vec<&'static str> {
        [
            "panicked",
            "RUST_BACKTRACE",
            "stack backtrace",
            "internal error",
        ]
        .into_iter()
        .filter(|bad| self.stderr.contains(bad))
        .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A small HTTP/1.1 server on 127.0.0.1 for tests, one thread per connection.
///
/// Routes: `/ok` → 200 `hello`; `/missing` → 404; `/redirect` → 302 to `/ok`;
/// `/error` → 500; `/slow` → 200 after 3 s; `/echo` → 200 with `METHOD body` and the request headers as
/// `name: value` lines; `/file.bin` → 200 with 100 000 bytes. Anything else → 404.
pub struct HttpServer {
    pub addr: std::net::SocketAddr,
}

impl HttpServer {
    pub fn start() -> HttpServer {
        use std::io::{BufReader, Read};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let Some((first, headers, length)) = read_head(&mut reader) else {
                        return;
                    };
                    let mut body = vec![0; length];
                    let _ = reader.read_exact(&mut body);
                    let mut parts = first.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_string();
                    let path = parts.next().unwrap_or_default().to_string();
                    let (status, extra, content): (&str, String, Vec<u8>) = match path.as_str() {
                        "/ok" => ("200 OK", String::new(), b"hello".to_vec()),
                        "/redirect" => ("302 Found", "Location: /ok\r\n".into(), Vec::new()),
                        "/error" => (
                            "500 Internal Server Error",
                            String::new(),
                            b"broken".to_vec(),
                        ),
                        "/slow" => {
                            std::thread::sleep(std::time::Duration::from_secs(3));
                            ("200 OK", String::new(), b"late".to_vec())
                        }
                        "/echo" => {
                            let text = format!(
                                "{method} {}\n{}",
                                String::from_utf8_lossy(&body),
                                headers.join("\n")
                            );
                            ("200 OK", String::new(), text.into_bytes())
                        }
                        "/file.bin" => (
                            "200 OK",
                            String::new(),
                            (0..100_000u32).map(|i| (i % 251) as u8).collect(),
                        ),
                        _ => ("404 Not Found", String::new(), b"no such page".to_vec()),
                    };
                    let mut stream = stream;
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                        content.len()
                    );
                    let _ = std::io::Write::write_all(&mut stream, head.as_bytes());
                    let _ = std::io::Write::write_all(&mut stream, &content);
                });
            }
        });
        HttpServer { addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Reads an HTTP request head: the request line, the headers as `name: value` (names in
/// lower case) and the `Content-Length`. `None` when the connection has nothing to read.
pub fn read_head(
    reader: &mut std::io::BufReader<std::net::TcpStream>,
) -> Option<(String, Vec<String>, usize)> {
    use std::io::BufRead;
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.trim().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push(format!("{}: {}", k.to_ascii_lowercase(), v.trim()));
        }
    }
    Some((first.trim().to_string(), headers, length))
}

/// A project with one `Probe` handler declaring `permissions` and running `body` in apply.
pub fn probe(permissions: &str, body: &str) -> Test {
    let handler = format!(
        "register(\"Probe\", \"^1\");\npermissions([{permissions}]);\nfn apply(m) {{\n{body}\n}}\n"
    );
    Test::new()
        .handler("probe.rhai", &handler)
        .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata: {name: p}\n")
}

/// The names of the manifests the state records (`state list -o json`).
pub fn recorded(t: &Test) -> Vec<String> {
    let listed = t.run(&["state", "list", "-o", "json"]);
    listed.code(0);
    listed.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}
