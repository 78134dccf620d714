//! Asking before deleting: on a terminal, `ordo delete` and `ordo apply --prune` list what
//! they are about to delete and go on only on `yes`, as `terraform destroy` does.
//!
//! Nothing asks when standard input is not a terminal (CI, a pipe, `< /dev/null`), nor
//! with `--yes`: scripts keep working as they are. The lock is already held while the
//! question waits, so what was listed is what runs.

use std::io::{BufRead, IsTerminal, Write};

use crate::cli::Config;
use crate::error::Error;

/// The most names listed; the rest are counted.
const LISTED: usize = 50;

/// What is about to be deleted, one line each: the manifest (or `name@host`) and its kind.
pub(super) struct Deletion {
    pub name: String,
    pub kind: String,
}

/// Asks on the terminal whether to delete `deletions` (`verb` is the command, as shown);
/// `Ok` to go on. Only `yes` goes on; any other answer, or the end of input, is
/// [`Error::Cancelled`] (exit 1), and nothing has run.
pub(super) fn deletions(config: &Config, verb: &str, deletions: &[Deletion]) -> Result<(), Error> {
    if config.yes || deletions.is_empty() || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    let count = deletions.len();
    let _ = writeln!(
        err,
        "`{verb}` will delete {count} {} in environment `{}`:",
        if count == 1 { "manifest" } else { "manifests" },
        config.env,
    );
    for d in deletions.iter().take(LISTED) {
        let _ = writeln!(err, "  - {} ({})", d.name, d.kind);
    }
    if count > LISTED {
        let _ = writeln!(err, "  ... and {} more", count - LISTED);
    }
    let _ = write!(
        err,
        "Delete them? Only `yes` goes on (--yes skips this question): "
    );
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    let read = std::io::stdin().lock().read_line(&mut answer);
    match read {
        Ok(n) if n > 0 && answer.trim() == "yes" => Ok(()),
        _ => {
            if answer.is_empty() {
                // Ctrl-D: end the prompt's line.
                eprintln!();
            }
            Err(Error::Cancelled)
        }
    }
}
