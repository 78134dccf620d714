//! State, plan, drift, prune and crash safety (DESIGN.md §1, §7, §8).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Test, trace_doc};

fn state(t: &Test) -> serde_json::Value {
    serde_json::from_str(&t.read(".ordo/state.json"))
        .unwrap_or_else(|e| panic!("state.json: {e}\n{}", t.read(".ordo/state.json")))
}

fn recorded(t: &Test, env: &str) -> Vec<String> {
    let s = state(t);
    s["environments"][env]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn apply_records_each_manifest_with_hashes_variables_and_time() {
    let t = Test::new().trace().manifest(
        "m.yaml",
        &[
            trace_doc("a", "", "x: 1"),
            trace_doc("b", "dependencies: {apply: [a]}", ""),
        ]
        .concat(),
    );
    t.run(&["apply"]).code(0);
    let s = state(&t);
    assert_eq!(s["schema"], 2);
    assert_eq!(s["environments"]["default"]["a"]["revision"], 1);
    let a = &s["environments"]["default"]["a"];
    assert_eq!(a["kind"], "Trace");
    assert_eq!(a["spec"], serde_json::json!({"x": 1}));
    // Recorded paths are canonical, whatever directory ordo ran in.
    let dir = t.path().canonicalize().unwrap();
    assert_eq!(a["handler"], dir.join("trace.rhai").display().to_string());
    assert_eq!(a["file"], dir.join("m.yaml").display().to_string());
    assert_eq!(a["dir"], dir.display().to_string());
    assert_eq!(a["variables"]["applied"], "a");
    assert!(a["spec_hash"].as_str().unwrap().starts_with("hmac-sha256:"));
    assert!(a["applied_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        s["environments"]["default"]["b"]["dependencies"],
        serde_json::json!(["a"])
    );
    assert!(
        !t.exists(".ordo/state.json.journal"),
        "the journal is folded at the end"
    );
    // Released: emptied, never removed (removing it let two runs in, issue 16).
    assert_eq!(t.read(".ordo/state.json.lock"), "", "the lock is released");
    // Delete removes what it deleted.
    t.run(&["delete"]).code(0);
    assert!(recorded(&t, "default").is_empty());
}

#[test]
fn variables_survive_between_processes() {
    // `apply` stores an id; a later `delete`, in another process, reads it, both through
    // `vars::get` and through `!Variable` in another manifest's spec.
    let handler = r#"
register("Res", "^1");
permissions(["file:write"]);
fn apply(m) { #{ id: "res-" + m.name } }
fn delete(m) {
    let id = vars::get(m.name + ".id");
    file::append(path::join(m.dir, "deleted.txt"), id + " " + (m.spec.peer ?? "") + "\n");
}
"#;
    let yaml = "kind: Res\nversion: v1\nmetadata: {name: one}\n---\nkind: Res\nversion: v1\nmetadata: {name: two}\nspec:\n  peer: !Variable one.id\n";
    let t = Test::new()
        .handler("res.rhai", handler)
        .manifest("m.yaml", yaml);
    t.run(&["apply"]).code(0);
    t.run(&["delete", "-j", "1"]).code(0);
    assert_eq!(t.read("deleted.txt"), "res-two res-one\nres-one \n");
    // Without state, the delete cannot know the id.
    let t2 = Test::new()
        .handler("res.rhai", handler)
        .manifest("m.yaml", yaml);
    t2.run(&["apply", "--no-state"]).code(0);
    assert!(!t2.exists(".ordo"));
    t2.run(&["delete", "--no-state"])
        .code(1)
        .stderr_has("variable `one.id` is not set");
}

#[test]
fn plan_runs_only_check_and_changes_nothing() {
    let handler = r#"
register("Careful", "^1");
permissions(["file:read", "file:write", "shell"]);
fn check(m) {
    shell::run(["true"], #{ read_only: true });
    if m.spec.sneaky == true { file::write(path::join(m.dir, "sneaky.txt"), "x"); }
    if m.spec.run == true { shell::run("touch ran"); }
    file::write(path::join(m.dir, "dry.txt"), `${m.dry_run}`);
    true
}
fn apply(m) { file::write(path::join(m.dir, "applied.txt"), m.name); }
fn delete(m) { file::remove(path::join(m.dir, "applied.txt")); }
"#;
    let yaml = "kind: Careful\nversion: v1\nmetadata: {name: c}\n";
    let t = Test::new()
        .handler("h.rhai", handler)
        .manifest("m.yaml", yaml);
    let out = t.run(&["plan"]);
    // Writing `dry.txt` in check is refused: plan is read-only.
    out.code(1)
        .stderr_has("`file::write` changes things, and `plan` is read-only");
    assert!(!t.exists("applied.txt") && !t.exists("dry.txt") && !t.exists(".ordo/state.json"));

    let yaml = "kind: Careful\nversion: v1\nmetadata: {name: c}\nspec: {run: true}\n";
    let handler_no_write = handler.replace(
        "file::write(path::join(m.dir, \"dry.txt\"), `${m.dry_run}`);",
        "if !m.dry_run { throw \"dry_run must be true\"; }",
    );
    let t = Test::new()
        .handler("h.rhai", &handler_no_write)
        .manifest("m.yaml", yaml);
    t.run(&["plan"])
        .code(1)
        .stderr_has("`shell::run` may change things, and `plan` is read-only")
        .stderr_has("read_only: true");
    assert!(!t.exists("ran"));

    let t = Test::new().handler("h.rhai", &handler_no_write).manifest(
        "m.yaml",
        "kind: Careful\nversion: v1\nmetadata: {name: c}\n",
    );
    t.run(&["plan"])
        .code(0)
        .stdout_has("pending   Careful/c  (new)")
        .stdout_has("handler   h.rhai  may: shell, file:read, file:write");
    assert!(!t.exists("applied.txt"));
}

#[test]
fn plan_detailed_exit_codes() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", "check: file\nfile: a.txt"));
    t.run(&["plan", "--detailed-exitcode"]).code(4);
    t.run(&["apply"]).code(0);
    t.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("unchanged Trace/a");
    let broken = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", "check: [not, a, string]"));
    let bad_check =
        "register(\"Bad\", \"^1\");\nfn check(m) { throw \"broken check\"; }\nfn apply(m) {}\n";
    let broken = broken
        .handler("bad.rhai", bad_check)
        .manifest("b.yaml", "kind: Bad\nversion: v1\nmetadata: {name: b}\n");
    broken
        .run(&["plan", "--detailed-exitcode"])
        .code(1)
        .stderr_has("broken check");
}

#[test]
fn plan_tells_new_changed_drifted_and_orphaned_apart() {
    let docs = |x: &str| {
        [
            trace_doc("same", "", "check: file\nfile: same.txt"),
            trace_doc(
                "edited",
                "",
                &format!("check: file\nfile: edited.txt\nx: {x}"),
            ),
            trace_doc("drifted", "", "check: file\nfile: drifted.txt"),
            trace_doc("doomed", "", "check: file\nfile: doomed.txt"),
        ]
        .concat()
    };
    let t = Test::new().trace().manifest("m.yaml", &docs("1"));
    t.run(&["apply"]).code(0);
    // Edit one spec, remove one manifest, delete one file behind ordo's back, add one.
    let next = [
        docs("2").replace(
            &trace_doc("doomed", "", "check: file\nfile: doomed.txt"),
            "",
        ),
        trace_doc("fresh", "", "check: file\nfile: fresh.txt"),
    ]
    .concat();
    let t = t.manifest("m.yaml", &next);
    std::fs::remove_file(t.path().join("drifted.txt")).unwrap();
    std::fs::remove_file(t.path().join("edited.txt")).unwrap();
    let out = t.run(&["plan", "-j", "1"]);
    out.code(0)
        .stdout_has("unchanged Trace/same")
        .stdout_has("pending   Trace/edited  (spec changed since the last apply)")
        .stdout_has("pending   Trace/drifted  (drift: `check` says work is needed although the spec did not change)")
        .stdout_has("pending   Trace/fresh  (new)")
        .stdout_has("orphaned  Trace/doomed  (in the state, gone from the files)")
        .stdout_has("plan: 3 pending, 1 unchanged, 1 orphaned, 0 failed, 0 skipped");
    let json = t.run(&["plan", "-o", "json"]).json();
    let doomed = json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "doomed")
        .unwrap();
    assert_eq!(doomed["status"], "orphaned");
    assert_eq!(json["summary"]["orphaned"], 1);
    // Orphans count as changes only when pruning would delete them.
    let t2 = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", "check: never"));
    t2.run(&["apply"]).code(0);
    let t2 = t2.manifest("m.yaml", &trace_doc("b", "", "check: never"));
    t2.run(&["plan", "--detailed-exitcode"]).code(0);
    t2.run(&["plan", "--detailed-exitcode", "--prune"]).code(4);
}

#[test]
fn apply_prune_deletes_what_is_gone_in_reverse_order_first() {
    let all = [
        trace_doc("base", "", "file: base.txt"),
        trace_doc("mid", "dependencies: {apply: [base]}", "file: mid.txt"),
        trace_doc("top", "dependencies: {apply: [mid]}", "file: top.txt"),
        trace_doc("keep", "", "file: keep.txt"),
    ]
    .concat();
    let t = Test::new().trace().manifest("m.yaml", &all);
    t.run(&["apply"]).code(0);
    t.take_trace();
    let t = t.manifest("m.yaml", &trace_doc("keep", "", "file: keep.txt"));
    // Without --prune, nothing is deleted, but ordo says so.
    t.run(&["apply"])
        .code(0)
        .stderr_has("3 manifests in the state are gone from the files");
    assert_eq!(t.take_trace(), ["APPLY keep"]);
    t.run(&["apply", "--prune", "-j", "1"]).code(0);
    assert_eq!(
        t.take_trace(),
        ["DELETE top", "DELETE mid", "DELETE base", "APPLY keep"]
    );
    assert!(!t.exists("base.txt") && !t.exists("top.txt") && t.exists("keep.txt"));
    assert_eq!(recorded(&t, "default"), ["keep"]);
}

/// `apply --prune` reported a pruned manifest as `changed` with no word that it was
/// deleted: it has the reason `pruned: gone from the files`, in human and JSON output.
#[test]
fn apply_prune_says_what_it_pruned() {
    let both = [
        trace_doc("old", "", "file: old.txt"),
        trace_doc("keep", "", "file: keep.txt"),
    ]
    .concat();
    for json in [false, true] {
        let t = Test::new().trace().manifest("m.yaml", &both);
        t.run(&["apply"]).code(0);
        let t = t.manifest("m.yaml", &trace_doc("keep", "", "file: keep.txt"));
        if json {
            let out = t.run(&["apply", "--prune", "-o", "json"]);
            out.code(0);
            let report = out.json();
            let entries = report["manifests"].as_array().unwrap();
            let old = entries.iter().find(|e| e["name"] == "old").unwrap();
            let keep = entries.iter().find(|e| e["name"] == "keep").unwrap();
            assert_eq!(old["status"], "changed");
            assert_eq!(old["reason"], "pruned: gone from the files");
            assert!(keep["reason"].is_null(), "{keep}");
        } else {
            let out = t.run(&["apply", "--prune"]);
            out.code(0);
            let line = out.stdout.lines().find(|l| l.contains("/old")).unwrap();
            assert!(
                line.starts_with("changed") && line.ends_with("(pruned: gone from the files)"),
                "{}",
                out.stdout
            );
            let keep = out.stdout.lines().find(|l| l.contains("/keep")).unwrap();
            assert!(!keep.contains("pruned"), "{}", out.stdout);
        }
        assert!(!t.exists("old.txt"));
    }
}

#[test]
fn prune_without_the_handler_is_a_clear_error() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("old", "", ""));
    t.run(&["apply"]).code(0);
    std::fs::remove_file(t.path().join("trace.rhai")).unwrap();
    let t = t
        .handler(
            "other.rhai",
            "register(\"Other\", \"^1\");\nfn apply(m) {}\n",
        )
        .manifest(
            "m.yaml",
            "kind: Other\nversion: v1\nmetadata: {name: new}\n",
        );
    t.run(&["apply", "--prune"])
        .code(3)
        .stderr_has("cannot prune `old` (Trace v1): no handler serves it any more")
        .stderr_has("ordo state rm old");
    t.run(&["state", "rm", "old"])
        .code(0)
        .stdout_has("forgot `old`");
    t.run(&["apply", "--prune"]).code(0);
}

#[test]
fn secrets_stay_out_of_the_state_file() {
    let handler = "register(\"S\", \"^1\");\nfn apply(m) { vars::set_secret(\"token\", \"tok-secret-123\"); #{ visible: m.spec.pw } }\n";
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: pw-secret-456, secret: true}\n";
    let t = Test::new()
        .handler("s.rhai", handler)
        .manifest("values.yaml", values)
        .manifest(
            "m.yaml",
            "kind: S\nversion: v1\nmetadata: {name: s}\nspec: {pw: !Value pw}\n",
        );
    t.run(&["apply"]).code(0);
    let text = t.read(".ordo/state.json");
    assert!(
        !text.contains("tok-secret-123") && !text.contains("pw-secret-456"),
        "{text}"
    );
    // `visible` holds secret text: kept out too (issue 15), never stored as `***`.
    assert_eq!(
        state(&t)["environments"]["default"]["s"]["secret_variables"],
        serde_json::json!(["token", "visible"])
    );
    let shown = t.run(&["state", "show", "s"]);
    assert!(!shown.stdout.contains("secret-"));
}

/// Every candidate spec text of a 4-digit secret `pw`, as an unsalted hash would be taken.
fn guessable_hashes() -> Vec<String> {
    use sha2::{Digest, Sha256};
    let hex = |text: &str| {
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    (0..10_000)
        .flat_map(|n| {
            [
                format!("{{\"pw\":{n:04}}}"),
                format!("{{\"pw\":\"{n:04}\"}}"),
                format!("{{\"pw\":{n}}}"),
            ]
        })
        .map(|text| hex(&text))
        .collect()
}

fn four_digit_secret() -> Test {
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: \"4821\", secret: true}\n";
    Test::new()
        .handler(
            "s.rhai",
            "register(\"S\", \"^1\");\nfn check(m) { false }\nfn apply(m) {}\n",
        )
        .manifest("values.yaml", values)
        .manifest(
            "m.yaml",
            "kind: S\nversion: v1\nmetadata: {name: s}\nspec: {pw: !Value pw}\n",
        )
}

/// Everything under `.ordo/`, as text.
fn ordo_dir_text(t: &Test) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(t.path().join(".ordo")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "key") {
            continue;
        }
        all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
    }
    all
}

// Issue 15 item 16: the spec hash was an unsalted sha256 over the spec with its secret
// values; a 4-digit secret was recovered offline in under a second.
#[test]
fn the_state_does_not_let_a_short_secret_be_guessed_from_its_spec_hash() {
    let t = four_digit_secret();
    t.run(&["apply"]).code(0);
    let text = ordo_dir_text(&t);
    // The secret's own text is nowhere, outside the hex of digests (which may hold any four
    // digits by chance, and are checked below) and the binary key file (not in `text`).
    let words: String = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !(word.len() >= 32 && word.chars().all(|c| c.is_ascii_hexdigit())))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!words.contains("4821"), "{text}");
    let found: Vec<String> = guessable_hashes()
        .into_iter()
        .filter(|h| text.contains(h.as_str()))
        .collect();
    assert!(found.is_empty(), "guessable hashes {found:?} in\n{text}");
    // The key is a separate private file; the hash still tells an unchanged spec.
    let key = t.path().join(".ordo/state.json.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let plan = t.run(&["plan", "-o", "json"]).code(0).json();
    assert_eq!(plan["manifests"][0]["status"], "unchanged", "{plan}");
    assert_eq!(
        plan["manifests"][0]["reason"],
        serde_json::Value::Null,
        "{plan}"
    );
    // A changed secret is a changed spec.
    let changed = t
        .run(&["plan", "-o", "json", "--set", "pw=\"4822\""])
        .code(0)
        .json();
    assert!(
        changed["manifests"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("spec changed"),
        "{changed}"
    );
}

// WriteFile's `sha256` output of a file holding a secret was an unsalted hash of it, kept
// in the state as a variable.
#[test]
fn a_digest_of_a_secret_is_kept_out_of_the_state() {
    use sha2::{Digest, Sha256};
    let values = "kind: Values\nversion: v1\nmetadata: {name: v}\nspec:\n  values:\n  - {valueName: pw, defaultValue: \"4821\", secret: true}\n";
    let t = Test::new().manifest("values.yaml", values).manifest(
        "m.yaml",
        "kind: WriteFile\nversion: v1\nmetadata: {name: w}\nspec: {targetFile: out.txt, data: !Value pw}\n",
    );
    let out = t.run(&["apply", "-o", "json"]);
    out.code(0);
    let text = ordo_dir_text(&t);
    for n in 0..10_000 {
        let digest: String = Sha256::digest(format!("{n:04}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            !text.contains(&digest),
            "the digest of {n:04} is in\n{text}"
        );
        assert!(!out.stdout.contains(&digest), "{}", out.stdout);
    }
    assert_eq!(
        state(&t)["environments"]["default"]["w"]["secret_variables"],
        serde_json::json!(["sha256"])
    );
}

#[test]
fn a_lost_state_key_makes_a_secret_spec_count_as_changed_once() {
    let t = four_digit_secret()
        .trace()
        .manifest("t.yaml", &trace_doc("plain", "", "x: 1"));
    t.run(&["apply"]).code(0);
    std::fs::remove_file(t.path().join(".ordo/state.json.key")).unwrap();
    // `plan` reads without a key: the plain spec is compared with the recorded one, the
    // secret one cannot be.
    let plan = t.run(&["plan", "-o", "json"]).code(0).json();
    let reason = |plan: &serde_json::Value, name: &str| {
        plan["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["reason"].clone())
            .unwrap()
    };
    assert!(
        reason(&plan, "s")
            .as_str()
            .unwrap()
            .contains("spec changed"),
        "{plan}"
    );
    t.run(&["apply"]).code(0);
    assert!(t.exists(".ordo/state.json.key"), "a new key is made");
    let again = t.run(&["plan", "-o", "json"]).code(0).json();
    assert_eq!(reason(&again, "s"), serde_json::Value::Null, "{again}");
}

// A state written before keyed hashes: nothing shows as changed, and the unkeyed hash is
// never written again.
#[test]
fn an_unkeyed_spec_hash_of_an_older_state_is_migrated() {
    use sha2::{Digest, Sha256};
    let t = four_digit_secret();
    t.run(&["apply"]).code(0);
    let old: String = Sha256::digest(br#"{"pw":"4821"}"#)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut s = state(&t);
    s["environments"]["default"]["s"]["spec_hash"] = old.clone().into();
    std::fs::write(t.path().join(".ordo/state.json"), s.to_string()).unwrap();
    std::fs::remove_file(t.path().join(".ordo/state.json.key")).unwrap();
    let plan = t.run(&["plan", "-o", "json"]).code(0).json();
    assert_eq!(
        plan["manifests"][0]["reason"],
        serde_json::Value::Null,
        "{plan}"
    );
    t.run(&["apply"]).code(0);
    let text = ordo_dir_text(&t);
    assert!(!text.contains(&old), "{text}");
    assert!(
        state(&t)["environments"]["default"]["s"]["spec_hash"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
}

#[test]
fn a_second_concurrent_run_is_refused_and_names_the_holder() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("slow", "", "sleep: 3"));
    let first = t.spawn(&["apply"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !t.exists(".ordo/state.json.lock") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = t.run(&["apply"]);
    out.code(1)
        .stderr_has(&format!("locked by pid {}", first.id()))
        .stderr_has("running `")
        .stderr_has("ordo state unlock");
    t.run(&["state", "unlock"])
        .code(1)
        .stderr_has("which is still running");
    let done = first.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0));
}

#[test]
fn a_stale_lock_from_a_dead_process_is_taken_over_with_a_warning() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", ""));
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    let lock = format!(
        "{{\"pid\": {pid}, \"host\": \"gone\", \"started\": \"2026-01-01T00:00:00Z\", \"command\": \"ordo apply\"}}"
    );
    std::fs::create_dir_all(t.path().join(".ordo")).unwrap();
    std::fs::write(t.path().join(".ordo/state.json.lock"), &lock).unwrap();
    t.run(&["apply"])
        .code(0)
        .stderr_has("took over a stale lock")
        .stderr_has(&format!("pid {pid}"));
    // An explicit unlock removes a leftover lock file.
    std::fs::write(t.path().join(".ordo/state.json.lock"), &lock).unwrap();
    t.run(&["state", "unlock"])
        .code(0)
        .stdout_has("removed the lock");
    assert!(!t.exists(".ordo/state.json.lock"));
}

#[test]
fn sigkill_mid_run_loses_nothing_that_finished() {
    // Ten manifests in a chain, one at a time; each writes START, sleeps, writes END.
    let handler = r#"
register("Step", "^1");
permissions(["file:write", "env"]);
fn apply(m) {
    file::append(env::get("TRACE_FILE"), "START " + m.name + "\n");
    time::sleep(0.3);
    file::append(env::get("TRACE_FILE"), "END " + m.name + "\n");
    #{ done: true }
}
"#;
    let mut yaml = String::new();
    for i in 0..10 {
        let deps = if i == 0 {
            String::new()
        } else {
            format!("  dependencies: {{apply: [s{}]}}\n", i - 1)
        };
        yaml.push_str(&format!(
            "---\nkind: Step\nversion: v1\nmetadata:\n  name: s{i}\n{deps}"
        ));
    }
    let t = Test::new()
        .handler("step.rhai", handler)
        .manifest("m.yaml", &yaml);
    let mut child = t.spawn(&["apply", "-j", "1"]);
    // When s5 starts, s0..s4 have finished and been journaled.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !t.read("trace.txt").contains("START s5") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished: Vec<String> = t
        .read("trace.txt")
        .lines()
        .filter_map(|l| l.strip_prefix("END ").map(str::to_string))
        .collect();
    assert_eq!(finished, ["s0", "s1", "s2", "s3", "s4"]);
    // Whatever was on disk when it died, the state (file + journal) is valid and holds
    // exactly the finished manifests; the next command folds the journal in.
    let listed = t.run(&["state", "list", "-o", "json"]).json();
    let names: Vec<&str> = listed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s0", "s1", "s2", "s3", "s4"]);
    // The killed run's lock is stale; the next apply takes over, folds, and goes on.
    t.run(&["apply", "-j", "1"])
        .code(0)
        .stderr_has("took over a stale lock");
    assert_eq!(recorded(&t, "default").len(), 10);
    assert!(!t.exists(".ordo/state.json.journal"));
}

#[test]
fn state_commands_list_and_show_entries() {
    let t = Test::new().trace().manifest(
        "m.yaml",
        &[
            trace_doc("a", "", ""),
            trace_doc("b", "environments: [prod]", ""),
        ]
        .concat(),
    );
    t.run(&["apply"]).code(0);
    t.run(&["apply", "-e", "prod"]).code(0);
    let out = t.run(&["state", "list"]);
    out.code(0).stdout_has("NAME").stdout_has("Trace/v1");
    assert!(!out.stdout.contains("\nb "), "{}", out.stdout);
    t.run(&["state", "list", "-e", "prod"])
        .code(0)
        .stdout_has("b ");
    let shown = t.run(&["state", "show", "a", "-o", "json"]);
    // Shown relative to where ordo runs; recorded canonical (see above).
    shown.code(0).stdout_has("\"handler\": \"trace.rhai\"");
    t.run(&["state", "show", "zzz"])
        .code(1)
        .stderr_has("no manifest `zzz` is recorded");
}

/// `state show` printed JSON under `-o human` and had no "did you mean"; `state list` of an
/// environment without entries, while others have some, did not point at `-e`.
#[test]
fn state_show_is_for_people_and_unknown_names_get_a_hint() {
    let t = Test::new().trace().manifest(
        "m.yaml",
        &[
            trace_doc("web", "", "port: 80"),
            trace_doc("db", "environments: [prod]", ""),
        ]
        .concat(),
    );
    t.run(&["apply", "-e", "prod"]).code(0);
    let shown = t.run(&["state", "show", "web", "-e", "prod"]);
    shown
        .code(0)
        .stdout_has("web (Trace v1), environment `prod`\n")
        .stdout_has("spec:\n  port: 80\n");
    assert!(
        serde_json::from_str::<serde_json::Value>(&shown.stdout).is_err(),
        "{}",
        shown.stdout
    );
    t.run(&["state", "show", "wbe", "-e", "prod"])
        .code(1)
        .stderr_has("no manifest `wbe` is recorded")
        .stderr_has("did you mean `web`?");
    t.run(&["state", "rm", "wbe", "-e", "prod"])
        .code(1)
        .stderr_has("did you mean `web`?");
    t.run(&["state", "show", "web"])
        .code(1)
        .stderr_has("it is recorded for environment `prod`: add `-e prod`");
    t.run(&["state", "list"])
        .code(0)
        .stdout_has("no manifests recorded for environment `default`")
        .stdout_has("entries are recorded for `-e prod`");
}

/// In an empty directory, `ordo state show nope -o json` printed nothing on stdout, and
/// `ordo state unlock -o json` a plain sentence: under `-o json` every `state` command
/// prints one JSON document, failures included (`{"command", "ok": false, "errors"}`).
#[test]
fn state_commands_under_json_print_no_json() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", ""));
    for (args, ok) in [
        (&["state", "show", "nope", "-o", "json"][..], false),
        (&["state", "unlock", "-o", "json"][..], true),
        (&["state", "list", "-e", "nope", "-o", "json"][..], false),
    ] {
        let out = t.run(args);
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "`ordo {}` printed no JSON ({e}):\n{}{}",
                args.join(" "),
                out.stdout,
                out.stderr
            )
        });
        assert_eq!(report["ok"], ok, "{report}");
        assert_eq!(report["command"], format!("state {}", args[1]), "{report}");
        if !ok {
            assert!(report["errors"][0]["message"].is_string(), "{report}");
        }
    }
    t.run(&["apply"]).code(0);
    let out = t.run(&["state", "rm", "a", "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["ok"], true);
}

#[test]
fn a_corrupt_state_file_is_reported_and_nothing_runs() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", ""))
        .file(".ordo/state.json", "{\"schema\": 1, \"environments\": [}");
    t.run(&["apply"])
        .code(1)
        .stderr_has("the state file .ordo/state.json is not valid (line 1");
    assert!(t.take_trace().is_empty());
}

#[test]
fn plan_delete_asks_check_about_deleting() {
    let t = Test::new()
        .trace()
        .manifest("m.yaml", &trace_doc("a", "", "check: file\nfile: a.txt"));
    // Trace's check answers "is the file missing?"; for delete it means there is work.
    t.run(&["plan", "--delete", "--detailed-exitcode"])
        .code(4)
        .stdout_has("pending   Trace/a");
    t.run(&["apply"]).code(0);
    t.take_trace();
    t.run(&["plan", "--delete"])
        .code(0)
        .stdout_has("unchanged Trace/a");
    assert!(t.take_trace().is_empty(), "plan --delete deleted something");
    assert!(t.exists("a.txt"));
}
