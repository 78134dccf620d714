//! `ordo lint [PATH...]`: the load-time check of handler scripts, on its own.
//!
//! Each handler is loaded as a run would load it (compiled, its top level run for
//! `register` and `permissions`) and checked by [`crate::handler::lint`]; nothing else is
//! read and nothing runs. Without a PATH, the handler directories a run would use (the
//! caller has located the project and filled in `-m`/`-s` from it).

use std::collections::HashMap;
use std::io::Write;

use serde_json::json;

use crate::cli::{Config, OutputFormat};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::handler::{Found, HandlerRegistry, check_module, discover};
use crate::manifest::Limits;
use crate::script::ImportResolver;

pub(super) fn lint(config: &Config) -> Result<(), Error> {
    let mut errors = Vec::new();
    let found: Vec<Found> = if config.lint_paths.is_empty() {
        let dirs = config.src.clone().unwrap_or_else(|| {
            let loaded = crate::manifest::load_except(
                &config.manifests,
                &config.values.files,
                &Limits::default(),
            );
            super::load::default_src(&loaded.files)
        });
        let dirs = super::trees::handler_dirs(config, dirs);
        super::trees::discover(config, &dirs, &mut errors)
    } else {
        let mut found = Vec::new();
        for path in &config.lint_paths {
            if path.is_dir() {
                found.extend(discover(std::slice::from_ref(path), &mut errors));
            } else if path.extension().is_none_or(|e| e != "rhai") {
                let shown = path.display().to_string();
                errors.push(crate::handler::HandlerError {
                    location: crate::manifest::Location::new(
                        &crate::manifest::SourceFile::new(shown.clone(), ".", ""),
                        crate::manifest::Mark::default(),
                    ),
                    kind: crate::handler::HandlerErrorKind::NotAScript { path: shown },
                });
            } else {
                found.extend(Found::file(path, &mut errors));
            }
        }
        found
    };
    // Directory links not followed are notes, as for a run; they stop nothing.
    let (not_followed, fatal): (Vec<_>, Vec<_>) = errors
        .into_iter()
        .partition(crate::handler::HandlerError::is_warning);
    let mut errors = fatal;
    let mut warnings: Vec<Diagnostic> = Vec::new();
    for d in not_followed.into_iter().map(|e| e.into_diagnostic()) {
        if !warnings.iter().any(|w| w.message == d.message) {
            warnings.push(d.as_warning());
        }
    }
    super::warn(config, &warnings);
    let roots: HashMap<_, _> = found.iter().map(Found::import_root).collect();
    let engine = crate::stdlib::engine(&config.limits, ImportResolver::new(roots));
    // Files in a `lib` directory (`ordo lint lib`) are modules: checked as an import sees
    // them, not as handlers that register nothing.
    let (modules, handlers): (Vec<Found>, Vec<Found>) = found.into_iter().partition(|f| {
        std::path::Path::new(f.source.name())
            .parent()
            .is_some_and(|d| d.components().any(|c| c.as_os_str() == "lib"))
    });
    HandlerRegistry::load(&engine, &handlers, &config.limits, &mut errors);
    for m in &modules {
        check_module(&engine, &m.source, &config.limits, &mut errors);
    }
    let found: Vec<Found> = handlers.into_iter().chain(modules).collect();
    if !errors.is_empty() {
        return Err(Error::Input(
            errors
                .into_iter()
                .map(|e| e.into_diagnostic())
                .collect::<Vec<Diagnostic>>(),
        ));
    }
    let names: Vec<&str> = found.iter().map(|f| f.source.name()).collect();
    let mut out = std::io::stdout().lock();
    if config.output == OutputFormat::Human {
        let noun = if names.len() == 1 {
            "handler"
        } else {
            "handlers"
        };
        let _ = writeln!(out, "checked {} {noun}: no problems", names.len());
    } else {
        let report = json!({"command": "lint", "ok": true, "handlers": names});
        let _ = writeln!(out, "{report}");
    }
    Ok(())
}
