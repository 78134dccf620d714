//! `import` for handlers: `ordo/<name>` from the embedded `stdlib/`, or a `.rhai` file inside
//! the importing handler's own source directory. Nothing else.
//!
//! Rhai's stock file resolver accepts absolute paths and `..`, so it is not used. Here a
//! relative path may only have normal components, is resolved against the importing file's
//! directory, canonicalized (following symlinks), and must still be inside the source
//! directory the handler was found in. Compiled modules are cached per file, and shared by
//! every handler that imports them, so a module's top level runs with no capability at all
//! ([`context::enter_module`]): it may define functions and constants, nothing that needs
//! the stdlib's permissions or a handler call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope, Shared};

use super::context;
use crate::diagnostic::did_you_mean;
use crate::manifest::SourceFile;

thread_local! {
    /// The modules being compiled on this thread, outermost first: `(key, shown name)`.
    /// A module's `import`s are resolved while it is evaluated, so an import cycle would
    /// recurse until the stack overflows; it is refused instead.
    static LOADING: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// Pops this thread's [`LOADING`] entry when a module's evaluation ends, however it ends.
struct Loading;

impl Loading {
    /// Marks `key` as being loaded, or names the cycle its import would close.
    fn enter(key: &str, shown: &str) -> Result<Loading, String> {
        LOADING.with(|l| {
            let mut l = l.borrow_mut();
            if let Some(i) = l.iter().position(|(k, _)| k == key) {
                let chain: Vec<&str> = l
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .map(|(_, n)| n.as_str())
                    .chain([shown])
                    .collect();
                return Err(chain.join(" -> "));
            }
            l.push((key.to_string(), shown.to_string()));
            Ok(Loading)
        })
    }
}

impl Drop for Loading {
    fn drop(&mut self) {
        LOADING.with(|l| {
            l.borrow_mut().pop();
        });
    }
}

/// The text of an imported module by the name its errors carry: the embedded stdlib
/// module, or the file (its name is the path as shown, relative to the working directory).
/// Empty when it cannot be read.
pub fn module_source(name: &str) -> Arc<SourceFile> {
    if let Some(n) = name
        .strip_prefix("bundled:stdlib/")
        .and_then(|n| n.strip_suffix(".rhai"))
        && let Some((_, text)) = STDLIB_MODULES.iter().find(|(m, _)| *m == n)
    {
        return SourceFile::new(name, ".", *text);
    }
    // Bounded and regular files only, like the import itself (a file swapped for a FIFO
    // after the import must not hang the error report).
    let text =
        crate::input::read_text_bounded(std::path::Path::new(name), crate::input::MAX_SCRIPT_BYTES)
            .unwrap_or_default();
    SourceFile::new(name, ".", text)
}

/// The Rhai modules embedded from the top-level `stdlib/` directory.
pub const STDLIB_MODULES: &[(&str, &str)] = &[("retry", include_str!("../../stdlib/retry.rhai"))];

/// Where a handler file may import from.
#[derive(Clone, Debug)]
pub struct ImportRoot {
    /// The canonical source directory (`-s DIR`) the handler was found in.
    pub root: PathBuf,
    /// The directory of the handler file itself.
    pub dir: PathBuf,
}

#[derive(Default)]
pub struct ImportResolver {
    /// Keyed by the source name set on each handler's (and imported module's) AST.
    roots: RwLock<HashMap<String, ImportRoot>>,
    cache: RwLock<HashMap<String, Shared<Module>>>,
}

impl ImportResolver {
    pub fn new(roots: HashMap<String, ImportRoot>) -> Self {
        ImportResolver {
            roots: RwLock::new(roots),
            cache: RwLock::default(),
        }
    }

    fn cached(&self, key: &str) -> Option<Shared<Module>> {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Compiles and evaluates a module, caching it under `src.key`.
    fn compile(
        &self,
        engine: &Engine,
        src: ModuleSource<'_>,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        // The error keeps the module's file name, so it is reported where it is.
        let wrap = |e: Box<EvalAltResult>| {
            Box::new(EvalAltResult::ErrorInModule(src.name.to_string(), e, pos))
        };
        let _loading = Loading::enter(&src.key, src.name).map_err(|cycle| {
            let mut e = context::script_error(
                format!("import cycle: {cycle}"),
                Some("modules may not import each other in a circle, nor themselves; move what both need into a third module".into()),
            );
            e.set_position(pos);
            e
        })?;
        let mut ast = engine.compile(src.text).map_err(|e| wrap(e.into()))?;
        ast.set_source(src.name);
        if let Some(r) = src.root {
            // A module may import further files, relative to itself, inside the same root.
            self.roots
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(src.name.to_string(), r);
        }
        // The top level runs once, and its result serves every importer: it runs with no
        // grant (issue 15), whichever handler call imported it first. Its functions run
        // later, in the phase of whoever calls them, with that caller's grant.
        let evaluated = {
            let _module = context::enter_module(src.name);
            Module::eval_ast_as_new(Scope::new(), &ast, engine)
        };
        let mut module = evaluated.map_err(wrap)?;
        // A closure made by a module's function (`#{ greet: |who| ... }`) is an anonymous
        // function private to the module, so the importer could not call it ("function not
        // found: anon$..."). They are exposed under their generated names.
        // (Without the module's environment: such a closure cannot call the module's other
        // functions.)
        for f in ast.iter_fn_def().filter(|f| f.name.starts_with("anon$")) {
            let hash = module.set_script_fn(f.clone());
            #[expect(
                deprecated,
                reason = "script functions cannot be registered through `FuncRegistration`"
            )]
            module.update_fn_namespace(hash, rhai::FnNamespace::Global);
        }
        module.build_index();
        let module: Shared<Module> = module.into();
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(src.key, module.clone());
        Ok(module)
    }
}

/// A module's text and where it comes from.
struct ModuleSource<'a> {
    key: String,
    name: &'a str,
    text: &'a str,
    root: Option<ImportRoot>,
}

/// Rhai replaces a resolver's `ErrorModuleNotFound` with its own, dropping the reason, so
/// refusals are runtime errors that keep it.
fn not_found(path: &str, pos: Position, why: &str) -> Box<EvalAltResult> {
    let mut e = super::context::script_error(format!("module not found: `{path}`: {why}"), None);
    e.set_position(pos);
    e
}

impl ModuleResolver for ImportResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        context::with_load(|s| s.imports += 1);

        if let Some(name) = path.strip_prefix("ordo/") {
            let key = format!("ordo/{name}");
            if let Some(m) = self.cached(&key) {
                return Ok(m);
            }
            let Some((_, text)) = STDLIB_MODULES.iter().find(|(n, _)| *n == name) else {
                let known: Vec<String> = STDLIB_MODULES
                    .iter()
                    .map(|(n, _)| format!("ordo/{n}"))
                    .collect();
                let hint = did_you_mean(path, known.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                return Err(not_found(
                    path,
                    pos,
                    &format!("{hint}the stdlib modules are {}", known.join(", ")),
                ));
            };
            let name = format!("bundled:stdlib/{name}.rhai");
            return self.compile(
                engine,
                ModuleSource {
                    key,
                    name: &name,
                    text,
                    root: None,
                },
                pos,
            );
        }

        let importer = source.and_then(|s| {
            self.roots
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(s)
                .cloned()
                .map(|r| (s, r))
        });
        let Some((importer_name, root)) = importer else {
            return Err(not_found(
                path,
                pos,
                "bundled handlers and stdlib modules may only import `ordo/...`",
            ));
        };
        let relative = Path::new(path);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(not_found(
                path,
                pos,
                "imports are relative to the handler's directory; `..` and absolute paths are not allowed",
            ));
        }
        let mut file = root.dir.join(relative);
        if file.extension().is_none_or(|e| e != "rhai") {
            file.as_mut_os_string().push(".rhai");
        }
        let Ok(real) = file.canonicalize() else {
            let hint = did_you_mean_file(&root.dir, path)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(not_found(
                path,
                pos,
                &format!("no file {}{hint}", file.display()),
            ));
        };
        if !real.starts_with(&root.root) {
            return Err(not_found(
                path,
                pos,
                "it resolves outside the handler's source directory",
            ));
        }
        let key = real.display().to_string();
        if let Some(m) = self.cached(&key) {
            return Ok(m);
        }
        // Bounded like a handler, regular files only, without a byte order mark.
        let text = crate::input::read_text_bounded(&real, crate::input::MAX_SCRIPT_BYTES)
            .map_err(|e| not_found(path, pos, &format!("cannot read {}: {e}", real.display())))?;
        if text.len() as u64 > crate::input::MAX_SCRIPT_BYTES {
            return Err(not_found(
                path,
                pos,
                &format!(
                    "{} is larger than the limit of {} MiB for a script",
                    real.display(),
                    crate::input::MAX_SCRIPT_BYTES >> 20
                ),
            ));
        }
        let shown = importer_dir_relative(importer_name, relative);
        let module_root = ImportRoot {
            root: root.root.clone(),
            dir: real.parent().unwrap_or(&root.root).to_path_buf(),
        };
        self.compile(
            engine,
            ModuleSource {
                key,
                name: &shown,
                text: &text,
                root: Some(module_root),
            },
            pos,
        )
    }
}

/// The `.rhai` file below `dir` whose path (without the extension) is nearest to `wanted`.
fn did_you_mean_file(dir: &Path, wanted: &str) -> Option<String> {
    let wanted = wanted.strip_suffix(".rhai").unwrap_or(wanted);
    let candidates: Vec<String> = walkdir::WalkDir::new(dir)
        .max_depth(4)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rhai"))
        .filter_map(|e| {
            let relative = e.path().strip_prefix(dir).ok()?.with_extension("");
            Some(relative.display().to_string())
        })
        .collect();
    did_you_mean(wanted, candidates.iter().map(String::as_str)).map(str::to_string)
}

/// `handlers/a.rhai` importing `lib/util` → `handlers/lib/util.rhai`, for messages.
fn importer_dir_relative(importer: &str, relative: &Path) -> String {
    let dir = Path::new(importer).parent().unwrap_or(Path::new(""));
    let mut p = dir.join(relative);
    if p.extension().is_none_or(|e| e != "rhai") {
        p.as_mut_os_string().push(".rhai");
    }
    p.display().to_string()
}
