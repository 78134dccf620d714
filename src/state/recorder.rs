//! [`StateRecorder`]: turns finished manifests into journal records, and state entries back
//! into manifests (for pruning).

use std::collections::HashSet;
use std::sync::Arc;

use super::store::{Entry, Journal, Record, State, StateErrorKind};
use crate::exec::{Outcome, Recorder, Status, Variables};
use crate::handler::HandlerRegistry;
use crate::manifest::{
    Entry as NodeEntry, Manifest, Mark, Metadata, NameRef, Node, SourceFile, Value,
};
use crate::planner::Step;

/// A node as JSON; a tag becomes `{"tag": ..., "value": ...}`, as handlers see it.
pub fn node_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(node_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), node_json(&e.value)))
                .collect(),
        ),
        Value::Tagged(t) => serde_json::json!({"tag": t.tag, "value": node_json(&t.node)}),
    }
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

/// Parses raw JSON kept in the state (it was written by us, so it is valid).
pub fn parse_raw(raw: &serde_json::value::RawValue) -> serde_json::Value {
    serde_json::from_str(raw.get()).unwrap_or(serde_json::Value::Null)
}

/// sha256 of a spec as written (after values), to tell a changed spec from drift.
pub fn spec_hash(spec: &Node) -> String {
    crate::stdlib::sha256_hex(node_json(spec).to_string().as_bytes())
}

/// Rebuilds a manifest from its state entry, to delete it with its handler (`--prune`).
pub fn entry_manifest(name: &str, entry: &Entry, index: usize) -> Manifest {
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
    }
}

/// Writes a journal record as each manifest finishes.
pub struct StateRecorder<'a> {
    journal: Journal,
    /// The state as of the start of the run, with every record of this run applied.
    state: State,
    env: String,
    /// The run deletes: finished manifests leave the state.
    deleting: bool,
    /// Manifests pruned during an apply: they leave the state too.
    pruned: HashSet<String>,
    vars: Arc<Variables>,
    registry: &'a HandlerRegistry,
    /// The first error writing the journal; the run reports it at the end.
    pub error: Option<StateErrorKind>,
}

impl<'a> StateRecorder<'a> {
    pub fn new(
        journal: Journal,
        state: State,
        env: String,
        deleting: bool,
        pruned: HashSet<String>,
        vars: Arc<Variables>,
        registry: &'a HandlerRegistry,
    ) -> Self {
        StateRecorder {
            journal,
            state,
            env,
            deleting,
            pruned,
            vars,
            registry,
            error: None,
        }
    }

    /// Syncs the journal and hands back the state with this run's records applied, to be
    /// committed; or the first error of the run.
    pub fn close(mut self) -> Result<State, StateErrorKind> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.journal.sync()?;
        Ok(self.state)
    }

    fn entry(&self, step: &Step, m: &Manifest, outcome: &Outcome) -> Entry {
        let handler = self.registry.get(step.handler);
        let (mut metadata, mut spec) = match &outcome.resolved {
            Some(r) => (r.0.clone(), r.1.clone()),
            None => (node_json(&m.metadata_node), node_json(&m.spec)),
        };
        // Secrets never reach the state file, not even inside a spec or an output.
        crate::exec::secrets::mask_json(&mut metadata);
        crate::exec::secrets::mask_json(&mut spec);
        let mut variables = serde_json::Map::new();
        let mut secret_variables = Vec::new();
        for (key, var) in self.vars.of_manifest(&m.name) {
            if var.secret {
                // Kept out: a masked value read back later would be worse than none.
                secret_variables.push(key);
            } else {
                let mut value = crate::script::convert::dynamic_to_json(&var.value);
                crate::exec::secrets::mask_json(&mut value);
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
        Entry {
            kind: m.kind.clone(),
            version: m.version.clone(),
            file: m.file.name().to_string(),
            dir: m.file.absolute_dir().to_string(),
            metadata: raw(&metadata),
            spec: raw(&spec),
            spec_hash: spec_hash(&m.spec),
            handler: handler.name().to_string(),
            handler_hash: handler.hash.clone(),
            variables: raw(&serde_json::Value::Object(variables)),
            secret_variables,
            dependencies,
            applied_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }
}

impl Recorder for StateRecorder<'_> {
    fn finished(&mut self, step: &Step, m: &Manifest, outcome: &Outcome) {
        if self.error.is_some() || !matches!(outcome.status, Status::Changed | Status::Unchanged) {
            return;
        }
        let record = if self.deleting || self.pruned.contains(&m.name) {
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
        match self.journal.append(&record) {
            Ok(()) => self.state.apply(record),
            Err(e) => self.error = Some(e),
        }
    }
}
