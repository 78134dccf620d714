//! `ordo state list | show NAME | history NAME | rm NAME | unlock [--force]`.

use std::io::Write;

use serde_json::json;

use crate::cli::{OutputFormat, StateAction, StateArgs};
use crate::diagnostic::Diagnostic;
use crate::diagnostic::did_you_mean;
use crate::error::Error;
use crate::project::{DEFAULT_ENV, Project};
use crate::report::ManifestJson;
use crate::state::{Record, State, StateErrorKind, StateLock, StateStore, unlock};

/// A recorded (canonical) path as shown to the user: relative to the current directory
/// when below it.
fn shown(recorded: &str) -> String {
    crate::paths::shown(std::path::Path::new(recorded))
}

/// `-e` must name `default`, an environment the state records, or one the project file
/// lists: a typo is an input error, not an empty list.
fn check_env(
    env: &str,
    state: &State,
    project: Option<&Project>,
    path: &std::path::Path,
) -> Result<(), Error> {
    let listed: Vec<&str> = project
        .and_then(Project::environments)
        .map(|l| l.iter().map(|e| e.name.as_str()).collect())
        .unwrap_or_default();
    if env == DEFAULT_ENV || state.environments.contains_key(env) || listed.contains(&env) {
        return Ok(());
    }
    let known: Vec<&str> = state
        .environments
        .keys()
        .map(String::as_str)
        .chain(listed)
        .collect();
    let hint = did_you_mean(env, known.iter().copied())
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    let recorded = state
        .environments
        .keys()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let help = if recorded.is_empty() {
        format!("the state file {} records no environment", path.display())
    } else {
        format!("the state file {} records {recorded}", path.display())
    };
    Err(Error::Input(vec![
        Diagnostic::error(format!("-e: unknown environment `{env}`{hint}")).help(help),
    ]))
}

/// The error for `name`, which the state does not record for `env`: with the nearest
/// recorded name, or the environments that do record it.
fn not_recorded(name: &str, env: &str, state: &State, path: &std::path::Path) -> Error {
    let mut d = Diagnostic::error(format!(
        "no manifest `{name}` is recorded for environment `{env}` in {}",
        path.display()
    ));
    let here = state.env(env);
    let others: Vec<&str> = state
        .environments
        .iter()
        .filter(|(e, entries)| e.as_str() != env && entries.contains_key(name))
        .map(|(e, _)| e.as_str())
        .collect();
    if let Some(near) = here.and_then(|h| did_you_mean(name, h.keys().map(String::as_str))) {
        d = d.help(format!("did you mean `{near}`?"));
    } else if let Some(other) = others.first() {
        d = d.help(format!(
            "it is recorded for environment `{other}`: add `-e {other}`"
        ));
    }
    Error::State(Box::new(d))
}

/// For an environment the state records nothing for: the ones it does record, as a hint.
fn other_environments(env: &str, state: &State) -> Option<String> {
    let others: Vec<String> = state
        .environments
        .iter()
        .filter(|(e, entries)| e.as_str() != env && !entries.is_empty())
        .map(|(e, _)| format!("`-e {e}`"))
        .collect();
    (!others.is_empty()).then(|| format!("entries are recorded for {}", others.join(", ")))
}

/// A recorded entry for people: its facts, then `metadata`, `spec` and `variables` as YAML.
fn show_human(name: &str, env: &str, entry: &crate::state::Entry) -> String {
    use crate::script::convert::json_to_dynamic;
    let mut text = format!(
        "{name} ({} {}), environment `{env}`\n  file:     {}\n  handler:  {}\n  applied:  {}\n",
        entry.kind,
        entry.version,
        shown(&entry.file),
        shown(&entry.handler),
        entry.applied_at
    );
    if !entry.dependencies.is_empty() {
        text.push_str(&format!("  after:    {}\n", entry.dependencies.join(", ")));
    }
    for (key, raw) in [
        ("metadata", &entry.metadata),
        ("spec", &entry.spec),
        ("variables", &entry.variables),
    ] {
        let value: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
        let empty = value.as_object().is_some_and(serde_json::Map::is_empty) || value.is_null();
        if empty {
            text.push_str(&format!("{key}: {{}}\n"));
            continue;
        }
        let yaml = crate::stdlib::yaml::to_string(&json_to_dynamic(&value))
            .unwrap_or_else(|_| format!("{value}\n"));
        text.push_str(&format!("{key}:\n"));
        for line in yaml.lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    if !entry.secret_variables.is_empty() {
        text.push_str(&format!(
            "secret variables (not recorded): {}\n",
            entry.secret_variables.join(", ")
        ));
    }
    text
}

/// The first 12 hex digits of a recorded hash, without its `hmac-sha256:<key id>:` prefix
/// (`-` when none was recorded).
/// `text` from the state with each control character shown as `?`: the file may come with
/// a cloned project, and nothing in it reaches the terminal raw (as the rollback journal's
/// warning does).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn short_hash(hash: &str) -> String {
    let digest = hash.rsplit(':').next().unwrap_or_default();
    if digest.is_empty() {
        return "-".into();
    }
    digest.chars().take(12).collect()
}

fn fail(e: &StateErrorKind) -> Error {
    Error::State(Box::new(Diagnostic::error(e.to_string())))
}

pub(super) fn run_state(args: StateArgs) -> Result<(), Error> {
    let (project, path) = match args.state.clone() {
        Some(path) => (None, path),
        None => {
            let project = Project::locate(args.manifests.first().map(std::path::PathBuf::as_path))
                .map_err(Error::Input)?;
            let path = project.state_path();
            (Some(project), path)
        }
    };
    let path = std::path::PathBuf::from(crate::paths::shown(&path));
    let store = StateStore::new(path.clone());
    let json = matches!(args.output, Some(OutputFormat::Json | OutputFormat::Jsonl));
    let mut out = std::io::stdout().lock();
    match args.action {
        StateAction::List => {
            let state = store.read().map_err(|e| fail(&e))?;
            check_env(&args.env, &state, project.as_ref(), &path)?;
            let entries = state.env(&args.env).cloned().unwrap_or_default();
            if json {
                let list: Vec<_> = entries
                    .iter()
                    .map(|(name, e)| {
                        let mut entry = ManifestJson::loaded(
                            name,
                            &e.kind,
                            &e.version,
                            &shown(&e.handler),
                            "applied",
                        )
                        .to_json();
                        if let Some(fields) = entry.as_object_mut() {
                            fields.insert("file".into(), json!(shown(&e.file)));
                            fields.insert("applied_at".into(), json!(e.applied_at));
                        }
                        entry
                    })
                    .collect();
                let mut report = json!({"command": "state list", "environment": args.env, "ok": true, "manifests": list});
                if entries.is_empty()
                    && let (Some(hint), Some(fields)) = (
                        other_environments(&args.env, &state),
                        report.as_object_mut(),
                    )
                {
                    fields.insert("hint".into(), json!(hint));
                }
                let _ = writeln!(out, "{report}");
                return Ok(());
            }
            if entries.is_empty() {
                let hint = other_environments(&args.env, &state)
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "no manifests recorded for environment `{}` in {}{hint}",
                    args.env,
                    path.display()
                );
                return Ok(());
            }
            let width = entries.keys().map(String::len).max().unwrap_or(4).max(4);
            let _ = writeln!(
                out,
                "{:<width$}  {:<24}  {:<20}  FILE",
                "NAME", "KIND/VERSION", "APPLIED"
            );
            for (name, e) in &entries {
                let kind = format!("{}/{}", e.kind, e.version);
                let _ = writeln!(
                    out,
                    "{name:<width$}  {kind:<24}  {:<20}  {}",
                    e.applied_at,
                    shown(&e.file)
                );
            }
        }
        StateAction::Show { name } => {
            let state = store.read().map_err(|e| fail(&e))?;
            check_env(&args.env, &state, project.as_ref(), &path)?;
            let Some(entry) = state.env(&args.env).and_then(|e| e.get(&name)) else {
                return Err(not_recorded(&name, &args.env, &state, &path));
            };
            if !json {
                let text = show_human(&name, &args.env, entry);
                let _ = write!(out, "{}", crate::exec::secrets::masked(&text));
                return Ok(());
            }
            // The one manifest shape, then everything the state recorded.
            let mut manifest = ManifestJson::loaded(
                &name,
                &entry.kind,
                &entry.version,
                &shown(&entry.handler),
                "applied",
            )
            .to_json();
            if let (Some(fields), Ok(serde_json::Value::Object(recorded))) =
                (manifest.as_object_mut(), serde_json::to_value(entry))
            {
                for (key, value) in recorded {
                    fields.entry(key).or_insert(value);
                }
            }
            let text = serde_json::to_string_pretty(
                &json!({"command": "state show", "environment": args.env, "ok": true, "manifest": manifest}),
            )
            .unwrap_or_default();
            let _ = writeln!(out, "{}", crate::exec::secrets::masked(&text));
        }
        StateAction::History { name } => {
            let state = store.read().map_err(|e| fail(&e))?;
            check_env(&args.env, &state, project.as_ref(), &path)?;
            let Some(entry) = state.env(&args.env).and_then(|e| e.get(&name)) else {
                // An unknown name is a mistake in the input, like an unknown manifest.
                return Err(match not_recorded(&name, &args.env, &state, &path) {
                    Error::State(d) => Error::Input(vec![*d]),
                    other => other,
                });
            };
            let current = entry.revision;
            if json {
                let revisions: Vec<_> = entry
                    .revisions()
                    .map(|r| {
                        json!({
                            "revision": r.revision,
                            "applied_at": r.applied_at,
                            "spec_hash": r.spec_hash,
                            "kind": r.kind,
                            "version": r.version,
                            "handler": shown(&r.handler),
                            "handler_hash": r.handler_hash,
                            "masked": r.masked,
                            "current": r.revision == current,
                        })
                    })
                    .collect();
                let report = json!({"command": "state history", "environment": args.env, "ok": true, "name": name, "revisions": revisions});
                let _ = writeln!(out, "{report}");
                return Ok(());
            }
            let _ = writeln!(
                out,
                "{:<8}  {:<20}  {:<12}  {:<12}  KIND/VERSION",
                "REVISION", "APPLIED", "SPEC", "HANDLER"
            );
            for r in entry.revisions() {
                let number = if r.revision == current {
                    format!("{} *", r.revision)
                } else {
                    r.revision.to_string()
                };
                let _ = writeln!(
                    out,
                    "{number:<8}  {:<20}  {:<12}  {:<12}  {}/{}",
                    printable(&r.applied_at),
                    printable(&short_hash(&r.spec_hash)),
                    printable(&short_hash(&r.handler_hash)),
                    printable(&r.kind),
                    printable(&r.version)
                );
            }
            let _ = match entry.history.last() {
                Some(before) => writeln!(
                    out,
                    "* current; `ordo rollback {name}` applies revision {} again",
                    before.revision
                ),
                None => writeln!(out, "* current; no earlier revision is kept"),
            };
        }
        StateAction::Rm { name } => {
            let (_lock, warning) =
                StateLock::acquire(&store.lock_path(), "ordo state rm").map_err(|e| fail(&e))?;
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
            store.fold().map_err(|e| fail(&e))?;
            let state = store.read().map_err(|e| fail(&e))?;
            check_env(&args.env, &state, project.as_ref(), &path)?;
            if state.env(&args.env).is_none_or(|e| !e.contains_key(&name)) {
                return Err(not_recorded(&name, &args.env, &state, &path));
            }
            let mut journal = store.journal().map_err(|e| fail(&e))?;
            journal
                .append(&Record::Remove {
                    env: args.env.clone(),
                    name: name.clone(),
                })
                .map_err(|e| fail(&e))?;
            journal.sync().map_err(|e| fail(&e))?;
            store.fold().map_err(|e| fail(&e))?;
            let message = format!(
                "forgot `{name}` in environment `{}` (nothing was deleted)",
                args.env
            );
            if json {
                let report = json!({"command": "state rm", "environment": args.env, "ok": true, "message": message});
                let _ = writeln!(out, "{report}");
            } else {
                let _ = writeln!(out, "{message}");
            }
        }
        StateAction::Unlock { force } => {
            let message = unlock(&store.lock_path(), force).map_err(|e| {
                let help = "stop that run first; `--force` removes the lock anyway, and the run holding it stops before its next manifest";
                Error::State(Box::new(Diagnostic::error(e.to_string()).help(help)))
            })?;
            if json {
                let report = json!({"command": "state unlock", "ok": true, "message": message});
                let _ = writeln!(out, "{report}");
            } else {
                let _ = writeln!(out, "{message}");
            }
        }
    }
    Ok(())
}
