//! The remote command line: an argv, its environment and working directory become a
//! script sent on the session's stdin, and the wrapper around it that tells a connection
//! failure from the command's own exit code 255.
//!
//! Nothing of the command rides in an argv (where every user of the controller and of the
//! host could read it in `/proc/*/cmdline`): the `ssh` argv and the remote `sh -c` argv are
//! the fixed [`READER`], which reads a line-counted script from stdin with the shell's
//! `read` builtin (byte by byte on a pipe, so the rest of stdin stays the command's) and
//! `eval`s it. The environment is `export K=V` inside the script. Words are quoted for POSIX
//! sh, single-quoted, a newline written as `"$_ordo_nl"` (defined by the reader), so a word
//! never adds a line: the line count is that of ordo's own text. A NUL byte, which no shell
//! can carry, and text that is not UTF-8 are refused. What stays visible on the host is
//! what would be visible locally: the argv of the command itself (and of `sudo`).
//!
//! The wrapper first prints [`START`] and `$$` on stderr. The login shell `exec`s `sh`, and
//! sshd made the login shell a session leader, so `$$` is the process group of everything
//! the command starts: a timeout kills that group over a second channel. When the command
//! ends, the wrapper prints [`END`] and its exit code, then kills what is left of its group
//! (a background job the command left, as locally). `ssh` exits with 255 both when the
//! connection fails and when the command itself exits 255; the markers tell them apart.

use std::ffi::{OsStr, OsString};

/// The start marker on stderr, followed by the remote process group id and a newline.
/// The record separator (0x1e) keeps it apart from anything a command prints.
pub(crate) const START: &str = "\u{1e}ordo-start ";
/// The end marker on stderr, followed by the command's exit code and a newline.
pub(crate) const END: &str = "\u{1e}ordo-end ";

/// The fixed remote command: reads a count of lines, then that many lines, and `eval`s
/// them. `read` takes one byte at a time from a pipe, so what follows stays on stdin.
pub(crate) const READER: &str = "_ordo_nl='\n';IFS= read -r _ordo_n||exit 254;_ordo_s=;\
while [ \"$_ordo_n\" -gt 0 ];do IFS= read -r _ordo_l||exit 254;\
_ordo_s=\"$_ordo_s$_ordo_l$_ordo_nl\";_ordo_n=$((_ordo_n-1));done;\
unset _ordo_l _ordo_n;eval \"$_ordo_s\"";

/// The command `ssh` passes to the login shell: `exec sh -c READER`, the same for every
/// session, holding nothing of the command.
pub(crate) fn remote_command() -> String {
    // READER holds a newline inside quotes, which the login shell takes as it is.
    let reader = shlex::try_quote(READER)
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    format!("exec sh -c {reader}")
}

/// `script` framed for [`READER`]: its line count, a newline, the script, a newline.
pub(crate) fn frame(script: &str) -> String {
    let lines = script.split('\n').count();
    format!("{lines}\n{script}\n")
}

/// Why a word cannot go into a remote command line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QuoteRefusal {
    NotUtf8(String),
    Nul(String),
    BadEnvName(String),
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

/// Single quotes around `text`; `'` as `'\\''`, a newline as `'"$_ordo_nl"'`, so the word
/// stays on one line (scripts run under [`READER`], which defines `_ordo_nl`).
fn str_word(text: &str) -> Result<String, QuoteRefusal> {
    if text.contains('\0') {
        return Err(QuoteRefusal::Nul(text.escape_debug().to_string()));
    }
    let mut q = String::with_capacity(text.len() + 2);
    q.push('\'');
    for c in text.chars() {
        match c {
            '\'' => q.push_str("'\\''"),
            '\n' => q.push_str("'\"$_ordo_nl\"'"),
            c => q.push(c),
        }
    }
    q.push('\'');
    Ok(q)
}

pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What runs on the host, before it is wrapped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spec<'a> {
    /// The command (program first); ignored when `script` is set.
    pub argv: &'a [OsString],
    /// Exported for the command.
    pub env: &'a [(String, String)],
    /// Entered first (by the login user, before any `prefix`).
    pub cwd: Option<&'a str>,
    /// Words that run the rest as another user (`sudo -n -u U --`): the rest then goes on
    /// stdin to a second [`READER`] under them, so no value rides in `sudo`'s argv.
    pub prefix: &'a [OsString],
    /// Start from an empty environment (`env -i`), `env` only.
    pub clear_env: bool,
    /// A POSIX sh script and its positional parameters, instead of an argv.
    pub script: Option<(&'a str, &'a [String])>,
}

/// The line for `spec`, and the script a second reader under `prefix` takes from stdin.
pub(crate) fn command_line(spec: &Spec<'_>) -> Result<(String, Option<String>), QuoteRefusal> {
    let mut body = String::new();
    for (k, v) in spec.env {
        if !is_env_name(k) {
            return Err(QuoteRefusal::BadEnvName(k.clone()));
        }
        body.push_str(&format!("export {k}={}\n", str_word(v)?));
    }
    let inner = !spec.prefix.is_empty() || spec.clear_env;
    match spec.script {
        Some((script, args)) => {
            let words = args
                .iter()
                .map(|a| str_word(a))
                .collect::<Result<Vec<_>, _>>()?;
            body.push_str(&format!("set -- {}\n{script}", words.join(" ")));
        }
        None => {
            if spec.argv.is_empty() {
                return Err(QuoteRefusal::Empty);
            }
            let words = spec
                .argv
                .iter()
                .map(|w| word(w))
                .collect::<Result<Vec<_>, _>>()?;
            body.push_str("exec ");
            body.push_str(&words.join(" "));
        }
    }
    let mut line = String::new();
    if let Some(dir) = spec.cwd {
        line.push_str("cd -- ");
        line.push_str(&str_word(dir)?);
        line.push_str(" && ");
    }
    if !inner {
        line.push_str("(\n");
        line.push_str(&body);
        line.push_str("\n)");
        return Ok((line, None));
    }
    let mut words = spec
        .prefix
        .iter()
        .map(|w| word(w))
        .collect::<Result<Vec<_>, _>>()?;
    if spec.clear_env {
        words.push("env -i".into());
    }
    words.push(format!("sh -c {}", str_word(READER)?));
    line.push_str(&words.join(" "));
    Ok((line, Some(body)))
}

/// The wrapper script for `line`: the start marker with the process group, optionally a
/// watcher that kills the group when stdin (the session) closes, `line`, the end marker with
/// its exit code, and the group killed. `line` does not run as the last command, so a
/// command killed by a signal exits 128 + the signal, as a local one does.
pub(crate) fn wrapped(line: &str, watch_stdin: bool) -> String {
    let watcher = if watch_stdin {
        // An async list's stdin is /dev/null unless redirected: fd 3 carries the session's.
        "exec 3<&0 </dev/null\n\
         { while IFS= read -r _ordo_w; do :; done; kill -KILL -$$; } <&3 >/dev/null 2>&1 &\n\
         exec 3<&-\n"
    } else {
        ""
    };
    format!(
        "printf '\\036ordo-start %s\\n' \"$$\" >&2\n{watcher}{line}\n_ordo_c=$?\n\
         printf '\\036ordo-end %s\\n' \"$_ordo_c\" >&2\nkill -KILL -$$ 2>/dev/null\nexit $_ordo_c"
    )
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
    use std::io::Write as _;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    /// Runs `spec` as a session would: `sh -c READER`, the framed wrapper (and inner
    /// script) on stdin, then `input`.
    fn session(spec: &Spec<'_>, input: &[u8]) -> std::process::Output {
        let (line, inner) = command_line(spec).unwrap();
        let mut payload = frame(&wrapped(&line, false)).into_bytes();
        if let Some(inner) = inner {
            payload.extend_from_slice(frame(&inner).as_bytes());
        }
        payload.extend_from_slice(input);
        // Its own group, as sshd's session leader is on a host: the wrapper kills its group.
        let mut child = Command::new("sh")
            .process_group(0)
            .arg("-c")
            .arg(READER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&payload).unwrap();
        child.wait_with_output().unwrap()
    }

    fn end_code(out: &std::process::Output) -> i32 {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let at = stderr.rfind(END).unwrap();
        stderr[at + END.len()..].trim().parse().unwrap()
    }

    /// `printf '%s\0' ARGS...` through the whole wrapper: every argument comes back.
    fn round_trip(args: &[&str]) -> Vec<String> {
        let mut argv: Vec<OsString> = vec!["printf".into(), "%s\\0".into()];
        argv.extend(args.iter().map(OsString::from));
        let out = session(
            &Spec {
                argv: &argv,
                ..Spec::default()
            },
            b"",
        );
        assert_eq!(end_code(&out), 0, "{out:?}");
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
        newlines: ["line1\nline2", "\n", "end\n", "\n\n"];
        leading_dash: ["-n", "--", "-e", "-"];
        empty: ["", "x", ""];
        globs_and_operators: ["*", "?", "[a]", "a;b", "a|b", "a&b", "a>b", "~", "#c", "!x"];
        unicode: ["ünïcödé", "日本", "\u{1e}sep", "\r"];
    }

    #[test]
    fn env_cwd_input_and_a_second_reader_under_a_prefix() {
        let argv: Vec<OsString> = ["sh", "-c", "printf '%s|%s|' \"$K_1\" \"$PWD\"; cat"]
            .iter()
            .map(OsString::from)
            .collect();
        let env = [("K_1".to_string(), "v w'$x `y`\nz".to_string())];
        let plain = Spec {
            argv: &argv,
            env: &env,
            cwd: Some("/"),
            ..Spec::default()
        };
        let out = session(&plain, b"input\n");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "v w'$x `y`\nz|/|input\n"
        );
        let stderr = String::from_utf8(out.stderr.clone()).unwrap();
        assert!(stderr.starts_with(START), "{stderr:?}");
        // Under a prefix (`env` standing in for `sudo -n --`), the same, with env -i.
        let prefix = vec![OsString::from("env"), OsString::from("--")];
        let out = session(
            &Spec {
                prefix: &prefix,
                clear_env: true,
                ..plain
            },
            b"input\n",
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "v w'$x `y`\nz|/|input\n"
        );
        assert_eq!(end_code(&out), 0);
        // A script with positional parameters.
        let args = vec!["a b".to_string(), "c\nd".to_string()];
        let out = session(
            &Spec {
                script: Some(("printf '%s|' \"$@\"\nexit 3", &args)),
                ..Spec::default()
            },
            b"",
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b|c\nd|");
        assert_eq!(end_code(&out), 3);
    }

    #[test]
    fn a_leading_dash_program_is_a_program_not_an_option() {
        let argv = [OsString::from("-x")];
        let (line, _) = command_line(&Spec {
            argv: &argv,
            cwd: Some("-d"),
            ..Spec::default()
        })
        .unwrap();
        assert_eq!(line, "cd -- '-d' && (\nexec '-x'\n)");
    }

    #[test]
    fn a_signal_is_an_exit_code_and_an_end_marker() {
        let argv: Vec<OsString> = ["sh", "-c", "kill -TERM $$"]
            .iter()
            .map(OsString::from)
            .collect();
        let out = session(
            &Spec {
                argv: &argv,
                ..Spec::default()
            },
            b"",
        );
        assert_eq!(end_code(&out), 128 + 15);
    }

    #[test]
    fn refusals() {
        let refused = |argv: Vec<OsString>, env: &[(String, String)], cwd: Option<&str>| {
            command_line(&Spec {
                argv: &argv,
                env,
                cwd,
                ..Spec::default()
            })
            .unwrap_err()
        };
        let bad = OsString::from_vec(vec![b'a', 0xff]);
        assert!(matches!(
            refused(vec!["echo".into(), bad], &[], None),
            QuoteRefusal::NotUtf8(_)
        ));
        assert!(matches!(
            refused(vec!["echo".into(), "a\0b".into()], &[], None),
            QuoteRefusal::Nul(_)
        ));
        assert!(matches!(refused(vec![], &[], None), QuoteRefusal::Empty));
        assert!(matches!(
            refused(vec!["env".into()], &[("A B".into(), "1".into())], None),
            QuoteRefusal::BadEnvName(_)
        ));
        assert!(matches!(
            refused(vec!["true".into()], &[], Some("a\0")),
            QuoteRefusal::Nul(_)
        ));
    }

    #[test]
    fn the_kill_script_kills_a_whole_group_even_one_ignoring_sigterm() {
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
