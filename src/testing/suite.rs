//! The cases of every test file: checked against the loaded handlers before any runs
//! ([`prepare`]), then run on up to `-j` threads ([`run_all`]), and which handler
//! functions no case exercised ([`untested`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::case::{CaseResult, Prepared, Suite};
use super::file::{CaseAction, CaseManifest, TestFile, builtin_actions};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::handler::HandlerRegistry;
use crate::manifest::{Location, Manifest, SourceFile, check_document};

/// Every case of `files` (those `filter` keeps), its manifest built and its handler
/// resolved and compiled; each problem is an input error of the test file.
pub fn prepare(
    suite: &Suite<'_>,
    files: &[TestFile],
    filter: Option<&globset::GlobMatcher>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Prepared> {
    let mut out = Vec::new();
    for (fi, file) in files.iter().enumerate() {
        for (ci, case) in file.cases.iter().enumerate() {
            if let Some(f) = filter
                && !f.is_match(&case.it)
                && !f.is_match(format!("{}: {}", file.source.name(), case.it))
            {
                continue;
            }
            let Some(manifest) = manifest(file, &case.manifest, errors) else {
                continue;
            };
            let handler = match suite.registry.resolve(&manifest.kind, &manifest.version) {
                Ok(h) => h,
                Err(e) => {
                    let mark = if matches!(e, crate::handler::ResolveErrorKind::BadVersion(_)) {
                        manifest.version_mark
                    } else {
                        manifest.kind_mark
                    };
                    errors.push(e.into_diagnostic(manifest.at(mark)));
                    continue;
                }
            };
            suite.registry.prepare(suite.engine, suite.limits, handler);
            let h = suite.registry.get(handler);
            if let Some((want, mark)) = &file.handler
                && !std::path::Path::new(h.name().strip_prefix("bundled:").unwrap_or(h.name()))
                    .ends_with(want.as_str())
            {
                errors.push(
                    Diagnostic::error(format!(
                        "case `{}`: its manifest ({} {}) is served by {}, not by the `spec.handler` `{want}` of this test file",
                        case.it, manifest.kind, manifest.version, h.name()
                    ))
                    .at(Location::new(&file.source, *mark)),
                );
                continue;
            }
            let compiled = match h.compiled() {
                Ok(c) => c,
                Err(e) => {
                    errors.push(
                        Diagnostic::error(format!("handler {} does not load: {e}", h.name()))
                            .at(Location::new(&file.source, case.mark)),
                    );
                    continue;
                }
            };
            // An action's parameters are typed and checked as `ordo run --param` does.
            let mut params = None;
            if let CaseAction::Custom(name) = &case.action
                && let Some(decl) = h.actions.iter().find(|a| &a.name == name)
            {
                let given: Vec<(String, String)> = match &case.params {
                    Some(node) => match &node.value {
                        crate::manifest::Value::Map(entries) => entries
                            .iter()
                            .map(|e| {
                                let text = match &e.value.value {
                                    crate::manifest::Value::String(s) => s.clone(),
                                    _ => super::file::node_json(&e.value).to_string(),
                                };
                                (e.key.clone(), text)
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                };
                match crate::handler::actions::check_params(decl, &given) {
                    Ok(map) => params = Some(map),
                    Err(why) => {
                        let mark = case.params.as_ref().map_or(case.action_mark, |p| p.mark);
                        errors.push(
                            Diagnostic::error(format!(
                                "case `{}`: {}",
                                case.it,
                                why.replace("--param ", "`params`: ")
                            ))
                            .at(Location::new(&file.source, mark)),
                        );
                        continue;
                    }
                }
            }
            let missing = match &case.action {
                CaseAction::Verify if !compiled.functions.verify => Some("`fn verify(m)`"),
                CaseAction::Rollback if !compiled.functions.rollback => {
                    Some("`fn rollback(m, prev)`")
                }
                CaseAction::Custom(name) if !h.actions.iter().any(|a| &a.name == name) => {
                    let known: Vec<&str> = h
                        .actions
                        .iter()
                        .map(|a| a.name.as_str())
                        .chain(builtin_actions().iter().copied())
                        .collect();
                    let hint = did_you_mean(name, known.iter().copied())
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    errors.push(
                        Diagnostic::error(format!(
                            "case `{}`: unknown action `{name}`{hint}",
                            case.it
                        ))
                        .at(Location::new(&file.source, case.action_mark))
                        .help(format!(
                            "actions: {} (built in), and those {} declares with `actions(#{{...}})`",
                            builtin_actions().join(", "),
                            h.name()
                        )),
                    );
                    continue;
                }
                _ => None,
            };
            if let Some(missing) = missing {
                errors.push(
                    Diagnostic::error(format!(
                        "case `{}`: `action: {}`, but handler {} has no {missing}",
                        case.it,
                        case.action.name(),
                        h.name()
                    ))
                    .at(Location::new(&file.source, case.action_mark)),
                );
                continue;
            }
            out.push(Prepared {
                file: fi,
                case: ci,
                manifest,
                handler,
                params,
            });
        }
    }
    out
}

/// The manifest of a case, checked as a manifest document is.
fn manifest(
    file: &TestFile,
    source: &CaseManifest,
    errors: &mut Vec<Diagnostic>,
) -> Option<Manifest> {
    match source {
        CaseManifest::Inline(node) => {
            let (m, problems) = check_document(&file.source, node.mark, node.clone(), 0);
            errors.extend(problems.into_iter().map(Diagnostic::from));
            m.filter(|m| on_the_controller(file, m, errors))
        }
        CaseManifest::File { path, name, mark } => {
            let path = match confined(file.source.dir(), path) {
                Ok(p) => p,
                Err(why) => {
                    errors.push(
                        Diagnostic::error(format!("`manifest.file` {}: {why}", path.display()))
                            .at(Location::new(&file.source, *mark))
                            .help("name a `*.yaml` manifest file below the test file's directory"),
                    );
                    return None;
                }
            };
            let loaded = crate::manifest::load(
                std::slice::from_ref(&path),
                &crate::manifest::Limits::default(),
            );
            if !loaded.errors.is_empty() {
                errors.extend(loaded.errors.into_iter().map(Diagnostic::from));
                return None;
            }
            let found = loaded.manifests.iter().find(|m| &m.name == name).cloned();
            if found.is_none() {
                let hint = did_you_mean(name, loaded.manifests.iter().map(|m| m.name.as_str()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                errors.push(
                    Diagnostic::error(format!(
                        "`manifest`: {} has no manifest named `{name}`{hint}",
                        path.display()
                    ))
                    .at(Location::new(&file.source, *mark)),
                );
            }
            found
                .filter(|m| on_the_controller(file, m, errors))
                .map(|mut m| {
                    m.index = 0;
                    // Its marks point into its own file; `m.dir` becomes the case's later.
                    m.file = SourceFile::new(m.file.name(), m.file.dir(), m.file.text());
                    m
                })
        }
    }
}

/// A case runs on the controller, in its directory: a manifest naming `metadata.hosts` is
/// an input error at the hosts (a run would connect to them; a case never does).
fn on_the_controller(file: &TestFile, m: &Manifest, errors: &mut Vec<Diagnostic>) -> bool {
    let Some(first) = m.metadata.hosts.as_ref().and_then(|h| h.first()) else {
        return true;
    };
    let at = if m.file.name() == file.source.name() {
        Location::new(&file.source, first.mark)
    } else {
        Location::new(&m.file, first.mark)
    };
    errors.push(
        Diagnostic::error(
            "the case's manifest names `metadata.hosts`: `ordo test` runs a case on the controller, never on a host".to_string(),
        )
        .at(at)
        .help("remove `metadata.hosts` from the case's manifest; the handler's calls are mocked either way"),
    );
    false
}

/// `manifest.file` (already joined to the test file's directory `dir`) if it names a
/// `*.yaml`/`*.yml` regular file inside `dir` once every symlink is followed: a test file
/// reads nothing else (it may come from a pull request, and a parse error quotes the file).
fn confined(dir: &std::path::Path, path: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let root = dir
        .canonicalize()
        .map_err(|e| format!("the test file's directory: {e}"))?;
    if !path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
        return Err("not a `*.yaml` or `*.yml` file".into());
    }
    let real = path.canonicalize().map_err(|e| e.to_string())?;
    if !real.starts_with(&root) {
        return Err("leads out of the test file's directory".into());
    }
    let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    Ok(path.to_path_buf())
}

/// Runs every prepared case, `jobs` at a time; the results in the order of the cases.
pub fn run_all(
    suite: &Suite<'_>,
    files: &[TestFile],
    prepared: &[Prepared],
    jobs: usize,
) -> Vec<CaseResult> {
    in_parallel(prepared.len(), jobs, &suite.cancel, |i| {
        let p = prepared.get(i)?;
        let file = files.get(p.file)?;
        let case = file.cases.get(p.case)?;
        Some(suite.run(p, file, case))
    })
}

/// `run(i)` for every `i` below `count`, on `jobs` threads (16 MiB stacks, as the run's
/// workers have), in the order of `i`; none starts once `cancel` is set.
pub(super) fn in_parallel(
    count: usize,
    jobs: usize,
    cancel: &std::sync::atomic::AtomicBool,
    run: impl Fn(usize) -> Option<CaseResult> + Sync,
) -> Vec<CaseResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new((0..count).map(|_| None).collect());
    let workers = jobs.clamp(1, count.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (next, results, run) = (&next, &results, &run);
            let spawned = std::thread::Builder::new()
                .stack_size(16 << 20)
                .spawn_scoped(scope, move || {
                    while !cancel.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= count {
                            return;
                        }
                        let r = run(i);
                        if let (Some(r), Some(slot)) = (
                            r,
                            results
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .get_mut(i),
                        ) {
                            *slot = Some(r);
                        }
                    }
                });
            if spawned.is_err() {
                break;
            }
        }
    });
    results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

/// Per handler that some case tests, the functions it defines that no case called
/// (`apply` and `delete` also call `check`).
pub fn untested(
    registry: &HandlerRegistry,
    files: &[TestFile],
    prepared: &[Prepared],
) -> Vec<(String, Vec<String>)> {
    let mut called: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for p in prepared {
        let Some(case) = files.get(p.file).and_then(|f| f.cases.get(p.case)) else {
            continue;
        };
        let list = called.entry(p.handler).or_default();
        match &case.action {
            CaseAction::Apply => list.extend(["check".into(), "apply".into()]),
            CaseAction::Delete => list.extend(["check".into(), "delete".into()]),
            other => list.push(other.name().to_string()),
        }
    }
    let mut out = Vec::new();
    for (h, called) in called {
        let handler = registry.get(h);
        let Ok(c) = handler.compiled() else {
            continue;
        };
        let f = c.functions;
        let defined = [
            ("check", f.check),
            ("apply", f.apply),
            ("delete", f.delete),
            ("verify", f.verify),
            ("rollback", f.rollback),
        ];
        let mut missing: Vec<String> = defined
            .iter()
            .filter(|(name, has)| *has && !called.iter().any(|c| c == name))
            .map(|(name, _)| (*name).to_string())
            .collect();
        missing.extend(
            handler
                .actions
                .iter()
                .filter(|a| !called.contains(&a.name))
                .map(|a| a.name.clone()),
        );
        if !missing.is_empty() {
            out.push((handler.name().to_string(), missing));
        }
    }
    out
}
