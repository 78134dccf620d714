//! Manifest versions and handler version ranges: `ManifestVersion::parse`, `Range::parse`,
//! `Range::matches` and `Range::overlaps` on arbitrary text.
//!
//! The input is split at line breaks: a manifest version, then two ranges.
//! Invariants: no panic; a parsed version prints as text that parses back to itself;
//! `overlaps` is symmetric, and two ranges that both match a version overlap.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo::handler::{ManifestVersion, Range};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (a, b, c) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let version = ManifestVersion::parse(a).ok();
    if let Some(v) = &version {
        let shown = v.to_string();
        assert_eq!(
            ManifestVersion::parse(&shown).as_ref(),
            Ok(v),
            "{a:?} printed as {shown:?}"
        );
    }
    let r1 = Range::parse(b).ok();
    let r2 = Range::parse(c).ok();
    // A version string is also tried as a range, and a range as a version.
    let _ = Range::parse(a);
    let _ = ManifestVersion::parse(b);
    for r in [&r1, &r2].into_iter().flatten() {
        if let Some(v) = &version {
            let _ = r.matches(&v.version);
        }
    }
    let ranges: Vec<&Range> = [&r1, &r2].into_iter().flatten().collect();
    for x in &ranges {
        for y in &ranges {
            let overlaps = x.overlaps(y);
            assert_eq!(overlaps, y.overlaps(x), "{:?} / {:?}", x.text, y.text);
            if let Some(v) = &version
                && x.matches(&v.version)
                && y.matches(&v.version)
            {
                assert!(
                    overlaps,
                    "{:?} and {:?} both match {} but do not overlap",
                    x.text, y.text, v.version
                );
            }
        }
    }
});
