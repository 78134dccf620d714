//! The static check of a handler script, run when it loads and by `ordo lint`.
//!
//! Every function call must resolve, by name and number of arguments, to a stdlib function
//! (`file::read`), a Rhai built-in (read from the engine itself, so the standard package
//! and `register`/`permissions` are known exactly), a function the script defines, or a
//! function of a module it imports; and every stdlib call's capability must be declared in
//! the script's `permissions([...])`. The stdlib's names, arities and capabilities come
//! from its registration ([`crate::stdlib::signatures`]), so the check cannot drift from
//! what runs. A typo in `delete` is then found before anything is deleted (issue 13).
//!
//! No false positives: what the check cannot rule out is left to run time. A method whose
//! name is also a map key, a property or a string in the script (a closure stored in a map),
//! calls through `call`/`Fn`/`curry`, and calls into modules it cannot resolve are not
//! judged. (A variable holding a closure cannot be called as `f(x)` in Rhai, only as
//! `f.call(x)`, so `f(x)` is reported, with that hint.)
//! Imported modules' own functions are checked too, and a handler calling a module
//! function must declare the capabilities that function needs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use rhai::{AST, ASTNode, Engine, Expr, FnCallExpr, Module, Position, Shared, Stmt};

use crate::diagnostic::did_you_mean;
use crate::manifest::{Mark, SourceFile};
use crate::stdlib::{Capability, Permissions, signatures};

/// Functions Rhai handles as syntax rather than as registered functions; their arguments
/// vary, so only their names are known.
const KEYWORD_FUNCTIONS: [&str; 10] = [
    "print",
    "debug",
    "type_of",
    "eval",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_var",
    "is_def_fn",
];

/// One problem the check found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LintKind {
    #[error("unknown function `{name}`{}", suggest(suggestion))]
    UnknownFunction {
        name: String,
        suggestion: Option<String>,
        /// The name is a variable: it may hold a function pointer.
        variable: bool,
    },
    #[error("unknown method `{name}`{}", suggest(suggestion))]
    UnknownMethod {
        name: String,
        suggestion: Option<String>,
    },
    #[error(
        "unknown module `{module}` in `{module}::{name}`{}",
        suggest(suggestion)
    )]
    UnknownModule {
        module: String,
        name: String,
        suggestion: Option<String>,
    },
    /// An `import` whose module does not exist (or does not compile).
    #[error("{message}")]
    Import { message: String },
    #[error("`{name}` takes {}, not {given}", arguments(expected))]
    WrongArity {
        name: String,
        given: usize,
        expected: Vec<usize>,
    },
    #[error("`{call}` needs the `{cap}` permission, which handler `{handler}` does not declare{}", via.as_ref().map(|v| format!(" (a function of module `{v}` that uses it)")).unwrap_or_default())]
    Undeclared {
        call: String,
        cap: Capability,
        handler: String,
        /// The module the called function belongs to, when the stdlib call is inside it.
        via: Option<String>,
        /// The `permissions([...])` line the handler needs.
        line: String,
        /// The line of the handler's `permissions` call, if it has one.
        at: Option<usize>,
    },
}

fn suggest(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

fn arguments(expected: &[usize]) -> String {
    let n: Vec<String> = expected.iter().map(ToString::to_string).collect();
    let last = expected.last().copied().unwrap_or(0);
    let noun = if last == 1 { "argument" } else { "arguments" };
    match n.as_slice() {
        [one] => format!("{one} {noun}"),
        [init @ .., last] => format!("{} or {last} {noun}", init.join(", ")),
        [] => "no arguments".into(),
    }
}

impl LintKind {
    /// What to do about it.
    pub fn help(&self) -> Option<String> {
        match self {
            LintKind::Undeclared {
                line,
                at,
                cap,
                handler,
                ..
            } => Some(match at {
                Some(n) => format!(
                    "add \"{cap}\" to the `permissions([...])` call on line {n} of {handler}: `{line}`"
                ),
                None => format!("add `{line}` at the top of {handler}"),
            }),
            LintKind::UnknownFunction {
                name,
                variable: true,
                ..
            } => Some(format!(
                "`{name}` is a variable; to call the function it holds, write `{name}.call(...)`"
            )),
            LintKind::UnknownModule { .. } => Some(format!(
                "the stdlib modules are {}; other modules need `import \"...\" as name;`",
                stdlib_modules().collect::<Vec<_>>().join(", ")
            )),
            _ => None,
        }
    }
}

/// A problem and where it is.
#[derive(Debug, Clone)]
pub struct Finding {
    pub file: Arc<SourceFile>,
    pub mark: Mark,
    pub kind: LintKind,
}

/// What is known about the functions of the engine: built-ins by name and arity.
struct Builtins {
    functions: HashMap<String, BTreeSet<usize>>,
}

fn builtins(engine: &Engine) -> &'static Builtins {
    // Every engine ordo builds has the same functions, so the first one answers for all.
    static TABLE: OnceLock<Builtins> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut functions: HashMap<String, BTreeSet<usize>> = HashMap::new();
        for (name, arity) in engine.collect_fn_metadata(
            None,
            |f| {
                f.namespace
                    .is_empty()
                    .then(|| (f.metadata.name.to_string(), f.metadata.num_params))
            },
            true,
        ) {
            functions.entry(name).or_default().insert(arity);
        }
        Builtins { functions }
    })
}

fn stdlib_modules() -> impl Iterator<Item = &'static str> {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            let mut names: Vec<&'static str> = signatures().iter().map(|s| s.module).collect();
            names.dedup();
            names
        })
        .iter()
        .copied()
}

/// A module's functions, by name: arity → the capabilities a call needs.
type ModuleFns = BTreeMap<String, BTreeMap<usize, Permissions>>;

/// What an `import ... as alias` binds.
enum Imported {
    /// Resolved: the module's functions.
    Known { id: String, functions: ModuleFns },
    /// Not resolvable statically (a computed path): left to run time.
    Unknown,
}

/// One call as written.
struct Call {
    /// The namespace path: empty, `["file"]`, or longer.
    namespace: Vec<String>,
    name: String,
    /// Arguments written between the parentheses.
    args: usize,
    /// `x.name(...)`.
    method: bool,
    /// An operator (`+`, `==`): always resolved by Rhai.
    operator: bool,
    pos: Position,
}

impl Call {
    fn new(f: &FnCallExpr, pos: Position, method: bool) -> Self {
        Call {
            namespace: f
                .namespace
                .path
                .iter()
                .map(|i| i.name.to_string())
                .collect(),
            name: f.name.to_string(),
            args: f.args.len(),
            method,
            operator: f.op_token.is_some(),
            pos,
        }
    }
}

/// The calls and names of one script (or one module's functions), gathered in one walk.
#[derive(Default)]
struct Scan {
    calls: Vec<Call>,
    /// Every name bound or read as a variable or parameter.
    variables: HashSet<String>,
    /// Map keys, properties and string literals: what a closure stored in a map may be called.
    keys: HashSet<String>,
    /// `(path, alias, position)` of each `import` with a literal path.
    imports: Vec<(String, String, Position)>,
    /// Aliases of imports whose path is computed.
    dynamic_imports: HashSet<String>,
}

impl Scan {
    fn visit(&mut self, path: &[ASTNode]) -> bool {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(f, pos)))
            | Some(ASTNode::Stmt(Stmt::FnCall(f, pos))) => {
                self.calls.push(Call::new(f, *pos, false));
            }
            Some(ASTNode::Expr(Expr::MethodCall(f, pos))) => {
                self.calls.push(Call::new(f, *pos, true))
            }
            Some(ASTNode::Expr(Expr::Variable(v, ..))) => {
                self.variables.insert(v.1.to_string());
            }
            Some(ASTNode::Expr(Expr::Property(p, ..))) => {
                self.keys.insert(p.2.to_string());
            }
            Some(ASTNode::Expr(Expr::StringConstant(s, ..))) => {
                self.keys.insert(s.to_string());
            }
            Some(ASTNode::Expr(Expr::DynamicConstant(d, ..))) => collect_keys(d, &mut self.keys),
            Some(ASTNode::Expr(Expr::Map(m, ..))) => {
                self.keys
                    .extend(m.0.iter().map(|(k, _)| k.name.to_string()));
                self.keys.extend(m.1.keys().map(ToString::to_string));
            }
            Some(ASTNode::Stmt(Stmt::Var(v, ..))) => {
                self.variables.insert(v.0.name.to_string());
            }
            Some(ASTNode::Stmt(Stmt::For(f, ..))) => {
                self.variables.insert(f.0.name.to_string());
                if let Some(counter) = &f.1 {
                    self.variables.insert(counter.name.to_string());
                }
            }
            Some(ASTNode::Stmt(Stmt::Import(i, pos))) => {
                let alias = i.1.name.to_string();
                match &i.0 {
                    Expr::StringConstant(p, ..) => self.imports.push((p.to_string(), alias, *pos)),
                    _ => {
                        self.dynamic_imports.insert(alias);
                    }
                }
            }
            _ => {}
        }
        true
    }
}

/// The keys of a constant map (folded by the optimizer), nested ones included.
fn collect_keys(value: &rhai::Dynamic, keys: &mut HashSet<String>) {
    if let Some(map) = value.read_lock::<rhai::Map>() {
        for (k, v) in map.iter() {
            keys.insert(k.to_string());
            collect_keys(v, keys);
        }
    } else if let Some(array) = value.read_lock::<rhai::Array>() {
        for v in array.iter() {
            collect_keys(v, keys);
        }
    }
}

/// The script's own functions: name → arities.
fn defined_in(fns: impl Iterator<Item = (String, usize)>) -> HashMap<String, BTreeSet<usize>> {
    let mut defined: HashMap<String, BTreeSet<usize>> = HashMap::new();
    for (name, arity) in fns {
        defined.entry(name).or_default().insert(arity);
    }
    defined
}

/// Checks a loaded handler. `permissions` is what its top level declared, `permissions_line`
/// where. Imports are resolved through the engine's resolver, as at run time.
pub fn check(
    engine: &Engine,
    ast: &AST,
    source: &Arc<SourceFile>,
    permissions: Permissions,
    permissions_line: Option<usize>,
) -> Vec<Finding> {
    check_with_uses(engine, ast, source, permissions, permissions_line).0
}

/// A call the lint found that needs a capability: where it is, what it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityUse {
    pub cap: Capability,
    /// The stdlib function called, e.g. `shell::run`.
    pub call: String,
    /// The module the call is inside, when it is in an imported module's function.
    pub via: Option<String>,
    /// In the handler file: the call, or the call of the module function that makes it.
    pub mark: Mark,
}

/// [`check`], and besides its findings every call that needs a capability, so a run can
/// refuse a handler whose calls `--deny` takes away before anything runs.
pub fn check_with_uses(
    engine: &Engine,
    ast: &AST,
    source: &Arc<SourceFile>,
    permissions: Permissions,
    permissions_line: Option<usize>,
) -> (Vec<Finding>, Vec<CapabilityUse>) {
    let mut scan = Scan::default();
    ast.walk(&mut |path: &[ASTNode]| scan.visit(path));
    for f in ast.iter_functions() {
        scan.variables
            .extend(f.params.iter().map(ToString::to_string));
    }
    let defined = defined_in(
        ast.iter_functions()
            .map(|f| (f.name.to_string(), f.params.len())),
    );

    let mut linter = Linter {
        engine,
        builtins: builtins(engine),
        modules: HashMap::new(),
        module_keys: HashSet::new(),
        findings: Vec::new(),
    };
    let imports = linter.imports(&scan, source);
    let mut needed: Vec<(Capability, String, Option<String>, Position)> = Vec::new();
    linter.check_calls(
        source,
        &scan,
        &defined,
        Some(&imports),
        &mut |cap, call, via, pos| {
            needed.push((cap, call, via, pos));
        },
    );

    let uses = needed
        .iter()
        .map(|(cap, call, via, pos)| CapabilityUse {
            cap: *cap,
            call: call.clone(),
            via: via.clone(),
            mark: mark_of(*pos),
        })
        .collect();
    // Undeclared capabilities: one finding per call, each showing the whole line to write.
    let missing: Permissions = needed
        .iter()
        .map(|(cap, ..)| *cap)
        .filter(|c| !permissions.contains(*c))
        .collect();
    if missing != Permissions::default() {
        let all: Permissions = permissions.iter().chain(missing.iter()).collect();
        let line = format!(
            "permissions([{}]);",
            all.names()
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (cap, call, via, pos) in needed {
            if permissions.contains(cap) {
                continue;
            }
            linter.findings.push(Finding {
                file: Arc::clone(source),
                mark: mark_of(pos),
                kind: LintKind::Undeclared {
                    call,
                    cap,
                    handler: source.name().to_string(),
                    via,
                    line: line.clone(),
                    at: permissions_line,
                },
            });
        }
    }
    let mut findings = linter.findings;
    findings.sort_by_key(|f| (f.file.name().to_string(), f.mark.line, f.mark.col));
    findings
        .dedup_by(|a, b| a.file.name() == b.file.name() && a.mark == b.mark && a.kind == b.kind);
    (findings, uses)
}

/// Checks a module (a file in a `lib` directory named to `ordo lint`) as an import sees it:
/// its calls and its own imports. The capabilities its functions need are declared by the
/// handlers that import it, so they are not asked for here.
pub fn check_module(engine: &Engine, module: &Shared<Module>) -> Vec<Finding> {
    let mut linter = Linter {
        engine,
        builtins: builtins(engine),
        modules: HashMap::new(),
        module_keys: HashSet::new(),
        findings: Vec::new(),
    };
    linter.module(module);
    let mut findings = linter.findings;
    findings.sort_by_key(|f| (f.file.name().to_string(), f.mark.line, f.mark.col));
    findings
        .dedup_by(|a, b| a.file.name() == b.file.name() && a.mark == b.mark && a.kind == b.kind);
    findings
}

struct Linter<'e> {
    engine: &'e Engine,
    builtins: &'static Builtins,
    /// Resolved modules by id: their functions and what each needs.
    modules: HashMap<String, ModuleFns>,
    /// Map keys, properties and strings of the imported modules: a map a module makes may
    /// hold a closure called as a method in the handler (`o::make().greet("you")`).
    module_keys: HashSet<String>,
    findings: Vec<Finding>,
}

impl Linter<'_> {
    /// Resolves the script's imports: alias → module.
    fn imports(&mut self, scan: &Scan, file: &Arc<SourceFile>) -> HashMap<String, Imported> {
        let source_name = file.name();
        let mut imports = HashMap::new();
        for alias in &scan.dynamic_imports {
            imports.insert(alias.clone(), Imported::Unknown);
        }
        for (path, alias, pos) in &scan.imports {
            let resolved =
                self.engine
                    .module_resolver()
                    .resolve(self.engine, Some(source_name), path, *pos);
            // A missing or broken module is an error now; anything else its top level
            // does wrong is left to the `import` at run time.
            let entry = match resolved {
                Ok(module) => self.module(&module),
                Err(e) => {
                    if let Some((message, inside)) = import_error(&e) {
                        // Where the error is: in the module (a syntax error, a cycle it
                        // closes), or at this `import`.
                        let (file, at) = match inside {
                            Some((name, at)) => (crate::script::module_source(&name), at),
                            None => (Arc::clone(file), *pos),
                        };
                        self.findings.push(Finding {
                            file,
                            mark: mark_of(at),
                            kind: LintKind::Import { message },
                        });
                    }
                    Imported::Unknown
                }
            };
            if !alias.is_empty() {
                imports.insert(alias.clone(), entry);
            }
        }
        imports
    }

    /// The functions of an imported module, each with the capabilities it needs (through
    /// the stdlib calls it makes, directly, in its closures, or through the module's other
    /// functions). The module's own calls are checked too.
    fn module(&mut self, module: &Shared<Module>) -> Imported {
        let id = module.id().unwrap_or("<module>").to_string();
        if let Some(functions) = self.modules.get(&id) {
            return Imported::Known {
                id,
                functions: functions.clone(),
            };
        }
        // What the module defines, as evaluated; an import cycle sees this much.
        let mut functions: ModuleFns = BTreeMap::new();
        for (_, _, name, arity, _) in module.iter_script_fn_info() {
            functions
                .entry(name.to_string())
                .or_default()
                .insert(arity, Permissions::default());
        }
        self.modules.insert(id.clone(), functions.clone());

        // The module's text, compiled again to walk it (Rhai keeps no walkable body in an
        // evaluated module). Without it, only names and arities are checked.
        let file = crate::script::module_source(&id);
        let Ok(ast) = self.engine.compile(file.text()) else {
            return Imported::Known { id, functions };
        };
        let mut scan = Scan::default();
        ast.walk(&mut |path: &[ASTNode]| scan.visit(path));
        self.module_keys.extend(scan.keys.iter().cloned());
        let defs: Vec<(String, usize, Place, Place)> = ast
            .iter_fn_def()
            .map(|f| {
                scan.variables
                    .extend(f.params.iter().map(ToString::to_string));
                (
                    f.name.to_string(),
                    f.params.len(),
                    place(f.body.start_position()),
                    place(f.body.end_position()),
                )
            })
            .collect();
        let defined = defined_in(defs.iter().map(|(n, a, ..)| (n.clone(), *a)));
        let imports = self.imports(&scan, &file);

        // Each call belongs to every function whose body holds it: a closure's calls count
        // for the function that creates it.
        let owners = |pos: Position| -> Vec<(String, usize)> {
            let at = place(pos);
            defs.iter()
                .filter(|(_, _, start, end)| *start <= at && at <= *end)
                .map(|(n, a, ..)| (n.clone(), *a))
                .collect()
        };
        let mut direct: BTreeMap<(String, usize), Permissions> = BTreeMap::new();
        self.check_calls(
            &file,
            &scan,
            &defined,
            Some(&imports),
            &mut |cap, _, _, pos| {
                for owner in owners(pos) {
                    direct.entry(owner).or_default().insert(cap);
                }
            },
        );
        let mut calls: BTreeMap<(String, usize), Vec<(String, usize)>> = BTreeMap::new();
        for c in scan
            .calls
            .iter()
            .filter(|c| c.namespace.is_empty() && defined.contains_key(&c.name))
        {
            for owner in owners(c.pos) {
                calls
                    .entry(owner)
                    .or_default()
                    .push((c.name.clone(), c.args));
            }
        }
        // Close over calls between the module's functions.
        let mut total = direct;
        loop {
            let mut changed = false;
            for (f, callees) in &calls {
                let before = total.get(f).copied().unwrap_or_default();
                let after: Permissions = callees
                    .iter()
                    .filter_map(|c| total.get(c))
                    .flat_map(|p| p.iter())
                    .chain(before.iter())
                    .collect();
                if after != before {
                    total.insert(f.clone(), after);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for ((name, arity), needs) in total {
            if let Some(slot) = functions.get_mut(&name).and_then(|a| a.get_mut(&arity)) {
                *slot = needs;
            }
        }
        self.modules.insert(id.clone(), functions.clone());
        Imported::Known { id, functions }
    }

    /// Checks every call of a scan; `need` receives each capability a call needs.
    /// `imports` is `None` where the script's imports are not known (a module's functions).
    fn check_calls(
        &mut self,
        file: &Arc<SourceFile>,
        scan: &Scan,
        defined: &HashMap<String, BTreeSet<usize>>,
        imports: Option<&HashMap<String, Imported>>,
        need: &mut dyn FnMut(Capability, String, Option<String>, Position),
    ) {
        for call in &scan.calls {
            let name = call.name.as_str();
            if call.operator || !rhai::is_valid_identifier(name) {
                continue;
            }
            let kind = if call.namespace.is_empty() {
                if call.method {
                    self.method(name, call.args, scan, defined)
                } else {
                    self.function(name, call.args, scan, defined)
                }
            } else {
                self.namespaced(call, imports, need)
            };
            if let Some(kind) = kind {
                self.findings.push(Finding {
                    file: Arc::clone(file),
                    mark: mark_of(call.pos),
                    kind,
                });
            }
        }
    }

    /// A plain call `name(args)`.
    fn function(
        &self,
        name: &str,
        given: usize,
        scan: &Scan,
        defined: &HashMap<String, BTreeSet<usize>>,
    ) -> Option<LintKind> {
        if KEYWORD_FUNCTIONS.contains(&name) {
            return None;
        }
        let own = defined.get(name);
        let builtin = self.builtins.functions.get(name);
        if own.is_some_and(|a| a.contains(&given)) || builtin.is_some_and(|a| a.contains(&given)) {
            return None;
        }
        if own.is_some() || builtin.is_some() {
            let expected: BTreeSet<usize> = own
                .into_iter()
                .chain(builtin)
                .flat_map(|a| a.iter().copied())
                .collect();
            return Some(LintKind::WrongArity {
                name: name.to_string(),
                given,
                expected: expected.into_iter().collect(),
            });
        }
        // A bare stdlib name (`read(...)`) most likely means the namespaced one.
        let qualified = signatures()
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.full_name());
        let suggestion = qualified.or_else(|| {
            let own_names = defined.keys().filter(|n| !n.starts_with("anon$"));
            let stdlib: Vec<String> = signatures().iter().map(|s| s.full_name()).collect();
            let candidates: Vec<&str> = own_names
                .map(String::as_str)
                .chain(KEYWORD_FUNCTIONS)
                .chain(self.builtins.functions.keys().map(String::as_str))
                .filter(|n| rhai::is_valid_identifier(n))
                .collect();
            did_you_mean(name, candidates)
                .map(str::to_string)
                .or_else(|| {
                    // `remvoe` for `file::remove`: compare with the short names.
                    signatures()
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .into_iter()
                        .find(|n| did_you_mean(name, [*n]).is_some())
                        .and_then(|n| stdlib.into_iter().find(|q| q.ends_with(&format!("::{n}"))))
                })
        });
        Some(LintKind::UnknownFunction {
            name: name.to_string(),
            suggestion,
            variable: scan.variables.contains(name),
        })
    }

    /// A method call `x.name(args)` with `given` arguments besides `x`. A native function
    /// takes `x` as its first parameter; a script function gets it as `this` and declares
    /// only the others.
    fn method(
        &self,
        name: &str,
        given: usize,
        scan: &Scan,
        defined: &HashMap<String, BTreeSet<usize>>,
    ) -> Option<LintKind> {
        if KEYWORD_FUNCTIONS.contains(&name)
            || scan.keys.contains(name)
            || self.module_keys.contains(name)
        {
            return None;
        }
        let own = defined.get(name);
        let builtin = self.builtins.functions.get(name);
        if own.is_some_and(|a| a.contains(&given))
            || builtin.is_some_and(|a| a.contains(&(given + 1)))
        {
            return None;
        }
        if own.is_some() || builtin.is_some() {
            let expected: BTreeSet<usize> = own
                .into_iter()
                .flat_map(|a| a.iter().copied())
                .chain(
                    builtin
                        .into_iter()
                        .flat_map(|a| a.iter().copied())
                        .filter(|a| *a > 0)
                        .map(|a| a - 1),
                )
                .collect();
            return Some(LintKind::WrongArity {
                name: format!(".{name}"),
                given,
                expected: expected.into_iter().collect(),
            });
        }
        let candidates: Vec<&str> = defined
            .keys()
            .map(String::as_str)
            .chain(self.builtins.functions.keys().map(String::as_str))
            .filter(|n| rhai::is_valid_identifier(n) && !n.starts_with("anon$"))
            .collect();
        Some(LintKind::UnknownMethod {
            name: name.to_string(),
            suggestion: did_you_mean(name, candidates).map(str::to_string),
        })
    }

    /// A call `module::name(args)`.
    fn namespaced(
        &mut self,
        call: &Call,
        imports: Option<&HashMap<String, Imported>>,
        need: &mut dyn FnMut(Capability, String, Option<String>, Position),
    ) -> Option<LintKind> {
        let [module] = call.namespace.as_slice() else {
            return None; // a nested path: left to run time
        };
        let module = module.as_str();
        let name = call.name.as_str();
        let (given, pos) = (call.args, call.pos);
        let full = format!("{module}::{name}");
        if module == "global" {
            return None;
        }
        // Rhai looks up an imported module before a registered one of the same name
        // (`import "lib/util" as file;` makes `file::hello` the module's).
        let imported = imports.is_some_and(|i| i.contains_key(module));
        if !imported && stdlib_modules().any(|m| m == module) {
            let overloads: Vec<_> = signatures()
                .iter()
                .filter(|s| s.module == module && s.name == name)
                .collect();
            if overloads.is_empty() {
                let names: Vec<String> = signatures()
                    .iter()
                    .filter(|s| s.module == module)
                    .map(|s| s.full_name())
                    .collect();
                return Some(LintKind::UnknownFunction {
                    suggestion: did_you_mean(&full, names.iter().map(String::as_str))
                        .map(str::to_string),
                    name: full,
                    variable: false,
                });
            }
            let Some(sig) = overloads.iter().find(|s| s.arity == given) else {
                return Some(LintKind::WrongArity {
                    name: full,
                    given,
                    expected: overloads.iter().map(|s| s.arity).collect(),
                });
            };
            for cap in &sig.needs {
                need(*cap, full.clone(), None, pos);
            }
            return None;
        }
        let imports = imports?;
        match imports.get(module) {
            Some(Imported::Unknown) => None,
            Some(Imported::Known { id, functions }) => {
                let Some(arities) = functions.get(name) else {
                    let names: Vec<String> =
                        functions.keys().map(|n| format!("{module}::{n}")).collect();
                    return Some(LintKind::UnknownFunction {
                        suggestion: did_you_mean(&full, names.iter().map(String::as_str))
                            .map(str::to_string),
                        name: full,
                        variable: false,
                    });
                };
                let Some(needs) = arities.get(&given) else {
                    return Some(LintKind::WrongArity {
                        name: full,
                        given,
                        expected: arities.keys().copied().collect(),
                    });
                };
                for cap in needs.iter() {
                    need(cap, full.clone(), Some(id.clone()), pos);
                }
                None
            }
            None => {
                let candidates: Vec<String> = stdlib_modules()
                    .map(str::to_string)
                    .chain(imports.keys().cloned())
                    .collect();
                Some(LintKind::UnknownModule {
                    module: module.to_string(),
                    name: name.to_string(),
                    suggestion: did_you_mean(module, candidates.iter().map(String::as_str))
                        .map(str::to_string),
                })
            }
        }
    }
}

/// The message of an import that can never work: no such module, a module that does not
/// compile, an import cycle, a stdlib call at a module's top level; with the module file and
/// position when the error is inside an imported module. `None` for other errors its top
/// level raised while running.
fn import_error(e: &rhai::EvalAltResult) -> Option<(String, Option<(String, Position)>)> {
    use rhai::EvalAltResult as E;
    let mut inside = None;
    let mut current = e;
    while let E::ErrorInModule(name, inner, _) = current {
        inside = Some(name.clone());
        current = inner;
    }
    let at = |pos: Position| inside.clone().map(|name| (name, pos));
    match current {
        E::ErrorRuntime(value, pos) => {
            let message = value
                .read_lock::<rhai::Map>()
                .and_then(|m| m.get("message").map(ToString::to_string))?;
            // A stdlib call at a module's top level is refused however it is imported.
            (message.starts_with("module not found")
                || message.starts_with("import cycle")
                || message.contains(crate::script::context::MODULE_TOP_LEVEL))
            .then(|| (message, at(*pos)))
        }
        E::ErrorModuleNotFound(path, pos) => {
            Some((format!("module not found: `{path}`"), at(*pos)))
        }
        E::ErrorParsing(p, pos) => Some((format!("syntax error: {p}"), at(*pos))),
        _ => None,
    }
}

/// `(line, column)`, comparable.
type Place = (usize, usize);

fn place(pos: Position) -> Place {
    (pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

fn mark_of(pos: Position) -> Mark {
    Mark::new(
        pos.line().and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
        pos.position()
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1),
    )
}
