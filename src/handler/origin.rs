//! [`Origin`]: where a handler came from — a local file, the binary (bundled), or a source
//! fetched from git or a URL at a pinned commit or digest (DESIGN.md §15).
//!
//! A source may cap what its handlers declare (`maxPermissions`): a handler from it that
//! declares more is an input error naming the handler, the source and the excess. `ordo
//! handlers`, `plan` and the state show and record the origin, so "handler changed since the
//! last apply" can say why (the source moved from one commit to another).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::stdlib::Permissions;

/// Where a handler came from.
#[derive(Clone, Debug, Default)]
pub enum Origin {
    /// A file of a local handler directory (`-s`, the project's, beside the manifests).
    #[default]
    Local,
    /// Embedded in the binary.
    Bundled,
    /// A tree of a source, at a pin.
    Source(Arc<SourceOrigin>),
}

/// A source handlers were loaded from.
#[derive(Clone, Debug)]
pub struct SourceOrigin {
    /// The source's name (`spec.sources[].name`, or the address given to `-s`/`-m`).
    pub name: String,
    /// Its address, canonical.
    pub url: String,
    /// What it is pinned to: a full commit id, or `sha256:HEX` for a download.
    pub pin: String,
    /// `maxPermissions`: what a handler from it may declare at most (`None`: no cap).
    pub max_permissions: Option<Permissions>,
    /// The tree's handler directory, canonical: handlers found below it come from here.
    pub root: PathBuf,
}

impl SourceOrigin {
    /// The pin as JSON names it: `("commit", id)` or `("digest", "sha256:HEX")`.
    pub fn pin_field(&self) -> (&'static str, &str) {
        if self.pin.starts_with("sha256:") {
            ("digest", &self.pin)
        } else {
            ("commit", &self.pin)
        }
    }

    /// The pin shortened for one line: 12 digits of a commit, `sha256:` and 12 of a digest.
    pub fn short_pin(&self) -> String {
        short_pin(&self.pin)
    }
}

/// A pin (commit id or `sha256:HEX`) shortened for one line.
pub fn short_pin(pin: &str) -> String {
    match pin.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", hex.get(..12).unwrap_or(hex)),
        None => pin.get(..12).unwrap_or(pin).to_string(),
    }
}

impl Origin {
    /// The origin of a handler file found below `root` (canonical), given the sources'
    /// handler directories: the source whose tree holds it, else local.
    pub fn of(root: &Path, sources: &[Arc<SourceOrigin>]) -> Origin {
        sources
            .iter()
            .find(|s| root.starts_with(&s.root))
            .map_or(Origin::Local, |s| Origin::Source(Arc::clone(s)))
    }

    /// The source, when the handler came from one.
    pub fn source(&self) -> Option<&SourceOrigin> {
        match self {
            Origin::Source(s) => Some(s),
            _ => None,
        }
    }

    /// How `ordo handlers` names it: `local`, `bundled`, or `NAME@PIN` (short).
    pub fn shown(&self) -> String {
        match self {
            Origin::Local => "local".into(),
            Origin::Bundled => "bundled".into(),
            Origin::Source(s) => format!("{}@{}", s.name, s.short_pin()),
        }
    }
}

/// What `permissions` declares beyond what the handler's source allows, if anything.
pub fn excess(origin: &Origin, declared: Permissions) -> Option<(String, Permissions)> {
    let source = origin.source()?;
    let max = source.max_permissions?;
    let over: Permissions = declared.iter().filter(|c| !max.contains(*c)).collect();
    (over != Permissions::default()).then(|| (source.name.clone(), over))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdlib::Capability;

    fn source(max: Option<&[Capability]>) -> Origin {
        Origin::Source(Arc::new(SourceOrigin {
            name: "platform".into(),
            url: "git+https://example.com/p.git".into(),
            pin: "9f2c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f".into(),
            max_permissions: max.map(|m| m.iter().copied().collect()),
            root: PathBuf::from("/cache/trees/h1/handlers"),
        }))
    }

    #[test]
    fn a_handler_declaring_more_than_its_source_allows_has_an_excess() {
        let declared: Permissions = [Capability::FileRead, Capability::Shell]
            .into_iter()
            .collect();
        let (name, over) = excess(&source(Some(&[Capability::FileRead])), declared).unwrap();
        assert_eq!(name, "platform");
        assert_eq!(over.names(), vec!["shell"]);
        assert!(excess(&source(None), declared).is_none());
        assert!(excess(&Origin::Local, declared).is_none());
        let within: Permissions = [Capability::FileRead].into_iter().collect();
        assert!(excess(&source(Some(&[Capability::FileRead])), within).is_none());
    }

    #[test]
    fn origins_are_found_by_tree_and_shown_short() {
        let s = source(None);
        let Origin::Source(arc) = &s else {
            unreachable!()
        };
        let sources = vec![Arc::clone(arc)];
        let found = Origin::of(Path::new("/cache/trees/h1/handlers/sub"), &sources);
        assert_eq!(found.shown(), "platform@9f2c1a2b3c4d");
        assert!(matches!(
            Origin::of(Path::new("/work/handlers"), &sources),
            Origin::Local
        ));
        assert_eq!(
            short_pin("sha256:0123456789abcdef00"),
            "sha256:0123456789ab"
        );
        assert_eq!(arc.pin_field().0, "commit");
    }
}
