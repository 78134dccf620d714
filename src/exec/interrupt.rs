//! Stopping a run from a signal handler: what Ctrl-C does to the handlers' commands and
//! connections, shared by `apply` (its Ctrl-C handler) and `ordo watch` (its SIGTERM).
//!
//! Setting the run's cancel flag is the caller's business; these only reach the processes
//! and connections the handlers started.

/// The first stop: every running command gets SIGINT, and remote commands' process
/// groups are killed with their masters' sessions; the handlers then return and the run
/// finishes its report and saves the state.
pub fn stop_handlers() {
    crate::stdlib::interrupt_children(libc::SIGINT);
    crate::target::ssh::interrupt_all();
}

/// The second stop: every command is killed, what a killed keeper left behind is swept,
/// the connections are closed, and ordo exits at once with code 130.
pub fn quit_now() -> ! {
    crate::stdlib::interrupt_children(libc::SIGKILL);
    crate::stdlib::contain::sweep();
    crate::target::ssh::close_all();
    std::process::exit(crate::error::exit::INTERRUPTED);
}
