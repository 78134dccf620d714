//! `-o json` (one report at the end) and `-o jsonl` (one event per line, as it happens),
//! and the one JSON shape of a manifest that every command's `-o json` uses.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{Value, json};

use crate::events::HandlerSource;
use crate::exec::{Event, LogLevel, Reporter, Summary};

/// One manifest as every command's `-o json` shows it (DESIGN.md §10): the same keys
/// whatever the command, `null` (or `[]`) where a command has nothing to say.
#[derive(Debug)]
pub struct ManifestJson<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub version: &'a str,
    /// The handler file that serves it.
    pub handler: &'a str,
    /// A run status (`changed`, `interrupted`...), `valid` for the commands that only
    /// load, `applied` for a state entry.
    pub status: &'a str,
    /// `None` when nothing ran.
    pub duration_ms: Option<u64>,
    pub error: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// `{level, message}` of the manifest's handler log lines, already masked.
    pub logs: Vec<Value>,
}

impl ManifestJson<'_> {
    /// The entry, its keys in the documented order.
    pub fn to_json(&self) -> Value {
        // An instance `web@h1`: its manifest's name as written and its host (`null` on the
        // controller), so scripts need not split the name.
        let (manifest, host) = crate::manifest::split_instance(self.name);
        json!({
            "name": self.name, "manifest": manifest, "host": host,
            "kind": self.kind, "version": self.version,
            "handler": self.handler, "status": self.status, "duration_ms": self.duration_ms,
            "error": self.error, "reason": self.reason, "logs": self.logs,
        })
    }

    /// An entry for a command that runs no handler.
    pub fn loaded<'a>(
        name: &'a str,
        kind: &'a str,
        version: &'a str,
        handler: &'a str,
        status: &'a str,
    ) -> ManifestJson<'a> {
        ManifestJson {
            name,
            kind,
            version,
            handler,
            status,
            duration_ms: None,
            error: None,
            reason: None,
            logs: Vec::new(),
        }
    }
}

/// One log line of a manifest's `logs`.
fn log_json(level: LogLevel, message: &str) -> Value {
    json!({"level": level.as_str(), "message": message})
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn summary_json(command: &str, s: &Summary) -> Value {
    let mut v = if command == "plan" {
        json!({"pending": s.pending, "unchanged": s.unchanged, "failed": s.failed, "interrupted": s.interrupted, "skipped": s.skipped, "orphaned": s.orphaned})
    } else if command == "verify" {
        json!({"verified": s.verified, "warning": s.warned, "failed": s.failed, "interrupted": s.interrupted, "skipped": s.skipped})
    } else if command == "run" {
        json!({"done": s.done, "failed": s.failed, "interrupted": s.interrupted, "skipped": s.skipped})
    } else {
        json!({"changed": s.changed, "unchanged": s.unchanged, "failed": s.failed, "interrupted": s.interrupted, "skipped": s.skipped})
    };
    if s.unreachable > 0
        && let Some(fields) = v.as_object_mut()
    {
        fields.insert("unreachable".into(), json!(s.unreachable));
    }
    // After a rollback (`apply --rollback-on-failure`), what it did.
    if (s.rollback || s.rolled_back + s.rollback_failed + s.not_rolled_back > 0)
        && let Some(fields) = v.as_object_mut()
    {
        fields.insert("rolled_back".into(), json!(s.rolled_back));
        fields.insert("rollback_failed".into(), json!(s.rollback_failed));
        fields.insert("not_rolled_back".into(), json!(s.not_rolled_back));
        fields.insert("kept".into(), json!(s.kept));
    }
    v
}

/// Per host, the counts of its instances (`ok` counts the changed ones too, as Ansible's
/// recap does).
fn hosts_json(hosts: &[(String, Summary)]) -> Value {
    hosts
        .iter()
        .map(|(host, s)| {
            json!({
                "host": host, "ok": s.changed + s.unchanged + s.pending, "changed": s.changed,
                "unchanged": s.unchanged, "pending": s.pending, "failed": s.failed,
                "unreachable": s.unreachable, "skipped": s.skipped, "interrupted": s.interrupted,
            })
        })
        .collect()
}

/// Bytes of handler log messages one JSON report keeps; later lines are counted, not kept.
const MAX_LOG_BYTES: usize = 64 << 20;

/// Collects the run and prints one JSON object when it ends.
pub struct JsonReporter {
    /// Lowest handler log level kept in the entries' `logs` (`-v`, `-q`).
    level: LogLevel,
    /// Log lines of the manifests that have not finished yet, by name.
    logs: HashMap<String, Vec<Value>>,
    /// Bytes of log messages kept so far, at most [`MAX_LOG_BYTES`] (issue 15: the report
    /// holds every line until the end), and per manifest how many lines were not kept.
    log_bytes: usize,
    dropped: HashMap<String, usize>,
    plan: bool,
    environment: String,
    handlers: Vec<Value>,
    /// Warnings of the run's loading (`RunStarted`), in the result when there are some.
    warnings: Vec<String>,
    /// Manifests in the order they started (skipped ones, which never start, at the end).
    entries: Vec<(usize, Value)>,
    /// `apply --rollback-on-failure`: per step, its place in `entries` (filled when the
    /// rollback starts).
    places: HashMap<usize, usize>,
    started: Vec<usize>,
    result: Option<Value>,
    /// `plan --rollback-on-failure`: per step, how it would be undone.
    undo: HashMap<usize, String>,
    /// `plan --rollback-on-failure` was asked: every entry says how it would be undone.
    undo_planned: bool,
    /// `apply --rollback-on-failure`: how the rollback ended, once it did.
    rollback: Option<&'static str>,
    /// `run ACTION`: what each manifest's action returned, by name, until it finishes.
    actions: Option<HashMap<String, Value>>,
}

impl Default for JsonReporter {
    fn default() -> Self {
        Self::new(LogLevel::Info)
    }
}

impl JsonReporter {
    /// A reporter keeping handler log lines of `level` and above.
    pub fn new(level: LogLevel) -> Self {
        JsonReporter {
            level,
            logs: HashMap::new(),
            log_bytes: 0,
            dropped: HashMap::new(),
            plan: false,
            environment: String::new(),
            handlers: Vec::new(),
            warnings: Vec::new(),
            entries: Vec::new(),
            started: Vec::new(),
            result: None,
            undo: HashMap::new(),
            places: HashMap::new(),
            undo_planned: false,
            rollback: None,
            actions: None,
        }
    }
}

impl JsonReporter {
    /// The log lines kept for `name`, and a last one saying how many were not.
    fn logs_of(&mut self, name: &str) -> Vec<Value> {
        let mut logs = self.logs.remove(name).unwrap_or_default();
        if let Some(n) = self.dropped.remove(name) {
            logs.push(log_json(
                LogLevel::Warn,
                &format!(
                    "{n} more log line{} not kept: the JSON report keeps at most {} MiB of handler logs (`-o jsonl` streams them all)",
                    if n == 1 { " was" } else { "s were" },
                    MAX_LOG_BYTES >> 20
                ),
            ));
        }
        logs
    }
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                command,
                environment,
                handlers,
                warnings,
                ..
            } => {
                self.warnings.clone_from(warnings);
                self.plan = *command == "plan";
                if *command == "run" {
                    self.actions = Some(HashMap::new());
                }
                self.environment.clone_from(environment);
                self.handlers = handlers
                    .iter()
                    .map(|(f, p, s)| json!({"file": f, "source": s.as_ref().map(HandlerSource::to_json), "permissions": p}))
                    .collect();
            }
            Event::ManifestStarted { info } => self.started.push(info.step),
            Event::ManifestFinished {
                info,
                status,
                duration,
                error,
                reason,
                diff,
                ..
            } => {
                let mut entry = ManifestJson {
                    name: &info.name,
                    kind: &info.kind,
                    version: &info.version,
                    handler: &info.handler,
                    status: status.as_str(),
                    duration_ms: Some(ms(*duration)),
                    error: error.as_deref(),
                    reason: reason.as_deref(),
                    logs: self.logs_of(&info.name),
                }
                .to_json();
                // `plan` adds how a changed spec changed (`null` otherwise).
                if self.plan
                    && let Some(fields) = entry.as_object_mut()
                {
                    fields.insert("diff".into(), json!(diff));
                    if let Some(strategy) = self.undo.remove(&info.step) {
                        fields.insert("rollback".into(), json!(strategy));
                    }
                }
                // `run ACTION`: what the action returned (`null` when it did not run).
                if let (Some(results), Some(fields)) = (&mut self.actions, entry.as_object_mut()) {
                    let value = results.remove(&info.name).unwrap_or(Value::Null);
                    fields.insert("result".into(), value);
                }
                self.entries.push((info.step, entry));
            }
            Event::RollbackPlanned { step, strategy } => {
                self.undo_planned = true;
                self.undo.insert(*step, strategy.clone());
            }
            Event::RollbackStarted { .. } => {
                self.places = self
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, (step, _))| (*step, i))
                    .collect();
            }
            Event::ManifestRolledBack {
                info,
                status,
                result,
                strategy,
                failed,
                duration,
                error,
                reason,
                ..
            } => {
                let undo = json!({
                    "strategy": strategy, "status": result, "failed": failed,
                    "duration_ms": ms(*duration), "error": error, "reason": reason,
                });
                if let Some(fields) = self
                    .places
                    .get(&info.step)
                    .and_then(|&i| self.entries.get_mut(i))
                    .and_then(|(_, v)| v.as_object_mut())
                {
                    fields.insert("status".into(), json!(status.as_str()));
                    fields.insert("rollback".into(), undo);
                }
            }
            Event::RollbackFinished { outcome, .. } => self.rollback = Some(outcome),
            Event::RunFinished {
                command,
                ok,
                summary,
                duration,
                hosts,
                ..
            } => {
                if self.undo_planned {
                    for (_, entry) in &mut self.entries {
                        if let Some(fields) = entry.as_object_mut() {
                            fields.entry("rollback").or_insert(Value::Null);
                        }
                    }
                }
                let order: std::collections::HashMap<usize, usize> = self
                    .started
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| (s, i))
                    .collect();
                let position = |step: usize| order.get(&step).copied().unwrap_or(usize::MAX);
                let mut entries = std::mem::take(&mut self.entries);
                if self.plan {
                    // `plan` lists manifests in plan order whatever `-j` is.
                    entries.sort_by_key(|(step, _)| *step);
                } else {
                    entries.sort_by_key(|(step, _)| (position(*step), *step));
                }
                let mut result = json!({
                    "command": command, "environment": self.environment, "ok": ok,
                    "duration_ms": ms(*duration),
                    "manifests": entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
                    "summary": summary_json(command, summary),
                });
                if self.plan
                    && let Some(fields) = result.as_object_mut()
                {
                    fields.insert("handlers".into(), json!(self.handlers));
                }
                if !hosts.is_empty()
                    && let Some(fields) = result.as_object_mut()
                {
                    fields.insert("hosts".into(), hosts_json(hosts));
                }
                if !self.warnings.is_empty()
                    && let Some(fields) = result.as_object_mut()
                {
                    fields.insert("warnings".into(), json!(self.warnings));
                }
                if let (Some(outcome), Some(fields)) = (self.rollback, result.as_object_mut()) {
                    fields.insert("rollback".into(), json!(outcome));
                }
                self.result = Some(result);
            }
            Event::Log {
                manifest: Some(name),
                level,
                message,
            } if *level >= self.level => {
                if self.log_bytes.saturating_add(message.len()) > MAX_LOG_BYTES {
                    *self.dropped.entry(name.clone()).or_default() += 1;
                } else {
                    self.log_bytes += message.len();
                    self.logs
                        .entry(name.clone())
                        .or_default()
                        .push(log_json(*level, message));
                }
            }
            Event::Log { .. } | Event::Watch { .. } => {}
            Event::ActionResult { manifest, value } => {
                if let Some(results) = &mut self.actions {
                    results.insert(manifest.clone(), value.clone());
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(result) = self.result.take() {
            // Stdout is line-buffered: without a buffer of its own a pretty report
            // would cost one write per line.
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
            let _ = serde_json::to_writer_pretty(&mut out, &result);
            let _ = writeln!(out);
            let _ = out.flush();
        }
    }
}

/// Prints each event as one JSON object per line, with `event` naming it.
pub struct JsonLinesReporter {
    out: std::io::BufWriter<std::io::Stdout>,
    /// `ordo watch`: the cycle every line carries.
    cycle: Option<u64>,
}

impl Default for JsonLinesReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonLinesReporter {
    pub fn new() -> Self {
        JsonLinesReporter {
            out: std::io::BufWriter::new(std::io::stdout()),
            cycle: None,
        }
    }

    /// `ordo watch`: every line carries `"cycle": n`.
    pub fn in_cycle(self, cycle: Option<u64>) -> Self {
        JsonLinesReporter { cycle, ..self }
    }
}

/// The JSON form of an event (`-o jsonl`).
pub fn event_json(event: &Event) -> Value {
    match event {
        Event::RunStarted {
            command,
            environment,
            total,
            jobs,
            warnings,
            ..
        } => {
            let mut event = json!({"event": "run_started", "command": command, "environment": environment, "total": total, "jobs": jobs});
            if let (false, Some(fields)) = (warnings.is_empty(), event.as_object_mut()) {
                fields.insert("warnings".into(), json!(warnings));
            }
            event
        }
        Event::ManifestStarted { info } => json!({
            "event": "manifest_started", "step": info.step, "name": info.name, "kind": info.kind,
            "version": info.version, "handler": info.handler, "function": info.function,
            "host": info.host,
        }),
        Event::ManifestFinished {
            info,
            status,
            duration,
            error,
            reason,
            diff,
            ..
        } => {
            let mut event = json!({
                "event": "manifest_finished", "step": info.step, "name": info.name, "kind": info.kind,
                "version": info.version, "handler": info.handler, "status": status.as_str(),
                "duration_ms": ms(*duration), "error": error, "reason": reason, "host": info.host,
            });
            // `plan`: how a changed spec changed.
            if let (Some(diff), Some(fields)) = (diff, event.as_object_mut()) {
                fields.insert("diff".into(), json!(diff));
            }
            event
        }
        Event::Log {
            manifest,
            level,
            message,
        } => {
            json!({"event": "log", "manifest": manifest, "level": level.as_str(), "message": message})
        }
        Event::RollbackPlanned { step, strategy } => {
            json!({"event": "rollback_planned", "step": step, "strategy": strategy})
        }
        Event::RollbackStarted { reason, names } => {
            json!({"event": "rollback_started", "reason": reason, "manifests": names})
        }
        Event::ManifestRolledBack {
            info,
            status,
            result,
            strategy,
            failed,
            duration,
            error,
            reason,
            ..
        } => json!({
            "event": "manifest_rolled_back", "step": info.step, "name": info.name,
            "kind": info.kind, "version": info.version, "handler": info.handler,
            "host": info.host, "status": status.as_str(), "rollback": result,
            "strategy": strategy, "failed": failed, "duration_ms": ms(*duration),
            "error": error, "reason": reason,
        }),
        Event::RollbackFinished {
            outcome,
            rolled_back,
            failed,
            not_rolled_back,
            kept,
            stopped,
        } => json!({
            "event": "rollback_finished", "rollback": outcome, "rolled_back": rolled_back,
            "rollback_failed": failed, "not_rolled_back": not_rolled_back, "kept": kept,
            "stopped": stopped,
        }),
        Event::ActionResult { manifest, value } => {
            json!({"event": "action_result", "name": manifest, "result": value})
        }
        Event::Watch {
            event,
            message,
            fields,
        } => {
            let mut line = serde_json::Map::new();
            line.insert("event".into(), json!(event));
            line.insert("message".into(), json!(message));
            line.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(line)
        }
        Event::RunFinished {
            command,
            ok,
            interrupted,
            summary,
            duration,
            hosts,
        } => json!({
            "event": "run_finished", "command": command, "ok": ok, "interrupted": interrupted,
            "duration_ms": ms(*duration), "summary": summary_json(command, summary),
            "hosts": hosts_json(hosts),
        }),
    }
}

impl Reporter for JsonLinesReporter {
    fn event(&mut self, event: &Event) {
        let mut line = event_json(event);
        if let (Some(cycle), Some(fields)) = (self.cycle, line.as_object_mut()) {
            fields.insert("cycle".into(), json!(cycle));
        }
        let _ = serde_json::to_writer(&mut self.out, &line);
        let _ = writeln!(self.out);
        // Lines are for consumers watching live: flush each one, except for the bulk of
        // per-manifest events, which are flushed when a run is large anyway.
        let _ = self.out.flush();
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}
