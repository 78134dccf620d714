//! The tags ordo resolves in `spec` and `metadata`: `!Value`, `!Env`, `!Sub`, `!Variable`.
//!
//! Resolution happens in two passes. At load ([`resolve_static`]) everything that can be
//! known before the run is substituted in place, and every reference that cannot be
//! resolved is an input error with its file and line: an unknown value, an unset
//! environment variable, a `!Variable` naming a manifest that does not exist. A
//! `!Variable` (and a `!Sub` that uses one) stays in the tree and becomes an ordering edge
//! to the manifest that produces it. Just before the manifest runs ([`resolve_deferred`])
//! those are looked up among the variables; a missing one fails that manifest. A reference
//! never resolves to an empty string or to the tag's own text.

use std::collections::HashMap;
use std::sync::Arc;

use rhai::Dynamic;

use super::document::NameRef;
use super::error::{ManifestError, ManifestErrorKind as K};
use super::node::{Node, Tagged, Value};
use super::values::ValueSet;
use crate::diagnostic::did_you_mean;
use crate::source::{Location, Mark, SourceFile};

/// How deep `!Value`s may refer to values holding tags themselves.
const MAX_VALUE_NESTING: usize = 16;

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TagErrorKind {
    #[error("{reason}{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    NoValue {
        name: String,
        reason: String,
        suggestion: Option<String>,
    },
    #[error("environment variable `{0}` is not set")]
    EnvNotSet(String),
    #[error("`!Env {0}` reads the environment, which this run denies (--deny env)")]
    EnvDenied(String),
    #[error("`{tag}` takes {expected}, not {found}")]
    BadArgument {
        tag: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("`!Variable {0}`: a variable is named `<manifest>.<key>`")]
    BadVariableName(String),
    #[error("`!Variable {name}`: no manifest `{producer}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownProducer {
        name: String,
        producer: String,
        suggestion: Option<String>,
    },
    /// `a.key` read where `a` has no instance of its own (on the controller, or on a host
    /// `a` does not run on): `a`'s variables are per instance. The message, made where the
    /// hosts are known.
    #[error("{0}")]
    PerHostVariable(String),
    #[error("`!Variable {name}`: manifest `{producer}` is not in environment `{env}`")]
    ProducerOutsideEnvironment {
        name: String,
        producer: String,
        env: String,
    },
    #[error("`!Variable {0}` refers to the manifest's own variable")]
    OwnVariable(String),
    #[error("`!Variable std.{0}`: the built-in variables are `std.env` and `std.action`")]
    UnknownStd(String),
    #[error("`!Sub`: `${{{name}}}` is not defined{}", if *list { " in its map" } else { " as a value" })]
    SubUnknown { name: String, list: bool },
    #[error("`!Sub`: `${{{name}}}` is {found}, which cannot be put into text")]
    SubNotText { name: String, found: &'static str },
    #[error("`!Sub`: unclosed `${{` in the template")]
    SubUnclosed,
    #[error("`!Value {0}` refers to values that refer back to it")]
    ValueLoop(String),
    #[error("variable `{name}` is not set")]
    VariableNotSet { name: String },
}

impl TagErrorKind {
    pub fn help(&self) -> Option<String> {
        match self {
            TagErrorKind::NoValue { .. } => {
                Some("define it in a `kind: Values` manifest, a `-f` values file, or with `--set name=value`".into())
            }
            TagErrorKind::EnvNotSet(n) => Some(format!("export {n} before running ordo")),
            TagErrorKind::EnvDenied(n) => Some(format!("pass it as a value instead (`--set {n}=...` and `!Value {n}`), or run without `--deny env`")),
            TagErrorKind::SubUnknown { list: true, .. } => Some("add it to the `!Sub` map: `!Sub [\"${a}\", {a: ...}]`".into()),
            TagErrorKind::SubNotText { .. } => Some("only strings, numbers and booleans can be interpolated".into()),
            TagErrorKind::VariableNotSet { name } => {
                let producer = split_name(name).map_or(name.as_str(), |(m, _)| m);
                Some(format!("`{producer}` must set it: return it from `apply` or call `vars::set`"))
            }
            _ => None,
        }
    }
}

/// What the load-time pass needs to know about the run.
pub struct StaticContext<'a> {
    pub values: &'a ValueSet,
    pub env: &'a str,
    /// `std.action`: the command's action.
    pub action: &'a str,
    /// Manifests in this environment.
    pub names: &'a HashMap<String, usize>,
    /// Every manifest, for "not in this environment" messages.
    pub all_names: &'a HashMap<String, Vec<String>>,
    /// `--deny env`: an `!Env` is an input error, not a read of the environment.
    pub deny_env: bool,
    /// The text of every secret value: a tag whose value holds one is kept as a
    /// [`TagSource`].
    pub secrets: &'a [String],
    /// `ordo test`: `!Env` reads these (a case's `mocks.env`; `None`: unset), never the
    /// environment.
    pub env_vars: Option<&'a [(String, Option<String>)]>,
}

/// What the load-time pass found in one manifest.
#[derive(Debug, Default)]
pub struct StaticResult {
    /// Manifests whose variables are used: ordering edges.
    pub producers: Vec<NameRef>,
    /// Whether `!Variable`s remain for run time.
    pub deferred: bool,
    /// The tags as written that produced secret text, and those left for run time.
    pub sources: Vec<TagSource>,
    /// The text of every value marked secret used here, as resolved: a secret value
    /// written as `!Env X` is known only now, and must be masked like the others.
    pub secret_texts: Vec<String>,
}

/// A tag as written in a manifest (`!Value db.password`), and where in the manifest it was
/// (`spec.db.password`, the form of the state's `masked` paths): kept for every tag whose
/// value holds secret text and every tag resolved at run time, so the state can record how
/// to re-resolve a value it masked (`ordo rollback`, never `***`).
#[derive(Clone, Debug)]
pub struct TagSource {
    pub path: String,
    /// The tagged node, unresolved.
    pub node: Node,
}

struct Pass<'a, 'b> {
    ctx: &'b StaticContext<'a>,
    file: &'b Arc<SourceFile>,
    manifest: &'b str,
    errors: &'b mut Vec<ManifestError>,
    result: StaticResult,
    /// Where the walk is (`spec.a[0].b`); grown and cut back as it goes.
    path: String,
    /// Whether tags found are the manifest's own, to keep as [`TagSource`]s (not those
    /// inside a value or a `!Sub`, which the outer tag stands for).
    recording: bool,
    /// Set when a value marked secret is used.
    used_secret: bool,
}

/// Under `--deny env`: an error for every `!Env` in `node`, whatever environment it is for
/// (an override of another environment, a manifest not in this one, a value never used),
/// so the refusal does not depend on `-e` (attack on issue 15, F4).
pub fn refuse_env_tags(node: &Node, file: &Arc<SourceFile>, errors: &mut Vec<ManifestError>) {
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|n| refuse_env_tags(n, file, errors)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|e| refuse_env_tags(&e.value, file, errors)),
        Value::Tagged(t) => {
            if t.tag == "!Env" {
                let name = scalar_text(&t.node).unwrap_or_default().to_string();
                errors.push(ManifestError {
                    location: Location::new(file, node.mark),
                    kind: K::Tag(TagErrorKind::EnvDenied(name)),
                });
            } else {
                refuse_env_tags(&t.node, file, errors);
            }
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_) => {}
    }
}

/// Resolves the load-time tags of `node` (a manifest's `spec` or `metadata`, whose path is
/// `root`: `"spec"`, `"metadata"`) in place.
pub fn resolve_static(
    node: &mut Node,
    root: &str,
    file: &Arc<SourceFile>,
    manifest: &str,
    ctx: &StaticContext<'_>,
    result: &mut StaticResult,
    errors: &mut Vec<ManifestError>,
) {
    let mut pass = Pass {
        ctx,
        file,
        manifest,
        errors,
        result: std::mem::take(result),
        path: root.to_string(),
        recording: true,
        used_secret: false,
    };
    pass.walk(node, 0);
    *result = pass.result;
}

/// Whether a string in `node` holds one of `secrets`.
fn holds_secret(node: &Node, secrets: &[String]) -> bool {
    if secrets.is_empty() {
        return false;
    }
    node.try_walk(&mut |n: &Node| match &n.value {
        Value::String(s) if secrets.iter().any(|t| s.contains(t.as_str())) => Err(()),
        _ => Ok(()),
    })
    .is_err()
}

fn scalar_text(node: &Node) -> Option<&str> {
    match &node.value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

impl Pass<'_, '_> {
    fn error(&mut self, mark: Mark, kind: TagErrorKind) {
        self.errors.push(ManifestError {
            location: Location::new(self.file, mark),
            kind: K::Tag(kind),
        });
    }

    /// Keeps `written` (a tag as written, at the current path) as a source: always with
    /// `always` (resolved at run time), else when `resolved` holds secret text.
    fn keep_source(&mut self, written: &Node, resolved: &Node, always: bool) {
        if !self.recording {
            return;
        }
        let secret = std::mem::take(&mut self.used_secret);
        if always || secret || holds_secret(resolved, self.ctx.secrets) {
            self.result.sources.push(TagSource {
                path: self.path.clone(),
                node: written.clone(),
            });
        }
    }

    /// Walks `node`; returns false when it holds an error (the node is then left as is).
    fn walk(&mut self, node: &mut Node, depth: usize) -> bool {
        let at = self.path.len();
        match &mut node.value {
            // Every child is walked, even after an error, so all errors are reported.
            Value::Seq(items) => {
                let mut ok = true;
                for (i, n) in items.iter_mut().enumerate() {
                    let _ = std::fmt::Write::write_fmt(&mut self.path, format_args!("[{i}]"));
                    ok &= self.walk(n, depth);
                    self.path.truncate(at);
                }
                ok
            }
            Value::Map(entries) => {
                let mut ok = true;
                for e in entries.iter_mut() {
                    self.path.push('.');
                    self.path.push_str(&e.key);
                    ok &= self.walk(&mut e.value, depth);
                    self.path.truncate(at);
                }
                ok
            }
            Value::Tagged(t) => {
                let mark = node.mark;
                if self.recording {
                    self.used_secret = false;
                }
                match t.tag.as_str() {
                    "!Value" => match self.value(&t.node, mark, depth) {
                        Some(v) => {
                            let written = std::mem::replace(node, v);
                            self.keep_source(&written, node, false);
                            true
                        }
                        None => false,
                    },
                    "!Env" => match self.env(&t.node, mark) {
                        Some(v) => {
                            let written = std::mem::replace(node, v);
                            self.keep_source(&written, node, false);
                            true
                        }
                        None => false,
                    },
                    "!Variable" => match self.variable(&t.node, mark) {
                        Ok(Some(v)) => {
                            *node = v;
                            true
                        }
                        Ok(None) => {
                            self.result.deferred = true;
                            let written = node.clone();
                            self.keep_source(&written, &written, true);
                            true
                        }
                        Err(()) => false,
                    },
                    "!Sub" => {
                        let mut inner = t.node.clone();
                        let recording = std::mem::replace(&mut self.recording, false);
                        let subbed = self.sub(&mut inner, mark, depth);
                        self.recording = recording;
                        match subbed {
                            Some(Some(text)) => {
                                let v = Node::new(mark, Value::String(text));
                                let written = std::mem::replace(node, v);
                                self.keep_source(&written, node, false);
                                true
                            }
                            Some(None) => {
                                // Keeps variables for run time; the map is resolved already
                                // (the source keeps it as written).
                                let written = node.clone();
                                self.keep_source(&written, &written, true);
                                if let Value::Tagged(t) = &mut node.value {
                                    t.node = inner;
                                }
                                self.result.deferred = true;
                                true
                            }
                            None => false,
                        }
                    }
                    // Any other tag is the handler's business (seen as `{tag, value}`).
                    _ => {
                        self.path.push_str(".value");
                        let ok = self.walk(&mut t.node, depth);
                        self.path.truncate(at);
                        ok
                    }
                }
            }
            _ => true,
        }
    }

    fn value(&mut self, arg: &Node, mark: Mark, depth: usize) -> Option<Node> {
        let Some(name) = scalar_text(arg) else {
            self.error(
                mark,
                TagErrorKind::BadArgument {
                    tag: "!Value",
                    expected: "a value name",
                    found: arg.type_name(),
                },
            );
            return None;
        };
        if depth >= MAX_VALUE_NESTING {
            self.error(mark, TagErrorKind::ValueLoop(name.to_string()));
            return None;
        }
        let Some(found) = self.ctx.values.get(name) else {
            let suggestion = did_you_mean(name, self.ctx.values.names()).map(str::to_string);
            let reason = self.ctx.values.missing_reason(name, self.ctx.env);
            self.error(
                mark,
                TagErrorKind::NoValue {
                    name: name.to_string(),
                    reason,
                    suggestion,
                },
            );
            return None;
        };
        let secret = found.secret;
        self.used_secret |= secret;
        let mut value = found.value.clone();
        // A value may itself use `!Env` or `!Value`; it is resolved where it is used.
        let file = Arc::clone(&found.location.file);
        let mut nested = Pass {
            ctx: self.ctx,
            file: &file,
            manifest: self.manifest,
            errors: self.errors,
            result: StaticResult::default(),
            path: String::new(),
            recording: false,
            used_secret: false,
        };
        let ok = nested.walk(&mut value, depth + 1);
        let nested_secret = nested.used_secret;
        // A value holding a `!Variable` makes this manifest wait for its producer, like a
        // `!Variable` written here (issue 9: the edge and the deferral were lost, so the
        // manifest could run first and fail). The edge points at the `!Value`.
        let found = std::mem::take(&mut nested.result);
        self.result.deferred |= found.deferred;
        self.result.secret_texts.extend(found.secret_texts);
        self.used_secret |= nested_secret;
        if secret && ok {
            let _ = value.try_walk(&mut |n: &Node| -> Result<(), ()> {
                if !matches!(n.value, Value::Tagged(_)) {
                    self.result.secret_texts.extend(n.value.text());
                }
                Ok(())
            });
        }
        for p in found.producers {
            if !self.result.producers.iter().any(|q| q.name == p.name) {
                self.result.producers.push(NameRef { name: p.name, mark });
            }
        }
        value.mark = mark;
        ok.then_some(value)
    }

    fn env(&mut self, arg: &Node, mark: Mark) -> Option<Node> {
        let Some(name) = scalar_text(arg) else {
            self.error(
                mark,
                TagErrorKind::BadArgument {
                    tag: "!Env",
                    expected: "a variable name",
                    found: arg.type_name(),
                },
            );
            return None;
        };
        if self.ctx.deny_env {
            self.error(mark, TagErrorKind::EnvDenied(name.to_string()));
            return None;
        }
        let value = match self.ctx.env_vars {
            Some(mocked) => mocked
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.clone())
                .ok_or(()),
            None => std::env::var(name).map_err(|_| ()),
        };
        match value {
            Ok(v) => Some(Node::new(mark, Value::String(v))),
            Err(_) => {
                self.error(mark, TagErrorKind::EnvNotSet(name.to_string()));
                None
            }
        }
    }

    /// `Ok(Some)`: resolved now (`std.*`); `Ok(None)`: left for run time.
    fn variable(&mut self, arg: &Node, mark: Mark) -> Result<Option<Node>, ()> {
        let Some(name) = scalar_text(arg) else {
            self.error(
                mark,
                TagErrorKind::BadArgument {
                    tag: "!Variable",
                    expected: "a name `manifest.key`",
                    found: arg.type_name(),
                },
            );
            return Err(());
        };
        let Some((producer, key)) = split_name(name) else {
            self.error(mark, TagErrorKind::BadVariableName(name.to_string()));
            return Err(());
        };
        if producer == "std" {
            return match key {
                "env" => Ok(Some(Node::new(
                    mark,
                    Value::String(self.ctx.env.to_string()),
                ))),
                "action" => Ok(Some(Node::new(
                    mark,
                    Value::String(self.ctx.action.to_string()),
                ))),
                other => {
                    self.error(mark, TagErrorKind::UnknownStd(other.to_string()));
                    Err(())
                }
            };
        }
        if producer == self.manifest {
            self.error(mark, TagErrorKind::OwnVariable(name.to_string()));
            return Err(());
        }
        if !self.ctx.names.contains_key(producer) {
            let kind = if self.ctx.all_names.contains_key(producer) {
                TagErrorKind::ProducerOutsideEnvironment {
                    name: name.to_string(),
                    producer: producer.to_string(),
                    env: self.ctx.env.to_string(),
                }
            } else {
                let suggestion = did_you_mean(producer, self.ctx.names.keys().map(String::as_str))
                    .map(str::to_string);
                TagErrorKind::UnknownProducer {
                    name: name.to_string(),
                    producer: producer.to_string(),
                    suggestion,
                }
            };
            self.error(mark, kind);
            return Err(());
        }
        if !self.result.producers.iter().any(|p| p.name == producer) {
            self.result.producers.push(NameRef {
                name: producer.to_string(),
                mark,
            });
        }
        Ok(None)
    }

    /// `Some(Some(text))`: resolved; `Some(None)`: uses variables, kept; `None`: error.
    fn sub(&mut self, arg: &mut Node, mark: Mark, depth: usize) -> Option<Option<String>> {
        match &mut arg.value {
            Value::String(template) => {
                let template = template.clone();
                let mut out = String::new();
                for piece in split_template(&template)
                    .map_err(|e| self.error(mark, e))
                    .ok()?
                {
                    match piece {
                        Piece::Text(t) => out.push_str(&t),
                        Piece::Name(name) => {
                            let arg = Node::new(mark, Value::String(name.clone()));
                            let value = self.value(&arg, mark, depth)?;
                            out.push_str(&self.text_of(&name, &value, mark)?);
                        }
                    }
                }
                Some(Some(out))
            }
            Value::Seq(items) if items.len() == 2 => {
                let [first, second] = items.as_mut_slice() else {
                    return None;
                };
                let template = scalar_text(first).map(str::to_string);
                let Some(template) = template else {
                    self.error(
                        mark,
                        TagErrorKind::BadArgument {
                            tag: "!Sub",
                            expected: "a template string first",
                            found: first.type_name(),
                        },
                    );
                    return None;
                };
                let map_ok = self.walk(second, depth);
                if !map_ok {
                    return None;
                }
                let Value::Map(entries) = &second.value else {
                    self.error(
                        mark,
                        TagErrorKind::BadArgument {
                            tag: "!Sub",
                            expected: "a map second",
                            found: second.type_name(),
                        },
                    );
                    return None;
                };
                let pieces = split_template(&template)
                    .map_err(|e| self.error(mark, e))
                    .ok()?;
                let mut out = String::new();
                let mut deferred = false;
                for piece in &pieces {
                    match piece {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Name(name) => match entries.iter().find(|e| &e.key == name) {
                            None => {
                                self.error(
                                    mark,
                                    TagErrorKind::SubUnknown {
                                        name: name.clone(),
                                        list: true,
                                    },
                                );
                                return None;
                            }
                            Some(e) if matches!(&e.value.value, Value::Tagged(t) if t.tag == "!Variable") => {
                                deferred = true
                            }
                            Some(e) => out.push_str(&self.text_of(name, &e.value, mark)?),
                        },
                    }
                }
                Some(if deferred { None } else { Some(out) })
            }
            _ => {
                self.error(
                    mark,
                    TagErrorKind::BadArgument {
                        tag: "!Sub",
                        expected: "a template string or [template, map]",
                        found: arg.type_name(),
                    },
                );
                None
            }
        }
    }

    fn text_of(&mut self, name: &str, value: &Node, mark: Mark) -> Option<String> {
        match node_text(value) {
            Ok(t) => Some(t),
            Err(found) => {
                self.error(
                    mark,
                    TagErrorKind::SubNotText {
                        name: name.to_string(),
                        found,
                    },
                );
                None
            }
        }
    }
}

/// The text a scalar stands for in a `!Sub`.
/// The same text a handler gets from `"" + value` (issue 14: `2.0` was `2` here, `1e20`
/// `100000000000000000000`).
fn node_text(node: &Node) -> Result<String, &'static str> {
    node.value.text().ok_or(node.value.type_name())
}

enum Piece {
    Text(String),
    Name(String),
}

/// `"a-${x}-$${y}"` → `a-`, `x`, `-${y}` (`$${` is a literal `${`).
fn split_template(template: &str) -> Result<Vec<Piece>, TagErrorKind> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(stripped) = after.strip_prefix("$${") {
            text.push_str("${");
            rest = stripped;
        } else if let Some(stripped) = after.strip_prefix("${") {
            let end = stripped.find('}').ok_or(TagErrorKind::SubUnclosed)?;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Name(stripped[..end].trim().to_string()));
            rest = &stripped[end + 1..];
        } else {
            text.push('$');
            rest = &after[1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Adds to `out` every value name `node` refers to: `!Value name` and the `${name}`s of a
/// string `!Sub` (the list form names entries of its own map, whose `!Value`s are found
/// as nodes of their own). Used to tell a `--set` that nothing reads from one that counts.
pub fn value_references(node: &Node, out: &mut std::collections::BTreeSet<String>) {
    let _ = node.try_walk(&mut |n: &Node| -> Result<(), ()> {
        if let Value::Tagged(t) = &n.value {
            match (t.tag.as_str(), &t.node.value) {
                ("!Value", Value::String(name)) => {
                    out.insert(name.clone());
                }
                ("!Sub", Value::String(template)) => {
                    for piece in split_template(template).unwrap_or_default() {
                        if let Piece::Name(name) = piece {
                            out.insert(name);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    });
}

/// A variable's value, as the runner knows it.
pub struct FoundVariable {
    pub value: Dynamic,
}

/// Converts a node to a Rhai value, resolving the `!Variable`s left by the load pass.
pub fn resolve_deferred(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<FoundVariable>,
) -> Result<Dynamic, (Mark, TagErrorKind)> {
    match &node.value {
        Value::Seq(items) => {
            let mut out = rhai::Array::with_capacity(items.len());
            for item in items {
                out.push(resolve_deferred(item, lookup)?);
            }
            Ok(Dynamic::from_array(out))
        }
        Value::Map(entries) => {
            let mut out = rhai::Map::new();
            for e in entries {
                out.insert(e.key.as_str().into(), resolve_deferred(&e.value, lookup)?);
            }
            Ok(Dynamic::from_map(out))
        }
        Value::Tagged(t) if t.tag == "!Variable" => variable(t, node.mark, lookup),
        Value::Tagged(t) if t.tag == "!Sub" => {
            let Value::Seq(items) = &t.node.value else {
                return Ok(super::node::node_to_dynamic(node));
            };
            let (Some(template), Some(Value::Map(entries))) = (
                items.first().and_then(scalar_text),
                items.get(1).map(|n| &n.value),
            ) else {
                return Ok(super::node::node_to_dynamic(node));
            };
            let mut out = String::new();
            for piece in split_template(template).map_err(|e| (node.mark, e))? {
                match piece {
                    Piece::Text(t) => out.push_str(&t),
                    Piece::Name(name) => {
                        let Some(entry) = entries.iter().find(|e| e.key == name) else {
                            return Err((node.mark, TagErrorKind::SubUnknown { name, list: true }));
                        };
                        let value = match &entry.value.value {
                            Value::Tagged(t) if t.tag == "!Variable" => {
                                variable(t, entry.value.mark, lookup)?
                            }
                            _ => super::node::node_to_dynamic(&entry.value),
                        };
                        if value.is_unit() || value.is_map() || value.is_array() {
                            return Err((
                                node.mark,
                                TagErrorKind::SubNotText {
                                    name,
                                    found: "not a plain value",
                                },
                            ));
                        }
                        out.push_str(&value.to_string());
                    }
                }
            }
            Ok(Dynamic::from(out))
        }
        Value::Tagged(t) => {
            let mut map = rhai::Map::new();
            map.insert("tag".into(), Dynamic::from(t.tag.clone()));
            map.insert("value".into(), resolve_deferred(&t.node, lookup)?);
            Ok(Dynamic::from_map(map))
        }
        _ => Ok(super::node::node_to_dynamic(node)),
    }
}

fn variable(
    t: &Tagged,
    mark: Mark,
    lookup: &dyn Fn(&str) -> Option<FoundVariable>,
) -> Result<Dynamic, (Mark, TagErrorKind)> {
    let name = scalar_text(&t.node).unwrap_or_default();
    lookup(name).map(|v| v.value).ok_or_else(|| {
        (
            mark,
            TagErrorKind::VariableNotSet {
                name: name.to_string(),
            },
        )
    })
}

/// Splits a variable's full name `name.key` at its last dot (a key never holds one; a
/// manifest name may): the `!Variable` tag's syntax, shared with `vars::get` and the runner.
pub fn split_name(full: &str) -> Option<(&str, &str)> {
    full.rsplit_once('.')
        .filter(|(m, k)| !m.is_empty() && !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(template: &str) -> Vec<String> {
        split_template(template)
            .unwrap()
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => format!("T:{t}"),
                Piece::Name(n) => format!("N:{n}"),
            })
            .collect()
    }

    #[test]
    fn templates_split_into_text_and_names() {
        assert_eq!(
            texts("https://${host}:${ port }/"),
            ["T:https://", "N:host", "T::", "N:port", "T:/"]
        );
        assert_eq!(
            texts("cost $5 and $${literal}"),
            ["T:cost $5 and ${literal}"]
        );
        assert!(split_template("${open").is_err());
    }
}
