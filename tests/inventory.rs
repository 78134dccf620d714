//! The inventory (issue 17 part 1): `kind: Inventory` documents and `-i` files (native or
//! Ansible YAML), the variable precedence chain, host patterns, `--limit`, `metadata.hosts`
//! and `!HostVar` (checked; running on hosts is tests/remote.rs), and `ordo hosts`. Every test drives the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use common::{Test, trace_doc};
use serde_json::{Value, json};

/// A native inventory: defaults, three hosts, a group by glob and a parent group.
const LAB: &str = r#"kind: Inventory
version: v1
metadata: {name: lab}
spec:
  defaults: {user: deploy, vars: {http_port: 8080, tier: none, site: lab}}
  hosts:
    web-1: {address: 10.1.0.5, vars: {root: /srv/www}}
    web-2: {address: 10.1.0.6, port: 2222, identityFile: keys/web, sshOptions: ["-o", "ProxyJump=bastion"]}
    db-1:  {address: 10.1.0.9, become: true, becomeUser: postgres, fsRoot: /srv/db, vars: {tier: db-host}}
  groups:
    web: {hosts: ["web-*"], vars: {http_port: 80, tier: web}}
    prod: {children: [web], hosts: [db-1], vars: {tier: prod, env: prod}}
"#;

/// An Ansible YAML inventory.
const ANSIBLE: &str = r#"all:
  vars:
    ansible_user: admin
    region: eu
  hosts:
    solo:
      ansible_host: 192.168.1.2
  children:
    lb:
      vars: {weight: 1, ansible_port: 2200}
      hosts:
        lb-1: {weight: 3}
        lb-2:
          ansible_host: 192.168.1.20
          ansible_port: "2201"
    edge:
      children:
        lb:
"#;

fn hosts_json(t: &Test, args: &[&str]) -> Value {
    let mut all = vec!["hosts", "-o", "json"];
    all.extend(args);
    let out = t.run(&all);
    out.code(0);
    out.json()
}

fn host<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host `{name}` in {report:#}"))
}

fn names(report: &Value) -> Vec<String> {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn hosts_json_has_every_connection_setting_groups_and_vars_with_origin() {
    let t = Test::new().file("inv.yaml", LAB);
    let report = hosts_json(&t, &[]);
    assert_eq!(report["command"], "hosts");
    assert_eq!(report["ok"], true);
    assert_eq!(names(&report), ["web-1", "web-2", "db-1"]);
    let web2 = host(&report, "web-2");
    let keys: Vec<&str> = web2
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "address",
            "port",
            "user",
            "identity_file",
            "ssh_options",
            "become",
            "become_user",
            "fs_root",
            "groups",
            "vars"
        ]
    );
    assert_eq!(web2["address"], "10.1.0.6");
    assert_eq!(web2["port"], 2222);
    assert_eq!(web2["user"], "deploy", "from defaults");
    assert_eq!(web2["identity_file"], "keys/web");
    assert_eq!(web2["ssh_options"], json!(["-o", "ProxyJump=bastion"]));
    assert_eq!(web2["groups"], json!(["prod", "web"]));
    let db = host(&report, "db-1");
    assert_eq!(db["become"], true);
    assert_eq!(db["become_user"], "postgres");
    assert_eq!(db["fs_root"], "/srv/db");
    assert_eq!(db["port"], Value::Null);
    assert_eq!(
        db["vars"]["tier"],
        json!({"value": "db-host", "origin": "host", "group": null, "file": "inv.yaml", "line": 9})
    );
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(
        groups[1],
        json!({"name": "prod", "hosts": ["web-1", "web-2", "db-1"], "children": ["web"], "depth": 1})
    );
    assert_eq!(groups[0]["depth"], 2);
}

#[test]
fn host_vars_precedence_is_host_then_child_group_then_parent_group_then_defaults() {
    let t = Test::new().file("inv.yaml", LAB);
    let report = hosts_json(&t, &[]);
    let web1 = &host(&report, "web-1")["vars"];
    // `web` is a child of `prod`: the child wins over the parent, both over defaults.
    assert_eq!(web1["tier"]["value"], "web");
    assert_eq!(web1["tier"]["origin"], "group");
    assert_eq!(web1["tier"]["group"], "web");
    assert_eq!(web1["http_port"]["value"], 80);
    assert_eq!(web1["env"]["group"], "prod");
    assert_eq!(web1["site"]["origin"], "defaults");
    assert_eq!(web1["root"]["origin"], "host");
    let db = &host(&report, "db-1")["vars"];
    assert_eq!(
        db["http_port"]["value"], 8080,
        "db-1 is in no group setting it"
    );
    assert_eq!(
        db["tier"]["value"], "db-host",
        "the host wins over its group"
    );
}

#[test]
fn groups_of_equal_depth_apply_in_name_order() {
    let t = Test::new().file(
        "inv.yaml",
        "kind: Inventory\nversion: v1\nmetadata: {name: lab}\nspec:\n  hosts:\n    h: {}\n  groups:\n    zeta: {hosts: [h], vars: {x: from-zeta}}\n    alpha: {hosts: [h], vars: {x: from-alpha, y: from-alpha}}\n",
    );
    let report = hosts_json(&t, &[]);
    let vars = &host(&report, "h")["vars"];
    assert_eq!(vars["x"]["value"], "from-zeta", "later in name order wins");
    assert_eq!(vars["y"]["group"], "alpha");
}

#[test]
fn ansible_inventory_maps_host_port_user_and_keeps_other_keys_as_vars() {
    let t = Test::new().file("hosts.yml", ANSIBLE);
    let report = hosts_json(&t, &["-i", "hosts.yml"]);
    assert_eq!(names(&report), ["solo", "lb-1", "lb-2"]);
    let solo = host(&report, "solo");
    assert_eq!(solo["address"], "192.168.1.2");
    assert_eq!(solo["user"], "admin");
    assert_eq!(solo["groups"], json!([]));
    assert_eq!(solo["vars"]["region"]["origin"], "defaults");
    let lb1 = host(&report, "lb-1");
    assert_eq!(lb1["address"], "lb-1", "no ansible_host: the name");
    assert_eq!(lb1["port"], 2200, "the group's ansible_port");
    assert_eq!(lb1["vars"]["weight"]["value"], 3);
    assert_eq!(lb1["vars"]["weight"]["origin"], "host");
    assert_eq!(lb1["groups"], json!(["edge", "lb"]));
    let lb2 = host(&report, "lb-2");
    assert_eq!(lb2["address"], "192.168.1.20");
    assert_eq!(
        lb2["port"], 2201,
        "the host's own, quoted, wins over the group's"
    );
    assert_eq!(lb2["vars"]["weight"]["group"], "lb");
    assert!(lb2["vars"].get("ansible_port").is_none());
}

#[test]
fn an_ansible_only_setting_is_an_input_error_naming_it() {
    let t = Test::new().file(
        "hosts.yml",
        "all:\n  hosts:\n    web-1:\n      ansible_hots: 10.0.0.1\n      ansible_python_interpreter: /usr/bin/python3\n",
    );
    let out = t.run(&["hosts", "-i", "hosts.yml"]);
    out.code(3)
        .stderr_has(
            "Ansible setting `ansible_hots` is not supported by ordo; did you mean `ansible_host`?",
        )
        .stderr_has("hosts.yml:4:7")
        .stderr_lacks("`ansible_python_interpreter` is not supported");
    assert!(out.stdout.is_empty());
}

#[test]
fn harmless_ansible_settings_are_warnings_and_meaningful_ones_stay_errors() {
    // newuser17 finding 3: `ansible_python_interpreter` is in nearly every real inventory.
    let t = Test::new().file(
        "hosts.yml",
        "all:\n  vars:\n    ansible_python_interpreter: /usr/bin/python3\n    ansible_ssh_pipelining: true\n    ansible_become_method: sudo\n  hosts:\n    web-1:\n      ansible_pipelining: yes\n",
    );
    let report = hosts_json(&t, &["-i", "hosts.yml"]);
    assert_eq!(names(&report), ["web-1"]);
    assert!(
        host(&report, "web-1")["vars"]
            .as_object()
            .unwrap()
            .is_empty()
    );
    let out = t.run(&["hosts", "-i", "hosts.yml"]);
    out.code(0)
        .stderr_has(
            "warning: Ansible setting `ansible_python_interpreter` ignored: ordo does not use it",
        )
        .stderr_has("hosts.yml:3:5")
        .stderr_has("`ansible_ssh_pipelining` ignored")
        .stderr_has("hosts.yml:4:5")
        .stderr_has("`ansible_pipelining` ignored")
        .stderr_has("hosts.yml:8:7");
    // A run sees the same warnings and goes on.
    t.trace()
        .manifest("m.yaml", &trace_doc("here", "", ""))
        .run(&["plan", "-i", "hosts.yml"])
        .code(0)
        .stderr_has("`ansible_python_interpreter` ignored");

    // Settings that change how or whether ordo may connect stay input errors.
    for (setting, said) in [
        (
            "ansible_password: hunter2",
            "`ansible_password` is not supported",
        ),
        (
            "ansible_connection: local",
            "`ansible_connection: local` is not supported",
        ),
        (
            "ansible_become_method: su",
            "`ansible_become_method: su` is not supported",
        ),
        (
            "ansible_become_password: x",
            "`ansible_become_password` is not supported",
        ),
    ] {
        let t = Test::new().file(
            "hosts.yml",
            &format!("all:\n  hosts:\n    web-1:\n      {setting}\n"),
        );
        t.run(&["hosts", "-i", "hosts.yml"])
            .code(3)
            .stderr_has(said)
            .stderr_has("hosts.yml:4:");
    }
}

#[test]
fn ansible_become_takes_ansibles_boolean_spellings() {
    // attack17 F9: `ansible_become: yes` is how Ansible's own docs write it.
    for (text, expected) in [
        ("yes", true),
        ("no", false),
        ("on", true),
        ("Off", false),
        ("True", true),
        ("FALSE", false),
        ("'yes'", true),
        ("\"y\"", true),
        ("1", true),
        ("0", false),
    ] {
        let t = Test::new().file(
            "hosts.yml",
            &format!("all:\n  hosts:\n    h1: {{ansible_become: {text}}}\n"),
        );
        let report = hosts_json(&t, &["-i", "hosts.yml"]);
        assert_eq!(host(&report, "h1")["become"], expected, "{text}");
    }
    let t = Test::new().file(
        "hosts.yml",
        "all:\n  hosts:\n    h1: {ansible_become: maybe}\n",
    );
    t.run(&["hosts", "-i", "hosts.yml"])
        .code(3)
        .stderr_has("`ansible_become` must be a boolean (`true`/`false`, `yes`/`no`, `on`/`off`)")
        .stderr_has("hosts.yml:3:26");
}

#[test]
fn unknown_keys_of_an_ansible_group_have_a_did_you_mean() {
    let t = Test::new().file("hosts.yml", "all:\n  hots:\n    web-1:\n");
    t.run(&["hosts", "-i", "hosts.yml"])
        .code(3)
        .stderr_has("unknown key `hots` in an Ansible group; did you mean `hosts`?")
        .stderr_has("hosts.yml:2:3");
}

#[test]
fn native_and_ansible_inventories_combine_and_a_host_in_both_is_a_duplicate() {
    let t = Test::new()
        .file("inv.yaml", LAB)
        .file("more/hosts.yml", "all:\n  hosts:\n    cache-1: {}\n");
    let report = hosts_json(&t, &["-i", "more/hosts.yml"]);
    assert_eq!(names(&report), ["web-1", "web-2", "db-1", "cache-1"]);
    let t = Test::new()
        .file("inv.yaml", LAB)
        .file("more/hosts.yml", "all:\n  hosts:\n    db-1: {}\n");
    t.run(&["hosts", "-i", "more/hosts.yml"])
        .code(3)
        .stderr_has("host `db-1` is defined twice")
        .stderr_has("more/hosts.yml:3:5")
        .stderr_has("inv.yaml:9:5")
        .stderr_has("first defined here");
}

#[test]
fn a_native_inventory_file_given_with_i_is_read_and_not_loaded_as_a_manifest() {
    let t = Test::new()
        .trace()
        .file("site.yaml", &trace_doc("local", "", ""))
        .file("lab.yaml", LAB);
    // `lab.yaml` is under `-m .` and given with `-i`: read once, as the inventory.
    let report = hosts_json(&t, &["-i", "lab.yaml"]);
    assert_eq!(names(&report).len(), 3);
    // A manifest without `metadata.hosts` still runs here, inventory or not.
    t.run(&["apply", "-i", "lab.yaml", "--no-state"]).code(0);
    assert_eq!(t.take_trace(), ["APPLY local"]);
}

#[test]
fn an_inventory_file_holding_another_kind_is_an_input_error() {
    let t = Test::new().file("inv.yaml", &trace_doc("x", "", ""));
    t.run(&["hosts", "-i", "inv.yaml"])
        .code(3)
        .stderr_has("an inventory file holds `kind: Inventory` documents")
        .stderr_has("inv.yaml:2:7");
}

#[test]
fn inventory_documents_count_only_in_their_environments() {
    let t = Test::new().file(
        "inv.yaml",
        &LAB.replace("{name: lab}", "{name: lab, environments: [prod]}"),
    );
    let report = hosts_json(&t, &["-e", "prod"]);
    assert_eq!(names(&report).len(), 3);
    let report = hosts_json(&t, &[]);
    assert_eq!(names(&report), Vec::<String>::new());
    // An environment only an `-i` file names exists all the same.
    let t = Test::new().file(
        "lab/inv.yaml",
        &LAB.replace("{name: lab}", "{name: lab, environments: [stage]}"),
    );
    let report = hosts_json(&t, &["-i", "lab/inv.yaml", "-e", "stage"]);
    assert_eq!(names(&report).len(), 3);
}

#[test]
fn inventory_input_errors_have_their_place_and_a_did_you_mean() {
    let t = Test::new().file(
        "inv.yaml",
        "kind: Inventory\nversion: v1\nmetadata: {name: lab}\nspec:\n  defautls: {}\n  hosts:\n    a: {prot: 22, vars: {x: !Value y}}\n  groups:\n    g: {hosts: [b], children: [gg], varz: {}}\n",
    );
    let out = t.run(&["hosts"]);
    out.code(3)
        .stderr_has("unknown key `defautls` in the spec of `Inventory`; did you mean `defaults`?")
        .stderr_has("inv.yaml:5:3")
        .stderr_has("unknown key `prot` in a host; did you mean `port`?")
        .stderr_has("inv.yaml:7:9")
        .stderr_has("tag `!Value` in inventory variable `x`")
        .stderr_has("inv.yaml:7:29")
        .stderr_has("group `g` lists `b`, which matches no host")
        .stderr_has("inv.yaml:9:17")
        .stderr_has("group `g` has unknown child group `gg`; did you mean `g`?")
        .stderr_has("unknown key `varz` in a group; did you mean `vars`?")
        .stderr_has("nothing was run");
}

#[test]
fn an_inventory_of_another_version_is_refused() {
    let t = Test::new().file(
        "inv.yaml",
        "kind: Inventory\nversion: v2\nmetadata: {name: lab}\nspec: {}\n",
    );
    t.run(&["hosts"])
        .code(3)
        .stderr_has("`kind: Inventory` has no version `v2`")
        .stderr_has("inv.yaml:2:10");
}

#[test]
fn a_group_and_a_host_of_one_name_or_a_group_named_all_are_refused() {
    let t = Test::new().file(
        "inv.yaml",
        "kind: Inventory\nversion: v1\nmetadata: {name: lab}\nspec:\n  hosts:\n    web: {}\n  groups:\n    web: {hosts: [web]}\n    all: {}\n",
    );
    t.run(&["hosts"])
        .code(3)
        .stderr_has("`web` is both a host and a group")
        .stderr_has("inv.yaml:8:5")
        .stderr_has("a group cannot be named `all`")
        .stderr_has("inv.yaml:9:5");
}

#[test]
fn limit_takes_names_groups_globs_excludes_and_commas() {
    let t = Test::new().file("inv.yaml", LAB);
    let cases: &[(&[&str], &[&str])] = &[
        (&["--limit", "db-1"], &["db-1"]),
        (&["--limit", "web"], &["web-1", "web-2"]),
        (&["--limit", "prod"], &["web-1", "web-2", "db-1"]),
        (&["--limit", "*-1"], &["web-1", "db-1"]),
        (&["--limit", "all,!web-2"], &["web-1", "db-1"]),
        (&["--limit", "!web"], &["db-1"]),
        (
            &["--limit", "pro?", "--limit", "!web-1"],
            &["web-2", "db-1"],
        ),
        (&["--limit", "db-1,web-2"], &["web-2", "db-1"]),
        // A `!` pattern matching nothing is allowed.
        (&["--limit", "web,!nope"], &["web-1", "web-2"]),
    ];
    for (args, expected) in cases {
        let report = hosts_json(&t, args);
        assert_eq!(names(&report), *expected, "{args:?}");
    }
}

#[test]
fn a_limit_matching_nothing_is_an_input_error_with_a_did_you_mean() {
    let t = Test::new().file("inv.yaml", LAB);
    t.run(&["hosts", "--limit", "wbe"])
        .code(3)
        .stderr_has("--limit: host pattern `wbe` matches no host or group in the inventory; did you mean `web`?");
    t.run(&["hosts", "--limit", "web,!web"])
        .code(3)
        .stderr_has("together select no host");
    t.run(&["hosts", "--limit", "web-[1"])
        .code(3)
        .stderr_has("invalid glob");
    // On a run command too, before anything runs.
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file("site.yaml", &trace_doc("local", "", ""));
    t.run(&["apply", "--limit", "dbb-1", "--no-state"])
        .code(3)
        .stderr_has("did you mean `db-1`?");
    assert!(t.take_trace().is_empty());
}

/// `--limit "$HOSTS"` with `HOSTS` empty must not mean every host: an empty pattern or a
/// bare `!` is a usage error (exit 2), on `hosts` and on run commands, before anything runs.
#[test]
fn an_empty_limit_or_a_bare_bang_is_a_usage_error_not_every_host() {
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file("site.yaml", &trace_doc("site", "hosts: [all]", ""));
    for limit in ["", " ", ",", "!", "! ", "web-1,", "!!"] {
        t.run(&["hosts", "--limit", limit])
            .code(2)
            .stderr_has(&format!("--limit `{limit}` holds"));
        t.run(&["apply", "--no-state", "--limit", limit]).code(2);
        t.run(&["plan", "--no-state", "--limit", limit]).code(2);
    }
    assert!(t.take_trace().is_empty());
    // A real `!pattern` alone still means every host but those.
    assert_eq!(names(&hosts_json(&t, &["--limit", "!web"])), ["db-1"]);
}

/// In `metadata.hosts`, a bare `!` is an input error, not every host.
#[test]
fn a_bare_bang_in_metadata_hosts_is_an_input_error() {
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file("site.yaml", &trace_doc("site", "hosts: [\"!\"]", ""));
    t.run(&["validate"])
        .code(3)
        .stderr_has("`metadata.hosts` holds `!`, which is no host pattern")
        .stderr_has("site.yaml:");
    t.run(&["apply", "--no-state"]).code(3);
    assert!(t.take_trace().is_empty());
}

#[test]
fn a_limit_without_any_inventory_says_there_is_none() {
    let t = Test::new()
        .trace()
        .file("site.yaml", &trace_doc("local", "", ""));
    t.run(&["plan", "--limit", "web", "--no-state"])
        .code(3)
        .stderr_has("the run has no inventory: give `-i FILE`");
}

#[test]
fn a_manifest_selecting_hosts_is_one_instance_per_selected_host_never_run_locally() {
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file(
            "site.yaml",
            &trace_doc("site", "hosts: [web, \"!web-2\"]", ""),
        )
        .file("other.yaml", &trace_doc("other", "", ""));
    t.run(&["validate"]).code(0);
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["graph", "-o", "json"];
        all.extend_from_slice(args);
        let out = t.run(&all);
        out.code(0);
        out.json()["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&[]), ["other", "site@web-1"]);
    // `--limit` can leave a manifest no host: it does not run at all (never here instead).
    assert_eq!(names(&["--limit", "db-1"]), ["other"]);
    t.run(&["apply", "--no-state", "--limit", "db-1"]).code(0);
    assert_eq!(t.take_trace(), ["APPLY other"]);
}

#[test]
fn a_hosts_pattern_matching_nothing_is_an_input_error_at_its_line() {
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file("site.yaml", &trace_doc("site", "hosts: [web-1, dbb-1]", ""));
    t.run(&["validate"])
        .code(3)
        .stderr_has("metadata.hosts: host pattern `dbb-1` matches no host or group in the inventory; did you mean `db-1`?")
        .stderr_has("site.yaml:6:18")
        .stderr_lacks("remote execution is not available");
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file("site.yaml", &trace_doc("site", "hosts: []", ""));
    t.run(&["validate"])
        .code(3)
        .stderr_has("`metadata.hosts` lists no host pattern");
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file("site.yaml", &trace_doc("site", "hosts: 5", ""));
    t.run(&["validate"])
        .code(3)
        .stderr_has("`metadata.hosts` must be a list of names");
}

#[test]
fn hostvar_needs_hosts_and_a_key_every_selected_host_defines() {
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .file("site.yaml", &trace_doc("site", "", "root: !HostVar root"));
    t.run(&["validate"])
        .code(3)
        .stderr_has("`!HostVar root` in manifest `site`, which has no `metadata.hosts`")
        .stderr_has("site.yaml:7:9");
    let t = Test::new().trace().file("inv.yaml", LAB).file(
        "site.yaml",
        &trace_doc(
            "site",
            "hosts: [web]",
            "root: !HostVar roott\nport: !HostVar http_port",
        ),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("`!HostVar roott`: hosts `web-1`, `web-2` of manifest `site` have no variable `roott`; did you mean `root`?")
        .stderr_has("site.yaml:8:9")
        .stderr_lacks("`!HostVar http_port`");
    // `root` is set on web-1 only: web-2 lacks it.
    let t = Test::new().trace().file("inv.yaml", LAB).file(
        "site.yaml",
        &trace_doc("site", "hosts: [web]", "root: !HostVar root"),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("host `web-2` of manifest `site` has no variable `root`");
    let t = Test::new().trace().file("inv.yaml", LAB).file(
        "site.yaml",
        &trace_doc("site", "hosts: [web]", "root: !HostVar [a]"),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("`!HostVar` takes a host variable name, not a sequence");
}

#[test]
fn hosts_human_output_shows_addresses_groups_and_var_origins() {
    let t = Test::new().file("inv.yaml", LAB);
    let out = t.run(&["hosts", "--limit", "web-2,db-1"]);
    out.code(0)
        .stdout_has("web-2  deploy@10.1.0.6:2222  groups: prod, web\n")
        .stdout_has("    tier = \"web\"    (group web, inv.yaml:11:51)\n")
        .stdout_has("db-1   deploy@10.1.0.9  groups: prod  become: postgres  fsRoot: /srv/db\n")
        .stdout_has("2 hosts of 3, 2 groups (environment `default`)");
    assert!(!out.stdout.contains("web-1"), "{}", out.stdout);
}

#[test]
fn hosts_with_only_an_i_file_needs_no_manifests() {
    let t = Test::new().file("lab/hosts.yml", ANSIBLE);
    let report = hosts_json(&t, &["-i", "lab/hosts.yml", "-m", "lab"]);
    assert_eq!(names(&report).len(), 3);
    // Without `-m` in a directory holding no manifest files at all.
    let out = t.run_in("lab", &["hosts", "-i", "hosts.yml"]);
    out.code(0).stdout_has("3 hosts of 3");
    t.run_in("lab", &["hosts", "-i", "missing.yml"])
        .code(3)
        .stderr_has("-i missing.yml: cannot read it");
}

#[test]
fn the_project_files_inventory_is_the_default_and_i_replaces_it() {
    let t = Test::new()
        .file(
            "ordo.yaml",
            "kind: Project\nversion: v1\nmetadata: {name: lab}\nspec:\n  manifests: [manifests/]\n  inventory: [hosts.yml]\n",
        )
        .file("manifests/site.yaml", &trace_doc("local", "", ""))
        .file("hosts.yml", ANSIBLE)
        .file("other.yml", "all:\n  hosts:\n    other-1: {}\n");
    let report = hosts_json(&t, &[]);
    assert_eq!(names(&report), ["solo", "lb-1", "lb-2"]);
    // From a directory below the root too.
    let out = t.run_in("manifests", &["hosts", "--limit", "lb"]);
    out.code(0).stdout_has("2 hosts of 3");
    let report = hosts_json(&t, &["-i", "other.yml"]);
    assert_eq!(names(&report), ["other-1"]);
}

#[test]
fn an_ansible_inventory_among_the_manifests_is_one_error_saying_to_pass_it_with_i() {
    // newuser2 finding 2: a second inventory beside the one given with `-i` was loaded as a
    // manifest and gave four errors (`unknown key all`, missing kind, version, name).
    let t = Test::new()
        .file("ansible.yaml", "all:\n  hosts:\n    db-1:\n")
        .file("ansible2.yaml", "all:\n  hosts:\n    web-1:\n");
    let out = t.run(&["plan", "-i", "ansible2.yaml"]);
    out.code(3)
        .stderr_has("this looks like an Ansible inventory (top-level `all:`), not a manifest")
        .stderr_has("ansible.yaml:1:1")
        .stderr_has("pass an inventory with `-i FILE`")
        .stderr_lacks("unknown key `all`")
        .stderr_lacks("missing required field");
    // The one error and the summary line.
    out.stderr_has("1 input error; nothing was run");
    // `ordo hosts` shows the hosts of the inventory given, and says the other is not read.
    t.run(&["hosts", "-i", "ansible2.yaml"])
        .code(0)
        .stdout_has("web-1")
        .stderr_has("warning: this looks like an Ansible inventory")
        .stderr_has("ansible.yaml:1:1")
        .stderr_has("not read: an Ansible inventory is read only when given with `-i`");
}

#[test]
fn hosts_is_stopped_only_by_errors_that_change_the_hosts() {
    // newuser17 finding 9: a half-written manifest in the directory hid the hosts.
    let t = Test::new()
        .file("inv.yaml", &LAB.replace("address: 10.1.0.5", "address: 127.0.0.1, port: 1"))
        .manifest(
            "broken.yaml",
            "kind: Thing\nversion: v1\nmetadata: {name: a, hosts: [nope], serial: 0}\nspec: {x: !HostVar dirr}\nbogus: 1\n---\nkind: Thing\nversion: v1\nmetadata: {nmae: b}\n",
        )
        .file("notes/garbage.yaml", "key: [unclosed\n  - :\n");
    for check in [false, true] {
        let args: &[&str] = if check {
            &["hosts", "--check", "--limit", "web-1"]
        } else {
            &["hosts"]
        };
        let out = t.run(args);
        if check {
            // Nothing listens on port 1: exit 1, but the host was tried.
            out.code(1)
                .stdout_has("web-1")
                .stdout_has("0 of 1 host reachable");
        } else {
            out.code(0).stdout_has("3 hosts of 3");
        }
        out.stderr_has("warning: 4 input errors in manifests that are not inventories or values")
            .stderr_has("`ordo validate` shows them")
            .stderr_has("warning: invalid YAML")
            .stderr_has("notes/garbage.yaml:")
            .stderr_has("this file is not read")
            .stderr_lacks("nothing was run");
    }
    // `validate` still reports every one of them.
    t.run(&["validate"])
        .code(3)
        .stderr_has("unknown key `bogus`");

    // An error in an Inventory or Values document, or an environment nobody declares, stops it.
    let bad = Test::new()
        .file(
            "inv.yaml",
            &LAB.replace("address: 10.1.0.5", "adress: 10.1.0.5"),
        )
        .manifest("broken.yaml", "kind: Thing\nversion: v1\nmetadata: {}\n");
    bad.run(&["hosts"])
        .code(3)
        .stderr_has("inv.yaml:7:")
        .stderr_has("did you mean `address`")
        .stderr_lacks("metadata.name");
    let values = Test::new().file("inv.yaml", LAB).manifest(
        "values.yaml",
        "kind: Values\nversion: v1\nmetadata: {name: v}\nspec: {a: 1}\nextra: 2\n",
    );
    values.run(&["hosts"]).code(3).stderr_has("values.yaml:5:1");
    values.run(&["hosts", "-e", "prdo"]).code(3);
    // A file that declares an inventory but is not YAML stops it too.
    let broken_inventory = Test::new().file(
        "inv.yaml",
        "kind: Inventory\nversion: v1\nmetadata: {name: x}\nspec: {hosts: {a: [}\n",
    );
    broken_inventory
        .run(&["hosts"])
        .code(3)
        .stderr_has("inv.yaml:4:");
}

#[test]
fn ansible_become_key_file_and_ssh_args_map_onto_ordo_settings() {
    // newuser2 finding 3: these made a real Ansible inventory unusable.
    let t = Test::new().file(
        "hosts.yml",
        "all:\n  vars:\n    ansible_connection: ssh\n    ansible_ssh_common_args: -o 'ProxyCommand=ssh -W %h:%p bastion'\n  hosts:\n    db-1:\n      ansible_become: true\n      ansible_become_user: postgres\n      ansible_ssh_private_key_file: keys/db\n      ansible_ssh_extra_args: -o StrictHostKeyChecking=no\n",
    );
    let report = hosts_json(&t, &["-i", "hosts.yml"]);
    let db = host(&report, "db-1");
    assert_eq!(db["become"], true);
    assert_eq!(db["become_user"], "postgres");
    assert_eq!(db["identity_file"], "keys/db");
    assert_eq!(
        db["ssh_options"],
        json!(["-o", "StrictHostKeyChecking=no"]),
        "the host's own args win over all.vars"
    );
    let both = Test::new().file(
        "hosts.yml",
        "all:\n  hosts:\n    db-1:\n      ansible_ssh_extra_args: -v\n      ansible_ssh_common_args: -o 'ProxyCommand=ssh -W %h:%p bastion'\n",
    );
    let report = hosts_json(&both, &["-i", "hosts.yml"]);
    assert_eq!(
        host(&report, "db-1")["ssh_options"],
        json!(["-o", "ProxyCommand=ssh -W %h:%p bastion", "-v"])
    );
}

#[test]
fn an_ansible_connection_other_than_ssh_and_unbalanced_ssh_args_are_input_errors() {
    let t = Test::new().file(
        "hosts.yml",
        "all:\n  hosts:\n    db-1:\n      ansible_connection: local\n      ansible_ssh_common_args: -o 'ProxyCommand=ssh\n",
    );
    t.run(&["hosts", "-i", "hosts.yml"])
        .code(3)
        .stderr_has("`ansible_connection: local` is not supported by ordo")
        .stderr_has("hosts.yml:4:27")
        .stderr_has("`ansible_ssh_common_args`: unbalanced quotes")
        .stderr_has("hosts.yml:5:32");
}

#[test]
fn an_ini_inventory_is_an_input_error_saying_how_to_convert_it() {
    let ini = "[web]\nweb-1 ansible_host=10.0.0.1\n\n[db]\ndb-1\n";
    let t = Test::new().file("hosts.ini", ini).file("hosts", ini);
    for file in ["hosts.ini", "hosts"] {
        let out = t.run(&["hosts", "-i", file]);
        out.code(3)
            .stderr_has("this looks like an INI inventory; ordo reads only YAML inventories")
            .stderr_has(&format!("{file}:1:1"))
            .stderr_has(&format!(
                "ansible-inventory -i {file} --list -y > hosts.yaml"
            ))
            .stderr_lacks("invalid YAML");
    }
}

#[test]
fn metadata_hosts_takes_one_pattern_as_a_string_and_refuses_tags_saying_so() {
    // newuser17: `hosts: web` as in an Ansible play; attack17 F10: a tag said "no pattern".
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .manifest("m.yaml", &trace_doc("m", "hosts: web", ""));
    // web-1 and web-2: two instances, not db-1's third.
    t.run(&["validate"]).code(0).stdout_has("apply runs 2 ");
    let t = Test::new()
        .trace()
        .file("inv.yaml", LAB)
        .manifest("m.yaml", &trace_doc("m", "hosts: [!HostVar tier]", ""));
    t.run(&["validate"])
        .code(3)
        .stderr_has("tags are not allowed in `metadata.hosts`")
        .stderr_has("m.yaml:")
        .stderr_lacks("lists no host pattern");
}

#[test]
fn hostvar_missing_on_several_hosts_says_hosts_have() {
    let t = Test::new().trace().file("inv.yaml", LAB).manifest(
        "m.yaml",
        &trace_doc("m", "hosts: [web]", "x: !HostVar root"),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("`!HostVar root`: host `web-2` of manifest `m` has no variable `root`");
    let t = Test::new().trace().file("inv.yaml", LAB).manifest(
        "m.yaml",
        &trace_doc("m", "hosts: [all]", "x: !HostVar root"),
    );
    t.run(&["validate"])
        .code(3)
        .stderr_has("hosts `web-2`, `db-1` of manifest `m` have no variable `root`");
}

#[test]
fn an_address_or_user_ssh_would_misread_is_an_input_error_shown_escaped() {
    // attack17 F10: `-oProxyCommand=...` or a newline reached ssh and the output raw.
    for (native, ansible, said) in [
        (
            "address: \"-oProxyCommand=touch x\"",
            "ansible_host: \"-oProxyCommand=touch x\"",
            "\"-oProxyCommand=touch x\" starts with `-`",
        ),
        (
            "address: \"h1\\nevil\"",
            "ansible_host: \"h1\\nevil\"",
            "\"h1\\nevil\" holds whitespace or control characters",
        ),
        (
            "user: \"-lroot\"",
            "ansible_user: \"-lroot\"",
            "`user` \"-lroot\" starts with `-`",
        ),
        (
            "user: \"a b\"",
            "ansible_user: \"a b\"",
            "\"a b\" holds whitespace",
        ),
    ] {
        let t = Test::new()
            .file(
                "inv.yaml",
                &format!("kind: Inventory\nversion: v1\nmetadata: {{name: x}}\nspec:\n  hosts:\n    h1: {{{native}}}\n"),
            )
            .file("hosts.yml", &format!("all:\n  hosts:\n    h1: {{{ansible}}}\n"));
        for args in [
            &["hosts", "--check"][..],
            &["hosts", "-i", "hosts.yml", "--check"],
        ] {
            let out = t.run(args);
            out.code(3).stderr_has(said).stderr_has("nothing was run");
            assert!(out.stdout.is_empty(), "{}", out.stdout);
            let where_ = if args.len() == 2 {
                "inv.yaml:6:"
            } else {
                "hosts.yml:3:"
            };
            out.stderr_has(where_);
        }
    }
}
