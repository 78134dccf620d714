//! `ordo sources fetch [ADDRESS…] | update [NAME…] | list | verify`: the project's
//! ordo.lock and the cache of sources (DESIGN.md §15).
//!
//! The lock lives at the project root (section 8). `fetch` resolves the addresses given on
//! the command line (each named by its own text), else the project file's `spec.sources`
//! (by their names), else every source the lock lists, and pins them; `update` re-resolves refs and moves the pins; `list` and `verify` read the
//! lock and the cache. Every source error is exit code 3.

use serde_json::json;

use crate::cli::{OutputFormat, SourcesAction, SourcesArgs};
use crate::diagnostic::Diagnostic;
use crate::error::exit;
use crate::project::Project;
use crate::report::diagnostic;
use crate::sources::{Address, LOCK_FILE, SourceError, Sources, VerifyStatus};

/// Runs one `sources` command; `Err` carries the exit code.
pub(super) fn sources(args: &SourcesArgs) -> Result<(), i32> {
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let json = matches!(args.output, Some(OutputFormat::Json | OutputFormat::Jsonl));
    let project = match Project::locate(args.manifests.first().map(std::path::PathBuf::as_path)) {
        Ok(p) => p,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{}\n", diagnostic::render(d, color));
            }
            return Err(exit::INPUT);
        }
    };
    let lock_path = project.root.join(LOCK_FILE);
    // An error about a source of the project file points at its `url:` there.
    let declared: Vec<(String, String, crate::manifest::Location)> = project
        .file
        .as_ref()
        .map(|f| {
            f.sources
                .iter()
                .map(|s| (s.name.clone(), s.url.clone(), s.url_location.clone()))
                .collect()
        })
        .unwrap_or_default();
    let fail = |e: &SourceError| {
        let at = declared
            .iter()
            .find(|(name, _, _)| *name == e.name)
            .map(|(_, _, at)| at.clone());
        let d = Diagnostic::error(e.to_string())
            .help_opt(e.help.clone())
            .at_opt(at);
        eprintln!("{}", diagnostic::render(&d, color));
        if json {
            println!(
                "{}",
                json!({"ok": false, "errors": [{"message": e.to_string(), "help": e.help, "source": e.name}]})
            );
        }
        exit::INPUT
    };
    let mut sources = Sources::open(lock_path, None, args.source.policy()).map_err(|e| fail(&e))?;
    match &args.action {
        SourcesAction::Fetch { addresses } => {
            let declared: Vec<(String, String)> = declared
                .iter()
                .map(|(n, u, _)| (n.clone(), u.clone()))
                .collect();
            fetch(&mut sources, addresses, &declared, json).map_err(|e| fail(&e))
        }
        SourcesAction::Update { names } => {
            // Without names, in a project with a project file, the entries no `spec.sources`
            // entry names (addresses once given to -m/-s/-f/-i) are dropped: they are pinned
            // again, at what their ref names then, the next time they are used.
            let mut dropped = Vec::new();
            if names.is_empty() && project.file.is_some() {
                let stale: Vec<String> = sources
                    .locked()
                    .map(|(name, _)| name.to_string())
                    .filter(|name| !declared.iter().any(|(d, _, _)| d == name))
                    .collect();
                for name in stale {
                    sources.forget(&name);
                    dropped.push(name);
                }
            }
            let moved = sources.update(names).map_err(|e| fail(&e))?;
            sources.save().map_err(|e| fail(&e))?;
            if json {
                let moved: Vec<_> = moved
                    .iter()
                    .map(|m| json!({"name": m.name, "from": m.from.to_string(), "to": m.to.to_string()}))
                    .collect();
                println!(
                    "{}",
                    json!({"ok": true, "moved": moved, "dropped": dropped})
                );
                return Ok(());
            }
            for name in &dropped {
                println!("dropped {name}: no `spec.sources` entry names it");
            }
            if moved.is_empty() {
                println!("nothing moved");
            } else {
                for m in &moved {
                    println!("moved {}: {} -> {}", m.name, m.from.short(), m.to.short());
                }
            }
            Ok(())
        }
        SourcesAction::List => {
            let listed = sources.list();
            if json {
                let rows: Vec<_> = listed
                    .iter()
                    .map(|l| {
                        json!({"name": l.name, "url": l.url, "pin": l.pin.to_string(), "tree": l.tree_hash, "cached": l.cached})
                    })
                    .collect();
                println!(
                    "{}",
                    json!({"ok": true, "lock": crate::paths::shown(sources.lock_path()), "sources": rows})
                );
            } else if listed.is_empty() {
                println!(
                    "{} lists no sources",
                    crate::paths::shown(sources.lock_path())
                );
            } else {
                for l in &listed {
                    let cached = if l.cached { "cached" } else { "not cached" };
                    println!("{}  {}  {cached}  {}", l.name, l.pin.short(), l.url);
                }
            }
            Ok(())
        }
        SourcesAction::Verify => {
            let verified = sources.verify();
            let bad = verified.iter().filter(|v| {
                matches!(
                    v.status,
                    VerifyStatus::Modified { .. } | VerifyStatus::Unreadable(_)
                )
            });
            let bad = bad.count();
            if json {
                let rows: Vec<_> = verified
                    .iter()
                    .map(|v| {
                        let (status, expected, found, error) = match &v.status {
                            VerifyStatus::Intact => ("intact", None, None, None),
                            VerifyStatus::NotCached => ("not cached", None, None, None),
                            VerifyStatus::Modified { expected, found } => {
                                ("modified", Some(expected), Some(found), None)
                            }
                            VerifyStatus::Unreadable(e) => ("unreadable", None, None, Some(e)),
                        };
                        json!({"name": v.name, "url": v.url, "status": status, "expected": expected, "found": found, "error": error})
                    })
                    .collect();
                println!("{}", json!({"ok": bad == 0, "sources": rows}));
            } else {
                for v in &verified {
                    match &v.status {
                        VerifyStatus::Intact => println!("intact      {}", v.name),
                        VerifyStatus::NotCached => {
                            println!("not cached  {} (`ordo sources fetch` caches it)", v.name)
                        }
                        VerifyStatus::Modified { expected, found } => println!(
                            "MODIFIED    {}: ordo.lock records {expected}, the cached tree hashes to {found}",
                            v.name
                        ),
                        VerifyStatus::Unreadable(e) => println!("UNREADABLE  {}: {e}", v.name),
                    }
                }
            }
            if bad == 0 {
                Ok(())
            } else {
                eprintln!(
                    "error: {bad} cached tree{} modified; the next run extracts {} again (`--offline` refuses {})",
                    if bad == 1 { " was" } else { "s were" },
                    if bad == 1 { "it" } else { "them" },
                    if bad == 1 { "it" } else { "them" },
                );
                Err(exit::INPUT)
            }
        }
    }
}

/// `sources fetch`: the addresses given, else the project file's sources (`declared`, name
/// and address), else everything the lock lists.
fn fetch(
    sources: &mut Sources,
    addresses: &[String],
    declared: &[(String, String)],
    json: bool,
) -> Result<(), SourceError> {
    let wanted: Vec<(String, Address)> = if addresses.is_empty() && !declared.is_empty() {
        declared
            .iter()
            .map(|(name, url)| {
                Address::parse(url)
                    .map(|a| (name.clone(), a))
                    .map_err(|e| e.named(name, url))
            })
            .collect::<Result<_, _>>()?
    } else if addresses.is_empty() {
        sources
            .locked()
            .map(|(name, url)| {
                Address::parse(url)
                    .map(|a| (name.to_string(), a))
                    .map_err(|e| e.named(name, url))
            })
            .collect::<Result<_, _>>()?
    } else {
        addresses
            .iter()
            .map(|text| Address::parse(text).map(|a| (a.to_string(), a)))
            .collect::<Result<_, _>>()?
    };
    let mut rows = Vec::new();
    for (name, address) in &wanted {
        let tree = sources.materialize(name, address)?;
        if !json {
            println!("{name}  {}  {}", tree.pin.short(), tree.tree_hash);
            if let Some(note) = &tree.note {
                println!("  note: {note}");
            }
        }
        rows.push(json!({"name": name, "url": address.to_string(), "pin": tree.pin.to_string(), "tree": tree.tree_hash, "root": tree.root, "note": tree.note}));
    }
    sources.save()?;
    if json {
        println!("{}", json!({"ok": true, "sources": rows}));
    } else if wanted.is_empty() {
        println!(
            "{} lists no sources; give addresses to fetch",
            crate::paths::shown(sources.lock_path())
        );
    }
    Ok(())
}
