//! The trees of sources a run loads (DESIGN.md §15): the project's `spec.sources`, the
//! checks of it that need stages above the project file (permission names), and the
//! handler directories and origins the trees add.

use std::path::PathBuf;

use crate::cli::Config;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Error;
use crate::handler::{Found, assign_origins};
use crate::project::ProjectSource;
use crate::stdlib::{Capability, Permissions};

/// `maxPermissions` of an entry as a set; an unknown name is an error at its place, with a
/// "did you mean".
pub(super) fn max_permissions(
    source: &ProjectSource,
    errors: &mut Vec<Diagnostic>,
) -> Option<Permissions> {
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

/// Checks the entries of `spec.sources` beyond their shape. This build cannot fetch
/// sources yet: a well-formed entry is refused at its place rather than the run going
/// ahead without the manifests and handlers it names.
pub(super) fn check(sources: &[ProjectSource]) -> Result<(), Error> {
    let mut errors = Vec::new();
    for s in sources {
        max_permissions(s, &mut errors);
    }
    if errors.is_empty() {
        errors = sources
            .iter()
            .map(|s| {
                Diagnostic::error(format!(
                    "source `{}`: fetching sources is not available in this build of ordo",
                    s.name
                ))
                .at(s.location.clone())
                .help("remove `spec.sources` from the project file, or use a local copy of the tree with `-m`/`-s`")
            })
            .collect();
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Input(errors))
    }
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
