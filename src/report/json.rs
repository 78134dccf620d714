//! `-o json` (one report at the end) and `-o jsonl` (one event per line, as it happens).

use std::io::Write;

use serde_json::{Value, json};

use crate::exec::{Event, Reporter, Status, Summary};

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn summary_json(command: &str, s: &Summary) -> Value {
    if command == "plan" {
        json!({"pending": s.pending, "unchanged": s.unchanged, "failed": s.failed, "skipped": s.skipped, "orphaned": s.orphaned})
    } else {
        json!({"changed": s.changed, "unchanged": s.unchanged, "failed": s.failed, "skipped": s.skipped})
    }
}

/// Collects the run and prints one JSON object when it ends.
pub struct JsonReporter {
    plan: bool,
    environment: String,
    handlers: Vec<Value>,
    /// Manifests in the order they started (skipped ones, which never start, at the end).
    entries: Vec<(usize, Value)>,
    started: Vec<usize>,
    result: Option<Value>,
}

impl Default for JsonReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonReporter {
    pub fn new() -> Self {
        JsonReporter {
            plan: false,
            environment: String::new(),
            handlers: Vec::new(),
            entries: Vec::new(),
            started: Vec::new(),
            result: None,
        }
    }
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                command,
                environment,
                handlers,
                ..
            } => {
                self.plan = *command == "plan";
                self.environment.clone_from(environment);
                self.handlers = handlers
                    .iter()
                    .map(|(f, p)| json!({"file": f, "permissions": p}))
                    .collect();
            }
            Event::ManifestStarted { info } => self.started.push(info.step),
            Event::ManifestFinished {
                info,
                status,
                duration,
                error,
                reason,
                ..
            } => {
                let mut entry = json!({
                    "name": info.name, "kind": info.kind, "version": info.version,
                    "handler": info.handler, "status": status.as_str(),
                    "duration_ms": ms(*duration), "error": error,
                });
                // `plan` says why; `apply` and `delete` keep exactly the documented keys.
                if self.plan
                    && let Some(fields) = entry.as_object_mut()
                {
                    fields.insert("reason".into(), json!(reason));
                }
                self.entries.push((info.step, entry));
            }
            Event::RunFinished {
                command,
                ok,
                summary,
                duration,
                ..
            } => {
                let order: std::collections::HashMap<usize, usize> = self
                    .started
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| (s, i))
                    .collect();
                let position = |step: usize| order.get(&step).copied().unwrap_or(usize::MAX);
                let mut entries = std::mem::take(&mut self.entries);
                entries.sort_by_key(|(step, _)| (position(*step), *step));
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
                self.result = Some(result);
            }
            Event::Log { .. } => {}
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
        }
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
            ..
        } => {
            json!({"event": "run_started", "command": command, "environment": environment, "total": total, "jobs": jobs})
        }
        Event::ManifestStarted { info } => json!({
            "event": "manifest_started", "step": info.step, "name": info.name, "kind": info.kind,
            "version": info.version, "handler": info.handler, "function": info.function,
        }),
        Event::ManifestFinished {
            info,
            status,
            duration,
            error,
            reason,
            ..
        } => json!({
            "event": "manifest_finished", "step": info.step, "name": info.name, "kind": info.kind,
            "version": info.version, "handler": info.handler, "status": status.as_str(),
            "duration_ms": ms(*duration), "error": error,
            "reason": if *status == Status::Skipped { reason.clone() } else { None },
        }),
        Event::Log {
            manifest,
            level,
            message,
        } => {
            json!({"event": "log", "manifest": manifest, "level": level.as_str(), "message": message})
        }
        Event::RunFinished {
            command,
            ok,
            interrupted,
            summary,
            duration,
        } => json!({
            "event": "run_finished", "command": command, "ok": ok, "interrupted": interrupted,
            "duration_ms": ms(*duration), "summary": summary_json(command, summary),
        }),
    }
}

impl Reporter for JsonLinesReporter {
    fn event(&mut self, event: &Event) {
        let _ = serde_json::to_writer(&mut self.out, &event_json(event));
        let _ = writeln!(self.out);
        // Lines are for consumers watching live: flush each one, except for the bulk of
        // per-manifest events, which are flushed when a run is large anyway.
        let _ = self.out.flush();
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}
