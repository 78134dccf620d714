//! [`Plan`]: which manifests run for a command, which handler function each runs, and the
//! order constraints between them.
//!
//! Apply runs every selected manifest except the `skipApplyAll` ones, plus everything they
//! depend on (transitively). Delete runs every selected manifest except the `skipDeleteAll`
//! ones, plus what they list under `dependencies.delete`. The steps come out in a
//! topological order with ties broken by document order, which is the exact order a run
//! with `-j 1` starts them in.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::graph::Graph;
use super::select::Selected;
use crate::manifest::{Action, Manifest};

#[derive(Clone, Debug)]
pub struct Step {
    /// Index into the run's manifests.
    pub manifest: usize,
    pub handler: usize,
    /// The handler function to call (after `actionOverrides`).
    pub function: Action,
}

#[derive(Debug)]
pub struct Plan {
    pub action: Action,
    pub steps: Vec<Step>,
    /// Step → the steps that must finish first.
    pub before: Vec<Vec<usize>>,
    /// Step → the steps waiting for it.
    pub after: Vec<Vec<usize>>,
    /// Step → those of `before` that are only an order (the previous `serial` batch of its
    /// manifest): their failure does not skip the step.
    pub soft: Vec<Vec<usize>>,
}

impl Plan {
    /// Builds the plan for `action`. `handlers[i]` is the handler of manifest `i`;
    /// `selection` is what `--only`, `--selector` and `--exclude` picked (everything when
    /// `None`).
    #[expect(
        clippy::indexing_slicing,
        reason = "node indices are below `graph.nodes.len()`, the length of `graph.apply`, `graph.delete`, the selection's vectors and every per-node vector here; `graph.nodes` holds indices into `manifests`, and `handlers` has one entry per manifest (the planner fuzz target checks these)"
    )]
    pub fn build(
        graph: &Graph,
        manifests: &[Manifest],
        handlers: &[usize],
        action: Action,
        selection: Option<&Selected>,
    ) -> Plan {
        let delete = action == Action::Delete;
        let n = graph.nodes.len();
        let skip = |node: usize| {
            let meta = &manifests[graph.nodes[node]].metadata;
            if delete {
                meta.skip_delete_all
            } else {
                meta.skip_apply_all
            }
        };
        let excluded = |node: usize| selection.is_some_and(|s| s.excluded[node]);
        let root = |node: usize| match selection {
            // Chosen by name or label: runs even when marked skip*.
            Some(s) if s.explicit => s.roots[node],
            _ => !skip(node) && !excluded(node),
        };
        // What is needed: the roots, then what they pull in (never an excluded one).
        let pulls = if delete { &graph.delete } else { &graph.apply };
        let mut included = vec![false; n];
        let mut stack: Vec<usize> = (0..n).filter(|&node| root(node)).collect();
        while let Some(node) = stack.pop() {
            if std::mem::replace(&mut included[node], true) {
                continue;
            }
            stack.extend(
                pulls[node]
                    .iter()
                    .map(|e| e.node)
                    .filter(|&d| !included[d] && !excluded(d)),
            );
        }

        let mut pred = graph.predecessors(delete);
        // `serial` batches: the same order in apply and delete.
        for (node, previous) in graph.batch.iter().enumerate() {
            for &p in previous {
                if !pred[node].iter().any(|e| e.node == p) {
                    pred[node].push(super::graph::Edge {
                        node: p,
                        mark: crate::manifest::Mark::default(),
                    });
                }
            }
        }
        // Kahn's algorithm over the included nodes, smallest document index first.
        let mut waiting: Vec<usize> = (0..n)
            .map(|node| {
                if included[node] {
                    pred[node].iter().filter(|e| included[e.node]).count()
                } else {
                    0
                }
            })
            .collect();
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
        for node in (0..n).filter(|&x| included[x]) {
            for e in pred[node].iter().filter(|e| included[e.node]) {
                succ[e.node].push(node);
            }
        }
        let mut ready: BinaryHeap<Reverse<usize>> = (0..n)
            .filter(|&x| included[x] && waiting[x] == 0)
            .map(Reverse)
            .collect();
        let mut step_of = vec![usize::MAX; n];
        let mut order = Vec::new();
        while let Some(Reverse(node)) = ready.pop() {
            step_of[node] = order.len();
            order.push(node);
            for &s in &succ[node] {
                waiting[s] -= 1;
                if waiting[s] == 0 {
                    ready.push(Reverse(s));
                }
            }
        }

        let steps: Vec<Step> = order
            .iter()
            .map(|&node| {
                let m = graph.nodes[node];
                Step {
                    manifest: m,
                    handler: handlers[m],
                    function: manifests[m].metadata.runs(action),
                }
            })
            .collect();
        let before: Vec<Vec<usize>> = order
            .iter()
            .map(|&node| {
                let mut b: Vec<usize> = pred[node]
                    .iter()
                    .filter(|e| included[e.node])
                    .map(|e| step_of[e.node])
                    .filter(|&s| s != usize::MAX)
                    .collect();
                b.sort_unstable();
                b.dedup();
                b
            })
            .collect();
        let mut after = vec![Vec::new(); steps.len()];
        for (s, b) in before.iter().enumerate() {
            for &p in b {
                after[p].push(s);
            }
        }
        let soft: Vec<Vec<usize>> = order
            .iter()
            .map(|&node| {
                graph.batch[node]
                    .iter()
                    .filter(|&&p| included[p] && !graph.apply[node].iter().any(|e| e.node == p))
                    .map(|&p| step_of[p])
                    .filter(|&s| s != usize::MAX)
                    .collect()
            })
            .collect();
        Plan {
            action,
            steps,
            before,
            after,
            soft,
        }
    }
}

impl Plan {
    /// Puts `prune` steps (deletions of manifests gone from the files) first, per host:
    /// `prune_before[i]` are the prune steps that must finish before prune step `i`;
    /// `prune_hosts[i]` and `step_hosts[s]` are the hosts of prune step `i` and of step `s`
    /// of `self` (`None`: the controller). A step waits for the prune steps of its own host,
    /// directly or through a predecessor on that host; the deletions on one host never hold
    /// back another's work.
    #[expect(
        clippy::indexing_slicing,
        reason = "`before` holds step indices below `steps.len()`, the length of `after`"
    )]
    pub fn prune_first(
        self,
        prune: Vec<Step>,
        prune_before: Vec<Vec<usize>>,
        prune_hosts: &[Option<&str>],
        step_hosts: &[Option<&str>],
    ) -> Plan {
        let k = prune.len();
        if k == 0 {
            return self;
        }
        let mut by_host: std::collections::HashMap<Option<&str>, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, h) in prune_hosts.iter().enumerate() {
            by_host.entry(*h).or_default().push(i);
        }
        let host_of = |s: usize| step_hosts.get(s).copied().flatten();
        let mut soft = vec![Vec::new(); k];
        soft.extend(
            self.soft
                .into_iter()
                .map(|b| b.into_iter().map(|s| s + k).collect::<Vec<_>>()),
        );
        let mut steps = prune;
        let mut before = prune_before;
        for (s, b) in self.before.into_iter().enumerate() {
            let host = host_of(s);
            // A predecessor on the same host waits for them already.
            let through = b.iter().any(|&p| host_of(p) == host);
            let mut list: Vec<usize> = if through {
                Vec::new()
            } else {
                by_host.get(&host).cloned().unwrap_or_default()
            };
            list.extend(b.into_iter().map(|p| p + k));
            before.push(list);
        }
        steps.extend(self.steps);
        let mut after = vec![Vec::new(); steps.len()];
        for (s, b) in before.iter().enumerate() {
            for &p in b {
                after[p].push(s);
            }
        }
        Plan {
            action: self.action,
            steps,
            before,
            after,
            soft,
        }
    }
}
