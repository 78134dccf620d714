//! Host patterns: the one meaning of `metadata.hosts` entries, `--limit` and
//! `ordo hosts --limit`.
//!
//! A pattern is `all` (or `*`), a host name, a group name (every host in it, through its
//! children), or a glob over host and group names (`web-*`); a leading `!` excludes what
//! the rest matches. The hosts selected are those the positive patterns match (every host
//! when there is none), minus those the `!` patterns match, in inventory order. A positive
//! pattern that matches nothing is an input error with a "did you mean", never an empty
//! selection; a `!` pattern matching nothing is allowed (excluding a host that is not there
//! is already true).

use globset::Glob;

use super::model::Inventory;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::manifest::Location;

/// One pattern as written, with where (`None`: the command line).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub text: String,
    pub at: Option<Location>,
    /// What to name the pattern by in messages: `--limit`, `metadata.hosts`.
    pub source: &'static str,
}

/// Whether a pattern is a glob (rather than an exact name).
pub(super) fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// The hosts `patterns` select, in inventory order, or an input error per pattern that
/// matches nothing (and one if all of them together leave no host).
pub fn select_hosts(
    inventory: &Inventory,
    patterns: &[Pattern],
) -> Result<Vec<String>, Vec<Diagnostic>> {
    let count = inventory.hosts.len();
    let mut include = vec![false; count];
    let mut exclude = vec![false; count];
    let mut any_positive = false;
    let mut errors = Vec::new();
    for p in patterns {
        let (negative, text) = match p.text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, p.text.as_str()),
        };
        any_positive |= !negative;
        match matches(inventory, text) {
            Ok(found) => {
                if found.is_empty() && !negative {
                    errors.push(no_match(inventory, p, text));
                }
                let target = if negative { &mut exclude } else { &mut include };
                for i in found {
                    if let Some(slot) = target.get_mut(i) {
                        *slot = true;
                    }
                }
            }
            Err(e) => errors.push(
                Diagnostic::error(format!("{}: invalid glob `{text}`: {e}", p.source))
                    .at_opt(p.at.clone()),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let selected: Vec<String> = inventory
        .hosts
        .keys()
        .enumerate()
        .filter(|(i, _)| {
            (!any_positive || include.get(*i).copied().unwrap_or(false))
                && !exclude.get(*i).copied().unwrap_or(false)
        })
        .map(|(_, name)| name.clone())
        .collect();
    if selected.is_empty() {
        let texts: Vec<String> = patterns.iter().map(|p| format!("`{}`", p.text)).collect();
        let source = patterns.first().map_or("host patterns", |p| p.source);
        return Err(vec![
            Diagnostic::error(format!(
                "{source}: {} together select no host",
                texts.join(", ")
            ))
            .at_opt(patterns.first().and_then(|p| p.at.clone()))
            .help("each pattern matches some host, but the `!` patterns exclude all of them"),
        ]);
    }
    Ok(selected)
}

/// The indexes of the hosts one pattern (without its `!`) matches.
fn matches(inventory: &Inventory, text: &str) -> Result<Vec<usize>, globset::Error> {
    let all = || (0..inventory.hosts.len()).collect::<Vec<_>>();
    if text == "all" || text == "*" {
        return Ok(all());
    }
    let index = |name: &str| inventory.hosts.get_index_of(name);
    let of_group = |group: &str| -> Vec<usize> {
        inventory
            .groups
            .get(group)
            .map(|g| g.hosts.iter().filter_map(|h| index(h)).collect())
            .unwrap_or_default()
    };
    let mut found: Vec<usize> = if is_glob(text) {
        let glob = Glob::new(text)?.compile_matcher();
        let mut found: Vec<usize> = inventory
            .hosts
            .keys()
            .enumerate()
            .filter(|(_, h)| glob.is_match(h.as_str()))
            .map(|(i, _)| i)
            .collect();
        for g in inventory
            .groups
            .keys()
            .filter(|g| glob.is_match(g.as_str()))
        {
            found.extend(of_group(g));
        }
        found
    } else if let Some(i) = index(text) {
        vec![i]
    } else {
        of_group(text)
    };
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

fn no_match(inventory: &Inventory, p: &Pattern, text: &str) -> Diagnostic {
    let known = inventory
        .hosts
        .keys()
        .chain(inventory.groups.keys())
        .map(String::as_str)
        .chain(["all"]);
    let hint = did_you_mean(text, known)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    let help = if inventory.is_empty() {
        "the run has no inventory: give `-i FILE` or add a `kind: Inventory` document".to_string()
    } else {
        let mut names: Vec<&str> = inventory
            .hosts
            .keys()
            .map(String::as_str)
            .take(10)
            .collect();
        names.extend(inventory.groups.keys().map(String::as_str).take(10));
        format!("hosts and groups: {}", names.join(", "))
    };
    Diagnostic::error(format!(
        "{}: host pattern `{text}` matches no host or group in the inventory{hint}",
        p.source
    ))
    .at_opt(p.at.clone().map(|a| a.with_width(p.text.chars().count())))
    .help(help)
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;
    use crate::inventory::{Group, Host};
    use crate::manifest::{Mark, SourceFile};

    /// Hosts `web-1 web-2 db-1`; `web` holds the web hosts, `prod` holds `web` and `db-1`.
    fn lab() -> Inventory {
        let file = SourceFile::new("inv.yaml", ".", "");
        let at = Location::new(&file, Mark::new(1, 1));
        let host = |name: &str| Host {
            name: name.into(),
            address: name.into(),
            port: None,
            user: None,
            identity_file: None,
            ssh_options: Vec::new(),
            r#become: false,
            become_user: None,
            fs_root: None,
            vars: IndexMap::new(),
            groups: Vec::new(),
            location: at.clone(),
        };
        let group = |name: &str, hosts: &[&str], depth| Group {
            name: name.into(),
            hosts: hosts.iter().map(|h| (*h).to_string()).collect(),
            children: Vec::new(),
            depth,
            location: at.clone(),
        };
        let mut inv = Inventory::default();
        for h in ["web-1", "web-2", "db-1"] {
            inv.hosts.insert(h.into(), host(h));
        }
        inv.groups
            .insert("web".into(), group("web", &["web-1", "web-2"], 2));
        inv.groups
            .insert("prod".into(), group("prod", &["web-1", "web-2", "db-1"], 1));
        inv
    }

    fn select(patterns: &[&str]) -> Result<Vec<String>, Vec<String>> {
        let patterns: Vec<Pattern> = patterns
            .iter()
            .map(|p| Pattern {
                text: (*p).to_string(),
                at: None,
                source: "--limit",
            })
            .collect();
        select_hosts(&lab(), &patterns)
            .map_err(|errors| errors.into_iter().map(|d| d.message).collect())
    }

    macro_rules! selects {
        ($($patterns:expr => $hosts:expr;)*) => {
            $(assert_eq!(select(&$patterns), Ok($hosts.iter().map(|h: &&str| h.to_string()).collect()), "{:?}", $patterns);)*
        };
    }

    #[test]
    fn patterns_select_in_inventory_order() {
        selects! {
            ["all"] => ["web-1", "web-2", "db-1"];
            ["*"] => ["web-1", "web-2", "db-1"];
            ["db-1", "web-1"] => ["web-1", "db-1"];
            ["web"] => ["web-1", "web-2"];
            ["prod", "!web"] => ["db-1"];
            ["!db-1"] => ["web-1", "web-2"];
            ["w*"] => ["web-1", "web-2"];
            ["pr?d", "!web-?"] => ["db-1"];
            ["web-{1,2}"] => ["web-1", "web-2"];
            ["web", "!absent"] => ["web-1", "web-2"];
        }
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error_with_a_did_you_mean() {
        let errors = select(&["wbe", "db-1", "zzz*"]).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].ends_with("did you mean `web`?"), "{errors:?}");
        assert!(errors[1].contains("`zzz*` matches no host"), "{errors:?}");
        let errors = select(&["web", "!prod"]).unwrap_err();
        assert!(errors[0].contains("together select no host"), "{errors:?}");
        let errors = select(&["web-[1"]).unwrap_err();
        assert!(errors[0].contains("invalid glob"), "{errors:?}");
    }
}
