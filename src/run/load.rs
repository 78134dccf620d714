//! Loading and checking everything a command works on: manifests, values, tags, handlers,
//! the graph. Every input problem is collected; any of them means exit code 3.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use rhai::Engine;

use crate::cli::{CommandKind, Config};
use crate::diagnostic::Diagnostic;
use crate::diagnostic::did_you_mean;
use crate::error::Error;
use crate::handler::HandlerRegistry;
use crate::inventory;
use crate::manifest::{
    Limits, Manifest, ManifestError, StaticContext, StaticResult, VALUES_KIND, ValueSet,
    collect_values, metadata_environments, refuse_env_tags, resolve_static, value_references,
};
use crate::planner::Graph;
use crate::project::{Project, check_environments};
use crate::script::scan::value_lookups as value_lookups_of;
use crate::script::{ImportResolver, ImportRoot};

/// Everything loaded and checked: what a command works on.
pub(super) struct World {
    pub manifests: Vec<Manifest>,
    /// Shared with the next load when the handler files are the same (`ordo watch`).
    pub engine: Arc<Engine>,
    pub registry: Arc<HandlerRegistry>,
    /// What the engine and the handlers were built from (see [`handler_fingerprint`]).
    pub handler_fingerprint: String,
    /// Manifest index → handler index.
    pub handlers: Vec<usize>,
    pub graph: Graph,
    pub values: Arc<ValueSet>,
    /// Where the manifests with `metadata.hosts` run (with and without `--limit`).
    pub placement: inventory::Placement,
    /// The hosts of the inventory this run was given: the only source of how to reach a
    /// host (an orphaned instance in the state is deleted only on a host it names).
    pub inventory_hosts: HashMap<String, Arc<crate::manifest::InstanceHost>>,
}

pub(super) fn load(config: &Config, project: &Project) -> Result<World, Error> {
    load_reusing(config, project, None)
}

/// [`load`], reusing the engine and the compiled handlers of `last` (the last load that
/// succeeded) when the handler files are what they were then: `ordo watch` loads again
/// after each change, and a changed manifest or values file recompiles no handler.
pub(super) fn load_reusing(
    config: &Config,
    project: &Project,
    last: Option<&World>,
) -> Result<World, Error> {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut loaded = crate::manifest::load_except(
        &config.manifests,
        &not_manifests(config),
        &Limits::default(),
    );
    // Environments named by manifests, before `Values` manifests are taken out.
    let mut environments = Vec::new();
    for m in loaded.manifests.iter().filter(|m| m.kind != VALUES_KIND) {
        metadata_environments(&m.file, &m.metadata_node, &mut environments);
    }
    // `--deny env` refuses every `!Env` of every document, whatever its environment.
    let mut env_tag_errors = Vec::new();
    if config.policy.deny.contains(crate::stdlib::Capability::Env) {
        for m in &loaded.manifests {
            refuse_env_tags(&m.spec, &m.file, &mut env_tag_errors);
            refuse_env_tags(&m.metadata_node, &m.file, &mut env_tag_errors);
        }
    }
    let mut value_errors = Vec::new();
    let values = collect_values(
        &mut loaded.manifests,
        &config.values,
        &config.env,
        &mut value_errors,
    );
    for secret in values.secret_texts() {
        crate::exec::secrets::add(&secret);
    }
    // `kind: Inventory` documents are data, like `Values`: out of the manifests, checked
    // here; a manifest selecting hosts becomes one instance per host below.
    let mut raw_inventory =
        inventory::collect(&mut loaded.manifests, &config.inventories, &config.env);
    environments.extend(raw_inventory.environments.iter().cloned());
    super::warn(config, &std::mem::take(&mut raw_inventory.warnings));
    let (inventory, inventory_errors) = raw_inventory.resolve();
    diagnostics.extend(inventory_errors);
    let (host_errors, placement) = inventory::check_manifests(
        &inventory,
        &loaded.manifests,
        &config.env,
        &inventory::limit_patterns(&config.limit),
    );
    diagnostics.extend(host_errors);
    // What the manifests read, before `resolve_tags` replaces the tags by their values.
    let mut value_refs = BTreeSet::new();
    if !config.values.sets.is_empty() {
        for m in &loaded.manifests {
            value_references(&m.spec, &mut value_refs);
            value_references(&m.metadata_node, &mut value_refs);
        }
        for node in values.nodes() {
            value_references(node, &mut value_refs);
        }
    }
    resolve_tags(
        config,
        &mut loaded.manifests,
        &values,
        &placement,
        &mut value_errors,
    );
    for e in env_tag_errors {
        let said = |v: &ManifestError| {
            v.location.file.name() == e.location.file.name()
                && v.location.mark == e.location.mark
                && v.kind.to_string() == e.kind.to_string()
        };
        if !value_errors.iter().any(said) && !loaded.errors.iter().any(said) {
            value_errors.push(e);
        }
    }
    // `ordo actions` lists what the handlers declare: a value that does not resolve (the
    // secrets file not given) changes no declaration, and stops no listing (NU-F14).
    if config.command == CommandKind::Actions {
        value_errors.clear();
    }
    diagnostics.extend(
        loaded
            .errors
            .into_iter()
            .chain(value_errors)
            .map(Diagnostic::from),
    );
    environments.extend(values.environments.iter().cloned());
    diagnostics.extend(check_environments(&config.env, project, &environments));

    let src_dirs = super::trees::handler_dirs(
        config,
        config
            .src
            .clone()
            .unwrap_or_else(|| default_src(&loaded.files)),
    );
    let mut handler_errors = Vec::new();
    let found = super::trees::discover(config, &src_dirs, &mut handler_errors);
    // Directory links not followed are said once (manifests and handlers are often read
    // from the same directory) and stop nothing.
    let (not_followed, errors): (Vec<_>, Vec<_>) = handler_errors
        .into_iter()
        .partition(crate::handler::HandlerError::is_warning);
    handler_errors = errors;
    let mut warnings: Vec<Diagnostic> = Vec::new();
    for d in std::mem::take(&mut loaded.warnings)
        .into_iter()
        .map(Diagnostic::from)
        .chain(not_followed.into_iter().map(|e| e.into_diagnostic()))
    {
        if !warnings.iter().any(|w| w.message == d.message) {
            warnings.push(d.as_warning());
        }
    }
    super::warn(config, &warnings);
    let fingerprint = handler_fingerprint(&src_dirs, &found);
    let (engine, registry) = match last.filter(|w| w.handler_fingerprint == fingerprint) {
        Some(last) => (Arc::clone(&last.engine), Arc::clone(&last.registry)),
        None => {
            let roots: HashMap<String, ImportRoot> = found
                .iter()
                .map(|f| {
                    let dir = f
                        .source
                        .dir()
                        .canonicalize()
                        .unwrap_or_else(|_| f.root.clone());
                    (
                        f.source.name().to_string(),
                        ImportRoot {
                            root: f.root.clone(),
                            dir,
                        },
                    )
                })
                .collect();
            let engine = crate::stdlib::engine(&config.limits, ImportResolver::new(roots));
            let registry =
                HandlerRegistry::load(&engine, &found, &config.limits, &mut handler_errors);
            (Arc::new(engine), Arc::new(registry))
        }
    };
    let broken_handlers = !handler_errors.is_empty();
    diagnostics.extend(handler_errors.into_iter().map(|e| e.into_diagnostic()));

    // A handler that failed to load may be the one a manifest needs: say so rather than
    // leave "no handler serves kind" looking like a separate problem.
    let mut manifests = loaded.manifests;
    let mut handlers = vec![usize::MAX; manifests.len()];
    for (m, slot) in manifests.iter().zip(handlers.iter_mut()) {
        match registry.resolve(&m.kind, &m.version) {
            Ok(h) => *slot = h,
            Err(e) => {
                let mark = if matches!(e, crate::handler::ResolveErrorKind::BadVersion(_)) {
                    m.version_mark
                } else {
                    m.kind_mark
                };
                let unknown_kind =
                    matches!(e, crate::handler::ResolveErrorKind::UnknownKind { .. });
                let mut d = e.into_diagnostic(m.at(mark));
                if unknown_kind && broken_handlers {
                    d = d.note(
                        "a handler failed to load (see above); it may be the one for this kind",
                    );
                }
                diagnostics.push(d);
            }
        }
    }
    diagnostics.extend(check_schemas(
        config,
        &engine,
        &registry,
        &mut manifests,
        &handlers,
    ));
    diagnostics.extend(denied_calls(config, &registry, &manifests, &handlers));
    if !config.values.sets.is_empty() {
        let lookups = value_lookups(&engine, config, &registry, &manifests, &handlers);
        diagnostics.extend(unused_sets(config, &values, &value_refs, &lookups));
    }
    // One manifest per host it runs on (`name@host`), once everything written in it is
    // checked, so that each problem is reported once.
    // What each manifest depends on as written, for the order through what `--limit`
    // leaves out.
    let written: HashMap<String, Vec<String>> = if config.limit.is_empty() {
        HashMap::new()
    } else {
        manifests
            .iter()
            .map(|m| {
                let refs = m.metadata.dependencies.apply.iter().chain(&m.implicit);
                (m.name.clone(), refs.map(|r| r.name.clone()).collect())
            })
            .collect()
    };
    let hosted = inventory::expand(&mut manifests, &mut handlers, &inventory, &placement);
    let (mut graph, plan_errors) =
        Graph::build_instances(&manifests, &config.env, &placement.all_hosts);
    if !written.is_empty() && plan_errors.is_empty() {
        order_through_limit(&mut graph, &manifests, &written, &placement);
    }
    if hosted {
        record_instance_dependencies(&mut manifests, &graph);
    }
    diagnostics.extend(plan_errors.into_iter().map(Diagnostic::from));

    if !diagnostics.is_empty() {
        return Err(Error::Input(diagnostics));
    }
    super::trees::save_lock(config)?;
    Ok(World {
        manifests,
        engine,
        registry,
        handler_fingerprint: fingerprint,
        handlers,
        graph,
        values: Arc::new(values),
        placement,
        inventory_hosts: inventory
            .hosts
            .values()
            .map(|h| (h.name.clone(), Arc::new(inventory::instance_host(h))))
            .collect(),
    })
}

/// What the engine and the handlers are built from: each handler found (its name, where it
/// comes from, its text) and every `*.rhai` file below the handler directories (the
/// modules they import), with their hashes. The engine caches imported modules, so a
/// changed module counts as much as a changed handler.
fn handler_fingerprint(src_dirs: &[PathBuf], found: &[crate::handler::Found]) -> String {
    let mut text = String::new();
    for f in found {
        text.push_str(&format!(
            "{}\t{:?}\t{}\n",
            f.source.name(),
            f.origin,
            crate::stdlib::sha256_hex(f.source.text().as_bytes())
        ));
    }
    let mut modules: Vec<(PathBuf, String)> = src_dirs
        .iter()
        .flat_map(|dir| walkdir::WalkDir::new(dir).follow_links(false))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rhai"))
        .map(|e| {
            let hash = std::fs::read(e.path())
                .map(|bytes| crate::stdlib::sha256_hex(&bytes))
                .unwrap_or_default();
            (e.path().to_path_buf(), hash)
        })
        .collect();
    modules.sort();
    for (path, hash) in modules {
        text.push_str(&format!("{}\t{hash}\n", path.display()));
    }
    crate::stdlib::sha256_hex(text.as_bytes())
}

/// Each manifest of the environment against its handler's `schema` (DESIGN §11), defaults
/// filled in; every problem of every manifest, at its place in the manifest.
fn check_schemas(
    config: &Config,
    engine: &Engine,
    registry: &HandlerRegistry,
    manifests: &mut [Manifest],
    handlers: &[usize],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (m, &h) in manifests.iter_mut().zip(handlers) {
        if h == usize::MAX || !m.metadata.in_environment(&config.env) {
            continue;
        }
        registry.prepare(engine, &config.limits, h);
        let handler = registry.get(h);
        let Some(schema) = handler.compiled().ok().and_then(|c| c.schema.clone()) else {
            continue;
        };
        let mut problems = Vec::new();
        crate::handler::conform::check_spec(&schema, &mut m.spec, &mut problems);
        for p in problems {
            let mut d = Diagnostic::error(format!("manifest `{}`: {}", m.name, p.message));
            if let Some(about) = &p.about {
                d = d.note(format!("the field: {about}"));
            }
            out.push(
                d.at(m.at(p.mark))
                    .note(format!(
                        "the schema of `{}` {} (handler {}; `ordo explain {}` lists its fields)",
                        m.kind,
                        m.version,
                        handler.name(),
                        m.kind
                    ))
                    .help_opt(p.help),
            );
        }
    }
    out
}

/// `--limit` leaves instances out of the run, but not the order that passes through them:
/// if `dbconf@db-1` depends on `appconf`, whose instances are all left out, it still
/// waits for what `appconf`'s instances would have waited for (`localcfg` on the
/// controller, say), and so on through further left-out instances.
fn order_through_limit(
    graph: &mut Graph,
    manifests: &[crate::manifest::Manifest],
    written: &HashMap<String, Vec<String>>,
    placement: &inventory::Placement,
) {
    /// The nodes `name` (read from `host`'s point of view) stands for, looking through the
    /// instances the limit left out.
    fn reach(
        name: &str,
        host: Option<&str>,
        graph: &Graph,
        written: &HashMap<String, Vec<String>>,
        placement: &inventory::Placement,
        seen: &mut HashSet<String>,
        out: &mut Vec<usize>,
    ) {
        if let Some(&node) = graph.by_name.get(name) {
            out.push(node);
            return;
        }
        let (target, at) = crate::manifest::split_instance(name);
        let Some(all) = placement.all_hosts.get(target) else {
            return;
        };
        let hosts: Vec<&str> = match (at, host) {
            (Some(h), _) => vec![h],
            (None, Some(h)) if all.iter().any(|x| x == h) => vec![h],
            _ => all.iter().map(String::as_str).collect(),
        };
        for h in hosts {
            let instance = crate::manifest::instance_name(target, h);
            if let Some(&node) = graph.by_name.get(&instance) {
                out.push(node);
            } else if seen.insert(instance) {
                for r in written.get(target).into_iter().flatten() {
                    reach(r, Some(h), graph, written, placement, seen, out);
                }
            }
        }
    }
    for node in 0..graph.nodes.len() {
        let Some(m) = graph.nodes.get(node).and_then(|&i| manifests.get(i)) else {
            continue;
        };
        let host = m.host.as_ref().map(|h| h.name.as_str());
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in written.get(m.base_name()).into_iter().flatten() {
            reach(r, host, graph, written, placement, &mut seen, &mut out);
        }
        if let Some(edges) = graph.apply.get_mut(node) {
            for n in out {
                if n != node && !edges.iter().any(|e| e.node == n) {
                    edges.push(crate::planner::Edge {
                        node: n,
                        mark: crate::manifest::Mark::default(),
                    });
                }
            }
        }
    }
}

/// With instances, what a manifest depends on is instances (`a@h1`), not the names
/// written: the state records those, so `--prune` deletes orphaned instances in the
/// right order.
fn record_instance_dependencies(manifests: &mut [Manifest], graph: &Graph) {
    for (node, edges) in graph.apply.iter().enumerate() {
        let names: Vec<crate::manifest::NameRef> = edges
            .iter()
            .filter_map(|e| {
                let m = graph.nodes.get(e.node).and_then(|&i| manifests.get(i))?;
                Some(crate::manifest::NameRef {
                    name: m.name.clone(),
                    mark: e.mark,
                })
            })
            .collect();
        if let Some(m) = graph.nodes.get(node).and_then(|&i| manifests.get_mut(i)) {
            m.metadata.dependencies.apply = names;
            m.implicit.clear();
        }
    }
}

/// `--deny CAP` found before anything runs: each call of a handler serving a manifest of
/// this run that needs a denied capability, once per handler and call, naming the manifests
/// that would fail. (Bundled handlers are left to run time: their uses are not scanned.)
fn denied_calls(
    config: &Config,
    registry: &HandlerRegistry,
    manifests: &[crate::manifest::Manifest],
    handlers: &[usize],
) -> Vec<Diagnostic> {
    let deny = config.policy.deny;
    if deny == crate::stdlib::Permissions::default() {
        return Vec::new();
    }
    let mut served: std::collections::BTreeMap<usize, Vec<&str>> = Default::default();
    for (m, &h) in manifests.iter().zip(handlers) {
        if h != usize::MAX && m.metadata.in_environment(&config.env) {
            served.entry(h).or_default().push(&m.name);
        }
    }
    let mut out = Vec::new();
    for (h, names) in served {
        let handler = registry.get(h);
        for used in handler.uses.iter().filter(|u| deny.contains(u.cap)) {
            let via = used
                .via
                .as_ref()
                .map(|v| format!(" (through module `{v}`)"))
                .unwrap_or_default();
            let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
            let more = names.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            out.push(
                Diagnostic::error(format!(
                    "`{}`{via} needs the `{}` permission, which this run denies (--deny {})",
                    used.call, used.cap, used.cap
                ))
                .at(crate::manifest::Location::new(&handler.file, used.mark))
                .note(format!(
                    "handler `{}` serves {}{more}; nothing was run",
                    handler.name(),
                    shown.join(", ")
                ))
                .help(format!(
                    "drop `--deny {}`, or leave these manifests out of the run (`--exclude`)",
                    used.cap
                )),
            );
        }
    }
    out
}

/// The files given as values (`-f`, the project's) or inventories (`-i`): never loaded as
/// manifests when a `-m` directory holds them.
pub(super) fn not_manifests(config: &Config) -> Vec<PathBuf> {
    config
        .values
        .files
        .iter()
        .chain(&config.inventories)
        .cloned()
        .collect()
}

/// The value names handlers look up with a literal `values::get("NAME")`/`values::has`,
/// plus the names of the manifests served by a handler that looks a value up by a computed
/// name (`CliInputPrompt` reads `--set <its manifest's name>`): those may be read too.
fn value_lookups(
    engine: &Engine,
    config: &Config,
    registry: &HandlerRegistry,
    manifests: &[Manifest],
    handlers: &[usize],
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut computed = HashSet::new();
    for index in 0..registry.handlers().len() {
        registry.prepare(engine, &config.limits, index);
        if let Ok(compiled) = registry.get(index).compiled() {
            let found = value_lookups_of(&compiled.ast);
            names.extend(found.names);
            if found.computed {
                computed.insert(index);
            }
        }
    }
    for (m, h) in manifests.iter().zip(handlers) {
        if computed.contains(h) {
            names.insert(m.name.clone());
        }
    }
    names
}

/// `--set NAME` that no value definition, no `!Value`/`!Sub` and no handler look-up uses
/// is a typo: it would be silently ignored (issue 13: `--set replicsa=5`).
fn unused_sets(
    config: &Config,
    values: &ValueSet,
    refs: &BTreeSet<String>,
    lookups: &BTreeSet<String>,
) -> Vec<Diagnostic> {
    let mut reported = HashSet::new();
    let mut errors = Vec::new();
    for set in &config.values.sets {
        let Some((name, _)) = set.split_once('=') else {
            continue;
        };
        if values.is_defined(name)
            || refs.contains(name)
            || lookups.contains(name)
            || !reported.insert(name)
        {
            continue;
        }
        let known: BTreeSet<&str> = values
            .defined_names()
            .chain(refs.iter().map(String::as_str))
            .chain(lookups.iter().map(String::as_str))
            .collect();
        let hint = did_you_mean(name, known.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        errors.push(
            Diagnostic::error(format!(
                "--set `{name}`: no value definition, `!Value`, `!Sub` or handler uses a value named `{name}`{hint}"
            ))
            .help(if known.is_empty() {
                "this run defines and reads no values".to_string()
            } else {
                format!(
                    "values known to this run: {}",
                    known.into_iter().take(20).collect::<Vec<_>>().join(", ")
                )
            }),
        );
    }
    errors
}

/// Substitutes `!Value`, `!Env`, `!Sub` and `std.*` in the manifests of the environment,
/// checks every `!Variable`, and records the edges they imply.
fn resolve_tags(
    config: &Config,
    manifests: &mut [Manifest],
    values: &ValueSet,
    placement: &inventory::Placement,
    errors: &mut Vec<ManifestError>,
) {
    let mut names: HashMap<String, usize> = manifests
        .iter()
        .enumerate()
        .filter(|(_, m)| m.metadata.in_environment(&config.env))
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    // `!Variable web@h1.key` names one instance of a manifest run on hosts.
    for (name, hosts) in &placement.all_hosts {
        if let Some(&i) = names.get(name) {
            for h in hosts {
                names.insert(crate::manifest::instance_name(name, h), i);
            }
        }
    }
    let mut all_names: HashMap<String, Vec<String>> = HashMap::new();
    for m in manifests.iter() {
        all_names
            .entry(m.name.clone())
            .or_default()
            .extend(m.metadata.environments.clone().unwrap_or_default());
    }
    let action = if config.command == CommandKind::Delete {
        "delete"
    } else {
        "apply"
    };
    let secrets = values.secret_texts();
    let ctx = StaticContext {
        values,
        env: &config.env,
        action,
        names: &names,
        all_names: &all_names,
        deny_env: config.policy.deny.contains(crate::stdlib::Capability::Env),
        secrets: &secrets,
        env_vars: None,
    };
    for m in manifests
        .iter_mut()
        .filter(|m| m.metadata.in_environment(&config.env))
    {
        let mut result = StaticResult::default();
        let file = Arc::clone(&m.file);
        resolve_static(
            &mut m.spec,
            "spec",
            &file,
            &m.name,
            &ctx,
            &mut result,
            errors,
        );
        resolve_static(
            &mut m.metadata_node,
            "metadata",
            &file,
            &m.name,
            &ctx,
            &mut result,
            errors,
        );
        per_host_reads(m, &result.producers, placement, errors);
        m.implicit = result.producers;
        m.deferred = result.deferred;
        m.tag_sources = result.sources;
        for text in &result.secret_texts {
            crate::exec::secrets::add(text);
        }
    }
}

/// `!Variable a.key` (or `${a.key}` in `!Sub`) where `a` runs on hosts and the reader has
/// no instance of `a` beside it (on the controller, or on a host `a` does not run on):
/// which instance is meant is unknown, an input error naming them (`a@h1.key`).
fn per_host_reads(
    m: &Manifest,
    producers: &[crate::manifest::NameRef],
    placement: &inventory::Placement,
    errors: &mut Vec<ManifestError>,
) {
    let reader_hosts = placement.all_hosts.get(&m.name);
    for p in producers {
        let (producer, at) = crate::manifest::split_instance(&p.name);
        let Some(hosts) = placement.all_hosts.get(producer).filter(|_| at.is_none()) else {
            continue;
        };
        let beside = reader_hosts.is_some_and(|r| r.iter().all(|h| hosts.contains(h)));
        if beside || hosts.is_empty() {
            continue;
        }
        let text = variable_text(&m.spec, p.mark)
            .or_else(|| variable_text(&m.metadata_node, p.mark))
            .filter(|t| t.starts_with(producer));
        let key = text
            .as_deref()
            .and_then(|t| t.split_once('.'))
            .map_or("key", |(_, k)| k)
            .to_string();
        errors.push(ManifestError {
            location: m.at(p.mark),
            kind: crate::manifest::ManifestErrorKind::Tag(
                crate::manifest::TagErrorKind::PerHostVariable(format!(
                    "`{}` in `{}`: `{producer}` runs on hosts ({}), and its variables are per host: name one instance: {}",
                    text.map_or_else(|| format!("{producer}.{key}"), |t| format!("!Variable {t}")),
                    m.name,
                    hosts.join(", "),
                    hosts
                        .iter()
                        .map(|h| format!("`{producer}@{h}.{key}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
            ),
        });
    }
}

/// The argument of the `!Variable` tag at `mark` in `node`, if there is one.
fn variable_text(node: &crate::manifest::Node, mark: crate::manifest::Mark) -> Option<String> {
    let mut found = None;
    let _ = node.try_walk(&mut |n: &crate::manifest::Node| {
        if let crate::manifest::Value::Tagged(t) = &n.value
            && t.tag == "!Variable"
            && n.mark == mark
        {
            found = t.node.as_str().map(str::to_string);
            return Err(());
        }
        Ok(())
    });
    found
}

/// The directories holding the manifest files (standard input counts as `.`), in order:
/// where a run (and `ordo lint` without a PATH) looks for handlers when `-s` is not given.
pub(super) fn default_src(files: &[Arc<crate::manifest::SourceFile>]) -> Vec<PathBuf> {
    // Distinct directories first (there may be one file per manifest), then drop those
    // inside another: handlers are found below each directory anyway.
    let mut seen = std::collections::HashSet::new();
    let mut distinct: Vec<PathBuf> = Vec::new();
    for f in files {
        let dir = if f.name() == "<stdin>" {
            PathBuf::from(".")
        } else {
            f.dir().to_path_buf()
        };
        if seen.insert(dir.clone()) {
            distinct.push(dir);
        }
    }
    let canonical: Vec<PathBuf> = distinct
        .iter()
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.clone()))
        .collect();
    let mut dirs = Vec::new();
    let mut kept: Vec<&PathBuf> = Vec::new();
    for (dir, real) in distinct.iter().zip(&canonical) {
        if !kept.iter().any(|k| real.starts_with(k)) {
            kept.push(real);
            dirs.push(dir.clone());
        }
    }
    dirs
}

/// What `--only`, `--selector` and `--exclude` pick for `delete` (or apply) order; names
/// that match nothing are input errors.
pub(super) fn select(
    config: &Config,
    world: &World,
    delete: bool,
) -> Result<Option<crate::planner::Selected>, Error> {
    let mut selected = if config.selection.is_empty() {
        None
    } else {
        Some(
            config
                .selection
                .apply(&world.graph, &world.manifests, delete)
                .map_err(|errors| {
                    Error::Input(errors.into_iter().map(Diagnostic::error).collect())
                })?,
        )
    };
    // `delete --limit` touches only the hosts it names: a manifest on the controller (no
    // `metadata.hosts`), which instances on other hosts may still need, is never deleted.
    if delete && !config.limit.is_empty() {
        let n = world.graph.nodes.len();
        let hosted: Vec<bool> = world
            .graph
            .nodes
            .iter()
            .map(|&i| world.manifests.get(i).is_some_and(|m| m.host.is_some()))
            .collect();
        let s = selected.get_or_insert_with(|| crate::planner::Selected {
            roots: hosted.clone(),
            excluded: vec![false; n],
            explicit: false,
        });
        for (node, &on_host) in hosted.iter().enumerate() {
            if !on_host {
                if let Some(r) = s.roots.get_mut(node) {
                    *r = false;
                }
                if let Some(x) = s.excluded.get_mut(node) {
                    *x = true;
                }
            }
        }
    }
    Ok(selected)
}
