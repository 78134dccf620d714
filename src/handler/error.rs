//! Errors of the handler stage: loading scripts and resolving manifests to handlers.

use super::version::VersionErrorKind;
use crate::diagnostic::Diagnostic;
use crate::manifest::Location;
use crate::script::ScriptError;

#[derive(Debug, thiserror::Error)]
pub enum HandlerErrorKind {
    #[error("cannot read handler `{path}`: {reason}")]
    Read { path: String, reason: String },
    /// `ordo lint FILE` of a file that is not a `.rhai` script (a manifest, say).
    #[error("`{path}` is not a handler script (`.rhai`)")]
    NotAScript { path: String },
    /// A warning, not an error: a directory link out of a handler directory.
    #[error("`{path}` is {reason}; not followed")]
    NotFollowed { path: String, reason: String },
    #[error("{}", .0.message)]
    Script(ScriptError),
    #[error("this handler registers no kind")]
    RegistersNothing,
    #[error("this handler registers `{kind}` but defines no `fn apply(m)`{}", near.as_ref().map(|n| format!("; did you mean `{n}`?")).unwrap_or_default())]
    NoApply {
        kind: String,
        /// A function of the script whose name is near `apply` (`aply`).
        near: Option<String>,
    },
    #[error("`fn {name}` must take exactly one parameter, the manifest `m`")]
    WrongArity { name: String },
    #[error(
        "`fn rollback` must take exactly two parameters, the manifest `m` and what it was before the run, `prev`"
    )]
    RollbackArity,
    #[error("`register`: invalid kind `{kind}`")]
    BadKind { kind: String },
    /// `register("HandlerTest", ...)`: a kind of document ordo reads itself.
    #[error("`register`: `{kind}` is a kind ordo reads itself; no handler can serve it")]
    ReservedKind { kind: String },
    #[error("`register(\"{kind}\", ...)`: {error}")]
    BadRange {
        kind: String,
        error: VersionErrorKind,
    },
    #[error("`{kind}` is registered twice with overlapping ranges `{first}` and `{second}`")]
    Overlap {
        kind: String,
        first: String,
        second: String,
    },
    /// The static check of calls found a problem.
    #[error("{0}")]
    Lint(super::lint::LintKind),
    /// A problem in an `actions(#{...})` declaration.
    #[error("{message}")]
    BadAction {
        message: String,
        help: Option<String>,
    },
    /// A `schema(#{...})` declaration that is itself wrong.
    #[error("{0}")]
    Schema(String),
    /// A handler from a source declares more than the source's `maxPermissions`.
    #[error("this handler declares {excess}, which source `{source_name}` does not allow (its `maxPermissions`: {})", if allowed.is_empty() { "none" } else { allowed.as_str() })]
    ExceedsSource {
        source_name: String,
        excess: String,
        allowed: String,
    },
    #[error("unknown permission `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    BadPermission {
        name: String,
        suggestion: Option<String>,
    },
}

#[derive(Debug)]
pub struct HandlerError {
    pub location: Location,
    pub kind: HandlerErrorKind,
}

impl HandlerError {
    /// Whether this only deserves a warning (it stops nothing).
    pub fn is_warning(&self) -> bool {
        matches!(self.kind, HandlerErrorKind::NotFollowed { .. })
    }

    pub fn into_diagnostic(self) -> Diagnostic {
        use HandlerErrorKind as K;
        match self.kind {
            K::Script(e) => e.to_diagnostic(Some(&self.location.file)),
            kind => {
                let help = match &kind {
                    K::RegistersNothing => Some(
                        "add `register(\"Kind\", \"^1\");` at the top level; a helper module imported by handlers belongs in a `lib/` directory".to_string(),
                    ),
                    K::NoApply { near: Some(n), .. } => Some(format!("rename `fn {n}` to `fn apply(m)`")),
                    K::NoApply { .. } => Some("add `fn apply(m) { ... }`".to_string()),
                    K::NotAScript { .. } => Some("`ordo lint` checks handler scripts and modules; manifests are checked by `ordo validate -m FILE`".to_string()),
                    K::BadPermission { .. } => Some("permissions are: shell, file:read, file:write, http, env, prompt".to_string()),
                    K::Lint(l) => l.help(),
                    K::BadAction { help, .. } => help.clone(),
                    K::Schema(_) => Some("a field is described by `#{ type, required, \"default\", enum, about, fields, items }`; types: string, int, float, bool, list, map, any (see \"Handler schemas\" in the README)".to_string()),
                    K::ReservedKind { .. } => Some(format!(
                        "{} are ordo's own documents (values, inventories, the project file, handler tests); give the handler's kind another name",
                        super::json_schema::DATA_KINDS.join(", ")
                    )),
                    K::ExceedsSource { source_name, .. } => Some(format!(
                        "raise `maxPermissions` of source `{source_name}` in the project file if you trust its handlers with this, or do without this handler"
                    )),
                    K::Overlap { .. } => Some("each version of a kind must have one handler; narrow one of the ranges".to_string()),
                    _ => None,
                };
                Diagnostic::error(kind.to_string())
                    .at(self.location)
                    .help_opt(help)
            }
        }
    }
}

/// Why a manifest found no single handler.
#[derive(Debug, thiserror::Error)]
pub enum ResolveErrorKind {
    #[error("{0}")]
    BadVersion(VersionErrorKind),
    #[error("no handler serves kind `{kind}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownKind {
        kind: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error("no handler serves `{kind}` version `{version}`")]
    UnservedVersion {
        kind: String,
        version: String,
        served: Vec<String>,
    },
    #[error("several handlers serve `{kind}` version `{version}`")]
    Ambiguous {
        kind: String,
        version: String,
        files: Vec<String>,
    },
    #[error("the kind's group `{kind_group}` and the version's group `{version_group}` differ")]
    GroupMismatch {
        kind_group: String,
        version_group: String,
    },
}

impl ResolveErrorKind {
    pub fn into_diagnostic(self, location: Location) -> Diagnostic {
        use ResolveErrorKind as K;
        let mut d = Diagnostic::error(self.to_string()).at(location);
        match self {
            K::UnknownKind { known, .. } => {
                d = if known.is_empty() {
                    d.note("no handlers are loaded besides the bundled ones")
                        .help("put a `.rhai` handler next to the manifests, or pass `-s DIR`")
                } else {
                    d.note(format!("kinds served: {}", known.join(", ")))
                        .help("put a `.rhai` handler next to the manifests, or pass `-s DIR`")
                };
            }
            K::UnservedVersion { served, .. } => {
                for s in served {
                    d = d.note(format!("served: {s}"));
                }
            }
            K::Ambiguous { files, .. } => {
                for f in files {
                    d = d.note(format!("candidate: {f}"));
                }
                d = d.help("narrow the version ranges so exactly one handler matches");
            }
            _ => {}
        }
        d
    }
}
