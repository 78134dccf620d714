//! Each subcommand offers only the options it uses: `--help` of the real binary lists them,
//! and an option a command does not use is refused as a usage error (exit 2).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::Test;

const LOAD: &[&str] = &[
    "--manifest",
    "--src",
    "--env",
    "--values",
    "--set",
    "--inventory",
];
const SELECT: &[&str] = &["--only", "--exclude", "--selector", "--limit"];
const OUTPUT: &[&str] = &["--output", "--verbose", "--color"];
const RUN: &[&str] = &[
    "--quiet",
    "--jobs",
    "--keep-going",
    "--per-host",
    "--state",
    "--no-state",
    "--deny",
    "--fs-root",
    "--net-allow",
    "--timeout",
    "--max-operations",
];
const SOURCE: &[&str] = &[
    "--locked",
    "--offline",
    "--frozen",
    "--allow-file-sources",
    "--allow-source",
    "--require-digest",
];
const OWN: &[&str] = &[
    "--prune",
    "--delete",
    "--detailed-exitcode",
    "--format",
    "--check",
    "--yes",
    "--rollback-on-failure",
    "--verify",
    "--param",
    "--order",
    "--force",
    "--filter",
    "--list",
    "--junit",
    "--interval",
    "--jitter",
    "--retry-interval",
    "--max-backoff",
    "--drift",
    "--flap-window",
    "--shutdown-grace",
    "--once",
];

/// The long options `ordo <command> --help` lists.
fn listed(command: &str) -> Vec<String> {
    // `new handler`: a subcommand's own subcommand.
    let mut args: Vec<&str> = command.split(' ').collect();
    args.push("--help");
    let out = Test::new().run(&args);
    out.code(0);
    // Option lines: `  -m, --manifest <PATH>  ...` or `      --set <KEY=VALUE>  ...`.
    let mut options: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = match line.strip_prefix('-') {
                Some(rest) if !rest.starts_with('-') => rest.get(3..)?,
                _ => line,
            };
            let name = line.split_whitespace().next()?;
            let name = name.trim_end_matches("...");
            name.starts_with("--").then(|| name.to_string())
        })
        .collect();
    options.sort();
    options.dedup();
    options
}

fn check(command: &str, uses: &[&[&str]], own: &[&str]) {
    let listed = listed(command);
    let mut expected: Vec<String> = uses
        .iter()
        .flat_map(|group| group.iter())
        .chain(own)
        .chain(&["--help", "--version"])
        .map(|s| (*s).to_string())
        .collect();
    expected.sort();
    assert_eq!(listed, expected, "`ordo {command} --help`");
    for unused in all_known()
        .iter()
        .filter(|o| !expected.iter().any(|e| e == *o))
    {
        // Refused, not silently accepted.
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push(unused);
        let out = Test::new().run(&args);
        assert_eq!(
            out.code, 2,
            "`ordo {command} {unused}` should be a usage error\n{}",
            out.stderr
        );
        assert!(out.stderr.contains("unexpected argument"), "{}", out.stderr);
    }
}

fn all_known() -> Vec<&'static str> {
    [LOAD, SELECT, OUTPUT, RUN, SOURCE, OWN].concat()
}

#[test]
fn graph_offers_loading_selection_output_and_its_format() {
    check(
        "graph",
        &[LOAD, SOURCE, SELECT, OUTPUT],
        &["--format", "--delete"],
    );
}

#[test]
fn validate_offers_loading_selection_and_output_only() {
    check("validate", &[LOAD, SOURCE, SELECT, OUTPUT], &[]);
}

#[test]
fn handlers_offers_loading_and_output_only() {
    check("handlers", &[LOAD, SOURCE, OUTPUT], &[]);
}

#[test]
fn apply_offers_the_run_options_and_prune() {
    check(
        "apply",
        &[LOAD, SOURCE, SELECT, OUTPUT, RUN],
        &["--prune", "--yes", "--rollback-on-failure", "--verify"],
    );
}

#[test]
fn verify_offers_the_run_options_only() {
    check("verify", &[LOAD, SOURCE, SELECT, OUTPUT, RUN], &[]);
}

#[test]
fn actions_offers_loading_and_output_only() {
    check("actions", &[LOAD, SOURCE, OUTPUT], &[]);
}

#[test]
fn delete_offers_the_run_options() {
    check("delete", &[LOAD, SOURCE, SELECT, OUTPUT, RUN], &["--yes"]);
}

#[test]
fn plan_offers_the_run_options_and_its_own() {
    check(
        "plan",
        &[LOAD, SOURCE, SELECT, OUTPUT, RUN],
        &[
            "--delete",
            "--detailed-exitcode",
            "--prune",
            "--rollback-on-failure",
        ],
    );
}

#[test]
fn watch_offers_the_run_options_and_when_and_how_cycles_run() {
    check(
        "watch",
        &[LOAD, SOURCE, SELECT, OUTPUT, RUN],
        &[
            "--interval",
            "--jitter",
            "--retry-interval",
            "--max-backoff",
            "--drift",
            "--flap-window",
            "--shutdown-grace",
            "--once",
            "--listen",
            "--listen-any",
        ],
    );
}

#[test]
fn hosts_offers_loading_limit_check_and_output_only() {
    check("hosts", &[LOAD, SOURCE, OUTPUT], &["--limit", "--check"]);
}

#[test]
fn lint_offers_where_handlers_are_and_output_only() {
    check("lint", &[OUTPUT, SOURCE, &["--manifest", "--src"]], &[]);
}

#[test]
fn explain_offers_where_handlers_are_and_output_only() {
    check("explain", &[OUTPUT, SOURCE, &["--manifest", "--src"]], &[]);
}

#[test]
fn schema_offers_where_handlers_are_only() {
    check("schema", &[SOURCE, &["--manifest", "--src"]], &[]);
}

#[test]
fn new_offers_where_handlers_are_and_handler_its_force() {
    check("new manifest", &[SOURCE, &["--manifest", "--src"]], &[]);
    check(
        "new handler",
        &[SOURCE, &["--manifest", "--src"]],
        &["--force"],
    );
}

#[test]
fn sources_offers_the_source_flags_the_project_and_its_output() {
    for command in [
        "sources fetch",
        "sources update",
        "sources list",
        "sources verify",
    ] {
        check(command, &[SOURCE, &["--manifest", "--output"]], &[]);
    }
}

#[test]
fn init_offers_force_only() {
    check("init", &[], &["--force"]);
}

#[test]
fn test_offers_where_tests_and_handlers_are_how_to_run_them_and_output() {
    check(
        "test",
        &[OUTPUT, SOURCE, &["--manifest", "--src"]],
        &[
            "--filter",
            "--list",
            "--bundled",
            "--junit",
            "--jobs",
            "--deny",
            "--timeout",
            "--max-operations",
        ],
    );
}
