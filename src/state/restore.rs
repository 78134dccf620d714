//! Restoring a recorded revision: the manifest it recorded, ready to apply again, with every
//! value the state masked re-resolved from the sources of the current run.
//!
//! The state never holds secret text: a spec value that held some is recorded as `***`, its
//! path listed in `masked`. To apply that spec again (`ordo rollback`, `apply
//! --rollback-on-failure`), the entry also records, per masked path, the tag written there
//! (`!Value "db.password"`, `!Env "DB_PW"`, `!Sub [...]`, `!Variable "a.token"`) as YAML
//! flow text ([`RecordedSource`]). [`restore_manifest`] puts the recorded spec and metadata
//! back together and resolves each of those tags again, against the values and the
//! environment of the run that restores it: the non-secret values are those recorded, the
//! secrets come from where they come from now, and `***` never reaches a handler. A masked
//! value with no tag to re-resolve (a secret written literally), or whose tag cannot be
//! resolved now (the value or the environment variable is gone), is a [`RestoreError`]
//! naming the manifest, the path and the tag.

use std::collections::HashMap;
use std::sync::Arc;

use super::key::SpecHasher;
use super::recorder::entry_manifest;
use super::store::{Entry, RecordedSource};
use crate::manifest::{
    InstanceHost, Limits, Manifest, Node, StaticContext, StaticResult, TagSource, Value, ValueSet,
    parse_one, recorded_metadata, resolve_static, split_name,
};

/// What a restore resolves tags against: the values, the environment and the policy of the
/// run that restores (not those of the run that recorded).
#[derive(Clone, Copy)]
pub struct RestoreContext<'a> {
    /// The run's values (`World::values`).
    pub values: &'a ValueSet,
    /// The run's environment (`-e`).
    pub env: &'a str,
    /// `--deny env`: an `!Env` source is refused, as at load.
    pub deny_env: bool,
    /// The key of the state's spec hashes: a restored spec must hash to the hash the
    /// revision recorded (the secrets it re-resolved resolve as they did then).
    pub hasher: &'a SpecHasher,
    /// The state file, named in the errors about what it records.
    pub state_file: &'a std::path::Path,
}

/// A recorded revision that cannot be applied again as recorded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot re-apply `{manifest}` (revision {revision}): {what}")]
pub struct RestoreError {
    /// The entry's name (`web` or `web@h1`).
    pub manifest: String,
    pub revision: u64,
    /// The masked path concerned (`spec.db.password`).
    pub path: String,
    /// The tag it came from, as recorded (`!Env "DB_PW"`), when there is one.
    pub tag: Option<String>,
    /// The whole explanation: the path, the tag and why.
    pub what: String,
    /// The secrets re-resolved now resolve to other text than when the revision was
    /// applied (its recorded spec hash differs): applying it would not apply that revision.
    pub changed: bool,
}

impl RestoreError {
    fn new(name: &str, entry: &Entry, path: &str, tag: Option<&str>, why: &str) -> Self {
        let what = match tag {
            Some(t) => format!(
                "`{path}` held secret text, masked in the state; it came from `{t}`, which cannot be resolved now: {why}"
            ),
            None => format!("`{path}` held secret text, masked in the state, and {why}"),
        };
        RestoreError {
            manifest: name.to_string(),
            revision: entry.revision,
            path: path.to_string(),
            tag: tag.map(str::to_string),
            what,
            changed: false,
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        if self.changed {
            return format!(
                "give the values revision {} was applied with (`-f FILE`, `--set NAME=VALUE`), or export the variables as they were then, and retry",
                self.revision
            );
        }
        match &self.tag {
            Some(_) => "define the value (or export the variable) it came from again, and retry".into(),
            None => "a secret written literally in a spec is never recorded; apply the manifest from its files instead".into(),
        }
    }
}

/// Whether `path` is `prefix` or below it (`spec.a` covers `spec.a.b` and `spec.a[0]`).
pub(super) fn covers(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// The sources to record for `masked`: each tag of `sources` at or above a masked path, as
/// text. A tag whose own text holds a secret (one written literally in a `!Sub` map) is
/// never recorded: its path then cannot be restored, which [`restore_manifest`] says.
pub(super) fn recorded_sources(sources: &[TagSource], masked: &[String]) -> Vec<RecordedSource> {
    if masked.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<RecordedSource> = Vec::new();
    for s in sources {
        if !masked.iter().any(|p| covers(&s.path, p)) || out.iter().any(|o| o.path == s.path) {
            continue;
        }
        let tag = tag_text(&s.node);
        if matches!(crate::exec::secrets::mask(&tag), std::borrow::Cow::Owned(_)) {
            continue;
        }
        out.push(RecordedSource {
            path: s.path.clone(),
            tag,
        });
    }
    out
}

/// `node` as one line of YAML flow text that reads back as the same node, tags included:
/// strings double-quoted (JSON escapes are YAML escapes), floats in YAML's spelling.
pub(super) fn tag_text(node: &Node) -> String {
    let mut out = String::new();
    write_flow(node, &mut out);
    out
}

fn write_flow(node: &Node, out: &mut String) {
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    match &node.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_nan() => out.push_str(".nan"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { ".inf" } else { "-.inf" });
        }
        Value::Float(f) => out.push_str(&format!("{f:?}")),
        Value::String(s) => out.push_str(&quoted(s)),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quoted(&e.key));
                out.push_str(": ");
                write_flow(&e.value, out);
            }
            out.push('}');
        }
        Value::Tagged(t) => {
            out.push_str(&t.tag);
            out.push(' ');
            write_flow(&t.node, out);
        }
    }
}

/// The manifest `entry` (a state entry, or one revision of its `history`) recorded for
/// `name`, ready to apply again in the run `ctx` describes: its recorded `metadata` and
/// `spec`, every masked value re-resolved from its recorded tag. A `!Variable` tag is kept
/// for run time (the manifest is `deferred`, as at load). `index` is the manifest's place
/// in the run's list, `host` its instance's host as the run's inventory has it.
///
/// Errors (never `***` in what is returned): a masked path without a recorded tag, or a tag
/// that cannot be resolved now (an unknown value, an unset environment variable, `--deny
/// env`), named with the manifest, the path and the tag.
pub fn restore_manifest(
    name: &str,
    entry: &Entry,
    index: usize,
    host: Option<Arc<InstanceHost>>,
    ctx: &RestoreContext<'_>,
) -> Result<Manifest, RestoreError> {
    let mut m = entry_manifest(name, entry, index, host);
    let dependencies = std::mem::take(&mut m.metadata.dependencies.apply);
    m.metadata = recorded_metadata(&m.file, &m.metadata_node);
    m.metadata.dependencies.apply = dependencies;
    m.metadata.dependencies.delete.clear();
    for path in &entry.masked {
        if !entry.sources.iter().any(|s| covers(&s.path, path)) {
            return Err(RestoreError::new(
                name,
                entry,
                path,
                None,
                "the state records no tag it came from (it was written in the manifest as it is)",
            ));
        }
    }
    let state_file = ctx.state_file.display();
    for source in &entry.sources {
        let fail = |why: &str| RestoreError::new(name, entry, &source.path, Some(&source.tag), why);
        // Only what ordo itself records: a source for a masked path, of a tag the
        // recorder writes. The state is data anybody may have edited (it comes with a
        // cloned project): it must not choose new inputs for a spec.
        if !entry.masked.iter().any(|p| covers(&source.path, p)) {
            return Err(fail(&format!(
                "{state_file} records a source for it, but no masked value at or below that path; ordo records sources only for masked values (was the state file edited?)"
            )));
        }
        let written = parse_one(&source.tag, &Limits::default()).map_err(|e| {
            fail(&format!(
                "{state_file}'s record of it is not valid YAML ({})",
                e.kind
            ))
        })?;
        if !recorded_shape(&written) {
            return Err(fail(&format!(
                "{state_file}'s record of it is not a source ordo writes (`!Value NAME`, `!Env NAME`, `!Variable NAME`, `!Sub TEMPLATE`, `!Sub [TEMPLATE, {{NAME: VALUE}}]`)"
            )));
        }
        let mut node = written.clone();
        let deferred =
            resolve_source(&mut node, &source.path, &m, ctx).map_err(|why| fail(&why))?;
        m.deferred |= deferred;
        // It held secret text when recorded: whatever it resolves to now stays secret (in
        // the output of the run, and in the state it records).
        let _ = node.try_walk(&mut |n: &Node| -> Result<(), ()> {
            if let Value::String(text) = &n.value {
                crate::exec::secrets::add(text);
            }
            Ok(())
        });
        let (root, rest) = match source.path.split_once(['.', '[']) {
            Some((root, _)) => (root, &source.path[root.len()..]),
            None => (source.path.as_str(), ""),
        };
        let target = match root {
            "spec" => &mut m.spec,
            "metadata" => &mut m.metadata_node,
            _ => return Err(fail("its path is neither in `spec` nor in `metadata`")),
        };
        let slot = node_at(target, rest)
            .ok_or_else(|| fail("the recorded manifest has nothing at that path"))?;
        node.mark = slot.mark;
        *slot = node;
        m.tag_sources.push(TagSource {
            path: source.path.clone(),
            node: written,
        });
    }
    check_hash(name, entry, &m, ctx)?;
    Ok(m)
}

/// Whether `node` is a tag as the recorder writes one: `!Value`, `!Env` or `!Variable` of a
/// name, `!Sub` of a template, or of a template and a map of plain scalars and such tags.
fn recorded_shape(node: &Node) -> bool {
    let named = |n: &Node, tags: &[&str]| match &n.value {
        Value::Tagged(t) => tags.contains(&t.tag.as_str()) && t.node.as_str().is_some(),
        _ => false,
    };
    let Value::Tagged(t) = &node.value else {
        return false;
    };
    match t.tag.as_str() {
        "!Value" | "!Env" | "!Variable" => t.node.as_str().is_some(),
        "!Sub" => match &t.node.value {
            Value::String(_) => true,
            Value::Seq(items) => match items.as_slice() {
                [template, names] => {
                    template.as_str().is_some()
                        && match &names.value {
                            Value::Map(entries) => entries.iter().all(|e| {
                                matches!(
                                    e.value.value,
                                    Value::String(_)
                                        | Value::Int(_)
                                        | Value::Float(_)
                                        | Value::Bool(_)
                                        | Value::Null
                                ) || named(&e.value, &["!Value", "!Env", "!Variable"])
                            }),
                            _ => false,
                        }
                }
                [template] => template.as_str().is_some(),
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

/// A restored spec that re-resolved secrets must be the spec the revision recorded: its
/// keyed hash must be the recorded one. A secret rotated since, or a `!Sub` that mixes a
/// secret with a value that changed, resolves to another spec: applying it would not apply
/// that revision (and would claim it did). A secret resolved only at run time
/// (`!Variable`) cannot be checked here, so such a revision is refused too.
fn check_hash(
    name: &str,
    entry: &Entry,
    m: &Manifest,
    ctx: &RestoreContext<'_>,
) -> Result<(), RestoreError> {
    let resolved: Vec<&RecordedSource> = entry
        .sources
        .iter()
        .filter(|s| s.path == "spec" || s.path.starts_with("spec.") || s.path.starts_with("spec["))
        .collect();
    if resolved.is_empty() {
        return Ok(());
    }
    if m.deferred {
        // Resolved only when it runs: nothing here can show that the spec it becomes is
        // the recorded one, and the state (data anybody may have edited) would choose
        // which variable flows into it. Refused, not re-applied unchecked.
        let first = resolved.first().map_or("spec", |s| s.path.as_str());
        return Err(RestoreError {
            manifest: name.to_string(),
            revision: entry.revision,
            path: first.to_string(),
            tag: resolved.first().map(|s| s.tag.clone()),
            what: format!(
                "secret text there comes from a `!Variable`, which resolves only when the manifest runs, so ordo cannot check that re-applying it gives back revision {}; undo it with the handler's `rollback` or `delete`",
                entry.revision
            ),
            changed: true,
        });
    }
    if ctx.hasher.same(&m.spec, entry) {
        return Ok(());
    }
    let listed = resolved
        .iter()
        .map(|s| format!("`{}` (from `{}`)", s.path, s.tag))
        .collect::<Vec<_>>()
        .join(", ");
    let why = if ctx.hasher.can_check(entry) {
        "now resolves differently from when"
    } else {
        "cannot be checked (the state's key that hashed it is gone) against what it was when"
    };
    let first = resolved.first().map_or("spec", |s| s.path.as_str());
    Err(RestoreError {
        manifest: name.to_string(),
        revision: entry.revision,
        path: first.to_string(),
        tag: resolved.first().map(|s| s.tag.clone()),
        what: format!(
            "{listed} held secret text that {why} revision {} was applied",
            entry.revision
        ),
        changed: true,
    })
}

/// Resolves one recorded tag in place; `Ok(true)` when it waits for run time
/// (`!Variable`); `Err` the reasons it cannot be resolved.
fn resolve_source(
    node: &mut Node,
    path: &str,
    m: &Manifest,
    ctx: &RestoreContext<'_>,
) -> Result<bool, String> {
    // `!Variable` producers are looked up when the manifest runs, among the variables the
    // state and the run hold: any name passes here.
    let mut names = HashMap::new();
    let _ = node.try_walk(&mut |n: &Node| -> Result<(), ()> {
        if let Value::Tagged(t) = &n.value
            && t.tag == "!Variable"
            && let Some((producer, _)) = t.node.as_str().and_then(split_name)
        {
            names.insert(producer.to_string(), 0);
        }
        Ok(())
    });
    let all_names = HashMap::new();
    let static_ctx = StaticContext {
        values: ctx.values,
        env: ctx.env,
        action: "apply",
        names: &names,
        all_names: &all_names,
        deny_env: ctx.deny_env,
        secrets: &[],
        env_vars: None,
    };
    let mut result = StaticResult::default();
    let mut errors = Vec::new();
    resolve_static(
        node,
        path,
        &m.file,
        m.base_name(),
        &static_ctx,
        &mut result,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| e.kind.to_string())
            .collect::<Vec<_>>()
            .join("; "));
    }
    Ok(result.deferred)
}

/// The node at `path` below `node` (`.a[0].b`; empty: `node` itself).
fn node_at<'n>(node: &'n mut Node, path: &str) -> Option<&'n mut Node> {
    let mut here = node;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            here = match &mut here.value {
                Value::Map(entries) => &mut entries.iter_mut().find(|e| e.key == key)?.value,
                _ => return None,
            };
        }
        for index in rest.split('[').filter(|i| !i.is_empty()) {
            let i: usize = index.trim_end_matches(']').parse().ok()?;
            here = match &mut here.value {
                Value::Seq(items) => items.get_mut(i)?,
                _ => return None,
            };
        }
    }
    Some(here)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_text_reads_back_as_the_same_node() {
        for yaml in [
            "!Value db.password",
            "!Env DB_PW",
            "!Sub \"postgres://u:${pw}@db\"",
            "!Sub [\"${a}-${b}\", {a: !Variable x.k, b: !Value \"q\\\"uote\\n\"}]",
            "!Value [1, 2.5, .nan, -.inf, true, null, \"0640\"]",
        ] {
            let node = parse_one(yaml, &Limits::default()).unwrap();
            let text = tag_text(&node);
            let back = parse_one(&text, &Limits::default()).unwrap();
            assert_eq!(tag_text(&back), text, "{yaml} -> {text}");
        }
        let node = parse_one("!Value db.password", &Limits::default()).unwrap();
        assert_eq!(tag_text(&node), "!Value \"db.password\"");
    }

    #[test]
    fn paths_cover_what_is_below_them() {
        assert!(covers("spec.a", "spec.a"));
        assert!(covers("spec.a", "spec.a.b"));
        assert!(covers("spec.a", "spec.a[0]"));
        assert!(!covers("spec.a", "spec.ab"));
        assert!(!covers("spec.a.b", "spec.a"));
    }

    fn values(sets: &[&str]) -> ValueSet {
        let sources = crate::manifest::ValueSources {
            files: Vec::new(),
            sets: sets.iter().map(|s| s.to_string()).collect(),
        };
        let mut errors = Vec::new();
        let set =
            crate::manifest::collect_values(&mut Vec::new(), &sources, "default", &mut errors);
        assert!(errors.is_empty());
        set
    }

    fn entry(spec: serde_json::Value, masked: &[&str], sources: &[(&str, &str)]) -> Entry {
        serde_json::from_value(serde_json::json!({
            "kind": "S", "version": "v1", "file": "/p/m.yaml", "dir": "/p",
            "metadata": {"name": "db", "timeout": 7}, "spec": spec, "spec_hash": "",
            "handler": "/p/s.rhai", "handler_hash": "h", "variables": {},
            "masked": masked, "applied_at": "2026-01-01T00:00:00Z", "revision": 3,
            "sources": sources.iter().map(|(p, t)| serde_json::json!({"path": p, "tag": t})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    fn hasher() -> SpecHasher {
        SpecHasher::with_key([7; 32])
    }

    fn restored_spec(m: &Manifest) -> serde_json::Value {
        super::super::recorder::node_json(&m.spec)
    }

    #[test]
    fn masked_values_are_resolved_again_from_the_current_sources() {
        let values = values(&["pw=new-secret", "user=bob"]);
        let ctx = RestoreContext {
            values: &values,
            env: "default",
            deny_env: false,
            hasher: &hasher(),
            state_file: std::path::Path::new("/p/.ordo/state.json"),
        };
        let e = entry(
            serde_json::json!({"pw": "***", "url": "u:***@db", "home": "***", "plain": "kept", "list": [1, "***"]}),
            &["spec.pw", "spec.url", "spec.home", "spec.list[1]"],
            &[
                ("spec.pw", "!Value \"pw\""),
                ("spec.url", "!Sub \"u:${pw}@db\""),
                ("spec.home", "!Env \"PATH\""),
                ("spec.list", "!Value \"listed\""),
            ],
        );
        // `listed` is gone: the whole restore fails, naming it.
        let err = restore_manifest("db", &e, 0, None, &ctx).unwrap_err();
        assert_eq!((err.path.as_str(), err.revision), ("spec.list", 3));
        assert!(
            err.to_string()
                .contains("cannot re-apply `db` (revision 3)"),
            "{err}"
        );
        assert!(err.to_string().contains("!Value \"listed\""), "{err}");
        assert!(err.to_string().contains("listed"), "{err}");
        let values = self::values(&["pw=new-secret", "listed=[1, two]"]);
        let ctx = RestoreContext {
            values: &values,
            env: "default",
            deny_env: false,
            hasher: &hasher(),
            state_file: std::path::Path::new("/p/.ordo/state.json"),
        };
        // Resolved to other text than the revision recorded: refused, naming the paths.
        let mut e = e;
        e.spec_hash = hasher().hash(&super::super::recorder::json_node(
            &serde_json::json!({"pw": "old-secret"}),
        ));
        let err = restore_manifest("db", &e, 5, None, &ctx).unwrap_err();
        assert!(err.changed, "{err}");
        assert!(
            err.to_string().contains("`spec.pw` (from `!Value \"pw\"`)")
                && err
                    .to_string()
                    .contains("now resolves differently from when revision 3 was applied"),
            "{err}"
        );
        let path = std::env::var("PATH").unwrap();
        let expected = serde_json::json!({"pw": "new-secret", "url": "u:new-secret@db", "home": path, "plain": "kept", "list": [1, "two"]});
        e.spec_hash = hasher().hash(&super::super::recorder::json_node(&expected));
        let m = restore_manifest("db", &e, 5, None, &ctx).unwrap();
        assert_eq!(restored_spec(&m), expected);
        assert_eq!(
            (m.index, m.name.as_str(), m.metadata.timeout),
            (5, "db", Some(std::time::Duration::from_secs(7)))
        );
        assert!(!m.deferred);
        // Recorded again, the sources are kept.
        assert_eq!(m.tag_sources.len(), 4);
    }

    #[test]
    fn a_masked_value_without_a_source_or_with_a_gone_one_is_an_error() {
        let values = values(&[]);
        let ctx = RestoreContext {
            values: &values,
            env: "default",
            deny_env: false,
            hasher: &hasher(),
            state_file: std::path::Path::new("/p/.ordo/state.json"),
        };
        let literal = entry(serde_json::json!({"pw": "***"}), &["spec.pw"], &[]);
        let err = restore_manifest("db", &literal, 0, None, &ctx).unwrap_err();
        assert_eq!(err.tag, None);
        assert!(
            err.to_string().contains("`spec.pw` held secret text"),
            "{err}"
        );
        let env = entry(
            serde_json::json!({"pw": "***"}),
            &["spec.pw"],
            &[("spec.pw", "!Env \"ORDO_RESTORE_TEST_NEVER_SET\"")],
        );
        let err = restore_manifest("db", &env, 0, None, &ctx).unwrap_err();
        assert!(
            err.to_string()
                .contains("environment variable `ORDO_RESTORE_TEST_NEVER_SET` is not set"),
            "{err}"
        );
        let denied = RestoreContext {
            deny_env: true,
            ..ctx
        };
        let err = restore_manifest("db", &env, 0, None, &denied).unwrap_err();
        assert!(err.to_string().contains("--deny env"), "{err}");
    }

    #[test]
    fn a_source_the_recorder_would_not_write_is_refused() {
        let values = values(&["pw=x"]);
        let ctx = RestoreContext {
            values: &values,
            env: "default",
            deny_env: false,
            hasher: &hasher(),
            state_file: std::path::Path::new("/p/.ordo/state.json"),
        };
        // A source for a path that was not masked.
        let e = entry(
            serde_json::json!({"pw": "***", "url": "http://x/"}),
            &["spec.pw"],
            &[("spec.pw", "!Value \"pw\""), ("spec.url", "!Env \"PATH\"")],
        );
        let err = restore_manifest("db", &e, 0, None, &ctx).unwrap_err();
        assert!(
            err.to_string()
                .contains("/p/.ordo/state.json records a source for it, but no masked value"),
            "{err}"
        );
        // A shape ordo never writes.
        for tag in [
            "!Value [\"pw\"]",
            "!Sub [\"${a}\", {a: [!Env \"PATH\"]}]",
            "!Include \"x\"",
            "\"pw\"",
        ] {
            let e = entry(
                serde_json::json!({"pw": "***"}),
                &["spec.pw"],
                &[("spec.pw", tag)],
            );
            let err = restore_manifest("db", &e, 0, None, &ctx).unwrap_err();
            assert!(
                err.to_string().contains("is not a source ordo writes"),
                "{tag}: {err}"
            );
        }
    }

    #[test]
    fn a_secret_from_a_variable_is_refused_as_it_cannot_be_checked() {
        let values = values(&[]);
        let ctx = RestoreContext {
            values: &values,
            env: "default",
            deny_env: false,
            hasher: &hasher(),
            state_file: std::path::Path::new("/p/.ordo/state.json"),
        };
        // What a state file edited to pull another manifest's secret into a URL looks like:
        // recorder-shaped, masked, and resolved only at run time.
        let e = entry(
            serde_json::json!({"token": "***"}),
            &["spec.token"],
            &[("spec.token", "!Variable \"auth.token\"")],
        );
        let err = restore_manifest("db", &e, 0, None, &ctx).unwrap_err();
        assert_eq!(err.path, "spec.token");
        assert!(
            err.to_string()
                .contains("resolves only when the manifest runs"),
            "{err}"
        );
    }
}
