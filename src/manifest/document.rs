//! A YAML document checked against the manifest format (DESIGN.md §2): [`Manifest`].
//!
//! Checks here are local to one document: required fields, types, unknown keys, the name's
//! characters. Checks that need the whole run (duplicate names, unknown dependencies, cycles,
//! handlers) happen in later stages. Every problem found is kept, so a run reports them all.

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use super::error::{ManifestError, ManifestErrorKind as K};
use super::node::{Node, Value};
use crate::diagnostic::did_you_mean;
use crate::source::{Location, Mark, SourceFile};

/// Which handler function runs for a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Apply,
    Delete,
    /// A recorded revision applied again (`ordo rollback`): the handler's `apply`, with
    /// `m.action == "rollback"`, and no `check` first.
    Rollback,
}

impl Action {
    /// `m.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Apply => "apply",
            Action::Delete => "delete",
            Action::Rollback => "rollback",
        }
    }

    /// The handler function that runs.
    pub fn function_name(self) -> &'static str {
        match self {
            Action::Apply | Action::Rollback => "apply",
            Action::Delete => "delete",
        }
    }
}

/// A reference to another manifest by name, where it is written.
#[derive(Clone, Debug)]
pub struct NameRef {
    pub name: String,
    pub mark: Mark,
}

#[derive(Clone, Debug, Default)]
pub struct Dependencies {
    pub apply: Vec<NameRef>,
    pub delete: Vec<NameRef>,
}

#[derive(Clone, Debug)]
pub struct Metadata {
    pub labels: IndexMap<String, String>,
    pub environments: Option<Vec<String>>,
    pub dependencies: Dependencies,
    pub skip_apply_all: bool,
    pub skip_delete_all: bool,
    /// The function run for each action: `{delete: apply}` runs `apply` during `delete`.
    pub apply_runs: Action,
    pub delete_runs: Action,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub retry_delay: Duration,
    /// `metadata.hosts`: host patterns (DESIGN §13); `None`: the manifest runs on the
    /// controller.
    pub hosts: Option<Vec<NameRef>>,
    /// `metadata.serial`: the instances run in batches of this size (DESIGN §13).
    pub serial: Option<Serial>,
    /// `metadata.maxFailPercent` (0-100): more failed or unreachable instances than this,
    /// in a batch, stop new work.
    pub max_fail_percent: Option<u8>,
    /// `metadata.rollback`: what `apply --rollback-on-failure` may undo (DESIGN §14).
    pub rollback: RollbackMode,
    /// `metadata.verify: advisory`: a failed `verify` is a warning, not a failure.
    pub verify_advisory: bool,
    /// `metadata.drift`: what `ordo watch` does about this manifest's drift (`None`: what
    /// `--drift` says).
    pub drift: Option<Drift>,
}

/// `metadata.drift`: what `ordo watch` does when the spec is unchanged but `check` says
/// work is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drift {
    /// Apply again.
    Correct,
    /// Only report it.
    Warn,
    /// Neither correct nor report it.
    Ignore,
}

impl Drift {
    /// The values, as written in a manifest.
    pub const NAMES: [&'static str; 3] = ["correct", "warn", "ignore"];
}

/// `metadata.rollback`: how much of a manifest `apply --rollback-on-failure` undoes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RollbackMode {
    /// Everything this run did to it: created (delete), changed (re-apply), or the
    /// handler's `rollback`.
    #[default]
    Auto,
    /// Only what this run created (CloudFormation's `RetainExceptOnCreate`).
    NewOnly,
    /// Nothing: it keeps what the run did (a database migration).
    Never,
}

impl RollbackMode {
    /// The values, as written in a manifest.
    pub const NAMES: [&'static str; 3] = ["auto", "newOnly", "never"];

    pub fn as_str(self) -> &'static str {
        match self {
            RollbackMode::Auto => "auto",
            RollbackMode::NewOnly => "newOnly",
            RollbackMode::Never => "never",
        }
    }
}

/// `metadata.serial`: how many of a manifest's hosts run at once, as a number or a share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serial {
    /// `serial: 2`: two hosts per batch.
    Count(usize),
    /// `serial: "30%"`: that share of the hosts per batch (at least one).
    Percent(u8),
}

impl Serial {
    /// The batch size for `hosts` instances (at least 1).
    pub fn batch(self, hosts: usize) -> usize {
        match self {
            Serial::Count(n) => n.max(1),
            Serial::Percent(p) => (hosts * usize::from(p) / 100).max(1),
        }
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            labels: IndexMap::new(),
            environments: None,
            dependencies: Dependencies::default(),
            skip_apply_all: false,
            skip_delete_all: false,
            apply_runs: Action::Apply,
            delete_runs: Action::Delete,
            timeout: None,
            retries: 0,
            retry_delay: Duration::from_secs(1),
            hosts: None,
            serial: None,
            max_fail_percent: None,
            rollback: RollbackMode::Auto,
            verify_advisory: false,
            drift: None,
        }
    }
}

impl Metadata {
    /// The handler function to run when the command is `action`.
    pub fn runs(&self, action: Action) -> Action {
        match action {
            Action::Apply => self.apply_runs,
            Action::Delete => self.delete_runs,
            Action::Rollback => Action::Rollback,
        }
    }

    pub fn in_environment(&self, env: &str) -> bool {
        self.environments
            .as_ref()
            .is_none_or(|envs| envs.iter().any(|e| e == env))
    }
}

/// A validated manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Position in the run: files in the order given (directories sorted), documents in file
    /// order. Ties in the execution order are broken by it.
    pub index: usize,
    pub file: Arc<SourceFile>,
    /// Where the document starts.
    pub mark: Mark,
    pub kind: String,
    pub kind_mark: Mark,
    pub version: String,
    pub version_mark: Mark,
    pub name: String,
    pub name_mark: Mark,
    pub metadata: Metadata,
    /// `metadata` as written, for the handler's `m.metadata`.
    pub metadata_node: Node,
    pub spec: Node,
    /// Manifests whose variables `spec` uses through `!Variable`: implied apply dependencies.
    pub implicit: Vec<NameRef>,
    /// Whether `spec` or `metadata` still hold `!Variable`s to resolve when the manifest runs.
    pub deferred: bool,
    /// The tags as written whose values hold secret text or are resolved at run time: the
    /// state records them to re-resolve what it masked (`ordo rollback`).
    pub tag_sources: Vec<super::tags::TagSource>,
    /// The host this instance runs on (`name` is then `manifest@host`); `None`: the
    /// controller.
    pub host: Option<super::instance::SharedHost>,
}

impl Manifest {
    pub fn location(&self) -> Location {
        Location::new(&self.file, self.mark)
    }

    pub fn at(&self, mark: Mark) -> Location {
        Location::new(&self.file, mark)
    }

    /// The name as written in `metadata.name`: an instance's name without `@host`.
    pub fn base_name(&self) -> &str {
        super::instance::split_instance(&self.name).0
    }

    /// `Kind/name`, as shown in output.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

const TOP_LEVEL: &[&str] = &["kind", "version", "apiVersion", "metadata", "spec"];
/// The keys `metadata` may hold.
pub const METADATA_KEYS: &[&str] = &[
    "name",
    "labels",
    "annotations",
    "description",
    "environments",
    "dependencies",
    "skipApplyAll",
    "skipDeleteAll",
    "actionOverrides",
    "timeout",
    "retries",
    "retryDelay",
    "hosts",
    "serial",
    "maxFailPercent",
    "rollback",
    "verify",
    "drift",
];

/// Whether `name` is a valid manifest name: `[A-Za-z0-9._-]+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The text of the plain scalar at `mark` as the user wrote it (`1.10`, not `1.1`), for
/// messages that tell them how to quote it.
fn scalar_text(file: &SourceFile, mark: Mark) -> Option<String> {
    let line = file.line(mark.line)?;
    let start = usize::try_from(mark.col).ok()?.checked_sub(1)?;
    let rest: String = line.chars().skip(start).collect();
    let end = rest.find([',', '}', ']', '#']).unwrap_or(rest.len());
    let text = rest.get(..end)?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

struct Checker<'a> {
    file: &'a Arc<SourceFile>,
    errors: Vec<ManifestError>,
}

impl Checker<'_> {
    fn error(&mut self, mark: Mark, kind: K) {
        self.errors.push(ManifestError {
            location: Location::new(self.file, mark),
            kind,
        });
    }

    fn unknown_keys(&mut self, node: &Node, allowed: &[&str], section: &'static str) {
        let Value::Map(entries) = &node.value else {
            return;
        };
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let suggestion = did_you_mean(&e.key, allowed.iter().copied()).map(str::to_string);
                self.errors.push(ManifestError {
                    location: Location::new(self.file, e.key_mark)
                        .with_width(e.key.chars().count()),
                    kind: K::UnknownKey {
                        key: e.key.clone(),
                        section,
                        suggestion,
                        allowed: allowed.join(", "),
                    },
                });
            }
        }
    }

    fn string(&mut self, node: &Node, field: &'static str) -> Option<String> {
        match &node.value {
            Value::String(s) => Some(s.clone()),
            Value::Int(i) if field == "version" => Some(i.to_string()),
            _ => {
                self.wrong_type(node, field, "a string");
                None
            }
        }
    }

    fn wrong_type(&mut self, node: &Node, field: &'static str, expected: &'static str) {
        self.error(
            node.mark,
            K::WrongType {
                field,
                expected,
                found: node.type_name(),
            },
        );
    }

    fn bool(&mut self, node: Option<&Node>, field: &'static str) -> bool {
        match node.map(|n| &n.value) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                if let Some(n) = node {
                    self.wrong_type(n, field, "a boolean (`true` or `false`)");
                }
                false
            }
        }
    }

    fn strings(&mut self, node: &Node, field: &'static str) -> Vec<NameRef> {
        match &node.value {
            Value::Null => Vec::new(),
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| {
                    let name = self.string(item, field)?;
                    Some(NameRef {
                        name,
                        mark: item.mark,
                    })
                })
                .collect(),
            _ => {
                self.wrong_type(node, field, "a list of names");
                Vec::new()
            }
        }
    }

    /// A number of seconds, through the one checked conversion ([`crate::units`]): NaN,
    /// infinities, negative numbers, more than a year and positive numbers that round to
    /// zero are errors naming the field; so is zero when `positive`.
    fn seconds(
        &mut self,
        node: Option<&Node>,
        field: &'static str,
        positive: bool,
    ) -> Option<Duration> {
        let node = node?;
        let secs = match node.value {
            Value::Null => return None,
            Value::Int(i) => crate::units::int_seconds(i),
            Value::Float(f) => f,
            Value::String(ref s) if crate::units::text_seconds(s).is_some() => {
                crate::units::text_seconds(s).unwrap_or_default()
            }
            _ => {
                self.wrong_type(node, field, crate::units::TAKES);
                return None;
            }
        };
        let convert = if positive {
            crate::units::positive_duration
        } else {
            crate::units::duration
        };
        match convert(&format!("`{field}`"), secs) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(node.mark, K::BadDuration(e));
                None
            }
        }
    }
}

/// Checks one document. Returns the manifest when the document is usable (its identity and
/// graph fields are valid), plus every problem found either way.
pub fn check_document(
    file: &Arc<SourceFile>,
    mark: Mark,
    root: Node,
    index: usize,
) -> (Option<Manifest>, Vec<ManifestError>) {
    let mut c = Checker {
        file,
        errors: Vec::new(),
    };
    let Value::Map(_) = &root.value else {
        c.error(
            root.mark,
            K::NotAMapping {
                found: root.type_name(),
            },
        );
        return (None, c.errors);
    };
    if root.get("kind").is_none() && root.get("all").is_some() {
        c.error(root.mark, K::AnsibleInventory);
        return (None, c.errors);
    }
    if root.get("kind").and_then(Node::as_str) == Some("HandlerTest") {
        c.error(root.mark, K::HandlerTest);
        return (None, c.errors);
    }
    c.unknown_keys(&root, TOP_LEVEL, "a manifest");

    let kind = root
        .get("kind")
        .and_then(|n| c.string(n, "kind").map(|s| (s, n.mark)));
    if root.get("kind").is_none() {
        c.error(mark, K::MissingField { field: "kind" });
    }
    if let Some((k, m)) = &kind
        && (k.is_empty() || k.chars().any(char::is_whitespace))
    {
        c.error(*m, K::InvalidKind { kind: k.clone() });
    }

    let version = match (root.entry("version"), root.entry("apiVersion")) {
        (Some(_), Some(api)) => {
            c.error(api.key_mark, K::BothVersions);
            None
        }
        (Some(e), None) | (None, Some(e)) => {
            c.string(&e.value, "version").map(|s| (s, e.value.mark))
        }
        (None, None) => {
            c.error(mark, K::MissingField { field: "version" });
            None
        }
    };

    // The document is ours: move `metadata` and `spec` out of it rather than copy them.
    let mut root = root;
    let mut take = |key: &str| match &mut root.value {
        Value::Map(entries) => entries
            .iter()
            .position(|e| e.key == key)
            .map(|i| entries.swap_remove(i).value),
        _ => None,
    };
    let metadata_node = take("metadata");
    let spec_node = take("spec");
    let (name, metadata) = match &metadata_node {
        None => {
            c.error(
                mark,
                K::MissingField {
                    field: "metadata.name",
                },
            );
            (None, Metadata::default())
        }
        Some(m) if !matches!(m.value, Value::Map(_)) => {
            c.wrong_type(m, "metadata", "a mapping");
            (None, Metadata::default())
        }
        Some(m) => check_metadata(&mut c, m),
    };

    let spec = match spec_node {
        None => Node::new(mark, Value::Map(Vec::new())),
        Some(n) if n.is_null() => Node::new(n.mark, Value::Map(Vec::new())),
        Some(n) => n,
    };

    let manifest = match (kind, version, name) {
        (Some((kind, kind_mark)), Some((version, version_mark)), Some((name, name_mark))) => {
            Some(Manifest {
                index,
                file: Arc::clone(file),
                mark,
                kind,
                kind_mark,
                version,
                version_mark,
                name,
                name_mark,
                metadata,
                metadata_node: metadata_node.unwrap_or_else(|| Node::null(mark)),
                spec,
                implicit: Vec::new(),
                deferred: false,
                tag_sources: Vec::new(),
                host: None,
            })
        }
        _ => None,
    };
    (manifest, c.errors)
}

/// The typed metadata of a `metadata` node the state recorded (every tag resolved), for a
/// manifest rebuilt from the state (`ordo rollback`): what it cannot read is left at its
/// default, as the manifest was checked when it was applied.
pub fn recorded_metadata(file: &Arc<SourceFile>, node: &Node) -> Metadata {
    let mut c = Checker {
        file,
        errors: Vec::new(),
    };
    check_metadata(&mut c, node).1
}

fn check_metadata(c: &mut Checker<'_>, m: &Node) -> (Option<(String, Mark)>, Metadata) {
    c.unknown_keys(m, METADATA_KEYS, "`metadata`");
    let mut meta = Metadata::default();

    let name = match m.get("name") {
        None => {
            c.error(
                m.mark,
                K::MissingField {
                    field: "metadata.name",
                },
            );
            None
        }
        Some(n) => c.string(n, "metadata.name").and_then(|name| {
            if valid_name(&name) {
                Some((name, n.mark))
            } else {
                c.error(n.mark, K::InvalidName { name });
                None
            }
        }),
    };

    if let Some(labels) = m.get("labels") {
        match &labels.value {
            Value::Null => {}
            Value::Map(entries) => {
                for e in entries {
                    let value = match &e.value.value {
                        Value::String(s) => s.clone(),
                        // Label values are strings, as in Kubernetes: an unquoted `1.10`
                        // would become the number 1.1, and `-l release=1.10` select nothing
                        // (issue 13).
                        Value::Int(_) | Value::Bool(_) | Value::Float(_) => {
                            let text = scalar_text(c.file, e.value.mark)
                                .unwrap_or_else(|| e.value.type_name().to_string());
                            c.error(
                                e.value.mark,
                                K::LabelNotString {
                                    key: e.key.clone(),
                                    found: e.value.type_name(),
                                    text,
                                },
                            );
                            continue;
                        }
                        _ => {
                            c.wrong_type(&e.value, "metadata.labels", "a plain value");
                            continue;
                        }
                    };
                    meta.labels.insert(e.key.clone(), value);
                }
            }
            _ => c.wrong_type(labels, "metadata.labels", "a mapping"),
        }
    }
    if let Some(a) = m.get("annotations")
        && !matches!(a.value, Value::Map(_) | Value::Null)
    {
        c.wrong_type(a, "metadata.annotations", "a mapping");
    }
    if let Some(d) = m.get("description")
        && !matches!(d.value, Value::String(_) | Value::Null)
    {
        c.wrong_type(d, "metadata.description", "a string");
    }

    if let Some(envs) = m.get("environments") {
        let list = c.strings(envs, "metadata.environments");
        if matches!(envs.value, Value::Seq(_)) {
            meta.environments = Some(list.into_iter().map(|r| r.name).collect());
        }
    }

    if let Some(deps) = m.get("dependencies") {
        match &deps.value {
            Value::Null => {}
            Value::Map(_) => {
                c.unknown_keys(deps, &["apply", "delete"], "`metadata.dependencies`");
                if let Some(a) = deps.get("apply") {
                    meta.dependencies.apply = c.strings(a, "metadata.dependencies.apply");
                }
                if let Some(d) = deps.get("delete") {
                    meta.dependencies.delete = c.strings(d, "metadata.dependencies.delete");
                }
            }
            _ => c.wrong_type(
                deps,
                "metadata.dependencies",
                "a mapping with `apply` and `delete` lists",
            ),
        }
    }

    meta.skip_apply_all = c.bool(m.get("skipApplyAll"), "metadata.skipApplyAll");
    meta.skip_delete_all = c.bool(m.get("skipDeleteAll"), "metadata.skipDeleteAll");

    if let Some(o) = m.get("actionOverrides") {
        match &o.value {
            Value::Null => {}
            Value::Map(entries) => {
                c.unknown_keys(o, &["apply", "delete"], "`metadata.actionOverrides`");
                for e in entries {
                    let action = match e.value.as_str() {
                        Some("apply") => Action::Apply,
                        Some("delete") => Action::Delete,
                        _ => {
                            c.error(e.value.mark, K::BadOverride);
                            continue;
                        }
                    };
                    match e.key.as_str() {
                        "apply" => meta.apply_runs = action,
                        "delete" => meta.delete_runs = action,
                        _ => {}
                    }
                }
            }
            _ => c.wrong_type(
                o,
                "metadata.actionOverrides",
                "a mapping such as `{delete: apply}`",
            ),
        }
    }

    meta.timeout = c.seconds(m.get("timeout"), "metadata.timeout", true);
    if let Some(r) = m.get("retries") {
        match r.value {
            Value::Null => {}
            Value::Int(i) => match u32::try_from(i) {
                Ok(n) if n <= 100 => meta.retries = n,
                _ => c.error(
                    r.mark,
                    K::OutOfRange {
                        field: "metadata.retries",
                        value: i.to_string(),
                    },
                ),
            },
            _ => c.wrong_type(r, "metadata.retries", "a whole number"),
        }
    }
    if let Some(d) = c.seconds(m.get("retryDelay"), "metadata.retryDelay", false) {
        meta.retry_delay = d;
    }
    if let Some(h) = m.get("hosts") {
        let list = match &h.value {
            // `hosts: web`, as in an Ansible play: one pattern.
            Value::String(s) => vec![NameRef {
                name: s.clone(),
                mark: h.mark,
            }],
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| {
                    if matches!(item.value, Value::Tagged(_)) {
                        c.wrong_type(
                            item,
                            "metadata.hosts",
                            "a host pattern (tags are not allowed in `metadata.hosts`)",
                        );
                        return None;
                    }
                    let name = c.string(item, "metadata.hosts")?;
                    Some(NameRef {
                        name,
                        mark: item.mark,
                    })
                })
                .collect(),
            _ => c.strings(h, "metadata.hosts"),
        };
        for r in &list {
            // (An empty string is refused as a pattern matching nothing.)
            if !r.name.is_empty() && r.name.trim().trim_start_matches('!').trim().is_empty() {
                c.error(
                    r.mark,
                    K::EmptyHostPattern {
                        pattern: r.name.clone(),
                    },
                );
            }
        }
        if matches!(h.value, Value::Seq(_) | Value::String(_)) {
            meta.hosts = Some(list);
        }
    }
    host_batches(c, m, &mut meta);
    if let Some(node) = m.get("rollback").filter(|n| !n.is_null()) {
        meta.rollback = rollback_mode(c, node);
    }
    if let Some(node) = m.get("drift").filter(|n| !n.is_null()) {
        meta.drift = drift(c, node);
    }
    if let Some(node) = m.get("verify").filter(|n| !n.is_null()) {
        match node.as_str() {
            Some("required") => {}
            Some("advisory") => meta.verify_advisory = true,
            Some(other) => {
                let suggestion = did_you_mean(other, ["required", "advisory"]).map(str::to_string);
                c.error(
                    node.mark,
                    K::BadChoice {
                        field: "metadata.verify",
                        value: other.to_string(),
                        allowed: "`required` or `advisory`",
                        suggestion,
                    },
                );
            }
            None => c.wrong_type(node, "metadata.verify", "`required` or `advisory`"),
        }
    }
    (name, meta)
}

/// `metadata.drift`: `correct`, `warn` or `ignore`; anything else is an input error (with
/// the nearest value for a typo).
fn drift(c: &mut Checker<'_>, node: &Node) -> Option<Drift> {
    const ALLOWED: &str = "`correct`, `warn` or `ignore`";
    let Value::String(s) = &node.value else {
        c.wrong_type(node, "metadata.drift", ALLOWED);
        return None;
    };
    match s.as_str() {
        "correct" => Some(Drift::Correct),
        "warn" => Some(Drift::Warn),
        "ignore" => Some(Drift::Ignore),
        _ => {
            let suggestion = did_you_mean(s, Drift::NAMES).map(str::to_string);
            c.error(
                node.mark,
                K::BadChoice {
                    field: "metadata.drift",
                    value: s.clone(),
                    allowed: ALLOWED,
                    suggestion,
                },
            );
            None
        }
    }
}

/// `metadata.rollback`: `auto`, `newOnly` or `never`; anything else is an input error
/// (with the nearest value for a typo).
fn rollback_mode(c: &mut Checker<'_>, node: &Node) -> RollbackMode {
    let Value::String(s) = &node.value else {
        c.wrong_type(node, "metadata.rollback", "`auto`, `newOnly` or `never`");
        return RollbackMode::Auto;
    };
    match s.as_str() {
        "auto" => RollbackMode::Auto,
        "newOnly" => RollbackMode::NewOnly,
        "never" => RollbackMode::Never,
        _ => {
            let suggestion =
                crate::diagnostic::did_you_mean(s, RollbackMode::NAMES).map(str::to_string);
            c.error(
                node.mark,
                K::BadChoice {
                    field: "metadata.rollback",
                    value: s.clone(),
                    allowed: "`auto`, `newOnly` or `never`",
                    suggestion,
                },
            );
            RollbackMode::Auto
        }
    }
}

/// `metadata.serial` (`N` or `"N%"`, N ≥ 1) and `metadata.maxFailPercent` (0-100), which
/// only mean something for a manifest with `metadata.hosts`.
fn host_batches(c: &mut Checker<'_>, m: &Node, meta: &mut Metadata) {
    if let Some(node) = m.get("serial").filter(|n| !n.is_null()) {
        meta.serial = match &node.value {
            Value::Int(i) => match usize::try_from(*i) {
                Ok(n) if n >= 1 => Some(Serial::Count(n)),
                _ => {
                    c.error(
                        node.mark,
                        K::OutOfRange {
                            field: "metadata.serial",
                            value: format!("{i} (a batch holds at least 1 host)"),
                        },
                    );
                    None
                }
            },
            Value::String(s) => match s.strip_suffix('%').map(|p| p.trim().parse::<u8>()) {
                Some(Ok(p)) if (1..=100).contains(&p) => Some(Serial::Percent(p)),
                _ => {
                    c.error(
                        node.mark,
                        K::OutOfRange {
                            field: "metadata.serial",
                            value: format!(
                                "`{s}` (a number of hosts, or a share from \"1%\" to \"100%\")"
                            ),
                        },
                    );
                    None
                }
            },
            _ => {
                c.wrong_type(
                    node,
                    "metadata.serial",
                    "a number of hosts or a share such as \"30%\"",
                );
                None
            }
        };
    }
    if let Some(node) = m.get("maxFailPercent").filter(|n| !n.is_null()) {
        meta.max_fail_percent = match node.value {
            Value::Int(i) => match u8::try_from(i) {
                Ok(p) if p <= 100 => Some(p),
                _ => {
                    c.error(
                        node.mark,
                        K::OutOfRange {
                            field: "metadata.maxFailPercent",
                            value: format!("{i} (a percentage from 0 to 100)"),
                        },
                    );
                    None
                }
            },
            _ => {
                c.wrong_type(
                    node,
                    "metadata.maxFailPercent",
                    "a whole number from 0 to 100",
                );
                None
            }
        };
    }
    if meta.hosts.is_none() {
        for key in ["serial", "maxFailPercent"] {
            if let Some(e) = m.entry(key) {
                c.error(e.key_mark, K::NeedsHosts { field: key });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse::{Limits, parse_one};

    fn check(text: &str) -> (Option<Manifest>, Vec<String>) {
        let file = SourceFile::new("t.yaml", ".", text);
        let root = parse_one(text, &Limits::default()).unwrap();
        let (m, errors) = check_document(&file, Mark::new(1, 1), root, 0);
        (
            m,
            errors
                .iter()
                .map(|e| format!("{}: {}", e.location.mark.line, e.kind))
                .collect(),
        )
    }

    #[test]
    fn a_complete_manifest_is_accepted() {
        let (m, errors) = check(
            "kind: WriteFile\nversion: v1\nmetadata:\n  name: a\n  dependencies: {apply: [b], delete: [c]}\n  \
             skipApplyAll: true\n  actionOverrides: {delete: apply}\n  timeout: 2.5\nspec: {x: 1}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let m = m.unwrap();
        assert_eq!(m.name, "a");
        assert_eq!(m.metadata.dependencies.apply[0].name, "b");
        assert_eq!(m.metadata.dependencies.delete[0].name, "c");
        assert!(m.metadata.skip_apply_all);
        assert_eq!(m.metadata.runs(Action::Delete), Action::Apply);
        assert_eq!(m.metadata.timeout, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn api_version_is_an_alias_and_spec_defaults_to_empty() {
        let (m, errors) = check("kind: K\napiVersion: v1\nmetadata: {name: a}\n");
        assert!(errors.is_empty(), "{errors:?}");
        let m = m.unwrap();
        assert_eq!(m.version, "v1");
        assert_eq!(m.spec.value, Value::Map(Vec::new()));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let (m, errors) = check(
            "kind: K\nversoin: v1\nmetadata:\n  name: bad name\n  skipApplyAll: 'yes'\n  dependecies: {}\n",
        );
        assert!(m.is_none());
        let all = errors.join("\n");
        assert!(
            all.contains("2: unknown key `versoin` in a manifest; did you mean `version`?"),
            "{all}"
        );
        assert!(all.contains("1: missing required field `version`"), "{all}");
        assert!(all.contains("4: invalid manifest name `bad name`"), "{all}");
        assert!(
            all.contains("5: `metadata.skipApplyAll` must be a boolean"),
            "{all}"
        );
        assert!(
            all.contains(
                "6: unknown key `dependecies` in `metadata`; did you mean `dependencies`?"
            ),
            "{all}"
        );
    }
}
