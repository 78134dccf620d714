//! Shell completion scripts and manual pages, generated from the same clap tree that parses
//! the command line, so they cannot drift from it.

use std::io::{self, Write};

use clap::CommandFactory;

use super::args::Cli;

/// Writes the completion script for `shell` (bash, zsh, fish, elvish, powershell).
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = Cli::command();
    // Rendered into memory first: `generate` panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ordo", &mut script);
    match out.write_all(&script).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes `ordo(1)` as roff, or with `command` (`apply`, `state`) `ordo-COMMAND(1)`.
///
/// Errors: a command that does not exist is an [`UnknownCommand`] naming the known ones
/// and the nearest; writing fails with the writer's error.
pub fn man(command: Option<&str>, out: &mut dyn Write) -> Result<(), ManError> {
    let mut root = Cli::command();
    root.build();
    let page = match command {
        None => root,
        Some(name) => {
            let Some(sub) = root.find_subcommand(name) else {
                let names: Vec<&str> = root
                    .get_subcommands()
                    .map(clap::Command::get_name)
                    .filter(|n| *n != "help")
                    .collect();
                return Err(ManError::Unknown(UnknownCommand {
                    name: name.to_string(),
                    nearest: crate::diagnostic::did_you_mean(name, names.iter().copied())
                        .map(str::to_string),
                    known: names.join(", "),
                }));
            };
            // The page is `ordo-apply(1)`; its synopsis reads `ordo apply ...`.
            sub.clone()
                .name(format!("ordo-{name}"))
                .bin_name(format!("ordo {name}"))
        }
    };
    let top = command.is_none();
    let man = clap_mangen::Man::new(page);
    let mut render = || -> io::Result<()> {
        man.render_title(out)?;
        man.render_name_section(out)?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
        man.render_subcommands_section(out)?;
        out.write_all(EXIT_STATUS.as_bytes())?;
        if top {
            out.write_all(SEE_ALSO.as_bytes())?;
        }
        man.render_version_section(out)?;
        out.flush()
    };
    match render() {
        // `ordo man | head`: the reader has what it wanted.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(ManError::Write),
    }
}

/// The exit codes (DESIGN.md §1, `crate::error::exit`), as a roff section.
const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success (for \fBplan \-\-detailed\-exitcode\fR: no changes).
.TP
\fB1\fR
A handler failed during the run; the report says which, and what ran.
.TP
\fB2\fR
The command line is wrong (unknown flag, missing value).
.TP
\fB3\fR
The input is invalid (YAML, manifest, handler script, graph); nothing was executed.
.TP
\fB4\fR
\fBplan \-\-detailed\-exitcode\fR only: changes are pending.
.TP
\fB130\fR
Interrupted (Ctrl\-C); running handlers were stopped and the state was saved.
"#;

/// Where the rest of the documentation is, on the top page.
const SEE_ALSO: &str = r#".SH "SEE ALSO"
The README of the ordo repository: handlers, the standard library, state, remote hosts.
"#;

/// Why `ordo man` printed no page.
#[derive(Debug, thiserror::Error)]
pub enum ManError {
    #[error("{0}")]
    Unknown(UnknownCommand),
    #[error("cannot write the manual page: {0}")]
    Write(io::Error),
}

/// `ordo man NAME` with a NAME that is not a command.
#[derive(Debug)]
pub struct UnknownCommand {
    pub name: String,
    pub nearest: Option<String>,
    pub known: String,
}

impl std::fmt::Display for UnknownCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not an ordo command", self.name)?;
        if let Some(nearest) = &self.nearest {
            write!(f, " (did you mean `{nearest}`?)")?;
        }
        write!(f, "; the commands are: {}", self.known)
    }
}
