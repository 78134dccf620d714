//! Events: what a run tells the outside world, as it happens.
//!
//! Deep code never prints. The runner and the stdlib emit [`Event`]s into an [`EventSink`];
//! `report/` turns them into human lines, a JSON report or JSON lines.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::status::{Status, Summary};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// What a manifest is, for events: enough to print a line without looking anything up.
#[derive(Clone, Debug)]
pub struct StepInfo {
    /// Position in the plan (the order of `manifest_started` events under `-j 1`).
    pub step: usize,
    pub name: String,
    pub kind: String,
    pub version: String,
    pub handler: String,
    /// The function that runs: `apply` or `delete` (after `actionOverrides`).
    pub function: &'static str,
    /// The host of a manifest instance (`name` is then `manifest@host`); `None`: the
    /// controller.
    pub host: Option<String>,
}

/// The source a handler came from, as `plan` shows it (DESIGN.md §15).
#[derive(Clone, Debug)]
pub struct HandlerSource {
    /// The source's name.
    pub name: String,
    /// Its address.
    pub url: String,
    /// A full commit id, or `sha256:HEX` for a download.
    pub pin: String,
}

impl HandlerSource {
    /// As JSON: `name`, `url`, and `commit` or `digest`.
    pub fn to_json(&self) -> serde_json::Value {
        let field = if self.pin.starts_with("sha256:") {
            "digest"
        } else {
            "commit"
        };
        let mut map = serde_json::Map::new();
        map.insert("name".into(), self.name.clone().into());
        map.insert("url".into(), self.url.clone().into());
        map.insert(field.into(), self.pin.clone().into());
        serde_json::Value::Object(map)
    }

    /// The pin shortened for one line: 12 digits of a commit, `sha256:` and 12 of a digest.
    pub fn short_pin(&self) -> String {
        match self.pin.strip_prefix("sha256:") {
            Some(hex) => format!("sha256:{}", hex.get(..12).unwrap_or(hex)),
            None => self.pin.get(..12).unwrap_or(&self.pin).to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Event {
    RunStarted {
        command: &'static str,
        environment: String,
        total: usize,
        jobs: usize,
        /// `plan`: every handler the plan uses, with what it may do and the source it came
        /// from (`None`: a local or bundled handler).
        handlers: Vec<(String, Vec<&'static str>, Option<HandlerSource>)>,
        /// Warnings of the run's loading (a source's branch moved past its pin).
        warnings: Vec<String>,
    },
    ManifestStarted {
        info: Arc<StepInfo>,
    },
    ManifestFinished {
        info: Arc<StepInfo>,
        status: Status,
        duration: Duration,
        /// For `failed`: what went wrong, rendered on one line with its location.
        error: Option<String>,
        /// For `failed`: the full diagnostic, for human output.
        detail: Option<crate::diagnostic::Diagnostic>,
        /// For `skipped`, and `pending` under `plan`: why.
        reason: Option<String>,
        /// `plan`: how the spec changed since the last apply (already masked).
        diff: Option<Vec<super::diff::Change>>,
    },
    Log {
        manifest: Option<String>,
        level: LogLevel,
        message: String,
    },
    /// `plan --rollback-on-failure`: how a pending manifest would be undone; sent just
    /// before its `ManifestFinished`.
    RollbackPlanned {
        step: usize,
        strategy: String,
    },
    /// `apply --rollback-on-failure`: a failure (or Ctrl-C) started the rollback of
    /// `names`, in this order.
    RollbackStarted {
        reason: String,
        names: Vec<String>,
    },
    /// One manifest of the rollback is done with.
    ManifestRolledBack {
        info: Arc<StepInfo>,
        /// Its status now: `rolled_back`, `rollback_failed` or `not_rolled_back` for a
        /// changed manifest; the manifest that failed keeps `failed` (or `interrupted`), and
        /// one kept by `metadata.rollback` keeps `changed`.
        status: Status,
        /// What happened to it: `rolled_back`, `rollback_failed`, `not_rolled_back` or
        /// `kept`.
        result: &'static str,
        /// How it was (or would have been) undone: `handler rollback()`, `delete (new)`,
        /// `re-apply previous spec`, `none (metadata.rollback: never)`...
        strategy: String,
        /// It is the manifest whose failure started the rollback (`m.failed`).
        failed: bool,
        duration: Duration,
        error: Option<String>,
        detail: Option<crate::diagnostic::Diagnostic>,
        reason: Option<String>,
    },
    /// The rollback is over: `outcome` is `complete`, `partial` or `failed`.
    RollbackFinished {
        outcome: &'static str,
        rolled_back: usize,
        failed: usize,
        not_rolled_back: usize,
        kept: usize,
        /// Why it stopped early (a failed undo, Ctrl-C), if it did.
        stopped: Option<String>,
    },
    /// `run ACTION`: what a manifest's action returned (as JSON, secrets masked), just
    /// before its `ManifestFinished`.
    ActionResult {
        manifest: String,
        value: serde_json::Value,
    },
    /// `ordo watch`: what the loop did around its runs. `event` names it
    /// (`cycle_started`, `cycle_finished`, `cycle_skipped`, `inputs_failed`,
    /// `inputs_loaded`, `stopping`); `message` is its line for people; `fields` are its
    /// JSON fields, every text in them already masked.
    Watch {
        event: &'static str,
        message: String,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    RunFinished {
        command: &'static str,
        ok: bool,
        interrupted: bool,
        summary: Summary,
        duration: Duration,
        /// Per host that manifest instances ran on, in inventory order: their counts.
        hosts: Vec<(String, Summary)>,
    },
}

/// Receives events. Implementations render them; they must not block for long.
pub trait Reporter: Send {
    fn event(&mut self, event: &Event);
    /// Called once after `RunFinished`, to flush buffers or print a final report.
    fn finish(&mut self) {}
}

/// A cheap, cloneable handle to the run's reporter, shared by worker threads.
#[derive(Clone)]
pub struct EventSink {
    reporter: Arc<Mutex<Box<dyn Reporter>>>,
}

impl EventSink {
    pub fn new(reporter: Box<dyn Reporter>) -> Self {
        EventSink {
            reporter: Arc::new(Mutex::new(reporter)),
        }
    }

    /// Hands `event` to the reporter, with every secret masked.
    pub fn emit(&self, event: &Event) {
        let masked = mask_event(event);
        self.reporter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .event(masked.as_ref().unwrap_or(event));
    }

    pub fn finish(&self) {
        self.reporter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .finish();
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}

/// A copy of `event` with secrets masked, if it holds any text that needs it: every text
/// a handler can put in it (errors, notes of `verify`, reasons, log lines, an action's
/// result, why a rollback stopped), so each command and output format masks alike.
fn mask_event(event: &Event) -> Option<Event> {
    use super::secrets::masked;
    if !super::secrets::any() {
        return None;
    }
    match event {
        Event::Log {
            manifest,
            level,
            message,
        } => Some(Event::Log {
            manifest: manifest.clone(),
            level: *level,
            message: masked(message),
        }),
        Event::ManifestFinished {
            info,
            status,
            duration,
            error,
            detail,
            reason,
            diff,
        } => Some(Event::ManifestFinished {
            info: Arc::clone(info),
            status: *status,
            duration: *duration,
            error: error.as_deref().map(masked),
            detail: detail.as_ref().map(|d| masked_diagnostic(d, masked)),
            reason: reason.as_deref().map(masked),
            diff: diff.clone(),
        }),
        Event::ManifestRolledBack {
            info,
            status,
            result,
            strategy,
            failed,
            duration,
            error,
            detail,
            reason,
        } => Some(Event::ManifestRolledBack {
            info: Arc::clone(info),
            status: *status,
            result,
            strategy: masked(strategy),
            failed: *failed,
            duration: *duration,
            error: error.as_deref().map(masked),
            detail: detail.as_ref().map(|d| masked_diagnostic(d, masked)),
            reason: reason.as_deref().map(masked),
        }),
        Event::RollbackStarted { reason, names } => Some(Event::RollbackStarted {
            reason: masked(reason),
            names: names.clone(),
        }),
        Event::RollbackFinished {
            outcome,
            rolled_back,
            failed,
            not_rolled_back,
            kept,
            stopped,
        } => Some(Event::RollbackFinished {
            outcome,
            rolled_back: *rolled_back,
            failed: *failed,
            not_rolled_back: *not_rolled_back,
            kept: *kept,
            stopped: stopped.as_deref().map(masked),
        }),
        Event::ActionResult { manifest, value } => {
            let mut value = value.clone();
            super::secrets::mask_json(&mut value);
            Some(Event::ActionResult {
                manifest: manifest.clone(),
                value,
            })
        }
        Event::Watch {
            event,
            message,
            fields,
        } => {
            let mut value = serde_json::Value::Object(fields.clone());
            super::secrets::mask_json(&mut value);
            Some(Event::Watch {
                event,
                message: masked(message),
                fields: match value {
                    serde_json::Value::Object(fields) => fields,
                    _ => serde_json::Map::new(),
                },
            })
        }
        _ => None,
    }
}

/// A diagnostic with every secret masked.
fn masked_diagnostic(
    d: &crate::diagnostic::Diagnostic,
    masked: impl Fn(&str) -> String,
) -> crate::diagnostic::Diagnostic {
    let mut d = d.clone();
    d.message = masked(&d.message);
    d.notes = d.notes.iter().map(|n| masked(n)).collect();
    d.help = d.help.as_deref().map(&masked);
    d.label = d.label.as_deref().map(&masked);
    d
}
