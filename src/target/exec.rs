//! `shell::run` on a host: the argv, its environment, directory, input and limits, run in
//! one session, through `sudo -n` when the call or the host asks for `become`.
//!
//! `become` runs `sudo -n [-u USER] -- [env -i] sh -c READER`: `-n` never prompts, so a
//! `sudo` that wants a password fails at once with [`TransportError::BecomeNeedsPassword`]
//! instead of hanging; the environment (`export K=V`) and the argv reach the shell under
//! `sudo` on stdin (`quote.rs`), never in `sudo`'s argv, and are set after `sudo` (whose
//! `env_reset` would drop them). The working directory is entered by the login shell
//! before `sudo` starts.
//!
//! A timeout or an interrupt kills the remote process group over a second channel (the
//! transport does it, `ssh.rs`); under `become` the group's leader is `sudo`, which relays
//! SIGTERM to its command. A command that escapes to another user's processes in another
//! group is not reached, as locally.

use std::ffi::OsString;
use std::time::Duration;

use super::RemoteHost;
use super::error::TransportError;
use super::quote;
use super::ssh::{MAX_OUTPUT, Output, RemoteCommand};

/// A command for a host, as `shell::run` describes it.
#[derive(Debug, Clone)]
pub struct Exec {
    /// Program first; a shell string is `["sh", "-c", text]`.
    pub argv: Vec<String>,
    /// Variables added to its environment.
    pub env: Vec<(String, String)>,
    /// Start from an empty environment (`env -i`).
    pub clear_env: bool,
    /// Working directory on the host.
    pub cwd: Option<String>,
    /// Its standard input.
    pub stdin: Option<Vec<u8>>,
    /// Kill its remote process group after this long.
    pub timeout: Option<Duration>,
    /// Bytes kept of stdout and of stderr, each.
    pub max_output: usize,
    /// `Some(b)`: the call's `become`; `None`: the host's.
    pub r#become: Option<bool>,
    /// The call's `become_user` (implies `become` unless it is `false`); `None`: the host's.
    pub become_user: Option<String>,
}

impl Exec {
    /// The command `argv` with no options.
    #[must_use]
    pub fn new(argv: Vec<String>) -> Exec {
        Exec {
            argv,
            env: Vec::new(),
            clear_env: false,
            cwd: None,
            stdin: None,
            timeout: None,
            max_output: MAX_OUTPUT,
            r#become: None,
            become_user: None,
        }
    }
}

/// Whether and as whom a command becomes another user: `Some(None)` root, `Some(Some(u))`
/// user `u`, `None` no `sudo`.
fn becomes(
    host: &RemoteHost,
    call: Option<bool>,
    call_user: Option<&str>,
) -> Option<Option<String>> {
    let on = call.unwrap_or(host.r#become || call_user.is_some());
    on.then(|| {
        call_user
            .map(str::to_string)
            .or_else(|| host.become_user.clone())
    })
}

/// The `sudo -n [-u USER] --` words a command starts with, or none.
pub(super) fn become_prefix(
    host: &RemoteHost,
    call: Option<bool>,
    call_user: Option<&str>,
) -> Vec<OsString> {
    let Some(user) = becomes(host, call, call_user) else {
        return Vec::new();
    };
    let mut words: Vec<OsString> = vec!["sudo".into(), "-n".into()];
    if let Some(user) = user {
        words.push("-u".into());
        words.push(user.into());
    }
    words.push("--".into());
    words
}

/// The error for a `sudo -n` that refused to run without a password (or a terminal), if
/// that is what `out` is.
pub(super) fn sudo_refusal(
    host: &RemoteHost,
    call_user: Option<&str>,
    out: &Output,
) -> Option<TransportError> {
    if out.code != 1 {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let wants = text.lines().any(|l| {
        l.starts_with("sudo:")
            && (l.contains("password is required")
                || l.contains("a terminal is required")
                || l.contains("no tty present"))
    });
    wants.then(|| TransportError::BecomeNeedsPassword {
        host: host.name.clone(),
        user: call_user
            .map(str::to_string)
            .or_else(|| host.become_user.clone())
            .unwrap_or_else(|| "root".into()),
    })
}

impl RemoteHost {
    /// Runs `cmd` on this host. A command that exits non-zero is an [`Output`]; errors are
    /// the transport's and a `sudo` that wants a password.
    ///
    /// # Errors
    ///
    /// [`TransportError`]: unreachable, timed out, interrupted, a bad argument, `sudo`.
    pub fn exec(&self, cmd: &Exec) -> Result<Output, TransportError> {
        let prefix = become_prefix(self, cmd.r#become, cmd.become_user.as_deref());
        let becoming = !prefix.is_empty();
        for (k, _) in &cmd.env {
            if !quote::is_env_name(k) {
                return Err(TransportError::BadArgument {
                    host: self.name.clone(),
                    what: format!("the environment variable `{k}`"),
                    reason: "not a name ([A-Za-z_][A-Za-z0-9_]*)".into(),
                });
            }
        }
        let mut remote = RemoteCommand::new(cmd.argv.iter().map(OsString::from))
            .max_output(cmd.max_output)
            .prefix(prefix)
            .clear_env(cmd.clear_env);
        for (k, v) in &cmd.env {
            remote = remote.env(k, v);
        }
        if let Some(dir) = &cmd.cwd {
            remote = remote.cwd(dir);
        }
        if let Some(input) = &cmd.stdin {
            remote = remote.stdin(input.clone());
        }
        if let Some(limit) = cmd.timeout {
            remote = remote.timeout(limit);
        }
        let out = self.connection.run(&remote)?;
        if becoming && let Some(e) = sudo_refusal(self, cmd.become_user.as_deref(), &out) {
            return Err(e);
        }
        Ok(out)
    }
}
