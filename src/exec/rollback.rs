//! `apply --rollback-on-failure` (DESIGN §14): after a failure (or Ctrl-C), what the run
//! changed is undone, one manifest at a time, in the exact reverse of the order the
//! manifests finished, the failed one included (its handler sees `m.failed`).
//!
//! Per manifest, the first way that applies ([`Undo`]): the handler's `rollback(m, prev)`;
//! `delete(m)` for a manifest new in the run; `apply` with the spec it had before the run
//! (`m.action == "rollback"`, secrets resolved again from the sources, never the masked
//! text of the state); otherwise it is `not_rolled_back`. `metadata.rollback: never` keeps
//! what the run did, `newOnly` undoes only what the run created. A failed manifest whose
//! `apply` never started (it failed while preparing, in `check`, or only in `verify`) has
//! nothing to undo and is left alone. The first undo that fails stops the rollback
//! (`rollback_failed`; the rest `not_rolled_back`), unless it is the undo of a failed
//! manifest itself (recorded, the rest goes on); so do a Ctrl-C during the rollback and a
//! lost state lock. `plan --rollback-on-failure` reports the same choice per
//! pending manifest, before anything runs.
//!
//! With `serial`, the batches of the failed manifest that finished before the failed one
//! stay, and so does everything they depend on: only the failed batch (and what ran
//! alongside or after it) is undone.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Map};

use super::runner::{Failure, Outcome, Runner, Unresolved};
use crate::diagnostic::Diagnostic;
use crate::events::{Event, Status, StepInfo, Summary};
use crate::handler::Handler;
use crate::manifest::{Action, Manifest, RollbackMode};
use crate::planner::{Plan, Step};

/// Set while a rollback runs (the Ctrl-C handler says what a press stops).
static ROLLING_BACK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a rollback is running now.
pub fn rolling_back() -> bool {
    ROLLING_BACK.load(Ordering::SeqCst)
}

/// What the forward run left, for its rollback.
pub(super) struct Forward<'p> {
    pub plan: &'p Plan,
    pub infos: &'p [Arc<StepInfo>],
    /// The steps that ran, in the order they finished.
    pub order: &'p [usize],
    /// Per step of an instance, its `serial` batch (batches of one manifest in order).
    pub batch_of: &'p [Option<usize>],
    /// The run was interrupted (Ctrl-C, SIGTERM).
    pub interrupted: bool,
}

/// How one manifest is undone.
#[derive(Clone, Debug)]
pub(super) enum Undo {
    /// `fn rollback(m, prev)`.
    Handler,
    /// `delete(m)`: the manifest is new in the run.
    Delete,
    /// `apply` of the manifest as it was before the run.
    Reapply(Box<Manifest>),
    /// `metadata.rollback` keeps it as the run left it.
    Kept(RollbackMode),
    /// With `serial`: it stays, as an earlier batch of the failed manifest (or what one
    /// depends on) did; why.
    Stays(String),
    /// No way to undo it: why.
    Impossible(String),
    /// A failed (or interrupted) manifest whose `apply` never started in the run (it
    /// failed while preparing, in `check`, or only its `verify` failed): it changed
    /// nothing, so nothing is undone and its handler is not called.
    Nothing,
}

impl Undo {
    /// As `plan --rollback-on-failure` and the report show it.
    pub(super) fn text(&self) -> String {
        match self {
            Undo::Handler => "handler rollback()".into(),
            Undo::Delete => "delete (new)".into(),
            Undo::Reapply(_) => "re-apply previous spec".into(),
            Undo::Kept(mode) => format!("none (metadata.rollback: {})", mode.as_str()),
            Undo::Stays(why) => format!("none ({why})"),
            Undo::Impossible(why) => format!("impossible ({why})"),
            Undo::Nothing => "nothing to undo (apply did not run)".into(),
        }
    }
}

/// What happened to one manifest of the rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Undone {
    RolledBack,
    Failed,
    NotRolledBack,
    Kept,
    /// [`Undo::Nothing`]: counted nowhere, its status stays.
    Nothing,
}

impl Undone {
    fn as_str(self) -> &'static str {
        match self {
            Undone::RolledBack => "rolled_back",
            Undone::Failed => "rollback_failed",
            Undone::NotRolledBack => "not_rolled_back",
            Undone::Kept => "kept",
            Undone::Nothing => "nothing_to_undo",
        }
    }

    /// The status of a manifest the run changed, once this happened to it.
    fn status(self) -> Status {
        match self {
            Undone::RolledBack => Status::RolledBack,
            Undone::Failed => Status::RollbackFailed,
            Undone::NotRolledBack => Status::NotRolledBack,
            Undone::Kept => Status::Changed,
            Undone::Nothing => Status::Failed,
        }
    }
}

impl Runner<'_> {
    /// How `m` (run by `step`) would be undone.
    pub(super) fn undo_strategy(&self, step: &Step, m: &Manifest, handler: &Handler) -> Undo {
        if step.function != Action::Apply {
            return Undo::Impossible("it ran `delete` (actionOverrides)".into());
        }
        let new = self.previous.and_then(|f| f(&m.name)).is_none();
        match m.metadata.rollback {
            RollbackMode::Never => return Undo::Kept(RollbackMode::Never),
            RollbackMode::NewOnly if !new => return Undo::Kept(RollbackMode::NewOnly),
            _ => {}
        }
        let functions = match handler.compiled() {
            Ok(c) => c.functions,
            Err(_) => return Undo::Impossible("its handler does not compile".into()),
        };
        if functions.rollback {
            Undo::Handler
        } else if new && functions.delete {
            Undo::Delete
        } else if new {
            Undo::Impossible("no delete".into())
        } else {
            match self.restore.map(|r| r(m)) {
                // Never the new handler on the old spec (A-F2).
                Some(Ok(before)) if before.kind != m.kind || before.version != m.version => {
                    Undo::Impossible(format!(
                        "kind/version changed since the last apply: was {}/{}",
                        before.kind, before.version
                    ))
                }
                Some(Ok(before)) => Undo::Reapply(Box::new(before)),
                Some(Err(why)) => Undo::Impossible(why),
                None => Undo::Impossible("previous spec unknown".into()),
            }
        }
    }

    /// `plan --rollback-on-failure`: tells how the pending `step` would be undone.
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, and a step's manifest index from `Plan::build`"
    )]
    pub(super) fn emit_planned_undo(&self, plan: &Plan, step: usize) {
        let s = &plan.steps[step];
        let m = &self.manifests[s.manifest];
        let strategy = self
            .undo_strategy(s, m, self.registry.get(s.handler))
            .text();
        self.events.emit(&Event::RollbackPlanned { step, strategy });
    }

    /// Undoes what the run changed, after a failure or an interrupt; updates the outcomes
    /// and the counts.
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, which sized `outcomes` and `infos`, and a step's manifest and handler indices from `Plan::build`"
    )]
    pub(super) fn roll_back(
        &self,
        f: &Forward<'_>,
        outcomes: &mut [Option<Outcome>],
        summary: &mut Summary,
    ) {
        let status_of =
            |outcomes: &[Option<Outcome>], s: usize| outcomes[s].as_ref().map(|o| o.status);
        let failures: Vec<usize> = f
            .order
            .iter()
            .copied()
            .filter(|&s| {
                matches!(
                    status_of(outcomes, s),
                    Some(Status::Failed | Status::Unreachable | Status::Interrupted)
                )
            })
            .collect();
        let stays = self.earlier_batches(f, &failures);
        let undo: Vec<usize> = f
            .order
            .iter()
            .rev()
            .copied()
            .filter(|&s| self.manifests[f.plan.steps[s].manifest].index < self.first_pruned)
            .filter(|&s| {
                matches!(
                    status_of(outcomes, s),
                    Some(Status::Changed | Status::Failed | Status::Interrupted)
                )
            })
            .collect();
        let reason = if f.interrupted {
            "the run was interrupted".to_string()
        } else {
            failures
                .first()
                .map(|&s| match status_of(outcomes, s) {
                    Some(Status::Unreachable) => format!("`{}` is unreachable", f.infos[s].name),
                    _ => format!("`{}` failed", f.infos[s].name),
                })
                .unwrap_or_else(|| "the run failed".into())
        };
        ROLLING_BACK.store(true, Ordering::SeqCst);
        if f.interrupted {
            // The first Ctrl-C stopped the run; the rollback runs until a second one.
            self.cancel.store(false, Ordering::SeqCst);
            crate::target::ssh::resume_all();
        }
        // A failed manifest whose `apply` never started changed nothing (A-F1, A-F10).
        let untouched: std::collections::HashSet<usize> = undo
            .iter()
            .copied()
            .filter(|&s| {
                outcomes[s]
                    .as_ref()
                    .is_some_and(|o| o.status != Status::Changed && !o.applied)
            })
            .collect();
        let untouched = |s: usize| untouched.contains(&s);
        let names: Vec<String> = undo
            .iter()
            .filter(|&&s| !untouched(s))
            .map(|&s| f.infos[s].name.clone())
            .collect();
        self.with_recorder(|r| r.rollback_started(&names));
        self.events.emit(&Event::RollbackStarted { reason, names });

        let mut stopped: Option<String> = None;
        let (mut rolled_back, mut failed_undos, mut not_rolled_back, mut kept) = (0, 0, 0, 0);
        for &step in &undo {
            let s = &f.plan.steps[step];
            let m = &self.manifests[s.manifest];
            let handler = self.registry.get(s.handler);
            let was = status_of(outcomes, step).unwrap_or(Status::Changed);
            let failed = was != Status::Changed;
            let nothing = untouched(step);
            let strategy = match stays.get(&step) {
                _ if nothing => Undo::Nothing,
                Some(why) => Undo::Stays(why.clone()),
                None => self.undo_strategy(s, m, handler),
            };
            let started = Instant::now();
            if stopped.is_none() && self.cancel.load(Ordering::SeqCst) {
                stopped = Some("interrupted".into());
            }
            let calls = !matches!(
                strategy,
                Undo::Kept(_) | Undo::Stays(_) | Undo::Impossible(_) | Undo::Nothing
            );
            if stopped.is_none() && calls && !self.can_record() {
                // Like the forward run before each manifest (A-F12): once the lock is lost
                // (or the state cannot be written), no further undo starts.
                stopped = Some("the state lock was lost or the state cannot be written".into());
            }
            let (result, error, reason) = match (&stopped, &strategy) {
                (_, Undo::Nothing) => (Undone::Nothing, None, None),
                (Some(why), _) => (
                    Undone::NotRolledBack,
                    None,
                    Some(format!("the rollback stopped: {why}")),
                ),
                (None, Undo::Kept(_) | Undo::Stays(_)) => (Undone::Kept, None, None),
                (None, Undo::Impossible(_)) => (Undone::NotRolledBack, None, None),
                (None, _) => match self.undo_one(m, handler, &strategy, failed) {
                    Ok(reason) => (Undone::RolledBack, None, reason),
                    Err(_) if self.cancel.load(Ordering::SeqCst) => {
                        stopped = Some(format!("interrupted while undoing `{}`", m.name));
                        (
                            Undone::NotRolledBack,
                            None,
                            Some("stopped by the interrupt while it was being undone".into()),
                        )
                    }
                    // The failed manifest itself (often a probe re-applied while what it
                    // tests is still new): recorded, the rollback of the others goes on.
                    Err(failure) if failed => (Undone::Failed, Some(failure), None),
                    Err(failure) => {
                        stopped = Some(format!("undoing `{}` failed", m.name));
                        (Undone::Failed, Some(failure), None)
                    }
                },
            };
            match result {
                Undone::RolledBack => rolled_back += 1,
                Undone::Failed => failed_undos += 1,
                Undone::NotRolledBack => not_rolled_back += 1,
                Undone::Kept => kept += 1,
                Undone::Nothing => {}
            }
            let status = if failed { was } else { result.status() };
            if status != was {
                summary.remove(was);
                summary.add(status);
                if let Some(o) = outcomes[step].as_mut() {
                    o.status = status;
                }
            }
            if result != Undone::Nothing {
                self.with_recorder(|r| {
                    r.rolled_back(s, m, result.as_str(), result == Undone::RolledBack);
                });
            }
            self.events.emit(&Event::ManifestRolledBack {
                info: Arc::clone(&f.infos[step]),
                status,
                result: result.as_str(),
                strategy: strategy.text(),
                failed,
                duration: if matches!(result, Undone::RolledBack | Undone::Failed) {
                    started.elapsed()
                } else {
                    Duration::ZERO
                },
                error: error.as_ref().map(|e| e.line.clone()),
                detail: error.map(|e| *e.diagnostic),
                reason,
            });
        }
        let outcome = if failed_undos > 0 {
            "failed"
        } else if not_rolled_back > 0 {
            "partial"
        } else {
            "complete"
        };
        // The summary counts the rollback as its `rollback:` line does (NU-F2, NU-F20).
        summary.rollback = true;
        summary.rolled_back = rolled_back;
        summary.rollback_failed = failed_undos;
        summary.not_rolled_back = not_rolled_back;
        summary.kept = kept;
        self.with_recorder(|r| r.rollback_finished(outcome));
        ROLLING_BACK.store(false, Ordering::SeqCst);
        self.events.emit(&Event::RollbackFinished {
            outcome,
            rolled_back,
            failed: failed_undos,
            not_rolled_back,
            kept,
            stopped,
        });
    }

    fn with_recorder(&self, f: impl FnOnce(&mut (dyn super::Recorder + '_))) {
        if let Some(r) = self.recorder {
            let mut r = r.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut *r);
        }
    }

    /// With `serial`: the instances of a failed manifest in batches before the failed one,
    /// and everything they depend on, with why. They stay.
    #[expect(
        clippy::indexing_slicing,
        reason = "step indices come from the plan, which sized `batch_of` and `before`"
    )]
    fn earlier_batches(&self, f: &Forward<'_>, failures: &[usize]) -> HashMap<usize, String> {
        let manifest = |s: usize| &self.manifests[f.plan.steps[s].manifest];
        let mut kept = HashMap::new();
        let mut stack: Vec<(usize, &str)> = Vec::new();
        for &failed in failures {
            let m = manifest(failed);
            let Some(batch) = f.batch_of[failed] else {
                continue;
            };
            if m.metadata.serial.is_none() {
                continue;
            }
            let name = m.base_name();
            for (s, b) in f.batch_of.iter().enumerate() {
                if b.is_some_and(|b| b < batch) && manifest(s).base_name() == name {
                    kept.insert(s, format!("an earlier serial batch of `{name}`"));
                    stack.extend(f.plan.before[s].iter().map(|&d| (d, name)));
                }
            }
        }
        while let Some((s, name)) = stack.pop() {
            if let std::collections::hash_map::Entry::Vacant(slot) = kept.entry(s) {
                slot.insert(format!("an earlier serial batch of `{name}` depends on it"));
                stack.extend(f.plan.before[s].iter().map(|&d| (d, name)));
            }
        }
        kept
    }

    /// Undoes one manifest; `Ok` with a reason when there turned out to be nothing to do.
    fn undo_one(
        &self,
        m: &Manifest,
        handler: &Handler,
        undo: &Undo,
        failed: bool,
    ) -> Result<Option<String>, Failure> {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.with_call(m, handler, |timeout| {
                self.undo_call(m, handler, undo, failed, timeout)
                    .map_err(|f| (f, None))
            })
            .map_err(|(f, _)| f)
        }));
        let mut failure = match result {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(failure)) => failure,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let text = format!(
                    "internal error in ordo while rolling back `{}`: {what}",
                    m.name
                );
                Failure {
                    line: text.clone(),
                    diagnostic: Box::new(Diagnostic::error(text).help(
                        "this is a bug in ordo; please report it with the manifest and handler that caused it",
                    )),
                    function: None,
                    unreachable: false,
                }
            }
        };
        let what = match failure.function {
            Some(f) => format!("while running `{f}`"),
            None => "while preparing".to_string(),
        };
        failure.diagnostic.notes.push(format!(
            "{what} to roll back {} ({})",
            m.id(),
            m.at(m.name_mark)
        ));
        Err(failure)
    }

    /// The handler calls of one undo, inside its call context.
    fn undo_call(
        &self,
        m: &Manifest,
        handler: &Handler,
        undo: &Undo,
        failed: bool,
        timeout: Duration,
    ) -> Result<Option<String>, Failure> {
        let compiled = handler
            .compiled()
            .map_err(|e| self.failure_text(handler, e))?;
        let call = |name: &'static str, arg: Dynamic| {
            self.call_with(handler, compiled, name, (arg,), timeout, m)
                .map_err(|(f, _)| f)
        };
        // `check` first (`delete` and the re-apply): nothing to do is done.
        let check = |arg: &Dynamic| -> Result<bool, Failure> {
            if !compiled.functions.check {
                return Ok(true);
            }
            let r = call("check", arg.clone())?;
            r.as_bool().map_err(|found| {
                let text = format!("`check` must return `true` or `false`, not {found}");
                let mut f = self.failure_text(handler, text);
                f.function = Some("check");
                f
            })
        };
        match undo {
            Undo::Handler => {
                let arg = self.undo_value(m, Action::Apply, "rollback", failed, handler)?;
                let prev = self
                    .previous
                    .and_then(|f| f(&m.name))
                    .unwrap_or(Dynamic::UNIT);
                let _ = self
                    .call_with(handler, compiled, "rollback", (arg, prev), timeout, m)
                    .map_err(|(f, _)| f)?;
                Ok(None)
            }
            Undo::Delete => {
                let arg = self.undo_value(m, Action::Delete, "delete", failed, handler)?;
                if !check(&arg)? {
                    return Ok(Some("`check` says nothing is left".into()));
                }
                let _ = call("delete", arg)?;
                Ok(None)
            }
            Undo::Reapply(before) => {
                let arg = self.undo_value(before, Action::Apply, "rollback", failed, handler)?;
                if !check(&arg)? {
                    return Ok(Some("`check` says it is as before".into()));
                }
                let out = call("apply", arg)?;
                self.store_outputs(m, handler, Action::Apply, out)
                    .map_err(|mut f| {
                        f.function = Some("apply");
                        f
                    })?;
                Ok(None)
            }
            Undo::Kept(_) | Undo::Stays(_) | Undo::Impossible(_) | Undo::Nothing => Ok(None),
        }
    }

    /// `m` for an undo: as for `function`, with `m.action` set to `action` and `m.failed`.
    fn undo_value(
        &self,
        m: &Manifest,
        function: Action,
        action: &str,
        failed: bool,
        handler: &Handler,
    ) -> Result<Dynamic, Failure> {
        let schema = handler.compiled().ok().and_then(|c| c.schema.clone());
        let (value, _) = self
            .manifest_value(m, function, schema.as_deref())
            .map_err(|e| match e {
                Unresolved::Pending(reason) => self.failure_text(handler, reason),
                Unresolved::Failed(f) => f,
            })?;
        let mut value = value;
        if let Some(mut map) = value.write_lock::<Map>() {
            map.insert("action".into(), action.into());
            map.insert("failed".into(), failed.into());
        }
        Ok(value)
    }
}

impl Runner<'_> {
    /// `ordo test`'s `action: rollback`: `m` undone by its handler's own
    /// `rollback(m, prev)` (`prev` from [`Runner::previous`]), as a rollback would, inside
    /// the call context of a run.
    ///
    /// # Errors
    ///
    /// The failure of the call, as a rollback reports it.
    pub fn roll_back_one(&self, m: &Manifest, handler: &Handler) -> Result<(), Failure> {
        self.undo_one(m, handler, &Undo::Handler, false).map(|_| ())
    }
}
