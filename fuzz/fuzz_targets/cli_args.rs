//! The command line: arbitrary argument lists through clap (`Cli::try_parse_from`) and the
//! checks ordo makes after parsing (`Config::from_cli`), as `ordo::run` does before it
//! reads any file (issue 16).
//!
//! Arguments are drawn from every flag and subcommand ordo has, values that look like what
//! they take (numbers, durations, hosts, environment names), arbitrary text and arbitrary
//! bytes (paths need not be UTF-8). Invariants: no panic; every refusal renders as text; a
//! configuration that is accepted holds a timeout from 1 ns to a year, at least one job, a valid environment name, and `--net-allow` rules that print as text
//! that parses back to the same rule.

#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ordo::cli::{Cli, Config};
use ordo::stdlib::NetRule;
use ordo::units::MAX_DURATION;

use clap::Parser;

const COMMANDS: [&str; 10] = [
    "apply", "delete", "plan", "validate", "handlers", "graph", "lint", "state", "hosts", "help",
];

const FLAGS: [&str; 44] = [
    "-m", "--manifest", "-s", "--src", "-e", "--env", "-f", "--values", "--set", "-j",
    "--jobs", "--only", "--exclude", "-l", "--selector", "--keep-going", "--state",
    "--no-state", "--prune", "--delete", "--detailed-exitcode", "-o", "--output", "-v", "-q",
    "--color", "--deny", "--fs-root", "--net-allow", "--timeout", "--max-operations",
    "--format", "list", "show", "rm", "unlock", "--force", "--help", "--version", "-",
    "-i", "--inventory", "--limit", "--check",
];

const VALUES: [&str; 44] = [
    "0", "1", "-1", "10", "3600", "1e20", "1e-300", "1e-9", "1e300", "31536000",
    "31536000.5", "NaN", "inf", "-inf", "0.5", "18446744073709551615", "99999999999999999999",
    "", "default", "prod", "a/b", "a b", "a\nb", "[::1]", "[::1]:8080", "::1", "host:80",
    "host:0", "host:65536", "http://x", "127.0.0.1", "json", "jsonl", "human", "shell",
    "file:read", "k=v", "tier in (a,b)", ".", "/", "90s", "1h30m", "web-*,!web-2", "all",
];

#[derive(Arbitrary, Debug)]
enum Arg {
    Command(u8),
    Flag(u8),
    Value(u8),
    Joined(u8, u8),
    Text(String),
    Bytes(Vec<u8>),
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list.get(usize::from(i) % list.len()).copied().unwrap_or_default()
}

fn os(arg: Arg) -> OsString {
    match arg {
        Arg::Command(i) => pick(&COMMANDS, i).into(),
        Arg::Flag(i) => pick(&FLAGS, i).into(),
        Arg::Value(i) => pick(&VALUES, i).into(),
        // `--timeout=1e20`
        Arg::Joined(f, v) => format!("{}={}", pick(&FLAGS, f), pick(&VALUES, v)).into(),
        Arg::Text(s) => s.into(),
        Arg::Bytes(b) => OsString::from_vec(b),
    }
}

fuzz_target!(|input: (u8, Vec<Arg>)| {
    let (command, args) = input;
    let mut argv: Vec<OsString> = vec!["ordo".into(), pick(&COMMANDS, command).into()];
    argv.extend(args.into_iter().take(64).map(os));
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if let ordo::cli::Command::State(_) = cli.command {
        return;
    }
    let config = match Config::from_cli(cli) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let timeout = config.limits.timeout;
    assert!(
        !timeout.is_zero() && timeout <= MAX_DURATION,
        "{argv:?}: timeout {timeout:?}"
    );
    assert!(config.jobs >= 1, "{argv:?}");
    assert!(
        !config.env.is_empty() && !config.env.contains(['/', '\n']),
        "{argv:?}: env {:?}",
        config.env
    );
    for rule in &config.policy.net_allow {
        let shown = rule.to_string();
        assert_eq!(
            NetRule::parse(&shown).as_ref(),
            Ok(rule),
            "{argv:?}: {rule:?} printed as {shown:?}"
        );
    }
});
