//! `ordo state list | show NAME | rm NAME | unlock [--force]`.

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
                let _ = writeln!(
                    out,
                    "{}",
                    json!({"environment": args.env, "manifests": list})
                );
                return Ok(());
            }
            if entries.is_empty() {
                let _ = writeln!(
                    out,
                    "no manifests recorded for environment `{}` in {}",
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
                return Err(Error::State(Box::new(Diagnostic::error(format!(
                    "no manifest `{name}` is recorded for environment `{}` in {}",
                    args.env,
                    path.display()
                )))));
            };
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
                &json!({"environment": args.env, "manifest": manifest}),
            )
            .unwrap_or_default();
            let _ = writeln!(out, "{}", crate::exec::secrets::masked(&text));
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
                return Err(Error::State(Box::new(Diagnostic::error(format!(
                    "no manifest `{name}` is recorded for environment `{}` in {}",
                    args.env,
                    path.display()
                )))));
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
            let _ = writeln!(
                out,
                "forgot `{name}` in environment `{}` (nothing was deleted)",
                args.env
            );
        }
        StateAction::Unlock { force } => {
            let message = unlock(&store.lock_path(), force).map_err(|e| {
                let help = "stop that run first; `--force` removes the lock anyway, which lets two runs write at once";
                Error::State(Box::new(Diagnostic::error(e.to_string()).help(help)))
            })?;
            let _ = writeln!(out, "{message}");
        }
    }
    Ok(())
}
