//! A host reached over the system's OpenSSH client: one multiplexed master connection per
//! host, commands and file transfers run by long-lived worker sessions on it
//! ([`super::worker`]), one round trip each; a command too large for a worker, or on a
//! host that cannot run one, gets a one-shot session of its own.
//!
//! ordo runs the `ssh` found on `PATH`, so the user's `~/.ssh/config`, agent, keys and
//! jump hosts work as in their shell. The traps it avoids were measured on OpenSSH 9.2
//! (`reference/next-capabilities.md` §1.3):
//!
//! - The master is owned by the run: started on first use with `ControlMaster=yes` and
//!   `-N` in the foreground, a child of ordo with `PR_SET_PDEATHSIG` (no `-f`, no
//!   `ControlPersist`: it never expires mid-run, ansible#16731, and dies with ordo even on
//!   SIGKILL), never `-M` as well (two master requests make `ssh` refuse every session);
//!   [`Connection::close`], drop and Ctrl-C ([`interrupt_all`]) send `-O exit`, so nothing
//!   outlives the run (ansible#78227). A master found dead before a session is restarted
//!   once. On the host, a command without input runs with a watcher on the session's
//!   stdin, which ordo holds open: when the session goes (ordo killed), the watcher kills
//!   the command's process group.
//! - The control socket is `%C` (a hash) in a fresh 0700 directory under
//!   `$XDG_RUNTIME_DIR` or `/tmp`, so its path stays far below the 108 bytes of `sun_path`.
//! - `BatchMode`: a host that wants a password or an unknown host key fails at once.
//! - At most `per_host` sessions at once ([`Settings::per_host`], default 8): sshd's
//!   `MaxSessions` is 10, and `ssh` silently opens a new TCP connection for every session
//!   the server refuses. Session clients get `ProxyCommand=false` and none of the
//!   inventory's proxy options (the master alone uses those), which makes that fallback
//!   fail at once, also behind a `-J` or a `ProxyCommand`; a
//!   refused session lowers the host's slots to the sessions it allowed
//!   ([`Connection::slots`]) and the command waits for one of them.
//! - A killed local `ssh` leaves the remote command running (no PTY, no SIGHUP), so a
//!   timeout or an interrupt kills the remote process group over a second channel:
//!   SIGTERM, then SIGKILL after the same 2 s grace as local commands.
//! - Exit code 255 means a connection failure or the command's own 255; the start marker
//!   of the wrapper (`quote.rs`) tells them apart: a failure before it is
//!   [`TransportError::Unreachable`].
//!
//! Everything is blocking and thread-safe: ordo's workers call a [`Connection`] from many
//! threads at once, and the slots bound them. Nothing here prints: outcomes are values and
//! errors. Masking secrets in messages is the caller's business (the runner masks
//! everything it reports).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak, mpsc};
use std::time::{Duration, Instant};

use sha2::Digest;

use super::error::TransportError;
use super::output::{read_capped, read_stderr};
use super::quote;
use super::slots::Slots;
use super::worker::{self, Outcome, Spawned, Worker};

/// Default cap on captured stdout and on captured stderr, each (as `shell::run` locally).
pub const MAX_OUTPUT: usize = 16 << 20;
/// How long a stopped command gets between SIGTERM and SIGKILL (as locally).
const GRACE_TENTHS: u32 = 20;
/// Writes larger than this first ask whether the file already matches, so an unchanged big
/// file is not sent; smaller ones send the content with the question, in one round trip.
const SEND_WITH_CHECK: usize = 64 << 10;
/// How long [`Connection::interrupt`] waits for running sessions to kill their remote groups
/// before it closes the master.
const INTERRUPT_WAIT: Duration = Duration::from_secs(8);
/// How long a stopped session waits for a start marker still on its way.
const MARKER_WAIT: Duration = Duration::from_secs(3);
/// Commands whose script and input together are larger than this run in a one-shot
/// session, streamed, rather than on a worker (which stages them in a file on the host).
const WORKER_PAYLOAD: usize = 1 << 20;
/// How long a new worker session may take to say it is ready, beyond the connect timeout.
const WORKER_START: Duration = Duration::from_secs(10);

/// How to reach one host: plain values, so an inventory (or a test) can fill them in.
#[derive(Debug, Clone, Default)]
pub struct HostParams {
    /// The host's name in messages (an inventory name such as `web-1`).
    pub name: String,
    /// What `ssh` connects to: an address or a name its configuration knows.
    pub address: String,
    /// `-p PORT`; absent: `ssh`'s own default (its configuration, or 22).
    pub port: Option<u16>,
    /// `-l USER`; absent: `ssh`'s own default.
    pub user: Option<String>,
    /// `-i FILE`.
    pub identity_file: Option<PathBuf>,
    /// Arguments given to `ssh` before the host (`["-o", "ProxyJump=bastion"]`). They come
    /// after ordo's `ControlPath` and `BatchMode` (ssh keeps the first value of an option)
    /// and before its `ConnectTimeout` and `ServerAliveInterval`, which they can set.
    pub ssh_options: Vec<String>,
}

/// How the transport behaves, the same for every host of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The client program; default `ssh`, looked up on `PATH`.
    pub program: OsString,
    /// `ConnectTimeout` (default 10 s).
    pub connect_timeout: Duration,
    /// Sessions at once per host (default 8, below sshd's `MaxSessions` 10).
    pub per_host: usize,
    /// Where the control socket directories go; default `$XDG_RUNTIME_DIR` when it is a
    /// directory with a short enough path, else `/tmp`.
    pub runtime_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            program: "ssh".into(),
            connect_timeout: Duration::from_secs(10),
            per_host: 8,
            runtime_dir: None,
        }
    }
}

/// A command to run on a host: an argv (never a shell string: use
/// `["sh", "-c", script]` for one), with its environment, directory, input and limits.
#[derive(Debug, Clone)]
pub struct RemoteCommand {
    argv: Vec<OsString>,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
    max_output: usize,
    prefix: Vec<OsString>,
    clear_env: bool,
    script: Option<(String, Vec<String>)>,
}

impl RemoteCommand {
    /// The command `argv` (program first).
    pub fn new<I, S>(argv: I) -> RemoteCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        RemoteCommand {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: None,
            stdin: None,
            timeout: None,
            max_output: MAX_OUTPUT,
            prefix: Vec::new(),
            clear_env: false,
            script: None,
        }
    }

    /// A POSIX sh `script` run with the positional parameters `args` (neither in any argv).
    pub fn script(script: &str, args: Vec<String>) -> RemoteCommand {
        let mut cmd = RemoteCommand::new(["sh", "-c", script]);
        cmd.script = Some((script.to_string(), args));
        cmd
    }

    /// Runs the command under `words` (`sudo -n -u USER --`); the command and its
    /// environment reach the shell under them on stdin, not in their argv.
    #[must_use]
    pub fn prefix(mut self, words: Vec<OsString>) -> RemoteCommand {
        self.prefix = words;
        self
    }

    /// Starts the command with an empty environment plus its `env`.
    #[must_use]
    pub fn clear_env(mut self, clear: bool) -> RemoteCommand {
        self.clear_env = clear;
        self
    }

    /// Adds `key=value` to the command's environment (exported by the script on stdin).
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> RemoteCommand {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs the command in `dir` on the host.
    #[must_use]
    pub fn cwd(mut self, dir: &str) -> RemoteCommand {
        self.cwd = Some(dir.to_string());
        self
    }

    /// Feeds `input` to the command's stdin (default: none, stdin is empty).
    #[must_use]
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> RemoteCommand {
        self.stdin = Some(input.into());
        self
    }

    /// Kills the command's remote process group after `limit`.
    #[must_use]
    pub fn timeout(mut self, limit: Duration) -> RemoteCommand {
        self.timeout = Some(limit);
        self
    }

    /// Keeps at most `bytes` of stdout and of stderr (default [`MAX_OUTPUT`]).
    #[must_use]
    pub fn max_output(mut self, bytes: usize) -> RemoteCommand {
        self.max_output = bytes;
        self
    }

    /// The command as messages show it: its words, first line, cut at 80 characters.
    fn shown(&self) -> String {
        let words: Vec<String> = self
            .argv
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        let text = match words.as_slice() {
            [sh, c, script] if sh == "sh" && c == "-c" => script.clone(),
            _ => words.join(" "),
        };
        cut(&text)
    }
}

fn cut(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    let mut s: String = first_line.chars().take(80).collect();
    if s.len() < text.len() {
        s.push_str(" …");
    }
    s
}

/// What a command that ran left: its exit code (128 + N when killed by signal N) and its
/// output, each capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Whether stdout or stderr was cut at the cap.
    pub truncated: bool,
}

/// One host and its master connection. Cheap to share by reference between threads; the
/// master is closed when the connection is closed or dropped.
#[derive(Debug)]
pub struct Connection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: HostParams,
    settings: Settings,
    socket_dir: tempfile::TempDir,
    master: Mutex<Option<Master>>,
    slots: Slots,
    /// Sessions between their start and their end (remote kill included).
    sessions: AtomicUsize,
    interrupted: AtomicBool,
    /// Workers waiting for a command ([`worker`]); at most the slots' number.
    idle: Mutex<Vec<Worker>>,
    /// Workers alive, idle or busy.
    live_workers: Arc<AtomicUsize>,
    /// The host cannot run a worker (no `setsid`, no temporary directory): one-shot
    /// sessions only.
    no_workers: AtomicBool,
}

/// The running master process, known by the pid `-O check` reports.
#[derive(Debug)]
struct Master {
    pid: Option<i32>,
}

/// Every live connection, so Ctrl-C can reach them all.
static LIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// Ctrl-C: stops every session of every live connection (their remote process groups are
/// killed) and closes every master. Blocks until done, at most a few seconds.
pub fn interrupt_all() {
    let live: Vec<Arc<Inner>> = LIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let threads: Vec<_> = live
        .into_iter()
        .map(|inner| std::thread::spawn(move || inner.interrupt()))
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// Closes every live master at once, without waiting for sessions (a second Ctrl-C, just
/// before ordo exits).
pub fn close_all() {
    let live: Vec<Arc<Inner>> = LIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for inner in live {
        inner.interrupted.store(true, Ordering::SeqCst);
        inner.close_master();
    }
}

/// Lets every live connection run commands again after [`interrupt_all`]: under
/// `apply --rollback-on-failure`, the rollback a Ctrl-C starts runs after it.
pub fn resume_all() {
    let live: Vec<Arc<Inner>> = LIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for inner in live {
        inner.interrupted.store(false, Ordering::SeqCst);
    }
}

impl Connection {
    /// A connection to the host `params` describes. Nothing connects yet: the master starts
    /// on first use.
    pub fn new(params: HostParams, settings: Settings) -> Result<Connection, TransportError> {
        let base = settings.runtime_dir.clone().unwrap_or_else(runtime_dir);
        let socket_dir = tempfile::Builder::new()
            .prefix("ordo-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&base)
            .map_err(|source| TransportError::SocketDir {
                dir: base.display().to_string(),
                source,
            })?;
        let inner = Arc::new(Inner {
            slots: Slots::new(settings.per_host),
            params,
            settings,
            socket_dir,
            master: Mutex::new(None),
            sessions: AtomicUsize::new(0),
            interrupted: AtomicBool::new(false),
            idle: Mutex::new(Vec::new()),
            live_workers: Arc::new(AtomicUsize::new(0)),
            no_workers: AtomicBool::new(false),
        });
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&inner));
        Ok(Connection { inner })
    }

    /// The host's name, as given.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.params.name
    }

    /// The directory holding the control socket (it appears in the master's command line).
    #[must_use]
    pub fn socket_dir(&self) -> &Path {
        self.inner.socket_dir.path()
    }

    /// The pid of the running master, if one runs.
    #[must_use]
    pub fn master_pid(&self) -> Option<i32> {
        self.inner
            .master
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|m| m.pid)
    }

    /// The most sessions that ran at once so far.
    #[must_use]
    pub fn peak_sessions(&self) -> usize {
        self.inner.slots.peak()
    }

    /// How many commands may run at once on the host now: `per_host`, lowered when the
    /// host refused a session (its `MaxSessions`).
    #[must_use]
    pub fn slots(&self) -> usize {
        self.inner.slots.limit()
    }

    /// The worker sessions open now, idle or busy.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.inner.live_workers.load(Ordering::SeqCst)
    }

    /// Starts the master if it does not run (`ordo hosts --check`; otherwise the first
    /// command does it).
    pub fn open(&self) -> Result<(), TransportError> {
        self.inner.ensure_master()
    }

    /// Runs `cmd` on the host. A command that exits non-zero is an [`Output`], not an error;
    /// errors are the transport's (unreachable, timed out, interrupted, a bad argument).
    pub fn run(&self, cmd: &RemoteCommand) -> Result<Output, TransportError> {
        let spec = quote::Spec {
            argv: &cmd.argv,
            env: &cmd.env,
            cwd: cmd.cwd.as_deref(),
            prefix: &cmd.prefix,
            clear_env: cmd.clear_env,
            script: cmd.script.as_ref().map(|(s, a)| (s.as_str(), a.as_slice())),
        };
        let (line, inner) =
            quote::command_line(&spec).map_err(|r| TransportError::BadArgument {
                host: self.name().to_string(),
                what: format!("the command `{}`", cmd.shown()),
                reason: r.to_string(),
            })?;
        self.inner.session(&Session {
            line,
            inner,
            stdin: cmd.stdin.as_deref(),
            timeout: cmd.timeout,
            max_output: cmd.max_output,
            shown: cmd.shown(),
        })
    }

    /// Writes `content` to `path` on the host with permissions `mode`, atomically (a temp
    /// file next to it, renamed over it), in one round trip. Returns whether anything
    /// changed: a file that already has this content and mode is left alone.
    pub fn write(&self, path: &str, content: &[u8], mode: u32) -> Result<bool, TransportError> {
        let host = self.name();
        let bad = |reason: String| TransportError::BadArgument {
            host: host.to_string(),
            what: format!("the path `{path}`"),
            reason,
        };
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (if dir.is_empty() { "/" } else { dir }, name),
            None => (".", path),
        };
        if name.is_empty() || name == "." || name == ".." {
            return Err(bad("it does not name a file".into()));
        }
        let q = |w: &str| quote::word(OsStr::new(w)).map_err(|r| bad(r.to_string()));
        let p = q(path)?;
        let template = q(&format!("{dir}/.{name}.ordo.XXXXXX"))?;
        let hash = hex(&sha2::Sha256::digest(content));
        let mode = format!("{:o}", mode & 0o7777);
        let same = format!(
            "p={p}; if [ -f \"$p\" ] && [ \"$(sha256sum <\"$p\" 2>/dev/null)\" = '{hash}  -' ] \
             && [ \"$(stat -c %a -- \"$p\" 2>/dev/null)\" = '{mode}' ]; then echo unchanged; exit 0; fi"
        );
        if content.len() > SEND_WITH_CHECK {
            let out = self.inner.session(&Session::internal(
                format!("{same}; echo differs"),
                None,
                format!("compare {path}"),
            ))?;
            if out.code == 0 && out.stdout.starts_with(b"unchanged") {
                return Ok(false);
            }
        }
        let line = format!(
            "{same}\numask 077; t=$(mktemp {template}) || exit 1\n\
             if cat >\"$t\" && chmod {mode} \"$t\" && mv -f \"$t\" \"$p\"; then echo changed; \
             else rm -f \"$t\"; exit 1; fi"
        );
        let out = self.inner.session(&Session::internal(
            line,
            Some(content),
            format!("write {path}"),
        ))?;
        match (out.code, out.stdout.as_slice()) {
            (0, b"changed\n") => Ok(true),
            (0, b"unchanged\n") => Ok(false),
            _ => Err(TransportError::FileFailed {
                host: host.to_string(),
                action: "writing",
                path: path.to_string(),
                detail: detail(&out),
            }),
        }
    }

    /// Reads the file `path` on the host, at most `limit` bytes (a larger file is an error).
    pub fn read(&self, path: &str, limit: usize) -> Result<Vec<u8>, TransportError> {
        let host = self.name();
        let p = quote::word(OsStr::new(path)).map_err(|r| TransportError::BadArgument {
            host: host.to_string(),
            what: format!("the path `{path}`"),
            reason: r.to_string(),
        })?;
        let line = format!(
            "p={p}; [ -e \"$p\" ] || {{ echo 'no such file' >&2; exit 3; }}; exec cat -- \"$p\""
        );
        let mut session = Session::internal(line, None, format!("read {path}"));
        session.max_output = limit;
        let out = self.inner.session(&session)?;
        match out.code {
            0 if out.truncated => Err(TransportError::TooLarge {
                host: host.to_string(),
                path: path.to_string(),
                limit,
            }),
            0 => Ok(out.stdout),
            3 => Err(TransportError::NotFound {
                host: host.to_string(),
                path: path.to_string(),
            }),
            _ => Err(TransportError::FileFailed {
                host: host.to_string(),
                action: "reading",
                path: path.to_string(),
                detail: detail(&out),
            }),
        }
    }

    /// Stops this connection's sessions (killing their remote process groups) and closes
    /// its master; later calls fail as interrupted.
    pub fn interrupt(&self) {
        self.inner.interrupt();
    }

    /// Closes the master (`-O exit`) and waits for it to end. A later command starts a new
    /// one.
    pub fn close(&self) {
        self.inner.close_master();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close_master();
    }
}

/// One session's line (not wrapped yet) and its limits.
struct Session<'a> {
    line: String,
    /// The script for a second reader under a `sudo` prefix, sent after the wrapper.
    inner: Option<String>,
    stdin: Option<&'a [u8]>,
    timeout: Option<Duration>,
    max_output: usize,
    shown: String,
}

impl<'a> Session<'a> {
    fn internal(line: String, stdin: Option<&'a [u8]>, shown: String) -> Session<'a> {
        Session {
            line,
            inner: None,
            stdin,
            timeout: None,
            max_output: MAX_OUTPUT,
            shown,
        }
    }
}

/// Why a session was stopped.
enum Stop {
    Timeout(Duration),
    Interrupted,
}

/// Counts a session as running while it lives (so an interrupt can wait for it).
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    fn host(&self) -> String {
        self.params.name.clone()
    }

    fn interrupted_error(&self, shown: &str) -> TransportError {
        TransportError::Interrupted {
            host: self.host(),
            command: shown.to_string(),
        }
    }

    /// The arguments every invocation shares, so `%C` names the same socket for all.
    /// The arguments every `ssh` of this host gets; `proxy: false` leaves out the
    /// inventory's proxy options ([`without_proxy`]) for a client that only talks to the
    /// master.
    fn base_args(&self, proxy: bool) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let opt = |args: &mut Vec<OsString>, o: String| {
            args.push("-o".into());
            args.push(o.into());
        };
        // What ordo's correctness needs comes first (ssh keeps the first value of an
        // option); the timeouts after the inventory's options, so `sshOptions` can set them.
        opt(
            &mut args,
            format!("ControlPath={}/%C", self.socket_dir.path().display()),
        );
        opt(&mut args, "BatchMode=yes".into());
        if let Some(port) = self.params.port {
            args.push("-p".into());
            args.push(port.to_string().into());
        }
        if let Some(user) = &self.params.user {
            args.push("-l".into());
            args.push(user.into());
        }
        if let Some(identity) = &self.params.identity_file {
            args.push("-i".into());
            args.push(identity.into());
        }
        if proxy {
            args.extend(self.params.ssh_options.iter().map(OsString::from));
        } else {
            args.extend(without_proxy(&self.params.ssh_options).map(OsString::from));
        }
        opt(
            &mut args,
            format!(
                "ConnectTimeout={}",
                self.settings.connect_timeout.as_secs().max(1)
            ),
        );
        opt(&mut args, "ServerAliveInterval=15".into());
        args
    }

    fn ssh(&self) -> Command {
        self.ssh_with(true)
    }

    fn ssh_with(&self, proxy: bool) -> Command {
        let mut command = Command::new(&self.settings.program);
        command.args(self.base_args(proxy));
        // Its own process group: the terminal's Ctrl-C must not kill a client before ordo
        // has killed the remote command it runs.
        command.process_group(0);
        command
    }

    fn spawn_error(&self, source: std::io::Error) -> TransportError {
        TransportError::Spawn {
            program: self.settings.program.to_string_lossy().into_owned(),
            source,
        }
    }

    /// `ssh -O CMD HOST`: talks to the master over its socket only.
    fn control(&self, cmd: &str) -> Option<std::process::Output> {
        self.ssh()
            .args(["-O", cmd, "--"])
            .arg(&self.params.address)
            .stdin(Stdio::null())
            .output()
            .ok()
    }

    fn ensure_master(&self) -> Result<(), TransportError> {
        let mut master = self.master.lock().unwrap_or_else(PoisonError::into_inner);
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(self.interrupted_error("connect"));
        }
        if let Some(m) = master.as_ref() {
            if self.master_alive(m) {
                return Ok(());
            }
            // Dead (killed, or the host rebooted): one new start, then unreachable.
            *master = None;
        }
        *master = Some(self.start_master()?);
        Ok(())
    }

    /// Whether the master ended (it ends when its connection is lost), given a moment to.
    fn master_lost(&self) -> bool {
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            let alive = {
                let master = self.master.lock().unwrap_or_else(PoisonError::into_inner);
                master.as_ref().is_some_and(|m| self.master_alive(m))
            };
            if !alive {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn master_alive(&self, m: &Master) -> bool {
        match m.pid {
            Some(pid) => process_alive(pid),
            None => self.control("check").is_some_and(|o| o.status.success()),
        }
    }

    /// Starts the master in the foreground (`-N`, no `-f`), as a child of a thread that
    /// lives as long as it and reaps it, with `PR_SET_PDEATHSIG`: if ordo is killed, even
    /// by SIGKILL, the master gets SIGTERM and goes, and with it its sessions. It is up
    /// when its control socket appears.
    fn start_master(&self) -> Result<Master, TransportError> {
        let dir = self.socket_dir.path().to_path_buf();
        let log_path = dir.join("master.log");
        let log = private_file(&log_path).map_err(|source| TransportError::SocketDir {
            dir: dir.display().to_string(),
            source,
        })?;
        let mut command = self.ssh();
        command
            .args([
                "-o",
                "ControlMaster=yes",
                "-o",
                "ControlPersist=no",
                "-N",
                "--",
            ])
            .arg(&self.params.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        die_with_parent(&mut command);
        let (tx, rx) = mpsc::channel::<Result<u32, std::io::Error>>();
        std::thread::spawn(move || match command.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(child.id()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
        let pid = match rx.recv() {
            Ok(Ok(pid)) => i32::try_from(pid).unwrap_or(0),
            Ok(Err(e)) => return Err(self.spawn_error(e)),
            Err(_) => return Err(self.spawn_error(std::io::ErrorKind::Other.into())),
        };
        // ConnectTimeout bounds the connect, BatchMode any prompt; an interrupt stops it.
        loop {
            if control_socket_exists(&dir) {
                return Ok(Master { pid: Some(pid) });
            }
            if !process_alive(pid) {
                let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(TransportError::Unreachable {
                    host: self.host(),
                    detail: ssh_message(&text),
                });
            }
            if self.interrupted.load(Ordering::SeqCst) {
                signal(pid, libc::SIGTERM);
                return Err(self.interrupted_error("connect"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn close_master(&self) {
        // Idle workers first: their sessions end, and the host ends their loops.
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let mut master = self.master.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(m) = master.take() else { return };
        let _ = self.control("exit");
        if let Some(pid) = m.pid {
            let until = Instant::now() + Duration::from_secs(2);
            while process_alive(pid) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if process_alive(pid) {
                signal(pid, libc::SIGTERM);
            }
        }
    }

    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        // Each running session sees the flag, kills its local client and its remote group.
        let until = Instant::now() + INTERRUPT_WAIT;
        while self.sessions.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.close_master();
    }

    /// Runs one command: on a worker when the host has them and the command is not too
    /// large, else in a one-shot session. A session the host refuses (its `MaxSessions`)
    /// lowers the host's slots to what it allowed, and the command waits for one of them.
    fn session(&self, s: &Session<'_>) -> Result<Output, TransportError> {
        let size =
            s.line.len() + s.inner.as_ref().map_or(0, String::len) + s.stdin.map_or(0, <[u8]>::len);
        if size <= WORKER_PAYLOAD
            && !self.no_workers.load(Ordering::SeqCst)
            && let Some(result) = self.on_worker(s)
        {
            return result;
        }
        let mut refusals = 0;
        loop {
            // A one-shot session needs room among the host's sessions: an idle worker goes.
            drop(
                self.idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop(),
            );
            match self.one_shot(s) {
                Err(TransportError::SessionRefused { host, detail }) => {
                    refusals += 1;
                    if refusals > 3 {
                        return Err(TransportError::Unreachable { host, detail });
                    }
                    let open = self.slots.held() + self.live_workers.load(Ordering::SeqCst);
                    self.slots.limit_to(open);
                }
                other => return other,
            }
        }
    }

    /// Runs the command on a worker (an idle one, or a new one while the slots allow);
    /// `None` when the host cannot run workers (then it never tries again).
    ///
    /// A worker whose session ends before the command started is replaced and the command
    /// sent again, once; one that ends while the command runs makes the call
    /// `unreachable`: what the command did is unknown, and it is not run twice.
    fn on_worker(&self, s: &Session<'_>) -> Option<Result<Output, TransportError>> {
        let mut retried = false;
        loop {
            let Some(permit) = self.slots.acquire(&self.interrupted) else {
                return Some(Err(self.interrupted_error(&s.shown)));
            };
            if let Err(e) = self.ensure_master() {
                return Some(Err(e));
            }
            self.sessions.fetch_add(1, Ordering::SeqCst);
            let running = Running(&self.sessions);
            if self.interrupted.load(Ordering::SeqCst) {
                return Some(Err(self.interrupted_error(&s.shown)));
            }
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let mut worker = match idle {
                Some(w) => w,
                None => match Worker::spawn(
                    self.worker_command(),
                    WORKER_START + self.settings.connect_timeout,
                    &self.interrupted,
                    &self.live_workers,
                ) {
                    Err(e) => return Some(Err(self.spawn_error(e))),
                    Ok(Spawned::Ready(w)) => w,
                    Ok(Spawned::Unsupported) => {
                        self.no_workers.store(true, Ordering::SeqCst);
                        return None;
                    }
                    Ok(Spawned::Refused(text)) => {
                        let live = self.live_workers.load(Ordering::SeqCst);
                        if live == 0 {
                            return Some(Err(TransportError::Unreachable {
                                host: self.host(),
                                detail: ssh_message(&text),
                            }));
                        }
                        // The host allows the sessions open now: wait for one of them.
                        self.slots.limit_to(live);
                        drop(running);
                        drop(permit);
                        continue;
                    }
                    Ok(Spawned::Failed(text)) => {
                        if self.interrupted.load(Ordering::SeqCst) {
                            return Some(Err(self.interrupted_error(&s.shown)));
                        }
                        return Some(Err(TransportError::Unreachable {
                            host: self.host(),
                            detail: ssh_message(&text),
                        }));
                    }
                },
            };
            let deadline = s.timeout.map(|t| (Instant::now() + t, t));
            let mut payload = quote::frame(&s.line).into_bytes();
            if let Some(inner) = &s.inner {
                payload.extend_from_slice(quote::frame(inner).as_bytes());
            }
            payload.extend_from_slice(s.stdin.unwrap_or_default());
            let outcome = worker.run(
                &payload,
                s.max_output,
                deadline,
                &self.interrupted,
                Duration::from_millis(u64::from(GRACE_TENTHS) * 100) + Duration::from_secs(5),
            );
            match outcome {
                Outcome::Done {
                    code,
                    stdout,
                    stderr,
                    truncated,
                } => {
                    self.put_back(worker);
                    return Some(Ok(Output {
                        code,
                        stdout,
                        stderr,
                        truncated,
                    }));
                }
                Outcome::Stopped(stop) => {
                    self.put_back(worker);
                    return Some(Err(match stop {
                        worker::Stop::Timeout(after) => TransportError::TimedOut {
                            host: self.host(),
                            command: s.shown.clone(),
                            after,
                        },
                        worker::Stop::Interrupted => self.interrupted_error(&s.shown),
                    }));
                }
                Outcome::Lost {
                    started,
                    group,
                    text,
                } => {
                    drop(worker);
                    let lost = self.master_lost();
                    // The host kills the command when the session ends, unless its loop
                    // was killed itself: then ordo does, over a new session.
                    if let (false, Some(group)) = (lost, group) {
                        self.kill_groups(&[group]);
                    }
                    if self.interrupted.load(Ordering::SeqCst) {
                        return Some(Err(self.interrupted_error(&s.shown)));
                    }
                    let said = ssh_message(&String::from_utf8_lossy(&text));
                    if !started && !retried && !lost {
                        retried = true;
                        continue;
                    }
                    let detail = if lost {
                        format!("the connection was lost while `{}` ran ({said})", s.shown)
                    } else {
                        format!(
                            "the session running `{}` on the host ended before it did ({said})",
                            s.shown
                        )
                    };
                    return Some(Err(TransportError::Unreachable {
                        host: self.host(),
                        detail,
                    }));
                }
            }
        }
    }

    /// Keeps a worker for the next command, unless it is closed or over the slots.
    fn put_back(&self, worker: Worker) {
        if worker.usable() && self.live_workers.load(Ordering::SeqCst) <= self.slots.limit() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(worker);
        }
    }

    /// A session client: it talks to the master only. If the master refuses the session,
    /// `ssh` would open a connection of its own; `ProxyCommand=false` makes that fail at
    /// once instead. The inventory's own proxy options (`-J`, `ProxyJump`,
    /// `ProxyCommand`) are left out of a session client: only the master needs them, and
    /// either would otherwise win over `ProxyCommand=false` (ssh keeps the first of the
    /// two it is given, and refuses `-J` after a `ProxyCommand`).
    fn session_ssh(&self) -> Command {
        let mut command = self.ssh_with(false);
        command.args([
            "-o",
            "ProxyCommand=false",
            "-o",
            "ControlMaster=no",
            "-T",
            "--",
        ]);
        command.arg(&self.params.address);
        command
    }

    fn worker_command(&self) -> Command {
        let mut command = self.session_ssh();
        command.arg(worker::remote_command());
        command
    }

    /// Runs one one-shot session: a slot, a live master, the wrapped line, supervised.
    fn one_shot(&self, s: &Session<'_>) -> Result<Output, TransportError> {
        let Some(_permit) = self.slots.acquire(&self.interrupted) else {
            return Err(self.interrupted_error(&s.shown));
        };
        self.ensure_master()?;
        self.sessions.fetch_add(1, Ordering::SeqCst);
        let _running = Running(&self.sessions);
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(self.interrupted_error(&s.shown));
        }

        // The script goes on stdin ahead of the command's input; a command without input
        // gets /dev/null on the host, and the session's stdin stays open while it runs, so
        // a watcher on the host kills its group when the session goes away (ordo killed).
        let watch = s.inner.is_none() && s.stdin.is_none();
        let mut payload = quote::frame(&quote::wrapped(&s.line, watch)).into_bytes();
        if let Some(inner) = &s.inner {
            payload.extend_from_slice(quote::frame(inner).as_bytes());
        }
        payload.extend_from_slice(s.stdin.unwrap_or_default());
        let mut command = self.session_ssh();
        command
            .arg(quote::remote_command())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| self.spawn_error(e))?;
        let started = Instant::now();

        let (keep_open, held) = mpsc::channel::<()>();
        if let Some(mut pipe) = child.stdin.take() {
            // A write that the host does not read (an unchanged file) ends with EPIPE.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&payload);
                if watch {
                    // Open until the session ends (the sender is dropped).
                    let _ = held.recv();
                }
            });
        }
        let cap = s.max_output;
        let pgid = Arc::new(OnceLock::new());
        let (out_tx, out_rx) = mpsc::channel();
        let (err_tx, err_rx) = mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            std::thread::spawn(move || out_tx.send(read_capped(pipe, cap)));
        }
        if let Some(pipe) = child.stderr.take() {
            let pgid = Arc::clone(&pgid);
            std::thread::spawn(move || err_tx.send(read_stderr(pipe, cap, &pgid)));
        }

        let deadline = s.timeout.map(|t| started + t);
        let (status, stop) = loop {
            match child.try_wait() {
                Ok(Some(status)) => break (Some(status), None),
                Ok(None) => {}
                Err(_) => break (None, None),
            }
            let stop = if self.interrupted.load(Ordering::SeqCst) {
                Some(Stop::Interrupted)
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                s.timeout.map(Stop::Timeout)
            } else {
                None
            };
            if let Some(stop) = stop {
                self.stop_session(&mut child, &pgid);
                break (None, Some(stop));
            }
            let waited = started.elapsed();
            std::thread::sleep(if waited < Duration::from_millis(20) {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(10)
            });
        };
        // The client passed its pipes to the master, which holds them until the channel
        // closes: after a stop, the output is waited for a moment only (the remote group is
        // dead by now, unless the host is gone).
        let wait = |rx: mpsc::Receiver<(Vec<u8>, bool)>| {
            if stop.is_some() {
                rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default()
            } else {
                rx.recv().unwrap_or_default()
            }
        };
        let (stdout, out_cut) = wait(out_rx);
        let err = if stop.is_some() {
            err_rx
                .recv_timeout(Duration::from_secs(2))
                .unwrap_or_default()
        } else {
            err_rx.recv().unwrap_or_default()
        };
        drop(keep_open);
        let (stderr, err_cut) = (err.text, err.truncated);

        match stop {
            Some(Stop::Timeout(after)) => {
                return Err(TransportError::TimedOut {
                    host: self.host(),
                    command: s.shown.clone(),
                    after,
                });
            }
            Some(Stop::Interrupted) => return Err(self.interrupted_error(&s.shown)),
            None => {}
        }
        let ssh_code = status.map_or(255, |st| {
            st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
        });
        let lost = ssh_code == 255 || status.is_none_or(|st| st.code().is_none());
        let started_remotely = pgid.get().is_some();
        if !started_remotely && lost {
            let text = String::from_utf8_lossy(&stderr);
            if worker::refused(&text) && !self.master_lost() {
                return Err(TransportError::SessionRefused {
                    host: self.host(),
                    detail: ssh_message(&text),
                });
            }
            return Err(TransportError::Unreachable {
                host: self.host(),
                detail: ssh_message(&String::from_utf8_lossy(&stderr)),
            });
        }
        // The end marker carries the command's code. Without it, the wrapper did not see
        // the command end: the connection went away (its master is gone), or something
        // killed the wrapper itself (the master lives on: that is the command's doing).
        let code = match err.end {
            Some(code) => code,
            None if lost && self.master_lost() => {
                let said = ssh_message(&String::from_utf8_lossy(&stderr));
                return Err(TransportError::Unreachable {
                    host: self.host(),
                    detail: format!("the connection was lost while `{}` ran ({said})", s.shown),
                });
            }
            None => ssh_code,
        };
        Ok(Output {
            code,
            stdout,
            stderr,
            truncated: out_cut || err_cut,
        })
    }

    /// A timeout or an interrupt: the remote process group is killed over a new channel,
    /// SIGKILL after the grace, then the local client.
    fn stop_session(&self, child: &mut Child, pgid: &OnceLock<i32>) {
        // The marker may still be on its way (a session stopped as it starts): the client
        // lives until it arrives, because a client killed before the master has wired its
        // pipes leaves a remote command ordo never hears of.
        let until = Instant::now() + MARKER_WAIT;
        while pgid.get().is_none() && matches!(child.try_wait(), Ok(None)) && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let Some(&group) = pgid.get() else {
            let _ = child.kill();
            let _ = child.wait();
            return;
        };
        self.kill_groups(&[group]);
        // The client last: its session closing makes the watcher on the host kill the
        // group at once, which would skip the grace.
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the process groups `groups` on the host over a new session: SIGTERM, SIGKILL
    /// after the grace.
    fn kill_groups(&self, groups: &[i32]) {
        let mut kill = self.session_ssh();
        kill.arg(format!(
            "exec sh -c {}",
            quote::word(OsStr::new(&quote::kill_script(groups, GRACE_TENTHS))).unwrap_or_default()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Ok(mut killer) = kill.spawn() {
            // The grace runs on the host; past it (and a connect), give up on the host.
            let until = Instant::now()
                + Duration::from_millis(u64::from(GRACE_TENTHS) * 100)
                + self.settings.connect_timeout;
            while matches!(killer.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = killer.kill();
            let _ = killer.wait();
        }
    }
}

/// Whether the master's control socket is in `dir`: ssh binds it under a temporary name
/// (`%C.` and 16 characters) and renames it to `%C` once the connection is up.
fn control_socket_exists(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name != "master.log" && !name.contains('.')
        })
    })
}

/// A new file only its owner can read (ssh's messages name hosts and users).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// The child gets SIGTERM when the thread that started it ends (with ordo, even killed).
#[expect(
    unsafe_code,
    reason = "pre_exec and prctl(2) have no safe wrapper in std"
)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::c_ulong::try_from(libc::SIGTERM).unwrap_or(15),
                0,
                0,
                0,
            );
            Ok(())
        });
    }
}

/// `$XDG_RUNTIME_DIR` when it is a directory short enough for a socket path inside a
/// directory of ours, else `/tmp`. `sun_path` holds 108 bytes (104 on macOS); the socket is
/// `DIR/ordo-XXXXXX/` plus 40 hex digits of `%C` plus the 17 of ssh's temporary name.
fn runtime_dir() -> PathBuf {
    runtime_dir_from(std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from))
}

/// `dir` when ssh can take it in `ControlPath` as it is (no blank, quote, backslash or `%`,
/// which ssh would split or expand), else `/tmp`.
fn runtime_dir_from(dir: Option<PathBuf>) -> PathBuf {
    dir.filter(|d| {
        d.is_absolute()
            && d.is_dir()
            && d.as_os_str().len() <= 30
            && !d
                .to_string_lossy()
                .contains(|c: char| c.is_whitespace() || matches!(c, '%' | '"' | '\'' | '\\'))
    })
    .unwrap_or_else(|| PathBuf::from("/tmp"))
}

#[expect(unsafe_code, reason = "kill(2) has no safe wrapper in std")]
fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) sends a signal (or with 0 checks the pid); it has no memory effects.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Whether `pid` runs. A master detaches from ordo, so when it ends it may stay a zombie
/// until some init reaps it (containers often have none that does): on Linux its state in
/// /proc says so, elsewhere kill(pid, 0) is the best there is.
fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) if Path::new("/proc/self/stat").exists() => false,
        Err(_) => signal(pid, 0),
    }
}

/// ssh's message, without the host-key notice, its last lines kept.
fn ssh_message(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
        .collect();
    // A changed host key: ssh prints the remedy before the problem; say the problem first.
    let remedy = lines
        .iter()
        .position(|l| l.starts_with("ssh-keygen ") && l.contains(" -R "));
    let fix = remedy
        .and_then(|at| lines.get(at))
        .map(|l| (*l).to_string());
    let lines: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != remedy)
        .map(|(_, l)| *l)
        .collect();
    let tail = lines
        .get(
            lines
                .len()
                .saturating_sub(if fix.is_some() { 2 } else { 3 })..,
        )
        .unwrap_or_default();
    let mut text = if tail.is_empty() {
        "ssh failed without a message".to_string()
    } else {
        tail.join("; ")
    };
    if let Some(fix) = fix {
        text.push_str(&format!(
            "; if the new key is the right one, forget the old: {fix}"
        ));
    }
    text
}

/// The remote shell's message for a failed file operation.
fn detail(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = text.trim();
    if text.is_empty() {
        format!("exit code {}", out.code)
    } else {
        cut(text)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `options` (the inventory's `sshOptions`) without what picks a proxy: `-J HOST`,
/// `-JHOST`, and `-o` / `-oKEY=VALUE` / `-o "KEY VALUE"` for `ProxyJump` or `ProxyCommand`
/// (keywords are case-insensitive, as ssh reads them). A `-J` inside a cluster of short
/// flags (`-4J bastion`) is cut from it and the other flags kept. Everything after `--`
/// and every other option passes unchanged, with its value (ssh's own list of the short
/// options that take one, from `ssh.c`'s getopt string).
pub(crate) fn without_proxy(options: &[String]) -> impl Iterator<Item = &str> {
    const TAKES_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";
    let is_proxy_keyword = |text: &str| {
        let key = text
            .trim_start()
            .split(|c: char| c == '=' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        key.eq_ignore_ascii_case("ProxyJump") || key.eq_ignore_ascii_case("ProxyCommand")
    };
    let mut kept: Vec<&str> = Vec::with_capacity(options.len());
    let mut i = 0;
    while let Some(arg) = options.get(i) {
        i += 1;
        if arg == "--" {
            kept.push(arg);
            kept.extend(options.iter().skip(i).map(String::as_str));
            break;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            kept.push(arg);
            continue;
        };
        // The first flag in the cluster that takes a value ends it: the value is the
        // rest of the argument, or the next argument.
        let Some((at, flag)) = flags.char_indices().find(|(_, c)| TAKES_VALUE.contains(*c)) else {
            kept.push(arg);
            continue;
        };
        let inline = &flags[at + flag.len_utf8()..];
        let value = if inline.is_empty() {
            i += 1;
            options.get(i - 1).map(String::as_str)
        } else {
            Some(inline)
        };
        let drop = flag == 'J' || (flag == 'o' && value.is_some_and(is_proxy_keyword));
        if !drop {
            kept.push(arg);
            if inline.is_empty() {
                kept.extend(value);
            }
        } else if at > 0 {
            // `-4J host`: keep `-4`.
            kept.push(&arg[..=at]);
        }
    }
    kept.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_options_are_left_out_of_a_session_client() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cut = |a: &[&str]| {
            super::without_proxy(&v(a))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(cut(&["-J", "b", "-v"]), v(&["-v"]));
        assert_eq!(
            cut(&["-Jb", "-4J", "b", "-o", "Port=2"]),
            v(&["-4", "-o", "Port=2"])
        );
        assert_eq!(
            cut(&[
                "-o",
                "proxycommand=nc %h %p",
                "-oProxyJump=b",
                "-o",
                " ProxyJump b"
            ]),
            Vec::<String>::new()
        );
        // Values that merely look like the options stay, with their flag.
        assert_eq!(
            cut(&["-i", "-J", "-l", "ProxyJump=x"]),
            v(&["-i", "-J", "-l", "ProxyJump=x"])
        );
        assert_eq!(
            cut(&["-F", "none", "--", "-J", "x"]),
            v(&["-F", "none", "--", "-J", "x"])
        );
        assert_eq!(cut(&["-o"]), v(&["-o"]));
    }

    #[test]
    fn socket_paths_stay_short() {
        let dir = runtime_dir();
        // DIR/ordo-XXXXXX/ + 40 (%C) + 17 (ssh's temporary suffix) < 104.
        assert!(
            dir.as_os_str().len() + 1 + 11 + 1 + 40 + 17 < 104,
            "{dir:?}"
        );
    }

    #[test]
    fn a_runtime_dir_ssh_would_split_or_expand_is_not_used() {
        let base = tempfile::tempdir().unwrap();
        for name in ["sp ace", "pct%h", "q'uote"] {
            let d = base.path().join(name);
            std::fs::create_dir(&d).unwrap();
            assert_eq!(runtime_dir_from(Some(d)), PathBuf::from("/tmp"), "{name}");
        }
        let plain = base.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        if plain.as_os_str().len() <= 30 {
            assert_eq!(runtime_dir_from(Some(plain.clone())), plain);
        }
    }

    #[test]
    fn the_socket_dir_and_the_master_log_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let c = Connection::new(
            HostParams::default(),
            Settings {
                runtime_dir: Some(base.path().to_path_buf()),
                ..Settings::default()
            },
        )
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(c.socket_dir()), 0o700);
        let log = c.socket_dir().join("master.log");
        drop(private_file(&log).unwrap());
        assert_eq!(mode(&log), 0o600);
    }

    #[test]
    fn ssh_messages_drop_the_host_key_notice() {
        let text = "Warning: Permanently added '[127.0.0.1]:22' (ED25519) to the list of known hosts.\r\n\
                    ssh: connect to host 127.0.0.1 port 9: Connection refused\r\n";
        assert_eq!(
            ssh_message(text),
            "ssh: connect to host 127.0.0.1 port 9: Connection refused"
        );
        assert_eq!(ssh_message(""), "ssh failed without a message");
        let changed = "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n\
                       Offending ED25519 key in /k:3\n  remove with:\n\
                       ssh-keygen -f \"/k\" -R \"[127.0.0.1]:22\"\n\
                       Host key for [127.0.0.1]:22 has changed and you have requested strict checking.\n\
                       Host key verification failed.\n";
        assert_eq!(
            ssh_message(changed),
            "Host key for [127.0.0.1]:22 has changed and you have requested strict checking.; \
             Host key verification failed.; if the new key is the right one, forget the old: \
             ssh-keygen -f \"/k\" -R \"[127.0.0.1]:22\""
        );
        assert_eq!(hex(&[0xab, 0x01]), "ab01");
    }
}
