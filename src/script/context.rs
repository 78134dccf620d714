//! Who is calling: the per-thread context native functions consult.
//!
//! One Rhai engine serves every handler on every worker thread, so a native function cannot
//! hold per-manifest state. Instead the runner installs a [`CallContext`] on the worker thread
//! around each handler call (and the loader a [`LoadState`] around each handler's top level);
//! `vars::set`, `shell::run` and the rest read it to learn the manifest, the handler's grant,
//! the deadline and where to send log events.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult, Position};

use super::permission::{Capability, Permissions, Policy, Refusal, is_environ};
use super::variables::Variables;
use crate::events::{Event, EventSink, LogLevel};
use crate::manifest::ValueSet;

/// What the stdlib needs to know about the handler that is running.
#[derive(Debug)]
pub struct HandlerInfo {
    /// The handler file as shown to users.
    pub name: String,
    pub permissions: Permissions,
    /// Line of the `permissions([...])` call, if there is one, for "add it here" hints.
    pub permissions_line: Option<usize>,
}

/// Everything a native function may consult while a handler function runs.
#[derive(Debug)]
pub struct CallContext {
    pub manifest: String,
    pub handler: Arc<HandlerInfo>,
    pub vars: Arc<Variables>,
    pub values: Arc<ValueSet>,
    pub events: EventSink,
    pub policy: Arc<Policy>,
    pub dry_run: bool,
    pub deadline: Option<Instant>,
    /// Set when the run is interrupted: running scripts and commands stop.
    pub cancel: Arc<AtomicBool>,
    /// The run's ceilings on what a handler can make ordo hold (`stdlib/README.md`, Limits).
    pub limits: super::ScriptLimits,
    /// Where `file::*` and `shell::run` act: the controller, or the manifest instance's
    /// host (DESIGN §13).
    pub target: crate::target::Target,
    /// Set by a stdlib function whose host could not be reached
    /// ([`TransportError::Unreachable`](crate::target::TransportError)): a call that fails
    /// with it set makes the step `unreachable`, not `failed`.
    pub unreachable: AtomicBool,
}

/// What a handler's top level declared while it ran at load.
#[derive(Debug, Default)]
pub struct LoadState {
    pub registrations: Vec<(String, String, Position)>,
    pub permissions: Vec<(String, Position)>,
    pub permission_calls: Vec<Position>,
    pub imports: usize,
    /// `actions(#{...})` calls: the map and where it was called.
    pub actions: Vec<(rhai::Map, Position)>,
    /// Each `schema(#{...})` call: its argument and where it is.
    pub schemas: Vec<(Dynamic, Position)>,
}

enum Phase {
    Idle,
    Load(LoadState),
    Call(Arc<CallContext>),
    /// A module's top level, being evaluated (issue 15). It runs once and is cached for
    /// every handler that imports it, so it runs with no grant at all: never with the grant
    /// of whichever handler happened to import it first. `limit` is the call that imported
    /// it, kept only so its deadline and Ctrl-C still stop a runaway module.
    Module {
        name: String,
        limit: Option<Arc<CallContext>>,
        /// When no call imported it (the load-time check, `ordo lint`): the load deadline.
        deadline: Option<Instant>,
    },
}

thread_local! {
    static PHASE: RefCell<Phase> = const { RefCell::new(Phase::Idle) };
    /// Wall-clock time a handler's or a module's top level may run at load (the run's
    /// `--timeout`): with `--max-operations 0` an endless top level must still end.
    static LOAD_TIMEOUT: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::from_secs(60)) };
    /// Deadline of the top level that loads now, if any.
    static LOAD_DEADLINE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// Sets how long a top level may run at load on this thread (the run's `--timeout`).
pub fn set_load_timeout(timeout: Duration) {
    LOAD_TIMEOUT.with(|t| t.set(timeout));
}

/// Longest a module's top level runs for the load-time check of an import (outside any
/// call). Running out there is not an error: the `import` at run time runs it again, under
/// the importing call's deadline.
const CHECK_BUDGET: Duration = Duration::from_secs(5);

fn load_deadline() -> Option<Instant> {
    LOAD_DEADLINE.with(std::cell::Cell::get).or_else(|| {
        let budget = LOAD_TIMEOUT.with(std::cell::Cell::get).min(CHECK_BUDGET);
        Instant::now().checked_add(budget)
    })
}

/// Restores the idle phase when dropped.
pub struct PhaseGuard(());

impl Drop for PhaseGuard {
    fn drop(&mut self) {
        PHASE.with(|p| *p.borrow_mut() = Phase::Idle);
        LOAD_DEADLINE.with(|d| d.set(None));
    }
}

pub fn enter_call(ctx: Arc<CallContext>) -> PhaseGuard {
    PHASE.with(|p| *p.borrow_mut() = Phase::Call(ctx));
    PhaseGuard(())
}

/// Puts the phase back to what it was before a module's top level ran.
pub struct ModuleGuard(Option<Phase>);

impl Drop for ModuleGuard {
    fn drop(&mut self) {
        if let Some(outer) = self.0.take() {
            PHASE.with(|p| *p.borrow_mut() = outer);
        }
    }
}

/// Enters the top level of the module `name` (as shown in messages): until the guard drops,
/// stdlib calls are refused ([`require`]) and `register`/`permissions` record nothing.
pub fn enter_module(name: &str) -> ModuleGuard {
    PHASE.with(|p| {
        let mut p = p.borrow_mut();
        let (limit, deadline) = match &*p {
            Phase::Call(ctx) => (Some(Arc::clone(ctx)), None),
            Phase::Module {
                limit, deadline, ..
            } => (limit.clone(), *deadline),
            Phase::Idle | Phase::Load(_) => (None, load_deadline()),
        };
        let module = Phase::Module {
            name: name.to_string(),
            limit,
            deadline,
        };
        ModuleGuard(Some(std::mem::replace(&mut *p, module)))
    })
}

pub fn enter_load() -> PhaseGuard {
    PHASE.with(|p| *p.borrow_mut() = Phase::Load(LoadState::default()));
    let deadline = Instant::now().checked_add(LOAD_TIMEOUT.with(std::cell::Cell::get));
    LOAD_DEADLINE.with(|d| d.set(deadline));
    PhaseGuard(())
}

/// Takes what the top level declared (call before the guard drops).
pub fn take_load_state() -> LoadState {
    PHASE.with(|p| match &mut *p.borrow_mut() {
        Phase::Load(state) => std::mem::take(state),
        _ => LoadState::default(),
    })
}

/// Runs `f` on the load state, if a handler is loading on this thread.
pub fn with_load<T>(f: impl FnOnce(&mut LoadState) -> T) -> Option<T> {
    PHASE.with(|p| match &mut *p.borrow_mut() {
        Phase::Load(state) => Some(f(state)),
        _ => None,
    })
}

pub fn current() -> Option<Arc<CallContext>> {
    PHASE.with(|p| match &*p.borrow() {
        Phase::Call(ctx) => Some(Arc::clone(ctx)),
        _ => None,
    })
}

/// Why what runs now must stop, if it must: the running call's (or the importing call's)
/// cancellation or deadline; at load, the load deadline (`--timeout`), so no top level,
/// a handler's or a module's, runs unbounded even with `--max-operations 0`.
pub fn stop_reason() -> Option<&'static str> {
    let (ctx, deadline) = PHASE.with(|p| match &*p.borrow() {
        Phase::Call(ctx) => (Some(Arc::clone(ctx)), None),
        Phase::Module {
            limit: Some(ctx), ..
        } => (Some(Arc::clone(ctx)), None),
        Phase::Module { deadline, .. } => (None, *deadline),
        Phase::Load(_) => (None, LOAD_DEADLINE.with(std::cell::Cell::get)),
        Phase::Idle => (None, None),
    });
    if ctx.as_ref().is_some_and(|c| c.cancelled()) {
        return Some(super::engine::STOP_INTERRUPTED);
    }
    match ctx.map_or(deadline, |c| c.deadline) {
        Some(d) if Instant::now() >= d => Some(super::engine::STOP_TIMEOUT),
        _ => None,
    }
}

/// How the refusal of a stdlib call at a module's top level reads (the load-time check
/// recognises it: such an import can never work).
pub const MODULE_TOP_LEVEL: &str = "is not available at the top level of module";

/// The module whose top level runs now, if any.
fn module_name() -> Option<String> {
    PHASE.with(|p| match &*p.borrow() {
        Phase::Module { name, .. } => Some(name.clone()),
        _ => None,
    })
}

/// The call context, or the error for a stdlib function used at load time. Once the run
/// is interrupted every stdlib call ends the handler call ([`interrupted`]).
pub fn require(call: &str) -> Result<Arc<CallContext>, Box<EvalAltResult>> {
    if let Some(module) = module_name() {
        return Err(script_error(
            format!("`{call}` {MODULE_TOP_LEVEL} `{module}`"),
            Some("a module's top level may only define functions and constants, because it runs once for every handler that imports it; call the stdlib from a function, which runs with the permissions of the handler that calls it".into()),
        ));
    }
    let ctx = current().ok_or_else(|| {
        script_error(
            format!("`{call}` is not available while a handler loads"),
            Some("only `register`, `permissions` and pure functions run at the top level; call it from `check`, `apply` or `delete`".into()),
        )
    })?;
    if ctx.cancelled() {
        return Err(interrupted());
    }
    Ok(ctx)
}

/// The error that ends a handler call cut by Ctrl-C or SIGTERM. Rhai's `try`/`catch`
/// cannot catch it (a termination, like the `on_progress` one), so the handler cannot go
/// on after the interrupt and the manifest is `interrupted`.
pub fn interrupted() -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        super::engine::STOP_INTERRUPTED.into(),
        Position::NONE,
    ))
}

/// A runtime error carrying a message and a hint, as a map scripts can also inspect in
/// `catch (e)`: `e.message`, `e.help`.
pub fn script_error(message: String, help: Option<String>) -> Box<EvalAltResult> {
    let mut map = rhai::Map::new();
    map.insert("message".into(), message.into());
    if let Some(h) = help {
        map.insert("help".into(), h.into());
    }
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from_map(map),
        Position::NONE,
    ))
}

/// Like [`script_error`], with extra fields (`code`, `stderr`, `status`).
pub fn script_error_with(message: String, fields: rhai::Map) -> Box<EvalAltResult> {
    let mut map = fields;
    map.insert("message".into(), message.into());
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from_map(map),
        Position::NONE,
    ))
}

/// The error for data that would exceed the run's ceiling `limit` (named as in
/// `stdlib/README.md`) of `max` bytes.
pub fn too_large(call: &str, what: &str, limit: &str, max: usize) -> Box<EvalAltResult> {
    script_error(
        format!(
            "`{call}`: {what} exceeds the run's limit on {limit} ({})",
            super::engine::bytes_text(max)
        ),
        Some("see Limits in stdlib/README.md".into()),
    )
}

/// Refuses an option that asks for more than the run's ceiling: a script can lower a
/// ceiling, never raise it (issue 15).
pub fn within_ceiling(
    call: &str,
    option: &str,
    asked: u64,
    limit: &str,
    max: usize,
) -> Result<(), Box<EvalAltResult>> {
    if asked <= u64::try_from(max).unwrap_or(u64::MAX) {
        return Ok(());
    }
    Err(script_error(
        format!(
            "`{call}`: `{option}` of {asked} bytes is above the run's limit on {limit} ({}); an option can lower a limit, never raise it",
            super::engine::bytes_text(max)
        ),
        Some("see Limits in stdlib/README.md".into()),
    ))
}

pub fn io_error(call: &str, path: &Path, e: &std::io::Error) -> Box<EvalAltResult> {
    script_error(format!("`{call}`: {}: {e}", path.display()), None)
}

impl CallContext {
    /// `ordo test`: the mock twin that answers instead of the world, if there is one.
    pub fn twin(&self) -> Option<&Arc<dyn super::Twin>> {
        self.policy.twin.as_ref()
    }

    /// Asks the twin, if there is one, about `call`; its refusal (an unmocked call) fails
    /// the handler call.
    pub fn ask_twin(
        &self,
        call: super::TwinCall<'_>,
    ) -> Option<Result<Dynamic, Box<EvalAltResult>>> {
        self.twin()
            .map(|t| t.answer(call).map_err(|e| script_error(e, None)))
    }

    /// Checks that this handler may use `cap` for `call`, under the run's policy.
    pub fn require(&self, cap: Capability, call: &str) -> Result<(), Box<EvalAltResult>> {
        if self.policy.deny.contains(cap) {
            let r = Refusal::Denied {
                call: call.to_string(),
                cap,
            };
            return Err(script_error(
                r.to_string(),
                Some(format!("the run was started with `--deny {cap}`")),
            ));
        }
        if !self.handler.permissions.contains(cap) {
            let r = Refusal::Undeclared {
                call: call.to_string(),
                cap,
                handler: self.handler.name.clone(),
            };
            let help = match self.handler.permissions_line {
                Some(line) => format!(
                    "add \"{cap}\" to the `permissions([...])` call on line {line} of {}",
                    self.handler.name
                ),
                None => format!(
                    "add `permissions([\"{cap}\"]);` at the top of {}",
                    self.handler.name
                ),
            };
            return Err(script_error(r.to_string(), Some(help)));
        }
        Ok(())
    }

    /// Whether this handler may use `cap` in this run: declared, and not denied.
    pub fn allows(&self, cap: Capability) -> bool {
        self.handler.permissions.contains(cap) && !self.policy.deny.contains(cap)
    }

    /// Refuses `call` on `path` when `path` is a process's environment (`/proc/self/environ`)
    /// and this handler may not read the environment (issue 15).
    pub fn refuse_environ(&self, call: &str, path: &str) -> Result<(), Box<EvalAltResult>> {
        if self.allows(Capability::Env) || !is_environ(Path::new(path)) {
            return Ok(());
        }
        self.require(Capability::Env, &format!("{call}(\"{path}\")"))
    }

    /// Checks that `call` may change things (it may not under `plan`, nor in `verify`).
    pub fn require_mutation(&self, call: &str) -> Result<(), Box<EvalAltResult>> {
        if self.policy.read_only {
            if !self.dry_run {
                // `verify` runs under plan's rules, outside a plan.
                return Err(script_error(
                    format!("`{call}` changes things, and `verify` is read-only"),
                    Some("`verify` must only look: read files, run commands marked `#{ read_only: true }`, send GET or HEAD requests".into()),
                ));
            }
            let r = Refusal::ReadOnly {
                call: call.to_string(),
            };
            return Err(script_error(
                r.to_string(),
                Some(
                    "`check` must only look; test `m.dry_run` to skip the change under `plan`"
                        .into(),
                ),
            ));
        }
        Ok(())
    }

    /// The read-only command this call runs in, for messages: `plan` or `verify`.
    pub fn read_only_command(&self) -> &'static str {
        if self.dry_run { "plan" } else { "verify" }
    }

    /// Checks a path against `--fs-root` and returns it made absolute. Only a check: a path
    /// opened by name afterwards can be redirected out of the roots in between (issue 15).
    /// The stdlib opens paths through `stdlib::beneath::Target`, which confines the open.
    pub fn path(&self, call: &str, path: &str) -> Result<PathBuf, Box<EvalAltResult>> {
        if path.is_empty() {
            return Err(script_error(format!("`{call}`: the path is empty"), None));
        }
        self.policy.check_path(call, Path::new(path)).map_err(|r| {
            script_error(
                r.to_string(),
                Some("the run was started with `--fs-root`".into()),
            )
        })
    }

    pub fn log(&self, level: LogLevel, message: String) {
        self.events.emit(&Event::Log {
            manifest: Some(self.manifest.clone()),
            level,
            message,
        });
    }

    /// Notes that the call's host could not be reached (see [`CallContext::unreachable`]).
    pub fn mark_unreachable(&self) {
        self.unreachable.store(true, Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Time left before the handler call's deadline.
    pub fn remaining(&self) -> Option<std::time::Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}
