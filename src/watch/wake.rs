//! [`Wake`]: what wakes the watch loop between cycles — the timer, a changed input file,
//! SIGHUP, a reconcile request (`POST /reconcile`), a stop — and when the timer fires next.
//!
//! Triggers arrive on other threads (the file watcher, the signal thread, the HTTP
//! server); each sets a flag here and wakes the loop. A trigger that arrives during a cycle
//! is kept, so the next cycle starts as soon as this one ends.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Why a cycle runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The first cycle.
    Start,
    /// `--interval` passed.
    Interval,
    /// A manifest in backoff may be tried again.
    Retry,
    /// An input file changed.
    Files,
    /// SIGHUP.
    Hangup,
    /// A reconcile request (`POST /reconcile`).
    Request,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Interval => "interval",
            Trigger::Retry => "retry",
            Trigger::Files => "files",
            Trigger::Hangup => "sighup",
            Trigger::Request => "request",
        }
    }
}

/// What has been asked of the loop since it last looked.
#[derive(Debug, Default)]
struct Asked {
    files: bool,
    hangup: bool,
    request: bool,
    /// The name of the signal that asked the loop to stop.
    stop: Option<&'static str>,
}

/// The loop's doorbell: flags set by other threads, and a condition variable.
#[derive(Debug, Default)]
pub struct Wake {
    asked: Mutex<Asked>,
    bell: Condvar,
}

/// What the loop woke up for.
#[derive(Debug, PartialEq, Eq)]
pub enum Woken {
    /// Run a cycle; `reload`: load the inputs again first, whatever their fingerprint
    /// (SIGHUP, a request); a file change alone reloads only when the fingerprint changed.
    Cycle { trigger: Trigger, reload: bool },
    /// Stop (the signal's name).
    Stop(&'static str),
}

impl Wake {
    /// An input file changed: reload, then run a cycle.
    pub fn files_changed(&self) {
        self.ask(|a| a.files = true);
    }

    /// SIGHUP: load the inputs again and run a cycle now.
    pub fn hangup(&self) {
        self.ask(|a| a.hangup = true);
    }

    /// A reconcile request: load the inputs again and run a cycle now.
    pub fn request(&self) {
        self.ask(|a| a.request = true);
    }

    /// SIGTERM or SIGINT: stop after the running cycle. Returns whether a stop had been
    /// asked already (the second signal).
    pub fn stop(&self, signal: &'static str) -> bool {
        let mut again = false;
        self.ask(|a| {
            again = a.stop.is_some();
            a.stop.get_or_insert(signal);
        });
        again
    }

    /// Whether a stop was asked.
    pub fn stopping(&self) -> Option<&'static str> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop
    }

    fn ask(&self, set: impl FnOnce(&mut Asked)) {
        set(&mut self.asked.lock().unwrap_or_else(PoisonError::into_inner));
        self.bell.notify_all();
    }

    /// Waits until something is asked, or until `until` (then `None`), and says what to
    /// do. A stop wins over everything; a file change reloads first.
    pub fn wait(&self, until: Instant) -> Option<Woken> {
        let mut asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(signal) = asked.stop {
                return Some(Woken::Stop(signal));
            }
            if let Some((trigger, reload)) = take(&mut asked) {
                return Some(Woken::Cycle { trigger, reload });
            }
            let left = until
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())?;
            asked = self
                .bell
                .wait_timeout(asked, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Takes what was asked (a stop aside): the trigger of the cycle to run, and whether the
/// inputs must be read again first (`false` only when nothing but the file watcher asked:
/// the loop then compares the inputs' fingerprint). SIGHUP and a request always reload, as
/// `systemctl reload` implies.
fn take(asked: &mut Asked) -> Option<(Trigger, bool)> {
    let files = std::mem::take(&mut asked.files);
    let hangup = std::mem::take(&mut asked.hangup);
    let request = std::mem::take(&mut asked.request);
    if hangup {
        Some((Trigger::Hangup, true))
    } else if request {
        Some((Trigger::Request, true))
    } else if files {
        Some((Trigger::Files, false))
    } else {
        None
    }
}

impl Wake {
    /// Waits until `until` unless a stop is asked (then its signal); what else is asked
    /// meanwhile stays asked.
    pub fn pause(&self, until: Instant) -> Option<&'static str> {
        let mut asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(signal) = asked.stop {
                return Some(signal);
            }
            let left = until
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())?;
            asked = self
                .bell
                .wait_timeout(asked, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Takes the triggers asked since the loop last looked (they merge into the cycle about
    /// to run): whether one asks for the inputs to be read again whatever their fingerprint
    /// (SIGHUP, a request), and whether an input file changed.
    pub fn merge_pending(&self) -> (bool, bool) {
        let mut asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
        let files = asked.files;
        let force = take(&mut asked).is_some_and(|(_, reload)| reload);
        (force, files)
    }
}

/// The wait until the next interval cycle: `interval`, varied by up to `jitter` (a fraction)
/// up or down, at random.
pub(super) fn jittered(interval: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 {
        return interval;
    }
    // A random number from the standard library's hasher seeds: no dependency for it.
    let random = RandomState::new().hash_one(Instant::now());
    #[expect(
        clippy::cast_precision_loss,
        reason = "a random fraction needs no more than f64's 53 bits"
    )]
    let unit = (random >> 11) as f64 / (1_u64 << 53) as f64;
    let factor = 1.0 + jitter.min(1.0) * (2.0 * unit - 1.0);
    interval.mul_f64(factor.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_share_of_the_interval() {
        let interval = Duration::from_secs(100);
        for _ in 0..200 {
            let d = jittered(interval, 0.1);
            assert!(
                d >= Duration::from_secs(90) && d <= Duration::from_secs(110),
                "{d:?}"
            );
        }
        assert_eq!(jittered(interval, 0.0), interval);
    }

    #[test]
    fn a_stop_wins_and_a_file_change_reloads() {
        let wake = Wake::default();
        wake.files_changed();
        let far = Instant::now() + Duration::from_secs(3600);
        assert_eq!(
            wake.wait(far),
            Some(Woken::Cycle {
                trigger: Trigger::Files,
                reload: false
            })
        );
        wake.hangup();
        assert!(!wake.stop("SIGTERM"));
        assert_eq!(wake.wait(far), Some(Woken::Stop("SIGTERM")));
        assert!(wake.stop("SIGINT"));
    }

    #[test]
    fn the_wait_ends_at_its_deadline_when_nothing_is_asked() {
        let wake = Wake::default();
        assert_eq!(wake.wait(Instant::now()), None);
        wake.request();
        assert_eq!(
            wake.wait(Instant::now()),
            Some(Woken::Cycle {
                trigger: Trigger::Request,
                reload: true
            })
        );
    }
}
