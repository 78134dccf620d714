//! Human output: a line per manifest as it finishes, log lines, failures with their
//! excerpt, and a summary. Results go to stdout, diagnostics and logs to stderr.
//!
//! `plan` lists manifests in plan order whatever `-j` is: a line that finishes early waits
//! until every earlier step has been printed. Under a pending entry whose spec changed, the
//! difference from the recorded spec follows, one change a line.
//!
//! On a terminal a progress line sits at the bottom of stderr while a run lasts: how many
//! manifests are done out of how many, the elapsed time, and which are running now. It is
//! cleared before anything else is printed and redrawn after, so it never tears a line.
//! It is off when stderr is not a terminal (and with `-o json|jsonl`, which do not use this
//! reporter).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::diagnostic;
use crate::exec::{Event, LogLevel, Reporter, Status};

pub struct HumanReporter {
    out: Box<dyn Write + Send>,
    color: bool,
    /// Lowest log level shown.
    level: LogLevel,
    progress_enabled: bool,
    progress: Option<ProgressBar>,
    /// Names of the manifests running now, in start order.
    running: Vec<String>,
    /// `plan`: lines are printed in plan order.
    ordered: bool,
    /// `plan`: finished steps waiting for an earlier one, by step.
    held: std::collections::BTreeMap<usize, Finished>,
    /// `plan`: the next step to print.
    next: usize,
    /// `plan --rollback-on-failure`: per step, how it would be undone.
    undo: std::collections::HashMap<usize, String>,
    /// `apply --rollback-on-failure`: the rollback's recap line, printed before the summary.
    rollback: Option<String>,
    /// The command of the run (`RunStarted`).
    command: &'static str,
    /// `run ACTION`: what each manifest's action returned, short, until its line.
    results: std::collections::HashMap<String, String>,
    /// `run ACTION` without `-v`: the manifests whose handler lacks the action, counted
    /// instead of a line each, and why (`no action `stop``).
    without_action: (usize, Option<String>),
}

/// The longest rendering of an action's result on its manifest's line, in characters.
const RESULT_WIDTH: usize = 60;

/// What an action returned, on one line: a string as is, a list or a map as compact JSON
/// (a number, a boolean or `()` is most often what the last call happened to return, and
/// is not shown); cut at the first line break and after [`RESULT_WIDTH`] characters
/// (secrets are masked in the event already).
fn short_result(value: &serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        v @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => v.to_string(),
        _ => return None,
    };
    let first = text.lines().next().unwrap_or_default();
    let mut shown: String = first.chars().take(RESULT_WIDTH).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    Some(shown)
}

/// A finished manifest, as printed.
struct Finished {
    line: String,
    /// The spec diff, one change a line.
    diff: Vec<String>,
    detail: Option<crate::diagnostic::Diagnostic>,
}

impl HumanReporter {
    pub fn new(color: bool, level: LogLevel) -> Self {
        let stdout = std::io::stdout();
        let out: Box<dyn Write + Send> = if stdout.is_terminal() {
            Box::new(std::io::LineWriter::new(stdout))
        } else {
            Box::new(std::io::BufWriter::with_capacity(64 * 1024, stdout))
        };
        let progress_enabled = std::io::stderr().is_terminal();
        HumanReporter {
            out,
            color,
            level,
            progress_enabled,
            progress: None,
            running: Vec::new(),
            ordered: false,
            held: std::collections::BTreeMap::new(),
            next: 0,
            undo: std::collections::HashMap::new(),
            rollback: None,
            command: "",
            results: std::collections::HashMap::new(),
            without_action: (0, None),
        }
    }

    /// Prints a finished manifest, or, under `plan`, keeps it until the steps before it
    /// are printed.
    fn finished(&mut self, step: usize, f: Finished) {
        if !self.ordered {
            self.print(f);
            return;
        }
        self.held.insert(step, f);
        while let Some(f) = self.held.remove(&self.next) {
            self.print(f);
            self.next += 1;
        }
    }

    fn print(&mut self, f: Finished) {
        let color = self.color;
        self.above(|me| {
            let _ = writeln!(me.out, "{}", f.line);
            for line in &f.diff {
                let style = match line.chars().next() {
                    Some('+') => Style::new().fg_color(Some(AnsiColor::Green.into())),
                    Some('-') => Style::new().fg_color(Some(AnsiColor::Red.into())),
                    Some('~') => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                    _ => Style::new(),
                };
                let _ = writeln!(me.out, "          {}", me.paint(style, line));
            }
            if let Some(diag) = &f.detail {
                let _ = me.out.flush();
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{}", diagnostic::render(diag, color));
            }
        });
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// Runs `f` with the progress line out of the way.
    fn above(&mut self, f: impl FnOnce(&mut Self)) {
        match self.progress.clone() {
            Some(bar) => bar.suspend(|| {
                f(self);
                let _ = self.out.flush();
            }),
            None => f(self),
        }
    }

    fn update_message(&self) {
        if let Some(bar) = &self.progress {
            let shown: Vec<&str> = self.running.iter().take(3).map(String::as_str).collect();
            let more = self.running.len().saturating_sub(shown.len());
            let mut msg = if shown.is_empty() {
                String::new()
            } else {
                format!("running {}", shown.join(", "))
            };
            if more > 0 {
                msg.push_str(&format!(" and {more} more"));
            }
            bar.set_message(msg);
        }
    }
}

/// `3 ms`, `1.20 s`, `2 min 5 s`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

fn status_style(status: Status) -> Style {
    let color = match status {
        Status::Changed | Status::Verified | Status::Done => AnsiColor::Green,
        Status::Unchanged => AnsiColor::BrightBlack,
        Status::Failed | Status::Unreachable => AnsiColor::Red,
        Status::Skipped | Status::Orphaned | Status::Absent | Status::Warned => AnsiColor::Yellow,
        Status::Interrupted => AnsiColor::Magenta,
        Status::Pending => AnsiColor::Cyan,
        Status::RolledBack => AnsiColor::Blue,
        Status::RollbackFailed => AnsiColor::Red,
        Status::NotRolledBack => AnsiColor::Yellow,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

impl Reporter for HumanReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                command,
                handlers,
                total,
                ..
            } => {
                self.ordered = *command == "plan";
                self.command = command;
                for (file, permissions, source) in handlers {
                    let may = if permissions.is_empty() {
                        "nothing beyond pure functions".to_string()
                    } else {
                        permissions.join(", ")
                    };
                    let from = source
                        .as_ref()
                        .map(|s| format!("from {} at {}  ", s.name, s.short_pin()))
                        .unwrap_or_default();
                    let _ = writeln!(self.out, "handler   {file}  {from}may: {may}");
                }
                if self.progress_enabled && *total > 0 {
                    let bar = ProgressBar::with_draw_target(
                        Some(*total as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    let style = ProgressStyle::with_template(
                        "{spinner} {pos}/{len} done · {elapsed} · {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    bar.set_style(style);
                    bar.enable_steady_tick(Duration::from_millis(200));
                    self.progress = Some(bar);
                }
            }
            Event::ManifestStarted { info } => {
                self.running.push(info.name.clone());
                self.update_message();
            }
            Event::ManifestFinished {
                info,
                status,
                duration: d,
                detail,
                reason,
                diff,
                ..
            } => {
                if let Some(i) = self.running.iter().position(|n| *n == info.name) {
                    self.running.remove(i);
                }
                self.update_message();
                if self.command == "run"
                    && *status == Status::Absent
                    && self.level > LogLevel::Debug
                {
                    self.without_action.0 += 1;
                    self.without_action.1.clone_from(reason);
                    return;
                }
                let result = self.results.remove(&info.name);
                let reason = if *status == Status::Done && reason.is_none() {
                    &result
                } else {
                    reason
                };
                let word = self.paint(status_style(*status), &format!("{:<9}", status.as_str()));
                let id = format!("{}/{}", info.kind, info.name);
                let tail = match (status, reason) {
                    (
                        Status::Skipped | Status::Pending | Status::Orphaned | Status::Absent,
                        Some(r),
                    ) => {
                        format!("({r})")
                    }
                    (
                        Status::Interrupted
                        | Status::Unchanged
                        | Status::Changed
                        | Status::Verified
                        | Status::Warned
                        | Status::Done,
                        Some(r),
                    ) => {
                        format!("{} ({r})", duration(*d))
                    }
                    _ => duration(*d),
                };
                let diff = match diff {
                    Some(changes) if changes.is_empty() => vec![
                        "(no difference to show: the change is in a secret or a `!Variable` reference)"
                            .to_string(),
                    ],
                    Some(changes) => crate::exec::diff::render(changes),
                    None => Vec::new(),
                };
                let undo = self
                    .undo
                    .remove(&info.step)
                    .map(|s| format!("  rollback: {s}"))
                    .unwrap_or_default();
                let finished = Finished {
                    line: format!("{word} {id}  {tail}{undo}"),
                    diff,
                    detail: detail.clone(),
                };
                self.finished(info.step, finished);
                if let Some(bar) = &self.progress {
                    bar.inc(1);
                }
            }
            Event::Log {
                manifest,
                level,
                message,
            } if *level >= self.level => {
                let style = match level {
                    LogLevel::Debug => Style::new().fg_color(Some(AnsiColor::BrightBlack.into())),
                    LogLevel::Info => Style::new().fg_color(Some(AnsiColor::Blue.into())),
                    LogLevel::Warn => Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
                    LogLevel::Error => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
                };
                let tag = self.paint(style, &format!("{:<5}", level.as_str()));
                self.above(|me| {
                    let _ = me.out.flush();
                    let mut err = std::io::stderr().lock();
                    // A handler's text: control characters shown, never sent raw.
                    let message = super::printable(message);
                    match manifest {
                        Some(m) => {
                            for line in message.lines() {
                                let _ = writeln!(err, "{tag} {m}: {line}");
                            }
                        }
                        None => {
                            let _ = writeln!(err, "{tag} {message}");
                        }
                    }
                });
            }
            Event::RollbackPlanned { step, strategy } => {
                self.undo.insert(*step, strategy.clone());
            }
            // `ordo watch`: one line on stderr, beside the runs on stdout.
            Event::Watch { message, .. } => {
                let tag = self.paint(Style::new().fg_color(Some(AnsiColor::Cyan.into())), "watch");
                self.above(|me| {
                    let _ = me.out.flush();
                    let message = super::printable(message);
                    let _ = writeln!(std::io::stderr().lock(), "{tag} {message}");
                });
            }
            Event::RollbackStarted { reason, names } => {
                let what = match names.len() {
                    0 => "nothing to undo".to_string(),
                    1 => "undoing 1 manifest".to_string(),
                    n => {
                        format!("undoing {n} manifests, in the reverse of the order they finished")
                    }
                };
                let line = format!("rollback: {reason}; {what}");
                self.above(|me| {
                    let _ = writeln!(me.out, "{line}");
                });
            }
            Event::ManifestRolledBack {
                info,
                status: now,
                result,
                strategy,
                failed,
                duration: d,
                detail,
                reason,
                ..
            } => {
                let (status, word) = match *result {
                    "rolled_back" => (Status::RolledBack, *result),
                    "rollback_failed" => (Status::RollbackFailed, *result),
                    "kept" => (Status::Changed, *result),
                    // A failed manifest whose apply never ran: its status stays.
                    "nothing_to_undo" => (*now, now.as_str()),
                    _ => (Status::NotRolledBack, *result),
                };
                // As wide as `not_rolled_back`: the rollback lines' status column aligns.
                let word = self.paint(status_style(status), &format!("{word:<15}"));
                let mut why = strategy.clone();
                if *failed && *now == Status::Interrupted {
                    why.push_str("; the manifest that was interrupted");
                } else if *failed {
                    why.push_str("; the manifest that failed");
                }
                if let Some(r) = reason {
                    why.push_str(&format!("; {r}"));
                }
                let line = if *result == "rolled_back" || *result == "rollback_failed" {
                    format!(
                        "{word} {}/{}  {}  ({why})",
                        info.kind,
                        info.name,
                        duration(*d)
                    )
                } else {
                    format!("{word} {}/{}  ({why})", info.kind, info.name)
                };
                self.print(Finished {
                    line,
                    diff: Vec::new(),
                    detail: detail.clone(),
                });
            }
            Event::RollbackFinished {
                outcome,
                rolled_back,
                failed,
                not_rolled_back,
                kept,
                stopped,
            } => {
                let mut parts = vec![format!("{rolled_back} rolled back")];
                if *failed > 0 {
                    parts.push(format!("{failed} failed"));
                }
                if *not_rolled_back > 0 {
                    parts.push(format!("{not_rolled_back} not rolled back"));
                }
                if *kept > 0 {
                    parts.push(format!("{kept} kept (metadata.rollback)"));
                }
                let stop = stopped
                    .as_ref()
                    .map(|s| format!("; stopped: {s}"))
                    .unwrap_or_default();
                self.rollback = Some(format!("rollback: {outcome} ({}){stop}", parts.join(", ")));
            }
            Event::RunFinished {
                command,
                summary,
                duration: d,
                interrupted,
                hosts,
                ..
            } => {
                for (_, f) in std::mem::take(&mut self.held) {
                    self.print(f);
                }
                if let Some(bar) = self.progress.take() {
                    bar.finish_and_clear();
                }
                // Ansible's recap: a line per host (`ok` counts changed ones too).
                let width = hosts
                    .iter()
                    .map(|(h, _)| h.chars().count())
                    .max()
                    .unwrap_or(0);
                for (host, s) in hosts {
                    // `plan`: what would change is `pending`, not `ok`; `interrupted` is
                    // shown when there were some.
                    let mut line = format!(
                        "host      {host:<width$}  ok={} changed={}",
                        s.changed + s.unchanged,
                        s.changed
                    );
                    if s.pending > 0 {
                        line.push_str(&format!(" pending={}", s.pending));
                    }
                    line.push_str(&format!(
                        " unreachable={} failed={} skipped={}",
                        s.unreachable, s.failed, s.skipped
                    ));
                    if s.interrupted > 0 {
                        line.push_str(&format!(" interrupted={}", s.interrupted));
                    }
                    let _ = writeln!(self.out, "{line}");
                }
                let mut parts = Vec::new();
                if *command == "plan" {
                    parts.push(format!("{} pending", summary.pending));
                    parts.push(format!("{} unchanged", summary.unchanged));
                    if summary.orphaned > 0 {
                        parts.push(format!("{} orphaned", summary.orphaned));
                    }
                } else if *command == "verify" {
                    parts.push(format!("{} verified", summary.verified));
                    if summary.warned > 0 {
                        parts.push(format!("{} warning", summary.warned));
                    }
                } else if *command == "run" {
                    parts.push(format!("{} done", summary.done));
                } else {
                    parts.push(format!("{} changed", summary.changed));
                    parts.push(format!("{} unchanged", summary.unchanged));
                }
                parts.push(format!("{} failed", summary.failed));
                if summary.unreachable > 0 {
                    parts.push(format!("{} unreachable", summary.unreachable));
                }
                if summary.interrupted > 0 {
                    parts.push(format!("{} interrupted", summary.interrupted));
                }
                parts.push(format!("{} skipped", summary.skipped));
                for (n, what) in [
                    (summary.rolled_back, "rolled back"),
                    (summary.rollback_failed, "rollback failed"),
                    (summary.not_rolled_back, "not rolled back"),
                    (summary.kept, "kept"),
                ] {
                    if n > 0 {
                        parts.push(format!("{n} {what}"));
                    }
                }
                if let Some(line) = self.rollback.take() {
                    let _ = writeln!(self.out, "{line}");
                }
                if let (n @ 1.., why) = &self.without_action {
                    let what = why
                        .as_deref()
                        .and_then(|w| w.strip_prefix("no action "))
                        .map(|a| format!(" without the action {a}"))
                        .unwrap_or_default();
                    let s = if *n == 1 { "" } else { "s" };
                    let word = self.paint(status_style(Status::Skipped), "skipped  ");
                    let _ = writeln!(self.out, "{word} {n} manifest{s}{what} (`-v` lists them)");
                }
                let note = if *interrupted { " (interrupted)" } else { "" };
                let _ = writeln!(
                    self.out,
                    "{command}: {} in {}{note}",
                    parts.join(", "),
                    duration(*d)
                );
            }
            Event::ActionResult { manifest, value } => {
                if let Some(text) = short_result(value) {
                    self.results.insert(manifest.clone(), text);
                }
            }
            Event::Log { .. } => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        let _ = self.out.flush();
    }
}
