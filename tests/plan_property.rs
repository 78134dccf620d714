//! The plan never lies (DESIGN.md §10): after any `plan` that reports a manifest
//! `unchanged`, an `apply` of the same inputs leaves it `unchanged`, and `plan` never says
//! `failed` where `apply` succeeds.
//!
//! Checked on generated graphs: manifests whose `check` reads files and variables written
//! upstream (and throws while they are missing), `!Variable`s of upstream outputs, handlers
//! without `check`; an earlier version (or part of it) applied first, then specs edited,
//! manifests rewired or removed (orphans, sometimes pruned) and files changed behind ordo's
//! back; then `plan` and `apply` (or `plan --delete` and `delete`). Each case is seeded, so a failure names the seed that
//! reproduces it. `ORDO_PLAN_CASES` raises the number of cases per test (25) and
//! `ORDO_PLAN_SEED` shifts the seeds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::Test;

/// `Gen`: the file `spec.path` must hold `spec.content`, then `|` and the text of every file
/// in `spec.reads` (a missing one makes `check` throw), every variable in `spec.vars`
/// (`vars::get`, which throws while unset) and `spec.extra` (usually a `!Variable`). With
/// `spec.eager` the check computes that text before looking at its own file. `apply`
/// writes the file and outputs it as `out`; `delete` removes it.
const GEN: &str = r#"
register("Gen", "^1");
permissions(["file:read", "file:write"]);

fn desired(m) {
    let text = m.spec.content;
    for r in m.spec.reads ?? [] {
        let p = path::join(m.dir, r);
        if !file::exists(p) { throw "missing " + r; }
        text += "|" + file::read(p);
    }
    for v in m.spec.vars ?? [] { text += "|" + vars::get(v); }
    if m.spec.extra != () { text += "|" + m.spec.extra; }
    text
}

fn check(m) {
    let p = path::join(m.dir, m.spec.path);
    if m.action == "delete" { return file::exists(p); }
    if m.spec.eager == true {
        let want = desired(m);
        return !file::exists(p) || file::read(p) != want;
    }
    if !file::exists(p) { return true; }
    file::read(p) != desired(m)
}

fn apply(m) {
    let d = desired(m);
    file::write(path::join(m.dir, m.spec.path), d);
    #{ out: d }
}

fn delete(m) {
    let p = path::join(m.dir, m.spec.path);
    if file::exists(p) { file::remove(p); }
}
"#;

/// `Always`: like `Gen`, without `check` (its `apply` always runs).
const ALWAYS: &str = r#"
register("Always", "^1");
permissions(["file:read", "file:write"]);

fn apply(m) {
    let text = m.spec.content;
    for r in m.spec.reads ?? [] { text += "|" + file::read(path::join(m.dir, r)); }
    for v in m.spec.vars ?? [] { text += "|" + vars::get(v); }
    if m.spec.extra != () { text += "|" + m.spec.extra; }
    file::write(path::join(m.dir, m.spec.path), text);
    #{ out: text }
}
"#;

/// A small deterministic PRNG (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone, Debug)]
struct Node {
    always: bool,
    eager: bool,
    content: String,
    deps: Vec<usize>,
    /// `extra: !Variable m<i>.out`.
    extra: Option<usize>,
    reads: Vec<usize>,
    vars: Vec<usize>,
    /// Gone from the files (an orphan in the state, if it was applied).
    removed: bool,
}

/// Everything upstream of `j` (through dependencies and the `!Variable`).
fn ancestors(nodes: &[Node], j: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = nodes[j]
        .deps
        .iter()
        .copied()
        .chain(nodes[j].extra)
        .collect();
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(nodes[i].deps.iter().copied().chain(nodes[i].extra));
        }
    }
    seen
}

/// New edges and reads for node `j`; only earlier nodes, so the graph stays acyclic.
fn wire(rng: &mut Rng, nodes: &mut [Node], j: usize) {
    nodes[j].deps = (0..j).filter(|_| rng.chance(35)).collect();
    nodes[j].extra = (j > 0 && rng.chance(30)).then(|| rng.below(j));
    let up = ancestors(nodes, j);
    nodes[j].reads = up.iter().copied().filter(|_| rng.chance(40)).collect();
    nodes[j].vars = up.iter().copied().filter(|_| rng.chance(30)).collect();
}

fn generate(rng: &mut Rng) -> Vec<Node> {
    let n = 3 + rng.below(6);
    let mut nodes = Vec::with_capacity(n);
    for j in 0..n {
        nodes.push(Node {
            always: rng.chance(10),
            eager: rng.chance(50),
            content: format!("c{j}"),
            deps: Vec::new(),
            extra: None,
            reads: Vec::new(),
            vars: Vec::new(),
            removed: false,
        });
        wire(rng, &mut nodes, j);
    }
    nodes
}

/// The next version: some contents edited, some manifests rewired, maybe one removed.
/// A manifest that read from the removed one (and was not rewired) keeps reading its file
/// and variable without depending on it any more, if it was `applied`: only the state
/// remembers that relation.
fn mutate(rng: &mut Rng, nodes: &[Node], applied: &BTreeSet<usize>) -> Vec<Node> {
    let mut next = nodes.to_vec();
    let before: Vec<BTreeSet<usize>> = (0..nodes.len()).map(|j| ancestors(nodes, j)).collect();
    let mut rewired = vec![false; next.len()];
    for j in 0..next.len() {
        if rng.chance(30) {
            next[j].content.push('+');
        }
        if rng.chance(15) {
            wire(rng, &mut next, j);
            rewired[j] = true;
        }
    }
    let removed = rng.chance(25).then(|| rng.below(next.len()));
    if let Some(r) = removed {
        next[r].removed = true;
        for n in &mut next {
            n.deps.retain(|&i| i != r);
            n.extra = n.extra.filter(|&i| i != r);
        }
    }
    // Rewiring changes what is upstream of later manifests: they read only from there.
    for j in 0..next.len() {
        let up = ancestors(&next, j);
        let keep = |i: &usize| {
            up.contains(i)
                || (Some(*i) == removed
                    && applied.contains(i)
                    && !rewired[j]
                    && before[j].contains(i))
        };
        next[j].reads.retain(keep);
        next[j].vars.retain(keep);
    }
    next
}

fn yaml(nodes: &[Node]) -> String {
    let list = |items: &[usize], suffix: &str| {
        items
            .iter()
            .map(|i| format!("m{i}{suffix}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    for (j, n) in nodes.iter().enumerate().filter(|(_, n)| !n.removed) {
        let kind = if n.always { "Always" } else { "Gen" };
        out.push_str(&format!(
            "---\nkind: {kind}\nversion: v1\nmetadata:\n  name: m{j}\n"
        ));
        if !n.deps.is_empty() {
            out.push_str(&format!(
                "  dependencies: {{apply: [{}]}}\n",
                list(&n.deps, "")
            ));
        }
        out.push_str(&format!(
            "spec:\n  path: m{j}.txt\n  content: {}\n  eager: {}\n  reads: [{}]\n  vars: [{}]\n",
            n.content,
            n.eager,
            list(&n.reads, ".txt"),
            list(&n.vars, ".out"),
        ));
        if let Some(i) = n.extra {
            out.push_str(&format!("  extra: !Variable m{i}.out\n"));
        }
    }
    out
}

/// Status per manifest name of a `-o json` report.
fn statuses(report: &serde_json::Value) -> BTreeMap<String, (String, String)> {
    report["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("no manifests in {report}"))
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                (
                    m["status"].as_str().unwrap().to_string(),
                    m["reason"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

/// One generated case: set up, plan, apply, compare. Returns how many manifests the plan
/// found unchanged, and how many it found pending because of a pending one upstream.
fn case(seed: u64) -> (usize, usize) {
    let mut rng = Rng(seed);
    let first = generate(&mut rng);
    let t = Test::new()
        .handler("gen.rhai", GEN)
        .handler("always.rhai", ALWAYS)
        .manifest("m.yaml", &yaml(&first));
    let mut log = format!("seed {seed}\n--- version 1\n{}", yaml(&first));
    // What was applied before: nothing, everything, or part of it.
    let applied: BTreeSet<usize> = match rng.below(3) {
        0 => BTreeSet::new(),
        1 => {
            t.run(&["apply"]).code(0);
            (0..first.len()).collect()
        }
        _ => {
            let pick = rng.below(first.len());
            log.push_str(&format!("(applied --only m{pick})\n"));
            t.run(&["apply", "--only", &format!("m{pick}")]).code(0);
            let mut set = ancestors(&first, pick);
            set.insert(pick);
            set
        }
    };
    let next = mutate(&mut rng, &first, &applied);
    let t = t.manifest("m.yaml", &yaml(&next));
    log.push_str(&format!("--- version 2\n{}", yaml(&next)));
    // Drift: files removed or edited behind ordo's back (not an orphan's, which another
    // manifest may read without depending on it any more).
    for j in (0..next.len()).filter(|&j| !next[j].removed) {
        let file = t.path().join(format!("m{j}.txt"));
        if file.exists() && rng.chance(15) {
            if rng.chance(50) {
                std::fs::remove_file(&file).unwrap();
                log.push_str(&format!("(removed m{j}.txt)\n"));
            } else {
                std::fs::write(&file, "edited").unwrap();
                log.push_str(&format!("(edited m{j}.txt)\n"));
            }
        }
    }
    let jobs = ["1", "2", "8"][rng.below(3)];
    let mut args = vec!["-o", "json", "-j", jobs];
    // With an orphan, `--prune` deletes it before anything else.
    let prune = next.iter().any(|n| n.removed) && rng.chance(50);
    if prune {
        args.push("--prune");
        log.push_str("(--prune)\n");
    }
    // Sometimes the plan of a delete, and the delete.
    let deleting = !prune && rng.chance(20);
    let (planned, run) = if deleting {
        log.push_str("(delete)\n");
        (["plan", "--delete"].as_slice(), "delete")
    } else {
        (["plan"].as_slice(), "apply")
    };
    let plan = t.run(&[planned, args.as_slice()].concat());
    // `--keep-going`: a failure (pruning deleted what one reads) does not hide the others.
    let apply = t.run(&[&[run, "--keep-going"], args.as_slice()].concat());
    let context = format!(
        "{log}--- plan\n{}\n{}--- apply\n{}\n{}",
        plan.stdout, plan.stderr, apply.stdout, apply.stderr
    );
    // Pruning may delete what a manifest still reads, and a delete needs the variables of
    // what was applied; otherwise the apply must succeed.
    if !prune && !deleting {
        assert_eq!(apply.code, 0, "the generated apply must succeed\n{context}");
    }
    // Orphans are reported by `plan`; `apply --prune` deletes them.
    let mut planned = statuses(&plan.json());
    planned.retain(|_, (status, _)| status != "orphaned");
    let applied = statuses(&apply.json());
    for name in planned.keys() {
        assert!(applied.contains_key(name), "{name}\n{context}");
    }
    let mut seen = (0, 0);
    for (name, (status, reason)) in &planned {
        seen.0 += usize::from(status == "unchanged");
        seen.1 += usize::from(reason.ends_with("known after apply"));
        let after = &applied[name].0;
        assert_ne!(
            status, "failed",
            "plan said `{name}` failed ({reason}), apply says {after}\n{context}"
        );
        if status == "unchanged" {
            assert_eq!(
                after, "unchanged",
                "plan said `{name}` is unchanged, apply says {after}\n{context}"
            );
        }
    }
    seen
}

fn cases(first: u64) {
    let count: u64 = std::env::var("ORDO_PLAN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let base: u64 = std::env::var("ORDO_PLAN_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let start = first * 1_000_000 + base;
    let mut seen = (0, 0);
    for seed in start..start + count {
        let (unchanged, after_apply) = case(seed);
        seen = (seen.0 + unchanged, seen.1 + after_apply);
    }
    // The cases must put the property to the test: both outcomes occur.
    assert!(seen.0 > 0 && seen.1 > 0, "{seen:?}");
}

#[test]
fn plan_unchanged_means_apply_unchanged_on_generated_graphs_1() {
    cases(1);
}

#[test]
fn plan_unchanged_means_apply_unchanged_on_generated_graphs_2() {
    cases(2);
}

#[test]
fn plan_unchanged_means_apply_unchanged_on_generated_graphs_3() {
    cases(3);
}

#[test]
fn plan_unchanged_means_apply_unchanged_on_generated_graphs_4() {
    cases(4);
}

/// The first case of issue 13: a manifest reading `!Variable web-unit.path` while
/// `web-unit`'s spec had changed was `unchanged` under `plan`, then `changed` by `apply`.
#[test]
fn a_variable_of_a_manifest_whose_spec_changed_is_known_after_apply() {
    let unit = |path: &str| {
        format!(
            "kind: Gen\nversion: v1\nmetadata: {{name: web-unit}}\nspec: {{path: {path}, content: unit}}\n\
             ---\nkind: Gen\nversion: v1\nmetadata: {{name: web-link}}\n\
             spec: {{path: link.txt, content: link, extra: !Variable web-unit.out}}\n"
        )
    };
    let t = Test::new()
        .handler("gen.rhai", GEN)
        .manifest("m.yaml", &unit("unit.txt"));
    t.run(&["apply"]).code(0);
    let t = t.manifest(
        "m.yaml",
        &unit("unit2.txt").replace("content: unit", "content: v2"),
    );
    t.run(&["plan"])
        .code(0)
        .stdout_has("pending   Gen/web-unit  (spec changed since the last apply)")
        .stdout_has("pending   Gen/web-link  (depends on pending `web-unit`; known after apply)");
    let plan = statuses(&t.run(&["plan", "-o", "json"]).json());
    assert_eq!(plan["web-link"].0, "pending");
    let apply = statuses(&t.run(&["apply", "-o", "json"]).json());
    assert_eq!(
        apply["web-link"].0, "changed",
        "the apply did change it: the plan was right"
    );
    assert_eq!(t.read("link.txt"), "link|v2");
}

/// The second case of issue 13: on a fresh tree, a manifest whose `check` reads a file that
/// a pending manifest upstream creates was `failed` (exit 1) under `plan`, while `apply`
/// then succeeded.
#[test]
fn a_check_that_needs_an_upstream_effect_is_pending_not_failed() {
    let yaml = "kind: Gen\nversion: v1\nmetadata: {name: config}\nspec: {path: app.conf, content: port=80}\n\
                ---\nkind: Gen\nversion: v1\nmetadata: {name: service, dependencies: {apply: [config]}}\n\
                spec: {path: service.txt, content: svc, eager: true, reads: [app.conf], vars: [config.out]}\n";
    let t = Test::new()
        .handler("gen.rhai", GEN)
        .manifest("m.yaml", yaml);
    t.run(&["plan", "--detailed-exitcode"])
        .code(4)
        .stdout_has("pending   Gen/config  (new)")
        .stdout_has("pending   Gen/service  (depends on pending `config`; known after apply)")
        .stdout_has("plan: 2 pending, 0 unchanged, 0 failed");
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   Gen/service");
    // Once everything is applied, the same check runs and finds nothing to do.
    t.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("unchanged Gen/service");
}

/// `apply --prune` deletes the orphans before anything else: under `plan --prune`, a
/// manifest that depended on one when last applied may see that deletion.
#[test]
fn what_depended_on_an_orphan_is_known_after_apply_under_prune() {
    let orphan =
        "kind: Gen\nversion: v1\nmetadata: {name: old}\nspec: {path: old.txt, content: o}\n---\n";
    let user = |deps: &str| {
        format!(
            "kind: Gen\nversion: v1\nmetadata: {{name: user{deps}}}\nspec: {{path: user.txt, content: u, eager: true, reads: [old.txt]}}\n"
        )
    };
    let t = Test::new().handler("gen.rhai", GEN).manifest(
        "m.yaml",
        &format!("{orphan}{}", user(", dependencies: {apply: [old]}")),
    );
    t.run(&["apply"]).code(0);
    let t = t.manifest("m.yaml", &user(""));
    // Without --prune nothing is deleted: the check still finds its file.
    t.run(&["plan"]).code(0).stdout_has("unchanged Gen/user");
    t.run(&["plan", "--prune"])
        .code(0)
        .stdout_has("orphaned  Gen/old")
        .stdout_has(
            "pending   Gen/user  (depended on `old`, which `--prune` deletes first; known after apply)",
        );
    t.run(&["apply", "--prune"])
        .code(1)
        .stdout_has("failed    Gen/user");
}
