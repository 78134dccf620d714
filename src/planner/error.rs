//! Errors of the planning stage: references between manifests and cycles.

use crate::diagnostic::Diagnostic;
use crate::manifest::Location;

#[derive(Debug, thiserror::Error)]
pub enum PlanErrorKind {
    #[error("manifest `{from}` depends on unknown manifest `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownDependency {
        from: String,
        name: String,
        suggestion: Option<String>,
    },
    #[error("manifest `{from}` depends on `{name}`, which is not in environment `{env}`")]
    OutsideEnvironment {
        from: String,
        name: String,
        env: String,
        environments: Vec<String>,
    },
    #[error("manifest `{name}` depends on itself")]
    SelfDependency { name: String },
    #[error("dependency cycle{}: {}", if *delete { " in the delete order" } else { "" }, path.join(" -> "))]
    Cycle {
        path: Vec<String>,
        edges: Vec<Location>,
        delete: bool,
    },
}

#[derive(Debug)]
pub struct PlanError {
    pub location: Location,
    pub kind: PlanErrorKind,
}

impl From<PlanError> for Diagnostic {
    fn from(e: PlanError) -> Self {
        use PlanErrorKind as K;
        let mut d = Diagnostic::error(e.kind.to_string()).at(e.location);
        match e.kind {
            K::OutsideEnvironment {
                environments, env, ..
            } => {
                d = d
                    .note(format!("it is limited to: {}", environments.join(", ")))
                    .help(format!(
                        "add `{env}` to its `metadata.environments`, or limit this manifest too"
                    ));
            }
            K::Cycle {
                path,
                edges,
                delete,
            } => {
                for (edge, pair) in edges.into_iter().zip(path.windows(2)).skip(1) {
                    if let [a, b] = pair {
                        d = d.related(edge, format!("`{a}` depends on `{b}`"));
                    }
                }
                if delete {
                    d = d.note("during delete a manifest goes before what it depends on, and after what it lists under `dependencies.delete`");
                }
            }
            K::UnknownDependency { .. } | K::SelfDependency { .. } => {}
        }
        d
    }
}
