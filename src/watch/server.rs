//! The HTTP endpoints of `ordo watch --listen ADDR`: `/livez`, `/readyz`, `/status`,
//! `/metrics` and `POST /reconcile`, read from the [`Board`].
//!
//! Five routes do not need an HTTP server crate (next-capabilities §4.5): a thread accepts
//! on a `std::net::TcpListener` and answers each connection on a thread of its own, one
//! request per connection (`Connection: close`). The server is small and hardened rather
//! than general:
//!
//! - a request's head is at most [`MAX_HEAD`] bytes (431 beyond) and must arrive whole
//!   within [`HEAD_DEADLINE`], however slowly it trickles in (408 after), so a slow client
//!   (slowloris) holds one connection for a bounded time and never the server;
//! - a request with a body is refused (413): no route takes one;
//! - at most [`MAX_CONNECTIONS`] connections are served at once; when all are taken, the
//!   oldest whose request head has not arrived within [`IDLE_EVICT`] is closed to make room (idle connections
//!   cannot keep `/livez` from answering), and only when all are being answered does one
//!   more get 503;
//! - one request per connection: what follows the head (a pipelined request) is not
//!   answered; lines may end with a bare LF; GET routes also take HEAD;
//! - writes time out after [`WRITE_TIMEOUT`] (a client that does not read);
//! - paths are matched exactly, as text: `/status/../metrics`, `%2e` and the like are just
//!   unknown paths (404); a known path with another method is 405 with `Allow`.
//!
//! The endpoints have no authentication, so the address must be a loopback one unless
//! `--listen-any` says otherwise ([`listen_address`]). What they show is masked by the
//! board: a secret never reaches a label or a body.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::board::Board;
use super::metrics;

/// The documented default address of `--listen`.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:9464";

/// The largest request head (request line and headers) read, in bytes.
pub const MAX_HEAD: usize = 8 * 1024;

/// How long a client has to send its whole request head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(5);

/// How long writing the answer may block on a client that does not read.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many connections are served at once.
pub const MAX_CONNECTIONS: usize = 16;

/// How long a connection must have waited without a whole request head before a new
/// connection may take its place when all are taken (a real client sends its head at once).
pub const IDLE_EVICT: Duration = Duration::from_millis(500);

/// What `POST /reconcile` calls: asks the loop for a cycle now.
pub type OnReconcile = Arc<dyn Fn() + Send + Sync>;

/// Why `--listen ADDR` cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ListenError {
    /// Not `IP:PORT`.
    #[error("`--listen {0}`: expected an address and port such as `{DEFAULT_ADDRESS}`")]
    NotAnAddress(String),
    /// Not loopback, and `--listen-any` was not given.
    #[error(
        "`--listen {0}` is not a loopback address: the endpoints have no authentication, so \
         serving them beyond this machine needs `--listen-any`"
    )]
    NotLoopback(String),
}

/// The address `--listen TEXT` names, checked: `IP:PORT` (`[::1]:9464` for IPv6), and a
/// loopback IP unless `any` (`--listen-any`) is given.
///
/// # Errors
///
/// [`ListenError`] for text that is not an address, or a non-loopback address without
/// `any`.
pub fn listen_address(text: &str, any: bool) -> Result<SocketAddr, ListenError> {
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| ListenError::NotAnAddress(text.to_string()))?;
    if !any && !loopback(addr.ip()) {
        return Err(ListenError::NotLoopback(text.to_string()));
    }
    Ok(addr)
}

/// Loopback, including an IPv4 loopback written as IPv6 (`::ffff:127.0.0.1`).
fn loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// A running server. Dropping it leaves the thread running (it lives as long as the
/// watch); [`Server::stop`] ends it.
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and serves the board on a thread of its own. `trigger` is what
    /// `POST /reconcile` calls.
    ///
    /// # Errors
    ///
    /// The address cannot be bound (in use, not an address of this machine, ...).
    pub fn start(addr: SocketAddr, board: Arc<Board>, trigger: OnReconcile) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("ordo-watch-http".into())
            .spawn({
                let stopping = Arc::clone(&stopping);
                move || accept(&listener, &board, &trigger, &stopping)
            })?;
        Ok(Server {
            addr,
            stopping,
            thread: Some(thread),
        })
    }

    /// The address served (with the port the system chose for port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the accepting thread (connections being answered
    /// finish on their own threads).
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking `accept` with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
                IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One connection being served, as the accepting thread knows it.
struct Slot {
    id: u64,
    /// When it was accepted.
    since: Instant,
    /// A handle on the socket, to close it from the accepting thread.
    stream: TcpStream,
    /// Its request head has arrived (it is being answered, not idle).
    busy: Arc<AtomicBool>,
}

/// The connections being served.
type Slots = Arc<Mutex<Vec<Slot>>>;

/// The accepting loop: each connection on a thread of its own, at most
/// [`MAX_CONNECTIONS`] at once. When all are taken, the oldest whose request head has not
/// arrived within [`IDLE_EVICT`] is closed to make room (idle connections cannot starve `/livez`); only
/// when all are being answered does the new one get 503.
fn accept(
    listener: &TcpListener,
    board: &Arc<Board>,
    trigger: &OnReconcile,
    stopping: &AtomicBool,
) {
    let slots: Slots = Arc::new(Mutex::new(Vec::new()));
    let mut next_id: u64 = 0;
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else {
            // A connection reset before it was accepted, or out of file descriptors for
            // a moment: wait a little rather than spin, and go on.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        next_id += 1;
        let busy = Arc::new(AtomicBool::new(false));
        {
            let mut taken = slots.lock().unwrap_or_else(PoisonError::into_inner);
            if taken.len() >= MAX_CONNECTIONS {
                // Slots are kept oldest first.
                match taken
                    .iter()
                    .position(|s| !s.busy.load(Ordering::SeqCst) && s.since.elapsed() >= IDLE_EVICT)
                {
                    Some(idle) => {
                        let evicted = taken.remove(idle);
                        let _ = evicted.stream.shutdown(Shutdown::Both);
                    }
                    None => {
                        drop(taken);
                        // Never block the accepting thread on this client: the short
                        // answer fits in the socket's buffer, or is dropped.
                        let _ = stream.set_nonblocking(true);
                        let _ = stream
                            .write_all(&answer(&Reply::text(503, "too many connections\n"), false));
                        continue;
                    }
                }
            }
            taken.push(Slot {
                id: next_id,
                since: Instant::now(),
                stream: handle,
                busy: Arc::clone(&busy),
            });
        }
        let guard = Active {
            slots: Arc::clone(&slots),
            id: next_id,
        };
        let (board, trigger) = (Arc::clone(board), Arc::clone(trigger));
        let spawned = std::thread::Builder::new()
            .name("ordo-watch-conn".into())
            .spawn(move || {
                let _guard = guard;
                serve(stream, &busy, &board, &trigger);
            });
        // Out of threads: the connection is dropped (and the guard with the closure).
        drop(spawned);
    }
}

/// Holds a connection's slot until dropped.
struct Active {
    slots: Slots,
    id: u64,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|s| s.id != self.id);
    }
}

/// Answers one connection: reads the head, routes it, writes the answer, closes.
fn serve(mut stream: TcpStream, busy: &AtomicBool, board: &Board, trigger: &OnReconcile) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let head = read_head(&mut stream);
    busy.store(true, Ordering::SeqCst);
    let (reply, bodiless) = match head {
        Ok(head) => route(&head, board, trigger),
        Err(reply) => (reply, false),
    };
    let _ = stream.write_all(&answer(&reply, bodiless));
    let _ = stream.flush();
    // Close gently: closing with unread request bytes (an oversized head, a refused body)
    // would reset the connection, and the client could lose the answer before reading
    // it. So end our side, then read and drop what is left, briefly and boundedly.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < 16 * MAX_HEAD {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => drained += n,
            _ => break,
        }
    }
}

/// What the server answers.
struct Reply {
    status: u16,
    content_type: &'static str,
    allow: Option<&'static str>,
    body: String,
}

impl Reply {
    fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            allow: None,
            body: body.into(),
        }
    }
}

/// The request line and headers, read within [`HEAD_DEADLINE`] and [`MAX_HEAD`].
fn read_head(stream: &mut TcpStream) -> Result<String, Reply> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Reply::text(408, "request head not received in time\n"));
        }
        let _ = stream.set_read_timeout(Some(left));
        let n = match stream.read(&mut buf) {
            Ok(0) => return Err(Reply::text(400, "incomplete request\n")),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Reply::text(408, "request head not received in time\n"));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(Reply::text(400, "unreadable request\n")),
        };
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        if let Some((end, after)) = head_end(&head) {
            if after > MAX_HEAD {
                return Err(too_large());
            }
            // What follows the head is a pipelined request (answered never: one request
            // per connection) or a body, which the headers announce and `route` refuses.
            head.truncate(end);
            return String::from_utf8(head)
                .map_err(|_| Reply::text(400, "request head is not UTF-8\n"));
        }
        if head.len() > MAX_HEAD {
            return Err(too_large());
        }
    }
}

fn too_large() -> Reply {
    Reply::text(431, format!("request head larger than {MAX_HEAD} bytes\n"))
}

fn body_refused() -> Reply {
    Reply::text(413, "request bodies are refused\n")
}

/// Where the head ends: the end of its last line, and the end of the empty line after it.
/// Lines end with CRLF, or a bare LF (RFC 9112 §2.2 lets a server accept it).
fn head_end(bytes: &[u8]) -> Option<(usize, usize)> {
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .find_map(|(at, _)| match bytes.get(at + 1..) {
            Some([b'\n', ..]) => Some((at, at + 2)),
            Some([b'\r', b'\n', ..]) => Some((at, at + 3)),
            _ => None,
        })
}

/// The routes, each `(path, method)`.
const ROUTES: &[(&str, &str)] = &[
    ("/livez", "GET"),
    ("/readyz", "GET"),
    ("/status", "GET"),
    ("/metrics", "GET"),
    ("/reconcile", "POST"),
];

/// The answer to a well-formed request head, and whether it goes without its body (HEAD).
fn route(head: &str, board: &Board, trigger: &OnReconcile) -> (Reply, bool) {
    let bodiless = head.starts_with("HEAD ");
    (answer_to(head, board, trigger), bodiless)
}

/// The answer to a well-formed request head: a GET route also takes HEAD (RFC 9110 §9.1).
fn answer_to(head: &str, board: &Board, trigger: &OnReconcile) -> Reply {
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Reply::text(400, "malformed request line\n");
    };
    if !version.starts_with("HTTP/1.") {
        return Reply::text(505, "HTTP/1.x only\n");
    }
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Reply::text(400, "malformed header\n");
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding")
            || (name.eq_ignore_ascii_case("content-length") && value != "0")
        {
            return body_refused();
        }
    }
    // The query, if any, is ignored; the path is matched as text, exactly.
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let Some(&(_, allowed)) = ROUTES.iter().find(|(p, _)| *p == path) else {
        return Reply::text(404, format!("no such endpoint; try {}\n", route_list()));
    };
    let allow = if allowed == "GET" {
        "GET, HEAD"
    } else {
        allowed
    };
    if method != allowed && !(allowed == "GET" && method == "HEAD") {
        let mut reply = Reply::text(405, format!("{path} takes {allow}\n"));
        reply.allow = Some(allow);
        return reply;
    }
    match path {
        "/livez" => {
            if board.live() {
                Reply::text(200, "ok\n")
            } else {
                Reply::text(
                    503,
                    "the reconcile loop has not ticked within its interval\n",
                )
            }
        }
        "/readyz" => match board.readiness() {
            Ok(()) => Reply::text(200, "ok\n"),
            Err(reason) => Reply::text(503, format!("{reason}\n")),
        },
        "/status" => {
            let mut body = serde_json::to_string_pretty(&board.status()).unwrap_or_default();
            body.push('\n');
            Reply {
                status: 200,
                content_type: "application/json",
                allow: None,
                body,
            }
        }
        "/metrics" => Reply {
            status: 200,
            content_type: metrics::CONTENT_TYPE,
            allow: None,
            body: metrics::render(&board.snapshot()),
        },
        _ => {
            trigger();
            Reply::text(202, "reconcile requested\n")
        }
    }
}

fn route_list() -> String {
    ROUTES
        .iter()
        .map(|(p, m)| format!("{m} {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole HTTP/1.1 answer (`bodiless`: the headers only, for HEAD).
fn answer(reply: &Reply, bodiless: bool) -> Vec<u8> {
    let reason = match reply.status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    if let Some(allow) = reply.allow {
        out.push_str(&format!("Allow: {allow}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !bodiless {
        bytes.extend_from_slice(reply.body.as_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use std::sync::atomic::AtomicU32;
    use std::time::SystemTime;

    use super::*;
    use crate::watch::board::{CycleReport, CycleResult, ManifestReport};

    fn server(board: &Arc<Board>) -> (Server, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let trigger: OnReconcile = Arc::new({
            let calls = Arc::clone(&calls);
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
            }
        });
        let addr = listen_address("127.0.0.1:0", false).unwrap();
        (
            Server::start(addr, Arc::clone(board), trigger).unwrap(),
            calls,
        )
    }

    /// Sends `request` as is and returns the status code and the whole answer.
    fn send(server: &Server, request: &[u8]) -> (u16, String) {
        let mut stream = TcpStream::connect(server.local_addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let _ = stream.write_all(request);
        read_answer(&mut stream)
    }

    fn read_answer(stream: &mut TcpStream) -> (u16, String) {
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let code = answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, answer)
    }

    fn get(server: &Server, path: &str) -> (u16, String) {
        send(
            server,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        )
    }

    fn manifest(name: &str, status: &str, reason: Option<&str>) -> ManifestReport {
        ManifestReport {
            name: name.into(),
            host: None,
            status: status.into(),
            reason: reason.map(str::to_string),
            failures: u32::from(status == "failed"),
            next_attempt: None,
            drift_detected: false,
            drift_corrected: false,
        }
    }

    fn record(board: &Board, number: u64, manifests: Vec<ManifestReport>) {
        let failed = manifests.iter().any(|m| m.status == "failed");
        board.record(CycleReport {
            number,
            started: SystemTime::now(),
            duration: Duration::from_millis(12),
            result: if failed {
                CycleResult::Failed
            } else {
                CycleResult::Unchanged
            },
            manifests,
            error: None,
        });
    }

    #[test]
    fn listen_needs_a_loopback_address_unless_listen_any() {
        assert!(listen_address("127.0.0.1:9464", false).is_ok());
        assert!(listen_address("[::1]:9464", false).is_ok());
        assert!(listen_address("[::ffff:127.0.0.1]:9464", false).is_ok());
        assert_eq!(
            listen_address("0.0.0.0:9464", false),
            Err(ListenError::NotLoopback("0.0.0.0:9464".into()))
        );
        assert!(listen_address("10.1.2.3:80", false).is_err());
        assert!(listen_address("0.0.0.0:9464", true).is_ok());
        assert_eq!(
            listen_address("localhost", true),
            Err(ListenError::NotAnAddress("localhost".into()))
        );
    }

    #[test]
    fn each_endpoint_answers_from_the_board() {
        let board = Arc::new(Board::new(Duration::from_secs(1)));
        let (server, calls) = server(&board);
        let (code, body) = get(&server, "/livez");
        assert_eq!(code, 200, "{body}");
        let (code, body) = get(&server, "/readyz");
        assert_eq!(code, 503, "{body}");
        assert!(body.ends_with("no cycle has run yet\n"), "{body}");

        record(
            &board,
            1,
            vec![manifest("db", "failed", Some("exit status 3"))],
        );
        let (code, body) = get(&server, "/readyz");
        assert_eq!(code, 503, "{body}");
        // Other tests of this process add secrets (a process-wide set): expect their masks.
        let reason = crate::events::secrets::masked("db failed: exit status 3\n");
        assert!(body.ends_with(&reason), "{body}");
        record(&board, 2, vec![manifest("db", "unchanged", None)]);
        let (code, body) = get(&server, "/readyz");
        assert_eq!(code, 200, "{body}");

        let (code, body) = get(&server, "/status");
        assert_eq!(code, 200, "{body}");
        assert!(
            body.contains("Content-Type: application/json\r\n"),
            "{body}"
        );
        let json: serde_json::Value =
            serde_json::from_str(body.split_once("\r\n\r\n").unwrap().1).unwrap();
        assert_eq!(json["last_cycle"]["manifests"][0]["name"], "db");
        assert_eq!(json["cycles"], 2);

        let (code, body) = get(&server, "/metrics?x=1");
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert!(
            body.contains("ordo_cycles_total{result=\"failed\"} 1\n"),
            "{body}"
        );

        let (code, body) = send(
            &server,
            b"POST /reconcile HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(code, 202, "{body}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        server.stop();
    }

    #[test]
    fn other_paths_and_methods_are_404_and_405() {
        let board = Arc::new(Board::new(Duration::from_secs(1)));
        let (server, calls) = server(&board);
        for path in [
            "/",
            "/status/../metrics",
            "/%6detrics",
            "/metrics/",
            "//metrics",
            "/etc/passwd",
        ] {
            assert_eq!(get(&server, path).0, 404, "{path}");
        }
        let (code, body) = get(&server, "/reconcile");
        assert_eq!(code, 405, "{body}");
        assert!(body.contains("Allow: POST\r\n"), "{body}");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let (code, body) = send(&server, b"DELETE /status HTTP/1.1\r\n\r\n");
        assert_eq!(code, 405, "{body}");
        assert!(body.contains("Allow: GET, HEAD\r\n"), "{body}");
        assert_eq!(send(&server, b"GET /status\r\n\r\n").0, 400);
        assert_eq!(send(&server, b"GET /status SPDY/3\r\n\r\n").0, 505);
        server.stop();
    }

    #[test]
    fn an_oversized_head_or_a_body_is_refused() {
        let board = Arc::new(Board::new(Duration::from_secs(1)));
        let (server, calls) = server(&board);
        let big = format!(
            "GET /status HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(MAX_HEAD)
        );
        assert_eq!(send(&server, big.as_bytes()).0, 431);
        let endless = format!(
            "GET /status HTTP/1.1\r\nX-Pad: {}",
            "a".repeat(4 * MAX_HEAD)
        );
        assert_eq!(send(&server, endless.as_bytes()).0, 431);
        let (code, body) = send(
            &server,
            b"POST /reconcile HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert_eq!(code, 413, "{body}");
        assert_eq!(
            send(
                &server,
                b"POST /reconcile HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .0,
            413
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        server.stop();
    }

    #[test]
    fn a_slow_client_does_not_hold_the_server_and_is_cut_off() {
        let board = Arc::new(Board::new(Duration::from_secs(1)));
        let (server, _) = server(&board);
        let mut slow = TcpStream::connect(server.local_addr()).unwrap();
        slow.write_all(b"GET /status HTTP/1.1\r\n").unwrap();
        let started = Instant::now();
        // Another client is answered meanwhile.
        assert_eq!(get(&server, "/livez").0, 200);
        assert!(started.elapsed() < HEAD_DEADLINE, "{:?}", started.elapsed());
        // The slow one trickles a byte a second; it is cut off at the deadline.
        let trickle = std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(700));
                if slow.write_all(b"X").is_err() {
                    break;
                }
            }
            slow
        });
        let mut slow = trickle.join().unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (code, answer) = read_answer(&mut slow);
        assert_eq!(code, 408, "{answer}");
        assert!(started.elapsed() < Duration::from_secs(30));
        server.stop();
    }

    #[test]
    fn idle_connections_beyond_the_limit_make_room_for_new_ones() {
        let board = Arc::new(Board::new(Duration::from_secs(1)));
        let (server, _) = server(&board);
        let mut held: Vec<_> = (0..MAX_CONNECTIONS)
            .map(|_| {
                let mut s = TcpStream::connect(server.local_addr()).unwrap();
                s.write_all(b"GET /livez HTTP/1.1\r\n").unwrap();
                s
            })
            .collect();
        // Give the accepting thread time to take all of them.
        std::thread::sleep(IDLE_EVICT + Duration::from_millis(500));
        let (code, body) = get(&server, "/livez");
        assert_eq!(code, 200, "{body}");
        // The oldest idle one was closed to make room.
        let oldest = held.first_mut().unwrap();
        oldest
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut rest = Vec::new();
        let _ = oldest.read_to_end(&mut rest);
        let started = Instant::now();
        assert!(started.elapsed() < HEAD_DEADLINE);
        drop(held);
        server.stop();
    }

    #[test]
    fn a_secret_in_a_manifest_name_or_reason_never_reaches_a_body() {
        crate::events::secrets::add("s3cr3t-server-test");
        let board = Arc::new(Board::new(Duration::from_secs(1)));
        let (server, _) = server(&board);
        record(
            &board,
            1,
            vec![manifest(
                "db-s3cr3t-server-test",
                "failed",
                Some("password s3cr3t-server-test refused"),
            )],
        );
        board.inputs(Some("bad s3cr3t-server-test".into()));
        for path in ["/readyz", "/status", "/metrics"] {
            let (code, body) = get(&server, path);
            assert!(code == 200 || code == 503, "{path}: {body}");
            assert!(!body.contains("s3cr3t"), "{path}: {body}");
            assert!(body.contains("db-***"), "{path}: {body}");
        }
        server.stop();
    }
}
