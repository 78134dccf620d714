//! The trees of sources a run loads (DESIGN.md §15): the project's `spec.sources`, and
//! addresses given to `-m`, `-s`, `-f` and `-i` in place of paths.
//!
//! Once the project is located, every source the run uses is resolved through the
//! project's `ordo.lock` ([`Sources`]: the lock first, then the cache, then the network)
//! into a verified read-only tree, and each address is replaced by its tree's path, so the
//! loading that follows sees only local paths. The handler directories of sources are
//! recorded with their name, pin and `maxPermissions` ([`SourceOrigin`]), so each handler
//! found below them knows where it came from. The lock is written once the inputs load
//! ([`save_lock`]): a run that fails before anything could run leaves it as it was. Every failure is an input error (exit 3) naming the source, at the project
//! file's line for a `spec.sources` entry. The checks of `spec.sources` that need stages
//! above the project file (permission names) are here too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::Config;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Error;
use crate::handler::{Found, SourceOrigin, assign_origins};
use crate::manifest::Location;
use crate::project::{Project, ProjectSource};
use crate::sources::{Address, LOCK_FILE, SourceError, Sources, Tree};
use crate::stdlib::{Capability, Permissions};

/// What the project's sources add to a run's defaults.
#[derive(Debug, Default)]
pub(super) struct Added {
    /// Manifest directories of `spec.sources` (used when `-m` is not given).
    pub manifests: Vec<PathBuf>,
}

/// `maxPermissions` of an entry as a set; an unknown name is an error at its place, with a
/// "did you mean".
fn max_permissions(source: &ProjectSource, errors: &mut Vec<Diagnostic>) -> Option<Permissions> {
    let written = source.max_permissions.as_ref()?;
    let mut set = Permissions::default();
    for (name, at) in written {
        match Capability::parse(name) {
            Some(c) => set.insert(c),
            None => {
                let names = Capability::ALL.map(Capability::as_str);
                let hint = did_you_mean(name, names)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                errors.push(
                    Diagnostic::error(format!(
                        "source `{}`: unknown permission `{name}` in `maxPermissions`{hint}",
                        source.name
                    ))
                    .at(at.clone())
                    .help(format!("permissions are: {}", names.join(", "))),
                );
            }
        }
    }
    Some(set)
}

/// A source error as a diagnostic (at `at`, the project file's line, when there is one).
fn diagnostic(e: &SourceError, at: Option<&Location>) -> Diagnostic {
    Diagnostic::error(e.to_string())
        .at_opt(at.cloned())
        .help_opt(e.help.clone())
}

/// Whether a path given on the command line is written as a source address.
pub(super) fn is_address(path: &Path) -> bool {
    path.to_str().is_some_and(Address::is_remote)
}

/// Resolves the sources of this run and puts their trees in `config` (see the module doc):
/// `-m`/`-s`/`-f`/`-i` addresses are replaced by their trees; the handler trees of
/// `spec.sources` go to `config.extra_src` (unless `-s` was given); their manifest trees
/// are returned, for the project defaults (used unless `-m` was given).
pub(super) fn resolve(config: &mut Config, project: &Project) -> Result<Added, Error> {
    // From scratch each time (`ordo watch` locates the project again every cycle).
    config.extra_src.clear();
    config.handler_sources.clear();
    crate::handler::set_source_trees(Vec::new());
    config.source_notes.clear();
    let entries: &[ProjectSource] = project.file.as_ref().map_or(&[], |f| f.sources.as_slice());
    let mut errors = Vec::new();
    let caps: Vec<Option<Permissions>> = entries
        .iter()
        .map(|s| max_permissions(s, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    // `-m` and `-s` given replace the project's defaults, its sources' trees with them.
    let want_manifests = config.manifests.is_empty();
    let want_handlers = config.src.is_none();
    let used: Vec<(&ProjectSource, Option<Permissions>)> = entries
        .iter()
        .zip(caps)
        .filter(|(s, _)| {
            (want_manifests && s.manifest_dir().is_some())
                || (want_handlers && s.handler_dir().is_some())
        })
        .collect();
    let given = config
        .manifests
        .iter()
        .chain(config.src.iter().flatten())
        .chain(&config.values.files)
        .chain(&config.inventories)
        .any(|p| is_address(p));
    if used.is_empty() && !given {
        return Ok(Added::default());
    }
    let mut sources = Sources::open(
        project.root.join(LOCK_FILE),
        None,
        config.source_policy.clone(),
    )
    .map_err(|e| Error::Input(vec![diagnostic(&e, None)]))?;
    let mut added = Added::default();
    let mut notes = Vec::new();
    // Each tree's root and its source's name: files in it are shown as `NAME:path`.
    let mut roots: Vec<(PathBuf, String)> = Vec::new();
    for (entry, cap) in used {
        let tree = Address::parse(&entry.url)
            .map_err(|e| e.named(&entry.name, &entry.url))
            .and_then(|address| {
                let tree = sources.materialize(&entry.name, &address)?;
                Ok((address, tree))
            });
        let (address, tree) = match tree {
            Ok(t) => t,
            Err(e) => {
                errors.push(diagnostic(&e, Some(&entry.url_location)));
                continue;
            }
        };
        notes.extend(
            tree.note
                .iter()
                .map(|n| format!("source `{}`: {n}", entry.name)),
        );
        roots.push((tree.root.clone(), entry.name.clone()));
        let inside = |sub: &Path, role: &str, errors: &mut Vec<Diagnostic>| {
            let dir = if sub == Path::new(".") {
                tree.root.clone()
            } else {
                tree.root.join(sub)
            };
            if dir.is_dir() {
                Some(dir)
            } else {
                errors.push(
                    Diagnostic::error(format!(
                        "source `{}`: its tree (at {}) has no directory `{}` for {role}",
                        entry.name,
                        tree.pin.short(),
                        sub.display()
                    ))
                    .at(entry.location.clone())
                    .help("sub-paths are relative to the tree the `url` names (after its `//`)"),
                );
                None
            }
        };
        if want_manifests
            && let Some(sub) = entry.manifest_dir()
            && let Some(dir) = inside(sub, "manifests", &mut errors)
        {
            added.manifests.push(dir);
        }
        if want_handlers
            && let Some(sub) = entry.handler_dir()
            && let Some(dir) = inside(sub, "handlers", &mut errors)
        {
            config
                .handler_sources
                .push(origin(&entry.name, &address, &tree, cap, &dir));
            config.extra_src.push(dir);
        }
    }
    // Addresses on the command line: each source named by its own text.
    let mut given =
        |paths: &mut Vec<PathBuf>, handlers: bool, config_sources: &mut Vec<Arc<SourceOrigin>>| {
            for path in paths.iter_mut() {
                let Some(text) = path.to_str().filter(|t| Address::is_remote(t)) else {
                    continue;
                };
                let result = Address::parse(text).and_then(|address| {
                    let name = address.to_string();
                    let tree = sources.materialize(&name, &address)?;
                    Ok((name, address, tree))
                });
                match result {
                    Ok((name, address, tree)) => {
                        notes.extend(tree.note.iter().map(|n| format!("source `{name}`: {n}")));
                        roots.push((tree.root.clone(), name.clone()));
                        if handlers || tree.root.is_dir() {
                            let dir = if tree.root.is_dir() {
                                tree.root.clone()
                            } else {
                                tree.root
                                    .parent()
                                    .map_or_else(|| tree.root.clone(), Path::to_path_buf)
                            };
                            config_sources.push(origin(&name, &address, &tree, None, &dir));
                        }
                        *path = tree.root;
                    }
                    Err(e) => errors.push(diagnostic(&e, None)),
                }
            }
        };
    let mut origins = std::mem::take(&mut config.handler_sources);
    given(&mut config.manifests, false, &mut origins);
    if let Some(src) = config.src.as_mut() {
        given(src, true, &mut origins);
    }
    let mut unused = Vec::new();
    given(&mut config.values.files, false, &mut unused);
    given(&mut config.inventories, false, &mut unused);
    config.handler_sources = origins;
    crate::handler::set_source_trees(roots);
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    *config
        .pending_lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sources);
    config.source_notes.clone_from(&notes);
    let notes: Vec<Diagnostic> = notes.into_iter().map(Diagnostic::warning).collect();
    super::warn(config, &notes);
    Ok(added)
}

/// Writes the pins of the sources this run resolved to `ordo.lock` (see [`resolve`]):
/// called once the inputs loaded, or once the project is located by commands that load
/// nothing more.
pub(super) fn save_lock(config: &Config) -> Result<(), Error> {
    let pending = config
        .pending_lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    match pending {
        Some(mut sources) => sources
            .save()
            .map_err(|e| Error::Input(vec![diagnostic(&e, None)])),
        None => Ok(()),
    }
}

/// Where handlers below `dir` (a directory of `tree`) come from.
fn origin(
    name: &str,
    address: &Address,
    tree: &Tree,
    max_permissions: Option<Permissions>,
    dir: &Path,
) -> Arc<SourceOrigin> {
    Arc::new(SourceOrigin {
        name: name.to_string(),
        url: address.to_string(),
        pin: tree.pin.to_string(),
        max_permissions,
        root: crate::paths::canonical(dir),
    })
}

/// The handler directories of a run: `base` (`-s`, the project's, or beside the manifests)
/// and the trees of the project's sources.
pub(super) fn handler_dirs(config: &Config, mut base: Vec<PathBuf>) -> Vec<PathBuf> {
    for dir in &config.extra_src {
        if !base.contains(dir) {
            base.push(dir.clone());
        }
    }
    base
}

/// Finds the handlers below `dirs`, each marked with the source it came from.
pub(super) fn discover(
    config: &Config,
    dirs: &[PathBuf],
    errors: &mut Vec<crate::handler::HandlerError>,
) -> Vec<Found> {
    let mut found = crate::handler::discover(dirs, errors);
    assign_origins(&mut found, &config.handler_sources);
    found
}

/// Handler directories, and where each came from.
pub(super) type SourceHandlers = (Vec<PathBuf>, Vec<Arc<SourceOrigin>>);

/// The handler trees of the project's `spec.sources`, resolved as a run resolves them
/// (the lock, then the cache, then the network; the lock written), with where each came
/// from: for `schema` and `new`, which see the handlers a run would.
pub(super) fn project_handlers(
    project: &Project,
    policy: crate::sources::Policy,
) -> Result<SourceHandlers, Vec<Diagnostic>> {
    let entries: &[ProjectSource] = project.file.as_ref().map_or(&[], |f| f.sources.as_slice());
    let mut errors = Vec::new();
    let used: Vec<(&ProjectSource, Option<Permissions>)> = entries
        .iter()
        .map(|s| (s, max_permissions(s, &mut errors)))
        .filter(|(s, _)| s.handler_dir().is_some())
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    if used.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut sources = Sources::open(project.root.join(LOCK_FILE), None, policy)
        .map_err(|e| vec![diagnostic(&e, None)])?;
    let (mut dirs, mut origins, mut roots) = (Vec::new(), Vec::new(), Vec::new());
    for (entry, cap) in used {
        let resolved = Address::parse(&entry.url)
            .map_err(|e| e.named(&entry.name, &entry.url))
            .and_then(|address| {
                let tree = sources.materialize(&entry.name, &address)?;
                Ok((address, tree))
            });
        let (address, tree) = match resolved {
            Ok(t) => t,
            Err(e) => {
                errors.push(diagnostic(&e, Some(&entry.url_location)));
                continue;
            }
        };
        let Some(sub) = entry.handler_dir() else {
            continue;
        };
        let dir = if sub == Path::new(".") {
            tree.root.clone()
        } else {
            tree.root.join(sub)
        };
        if !dir.is_dir() {
            errors.push(
                Diagnostic::error(format!(
                    "source `{}`: its tree (at {}) has no directory `{}` for handlers",
                    entry.name,
                    tree.pin.short(),
                    sub.display()
                ))
                .at(entry.location.clone()),
            );
            continue;
        }
        origins.push(origin(&entry.name, &address, &tree, cap, &dir));
        roots.push((tree.root.clone(), entry.name.clone()));
        dirs.push(dir);
    }
    crate::handler::set_source_trees(roots);
    if !errors.is_empty() {
        return Err(errors);
    }
    sources.save().map_err(|e| vec![diagnostic(&e, None)])?;
    Ok((dirs, origins))
}
