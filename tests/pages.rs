//! `ordo completions SHELL` and `ordo man [COMMAND]`: generated from the clap tree that
//! parses the command line, checked here against that command line's own `--help`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::process::{Command, Stdio};

use common::Test;

/// Every `--long` flag `ordo [COMMAND] --help` lists.
fn long_flags(help: &str) -> Vec<String> {
    help.split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            w.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn the_bash_completion_script_is_valid_bash_and_knows_every_command() {
    let t = Test::new();
    let out = t.run(&["completions", "bash"]);
    out.code(0);
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    std::io::Write::write_all(
        &mut bash.stdin.take().expect("stdin"),
        out.stdout.as_bytes(),
    )
    .expect("write");
    let checked = bash.wait_with_output().expect("bash -n");
    assert!(
        checked.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // Completing in a real bash: `ordo ap<TAB>` and `ordo apply --keep<TAB>`.
    let script = out.dir.join("ordo.bash");
    std::fs::write(&script, &out.stdout).expect("write script");
    for (words, wanted) in [
        ("ordo ap", "apply"),
        ("ordo st", "state"),
        ("ordo apply --keep", "--keep-going"),
        ("ordo plan --detailed", "--detailed-exitcode"),
    ] {
        let completed = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source \"$1\"; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                 COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _ordo ordo \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
                 printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ))
            .arg("bash")
            .arg(&script)
            .output()
            .expect("bash");
        let replies = String::from_utf8_lossy(&completed.stdout);
        assert!(
            replies.lines().any(|l| l.trim() == wanted),
            "`{words}` did not complete to {wanted}: {replies:?} {}",
            String::from_utf8_lossy(&completed.stderr)
        );
    }
}

#[test]
fn completion_scripts_exist_for_each_shell_and_an_unknown_shell_is_a_usage_error() {
    let t = Test::new();
    for (shell, marker) in [
        ("zsh", "#compdef ordo"),
        ("fish", "complete -c ordo"),
        ("elvish", "edit:completion:arg-completer[ordo]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = t.run(&["completions", shell]);
        out.code(0);
        assert!(out.stdout.contains(marker), "{shell}: {}", out.stdout);
    }
    t.run(&["completions", "tcsh"])
        .code(2)
        .stderr_has("possible values");
}

#[test]
fn the_manual_page_is_roff_with_every_command_and_the_exit_codes() {
    let out = Test::new().run(&["man"]);
    out.code(0);
    let page = &out.stdout;
    assert!(page.contains(".TH ordo 1"), "{page}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH SUBCOMMANDS",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(page.contains(section), "no {section}:\n{page}");
    }
    let help = Test::new().run(&["--help"]);
    let commands: Vec<&str> = help
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for command in commands {
        // roff escapes `-` as `\-`.
        assert!(
            page.contains(&format!("ordo\\-{command}(1)")),
            "`{command}` is missing from ordo(1)"
        );
    }
    for code in ["\\fB0\\fR", "\\fB3\\fR", "\\fB130\\fR"] {
        assert!(page.contains(code), "exit code {code} missing");
    }
    // Every roff request line starts with a known macro: nothing of clap's plain text leaked
    // into a request position.
    for line in page.lines().filter(|l| l.starts_with('.')) {
        let request = line.split_whitespace().next().unwrap_or_default();
        assert!(
            [
                ".TH", ".SH", ".TP", ".PP", ".RS", ".RE", ".ie", ".el", ".IP", ".br", ".B"
            ]
            .contains(&request),
            "unexpected roff request: {line}"
        );
    }
}

#[test]
fn a_command_page_documents_every_flag_its_help_lists() {
    let t = Test::new();
    for command in ["apply", "plan", "hosts", "state"] {
        let page = t.run(&["man", command]);
        page.code(0);
        assert!(
            page.stdout.contains(&format!(".TH ordo-{command} 1")),
            "{}",
            page.stdout
        );
        let help = t.run(&[command, "--help"]);
        help.code(0);
        let flags = long_flags(&help.stdout);
        assert!(flags.len() > 2, "{command}: {flags:?}");
        for flag in flags {
            let escaped = format!("\\-\\-{}", flag.replace('-', "\\-"));
            assert!(
                page.stdout.contains(&escaped),
                "ordo-{command}(1) lacks --{flag}"
            );
        }
    }
}

#[test]
fn man_for_an_unknown_command_is_a_usage_error_with_a_suggestion() {
    Test::new()
        .run(&["man", "aply"])
        .code(2)
        .stderr_has("`aply` is not an ordo command (did you mean `apply`?)");
}

#[test]
fn a_closed_pipe_ends_man_and_completions_quietly() {
    for args in ["man", "completions bash"] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("\"$ORDO\" {args} | head -c 10 >/dev/null"))
            .env("ORDO", env!("CARGO_BIN_EXE_ordo"))
            .output()
            .expect("sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args}: {stderr}");
        assert!(stderr.is_empty(), "{args}: {stderr}");
    }
}
