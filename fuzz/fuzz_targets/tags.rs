//! Tag resolution on arbitrary YAML: the file is loaded as manifests (`kind: Values`
//! documents become values), then `!Value`, `!Env`, `!Sub` and `!Variable` are resolved
//! at load (`resolve_static`) and at run time (`resolve_deferred`), the way `ordo apply`
//! does, and every error is rendered.
//!
//! Invariants: no panic, no hang; a manifest whose static pass found no error and that
//! has no `!Variable` left converts without a missing variable.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use ordo::diagnostic::Diagnostic;
use ordo::manifest::{
    FoundVariable, Limits, Loaded, SourceFile, StaticContext, StaticResult, ValueSources,
    collect_values, load_source, resolve_deferred, resolve_static,
};
use ordo::report::diagnostic::render;

const ENV: &str = "dev";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("fuzz.yaml", ".", text.as_ref());
    let mut loaded = Loaded::default();
    load_source(&source, &Limits::default(), &mut loaded);
    let mut errors = Vec::new();
    let sources = ValueSources {
        files: Vec::new(),
        sets: vec![
            "port=8080".into(),
            "list=[1, 2".into(),
            "host=example.com".into(),
        ],
    };
    let values = collect_values(&mut loaded.manifests, &sources, ENV, &mut errors);
    let mut manifests = loaded.manifests;

    let names: HashMap<String, usize> = manifests
        .iter()
        .enumerate()
        .filter(|(_, m)| m.metadata.in_environment(ENV))
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    let mut all_names: HashMap<String, Vec<String>> = HashMap::new();
    for m in &manifests {
        all_names
            .entry(m.name.clone())
            .or_default()
            .extend(m.metadata.environments.clone().unwrap_or_default());
    }
    let ctx = StaticContext {
        values: &values,
        env: ENV,
        action: "apply",
        names: &names,
        all_names: &all_names,
    };
    for m in manifests
        .iter_mut()
        .filter(|m| m.metadata.in_environment(ENV))
    {
        let before = errors.len();
        let mut result = StaticResult::default();
        let file = m.file.clone();
        resolve_static(&mut m.spec, &file, &m.name, &ctx, &mut result, &mut errors);
        resolve_static(
            &mut m.metadata_node,
            &file,
            &m.name,
            &ctx,
            &mut result,
            &mut errors,
        );
        // Variables whose producer's name has an even length are "set" at run time.
        let lookup = |name: &str| {
            (name.len() % 2 == 0).then(|| FoundVariable {
                value: rhai::Dynamic::from(name.to_string()),
            })
        };
        let spec = resolve_deferred(&m.spec, &lookup);
        let _ = resolve_deferred(&m.metadata_node, &lookup);
        if errors.len() == before && !result.deferred {
            assert!(
                spec.is_ok(),
                "{}: nothing deferred, yet {:?}",
                m.name,
                spec.err()
            );
        }
    }
    for e in loaded.errors.into_iter().chain(errors) {
        render(&Diagnostic::from(e), false);
    }
});
