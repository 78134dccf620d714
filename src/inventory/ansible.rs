//! Ansible YAML inventories given with `-i`: `all:` (and any other top-level group) with
//! `hosts`, `vars` and `children`, nested to any depth.
//!
//! `ansible_host`, `ansible_port`, `ansible_user`, `ansible_become`, `ansible_become_user` and
//! `ansible_ssh_private_key_file` become `address`, `port`, `user`, `become`, `becomeUser` and
//! `identityFile` at the level they are written (host, group, or `all` as `defaults`);
//! `ansible_ssh_common_args` and `ansible_ssh_extra_args` are split as a shell would into
//! `sshOptions`; `ansible_connection` may only be `ssh`, `ansible_become_method` only `sudo`.
//! The settings in [`IGNORED`] mean nothing to ordo (it needs no Python on the host, and runs
//! each command in one session anyway): each is a warning at its place, and dropped. Every
//! other `ansible_*` key is an input error naming it, never silently ignored (a password, say,
//! would change how ordo must connect); any other key is a variable. Booleans take Ansible's
//! spellings too (`yes`/`no`, `on`/`off`, `True`, `1`/`0`, any case).
//! A host or group listed in several places of one file is one host or group (as in
//! Ansible); the same variable given two values there is an error naming both.

use std::sync::Arc;

use indexmap::IndexMap;

use super::raw::{RawDefaults, RawGroup, RawHost, RawInventory, Reader, Settings, Spot, Vars};
use crate::diagnostic::did_you_mean;
use crate::manifest::{Mark, Node, SourceFile, Value};

const GROUP_KEYS: &[&str] = &["hosts", "vars", "children"];
const MAPPED: &[&str] = &[
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_become",
    "ansible_become_user",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_connection",
    "ansible_become_method",
];

/// Ansible settings nearly every real inventory has that change nothing for ordo: a warning
/// each, then ignored.
pub(super) const IGNORED: &[&str] = &[
    "ansible_python_interpreter",
    "ansible_pipelining",
    "ansible_ssh_pipelining",
    "ansible_ssh_transfer_method",
    "ansible_scp_if_ssh",
];

/// Ansible's boolean: a YAML boolean, `1`/`0`, or a string Ansible reads as one
/// (`yes`/`no`, `on`/`off`, `true`/`false`, `y`/`n`, `t`/`f`, any case).
fn ansible_bool(node: &Node) -> Option<bool> {
    match &node.value {
        Value::Bool(b) => Some(*b),
        Value::Int(1) => Some(true),
        Value::Int(0) => Some(false),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" | "y" | "t" | "1" => Some(true),
            "no" | "off" | "false" | "n" | "f" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Reads the documents of one Ansible inventory file into `raw`.
pub(super) fn read(file: &Arc<SourceFile>, roots: &[Node], raw: &mut RawInventory) {
    let mut file_reader = FileReader {
        r: Reader {
            file,
            errors: &mut raw.errors,
        },
        hosts: IndexMap::new(),
        groups: IndexMap::new(),
        defaults: RawDefaults {
            settings: Settings::default(),
            vars: Vars::new(),
        },
    };
    for root in roots {
        if !matches!(root.value, Value::Map(_)) {
            file_reader.r.wrong_type(
                root,
                "an Ansible inventory",
                "a mapping of groups (`all:` with `hosts`, `vars`, `children`)",
            );
            continue;
        }
        for e in file_reader.r.entries(root, "an Ansible inventory") {
            file_reader.group(&e.key, e.key_mark, &e.value);
        }
    }
    let FileReader {
        hosts,
        groups,
        defaults,
        ..
    } = file_reader;
    raw.hosts.extend(hosts.into_values());
    raw.groups.extend(groups.into_values());
    raw.defaults.push(defaults);
}

struct FileReader<'a> {
    r: Reader<'a>,
    hosts: IndexMap<String, RawHost>,
    groups: IndexMap<String, RawGroup>,
    /// `all.vars`.
    defaults: RawDefaults,
}

impl FileReader<'_> {
    /// One group (`all` included) and, recursively, its children.
    fn group(&mut self, name: &str, key_mark: Mark, node: &Node) {
        let all = name == "all";
        if !matches!(node.value, Value::Map(_) | Value::Null) {
            self.r.wrong_type(
                node,
                "an Ansible group",
                "a mapping with `hosts`, `vars`, `children`",
            );
            return;
        }
        self.r.unknown_keys(node, GROUP_KEYS, "an Ansible group");
        if !all && !self.groups.contains_key(name) {
            self.groups.insert(
                name.to_string(),
                RawGroup {
                    name: name.to_string(),
                    at: self.r.at(key_mark).with_width(name.chars().count()),
                    hosts: Vec::new(),
                    children: Vec::new(),
                    settings: Settings::default(),
                    vars: Vars::new(),
                },
            );
        }
        if let Some(hosts) = node.get("hosts") {
            for e in self.r.entries(hosts, "hosts") {
                self.host(&e.key, e.key_mark, &e.value);
                if let Some(g) = self.groups.get_mut(name).filter(|_| !all) {
                    g.hosts.push(Spot {
                        value: e.key.clone(),
                        at: self.r.at(e.key_mark).with_width(e.key.chars().count()),
                    });
                }
            }
        }
        if let Some(vars) = node.get("vars") {
            let (mut settings, mut vars_out) = if all {
                (
                    std::mem::take(&mut self.defaults.settings),
                    std::mem::take(&mut self.defaults.vars),
                )
            } else {
                let g = self.groups.get_mut(name);
                g.map(|g| (std::mem::take(&mut g.settings), std::mem::take(&mut g.vars)))
                    .unwrap_or_default()
            };
            self.vars(vars, &mut settings, &mut vars_out);
            if all {
                self.defaults.settings = settings;
                self.defaults.vars = vars_out;
            } else if let Some(g) = self.groups.get_mut(name) {
                g.settings = settings;
                g.vars = vars_out;
            }
        }
        if let Some(children) = node.get("children") {
            for e in self.r.entries(children, "children") {
                if let Some(g) = self.groups.get_mut(name).filter(|_| !all) {
                    g.children.push(Spot {
                        value: e.key.clone(),
                        at: self.r.at(e.key_mark).with_width(e.key.chars().count()),
                    });
                }
                self.group(&e.key, e.key_mark, &e.value);
            }
        }
    }

    /// A host entry under some group's `hosts`: null, or its variables.
    fn host(&mut self, name: &str, key_mark: Mark, node: &Node) {
        let (mut settings, mut vars) = match self.hosts.get_mut(name) {
            Some(h) => (std::mem::take(&mut h.settings), std::mem::take(&mut h.vars)),
            None => (Settings::default(), Vars::new()),
        };
        self.vars(node, &mut settings, &mut vars);
        let at = self.r.at(key_mark).with_width(name.chars().count());
        let host = self
            .hosts
            .entry(name.to_string())
            .or_insert_with(|| RawHost {
                name: name.to_string(),
                at,
                settings: Settings::default(),
                vars: Vars::new(),
            });
        host.settings = settings;
        host.vars = vars;
    }

    /// A mapping of Ansible variables: the mapped `ansible_*` keys become settings,
    /// other `ansible_*` keys are errors, the rest are variables.
    fn vars(&mut self, node: &Node, settings: &mut Settings, vars: &mut Vars) {
        for e in self.r.entries(node, "vars") {
            let key = e.key.as_str();
            if !key.starts_with("ansible_") {
                self.r.var(key, e.key_mark, &e.value, vars);
                continue;
            }
            let at = self.r.at(e.value.mark);
            let already = match key {
                "ansible_host" => settings.address.as_ref().map(|s| s.at.clone()),
                "ansible_port" => settings.port.as_ref().map(|s| s.at.clone()),
                "ansible_user" => settings.user.as_ref().map(|s| s.at.clone()),
                "ansible_become" => settings.r#become.as_ref().map(|s| s.at.clone()),
                "ansible_become_user" => settings.become_user.as_ref().map(|s| s.at.clone()),
                "ansible_ssh_private_key_file" => {
                    settings.identity_file.as_ref().map(|s| s.at.clone())
                }
                _ => None,
            };
            if let Some(first) = already {
                self.r.errors.push(
                    crate::diagnostic::Diagnostic::error(format!("`{key}` is defined twice"))
                        .at(self.r.at(e.key_mark).with_width(key.chars().count()))
                        .related(first, "first defined here"),
                );
                continue;
            }
            match key {
                "ansible_host" => {
                    settings.address = self
                        .r
                        .ssh_word(&e.value, key)
                        .map(|value| Spot { value, at })
                }
                "ansible_port" => {
                    settings.port = self.r.port(&e.value, key).map(|value| Spot { value, at })
                }
                "ansible_user" => {
                    settings.user = self
                        .r
                        .ssh_word(&e.value, key)
                        .map(|value| Spot { value, at })
                }
                "ansible_become" => match ansible_bool(&e.value) {
                    Some(value) => settings.r#become = Some(Spot { value, at }),
                    None => self.r.wrong_type(
                        &e.value,
                        key,
                        "a boolean (`true`/`false`, `yes`/`no`, `on`/`off`)",
                    ),
                },
                "ansible_become_method" => {
                    if let Some(text) = self.r.string(&e.value, key)
                        && text != "sudo"
                    {
                        self.r.error_help(
                            e.value.mark,
                            text.chars().count(),
                            format!("`ansible_become_method: {text}` is not supported by ordo"),
                            Some("ordo becomes another user with `sudo -n` only; remove the setting or set it to `sudo`".into()),
                        );
                    }
                }
                ignored if IGNORED.contains(&ignored) => {
                    self.r.errors.push(
                        crate::diagnostic::Diagnostic::warning(format!(
                            "Ansible setting `{key}` ignored: ordo does not use it"
                        ))
                        .at(self.r.at(e.key_mark).with_width(key.chars().count())),
                    );
                }
                "ansible_become_user" => {
                    settings.become_user =
                        self.r.string(&e.value, key).map(|value| Spot { value, at })
                }
                "ansible_ssh_private_key_file" => {
                    settings.identity_file =
                        self.r.string(&e.value, key).map(|value| Spot { value, at })
                }
                "ansible_ssh_common_args" | "ansible_ssh_extra_args" => {
                    let Some(text) = self.r.string(&e.value, key) else {
                        continue;
                    };
                    let Some(words) = shlex::split(&text) else {
                        self.r.error(
                            e.value.mark,
                            text.chars().count(),
                            format!("`{key}`: unbalanced quotes or a trailing `\\` in `{text}`"),
                        );
                        continue;
                    };
                    // Both keys at one level add up, common first (as `ssh` is given them).
                    match settings.ssh_options.as_mut() {
                        Some(options) if key == "ansible_ssh_extra_args" => {
                            options.value.extend(words)
                        }
                        Some(options) => {
                            let extra = std::mem::replace(&mut options.value, words);
                            options.value.extend(extra);
                        }
                        None => settings.ssh_options = Some(Spot { value: words, at }),
                    }
                }
                "ansible_connection" => {
                    if let Some(text) = self.r.string(&e.value, key)
                        && text != "ssh"
                    {
                        self.r.error_help(
                            e.value.mark,
                            text.chars().count(),
                            format!("`ansible_connection: {text}` is not supported by ordo"),
                            Some("ordo connects over `ssh` only; remove the setting or set it to `ssh`".into()),
                        );
                    }
                }
                password if password.contains("pass") => {
                    self.r.error_help(
                        e.key_mark,
                        key.chars().count(),
                        format!("Ansible setting `{password}` is not supported by ordo"),
                        Some("ordo never sends a password: log in with a key (from your agent or `ansible_ssh_private_key_file`) and give the login user passwordless `sudo`".into()),
                    );
                }
                _ => {
                    let hint = did_you_mean(key, MAPPED.iter().copied())
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    self.r.error_help(
                        e.key_mark,
                        key.chars().count(),
                        format!("Ansible setting `{key}` is not supported by ordo{hint}"),
                        Some(
                            "ordo maps `ansible_host`, `ansible_port`, `ansible_user`, `ansible_become`, `ansible_become_user`, `ansible_ssh_private_key_file`, `ansible_ssh_common_args`, `ansible_ssh_extra_args`, `ansible_connection: ssh` and `ansible_become_method: sudo`, and ignores `ansible_python_interpreter`, `ansible_pipelining`, `ansible_ssh_pipelining`, `ansible_ssh_transfer_method` and `ansible_scp_if_ssh`; for anything else write a `kind: Inventory` document (or keep the setting in ~/.ssh/config)"
                                .into(),
                        ),
                    );
                }
            }
        }
    }
}
