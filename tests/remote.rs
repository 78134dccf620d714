//! Manifests run on hosts (DESIGN.md §13): one instance per host named `name@host`, the
//! per-host graph (`b@h` after `a@h`, else after every instance), `m.host`, `!HostVar`,
//! variables per instance, `unreachable`, the per-host recap, `serial` and
//! `maxFailPercent`, state and `--prune` per instance. The hosts are real `sshd`
//! processes on 127.0.0.1 (tests/common/sshd.rs), each with its own directory as a host
//! variable; without sshd the tests that need one skip (and fail under `CI=true`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use serde_json::Value;

use common::Test;
use common::sshd::{Lab, Sshd};

/// `Hosted`: appends `APPLY name@host` / `DELETE name@host` to `trace.txt` of the project
/// (the simulated hosts are this machine), sets `host` and `root` variables, reads
/// `spec.read` with `vars::get`, fails on `spec.fail`, sleeps `spec.sleep`.
const HOSTED: &str = r#"
register("Hosted", "^1");
permissions(["file:read", "file:write"]);

fn where_(m) { if m.host == () { m.name } else { m.name + "@" + m.host.name } }

fn apply(m) {
    let line = "APPLY " + where_(m);
    if m.spec.read != () { line += " read=" + vars::get(m.spec.read); }
    if m.spec.root != () { line += " root=" + m.spec.root; }
    file::append(path::join(m.dir, "trace.txt"), line + "\n");
    if m.spec.sleep != () { time::sleep(m.spec.sleep); }
    if m.spec.fail == true || (m.host != () && m.spec.fail_on == m.host.name) {
        throw "failure requested by " + where_(m);
    }
    if m.host != () {
        vars::set("host", m.host.name);
        vars::set("groups", m.host.groups);
        vars::set("root", m.host.vars.root);
    }
    #{ done: where_(m) }
}

fn delete(m) {
    file::append(path::join(m.dir, "trace.txt"), "DELETE " + where_(m) + "\n");
}
"#;

/// A YAML flow list of strings.
fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// An inventory (`kind: Inventory`, in `inventory.yaml`) of the lab's hosts, each with
/// `vars: {root: <its own directory>}`, in group `web`.
fn inventory(lab: &Lab, hosts: &[&Sshd]) -> String {
    let mut doc =
        String::from("kind: Inventory\nversion: v1\nmetadata: {name: lab}\nspec:\n  hosts:\n");
    for h in hosts {
        let reach = lab.reach(h);
        let root = lab.dir().join(format!("root-{}", h.name));
        doc.push_str(&format!(
            "    {}: {{address: {}, port: {}, identityFile: \"{}\", sshOptions: {}, vars: {{root: \"{}\"}}}}\n",
            h.name,
            reach.address,
            reach.port,
            reach.identity_file.display(),
            list(&reach.ssh_options),
            root.display()
        ));
    }
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    doc.push_str(&format!(
        "  groups:\n    web: {{hosts: {}}}\n",
        list(&names)
    ));
    doc
}

/// An inventory of hosts that are never contacted (for `graph` and `validate`).
const PAPER: &str = "kind: Inventory\nversion: v1\nmetadata: {name: paper}\nspec:\n  hosts:\n    h1: {vars: {root: /r1}}\n    h2: {vars: {root: /r2}}\n    h3: {vars: {root: /r3}}\n  groups:\n    web: {hosts: [h1, h2]}\n";

fn hosted(name: &str, metadata: &str, spec: &str) -> String {
    format!(
        "---\nkind: Hosted\nversion: v1\nmetadata:\n  name: {name}\n{metadata}spec: {{{spec}}}\n"
    )
}

fn trace(t: &Test) -> Vec<String> {
    t.read("trace.txt").lines().map(str::to_string).collect()
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = items
        .iter()
        .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
        .collect();
    out.sort();
    out
}

/// `graph -o json` edges as `from -> to` strings, sorted.
fn edges(t: &Test, args: &[&str]) -> Vec<String> {
    let mut all = vec!["graph", "-o", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    out.code(0);
    let mut e: Vec<String> = out.json()["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} -> {}",
                e["from"].as_str().unwrap(),
                e["to"].as_str().unwrap()
            )
        })
        .collect();
    e.sort();
    e
}

fn nodes(t: &Test, args: &[&str]) -> Vec<String> {
    let mut all = vec!["graph", "-o", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    out.code(0);
    let mut n: Vec<String> = out.json()["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn a_manifest_with_hosts_is_one_node_per_host_named_name_at_host() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &(hosted("a", "  hosts: [web]\n", "") + &hosted("local", "", "")),
        );
    assert_eq!(nodes(&t, &[]), ["a@h1", "a@h2", "local"]);
    // `--limit` narrows the hosts of the run.
    assert_eq!(nodes(&t, &["--limit", "h2"]), ["a@h2", "local"]);
}

#[test]
fn b_at_h_waits_for_a_at_h_when_a_runs_there_else_for_every_instance() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", ""),
                // Same hosts as `a`: each instance waits for `a` on its host only.
                hosted("b", "  hosts: [web]\n  dependencies: {apply: [a]}\n", ""),
                // `a` does not run on h3: `c@h3` waits for every instance of `a`.
                hosted("c", "  hosts: [h3]\n  dependencies: {apply: [a]}\n", ""),
                // On the controller: waits for every instance.
                hosted("d", "  dependencies: {apply: [b]}\n", ""),
            ]
            .concat(),
        );
    assert_eq!(
        edges(&t, &[]),
        [
            "a@h1 -> b@h1",
            "a@h1 -> c@h3",
            "a@h2 -> b@h2",
            "a@h2 -> c@h3",
            "b@h1 -> d",
            "b@h2 -> d",
        ]
    );
    // Delete is the exact reverse.
    assert_eq!(
        edges(&t, &["--delete"]),
        [
            "b@h1 -> a@h1",
            "b@h2 -> a@h2",
            "c@h3 -> a@h1",
            "c@h3 -> a@h2",
            "d -> b@h1",
            "d -> b@h2",
        ]
    );
}

/// `--limit` keeps the order that passes through the instances it leaves out: `c@h3`
/// depends on `a`, whose instances (h1, h2) are all left out, so it still waits for what
/// they wait for (`local`, on the controller).
#[test]
fn limit_keeps_the_order_through_the_instances_it_leaves_out() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &[
                hosted("local", "", ""),
                hosted(
                    "a",
                    "  hosts: [web]\n  dependencies: {apply: [local]}\n",
                    "",
                ),
                hosted("c", "  hosts: [h3]\n  dependencies: {apply: [a]}\n", ""),
            ]
            .concat(),
        );
    assert_eq!(edges(&t, &["--limit", "h3"]), ["local -> c@h3"]);
    assert_eq!(
        edges(&t, &["--limit", "h1,h3"]),
        ["a@h1 -> c@h3", "local -> a@h1", "local -> c@h3"]
    );
}

#[test]
fn a_variable_of_one_instance_orders_after_that_instance_only() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", ""),
                hosted("b", "", "x: !Variable a@h2.host"),
            ]
            .concat(),
        );
    assert_eq!(edges(&t, &[]), ["a@h2 -> b"]);
    // An instance that does not exist is named, with a "did you mean".
    let t = t.manifest(
        "m.yaml",
        &[
            hosted("a", "  hosts: [web]\n", ""),
            hosted("b", "", "x: !Variable a@h3.host"),
        ]
        .concat(),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("a@h3")
        .stderr_has("m.yaml:13:11");
}

#[test]
fn only_selects_every_instance_by_name_and_one_by_name_at_host() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", ""),
                hosted("b", "  hosts: [web]\n  dependencies: {apply: [a]}\n", ""),
            ]
            .concat(),
        );
    assert_eq!(nodes(&t, &["--only", "a"]), ["a@h1", "a@h2"]);
    assert_eq!(nodes(&t, &["--only", "b@h2"]), ["a@h2", "b@h2"]);
    assert_eq!(nodes(&t, &["--only", "*@h1"]), ["a@h1", "b@h1"]);
    assert_eq!(nodes(&t, &["--exclude", "b@h1"]), ["a@h1", "a@h2", "b@h2"]);
    t.run(&["graph", "--only", "a@h9"])
        .code(3)
        .stderr_has("`a@h9` matches no manifest");
}

#[test]
fn serial_and_max_fail_percent_are_checked_at_load() {
    let cases = [
        (
            "  hosts: [web]\n  serial: 0\n",
            "m.yaml:7:11",
            "metadata.serial",
        ),
        (
            "  hosts: [web]\n  serial: \"150%\"\n",
            "m.yaml:7:11",
            "metadata.serial",
        ),
        (
            "  hosts: [web]\n  serial: [1]\n",
            "m.yaml:7:11",
            "metadata.serial",
        ),
        (
            "  hosts: [web]\n  maxFailPercent: 101\n",
            "m.yaml:7:19",
            "metadata.maxFailPercent",
        ),
        (
            "  hosts: [web]\n  maxFailPercent: \"5%\"\n",
            "m.yaml:7:19",
            "metadata.maxFailPercent",
        ),
        (
            "  serial: 2\n",
            "m.yaml:6:3",
            "`metadata.serial` applies to a manifest run on hosts",
        ),
        (
            "  maxFailPercent: 2\n",
            "m.yaml:6:3",
            "`metadata.maxFailPercent` applies to a manifest run on hosts",
        ),
    ];
    for (metadata, at, message) in cases {
        let t = Test::new()
            .handler("hosted.rhai", HOSTED)
            .manifest("inv.yaml", PAPER)
            .manifest("m.yaml", &hosted("a", metadata, ""));
        let out = t.run(&["apply"]);
        out.code(3).stderr_has(at).stderr_has(message);
        assert!(!t.exists("trace.txt"), "nothing runs: {metadata}");
    }
}

#[test]
fn serial_batches_order_the_instances_in_apply_and_delete() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &hosted("a", "  hosts: [h1, h2, h3]\n  serial: 2\n", ""),
        );
    assert_eq!(edges(&t, &[]), ["a@h1 -> a@h3", "a@h2 -> a@h3"]);
    assert_eq!(edges(&t, &["--delete"]), ["a@h1 -> a@h3", "a@h2 -> a@h3"]);
    let t = t.manifest(
        "m.yaml",
        &hosted("a", "  hosts: [h1, h2, h3]\n  serial: \"34%\"\n", ""),
    );
    assert_eq!(edges(&t, &[]), ["a@h1 -> a@h2", "a@h2 -> a@h3"]);
}

#[test]
fn per_host_must_be_a_positive_number() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("m.yaml", &hosted("a", "", ""));
    t.run(&["apply", "--per-host", "0"])
        .code(2)
        .stderr_has("--per-host must be from 1 to 64, not 0");
    t.run(&["apply", "--per-host", "x"]).code(2);
    t.run(&["apply", "--per-host", "65"]).code(2);
}

#[test]
fn m_host_is_unit_on_the_controller() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("m.yaml", &hosted("local", "", ""));
    t.run(&["apply", "--no-state"]).code(0);
    assert_eq!(trace(&t), ["APPLY local"]);
}

/// Two lab hosts, `h1` and `h2`, in group `web`.
fn lab2() -> Option<(Lab, Sshd, Sshd)> {
    let lab = Lab::new()?;
    let h1 = lab.host("h1", 10);
    let h2 = lab.host("h2", 10);
    Some((lab, h1, h2))
}

#[test]
fn instances_run_on_their_hosts_with_m_host_host_vars_and_their_own_variables() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", "root: !HostVar root"),
                // `a.host` read on a host is `a`'s instance on that host.
                hosted(
                    "b",
                    "  hosts: [web]\n  dependencies: {apply: [a]}\n",
                    "read: a.host",
                ),
                // On the controller, an instance is named in full.
                hosted("c", "  dependencies: {apply: [a]}\n", "read: a@h2.root"),
            ]
            .concat(),
        );
    let out = t.run(&["apply", "-o", "json"]);
    out.code(0);
    let report = out.json();
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("a@h1", "changed"),
            ("a@h2", "changed"),
            ("b@h1", "changed"),
            ("b@h2", "changed"),
            ("c", "changed"),
        ])
    );
    let mut lines = trace(&t);
    lines.sort();
    let root = |h: &str| lab.dir().join(format!("root-{h}")).display().to_string();
    assert_eq!(
        lines,
        [
            format!("APPLY a@h1 root={}", root("h1")),
            format!("APPLY a@h2 root={}", root("h2")),
            "APPLY b@h1 read=h1".to_string(),
            "APPLY b@h2 read=h2".to_string(),
            format!("APPLY c read={}", root("h2")),
        ]
    );
    // Per-host counts in `hosts`.
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[0]["host"], "h1");
    assert_eq!(hosts[0]["ok"], 2);
    assert_eq!(hosts[0]["changed"], 2);
    assert_eq!(hosts[0]["unreachable"], 0);
    // The state records each instance under `name@host`.
    let listed = t.run(&["state", "list", "-o", "json"]);
    let mut names: Vec<String> = listed.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["a@h1", "a@h2", "b@h1", "b@h2", "c"]);
    // A later process reads an instance's variable from the state.
    t.run(&["state", "show", "a@h1", "-o", "json"])
        .code(0)
        .stdout_has("\"groups\"");
}

#[test]
fn an_unreachable_host_is_unreachable_its_later_work_skipped_and_the_others_finish() {
    let Some((lab, h1, mut h2)) = lab2() else {
        return;
    };
    h2.stop();
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", ""),
                hosted("b", "  hosts: [web]\n  dependencies: {apply: [a]}\n", ""),
                // Independent of `a`, but on the same host: out of the run with it.
                hosted("z", "  hosts: [web]\n", ""),
                hosted("local", "  dependencies: {apply: [a]}\n", ""),
            ]
            .concat(),
        );
    let out = t.run(&["apply", "-o", "json", "-j", "1"]);
    out.code(1);
    let report = out.json();
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("a@h1", "changed"),
            ("a@h2", "unreachable"),
            ("b@h1", "changed"),
            ("b@h2", "skipped"),
            ("local", "skipped"),
            ("z@h1", "changed"),
            ("z@h2", "skipped"),
        ])
    );
    assert_eq!(report["summary"]["unreachable"], 1);
    let a2 = report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "a@h2")
        .unwrap();
    assert!(
        a2["error"]
            .as_str()
            .unwrap()
            .contains("host `h2` is unreachable"),
        "{a2}"
    );
    // Nothing ran on h2.
    assert!(
        trace(&t).iter().all(|l| !l.contains("@h2")),
        "{:?}",
        trace(&t)
    );
    // Human output: a recap line per host, and the summary counts it.
    let out = t.run(&["apply", "-j", "1"]);
    out.code(1)
        .stdout_has("unreachable Hosted/a@h2")
        .stdout_has("ok=3 changed=3 unreachable=0 failed=0 skipped=0")
        .stdout_has("ok=0 changed=0 unreachable=1 failed=0 skipped=2")
        .stdout_has("1 unreachable");
    // JSON lines carry the host of each instance.
    let out = t.run(&["apply", "-o", "jsonl"]);
    let finished: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "manifest_finished")
        .collect();
    assert!(
        finished
            .iter()
            .any(|e| e["name"] == "a@h2" && e["host"] == "h2" && e["status"] == "unreachable")
    );
    assert!(
        finished
            .iter()
            .any(|e| e["name"] == "local" && e["host"].is_null())
    );
}

#[test]
fn a_failed_instance_stops_only_its_host_unless_max_fail_percent_is_exceeded() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let docs = |max: &str| {
        [
            hosted("a", &format!("  hosts: [web]\n{max}"), "fail_on: h1"),
            hosted("b", "  hosts: [web]\n  dependencies: {apply: [a]}\n", ""),
        ]
        .concat()
    };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest("m.yaml", &docs(""));
    let out = t.run(&["apply", "-o", "json", "-j", "1"]);
    out.code(1);
    assert_eq!(
        statuses(&out.json()),
        pairs(&[
            ("a@h1", "failed"),
            ("a@h2", "changed"),
            ("b@h1", "skipped"),
            ("b@h2", "changed"),
        ])
    );
    // 1 of 2 failed: 50% is more than 40%, so new work stops as after a failure on the
    // controller.
    let t = t.manifest("m.yaml", &docs("  maxFailPercent: 40\n"));
    let out = t.run(&["apply", "-o", "json", "-j", "1", "--no-state"]);
    out.code(1);
    let report = out.json();
    let status = |name: &str| {
        report["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("a@h1"), "failed");
    assert_eq!(status("b@h2"), "skipped");
    // 50% is not more than 50%: the other host goes on.
    let t = t.manifest("m.yaml", &docs("  maxFailPercent: 50\n"));
    let out = t.run(&["apply", "-o", "json", "-j", "1", "--no-state"]);
    out.code(1);
    assert!(
        statuses(&out.json()).contains(&("b@h2".to_string(), "changed".to_string())),
        "{}",
        out.stdout
    );
}

#[test]
fn max_fail_percent_is_judged_per_serial_batch_and_stops_later_batches() {
    let Some(lab) = Lab::new() else { return };
    let hosts: Vec<Sshd> = (1..=4).map(|i| lab.host(&format!("h{i}"), 10)).collect();
    let refs: Vec<&Sshd> = hosts.iter().collect();
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &refs))
        .manifest(
            "m.yaml",
            &hosted(
                "a",
                "  hosts: [web]\n  serial: 2\n  maxFailPercent: 0\n",
                "fail_on: h3",
            ),
        );
    let out = t.run(&["apply", "-o", "json", "--keep-going"]);
    out.code(1);
    assert_eq!(
        statuses(&out.json()),
        pairs(&[
            ("a@h1", "changed"),
            ("a@h2", "changed"),
            ("a@h3", "failed"),
            ("a@h4", "changed"),
        ]),
        "the failing batch finishes"
    );
    // A failure in the first batch stops the second, even with --keep-going.
    let t = t.manifest(
        "m.yaml",
        &hosted(
            "a",
            "  hosts: [web]\n  serial: 2\n  maxFailPercent: 0\n",
            "fail_on: h1",
        ),
    );
    let out = t.run(&["apply", "-o", "json", "--keep-going", "--no-state"]);
    out.code(1);
    let report = out.json();
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("a@h1", "failed"),
            ("a@h2", "changed"),
            ("a@h3", "skipped"),
            ("a@h4", "skipped"),
        ])
    );
    let h3 = report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "a@h3")
        .unwrap();
    assert!(
        h3["reason"].as_str().unwrap().contains("maxFailPercent 0%"),
        "{h3}"
    );
}

#[test]
fn a_host_removed_from_the_inventory_leaves_orphan_instances_that_prune_deletes_there() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let site = [
        hosted("a", "  hosts: [web]\n", ""),
        hosted("b", "  hosts: [web]\n  dependencies: {apply: [a]}\n", ""),
    ]
    .concat();
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest("m.yaml", &site);
    t.run(&["apply"]).code(0);
    assert_eq!(common::recorded(&t), ["a@h1", "a@h2", "b@h1", "b@h2"]);
    // `--limit` leaves h2 out of the run, but its instances are not gone from the files.
    let _ = std::fs::remove_file(t.path().join("trace.txt"));
    let out = t.run(&["apply", "--limit", "h1", "--prune", "-o", "json"]);
    out.code(0);
    assert!(
        trace(&t).iter().all(|l| !l.starts_with("DELETE")),
        "{:?}",
        trace(&t)
    );
    // The state keeps the host's name and address, never how to reach it.
    let state = std::fs::read_to_string(t.path().join(".ordo/state.json")).unwrap();
    assert!(state.contains("\"host\""), "{state}");
    for field in ["sshOptions", "identityFile", "\"vars\"", "\"port\""] {
        assert!(!state.contains(field), "{field} in {state}");
    }
    // h2 leaves the inventory: its instances are orphans that `--prune` cannot reach (how
    // to reach a host comes from the inventory only). They are reported with the fix and
    // hold nothing back.
    let t = t.manifest("inventory.yaml", &inventory(&lab, &[&h1]));
    let plan = t.run(&["plan", "-o", "json"]);
    plan.code(0).stdout_has("\"orphaned\": 2");
    // Plain `apply` says so too.
    t.run(&["apply"]).code(0).stderr_has(
        "note: 2 manifests in the state are no longer selected (a@h2, b@h2); `ordo apply --prune` deletes them",
    );
    let _ = std::fs::remove_file(t.path().join("trace.txt"));
    let fix = "host `h2` is not in the inventory: give it again (`-i old.yaml`) to delete its instances, or `ordo state rm b@h2` to forget them";
    let out = t.run(&["apply", "--prune", "-j", "1", "-o", "json"]);
    out.code(0);
    let report = out.json();
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("a@h1", "changed"),
            ("a@h2", "orphaned"),
            ("b@h1", "changed"),
            ("b@h2", "orphaned"),
        ])
    );
    let b_h2 = report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "b@h2")
        .unwrap();
    assert_eq!(b_h2["reason"], format!("in the state, {fix}"));
    assert!(trace(&t).iter().all(|l| !l.starts_with("DELETE")));
    assert_eq!(common::recorded(&t), ["a@h1", "a@h2", "b@h1", "b@h2"]);
    // Given again with `-i` (outside group `web`, so no manifest selects it), h2 is
    // reached with the inventory's settings and its instances are deleted there,
    // dependents first; the reason says the host is no longer selected.
    let old = lab.dir().join("old.yaml");
    std::fs::write(&old, inventory(&lab, &[&h2]).replace("web:", "old:")).unwrap();
    let old = old.display().to_string();
    let out = t.run(&["apply", "--prune", "-j", "1", "-i", &old]);
    out.code(0)
        .stdout_has("pruned: host `h2` is no longer selected by the `metadata.hosts` of `b`");
    let deletes: Vec<String> = trace(&t)
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes, ["DELETE b@h2", "DELETE a@h2"]);
    assert_eq!(common::recorded(&t), ["a@h1", "b@h1"]);
}

#[test]
fn state_rm_forgets_an_orphan_instance_of_a_host_gone_from_the_inventory() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest("m.yaml", &hosted("a", "  hosts: [web]\n", ""));
    t.run(&["apply"]).code(0);
    let t = t.manifest("inventory.yaml", &inventory(&lab, &[&h1]));
    t.run(&["state", "rm", "a@h2"]).code(0);
    assert_eq!(common::recorded(&t), ["a@h1"]);
    t.run(&["plan", "-o", "json"])
        .code(0)
        .stdout_has("\"orphaned\": 0");
}

/// A crafted state entry (a state file can come with a cloned project) cannot choose where
/// or how ordo connects: its `sshOptions` (a `ProxyCommand`), address and port are never
/// used. An orphan of a host the inventory has is deleted there with the inventory's
/// settings; one of a host it lacks is reported, not reached.
#[test]
fn a_crafted_state_entry_never_chooses_how_to_reach_a_host() {
    let Some((lab, h1, _h2)) = lab2() else { return };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1]))
        .manifest("m.yaml", &hosted("a", "  hosts: [web]\n", ""));
    t.run(&["apply"]).code(0);
    let pwned = lab.dir().join("PWNED");
    let path = t.path().join(".ordo/state.json");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let env = state["environments"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    let entry = env["a@h1"].clone();
    for (name, host) in [("gone@h1", "h1"), ("w@h9", "h9")] {
        let mut e = entry.clone();
        e["host"] = serde_json::json!({
            "name": host,
            "address": "192.0.2.1",
            "port": 1,
            "user": "mallory",
            "identityFile": "/nonexistent",
            "sshOptions": [format!("-oProxyCommand=sh -c 'touch {}; exit 1'", pwned.display())],
            "vars": {"root": "/"}
        });
        env[name] = e;
    }
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    let _ = std::fs::remove_file(t.path().join("trace.txt"));
    let out = t.run(&["apply", "--prune", "--deny", "shell", "-o", "json"]);
    out.code(0);
    assert!(!pwned.exists(), "the state's ProxyCommand ran");
    assert_eq!(
        statuses(&out.json()),
        pairs(&[
            ("a@h1", "changed"),
            ("gone@h1", "changed"),
            ("w@h9", "orphaned")
        ])
    );
    assert!(
        trace(&t).contains(&"DELETE gone@h1".to_string()),
        "{:?}",
        trace(&t)
    );
    assert_eq!(common::recorded(&t), ["a@h1", "w@h9"]);
}

/// Prune first is per host: an orphan on a host that is down keeps back only that host's
/// work, with or without `--keep-going`.
#[test]
fn an_orphan_on_an_unreachable_host_holds_back_only_that_host() {
    let Some((lab, h1, mut h2)) = lab2() else {
        return;
    };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest(
            "m.yaml",
            &[
                hosted("old", "  hosts: [web]\n", ""),
                hosted("c", "  hosts: [web]\n", "v: 1"),
            ]
            .concat(),
        );
    t.run(&["apply"]).code(0);
    h2.stop();
    let t = t.manifest("m.yaml", &hosted("c", "  hosts: [web]\n", "v: 2"));
    for extra in [None, Some("--keep-going")] {
        let _ = std::fs::remove_file(t.path().join("trace.txt"));
        let mut args = vec!["apply", "--prune", "-j", "1", "-o", "json"];
        args.extend(extra);
        let out = t.run(&args);
        out.code(1);
        let report = out.json();
        let mut want = vec![
            ("c@h1", "changed"),
            ("c@h2", "skipped"),
            ("old@h2", "unreachable"),
        ];
        // The first run deletes `old@h1`; the second has only `old@h2` left.
        if extra.is_none() {
            want.push(("old@h1", "changed"));
        }
        assert_eq!(statuses(&report), pairs(&want), "{extra:?}");
        assert!(
            trace(&t).contains(&"APPLY c@h1".to_string()),
            "{:?}",
            trace(&t)
        );
    }
}

/// `delete --limit h1` touches h1 only: the manifest on the controller that every host's
/// instances depend on is not deleted, and the instances on other hosts (and on the
/// controller) left depending on a deleted one are named in a warning.
#[test]
fn delete_with_limit_never_deletes_controller_manifests_and_warns_of_dependents_left() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest(
            "m.yaml",
            &[
                hosted("shared", "", ""),
                hosted(
                    "app",
                    "  hosts: [h1]\n  dependencies: {apply: [shared]}\n",
                    "",
                ),
                // `app` does not run on h2: `db@h2` depends on `app@h1`.
                hosted("db", "  hosts: [h2]\n  dependencies: {apply: [app]}\n", ""),
                hosted("report", "  dependencies: {apply: [app@h1]}\n", ""),
            ]
            .concat(),
        );
    t.run(&["apply"]).code(0);
    let _ = std::fs::remove_file(t.path().join("trace.txt"));
    for command in [&["plan", "--delete"][..], &["delete"][..]] {
        let mut args = command.to_vec();
        args.extend(["--limit", "h1", "-o", "json"]);
        let out = t.run(&args);
        out.code(0)
            .stderr_has("`app@h1` is deleted, but manifests outside --limit still depend on it: `db@h2`, `report`");
        let names: Vec<(String, String)> = statuses(&out.json());
        let names: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["app@h1"], "{command:?}");
    }
    assert_eq!(trace(&t), ["DELETE app@h1"]);
    assert_eq!(common::recorded(&t), ["db@h2", "report", "shared"]);
}

#[test]
fn delete_runs_the_instances_in_the_exact_reverse_order() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", ""),
                hosted("b", "  hosts: [h2]\n  dependencies: {apply: [a]}\n", ""),
                hosted("c", "  dependencies: {apply: [b]}\n", ""),
            ]
            .concat(),
        );
    t.run(&["apply", "-j", "1"]).code(0);
    assert_eq!(
        trace(&t),
        ["APPLY a@h1", "APPLY a@h2", "APPLY b@h2", "APPLY c"]
    );
    let _ = std::fs::remove_file(t.path().join("trace.txt"));
    t.run(&["delete", "-j", "1"]).code(0);
    let lines = trace(&t);
    let at = |l: &str| lines.iter().position(|x| x == l).unwrap();
    assert!(at("DELETE c") < at("DELETE b@h2"), "{lines:?}");
    // `b@h2` waited for `a@h2` only (`a` runs on h2 too): `a@h1` does not wait for it,
    // and goes first in plan order.
    assert!(at("DELETE b@h2") < at("DELETE a@h2"), "{lines:?}");
    assert_eq!(at("DELETE a@h1"), 0, "{lines:?}");
    assert!(common::recorded(&t).is_empty());
}

/// `Stamp`: on its host, in the host's `root` directory, writes `<name>.txt` (the host's
/// name) with `file::write`, then records `<name>.start` and `<name>.end` (nanoseconds)
/// around a `sleep` of `spec.sleep` seconds with `shell::run`.
const STAMP: &str = r#"
register("Stamp", "^1");
permissions(["shell", "file:read", "file:write"]);

fn apply(m) {
    let r = m.host.vars.root;
    file::mkdir(r);
    file::write(r + "/" + m.name + ".txt", m.host.name);
    let sleep = `${m.spec.sleep ?? 0}`;
    shell::run("date +%s%N > \"$R/$N.start\"; sleep \"$S\"; date +%s%N > \"$R/$N.end\"",
        #{ env: #{ R: r, N: m.name, S: sleep } });
}

fn delete(m) {
    file::remove(m.host.vars.root + "/" + m.name + ".txt");
}
"#;

fn stamp(name: &str, metadata: &str, spec: &str) -> String {
    format!(
        "---\nkind: Stamp\nversion: v1\nmetadata:\n  name: {name}\n{metadata}spec: {{{spec}}}\n"
    )
}

/// A `pgrep -f` pattern for the `ssh` clients (masters and sessions) talking to the lab's
/// hosts: their options name the lab's known_hosts file (sshd's own do not).
fn ssh_clients(lab: &Lab) -> String {
    format!(
        "UserKnownHostsFile={}",
        lab.dir().join("known_hosts").display()
    )
}

/// The nanosecond timestamp in `<root of host>/<file>`.
fn stamp_of(lab: &Lab, host: &str, file: &str) -> u128 {
    let path = lab.dir().join(format!("root-{host}")).join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn handlers_write_files_and_run_commands_on_each_host() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let t = Test::new()
        .handler("stamp.rhai", STAMP)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest("m.yaml", &stamp("site", "  hosts: [web]\n", ""));
    t.run(&["apply"])
        .code(0)
        .stdout_has("changed   Stamp/site@h1");
    for h in ["h1", "h2"] {
        let root = lab.dir().join(format!("root-{h}"));
        assert_eq!(std::fs::read_to_string(root.join("site.txt")).unwrap(), h);
        assert!(root.join("site.end").exists());
    }
    t.run(&["delete"]).code(0);
    assert!(!lab.dir().join("root-h1/site.txt").exists());
    assert!(!lab.dir().join("root-h2/site.txt").exists());
}

#[test]
fn a_host_lost_during_the_run_is_unreachable_its_dependents_skipped_the_others_finish() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let pid_file = lab.dir().join("sshd_h2.pid");
    // `cut` runs on the controller between `a` and `b`: it kills h2's sshd and the
    // connections it serves, as a host that goes down mid-run.
    let cut = format!(
        "register(\"Cut\", \"^1\");\npermissions([\"shell\"]);\nfn apply(m) {{\n    local::run(\"pid=$(cat \\\"$P\\\"); pkill -KILL -P \\\"$pid\\\"; kill \\\"$pid\\\"\", #{{ env: #{{ P: \"{}\" }} }});\n}}\n",
        pid_file.display()
    );
    let t = Test::new()
        .handler("stamp.rhai", STAMP)
        .handler("cut.rhai", &cut)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest(
            "m.yaml",
            &[
                stamp("a", "  hosts: [web]\n", ""),
                "---\nkind: Cut\nversion: v1\nmetadata:\n  name: cut\n  dependencies: {apply: [a]}\n".to_string(),
                stamp("b", "  hosts: [web]\n  dependencies: {apply: [cut]}\n", ""),
                stamp("c", "  hosts: [web]\n  dependencies: {apply: [b]}\n", ""),
            ]
            .concat(),
        );
    let out = t.run(&["apply", "-o", "json"]);
    out.code(1);
    let report = out.json();
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("a@h1", "changed"),
            ("a@h2", "changed"),
            ("b@h1", "changed"),
            ("b@h2", "unreachable"),
            ("c@h1", "changed"),
            ("c@h2", "skipped"),
            ("cut", "changed"),
        ]),
        "{report}"
    );
    assert!(lab.dir().join("root-h1/c.txt").exists());
    assert!(!lab.dir().join("root-h2/b.txt").exists());
    let h2 = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "h2")
        .unwrap();
    assert_eq!(h2["unreachable"], 1, "{h2}");
    assert_eq!(h2["skipped"], 1, "{h2}");
    // Nothing of this run's ssh is left behind.
    let left = common::processes_matching(&ssh_clients(&lab));
    assert!(left.trim().is_empty(), "left running: {left}");
}

#[test]
fn serial_batches_run_one_after_the_other_on_the_hosts() {
    let Some(lab) = Lab::new() else { return };
    let hosts: Vec<Sshd> = (1..=3).map(|i| lab.host(&format!("h{i}"), 10)).collect();
    let refs: Vec<&Sshd> = hosts.iter().collect();
    let t = Test::new()
        .handler("stamp.rhai", STAMP)
        .manifest("inventory.yaml", &inventory(&lab, &refs))
        .manifest(
            "m.yaml",
            &stamp("s", "  hosts: [web]\n  serial: 1\n", "sleep: 0.3"),
        );
    t.run(&["apply", "--no-state"]).code(0);
    let (start, end) = (
        |h: &str| stamp_of(&lab, h, "s.start"),
        |h: &str| stamp_of(&lab, h, "s.end"),
    );
    assert!(
        end("h1") <= start("h2"),
        "batch 2 started before batch 1 ended"
    );
    assert!(
        end("h2") <= start("h3"),
        "batch 3 started before batch 2 ended"
    );
    // Without `serial` the hosts run at once.
    let t = t.manifest("m.yaml", &stamp("s", "  hosts: [web]\n", "sleep: 1"));
    t.run(&["apply", "--no-state"]).code(0);
    assert!(
        start("h2") < end("h1") && start("h3") < end("h1"),
        "the hosts ran one by one"
    );
}

#[test]
fn per_host_bounds_the_commands_on_a_host_and_one_that_allows_one_session_gets_one_connection() {
    let Some(lab) = Lab::new() else { return };
    let h1 = lab.host("h1", 10);
    let h2 = lab.host("h2", 1);
    let docs: String = (0..8)
        .map(|i| stamp(&format!("m{i}"), "  hosts: [h1, h2]\n", "sleep: 0.5"))
        .collect();
    let t = Test::new()
        .handler("stamp.rhai", STAMP)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest("m.yaml", &docs);
    let out = t.run(&[
        "apply",
        "--no-state",
        "-j",
        "16",
        "--per-host",
        "4",
        "-o",
        "json",
    ]);
    out.code(0);
    assert_eq!(out.json()["summary"]["changed"], 16);
    // The most commands that ran at once on a host: at each start, who else ran.
    let most = |host: &str| {
        let spans: Vec<(u128, u128)> = (0..8)
            .map(|i| {
                (
                    stamp_of(&lab, host, &format!("m{i}.start")),
                    stamp_of(&lab, host, &format!("m{i}.end")),
                )
            })
            .collect();
        spans
            .iter()
            .map(|&(s, _)| spans.iter().filter(|&&(a, b)| a <= s && s < b).count())
            .max()
            .unwrap()
    };
    let (m1, m2) = (most("h1"), most("h2"));
    assert!((2..=4).contains(&m1), "{m1} commands at once on h1");
    // sshd's `MaxSessions 1`: one session at a time, on the one connection; ssh never
    // opens a connection of its own for a session the master was refused.
    assert_eq!(m2, 1, "commands at once on h2");
    let connections = |h: &Sshd| {
        std::fs::read_to_string(&h.log)
            .unwrap()
            .lines()
            .filter(|l| l.contains("Accepted publickey"))
            .count()
    };
    assert_eq!(connections(&h1), 1);
    assert_eq!(connections(&h2), 1);
}

#[test]
fn ctrl_c_mid_run_leaves_no_ssh_master_behind() {
    let Some((lab, h1, h2)) = lab2() else { return };
    let t = Test::new()
        .handler("stamp.rhai", STAMP)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1, &h2]))
        .manifest("m.yaml", &stamp("slow", "  hosts: [web]\n", "sleep: 30"));
    let child = t.spawn(&["apply"]);
    // Wait until both hosts run their command.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !(lab.dir().join("root-h1/slow.start").exists()
        && lab.dir().join("root-h2/slow.start").exists())
    {
        assert!(
            std::time::Instant::now() < until,
            "the commands did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let lab_dir = ssh_clients(&lab);
    assert!(
        !common::processes_matching(&lab_dir).trim().is_empty(),
        "no ssh runs for the lab"
    );
    let pid = child.id();
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let out = common::Output::of(child.wait_with_output().unwrap(), t.path());
    out.code(130);
    // No master, no session: nothing with the lab's known_hosts in its command line.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = common::processes_matching(&lab_dir);
        if left.trim().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < until, "left running: {left}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn reading_a_hosted_manifests_variable_without_a_host_says_to_name_an_instance() {
    // `a`'s hosts do not resolve (unreachable at once); `c` on the controller reads `a.host`.
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", ""),
                hosted("c", "", "read: a.host"),
            ]
            .concat(),
        );
    t.run(&["apply", "--no-state", "-j", "1"])
        .code(1)
        .stderr_has("`vars::get`: no variable `a.host`")
        .stderr_has("`a` runs on hosts (h1, h2), and its variables are per host: name an instance, such as `a@h1.host`");
}

/// `!Variable a.key` where `a` runs on hosts, read where `a` has no instance beside the
/// reader (on the controller, or on a host `a` does not run on), is an input error at load
/// naming the instances, the same in `validate`, `plan` and `apply`; on a host where `a`
/// runs it means `a`'s instance there.
#[test]
fn a_variable_of_a_hosted_manifest_read_without_a_host_is_an_input_error_at_load() {
    let t = Test::new()
        .trace()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &[
                hosted("a", "  hosts: [web]\n", ""),
                hosted("b", "  hosts: [web]\n", "read: !Variable a.host"),
                hosted("c", "", "read: !Variable a.host"),
                hosted("d", "  hosts: [h3]\n", "read: !Variable a.host"),
            ]
            .concat(),
        );
    for command in [
        &["validate"][..],
        &["plan", "--no-state"],
        &["apply", "--no-state"],
    ] {
        let out = t.run(command);
        out.code(3)
            .stderr_has("`!Variable a.host` in `c`: `a` runs on hosts (h1, h2), and its variables are per host: name one instance: `a@h1.host` or `a@h2.host`")
            .stderr_has("`!Variable a.host` in `d`: `a` runs on hosts (h1, h2)")
            .stderr_has("m.yaml:")
            .stderr_lacks("in `b`");
    }
    let t = t.manifest(
        "m.yaml",
        &[
            hosted("a", "  hosts: [web]\n", ""),
            hosted("b", "  hosts: [web]\n", "read: !Variable a.host"),
            hosted("c", "", "read: !Variable a@h2.host"),
        ]
        .concat(),
    );
    t.run(&["validate"]).code(0);
}

/// `validate` counts the manifests written apart from their instances; `-o json` entries
/// carry `manifest` (the name as written) and `host`; the `plan` recap counts what would
/// change as `pending`, not `ok`.
#[test]
fn validate_counts_instances_apart_json_entries_carry_host_and_plan_recap_says_pending() {
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inv.yaml", PAPER)
        .manifest(
            "m.yaml",
            &[hosted("a", "  hosts: [web]\n", ""), hosted("c", "", "")].concat(),
        );
    t.run(&["validate"])
        .code(0)
        .stdout_has("valid: 2 manifests (2 instances on 2 hosts) in environment");
    let report = t.run(&["validate", "-o", "json"]).json();
    let entries = report["manifests"].as_array().unwrap();
    let a = entries.iter().find(|m| m["name"] == "a@h1").unwrap();
    assert_eq!(
        (&a["manifest"], &a["host"]),
        (&Value::from("a"), &Value::from("h1"))
    );
    let c = entries.iter().find(|m| m["name"] == "c").unwrap();
    assert_eq!(
        (&c["manifest"], &c["host"]),
        (&Value::from("c"), &Value::Null)
    );
    let Some((lab, h1, _h2)) = lab2() else { return };
    let t = Test::new()
        .handler("hosted.rhai", HOSTED)
        .manifest("inventory.yaml", &inventory(&lab, &[&h1]))
        .manifest("m.yaml", &hosted("a", "  hosts: [web]\n", ""));
    t.run(&["plan"])
        .code(0)
        .stdout_has("ok=0 changed=0 pending=1 unreachable=0 failed=0 skipped=0");
}
