//! Mock twins (`ordo test`, DESIGN §12): what the stdlib asks instead of the world.
//!
//! A run's [`Policy`](super::Policy) has no twin and every stdlib function acts for real.
//! Under `ordo test` the case's policy holds one: `shell::run`, `http::*`, `env::get`,
//! `term::prompt`, `time::*` and `host::facts` then ask it, after the permission and
//! read-only checks a run makes, and never reach the world. Files stay real (the policy
//! confines them to the case's directory). This stage only defines the question and the
//! shape of the answers; `testing/` answers them from a case's mocks.

use rhai::Dynamic;

/// One stdlib call a twin answers, with the arguments that matter to a mock.
#[derive(Clone, Copy, Debug)]
pub enum TwinCall<'a> {
    /// `shell::run`: the argv (`["sh", "-c", script]` for a string command).
    Shell {
        argv: &'a [String],
        /// The command as given, for a string command.
        script: Option<&'a str>,
    },
    /// `http::get`, `http::request`, `http::download`.
    Http {
        method: &'a str,
        url: &'a str,
        body: Option<&'a str>,
    },
    /// `env::get`; `has_default`: the handler gave a default, so a variable no mock names
    /// is unset rather than unmocked.
    Env { name: &'a str, has_default: bool },
    /// `vars::get` of another manifest's variable that is not set: only a mock knows it.
    Var { name: &'a str },
    /// `term::prompt`.
    Prompt { text: &'a str },
    /// `time::now`: seconds since the epoch.
    Now,
    /// `time::sleep`: advances the virtual clock, without waiting.
    Sleep { seconds: f64 },
    /// `host::facts`.
    Facts,
}

impl TwinCall<'_> {
    /// The stdlib module the call belongs to (`shell`, `http`...), as `calls` expectations
    /// name it.
    pub fn module(&self) -> &'static str {
        match self {
            TwinCall::Shell { .. } => "shell",
            TwinCall::Http { .. } => "http",
            TwinCall::Env { .. } => "env",
            TwinCall::Var { .. } => "vars",
            TwinCall::Prompt { .. } => "prompt",
            TwinCall::Now | TwinCall::Sleep { .. } => "time",
            TwinCall::Facts => "facts",
        }
    }
}

/// The answers of a twin, per call:
///
/// - `Shell`: a map `#{ code, stdout, stderr }` (what the command printed and its exit
///   code; `shell::run` then treats it as it treats a real command's);
/// - `Http`: a map `#{ status, body, headers }`, or `Err` for a transport error a mock
///   asked for;
/// - `Env`: the text, or `()` for a variable that is not set;
/// - `Var`: always `Err`, naming the nearest mocked variable (mocked ones are set before
///   the call, so an unset one is unmocked);
/// - `Prompt`: the answer, as text;
/// - `Now`: the virtual time, an integer; `Sleep`: `()`;
/// - `Facts`: the map of facts.
///
/// `Err(text)` fails the handler call with `text`: an unmocked call (the text names the
/// call, its arguments and the nearest mock) or a failure the mock asks for.
pub trait Twin: Send + Sync + std::fmt::Debug {
    fn answer(&self, call: TwinCall<'_>) -> Result<Dynamic, String>;
}
