//! The results of `ordo test`, rendered: a line per case and a diff per failed expectation
//! for humans, one JSON document, a JUnit XML report for CI. Rendering only: the caller
//! prints.
//!
//! Everything shown passes through [`shown`]: secrets (`secret: true` values,
//! `vars::set_secret`) are `***` in every diff, log line, error and report, as in a run's
//! output, and control characters a handler wrote are shown as their pictures, never sent
//! raw to the terminal or into the XML.

use std::fmt::Write as _;

use serde_json::json;

use super::case::CaseResult;

/// What a whole `ordo test` came to.
#[derive(Debug)]
pub struct Results {
    pub cases: Vec<CaseResult>,
    /// Per handler, functions no case called.
    pub untested: Vec<(String, Vec<String>)>,
    /// `--filter` chose the cases: `untested` counts only those.
    pub filtered: bool,
    /// Ctrl-C stopped the run: the cases selected but never started.
    pub interrupted: Option<usize>,
    pub duration: std::time::Duration,
}

impl Results {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.failures.is_empty()).count()
    }

    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

/// The log lines of a failed case the human output shows (its last ones).
const SHOWN_LOG_LINES: usize = 40;

/// `text` as the report shows it: secrets masked, control characters visible
/// ([`crate::report::printable`]).
pub fn shown(text: &str) -> String {
    let masked = crate::events::secrets::mask(text);
    crate::report::printable(&masked).into_owned()
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The human report: a line per case, then each failure with its diffs, the untested
/// functions, and `test result: N passed, N failed`.
pub fn human(results: &Results, color: bool) -> String {
    let mut out = String::new();
    let n = results.cases.len() + results.interrupted.unwrap_or(0);
    let _ = writeln!(out, "running {n} {}", if n == 1 { "case" } else { "cases" });
    for c in &results.cases {
        let verdict = if c.failures.is_empty() {
            paint(color, "32", "ok")
        } else {
            paint(color, "31", "FAILED")
        };
        let _ = writeln!(
            out,
            "test {}: {} ... {verdict}",
            shown(&c.file),
            shown(&c.it)
        );
    }
    let failed: Vec<&CaseResult> = results
        .cases
        .iter()
        .filter(|c| !c.failures.is_empty())
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nfailures:");
        for c in &failed {
            let _ = writeln!(
                out,
                "\n---- {}:{}: {} ----",
                shown(&c.file),
                c.line,
                shown(&c.it)
            );
            if !c.logs.is_empty() {
                let _ = writeln!(out, "handler log:");
                // The last lines, where a failure usually is; `-o json` has them all.
                let skip = c.logs.len().saturating_sub(SHOWN_LOG_LINES);
                if skip > 0 {
                    let _ = writeln!(out, "    … {skip} earlier lines (all in `-o json`)");
                }
                for line in c.logs.iter().skip(skip).flat_map(|l| l.lines()) {
                    let _ = writeln!(out, "    {}", shown(line));
                }
            }
            for f in &c.failures {
                let _ = writeln!(out, "{}: {}", shown(&f.expectation), shown(&f.message));
                for line in f.diff.iter().flat_map(|l| l.lines()) {
                    let line = shown(line);
                    let painted = match line.chars().next() {
                        Some('-') => paint(color, "31", &line),
                        Some('+') => paint(color, "32", &line),
                        _ => line,
                    };
                    let _ = writeln!(out, "    {painted}");
                }
            }
        }
    }
    if !results.untested.is_empty() {
        let _ = writeln!(out);
        for (handler, functions) in &results.untested {
            let _ = writeln!(
                out,
                "untested: {}: {} (no {} calls {})",
                shown(handler),
                functions.join(", "),
                if results.filtered {
                    "case that --filter selected"
                } else {
                    "case"
                },
                if functions.len() == 1 { "it" } else { "them" }
            );
        }
    }
    let _ = write!(
        out,
        "\ntest result: {} passed, {} failed",
        results.passed(),
        results.failed()
    );
    match results.interrupted {
        Some(n) => {
            let _ = writeln!(out, ", {n} not run (interrupted)");
        }
        None => {
            let _ = writeln!(out);
        }
    }
    out
}

/// `-o json`: one document.
pub fn json(results: &Results) -> serde_json::Value {
    let cases: Vec<serde_json::Value> = results
        .cases
        .iter()
        .map(|c| {
            json!({
                "file": c.file,
                "line": c.line,
                "it": c.it,
                "passed": c.failures.is_empty(),
                "status": c.status,
                "duration_ms": u64::try_from(c.duration.as_millis()).unwrap_or(u64::MAX),
                "failures": c.failures,
            })
        })
        .collect();
    let untested: Vec<serde_json::Value> = results
        .untested
        .iter()
        .map(|(h, f)| json!({"handler": h, "functions": f}))
        .collect();
    let mut doc = json!({
        "command": "test",
        "ok": results.failed() == 0,
        "passed": results.passed(),
        "failed": results.failed(),
        "cases": cases,
        "untested": untested,
        "filtered": results.filtered,
        "interrupted": results.interrupted.is_some(),
        "not_run": results.interrupted.unwrap_or(0),
    });
    crate::events::secrets::mask_json(&mut doc);
    doc
}

/// `--junit FILE`: a JUnit XML report, one test suite per test file, one test case per
/// case, each failed expectation in its `<failure>`.
pub fn junit(results: &Results) -> Result<String, String> {
    let mut report = quick_junit::Report::new("ordo test");
    let mut suites: Vec<quick_junit::TestSuite> = Vec::new();
    for c in &results.cases {
        let index = match suites
            .iter()
            .position(|s| s.name.as_str() == shown(&c.file))
        {
            Some(i) => i,
            None => {
                suites.push(quick_junit::TestSuite::new(shown(&c.file)));
                suites.len() - 1
            }
        };
        let status = if c.failures.is_empty() {
            quick_junit::TestCaseStatus::success()
        } else {
            let mut s =
                quick_junit::TestCaseStatus::non_success(quick_junit::NonSuccessKind::Failure);
            let first = c
                .failures
                .first()
                .map(|f| shown(&format!("{}: {}", f.expectation, f.message)))
                .unwrap_or_default();
            s.set_message(first);
            s.set_type("expectation");
            let mut text = String::new();
            for f in &c.failures {
                let _ = writeln!(text, "{}: {}", f.expectation, f.message);
                for line in &f.diff {
                    let _ = writeln!(text, "    {line}");
                }
            }
            s.set_description(shown(&text));
            s
        };
        let mut case = quick_junit::TestCase::new(shown(&c.it), status);
        case.set_classname(shown(&c.file));
        case.set_time(c.duration);
        if let Some(suite) = suites.get_mut(index) {
            suite.add_test_case(case);
        }
    }
    report.add_test_suites(suites);
    report.set_time(results.duration);
    report.to_string().map_err(|e| e.to_string())
}
