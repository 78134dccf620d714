//! `ordo test [PATH...]`: the handler tests (DESIGN §12).
//!
//! The test files are found (the PATHs, else every `*.test.yaml` and `*.test.rhai`
//! (`crate::testing::script`) under the handler
//! directories a run would use; with `--bundled`, the tests embedded with the bundled
//! handlers, run against those alone) and checked, the handlers loaded as a run loads them
//! (the same engine, limits and load checks: a handler that fails them is an input
//! error), every case checked against its handler; only then do the cases run
//! (`crate::testing`). Exit 0 when every case passed, 1 when one failed, 3 for an
//! invalid test file or handler.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Config, OutputFormat};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Error;
use crate::handler::{Found, HandlerRegistry};
use crate::manifest::Limits;
use crate::script::ImportResolver;
use crate::testing::script::ScriptFile;
use crate::testing::{Results, Suite, TestFile};

pub(super) fn test(config: &Config) -> Result<(), Error> {
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut files: Vec<TestFile> = Vec::new();
    // `*.test.rhai` files: compiled once the handlers' import roots are known.
    let mut script_paths: Vec<PathBuf> = Vec::new();
    if config.test.bundled {
        // The bundled handlers' own tests, against the bundled handlers alone: no
        // directory is searched, so no project handler overrides the kind tested.
        for (file, text) in crate::handler::BUNDLED_TESTS {
            let source = crate::manifest::SourceFile::new(
                crate::handler::shown_name(file),
                PathBuf::from("."),
                (*text).to_string(),
            );
            files.extend(crate::testing::file::parse(&source, &mut errors));
        }
    } else {
        for path in &test_paths(config, &mut errors) {
            if path.extension().is_some_and(|e| e == "rhai") {
                script_paths.push(path.clone());
            } else {
                files.extend(crate::testing::file::load(path, &mut errors));
            }
        }
    }
    // The handlers: those of the run's directories, and those beside the test files.
    let mut dirs = if config.test.bundled {
        Vec::new()
    } else {
        let base = config.src.clone().unwrap_or_else(|| {
            let loaded = crate::manifest::load_except(
                &config.manifests,
                &config.values.files,
                &Limits::default(),
            );
            super::load::default_src(&loaded.files)
        });
        super::trees::handler_dirs(config, base)
    };
    for f in files.iter().filter(|_| !config.test.bundled) {
        let dir = f.source.dir().to_path_buf();
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for p in &script_paths {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    let mut handler_errors = Vec::new();
    let found = super::trees::discover(config, &dirs, &mut handler_errors);
    handler_errors.retain(|e| !e.is_warning());
    let roots: HashMap<_, _> = found.iter().map(Found::import_root).collect();
    let engine = std::sync::Arc::new(crate::stdlib::engine(
        &config.limits,
        ImportResolver::new(roots.clone()),
    ));
    let script_engine = crate::testing::script::engine(&config.limits, ImportResolver::new(roots));
    let registry = std::sync::Arc::new(HandlerRegistry::load(
        &engine,
        &found,
        &config.limits,
        &mut handler_errors,
    ));
    errors.extend(handler_errors.into_iter().map(|e| e.into_diagnostic()));
    let scripts: Vec<ScriptFile> = script_paths
        .iter()
        .filter_map(|p| crate::testing::script::load(p, &script_engine, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    if let Some(path) = &config.test.junit
        && let Err(e) = junit_target(path)
    {
        return Err(Error::Input(vec![*e]));
    }
    let filter = match &config.test.filter {
        Some(text) => Some(
            globset::Glob::new(text)
                .map_err(|e| {
                    Error::Input(vec![Diagnostic::error(format!("--filter `{text}`: {e}"))])
                })?
                .compile_matcher(),
        ),
        None => None,
    };
    let suite = Suite {
        engine: &engine,
        registry: &registry,
        limits: &config.limits,
        deny: config.policy.deny,
        cancel: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let prepared = crate::testing::suite::prepare(&suite, &files, filter.as_ref(), &mut errors);
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    let script_cases = crate::testing::script::select(&scripts, filter.as_ref());
    if let (Some(text), true) = (
        &config.test.filter,
        prepared.is_empty() && script_cases.is_empty(),
    ) {
        let names: Vec<&str> = files
            .iter()
            .flat_map(|f| f.cases.iter().map(|c| c.it.as_str()))
            .chain(
                scripts
                    .iter()
                    .flat_map(|f| f.tests.iter().map(|(n, _)| n.as_str())),
            )
            .collect();
        let hint = did_you_mean(text, names.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(Error::Input(vec![
            Diagnostic::error(format!("--filter `{text}` matches no case{hint}"))
                .help("`ordo test --list` lists the cases"),
        ]));
    }
    let mut out = std::io::stdout().lock();
    if config.test.list {
        let listed: Vec<(&str, u32, &str)> = prepared
            .iter()
            .filter_map(|p| {
                let f = files.get(p.file)?;
                let c = f.cases.get(p.case)?;
                Some((f.source.name(), c.mark.line, c.it.as_str()))
            })
            .chain(script_cases.iter().filter_map(|c| {
                let f = scripts.get(c.file)?;
                let (name, line) = f.tests.get(c.test)?;
                Some((f.source.name(), *line, name.as_str()))
            }))
            .collect();
        if config.output == OutputFormat::Human {
            for (file, _, it) in &listed {
                let _ = writeln!(out, "{file}: {it}");
            }
            let _ = writeln!(
                out,
                "{} {}",
                listed.len(),
                if listed.len() == 1 { "case" } else { "cases" }
            );
        } else {
            let cases: Vec<_> = listed
                .iter()
                .map(|(f, l, it)| serde_json::json!({"file": f, "line": l, "it": it}))
                .collect();
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({"command": "test", "ok": true, "cases": cases})
            );
        }
        return Ok(());
    }
    let started = std::time::Instant::now();
    // Ctrl-C stops the running cases as it stops a run's handlers; their directories are
    // removed, and what finished is reported.
    super::runs::install_interrupt(&suite.cancel, false);
    let mut cases = crate::testing::suite::run_all(&suite, &files, &prepared, config.jobs);
    let shared = std::sync::Arc::new(crate::testing::script::Shared {
        engine: std::sync::Arc::clone(&engine),
        registry: std::sync::Arc::clone(&registry),
        limits: config.limits,
        deny: config.policy.deny,
        cancel: std::sync::Arc::clone(&suite.cancel),
    });
    cases.extend(crate::testing::script::run_all(
        &shared,
        &script_engine,
        &scripts,
        &script_cases,
        config.jobs,
        &suite.cancel,
    ));
    let interrupted = suite.cancel.load(std::sync::atomic::Ordering::Relaxed);
    let results = Results {
        untested: crate::testing::suite::untested(&registry, &files, &prepared),
        filtered: config.test.filter.is_some(),
        interrupted: interrupted.then(|| prepared.len().saturating_sub(cases.len())),
        cases,
        duration: started.elapsed(),
    };
    if config.output == OutputFormat::Human {
        let _ = write!(
            out,
            "{}",
            crate::testing::output::human(&results, config.color_out)
        );
    } else {
        let _ = writeln!(out, "{}", crate::testing::output::json(&results));
    }
    if let Some(path) = &config.test.junit {
        let xml = crate::testing::output::junit(&results).map_err(Error::Internal)?;
        write_report(path, &xml).map_err(|e| {
            Error::Internal(format!(
                "cannot write the JUnit report {}: {e}",
                path.display()
            ))
        })?;
    }
    if interrupted {
        return Err(Error::Interrupted);
    }
    match results.failed() {
        0 => Ok(()),
        failed => Err(Error::RunFailed { failed }),
    }
}

/// The test files: each PATH (a file, or every `*.test.yaml` below a directory), else
/// every one below the handler directories a run would use and the manifest paths.
fn test_paths(config: &Config, errors: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let roots: Vec<PathBuf> = if let (true, Some(src)) = (config.test.paths.is_empty(), &config.src)
    {
        // `-s` (or the project's `spec.handlers`): the handler directories a run uses.
        src.clone()
    } else if config.test.paths.is_empty() {
        // Else a run finds its handlers below the manifest paths.
        let mut roots = Vec::new();
        for m in &config.manifests {
            if m.is_dir() && !roots.contains(m) {
                roots.push(m.clone());
            } else if let Some(dir) = m.parent().filter(|_| m.is_file()) {
                let dir = if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir.to_path_buf()
                };
                if !roots.contains(&dir) {
                    roots.push(dir);
                }
            }
        }
        roots
    } else {
        config.test.paths.clone()
    };
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let wanted = |p: &std::path::Path| {
        crate::paths::is_test_file(p)
            && p.extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "rhai")
    };
    for root in &roots {
        let found: Vec<PathBuf> = if root.is_dir() {
            let walk = crate::input::walk(root, wanted, |e| {
                !e.file_name().to_string_lossy().starts_with('.')
            });
            for (at, reason) in walk.problems {
                errors.push(Diagnostic::error(format!("{}: {reason}", at.display())));
            }
            walk.files
        } else if root.exists() {
            if !wanted(root) {
                errors.push(Diagnostic::error(format!(
                    "{}: not a test file: `ordo test` reads `*.test.yaml` and `*.test.rhai` files",
                    root.display()
                )));
                continue;
            }
            vec![root.clone()]
        } else {
            errors.push(Diagnostic::error(format!(
                "{}: no such file or directory",
                root.display()
            )));
            continue;
        };
        for f in found {
            let key = f.canonicalize().unwrap_or_else(|_| f.clone());
            if seen.insert(key) {
                out.push(f);
            }
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(
            Diagnostic::error("no test files found (`*.test.yaml`, `*.test.rhai`)")
                .help("write one beside the handler it tests (`greeting.test.yaml`), or name it: `ordo test PATH`"),
        );
    }
    out
}

/// Whether `--junit FILE` may be written: a new file, or a JUnit report (a previous run's).
/// Anything else there (a test file, a handler, a manifest, any other file, a directory)
/// is an input error before any case runs: the report never replaces what it reports on.
fn junit_target(path: &std::path::Path) -> Result<(), Box<Diagnostic>> {
    let refuse = |why: &str| {
        let d = Diagnostic::error(format!(
            "--junit {}: {why}; it is not overwritten",
            crate::report::printable(&path.display().to_string())
        ))
        .help("name a new file, or a JUnit report of an earlier `ordo test --junit`");
        Box::new(d)
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse(&format!("cannot be read ({e})"))),
    };
    if !meta.is_file() {
        return Err(refuse("is not a regular file"));
    }
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| {
        use std::io::Read;
        f.take(4096).read_to_end(&mut head)
    });
    if let Err(e) = read {
        return Err(refuse(&format!("cannot be read ({e})")));
    }
    let head = String::from_utf8_lossy(&head);
    let report = head.trim_start().starts_with("<?xml") && head.contains("<testsuites");
    if report {
        Ok(())
    } else {
        Err(refuse("exists and is not a JUnit report"))
    }
}

/// The report, whole or not at all: written to a temporary file beside `path` with mode
/// 0644, then renamed over it, so a symlink at `path` is replaced, never written through,
/// and a reader never sees half a report.
fn write_report(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ordo-junit-")
        .tempfile_in(parent)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
