//! The remote command line: an argv, its environment and working directory become one
//! string for `ssh`, and the wrapper around it that tells a connection failure from the
//! command's own exit code 255.
//!
//! `ssh` joins its arguments with spaces and hands the result to the remote user's login
//! shell, so an argv cannot be passed as a list: every word is quoted here with `shlex`
//! (POSIX quoting; a NUL byte, which no shell can carry, and text that is not UTF-8 are
//! refused). The line runs under `sh -c`, whatever the login shell is, so its syntax is
//! POSIX sh's. The environment is an `env -- K=V` prefix (ssh's `SendEnv` needs the
//! server's `AcceptEnv`), the working directory a `cd -- DIR &&` prefix.
//!
//! The wrapper first prints [`START`] and `$$` on stderr. The login shell `exec`s `sh`, and
//! sshd made the login shell a session leader, so `$$` is the process group of everything
//! the command starts: a timeout kills that group over a second channel. `ssh` exits with
//! 255 both when the connection fails and when the command itself exits 255; the marker
//! tells them apart (no marker: the command never started).

use std::ffi::{OsStr, OsString};

/// The start marker on stderr, followed by the remote process group id and a newline.
/// The record separator (0x1e) keeps it apart from anything a command prints.
pub(crate) const START: &str = "\u{1e}ordo-start ";

/// Why a word cannot go into a remote command line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QuoteRefusal {
    NotUtf8(String),
    Nul(String),
    BadEnvName(String),
    EnvAndAssignment(String),
    Empty,
}

impl std::fmt::Display for QuoteRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuoteRefusal::NotUtf8(w) => write!(f, "`{w}` is not UTF-8 text"),
            QuoteRefusal::Nul(w) => write!(f, "`{w}` holds a NUL byte, which no shell can pass"),
            QuoteRefusal::BadEnvName(n) => write!(
                f,
                "`{n}` is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
            ),
            QuoteRefusal::EnvAndAssignment(p) => write!(
                f,
                "the program `{p}` contains `=`, which `env` would read as a variable"
            ),
            QuoteRefusal::Empty => write!(f, "an argv must name a program"),
        }
    }
}

/// Quotes one word for a POSIX shell.
pub(crate) fn word(w: &OsStr) -> Result<String, QuoteRefusal> {
    let text = w
        .to_str()
        .ok_or_else(|| QuoteRefusal::NotUtf8(w.to_string_lossy().into_owned()))?;
    str_word(text)
}

fn str_word(text: &str) -> Result<String, QuoteRefusal> {
    shlex::try_quote(text)
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| QuoteRefusal::Nul(text.escape_debug().to_string()))
}

pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The command line for `argv`, run with `env` added to its environment, in `cwd`.
pub(crate) fn command_line(
    argv: &[OsString],
    env: &[(String, String)],
    cwd: Option<&str>,
) -> Result<String, QuoteRefusal> {
    let Some(program) = argv.first() else {
        return Err(QuoteRefusal::Empty);
    };
    let mut line = String::new();
    if let Some(dir) = cwd {
        line.push_str("cd -- ");
        line.push_str(&str_word(dir)?);
        line.push_str(" && ");
    }
    if !env.is_empty() {
        if program.to_string_lossy().contains('=') {
            return Err(QuoteRefusal::EnvAndAssignment(
                program.to_string_lossy().into_owned(),
            ));
        }
        line.push_str("env --");
        for (k, v) in env {
            if !is_env_name(k) {
                return Err(QuoteRefusal::BadEnvName(k.clone()));
            }
            line.push(' ');
            line.push_str(&str_word(&format!("{k}={v}"))?);
        }
        line.push(' ');
    }
    let words = argv
        .iter()
        .map(|w| word(w))
        .collect::<Result<Vec<_>, _>>()?;
    line.push_str(&words.join(" "));
    Ok(line)
}

/// The string given to `ssh` for `line`: the login shell `exec`s `sh -c`, which prints the
/// start marker with its process group and runs `line`. `line` does not run as the last
/// command, so a command killed by a signal exits 128 + the signal, as a local one does,
/// instead of making `ssh` report 255.
pub(crate) fn wrapped(line: &str) -> String {
    let script = format!("printf '\\036ordo-start %s\\n' \"$$\" >&2\n{line}\nexit $?");
    // The script is our own text plus quoted words: it holds no NUL.
    format!("exec sh -c {}", str_word(&script).unwrap_or_default())
}

/// A script for the host that sends SIGTERM to the process groups `pgids`, waits up to
/// `grace_tenths` tenths of a second for them to go, then sends SIGKILL. (dash's `kill`
/// takes no `--`: a negative pid after the signal names a group.)
pub(crate) fn kill_script(pgids: &[i32], grace_tenths: u32) -> String {
    let groups: Vec<String> = pgids.iter().map(|p| format!("-{p}")).collect();
    let groups = groups.join(" ");
    format!(
        "kill -TERM {groups} 2>/dev/null; n=0; while [ $n -lt {grace_tenths} ]; do a=; \
         for g in {groups}; do kill -0 $g 2>/dev/null && a=1; done; [ -z \"$a\" ] && break; \
         sleep 0.1; n=$((n+1)); done; kill -KILL {groups} 2>/dev/null; exit 0"
    )
}

#[cfg(test)]
mod tests {

    use super::*;
    use std::os::unix::ffi::OsStringExt;
    use std::process::Command;

    /// Runs `line` through a real `sh -c` with `printf '%s\0' "$@"`-like echo of argv:
    /// the program is `printf`, so every argument comes back NUL-separated.
    fn round_trip(args: &[&str]) -> Vec<String> {
        let mut argv: Vec<OsString> = vec!["printf".into(), "%s\\0".into()];
        argv.extend(args.iter().map(OsString::from));
        let line = command_line(&argv, &[], None).unwrap();
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert!(out.status.success(), "{line}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut words: Vec<String> = text.split('\0').map(str::to_string).collect();
        assert_eq!(words.pop().as_deref(), Some(""));
        words
    }

    macro_rules! round_trips {
        ($($name:ident: $args:expr;)*) => {$(
            #[test]
            fn $name() {
                let args: &[&str] = &$args;
                assert_eq!(round_trip(args), args);
            }
        )*};
    }

    round_trips! {
        spaces: ["a b", "  lead", "trail  ", "tab\there"];
        quotes: ["it's", "\"double\"", "'", "\"", "mixed '\" both"];
        substitutions: ["$(touch /tmp/ordo-pwned)", "`id`", "${HOME}", "$HOME", "$$"];
        newlines: ["line1\nline2", "\n", "end\n"];
        leading_dash: ["-n", "--", "-e", "-"];
        empty: ["", "x", ""];
        globs_and_operators: ["*", "?", "[a]", "a;b", "a|b", "a&b", "a>b", "~", "#c", "!x"];
        unicode: ["ünïcödé", "日本", "\u{1e}sep"];
    }

    #[test]
    fn the_wrapper_round_trips_through_two_shells() {
        // The remote side: the login shell parses the wrapped line, `sh -c` the script.
        let run = |argv: &[&str], env: &[(String, String)], cwd: Option<&str>| {
            let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
            let line = command_line(&argv, env, cwd).unwrap();
            let out = Command::new("sh")
                .arg("-c")
                .arg(wrapped(&line))
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert!(stderr.starts_with(START), "{stderr:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(
            run(
                &["printf", "%s|", "$(id)", "it's", "a\nb", "-n", ""],
                &[],
                None
            ),
            "$(id)|it's|a\nb|-n||"
        );
        assert_eq!(
            run(
                &["sh", "-c", "printf '%s|%s' \"$K_1\" \"$PWD\""],
                &[("K_1".into(), "v w'$x `y`".into())],
                Some("/"),
            ),
            "v w'$x `y`|/"
        );
    }

    #[test]
    fn a_leading_dash_program_is_a_program_not_an_option() {
        let line = command_line(&["-x".into()], &[("A".into(), "1".into())], None).unwrap();
        assert_eq!(line, "env -- 'A=1' -x");
        let line = command_line(&["-x".into()], &[], Some("-d")).unwrap();
        assert_eq!(line, "cd -- -d && -x");
    }

    #[test]
    fn a_signal_is_an_exit_code_not_a_lost_connection() {
        let line = command_line(
            &["sh".into(), "-c".into(), "kill -TERM $$".into()],
            &[],
            None,
        )
        .unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(wrapped(&line))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(128 + 15));
    }

    #[test]
    fn refusals() {
        let bad = OsString::from_vec(vec![b'a', 0xff]);
        assert!(matches!(
            command_line(&["echo".into(), bad], &[], None),
            Err(QuoteRefusal::NotUtf8(_))
        ));
        assert!(matches!(
            command_line(&["echo".into(), "a\0b".into()], &[], None),
            Err(QuoteRefusal::Nul(_))
        ));
        assert!(matches!(
            command_line(&[], &[], None),
            Err(QuoteRefusal::Empty)
        ));
        assert!(matches!(
            command_line(&["env".into()], &[("A B".into(), "1".into())], None),
            Err(QuoteRefusal::BadEnvName(_))
        ));
        assert!(matches!(
            command_line(&["a=b".into()], &[("A".into(), "1".into())], None),
            Err(QuoteRefusal::EnvAndAssignment(_))
        ));
        assert!(matches!(
            command_line(&["true".into()], &[], Some("a\0")),
            Err(QuoteRefusal::Nul(_))
        ));
    }

    #[test]
    fn the_kill_script_kills_a_whole_group_even_one_ignoring_sigterm() {
        use std::os::unix::process::CommandExt;
        let mut group = Command::new("sh")
            .args(["-c", "trap '' TERM; sleep 1000 & sleep 1000; wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = i32::try_from(group.id()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let started = std::time::Instant::now();
        let out = Command::new("sh")
            .arg("-c")
            .arg(kill_script(&[pgid], 5))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(started.elapsed() >= std::time::Duration::from_millis(400));
        assert!(group.wait().unwrap().code().is_none(), "killed by a signal");
        // Its orphaned `sleep`s may stay zombies here (no init reaps them): count the rest,
        // giving SIGKILL a moment to land on a loaded machine.
        let live_in_group = || {
            std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
                .filter(|stat| {
                    let fields: Vec<&str> = stat
                        .rsplit_once(')')
                        .map(|(_, rest)| rest.split_whitespace().collect())
                        .unwrap_or_default();
                    fields.get(2) == Some(&pgid.to_string().as_str())
                        && !matches!(fields.first(), Some(&("Z" | "X")))
                })
                .count()
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut left = live_in_group();
        while left > 0 && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
            left = live_in_group();
        }
        assert_eq!(left, 0, "nothing of the group is left");
    }
}
