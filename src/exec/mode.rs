//! What a run calls besides `check`, `apply` and `delete` (DESIGN §14): `fn verify(m)`
//! (`ordo verify`, `apply --verify`) under plan's read-only rules, and custom actions
//! (`ordo run ACTION`). The runner's schedule, retries and reporting are the same; only the
//! call per step differs.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Map};

use super::runner::{Done, Failure, Runner, Unresolved};
use crate::events::{Event, LogLevel, Status};
use crate::handler::{Compiled, Handler};
use crate::manifest::{Action, Manifest};
use crate::script::{CallContext, LimitKind, context};
use crate::stdlib::Policy;

/// What each step of a run calls.
#[derive(Clone, Debug, Default)]
pub enum RunMode {
    /// `apply`, `delete`, `plan`: `check`, then the function of the plan.
    #[default]
    Lifecycle,
    /// `ordo verify`: `verify`, read-only.
    Verify,
    /// `ordo run ACTION`: the action's function, with its checked parameters per handler.
    Action {
        /// The action (made `'static` once per run: it names the function in events).
        name: &'static str,
        /// Per handler (by its shown name; those that declare the action), `m.params`.
        params: HashMap<String, Map>,
    },
}

impl RunMode {
    /// The function a step runs, as events name it; `None`: the plan's own.
    pub fn function(&self) -> Option<&'static str> {
        match self {
            RunMode::Lifecycle => None,
            RunMode::Verify => Some("verify"),
            RunMode::Action { name, .. } => Some(name),
        }
    }
}

/// What a `verify` said.
enum Verdict {
    /// `true` or `()`; a string is a pass with a note.
    Pass(Option<String>),
    /// `false`, or a value that is no answer: why.
    Fail(String),
}

type Attempt = Result<Done, (Failure, Option<LimitKind>)>;

impl Runner<'_> {
    /// The policy of this run's calls: read-only for `ordo verify`.
    pub(super) fn mode_policy(&self) -> Arc<Policy> {
        if matches!(self.mode, RunMode::Verify) {
            let mut policy = (*self.policy).clone();
            policy.read_only = true;
            Arc::new(policy)
        } else {
            Arc::clone(&self.policy)
        }
    }

    /// `ordo verify` and `ordo run`: the step's call (inside the call context `attempt`
    /// entered); `None` for the lifecycle commands.
    pub(super) fn attempt_mode(
        &self,
        m: &Manifest,
        handler: &Handler,
        compiled: &Compiled,
        timeout: Duration,
    ) -> Option<Attempt> {
        match &self.mode {
            RunMode::Lifecycle => None,
            RunMode::Verify => Some(self.verify_step(m, handler, compiled, timeout)),
            RunMode::Action { name, params } => Some(self.action_step(
                m,
                handler,
                compiled,
                name,
                params.get(handler.name()),
                timeout,
            )),
        }
    }

    fn verify_step(
        &self,
        m: &Manifest,
        handler: &Handler,
        compiled: &Compiled,
        timeout: Duration,
    ) -> Attempt {
        if !compiled.functions.verify {
            return Ok(done(Status::Absent, Some("no `verify`".into())));
        }
        let arg = self.mode_value(m, "verify", None)?;
        match self.verdict(m, handler, compiled, arg, timeout) {
            Ok(Verdict::Pass(note)) => Ok(done(Status::Verified, note)),
            Ok(Verdict::Fail(why)) if m.metadata.verify_advisory => {
                Ok(done(Status::Warned, Some(format!("advisory: {why}"))))
            }
            Ok(Verdict::Fail(why)) => Err((self.failed_verify(handler, why), None)),
            Err((f, limit)) if self.advisory_throw(m, &f, limit) => {
                Ok(done(Status::Warned, Some(format!("advisory: {}", f.line))))
            }
            Err(e) => Err(e),
        }
    }

    /// A throw of an advisory `verify` is a warning, unless the run was interrupted or the
    /// host is unreachable.
    fn advisory_throw(&self, m: &Manifest, f: &Failure, limit: Option<LimitKind>) -> bool {
        m.metadata.verify_advisory
            && !f.unreachable
            && limit != Some(LimitKind::Interrupted)
            && !self.cancel.load(Ordering::Relaxed)
    }

    fn action_step(
        &self,
        m: &Manifest,
        handler: &Handler,
        compiled: &Compiled,
        name: &'static str,
        params: Option<&Map>,
        timeout: Duration,
    ) -> Attempt {
        let Some(params) = params.filter(|_| handler.actions.iter().any(|a| a.name == name)) else {
            return Ok(done(Status::Absent, Some(format!("no action `{name}`"))));
        };
        let arg = self.mode_value(m, name, Some(params.clone()))?;
        let result = self.call_with(handler, compiled, name, (arg,), timeout, m)?;
        let result = result.flatten();
        let what = format!("action `{name}`");
        if crate::script::convert::deeper_than(&result, crate::script::convert::MAX_DEPTH) {
            let text = format!(
                "{what} returned a value nested deeper than {} levels (lists and maps in lists and maps)",
                crate::script::convert::MAX_DEPTH
            );
            return Err((self.failure_text(handler, text).during(name), None));
        }
        if !crate::script::is_plain(&result) {
            let text = format!(
                "action `{name}` returned a {}; an action returns plain data",
                result.type_name()
            );
            return Err((self.failure_text(handler, text).during(name), None));
        }
        let mut value = crate::script::convert::to_json(&result, &what)
            .map_err(|e| (self.failure_text(handler, e).during(name), None))?;
        crate::events::secrets::mask_json(&mut value);
        self.events.emit(&Event::ActionResult {
            manifest: m.name.clone(),
            value,
        });
        Ok(done(Status::Done, None))
    }

    /// `apply --verify`: after an apply (whether it changed something or `check` found
    /// nothing to do), the manifest's `verify`, read-only, in a call context of its own. A
    /// failure fails the manifest, unless it is `metadata.verify: advisory`.
    pub(super) fn verify_after(
        &self,
        m: &Manifest,
        handler: &Handler,
        function: Action,
        done: Done,
        timeout: Duration,
    ) -> Attempt {
        let ran = matches!(done.status, Status::Changed | Status::Unchanged);
        if !self.verify_after || self.settings.dry_run || function != Action::Apply || !ran {
            return Ok(done);
        }
        let compiled = handler
            .compiled()
            .map_err(|e| (self.failure_text(handler, e), None))?;
        if !compiled.functions.verify {
            return Ok(done);
        }
        let target = match &m.host {
            Some(host) => crate::target::Target::Remote(self.connect(host).map_err(|f| (f, None))?),
            None => crate::target::Target::Local,
        };
        let mut policy = (*self.policy).clone();
        policy.read_only = true;
        let ctx = Arc::new(CallContext {
            manifest: m.name.clone(),
            handler: Arc::clone(&handler.info),
            vars: Arc::clone(&self.vars),
            values: Arc::clone(&self.values),
            events: self.events.clone(),
            policy: Arc::new(policy),
            dry_run: false,
            deadline: Instant::now().checked_add(timeout),
            cancel: Arc::clone(&self.cancel),
            limits: *self.limits,
            target,
            unreachable: AtomicBool::new(false),
        });
        let _guard = context::enter_call(Arc::clone(&ctx));
        let arg = self.mode_value(m, "verify", None)?;
        let verdict = self
            .verdict(m, handler, compiled, arg, timeout)
            .map_err(|(mut f, limit)| {
                if ctx.unreachable.load(Ordering::Relaxed) {
                    f.unreachable = true;
                }
                (f, limit)
            });
        match verdict {
            Ok(Verdict::Pass(note)) => {
                if let Some(note) = note {
                    self.log(m, LogLevel::Info, &format!("verified: {note}"));
                }
                Ok(done)
            }
            Ok(Verdict::Fail(why)) if m.metadata.verify_advisory => {
                self.warn(m, &format!("verify failed (advisory): {why}"));
                Ok(done)
            }
            Ok(Verdict::Fail(why)) => Err((self.failed_verify(handler, why), None)),
            Err((f, limit)) if self.advisory_throw(m, &f, limit) => {
                self.warn(m, &format!("verify failed (advisory): {}", f.line));
                Ok(done)
            }
            Err(e) => Err(e),
        }
    }

    /// Calls `verify` and reads its answer.
    fn verdict(
        &self,
        m: &Manifest,
        handler: &Handler,
        compiled: &Compiled,
        arg: Dynamic,
        timeout: Duration,
    ) -> Result<Verdict, (Failure, Option<LimitKind>)> {
        let r = self
            .call_with(handler, compiled, "verify", (arg,), timeout, m)?
            .flatten();
        if r.is_unit() {
            return Ok(Verdict::Pass(None));
        }
        if let Ok(b) = r.as_bool() {
            return Ok(if b {
                Verdict::Pass(None)
            } else {
                Verdict::Fail("`verify` returned false".into())
            });
        }
        if r.is_string() {
            return Ok(Verdict::Pass(Some(r.to_string())));
        }
        Ok(Verdict::Fail(format!(
            "`verify` must return true, (), a note (a string) or false, not {}",
            r.type_name()
        )))
    }

    fn failed_verify(&self, handler: &Handler, why: String) -> Failure {
        self.failure_text(handler, why).during("verify")
    }

    /// `m` for `verify` or an action: as for apply, with `m.action` the function and, for an
    /// action, `m.params`.
    fn mode_value(
        &self,
        m: &Manifest,
        function: &str,
        params: Option<Map>,
    ) -> Result<Dynamic, (Failure, Option<LimitKind>)> {
        let mut arg = self.resolved_value(m).map_err(|f| (f, None))?;
        if let Some(mut map) = arg.write_lock::<Map>() {
            map.insert("action".into(), function.into());
            if let Some(params) = params {
                map.insert("params".into(), params.into());
            }
        }
        Ok(arg)
    }

    /// `m` as for apply, its `!Variable`s resolved now.
    fn resolved_value(&self, m: &Manifest) -> Result<Dynamic, Failure> {
        // The schema of the handler serving it: `!Variable`s resolved now are checked too.
        let schema = self
            .registry
            .resolve(&m.kind, &m.version)
            .ok()
            .and_then(|h| self.registry.get(h).compiled().ok())
            .and_then(|c| c.schema.clone());
        match self.manifest_value(m, Action::Apply, schema.as_deref()) {
            Ok((value, _)) => Ok(value),
            Err(Unresolved::Pending(reason)) => Err(Failure {
                line: reason.clone(),
                diagnostic: Box::new(crate::diagnostic::Diagnostic::error(reason)),
                function: None,
                unreachable: false,
            }),
            Err(Unresolved::Failed(f)) => Err(f),
        }
    }

    fn warn(&self, m: &Manifest, message: &str) {
        self.log(m, LogLevel::Warn, message);
    }

    fn log(&self, m: &Manifest, level: LogLevel, message: &str) {
        self.events.emit(&Event::Log {
            manifest: Some(m.name.clone()),
            level,
            message: message.to_string(),
        });
    }
}

fn done(status: Status, reason: Option<String>) -> Done {
    Done {
        status,
        reason,
        resolved: None,
    }
}
