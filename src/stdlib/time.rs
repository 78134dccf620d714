//! `time::sleep(seconds)` and `time::now()` (Unix time in seconds, with a fraction).
//!
//! `sleep` wakes up early, with an error, when the handler call's deadline passes or the run
//! is interrupted, so a waiting handler never outlives its timeout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::{self, script_error};

fn sleep(seconds: &Dynamic) -> Result<(), Box<EvalAltResult>> {
    let secs = seconds
        .as_float()
        .or_else(|_| seconds.as_int().map(|i| i as f64))
        .map_err(|_| script_error("`time::sleep` takes a number of seconds".into(), None))?;
    let total = Duration::try_from_secs_f64(secs.max(0.0))
        .map_err(|_| script_error(format!("`time::sleep`: {secs} is not a duration"), None))?;
    let ctx = context::require("time::sleep")?;
    let end = std::time::Instant::now() + total;
    loop {
        let now = std::time::Instant::now();
        if now >= end {
            return Ok(());
        }
        if ctx.cancelled() {
            return Err(context::interrupted());
        }
        if ctx.deadline.is_some_and(|d| now >= d) {
            return Err(script_error(
                "stopped: the handler call ran longer than its timeout while sleeping".into(),
                Some(
                    "set `metadata.timeout` (seconds) on the manifest, or `--timeout` for the run"
                        .into(),
                ),
            ));
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("time");
    fallible!(&mut m, "sleep", |s: Dynamic| sleep(&s));
    add!(&mut m, "now", || SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64()));
    m
}
