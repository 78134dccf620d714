//! What a run allows its sources: Cargo's `--locked`, `--offline` and `--frozen`, local
//! repositories (`--allow-file-sources`), where sources may come from (`--allow-source`),
//! and whether an address must pin its content (`--require-digest`).

use super::address::{Address, AddressKind};
use super::error::{SourceError, SourceErrorKind};

/// The rules one run resolves its sources under.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The lock must not change: a source without an entry, or whose address changed, is an
    /// error (`--locked`, `--frozen`).
    pub locked: bool,
    /// Never touch the network; what the cache lacks is an error (`--offline`, `--frozen`).
    pub offline: bool,
    /// `git+file://` repositories may be read (`--allow-file-sources`, for tests and local
    /// mirrors).
    pub allow_file_sources: bool,
    /// Glob patterns; when any is given, a source's host (or its `scheme://host/path`
    /// prefix) must match one (`--allow-source`).
    pub allow_source: Vec<String>,
    /// Every address must pin its content: a download its `?sha256=`, a git source a full
    /// commit id as its `?ref=` (`--require-digest`).
    pub require_digest: bool,
}

impl Policy {
    /// Refuses what this policy does not allow, naming the source and the flag that would.
    pub fn check(&self, name: &str, address: &Address) -> Result<(), SourceError> {
        let text = address.to_string();
        let refuse = |message: String, help: &str| {
            SourceError::new(name, &text, SourceErrorKind::NotAllowed, message).with_help(help)
        };
        if address.is_file() && !self.allow_file_sources {
            return Err(refuse(
                "local repositories (`file://`) are refused".into(),
                "give `--allow-file-sources` to read a repository on this machine",
            ));
        }
        if !self.allow_source.is_empty() && !self.allowed(address) {
            return Err(refuse(
                format!(
                    "`{}` is not among the allowed sources ({})",
                    address.host().unwrap_or("a local repository"),
                    self.allow_source
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "`--allow-source PATTERN` names the hosts (`*.example.com`) or URL prefixes (`https://git.example.com/org`) sources may come from",
            ));
        }
        if self.require_digest && !address.is_pinned() {
            let what = match address.kind() {
                AddressKind::Git => "a git source needs `?ref=` with a full commit id",
                AddressKind::Archive | AddressKind::File => "a download needs `?sha256=HEX`",
            };
            return Err(refuse(
                format!("`--require-digest`: {what}"),
                "pin the address, or drop `--require-digest`",
            ));
        }
        Ok(())
    }

    /// Whether a pattern allows the address. A pattern without `://` is matched against
    /// the parsed host only (with `:port` when the pattern has one): `*.example.com`,
    /// `git.example.com:8443`. A pattern with `://` is matched against `scheme://host[:port]`
    /// followed by the path, one segment at a time (`*` never crosses `/`), as a prefix
    /// that ends on a segment: `https://git.example.com/org` allows
    /// `…/org/repo.git` but not `…/organization/…`. `git+` and `git::` in a pattern are
    /// ignored (git addresses are matched by their URL). The ref, the sub-directory and the
    /// query never take part. A pattern that is not a valid glob matches only itself.
    fn allowed(&self, address: &Address) -> bool {
        let host = address.host().unwrap_or_default();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let port = address.port();
        let with_port = port.map_or_else(|| host.clone(), |p| format!("{host}:{p}"));
        // The URL is the parser's own serialization: a port in it is one that was written
        // and is not the scheme's default.
        let explicit = match url::Url::parse(address.url()).ok().and_then(|u| u.port()) {
            Some(_) => with_port.clone(),
            None => host.clone(),
        };
        let mut prefixes = vec![format!("{}://{explicit}", address.scheme())];
        let mut so_far = prefixes.first().cloned().unwrap_or_default();
        for segment in address.path().split('/').filter(|s| !s.is_empty()) {
            so_far.push('/');
            so_far.push_str(segment);
            prefixes.push(so_far.clone());
        }
        self.allow_source.iter().any(|pattern| {
            let lower = pattern.to_ascii_lowercase();
            let pattern = if lower.starts_with("git::") {
                pattern.get(5..).unwrap_or_default()
            } else if lower.starts_with("git+") {
                pattern.get(4..).unwrap_or_default()
            } else {
                pattern.as_str()
            };
            let candidates: Vec<&str> = if pattern.contains("://") {
                prefixes.iter().map(String::as_str).collect()
            } else if address.host().is_none() {
                Vec::new()
            } else if pattern.contains(':') && !pattern.starts_with('[') {
                vec![with_port.as_str()]
            } else {
                vec![
                    host.as_str(),
                    host.trim_start_matches('[').trim_end_matches(']'),
                ]
            };
            let matcher = globset::GlobBuilder::new(pattern)
                .case_insensitive(true)
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher());
            match matcher {
                Ok(m) => candidates.iter().any(|c| m.is_match(c)),
                Err(_) => candidates.iter().any(|c| c.eq_ignore_ascii_case(pattern)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_source_matches_the_host_or_the_address() {
        let policy = Policy {
            allow_source: vec!["*.example.com".into(), "https://files.test/*".into()],
            ..Policy::default()
        };
        let ok = |t: &str| {
            let a = Address::parse(t).unwrap_or_else(|e| panic!("{e}"));
            policy.check("s", &a).is_ok()
        };
        assert!(ok("git+https://git.example.com/r.git"));
        assert!(ok("https://files.test/a/b.yaml"));
        assert!(!ok("git+https://evil.com/r.git"));
        assert!(!ok("git+https://example.com.evil.com/r.git"));
    }

    #[test]
    fn file_sources_and_unpinned_addresses_need_their_flags() {
        let a = Address::parse("git+file:///srv/r.git").unwrap_or_else(|e| panic!("{e}"));
        let e = Policy::default()
            .check("s", &a)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`file://`")));
        let strict = Policy {
            allow_file_sources: true,
            require_digest: true,
            ..Policy::default()
        };
        assert!(strict.check("s", &a).is_err());
        let pinned = Address::parse(&format!("git+file:///srv/r.git?ref={}", "a".repeat(40)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(strict.check("s", &pinned).is_ok());
    }
}
