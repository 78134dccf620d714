//! `ordo explain KIND[.FIELD]`: a kind's `spec` fields from its handler's schema (DESIGN
//! §11), as `kubectl explain` shows a resource's.
//!
//! It loads only handlers (those a run would: `-s`, the project's, the bundled ones), so it
//! works while the manifests are still wrong, which is when it is needed. A handler of
//! another kind that fails to load does not stop it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;

use serde_json::json;

use crate::cli::{Config, OutputFormat};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Error;
use crate::handler::schema::{Field, Schema, flow_text, type_cell, type_words};
use crate::handler::{Found, HandlerRegistry};
use crate::manifest::Limits;
use crate::script::ImportResolver;

pub(super) fn explain(config: &Config) -> Result<(), Error> {
    let (kind, field) = split_target(&config.explain);
    if let Some(path) = field
        && path.split('.').any(|p| p.is_empty() || p == "[]")
    {
        return Err(Error::Input(vec![
            Diagnostic::error(format!(
                "`{}` has an empty field name in its path",
                printable(&config.explain)
            ))
            .help(format!(
                "name a kind (`ordo explain {kind}`) or a field by its dotted path (`{kind}.a.b`, `{kind}.list[].c`)"
            )),
        ]));
    }
    let mut errors = Vec::new();
    let dirs = config.src.clone().unwrap_or_else(|| {
        let loaded = crate::manifest::load_except(
            &config.manifests,
            &config.values.files,
            &Limits::default(),
        );
        let dirs = super::load::default_src(&loaded.files);
        if dirs.is_empty() {
            // No manifest yet (explain is for writing them): the `-m` directories.
            config
                .manifests
                .iter()
                .filter(|p| p.is_dir())
                .cloned()
                .collect()
        } else {
            dirs
        }
    });
    let dirs = super::trees::handler_dirs(config, dirs);
    let found: Vec<Found> = super::trees::discover(config, &dirs, &mut errors);
    let roots = found.iter().map(Found::import_root).collect();
    let engine = crate::stdlib::engine(&config.limits, ImportResolver::new(roots));
    let registry = HandlerRegistry::load(&engine, &found, &config.limits, &mut errors);

    // Every handler serving the kind; a user handler hides the bundled one, as in a run.
    let mut serving: Vec<(usize, String)> = Vec::new();
    for (index, h) in registry.handlers().iter().enumerate() {
        for r in &h.registrations {
            if r.full_kind() == kind {
                serving.push((index, r.range.text.clone()));
            }
        }
    }
    if serving.iter().any(|&(h, _)| !registry.get(h).bundled) {
        serving.retain(|&(h, _)| !registry.get(h).bundled);
    }
    if serving.is_empty() {
        let known: BTreeSet<String> = registry
            .handlers()
            .iter()
            .flat_map(|h| h.registrations.iter().map(|r| r.full_kind()))
            .collect();
        let hint = did_you_mean(kind, known.iter().map(String::as_str))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let mut d = Diagnostic::error(format!("no handler serves kind `{kind}`{hint}"))
            .note(format!(
                "kinds served: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ))
            .help(
                "handlers are found as a run finds them: `-s DIR`, the project's, the bundled ones",
            );
        let broken: Vec<Diagnostic> = errors
            .into_iter()
            .filter(|e| !e.is_warning())
            .map(|e| e.into_diagnostic())
            .collect();
        if !broken.is_empty() {
            d = d.note("a handler failed to load (see above); it may be the one for this kind");
        }
        return Err(Error::Input(broken.into_iter().chain([d]).collect()));
    }

    let mut entries = Vec::new();
    let mut human = String::new();
    // A field is explained in every version range that has it; an error only if none does.
    let mut missing = Vec::new();
    for (h, range) in &serving {
        registry.prepare(&engine, &config.limits, *h);
        let handler = registry.get(*h);
        let schema = match handler.compiled() {
            Ok(c) => c.schema.clone(),
            Err(e) => {
                return Err(Error::Input(vec![
                    Diagnostic::error(e).note(format!("in {}", handler.name())),
                ]));
            }
        };
        let header = format!(
            "KIND:     {kind}\nVERSIONS: {range}\nHANDLER:  {}\n",
            handler.name()
        );
        let Some(schema) = schema else {
            human.push_str(&header);
            let _ = writeln!(
                human,
                "\nThis handler declares no schema: its spec is free-form (see its source).\n"
            );
            entries.push(json!({"file": handler.name(), "range": range, "schema": null}));
            continue;
        };
        match field {
            None => {
                human.push_str(&header);
                let _ = writeln!(human, "\nFIELDS (spec):");
                fields_text(&schema, 1, &mut human);
                human.push('\n');
                entries.push(
                    json!({"file": handler.name(), "range": range, "schema": schema.to_json()}),
                );
            }
            Some(path) => {
                let Some(f) = schema.find(path) else {
                    missing.push(unknown_field(kind, path, &schema));
                    continue;
                };
                human.push_str(&header);
                let _ = writeln!(human, "\nFIELD:    spec.{path}");
                describe(f, &mut human);
                if let Some(nested) = &f.fields {
                    let _ = writeln!(human, "\nFIELDS:");
                    fields_text(nested, 1, &mut human);
                }
                if let Some(nested) = f.items.as_ref().and_then(|i| i.fields.as_ref()) {
                    let _ = writeln!(human, "\nFIELDS (of each element):");
                    fields_text(nested, 1, &mut human);
                }
                human.push('\n');
                entries.push(json!({"file": handler.name(), "range": range, "field": path, "schema": f.to_json()}));
            }
        }
    }
    if entries.is_empty() && !missing.is_empty() {
        // The range whose fields come nearest: the first with a "did you mean".
        let at = missing.iter().position(|(_, near)| *near).unwrap_or(0);
        return Err(Error::Input(
            missing
                .into_iter()
                .skip(at)
                .take(1)
                .map(|(d, _)| d)
                .collect(),
        ));
    }
    let mut out = std::io::stdout().lock();
    if config.output == OutputFormat::Human {
        let _ = write!(out, "{}", human.trim_end());
        let _ = writeln!(out);
    } else {
        let report = json!({"command": "explain", "ok": true, "kind": kind, "handlers": entries});
        let _ = writeln!(out, "{report}");
    }
    Ok(())
}

/// `KIND[.FIELD]`; a kind's group may hold dots (`example.com/Bucket.size`).
fn split_target(target: &str) -> (&str, Option<&str>) {
    let from = target.rfind('/').map_or(0, |i| i + 1);
    match target.get(from..).and_then(|rest| rest.find('.')) {
        Some(dot) => {
            let at = from + dot;
            (target.get(..at).unwrap_or(target), target.get(at + 1..))
        }
        None => (target, None),
    }
}

/// The error for a field `schema` does not have, and whether it has a "did you mean".
fn unknown_field(kind: &str, path: &str, schema: &Schema) -> (Diagnostic, bool) {
    // The deepest part that exists, and the names beside the part that does not.
    let parts: Vec<&str> = path.split('.').collect();
    let mut known = String::new();
    let mut level = Some(schema);
    for (i, part) in parts.iter().enumerate() {
        let Some(s) = level else { break };
        let name = part.strip_suffix("[]").unwrap_or(part);
        match s.fields.get(name) {
            Some(f) => {
                known = parts.get(..=i).map(|p| p.join(".")).unwrap_or_default();
                level = if part.ends_with("[]") {
                    f.items.as_ref().and_then(|x| x.fields.as_ref())
                } else {
                    f.fields.as_ref()
                };
            }
            None => {
                let hint = did_you_mean(name, s.fields.keys().map(String::as_str))
                    .map(|n| {
                        let full = if known.is_empty() {
                            n.to_string()
                        } else {
                            format!("{known}.{n}")
                        };
                        format!("; did you mean `{kind}.{full}`?")
                    })
                    .unwrap_or_default();
                let names: Vec<&str> = s.fields.keys().map(String::as_str).collect();
                let at = if known.is_empty() {
                    "spec".to_string()
                } else {
                    format!("spec.{known}")
                };
                let near = !hint.is_empty();
                let d = Diagnostic::error(format!("`{kind}` has no field `{path}`{hint}"))
                    .note(format!("the fields of `{at}`: {}", names.join(", ")));
                return (d, near);
            }
        }
    }
    let at = if known.is_empty() {
        "spec".to_string()
    } else {
        format!("spec.{known}")
    };
    let d = Diagnostic::error(format!("`{kind}` has no field `{path}`"))
        .note(format!("`{at}` declares no fields of its own"));
    (d, false)
}

/// One line per field, nested fields indented below theirs.
fn fields_text(schema: &Schema, depth: usize, out: &mut String) {
    let width = schema.fields.keys().map(|k| k.len()).max().unwrap_or(0);
    for (name, f) in &schema.fields {
        let indent = "  ".repeat(depth);
        let _ = writeln!(out, "{indent}{name:<width$}  {}", summary(f));
        if let Some(about) = &f.about {
            for line in about_lines(about) {
                let _ = writeln!(out, "{indent}{:<width$}    {line}", "");
            }
        }
        if let Some(nested) = &f.fields {
            fields_text(nested, depth + 1, out);
        }
        if let Some(nested) = f.items.as_ref().and_then(|i| i.fields.as_ref()) {
            let _ = writeln!(out, "{indent}  (each element:)");
            fields_text(nested, depth + 1, out);
        }
    }
}

/// `string, required` / `int, default 8080` / `string, one of: a, b; default a`.
fn summary(f: &Field) -> String {
    let mut parts = vec![if f.enumeration.is_some() {
        format!(
            "{}, one of: {}",
            type_words(f),
            type_cell(f).replace("\\|", "|").replace('`', "")
        )
    } else {
        type_words(f)
    }];
    if f.required {
        parts.push("required".into());
    }
    if let Some(d) = &f.default {
        parts.push(format!("default {}", flow_text(d)));
    }
    parts.join(", ")
}

fn describe(f: &Field, out: &mut String) {
    let _ = writeln!(out, "TYPE:     {}", type_cell(f).replace("\\|", "|"));
    let _ = writeln!(out, "REQUIRED: {}", if f.required { "yes" } else { "no" });
    if let Some(d) = &f.default {
        let _ = writeln!(out, "DEFAULT:  {}", flow_text(d));
    }
    if let Some(e) = &f.enumeration {
        let values: Vec<String> = e.iter().map(flow_text).collect();
        let _ = writeln!(out, "ONE OF:   {}", values.join(", "));
    }
    if let Some(a) = &f.about {
        let _ = writeln!(out);
        for line in about_lines(a) {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// A handler's `about` text as lines for the terminal: split at its line breaks, each
/// line [`printable`] (a line break in an `about` never breaks the layout).
fn about_lines(about: &str) -> Vec<String> {
    about.trim_end().lines().map(printable).collect()
}

/// Text from a handler for the terminal: a tab as a space, other control characters as
/// their Unicode pictures (`\x01` as `␁`), so none reaches the terminal raw.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            '\u{7f}' => '\u{2421}',
            c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('?'),
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}
