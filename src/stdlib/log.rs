//! `log::debug/info/warn/error(message)`: messages from handlers, as `log` events.
//!
//! `print(x)` is `log::info`, `debug(x)` is `log::debug`. Human output shows them on stderr
//! under the manifest's name; `-o jsonl` emits them as `log` events.

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::events::LogLevel;
use crate::script::context;

fn emit(level: LogLevel, message: &Dynamic) -> Result<(), Box<EvalAltResult>> {
    let text = match message.clone().into_immutable_string() {
        Ok(s) => s.to_string(),
        Err(_) => message.to_string(),
    };
    match context::current() {
        Some(ctx) => ctx.log(level, text),
        None => tracing::info!(target: "script", "{text}"),
    }
    Ok(())
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("log");
    fallible!(&mut m, "verbose", |msg: Dynamic| emit(
        LogLevel::Debug,
        &msg
    ));
    fallible!(&mut m, "info", |msg: Dynamic| emit(LogLevel::Info, &msg));
    fallible!(&mut m, "warn", |msg: Dynamic| emit(LogLevel::Warn, &msg));
    fallible!(&mut m, "error", |msg: Dynamic| emit(LogLevel::Error, &msg));
    m
}
