//! The top-level error and the one place that maps outcomes to exit codes.

use crate::diagnostic::Diagnostic;

/// Exit codes, as documented in the README (DESIGN.md §1).
pub mod exit {
    pub const SUCCESS: i32 = 0;
    /// A handler failed during the run.
    pub const FAILED: i32 = 1;
    /// The command line is wrong.
    pub const USAGE: i32 = 2;
    /// The input is invalid; nothing was executed.
    pub const INPUT: i32 = 3;
    /// `plan --detailed-exitcode`: changes are pending.
    pub const PENDING: i32 = 4;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{} input error{}; nothing was run", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Input(Vec<Diagnostic>),
    #[error("{failed} manifest{} failed", if *failed == 1 { "" } else { "s" })]
    RunFailed { failed: usize },
    #[error("interrupted")]
    Interrupted,
    /// The question before deleting was not answered `yes`: nothing ran.
    #[error("cancelled: nothing was deleted")]
    Cancelled,
    /// `plan --detailed-exitcode` found changes.
    #[error("changes are pending")]
    Pending,
    /// The state file could not be read, locked or written.
    #[error("{}", .0.message)]
    State(Box<Diagnostic>),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Input(_) => exit::INPUT,
            Error::RunFailed { .. } | Error::Internal(_) | Error::State(_) | Error::Cancelled => {
                exit::FAILED
            }
            Error::Interrupted => exit::INTERRUPTED,
            Error::Pending => exit::PENDING,
        }
    }
}

/// Panics on purpose when `ORDO_DEBUG_PANIC` names this point: `main` (on the main thread,
/// once the command line is read) or `manifest:NAME` (while running manifest NAME). A bug
/// cannot be ordered up any other way, and the tests must see what a user sees when one
/// happens: a request for a report, no backtrace, a non-zero exit.
#[expect(clippy::panic, reason = "a deliberate panic is the whole point")]
pub fn debug_panic(point: &str, name: &str) {
    static WANTED: std::sync::LazyLock<Option<String>> =
        std::sync::LazyLock::new(|| std::env::var("ORDO_DEBUG_PANIC").ok());
    let Some(wanted) = WANTED.as_deref() else {
        return;
    };
    let hit = match wanted.split_once(':') {
        Some((p, n)) => p == point && n == name,
        None => wanted == point && name.is_empty(),
    };
    if hit {
        panic!("deliberate panic at `{wanted}`, asked for by ORDO_DEBUG_PANIC");
    }
}
