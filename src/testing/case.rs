//! Running one case: a fresh directory, the mocks as the stdlib's twin, the manifest
//! through the run's own [`Runner`], then the expectations.
//!
//! The engine, the compiled handlers, the permission checks and the limits are the run's:
//! a case is a run of one manifest whose policy confines every file to the case's
//! directory (`m.dir`, and where relative paths lead) and whose twin answers `shell`,
//! `http`, `env`, `term::prompt`, `time` and `host::facts` (`script/twin.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, Map};

use super::expect::{Failure, check};
use super::file::{Case, CaseAction, TestFile, node_json};
use super::mocks::Mocks;
use crate::diagnostic::Diagnostic;
use crate::events::{Event, EventSink, LogLevel, Reporter, Status};
use crate::exec::{RunMode, RunSettings, Runner, Variables};
use crate::handler::HandlerRegistry;
use crate::manifest::{
    Action, Manifest, SourceFile, StaticContext, StaticResult, ValueSet, ValueSources,
    collect_values, node_to_dynamic, resolve_static, split_name,
};
use crate::planner::{Plan, Step};
use crate::script::ScriptLimits;
use crate::stdlib::{Capability, Permissions, Policy};

/// What every case shares: the run's engine and handlers, its limits and `--deny`.
pub struct Suite<'a> {
    pub engine: &'a Engine,
    pub registry: &'a HandlerRegistry,
    pub limits: &'a ScriptLimits,
    pub deny: Permissions,
    /// Set by Ctrl-C: running cases stop as a run's manifests do, no new case starts.
    pub cancel: Arc<AtomicBool>,
}

/// A case ready to run: its manifest checked, its handler found (at load).
#[derive(Debug)]
pub struct Prepared {
    /// Index of the test file, and of the case in it.
    pub file: usize,
    pub case: usize,
    pub manifest: Manifest,
    pub handler: usize,
    /// An action's `m.params`, typed as the handler declares them.
    pub params: Option<Map>,
}

/// What one case came to.
#[derive(Debug)]
pub struct CaseResult {
    pub file: String,
    pub it: String,
    pub line: u32,
    pub duration: Duration,
    /// Empty: passed.
    pub failures: Vec<Failure>,
    /// The status the (first) call ended with.
    pub status: String,
    /// What the handler logged (`level: message`), shown for a failed case.
    pub logs: Vec<String>,
}

/// What the events of one call said.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub status: Option<Status>,
    pub error: Option<String>,
    pub detail: Option<Diagnostic>,
    /// The first log lines, up to [`MAX_LOG_LINES`] lines and [`MAX_LOG_BYTES`] bytes.
    pub logs: Vec<(LogLevel, String)>,
    /// Log lines past those bounds, counted and dropped: a handler logging in a loop must
    /// not take the runner's memory (a run streams its log lines; a case keeps them).
    pub logs_left_out: usize,
    log_bytes: usize,
    /// `run ACTION`: what the action returned.
    pub result: Option<serde_json::Value>,
}

/// The log lines a case keeps: enough for `expect.logs` and to show a failed case.
pub const MAX_LOG_LINES: usize = 10_000;
/// The log bytes a case keeps (1 MiB).
pub const MAX_LOG_BYTES: usize = 1 << 20;

struct Collect(Arc<Mutex<Seen>>);

impl Reporter for Collect {
    fn event(&mut self, event: &Event) {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            Event::ManifestFinished {
                status,
                error,
                detail,
                ..
            } => {
                seen.status = Some(*status);
                seen.error.clone_from(error);
                seen.detail.clone_from(detail);
            }
            Event::Log { level, message, .. } => {
                if seen.logs.len() >= MAX_LOG_LINES
                    || seen.log_bytes.saturating_add(message.len()) > MAX_LOG_BYTES
                {
                    seen.logs_left_out += 1;
                } else {
                    seen.log_bytes += message.len();
                    seen.logs.push((*level, message.clone()));
                }
            }
            Event::ActionResult { value, .. } => seen.result = Some(value.clone()),
            _ => {}
        }
    }
}

/// What a case's call observed, for the expectations.
pub struct Observed<'a> {
    pub seen: Seen,
    /// `invalid`: why the manifest could not run (a schema or tag problem).
    pub invalid: Option<String>,
    pub dir: &'a Path,
    pub mocks: &'a Mocks,
    pub vars: &'a Variables,
    pub manifest: &'a str,
    /// The second apply of `idempotent: true`, and the calls it made.
    pub again: Option<(Seen, Vec<super::mocks::Call>)>,
    /// The calls of the case's own call (the first apply's, for `idempotent`).
    pub calls: Vec<super::mocks::Call>,
}

impl Suite<'_> {
    /// Runs one case in a fresh directory and checks its expectations.
    pub fn run(&self, prepared: &Prepared, file: &TestFile, case: &Case) -> CaseResult {
        let started = Instant::now();
        let mut result = CaseResult {
            file: file.source.name().to_string(),
            it: case.it.clone(),
            line: case.mark.line,
            duration: Duration::ZERO,
            failures: Vec::new(),
            status: String::new(),
            logs: Vec::new(),
        };
        match self.run_in_dir(prepared, file, case) {
            Ok((status, failures, logs)) => {
                result.status = status;
                result.failures = failures;
                result.logs = logs;
            }
            Err(e) => {
                result.status = "error".into();
                result.failures.push(Failure::plain(
                    "setup",
                    format!("the case could not be set up: {e}"),
                ));
            }
        }
        result.duration = started.elapsed();
        result
    }

    fn run_in_dir(
        &self,
        prepared: &Prepared,
        file: &TestFile,
        case: &Case,
    ) -> std::io::Result<(String, Vec<Failure>, Vec<String>)> {
        let sandbox = Sandbox::new(&case.mocks, file.source.name())?;
        let dir = sandbox.dir.clone();
        let (manifest, values, invalid) = self.resolve(prepared, file, case, &dir);
        let sandbox = Sandbox { values, ..sandbox };
        let invocation = Invocation {
            action: case.action.clone(),
            params: prepared.params.clone(),
            previous: case.mocks.previous.as_ref().map(node_to_dynamic),
        };
        let mut observed = Observed {
            seen: Seen::default(),
            invalid,
            dir: &dir,
            mocks: &sandbox.mocks,
            vars: &sandbox.vars,
            manifest: &prepared.manifest.name,
            again: None,
            calls: Vec::new(),
        };
        if observed.invalid.is_none() {
            observed.seen = self.invoke(&sandbox, &manifest, prepared.handler, &invocation);
            observed.calls = sandbox.mocks.calls();
            if case.expect.idempotent && observed.seen.status == Some(Status::Changed) {
                let before = sandbox.mocks.call_count();
                // As in a run, the second apply's `m.previous` is what the first recorded.
                let recorded = recorded_previous(&manifest, &sandbox.vars);
                let again = self.invoke_with(
                    &sandbox,
                    &manifest,
                    prepared.handler,
                    &invocation,
                    Some(recorded),
                );
                observed.again = Some((again, sandbox.mocks.calls_since(before)));
            }
        }
        let status = match (&observed.invalid, observed.seen.status) {
            (Some(_), _) => "invalid".to_string(),
            (None, Some(s)) => s.as_str().to_string(),
            (None, None) => "none".to_string(),
        };
        let failures = check(case, &observed);
        let mut logs: Vec<String> = observed
            .seen
            .logs
            .iter()
            .map(|(level, m)| format!("{}: {m}", level.as_str()))
            .collect();
        if observed.seen.logs_left_out > 0 {
            logs.push(format!(
                "… {} more log lines left out (a case keeps {MAX_LOG_LINES} lines or {} KiB)",
                observed.seen.logs_left_out,
                MAX_LOG_BYTES >> 10
            ));
        }
        Ok((status, failures, logs))
    }

    /// The case's manifest with its tags resolved against the mocked values and variables,
    /// and checked against its handler's schema, as a run does at load; `Err`-like
    /// `invalid` text when it cannot run.
    fn resolve(
        &self,
        prepared: &Prepared,
        file: &TestFile,
        case: &Case,
        dir: &Path,
    ) -> (Manifest, Arc<ValueSet>, Option<String>) {
        let mut m = prepared.manifest.clone();
        // `m.dir` is the case's directory; the marks still point into the file as written.
        m.file = SourceFile::new(m.file.name(), dir, m.file.text());
        let sources = ValueSources {
            files: Vec::new(),
            sets: case
                .mocks
                .values
                .iter()
                .map(|(k, v)| format!("{k}={}", node_json(v)))
                .collect(),
        };
        let mut errors = Vec::new();
        let values = collect_values(&mut Vec::new(), &sources, "default", &mut errors);
        let mut names: HashMap<String, usize> = HashMap::new();
        names.insert(m.name.clone(), 0);
        for (name, _) in &case.mocks.vars {
            if let Some((producer, _)) = split_name(name) {
                names.insert(producer.to_string(), 0);
            }
        }
        let all_names: HashMap<String, Vec<String>> =
            names.keys().map(|n| (n.clone(), Vec::new())).collect();
        let secrets = values.secret_texts();
        let action = if case.action == CaseAction::Delete {
            "delete"
        } else {
            "apply"
        };
        let ctx = StaticContext {
            values: &values,
            env: "default",
            action,
            names: &names,
            all_names: &all_names,
            deny_env: self.deny.contains(Capability::Env),
            secrets: &secrets,
            env_vars: Some(&case.mocks.env),
        };
        let mut result = StaticResult::default();
        let source = Arc::clone(&m.file);
        let name = m.name.clone();
        resolve_static(
            &mut m.spec,
            "spec",
            &source,
            &name,
            &ctx,
            &mut result,
            &mut errors,
        );
        resolve_static(
            &mut m.metadata_node,
            "metadata",
            &source,
            &name,
            &ctx,
            &mut result,
            &mut errors,
        );
        m.implicit = result.producers;
        m.deferred = result.deferred;
        m.tag_sources = result.sources;
        let mut problems: Vec<String> = errors
            .into_iter()
            .map(|e| format!("{}: {}", e.location, e.kind))
            .collect();
        let handler = self.registry.get(prepared.handler);
        if let Some(schema) = handler.compiled().ok().and_then(|c| c.schema.clone()) {
            let mut found = Vec::new();
            crate::handler::conform::check_spec(&schema, &mut m.spec, &mut found);
            problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("{}: {}", m.at(p.mark), p.message)),
            );
        }
        let invalid = (!problems.is_empty()).then(|| {
            let _ = file;
            problems.join("\n")
        });
        (m, Arc::new(values), invalid)
    }

    /// One call of `manifest`'s handler `handler` (an index into the registry) as
    /// `invocation` says, through the run's runner, inside `sandbox`: what its events said.
    /// A Rhai test's `ordo::run(action, manifest)` is this call.
    pub fn invoke(
        &self,
        sandbox: &Sandbox,
        manifest: &Manifest,
        handler: usize,
        invocation: &Invocation,
    ) -> Seen {
        let previous = invocation.previous.as_ref().map(|spec| {
            let mut map = Map::new();
            map.insert("spec".into(), spec.clone());
            map.insert("masked".into(), Dynamic::from_array(Vec::new()));
            map.insert("variables".into(), Map::new().into());
            map.insert("applied_at".into(), "".into());
            Dynamic::from_map(map)
        });
        self.invoke_with(sandbox, manifest, handler, invocation, previous)
    }

    /// [`Suite::invoke`] with `m.previous` given whole (`previous`), as the state would.
    fn invoke_with(
        &self,
        sandbox: &Sandbox,
        manifest: &Manifest,
        handler: usize,
        invocation: &Invocation,
        previous: Option<Dynamic>,
    ) -> Seen {
        let Sandbox {
            dir,
            mocks,
            vars,
            values,
            ..
        } = sandbox;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let events = EventSink::new(Box::new(Collect(Arc::clone(&seen))));
        let (action, function, mode, dry_run) = match &invocation.action {
            CaseAction::Apply => (Action::Apply, Action::Apply, RunMode::Lifecycle, false),
            CaseAction::Delete => (Action::Delete, Action::Delete, RunMode::Lifecycle, false),
            CaseAction::Check => (Action::Apply, Action::Apply, RunMode::Lifecycle, true),
            CaseAction::Rollback => (Action::Apply, Action::Apply, RunMode::Lifecycle, false),
            CaseAction::Verify => (Action::Apply, Action::Apply, RunMode::Verify, false),
            CaseAction::Custom(name) => {
                let params: Map = invocation.params.clone().unwrap_or_default();
                let mut per_handler = HashMap::new();
                per_handler.insert(self.registry.get(handler).name().to_string(), params);
                let mode = RunMode::Action {
                    name: intern(name),
                    params: per_handler,
                };
                (Action::Apply, Action::Apply, mode, false)
            }
        };
        // The run's policy: `check` under plan's read-only rule (`runs.rs` sets
        // `read_only = dry_run`); `verify` is made read-only by the runner, as in a run.
        let policy = Policy {
            deny: self.deny,
            fs_roots: vec![dir.to_path_buf()],
            cwd: Some(dir.to_path_buf()),
            twin: Some(Arc::clone(mocks) as Arc<dyn crate::script::Twin>),
            read_only: dry_run,
            ..Policy::default()
        };
        let previous = move |_: &str| previous.clone();
        let manifests = std::slice::from_ref(manifest);
        let runner = Runner {
            engine: self.engine,
            registry: self.registry,
            manifests,
            limits: self.limits,
            policy: Arc::new(policy),
            vars: Arc::clone(vars),
            values: Arc::clone(values),
            events: events.clone(),
            cancel: Arc::clone(&self.cancel),
            settings: RunSettings {
                command: "test",
                environment: "default".into(),
                jobs: 1,
                keep_going: false,
                dry_run,
                keep_resolved: false,
                rollback: false,
                warnings: Vec::new(),
            },
            recorder: None,
            baselines: Vec::new(),
            orphans: Vec::new(),
            previous: Some(&previous),
            recorded_specs: Vec::new(),
            first_pruned: usize::MAX,
            pruned_why: Vec::new(),
            state_has_entries: false,
            after_prune: Vec::new(),
            hosts: None,
            restore: None,
            mode,
            verify_after: false,
            gate: None,
        };
        let plan = Plan {
            action,
            steps: vec![Step {
                manifest: 0,
                handler,
                function,
            }],
            before: vec![Vec::new()],
            after: vec![Vec::new()],
            soft: vec![Vec::new()],
        };
        if invocation.action == CaseAction::Rollback {
            // The handler's own `rollback(m, prev)`, as `--rollback-on-failure` calls it.
            let outcome = runner.roll_back_one(manifest, self.registry.get(handler));
            let mut s = seen.lock().unwrap_or_else(PoisonError::into_inner);
            match outcome {
                Ok(()) => s.status = Some(Status::RolledBack),
                Err(f) => {
                    s.status = Some(Status::Failed);
                    s.error = Some(f.line);
                    s.detail = Some(*f.diagnostic);
                }
            }
        } else {
            runner.run(&plan);
        }
        events.finish();
        seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Where a case's calls run: a fresh directory (removed when the sandbox is dropped), the
/// twin answering the stdlib, the variables and the values.
pub struct Sandbox {
    /// The case's directory, canonical: `m.dir`, the working directory, the one root.
    pub dir: PathBuf,
    pub mocks: Arc<Mocks>,
    pub vars: Arc<Variables>,
    pub values: Arc<ValueSet>,
    /// Keeps the directory; removes it when dropped.
    _tmp: Option<Arc<tempfile::TempDir>>,
}

impl Sandbox {
    /// A fresh directory with `spec`'s files in it, a twin answering from `spec` (`file`:
    /// the test file, as messages name it), and `spec`'s variables set. Values: none (see
    /// [`Suite::run`] for a case's `values`).
    ///
    /// # Errors
    ///
    /// The directory or a file cannot be made.
    pub fn new(spec: &super::file::MockSpec, file: &str) -> std::io::Result<Sandbox> {
        let tmp = tempfile::Builder::new().prefix("ordo-test-").tempdir()?;
        let dir = tmp.path().canonicalize()?;
        for f in &spec.files {
            let path = dir.join(&f.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, f.content.as_deref().unwrap_or_default())?;
        }
        let vars = Arc::new(Variables::new());
        for (name, value) in &spec.vars {
            if let Some((producer, key)) = split_name(name) {
                vars.set(producer, key, node_to_dynamic(value), false);
            }
        }
        Ok(Sandbox {
            dir,
            mocks: Arc::new(Mocks::new(spec, file)),
            vars,
            values: Arc::new(ValueSet::default()),
            _tmp: Some(Arc::new(tmp)),
        })
    }
}

/// `m.previous` as the state records `manifest` after an apply: its spec (secret text
/// unknown: `()`, the paths listed in `masked`), its variables (secret ones left out).
fn recorded_previous(manifest: &Manifest, vars: &Variables) -> Dynamic {
    use crate::events::secrets;
    use crate::script::convert::json_to_dynamic;
    let mut spec = node_json(&manifest.spec);
    let mut masked = Vec::new();
    null_secrets(&mut spec, "spec", &mut masked);
    let mut variables = serde_json::Map::new();
    for (key, var) in vars.of_manifest(&manifest.name) {
        let value = crate::script::convert::dynamic_to_json(&var.value);
        let mut hidden = value.clone();
        secrets::mask_json(&mut hidden);
        if !var.secret && hidden == value {
            variables.insert(key, value);
        }
    }
    let mut map = Map::new();
    map.insert("spec".into(), json_to_dynamic(&spec));
    map.insert(
        "masked".into(),
        Dynamic::from_array(masked.into_iter().map(Dynamic::from).collect()),
    );
    map.insert(
        "variables".into(),
        json_to_dynamic(&serde_json::Value::Object(variables)),
    );
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    map.insert("applied_at".into(), now.into());
    Dynamic::from_map(map)
}

/// Sets every string holding secret text to null, noting its path (`spec.a[0].b`).
fn null_secrets(value: &mut serde_json::Value, path: &str, masked: &mut Vec<String>) {
    use serde_json::Value as J;
    match value {
        J::String(s) => {
            if let std::borrow::Cow::Owned(_) = crate::events::secrets::mask(s) {
                *value = J::Null;
                masked.push(path.to_string());
            }
        }
        J::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                null_secrets(v, &format!("{path}[{i}]"), masked);
            }
        }
        J::Object(map) => {
            for (k, v) in map.iter_mut() {
                null_secrets(v, &format!("{path}.{k}"), masked);
            }
        }
        _ => {}
    }
}

/// What to call: the action, an action's `m.params`, and `m.previous.spec` (and
/// `rollback`'s `prev.spec`).
#[derive(Debug, Clone)]
pub struct Invocation {
    pub action: CaseAction,
    pub params: Option<Map>,
    pub previous: Option<Dynamic>,
}

/// An action's name made `'static` (events name the function that way), once per name.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

/// The path of the case's directory a case file names, if it stays inside it once every
/// symlink the handler made is followed.
pub fn inside(dir: &Path, relative: &Path) -> Option<PathBuf> {
    let path = dir.join(relative);
    let real = crate::script::resolve(&path);
    real.starts_with(dir).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_file_behind_a_symlink_leading_out_is_not_inside() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dir = root.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.join("out")).unwrap();
        std::fs::create_dir(dir.join("in")).unwrap();
        assert!(inside(&dir, Path::new("out/passwd")).is_none());
        assert!(inside(&dir, Path::new("in/a.txt")).is_some());
        assert!(inside(&dir, Path::new("missing/a.txt")).is_some());
    }
}
