//! A worker: one long-lived session on a host's master connection that runs one command
//! after another, so a command costs one round trip on an open channel instead of a new
//! `ssh` client process and a new session on the host.
//!
//! The remote side is the fixed [`script`] (in the argv of `ssh` and of the remote `sh`;
//! it holds nothing of any command), a `sh` loop reading requests from its stdin:
//!
//! - `C TAG N`, then N bytes, then `E`: a command. The N bytes are what a one-shot session
//!   gets on its stdin (the framed script, an inner script under `sudo`, the command's
//!   input). The loop copies them with `head -c` into a file in a private directory
//!   (made by `mktemp -d` in `$XDG_RUNTIME_DIR` or `/dev/shm`, memory file systems: 0700;
//!   the commands keep the login umask), opens it, unlinks it, prints
//!   the start markers with TAG on stdout and stderr, and starts `setsid sh -c READER` on
//!   that file in the background: the command has its own session and process group, and
//!   its stdin is its own input only (a command reading stdin cannot reach the requests).
//!   The trailing `E` proves the bytes arrived whole: a request cut by a lost connection
//!   never runs.
//! - `K TAG`: stop the running command: SIGTERM to its group, SIGKILL after the grace,
//!   then the end markers with TAG. The worker goes on with the next request.
//! - end of input (the session or the connection went away, ordo was killed): the running
//!   command's group is killed and the loop ends.
//!
//! While a command runs the loop is blocked reading its next request, so it notices the end
//! of its input at once. The command's script ends by printing the end markers with TAG on
//! stdout and stderr (the exit code with the latter), then killing what is left of its
//! group. TAG is a random nonce of the worker and a sequence number: output before a
//! command's start marker (the login shell's startup files, a straggler) is dropped, and a
//! command cannot end another's output by printing a marker.
//!
//! A host without `setsid` (util-linux) or a writable `$XDG_RUNTIME_DIR` or `/dev/shm`
//! answers `u`; the transport then runs that host's commands as one-shot sessions
//! ([`super::ssh`]). A disk directory such as `$TMPDIR` is never used: a command's input can
//! hold secrets (`env` values, file content), and an unlinked file on disk can still be
//! recovered from it.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use super::quote;

/// The grace between SIGTERM and SIGKILL, in tenths of a second (as locally).
const GRACE_TENTHS: u32 = 20;
/// How far into a stream a marker can reach: the prefix, the nonce and `.SEQ CODE`.
const MARKER_MAX: usize = 96;
/// How much of what the session printed outside any command is kept for messages.
const NOISE_MAX: usize = 16 << 10;

/// The worker's remote script: reads the nonce line, says ready (or unsupported), then
/// serves requests until its input ends.
pub(crate) fn script() -> String {
    let q = |text: &str| {
        shlex::try_quote(text)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default()
    };
    let reader = q(quote::READER);
    let outer = q(OUTER);
    format!(
        "R={reader}\nW={outer}\n\
         IFS= read -r w || exit 0\n\
         d=\n\
         if command -v setsid >/dev/null 2>&1 && command -v head >/dev/null 2>&1; then\n\
         for b in \"$XDG_RUNTIME_DIR\" /dev/shm; do\n\
         [ -n \"$b\" ] && [ -d \"$b\" ] && [ -w \"$b\" ] && d=$(mktemp -d \"$b/.ordo-w.XXXXXX\" 2>/dev/null) && break; d=\n\
         done\n\
         fi\n\
         [ -n \"$d\" ] || {{ printf '\\036ordo-u %s\\n' \"$w\"; exit 0; }}\n\
         trap 'rm -rf \"$d\"' EXIT; trap 'exit 1' HUP TERM\n\
         p=\n\
         printf '\\036ordo-r %s\\n' \"$w\"\n\
         while IFS=' ' read -r k t n; do\n\
         case $k in\n\
         C) if [ -n \"$p\" ]; then wait \"$p\" 2>/dev/null; p=; fi\n\
         head -c \"$n\" >\"$d/i\" && IFS= read -r e && [ \"$e\" = E ] || break\n\
         printf '\\036ordo-s %s\\n' \"$t\"; printf '\\036ordo-s %s\\n' \"$t\" >&2\n\
         exec 4<\"$d/i\"; rm -f \"$d/i\"\n\
         setsid sh -c \"$W\" \"$t\" \"$R\" \"$$\" <&4 4<&- &\n\
         p=$!; exec 4<&-; printf '\\036ordo-p %s %s\\n' \"$t\" \"$p\";;\n\
         K) if [ -n \"$p\" ]; then\n\
         kill -TERM -\"$p\" 2>/dev/null; i=0\n\
         while [ $i -lt {GRACE_TENTHS} ]; do jobs >/dev/null 2>&1; kill -0 -\"$p\" 2>/dev/null || break; sleep 0.1; i=$((i+1)); done\n\
         kill -KILL -\"$p\" 2>/dev/null; wait \"$p\" 2>/dev/null; p=\n\
         fi\n\
         printf '\\036ordo-e %s\\n' \"$t\"; printf '\\036ordo-e %s 137\\n' \"$t\" >&2;;\n\
         *) break;;\n\
         esac\n\
         done\n\
         [ -n \"$p\" ] && kill -KILL -\"$p\" 2>/dev/null\n\
         exit 0"
    )
}

/// The command `ssh` passes to the login shell for a worker.
pub(crate) fn remote_command() -> String {
    let script = shlex::try_quote(&script())
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    format!("exec sh -c {script}")
}

/// The leader of a command's process group on the host (`$0` the tag, `$1` the reader, `$2`
/// the worker's pid): runs the reader on the request's file, whatever the script does
/// (`exit`, `exec`), then prints the end markers (the exit code on stderr, 128 + N for a
/// signal) and kills what is left of its group. A watcher in the group kills it when the
/// worker is gone (killed on the host: the session's output stays open while the command
/// holds it, so nothing else would tell).
const OUTER: &str = "{ while kill -0 \"$2\" 2>/dev/null; do sleep 1; done; kill -KILL -$$; } \
    </dev/null >/dev/null 2>&1 & sh -c \"$1\"; c=$?; printf '\\036ordo-e %s\\n' \"$0\"; \
    printf '\\036ordo-e %s %s\\n' \"$0\" \"$c\" >&2; kill -KILL -$$ 2>/dev/null; exit $c";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

#[derive(Debug)]
enum Event {
    Ready,
    Unsupported,
    Start(u64),
    /// The command's process group on the host.
    Group(u64, i32),
    Done {
        stream: Stream,
        seq: u64,
        data: Vec<u8>,
        truncated: bool,
        code: Option<i32>,
    },
    /// The stream ended: the session is gone. `text`: what it printed outside a command,
    /// or the running command's output so far (ssh's last words are in it).
    Eof {
        text: Vec<u8>,
    },
}

/// What starting a worker gave.
#[derive(Debug)]
pub(crate) enum Spawned {
    Ready(Worker),
    /// The master refused the session (sshd's `MaxSessions`): ssh's message.
    Refused(String),
    /// The host lacks what a worker needs; use one-shot sessions.
    Unsupported,
    /// The session ended before the worker was ready: ssh's message.
    Failed(String),
}

/// Why a command was stopped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    Timeout(Duration),
    Interrupted,
}

/// What a command on a worker gave.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It ran to its end: exit code, stdout, stderr, whether either was cut.
    Done {
        code: i32,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        truncated: bool,
    },
    /// It was stopped (its group killed); the worker is still usable unless it was closed.
    Stopped(Stop),
    /// The session ended under it. `started`: the command may have run; `group`: its
    /// process group on the host, when the worker said it.
    Lost {
        started: bool,
        group: Option<i32>,
        text: Vec<u8>,
    },
}

/// One worker session (the local `ssh` client and its readers).
#[derive(Debug)]
pub(crate) struct Worker {
    child: Child,
    stdin: Arc<Mutex<Option<ChildStdin>>>,
    events: mpsc::Receiver<Event>,
    cap: Arc<AtomicUsize>,
    nonce: String,
    seq: u64,
    /// Closed: killed, or its session ended; never used again.
    closed: bool,
    live: Arc<AtomicUsize>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.close();
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        // No /dev/urandom: the clock and the pid still differ between workers.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mixed = t ^ (u128::from(std::process::id()) << 64);
        bytes = mixed.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Worker {
    /// Starts a worker with `command` (an `ssh` session on the master running
    /// [`remote_command`]) and waits, at most `wait`, until it is ready.
    pub(crate) fn spawn(
        mut command: Command,
        wait: Duration,
        stop: &AtomicBool,
        live: &Arc<AtomicUsize>,
    ) -> std::io::Result<Spawned> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        live.fetch_add(1, Ordering::SeqCst);
        let nonce = nonce();
        let cap = Arc::new(AtomicUsize::new(0));
        let (tx, events) = mpsc::channel();
        for (stream, pipe) in [
            (
                Stream::Out,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
            (
                Stream::Err,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
        ] {
            let Some(pipe) = pipe else { continue };
            let mut frames = Frames::new(stream, &nonce, Arc::clone(&cap), tx.clone());
            std::thread::spawn(move || frames.read_all(pipe));
        }
        drop(tx);
        let mut stdin = child.stdin.take();
        if let Some(pipe) = stdin.as_mut() {
            let _ = pipe.write_all(format!("{nonce}\n").as_bytes());
        }
        let mut worker = Worker {
            child,
            stdin: Arc::new(Mutex::new(stdin)),
            events,
            cap,
            nonce,
            seq: 0,
            closed: false,
            live: Arc::clone(live),
        };
        let until = Instant::now() + wait;
        let mut said = Vec::new();
        let mut ends = 0;
        loop {
            match worker.events.recv_timeout(Duration::from_millis(10)) {
                Ok(Event::Ready) => return Ok(Spawned::Ready(worker)),
                Ok(Event::Unsupported) => return Ok(Spawned::Unsupported),
                Ok(Event::Eof { text }) => {
                    said.extend_from_slice(&text);
                    ends += 1;
                    if ends == 2 {
                        break;
                    }
                }
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if stop.load(Ordering::SeqCst) || Instant::now() >= until {
                said.extend_from_slice(b"the worker session did not start in time");
                break;
            }
        }
        worker.close();
        let text = String::from_utf8_lossy(&said).into_owned();
        Ok(if refused(&text) {
            Spawned::Refused(text)
        } else {
            Spawned::Failed(text)
        })
    }

    /// Whether the worker can take another command.
    pub(crate) fn usable(&self) -> bool {
        !self.closed
    }

    /// Kills the local client (the host kills the running command when its input ends).
    pub(crate) fn close(&mut self) {
        if let Some(pipe) = self
            .stdin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            drop(pipe);
        }
        if !self.closed {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.closed = true;
    }

    /// Runs one command: `payload` is what a one-shot session would get on stdin (the
    /// framed script, an inner script under `sudo`, the command's input). At most
    /// `cap` bytes of stdout and of stderr are kept. `stop_now` is polled: an interrupt or
    /// the deadline stops the command (its group killed on the host) and the worker waits
    /// for the host to say so, at most `kill_wait`.
    pub(crate) fn run(
        &mut self,
        payload: &[u8],
        cap: usize,
        deadline: Option<(Instant, Duration)>,
        interrupted: &AtomicBool,
        kill_wait: Duration,
    ) -> Outcome {
        self.seq += 1;
        let seq = self.seq;
        let tag = format!("{}.{seq}", self.nonce);
        self.cap.store(cap, Ordering::SeqCst);
        let mut request = format!("C {tag} {}\n", payload.len()).into_bytes();
        request.extend_from_slice(payload);
        request.extend_from_slice(b"E\n");
        // The request is written by a thread, so a host that stops reading cannot stop
        // the deadline from being seen.
        let (wrote_tx, wrote) = mpsc::channel::<bool>();
        let stdin = Arc::clone(&self.stdin);
        std::thread::spawn(move || {
            let mut pipe = stdin.lock().unwrap_or_else(PoisonError::into_inner);
            let ok = pipe
                .as_mut()
                .is_some_and(|p| p.write_all(&request).and_then(|()| p.flush()).is_ok());
            let _ = wrote_tx.send(ok);
        });
        let mut written = false;
        let mut started = false;
        let mut group = None;
        let mut out: Option<(Vec<u8>, bool)> = None;
        let mut err: Option<(Vec<u8>, bool, Option<i32>)> = None;
        let mut stop: Option<(Stop, Instant)> = None;
        loop {
            if !written && let Ok(ok) = wrote.try_recv() {
                written = true;
                if !ok {
                    self.close();
                    return Outcome::Lost {
                        started: false,
                        group: None,
                        text: self.drain_text(),
                    };
                }
            }
            match self.events.recv_timeout(Duration::from_millis(5)) {
                Ok(Event::Start(s)) if s == seq => started = true,
                Ok(Event::Group(s, g)) if s == seq => group = Some(g),
                Ok(Event::Done {
                    stream,
                    seq: s,
                    data,
                    truncated,
                    code,
                }) if s == seq => match stream {
                    Stream::Out => out = Some((data, truncated)),
                    Stream::Err => err = Some((data, truncated, code)),
                },
                Ok(Event::Eof { text }) => {
                    self.close();
                    if let Some((stop, _)) = stop {
                        return Outcome::Stopped(stop);
                    }
                    let mut all = err.map(|e| e.0).unwrap_or_default();
                    all.extend_from_slice(&text);
                    all.extend_from_slice(&self.drain_text());
                    return Outcome::Lost {
                        started,
                        group,
                        text: all,
                    };
                }
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.close();
                    return Outcome::Lost {
                        started,
                        group,
                        text: Vec::new(),
                    };
                }
            }
            if let (Some((stdout, out_cut)), Some((stderr, err_cut, code))) = (&out, &err) {
                if let Some((stop, _)) = stop {
                    return Outcome::Stopped(stop);
                }
                return Outcome::Done {
                    code: code.unwrap_or(255),
                    stdout: stdout.clone(),
                    stderr: stderr.clone(),
                    truncated: *out_cut || *err_cut,
                };
            }
            match stop {
                None => {
                    let why = if interrupted.load(Ordering::SeqCst) {
                        Some(Stop::Interrupted)
                    } else {
                        deadline
                            .filter(|(at, _)| Instant::now() >= *at)
                            .map(|(_, after)| Stop::Timeout(after))
                    };
                    if let Some(why) = why {
                        if !written || !self.send(format!("K {tag}\n").as_bytes()) {
                            // The host does not take requests: end the session, which
                            // makes the host kill the command's group.
                            self.close();
                            return Outcome::Stopped(why);
                        }
                        stop = Some((why, Instant::now() + kill_wait));
                    }
                }
                Some((why, until)) => {
                    if Instant::now() >= until {
                        self.close();
                        return Outcome::Stopped(why);
                    }
                }
            }
        }
    }

    fn send(&self, bytes: &[u8]) -> bool {
        let mut pipe = self.stdin.lock().unwrap_or_else(PoisonError::into_inner);
        pipe.as_mut()
            .is_some_and(|p| p.write_all(bytes).and_then(|()| p.flush()).is_ok())
    }

    /// What the streams said before they ended (briefly waited for).
    fn drain_text(&self) -> Vec<u8> {
        let mut text = Vec::new();
        let until = Instant::now() + Duration::from_millis(500);
        while let Ok(e) = self
            .events
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            if let Event::Eof { text: t } = e {
                text.extend_from_slice(&t);
            }
        }
        text
    }
}

/// Whether ssh's message says the master refused the session (the server's
/// `MaxSessions`), rather than that the connection failed.
pub(crate) fn refused(text: &str) -> bool {
    text.contains("session request failed")
        || text.contains("Session open refused")
        || text.contains("open failed: connect failed")
}

/// One stream of a worker, cut into the commands' outputs at the markers.
struct Frames {
    stream: Stream,
    /// `\x1eordo-` is followed by a kind letter, a blank and this.
    nonce: Vec<u8>,
    cap: Arc<AtomicUsize>,
    tx: mpsc::Sender<Event>,
    buf: Vec<u8>,
    /// The command being collected: its sequence number, output, whether it was cut.
    current: Option<(u64, Vec<u8>, bool)>,
    noise: Vec<u8>,
}

const PREFIX: &[u8] = b"\x1eordo-";

impl Frames {
    fn new(stream: Stream, nonce: &str, cap: Arc<AtomicUsize>, tx: mpsc::Sender<Event>) -> Frames {
        Frames {
            stream,
            nonce: nonce.as_bytes().to_vec(),
            cap,
            tx,
            buf: Vec::new(),
            current: None,
            noise: Vec::new(),
        }
    }

    fn read_all(&mut self, mut pipe: impl Read) {
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    self.buf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    self.scan();
                }
            }
        }
        let rest = std::mem::take(&mut self.buf);
        self.data(&rest);
        let text = match self.current.take() {
            Some((_, data, _)) => data,
            None => std::mem::take(&mut self.noise),
        };
        let _ = self.tx.send(Event::Eof { text });
    }

    fn data(&mut self, bytes: &[u8]) {
        match self.current.as_mut() {
            Some((_, kept, truncated)) => {
                let cap = self.cap.load(Ordering::SeqCst);
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
                *truncated |= bytes.len() > room;
            }
            None => {
                let room = NOISE_MAX.saturating_sub(self.noise.len());
                self.noise
                    .extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
            }
        }
    }

    /// Takes the data and markers out of `buf`, keeping a marker that may be incomplete.
    fn scan(&mut self) {
        let mut at = 0;
        loop {
            let rest = self.buf.get(at..).unwrap_or_default();
            let Some(i) = rest.iter().position(|b| *b == 0x1e) else {
                let all = rest.to_vec();
                self.data(&all);
                self.buf.clear();
                return;
            };
            let before = rest.get(..i).unwrap_or_default().to_vec();
            self.data(&before);
            at += i;
            let rest = self.buf.get(at..).unwrap_or_default();
            match self.marker(rest) {
                Marker::Incomplete => {
                    self.buf.drain(..at);
                    return;
                }
                Marker::Not => {
                    self.data(&[0x1e]);
                    at += 1;
                }
                Marker::Found {
                    len,
                    kind,
                    seq,
                    code,
                } => {
                    at += len;
                    self.on_marker(kind, seq, code);
                }
            }
        }
    }

    fn marker(&self, rest: &[u8]) -> Marker {
        // \x1eordo-K NONCE[.SEQ[ CODE]]\n
        let head = PREFIX.len() + 2 + self.nonce.len();
        let matches_so_far = |n: usize| {
            rest.iter().take(n).enumerate().all(|(i, b)| {
                if i < PREFIX.len() {
                    PREFIX.get(i) == Some(b)
                } else if i == PREFIX.len() {
                    matches!(b, b'r' | b'u' | b's' | b'e' | b'p')
                } else if i == PREFIX.len() + 1 {
                    *b == b' '
                } else {
                    self.nonce.get(i - PREFIX.len() - 2) == Some(b)
                }
            })
        };
        if !matches_so_far(head) {
            return Marker::Not;
        }
        if rest.len() < head {
            return Marker::Incomplete;
        }
        let Some(nl) = rest
            .iter()
            .take(MARKER_MAX)
            .skip(head)
            .position(|b| *b == b'\n')
        else {
            return if rest.len() < MARKER_MAX {
                Marker::Incomplete
            } else {
                Marker::Not
            };
        };
        let tail = rest.get(head..head + nl).unwrap_or_default();
        let kind = rest.get(PREFIX.len()).copied().unwrap_or_default();
        let text = String::from_utf8_lossy(tail);
        let (seq, code) = match text.strip_prefix('.') {
            Some(t) => {
                let mut words = t.split(' ');
                let seq = words.next().and_then(|s| s.parse::<u64>().ok());
                let code = words.next().and_then(|c| c.parse::<i32>().ok());
                (seq, code)
            }
            None if text.is_empty() => (None, None),
            None => return Marker::Not,
        };
        Marker::Found {
            len: head + nl + 1,
            kind,
            seq,
            code,
        }
    }

    fn on_marker(&mut self, kind: u8, seq: Option<u64>, code: Option<i32>) {
        match (kind, seq) {
            (b'r', _) => {
                self.noise.clear();
                if self.stream == Stream::Out {
                    let _ = self.tx.send(Event::Ready);
                }
            }
            (b'u', _) => {
                let _ = self.tx.send(Event::Unsupported);
            }
            (b's', Some(seq)) => {
                self.noise.clear();
                self.current = Some((seq, Vec::new(), false));
                if self.stream == Stream::Out {
                    let _ = self.tx.send(Event::Start(seq));
                }
            }
            (b'p', Some(seq)) => {
                if let Some(group) = code {
                    let _ = self.tx.send(Event::Group(seq, group));
                }
            }
            (b'e', Some(seq)) => {
                let (data, truncated) = match self.current.take() {
                    Some((s, data, truncated)) if s == seq => (data, truncated),
                    other => {
                        // An end without its start (a second end after a stop): nothing.
                        self.current = other;
                        return;
                    }
                };
                let _ = self.tx.send(Event::Done {
                    stream: self.stream,
                    seq,
                    data,
                    truncated,
                    code,
                });
            }
            _ => {}
        }
    }
}

enum Marker {
    Not,
    Incomplete,
    Found {
        len: usize,
        kind: u8,
        seq: Option<u64>,
        code: Option<i32>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[&[u8]], cap: usize) -> Vec<Event> {
        let (tx, rx) = mpsc::channel();
        let mut f = Frames::new(Stream::Err, "abcd", Arc::new(AtomicUsize::new(cap)), tx);
        for chunk in input {
            f.buf.extend_from_slice(chunk);
            f.scan();
        }
        drop(f);
        rx.try_iter().collect()
    }

    #[test]
    fn markers_cut_the_stream_even_split_across_reads() {
        let events = frames(
            &[
                b"motd\n\x1eordo-s abcd.1\nhel",
                b"lo\x1e",
                b"ordo-e ab",
                b"cd.1 3\nstray\x1eordo-s abcd.2\n\x1eordo-e abcd.2 0\n",
            ],
            100,
        );
        let done: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Done {
                    seq, data, code, ..
                } => Some((*seq, data.clone(), *code)),
                _ => None,
            })
            .collect();
        assert_eq!(
            done,
            vec![(1, b"hello".to_vec(), Some(3)), (2, Vec::new(), Some(0))]
        );
    }

    #[test]
    fn a_marker_with_another_nonce_is_output() {
        let events = frames(
            &[b"\x1eordo-s abcd.1\n\x1eordo-e zzzz.1 0\n\x1e\x1eordo-e abcd.1 0\n"],
            100,
        );
        let Some(Event::Done { data, .. }) = events.last() else {
            panic!("{events:?}")
        };
        assert_eq!(data, b"\x1eordo-e zzzz.1 0\n\x1e");
    }

    #[test]
    fn output_is_capped_and_the_end_still_found() {
        let mut input = b"\x1eordo-s abcd.1\n".to_vec();
        input.extend_from_slice(&[b'x'; 1000]);
        input.extend_from_slice(b"\x1eordo-e abcd.1 0\n");
        let events = frames(&[&input], 10);
        let Some(Event::Done {
            data, truncated, ..
        }) = events.last()
        else {
            panic!("{events:?}")
        };
        assert_eq!((data.len(), *truncated), (10, true));
    }
}
