//! `ordo hosts --check`: connect to every selected host and time one command there.
//!
//! Each host gets what a run would give it: a master connection of its own
//! ([`ssh::Connection::open`]), then `true` as a session over it, whose round trip is the
//! latency shown. At most [`AT_ONCE`] hosts are checked at a time; each master is closed as
//! soon as its host is done, so a large inventory never holds more than that many `ssh`
//! processes. Ctrl-C stops the checks under way (their masters, or the `ssh` still
//! connecting, are ended) and the command ends with what it knows; a second Ctrl-C ends it
//! at once, closing every master first. Nothing is left running either way.
//!
//! Nothing here prints: the results go back to `hosts.rs`, which renders them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::exit;
use crate::inventory::Host;
use crate::target::TransportError;
use crate::target::ssh::{self, Connection, RemoteCommand, Settings};

/// How many hosts are checked at once: each holds one `ssh` master (and, while it connects,
/// one client) on this machine.
pub(super) const AT_ONCE: usize = 32;

/// What checking one host found.
#[derive(Debug, Clone)]
pub(super) struct HostCheck {
    pub(super) status: CheckStatus,
    /// How long the master took to connect (TCP, key exchange, authentication).
    pub(super) connect: Option<Duration>,
    /// The round trip of `true` over the open master.
    pub(super) latency: Option<Duration>,
    /// Why the host is not `ok`: ssh's own message for an unreachable host.
    pub(super) error: Option<String>,
}

/// The outcome of one host's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CheckStatus {
    /// Connected, and `true` ran.
    Ok,
    /// No connection (or `true` could not run over it).
    Unreachable,
    /// Ctrl-C came first.
    Interrupted,
}

impl CheckStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Unreachable => "unreachable",
            CheckStatus::Interrupted => "interrupted",
        }
    }
}

impl HostCheck {
    fn failed(status: CheckStatus, error: String) -> HostCheck {
        HostCheck {
            status,
            connect: None,
            latency: None,
            error: Some(error),
        }
    }
}

/// Checks `hosts`, [`AT_ONCE`] at a time; the results are in the order of `hosts`.
/// Installs the Ctrl-C handler of the command.
pub(super) fn check_hosts(hosts: &[&Host]) -> Vec<HostCheck> {
    let cancel = Arc::new(AtomicBool::new(false));
    install_interrupt(&cancel);
    let next = AtomicUsize::new(0);
    let workers = hosts.len().clamp(1, AT_ONCE);
    let mut found: Vec<(usize, HostCheck)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(host) = hosts.get(i) else { break };
                        mine.push((i, check_one(host, &cancel)));
                    }
                    mine
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_default())
            .collect()
    });
    found.sort_by_key(|(i, _)| *i);
    let mut results: Vec<HostCheck> = Vec::with_capacity(hosts.len());
    let mut found = found.into_iter().peekable();
    for i in 0..hosts.len() {
        match found.next_if(|(j, _)| *j == i) {
            Some((_, check)) => results.push(check),
            // A worker that died (a bug) leaves its host unchecked: never reported `ok`.
            None => results.push(HostCheck::failed(
                CheckStatus::Unreachable,
                "not checked: internal error".into(),
            )),
        }
    }
    results
}

/// Whether Ctrl-C interrupted the checks.
pub(super) fn interrupted(results: &[HostCheck]) -> bool {
    results.iter().any(|c| c.status == CheckStatus::Interrupted)
}

/// One host: a master of its own, `true` over it, the master closed again.
fn check_one(host: &Host, cancel: &AtomicBool) -> HostCheck {
    if cancel.load(Ordering::SeqCst) {
        return HostCheck::failed(CheckStatus::Interrupted, "interrupted".into());
    }
    let connection = match Connection::new(
        crate::exec::host_params(&crate::inventory::instance_host(host)),
        Settings::default(),
    ) {
        Ok(c) => c,
        Err(e) => return HostCheck::failed(CheckStatus::Unreachable, e.to_string()),
    };
    let started = Instant::now();
    let outcome = connection.open().and_then(|()| {
        let connect = started.elapsed();
        let sent = Instant::now();
        let out = connection.run(&RemoteCommand::new(["true"]))?;
        Ok((connect, sent.elapsed(), out.code))
    });
    connection.close();
    match outcome {
        Ok((connect, latency, 0)) => HostCheck {
            status: CheckStatus::Ok,
            connect: Some(connect),
            latency: Some(latency),
            error: None,
        },
        Ok((connect, _, code)) => HostCheck {
            connect: Some(connect),
            ..HostCheck::failed(
                CheckStatus::Unreachable,
                format!("connected, but `true` exited with code {code} there"),
            )
        },
        Err(e) => HostCheck::failed(status_of(&e), message(e)),
    }
}

fn status_of(e: &TransportError) -> CheckStatus {
    match e {
        TransportError::Interrupted { .. } => CheckStatus::Interrupted,
        _ => CheckStatus::Unreachable,
    }
}

/// ssh's own message for an unreachable host (the host's name is on the line already);
/// the whole error otherwise.
fn message(e: TransportError) -> String {
    match e {
        TransportError::Unreachable { detail, .. } => detail,
        TransportError::Interrupted { .. } => "interrupted".into(),
        other => other.to_string(),
    }
}

/// Ctrl-C (and SIGTERM): the first stops the checks (connections being made are dropped,
/// open masters closed) and lets the command report; the second closes every master and
/// ends ordo at once.
fn install_interrupt(cancel: &Arc<AtomicBool>) {
    static PRESSES: AtomicUsize = AtomicUsize::new(0);
    let cancel = Arc::clone(cancel);
    let _ = ctrlc::set_handler(move || {
        if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
            cancel.store(true, Ordering::SeqCst);
            ssh::interrupt_all();
        } else {
            ssh::close_all();
            std::process::exit(exit::INTERRUPTED);
        }
    });
}

/// Milliseconds with one decimal, as shown and as `-o json` carries them.
pub(super) fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
