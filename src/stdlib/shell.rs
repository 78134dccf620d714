//! `shell::run(cmd)` / `shell::run(cmd, opts)`: run a command and capture its output.
//!
//! A string runs through `sh -c`; an array is an argv run without a shell. Each command runs
//! under a keeper (`contain.rs`) in its own process group: signals go to the group, and the
//! keeper stops the whole tree the command started (`sleep 30 &`, `setsid ...` included) when
//! the command ends or is stopped. Output is captured up to a
//! cap; the run waits for the command's own timeout, the handler call's deadline, or Ctrl-C,
//! whichever comes first.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult, Map};
use rustix::fs::{Mode, OFlags};

use super::beneath::Target;
use super::on_host::{OnHost, Side, on_host};
use super::{Capability, StdModule};
use crate::script::context::{self, CallContext, script_error, script_error_with};
use crate::target::exec::Exec;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Default cap on captured stdout and on captured stderr, each.
const MAX_OUTPUT: usize = 16 << 20;
/// How long a stopped command gets between SIGTERM and SIGKILL (sent by its keeper).
const GRACE: Duration = super::contain::GRACE;
/// How much longer ordo waits for a keeper before killing its group itself.
const KEEPER_MARGIN: Duration = Duration::from_secs(1);
/// The variables of ordo's environment a command gets when its handler may not read the
/// environment (no `env` permission, or `--deny env`): what most programs need to start.
const KEPT_WITHOUT_ENV: [&str; 9] = [
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TERM", "TMPDIR",
];
/// How much of stderr an error message quotes.
const STDERR_TAIL: usize = 2000;

/// The process groups of running commands, so an interrupt can reach all of them.
#[derive(Debug, Default)]
pub struct ProcessGroups {
    running: Mutex<HashSet<i32>>,
}

static GROUPS: std::sync::LazyLock<ProcessGroups> =
    std::sync::LazyLock::new(ProcessGroups::default);

impl ProcessGroups {
    fn add(&self, pgid: i32) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(pgid);
    }

    fn remove(&self, pgid: i32) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&pgid);
    }

    fn signal_all(&self, signal: i32) {
        for pgid in self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            kill_group(*pgid, signal);
        }
    }
}

/// Sends `signal` to every running command's process group (for Ctrl-C: the groups do not
/// get the terminal's signal themselves).
pub fn interrupt_children(signal: i32) {
    GROUPS.signal_all(signal);
}

#[expect(unsafe_code, reason = "kill(2) has no safe wrapper in std")]
fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Sets the command's working directory. Under `--fs-root` the directory is opened beneath
/// its root and the child changes into that descriptor (`fchdir`) before it executes, so
/// the name is not looked up again after the check (issue 15: a directory swapped for a
/// symlink in between ran the command outside the root). Returns the descriptor, which must
/// stay open until the child has started.
fn set_cwd(ctx: &CallContext, command: &mut Command, cwd: &str) -> R<Option<OwnedFd>> {
    let t = Target::new(ctx, "shell::run", cwd)?;
    if !t.confined() {
        command.current_dir(t.path());
        return Ok(None);
    }
    let fd = t
        .open(OFlags::PATH | OFlags::DIRECTORY, Mode::empty())
        .map_err(|e| t.error(&e))?;
    change_dir_in_child(command, fd.as_raw_fd());
    Ok(Some(fd))
}

#[expect(
    unsafe_code,
    reason = "changing into a descriptor in the child needs pre_exec"
)]
fn change_dir_in_child(command: &mut Command, fd: RawFd) {
    // SAFETY: the closure runs in the child between fork and exec and only calls fchdir(2),
    // which is async-signal-safe and touches no memory; `fd` stays open in the parent until
    // the child has started, and the child inherits it until exec.
    unsafe {
        command.pre_exec(move || {
            if libc::fchdir(fd) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

pub(super) struct Options {
    cwd: Option<String>,
    env: Vec<(String, String)>,
    clear_env: bool,
    stdin: Option<String>,
    timeout: Option<Duration>,
    check: bool,
    max_output: usize,
    read_only: bool,
    /// `Some`: the call's `become`; `None`: the host's (`false` on the controller).
    r#become: Option<bool>,
    become_user: Option<String>,
}

pub(super) fn options(opts: &Map) -> R<Options> {
    let mut o = Options {
        cwd: None,
        env: Vec::new(),
        clear_env: false,
        stdin: None,
        timeout: None,
        check: true,
        max_output: MAX_OUTPUT,
        read_only: false,
        r#become: None,
        become_user: None,
    };
    let bad = |key: &str, want: &str| {
        script_error(format!("`shell::run`: option `{key}` must be {want}"), None)
    };
    for (key, value) in opts {
        match key.as_str() {
            "cwd" => {
                o.cwd = Some(
                    value
                        .clone()
                        .into_string()
                        .map_err(|_| bad("cwd", "a string"))?,
                )
            }
            "env" => {
                let map = value
                    .read_lock::<Map>()
                    .ok_or_else(|| bad("env", "a map"))?;
                for (k, v) in map.iter() {
                    let text = match v.clone().into_string() {
                        Ok(s) => s,
                        Err(_) => v.to_string(),
                    };
                    o.env.push((k.to_string(), text));
                }
            }
            "clear_env" => {
                o.clear_env = value.as_bool().map_err(|_| bad("clear_env", "a boolean"))?
            }
            "stdin" => {
                o.stdin = Some(
                    value
                        .clone()
                        .into_string()
                        .map_err(|_| bad("stdin", "a string"))?,
                )
            }
            "timeout" => {
                o.timeout = Some(super::options::seconds(
                    "`shell::run`: option `timeout`",
                    value,
                )?);
            }
            "check" => o.check = value.as_bool().map_err(|_| bad("check", "a boolean"))?,
            "max_output" => {
                let n = value
                    .as_int()
                    .ok()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or_else(|| bad("max_output", "a number of bytes"))?;
                o.max_output = n;
            }
            "read_only" => {
                o.read_only = value.as_bool().map_err(|_| bad("read_only", "a boolean"))?
            }
            "become" => o.r#become = Some(value.as_bool().map_err(|_| bad("become", "a boolean"))?),
            "become_user" => {
                o.become_user = Some(
                    value
                        .clone()
                        .into_string()
                        .map_err(|_| bad("become_user", "a string"))?,
                )
            }
            other => {
                return Err(script_error(
                    format!("`shell::run`: unknown option `{other}`"),
                    Some("options: cwd, env, clear_env, stdin, timeout, check, max_output, read_only, become, become_user".into()),
                ));
            }
        }
    }
    Ok(o)
}

fn argv(cmd: &Dynamic) -> R<Vec<String>> {
    if let Ok(s) = cmd.clone().into_string() {
        return Ok(vec!["sh".into(), "-c".into(), s]);
    }
    if let Some(array) = cmd.read_lock::<rhai::Array>() {
        let args: Option<Vec<String>> =
            array.iter().map(|a| a.clone().into_string().ok()).collect();
        return match args {
            Some(a) if !a.is_empty() => Ok(a),
            _ => Err(script_error(
                "`shell::run`: an argv must be a non-empty array of strings".into(),
                None,
            )),
        };
    }
    Err(script_error(
        format!(
            "`shell::run` takes a string or an array, not {}",
            cmd.type_name()
        ),
        None,
    ))
}

/// How the command is described in messages: its first line, cut at 80 characters. Secrets
/// are masked before the cut, which could leave part of one that the masking of the
/// message would no longer recognise (issue 15).
fn shown(argv: &[String]) -> String {
    let text = match argv {
        [sh, c, script] if sh == "sh" && c == "-c" => script.clone(),
        _ => argv.join(" "),
    };
    let text = crate::events::secrets::masked(&text);
    let first_line = text.lines().next().unwrap_or_default();
    let mut s: String = first_line.chars().take(80).collect();
    if s.len() < text.len() {
        s.push_str(" …");
    }
    s
}

/// Reads a pipe to the end, keeping at most `cap` bytes.
fn read_capped(mut pipe: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0_u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                truncated |= n > room;
            }
        }
    }
    (kept, truncated)
}

enum Stop {
    Timeout(Duration),
    Deadline,
    Interrupted,
}

/// What a command left, wherever it ran.
struct Ran {
    code: i64,
    stdout: Output,
    stderr: Output,
    stop: Option<Stop>,
}

fn run(call: &str, side: Side, cmd: &Dynamic, opts: &Map) -> R<Map> {
    let ctx = context::require(call)?;
    let o = options(opts)?;
    context::within_ceiling(
        call,
        "max_output",
        u64::try_from(o.max_output).unwrap_or(u64::MAX),
        "string length",
        ctx.limits.max_string_size,
    )?;
    if !o.read_only {
        ctx.require_mutation(call).map_err(|_| {
            script_error(
                format!(
                    "`{call}` may change things, and `{}` is read-only",
                    ctx.read_only_command()
                ),
                Some("mark commands that only look with `#{ read_only: true }`".into()),
            )
        })?;
    }
    let argv = argv(cmd)?;
    let what = shown(&argv);

    let Some(program) = argv.first().cloned() else {
        return Err(script_error(
            format!("`{call}`: an argv must be a non-empty array of strings"),
            None,
        ));
    };
    let twin = ctx.ask_twin(crate::script::TwinCall::Shell {
        argv: &argv,
        script: cmd
            .read_lock::<rhai::ImmutableString>()
            .as_deref()
            .map(|s| s.as_str()),
    });
    let ran = match (twin, on_host(call, None, side)?) {
        (Some(answer), _) => mocked(&answer?),
        (None, Some(h)) => run_there(&h, call, argv, &o, &what)?,
        (None, None) => run_here(&ctx, call, &argv, &o, &program)?,
    };
    let code = ran.code;
    let (stdout, out_cut) = ran.stdout;
    let (stderr, err_cut) = ran.stderr;
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();

    // A command that ended on the run's own interrupt (the signal reached it before the
    // loop above saw it) was stopped, whatever its exit code says.
    let stop = ran
        .stop
        .or_else(|| (code != 0 && ctx.cancelled()).then_some(Stop::Interrupted));
    if matches!(stop, Some(Stop::Interrupted)) {
        return Err(context::interrupted());
    }
    if let Some(stop) = stop {
        let mut fields = Map::new();
        fields.insert("stderr".into(), tail(&stderr).into());
        let message = match stop {
            Stop::Timeout(d) => format!(
                "command `{what}` timed out after {} s and was killed",
                d.as_secs_f64()
            ),
            Stop::Deadline => {
                format!("command `{what}` was killed: the handler call reached its timeout")
            }
            Stop::Interrupted => format!("command `{what}` was stopped: the run was interrupted"),
        };
        return Err(script_error_with(message, fields));
    }

    let mut out = Map::new();
    out.insert("code".into(), code.into());
    out.insert("ok".into(), (code == 0).into());
    out.insert("stdout".into(), stdout.into());
    out.insert("stderr".into(), stderr.clone().into());
    out.insert("truncated".into(), (out_cut || err_cut).into());
    if o.check && code != 0 {
        let mut fields = out.clone();
        fields.insert("stderr".into(), tail(&stderr).into());
        let detail = tail(&stderr);
        let message = if detail.trim().is_empty() {
            format!("command `{what}` exited with code {code}")
        } else {
            format!(
                "command `{what}` exited with code {code}: {}",
                detail.trim_end()
            )
        };
        let mut err = script_error_with(message, fields);
        if let EvalAltResult::ErrorRuntime(v, _) = err.as_mut()
            && let Some(mut m) = v.write_lock::<Map>()
        {
            m.insert(
                "help".into(),
                "pass `#{ check: false }` to handle the exit code yourself".into(),
            );
        }
        return Err(err);
    }
    Ok(out)
}

/// What a mock twin (`ordo test`) said a command did: `#{ code, stdout, stderr }`.
fn mocked(answer: &Dynamic) -> Ran {
    let map = answer.read_lock::<Map>();
    let field = |key: &str| {
        map.as_ref()
            .and_then(|m| m.get(key))
            .and_then(|v| v.clone().into_string().ok())
            .unwrap_or_default()
            .into_bytes()
    };
    Ran {
        code: map
            .as_ref()
            .and_then(|m| m.get("code"))
            .and_then(|c| c.as_int().ok())
            .unwrap_or(0),
        stdout: (field("stdout"), false),
        stderr: (field("stderr"), false),
        stop: None,
    }
}

/// The words `become` puts before a command on the controller: `sudo -n [-u USER] --`, and
/// the environment after `sudo` (whose `env_reset` would drop it).
fn become_here(o: &Options, argv: &[String]) -> Option<Vec<String>> {
    let on = o.r#become.unwrap_or(o.become_user.is_some());
    if !on {
        return None;
    }
    let mut words: Vec<String> = vec!["sudo".into(), "-n".into()];
    if let Some(user) = &o.become_user {
        words.push("-u".into());
        words.push(user.clone());
    }
    words.push("--".into());
    if !o.env.is_empty() {
        words.push("env".into());
        words.push("--".into());
        words.extend(o.env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    words.extend(argv.iter().cloned());
    Some(words)
}

/// Whether a `sudo -n` refused for want of a password or a terminal.
fn sudo_wants_password(code: i64, stderr: &[u8]) -> bool {
    code == 1
        && String::from_utf8_lossy(stderr).lines().any(|l| {
            l.starts_with("sudo:")
                && (l.contains("password is required")
                    || l.contains("a terminal is required")
                    || l.contains("no tty present"))
        })
}

/// Runs the command on the controller, under a keeper.
fn run_here(ctx: &CallContext, call: &str, argv: &[String], o: &Options, program: &str) -> R<Ran> {
    let becoming = become_here(o, argv);
    // Under a keeper, so that nothing the command starts outlives it (`contain.rs`).
    let mut command = super::contain::keeper_command(becoming.as_deref().unwrap_or(argv));
    // Held until the child has started: it changes into this descriptor.
    let _cwd = match &o.cwd {
        Some(cwd) => set_cwd(ctx, &mut command, cwd)?,
        None => None,
    };
    if o.clear_env {
        command.env_clear();
    } else if !ctx.allows(Capability::Env) {
        // The environment is the `env` capability (issue 15): without it, a command gets
        // what the handler passes and the few variables below, none of them a secret.
        command.env_clear();
        for name in KEPT_WITHOUT_ENV {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
    }
    if becoming.is_none() {
        command.envs(o.env.iter().map(|(k, v)| (k, v)));
    }
    command.stdin(if o.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command.process_group(0);

    let mut child = command
        .spawn()
        .map_err(|e| script_error(format!("`{call}`: cannot start `{program}`: {e}"), None))?;
    let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    GROUPS.add(pgid);
    let result = supervise(ctx, &mut child, pgid, o);
    GROUPS.remove(pgid);
    let (status, stdout, stderr, stop) = result?;

    let code = status
        .code()
        .map_or_else(|| 128 + i64::from(status.signal().unwrap_or(0)), i64::from);
    if code == i64::from(super::contain::CANNOT_START_CODE)
        && let Some(why) =
            String::from_utf8_lossy(&stderr.0).strip_prefix(super::contain::CANNOT_START)
    {
        return Err(script_error(
            format!("`{call}`: cannot start `{program}`: {why}"),
            None,
        ));
    }
    if becoming.is_some() && stop.is_none() && sudo_wants_password(code, &stderr.0) {
        return Err(script_error(
            format!(
                "`{call}`: `sudo -n` wants a password to run as `{}`: become never types one",
                o.become_user.as_deref().unwrap_or("root")
            ),
            Some("allow passwordless sudo (NOPASSWD) for this user, or drop `become`".into()),
        ));
    }
    Ok(Ran {
        code,
        stdout,
        stderr,
        stop,
    })
}

/// Runs the command on the call's host, in one session; a timeout or an interrupt kills
/// its remote process group (the transport does it).
fn run_there(h: &OnHost, call: &str, argv: Vec<String>, o: &Options, what: &str) -> R<Ran> {
    let ctx = &h.ctx;
    let cwd = match &o.cwd {
        // Under the host's fsRoot the directory is resolved and checked there first.
        Some(dir) if h.host.fs_root.is_some() => Some(h.fs().dir(dir).map_err(|e| h.error(e))?),
        Some(dir) if !dir.starts_with('/') => {
            return Err(h.error(crate::target::TransportError::NotAbsolute {
                host: h.host.name.clone(),
                path: dir.clone(),
            }));
        }
        other => other.clone(),
    };
    // The call's own timeout, or the handler call's deadline, whichever comes first.
    let remaining = ctx.remaining();
    let own_first = match (o.timeout, remaining) {
        (Some(t), Some(r)) => t <= r,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let limit = if own_first { o.timeout } else { remaining };
    let exec = Exec {
        argv,
        env: o.env.clone(),
        clear_env: o.clear_env,
        cwd,
        stdin: o.stdin.clone().map(String::into_bytes),
        timeout: limit,
        max_output: o.max_output,
        r#become: o.r#become,
        become_user: o.become_user.clone(),
    };
    match h.host.exec(&exec) {
        Ok(out) => Ok(Ran {
            code: i64::from(out.code),
            stdout: (out.stdout, out.truncated),
            stderr: (out.stderr, out.truncated),
            stop: None,
        }),
        Err(crate::target::TransportError::TimedOut { .. }) => Ok(Ran {
            code: 128 + 9,
            stdout: (Vec::new(), false),
            stderr: (Vec::new(), false),
            stop: Some(match (own_first, o.timeout) {
                (true, Some(t)) => Stop::Timeout(t),
                _ => Stop::Deadline,
            }),
        }),
        Err(crate::target::TransportError::BadArgument { host, reason, .. }) => Err(script_error(
            format!("`{call}`: cannot send the command `{what}` to `{host}`: {reason}"),
            None,
        )),
        Err(e) => Err(h.error(e)),
    }
}

/// The last [`STDERR_TAIL`] bytes of `text`, for messages; secrets masked before the cut.
fn tail(text: &str) -> String {
    let text = crate::events::secrets::mask(text);
    let text = text.as_ref();
    let start = text.len().saturating_sub(STDERR_TAIL);
    let start = (start..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

type Output = (Vec<u8>, bool);

/// Feeds stdin, drains the pipes, and waits for the end or a reason to stop.
fn supervise(
    ctx: &CallContext,
    child: &mut std::process::Child,
    pgid: i32,
    o: &Options,
) -> R<(std::process::ExitStatus, Output, Output, Option<Stop>)> {
    let started = Instant::now();
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), o.stdin.clone()) {
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let cap = o.max_output;
    let (out_tx, out_rx) = mpsc::channel();
    let (err_tx, err_rx) = mpsc::channel();
    if let Some(pipe) = child.stdout.take() {
        std::thread::spawn(move || out_tx.send(read_capped(pipe, cap)));
    }
    if let Some(pipe) = child.stderr.take() {
        std::thread::spawn(move || err_tx.send(read_capped(pipe, cap)));
    }

    let own_deadline = o.timeout.and_then(|t| started.checked_add(t));
    let mut stop = None;
    let mut killed_at: Option<Instant> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                return Err(script_error(
                    format!("`shell::run`: waiting for the command failed: {e}"),
                    None,
                ));
            }
        }
        let now = Instant::now();
        if stop.is_none() {
            stop = if ctx.cancelled() {
                Some(Stop::Interrupted)
            } else if own_deadline.is_some_and(|d| now >= d) {
                o.timeout.map(Stop::Timeout)
            } else if ctx.deadline.is_some_and(|d| now >= d) {
                Some(Stop::Deadline)
            } else {
                None
            };
            if stop.is_some() {
                kill_group(pgid, libc::SIGTERM);
                killed_at = Some(now);
            }
        }
        // The keeper sends SIGKILL to the whole tree after its own grace; this one, later,
        // only matters if the keeper itself does not end.
        if killed_at.is_some_and(|k| now.duration_since(k) >= GRACE + KEEPER_MARGIN) {
            kill_group(pgid, libc::SIGKILL);
        }
        // Poll quickly at first (most commands are short), then back off.
        let waited = now.duration_since(started);
        std::thread::sleep(if waited < Duration::from_millis(20) {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(10)
        });
    };
    // A keeper that died by a signal may have been killed by its own command: what it kept
    // is ordo's now, and is stopped at once, not at the end of the run (`contain.rs`).
    if std::os::unix::process::ExitStatusExt::signal(&status).is_some() {
        super::contain::sweep_group(child.id());
    }
    // The direct child is gone; stragglers in its group (`cmd &`) may still hold the pipes.
    // They are waited for like a shell would, but not past a timeout.
    let collect = |rx: mpsc::Receiver<Output>, stop: &mut Option<Stop>| -> Output {
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(out) => return out,
                Err(mpsc::RecvTimeoutError::Disconnected) => return (Vec::new(), false),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    let late = ctx.cancelled()
                        || own_deadline.is_some_and(|d| now >= d)
                        || ctx.deadline.is_some_and(|d| now >= d);
                    if late {
                        if stop.is_none() {
                            *stop = if ctx.cancelled() {
                                Some(Stop::Interrupted)
                            } else {
                                o.timeout
                                    .filter(|_| own_deadline.is_some_and(|d| now >= d))
                                    .map_or(Some(Stop::Deadline), |t| Some(Stop::Timeout(t)))
                            };
                        }
                        kill_group(pgid, libc::SIGKILL);
                        return rx.recv_timeout(GRACE).unwrap_or_default();
                    }
                }
            }
        }
    };
    let stdout = collect(out_rx, &mut stop);
    let stderr = collect(err_rx, &mut stop);
    if stop.is_some() {
        kill_group(pgid, libc::SIGKILL);
    }
    Ok((status, stdout, stderr, stop))
}

/// `local::run`: `shell::run` on the controller, whatever the call's target.
pub(super) fn run_local(cmd: &Dynamic, opts: &Map) -> R<Map> {
    run("local::run", Side::Controller, cmd, opts)
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("shell");
    fallible!(&mut m, "run", needs[Shell], |cmd: Dynamic| run(
        "shell::run",
        Side::Target,
        &cmd,
        &Map::new()
    ));
    fallible!(&mut m, "run", needs[Shell], |cmd: Dynamic, opts: Map| run(
        "shell::run",
        Side::Target,
        &cmd,
        &opts
    ));
    m
}
