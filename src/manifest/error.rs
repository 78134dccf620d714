//! Errors of the manifest stage: reading files, YAML, and the manifest format.

use super::parse::YamlErrorKind;
use crate::diagnostic::Diagnostic;
use crate::source::Location;

#[derive(Debug, thiserror::Error)]
pub enum ManifestErrorKind {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("`{path}` is {reason}; not followed")]
    NotFollowed { path: String, reason: String },
    #[error("no manifest files (`*.yaml`, `*.yml`) found in `{0}`")]
    NoFiles(String),
    #[error("`{0}` is a handler script, not a manifest file")]
    HandlerAsManifest(String),
    #[error("`{0}` is the project file, not a manifest file")]
    ProjectFileAsManifest(String),
    #[error("this file holds no manifests")]
    Empty,
    #[error("this file is not valid UTF-8 (byte {offset:#04x} at column {column})")]
    NotUtf8 { offset: u8, column: usize },
    #[error("file is larger than the limit of {limit} MiB")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Yaml(YamlErrorKind),
    #[error(
        "a manifest must be a mapping with `kind`, `version`, `metadata` and `spec`, not {found}"
    )]
    NotAMapping { found: &'static str },
    #[error("unknown key `{key}` in {section}{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownKey {
        key: String,
        section: &'static str,
        suggestion: Option<String>,
        allowed: String,
    },
    #[error("missing required field `{field}`")]
    MissingField { field: &'static str },
    /// A document without `kind` whose top level has `all:`: an Ansible inventory.
    #[error("this looks like an Ansible inventory (top-level `all:`), not a manifest")]
    AnsibleInventory,
    /// A `kind: HandlerTest` document among the manifests (named on the command line).
    #[error("this is a handler test (`kind: HandlerTest`), not a manifest")]
    HandlerTest,
    #[error("`{field}` must be {expected}, not {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    /// `metadata.serial` or `maxFailPercent` on a manifest that runs on the controller.
    #[error(
        "`metadata.{field}` applies to a manifest run on hosts, and this one has no `metadata.hosts`"
    )]
    NeedsHosts { field: &'static str },
    /// A field that takes one of a few words (`metadata.rollback`).
    #[error("`{field}` must be {allowed}, not `{value}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    BadChoice {
        field: &'static str,
        value: String,
        allowed: &'static str,
        suggestion: Option<String>,
    },
    #[error("`{field}` is out of range: {value}")]
    OutOfRange { field: &'static str, value: String },
    /// A host pattern with no text (a bare `!`, blanks): never "every host".
    #[error(
        "`metadata.hosts` holds `{pattern}`, which is no host pattern: name hosts, groups or globs (`web-*`, `!web-2`)"
    )]
    EmptyHostPattern { pattern: String },
    /// A number of seconds that is no duration: see [`crate::units`].
    #[error("{0}")]
    BadDuration(crate::units::UnitError),
    #[error("label `{key}` must be a string, not {found}")]
    LabelNotString {
        key: String,
        found: &'static str,
        text: String,
    },
    #[error("invalid manifest name `{name}`")]
    InvalidName { name: String },
    #[error("invalid kind `{kind}`")]
    InvalidKind { kind: String },
    #[error("both `version` and `apiVersion` are given")]
    BothVersions,
    #[error("`metadata.actionOverrides` values must be `apply` or `delete`")]
    BadOverride,
    #[error("duplicate manifest name `{name}`")]
    DuplicateName { name: String, first: Location },
    #[error("value `{name}` is defined twice with different values")]
    ConflictingValue { name: String, first: Location },
    #[error(
        "a values file holds `kind: Values` documents (or a bare `values:` list), nothing else"
    )]
    NotValues,
    #[error("{0}")]
    Tag(super::tags::TagErrorKind),
}

#[derive(Debug)]
pub struct ManifestError {
    pub location: Location,
    pub kind: ManifestErrorKind,
}

impl From<ManifestError> for Diagnostic {
    fn from(e: ManifestError) -> Self {
        use ManifestErrorKind as K;
        let help = match &e.kind {
            K::UnknownKey { allowed, .. } => Some(format!("allowed here: {allowed}")),
            K::InvalidName { .. } => {
                Some("names use only letters, digits, `.`, `_` and `-`".into())
            }
            K::LabelNotString { key, text, .. } => Some(format!(
                "quote it, as Kubernetes requires: `{key}: \"{text}\"` (label values are text)"
            )),
            K::HandlerAsManifest(path) => {
                let dir = std::path::Path::new(path)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| ".".to_string(), |p| p.display().to_string());
                Some(format!(
                    "`-m` takes manifests (`*.yaml`); give handler directories with `-s {dir}` (handlers next to the manifests are found without it)"
                ))
            }
            K::ProjectFileAsManifest(_) => Some(
                "give `-m` the project's directory, or nothing: the project file says which manifests to load".into(),
            ),
            K::NeedsHosts { .. } => Some(
                "add `metadata.hosts`, or remove the key: a manifest on this machine runs once".into(),
            ),
            K::AnsibleInventory => Some(
                "pass an inventory with `-i FILE`, or move it out of the manifest paths".into(),
            ),
            K::HandlerTest => Some(
                "`ordo test` runs it; name handler tests `*.test.yaml` and a run's directory walk leaves them out".into(),
            ),
            K::BothVersions => {
                Some("keep one of them; `apiVersion` is an alias of `version`".into())
            }
            K::Empty => Some(
                "remove the file, or add a manifest (`kind`, `version`, `metadata.name`)".into(),
            ),
            K::Yaml(YamlErrorKind::DuplicateKey { .. }) => {
                Some("each key may appear once per mapping".into())
            }
            _ => None,
        };
        let mut d = Diagnostic::error(e.kind.to_string())
            .at(e.location)
            .help_opt(help);
        match e.kind {
            K::DuplicateName { first, .. } | K::ConflictingValue { first, .. } => {
                d = d.related(first, "first defined here");
            }
            K::Tag(t) => d = d.help_opt(t.help()),
            _ => {}
        }
        d
    }
}
