//! [`TestFile`]: a `*.test.yaml` file (`kind: HandlerTest`, DESIGN §12), read and checked.
//!
//! Everything a test file can get wrong is found here, before any case runs, at its
//! `file:line` with a "did you mean" for a misspelt key: an input error (exit 3), as for a
//! manifest. What a case's manifest means (its handler, its schema) is checked by the
//! caller once the handlers are loaded.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::manifest::{Limits, Location, Mark, Node, SourceFile, Value, parse_stream};

/// The `kind` of a handler test document.
pub const TEST_KIND: &str = "HandlerTest";

/// One test file: its cases, in order.
#[derive(Debug)]
pub struct TestFile {
    pub source: Arc<SourceFile>,
    /// `metadata.name`.
    pub name: String,
    /// `spec.handler`: the handler file the cases are meant for (its name ends with it).
    pub handler: Option<(String, Mark)>,
    pub cases: Vec<Case>,
}

/// One case: a manifest, what to call, the mocks, what to expect.
#[derive(Debug)]
pub struct Case {
    /// `it`: what the case shows, as the output names it.
    pub it: String,
    pub mark: Mark,
    pub manifest: CaseManifest,
    pub action: CaseAction,
    pub action_mark: Mark,
    /// `params`: an action's `m.params`.
    pub params: Option<Node>,
    pub mocks: MockSpec,
    pub expect: Expect,
}

/// Where a case's manifest comes from.
#[derive(Debug, Clone)]
pub enum CaseManifest {
    /// Written in the case.
    Inline(Node),
    /// `{file: PATH, name: NAME}`: a manifest of another file (relative to the test file).
    File {
        path: PathBuf,
        name: String,
        mark: Mark,
    },
}

/// What a case calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAction {
    Apply,
    Delete,
    /// `check` alone, as `plan` calls it (read-only): `pending` or `unchanged`.
    Check,
    Verify,
    /// `fn rollback(m, prev)`, with the case's `previous` spec as `prev`.
    Rollback,
    /// A custom action the handler declares (`ordo run NAME`).
    Custom(String),
}

impl CaseAction {
    /// The name as written.
    pub fn name(&self) -> &str {
        match self {
            CaseAction::Apply => "apply",
            CaseAction::Delete => "delete",
            CaseAction::Check => "check",
            CaseAction::Verify => "verify",
            CaseAction::Rollback => "rollback",
            CaseAction::Custom(name) => name,
        }
    }
}

/// How a shell mock (or a `calls` expectation) matches a command.
#[derive(Debug, Clone)]
pub enum CommandMatch {
    /// `match: [globs]`: one glob per argument, the same number of arguments; `None` is
    /// `**`, any number of arguments (at most one per argv).
    Argv(Vec<Option<globset::GlobMatcher>>),
    /// `script: REGEX`: searched for in a string command (`shell::run("...")`).
    Script(regex::Regex),
}

impl CommandMatch {
    /// Whether the command matches.
    pub fn matches(&self, argv: &[String], script: Option<&str>) -> bool {
        match self {
            CommandMatch::Argv(globs) => argv_matches(globs, argv),
            CommandMatch::Script(re) => script.is_some_and(|s| re.is_match(s)),
        }
    }

    /// As written, for messages.
    pub fn shown(&self) -> String {
        match self {
            CommandMatch::Argv(globs) => format!(
                "[{}]",
                globs
                    .iter()
                    .map(|g| format!("{:?}", g.as_ref().map_or("**", |g| g.glob().glob())))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            CommandMatch::Script(re) => format!("script /{}/", re.as_str()),
        }
    }
}

/// Whether `argv` matches the globs word for word, `None` (`**`) standing for any number
/// of words.
fn argv_matches(globs: &[Option<globset::GlobMatcher>], argv: &[String]) -> bool {
    match globs.split_first() {
        None => argv.is_empty(),
        Some((None, rest)) => (0..=argv.len())
            .rev()
            .any(|i| argv.get(i..).is_some_and(|tail| argv_matches(rest, tail))),
        Some((Some(g), rest)) => argv
            .split_first()
            .is_some_and(|(a, tail)| g.is_match(a) && argv_matches(rest, tail)),
    }
}

/// `mocks.shell[]`.
#[derive(Debug, Clone)]
pub struct ShellMock {
    pub matcher: CommandMatch,
    pub stdout: String,
    pub stderr: String,
    pub code: i64,
    /// Answers at most this many calls; then the next matching mock answers.
    pub times: Option<u64>,
    pub mark: Mark,
}

/// `mocks.http[]`.
#[derive(Debug, Clone)]
pub struct HttpMock {
    /// `None`: any method.
    pub method: Option<String>,
    pub url: globset::GlobMatcher,
    pub status: i64,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// A transport error instead of an answer (`connection refused`).
    pub error: Option<String>,
    pub times: Option<u64>,
    pub mark: Mark,
}

/// `mocks.prompt`: an answer for the prompts whose text matches a glob.
#[derive(Debug, Clone)]
pub struct PromptMock {
    pub text: globset::GlobMatcher,
    pub answer: String,
    pub mark: Mark,
}

/// A file of `mocks.files` or `expect.files`, relative to the case's directory.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub path: PathBuf,
    /// `None`: `absent` (expectations only).
    pub content: Option<String>,
    pub mark: Mark,
}

/// `mocks`: what the twins answer, and the files the case starts with.
#[derive(Debug, Clone, Default)]
pub struct MockSpec {
    pub shell: Vec<ShellMock>,
    pub http: Vec<HttpMock>,
    /// Other manifests' variables (`db.id`).
    pub vars: Vec<(String, Node)>,
    pub values: Vec<(String, Node)>,
    /// `None`: the variable is not set.
    pub env: Vec<(String, Option<String>)>,
    pub files: Vec<CaseFile>,
    pub prompt: Vec<PromptMock>,
    /// `time.now`: where the virtual clock starts (seconds since the epoch).
    pub now: Option<f64>,
    /// `host::facts()`.
    pub facts: Option<Node>,
    /// `previous`: the spec `rollback(m, prev)` gets as `prev.spec` (and `m.previous`).
    pub previous: Option<Node>,
}

/// One entry of `expect.calls.<module>`.
#[derive(Debug, Clone)]
pub struct CallExpect {
    pub module: String,
    pub what: CallMatch,
    /// `None`: at least once.
    pub times: Option<u64>,
    pub mark: Mark,
}

/// What a `calls` entry matches.
#[derive(Debug, Clone)]
pub enum CallMatch {
    Command(CommandMatch),
    Http {
        method: Option<String>,
        url: globset::GlobMatcher,
    },
    /// Other modules: the call's argument (an env name, a prompt's text, a sleep's
    /// seconds), as a glob.
    Arg(globset::GlobMatcher),
}

/// `expect.calls`.
#[derive(Debug, Clone, Default)]
pub struct CallsExpect {
    pub calls: Vec<CallExpect>,
    /// `order: strict`: the listed calls happened in this order (of each module).
    pub strict: bool,
}

/// `expect`.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub status: Option<(String, Mark)>,
    pub error: Option<(regex::Regex, Mark)>,
    pub outputs: Option<Node>,
    pub variables: Option<Node>,
    pub files: Vec<CaseFile>,
    pub calls: Option<CallsExpect>,
    pub idempotent: bool,
    /// `logs`: regexes, each searched for in the handler's log lines.
    pub logs: Vec<(regex::Regex, Mark)>,
}

/// The statuses a case can end with.
pub const STATUSES: &[&str] = &[
    "changed",
    "unchanged",
    "failed",
    "pending",
    "verified",
    "warned",
    "done",
    "skipped",
    "rolled_back",
    "invalid",
];

const TOP: &[&str] = &["kind", "version", "apiVersion", "metadata", "spec"];
const METADATA: &[&str] = &["name", "description", "labels"];
const SPEC: &[&str] = &["handler", "cases"];
const CASE: &[&str] = &["it", "manifest", "action", "params", "mocks", "expect"];
const MANIFEST_REF: &[&str] = &["file", "name"];
const MOCKS: &[&str] = &[
    "shell", "http", "vars", "values", "env", "files", "prompt", "time", "facts", "previous",
];
const SHELL: &[&str] = &["match", "script", "stdout", "stderr", "code", "times"];
const HTTP: &[&str] = &[
    "method", "url", "status", "body", "json", "headers", "error", "times",
];
const TIME: &[&str] = &["now"];
const EXPECT: &[&str] = &[
    "status",
    "error",
    "outputs",
    "variables",
    "files",
    "calls",
    "idempotent",
    "logs",
];
const CALL: &[&str] = &["argv", "match", "script", "method", "url", "arg", "times"];
const ACTIONS: &[&str] = &["apply", "delete", "check", "verify", "rollback"];
/// The latest `mocks.time.now`: 9999-12-31T23:59:59Z, in seconds since the epoch.
const MAX_NOW: f64 = 253_402_300_799.0;
/// Largest test file read.
const MAX_FILE_BYTES: u64 = 16 << 20;
/// Most bytes of `mocks.files` contents in one case (each case writes them to disk).
const MAX_CASE_FILES_BYTES: usize = 16 << 20;
/// Most cases in one file, and most mocks or expectations of one kind in a case: a test
/// file is written by hand.
const MAX_ITEMS: usize = 10_000;

/// Reads and checks the test file at `path`; every problem is an input error.
pub fn load(path: &Path, errors: &mut Vec<Diagnostic>) -> Vec<TestFile> {
    let shown = path.strip_prefix(".").unwrap_or(path).display().to_string();
    let text = match crate::input::read_text_bounded(path, MAX_FILE_BYTES) {
        Ok(t) => t,
        Err(e) => {
            errors.push(Diagnostic::error(format!(
                "cannot read test file {shown}: {e}"
            )));
            return Vec::new();
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let source = SourceFile::new(shown, dir, text);
    parse(&source, errors)
}

/// The test documents of one file.
pub fn parse(source: &Arc<SourceFile>, errors: &mut Vec<Diagnostic>) -> Vec<TestFile> {
    let stream = parse_stream(source.text(), &Limits::default());
    let mut r = Reader {
        file: source,
        errors,
    };
    if let Some(e) = &stream.error {
        r.error(e.mark, e.kind.to_string());
    }
    if stream.documents.is_empty() && stream.error.is_none() {
        r.error(Mark::new(1, 1), "the test file holds no document".into());
    }
    stream
        .documents
        .into_iter()
        .filter_map(|doc| r.document(&doc.root))
        .collect()
}

struct Reader<'a> {
    file: &'a Arc<SourceFile>,
    errors: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, mark: Mark, message: String) {
        self.errors
            .push(Diagnostic::error(message).at(Location::new(self.file, mark)));
    }

    /// Reports every YAML tag in `node` (`!Env`, `!Value`...): outside a case's `manifest` a
    /// tag has no meaning, and dropping it would change the value without a word. Whether
    /// one was found.
    fn tags(&mut self, node: &Node) -> bool {
        match &node.value {
            Value::Tagged(t) => {
                self.error_help(
                    node.mark,
                    format!("`{}` here: tags are resolved only in a case's `manifest`", t.tag),
                    "mock what the tag would read in `mocks` (`values`, `vars`, `env`), and write plain values elsewhere".into(),
                );
                self.tags(&t.node);
                true
            }
            Value::Seq(items) => items.iter().fold(false, |found, i| self.tags(i) | found),
            Value::Map(entries) => entries
                .iter()
                .fold(false, |found, e| self.tags(&e.value) | found),
            _ => false,
        }
    }

    fn error_help(&mut self, mark: Mark, message: String, help: String) {
        self.errors.push(
            Diagnostic::error(message)
                .at(Location::new(self.file, mark))
                .help(help),
        );
    }

    /// The entries of a mapping, every key checked against `known`.
    fn map<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&str],
    ) -> Option<&'n [crate::manifest::Entry]> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node.mark,
                format!("{what} must be a mapping, not {}", node.type_name()),
            );
            return None;
        };
        for e in entries {
            if !known.contains(&e.key.as_str()) {
                let hint = did_you_mean(&e.key, known.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.error_help(
                    e.key_mark,
                    format!("unknown key `{}` in {what}{hint}", e.key),
                    format!("keys of {what}: {}", known.join(", ")),
                );
            }
        }
        Some(entries)
    }

    /// Any mapping (names chosen by the user), its entries.
    fn free_map<'n>(&mut self, node: &'n Node, what: &str) -> &'n [crate::manifest::Entry] {
        match &node.value {
            Value::Map(entries) => {
                if entries.len() > MAX_ITEMS {
                    self.error(
                        node.mark,
                        format!("{what} has more than {MAX_ITEMS} entries"),
                    );
                    return &[];
                }
                entries
            }
            _ => {
                self.error(
                    node.mark,
                    format!("{what} must be a mapping, not {}", node.type_name()),
                );
                &[]
            }
        }
    }

    fn seq<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.value {
            Value::Seq(items) if items.len() > MAX_ITEMS => {
                self.error(node.mark, format!("{what} has more than {MAX_ITEMS} items"));
                &[]
            }
            Value::Seq(items) => items,
            _ => {
                self.error(
                    node.mark,
                    format!("{what} must be a list, not {}", node.type_name()),
                );
                &[]
            }
        }
    }

    /// A scalar as text (numbers and booleans too: `stdout: 42`).
    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.value.text() {
            Some(t) => Some(t),
            None => {
                self.error(
                    node.mark,
                    format!("{what} must be a string, not {}", node.type_name()),
                );
                None
            }
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.error(
                    node.mark,
                    format!("{what} must be a string, not {}", node.type_name()),
                );
                None
            }
        }
    }

    fn int(&mut self, node: &Node, what: &str) -> Option<i64> {
        match node.value {
            Value::Int(i) => Some(i),
            _ => {
                self.error(
                    node.mark,
                    format!("{what} must be an integer, not {}", node.type_name()),
                );
                None
            }
        }
    }

    /// A count (`times`): a whole number, at least 0.
    fn count(&mut self, node: &Node, what: &str) -> Option<u64> {
        let i = self.int(node, what)?;
        match u64::try_from(i) {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(node.mark, format!("{what} must be 0 or more, not {i}"));
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(
                    node.mark,
                    format!("{what} must be true or false, not {}", node.type_name()),
                );
                None
            }
        }
    }

    fn glob(&mut self, node: &Node, what: &str) -> Option<globset::GlobMatcher> {
        let text = self.text(node, what)?;
        match globset::GlobBuilder::new(&text)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
        {
            Ok(g) => Some(g.compile_matcher()),
            Err(e) => {
                self.error(node.mark, format!("{what}: invalid glob `{text}`: {e}"));
                None
            }
        }
    }

    fn regex(&mut self, node: &Node, what: &str) -> Option<regex::Regex> {
        let text = self.text(node, what)?;
        match regex::RegexBuilder::new(&text).size_limit(1 << 20).build() {
            Ok(re) => Some(re),
            Err(e) => {
                let first = e.to_string();
                let first = first.lines().last().unwrap_or_default().trim().to_string();
                self.error(
                    node.mark,
                    format!("{what}: invalid regex `{text}`: {first}"),
                );
                None
            }
        }
    }

    /// A path relative to the case's directory, that stays inside it.
    fn case_path(&mut self, key: &str, mark: Mark, what: &str) -> Option<PathBuf> {
        let path = Path::new(key);
        let bad = if key.is_empty() {
            Some("is empty")
        } else if path.components().all(|c| matches!(c, Component::CurDir)) {
            Some("names the case's directory itself, not a file in it")
        } else if path.is_absolute() {
            Some("is absolute")
        } else if path.components().any(|c| matches!(c, Component::ParentDir)) {
            Some("goes up with `..`")
        } else {
            None
        };
        if let Some(bad) = bad {
            self.error_help(
                mark,
                format!("{what} `{key}` {bad}: it must stay inside the case's directory"),
                "name files relative to the case's directory (`m.dir`), as `out/hello.txt`".into(),
            );
            return None;
        }
        Some(path.to_path_buf())
    }

    fn document(&mut self, root: &Node) -> Option<TestFile> {
        let entries = self.map(root, "a test document", TOP)?;
        for e in entries {
            match (&e.value.value, e.key.as_str()) {
                (Value::Map(spec), "spec") => {
                    for x in spec.iter().filter(|x| x.key != "cases") {
                        self.tags(&x.value);
                    }
                }
                _ => {
                    self.tags(&e.value);
                }
            }
        }
        let get = |k: &str| entries.iter().find(|e| e.key == k);
        match get("kind").map(|e| &e.value) {
            Some(k) if k.as_str() == Some(TEST_KIND) => {}
            Some(k) => {
                let found = k.value.text().unwrap_or_default();
                let hint = did_you_mean(&found, [TEST_KIND])
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.error_help(
                    k.mark,
                    format!("a test file holds `kind: {TEST_KIND}` documents, not `kind: {found}`{hint}"),
                    "manifests go in their own files; a `*.test.yaml` file is read by `ordo test` only".into(),
                );
                return None;
            }
            None => {
                self.error(root.mark, format!("missing `kind: {TEST_KIND}`"));
                return None;
            }
        }
        match get("version").or_else(|| get("apiVersion")) {
            Some(v) if v.value.as_str() == Some("v1") => {}
            Some(v) => {
                let found = v.value.value.text().unwrap_or_default();
                self.error(
                    v.value.mark,
                    format!("`{TEST_KIND}` has version `v1`, not `{found}`"),
                );
            }
            None => self.error(root.mark, "missing `version: v1`".into()),
        }
        let mut name = String::new();
        match get("metadata") {
            Some(m) => {
                if let Some(me) = self.map(&m.value, "`metadata`", METADATA) {
                    match me.iter().find(|e| e.key == "name") {
                        Some(n) => {
                            name = self.string(&n.value, "`metadata.name`").unwrap_or_default()
                        }
                        None => self.error(m.value.mark, "missing `metadata.name`".into()),
                    }
                }
            }
            None => self.error(root.mark, "missing `metadata` (with `name`)".into()),
        }
        let Some(spec) = get("spec") else {
            self.error(root.mark, "missing `spec` (with `cases`)".into());
            return None;
        };
        let spec_entries = self.map(&spec.value, "`spec`", SPEC)?;
        let sget = |k: &str| spec_entries.iter().find(|e| e.key == k);
        let handler = sget("handler").and_then(|h| {
            let name = self.string(&h.value, "`spec.handler`")?;
            // Compared by path components (`note.rhai` is not `keynote.rhai`).
            let path = std::path::Path::new(&name);
            if name.is_empty()
                || path.is_absolute()
                || path
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                self.error(
                    h.value.mark,
                    format!("`spec.handler` must name a handler file, such as `note.rhai` or `handlers/note.rhai`, not `{}`", name.escape_debug()),
                );
                return None;
            }
            Some((name, h.value.mark))
        });
        let mut cases = Vec::new();
        match sget("cases") {
            Some(c) => {
                let items = self.seq(&c.value, "`spec.cases`");
                if items.is_empty() && matches!(c.value.value, Value::Seq(_)) {
                    self.error(
                        c.value.mark,
                        "`spec.cases` is empty: a test file has at least one case".into(),
                    );
                }
                for (i, item) in items.iter().enumerate() {
                    if let Some(case) = self.case(item, i) {
                        cases.push(case);
                    }
                }
            }
            None => self.error(spec.value.mark, "missing `spec.cases`".into()),
        }
        // Two cases named alike could not be told apart in the output or by `--filter`.
        for (i, case) in cases.iter().enumerate() {
            if let Some(first) = cases.iter().take(i).find(|c| c.it == case.it) {
                let line = first.mark.line;
                self.error(
                    case.mark,
                    format!("two cases say `it: {}` (the first on line {line})", case.it),
                );
            }
        }
        Some(TestFile {
            source: Arc::clone(self.file),
            name,
            handler,
            cases,
        })
    }

    fn case(&mut self, node: &Node, index: usize) -> Option<Case> {
        let what = format!("case {}", index + 1);
        let entries = self.map(node, &format!("`spec.cases[{index}]`"), CASE)?;
        let tagged = entries
            .iter()
            .filter(|e| e.key != "manifest")
            .fold(false, |found, e| self.tags(&e.value) | found);
        if tagged {
            return None;
        }
        let get = |k: &str| entries.iter().find(|e| e.key == k);
        let it = match get("it") {
            Some(e) => self.text(&e.value, "`it`")?,
            None => {
                self.error(
                    node.mark,
                    format!("{what}: missing `it` (what the case shows)"),
                );
                return None;
            }
        };
        let manifest = match get("manifest") {
            Some(e) => self.manifest(&e.value)?,
            None => {
                self.error(node.mark, format!("case `{it}`: missing `manifest`"));
                return None;
            }
        };
        let (action, action_mark) = match get("action") {
            Some(e) => {
                let name = self.string(&e.value, "`action`")?;
                let action = match name.as_str() {
                    "apply" => CaseAction::Apply,
                    "delete" => CaseAction::Delete,
                    "check" => CaseAction::Check,
                    "verify" => CaseAction::Verify,
                    "rollback" => CaseAction::Rollback,
                    "" => {
                        self.error(e.value.mark, "`action` is empty".into());
                        return None;
                    }
                    other => CaseAction::Custom(other.to_string()),
                };
                (action, e.value.mark)
            }
            None => (CaseAction::Apply, node.mark),
        };
        let params = get("params").map(|e| e.value.clone());
        if let Some(p) = &params {
            self.free_map(p, "`params`");
        }
        let mocks = match get("mocks") {
            Some(e) => self.mocks(&e.value),
            None => MockSpec::default(),
        };
        let expect = match get("expect") {
            Some(e) => self.expect(&e.value),
            None => {
                self.error(node.mark, format!("case `{it}`: missing `expect`"));
                Expect::default()
            }
        };
        Some(Case {
            it,
            mark: node.mark,
            manifest,
            action,
            action_mark,
            params,
            mocks,
            expect,
        })
    }

    fn manifest(&mut self, node: &Node) -> Option<CaseManifest> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node.mark,
                format!(
                    "`manifest` must be a mapping (a manifest, or `{{file, name}}`), not {}",
                    node.type_name()
                ),
            );
            return None;
        };
        if entries.iter().any(|e| e.key == "kind") {
            return Some(CaseManifest::Inline(node.clone()));
        }
        let entries = self.map(
            node,
            "`manifest` (a reference to another file)",
            MANIFEST_REF,
        )?;
        let get = |k: &str| entries.iter().find(|e| e.key == k);
        let (Some(file), Some(name)) = (get("file"), get("name")) else {
            self.error_help(
                node.mark,
                "`manifest` needs either `kind`, `version`, `metadata` and `spec` (written here) or `file` and `name` (a manifest of another file)".into(),
                "as `manifest: {file: ../examples/site.yaml, name: hello}`".into(),
            );
            return None;
        };
        let path = self.string(&file.value, "`manifest.file`")?;
        let name = self.string(&name.value, "`manifest.name`")?;
        Some(CaseManifest::File {
            path: self.file.dir().join(path),
            name,
            mark: file.value.mark,
        })
    }

    fn mocks(&mut self, node: &Node) -> MockSpec {
        let mut spec = MockSpec::default();
        let Some(entries) = self.map(node, "`mocks`", MOCKS) else {
            return spec;
        };
        for e in entries {
            let v = &e.value;
            match e.key.as_str() {
                "shell" => {
                    for item in self.seq(v, "`mocks.shell`") {
                        if let Some(m) = self.shell_mock(item) {
                            spec.shell.push(m);
                        }
                    }
                }
                "http" => {
                    for item in self.seq(v, "`mocks.http`") {
                        if let Some(m) = self.http_mock(item) {
                            spec.http.push(m);
                        }
                    }
                }
                "vars" => {
                    for x in self.free_map(v, "`mocks.vars`") {
                        if crate::manifest::split_name(&x.key).is_none() {
                            self.error_help(
                                x.key_mark,
                                format!(
                                    "`mocks.vars`: `{}` is not a variable of another manifest",
                                    x.key
                                ),
                                "name it `manifest.key`, as `vars::get(\"db.id\")` reads it".into(),
                            );
                            continue;
                        }
                        spec.vars.push((x.key.clone(), x.value.clone()));
                    }
                }
                "values" => {
                    for x in self.free_map(v, "`mocks.values`") {
                        spec.values.push((x.key.clone(), x.value.clone()));
                    }
                }
                "env" => {
                    for x in self.free_map(v, "`mocks.env`") {
                        let value = if x.value.is_null() {
                            None
                        } else {
                            self.text(&x.value, "a `mocks.env` value")
                        };
                        spec.env.push((x.key.clone(), value));
                    }
                }
                "files" => {
                    let mut total: usize = 0;
                    for x in self.free_map(v, "`mocks.files`") {
                        let Some(path) = self.case_path(&x.key, x.key_mark, "`mocks.files`") else {
                            continue;
                        };
                        if let Some(content) = self.text(&x.value, "a `mocks.files` content") {
                            total = total.saturating_add(content.len());
                            if total > MAX_CASE_FILES_BYTES {
                                self.error(
                                    x.key_mark,
                                    format!(
                                        "`mocks.files` holds more than {} MiB in one case",
                                        MAX_CASE_FILES_BYTES >> 20
                                    ),
                                );
                                break;
                            }
                            spec.files.push(CaseFile {
                                path,
                                content: Some(content),
                                mark: x.key_mark,
                            });
                        }
                    }
                }
                "prompt" => {
                    for x in self.free_map(v, "`mocks.prompt`") {
                        let key = Node::new(x.key_mark, Value::String(x.key.clone()));
                        if let (Some(text), Some(answer)) = (
                            self.glob(&key, "a `mocks.prompt` text"),
                            self.text(&x.value, "a `mocks.prompt` answer"),
                        ) {
                            spec.prompt.push(PromptMock {
                                text,
                                answer,
                                mark: x.key_mark,
                            });
                        }
                    }
                }
                "time" => {
                    if let Some(t) = self.map(v, "`mocks.time`", TIME)
                        && let Some(now) = t.iter().find(|x| x.key == "now")
                    {
                        let seconds = match now.value.value {
                            Value::Int(i) => i.to_string().parse().ok(),
                            Value::Float(f) => Some(f),
                            _ => None,
                        };
                        // A real clock says a finite time between 1970 and 9999.
                        spec.now =
                            seconds.filter(|s: &f64| s.is_finite() && (0.0..=MAX_NOW).contains(s));
                        if spec.now.is_none() {
                            self.error_help(
                                now.value.mark,
                                format!(
                                    "`mocks.time.now` must be seconds since the epoch, from 0 to {MAX_NOW} (the year 9999), not `{}`",
                                    now.value.value.text().unwrap_or_else(|| now.value.type_name().to_string())
                                ),
                                "as `now: 1767225600` (2026-01-01T00:00:00Z)".into(),
                            );
                        }
                    }
                }
                "facts" => {
                    self.free_map(v, "`mocks.facts`");
                    spec.facts = Some(v.clone());
                }
                "previous" => {
                    self.free_map(v, "`mocks.previous` (the spec applied before)");
                    spec.previous = Some(v.clone());
                }
                _ => {}
            }
        }
        spec
    }

    fn command(
        &mut self,
        entries: &[crate::manifest::Entry],
        node: &Node,
        what: &str,
    ) -> Option<CommandMatch> {
        let get = |k: &str| entries.iter().find(|e| e.key == k);
        let argv = get("match").or_else(|| get("argv"));
        match (argv, get("script")) {
            (Some(m), None) => {
                let items = self.seq(&m.value, &format!("{what} `{}`", m.key));
                if items.is_empty() {
                    self.error(
                        m.value.mark,
                        format!("{what}: an argv has at least one word"),
                    );
                    return None;
                }
                let rest = items.iter().filter(|i| i.as_str() == Some("**")).count();
                if rest > 1 {
                    self.error(
                        m.value.mark,
                        format!("{what}: at most one `**` (any number of words) in an argv"),
                    );
                    return None;
                }
                let globs: Option<Vec<_>> = items
                    .iter()
                    .map(|i| {
                        if i.as_str() == Some("**") {
                            Some(None)
                        } else {
                            self.glob(i, &format!("{what} argv word")).map(Some)
                        }
                    })
                    .collect();
                globs.map(CommandMatch::Argv)
            }
            (None, Some(s)) => self
                .regex(&s.value, &format!("{what} `script`"))
                .map(CommandMatch::Script),
            (Some(_), Some(s)) => {
                self.error(s.key_mark, format!("{what}: give `match` (an argv) or `script` (a regex for a string command), not both"));
                None
            }
            (None, None) => {
                self.error_help(
                    node.mark,
                    format!("{what}: which command? give `match` or `script`"),
                    "`match: [\"systemctl\", \"is-active\", \"*\"]` (one glob per argument) for an argv, `script: \"^apt-get \"` (a regex) for a string command".into(),
                );
                None
            }
        }
    }

    fn shell_mock(&mut self, node: &Node) -> Option<ShellMock> {
        let entries = self.map(node, "a `mocks.shell` entry", SHELL)?;
        let matcher = self.command(entries, node, "`mocks.shell`")?;
        let get = |k: &str| entries.iter().find(|e| e.key == k);
        let mut out = ShellMock {
            matcher,
            stdout: String::new(),
            stderr: String::new(),
            code: 0,
            times: None,
            mark: node.mark,
        };
        if let Some(e) = get("stdout") {
            out.stdout = self.text(&e.value, "`stdout`").unwrap_or_default();
        }
        if let Some(e) = get("stderr") {
            out.stderr = self.text(&e.value, "`stderr`").unwrap_or_default();
        }
        if let Some(e) = get("code") {
            out.code = self.int(&e.value, "`code`").unwrap_or(0);
        }
        if let Some(e) = get("times") {
            out.times = self.count(&e.value, "`times`");
        }
        Some(out)
    }

    fn http_mock(&mut self, node: &Node) -> Option<HttpMock> {
        let entries = self.map(node, "a `mocks.http` entry", HTTP)?;
        let get = |k: &str| entries.iter().find(|e| e.key == k);
        let Some(url) = get("url") else {
            self.error(
                node.mark,
                "a `mocks.http` entry needs `url` (a glob)".into(),
            );
            return None;
        };
        let url = self.glob(&url.value, "`url`")?;
        let method = get("method")
            .and_then(|m| self.string(&m.value, "`method`"))
            .map(|m| m.to_ascii_uppercase());
        let mut out = HttpMock {
            method,
            url,
            status: 200,
            body: String::new(),
            headers: Vec::new(),
            error: None,
            times: None,
            mark: node.mark,
        };
        if let Some(e) = get("status") {
            out.status = self.int(&e.value, "`status`").unwrap_or(200);
        }
        match (get("body"), get("json")) {
            (Some(b), None) => out.body = self.text(&b.value, "`body`").unwrap_or_default(),
            (None, Some(j)) => {
                out.body = node_json(&j.value).to_string();
                out.headers
                    .push(("content-type".into(), "application/json".into()));
            }
            (Some(_), Some(j)) => self.error(j.key_mark, "give `body` or `json`, not both".into()),
            (None, None) => {}
        }
        if let Some(h) = get("headers") {
            for x in self.free_map(&h.value, "`headers`") {
                if let Some(v) = self.text(&x.value, "a header value") {
                    out.headers.push((x.key.to_ascii_lowercase(), v));
                }
            }
        }
        if let Some(e) = get("error") {
            out.error = self.text(&e.value, "`error`");
        }
        if let Some(e) = get("times") {
            out.times = self.count(&e.value, "`times`");
        }
        Some(out)
    }

    fn expect(&mut self, node: &Node) -> Expect {
        let mut x = Expect::default();
        let Some(entries) = self.map(node, "`expect`", EXPECT) else {
            return x;
        };
        for e in entries {
            let v = &e.value;
            match e.key.as_str() {
                "status" => {
                    if let Some(s) = self.string(v, "`expect.status`") {
                        if STATUSES.contains(&s.as_str()) {
                            x.status = Some((s, v.mark));
                        } else {
                            let hint = did_you_mean(&s, STATUSES.iter().copied())
                                .map(|h| format!("; did you mean `{h}`?"))
                                .unwrap_or_default();
                            self.error_help(
                                v.mark,
                                format!("unknown status `{s}`{hint}"),
                                format!("statuses: {}", STATUSES.join(", ")),
                            );
                        }
                    }
                }
                "error" => x.error = self.regex(v, "`expect.error`").map(|r| (r, v.mark)),
                "outputs" => {
                    self.free_map(v, "`expect.outputs`");
                    x.outputs = Some(v.clone());
                }
                "variables" => {
                    for entry in self.free_map(v, "`expect.variables`") {
                        if crate::manifest::split_name(&entry.key).is_none() {
                            self.error_help(
                                entry.key_mark,
                                format!("`expect.variables`: `{}` names no manifest", entry.key),
                                "name variables in full, `manifest.key` (`expect.outputs` takes the case's own keys)".into(),
                            );
                        }
                    }
                    x.variables = Some(v.clone());
                }
                "files" => {
                    for f in self.free_map(v, "`expect.files`") {
                        let Some(path) = self.case_path(&f.key, f.key_mark, "`expect.files`")
                        else {
                            continue;
                        };
                        // `absent` is the marker; a file holding that very text is
                        // `{content: absent}`.
                        let content = match &f.value.value {
                            Value::String(s) if s == "absent" => None,
                            Value::Map(entries)
                                if entries.len() == 1
                                    && entries.first().is_some_and(|e| e.key == "content") =>
                            {
                                let Some(e) = entries.first() else { continue };
                                match self.text(&e.value, "`content` of an `expect.files` entry") {
                                    Some(t) => Some(t),
                                    None => continue,
                                }
                            }
                            _ => match self.text(&f.value, "an `expect.files` content (a text, `absent`, or `{content: TEXT}`)") {
                                Some(t) => Some(t),
                                None => continue,
                            },
                        };
                        x.files.push(CaseFile {
                            path,
                            content,
                            mark: f.key_mark,
                        });
                    }
                }
                "calls" => x.calls = Some(self.calls(v)),
                "idempotent" => x.idempotent = self.bool(v, "`expect.idempotent`").unwrap_or(false),
                "logs" => {
                    for item in self.seq(v, "`expect.logs`") {
                        if let Some(re) = self.regex(item, "an `expect.logs` entry") {
                            x.logs.push((re, item.mark));
                        }
                    }
                }
                _ => {}
            }
        }
        x
    }

    fn calls(&mut self, node: &Node) -> CallsExpect {
        let mut out = CallsExpect::default();
        const MODULES: &[&str] = &["shell", "http", "env", "prompt", "time", "facts", "order"];
        let Some(entries) = self.map(node, "`expect.calls`", MODULES) else {
            return out;
        };
        for e in entries {
            if e.key == "order" {
                match e.value.as_str() {
                    Some("strict") => out.strict = true,
                    Some("any") => out.strict = false,
                    _ => self.error(e.value.mark, "`order` is `strict` or `any`".into()),
                }
                continue;
            }
            if !MODULES.contains(&e.key.as_str()) {
                continue;
            }
            for item in self.seq(&e.value, &format!("`expect.calls.{}`", e.key)) {
                if let Some(c) = self.call(&e.key, item) {
                    out.calls.push(c);
                }
            }
        }
        out
    }

    fn call(&mut self, module: &str, node: &Node) -> Option<CallExpect> {
        let entries = self.map(node, &format!("an `expect.calls.{module}` entry"), CALL)?;
        let get = |k: &str| entries.iter().find(|e| e.key == k);
        let what = match module {
            "shell" => CallMatch::Command(self.command(entries, node, "`expect.calls.shell`")?),
            "http" => {
                let Some(url) = get("url") else {
                    self.error(
                        node.mark,
                        "an `expect.calls.http` entry needs `url` (a glob)".into(),
                    );
                    return None;
                };
                CallMatch::Http {
                    url: self.glob(&url.value, "`url`")?,
                    method: get("method")
                        .and_then(|m| self.string(&m.value, "`method`"))
                        .map(|m| m.to_ascii_uppercase()),
                }
            }
            _ => match get("arg") {
                Some(a) => CallMatch::Arg(self.glob(&a.value, "`arg`")?),
                None => CallMatch::Arg(globset::Glob::new("*").ok()?.compile_matcher()),
            },
        };
        let times = match get("times") {
            Some(t) => Some(self.count(&t.value, "`times`")?),
            None => None,
        };
        Some(CallExpect {
            module: module.to_string(),
            what,
            times,
            mark: node.mark,
        })
    }
}

/// A YAML node as JSON (a tag is kept as its value).
pub fn node_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => s.clone().into(),
        Value::Seq(items) => items.iter().map(node_json).collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|e| (e.key.clone(), node_json(&e.value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Tagged(t) => node_json(&t.node),
    }
}

/// The built-in actions, for "did you mean" on a misspelt one.
pub fn builtin_actions() -> &'static [&'static str] {
    ACTIONS
}

/// One `mocks.shell` entry read from `node` as a test file's is (`mock::shell(...)` of a
/// `*.test.rhai`); each problem into `errors`.
pub fn shell_mock(
    source: &Arc<SourceFile>,
    node: &Node,
    errors: &mut Vec<Diagnostic>,
) -> Option<ShellMock> {
    Reader {
        file: source,
        errors,
    }
    .shell_mock(node)
}

/// One `mocks.http` entry read from `node` as a test file's is (`mock::http(...)`).
pub fn http_mock(
    source: &Arc<SourceFile>,
    node: &Node,
    errors: &mut Vec<Diagnostic>,
) -> Option<HttpMock> {
    Reader {
        file: source,
        errors,
    }
    .http_mock(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(globs: &[&str]) -> Vec<Option<globset::GlobMatcher>> {
        globs
            .iter()
            .map(|g| (*g != "**").then(|| globset::Glob::new(g).unwrap().compile_matcher()))
            .collect()
    }

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn argv_globs_match_word_for_word_and_a_double_star_any_number_of_words() {
        let cases: &[(&[&str], &str, bool)] = &[
            (
                &["systemctl", "is-active", "*"],
                "systemctl is-active web",
                true,
            ),
            (
                &["systemctl", "is-active", "*"],
                "systemctl is-active",
                false,
            ),
            (
                &["systemctl", "is-active", "*"],
                "systemctl is-active web x",
                false,
            ),
            (&["*"], "true", true),
            (&["*"], "", false),
            (&["**"], "", true),
            (&["**"], "a b c", true),
            (&["systemctl", "**"], "systemctl", true),
            (
                &["systemctl", "**", "*.service"],
                "systemctl --user restart web.service",
                true,
            ),
            (
                &["systemctl", "**", "*.service"],
                "systemctl restart web",
                false,
            ),
            (&["curl", "*/*"], "curl http://x/y", true),
        ];
        for (globs, command, want) in cases {
            assert_eq!(
                argv_matches(&argv(globs), &words(command)),
                *want,
                "{globs:?} against `{command}`"
            );
        }
    }
}
