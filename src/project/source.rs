//! [`ProjectSource`]: one entry of the project file's `spec.sources` (DESIGN.md §15, §16).
//!
//! An entry names a tree fetched from git or a URL (`url`), under a name of its own (the
//! key of `ordo.lock` and of every message about it). Its tree is added both as a manifest
//! directory and as a handler directory, unless the entry names `manifests:` and/or
//! `handlers:` sub-paths: then only those, for those roles (a handler library names just
//! `handlers:`; `.` is the tree itself). `maxPermissions` caps what a handler from it may
//! declare.
//!
//! This file checks keys (with a "did you mean"), types, names unique, addresses valid,
//! sub-paths relative and inside the tree. Whether the permission names exist is checked
//! where permissions live (`run/trees.rs`), at the locations kept here, since this stage
//! sits below them.

use std::path::{Component, Path, PathBuf};

use super::file::Checker;
use crate::diagnostic::Diagnostic;
use crate::manifest::{Location, ManifestErrorKind as K, Node, Value};
use crate::sources::Address;

const KEYS: &[&str] = &["name", "url", "manifests", "handlers", "maxPermissions"];

/// A `spec.sources` entry, checked for shape.
#[derive(Clone, Debug)]
pub struct ProjectSource {
    /// Unique in the file: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// The address as written (it parses).
    pub url: String,
    /// Where `url` is written (for errors about the address or fetching it).
    pub url_location: Location,
    /// Where the entry's `name` is written.
    pub location: Location,
    /// `manifests:`: a sub-path of the tree (relative, inside it).
    pub manifests: Option<PathBuf>,
    /// `handlers:`: a sub-path of the tree (relative, inside it).
    pub handlers: Option<PathBuf>,
    /// `maxPermissions`: the permission names as written, with where each is written;
    /// `None` when the entry sets no cap.
    pub max_permissions: Option<Vec<(String, Location)>>,
}

impl ProjectSource {
    /// The sub-paths of the tree used as manifest directories: `manifests:`, or the whole
    /// tree when the entry names neither `manifests:` nor `handlers:`.
    pub fn manifest_dir(&self) -> Option<&Path> {
        match (&self.manifests, &self.handlers) {
            (Some(m), _) => Some(m),
            (None, None) => Some(Path::new(".")),
            (None, Some(_)) => None,
        }
    }

    /// The same for handler directories.
    pub fn handler_dir(&self) -> Option<&Path> {
        match (&self.handlers, &self.manifests) {
            (Some(h), _) => Some(h),
            (None, None) => Some(Path::new(".")),
            (None, Some(_)) => None,
        }
    }
}

/// Checks `spec.sources` (a list of mappings); the well-formed entries, and every problem in
/// `c`.
pub(super) fn check(c: &mut Checker<'_>, node: &Node) -> Vec<ProjectSource> {
    let items = match &node.value {
        Value::Null => return Vec::new(),
        Value::Seq(items) => items,
        _ => {
            c.wrong_type(node, "spec.sources", "a list of sources");
            return Vec::new();
        }
    };
    let mut out: Vec<ProjectSource> = Vec::new();
    for item in items {
        if !matches!(item.value, Value::Map(_)) {
            c.wrong_type(
                item,
                "a `spec.sources` entry",
                "a mapping (`{name: ..., url: ...}`)",
            );
            continue;
        }
        c.unknown_keys(item, KEYS, "a `spec.sources` entry");
        let before = c.errors.len();
        let name = match item.get("name") {
            None => {
                c.kind_error(
                    item.mark,
                    K::MissingField {
                        field: "spec.sources[].name",
                    },
                );
                None
            }
            Some(n) => c.string(n, "spec.sources[].name").map(|s| (s, n.mark)),
        };
        let url = match item.get("url") {
            None => {
                c.kind_error(
                    item.mark,
                    K::MissingField {
                        field: "spec.sources[].url",
                    },
                );
                None
            }
            Some(n) => c.string(n, "spec.sources[].url").map(|s| (s, n.mark)),
        };
        if let Some((name, mark)) = &name {
            let at = c.at(*mark).with_width(name.chars().count().max(1));
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
            {
                c.errors.push(
                    Diagnostic::error(format!("source name `{name}` is not a valid name"))
                        .at(at)
                        .help("a source name uses only letters, digits, `.`, `_` and `-` (it keys `ordo.lock`)"),
                );
            } else if let Some(first) = out.iter().find(|s| s.name == *name) {
                c.errors.push(
                    Diagnostic::error(format!("source `{name}` is listed twice in `spec.sources`"))
                        .at(at)
                        .note(format!("first listed at {}", first.location))
                        .help("give each source its own name"),
                );
            }
        }
        if let Some((url, mark)) = &url {
            if url.trim().is_empty() {
                c.errors.push(
                    Diagnostic::error("`url` of a source cannot be empty")
                        .at(c.at(*mark))
                        .help("an address such as `git+https://host/org/repo.git//dir?ref=v1.2.0`"),
                );
            } else if let Err(e) = Address::parse(url) {
                let who = name.as_ref().map_or("a source", |(n, _)| n.as_str());
                c.errors.push(
                    Diagnostic::error(format!("source `{who}`: {}", e.message))
                        .at(c.at(*mark).with_width(url.chars().count()))
                        .help_opt(e.help),
                );
            }
        }
        let manifests = item
            .get("manifests")
            .and_then(|n| sub_path(c, n, "spec.sources[].manifests"));
        let handlers = item
            .get("handlers")
            .and_then(|n| sub_path(c, n, "spec.sources[].handlers"));
        let max_permissions = item.get("maxPermissions").map(|n| {
            c.strings(n, "spec.sources[].maxPermissions")
                .into_iter()
                .map(|(p, mark)| {
                    let at = c.at(mark).with_width(p.chars().count().max(1));
                    (p, at)
                })
                .collect()
        });
        if c.errors.len() > before {
            continue;
        }
        if let (Some((name, name_mark)), Some((url, url_mark))) = (name, url) {
            out.push(ProjectSource {
                location: c.at(name_mark).with_width(name.chars().count().max(1)),
                url_location: c.at(url_mark).with_width(url.chars().count().max(1)),
                name,
                url,
                manifests,
                handlers,
                max_permissions,
            });
        }
    }
    out
}

/// A `manifests:`/`handlers:` sub-path: relative, inside the tree (no `..`).
fn sub_path(c: &mut Checker<'_>, node: &Node, field: &'static str) -> Option<PathBuf> {
    let text = c.string(node, field)?;
    let path = Path::new(&text);
    let problem = if text.trim().is_empty() {
        Some("cannot be empty (write `.` for the whole tree)")
    } else if path.is_absolute() || text.starts_with('/') || text.starts_with('\\') {
        Some("must be relative to the source's tree, not absolute")
    } else if path
        .components()
        .any(|p| matches!(p, Component::ParentDir | Component::Prefix(_)))
    {
        Some("must stay inside the source's tree (no `..`)")
    } else {
        None
    };
    match problem {
        Some(why) => {
            c.errors.push(
                Diagnostic::error(format!("`{field}` `{text}` {why}"))
                    .at(c.at(node.mark).with_width(text.chars().count().max(1)))
                    .help("sub-paths of a source are relative to the tree its `url` names"),
            );
            None
        }
        None => Some(path.to_path_buf()),
    }
}
