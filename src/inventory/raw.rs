//! The inventory as written, before resolution: every host, group and `defaults` block of
//! every source with where it is written, and the reader both formats (native documents and
//! Ansible YAML) share to turn YAML nodes into them, reporting each problem at its place.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::manifest::{Location, Mark, Node, SourceFile, Value};

/// A value and where it is written.
#[derive(Clone, Debug)]
pub(super) struct Spot<T> {
    pub(super) value: T,
    pub(super) at: Location,
}

/// Connection settings of one level (host, group, defaults); `None`: not set there.
#[derive(Clone, Debug, Default)]
pub(super) struct Settings {
    pub(super) address: Option<Spot<String>>,
    pub(super) port: Option<Spot<u16>>,
    pub(super) user: Option<Spot<String>>,
    pub(super) identity_file: Option<Spot<String>>,
    pub(super) ssh_options: Option<Spot<Vec<String>>>,
    pub(super) r#become: Option<Spot<bool>>,
    pub(super) become_user: Option<Spot<String>>,
    pub(super) fs_root: Option<Spot<String>>,
}

/// Variables of one level, by name, in written order.
pub(super) type Vars = IndexMap<String, Spot<Node>>;

/// A host as written in one source.
#[derive(Clone, Debug)]
pub(super) struct RawHost {
    pub(super) name: String,
    pub(super) at: Location,
    pub(super) settings: Settings,
    pub(super) vars: Vars,
}

/// A group as written in one source: member patterns, child group names, variables.
#[derive(Clone, Debug)]
pub(super) struct RawGroup {
    pub(super) name: String,
    pub(super) at: Location,
    /// Host names or globs.
    pub(super) hosts: Vec<Spot<String>>,
    pub(super) children: Vec<Spot<String>>,
    /// Only an Ansible inventory sets connection keys on a group (`ansible_user` in vars).
    pub(super) settings: Settings,
    pub(super) vars: Vars,
}

/// `defaults` of one native document, or `all.vars` of an Ansible inventory.
#[derive(Clone, Debug)]
pub(super) struct RawDefaults {
    pub(super) settings: Settings,
    pub(super) vars: Vars,
}

/// Every inventory source of the run, as written, plus the problems found reading them.
#[derive(Debug, Default)]
pub struct RawInventory {
    pub(super) hosts: Vec<RawHost>,
    pub(super) groups: Vec<RawGroup>,
    pub(super) defaults: Vec<RawDefaults>,
    /// Input errors found while reading (each with its place).
    pub errors: Vec<Diagnostic>,
    /// What stops nothing but is worth saying: an Ansible setting ordo ignores (each with
    /// its place). The caller shows them.
    pub warnings: Vec<Diagnostic>,
    /// Every environment an inventory document names, with where (`-e` is checked against
    /// them).
    pub environments: Vec<(String, Location)>,
}

/// The keys of a host (and of `defaults`) in a native inventory.
pub(super) const HOST_KEYS: &[&str] = &[
    "address",
    "port",
    "user",
    "identityFile",
    "sshOptions",
    "become",
    "becomeUser",
    "fsRoot",
    "vars",
];

/// Turns YAML nodes of one file into inventory parts, collecting errors at their places.
pub(super) struct Reader<'a> {
    pub(super) file: &'a Arc<SourceFile>,
    pub(super) errors: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    pub(super) fn at(&self, mark: Mark) -> Location {
        Location::new(self.file, mark)
    }

    pub(super) fn error(&mut self, mark: Mark, width: usize, message: String) {
        self.error_help(mark, width, message, None);
    }

    pub(super) fn error_help(
        &mut self,
        mark: Mark,
        width: usize,
        message: String,
        help: Option<String>,
    ) {
        self.errors.push(
            Diagnostic::error(message)
                .at(self.at(mark).with_width(width))
                .help_opt(help),
        );
    }

    pub(super) fn wrong_type(&mut self, node: &Node, field: &str, expected: &str) {
        self.error(
            node.mark,
            1,
            format!("`{field}` must be {expected}, not {}", node.type_name()),
        );
    }

    /// Reports every key of `node` not in `allowed`, with a "did you mean".
    pub(super) fn unknown_keys(&mut self, node: &Node, allowed: &[&str], section: &str) {
        let Value::Map(entries) = &node.value else {
            return;
        };
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let hint = did_you_mean(&e.key, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                let help = format!("allowed here: {}", allowed.join(", "));
                self.error_help(
                    e.key_mark,
                    e.key.chars().count(),
                    format!("unknown key `{}` in {section}{hint}", e.key),
                    Some(help),
                );
            }
        }
    }

    /// The entries of a mapping node (null is an empty mapping); anything else is an error.
    pub(super) fn entries<'n>(
        &mut self,
        node: &'n Node,
        field: &str,
    ) -> &'n [crate::manifest::Entry] {
        match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => {
                self.wrong_type(node, field, "a mapping");
                &[]
            }
        }
    }

    /// A string `ssh` gets as an argument on its own (`address`, `user`): one that starts
    /// with `-` (ssh would read an option) or holds whitespace or control characters (a
    /// newline) is an input error here, shown escaped, never passed on.
    pub(super) fn ssh_word(&mut self, node: &Node, field: &str) -> Option<String> {
        let text = self.string(node, field)?;
        let bad = if text.starts_with('-') {
            Some("starts with `-` (ssh would read it as an option)")
        } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("holds whitespace or control characters")
        } else {
            None
        };
        match bad {
            None => Some(text),
            Some(why) => {
                let shown: String = text.chars().flat_map(char::escape_debug).collect();
                self.error(
                    node.mark,
                    1,
                    format!("`{field}` \"{shown}\" {why}: not a host address or login name"),
                );
                None
            }
        }
    }

    pub(super) fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.value {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => {
                self.wrong_type(node, field, "a non-empty string");
                None
            }
        }
    }

    /// A list of strings (null: empty).
    pub(super) fn strings(&mut self, node: &Node, field: &str) -> Vec<Spot<String>> {
        match &node.value {
            Value::Null => Vec::new(),
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| {
                    let value = self.string(item, field)?;
                    Some(Spot {
                        at: self.at(item.mark).with_width(value.chars().count()),
                        value,
                    })
                })
                .collect(),
            _ => {
                self.wrong_type(node, field, "a list of strings");
                Vec::new()
            }
        }
    }

    /// A TCP port: a whole number from 1 to 65535 (a string of digits too, as Ansible
    /// inventories often quote it).
    pub(super) fn port(&mut self, node: &Node, field: &str) -> Option<u16> {
        let number = match &node.value {
            Value::Int(i) => Some(*i),
            Value::String(s) => s.parse::<i64>().ok(),
            _ => None,
        };
        match number
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&p| p > 0)
        {
            Some(p) => Some(p),
            None => {
                self.error(
                    node.mark,
                    1,
                    format!("`{field}` must be a port number from 1 to 65535"),
                );
                None
            }
        }
    }

    pub(super) fn bool(&mut self, node: &Node, field: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, field, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    /// A `vars` mapping: any data, but no tags (inventory variables are data; `!Value` and
    /// friends are resolved in manifests, not here).
    pub(super) fn vars(&mut self, node: &Node, field: &str, out: &mut Vars) {
        for e in self.entries(node, field) {
            self.var(&e.key, e.key_mark, &e.value, out);
        }
    }

    /// One variable; a second definition of the same name at one level is an error.
    pub(super) fn var(&mut self, name: &str, key_mark: Mark, value: &Node, out: &mut Vars) {
        let mut tagged = None;
        let _ = value.try_walk(&mut |n: &Node| match &n.value {
            Value::Tagged(t) => {
                tagged = Some((t.tag.clone(), n.mark));
                Err(())
            }
            _ => Ok(()),
        });
        if let Some((tag, mark)) = tagged {
            self.error_help(
                mark,
                tag.chars().count(),
                format!("tag `{tag}` in inventory variable `{name}`: inventory variables are plain data, tags are not resolved here"),
                Some("write the value itself, or read it in the manifest with `!Value`".into()),
            );
            return;
        }
        let at = self.at(key_mark).with_width(name.chars().count());
        if let Some(first) = out.get(name) {
            let first = first.at.clone();
            self.errors.push(
                Diagnostic::error(format!("variable `{name}` is defined twice"))
                    .at(at)
                    .related(first, "first defined here"),
            );
            return;
        }
        out.insert(
            name.to_string(),
            Spot {
                value: value.clone(),
                at,
            },
        );
    }

    /// Reads one native connection key into `settings`; `false` when `key` is not one.
    pub(super) fn setting(&mut self, settings: &mut Settings, key: &str, node: &Node) -> bool {
        let at = self.at(node.mark);
        let spot = |value| Spot {
            value,
            at: at.clone(),
        };
        match key {
            "address" => settings.address = self.ssh_word(node, key).map(spot),
            "user" => settings.user = self.ssh_word(node, key).map(spot),
            "identityFile" => settings.identity_file = self.string(node, key).map(spot),
            "becomeUser" => settings.become_user = self.string(node, key).map(spot),
            "fsRoot" => settings.fs_root = self.string(node, key).map(spot),
            "port" => {
                settings.port = self.port(node, key).map(|value| Spot {
                    value,
                    at: at.clone(),
                });
            }
            "become" => {
                settings.r#become = self.bool(node, key).map(|value| Spot {
                    value,
                    at: at.clone(),
                });
            }
            "sshOptions" => {
                let list = self.strings(node, key);
                if matches!(node.value, Value::Seq(_)) {
                    settings.ssh_options = Some(Spot {
                        value: list.into_iter().map(|s| s.value).collect(),
                        at: at.clone(),
                    });
                }
            }
            _ => return false,
        }
        true
    }
}

impl Settings {
    /// The locations of the keys set here, by native key name.
    fn set_keys(&self) -> Vec<(&'static str, &Location)> {
        [
            ("address", self.address.as_ref().map(|s| &s.at)),
            ("port", self.port.as_ref().map(|s| &s.at)),
            ("user", self.user.as_ref().map(|s| &s.at)),
            ("identityFile", self.identity_file.as_ref().map(|s| &s.at)),
            ("sshOptions", self.ssh_options.as_ref().map(|s| &s.at)),
            ("become", self.r#become.as_ref().map(|s| &s.at)),
            ("becomeUser", self.become_user.as_ref().map(|s| &s.at)),
            ("fsRoot", self.fs_root.as_ref().map(|s| &s.at)),
        ]
        .into_iter()
        .filter_map(|(name, at)| Some((name, at?)))
        .collect()
    }

    /// `other`'s settings laid over these (a set key of `other` wins).
    pub(super) fn overlay(&mut self, other: &Settings) {
        fn over<T: Clone>(base: &mut Option<Spot<T>>, top: &Option<Spot<T>>) {
            if top.is_some() {
                base.clone_from(top);
            }
        }
        over(&mut self.address, &other.address);
        over(&mut self.port, &other.port);
        over(&mut self.user, &other.user);
        over(&mut self.identity_file, &other.identity_file);
        over(&mut self.ssh_options, &other.ssh_options);
        over(&mut self.r#become, &other.r#become);
        over(&mut self.become_user, &other.become_user);
        over(&mut self.fs_root, &other.fs_root);
    }
}

impl RawInventory {
    /// The `defaults` of every source as one level; a key or variable set by two sources is
    /// an error naming both.
    pub(super) fn merged_defaults(&self, errors: &mut Vec<Diagnostic>) -> RawDefaults {
        let mut settings = Settings::default();
        let mut vars = Vars::new();
        for d in &self.defaults {
            let taken = settings.set_keys();
            for (key, at) in d.settings.set_keys() {
                if let Some((_, first)) = taken.iter().find(|(k, _)| *k == key) {
                    errors.push(
                        Diagnostic::error(format!(
                            "`defaults.{key}` is defined twice in the inventory"
                        ))
                        .at(at.clone())
                        .related((*first).clone(), "first defined here"),
                    );
                }
            }
            drop(taken);
            settings.overlay(&d.settings);
            for (name, var) in &d.vars {
                if let Some(first) = vars.get(name) {
                    errors.push(
                        Diagnostic::error(format!(
                            "default variable `{name}` is defined twice in the inventory"
                        ))
                        .at(var.at.clone())
                        .related(first.at.clone(), "first defined here"),
                    );
                } else {
                    vars.insert(name.clone(), var.clone());
                }
            }
        }
        RawDefaults { settings, vars }
    }
}
