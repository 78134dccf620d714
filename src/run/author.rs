//! The authoring commands (DESIGN §11): `ordo schema`, `ordo new manifest KIND NAME`,
//! `ordo new handler KIND` and `ordo init [DIR]`.
//!
//! `schema` and `new` see the handlers a run would: `-s`, else the project file's
//! `spec.handlers`, else the directories of the manifest files, plus the bundled ones.
//! Nothing here runs a handler function; only the handlers' top levels run, as at load.
//! Files are written only when none of them exists (or with `--force`), all or nothing.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{HandlerDirsArgs, InitArgs, NewArgs, NewWhat, SchemaArgs};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::exit;
use crate::handler::{HandlerRegistry, SourceOrigin, assign_origins, discover};
use crate::manifest::Limits;
use crate::project::Project;
use crate::script::{ImportResolver, ImportRoot, ScriptLimits};

/// The handler template of `ordo new handler` and `ordo init`: `__KIND__` is the kind.
const HANDLER: &str = include_str!("templates/handler.rhai");
/// Its test file (DESIGN §12).
const HANDLER_TEST: &str = include_str!("templates/handler.test.yaml");
const INIT_PROJECT: &str = include_str!("templates/ordo.yaml");
const INIT_MANIFEST: &str = include_str!("templates/hello.yaml");
const INIT_README: &str = include_str!("templates/README.md");
const INIT_GITIGNORE: &str = include_str!("templates/gitignore");
const INIT_VSCODE: &str = include_str!("templates/settings.json");

/// The kind `ordo init` writes a handler for.
const INIT_KIND: &str = "Note";
/// Where `ordo init` puts the JSON Schema of its manifests (`.vscode/settings.json` maps
/// the manifests to it; `ordo schema > ordo.schema.json` refreshes it).
const SCHEMA_FILE: &str = "ordo.schema.json";

/// A failed authoring command: what to print, and the exit code.
struct Failure {
    code: i32,
    diagnostics: Vec<Diagnostic>,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: exit::USAGE,
        diagnostics: Vec::new(),
        message: message.into(),
    }
}

fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: exit::FAILED,
        diagnostics: Vec::new(),
        message: message.into(),
    }
}

/// Runs `ordo schema`; `Err` carries the exit code.
pub(super) fn schema(args: &SchemaArgs) -> Result<(), i32> {
    finish(print_schema(&args.dirs))
}

/// Runs `ordo new manifest` or `ordo new handler`; `Err` carries the exit code.
pub(super) fn new(args: &NewArgs) -> Result<(), i32> {
    finish(match &args.what {
        NewWhat::Manifest { kind, name, dirs } => new_manifest(kind, name, dirs),
        NewWhat::Handler { kind, force, dirs } => new_handler(kind, *force, dirs),
    })
}

/// Runs `ordo init`; `Err` carries the exit code.
pub(super) fn init(args: &InitArgs) -> Result<(), i32> {
    finish(init_project(
        args.dir.as_deref().unwrap_or(Path::new(".")),
        args.force,
    ))
}

fn finish(result: Result<(), Failure>) -> Result<(), i32> {
    let Err(f) = result else {
        return Ok(());
    };
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut err = std::io::stderr().lock();
    for d in &f.diagnostics {
        let _ = writeln!(err, "{}\n", crate::report::diagnostic::render(d, color));
    }
    let _ = writeln!(err, "error: {}", f.message);
    Err(f.code)
}

/// The handlers a run would see, loaded (top levels run, bundled ones compiled), and the
/// handler directories in order.
fn load_handlers(dirs: &HandlerDirsArgs) -> Result<(HandlerRegistry, Vec<PathBuf>), Failure> {
    let (src, origins) = locate(dirs)?;
    let registry = load_registry(&src, &origins).map_err(input)?;
    Ok((registry, src))
}

fn input(diagnostics: Vec<Diagnostic>) -> Failure {
    Failure {
        code: exit::INPUT,
        message: format!(
            "{} input error{} in the handlers; nothing was run",
            diagnostics.len(),
            if diagnostics.len() == 1 { "" } else { "s" }
        ),
        diagnostics,
    }
}

/// The handler directories a run would use (the handler trees of the project's
/// `spec.sources` too, unless `-s` was given), and where the sources' ones came from.
fn locate(dirs: &HandlerDirsArgs) -> Result<(Vec<PathBuf>, Vec<Arc<SourceOrigin>>), Failure> {
    let project = Project::locate(dirs.manifests.first().map(PathBuf::as_path)).map_err(input)?;
    let mut src = handler_dirs(dirs, &project);
    if !dirs.src.is_empty() {
        return Ok((src, Vec::new()));
    }
    let (trees, origins) =
        super::trees::project_handlers(&project, dirs.sources.policy()).map_err(input)?;
    for dir in trees {
        if !src.contains(&dir) {
            src.push(dir);
        }
    }
    Ok((src, origins))
}

/// The handlers of `src` and the bundled ones, every one compiled.
fn load_registry(
    src: &[PathBuf],
    origins: &[Arc<SourceOrigin>],
) -> Result<HandlerRegistry, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut found = discover(src, &mut errors);
    assign_origins(&mut found, origins);
    errors.retain(|e| !e.is_warning());
    let roots: HashMap<String, ImportRoot> = found.iter().map(|f| f.import_root()).collect();
    let limits = ScriptLimits::default();
    let engine = crate::stdlib::engine(&limits, ImportResolver::new(roots));
    let registry = HandlerRegistry::load(&engine, &found, &limits, &mut errors);
    if !errors.is_empty() {
        return Err(errors.into_iter().map(|e| e.into_diagnostic()).collect());
    }
    for index in 0..registry.handlers().len() {
        registry.prepare(&engine, &limits, index);
    }
    Ok(registry)
}

/// `-s`, else the project file's `spec.handlers`, else the directories of the manifest
/// files (`-m`, else the project's manifests), else the project root.
fn handler_dirs(dirs: &HandlerDirsArgs, project: &Project) -> Vec<PathBuf> {
    if !dirs.src.is_empty() {
        return dirs.src.clone();
    }
    let shown = |paths: &[PathBuf]| -> Vec<PathBuf> {
        paths
            .iter()
            .map(|p| PathBuf::from(crate::paths::shown(p)))
            .collect()
    };
    if let Some(file) = &project.file
        && !file.handlers.is_empty()
    {
        return shown(&file.handlers);
    }
    let manifests = if !dirs.manifests.is_empty() {
        dirs.manifests.clone()
    } else if let Some(file) = project.file.as_ref().filter(|f| !f.manifests.is_empty()) {
        shown(&file.manifests)
    } else if project.file.is_some() {
        shown(std::slice::from_ref(&project.root))
    } else {
        vec![PathBuf::from(".")]
    };
    let loaded = crate::manifest::load_except(&manifests, &[], &Limits::default());
    let found = super::load::default_src(&loaded.files);
    if found.is_empty() {
        // No manifest yet: the directory given (or the project's root).
        manifests
            .into_iter()
            .filter(|p| p.as_os_str() != "-")
            .map(|p| if p.is_file() { parent_of(&p) } else { p })
            .take(1)
            .collect()
    } else {
        found
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn print_schema(dirs: &HandlerDirsArgs) -> Result<(), Failure> {
    let (registry, _) = load_handlers(dirs)?;
    let text = schema_text(&registry);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(failed(format!("cannot write the schema: {e}")))
        }
        _ => Ok(()),
    }
}

fn schema_text(registry: &HandlerRegistry) -> String {
    let schema = crate::handler::json_schema::manifest_schema(registry);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A kind `ordo new handler` can name a file after: a letter, then letters and digits.
fn check_kind(kind: &str) -> Result<(), Failure> {
    if crate::handler::json_schema::DATA_KINDS.contains(&kind) {
        return Err(usage(format!(
            "`{kind}` is a kind ordo reads itself ({}); no handler can serve it: choose another name",
            crate::handler::json_schema::DATA_KINDS.join(", ")
        )));
    }
    let mut chars = kind.chars();
    let good = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric());
    if good {
        Ok(())
    } else {
        Err(usage(format!(
            "`{kind}` is not a kind ordo can write a handler for: a letter, then letters and digits (`SystemdUnit`)"
        )))
    }
}

/// `SystemdUnit` → `systemd_unit`: the handler's file name, as the bundled handlers'.
fn snake_case(kind: &str) -> String {
    let mut out = String::with_capacity(kind.len() + 4);
    let chars: Vec<char> = kind.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let boundary = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_ascii_uppercase)
                    && next.is_some_and(char::is_ascii_lowercase));
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn new_manifest(kind: &str, name: &str, dirs: &HandlerDirsArgs) -> Result<(), Failure> {
    if !crate::manifest::valid_name(name) {
        return Err(usage(format!(
            "`{name}` is not a manifest name: use letters, digits, `.`, `_` and `-`"
        )));
    }
    let (registry, _) = load_handlers(dirs)?;
    // The newest major version some handler serves (a user handler beats a bundled one).
    let served = (0..=20u64)
        .rev()
        .find_map(|m| Some((m, registry.resolve(kind, &format!("v{m}")).ok()?)));
    let Some((major, index)) = served else {
        let mut known: Vec<String> = registry
            .handlers()
            .iter()
            .flat_map(|h| h.registrations.iter().map(|r| r.full_kind()))
            .collect();
        known.sort();
        known.dedup();
        let hint = did_you_mean(kind, known.iter().map(String::as_str))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let served_anywhere = known.iter().any(|k| k == kind);
        return Err(usage(if served_anywhere {
            format!("no handler serves `{kind}` at a version `v0` to `v20`")
        } else {
            format!(
                "no handler serves kind `{kind}`{hint} (`ordo handlers` lists the kinds; `ordo new handler {kind}` writes one)"
            )
        }));
    };
    let handler = registry.get(index);
    let schema = handler.compiled().ok().and_then(|c| c.schema.clone());
    let title = format!(
        "{kind} v{major}, served by {}; `ordo explain {kind}` describes its fields",
        handler.name()
    );
    let text = crate::handler::skeleton::manifest(
        kind,
        &format!("v{major}"),
        name,
        schema.as_deref(),
        &title,
    );
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(failed(format!("cannot write the manifest: {e}")))
        }
        _ => Ok(()),
    }
}

/// The handler and test file of `kind`: `(file name, text)`.
fn handler_files(kind: &str) -> [(String, String); 2] {
    let snake = snake_case(kind);
    let fill = |t: &str| t.replace("__KIND__", kind).replace("__FILE__", &snake);
    [
        (format!("{snake}.rhai"), fill(HANDLER)),
        (format!("{snake}.test.yaml"), fill(HANDLER_TEST)),
    ]
}

fn new_handler(kind: &str, force: bool, dirs: &HandlerDirsArgs) -> Result<(), Failure> {
    check_kind(kind)?;
    let (src, origins) = locate(dirs)?;
    let dir = src.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let files: Vec<(PathBuf, String)> = handler_files(kind)
        .into_iter()
        .map(|(name, text)| (dir.join(name), text))
        .collect();
    write_all(&dir, &files, force)?;
    let mut out = std::io::stdout().lock();
    for (path, _) in &files {
        let _ = writeln!(out, "wrote {}", shell_word(&crate::paths::shown(path)));
    }
    // Another handler of the kind is worth a word (a broken one elsewhere stops nothing).
    let registry = load_registry(&src, &origins).ok();
    let user = registry.as_ref().and_then(|r| {
        r.handlers()
            .iter()
            .filter(|h| !h.bundled && !files.iter().any(|(p, _)| same_file(p, h.name())))
            .find(|h| h.registrations.iter().any(|r| r.full_kind() == kind))
            .map(|h| h.name().to_string())
    });
    if let Some(other) = user {
        let _ = writeln!(
            out,
            "note: {other} registers `{kind}` too: two handlers for one version are an error; remove one"
        );
    }
    let _ = writeln!(
        out,
        "next: `ordo test {}` runs its tests; `ordo new manifest {kind} NAME` prints a manifest for it",
        shell_word(&crate::paths::shown(&dir))
    );
    Ok(())
}

/// `text` as one word of a shell command line to copy: as it is when it is safe, else
/// single-quoted; with control characters (a newline), `$'...'` with escapes, so the
/// command stays on one line.
fn shell_word(text: &str) -> String {
    if !text.chars().any(char::is_control)
        && let Ok(q) = shlex::try_quote(text)
    {
        return q.into_owned();
    }
    let mut out = String::from("$'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Whether `path` is the handler shown as `name`.
fn same_file(path: &Path, name: &str) -> bool {
    crate::paths::canonical(path) == crate::paths::canonical(Path::new(name))
}

/// Writes every file, creating directories, unless one exists and `force` is not given:
/// then nothing is written and the error names them all. `root` is the directory the
/// command writes into: a directory below it that is a symlink is refused (nothing is
/// written through a link out of the project).
///
/// All or nothing, as far as a file system allows: the directories are created and every
/// file is written to a temporary file beside its name first; only then are they renamed
/// into place. When a step fails, what this run created (files, directories) is removed,
/// and the error says so (or names what could not be removed).
fn write_all(root: &Path, files: &[(PathBuf, String)], force: bool) -> Result<(), Failure> {
    if !force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(p, _)| p.symlink_metadata().is_ok())
            .map(|(p, _)| crate::paths::shown(p))
            .collect();
        if !existing.is_empty() {
            return Err(usage(format!(
                "{} already exist{}: {}; nothing was written (give --force to overwrite)",
                if existing.len() == 1 {
                    "this file"
                } else {
                    "these files"
                },
                if existing.len() == 1 { "s" } else { "" },
                existing.join(", ")
            )));
        }
    }
    for (path, _) in files {
        if let Some(link) = linked_dir(root, path) {
            return Err(usage(format!(
                "{} is a symlink; ordo writes its files only into real directories of {}; nothing was written",
                crate::paths::shown(&link),
                if root.as_os_str().is_empty() {
                    ".".to_string()
                } else {
                    crate::paths::shown(root)
                }
            )));
        }
    }
    let mut staged = Staged::default();
    let result = stage(files, force, &mut staged);
    match result {
        Ok(()) => Ok(()),
        Err(message) => {
            let left = staged.undo();
            let tail = if left.is_empty() {
                "nothing was written".to_string()
            } else {
                format!("left behind, remove by hand: {}", left.join(", "))
            };
            Err(failed(format!("{message}; {tail}")))
        }
    }
}

/// What a [`write_all`] has created so far, to remove when a later step fails.
#[derive(Default)]
struct Staged {
    /// Directories created, in the order created.
    dirs: Vec<PathBuf>,
    /// Files renamed into place that did not exist before.
    files: Vec<PathBuf>,
}

impl Staged {
    /// Removes what was created (files, then directories, deepest first); returns what
    /// could not be removed.
    fn undo(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        for f in self.files.drain(..).rev() {
            if std::fs::remove_file(&f).is_err() && f.symlink_metadata().is_ok() {
                left.push(crate::paths::shown(&f));
            }
        }
        for d in self.dirs.drain(..).rev() {
            if std::fs::remove_dir(&d).is_err() && d.symlink_metadata().is_ok() {
                left.push(crate::paths::shown(&d));
            }
        }
        left
    }
}

/// Creates the directories, writes every file to a temporary file, then renames them all.
fn stage(files: &[(PathBuf, String)], force: bool, staged: &mut Staged) -> Result<(), String> {
    let mut temps = Vec::with_capacity(files.len());
    for (path, text) in files {
        let parent = parent_of(path);
        create_dirs(&parent, staged)
            .map_err(|e| format!("cannot create {}: {e}", crate::paths::shown(&parent)))?;
        let tmp = temp_file(&parent, text)
            .map_err(|e| format!("cannot write {}: {e}", crate::paths::shown(path)))?;
        temps.push((path, tmp));
    }
    for (path, tmp) in temps {
        let existed = path.symlink_metadata().is_ok();
        let done = if force {
            tmp.persist(path).map(|_| ())
        } else {
            tmp.persist_noclobber(path).map(|_| ())
        };
        done.map_err(|e| format!("cannot write {}: {}", crate::paths::shown(path), e.error))?;
        if !existed {
            staged.files.push(path.clone());
        }
    }
    Ok(())
}

/// `create_dir_all`, recording each directory it creates.
fn create_dirs(dir: &Path, staged: &mut Staged) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, staged)?;
    }
    std::fs::create_dir(dir)?;
    staged.dirs.push(dir.to_path_buf());
    Ok(())
}

/// The first directory between `root` and `path`'s name that is a symlink.
fn linked_dir(root: &Path, path: &Path) -> Option<PathBuf> {
    let below = path.parent()?.strip_prefix(root).ok()?;
    let mut at = root.to_path_buf();
    for part in below.components() {
        at.push(part);
        if at
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Some(at);
        }
    }
    None
}

/// `text` in a temporary file in `dir` with the final mode (0644), to be renamed over
/// its name: a symlink at the name is then replaced, never written through; without
/// `--force`, `persist_noclobber` (a hard link) does not overwrite a file that appeared
/// since the check.
fn temp_file(dir: &Path, text: &str) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ordo-new-")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    Ok(tmp)
}

fn init_project(dir: &Path, force: bool) -> Result<(), Failure> {
    let name = crate::paths::canonical(dir)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| crate::manifest::valid_name(n))
        .unwrap_or_else(|| "my-project".into());
    let fill = |t: &str| t.replace("__NAME__", &name).replace("__KIND__", INIT_KIND);
    // `wrote ordo.yaml` for `ordo init`, `wrote shop/ordo.yaml` for `ordo init shop`.
    let dir = if dir == Path::new(".") {
        Path::new("")
    } else {
        dir
    };
    let [(handler_name, handler), (test_name, test)] = handler_files(INIT_KIND);
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join("ordo.yaml"), fill(INIT_PROJECT)),
        (
            dir.join("manifests").join("hello.yaml"),
            fill(INIT_MANIFEST),
        ),
        (dir.join("handlers").join(handler_name), handler.clone()),
        (dir.join("handlers").join(test_name), test),
        (dir.join(".gitignore"), INIT_GITIGNORE.to_string()),
        (
            dir.join(".vscode").join("settings.json"),
            INIT_VSCODE.to_string(),
        ),
        (dir.join("README.md"), fill(INIT_README)),
    ];
    // The schema of the project's manifests: the bundled kinds and the new handler's.
    let registry = init_registry(&handler)?;
    files.push((dir.join(SCHEMA_FILE), schema_text(&registry)));
    write_all(dir, &files, force)?;
    let mut out = std::io::stdout().lock();
    for (path, _) in &files {
        let _ = writeln!(out, "wrote {}", shell_word(&crate::paths::shown(path)));
    }
    let cd = if dir.as_os_str().is_empty() {
        String::new()
    } else {
        format!("cd {} && ", shell_word(&crate::paths::shown(dir)))
    };
    let _ = writeln!(
        out,
        "next: `{cd}ordo apply`, then `ordo plan` (nothing to do) and `ordo test`; README.md lists more"
    );
    Ok(())
}

/// The registry `ordo init`'s project will have: the bundled handlers and its own, loaded
/// from the template's text (nothing is on disk yet).
fn init_registry(handler: &str) -> Result<HandlerRegistry, Failure> {
    let dir = tempfile::tempdir().map_err(|e| failed(format!("cannot make a directory: {e}")))?;
    let path = dir.path().join(format!("{}.rhai", snake_case(INIT_KIND)));
    std::fs::write(&path, handler)
        .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
    let (registry, _) = load_handlers(&HandlerDirsArgs {
        manifests: Vec::new(),
        src: vec![dir.path().to_path_buf()],
        sources: crate::cli::SourceArgs::default(),
    })?;
    Ok(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_snake_case() {
        assert_eq!(snake_case("SystemdUnit"), "systemd_unit");
        assert_eq!(snake_case("Note"), "note");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("S3Bucket"), "s3_bucket");
    }

    #[test]
    fn shell_words_stay_one_word_on_one_line() {
        assert_eq!(shell_word("shop"), "shop");
        assert_eq!(shell_word("x y;touch PWN"), "'x y;touch PWN'");
        assert_eq!(shell_word("it's"), "\"it's\"");
        assert_eq!(shell_word("nl\nrm -rf ~"), "$'nl\\nrm -rf ~'");
        assert_eq!(shell_word("a'\\\u{1}"), "$'a\\'\\\\\\x01'");
    }
}
