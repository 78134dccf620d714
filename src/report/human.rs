//! Human output: a line per manifest as it finishes, log lines, failures with their
//! excerpt, and a summary. Results go to stdout, diagnostics and logs to stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Style};

use super::diagnostic;
use crate::exec::{Event, LogLevel, Reporter, Status};

pub struct HumanReporter {
    out: Box<dyn Write + Send>,
    color: bool,
    /// Lowest log level shown.
    level: LogLevel,
}

impl HumanReporter {
    pub fn new(color: bool, level: LogLevel) -> Self {
        let stdout = std::io::stdout();
        let out: Box<dyn Write + Send> = if stdout.is_terminal() {
            Box::new(std::io::LineWriter::new(stdout))
        } else {
            Box::new(std::io::BufWriter::with_capacity(64 * 1024, stdout))
        };
        HumanReporter { out, color, level }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
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
        Status::Changed => AnsiColor::Green,
        Status::Unchanged => AnsiColor::BrightBlack,
        Status::Failed => AnsiColor::Red,
        Status::Skipped | Status::Orphaned => AnsiColor::Yellow,
        Status::Pending => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

impl Reporter for HumanReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::ManifestFinished {
                info,
                status,
                duration: d,
                detail,
                reason,
                ..
            } => {
                let word = self.paint(status_style(*status), &format!("{:<9}", status.as_str()));
                let id = format!("{}/{}", info.kind, info.name);
                let tail = match (status, reason) {
                    (Status::Skipped | Status::Pending | Status::Orphaned, Some(r)) => {
                        format!("({r})")
                    }
                    _ => duration(*d),
                };
                let _ = writeln!(self.out, "{word} {id}  {tail}");
                if let Some(diag) = detail {
                    let _ = self.out.flush();
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(err, "{}", diagnostic::render(diag, self.color));
                }
            }
            Event::Log {
                manifest,
                level,
                message,
            } if *level >= self.level => {
                let _ = self.out.flush();
                let style = match level {
                    LogLevel::Debug => Style::new().fg_color(Some(AnsiColor::BrightBlack.into())),
                    LogLevel::Info => Style::new().fg_color(Some(AnsiColor::Blue.into())),
                    LogLevel::Warn => Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
                    LogLevel::Error => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
                };
                let tag = self.paint(style, &format!("{:<5}", level.as_str()));
                let mut err = std::io::stderr().lock();
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
            }
            Event::RunStarted { handlers, .. } if !handlers.is_empty() => {
                for (file, permissions) in handlers {
                    let may = if permissions.is_empty() {
                        "nothing beyond pure functions".to_string()
                    } else {
                        permissions.join(", ")
                    };
                    let _ = writeln!(self.out, "handler   {file}  may: {may}");
                }
            }
            Event::RunFinished {
                command,
                summary,
                duration: d,
                interrupted,
                ..
            } => {
                let mut parts = Vec::new();
                if *command == "plan" {
                    parts.push(format!("{} pending", summary.pending));
                    parts.push(format!("{} unchanged", summary.unchanged));
                    if summary.orphaned > 0 {
                        parts.push(format!("{} orphaned", summary.orphaned));
                    }
                } else {
                    parts.push(format!("{} changed", summary.changed));
                    parts.push(format!("{} unchanged", summary.unchanged));
                }
                parts.push(format!("{} failed", summary.failed));
                parts.push(format!("{} skipped", summary.skipped));
                let note = if *interrupted { " (interrupted)" } else { "" };
                let _ = writeln!(
                    self.out,
                    "{command}: {} in {}{note}",
                    parts.join(", "),
                    duration(*d)
                );
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}
