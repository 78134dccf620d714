//! The stdlib acting through the target (DESIGN.md §13, issue 17 part 2): handlers run on
//! simulated hosts (real sshd processes on 127.0.0.1, tests/common/sshd.rs), each with its
//! own directory as the host variable `root`, and use every file function, `shell::run`
//! (argv, string, env, cwd, stdin, timeout, `become` through a stand-in `sudo`),
//! `file::upload`/`download`, `local::*` and `host::facts`, under the same sandbox as on
//! the controller: `plan`'s read-only rules, permissions, `--deny`, secret masking, and a
//! host's `fsRoot` attacked with `..` and symlinks. The hosts are this machine, so their
//! files are checked here; a session on a host has `SSH_CONNECTION` set, which tells a
//! command on the host from one on the controller.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::sshd::{Lab, Sshd};
use common::{Test, processes_matching};

/// A YAML flow list of strings.
fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// The directory of host `name` (its `root` host variable; not made).
fn root_of(lab: &Lab, name: &str) -> PathBuf {
    lab.dir().join(format!("root-{name}"))
}

/// An inventory of the lab's hosts, each with `vars: {root: <its own directory>}` and
/// `extra` keys (`fsRoot: ...`, `become: true`), all in group `web`.
fn inventory(lab: &Lab, hosts: &[(&Sshd, &str)]) -> String {
    let mut doc =
        String::from("kind: Inventory\nversion: v1\nmetadata: {name: lab}\nspec:\n  hosts:\n");
    for (h, extra) in hosts {
        let reach = lab.reach(h);
        doc.push_str(&format!(
            "    {}: {{address: {}, port: {}, identityFile: \"{}\", sshOptions: {}, vars: {{root: \"{}\"}}{extra}}}\n",
            h.name,
            reach.address,
            reach.port,
            reach.identity_file.display(),
            list(&reach.ssh_options),
            root_of(lab, &h.name).display()
        ));
    }
    doc
}

/// A project with `inventory` and one manifest `m` of kind `Remote` on every host, served
/// by a handler with `permissions` and the body of `apply(m)` (`r` is the host's root).
fn project(inventory: &str, permissions: &str, apply: &str) -> Test {
    Test::new()
        .manifest("inventory.yaml", inventory)
        .manifest(
            "m.yaml",
            "kind: Remote\nversion: v1\nmetadata: {name: m, hosts: [\"*\"]}\nspec: {}\n",
        )
        .handler(
            "remote.rhai",
            &format!(
                "register(\"Remote\", \"^1\");\npermissions([{permissions}]);\n\
                 fn check_(ok, what) {{ if !ok {{ throw \"check failed: \" + what; }} }}\n\
                 fn apply(m) {{\n    let r = m.host.vars.root;\n{apply}\n}}\n"
            ),
        )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn every_file_function_acts_on_each_host() {
    let Some(lab) = Lab::new() else { return };
    let (web, db) = (lab.host("web", 10), lab.host("db", 10));
    let t = project(
        &inventory(&lab, &[(&web, ""), (&db, "")]),
        r#""file:read", "file:write""#,
        r#"
    let d = r + "/it's a $(touch pwned) dir";
    let f = d + "/-n \"quoted\"\nnewline.txt";
    check_(!file::exists(d), "absent at first");
    file::mkdir(d + "/sub/deeper");
    check_(file::is_dir(d + "/sub"), "is_dir");
    file::write(f, "hello " + m.host.name + "\n", #{ mode: "0640" });
    check_(file::read(f) == "hello " + m.host.name + "\n", "read");
    check_(file::mode(f) == "0640", "mode");
    file::append(f, "more\n");
    check_(file::size(f) == 12 + m.host.name.len(), "size");
    file::copy(f, d + "/copy.txt");
    file::chmod(d + "/copy.txt", "0600");
    check_(file::list(d) == ["-n \"quoted\"\nnewline.txt", "copy.txt", "sub"], "list " + file::list(d));
    file::write(r + "/list.txt", `${file::list(d)}`);
    file::write(r + "/sha.txt", file::sha256(f));
    check_(file::remove(d + "/copy.txt"), "removed");
    check_(!file::remove(d + "/copy.txt"), "removed twice");
    file::write(d + "/sub/deeper/leaf", "x");
    check_(file::remove_dir(d + "/sub"), "remove_dir");
    check_(!file::exists(d + "/sub"), "gone");
    try { file::read("relative.txt"); throw "a relative path was read"; }
    catch (e) { file::write(r + "/relative.txt", e.message); }
    try { file::read(d + "/none"); throw "a missing file was read"; }
    catch (e) { file::write(r + "/missing.txt", e.message); }
    "#,
    );
    let out = t.run(&["apply"]);
    out.code(0);
    for name in ["web", "db"] {
        let root = root_of(&lab, name);
        let dir = root.join("it's a $(touch pwned) dir");
        let f = dir.join("-n \"quoted\"\nnewline.txt");
        assert_eq!(
            read(&f),
            format!("hello {name}\nmore\n"),
            "each host has its own"
        );
        assert_eq!(mode(&f), 0o640);
        assert!(!dir.join("copy.txt").exists() && !dir.join("sub").exists());
        assert_eq!(
            read(&root.join("sha.txt")),
            ordo::stdlib::sha256_hex(format!("hello {name}\nmore\n").as_bytes())
        );
        let relative = read(&root.join("relative.txt"));
        assert!(
            relative.contains(&format!(
                "`file::read`: `relative.txt` on `{name}` is not an absolute path"
            )),
            "{relative}"
        );
        let missing = read(&root.join("missing.txt"));
        assert!(
            missing.contains(&format!("on `{name}` does not exist")),
            "{missing}"
        );
    }
    assert!(!Path::new("pwned").exists() && !t.exists("pwned"));
}

#[test]
fn shell_run_acts_on_the_host_and_local_run_on_the_controller() {
    let Some(lab) = Lab::new() else { return };
    let (web, db) = (lab.host("web", 10), lab.host("db", 10));
    let marker = format!("1000.{}42", std::process::id());
    let t = project(
        &inventory(&lab, &[(&web, ""), (&db, "")]),
        r#""shell", "file:read", "file:write""#,
        &format!(
            r#"
    file::mkdir(r + "/work dir");
    let hostile = ["a b", "it's", "\"q\"", "$(touch pwned)", "`id`", "line1\nline2", "-n", "", "*", "a;b|c&d"];
    let argv = ["printf", "%s|"];
    argv += hostile;
    let out = shell::run(argv);
    file::write(r + "/argv.txt", out.stdout);
    let s = shell::run("printf '%s,%s,%s,' \"$GREETING\" \"$PWD\" \"${{SSH_CONNECTION:+remote}}\"; cat; exit 3",
        #{{ env: #{{ GREETING: "hi 'there' $(x)" }}, cwd: r + "/work dir", stdin: "fed", check: false }});
    file::write(r + "/string.txt", s.stdout + "code=" + s.code);
    let l = local::run("printf '%s' \"${{SSH_CONNECTION:+remote}}\"; printf controller");
    file::write(r + "/local.txt", l.stdout);
    try {{ shell::run("echo broken >&2; exit 4"); }}
    catch (e) {{ file::write(r + "/failed.txt", e.message + " code=" + e.code); }}
    let started = time::now();
    try {{ shell::run("sleep {marker} & sleep {marker}; wait", #{{ timeout: 1 }}); }}
    catch (e) {{ file::write(r + "/timeout.txt", e.message + " after=" + (time::now() - started)); }}
    let big = shell::run("head -c 5000 /dev/zero | tr '\\0' x", #{{ max_output: 100 }});
    file::write(r + "/capped.txt", big.stdout.len() + " " + big.truncated);
    let f = host::facts();
    file::write(r + "/facts.txt", f.os + " " + f.arch + " " + f.distro + " " + (f.cpus >= 1));
    "#
        ),
    );
    let out = t.run(&["apply"]);
    out.code(0);
    let facts = ordo::target::facts::local();
    for name in ["web", "db"] {
        let root = root_of(&lab, name);
        assert_eq!(
            read(&root.join("argv.txt")),
            "a b|it's|\"q\"|$(touch pwned)|`id`|line1\nline2|-n||*|a;b|c&d|"
        );
        assert_eq!(
            read(&root.join("string.txt")),
            format!(
                "hi 'there' $(x),{},remote,fedcode=3",
                root.join("work dir").display()
            )
        );
        assert_eq!(read(&root.join("local.txt")), "controller");
        let failed = read(&root.join("failed.txt"));
        assert!(
            failed.contains("command `echo broken >&2; exit 4` exited with code 4: broken")
                && failed.ends_with("code=4"),
            "{failed}"
        );
        let timeout = read(&root.join("timeout.txt"));
        assert!(
            timeout.contains("timed out after 1 s and was killed"),
            "{timeout}"
        );
        assert_eq!(read(&root.join("capped.txt")), "100 true");
        assert_eq!(
            read(&root.join("facts.txt")),
            format!("{} {} {} true", facts.os, facts.arch, facts.distro)
        );
    }
    assert!(!t.exists("pwned"));
    // The timeout killed the remote process group: no `sleep` of it survives.
    let left = common::processes_left(&format!("^sleep {marker}"), Duration::from_secs(5));
    assert_eq!(left.trim(), "", "a remote sleep survived its timeout");
}

#[test]
fn become_runs_through_sudo_n_by_host_default_and_per_call() {
    let Some(lab) = Lab::new() else { return };
    let bin = lab.with_bin();
    let (web, db) = (
        lab.host_with("web", 10, &bin),
        lab.host_with("db", 10, &bin),
    );
    let t = project(
        &inventory(
            &lab,
            &[
                (&web, ", become: true, becomeUser: app"),
                (&db, ", become: false"),
            ],
        ),
        r#""shell", "file:read", "file:write""#,
        r#"
    let who = "printf %s ${ORDO_BECAME:-nobody}";
    let line = shell::run(who).stdout;
    line += " " + shell::run(who, #{ become: true }).stdout;
    line += " " + shell::run(who, #{ become_user: "deploy" }).stdout;
    line += " " + shell::run(who, #{ become: false }).stdout;
    line += " " + shell::run("printf %s $K", #{ become: true, env: #{ K: "kept" } }).stdout;
    try { shell::run("true", #{ become_user: "needs-password" }); line += " ran"; }
    catch (e) { file::write(r + "/password.txt", e.message); }
    file::write(r + "/become.txt", line);
    "#,
    );
    let out = t.run(&["apply"]);
    out.code(0);
    assert_eq!(
        read(&root_of(&lab, "web").join("become.txt")),
        "app app deploy nobody kept"
    );
    assert_eq!(
        read(&root_of(&lab, "db").join("become.txt")),
        "nobody root deploy nobody kept"
    );
    for name in ["web", "db"] {
        let message = read(&root_of(&lab, name).join("password.txt"));
        assert!(
            message.contains(&format!(
                "`sudo -n` on `{name}` wants a password to run as `needs-password`"
            )),
            "{message}"
        );
    }
}

#[test]
fn upload_download_and_local_files_cross_between_controller_and_host() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let remote_root = root_of(&lab, "web");
    std::fs::create_dir_all(&remote_root).unwrap();
    // The host is confined to its root; the controller's files lie outside it, so a call
    // that acted on the wrong side would be refused.
    let t = project(
        &inventory(
            &lab,
            &[(&web, &format!(", fsRoot: \"{}\"", remote_root.display()))],
        ),
        r#""file:read", "file:write""#,
        r#"
    let here = m.dir + "/controller";
    local::write(here + "/built.conf", "port = 80\n", #{ mode: "0751" });
    check_(local::read(here + "/built.conf") == "port = 80\n", "local read");
    file::upload(here + "/built.conf", r + "/deployed/app.conf");
    check_(file::read(r + "/deployed/app.conf") == "port = 80\n", "uploaded");
    file::upload(here + "/built.conf", r + "/deployed/app.conf");
    file::write(r + "/from-host.txt", "made on " + m.host.name, #{ mode: "0604" });
    file::download(r + "/from-host.txt", here + "/fetched.txt");
    try { file::read(here + "/built.conf"); throw "the controller's file was read on the host"; }
    catch (e) { local::write(here + "/refused.txt", e.message); }
    "#,
    );
    let out = t.run(&["apply"]);
    out.code(0);
    let deployed = remote_root.join("deployed/app.conf");
    assert_eq!(read(&deployed), "port = 80\n");
    assert_eq!(mode(&deployed), 0o751, "the upload keeps the mode");
    let fetched = t.path().join("controller/fetched.txt");
    assert_eq!(read(&fetched), "made on web");
    assert_eq!(mode(&fetched), 0o604, "the download keeps the mode");
    assert!(
        t.read("controller/refused.txt")
            .contains("is outside the host's fsRoot"),
        "{}",
        t.read("controller/refused.txt")
    );
}

#[test]
fn plan_is_read_only_on_a_host_and_permissions_apply() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let root = root_of(&lab, "web");
    std::fs::create_dir_all(&root).unwrap();
    let inv = inventory(&lab, &[(&web, "")]);
    let t = project(&inv, r#""shell", "file:read", "file:write""#, "").handler(
        "remote.rhai",
        r#"register("Remote", "^1");
permissions(["shell", "file:read", "file:write"]);
fn check(m) {
    let r = m.host.vars.root;
    let seen = shell::run("printf looked", #{ read_only: true }).stdout;
    let refused = [];
    try { file::write(r + "/planned.txt", "x"); } catch (e) { refused.push(e.message); }
    try { shell::run("touch " + r + "/planned-cmd"); } catch (e) { refused.push(e.message); }
    try { file::upload(m.dir + "/m.yaml", r + "/up.yaml"); } catch (e) { refused.push(e.message); }
    if refused.len() != 3 { throw "not refused: " + refused; }
    log::info("SEEN " + seen + " | " + refused[0] + " | " + refused[1]);
    false
}
fn apply(m) {}
"#,
    );
    let out = t.run(&["plan", "-v"]);
    out.code(0)
        .stderr_has("SEEN looked")
        .stderr_has("`file::write` changes things, and `plan` is read-only")
        .stderr_has("`shell::run` may change things, and `plan` is read-only");
    assert!(!root.join("planned.txt").exists() && !root.join("planned-cmd").exists());
    assert!(!root.join("up.yaml").exists());

    // An undeclared capability is refused before anything runs, on hosts as here.
    let t = project(&inv, r#""file:read""#, "    host::facts();");
    t.run(&["apply"])
        .code(3)
        .stderr_has("`host::facts` needs the `shell` permission");
    let t = project(&inv, r#""shell""#, r#"    local::run("true");"#);
    t.run(&["apply", "--deny", "shell"])
        .code(3)
        .stderr_has("`local::run` needs the `shell` permission, which this run denies");
    let t = project(
        &inv,
        r#""file:read""#,
        r#"    file::download(r + "/x", m.dir + "/x");"#,
    );
    t.run(&["apply"])
        .code(3)
        .stderr_has("`file::download` needs the `file:write` permission");
}

#[test]
fn a_secret_in_a_remote_command_and_its_output_is_masked() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let secret = "hunter2-remote-s3cret";
    let t = project(
        &inventory(&lab, &[(&web, "")]),
        r#""shell""#,
        r#"    shell::run("echo " + m.spec.pw + "; echo " + m.spec.pw + " >&2; exit 5");"#,
    )
    .manifest(
        "values.yaml",
        &format!(
            "kind: Values\nversion: v1\nmetadata: {{name: v}}\nspec:\n  values:\n  - {{valueName: pw, defaultValue: {secret}, secret: true}}\n"
        ),
    )
    .manifest(
        "m.yaml",
        "kind: Remote\nversion: v1\nmetadata: {name: m, hosts: [web]}\nspec: {pw: !Value pw}\n",
    );
    for args in [&["apply"][..], &["apply", "-o", "json"][..]] {
        let out = t.run(args);
        out.code(1);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains("exited with code 5"), "{all}");
        assert!(!all.contains("hunter2"), "the secret shows: {all}");
    }
}

#[test]
fn fs_root_refuses_dotdot_and_symlinks_out_of_it() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let root = root_of(&lab, "web");
    let outside = lab.dir().join("outside-web");
    std::fs::create_dir_all(root.join("inside")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "not yours").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
    std::os::unix::fs::symlink("inside", root.join("in")).unwrap();
    let t = project(
        &inventory(
            &lab,
            &[(&web, &format!(", fsRoot: \"{}\"", root.display()))],
        ),
        r#""shell", "file:read", "file:write""#,
        r#"
    let tries = [
        || file::read(r + "/../outside-web/secret"),
        || file::read(r + "/out/secret"),
        || file::write(r + "/out/planted", "x"),
        || file::write(r + "/inside/../../outside-web/planted", "x"),
        || file::copy(r + "/out/secret", r + "/inside/stolen"),
        || file::mkdir(r + "/out/made"),
        || file::remove_dir(r),
        || shell::run("pwd", #{ cwd: r + "/out" }),
    ];
    let refused = [];
    for f in tries { try { f.call(); refused.push("ALLOWED"); } catch (e) { refused.push(e.message); } }
    file::write(r + "/in/ok.txt", "inside through a link");
    check_(file::remove(r + "/out"), "the link itself is removed");
    file::write(r + "/refused.txt", refused.reduce(|s, x| s + x + "\n", ""));
    "#,
    );
    let out = t.run(&["apply"]);
    out.code(0);
    let refused = read(&root.join("refused.txt"));
    let lines: Vec<&str> = refused.lines().collect();
    assert_eq!(lines.len(), 8, "{refused}");
    for line in &lines[..6] {
        assert!(line.contains("is outside the host's fsRoot"), "{line}");
    }
    assert!(
        lines[6].contains("the host's fsRoot itself"),
        "{}",
        lines[6]
    );
    assert!(
        lines[7].contains("is outside the host's fsRoot"),
        "{}",
        lines[7]
    );
    assert_eq!(read(&root.join("inside/ok.txt")), "inside through a link");
    assert_eq!(read(&outside.join("secret")), "not yours");
    assert!(!outside.join("planted").exists() && !outside.join("made").exists());
    assert!(!root.join("inside/stolen").exists());
    assert!(!root.join("out").exists() && outside.exists());
}

#[test]
fn a_host_lost_during_a_call_is_unreachable_and_the_other_host_finishes() {
    let Some(lab) = Lab::new() else { return };
    let (web, db) = (lab.host("web", 10), lab.host("db", 10));
    let pid_file = lab.dir().join("sshd_web.pid");
    // On `web`, the handler kills that host's sshd and its connections from the
    // controller, then touches a file there: the call finds the host gone.
    let t = project(
        &inventory(&lab, &[(&web, ""), (&db, "")]),
        r#""shell", "file:read", "file:write""#,
        &format!(
            r#"
    if m.host.name == "web" {{
        local::run("pid=$(cat \"$PIDFILE\"); pkill -KILL -P \"$pid\"; kill \"$pid\"",
            #{{ env: #{{ PIDFILE: "{}" }} }});
    }}
    file::write(r + "/done.txt", "done");
    "#,
            pid_file.display()
        ),
    );
    let out = t.run(&["apply", "-o", "json"]);
    out.code(1);
    let report = out.json();
    let status = |name: &str| {
        report["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("m@web").as_deref(), Some("unreachable"), "{report}");
    assert_eq!(status("m@db").as_deref(), Some("changed"), "{report}");
    assert!(root_of(&lab, "db").join("done.txt").exists());
    assert!(!root_of(&lab, "web").join("done.txt").exists());
}

#[test]
fn become_on_the_controller_runs_through_sudo_n_too() {
    let Some(lab) = Lab::new() else { return };
    let path = format!(
        "{}:{}",
        lab.bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t = Test::new()
        .env("PATH", &path)
        .manifest(
            "m.yaml",
            "kind: Here\nversion: v1\nmetadata: {name: m}\nspec: {}\n",
        )
        .handler(
            "here.rhai",
            r#"register("Here", "^1");
permissions(["shell", "file:write"]);
fn apply(m) {
    let who = "printf %s ${ORDO_BECAME:-nobody},$K";
    let line = shell::run(who, #{ env: #{ K: "k1" } }).stdout;
    line += " " + local::run(who, #{ become: true, env: #{ K: "k2" } }).stdout;
    line += " " + shell::run(who, #{ become_user: "ops", env: #{ K: "k3" } }).stdout;
    try { shell::run("true", #{ become_user: "needs-password" }); } catch (e) { line += " " + e.message; }
    file::write(m.dir + "/become.txt", line);
}
"#,
        );
    t.run(&["apply"]).code(0);
    assert_eq!(
        t.read("become.txt"),
        "nobody,k1 root,k2 ops,k3 `shell::run`: `sudo -n` wants a password to run as `needs-password`: become never types one"
    );
}

#[test]
fn the_handler_call_s_timeout_kills_a_remote_command() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let marker = format!("1000.{}43", std::process::id());
    let t = project(
        &inventory(&lab, &[(&web, "")]),
        r#""shell""#,
        &format!(r#"    shell::run("sleep {marker}");"#),
    )
    .manifest(
        "m.yaml",
        "kind: Remote\nversion: v1\nmetadata: {name: m, hosts: [web], timeout: 1}\nspec: {}\n",
    );
    let started = Instant::now();
    t.run(&["apply"])
        .code(1)
        .stderr_has("the handler call reached its timeout");
    assert!(started.elapsed() < Duration::from_secs(20));
    let left = common::processes_left(&format!("^sleep {marker}"), Duration::from_secs(5));
    assert_eq!(
        left.trim(),
        "",
        "the remote sleep survived the call's timeout"
    );
}

/// `http::download` on a host: the controller fetches, the host gets the file (under its
/// `fsRoot`: a path outside it is refused, so the write really went through the host).
#[test]
fn http_download_on_a_host_writes_the_file_there() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let root = root_of(&lab, "web");
    std::fs::create_dir_all(&root).unwrap();
    let server = common::HttpServer::start();
    let t = project(
        &inventory(
            &lab,
            &[(&web, &format!(", fsRoot: \"{}\"", root.display()))],
        ),
        r#""http", "file:read", "file:write""#,
        &format!(
            r#"
    let got = http::download("{url}", r + "/dl/file.bin", #{{ mode: "0640" }});
    check_(got.size == 100000 && got.status == 200, "downloaded " + got);
    try {{ http::download("{url}", m.dir + "/escaped.bin"); throw "written outside fsRoot"; }}
    catch (e) {{ file::write(r + "/refused.txt", e.message); }}
    "#,
            url = server.url("/file.bin")
        ),
    );
    t.run(&["apply"]).code(0);
    let file = root.join("dl/file.bin");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 100_000);
    assert_eq!(mode(&file), 0o640);
    assert!(!t.exists("escaped.bin"));
    let refused = read(&root.join("refused.txt"));
    assert!(
        refused.contains("`http::download`:") && refused.contains("is outside the host's fsRoot"),
        "{refused}"
    );
}

/// Every process's command line on this machine (the controller and the hosts are one).
fn all_cmdlines() -> Vec<String> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .collect()
        })
        .unwrap_or_default()
}

/// A secret in `env`, in a file's content (and so its sha256), and the command itself go
/// on the session's stdin: no process of the controller or the host has them in its argv
/// (`/proc/*/cmdline` is readable by every user), with or without `become`. The script on
/// stdin also lifts the argv limit of one `ssh` argument: 1 MiB of arguments works.
#[test]
fn no_secret_rides_in_any_argv_and_a_megabyte_of_arguments_works() {
    use sha2::Digest;
    let Some(lab) = Lab::new() else { return };
    let bin = lab.with_bin();
    let (web, db) = (lab.host("web", 10), lab.host_with("db", 10, &bin));
    let secret = format!("TOPSECRET{}x", std::process::id());
    let hash: String = sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let t = project(
        &inventory(&lab, &[(&web, ""), (&db, ", become: true")]),
        r#""shell", "file:read", "file:write""#,
        &format!(
            r#"
    let secret = "{secret}";
    shell::run("sleep 2; printf %s \"$PW\" > \"$R/env.txt\"", #{{ env: #{{ PW: secret, R: r }} }});
    file::write(r + "/s.txt", secret);
    file::write(r + "/s.txt", secret);
    let big = "x";
    for i in 0..16 {{ big += big; }}
    let argv = ["sh", "-c", "printf %s \"$@\" | wc -c > \"$0\"", r + "/big.txt"];
    for i in 0..16 {{ argv.push(big); }}
    shell::run(argv);
    "#
        ),
    );
    for name in ["web", "db"] {
        std::fs::create_dir_all(root_of(&lab, name)).unwrap();
    }
    let mut child = t.spawn(&["apply"]);
    let mut seen = Vec::new();
    while child.try_wait().unwrap().is_none() {
        seen.extend(
            all_cmdlines()
                .into_iter()
                .filter(|c| c.contains(&secret) || c.contains(&hash)),
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(seen, Vec::<String>::new(), "a secret in a command line");
    for name in ["web", "db"] {
        let root = root_of(&lab, name);
        assert_eq!(read(&root.join("env.txt")), secret);
        assert_eq!(read(&root.join("s.txt")), secret);
        assert_eq!(read(&root.join("big.txt")).trim(), "1048576");
    }
}

/// What a command leaves in its process group on a host is stopped when it ends, as on the
/// controller; what the host's startup files print on stderr before the command starts is
/// not the command's stderr.
#[test]
fn a_remote_command_leaves_no_background_job_and_its_stderr_is_its_own() {
    let Some(lab) = Lab::new() else { return };
    let noise = lab.dir().join("noise.sh");
    std::fs::write(&noise, "echo NOISE-OUT; echo NOISE-ERR >&2\n").unwrap();
    let web = lab.host_with("web", 10, &format!("SetEnv BASH_ENV={}\n", noise.display()));
    let marker = format!("1021.{}7", std::process::id());
    let t = project(
        &inventory(&lab, &[(&web, "")]),
        r#""shell", "file:write""#,
        &format!(
            r#"
    shell::run("sleep {marker} >/dev/null 2>&1 </dev/null & echo started");
    file::write(r + "/err.txt", shell::run(["sh", "-c", "echo E >&2"]).stderr);
    "#
        ),
    );
    std::fs::create_dir_all(root_of(&lab, "web")).unwrap();
    t.run(&["apply"]).code(0);
    assert_eq!(read(&root_of(&lab, "web").join("err.txt")), "E\n");
    let left = common::processes_left(&format!("^sleep {marker}"), Duration::from_secs(3));
    assert_eq!(left.trim(), "", "the background job outlived its command");
}

/// A host whose sshd goes away while a command runs on it: the call is `unreachable` (with
/// ssh's reason), not `failed` with "exited with code 255"; a command's own 255 stays
/// `failed`.
#[test]
fn a_host_lost_mid_command_is_unreachable_not_exit_255() {
    let Some(lab) = Lab::new() else { return };
    let (web, db) = (lab.host("web", 10), lab.host("db", 10));
    let pid_file = lab.dir().join("sshd_web.pid");
    let marker = format!("7.{}9", std::process::id());
    let t = project(
        &inventory(&lab, &[(&web, ""), (&db, "")]),
        r#""shell""#,
        &format!(
            r#"
    if m.host.name == "web" {{ shell::run("sleep {marker}"); }}
    else {{ shell::run("exit 255"); }}
    "#
        ),
    );
    let child = t.spawn(&["apply", "-o", "json", "--keep-going"]);
    let until = Instant::now() + Duration::from_secs(30);
    while processes_matching(&format!("^sleep {marker}"))
        .trim()
        .is_empty()
    {
        assert!(Instant::now() < until, "the remote sleep never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = read(&pid_file).trim().to_string();
    let _ = std::process::Command::new("sh")
        .args(["-c", &format!("pkill -KILL -P {pid}; kill {pid}")])
        .status();
    let out = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = |name: &str| {
        report["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(entry("m@web")["status"], "unreachable", "{report}");
    assert!(!entry("m@web").to_string().contains("code 255"), "{report}");
    assert_eq!(entry("m@db")["status"], "failed", "{report}");
    let _ = std::process::Command::new("pkill")
        .args(["-f", &format!("^sleep {marker}")])
        .status();
}

/// `kill -9` of ordo mid-command: the master dies with it (a child with PDEATHSIG, no
/// `ControlPersist`), the session clients with the master, and the remote command (and a
/// job of it ignoring SIGTERM) with its session, through the watcher on its stdin.
#[test]
fn kill_9_of_ordo_leaves_no_master_no_session_and_no_remote_command() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let marker = format!("1001.{}3", std::process::id());
    let t = project(
        &inventory(&lab, &[(&web, "")]),
        r#""shell""#,
        &format!(
            r#"    shell::run(["sh", "-c", "sleep {marker} & trap '' TERM; sleep {marker}; wait"]);"#
        ),
    );
    let mut child = t.spawn(&["apply"]);
    let until = Instant::now() + Duration::from_secs(30);
    while processes_matching(&format!("^sleep {marker}"))
        .trim()
        .is_empty()
    {
        assert!(Instant::now() < until, "the remote sleep never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let ssh_of_lab = format!("^ssh .*{}", lab.dir().display());
    let left = || {
        format!(
            "{}{}",
            processes_matching(&format!("^sleep {marker}")),
            processes_matching(&ssh_of_lab)
        )
    };
    let until = Instant::now() + Duration::from_secs(5);
    while !left().trim().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(left().trim(), "", "left after kill -9 of ordo");
}

/// A host's `sshOptions` can set `ConnectTimeout` (ordo's defaults come after them): a
/// host that accepts TCP but never speaks is given up after 1 s, not ordo's 10.
#[test]
fn ssh_options_can_set_the_connect_timeout() {
    let Some(lab) = Lab::new() else { return };
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let web = lab.host("web", 10);
    let mut options = lab.reach(&web).ssh_options;
    options.extend(["-o".to_string(), "ConnectTimeout=1".to_string()]);
    let inventory = format!(
        "kind: Inventory\nversion: v1\nmetadata: {{name: lab}}\nspec:\n  hosts:\n    \
         silent: {{address: 127.0.0.1, port: {port}, sshOptions: {}}}\n",
        list(&options)
    );
    let t = Test::new().manifest("inventory.yaml", &inventory);
    let started = Instant::now();
    let out = t.run(&["hosts", "--check"]);
    out.stdout_has("unreachable");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
}

/// F2: on a host as on the controller, a FIFO is refused up front and a "regular" file
/// that would block (`/proc/kmsg`, where this user can open it) fails at once: neither is
/// waited on until the call's timeout.
#[test]
fn reading_a_fifo_or_a_file_that_would_block_fails_at_once_as_on_the_controller() {
    let Some(lab) = Lab::new() else { return };
    let web = lab.host("web", 10);
    let root = root_of(&lab, "web");
    std::fs::create_dir_all(&root).unwrap();
    let fifo = root.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let kmsg = std::fs::File::open("/proc/kmsg").is_ok();
    let mut apply = String::from(
        r#"    let p = `${r}/pipe`;
    for f in ["read", "sha256", "copy"] {
        let said = "";
        try {
            if f == "read" { file::read(p); }
            if f == "sha256" { file::sha256(p); }
            if f == "copy" { file::copy(p, `${r}/copied`); }
            said = "no error";
        } catch (e) { said = `${e}`; }
        check_(said.contains("not a regular file"), `${f}: ${said}`);
    }
"#,
    );
    if kmsg {
        apply.push_str(
            r#"    let said = "";
    try { file::read("/proc/kmsg"); said = "no error"; } catch (e) { said = `${e}`; }
    check_(said.contains("Resource temporarily unavailable"), `kmsg: ${said}`);
"#,
        );
    }
    let t = project(
        &inventory(&lab, &[(&web, "")]),
        r#""file:read", "file:write""#,
        &apply,
    )
    .manifest(
        "m.yaml",
        "kind: Remote\nversion: v1\nmetadata: {name: m, hosts: [web], timeout: 30}\nspec: {}\n",
    );
    let started = Instant::now();
    t.run(&["apply", "--no-state"]).code(0);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "waited on a blocking file: {:?}",
        started.elapsed()
    );
    if !kmsg {
        eprintln!("/proc/kmsg is not readable here: only the FIFO was tried");
    }
}
