//! Values: named, typed settings per environment, for `!Value` and `!Sub`.
//!
//! They come from three levels, highest precedence first: `--set key=value` (read as YAML,
//! so `--set port=9` is a number), `-f FILE` (later files win), and `kind: Values`
//! manifests, which all count and merge. One name defined twice at the same level with
//! different definitions is an input error. The py-animus format:
//!
//! ```yaml
//! kind: Values
//! version: v1
//! metadata: {name: settings}
//! spec:
//!   values:
//!   - valueName: port
//!     defaultValue: 8080
//!     secret: false
//!     environmentOverrides:
//!     - {environmentName: prod, value: 443}
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use super::document::Manifest;
use super::error::{ManifestError, ManifestErrorKind as K};
use super::loader::MAX_FILE_BYTES;
use super::node::{Node, Value};
use super::parse::{Limits, parse_stream};
use crate::source::{Location, Mark, SourceFile};

/// The kind of the manifests that hold values.
pub const VALUES_KIND: &str = "Values";

/// One value's definition, as written.
#[derive(Clone, Debug)]
pub(super) struct Definition {
    pub name: String,
    pub default: Option<Node>,
    pub overrides: Vec<(String, Node)>,
    pub secret: bool,
    pub location: Location,
}

impl Definition {
    /// The value in `env`: its override there, else its default.
    fn for_env(&self, env: &str) -> Option<&Node> {
        self.overrides
            .iter()
            .find(|(e, _)| e == env)
            .map(|(_, n)| n)
            .or(self.default.as_ref())
    }

    /// Whether two definitions say the same thing (positions aside).
    fn same_as(&self, other: &Definition) -> bool {
        fn strip(n: &Node) -> Node {
            let mut n = n.clone();
            n.mark = Mark::default();
            match &mut n.value {
                Value::Seq(items) => *items = items.iter().map(strip).collect(),
                Value::Map(entries) => {
                    for e in entries.iter_mut() {
                        e.key_mark = Mark::default();
                        e.value = strip(&e.value);
                    }
                }
                Value::Tagged(t) => t.node = strip(&t.node),
                _ => {}
            }
            n
        }
        let default = |d: &Definition| d.default.as_ref().map(strip);
        let overrides = |d: &Definition| {
            d.overrides
                .iter()
                .map(|(e, n)| (e.clone(), strip(n)))
                .collect::<Vec<_>>()
        };
        self.secret == other.secret
            && default(self) == default(other)
            && overrides(self) == overrides(other)
    }
}

/// A value resolved for the run's environment.
#[derive(Clone, Debug)]
pub struct ResolvedValue {
    pub value: Node,
    pub secret: bool,
    pub location: Location,
}

/// Every value of the run, resolved for one environment.
#[derive(Clone, Debug, Default)]
pub struct ValueSet {
    values: HashMap<String, ResolvedValue>,
    /// Names defined at some level but without a value in this environment.
    undefined_here: HashMap<String, Location>,
    /// Names defined by a `Values` manifest or a `-f` file (not only by `--set`).
    defined: std::collections::HashSet<String>,
    /// Every environment a `Values` manifest or values file names (its
    /// `metadata.environments`, its `environmentOverrides[].environmentName`), with where,
    /// whichever environment the run is for: `-e` is checked against them.
    pub environments: Vec<(String, Location)>,
    /// The text of every value marked secret anywhere: every definition of a secret name
    /// (conflicting ones, other environments', overridden defaults, the raw `--set` text).
    all_secret_texts: Vec<String>,
}

/// The environments a manifest's `metadata.environments` names, with where.
pub fn metadata_environments(
    file: &Arc<SourceFile>,
    metadata: &Node,
    out: &mut Vec<(String, Location)>,
) {
    let Some(list) = metadata.get("environments") else {
        return;
    };
    let items = match &list.value {
        Value::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(list),
    };
    for item in items {
        if let Some(name) = item.as_str() {
            out.push((name.to_string(), Location::new(file, item.mark)));
        }
    }
}

/// The environments named by `values[].environmentOverrides[].environmentName` in a
/// `Values` spec, with where.
fn override_environments(file: &Arc<SourceFile>, spec: &Node, out: &mut Vec<(String, Location)>) {
    let Some(Value::Seq(items)) = spec.get("values").map(|n| &n.value) else {
        return;
    };
    for item in items {
        let Some(Value::Seq(overrides)) = item.get("environmentOverrides").map(|n| &n.value) else {
            continue;
        };
        for o in overrides {
            if let Some(n) = o.get("environmentName")
                && let Some(name) = n.as_str()
            {
                out.push((name.to_string(), Location::new(file, n.mark)));
            }
        }
    }
}

impl ValueSet {
    pub fn get(&self, name: &str) -> Option<&ResolvedValue> {
        self.values.get(name)
    }

    /// Why `name` has no value: defined elsewhere but not for this environment, or unknown.
    pub fn missing_reason(&self, name: &str, env: &str) -> String {
        if self.undefined_here.contains_key(name) {
            format!("value `{name}` has no default and no override for environment `{env}`")
        } else {
            format!("no value named `{name}`")
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Whether a `Values` manifest or a `-f` file defines `name` (for any environment).
    pub fn is_defined(&self, name: &str) -> bool {
        self.defined.contains(name)
    }

    /// The names defined by `Values` manifests and `-f` files, for "did you mean".
    pub fn defined_names(&self) -> impl Iterator<Item = &str> {
        self.defined.iter().map(String::as_str)
    }

    /// Every value's node for this environment, for finding the values they refer to.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.values.values().map(|v| &v.value)
    }

    /// The text of every value marked secret anywhere, for masking output: not only the
    /// effective one for this environment but every definition of a secret name (a
    /// conflicting one, another environment's, a default overridden by `--set`).
    pub fn secret_texts(&self) -> Vec<String> {
        let mut out = self.all_secret_texts.clone();
        for v in self.values.values().filter(|v| v.secret) {
            node_texts(&v.value, &mut out);
        }
        out
    }
}

/// The text of every scalar inside `node` (the text it is shown as anywhere: a float
/// `1e20` is masked as written, not only as `100000000000000000000`). The argument of a tag
/// ordo resolves (`!Env DB_PW`, `!Value name`) names where the secret comes from, and is
/// no secret: what it resolves to is registered where it is used (`StaticResult::
/// secret_texts`), and the name stays readable in messages ("`DB_PW` is not set").
fn node_texts(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|n| node_texts(n, out)),
        Value::Map(entries) => entries.iter().for_each(|e| node_texts(&e.value, out)),
        Value::Tagged(t) if matches!(t.tag.as_str(), "!Env" | "!Value" | "!Variable" | "!Sub") => {}
        Value::Tagged(t) => node_texts(&t.node, out),
        v => out.extend(v.text()),
    }
}

/// One level of definitions, checked for conflicting duplicates.
#[derive(Default)]
struct Level {
    defs: HashMap<String, Definition>,
    /// Every definition added, a conflicting (refused) one included: its secret values are
    /// masked all the same.
    seen: Vec<Definition>,
}

impl Level {
    fn add(&mut self, def: Definition, errors: &mut Vec<ManifestError>) {
        self.seen.push(def.clone());
        match self.defs.get(&def.name) {
            Some(first) if !first.same_as(&def) => errors.push(ManifestError {
                location: def.location.clone(),
                kind: K::ConflictingValue {
                    name: def.name.clone(),
                    first: first.location.clone(),
                },
            }),
            Some(_) => {}
            None => {
                self.defs.insert(def.name.clone(), def);
            }
        }
    }
}

/// Reads `spec.values` (or a bare `values:` list) of one document.
fn definitions(
    file: &Arc<SourceFile>,
    holder: &Node,
    errors: &mut Vec<ManifestError>,
) -> Vec<Definition> {
    let err = |errors: &mut Vec<ManifestError>, mark: Mark, kind| {
        errors.push(ManifestError {
            location: Location::new(file, mark),
            kind,
        })
    };
    let typos = unknown_keys(
        holder,
        "the spec of `Values`",
        &["values"],
        &mut |mark, kind| err(errors, mark, kind),
    );
    let Some(list) = holder.get("values") else {
        // A misspelt `values` is reported once, as the unknown key it is.
        if typos > 0 {
            return Vec::new();
        }
        err(
            errors,
            holder.mark,
            K::MissingField {
                field: "spec.values",
            },
        );
        return Vec::new();
    };
    let Value::Seq(items) = &list.value else {
        err(
            errors,
            list.mark,
            K::WrongType {
                field: "spec.values",
                expected: "a list",
                found: list.type_name(),
            },
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        if !matches!(item.value, Value::Map(_)) {
            err(
                errors,
                item.mark,
                K::WrongType {
                    field: "spec.values[]",
                    expected: "a mapping",
                    found: item.type_name(),
                },
            );
            continue;
        }
        unknown_keys(
            item,
            "a value",
            &[
                "valueName",
                "defaultValue",
                "environmentOverrides",
                "secret",
            ],
            &mut |mark, kind| err(errors, mark, kind),
        );
        let Some(name_node) = item.get("valueName") else {
            err(errors, item.mark, K::MissingField { field: "valueName" });
            continue;
        };
        let Some(name) = name_node.as_str().filter(|n| !n.is_empty()) else {
            err(
                errors,
                name_node.mark,
                K::WrongType {
                    field: "valueName",
                    expected: "a non-empty string",
                    found: name_node.type_name(),
                },
            );
            continue;
        };
        // A misspelt `secret` key (`secrte: true`) is an error above; the value is treated
        // as secret all the same, so the error's excerpt does not show it in clear.
        let misspelt_secret = match &item.value {
            Value::Map(entries) => entries.iter().any(|e| {
                e.key != "secret" && crate::diagnostic::did_you_mean(&e.key, ["secret"]).is_some()
            }),
            _ => false,
        };
        let secret = misspelt_secret
            || match item.get("secret") {
                None => false,
                Some(Node {
                    value: Value::Null, ..
                }) => false,
                Some(Node {
                    value: Value::Bool(b),
                    ..
                }) => *b,
                Some(n) => {
                    err(
                        errors,
                        n.mark,
                        K::WrongType {
                            field: "secret",
                            expected: "a boolean (`true` or `false`)",
                            found: n.type_name(),
                        },
                    );
                    // Fail closed (issue 14): a value meant as secret (`secret: "yes"`) stays
                    // masked in the error about it, whose excerpt may show the value's line.
                    true
                }
            };
        let mut overrides = Vec::new();
        if let Some(list) = item.get("environmentOverrides") {
            match &list.value {
                Value::Null => {}
                Value::Seq(entries) => {
                    for o in entries {
                        let typos = unknown_keys(
                            o,
                            "an environment override",
                            &["environmentName", "value"],
                            &mut |mark, kind| err(errors, mark, kind),
                        );
                        match (
                            o.get("environmentName").and_then(Node::as_str),
                            o.get("value"),
                        ) {
                            (Some(env), Some(value)) => {
                                overrides.push((env.to_string(), value.clone()))
                            }
                            // A misspelt field is reported once, as the unknown key.
                            _ if typos > 0 => {}
                            _ => err(
                                errors,
                                o.mark,
                                K::MissingField {
                                    field: "environmentOverrides[].environmentName and .value",
                                },
                            ),
                        }
                    }
                }
                _ => err(
                    errors,
                    list.mark,
                    K::WrongType {
                        field: "environmentOverrides",
                        expected: "a list",
                        found: list.type_name(),
                    },
                ),
            }
        }
        out.push(Definition {
            name: name.to_string(),
            default: item.get("defaultValue").cloned(),
            overrides,
            secret,
            location: Location::new(file, name_node.mark),
        });
    }
    out
}

/// Reports every key of the mapping `node` that is not in `allowed`, with a "did you mean";
/// returns how many there were.
fn unknown_keys(
    node: &Node,
    section: &'static str,
    allowed: &[&'static str],
    report: &mut impl FnMut(Mark, K),
) -> usize {
    let Value::Map(entries) = &node.value else {
        return 0;
    };
    let mut found = 0;
    for e in entries {
        if !allowed.contains(&e.key.as_str()) {
            report(
                e.key_mark,
                K::UnknownKey {
                    key: e.key.clone(),
                    section,
                    suggestion: crate::diagnostic::did_you_mean(&e.key, allowed.iter().copied())
                        .map(str::to_string),
                    allowed: allowed.join(", "),
                },
            );
            found += 1;
        }
    }
    found
}

/// A values file's text, reading at most one byte more than a manifest file may hold.
/// A values file's text: bounded, a regular file, without a byte order mark.
fn read_bounded(path: &std::path::Path) -> std::io::Result<String> {
    crate::input::read_text_bounded(path, MAX_FILE_BYTES)
}

/// Where values come from, besides `Values` manifests.
#[derive(Debug, Default)]
pub struct ValueSources {
    /// `-f` files, in order (later wins).
    pub files: Vec<std::path::PathBuf>,
    /// `--set key=value`, in order (later wins).
    pub sets: Vec<String>,
}

/// Builds the run's values for `env` from `Values` manifests (taken out of `manifests`),
/// `-f` files and `--set`.
pub fn collect(
    manifests: &mut Vec<Manifest>,
    sources: &ValueSources,
    env: &str,
    errors: &mut Vec<ManifestError>,
) -> ValueSet {
    let mut from_manifests = Level::default();
    let mut kept = Vec::with_capacity(manifests.len());
    let mut environments = Vec::new();
    let mut other_envs = Vec::new();
    for m in manifests.drain(..) {
        if m.kind != VALUES_KIND {
            kept.push(m);
            continue;
        }
        metadata_environments(&m.file, &m.metadata_node, &mut environments);
        override_environments(&m.file, &m.spec, &mut environments);
        if !m.metadata.in_environment(env) {
            // Not this environment's: only its secrets matter (they are masked anyway).
            other_envs.extend(definitions(&m.file, &m.spec, &mut Vec::new()));
            continue;
        }
        for def in definitions(&m.file, &m.spec, errors) {
            from_manifests.add(def, errors);
        }
    }
    for (i, m) in kept.iter_mut().enumerate() {
        m.index = i;
    }
    *manifests = kept;

    let mut levels = vec![from_manifests];
    for path in &sources.files {
        let mut level = Level::default();
        let shown = path.display().to_string();
        match read_bounded(path) {
            Ok(text) if text.len() as u64 > MAX_FILE_BYTES => {
                let placeholder = SourceFile::new(shown, ".", "");
                errors.push(ManifestError {
                    location: Location::new(&placeholder, Mark::new(1, 1)),
                    kind: K::TooLarge {
                        limit: MAX_FILE_BYTES >> 20,
                    },
                });
            }
            Err(e) => {
                let placeholder = SourceFile::new(shown.clone(), ".", "");
                errors.push(ManifestError {
                    location: Location::new(&placeholder, Mark::default()),
                    kind: K::Read {
                        path: shown,
                        reason: e.to_string(),
                    },
                });
            }
            Ok(text) => {
                let file = SourceFile::new(
                    shown,
                    path.parent().unwrap_or(std::path::Path::new(".")),
                    text,
                );
                let stream = parse_stream(file.text(), &Limits::default());
                if let Some(e) = stream.error {
                    errors.push(ManifestError {
                        location: Location::new(&file, e.mark),
                        kind: K::Yaml(e.kind),
                    });
                }
                for doc in stream.documents {
                    // A `Values` manifest, or just its `spec` (a mapping with `values:`).
                    let holder = if doc.root.get("kind").is_some() {
                        if doc.root.get("kind").and_then(Node::as_str) != Some(VALUES_KIND) {
                            errors.push(ManifestError {
                                location: Location::new(&file, doc.root.mark),
                                kind: K::NotValues,
                            });
                            continue;
                        }
                        doc.root
                            .get("spec")
                            .cloned()
                            .unwrap_or_else(|| Node::null(doc.root.mark))
                    } else {
                        doc.root
                    };
                    override_environments(&file, &holder, &mut environments);
                    for def in definitions(&file, &holder, errors) {
                        level.add(def, errors);
                    }
                }
            }
        }
        levels.push(level);
    }

    let defined = levels
        .iter()
        .flat_map(|level| level.defs.keys().cloned())
        .collect();
    let mut set_level = Level::default();
    let mut set_texts = Vec::new();
    for set in &sources.sets {
        let Some((name, text)) = set.split_once('=') else {
            continue;
        };
        let file = SourceFile::new(format!("--set {name}"), ".", text.to_string());
        // A value spanning several lines (`--set "key=$(cat key.pem)"`) is literal text:
        // read as YAML its lines would be folded into one.
        let literal = || Node::new(Mark::new(1, 1), Value::String(text.to_string()));
        let value = if text.contains('\n') {
            literal()
        } else {
            super::parse::parse_one(text, &Limits::default()).unwrap_or_else(|_| literal())
        };
        set_texts.push((name.to_string(), text.to_string()));
        // Later `--set` of the same name wins, like later files.
        set_level.defs.insert(
            name.to_string(),
            Definition {
                name: name.to_string(),
                default: Some(value),
                overrides: Vec::new(),
                secret: false,
                location: Location::new(&file, Mark::new(1, 1)),
            },
        );
    }
    levels.push(set_level);

    // Every definition of a name marked secret anywhere is secret.
    let seen = || {
        levels
            .iter()
            .flat_map(|l| l.seen.iter().chain(l.defs.values()))
            .chain(&other_envs)
    };
    let secret_names: std::collections::HashSet<&str> = seen()
        .filter(|d| d.secret)
        .map(|d| d.name.as_str())
        .collect();
    let mut all_secret_texts = Vec::new();
    for def in seen().filter(|d| secret_names.contains(d.name.as_str())) {
        let nodes = def
            .default
            .iter()
            .chain(def.overrides.iter().map(|(_, n)| n));
        nodes.for_each(|n| node_texts(n, &mut all_secret_texts));
    }
    for (name, text) in &set_texts {
        if secret_names.contains(name.as_str()) {
            all_secret_texts.push(text.clone());
        }
    }
    drop(secret_names);

    let mut set = ValueSet {
        defined,
        environments,
        all_secret_texts,
        ..ValueSet::default()
    };
    for level in levels {
        for (name, def) in level.defs {
            // A `--set` or `-f` value keeps a manifest's `secret: true`.
            let secret = def.secret || set.values.get(&name).is_some_and(|v| v.secret);
            match def.for_env(env) {
                Some(value) => {
                    set.undefined_here.remove(&name);
                    set.values.insert(
                        name,
                        ResolvedValue {
                            value: value.clone(),
                            secret,
                            location: def.location.clone(),
                        },
                    );
                }
                None if !set.values.contains_key(&name) => {
                    set.undefined_here.insert(name, def.location.clone());
                }
                None => {}
            }
        }
    }
    set
}
