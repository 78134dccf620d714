//! Script errors with their place: the handler file, line and column, and the call chain.
//!
//! Rhai nests errors (`ErrorInFunctionCall` around the real one, with the source of each
//! function). [`ScriptError::from_eval`] walks down to the innermost error and keeps its
//! position and file, so the message points at the line that failed, not at `apply`.

use std::fmt;
use std::sync::Arc;

use rhai::{EvalAltResult, ParseError, Position};

use super::engine::{STOP_INTERRUPTED, STOP_TIMEOUT, ScriptLimits};
use crate::diagnostic::Diagnostic;
use crate::manifest::{Location, Mark, SourceFile};

/// Why a script stopped, when it was a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Operations,
    CallDepth,
    DataSize,
    Timeout,
    Interrupted,
}

#[derive(Clone, Debug)]
pub struct ScriptError {
    /// The file the innermost error happened in (a handler, or an imported module).
    pub file: String,
    pub mark: Option<Mark>,
    pub message: String,
    pub help: Option<String>,
    /// `in call to `f` at file:line:col`, innermost last.
    pub trace: Vec<String>,
    pub limit: Option<LimitKind>,
}

/// Bytes of an error message (or its help) kept: a script can throw a string of the whole
/// string length, and the run holds each failure until its report (issue 15).
const MAX_MESSAGE: usize = 64 << 10;

/// `text` cut to [`MAX_MESSAGE`] bytes, secrets masked before the cut (issue 15: a cut
/// through a secret leaves a part the masking no longer recognises).
fn bounded(text: String) -> String {
    if text.len() <= MAX_MESSAGE {
        return text;
    }
    let text = crate::events::secrets::masked(&text);
    let Some(end) = (0..=MAX_MESSAGE.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
    else {
        return text;
    };
    format!(
        "{} … ({} more bytes not shown)",
        text.get(..end).unwrap_or_default(),
        text.len() - end
    )
}

fn mark_of(pos: Position) -> Option<Mark> {
    let line = u32::try_from(pos.line()?).ok()?;
    let col = pos
        .position()
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(1);
    Some(Mark::new(line, col))
}

impl ScriptError {
    pub fn from_parse(file: &str, e: &ParseError) -> Self {
        ScriptError {
            file: file.to_string(),
            mark: mark_of(e.position()),
            message: format!("syntax error: {}", e.err_type()),
            help: parse_help(&e.err_type().to_string()),
            trace: Vec::new(),
            limit: None,
        }
    }

    /// Flattens a Rhai runtime error raised while running code from `file`.
    pub fn from_eval(
        file: &str,
        e: &EvalAltResult,
        limits: &ScriptLimits,
        timeout_secs: Option<f64>,
    ) -> Self {
        let mut file = file.to_string();
        let mut trace = Vec::new();
        let mut current = e;
        loop {
            match current {
                EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                    if let Some(m) = mark_of(*pos) {
                        trace.push(format!(
                            "in call to `{name}` at {file}:{}:{}",
                            m.line, m.col
                        ));
                    }
                    if !src.is_empty() {
                        file = src.clone();
                    }
                    current = inner;
                }
                EvalAltResult::ErrorInModule(path, inner, pos) => {
                    if let Some(m) = mark_of(*pos) {
                        trace.push(format!(
                            "in module `{path}` imported at {file}:{}:{}",
                            m.line, m.col
                        ));
                    }
                    // The resolver names the error by the module's file.
                    file = path.clone();
                    current = inner;
                }
                _ => break,
            }
        }
        let (message, help, limit) = describe(current, limits, timeout_secs);
        let (message, help) = (bounded(message), help.map(bounded));
        ScriptError {
            file,
            mark: mark_of(current.position()),
            message,
            help,
            trace,
            limit,
        }
    }

    /// The one-line form: `file:line:col: message`.
    pub fn located(&self) -> String {
        match self.mark {
            Some(m) => format!("{}:{}:{}: {}", self.file, m.line, m.col, self.message),
            None => format!("{}: {}", self.file, self.message),
        }
    }

    /// A diagnostic, with a source excerpt when the file is known.
    pub fn to_diagnostic(&self, source: Option<&Arc<SourceFile>>) -> Diagnostic {
        let mut d = Diagnostic::error(self.message.clone()).help_opt(self.help.clone());
        match (source, self.mark) {
            (Some(src), Some(mark)) => d = d.at(Location::new(src, mark)),
            (_, Some(mark)) => {
                d = d.at(Location::new(
                    &SourceFile::new(self.file.clone(), ".", ""),
                    mark,
                ))
            }
            (_, None) => {
                d = d.at(Location::new(
                    &SourceFile::new(self.file.clone(), ".", ""),
                    Mark::default(),
                ))
            }
        }
        for t in self.trace.iter().rev() {
            d = d.note(t.clone());
        }
        d
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.located())
    }
}

fn parse_help(message: &str) -> Option<String> {
    if message.contains("'eval'") {
        return Some("`eval` is disabled in ordo handlers".into());
    }
    if message.contains("Variable not found") || message.contains("Unknown variable") {
        return Some("handler functions only see their parameters; pass data through `m`, `vars::get` or a `const`".into());
    }
    if let Some(name) = message.strip_prefix("Undefined module: ") {
        let modules = super::engine::NATIVE_MODULES;
        let hint = crate::diagnostic::did_you_mean(name.trim(), modules.iter().copied())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        return Some(format!(
            "{hint}the stdlib modules are {}; other modules need `import \"...\" as {};`",
            modules.join(", "),
            name.trim()
        ));
    }
    None
}

fn describe(
    e: &EvalAltResult,
    limits: &ScriptLimits,
    timeout: Option<f64>,
) -> (String, Option<String>, Option<LimitKind>) {
    match e {
        EvalAltResult::ErrorRuntime(value, _) => {
            if let Some(map) = value.read_lock::<rhai::Map>()
                && let Some(message) = map.get("message")
            {
                let help = map.get("help").map(ToString::to_string);
                return (message.to_string(), help, None);
            }
            let text = value.to_string();
            (
                if text.is_empty() {
                    "error thrown".to_string()
                } else {
                    text
                },
                None,
                None,
            )
        }
        EvalAltResult::ErrorTooManyOperations(_) => (
            format!(
                "stopped: the handler call exceeded the limit of {} operations",
                limits.max_operations
            ),
            Some("an endless loop? the limit is set with `--max-operations`".into()),
            Some(LimitKind::Operations),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            format!(
                "stopped: calls nested deeper than the limit of {} levels",
                limits.max_call_levels
            ),
            Some("runaway recursion?".into()),
            Some(LimitKind::CallDepth),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            format!(
                "stopped: {} is over its limit",
                what.trim_end_matches(" too large")
            ),
            Some(format!(
                "limits: strings {} MiB, arrays {} items, maps {} keys",
                limits.max_string_size >> 20,
                limits.max_array_size,
                limits.max_map_size
            )),
            Some(LimitKind::DataSize),
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == STOP_TIMEOUT => (
            format!(
                "stopped: the handler call ran longer than its timeout of {} s",
                timeout.map_or_else(|| "?".into(), |t| t.to_string())
            ),
            Some(
                "set `metadata.timeout` (seconds) on the manifest, or `--timeout` for the run"
                    .into(),
            ),
            Some(LimitKind::Timeout),
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == STOP_INTERRUPTED => (
            "stopped: the run was interrupted".into(),
            None,
            Some(LimitKind::Interrupted),
        ),
        EvalAltResult::ErrorParsing(p, _) => (
            format!("syntax error: {p}"),
            parse_help(&p.to_string()),
            None,
        ),
        other => {
            let text = other.to_string();
            let suffix = format!(" ({})", other.position());
            let text = text.strip_suffix(suffix.as_str()).unwrap_or(&text);
            (lowercase_first(text), None, None)
        }
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
