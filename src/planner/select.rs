//! [`Selection`]: `--only`, `--exclude` and `-l/--selector`, applied to the graph.
//!
//! `--only` takes names or globs (`web-*`), `--selector` takes Kubernetes label syntax
//! (`tier=web`, `tier!=db`, `tier in (web, api)`, `tier notin (db)`, `canary`, `!canary`,
//! comma-separated, all must hold). A manifest is selected when it matches every criterion
//! given; `--exclude` then removes names or globs, and an excluded manifest never runs.
//! What the selection needs comes along: for `apply`, the dependencies of what is selected;
//! for `delete`, what depends on it (it must go first). Explicitly selected manifests run
//! even when they are marked `skipApplyAll`/`skipDeleteAll`.

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};

use super::graph::Graph;
use crate::diagnostic::did_you_mean;
use crate::manifest::Manifest;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    fn matches(&self, labels: &indexmap::IndexMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        }
    }
}

impl Requirement {
    fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::NotExists(k) => k,
        }
    }

    /// The values this requirement asks for, where it asks for some.
    fn wanted(&self) -> &[String] {
        match self {
            Requirement::Equals(_, v) => std::slice::from_ref(v),
            Requirement::In(_, vs) => vs,
            _ => &[],
        }
    }

    /// Every value this requirement names, whether it asks for it or against it.
    fn named(&self) -> &[String] {
        match self {
            Requirement::Equals(_, v) | Requirement::NotEquals(_, v) => std::slice::from_ref(v),
            Requirement::In(_, vs) | Requirement::NotIn(_, vs) => vs,
            Requirement::Exists(_) | Requirement::NotExists(_) => &[],
        }
    }
}

/// A parsed `--selector`, with the text it was parsed from (for messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    text: String,
    requirements: Vec<Requirement>,
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        // Split on commas outside parentheses.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0_i32, 0);
        for (i, c) in text.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&text[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&text[start..]);
        for part in parts.iter().map(|p| p.trim()) {
            let bad = || {
                format!(
                    "`{part}` is not a label requirement (`k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`)"
                )
            };
            if part.is_empty() {
                return Err("empty requirement in the selector".into());
            }
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) =
                split_word(part, "notin").or_else(|| split_word(part, "in"))
            {
                let list = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                let values: Vec<String> = list
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect();
                if values.is_empty() {
                    return Err(bad());
                }
                if part[k.len()..].trim_start().starts_with("notin") {
                    Requirement::NotIn(k.trim().into(), values)
                } else {
                    Requirement::In(k.trim().into(), values)
                }
            } else {
                Requirement::Exists(part.to_string())
            };
            if !valid_key(req.key()) {
                return Err(bad());
            }
            reqs.push(req);
        }
        Ok(LabelSelector {
            text: text.trim().to_string(),
            requirements: reqs,
        })
    }

    pub fn matches(&self, labels: &indexmap::IndexMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The names in this selector that no manifest of `labels` has: each key a requirement
    /// names must be a label key of some manifest, and each value it names (for `=`, `!=`,
    /// `in`, `notin`) a value of that key on some manifest. A misspelt name is a typo even
    /// in a negative requirement, where it would otherwise select everything.
    fn unknown_names(&self, labels: &[&indexmap::IndexMap<String, String>]) -> Vec<String> {
        let keys: std::collections::BTreeSet<&str> = labels
            .iter()
            .flat_map(|l| l.keys().map(String::as_str))
            .collect();
        let mut errors = Vec::new();
        for req in &self.requirements {
            let key = req.key();
            if !keys.contains(key) {
                let hint = did_you_mean(key, keys.iter().copied())
                    .map(|near| format!("; did you mean `{near}`?"))
                    .unwrap_or_default();
                errors.push(format!(
                    "`-l {}`: in this environment, no manifest has the label `{key}`{hint}",
                    self.text
                ));
                continue;
            }
            let values: std::collections::BTreeSet<&str> = labels
                .iter()
                .filter_map(|l| l.get(key).map(String::as_str))
                .collect();
            for value in req.named() {
                if values.contains(value.as_str()) {
                    continue;
                }
                let hint = did_you_mean(value, values.iter().copied())
                    .map(|near| format!("; did you mean `{key}={near}`?"))
                    .unwrap_or_default();
                errors.push(format!(
                    "`-l {}`: in this environment, no manifest has `{key}={value}`{hint} (values of `{key}` here: {})",
                    self.text,
                    values.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        errors
    }

    /// Why this selector matches none of `labels` (one map per manifest), with a "did you
    /// mean" from the labels that exist: the first requirement that alone matches nothing
    /// is named, with the nearest key or value in use.
    fn explain_no_match(&self, labels: &[&indexmap::IndexMap<String, String>]) -> String {
        let mut message = format!("`-l {}` matches no manifest in this environment", self.text);
        let Some(req) = self
            .requirements
            .iter()
            .find(|r| !labels.iter().any(|l| r.matches(l)))
        else {
            return message;
        };
        let key = req.key();
        let values: std::collections::BTreeSet<&str> = labels
            .iter()
            .filter_map(|l| l.get(key).map(String::as_str))
            .collect();
        if values.is_empty() {
            let keys: std::collections::BTreeSet<&str> = labels
                .iter()
                .flat_map(|l| l.keys().map(String::as_str))
                .collect();
            message.push_str(&format!("; no manifest has the label `{key}`"));
            if let Some(near) = did_you_mean(key, keys.iter().copied()) {
                message.push_str(&format!("; did you mean `{near}`?"));
            }
        } else {
            let missing: Vec<&str> = req
                .wanted()
                .iter()
                .map(String::as_str)
                .filter(|v| !values.contains(v))
                .collect();
            if let Some(near) = missing
                .iter()
                .find_map(|v| did_you_mean(v, values.iter().copied()))
            {
                message.push_str(&format!("; did you mean `{key}={near}`?"));
            }
            message.push_str(&format!(
                " (values of `{key}` here: {})",
                values.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        message
    }
}

/// `key in (...)` → (`key`, `(...)`), when `word` stands alone after the key.
fn split_word<'a>(part: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    let mut search = 0;
    while let Some(i) = part[search..].find(word).map(|i| i + search) {
        let before = part[..i].chars().last();
        let after = part[i + word.len()..].chars().next();
        if before.is_some_and(char::is_whitespace)
            && after.is_none_or(|c| c.is_whitespace() || c == '(')
        {
            return Some((&part[..i], &part[i + word.len()..]));
        }
        search = i + word.len();
    }
    None
}

/// The user's selection, before it meets the graph.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub only: Vec<String>,
    pub exclude: Vec<String>,
    pub selectors: Vec<LabelSelector>,
}

/// What a selection picked: per graph node, whether it is a root, and whether excluded.
#[derive(Debug)]
pub struct Selected {
    pub roots: Vec<bool>,
    pub excluded: Vec<bool>,
    /// Roots chosen explicitly (they run even when marked skip*).
    pub explicit: bool,
}

fn matcher(pattern: &str) -> Result<GlobMatcher, String> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{pattern}` is not a valid glob: {e}"))
}

impl Selection {
    /// The selection as the user wrote it: `--only a --exclude b -l tier=web`.
    fn describe(&self) -> String {
        let only = self.only.iter().map(|p| format!("--only {p}"));
        let exclude = self.exclude.iter().map(|p| format!("--exclude {p}"));
        let selectors = self.selectors.iter().map(|s| format!("-l {}", s.text));
        only.chain(selectors)
            .chain(exclude)
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn is_empty(&self) -> bool {
        self.only.is_empty() && self.exclude.is_empty() && self.selectors.is_empty()
    }

    /// Applies the selection to `graph`; `delete` brings dependents along instead of
    /// dependencies. Names and globs that match nothing are errors.
    #[expect(
        clippy::indexing_slicing,
        reason = "node indices are below `graph.nodes.len()`, the length of `roots` and `excluded`, and `graph.nodes` holds indices into `manifests`"
    )]
    pub fn apply(
        &self,
        graph: &Graph,
        manifests: &[Manifest],
        delete: bool,
    ) -> Result<Selected, Vec<String>> {
        let n = graph.nodes.len();
        let name = |node: usize| manifests[graph.nodes[node]].name.as_str();
        // A manifest run on hosts is matched by its name (every instance) and by
        // `name@host` (one instance; `*@web-1`: every instance on a host).
        let matches = |g: &GlobMatcher, node: usize| {
            let m = &manifests[graph.nodes[node]];
            g.is_match(&m.name) || (m.host.is_some() && g.is_match(m.base_name()))
        };
        let mut errors = Vec::new();
        let compile =
            |patterns: &[String], errors: &mut Vec<String>| -> Vec<(String, GlobMatcher)> {
                patterns
                    .iter()
                    .filter_map(|p| match matcher(p) {
                        Ok(m) => Some((p.clone(), m)),
                        Err(e) => {
                            errors.push(e);
                            None
                        }
                    })
                    .collect()
            };
        let only = compile(&self.only, &mut errors);
        let exclude = compile(&self.exclude, &mut errors);
        for (pattern, m) in only.iter().chain(exclude.iter()) {
            if !(0..n).any(|node| matches(m, node)) {
                let hint = did_you_mean(pattern, (0..n).map(name))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                let flag = if only.iter().any(|(p, _)| p == pattern) {
                    "--only"
                } else {
                    "--exclude"
                };
                errors.push(format!(
                    "{flag}: `{pattern}` matches no manifest in this environment{hint}"
                ));
            }
        }
        // A selector that matches nothing is a typo as surely as an `--only` name that
        // matches nothing (issue 13: `-l tier=nope` used to exit 0 having done nothing).
        let labels: Vec<_> = (0..n)
            .map(|node| &manifests[graph.nodes[node]].metadata.labels)
            .collect();
        // Every key and value a selector names must exist, or a typo in a negative
        // requirement (`tier!=dbb`) would select everything.
        for selector in &self.selectors {
            let unknown = selector.unknown_names(&labels);
            if !unknown.is_empty() {
                errors.extend(unknown);
            } else if !labels.iter().any(|l| selector.matches(l)) {
                errors.push(selector.explain_no_match(&labels));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let excluded: Vec<bool> = (0..n)
            .map(|node| exclude.iter().any(|(_, m)| matches(m, node)))
            .collect();
        let explicit = !only.is_empty() || !self.selectors.is_empty();
        let mut roots: Vec<bool> = (0..n)
            .map(|node| {
                let m = &manifests[graph.nodes[node]];
                let by_name = only.is_empty() || only.iter().any(|(_, g)| matches(g, node));
                let by_label = self.selectors.iter().all(|s| s.matches(&m.metadata.labels));
                by_name && by_label && !excluded[node]
            })
            .collect();
        if !roots.iter().any(|&r| r) {
            // Each criterion matched something, but together they leave nothing to run.
            return Err(vec![format!(
                "the selection ({}) leaves no manifest to run",
                self.describe()
            )]);
        }
        if explicit && delete {
            // What depends on a deleted manifest must be deleted first: it comes along.
            let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for (node, deps) in graph.apply.iter().enumerate() {
                for d in deps {
                    dependents.entry(d.node).or_default().push(node);
                }
            }
            let mut stack: Vec<usize> = (0..n).filter(|&x| roots[x]).collect();
            while let Some(x) = stack.pop() {
                for &y in dependents.get(&x).map(Vec::as_slice).unwrap_or_default() {
                    if !roots[y] && !excluded[y] {
                        roots[y] = true;
                        stack.push(y);
                    }
                }
            }
        }
        Ok(Selected {
            roots,
            excluded,
            explicit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> indexmap::IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kubernetes_selectors_parse_and_match() {
        let web = labels(&[("tier", "web"), ("canary", "yes")]);
        let db = labels(&[("tier", "db")]);
        let cases = [
            ("tier=web", true, false),
            ("tier==web", true, false),
            ("tier!=web", false, true),
            ("tier in (web, api)", true, false),
            ("tier notin (web)", false, true),
            ("canary", true, false),
            ("!canary", false, true),
            ("tier=web,canary", true, false),
            ("tier in (db),!canary", false, true),
        ];
        for (text, on_web, on_db) in cases {
            let s = LabelSelector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.matches(&web), on_web, "{text} on web");
            assert_eq!(s.matches(&db), on_db, "{text} on db");
        }
        for bad in ["", "tier in web", "tier in ()", "a b c", "tier=web,"] {
            assert!(
                LabelSelector::parse(bad).is_err(),
                "{bad:?} should not parse"
            );
        }
    }
}
