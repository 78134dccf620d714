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
    /// `apply --rollback-on-failure`: changed by the run, then undone.
    RolledBack,
    /// `apply --rollback-on-failure`: its undo failed (the rollback stopped there).
    RollbackFailed,
    /// `apply --rollback-on-failure`: to undo, but not undone (no way to, or the rollback
    /// stopped first).
    NotRolledBack,
    /// `verify`: the handler's `verify` passed.
    Verified,
    /// `verify` of a `metadata.verify: advisory` manifest failed: a warning, not a failure.
    Warned,
    /// `run ACTION`: the action ran.
    Done,
    /// Shown as `skipped`: the handler has no such function (`verify`, an action), so
    /// nothing ran; unlike [`Status::Skipped`] it holds nothing back that depends on it.
    Absent,
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
            Status::RolledBack => "rolled_back",
            Status::RollbackFailed => "rollback_failed",
            Status::NotRolledBack => "not_rolled_back",
            Status::Verified => "verified",
            Status::Warned => "warning",
            Status::Done => "done",
            Status::Absent => "skipped",
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
    pub rolled_back: usize,
    pub rollback_failed: usize,
    pub not_rolled_back: usize,
    /// Kept by `metadata.rollback` (or an earlier `serial` batch): they keep `changed`.
    pub kept: usize,
    /// A rollback ran (`apply --rollback-on-failure`): `rolled_back`, `rollback_failed`,
    /// `not_rolled_back` and `kept` are then its counts, as its `rollback:` line gives
    /// them (the failed manifest's undo included), and always reported.
    pub rollback: bool,
    pub verified: usize,
    pub warned: usize,
    pub done: usize,
}

impl Summary {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Changed => self.changed += 1,
            Status::Unchanged => self.unchanged += 1,
            Status::Failed => self.failed += 1,
            Status::Unreachable => self.unreachable += 1,
            Status::Interrupted => self.interrupted += 1,
            Status::Skipped | Status::Absent => self.skipped += 1,
            Status::Pending => self.pending += 1,
            Status::Orphaned => self.orphaned += 1,
            Status::RolledBack => self.rolled_back += 1,
            Status::RollbackFailed => self.rollback_failed += 1,
            Status::NotRolledBack => self.not_rolled_back += 1,
            Status::Verified => self.verified += 1,
            Status::Warned => self.warned += 1,
            Status::Done => self.done += 1,
        }
    }

    /// Takes one manifest out of the count of `status` (a changed one the rollback undid
    /// is counted again under its new status).
    pub fn remove(&mut self, status: Status) {
        let slot = match status {
            Status::Changed => &mut self.changed,
            Status::Unchanged => &mut self.unchanged,
            Status::Failed => &mut self.failed,
            Status::Unreachable => &mut self.unreachable,
            Status::Interrupted => &mut self.interrupted,
            Status::Skipped | Status::Absent => &mut self.skipped,
            Status::Pending => &mut self.pending,
            Status::Orphaned => &mut self.orphaned,
            Status::RolledBack => &mut self.rolled_back,
            Status::RollbackFailed => &mut self.rollback_failed,
            Status::NotRolledBack => &mut self.not_rolled_back,
            Status::Verified => &mut self.verified,
            Status::Warned => &mut self.warned,
            Status::Done => &mut self.done,
        };
        *slot = slot.saturating_sub(1);
    }
}
