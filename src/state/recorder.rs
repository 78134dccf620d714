//! [`StateRecorder`]: turns finished manifests into journal records, and state entries back
//! into manifests (for pruning).

use std::collections::HashSet;
use std::sync::Arc;

use super::key::SpecHasher;
use super::lock::StateLock;
use super::store::{Entry, Journal, Record, RecordedHost, State, StateErrorKind, StateStore};
use crate::exec::{Outcome, Recorder, Status, Variables};
use crate::handler::HandlerRegistry;
use crate::manifest::{
    Entry as NodeEntry, InstanceHost, Manifest, Mark, Metadata, NameRef, Node, SourceFile, Value,
};
use crate::planner::Step;

/// A node as JSON, as handlers see it: a tag becomes `{"tag": ..., "value": ...}`, a float
/// that is not finite `null`, and maps keep their order. Serialized directly, without a
/// JSON tree in between (the state records every manifest's spec and metadata).
struct NodeJson<'a>(&'a Node);

impl serde::Serialize for NodeJson<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match &self.0.value {
            Value::Null => ser.serialize_unit(),
            Value::Bool(b) => ser.serialize_bool(*b),
            Value::Int(i) => ser.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => ser.serialize_f64(*f),
            Value::Float(_) => ser.serialize_unit(),
            Value::String(s) => ser.serialize_str(s),
            Value::Seq(items) => {
                let mut seq = ser.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&NodeJson(item))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = ser.serialize_map(Some(entries.len()))?;
                for e in entries {
                    map.serialize_entry(&e.key, &NodeJson(&e.value))?;
                }
                map.end()
            }
            Value::Tagged(t) => {
                let mut map = ser.serialize_map(Some(2))?;
                map.serialize_entry("tag", &t.tag)?;
                map.serialize_entry("value", &NodeJson(&t.node))?;
                map.end()
            }
        }
    }
}

/// A node as a JSON tree (to mask secrets in it).
pub(super) fn node_json(node: &Node) -> serde_json::Value {
    serde_json::to_value(NodeJson(node)).unwrap_or(serde_json::Value::Null)
}

/// A node as compact JSON text.
pub(super) fn node_text(node: &Node) -> String {
    serde_json::to_string(&NodeJson(node)).unwrap_or_else(|_| "null".into())
}

/// JSON back to a node (positions unknown).
pub fn json_node(value: &serde_json::Value) -> Node {
    use serde_json::Value as J;
    let v = match value {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        J::String(s) => Value::String(s.clone()),
        J::Array(a) => Value::Seq(a.iter().map(json_node).collect()),
        J::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| NodeEntry {
                    key: k.clone(),
                    key_mark: Mark::default(),
                    value: json_node(v),
                })
                .collect(),
        ),
    };
    Node::new(Mark::default(), v)
}

fn raw(value: &serde_json::Value) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(value)
        .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
}

/// Raw JSON from text this module serialized.
fn raw_text(text: String) -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string(text)
        .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
}

/// `node` as raw JSON with every secret masked; the paths masked go to `masked`.
fn raw_masked(
    node: &Node,
    prefix: &str,
    masked: &mut Vec<String>,
) -> Box<serde_json::value::RawValue> {
    if crate::exec::secrets::any() {
        let mut value = node_json(node);
        mask_paths(&mut value, prefix, masked);
        raw(&value)
    } else {
        raw_text(node_text(node))
    }
}

/// Masks every string in `value`, noting the path of each one changed (`spec.a[0].b`).
fn mask_paths(value: &mut serde_json::Value, path: &str, masked: &mut Vec<String>) {
    use serde_json::Value as J;
    match value {
        J::String(s) => {
            if let std::borrow::Cow::Owned(m) = crate::exec::secrets::mask(s) {
                *s = m;
                masked.push(path.to_string());
            }
        }
        J::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                mask_paths(item, &format!("{path}[{i}]"), masked);
            }
        }
        J::Object(map) => {
            for (k, v) in map.iter_mut() {
                mask_paths(v, &format!("{path}.{k}"), masked);
            }
        }
        // A secret that is a number or a bool in YAML is secret text all the same.
        other => {
            if crate::exec::secrets::secret_scalar(other) {
                *other = J::String(crate::exec::secrets::MASK.into());
                masked.push(path.to_string());
            }
        }
    }
}

/// Parses raw JSON kept in the state (it was written by us, so it is valid).
pub fn parse_raw(raw: &serde_json::value::RawValue) -> serde_json::Value {
    serde_json::from_str(raw.get()).unwrap_or(serde_json::Value::Null)
}

/// `m.previous` for a handler: `#{ spec, variables, applied_at }` as the entry recorded
/// them (secret values masked in the spec, secret variables absent, as in the state).
pub fn previous_value(entry: &Entry) -> rhai::Dynamic {
    use crate::script::convert::json_to_dynamic;
    let mut map = rhai::Map::new();
    let mut spec = parse_raw(&entry.spec);
    // A value masked when recorded is unknown: `()`, never `***` (the paths are listed).
    for path in entry.masked.iter().filter_map(|p| p.strip_prefix("spec")) {
        if let Some(v) = spec.pointer_mut(&json_pointer(path)) {
            *v = serde_json::Value::Null;
        }
    }
    map.insert("spec".into(), json_to_dynamic(&spec));
    map.insert(
        "masked".into(),
        entry
            .masked
            .iter()
            .filter(|p| p.starts_with("spec"))
            .map(|p| rhai::Dynamic::from(p.clone()))
            .collect::<rhai::Array>()
            .into(),
    );
    map.insert(
        "variables".into(),
        json_to_dynamic(&parse_raw(&entry.variables)),
    );
    map.insert("applied_at".into(), entry.applied_at.clone().into());
    rhai::Dynamic::from_map(map)
}

/// `.a[0].b` as a JSON pointer (`/a/0/b`).
fn json_pointer(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push('/');
            out.push_str(&key.replace('~', "~0").replace('/', "~1"));
        }
        for index in rest.split('[').filter(|i| !i.is_empty()) {
            out.push('/');
            out.push_str(index.trim_end_matches(']'));
        }
    }
    out
}

/// Rebuilds a manifest from its state entry, to delete it with its handler (`--prune`).
/// An instance's `host` is the one the run's inventory has under that name (the caller
/// looks it up; the state records no connection settings).
pub fn entry_manifest(
    name: &str,
    entry: &Entry,
    index: usize,
    host: Option<Arc<InstanceHost>>,
) -> Manifest {
    Manifest {
        index,
        file: SourceFile::new(entry.file.clone(), entry.dir.clone(), ""),
        mark: Mark::default(),
        kind: entry.kind.clone(),
        kind_mark: Mark::default(),
        version: entry.version.clone(),
        version_mark: Mark::default(),
        name: name.to_string(),
        name_mark: Mark::default(),
        metadata: Metadata {
            dependencies: crate::manifest::Dependencies {
                apply: entry
                    .dependencies
                    .iter()
                    .map(|d| NameRef {
                        name: d.clone(),
                        mark: Mark::default(),
                    })
                    .collect(),
                delete: Vec::new(),
            },
            ..Metadata::default()
        },
        metadata_node: json_node(&parse_raw(&entry.metadata)),
        spec: json_node(&parse_raw(&entry.spec)),
        implicit: Vec::new(),
        deferred: false,
        tag_sources: Vec::new(),
        host,
    }
}

/// Whether `spec`, whose keyed hash is `hash`, is the spec `previous` recorded: the two
/// hashes compared when both are taken with the same key (the spec is not hashed twice),
/// else as [`SpecHasher::same`] compares.
fn same_spec(hasher: &SpecHasher, hash: &str, spec: &Node, previous: &Entry) -> bool {
    let key = |h: &str| h.rsplit_once(':').map(|(k, _)| k.to_string());
    if !hash.is_empty() && key(hash) == key(&previous.spec_hash) {
        return hash == previous.spec_hash;
    }
    hasher.same(spec, previous)
}

/// An instance's host as the state records it: name and address, for display.
fn recorded_host(h: &InstanceHost) -> RecordedHost {
    RecordedHost {
        name: h.name.clone(),
        address: h.address.clone(),
    }
}

/// Writes a journal record as each manifest finishes, while the run holds the lock.
///
/// Recording can fail: the journal cannot be written (a full disk), or the lock file was
/// removed or replaced under the run (another run may be in). Then nothing is recorded any
/// more, the run starts nothing new (see [`Recorder::can_record`]), and [`Self::save`] saves
/// what it safely can and says which finished manifests the state does not record.
pub struct StateRecorder<'a> {
    journal: Journal,
    /// Held for the whole run; checked before each manifest starts and after each record.
    lock: StateLock,
    /// The state as of the start of the run, with every record of this run applied.
    state: State,
    env: String,
    /// The run deletes: finished manifests leave the state.
    deleting: bool,
    /// Manifests pruned during an apply: they leave the state too.
    pruned: HashSet<String>,
    vars: Arc<Variables>,
    registry: &'a HandlerRegistry,
    /// Takes the keyed spec hashes recorded.
    hasher: SpecHasher,
    /// The first failure to record; nothing is recorded after it.
    failure: Option<StateErrorKind>,
    /// Records of manifests that finished since the failure (the failed one first).
    unrecorded: Vec<(String, Record)>,
    /// `apply --rollback-on-failure`: what the state held before the run, and the rollback
    /// journal with the command line it names.
    rollback: Option<Rollback>,
}

/// What a rollback needs from the state (see [`StateRecorder::rolling_back`]).
struct Rollback {
    prior: Arc<std::collections::BTreeMap<String, Entry>>,
    journal: super::rollback::RollbackJournal,
    command: String,
}

impl<'a> StateRecorder<'a> {
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of a run the state records; a struct for them would be used once"
    )]
    pub fn new(
        journal: Journal,
        lock: StateLock,
        state: State,
        env: String,
        deleting: bool,
        pruned: HashSet<String>,
        vars: Arc<Variables>,
        registry: &'a HandlerRegistry,
    ) -> Self {
        StateRecorder {
            journal,
            lock,
            state,
            env,
            deleting,
            pruned,
            vars,
            registry,
            hasher: SpecHasher::none(),
            failure: None,
            unrecorded: Vec::new(),
            rollback: None,
        }
    }

    /// `apply --rollback-on-failure`: `prior` is what the state held for this environment
    /// before the run (an undone manifest gets its entry back, or none); `state` is the
    /// state file's path, beside which the rollback journal goes; `command` the command
    /// line it names.
    #[must_use]
    pub fn rolling_back(
        mut self,
        prior: Arc<std::collections::BTreeMap<String, Entry>>,
        state: &std::path::Path,
        command: &str,
    ) -> Self {
        self.rollback = Some(Rollback {
            prior,
            journal: super::rollback::RollbackJournal::new(state),
            command: command.to_string(),
        });
        self
    }

    /// Records spec hashes keyed with `hasher`'s key (without one, no hash is recorded).
    #[must_use]
    pub fn keyed(mut self, hasher: SpecHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// The entry the state holds for `name` in this run's environment: before `name`
    /// finishes, what the last apply of it recorded.
    pub fn previous(&self, name: &str) -> Option<&Entry> {
        self.state.env(&self.env)?.get(name)
    }

    /// Saves the run's records into the state file and releases the lock; an error when
    /// the run could not record everything that finished (or cannot save now).
    ///
    /// While the lock held throughout, the state in memory is the state file plus every
    /// record of this run, so it is written whole, with what the journal could not take.
    /// A lock lost meanwhile means another run may have changed the state: the lock is
    /// taken again and what was not recorded goes through the journal, folded into the
    /// state as the disk has it; if another run holds the lock now, it is not recorded.
    pub fn save(mut self, store: &StateStore, command: &str) -> Result<(), StateErrorKind> {
        if self.failure.is_none() {
            if let Err(e) = self.lock.check() {
                self.failure = Some(e);
            } else {
                // The commit makes the journal moot; should it fail, the journal is kept,
                // synced as far as the disk lets it.
                let _ = self.journal.sync();
                let saved = store.commit(&self.state);
                drop(self.lock);
                return saved;
            }
        }
        let cause = Box::new(self.failure.take().unwrap_or(StateErrorKind::LockLost {
            path: self.lock.path().display().to_string(),
            how: "lost",
        }));
        let names = self.unrecorded.iter().map(|(n, _)| n.clone()).collect();
        let records = self.unrecorded.into_iter().map(|(_, r)| r);
        let saved = if self.lock.check().is_ok() {
            let mut state = self.state;
            records.for_each(|r| state.apply(r));
            let saved = store.commit(&state);
            drop(self.lock);
            saved
        } else {
            let path = self.lock.path().to_path_buf();
            drop(self.lock);
            StateLock::acquire(&path, command).and_then(|(lock, _)| {
                let mut journal = store.journal()?;
                for r in records {
                    journal.append(&r)?;
                }
                journal.sync()?;
                let folded = store.fold();
                drop(lock);
                folded
            })
        };
        Err(match saved {
            Ok(()) => StateErrorKind::Stopped {
                cause,
                unrecorded: Vec::new(),
                saving: None,
            },
            Err(e) => StateErrorKind::Stopped {
                cause,
                unrecorded: names,
                saving: Some(Box::new(e)),
            },
        })
    }

    fn entry(&self, step: &Step, m: &Manifest, outcome: &mut Outcome) -> Entry {
        let handler = self.registry.get(step.handler);
        // Secrets never reach the state file, not even inside a spec or an output.
        let mut masked = Vec::new();
        let (metadata, spec) = match outcome.resolved.take() {
            // Resolved at run time (`!Variable`): what the handler saw.
            Some(r) => {
                let (mut metadata, mut spec) = *r;
                if crate::exec::secrets::any() {
                    mask_paths(&mut metadata, "metadata", &mut masked);
                    mask_paths(&mut spec, "spec", &mut masked);
                }
                (raw(&metadata), raw(&spec))
            }
            // Everything was resolved at load: the manifest as loaded is what it saw.
            None => (
                raw_masked(&m.metadata_node, "metadata", &mut masked),
                raw_masked(&m.spec, "spec", &mut masked),
            ),
        };
        let mut variables = serde_json::Map::new();
        let mut secret_variables = Vec::new();
        for (key, var) in self.vars.of_manifest(&m.name) {
            let value = crate::script::convert::dynamic_to_json(&var.value);
            let mut masked = value.clone();
            crate::exec::secrets::mask_json(&mut masked);
            if var.secret || masked != value {
                // Kept out, a variable holding secret text too (`postgres://app:pw@db`): a
                // masked value read back later would be worse than none.
                secret_variables.push(key);
            } else {
                variables.insert(key, value);
            }
        }
        let mut dependencies: Vec<String> = m
            .metadata
            .dependencies
            .apply
            .iter()
            .map(|d| d.name.clone())
            .collect();
        dependencies.extend(m.implicit.iter().map(|d| d.name.clone()));
        dependencies.sort();
        dependencies.dedup();
        let spec_hash = self.hasher.hash(&m.spec);
        // A new revision for each apply that ran (or that records another spec or
        // handler); an apply that found nothing to do updates the current one.
        let revision = match self.previous(&m.name) {
            None => 1,
            Some(p)
                if outcome.status == Status::Unchanged
                    && p.handler_hash == handler.hash
                    && same_spec(&self.hasher, &spec_hash, &m.spec, p) =>
            {
                p.revision
            }
            Some(p) => p.next_revision(),
        };
        let sources = super::restore::recorded_sources(&m.tag_sources, &masked);
        Entry {
            kind: m.kind.clone(),
            version: m.version.clone(),
            file: m.file.canonical_name().to_string(),
            dir: m.file.absolute_dir().to_string(),
            metadata,
            spec,
            spec_hash,
            handler: handler.file.canonical_name().to_string(),
            handler_hash: handler.hash.clone(),
            handler_source: handler
                .origin
                .source()
                .map(|s| super::RecordedHandlerSource {
                    name: s.name.clone(),
                    url: s.url.clone(),
                    pin: s.pin.clone(),
                }),
            variables: raw(&serde_json::Value::Object(variables)),
            secret_variables,
            masked,
            dependencies,
            applied_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            revision,
            sources,
            history: Vec::new(),
            host: m.host.as_deref().map(recorded_host),
        }
    }
}

impl StateRecorder<'_> {
    /// Journals `record` (of manifest `name`) and applies it to the state in memory; once
    /// recording failed, keeps it for [`Self::save`].
    fn write(&mut self, name: &str, record: Record) {
        if self.failure.is_some() {
            self.unrecorded.push((name.to_string(), record));
            return;
        }
        // The lock is checked after the write: a record written while it held is read by
        // whoever takes the lock next; one written after it was lost may not be.
        let appended = self.journal.append(&record);
        match self.lock.check().and(appended) {
            Ok(()) => self.state.apply(record),
            Err(e) => {
                self.failure = Some(e);
                self.unrecorded.push((name.to_string(), record));
            }
        }
    }
}

impl Recorder for StateRecorder<'_> {
    fn finished(&mut self, step: &Step, m: &Manifest, outcome: &mut Outcome) {
        if !matches!(
            outcome.status,
            Status::Changed | Status::Unchanged | Status::Done
        ) {
            return;
        }
        let record = if outcome.status == Status::Done {
            // `run ACTION`: the recorded spec stays; the variables the action set are kept,
            // as an apply's are (for a manifest the state records).
            let fresh = self.entry(step, m, outcome);
            let Some(old) = self.state.env(&self.env).and_then(|e| e.get(&m.name)) else {
                return;
            };
            let mut entry = old.clone();
            entry.variables = fresh.variables;
            entry.secret_variables = fresh.secret_variables;
            Record::Put {
                env: self.env.clone(),
                name: m.name.clone(),
                entry: Box::new(entry),
            }
        } else if self.deleting || self.pruned.contains(&m.name) {
            Record::Remove {
                env: self.env.clone(),
                name: m.name.clone(),
            }
        } else {
            Record::Put {
                env: self.env.clone(),
                name: m.name.clone(),
                entry: Box::new(self.entry(step, m, outcome)),
            }
        };
        self.write(&m.name, record);
    }

    fn rollback_started(&mut self, names: &[String]) {
        if let Some(r) = &mut self.rollback {
            r.journal.start(&r.command, &self.env, names);
        }
    }

    fn rolled_back(&mut self, _step: &Step, m: &Manifest, result: &str, undone: bool) {
        let Some(r) = &mut self.rollback else {
            return;
        };
        if undone {
            // Undone: what the state held before the run, again (nothing, if it was new).
            let record = match r.prior.get(&m.name) {
                Some(entry) => Record::Restore {
                    env: self.env.clone(),
                    name: m.name.clone(),
                    entry: Box::new(entry.clone()),
                },
                None => Record::Remove {
                    env: self.env.clone(),
                    name: m.name.clone(),
                },
            };
            self.write(&m.name, record);
        }
        if let Some(r) = &mut self.rollback {
            r.journal.done(&m.name, result);
        }
    }

    fn rollback_finished(&mut self, _outcome: &str) {
        if let Some(r) = &mut self.rollback {
            r.journal.finish();
        }
    }

    fn can_record(&mut self) -> bool {
        if self.failure.is_some() {
            return false;
        }
        match self.lock.check() {
            Ok(()) => true,
            Err(e) => {
                self.failure = Some(e);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_paths_become_json_pointers() {
        assert_eq!(json_pointer(".pw"), "/pw");
        assert_eq!(json_pointer(".a[0][2].b/c"), "/a/0/2/b~1c");
    }
    use crate::manifest::{Limits, parse_one};

    #[test]
    fn node_text_is_compact_ordered_json_as_handlers_see_it() {
        // Spec hashes in state files are taken over this text: its form must not change.
        let yaml = "zeta: 1\nalpha: [true, null, -3, 1.5, .nan, .inf, \"a \\\"quoted\\\" \\u00e9\"]\n\
                    nested: {b: {c: [], d: {}}, a: '0644'}\ntagged: !Custom {x: 1}\nplain: !Other text\n";
        let node = parse_one(yaml, &Limits::default()).unwrap();
        assert_eq!(
            node_text(&node),
            r#"{"zeta":1,"alpha":[true,null,-3,1.5,null,null,"a \"quoted\" é"],"nested":{"b":{"c":[],"d":{}},"a":"0644"},"tagged":{"tag":"!Custom","value":{"x":1}},"plain":{"tag":"!Other","value":"text"}}"#
        );
        assert_eq!(node_json(&node).to_string(), node_text(&node));
    }
}
