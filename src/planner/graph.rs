//! [`Graph`]: the manifests of one environment and the dependencies between them.
//!
//! Built once per run. It checks every reference (unknown names with a "did you mean",
//! names outside the environment, self-dependencies) and both orders for cycles: apply
//! (`dependencies.apply`) and delete (the reverse of apply plus `dependencies.delete`).
//! A cycle is reported as its whole path, with the file and line of every edge.

use std::collections::{HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};

use super::error::{PlanError, PlanErrorKind as K};
use crate::diagnostic::did_you_mean;
use crate::manifest::{Manifest, Mark, Serial, instance_name, split_instance};

/// An edge: the node depended on, and where the dependency is written.
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    pub node: usize,
    pub mark: Mark,
}

#[derive(Debug)]
pub struct Graph {
    /// Node → index into the run's manifests, in document order.
    pub nodes: Vec<usize>,
    pub by_name: HashMap<String, usize>,
    /// Node → the nodes it lists under `dependencies.apply`.
    pub apply: Vec<Vec<Edge>>,
    /// Node → the nodes it lists under `dependencies.delete`.
    pub delete: Vec<Vec<Edge>>,
    /// Node → whether it runs its apply logic during delete (`actionOverrides`).
    pub applies_on_delete: Vec<bool>,
    /// Node → the nodes of the previous batch of the same manifest (`metadata.serial`):
    /// ordering only, in both actions; a failure there does not skip this node.
    pub batch: Vec<Vec<usize>>,
}

impl Graph {
    /// The manifests of `env` and their edges; every reference and cycle problem as errors.
    pub fn build(manifests: &[Manifest], env: &str) -> (Graph, Vec<PlanError>) {
        Graph::build_instances(manifests, env, &HashMap::new())
    }

    /// [`Graph::build`] over manifest instances (DESIGN §13). `hosted` maps each manifest
    /// with `metadata.hosts` to every host it selects (whatever `--limit` says); its
    /// instances among `manifests` are named `name@host`. If `b` depends on `a`, `b@h`
    /// waits for `a@h` when `a` runs on `h`, else for every instance of `a`; a manifest on
    /// the controller waits for every instance. `a@h` names one instance.
    pub fn build_instances(
        manifests: &[Manifest],
        env: &str,
        hosted: &HashMap<String, Vec<String>>,
    ) -> (Graph, Vec<PlanError>) {
        let in_env: Vec<(usize, &Manifest)> = manifests
            .iter()
            .enumerate()
            .filter(|(_, m)| m.metadata.in_environment(env))
            .collect();
        let nodes: Vec<usize> = in_env.iter().map(|&(i, _)| i).collect();
        let by_name: HashMap<String, usize> = in_env
            .iter()
            .enumerate()
            .map(|(n, (_, m))| (m.name.clone(), n))
            .collect();
        let all_names: HashMap<&str, &Manifest> =
            manifests.iter().map(|m| (m.base_name(), m)).collect();
        let mut instances: HashMap<&str, Vec<usize>> = HashMap::new();
        for (n, (_, m)) in in_env.iter().enumerate() {
            if m.host.is_some() {
                instances.entry(m.base_name()).or_default().push(n);
            }
        }

        let mut errors = Vec::new();
        // Every instance of a manifest holds the same written references: each problem is
        // reported once.
        let mut reported: HashSet<(String, Mark)> = HashSet::new();
        let mut resolve = |from: &Manifest, refs: &[crate::manifest::NameRef]| -> Vec<Edge> {
            let mut edges = Vec::new();
            let mut seen = HashSet::new();
            let from_host = from.host.as_ref().map(|h| h.name.as_str());
            for r in refs {
                let location = from.at(r.mark).with_width(r.name.chars().count());
                let (target, target_host) = split_instance(&r.name);
                let mut push = |node: usize| {
                    if seen.insert(node) {
                        edges.push(Edge { node, mark: r.mark });
                    }
                };
                if target == from.base_name() {
                    if reported.insert((from.file.name().to_string(), r.mark)) {
                        errors.push(PlanError {
                            location,
                            kind: K::SelfDependency {
                                name: r.name.clone(),
                            },
                        });
                    }
                    continue;
                }
                if let Some(&node) = by_name.get(&r.name) {
                    push(node);
                    continue;
                }
                if let Some(all) = hosted.get(target) {
                    match target_host {
                        // `a@h`: that instance, when `h` is one of `a`'s hosts (outside
                        // `--limit`, it is not in this run: nothing to wait for).
                        Some(h) if all.iter().any(|x| x == h) => {}
                        Some(_) => {
                            if reported.insert((from.file.name().to_string(), r.mark)) {
                                errors.push(PlanError {
                                    location,
                                    kind: K::UnknownDependency {
                                        from: from.base_name().to_string(),
                                        name: r.name.clone(),
                                        suggestion: did_you_mean(
                                            &r.name,
                                            by_name.keys().map(String::as_str),
                                        )
                                        .map(str::to_string),
                                    },
                                });
                            }
                        }
                        None => {
                            let same_host = from_host
                                .and_then(|h| by_name.get(&instance_name(target, h)).copied());
                            match same_host {
                                Some(node) => push(node),
                                None => {
                                    for &node in instances.get(target).into_iter().flatten() {
                                        push(node);
                                    }
                                }
                            }
                        }
                    }
                    continue;
                }
                if !reported.insert((from.file.name().to_string(), r.mark)) {
                    continue;
                }
                let kind = match all_names.get(r.name.as_str()) {
                    Some(other) => K::OutsideEnvironment {
                        from: from.base_name().to_string(),
                        name: r.name.clone(),
                        env: env.to_string(),
                        environments: other.metadata.environments.clone().unwrap_or_default(),
                    },
                    None => K::UnknownDependency {
                        from: from.base_name().to_string(),
                        name: r.name.clone(),
                        suggestion: did_you_mean(&r.name, by_name.keys().map(String::as_str))
                            .map(str::to_string),
                    },
                };
                errors.push(PlanError { location, kind });
            }
            edges
        };
        let mut apply = Vec::with_capacity(nodes.len());
        let mut delete = Vec::with_capacity(nodes.len());
        for &(_, m) in &in_env {
            let mut edges = resolve(m, &m.metadata.dependencies.apply);
            // `!Variable` references order the producer first, like a written dependency.
            for e in resolve(m, &m.implicit) {
                if !edges.iter().any(|x| x.node == e.node) {
                    edges.push(e);
                }
            }
            apply.push(edges);
            delete.push(resolve(m, &m.metadata.dependencies.delete));
        }
        let applies_on_delete = nodes
            .iter()
            .map(|&i| {
                manifests
                    .get(i)
                    .is_some_and(|m| m.metadata.delete_runs == crate::manifest::Action::Apply)
            })
            .collect();
        let batch = batches(manifests, &nodes, &instances);
        let graph = Graph {
            nodes,
            by_name,
            apply,
            delete,
            applies_on_delete,
            batch,
        };
        // A cycle in apply order shows up reversed in delete order too; report it once.
        if !graph.find_cycles(manifests, false, &mut errors) {
            graph.find_cycles(manifests, true, &mut errors);
        }
        (graph, errors)
    }

    /// The edges "must run before me" for `delete` (or apply) order: node → predecessors.
    /// (`serial` batches are apart: [`Graph::batch`].)
    pub fn predecessors(&self, delete: bool) -> Vec<Vec<Edge>> {
        if !delete {
            return self.apply.clone();
        }
        // During delete, a manifest goes before what it depends on (so what depends on me
        // goes before me), and after what it lists under `dependencies.delete`.
        let mut pred: Vec<Vec<Edge>> = self.delete.clone();
        for (node, deps) in self.apply.iter().enumerate() {
            for d in deps {
                // Two manifests that both run their apply logic during delete
                // (`actionOverrides: {delete: apply}`, like backup steps feeding each other)
                // keep their apply order: the second needs what the first produces.
                let both_apply = self.applies_on_delete.get(node).copied().unwrap_or(false)
                    && self.applies_on_delete.get(d.node).copied().unwrap_or(false);
                match (
                    both_apply,
                    pred.get_mut(if both_apply { node } else { d.node }),
                ) {
                    (true, Some(p)) => p.push(*d),
                    (false, Some(p)) => p.push(Edge { node, mark: d.mark }),
                    _ => {}
                }
            }
        }
        pred
    }

    /// Reports every cycle of the order; returns whether there was one.
    fn find_cycles(
        &self,
        manifests: &[Manifest],
        delete: bool,
        errors: &mut Vec<PlanError>,
    ) -> bool {
        let pred = self.predecessors(delete);
        let mut g: DiGraph<(), ()> = DiGraph::with_capacity(self.nodes.len(), 0);
        for _ in &self.nodes {
            g.add_node(());
        }
        for (node, deps) in pred.iter().enumerate() {
            for d in deps {
                g.add_edge(NodeIndex::new(node), NodeIndex::new(d.node), ());
            }
        }
        let mut found: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(&g)
            .into_iter()
            .filter(|scc| scc.len() > 1)
            .map(|scc| scc.into_iter().map(NodeIndex::index).collect())
            .collect();
        found.sort_by_key(|scc: &Vec<usize>| scc.iter().min().copied());
        let any = !found.is_empty();
        // The instances of a cycle's manifests repeat it once per host: reported once.
        let mut seen_paths: HashSet<Vec<String>> = HashSet::new();
        for scc in found {
            let path = cycle_in(&scc, &pred);
            let manifest = |n: usize| self.nodes.get(n).and_then(|&i| manifests.get(i));
            let name = |n: usize| manifest(n).map(|m| m.name.clone()).unwrap_or_default();
            let bases: Vec<String> = path
                .iter()
                .map(|&n| {
                    manifest(n)
                        .map(|m| m.base_name().to_string())
                        .unwrap_or_default()
                })
                .collect();
            if !seen_paths.insert(bases) {
                continue;
            }
            // The edge `a -> b` is written in the manifest that holds it: `a` for apply edges
            // and delete-list edges, `b` for reversed apply edges.
            let edges: Vec<_> = path
                .windows(2)
                .filter_map(|w| {
                    let (&a, &b) = (w.first()?, w.get(1)?);
                    let edge = edges_of(&pred, a)
                        .iter()
                        .find(|e| e.node == b)
                        .map(|e| e.mark)
                        .unwrap_or_default();
                    let written_in_a = edges_of(&self.apply, a)
                        .iter()
                        .chain(edges_of(&self.delete, a).iter())
                        .any(|e| e.node == b && e.mark == edge);
                    let holder = if written_in_a { a } else { b };
                    manifest(holder).map(|m| m.at(edge))
                })
                .collect();
            let Some(location) = edges.first().cloned() else {
                continue;
            };
            errors.push(PlanError {
                location,
                kind: K::Cycle {
                    path: path.iter().map(|&n| name(n)).collect(),
                    edges,
                    delete,
                },
            });
        }
        any
    }
}

/// Node → the nodes of the previous batch of its manifest, for manifests with
/// `metadata.serial`: the instances in host order, cut into batches.
fn batches(
    manifests: &[Manifest],
    nodes: &[usize],
    instances: &HashMap<&str, Vec<usize>>,
) -> Vec<Vec<usize>> {
    let mut batch = vec![Vec::new(); nodes.len()];
    for list in instances.values() {
        let serial: Option<Serial> = list
            .first()
            .and_then(|&n| nodes.get(n))
            .and_then(|&i| manifests.get(i))
            .and_then(|m| m.metadata.serial);
        let Some(serial) = serial else { continue };
        let size = serial.batch(list.len());
        let chunks: Vec<&[usize]> = list.chunks(size).collect();
        for pair in chunks.windows(2) {
            if let [previous, current] = pair {
                for &n in *current {
                    if let Some(b) = batch.get_mut(n) {
                        b.extend_from_slice(previous);
                    }
                }
            }
        }
    }
    batch
}

/// The edges of node `n` in `list`; none for a node that is not there.
fn edges_of(list: &[Vec<Edge>], n: usize) -> &[Edge] {
    list.get(n).map(Vec::as_slice).unwrap_or_default()
}

/// A cycle through the strongly connected component `scc`, starting at its first node in
/// document order: `[a, b, c, a]`, where each node has the next as a predecessor.
fn cycle_in(scc: &[usize], pred: &[Vec<Edge>]) -> Vec<usize> {
    let members: HashSet<usize> = scc.iter().copied().collect();
    let start = scc.iter().copied().min().unwrap_or_default();
    // Breadth-first search from `start` back to `start`, inside the component, so the
    // reported cycle is a shortest one through `start`.
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<usize> = pred
            .get(n)
            .into_iter()
            .flatten()
            .map(|e| e.node)
            .filter(|m| members.contains(m))
            .collect();
        next.sort_unstable();
        for m in next {
            if m == start {
                let mut path = vec![n];
                let mut cur = n;
                while let Some(&p) = parent.get(&cur) {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    vec![start, start]
}
