//! Which environments exist, and whether `-e NAME` names one of them.
//!
//! An environment exists when it is `default`, or is named by some manifest's
//! `metadata.environments`, some value's `environmentOverrides[].environmentName`, or the
//! project file's `spec.environments`. When the project file lists environments, that list
//! is the whole set (besides `default`): a manifest or a value naming another one is an
//! input error at its `file:line`. A typo in `-e` (`prdo`) is an input error with a "did
//! you mean", never a run with default values.

use std::collections::BTreeSet;

use super::root::Project;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::manifest::Location;

/// The environment every run has.
pub const DEFAULT_ENV: &str = "default";

/// Checks `env` and every mentioned environment; returns the problems found.
///
/// `mentioned` holds every environment a manifest or a value names, with where.
pub fn check_environments(
    env: &str,
    project: &Project,
    mentioned: &[(String, Location)],
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let known: BTreeSet<&str> = match project.environments() {
        Some(listed) => {
            let names: BTreeSet<&str> = listed.iter().map(|e| e.name.as_str()).collect();
            for (name, location) in mentioned {
                if name != DEFAULT_ENV && !names.contains(name.as_str()) {
                    let hint = did_you_mean(name, names.iter().copied())
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    let file = project
                        .file
                        .as_ref()
                        .map(|f| f.source.name().to_string())
                        .unwrap_or_default();
                    errors.push(
                        Diagnostic::error(format!(
                            "environment `{name}` is not one of the project's environments{hint}"
                        ))
                        .at(location.clone().with_width(name.chars().count()))
                        .help(format!(
                            "the environments are {} (from `spec.environments` in {file}); add it there, or fix the name",
                            list(&names)
                        )),
                    );
                }
            }
            names
        }
        None => mentioned.iter().map(|(n, _)| n.as_str()).collect(),
    };
    if env != DEFAULT_ENV && !known.contains(env) {
        let hint = did_you_mean(env, known.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let help = if known.is_empty() {
            "no manifest, value or project file names an environment; only `default` exists"
                .to_string()
        } else {
            format!("the environments are `default`, {}", list(&known))
        };
        errors.push(Diagnostic::error(format!("-e: unknown environment `{env}`{hint}")).help(help));
    }
    errors
}

fn list(names: &BTreeSet<&str>) -> String {
    names
        .iter()
        .filter(|n| **n != DEFAULT_ENV)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
