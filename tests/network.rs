//! HTTP under attack: credentials must not follow a redirect to another origin, and a proxy
//! (the `proxy` option or the environment's) is checked against `--net-allow` and must be a
//! supported kind. Every "host" is a server the test starts on 127.0.0.1; `127.0.0.1` and
//! `localhost` are two host names for it, and two servers are two ports.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::{Test, read_head};

/// A server that records the head of every request it gets. `/hop` answers 302 and `/keep`
/// 307 to `next`; `/echo` answers with the request's head; CONNECT opens a tunnel (so the
/// server is also an HTTP proxy).
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    next: Arc<Mutex<String>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(Mutex::new(String::new()));
        let (s, n) = (seen.clone(), next.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, next) = (s.clone(), n.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let Some((first, headers, length)) = read_head(&mut reader) else {
                        return;
                    };
                    let mut body = vec![0; length];
                    let _ = reader.read_exact(&mut body);
                    let head = format!("{first}\n{}", headers.join("\n"));
                    seen.lock().unwrap().push(head.clone());
                    let mut stream = stream;
                    if let Some(target) = first.strip_prefix("CONNECT ") {
                        let target = target.split_whitespace().next().unwrap_or_default();
                        let Ok(upstream) = TcpStream::connect(target) else {
                            let _ = stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                            return;
                        };
                        let _ = stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                        let (mut up_r, mut down_w) = (upstream.try_clone().unwrap(), stream);
                        let (mut down_r, mut up_w) = (reader, upstream);
                        std::thread::spawn(move || std::io::copy(&mut up_r, &mut down_w));
                        let _ = std::io::copy(&mut down_r, &mut up_w);
                        return;
                    }
                    let path = first.split_whitespace().nth(1).unwrap_or_default();
                    let next = next.lock().unwrap().clone();
                    let (status, extra, content) = match path {
                        "/hop" => ("302 Found", format!("Location: {next}\r\n"), String::new()),
                        "/keep" => (
                            "307 Temporary Redirect",
                            format!("Location: {next}\r\n"),
                            String::new(),
                        ),
                        "/echo" => (
                            "200 OK",
                            String::new(),
                            format!("{head}\n{}", String::from_utf8_lossy(&body)),
                        ),
                        _ => ("200 OK", String::new(), "ok".to_string()),
                    };
                    let _ = stream.write_all(
                        format!(
                            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{content}",
                            content.len()
                        )
                        .as_bytes(),
                    );
                });
            }
        });
        Server { port, seen, next }
    }

    /// `http://HOST:port/path`, HOST being `127.0.0.1` or `localhost`.
    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    fn redirect_to(&self, url: &str) {
        *self.next.lock().unwrap() = url.to_string();
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// A project with one `Probe` handler declaring `permissions` and running `body` in apply.
fn probe(permissions: &str, body: &str) -> Test {
    let handler = format!(
        "register(\"Probe\", \"^1\");\npermissions([{permissions}]);\nfn apply(m) {{\n{body}\n}}\n"
    );
    Test::new()
        .handler("probe.rhai", &handler)
        .manifest("m.yaml", "kind: Probe\nversion: v1\nmetadata: {name: p}\n")
}

const SECRETS: [&str; 4] = [
    "authorization:",
    "cookie: session=s3cret",
    "proxy-authorization: Basic cHJveHk6cHc=",
    "x-token: t0ken",
];

/// A request to `url` with `auth` and sensitive headers; its answer's body goes to out.txt.
fn leaky_request(url: &str, method: &str) -> String {
    format!(
        r#"let r = http::request(#{{ method: "{method}", url: "{url}", body: "payload",
    auth: #{{ user: "admin", password: "hunter2" }},
    headers: #{{ "Cookie": "session=s3cret", "Proxy-Authorization": "Basic cHJveHk6cHc=", "X-Token": "t0ken" }} }});
file::write(path::join(m.dir, "out.txt"), r.body);"#
    )
}

fn assert_without_credentials(head: &str) {
    for secret in SECRETS {
        assert!(!head.contains(secret), "`{secret}` was sent:\n{head}");
    }
}

fn assert_with_credentials(head: &str) {
    for secret in SECRETS {
        assert!(head.contains(secret), "`{secret}` was not sent:\n{head}");
    }
}

#[test]
fn credentials_and_caller_headers_do_not_follow_a_redirect_to_another_host_or_port() {
    let a = Server::start();
    let b = Server::start();
    // Another host name for the same server, then another port on the same host name.
    for next in [a.url("localhost", "/echo"), b.url("127.0.0.1", "/echo")] {
        a.redirect_to(&next);
        let t = probe(
            "\"http\", \"file:write\"",
            &leaky_request(&a.url("127.0.0.1", "/hop"), "GET"),
        );
        t.run(&["apply"]).code(0);
        let echoed = t.read("out.txt");
        assert!(echoed.starts_with("GET /echo"), "{echoed}");
        assert_without_credentials(&echoed);
        // The origin the script named got them.
        let first = a
            .seen()
            .into_iter()
            .rfind(|h| h.starts_with("GET /hop"))
            .unwrap();
        assert_with_credentials(&first);
    }
}

#[test]
fn credentials_follow_a_redirect_within_the_same_origin() {
    let a = Server::start();
    a.redirect_to("/echo");
    let t = probe(
        "\"http\", \"file:write\"",
        &leaky_request(&a.url("127.0.0.1", "/hop"), "GET"),
    );
    t.run(&["apply"]).code(0);
    assert_with_credentials(&t.read("out.txt"));
}

#[test]
fn a_307_to_another_host_keeps_the_method_and_body_but_not_the_credentials() {
    let a = Server::start();
    let b = Server::start();
    a.redirect_to(&b.url("localhost", "/echo"));
    let t = probe(
        "\"http\", \"file:write\"",
        &leaky_request(&a.url("127.0.0.1", "/keep"), "POST"),
    );
    t.run(&["apply"]).code(0);
    let echoed = t.read("out.txt");
    assert!(echoed.starts_with("POST /echo"), "{echoed}");
    assert!(echoed.ends_with("payload"), "{echoed}");
    assert_without_credentials(&echoed);
}

#[test]
fn download_drops_credentials_on_a_redirect_to_another_host() {
    let a = Server::start();
    a.redirect_to(&a.url("localhost", "/echo"));
    let t = probe(
        "\"http\", \"file:write\"",
        &format!(
            r#"http::download("{}", path::join(m.dir, "out.txt"), #{{
    auth: #{{ user: "admin", password: "hunter2" }},
    headers: #{{ "Cookie": "session=s3cret", "Proxy-Authorization": "Basic cHJveHk6cHc=", "X-Token": "t0ken" }} }});"#,
            a.url("127.0.0.1", "/hop")
        ),
    );
    t.run(&["apply"]).code(0);
    let echoed = t.read("out.txt");
    assert!(echoed.starts_with("GET /echo"), "{echoed}");
    assert_without_credentials(&echoed);
    let first = a
        .seen()
        .into_iter()
        .find(|h| h.starts_with("GET /hop"))
        .unwrap();
    assert_with_credentials(&first);
}

#[test]
fn web_download_file_drops_credentials_on_a_redirect_to_another_host() {
    let a = Server::start();
    a.redirect_to(&a.url("localhost", "/echo"));
    let t = Test::new().manifest(
        "dl.yaml",
        &format!(
            "kind: WebDownloadFile\nversion: v1\nmetadata: {{name: dl}}\nspec:\n  sourceUrl: {}\n  targetOutputFile: out.txt\n  httpBasicAuthentication: {{username: admin, password: hunter2}}\n  extraHeaders:\n    - {{name: Cookie, value: session=s3cret}}\n    - {{name: X-Token, value: t0ken}}\n",
            a.url("127.0.0.1", "/hop")
        ),
    );
    t.run(&["apply"]).code(0);
    let echoed = t.read("out.txt");
    assert!(echoed.starts_with("GET /echo"), "{echoed}");
    for secret in ["authorization:", "cookie:", "x-token:"] {
        assert!(!echoed.contains(secret), "`{secret}` was sent:\n{echoed}");
    }
    let first = a
        .seen()
        .into_iter()
        .find(|h| h.starts_with("GET /hop"))
        .unwrap();
    for secret in [
        "authorization: Basic",
        "cookie: session=s3cret",
        "x-token: t0ken",
    ] {
        assert!(first.contains(secret), "`{secret}` was not sent:\n{first}");
    }
}

#[test]
fn net_allow_checks_the_proxy_host_and_the_target_host() {
    let proxy = Server::start();
    let target = Server::start();
    let body = format!(
        r#"let r = http::get("{}", #{{ proxy: "{}" }});
file::write(path::join(m.dir, "out.txt"), r.body);"#,
        target.url("127.0.0.1", "/ok"),
        proxy.url("localhost", "")
    );
    let t = probe("\"http\", \"file:write\"", &body);
    // The target is allowed, the proxy is not: nothing reaches the proxy.
    t.run(&["apply", "--net-allow", "127.0.0.1"])
        .code(1)
        .no_panic()
        .stderr_has("`http::get (proxy)`: host `localhost` is not allowed (--net-allow 127.0.0.1)");
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    // The proxy is allowed, the target is not.
    t.run(&["apply", "--net-allow", "localhost"])
        .code(1)
        .stderr_has("host `127.0.0.1` is not allowed (--net-allow localhost)");
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    // Both allowed: the request goes through the proxy.
    t.run(&[
        "apply",
        "--net-allow",
        "127.0.0.1",
        "--net-allow",
        "localhost",
    ])
    .code(0);
    assert_eq!(t.read("out.txt"), "ok");
    let connect = format!("CONNECT 127.0.0.1:{}", target.port);
    assert!(
        proxy.seen().iter().any(|h| h.starts_with(&connect)),
        "{:?}",
        proxy.seen()
    );
}

#[test]
fn the_environment_proxy_is_checked_and_can_be_turned_off() {
    let proxy = Server::start();
    let target = Server::start();
    let get = |opts: &str| {
        format!(
            r#"let r = http::get("{}"{opts});
file::write(path::join(m.dir, "out.txt"), r.body);"#,
            target.url("127.0.0.1", "/ok")
        )
    };
    let t =
        probe("\"http\", \"file:write\"", &get("")).env("HTTP_PROXY", &proxy.url("localhost", ""));
    t.run(&["apply", "--net-allow", "127.0.0.1"])
        .code(1)
        .stderr_has("`http::get (proxy)`: host `localhost` is not allowed");
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    t.run(&["apply"]).code(0);
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());
    // `proxy: ""` means no proxy, whatever the environment says.
    let t = probe("\"http\", \"file:write\"", &get(", #{ proxy: \"\" }"))
        .env("HTTP_PROXY", &proxy.url("localhost", ""));
    t.run(&["apply", "--net-allow", "127.0.0.1"]).code(0);
    // So does NO_PROXY.
    let t = probe("\"http\", \"file:write\"", &get(""))
        .env("HTTP_PROXY", &proxy.url("localhost", ""))
        .env("NO_PROXY", "127.0.0.1");
    t.run(&["apply", "--net-allow", "127.0.0.1"]).code(0);
    assert_eq!(t.read("out.txt"), "ok");
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());
}

#[test]
fn a_socks_proxy_is_a_clear_error_not_a_panic() {
    let t = probe(
        "\"http\"",
        // The password is built, so that the script's own text (in the excerpt) lacks it.
        "let pw = \"pr0\" + \"xypw\";\nhttp::get(\"http://127.0.0.1:9/\", #{ proxy: `socks5://me:${pw}@127.0.0.1:1080` })",
    );
    t.run(&["apply"])
        .code(1)
        .no_panic()
        .stderr_has("proxy `socks5://***@127.0.0.1:1080/` from the `proxy` option is a socks5:// proxy, which ordo does not support")
        .stderr_lacks("pr0xypw");
    let t = probe("\"http\"", "http::get(\"http://127.0.0.1:9/\")")
        .env("ALL_PROXY", "socks5h://127.0.0.1:1080");
    t.run(&["apply"]).code(1).no_panic().stderr_has(
        "from the environment (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY) is a socks5h:// proxy",
    );
}
