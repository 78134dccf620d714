//! Containing commands: everything a command starts is stopped with it, a new session
//! (`setsid`) included (issue 15).
//!
//! A process group is not enough: `setsid` leaves it, and the process then outlived its
//! command's timeout and ordo itself. So `shell::run` does not start a command directly. It
//! starts ordo again as a small *keeper* (`ordo __contain PARENT -- ARGV...`, see [`keeper`]),
//! which makes itself a child subreaper and starts the command. Every process the command
//! starts is then below the keeper for as long as it lives: when its parent exits, it is
//! reparented to the keeper, not to init, whatever session or group it made. The keeper knows
//! exactly its own tree and nobody else's, so stopping one command never touches ordo's
//! threads or another manifest's command.
//!
//! The keeper lives as long as the command's tree. When the command itself ends, or the
//! keeper gets SIGTERM, SIGINT or SIGHUP (a timeout, Ctrl-C, or ordo dying: the keeper asks
//! for SIGTERM when its parent dies), it sends that signal (SIGTERM when the command ended
//! by itself) to every process of its tree, SIGKILL to what is left after [`GRACE`], reaps
//! them all, and exits as the command did (its code, or the same signal).
//!
//! ordo itself is a child subreaper too, so that if a keeper is killed outright (a second
//! Ctrl-C) the processes it kept are reparented to ordo, and [`sweep`] stops them before
//! ordo exits.

use std::ffi::OsString;
use std::time::{Duration, Instant};

/// The hidden first argument that makes `ordo` a keeper.
pub const KEEPER: &str = "__contain";

/// Exit code of a keeper that could not start its command; its stderr then starts with
/// [`CANNOT_START`] and the reason.
pub const CANNOT_START_CODE: i32 = 127;
/// Marks a keeper's report that the command could not be started.
pub const CANNOT_START: &str = "\u{1}ordo: cannot start: ";

/// How long a stopped tree gets between the first signal and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// The command line that runs `argv` under a keeper: the program and its arguments.
/// (`/proc/self/exe`, read by the new process itself, is ordo's binary even if the file was
/// replaced since ordo started.)
pub fn keeper_command(argv: &[String]) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new("/proc/self/exe");
    command
        .arg0("ordo")
        .arg(KEEPER)
        .arg(std::process::id().to_string())
        .arg("--")
        .args(argv);
    command
}

/// Makes ordo a child subreaper, once, before handlers run.
pub fn enter() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1));
}

/// Stops every process still below ordo (none, unless a keeper was killed outright) and reaps
/// them. Only for when no command runs any more: at the end of a run, or on the way out.
pub fn sweep() {
    stop_tree(std::process::id(), libc::SIGKILL);
    sys::reap_all();
}

/// Stops at once what a keeper that did not end normally left behind (attack on issue 15,
/// F1). A command can kill its own keeper (`kill -9 $PPID`): its processes are then
/// reparented to ordo, and if ordo were killed by SIGKILL before the end-of-run [`sweep`],
/// nothing would stop them. So as soon as ordo reaps a keeper that died by a signal, every
/// process still in the keeper's process group (the command and whatever did not leave the
/// group) and everything below them is killed. Only processes below ordo are touched.
pub fn sweep_group(keeper: u32) {
    for _ in 0..200 {
        let table = proc_table();
        let mine = below(&table, std::process::id());
        let roots: Vec<u32> = table
            .iter()
            .filter(|p| p.pgrp == keeper && mine.contains(&p.pid))
            .map(|p| p.pid)
            .collect();
        if roots.is_empty() {
            return;
        }
        for pid in roots.iter().chain(
            roots
                .iter()
                .flat_map(|r| below(&table, *r))
                .collect::<Vec<_>>()
                .iter(),
        ) {
            sys::kill(*pid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One live process: its id, its parent, its process group.
struct Proc {
    pid: u32,
    ppid: u32,
    pgrp: u32,
}

/// Every live process (zombies left out), from `/proc/<pid>/stat`.
fn proc_table() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            let mut fields = rest.split_whitespace();
            if fields.next()? == "Z" {
                return None;
            }
            let ppid = fields.next()?.parse().ok()?;
            let pgrp = fields.next()?.parse().ok()?;
            Some(Proc { pid, ppid, pgrp })
        })
        .collect()
}

/// Every process of `table` below `root`.
fn below(table: &[Proc], root: u32) -> Vec<u32> {
    let mut found = vec![root];
    let mut i = 0;
    while let Some(&p) = found.get(i) {
        found.extend(table.iter().filter(|c| c.ppid == p).map(|c| c.pid));
        i += 1;
    }
    found.remove(0);
    found
}

/// Every process below `root`, found through the parent links in `/proc`.
pub fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let links: Vec<(u32, u32)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while let Some(&p) = found.get(i) {
        found.extend(links.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// The parent of a live `pid`, from `/proc/<pid>/stat` (`pid (comm) state ppid ...`; `comm`
/// may hold spaces and parentheses, so the fields are counted from the last `)`). `None`
/// for a zombie: it is dead, and its children have a new parent already.
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.next()?.parse().ok()
}

/// Sends `signal` to every live process below `root`. SIGKILL is sent again while any is
/// left (one forking while its tree is killed), for at most about a second.
fn stop_tree(root: u32, signal: i32) {
    for _ in 0..200 {
        let below = descendants(root);
        if below.is_empty() {
            return;
        }
        for pid in &below {
            sys::kill(*pid, signal);
        }
        if signal != libc::SIGKILL {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `ordo __contain PARENT -- ARGV...`: runs ARGV as described in the module doc, and returns
/// the exit code to end with (after a signal death it raises the same signal instead).
pub fn keeper(args: &[OsString]) -> i32 {
    let parent = args.get(2).and_then(|p| p.to_str()?.parse::<u32>().ok());
    let argv = args.get(4..).unwrap_or_default();
    let (Some(parent), Some((program, rest))) = (parent, argv.split_first()) else {
        eprintln!("ordo {KEEPER} is internal to ordo");
        return 2;
    };
    sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    sys::prctl(
        libc::PR_SET_PDEATHSIG,
        libc::c_ulong::try_from(libc::SIGTERM).unwrap_or(15),
    );
    if sys::parent() != parent {
        // ordo died before the line above took effect.
        return 128 + libc::SIGTERM;
    }
    let signals = sys::block_signals();
    let main = match std::process::Command::new(program).args(rest).spawn() {
        Ok(child) => child.id(),
        Err(e) => {
            eprint!("{CANNOT_START}{e}");
            return CANNOT_START_CODE;
        }
    };
    let me = std::process::id();
    let mut status = None;
    // When the stop began, and the signal that began it.
    let mut stopping: Option<(Instant, i32)> = None;
    let mut signaled = std::collections::HashSet::new();
    loop {
        let (ended, children_left) = sys::reap(main);
        if ended.is_some() {
            status = ended;
        }
        if status.is_some() && !children_left {
            break;
        }
        if status.is_some() && stopping.is_none() {
            // The command ended and left processes behind: they go with it.
            stopping = Some((Instant::now(), libc::SIGTERM));
        }
        if let Some((since, signal)) = stopping {
            if since.elapsed() >= GRACE {
                stop_tree(me, libc::SIGKILL);
            } else {
                // Each process once, those that appear while the tree stops included; and
                // SIGTERM besides SIGINT or SIGHUP, which background jobs of a shell ignore.
                for pid in descendants(me) {
                    if signaled.insert(pid) {
                        sys::kill(pid, signal);
                        if signal != libc::SIGTERM {
                            sys::kill(pid, libc::SIGTERM);
                        }
                    }
                }
            }
        }
        let wait = if stopping.is_some() { 20 } else { 50 };
        if let Some(signal) = sys::wait_signal(&signals, Duration::from_millis(wait))
            && signal != libc::SIGCHLD
            && stopping.is_none()
        {
            stopping = Some((Instant::now(), signal));
        }
    }
    match status {
        Some(Ended::Code(code)) => code,
        Some(Ended::Signal(signal)) => {
            sys::die_by(signal);
            128 + signal
        }
        None => 1,
    }
}

/// How the command ended.
#[derive(Clone, Copy, Debug)]
enum Ended {
    Code(i32),
    Signal(i32),
}

/// The system calls std has no safe wrapper for.
#[expect(
    unsafe_code,
    reason = "prctl, kill, waitpid and signal masks have no safe wrapper in std"
)]
mod sys {
    use std::time::Duration;

    use super::Ended;

    pub(super) fn prctl(option: libc::c_int, value: libc::c_ulong) {
        // SAFETY: the options used take an integer and touch no memory of ours.
        unsafe {
            libc::prctl(option, value, 0, 0, 0);
        }
    }

    pub(super) fn parent() -> u32 {
        // SAFETY: getppid has no preconditions.
        u32::try_from(unsafe { libc::getppid() }).unwrap_or(0)
    }

    pub(super) fn kill(pid: u32, signal: i32) {
        let Ok(pid) = i32::try_from(pid) else { return };
        // SAFETY: kill(2) with a positive pid signals that process; no memory effects.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Reaps every child that ended: how `main` ended if it did, and whether children remain.
    pub(super) fn reap(main: u32) -> (Option<Ended>, bool) {
        let mut ended = None;
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes the status into the integer we own.
            let pid = unsafe { libc::waitpid(-1, &raw mut status, libc::WNOHANG) };
            if pid < 0 {
                return (ended, false);
            }
            if pid == 0 {
                return (ended, true);
            }
            if u32::try_from(pid).is_ok_and(|p| p == main) {
                ended = if libc::WIFSIGNALED(status) {
                    Some(Ended::Signal(libc::WTERMSIG(status)))
                } else {
                    Some(Ended::Code(libc::WEXITSTATUS(status)))
                };
            }
        }
    }

    /// Reaps every child of this process that has ended.
    pub(super) fn reap_all() {
        let _ = reap(0);
    }

    /// Blocks the signals the keeper waits for (its command starts with none blocked: std
    /// resets the mask in the child).
    pub(super) fn block_signals() -> libc::sigset_t {
        // SAFETY: the set is initialized by sigemptyset before use; the mask change affects
        // only this (single-threaded) process.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut set);
            for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGCHLD] {
                libc::sigaddset(&raw mut set, s);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut());
            set
        }
    }

    /// Waits up to `timeout` for one of `set`; returns it.
    pub(super) fn wait_signal(set: &libc::sigset_t, timeout: Duration) -> Option<i32> {
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::c_long::from(timeout.subsec_nanos()),
        };
        // SAFETY: the set and the timespec are valid for the call; no siginfo is asked for.
        let s = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &raw const ts) };
        (s > 0).then_some(s)
    }

    /// Ends this process by `signal`, as the command ended, so ordo sees the same status.
    pub(super) fn die_by(signal: i32) {
        // SAFETY: restoring the default action and unblocking before raising the signal;
        // nothing else runs in this process.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut set);
            libc::sigaddset(&raw mut set, signal);
            libc::sigprocmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut());
            libc::raise(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_follow_parent_links_and_skip_the_dead() {
        let me = std::process::id();
        assert_eq!(parent(me), Some(sys::parent()));
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let below = descendants(me);
        assert!(below.contains(&child.id()), "{below:?}");
        assert!(below.len() >= 2, "the sleep below sh: {below:?}");
        stop_tree(child.id(), libc::SIGKILL);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(descendants(child.id()).is_empty());
    }
}
