//! Arbitrary bytes as a manifest file: YAML parsing with limits, the document checks, and
//! the rendering of every error found (what a user would see).
//!
//! Invariants: no panic, no hang; every error points at a line that exists in the text
//! (or at line 0/1 for whole-file errors); every manifest kept has a valid name.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo::diagnostic::Diagnostic;
use ordo::manifest::{Limits, Loaded, SourceFile, load_source, parse_one, valid_name};
use ordo::report::diagnostic::render;

fuzz_target!(|data: &[u8]| {
    // The loader refuses non-UTF-8 before parsing; the lossy text is what it would show.
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("fuzz.yaml", ".", text.as_ref());
    let mut loaded = Loaded::default();
    load_source(&source, &Limits::default(), &mut loaded);
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`.
    let lines = u32::try_from(text.split(['\n', '\r']).count()).unwrap_or(u32::MAX);
    for m in &loaded.manifests {
        assert!(
            valid_name(&m.name),
            "kept a manifest with name {:?}",
            m.name
        );
        assert!(m.name_mark.line >= 1 && m.name_mark.line <= lines);
    }
    for e in loaded.errors {
        let line = e.location.mark.line;
        assert!(
            line <= lines + 1,
            "error at line {line} of {lines}: {}",
            e.kind
        );
        let d = Diagnostic::from(e);
        let plain = render(&d, false);
        assert!(plain.contains("fuzz.yaml"), "{plain}");
        render(&d, true);
    }
    // `yaml::parse` in handlers goes through the same parser, one document.
    let _ = parse_one(&text, &Limits::default());
});
