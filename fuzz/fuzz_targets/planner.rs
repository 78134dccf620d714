//! The planner on arbitrary graphs: manifests with names (sometimes duplicated),
//! environments, apply and delete dependencies (mostly on earlier manifests, sometimes on
//! any, sometimes on unknown names), `!Variable` edges, skip flags, overrides and labels
//! are built from the fuzz input; then `Graph::build`, a selection (`--only`, `--exclude`, `--selector`) and
//! `Plan::build` for apply and delete run, as `ordo apply` / `ordo delete` would.
//!
//! Invariants checked on every plan: each manifest appears at most once; every step comes
//! after its predecessors and `before`/`after` agree; nothing is silently dropped (a graph
//! without cycle errors plans every manifest it pulls in); each step runs the function its
//! overrides say. Every cycle reported is a real cycle of the order.

#![no_main]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ordo::diagnostic::Diagnostic;
use ordo::manifest::{
    Action, Dependencies, Manifest, Mark, Metadata, NameRef, Node, SourceFile, Value,
};
use ordo::planner::{Graph, LabelSelector, Plan, PlanErrorKind, Selection};
use ordo::report::diagnostic::render;

const ENVS: [&str; 3] = ["dev", "prod", "test"];

#[derive(Arbitrary, Debug)]
struct Doc {
    name: u8,
    environments: Option<Vec<u8>>,
    apply: Vec<u8>,
    delete: Vec<u8>,
    implicit: Vec<u8>,
    skip_apply_all: bool,
    skip_delete_all: bool,
    apply_runs_delete: bool,
    delete_runs_apply: bool,
    labels: Vec<(u8, u8)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    docs: Vec<Doc>,
    env: u8,
    only: Vec<String>,
    exclude: Vec<String>,
    selectors: Vec<String>,
}

/// The name of document `index` of `count`: its own name mostly, sometimes another
/// document's (a duplicate).
fn name(byte: u8, index: usize, count: usize) -> String {
    if byte < 240 {
        format!("m{index}")
    } else {
        format!("m{}", usize::from(byte) % count.max(1))
    }
}

/// A reference from document `index` of `count`. Mostly to an earlier document, so that
/// graphs without cycles (which get a plan) are common; sometimes to any document (cycles,
/// self-dependencies); sometimes to a name no document has.
fn target(byte: u8, index: usize, count: usize) -> String {
    let b = usize::from(byte);
    match byte {
        0..192 if index > 0 => format!("m{}", b % index),
        0..240 => format!("m{}", b % count.max(1)),
        _ => format!("x{b}"),
    }
}

fn refs(list: &[u8], index: usize, count: usize, line: u32) -> Vec<NameRef> {
    list.iter()
        .enumerate()
        .map(|(i, &b)| NameRef {
            name: target(b, index, count),
            mark: Mark::new(line, u32::try_from(i).unwrap_or(0) + 1),
        })
        .collect()
}

fn manifest(file: &Arc<SourceFile>, index: usize, count: usize, d: &Doc) -> Manifest {
    let line = u32::try_from(index).unwrap_or(u32::MAX - 1) + 1;
    let pick = |b: u8| ENVS[usize::from(b) % ENVS.len()].to_string();
    Manifest {
        index,
        file: Arc::clone(file),
        mark: Mark::new(line, 1),
        kind: "Trace".into(),
        kind_mark: Mark::new(line, 1),
        version: "v1".into(),
        version_mark: Mark::new(line, 1),
        name: name(d.name, index, count),
        name_mark: Mark::new(line, 1),
        metadata: Metadata {
            labels: d
                .labels
                .iter()
                .map(|(k, v)| (format!("k{}", k % 4), format!("v{}", v % 4)))
                .collect(),
            environments: d
                .environments
                .as_ref()
                .map(|e| e.iter().map(|&b| pick(b)).collect()),
            dependencies: Dependencies {
                apply: refs(&d.apply, index, count, line),
                delete: refs(&d.delete, index, count, line),
            },
            skip_apply_all: d.skip_apply_all,
            skip_delete_all: d.skip_delete_all,
            apply_runs: if d.apply_runs_delete {
                Action::Delete
            } else {
                Action::Apply
            },
            delete_runs: if d.delete_runs_apply {
                Action::Apply
            } else {
                Action::Delete
            },
            timeout: None,
            retries: 0,
            retry_delay: Duration::from_secs(1),
            hosts: None,
            serial: None,
            max_fail_percent: None,
        },
        metadata_node: Node::null(Mark::new(line, 1)),
        spec: Node::new(Mark::new(line, 1), Value::Map(Vec::new())),
        implicit: refs(&d.implicit, index, count, line),
        deferred: false,
        host: None,
    }
}

fuzz_target!(|input: Input| {
    if input.docs.len() > 200 {
        return;
    }
    let text: String = (0..input.docs.len())
        .map(|i| format!("doc {i}\n"))
        .collect();
    let file = SourceFile::new("fuzz.yaml", ".", text);
    let manifests: Vec<Manifest> = input
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| manifest(&file, i, input.docs.len(), d))
        .collect();
    let env = ENVS[usize::from(input.env) % ENVS.len()];
    let (graph, errors) = Graph::build(&manifests, env);

    // The graph: the manifests of the environment, in document order, with edges inside it.
    let expected: Vec<usize> = (0..manifests.len())
        .filter(|&i| manifests[i].metadata.in_environment(env))
        .collect();
    assert_eq!(graph.nodes, expected);
    assert_eq!(graph.apply.len(), graph.nodes.len());
    assert_eq!(graph.delete.len(), graph.nodes.len());
    for edges in [&graph.apply, &graph.delete] {
        for (node, list) in edges.iter().enumerate() {
            for e in list {
                assert!(e.node < graph.nodes.len());
                assert_ne!(e.node, node, "self edge");
            }
        }
    }
    let unique = graph.by_name.len() == graph.nodes.len();
    for e in &errors {
        if let PlanErrorKind::Cycle { path, delete, .. } = &e.kind {
            assert!(path.len() >= 3, "a cycle of {path:?}");
            assert_eq!(path.first(), path.last());
            if unique {
                let pred = graph.predecessors(*delete);
                for w in path.windows(2) {
                    let (a, b) = (graph.by_name[&w[0]], graph.by_name[&w[1]]);
                    assert!(
                        pred[a].iter().any(|e| e.node == b),
                        "cycle {path:?}: {} does not wait for {}",
                        w[0],
                        w[1]
                    );
                }
            }
        }
    }
    let had_errors = !errors.is_empty();
    for e in errors {
        render(&Diagnostic::from(e), false);
    }
    if !unique || had_errors {
        // The real pipeline stops at input errors; no plan is built.
        return;
    }

    let selectors: Vec<LabelSelector> = input
        .selectors
        .iter()
        .filter_map(|s| LabelSelector::parse(s).ok())
        .collect();
    let selection = Selection {
        only: input.only.clone(),
        exclude: input.exclude.clone(),
        selectors,
    };
    let handlers = vec![0; manifests.len()];
    for action in [Action::Apply, Action::Delete] {
        let delete = action == Action::Delete;
        let selected = if selection.is_empty() {
            None
        } else {
            match selection.apply(&graph, &manifests, delete) {
                Ok(s) => Some(s),
                Err(_) => continue,
            }
        };
        if let Some(s) = &selected {
            assert_eq!(s.roots.len(), graph.nodes.len());
            assert_eq!(s.excluded.len(), graph.nodes.len());
        }
        let plan = Plan::build(&graph, &manifests, &handlers, action, selected.as_ref());
        check_plan(&graph, &manifests, &plan, action, selected.as_ref());
    }
});

fn check_plan(
    graph: &Graph,
    manifests: &[Manifest],
    plan: &Plan,
    action: Action,
    selected: Option<&ordo::planner::Selected>,
) {
    let delete = action == Action::Delete;
    let n = graph.nodes.len();
    assert_eq!(plan.before.len(), plan.steps.len());
    assert_eq!(plan.after.len(), plan.steps.len());
    let node_of: HashMap<usize, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(n, &m)| (m, n))
        .collect();
    let mut step_of = vec![None; n];
    for (s, step) in plan.steps.iter().enumerate() {
        let node = node_of[&step.manifest];
        assert!(
            step_of[node].is_none(),
            "{} planned twice",
            manifests[step.manifest].name
        );
        step_of[node] = Some(s);
        assert_eq!(
            step.function,
            manifests[step.manifest].metadata.runs(action)
        );
    }
    // Order: every step after the steps it waits for, and `after` mirrors `before`.
    for (s, before) in plan.before.iter().enumerate() {
        for &p in before {
            assert!(p < s, "step {s} waits for later step {p}");
            assert!(plan.after[p].contains(&s));
        }
    }
    let pred = graph.predecessors(delete);
    for node in 0..n {
        let Some(s) = step_of[node] else { continue };
        for e in &pred[node] {
            if let Some(p) = step_of[e.node] {
                assert!(
                    plan.before[s].contains(&p),
                    "a predecessor is not waited for"
                );
            }
        }
    }
    // Completeness: the roots and everything they pull in (never an excluded one).
    let skip = |node: usize| {
        let meta = &manifests[graph.nodes[node]].metadata;
        if delete {
            meta.skip_delete_all
        } else {
            meta.skip_apply_all
        }
    };
    let excluded = |node: usize| selected.is_some_and(|s| s.excluded[node]);
    let mut needed: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = (0..n)
        .filter(|&node| match selected {
            Some(s) if s.explicit => s.roots[node],
            _ => !skip(node) && !excluded(node),
        })
        .collect();
    let pulls = if delete { &graph.delete } else { &graph.apply };
    while let Some(node) = stack.pop() {
        if needed.insert(node) {
            stack.extend(pulls[node].iter().map(|e| e.node).filter(|&d| !excluded(d)));
        }
    }
    for node in 0..n {
        assert_eq!(
            step_of[node].is_some(),
            needed.contains(&node),
            "{} planned: {}, needed: {}",
            manifests[graph.nodes[node]].name,
            step_of[node].is_some(),
            needed.contains(&node)
        );
        if excluded(node) {
            assert!(step_of[node].is_none(), "an excluded manifest is planned");
        }
    }
}
