//! Arbitrary bytes as a manifest file: reading (size, UTF-8), YAML parsing with limits, the
//! document checks, duplicate names, and the rendering of every error found (what a user
//! would see).
//!
//! The bytes are written to a file and loaded with `ordo::manifest::load`, as `-m` does;
//! text that is not UTF-8 is also parsed as its lossy conversion, so the parser sees it.
//!
//! Invariants: no panic, no hang; every error points at a line that exists in the text
//! (or at line 0/1 for whole-file errors) and names the file; every manifest kept has a
//! valid name.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ordo::diagnostic::Diagnostic;
use ordo::manifest::{Limits, Loaded, SourceFile, load, load_source, parse_one, valid_name};
use ordo::report::diagnostic::render;

/// One file per fuzzing process, rewritten for each input.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ordo-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        dir.join("fuzz.yaml")
    })
}

fn check(loaded: Loaded, text: &str) {
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
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("write the input");
    let loaded = load(std::slice::from_ref(path), &Limits::default());
    let text = String::from_utf8_lossy(data);
    check(loaded, &text);
    if std::str::from_utf8(data).is_err() {
        let source = SourceFile::new("fuzz.yaml", ".", text.as_ref());
        let mut loaded = Loaded::default();
        load_source(&source, &Limits::default(), &mut loaded);
        check(loaded, &text);
    }
    // `yaml::parse` in handlers goes through the same parser, one document.
    let _ = parse_one(&text, &Limits::default());
});
