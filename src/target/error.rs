//! What can go wrong when ordo acts on a host: the connection, the command line, the
//! command's own limits. A command that ran and exited non-zero is not an error here; its
//! exit code is part of its [`Output`](super::ssh::Output).

use std::time::Duration;

/// A failure of the transport, as opposed to a command that ran and failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The host could not be reached, or the connection broke before the command started:
    /// the status `unreachable`, never a command's own exit code 255.
    #[error("host `{host}` is unreachable: {detail}")]
    Unreachable { host: String, detail: String },
    /// The command ran past its timeout; its remote process group was killed.
    #[error("command `{command}` on `{host}` timed out after {} s and was killed", .after.as_secs_f64())]
    TimedOut {
        host: String,
        command: String,
        after: Duration,
    },
    /// The run was interrupted (Ctrl-C); the command's remote process group was killed.
    #[error("command `{command}` on `{host}` was stopped: the run was interrupted")]
    Interrupted { host: String, command: String },
    /// An argument that cannot be sent in a remote command line.
    #[error("cannot send {what} to `{host}`: {reason}")]
    BadArgument {
        host: String,
        what: String,
        reason: String,
    },
    /// The local `ssh` program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// A file operation ran and failed on the host (the remote shell's message).
    #[error("{action} `{path}` on `{host}` failed: {detail}")]
    FileFailed {
        host: String,
        action: &'static str,
        path: String,
        detail: String,
    },
    /// A remote file is missing.
    #[error("`{path}` on `{host}` does not exist")]
    NotFound { host: String, path: String },
    /// A remote file is larger than the read allows.
    #[error("`{path}` on `{host}` is larger than {limit} bytes")]
    TooLarge {
        host: String,
        path: String,
        limit: usize,
    },
    /// A remote path that is not absolute (remote paths must be).
    #[error("`{path}` on `{host}` is not an absolute path (remote paths must start with `/`)")]
    NotAbsolute { host: String, path: String },
    /// A remote path that leaves the host's `fsRoot` (a `..`, or a symlink to outside).
    #[error("`{path}` on `{host}` is outside the host's fsRoot `{root}`")]
    OutsideRoot {
        host: String,
        path: String,
        root: String,
    },
    /// A process's environment (`/proc/PID/environ`), which needs the `env` capability.
    #[error("`{path}` on `{host}` is a process's environment")]
    Environ { host: String, path: String },
    /// A regular file with several hard links, which is not changed in place under `fsRoot`.
    #[error(
        "`{path}` on `{host}` has more than one hard link, and under the host's fsRoot a file with other names is not changed in place (they may be outside the root)"
    )]
    HardLinks { host: String, path: String },
    /// `sudo -n` wants a password (or a terminal), which ordo never gives.
    #[error(
        "`sudo -n` on `{host}` wants a password to run as `{user}`: become never types one; allow the login user passwordless sudo (NOPASSWD) for it, or drop `become`"
    )]
    BecomeNeedsPassword { host: String, user: String },
    /// The host's sshd refused a new session on the master connection (its `MaxSessions`);
    /// the transport lowers the host's slots and retries, so this reaches no handler.
    #[error("host `{host}` refused a session: {detail}")]
    SessionRefused { host: String, detail: String },
    /// The control socket directory could not be made.
    #[error("cannot make a directory for the control sockets in `{dir}`: {source}")]
    SocketDir { dir: String, source: std::io::Error },
}

impl TransportError {
    /// Whether this is a connection failure (status `unreachable`), not a failed command.
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        matches!(self, TransportError::Unreachable { .. })
    }
}
