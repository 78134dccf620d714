//! [`HandlerRegistry`]: every loaded handler, and which one serves a manifest.
//!
//! Each script is compiled once and its top level run once, in the load phase, where
//! `register` and `permissions` record what it serves and may do. Resolution matches a
//! manifest's `(group, kind)` exactly and its version by range; exactly one handler must
//! match, a user handler beating a bundled one. The result never depends on file order:
//! candidates are collected completely before deciding.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use rhai::{AST, Engine, Scope};

use super::bundled::{BUNDLED, shown_name};
use super::discover::Found;
use super::error::{HandlerError, HandlerErrorKind as K, ResolveErrorKind};
use super::origin::{Origin, excess};
use super::version::{ManifestVersion, Range};
use crate::diagnostic::did_you_mean;
use crate::manifest::{Location, Mark, SourceFile};
use crate::script::{HandlerInfo, ScriptError, ScriptLimits, context};
use crate::stdlib::{Capability, Permissions};

/// One `register(kind, range)` call.
#[derive(Clone, Debug)]
pub struct Registration {
    pub group: Option<String>,
    pub kind: String,
    pub range: Range,
    pub mark: Mark,
}

impl Registration {
    /// `group/Kind` or `Kind`.
    pub fn full_kind(&self) -> String {
        match &self.group {
            Some(g) => format!("{g}/{}", self.kind),
            None => self.kind.clone(),
        }
    }
}

/// Which of the handler functions a script defines (with one parameter).
#[derive(Clone, Copy, Debug, Default)]
pub struct Functions {
    pub check: bool,
    pub apply: bool,
    pub delete: bool,
    /// `fn rollback(m, prev)` (two parameters), for `apply --rollback-on-failure`.
    pub rollback: bool,
    /// `fn verify(m)` (DESIGN §14).
    pub verify: bool,
}

/// A compiled script, ready to call.
#[derive(Debug)]
pub struct Compiled {
    pub ast: AST,
    pub functions: Functions,
    /// Whether the top level must run before each call (it imports modules or defines
    /// constants, which functions can only see when it has run).
    pub replay_top_level: bool,
    /// What its `schema(#{...})` declares about `spec`; `None`: a free-form spec.
    pub schema: Option<Arc<super::schema::Schema>>,
}

#[derive(Debug)]
pub struct Handler {
    pub file: Arc<SourceFile>,
    pub bundled: bool,
    pub registrations: Vec<Registration>,
    pub info: Arc<HandlerInfo>,
    /// User handlers are compiled when they load; bundled ones when a run first needs them
    /// ([`HandlerRegistry::prepare`]).
    compiled: OnceLock<Result<Compiled, String>>,
    /// sha256 of the script text.
    pub hash: String,
    /// Every call of a user handler that needs a capability (empty for bundled handlers,
    /// which the tests check), found by the lint when it loads.
    pub uses: Vec<super::lint::CapabilityUse>,
    /// The custom actions its top level declared (`actions(#{...})`; none for the bundled
    /// handlers).
    pub actions: Vec<super::actions::ActionDecl>,
    /// Where it came from: a local file, the binary, or a source at a pin.
    pub origin: Origin,
}

impl Handler {
    pub fn name(&self) -> &str {
        self.file.name()
    }

    pub fn permissions(&self) -> Permissions {
        self.info.permissions
    }

    /// The compiled script; `Err` if it was never prepared or does not compile.
    pub fn compiled(&self) -> Result<&Compiled, String> {
        match self.compiled.get() {
            Some(Ok(c)) => Ok(c),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!(
                "internal error: handler {} was not prepared before the run",
                self.name()
            )),
        }
    }
}

/// `(group, kind)`.
type KindKey = (Option<String>, String);

#[derive(Debug, Default)]
pub struct HandlerRegistry {
    handlers: Vec<Handler>,
    /// `(group, kind)` → `(handler, registration)` indices.
    by_kind: HashMap<KindKey, Vec<(usize, usize)>>,
}

/// The sources of every bundled handler.
pub fn bundled_sources() -> Vec<Arc<SourceFile>> {
    BUNDLED
        .iter()
        .map(|b| SourceFile::new(shown_name(b.file), ".", b.source))
        .collect()
}

/// A bundled handler, registered from its table entry, compiled later.
fn bundled(b: &super::bundled::Bundled) -> Handler {
    let registrations = b
        .kinds
        .iter()
        .filter_map(|(kind, range)| {
            let (group, bare) = split_kind(kind);
            Some(Registration {
                group: group.map(str::to_string),
                kind: bare.to_string(),
                range: Range::parse(range).ok()?,
                mark: Mark::default(),
            })
        })
        .collect();
    let source = SourceFile::new(shown_name(b.file), ".", b.source);
    let line = |needle: &str| {
        source
            .text()
            .lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
    };
    Handler {
        info: Arc::new(HandlerInfo {
            name: source.name().to_string(),
            permissions: b
                .permissions
                .iter()
                .filter_map(|p| Capability::parse(p))
                .collect(),
            permissions_line: line("permissions("),
        }),
        hash: crate::stdlib::sha256_hex(b.source.as_bytes()),
        file: source,
        bundled: true,
        registrations,
        compiled: OnceLock::new(),
        uses: Vec::new(),
        actions: Vec::new(),
        origin: Origin::Bundled,
    }
}

impl HandlerRegistry {
    /// Compiles and registers every handler: the bundled ones, then those found on disk.
    pub fn load(
        engine: &Engine,
        found: &[Found],
        limits: &ScriptLimits,
        errors: &mut Vec<HandlerError>,
    ) -> Self {
        context::set_load_timeout(limits.timeout);
        let mut registry = HandlerRegistry::default();
        for b in BUNDLED {
            registry.add(bundled(b));
        }
        let before = errors.len();
        for f in found {
            if let Some(mut handler) = load_one(engine, &f.source, false, limits, errors) {
                handler.origin = f.origin.clone();
                if let Some((source, over)) = excess(&handler.origin, handler.permissions()) {
                    let line = handler.info.permissions_line.unwrap_or(1);
                    errors.push(HandlerError {
                        location: Location::new(
                            &handler.file,
                            Mark::new(u32::try_from(line).unwrap_or(1), 1),
                        ),
                        kind: K::ExceedsSource {
                            source_name: source,
                            excess: over.names().join(", "),
                            allowed: handler
                                .origin
                                .source()
                                .and_then(|s| s.max_permissions)
                                .map(|m| m.names().join(", "))
                                .unwrap_or_default(),
                        },
                    });
                }
                // Added all the same: its manifests find it, and the error above is the one
                // problem to fix.
                registry.add(handler);
            }
        }
        // A module imported by several handlers is checked with each: say each problem once.
        let mut seen = std::collections::HashSet::new();
        let mut index = 0;
        errors.retain(|e| {
            index += 1;
            index <= before
                || !matches!(e.kind, K::Lint(_))
                || seen.insert((e.location.to_string(), e.kind.to_string()))
        });
        registry
    }

    /// Compiles the bundled handler `index` if it is one and not compiled yet. Call it on
    /// the main thread before a run: its top level runs in the load phase.
    pub fn prepare(&self, engine: &Engine, limits: &ScriptLimits, index: usize) {
        let Some(handler) = self.handlers.get(index) else {
            return;
        };
        handler.compiled.get_or_init(|| {
            let mut errors = Vec::new();
            match load_one(engine, &handler.file, true, limits, &mut errors) {
                Some(loaded) => loaded
                    .compiled
                    .into_inner()
                    .unwrap_or_else(|| Err("not compiled".into())),
                None => Err(errors
                    .into_iter()
                    .map(|e| e.kind.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")),
            }
        });
    }

    fn add(&mut self, handler: Handler) {
        let index = self.handlers.len();
        for (r, reg) in handler.registrations.iter().enumerate() {
            self.by_kind
                .entry((reg.group.clone(), reg.kind.clone()))
                .or_default()
                .push((index, r));
        }
        self.handlers.push(handler);
    }

    pub fn handlers(&self) -> &[Handler] {
        &self.handlers
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "handler indices come from `resolve`, which only returns positions in `handlers`"
    )]
    pub fn get(&self, index: usize) -> &Handler {
        &self.handlers[index]
    }

    /// Registration `r` of handler `h`, as recorded in `by_kind`.
    fn registration(&self, h: usize, r: usize) -> Option<&Registration> {
        self.handlers.get(h)?.registrations.get(r)
    }

    /// The source file of a handler or module by its shown name, for error excerpts.
    pub fn source(&self, name: &str) -> Option<&Arc<SourceFile>> {
        self.handlers
            .iter()
            .map(|h| &h.file)
            .find(|f| f.name() == name)
    }

    /// The handler serving `kind` at `version` (as written in a manifest).
    pub fn resolve(&self, kind: &str, version: &str) -> Result<usize, ResolveErrorKind> {
        let parsed = ManifestVersion::parse(version).map_err(ResolveErrorKind::BadVersion)?;
        let (kind_group, bare_kind) = split_kind(kind);
        let group = match (kind_group, parsed.group.as_deref()) {
            (Some(k), Some(v)) if k != v => {
                return Err(ResolveErrorKind::GroupMismatch {
                    kind_group: k.into(),
                    version_group: v.into(),
                });
            }
            (Some(g), _) | (None, Some(g)) => Some(g.to_string()),
            (None, None) => None,
        };
        let shown_kind = match &group {
            Some(g) => format!("{g}/{bare_kind}"),
            None => bare_kind.to_string(),
        };
        let Some(candidates) = self.by_kind.get(&(group.clone(), bare_kind.to_string())) else {
            let known: BTreeSet<String> = self
                .by_kind
                .keys()
                .map(|(g, k)| join_kind(g.as_deref(), k))
                .collect();
            let suggestion =
                did_you_mean(&shown_kind, known.iter().map(String::as_str)).map(str::to_string);
            return Err(ResolveErrorKind::UnknownKind {
                kind: shown_kind,
                suggestion,
                known: known.into_iter().collect(),
            });
        };
        let matching: Vec<usize> = candidates
            .iter()
            .filter(|&&(h, r)| {
                self.registration(h, r)
                    .is_some_and(|reg| reg.range.matches(&parsed.version))
            })
            .map(|&(h, _)| h)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let user: Vec<usize> = matching
            .iter()
            .copied()
            .filter(|&h| self.handlers.get(h).is_some_and(|x| !x.bundled))
            .collect();
        let chosen = if user.is_empty() { matching } else { user };
        match chosen.as_slice() {
            [one] => Ok(*one),
            [] => Err(ResolveErrorKind::UnservedVersion {
                kind: shown_kind,
                version: version.to_string(),
                served: candidates
                    .iter()
                    .filter_map(|&(h, r)| {
                        let reg = self.registration(h, r)?;
                        Some(format!(
                            "`{}` by {}",
                            reg.range,
                            self.handlers.get(h)?.name()
                        ))
                    })
                    .collect(),
            }),
            several => {
                let mut files: Vec<String> = several
                    .iter()
                    .filter_map(|&h| Some(self.handlers.get(h)?.name().to_string()))
                    .collect();
                files.sort();
                Err(ResolveErrorKind::Ambiguous {
                    kind: shown_kind,
                    version: version.to_string(),
                    files,
                })
            }
        }
    }
}

fn split_kind(kind: &str) -> (Option<&str>, &str) {
    match kind.rsplit_once('/') {
        Some((g, k)) => (Some(g), k),
        None => (None, kind),
    }
}

fn join_kind(group: Option<&str>, kind: &str) -> String {
    match group {
        Some(g) => format!("{g}/{kind}"),
        None => kind.to_string(),
    }
}

fn mark_of(pos: rhai::Position) -> Mark {
    Mark::new(
        pos.line().and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
        pos.position()
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1),
    )
}

/// Checks a module file named to `ordo lint` (a file in a `lib` directory): it compiles,
/// its top level runs as an `import` runs it, and its calls pass the check. A module
/// registers no kind and needs no `apply`.
pub fn check_module(
    engine: &Engine,
    source: &Arc<SourceFile>,
    limits: &ScriptLimits,
    errors: &mut Vec<HandlerError>,
) {
    let mut ast = match crate::script::compile(engine, source.text()) {
        Ok(ast) => ast,
        Err(e) => {
            let err = ScriptError::from_parse(source.name(), &e);
            errors.push(HandlerError {
                location: Location::new(source, err.mark.unwrap_or_default()),
                kind: K::Script(err),
            });
            return;
        }
    };
    ast.set_source(source.name());
    // As an import runs it: with no grant (`script::context::enter_module`).
    let guard = context::enter_module(source.name());
    let module = rhai::Module::eval_ast_as_new(Scope::new(), &ast, engine);
    drop(guard);
    let module = match module {
        Ok(m) => rhai::Shared::new(m),
        Err(e) => {
            let err = ScriptError::from_eval(source.name(), &e, limits, None);
            let file = if err.file == source.name() {
                Arc::clone(source)
            } else {
                crate::script::module_source(&err.file)
            };
            errors.push(HandlerError {
                location: Location::new(&file, err.mark.unwrap_or_default()),
                kind: K::Script(err),
            });
            return;
        }
    };
    for finding in super::lint::check_module(engine, &module) {
        errors.push(HandlerError {
            location: Location::new(&finding.file, finding.mark),
            kind: K::Lint(finding.kind),
        });
    }
}

/// Compiles one script and runs its top level in the load phase.
fn load_one(
    engine: &Engine,
    source: &Arc<SourceFile>,
    bundled: bool,
    limits: &ScriptLimits,
    errors: &mut Vec<HandlerError>,
) -> Option<Handler> {
    let at = |mark: Mark| Location::new(source, mark);
    let mut ast = match crate::script::compile(engine, source.text()) {
        Ok(ast) => ast,
        Err(e) => {
            let err = ScriptError::from_parse(source.name(), &e);
            errors.push(HandlerError {
                location: at(err.mark.unwrap_or_default()),
                kind: K::Script(err),
            });
            return None;
        }
    };
    ast.set_source(source.name());

    let guard = context::enter_load();
    let mut scope = Scope::new();
    let ran = engine.run_ast_with_scope(&mut scope, &ast);
    let mut state = context::take_load_state();
    let schemas = Schemas(std::mem::take(&mut state.schemas));
    drop(guard);
    if let Err(e) = ran {
        let mut err = ScriptError::from_eval(source.name(), &e, limits, None);
        if err.help.is_none() {
            err.help = crate::stdlib::not_found_note(&e, &ast);
        }
        // An error inside an imported module is shown in the module's text.
        let file = if err.file == source.name() {
            Arc::clone(source)
        } else {
            crate::script::module_source(&err.file)
        };
        errors.push(HandlerError {
            location: Location::new(&file, err.mark.unwrap_or_default()),
            kind: K::Script(err),
        });
        return None;
    }

    let before = errors.len();
    // `fn rollback(m, prev)`: the manifest and what it was before the run (DESIGN §14).
    let mut functions = Functions {
        rollback: ast
            .iter_functions()
            .any(|f| f.name == "rollback" && f.params.len() == 2),
        ..Functions::default()
    };
    if !functions.rollback && ast.iter_functions().any(|f| f.name == "rollback") {
        errors.push(HandlerError {
            location: at(function_mark(source.text(), "rollback")),
            kind: K::RollbackArity,
        });
    }
    for f in ast.iter_functions() {
        let slot = match f.name {
            "check" => &mut functions.check,
            "apply" => &mut functions.apply,
            "delete" => &mut functions.delete,
            "verify" => &mut functions.verify,
            _ => continue,
        };
        if f.params.len() == 1 {
            *slot = true;
        } else if !ast
            .iter_functions()
            .any(|g| g.name == f.name && g.params.len() == 1)
        {
            errors.push(HandlerError {
                location: at(Mark::new(0, 0)),
                kind: K::WrongArity {
                    name: f.name.to_string(),
                },
            });
        }
    }

    let mut registrations: Vec<Registration> = Vec::new();
    for (kind, range, pos) in &state.registrations {
        let mark = mark_of(*pos);
        let (group, bare) = split_kind(kind);
        let valid_kind = !bare.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && group.is_none_or(|g| !g.is_empty() && !g.contains(char::is_whitespace));
        if !valid_kind {
            errors.push(HandlerError {
                location: at(mark),
                kind: K::BadKind { kind: kind.clone() },
            });
            continue;
        }
        if group.is_none() && super::json_schema::DATA_KINDS.contains(&bare) {
            errors.push(HandlerError {
                location: at(mark),
                kind: K::ReservedKind { kind: kind.clone() },
            });
            continue;
        }
        let range = match Range::parse(range) {
            Ok(r) => r,
            Err(error) => {
                errors.push(HandlerError {
                    location: at(mark),
                    kind: K::BadRange {
                        kind: kind.clone(),
                        error,
                    },
                });
                continue;
            }
        };
        let reg = Registration {
            group: group.map(str::to_string),
            kind: bare.to_string(),
            range,
            mark,
        };
        if let Some(first) = registrations
            .iter()
            .find(|r| r.full_kind() == reg.full_kind() && r.range.overlaps(&reg.range))
        {
            errors.push(HandlerError {
                location: at(mark),
                kind: K::Overlap {
                    kind: reg.full_kind(),
                    first: first.range.text.clone(),
                    second: reg.range.text.clone(),
                },
            });
            continue;
        }
        registrations.push(reg);
    }

    let mut permissions = Permissions::default();
    for (name, pos) in &state.permissions {
        match Capability::parse(name) {
            Some(c) => permissions.insert(c),
            None => {
                let names = Capability::ALL.map(Capability::as_str);
                let suggestion = did_you_mean(name, names).map(str::to_string);
                errors.push(HandlerError {
                    location: at(mark_of(*pos)),
                    kind: K::BadPermission {
                        name: name.clone(),
                        suggestion,
                    },
                });
            }
        }
    }

    if state.registrations.is_empty() {
        errors.push(HandlerError {
            location: at(Mark::new(1, 1)),
            kind: K::RegistersNothing,
        });
    } else if !functions.apply {
        let kind = state
            .registrations
            .first()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        // `fn aply(m)`: point at the misspelt function.
        let defs: Vec<(String, rhai::Position)> = ast
            .iter_fn_def()
            .filter(|f| !f.name.starts_with("anon$"))
            .map(|f| (f.name.to_string(), f.body.start_position()))
            .collect();
        let near = did_you_mean("apply", defs.iter().map(|(n, _)| n.as_str())).map(str::to_string);
        let mark = near
            .as_ref()
            .and_then(|n| defs.iter().find(|(d, _)| d == n))
            .map_or(Mark::new(1, 1), |(name, pos)| {
                // At the name in `fn aply(m)` on the line where its body starts, if there.
                let body = mark_of(*pos);
                let line = usize::try_from(body.line).unwrap_or(0);
                let col = source
                    .text()
                    .lines()
                    .nth(line.saturating_sub(1))
                    .and_then(|l| l.find(&format!("fn {name}")))
                    .and_then(|c| u32::try_from(c + 4).ok());
                col.map_or(body, |c| Mark::new(body.line, c))
            });
        errors.push(HandlerError {
            location: at(mark),
            kind: K::NoApply { kind, near },
        });
    }
    let mut actions = Vec::new();
    let defines = |name: &str| {
        ast.iter_functions()
            .any(|f| f.name == name && f.params.len() == 1)
    };
    for (map, pos) in &state.actions {
        let (declared, problems) = super::actions::declared(map, &defines);
        for p in problems {
            errors.push(HandlerError {
                location: at(near_mark(source.text(), mark_of(*pos), p.near.as_deref())),
                kind: K::BadAction {
                    message: p.message,
                    help: p.help,
                },
            });
        }
        for d in declared {
            if actions
                .iter()
                .any(|a: &super::actions::ActionDecl| a.name == d.name)
            {
                errors.push(HandlerError {
                    location: at(mark_of(*pos)),
                    kind: K::BadAction {
                        message: format!("action `{}` is declared twice", d.name),
                        help: None,
                    },
                });
                continue;
            }
            actions.push(d);
        }
    }
    let schema = declared_schema(source, &schemas.0, errors);
    let permissions_line = state.permission_calls.first().and_then(|p| p.line());
    // Bundled handlers are checked by the tests; they are compiled when a run needs them.
    let mut uses = Vec::new();
    if !bundled {
        let (findings, found) =
            super::lint::check_with_uses(engine, &ast, source, permissions, permissions_line);
        uses = found;
        for finding in findings {
            errors.push(HandlerError {
                location: Location::new(&finding.file, finding.mark),
                kind: K::Lint(finding.kind),
            });
        }
    }
    if errors.len() > before {
        return None;
    }

    let replay_top_level = state.imports > 0 || !scope.is_empty();
    Some(Handler {
        file: Arc::clone(source),
        bundled,
        compiled: OnceLock::from(Ok(Compiled {
            ast,
            functions,
            replay_top_level,
            schema,
        })),
        registrations,
        info: Arc::new(HandlerInfo {
            name: source.name().to_string(),
            permissions,
            permissions_line,
        }),
        hash: crate::stdlib::sha256_hex(source.text().as_bytes()),
        uses,
        actions,
        origin: Origin::Local,
    })
}

/// Where `fn name(` starts in a script (line 1, column 1 when it is not found on one line).
fn function_mark(text: &str, name: &str) -> Mark {
    let needle = format!("fn {name}(");
    text.lines()
        .enumerate()
        .find_map(|(i, line)| {
            let col = line.find(&needle)?;
            Some(Mark::new(
                u32::try_from(i + 1).ok()?,
                u32::try_from(col + 1).ok()?,
            ))
        })
        .unwrap_or(Mark::new(1, 1))
}

/// Where `near` is written at or after `call` (the `actions(` call), for an error about a
/// word of the declaration: the first line from the call on that holds it as a word,
/// quoted or followed by `:`. `call` itself when it is not found.
fn near_mark(text: &str, call: Mark, near: Option<&str>) -> Mark {
    let Some(near) = near else {
        return call;
    };
    let first = usize::try_from(call.line).unwrap_or(1).max(1);
    for (i, line) in text.lines().enumerate().skip(first - 1) {
        let mut from = 0;
        while let Some(found) = line.get(from..).and_then(|rest| rest.find(near)) {
            let at = from + found;
            let before = line.get(..at).and_then(|b| b.chars().last());
            let after = line.get(at + near.len()..).and_then(|a| a.chars().next());
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if !word(before) && !word(after) {
                let col = line.get(..at).map_or(0, |b| b.chars().count()) + 1;
                if let (Ok(l), Ok(c)) = (u32::try_from(i + 1), u32::try_from(col)) {
                    return Mark::new(l, c);
                }
            }
            from = at + near.len().max(1);
        }
    }
    call
}

/// The `schema(...)` arguments of a top level, dropped without recursion whatever path
/// `load_one` leaves by ([`crate::script::convert::dismantle`]).
struct Schemas(Vec<(rhai::Dynamic, rhai::Position)>);

impl Drop for Schemas {
    fn drop(&mut self) {
        for (value, _) in self.0.drain(..) {
            crate::script::convert::dismantle(value);
        }
    }
}

/// The schema a handler's top level declared, checked; errors at their place in the script.
fn declared_schema(
    source: &Arc<SourceFile>,
    calls: &[(rhai::Dynamic, rhai::Position)],
    errors: &mut Vec<HandlerError>,
) -> Option<Arc<super::schema::Schema>> {
    let (value, call) = calls.first()?;
    for (_, again) in calls.iter().skip(1) {
        errors.push(HandlerError {
            location: Location::new(source, mark_of(*again)),
            kind: K::Schema(
                "`schema` is declared twice; declare every field in one `schema(#{...})`".into(),
            ),
        });
    }
    let places = super::schema::places(source.text());
    match super::schema::declare(value, &places) {
        Ok(schema) => Some(Arc::new(schema)),
        Err(problems) => {
            for p in problems {
                errors.push(HandlerError {
                    location: Location::new(source, mark_of(p.position(&places, *call))),
                    kind: K::Schema(p.message),
                });
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ImportResolver;

    /// Bundled handlers are not checked when they load (they are compiled lazily, and
    /// cannot change after the build): this test is their check. `ordo/retry` is checked
    /// through a handler that imports it.
    #[test]
    fn the_bundled_handlers_and_stdlib_modules_pass_the_static_check() {
        let limits = ScriptLimits::default();
        let engine = crate::stdlib::engine(&limits, ImportResolver::default());
        let importer = "register(\"R\", \"^1\");\nimport \"ordo/retry\" as retry;\nfn apply(m) { retry::with_backoff(3, 0.1, || 1); retry::wait_until(3, 0.1, || true); }\n";
        let sources = BUNDLED
            .iter()
            .map(|b| {
                (
                    bundled(b),
                    SourceFile::new(shown_name(b.file), ".", b.source),
                )
            })
            .chain(std::iter::once((
                bundled(&BUNDLED[0]),
                SourceFile::new("retry-user.rhai", ".", importer),
            )));
        for (table, source) in sources {
            let mut ast = engine.compile(source.text()).unwrap();
            ast.set_source(source.name());
            let findings = super::super::lint::check(
                &engine,
                &ast,
                &source,
                table.permissions(),
                table.info.permissions_line,
            );
            assert!(findings.is_empty(), "{}: {findings:?}", source.name());
        }
    }

    #[test]
    fn the_bundled_table_says_what_the_scripts_declare() {
        let limits = ScriptLimits::default();
        let engine = crate::stdlib::engine(&limits, ImportResolver::default());
        for b in BUNDLED {
            let table = bundled(b);
            let mut errors = Vec::new();
            let source = SourceFile::new(shown_name(b.file), ".", b.source);
            let compiled = load_one(&engine, &source, true, &limits, &mut errors)
                .unwrap_or_else(|| panic!("{}: {errors:?}", b.file));
            let regs = |h: &Handler| {
                h.registrations
                    .iter()
                    .map(|r| (r.full_kind(), r.range.text.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(regs(&table), regs(&compiled), "{}: registrations", b.file);
            assert_eq!(
                table.permissions(),
                compiled.permissions(),
                "{}: permissions",
                b.file
            );
            assert_eq!(
                table.info.permissions_line, compiled.info.permissions_line,
                "{}: permissions line",
                b.file
            );
        }
    }

    /// The field tables of `handlers/README.md` are generated from the bundled handlers'
    /// schemas (`schema::markdown_table`), so the docs cannot drift from what is checked:
    /// this test fails on any difference, and `ORDO_UPDATE_HANDLER_DOCS=1 cargo test --lib
    /// handler_docs` writes the generated tables into the file.
    #[test]
    fn the_handler_docs_tables_are_the_schemas() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/handlers/README.md");
        let mut readme = std::fs::read_to_string(file).unwrap();
        let limits = ScriptLimits::default();
        let engine = crate::stdlib::engine(&limits, ImportResolver::default());
        let mut wrong = Vec::new();
        for b in BUNDLED {
            let source = SourceFile::new(shown_name(b.file), ".", b.source);
            let mut errors = Vec::new();
            let handler = load_one(&engine, &source, true, &limits, &mut errors)
                .unwrap_or_else(|| panic!("{}: {errors:?}", b.file));
            let schema = handler
                .compiled()
                .unwrap()
                .schema
                .clone()
                .unwrap_or_else(|| panic!("{} declares no schema", b.file));
            let expected = super::super::schema::markdown_table(&schema);
            for (kind, _) in b.kinds {
                let heading = format!("## `{kind}` v1");
                let at = readme
                    .find(&heading)
                    .unwrap_or_else(|| panic!("handlers/README.md has no {heading}"));
                // The first table below the heading.
                let start = at + readme[at..].find("\n|").unwrap() + 1;
                let len = readme[start..]
                    .split_inclusive('\n')
                    .take_while(|l| l.starts_with('|'))
                    .map(str::len)
                    .sum::<usize>();
                if readme[start..start + len] != expected {
                    readme.replace_range(start..start + len, &expected);
                    wrong.push(format!(
                        "handlers/README.md, {heading}: the table should be\n\n{expected}"
                    ));
                }
            }
        }
        if !wrong.is_empty() && std::env::var_os("ORDO_UPDATE_HANDLER_DOCS").is_some() {
            std::fs::write(file, readme).unwrap();
            return;
        }
        assert!(
            wrong.is_empty(),
            "{}\n(ORDO_UPDATE_HANDLER_DOCS=1 writes them)",
            wrong.join("\n")
        );
    }
}
