//! [`ProjectFile`]: `ordo.yaml`, one `kind: Project` document at the project root.
//!
//! It gives the defaults of a run (`-m`, `-s`, `-f`) and the list of environments that
//! exist (DESIGN.md §16). It is read and checked the way manifests are: every problem (YAML,
//! unknown keys with a "did you mean", wrong types, paths that do not exist) is reported at
//! its `file:line:column`, together, and means exit code 3. Paths in it are relative to the
//! file. `inventory` lists the default `-i` files. `sources` lists trees fetched from git or
//! URLs ([`ProjectSource`], checked in `source.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::source::ProjectSource;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::manifest::{
    Limits, Location, ManifestError, ManifestErrorKind as K, Mark, Node, SourceFile, Value,
    parse_stream,
};

/// Lives in `paths` (the input walk and the manifest loader read it below `project/`);
/// kept here under its old path.
pub use crate::paths::PROJECT_FILE;

/// Largest project file ordo reads (it is a few lines).
const MAX_PROJECT_FILE_BYTES: u64 = 1 << 20;

/// The `kind` of the project file's document.
pub const PROJECT_KIND: &str = "Project";

const TOP_LEVEL: &[&str] = &["kind", "version", "apiVersion", "metadata", "spec"];
const METADATA: &[&str] = &["name", "labels", "annotations"];
const SPEC: &[&str] = &[
    "manifests",
    "handlers",
    "values",
    "environments",
    "inventory",
    "sources",
];
/// An environment the project file lists, and where.
#[derive(Clone, Debug)]
pub struct ListedEnvironment {
    pub name: String,
    pub location: Location,
}

/// A checked `ordo.yaml`.
#[derive(Debug)]
pub struct ProjectFile {
    /// The file, canonical.
    pub path: PathBuf,
    pub source: Arc<SourceFile>,
    pub name: String,
    /// `spec.manifests`, `spec.handlers`, `spec.values`: absolute paths.
    pub manifests: Vec<PathBuf>,
    pub handlers: Vec<PathBuf>,
    pub values: Vec<PathBuf>,
    /// `spec.inventory`: the default `-i` files, absolute paths.
    pub inventory: Vec<PathBuf>,
    /// `spec.environments`: when given, the whole set of environments besides `default`.
    pub environments: Option<Vec<ListedEnvironment>>,
    /// `spec.sources`: trees fetched from git or URLs, in the order written.
    pub sources: Vec<ProjectSource>,
}

/// Collects the problems of one project file.
pub(super) struct Checker<'a> {
    file: &'a Arc<SourceFile>,
    dir: &'a Path,
    pub(super) errors: Vec<Diagnostic>,
}

impl Checker<'_> {
    pub(super) fn at(&self, mark: Mark) -> Location {
        Location::new(self.file, mark)
    }

    pub(super) fn kind_error(&mut self, mark: Mark, kind: K) {
        self.errors.push(Diagnostic::from(ManifestError {
            location: self.at(mark),
            kind,
        }));
    }

    pub(super) fn unknown_keys(&mut self, node: &Node, allowed: &[&str], section: &'static str) {
        let Value::Map(entries) = &node.value else {
            return;
        };
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let suggestion = did_you_mean(&e.key, allowed.iter().copied()).map(str::to_string);
                self.errors.push(Diagnostic::from(ManifestError {
                    location: self.at(e.key_mark).with_width(e.key.chars().count()),
                    kind: K::UnknownKey {
                        key: e.key.clone(),
                        section,
                        suggestion,
                        allowed: allowed.join(", "),
                    },
                }));
            }
        }
    }

    pub(super) fn wrong_type(&mut self, node: &Node, field: &'static str, expected: &'static str) {
        self.kind_error(
            node.mark,
            K::WrongType {
                field,
                expected,
                found: node.type_name(),
            },
        );
    }

    pub(super) fn string(&mut self, node: &Node, field: &'static str) -> Option<String> {
        if let Some(s) = node.as_str() {
            return Some(s.to_string());
        }
        self.wrong_type(node, field, "a string");
        None
    }

    /// A list of strings (a lone string counts as a list of one), with their marks.
    pub(super) fn strings(&mut self, node: &Node, field: &'static str) -> Vec<(String, Mark)> {
        match &node.value {
            Value::Null => Vec::new(),
            Value::String(s) => vec![(s.clone(), node.mark)],
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i, field).map(|s| (s, i.mark)))
                .collect(),
            _ => {
                self.wrong_type(node, field, "a list of strings");
                Vec::new()
            }
        }
    }

    /// A list of paths relative to the project file, each of which must exist.
    fn paths(&mut self, node: &Node, field: &'static str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (text, mark) in self.strings(node, field) {
            let path = self.dir.join(&text);
            match std::fs::metadata(&path) {
                Ok(_) => out.push(path),
                Err(e) => self.errors.push(
                    Diagnostic::error(format!("`{field}`: cannot read `{text}`: {e}"))
                        .at(self.at(mark).with_width(text.chars().count()))
                        .help("paths in the project file are relative to the file"),
                ),
            }
        }
        out
    }
}

impl ProjectFile {
    /// Reads and checks the project file at `path` (canonical).
    pub fn load(path: &Path) -> Result<ProjectFile, Vec<Diagnostic>> {
        let shown = crate::paths::shown(path);
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let text = match crate::input::read_text_bounded(path, MAX_PROJECT_FILE_BYTES) {
            Ok(t) if t.len() as u64 > MAX_PROJECT_FILE_BYTES => {
                return Err(vec![Diagnostic::error(format!(
                    "the project file `{shown}` is larger than {} bytes",
                    MAX_PROJECT_FILE_BYTES
                ))]);
            }
            Ok(t) => t,
            Err(e) => {
                return Err(vec![Diagnostic::error(format!(
                    "cannot read the project file `{shown}`: {e}"
                ))
                .help(format!(
                    "`{PROJECT_FILE}` marks the project root: it must be a regular file holding one `kind: {PROJECT_KIND}` document"
                ))]);
            }
        };
        let source = SourceFile::new(shown, dir.clone(), text);
        let mut c = Checker {
            file: &source,
            dir: &dir,
            errors: Vec::new(),
        };
        let stream = parse_stream(source.text(), &Limits::default());
        if let Some(e) = stream.error {
            c.kind_error(e.mark, K::Yaml(e.kind));
            return Err(c.errors);
        }
        let mut documents = stream.documents.into_iter();
        let Some(doc) = documents.next() else {
            c.errors.push(
                Diagnostic::error("the project file holds no document")
                    .at(c.at(Mark::new(1, 1)))
                    .help("write one `kind: Project` document, or remove the file"),
            );
            return Err(c.errors);
        };
        for extra in documents {
            c.errors.push(
                Diagnostic::error("the project file holds more than one document")
                    .at(c.at(extra.mark))
                    .help(
                        "a project is one `kind: Project` document; put manifests in other files",
                    ),
            );
        }
        let root = doc.root;
        if !matches!(root.value, Value::Map(_)) {
            c.wrong_type(&root, "the project file", "a mapping");
            return Err(c.errors);
        }
        c.unknown_keys(&root, TOP_LEVEL, "the project file");
        match root.get("kind") {
            None => c.kind_error(root.mark, K::MissingField { field: "kind" }),
            Some(n) => {
                if let Some(kind) = c.string(n, "kind")
                    && kind != PROJECT_KIND
                {
                    c.errors.push(
                        Diagnostic::error(format!(
                            "the project file must be `kind: {PROJECT_KIND}`, not `{kind}`"
                        ))
                        .at(c.at(n.mark).with_width(kind.chars().count()))
                        .help(format!(
                            "`{PROJECT_FILE}` marks the project root; move manifests to another file"
                        )),
                    );
                }
            }
        }
        match root.get("version").or_else(|| root.get("apiVersion")) {
            None => c.kind_error(root.mark, K::MissingField { field: "version" }),
            Some(n) => {
                if let Some(v) = c.string(n, "version")
                    && v != "v1"
                {
                    c.errors.push(
                        Diagnostic::error(format!(
                            "project file version `{v}` is not supported (this ordo reads `v1`)"
                        ))
                        .at(c.at(n.mark).with_width(v.chars().count())),
                    );
                }
            }
        }
        let mut name = String::new();
        match root.get("metadata") {
            None => c.kind_error(root.mark, K::MissingField { field: "metadata" }),
            Some(m) if !matches!(m.value, Value::Map(_)) => {
                c.wrong_type(m, "metadata", "a mapping")
            }
            Some(m) => {
                c.unknown_keys(m, METADATA, "`metadata`");
                match m.get("name") {
                    None => c.kind_error(
                        m.mark,
                        K::MissingField {
                            field: "metadata.name",
                        },
                    ),
                    Some(n) => name = c.string(n, "metadata.name").unwrap_or_default(),
                }
            }
        }
        let mut project = ProjectFile {
            path: path.to_path_buf(),
            source: Arc::clone(&source),
            name,
            manifests: Vec::new(),
            handlers: Vec::new(),
            values: Vec::new(),
            inventory: Vec::new(),
            environments: None,
            sources: Vec::new(),
        };
        match root.get("spec") {
            None => {}
            Some(s) if s.is_null() => {}
            Some(s) if !matches!(s.value, Value::Map(_)) => c.wrong_type(s, "spec", "a mapping"),
            Some(s) => {
                c.unknown_keys(s, SPEC, "`spec`");
                if let Some(n) = s.get("manifests") {
                    project.manifests = c.paths(n, "spec.manifests");
                }
                if let Some(n) = s.get("handlers") {
                    project.handlers = c.paths(n, "spec.handlers");
                }
                if let Some(n) = s.get("values") {
                    project.values = c.paths(n, "spec.values");
                }
                if let Some(n) = s.get("inventory") {
                    project.inventory = c.paths(n, "spec.inventory");
                }
                if let Some(n) = s.get("environments") {
                    let list = c.strings(n, "spec.environments");
                    let mut listed: Vec<ListedEnvironment> = Vec::new();
                    for (name, mark) in list {
                        let location = c.at(mark).with_width(name.chars().count().max(1));
                        let problem = if name.trim().is_empty() {
                            Some("an environment name cannot be empty".to_string())
                        } else if name.chars().any(char::is_whitespace) {
                            Some(format!(
                                "environment `{name}`: a name cannot hold a blank (it could not be given to `-e`)"
                            ))
                        } else if listed.iter().any(|e| e.name == name) {
                            Some(format!(
                                "environment `{name}` is listed twice in `spec.environments`"
                            ))
                        } else {
                            None
                        };
                        match problem {
                            Some(message) => c.errors.push(
                                Diagnostic::error(message)
                                    .at(location)
                                    .help("list each environment once, by a name `-e` can take"),
                            ),
                            None => listed.push(ListedEnvironment { name, location }),
                        }
                    }
                    project.environments = Some(listed);
                }
                if let Some(n) = s.get("sources") {
                    project.sources = super::source::check(&mut c, n);
                }
            }
        }
        if c.errors.is_empty() {
            Ok(project)
        } else {
            Err(c.errors)
        }
    }
}
