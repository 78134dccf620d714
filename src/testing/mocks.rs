//! [`Mocks`]: the mock twin of one case, answering the stdlib from the case's `mocks` and
//! recording every call it is asked.
//!
//! It is the one twin of `ordo test`: a YAML case builds it from its `mocks`, and a Rhai
//! test (`mock::shell(...)`, `*.test.rhai`) adds to it with [`Mocks::add_shell`] and
//! [`Mocks::add_http`] while it runs, and reads [`Mocks::calls`]. Hermetic: a call no mock
//! answers fails the handler call, naming the call, its arguments and the nearest mock,
//! and is remembered ([`Mocks::unmocked`]) so a handler that catches the error still fails
//! its case.

use std::sync::{Mutex, PoisonError};

use rhai::{Dynamic, Map};

use super::file::{HttpMock, MockSpec, PromptMock, ShellMock};
use crate::script::{Twin, TwinCall};

/// Where the virtual clock starts when a case does not say: 2026-01-01T00:00:00Z.
pub const DEFAULT_NOW: f64 = 1_767_225_600.0;
/// Most calls a case records: a handler looping over a mocked command stops being
/// recorded there, not ordo's memory.
const MAX_RECORDED: usize = 100_000;

/// One call a twin was asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// `shell`, `http`, `env`, `prompt`, `time`, `facts`.
    pub module: &'static str,
    /// The arguments that matter: the argv; the method and the URL; the name; the text;
    /// the seconds slept.
    pub args: Vec<String>,
    /// The string command as given (`shell::run("...")`), for `script` matches.
    pub script: Option<String>,
}

impl Call {
    /// As shown in messages: `shell::run(["systemctl", "is-active", "web"])`.
    pub fn shown(&self) -> String {
        match (self.module, &self.script) {
            ("shell", Some(script)) => format!("shell::run({script:?})"),
            ("shell", None) => format!("shell::run({:?})", self.args),
            ("http", _) => format!("http {}", self.args.join(" ")),
            ("env", _) => format!("env::get({:?})", self.args.join("")),
            ("vars", _) => format!("vars::get({:?})", self.args.join("")),
            ("prompt", _) => format!("term::prompt({:?})", self.args.join("")),
            ("time", _) => format!("time::sleep({})", self.args.join("")),
            (m, _) => format!("{m}({})", self.args.join(", ")),
        }
    }
}

#[derive(Debug, Default)]
struct Recorded {
    calls: Vec<Call>,
    /// Calls beyond [`MAX_RECORDED`].
    dropped: usize,
    unmocked: Vec<String>,
    /// Per shell mock (then per http mock), how many calls it answered.
    shell_used: Vec<u64>,
    http_used: Vec<u64>,
    clock: f64,
}

/// The twin of one case.
#[derive(Debug)]
pub struct Mocks {
    shell: Mutex<Vec<ShellMock>>,
    http: Mutex<Vec<HttpMock>>,
    env: Vec<(String, Option<String>)>,
    /// The names of `mocks.vars`, for the nearest one.
    vars: Vec<String>,
    prompt: Vec<PromptMock>,
    facts: Option<Map>,
    /// The test file, for "the nearest mock (file:line)".
    file: String,
    recorded: Mutex<Recorded>,
}

impl Mocks {
    pub fn new(spec: &MockSpec, file: &str) -> Mocks {
        Mocks {
            shell: Mutex::new(spec.shell.clone()),
            http: Mutex::new(spec.http.clone()),
            env: spec.env.clone(),
            vars: spec.vars.iter().map(|(k, _)| k.clone()).collect(),
            prompt: spec.prompt.clone(),
            facts: spec
                .facts
                .as_ref()
                .and_then(|n| crate::manifest::node_to_dynamic(n).try_cast::<Map>()),
            file: file.to_string(),
            recorded: Mutex::new(Recorded {
                clock: spec.now.unwrap_or(DEFAULT_NOW),
                ..Recorded::default()
            }),
        }
    }

    /// Adds a shell mock (after those there are: earlier mocks answer first).
    pub fn add_shell(&self, mock: ShellMock) {
        self.shell
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mock);
    }

    /// Adds an HTTP mock.
    pub fn add_http(&self, mock: HttpMock) {
        self.http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mock);
    }

    /// Every call recorded so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many calls were recorded so far (what [`Mocks::calls_since`] takes).
    pub fn call_count(&self) -> usize {
        self.lock().calls.len()
    }

    /// The calls recorded after the first `n`.
    pub fn calls_since(&self, n: usize) -> Vec<Call> {
        self.lock()
            .calls
            .get(n..)
            .map(<[Call]>::to_vec)
            .unwrap_or_default()
    }

    /// The calls no mock answered, as the error each raised.
    pub fn unmocked(&self) -> Vec<String> {
        self.lock().unmocked.clone()
    }

    /// The virtual clock now.
    pub fn clock(&self) -> f64 {
        self.lock().clock
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, call: Call) {
        let mut r = self.lock();
        if r.calls.len() < MAX_RECORDED {
            r.calls.push(call);
        } else {
            r.dropped += 1;
        }
    }

    /// Fails the call: no mock answers it.
    fn unmocked_call(&self, call: &Call, nearest: Option<(String, u32)>, section: &str) -> String {
        let near = match nearest {
            Some((shown, 0)) => format!("; the nearest mock is {shown}"),
            Some((shown, line)) => format!("; the nearest mock is {shown} ({}:{line})", self.file),
            None => format!("; the case has no `mocks.{section}`"),
        };
        let text = format!("unmocked call {}{near}", call.shown());
        self.lock().unmocked.push(text.clone());
        format!(
            "{text} (ordo test answers only what the case mocks: add one under `mocks.{section}`)"
        )
    }

    fn shell(&self, argv: &[String], script: Option<&str>) -> Result<Dynamic, String> {
        let call = Call {
            module: "shell",
            args: argv.to_vec(),
            script: script.map(str::to_string),
        };
        self.record(call.clone());
        let mocks = self.shell.lock().unwrap_or_else(PoisonError::into_inner);
        let mut r = self.lock();
        if r.shell_used.len() < mocks.len() {
            r.shell_used.resize(mocks.len(), 0);
        }
        let found = mocks.iter().enumerate().find(|(i, m)| {
            m.matcher.matches(argv, script)
                && m.times
                    .is_none_or(|t| r.shell_used.get(*i).copied().unwrap_or(0) < t)
        });
        if let Some((i, m)) = found {
            if let Some(n) = r.shell_used.get_mut(i) {
                *n = n.saturating_add(1);
            }
            let mut out = Map::new();
            out.insert("code".into(), m.code.into());
            out.insert("stdout".into(), m.stdout.clone().into());
            out.insert("stderr".into(), m.stderr.clone().into());
            return Ok(out.into());
        }
        drop(r);
        let text = script.map_or_else(|| argv.join(" "), str::to_string);
        let nearest = nearest(
            &text,
            mocks.iter().map(|m| (m.matcher.shown(), m.mark.line)),
        );
        drop(mocks);
        Err(self.unmocked_call(&call, nearest, "shell"))
    }

    fn http(&self, method: &str, url: &str) -> Result<Dynamic, String> {
        let call = Call {
            module: "http",
            args: vec![method.to_string(), url.to_string()],
            script: None,
        };
        self.record(call.clone());
        let mocks = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        let mut r = self.lock();
        if r.http_used.len() < mocks.len() {
            r.http_used.resize(mocks.len(), 0);
        }
        let found = mocks.iter().enumerate().find(|(i, m)| {
            m.method.as_deref().is_none_or(|x| x == method)
                && m.url.is_match(url)
                && m.times
                    .is_none_or(|t| r.http_used.get(*i).copied().unwrap_or(0) < t)
        });
        if let Some((i, m)) = found {
            if let Some(n) = r.http_used.get_mut(i) {
                *n = n.saturating_add(1);
            }
            if let Some(e) = &m.error {
                return Err(format!("{method} {url}: {e}"));
            }
            let mut out = Map::new();
            out.insert("status".into(), m.status.into());
            out.insert("body".into(), m.body.clone().into());
            let headers: Map = m
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.clone().into()))
                .collect();
            out.insert("headers".into(), headers.into());
            return Ok(out.into());
        }
        drop(r);
        let nearest = nearest(
            &format!("{method} {url}"),
            mocks.iter().map(|m| {
                (
                    format!(
                        "{} {}",
                        m.method.as_deref().unwrap_or("*"),
                        m.url.glob().glob()
                    ),
                    m.mark.line,
                )
            }),
        );
        drop(mocks);
        Err(self.unmocked_call(&call, nearest, "http"))
    }
}

/// The mock whose text is nearest to `wanted`, with its line.
fn nearest(wanted: &str, mocks: impl Iterator<Item = (String, u32)>) -> Option<(String, u32)> {
    mocks
        .map(|(shown, line)| {
            let score = strsim::normalized_levenshtein(wanted, &shown);
            (score, shown, line)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, shown, line)| (shown, line))
}

impl Twin for Mocks {
    fn answer(&self, call: TwinCall<'_>) -> Result<Dynamic, String> {
        match call {
            TwinCall::Shell { argv, script } => self.shell(argv, script),
            TwinCall::Http { method, url, .. } => self.http(method, url),
            TwinCall::Var { name } => {
                let call = Call {
                    module: "vars",
                    args: vec![name.to_string()],
                    script: None,
                };
                self.record(call.clone());
                let near =
                    crate::diagnostic::did_you_mean(name, self.vars.iter().map(String::as_str))
                        .map(|k| (format!("`{k}`"), 0));
                Err(self.unmocked_call(&call, near, "vars"))
            }
            TwinCall::Env { name, has_default } => {
                let call = Call {
                    module: "env",
                    args: vec![name.to_string()],
                    script: None,
                };
                self.record(call.clone());
                match self.env.iter().find(|(k, _)| k == name) {
                    Some((_, Some(v))) => Ok(v.clone().into()),
                    Some((_, None)) => Ok(Dynamic::UNIT),
                    // With a default the handler copes with an unset variable: unset.
                    None if has_default => Ok(Dynamic::UNIT),
                    None => {
                        let near = crate::diagnostic::did_you_mean(
                            name,
                            self.env.iter().map(|(k, _)| k.as_str()),
                        )
                        .map(|k| (format!("`{k}`"), 0));
                        Err(self.unmocked_call(&call, near, "env"))
                    }
                }
            }
            TwinCall::Prompt { text } => {
                let call = Call {
                    module: "prompt",
                    args: vec![text.to_string()],
                    script: None,
                };
                self.record(call.clone());
                match self.prompt.iter().find(|p| p.text.is_match(text)) {
                    Some(p) => Ok(p.answer.clone().into()),
                    None => {
                        let near = nearest(
                            text,
                            self.prompt
                                .iter()
                                .map(|p| (format!("{:?}", p.text.glob().glob()), p.mark.line)),
                        );
                        Err(self.unmocked_call(&call, near, "prompt"))
                    }
                }
            }
            TwinCall::Now => Ok(Dynamic::from_float(self.clock())),
            TwinCall::Sleep { seconds } => {
                self.record(Call {
                    module: "time",
                    args: vec![crate::manifest::float_text(seconds)],
                    script: None,
                });
                let mut r = self.lock();
                r.clock += seconds;
                Ok(Dynamic::UNIT)
            }
            TwinCall::Facts => {
                let call = Call {
                    module: "facts",
                    args: Vec::new(),
                    script: None,
                };
                self.record(call.clone());
                match &self.facts {
                    Some(f) => Ok(f.clone().into()),
                    None => Err(self.unmocked_call(&call, None, "facts")),
                }
            }
        }
    }
}
