//! `term::prompt(text)` / `term::prompt(text, opts)` and `term::interactive()`: asking the
//! person at the terminal. Needs the `prompt` permission.
//!
//! A prompt needs an interactive standard input; without one it fails at once with a clear
//! error instead of waiting for input that will never come. Prompts are serialized, so
//! manifests running in parallel never ask at the same time. With `mask: true` the answer
//! is not echoed.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use rhai::{EvalAltResult, Map};

use super::StdModule;
use crate::script::context::script_error;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn interactive() -> bool {
    // `ordo test`: prompts are answered by the case's mocks.
    crate::script::context::current().is_some_and(|c| c.twin().is_some())
        || std::io::stdin().is_terminal()
}

fn prompt(text: &str, opts: &Map) -> Result<String, Box<EvalAltResult>> {
    let mut mask = false;
    for (key, value) in opts {
        match key.as_str() {
            "mask" => {
                mask = value.as_bool().map_err(|_| {
                    script_error("`term::prompt`: `mask` must be a boolean".into(), None)
                })?;
            }
            other => {
                return Err(script_error(
                    format!("`term::prompt`: unknown option `{other}`"),
                    Some("options: mask".into()),
                ));
            }
        }
    }
    if let Some(answer) = crate::script::context::current()
        .and_then(|ctx| ctx.ask_twin(crate::script::TwinCall::Prompt { text }))
    {
        return Ok(answer?.to_string());
    }
    if !interactive() {
        return Err(script_error(
            format!("`term::prompt`: cannot ask \"{text}\": standard input is not a terminal"),
            Some("run ordo from a terminal, or supply the answer another way (for `CliInputPrompt`: `--set <manifest name>=...`)".into()),
        ));
    }
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let answer = if mask {
        rpassword::prompt_password(text)
    } else {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{text}");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    };
    let answer = answer.map_err(|e| {
        script_error(
            format!("`term::prompt`: reading the answer failed: {e}"),
            None,
        )
    })?;
    Ok(answer.trim_end_matches(['\n', '\r']).to_string())
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("term");
    fallible!(&mut m, "prompt", needs[Prompt], |text: &str| prompt(
        text,
        &Map::new()
    ));
    fallible!(&mut m, "prompt", needs[Prompt], |text: &str, opts: Map| {
        prompt(text, &opts)
    });
    add!(&mut m, "interactive", interactive);
    m
}
