//! At most N sessions at once on one host: a counting semaphore that gives up when the run
//! is interrupted.
//!
//! sshd refuses sessions over its `MaxSessions` (10 by default), and the `ssh` client then
//! silently opens a new TCP connection for each refused one; `--per-host` (default 8)
//! keeps ordo under the default limit, with room for the channel that kills a timed-out
//! one-shot command, and a host that refuses a session lowers its slots
//! ([`Slots::limit_to`]) to the sessions it allowed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A counting semaphore with a record of the most permits ever held at once.
#[derive(Debug)]
pub(crate) struct Slots {
    state: Mutex<Count>,
    freed: Condvar,
}

#[derive(Debug)]
struct Count {
    limit: usize,
    held: usize,
    peak: usize,
}

/// One held slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Permit<'a>(&'a Slots);

impl Slots {
    /// `n` slots (at least one).
    pub(crate) fn new(n: usize) -> Slots {
        Slots {
            state: Mutex::new(Count {
                limit: n.max(1),
                held: 0,
                peak: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot; `None` once `stop` is set.
    pub(crate) fn acquire(&self, stop: &AtomicBool) -> Option<Permit<'_>> {
        let mut count = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            if count.held < count.limit {
                count.held += 1;
                count.peak = count.peak.max(count.held);
                return Some(Permit(self));
            }
            // A timed wait, so an interrupt is seen without anyone notifying.
            count = self
                .freed
                .wait_timeout(count, Duration::from_millis(50))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Lowers the number of slots to `n` (at least one) when it is higher: the host refused
    /// a session (its `MaxSessions`). Holders over the new number finish undisturbed.
    pub(crate) fn limit_to(&self, n: usize) {
        let mut count = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        count.limit = count.limit.min(n.max(1));
    }

    /// The number of slots now.
    pub(crate) fn limit(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .limit
    }

    /// How many slots are held now.
    pub(crate) fn held(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .held
    }

    /// The most slots held at once so far.
    pub(crate) fn peak(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peak
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut count = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        count.held -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn never_more_than_n_holders() {
        let slots = Arc::new(Slots::new(3));
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..10)
            .map(|_| {
                let (slots, stop) = (Arc::clone(&slots), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let permit = slots.acquire(&stop);
                    std::thread::sleep(Duration::from_millis(20));
                    drop(permit);
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        assert_eq!(slots.peak(), 3);
    }

    #[test]
    fn a_lowered_limit_holds_back_new_holders() {
        let slots = Slots::new(3);
        let stop = AtomicBool::new(false);
        let a = slots.acquire(&stop);
        let b = slots.acquire(&stop);
        slots.limit_to(1);
        assert_eq!(slots.limit(), 1);
        drop(a);
        assert_eq!(slots.held(), 1);
        drop(b);
        let c = slots.acquire(&stop);
        assert!(c.is_some());
        slots.limit_to(5);
        assert_eq!(slots.limit(), 1, "never raised");
    }

    #[test]
    fn an_interrupt_ends_the_wait() {
        let slots = Slots::new(1);
        let stop = AtomicBool::new(false);
        let held = slots.acquire(&stop);
        assert!(held.is_some());
        stop.store(true, Ordering::SeqCst);
        assert!(slots.acquire(&stop).is_none());
    }
}
