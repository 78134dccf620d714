//! The status of a manifest after a run, and the counts of a run.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The handler function ran.
    Changed,
    /// `check` said there was nothing to do.
    Unchanged,
    /// The handler threw or timed out.
    Failed,
    /// The instance's host could not be reached (DESIGN §13): the connection failed, as
    /// opposed to a command that ran and failed.
    Unreachable,
    /// Cut by Ctrl-C or SIGTERM while its handler ran.
    Interrupted,
    /// Not run: a dependency failed, or the run stopped first.
    Skipped,
    /// `plan` only: `check` says there is work to do.
    Pending,
    /// `plan` only: in the state file, gone from the manifests.
    Orphaned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
            Status::Interrupted => "interrupted",
            Status::Skipped => "skipped",
            Status::Pending => "pending",
            Status::Orphaned => "orphaned",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub changed: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub unreachable: usize,
    pub interrupted: usize,
    pub skipped: usize,
    pub pending: usize,
    pub orphaned: usize,
}

impl Summary {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Changed => self.changed += 1,
            Status::Unchanged => self.unchanged += 1,
            Status::Failed => self.failed += 1,
            Status::Unreachable => self.unreachable += 1,
            Status::Interrupted => self.interrupted += 1,
            Status::Skipped => self.skipped += 1,
            Status::Pending => self.pending += 1,
            Status::Orphaned => self.orphaned += 1,
        }
    }
}
