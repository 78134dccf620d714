//! The watch loop's signals: SIGHUP runs a cycle now; SIGTERM or SIGINT stops the loop
//! after the running cycle, interrupting its handlers (as Ctrl-C does) if it is still
//! running when `--shutdown-grace` is over; a second SIGTERM or SIGINT ends ordo at once
//! (exit code 130).
//!
//! The signals are read on a thread of their own (`signal-hook`'s iterator), so nothing
//! runs inside a signal handler but the crate's self-pipe write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::wake::Wake;

/// What the signal thread reaches: the loop's doorbell, whether a cycle is running, and
/// the running cycle's stop flag.
pub struct Stopper {
    pub wake: Arc<Wake>,
    pub running: Arc<AtomicBool>,
    pub cancel: Arc<AtomicBool>,
    pub grace: Duration,
}

/// Starts the signal thread.
pub fn listen(stopper: Stopper) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGHUP, SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("ordo-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                match signal {
                    SIGHUP => stopper.wake.hangup(),
                    _ => {
                        let name = if signal == SIGTERM {
                            "SIGTERM"
                        } else {
                            "SIGINT"
                        };
                        if stopper.wake.stop(name) {
                            crate::exec::interrupt::quit_now();
                        }
                        stopper.grace_then_interrupt();
                    }
                }
            }
        })?;
    Ok(())
}

impl Stopper {
    /// Lets the running cycle finish within the grace, then interrupts its handlers.
    fn grace_then_interrupt(&self) {
        let (running, cancel, grace) = (
            Arc::clone(&self.running),
            Arc::clone(&self.cancel),
            self.grace,
        );
        let _ = std::thread::Builder::new()
            .name("ordo-grace".into())
            .spawn(move || {
                let until = Instant::now().checked_add(grace);
                loop {
                    if !running.load(Ordering::SeqCst) {
                        return;
                    }
                    let left = until.map_or(Duration::MAX, |u| {
                        u.saturating_duration_since(Instant::now())
                    });
                    if left.is_zero() {
                        if !cancel.swap(true, Ordering::SeqCst) {
                            crate::exec::interrupt::stop_handlers();
                        }
                        return;
                    }
                    std::thread::sleep(left.min(Duration::from_millis(20)));
                }
            });
    }
}
