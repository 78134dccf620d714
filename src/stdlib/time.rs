//! `time::sleep(seconds)` and `time::now()` (Unix time in seconds, with a fraction).
//!
//! `sleep` wakes up early, with an error, when the handler call's deadline passes or the run
//! is interrupted, so a waiting handler never outlives its timeout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::{self, script_error};

/// How long `time::sleep(seconds)` sleeps: zero or more seconds, at most a year, through
/// the one checked conversion ([`crate::units`]).
///
/// # Errors
///
/// A script error naming `time::sleep` for anything else.
pub(super) fn sleep_duration(seconds: &Dynamic) -> Result<Duration, Box<EvalAltResult>> {
    let secs = seconds
        .as_float()
        .or_else(|_| seconds.as_int().map(crate::units::int_seconds))
        .or_else(|e| {
            seconds
                .clone()
                .into_string()
                .ok()
                .and_then(|s| crate::units::text_seconds(&s))
                .ok_or(e)
        })
        .map_err(|_| script_error(format!("`time::sleep` takes {}", crate::units::TAKES), None))?;
    crate::units::duration("`time::sleep`", secs).map_err(|e| script_error(e.to_string(), None))
}

fn sleep(seconds: &Dynamic) -> Result<(), Box<EvalAltResult>> {
    let total = sleep_duration(seconds)?;
    let ctx = context::require("time::sleep")?;
    // `ordo test`: the virtual clock advances, nobody waits.
    if let Some(answer) = ctx.ask_twin(crate::script::TwinCall::Sleep {
        seconds: total.as_secs_f64(),
    }) {
        let _ = answer?;
        // The virtual clock is the deadline's clock too: the call fails the moment its
        // sleeps (and the real time it took) pass its timeout, as a real sleep would.
        if let Some(deadline) = ctx.deadline {
            let slept = VIRTUAL_SLEPT.with(|cell| {
                let (call, so_far) = cell.get();
                let so_far = if call == Some(deadline) {
                    so_far
                } else {
                    Duration::ZERO
                };
                let slept = so_far.saturating_add(total);
                cell.set((Some(deadline), slept));
                slept
            });
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if slept >= left {
                return Err(timed_out());
            }
        }
        return Ok(());
    }
    // At most a year from now: the sum exists (`None`, never, would wait for the deadline).
    let end = std::time::Instant::now().checked_add(total);
    loop {
        let now = std::time::Instant::now();
        let left = end.map_or(Duration::MAX, |e| e.saturating_duration_since(now));
        if left.is_zero() {
            return Ok(());
        }
        if ctx.cancelled() {
            return Err(context::interrupted());
        }
        if ctx.deadline.is_some_and(|d| now >= d) {
            return Err(timed_out());
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

thread_local! {
    /// `ordo test`: the call (its deadline) whose virtual sleeps are counted, and their sum.
    static VIRTUAL_SLEPT: std::cell::Cell<(Option<std::time::Instant>, Duration)> =
        const { std::cell::Cell::new((None, Duration::ZERO)) };
}

/// The error of a sleep that outlasts the handler call's timeout.
fn timed_out() -> Box<EvalAltResult> {
    script_error(
        "stopped: the handler call ran longer than its timeout while sleeping".into(),
        Some("set `metadata.timeout` (seconds) on the manifest, or `--timeout` for the run".into()),
    )
}

/// Seconds since the epoch; under `ordo test`, the case's virtual clock.
fn now() -> f64 {
    let mocked = context::current()
        .and_then(|ctx| ctx.ask_twin(crate::script::TwinCall::Now))
        .and_then(Result::ok)
        .and_then(|v| v.as_float().ok());
    mocked.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    })
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("time");
    fallible!(&mut m, "sleep", |s: Dynamic| sleep(&s));
    add!(&mut m, "now", now);
    m
}
