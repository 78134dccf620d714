//! Manifest versions and handler version ranges, mapped onto semver.
//!
//! Manifests use Kubernetes-style versions; handlers register semver ranges. The mapping:
//!
//! | manifest version   | group         | semver           |
//! |--------------------|---------------|------------------|
//! | `v1`               | —             | `1.0.0`          |
//! | `v1.2`             | —             | `1.2.0`          |
//! | `1.2.3`            | —             | `1.2.3`          |
//! | `v1beta1`          | —             | `1.0.0-beta.1`   |
//! | `example.com/v2`   | `example.com` | `2.0.0`          |
//!
//! A pre-release is served by any range that contains its release: `^1` serves `v1beta1`.
//! (Plain semver never lets a range match a pre-release unless the range names one, which
//! would leave `v1beta1` with no handler.)

use std::fmt;

use semver::{Prerelease, Version, VersionReq};

/// A manifest's `version`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestVersion {
    pub group: Option<String>,
    pub version: Version,
}

/// A handler's version range, as registered.
#[derive(Clone, Debug)]
pub struct Range {
    pub text: String,
    pub req: VersionReq,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VersionErrorKind {
    #[error("`{0}` is not a version; use `v1`, `v1.2`, `1.2.3`, `v1beta1` or `group/v2`")]
    BadVersion(String),
    #[error("`{text}` is not a version range: {reason}; use for example `^1`, `>=1.0, <3` or `*`")]
    BadRange { text: String, reason: String },
}

impl ManifestVersion {
    pub fn parse(text: &str) -> Result<Self, VersionErrorKind> {
        let bad = || VersionErrorKind::BadVersion(text.to_string());
        let (group, rest) = match text.rsplit_once('/') {
            Some((g, r)) if is_group(g) => (Some(g.to_string()), r),
            Some(_) => return Err(bad()),
            None => (None, text),
        };
        let body = rest.strip_prefix('v').unwrap_or(rest);
        let version = if let Some((numbers, pre)) = split_kubernetes(body) {
            let major: u64 = numbers.parse().map_err(|_| bad())?;
            Version {
                pre: Prerelease::new(&pre).map_err(|_| bad())?,
                ..Version::new(major, 0, 0)
            }
        } else {
            let parts: Vec<&str> = body.split('.').collect();
            if parts.len() > 3 || parts.iter().any(|p| !is_number(p)) {
                // Full semver, possibly with a pre-release (`1.2.3-rc.1`).
                if rest.starts_with('v') && parts.len() < 3 {
                    return Err(bad());
                }
                Version::parse(body).map_err(|_| bad())?
            } else {
                let n = |i: usize| {
                    parts
                        .get(i)
                        .map_or(Ok(0), |p| p.parse::<u64>())
                        .map_err(|_| bad())
                };
                // A bare number (`1`) is only a version with the `v` (`v1`) or with dots.
                if parts.len() == 1 && !rest.starts_with('v') {
                    return Err(bad());
                }
                Version::new(n(0)?, n(1)?, n(2)?)
            }
        };
        Ok(ManifestVersion { group, version })
    }
}

impl fmt::Display for ManifestVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.group {
            Some(g) => write!(f, "{g}/{}", self.version),
            None => write!(f, "{}", self.version),
        }
    }
}

/// `1beta1` → (`1`, `beta.1`); `2alpha` → (`2`, `alpha`). `None` if not of that shape.
fn split_kubernetes(body: &str) -> Option<(&str, String)> {
    let digits = body.find(|c: char| !c.is_ascii_digit())?;
    let (numbers, tail) = body.split_at(digits);
    if numbers.is_empty() {
        return None;
    }
    let letters = tail
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(tail.len());
    let (word, number) = tail.split_at(letters);
    if !matches!(word, "alpha" | "beta" | "rc") || !(number.is_empty() || is_number(number)) {
        return None;
    }
    Some((
        numbers,
        if number.is_empty() {
            word.to_string()
        } else {
            format!("{word}.{number}")
        },
    ))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn is_group(g: &str) -> bool {
    !g.is_empty()
        && g.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl Range {
    pub fn parse(text: &str) -> Result<Self, VersionErrorKind> {
        // A leading `v` is accepted anywhere a version number starts: `^v1`, `>=v1.2, <v3`.
        let cleaned: String = {
            let mut out = String::with_capacity(text.len());
            let mut prev = ' ';
            for c in text.chars() {
                let starts_number = !(prev.is_ascii_alphanumeric() || prev == '.' || prev == '-');
                if c == 'v' && starts_number {
                    prev = c;
                    continue;
                }
                out.push(c);
                prev = c;
            }
            out
        };
        let req = VersionReq::parse(cleaned.trim()).map_err(|e| VersionErrorKind::BadRange {
            text: text.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Range {
            text: text.to_string(),
            req,
        })
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.req.matches(v)
            || (!v.pre.is_empty() && self.req.matches(&Version::new(v.major, v.minor, v.patch)))
    }

    /// Whether some version is matched by both ranges (checked on the versions either names,
    /// which is enough for the comparator shapes semver has).
    pub fn overlaps(&self, other: &Range) -> bool {
        probes(self)
            .chain(probes(other))
            .any(|v| self.matches(&v) && other.matches(&v))
    }
}

/// Versions at and around every bound a range names.
fn probes(range: &Range) -> impl Iterator<Item = Version> + '_ {
    range
        .req
        .comparators
        .iter()
        .flat_map(|c| {
            let (major, minor, patch) = (c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
            let base = Version::new(major, minor, patch);
            // Saturating: `^18446744073709551615` is a valid range (issue 9).
            let mut out = vec![
                base.clone(),
                Version::new(major, minor, patch.saturating_add(1)),
            ];
            out.push(Version::new(major, minor.saturating_add(1), 0));
            out.push(Version::new(major.saturating_add(1), 0, 0));
            if patch > 0 {
                out.push(Version::new(major, minor, patch - 1));
            } else if minor > 0 {
                out.push(Version::new(major, minor - 1, u64::from(u32::MAX)));
            } else if major > 0 {
                out.push(Version::new(major - 1, u64::from(u32::MAX), 0));
            }
            // A comparator with a pre-release matches pre-releases of its own release
            // directly (issue 9, found by fuzzing: `<1.3.3-3bw` and `>1.3.3-74` both serve
            // `1.3.3-0`, and no release shows it). The pre-releases a range matches form an
            // interval, so its lowest member is one of: the comparator's own pre-release,
            // the one right after it (`74` → `74.0`), or the lowest of all (`0`).
            if !c.pre.is_empty() {
                let with = |pre: &str| {
                    Prerelease::new(pre).ok().map(|pre| Version {
                        pre,
                        ..base.clone()
                    })
                };
                out.extend(with(c.pre.as_str()));
                out.extend(with(&format!("{}.0", c.pre)));
                out.extend(with("0"));
            }
            out
        })
        .chain(std::iter::once(Version::new(0, 0, 0)))
        .chain(std::iter::once(Version::new(1, 0, 0)))
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! versions {
        ($($text:expr => $group:expr, $semver:expr;)*) => {$(
            let v = ManifestVersion::parse($text).unwrap_or_else(|e| panic!("{}: {e}", $text));
            assert_eq!(v.group.as_deref(), $group, "group of {}", $text);
            assert_eq!(v.version.to_string(), $semver, "version of {}", $text);
        )*};
    }

    #[test]
    fn kubernetes_and_semver_versions_normalise() {
        versions! {
            "v1" => None, "1.0.0";
            "v1.2" => None, "1.2.0";
            "1.2" => None, "1.2.0";
            "1.2.3" => None, "1.2.3";
            "v1.2.3" => None, "1.2.3";
            "v1beta1" => None, "1.0.0-beta.1";
            "v2alpha3" => None, "2.0.0-alpha.3";
            "v1rc" => None, "1.0.0-rc";
            "example.com/v2" => Some("example.com"), "2.0.0";
            "example.com/v1beta2" => Some("example.com"), "1.0.0-beta.2";
            "1.2.3-rc.1" => None, "1.2.3-rc.1";
        }
    }

    #[test]
    fn malformed_versions_are_rejected() {
        for bad in [
            "", "v", "1", "vx", "v1gamma1", "v01", "/v1", "a b/v1", "v1.2.3.4", "latest", "v1.x",
        ] {
            assert!(
                ManifestVersion::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn pre_releases_are_served_by_ranges_holding_their_release() {
        let r = Range::parse("^1").unwrap();
        assert!(r.matches(&ManifestVersion::parse("v1beta1").unwrap().version));
        assert!(r.matches(&ManifestVersion::parse("v1.4").unwrap().version));
        assert!(!r.matches(&ManifestVersion::parse("v2alpha1").unwrap().version));
        let r = Range::parse(">=1.0, <2.0").unwrap();
        assert!(r.matches(&ManifestVersion::parse("v1beta1").unwrap().version));
        assert!(!r.matches(&ManifestVersion::parse("v2").unwrap().version));
    }

    #[test]
    fn ranges_accept_a_leading_v() {
        assert!(Range::parse("^v1").unwrap().matches(&Version::new(1, 3, 0)));
        assert!(
            Range::parse(">=v1.2, <v3")
                .unwrap()
                .matches(&Version::new(2, 0, 0))
        );
        assert!(Range::parse("*").unwrap().matches(&Version::new(9, 0, 0)));
        assert!(
            Range::parse("=2.1.0")
                .unwrap()
                .matches(&Version::new(2, 1, 0))
        );
        assert!(Range::parse("one").is_err());
        assert!(Range::parse(">=1.0 <2.0").is_err());
    }

    /// Regression (found by fuzzing, issue 9): `overlaps` probed only releases, so two
    /// ranges that serve the same pre-release were not seen to overlap, and a handler could
    /// register a kind twice for one version.
    #[test]
    fn overlap_sees_pre_releases_found_by_fuzzing() {
        let r = |t| Range::parse(t).unwrap();
        let v = ManifestVersion::parse("1.3.3-0.3-7Nnn.3-7w")
            .unwrap()
            .version;
        let (a, b) = (r("<1.3.3-3bw"), r(">1.3.3-74"));
        assert!(a.matches(&v) && b.matches(&v));
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(
            r(">1.3.3-74").overlaps(&r("<1.3.3-75")),
            "`1.3.3-74.0` is in both"
        );
        assert!(r("=1.0.0-alpha").overlaps(&r("=1.0.0-alpha")));
        assert!(!r("<1.3.3-74").overlaps(&r(">=1.3.4")));
    }

    /// Regression (issue 9): probing around `18446744073709551615` overflowed and panicked.
    #[test]
    fn ranges_at_the_largest_version_number_do_not_overflow() {
        let max = u64::MAX;
        let r = |t: String| Range::parse(&t).unwrap();
        let top = r(format!("^{max}"));
        assert!(top.overlaps(&r(format!(">={max}.{max}.{max}"))));
        assert!(!top.overlaps(&r("^1".into())));
        assert!(r(format!("={max}.{max}.{max}")).overlaps(&r("*".into())));
    }

    #[test]
    fn overlap_is_detected() {
        let r = |t| Range::parse(t).unwrap();
        assert!(r("^1").overlaps(&r(">=1.5, <3")));
        assert!(!r("^1").overlaps(&r("^2")));
        assert!(r("*").overlaps(&r("=2.1.0")));
        assert!(!r("<1.2").overlaps(&r(">=1.2")));
    }
}
