//! A small HTTP server on 127.0.0.1 serving what a test puts in it: files, archives built
//! in the test, redirects. It counts requests, so a test can assert that `--offline` made
//! none.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a path answers.
#[derive(Clone)]
pub enum Route {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 302 to this location.
    Redirect(String),
}

/// The server; it runs until the test process ends.
pub struct FileServer {
    pub addr: std::net::SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    requests: Arc<AtomicUsize>,
}

impl FileServer {
    pub fn start() -> FileServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let requests = Arc::new(AtomicUsize::new(0));
        let (r, n) = (Arc::clone(&routes), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, requests) = (Arc::clone(&r), Arc::clone(&n));
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let Some((first, _, _)) = super::read_head(&mut reader) else {
                        return;
                    };
                    requests.fetch_add(1, Ordering::SeqCst);
                    let path = first
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_string();
                    let route = routes.lock().unwrap().get(&path).cloned();
                    let (status, extra, body) = match route {
                        Some(Route::Body(b)) => ("200 OK", String::new(), b),
                        Some(Route::Redirect(to)) => {
                            ("302 Found", format!("Location: {to}\r\n"), Vec::new())
                        }
                        None => ("404 Not Found", String::new(), b"no such file".to_vec()),
                    };
                    let mut stream = stream;
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body);
                });
            }
        });
        FileServer {
            addr,
            routes,
            requests,
        }
    }

    /// Serves `body` at `path` (from now on, replacing what was there).
    pub fn serve(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), Route::Body(body.into()));
    }

    /// Answers `path` with a redirect to `to`.
    pub fn redirect(&self, path: &str, to: &str) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), Route::Redirect(to.to_string()));
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// How many requests it has answered.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
