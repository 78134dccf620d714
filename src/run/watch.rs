//! `ordo watch`: the reconcile loop ([`crate::watch::Loop`]) driven with the machinery of
//! `ordo apply --keep-going` ([`super::runs::run_with`]).
//!
//! [`ProjectDriver`] is the loop's [`Driver`]: it locates the project and loads its inputs
//! (again after a change, from the paths as given on the command line), keeps the last
//! world that loaded — its engine and compiled handlers serve every cycle until the inputs
//! change — and runs one cycle as one `apply` with the loop's gate, its stop flag and its
//! cycle number on every JSON line.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::load::World;
use super::runs::{Hooks, Ran, run_with};
use crate::cli::Config;
use crate::error::Error;
use crate::events::{EventSink, secrets::masked};
use crate::exec::Gate;
use crate::manifest::Action;
use crate::watch::{Driver, Loaded, Loop, RunOutcome, Server, StepResult, listen_address};

/// Runs `ordo watch`; `Ok` holds the exit code.
pub(super) fn watch(config: &mut Config) -> Result<i32, Error> {
    let mut driver = ProjectDriver {
        given: Given::of(config),
        config,
        world: None,
        project_file: None,
    };
    let watch = Loop::new(driver.config.watch.clone());
    let server = listen(&driver, &watch)?;
    let code = watch.run(&mut driver);
    if let Some(server) = server {
        server.stop();
    }
    Ok(code)
}

/// Starts the endpoints when `--listen` asks for them, on the loop's board and reconcile
/// trigger, and says where on stderr (`-o json`: a `listening` event). A non-loopback
/// address without `--listen-any` is a usage error (exit 2); an address that cannot be
/// bound (in use, not this machine's) fails before the first cycle (exit 1).
fn listen(driver: &ProjectDriver<'_>, watch: &Loop) -> Result<Option<Server>, Error> {
    let request = &driver.config.watch;
    let Some(text) = &request.listen else {
        return Ok(None);
    };
    let addr = listen_address(text, request.listen_any).map_err(|e| Error::Usage(e.to_string()))?;
    let trigger = watch.reconcile_trigger();
    let server = Server::start(addr, watch.board(), Arc::new(trigger))
        .map_err(|e| Error::Internal(format!("cannot listen on `{addr}`: {e}")))?;
    let bound = server.local_addr();
    let mut fields = serde_json::Map::new();
    fields.insert("address".into(), serde_json::json!(bound.to_string()));
    driver.emit(
        0,
        &crate::events::Event::Watch {
            event: "listening",
            message: format!(
                "serving http://{bound}: GET /livez /readyz /status /metrics, POST /reconcile"
            ),
            fields,
        },
    );
    Ok(Some(server))
}

/// The input paths as the command line gave them: the project fills in the rest each time
/// the inputs load, so a changed `ordo.yaml` counts.
struct Given {
    manifests: Vec<PathBuf>,
    src: Option<Vec<PathBuf>>,
    values: Vec<PathBuf>,
    inventories: Vec<PathBuf>,
    state: Option<PathBuf>,
}

impl Given {
    fn of(config: &Config) -> Given {
        Given {
            manifests: config.manifests.clone(),
            src: config.src.clone(),
            values: config.values.files.clone(),
            inventories: config.inventories.clone(),
            state: config.state.clone(),
        }
    }

    fn restore(&self, config: &mut Config) {
        config.manifests.clone_from(&self.manifests);
        config.src.clone_from(&self.src);
        config.values.files.clone_from(&self.values);
        config.inventories.clone_from(&self.inventories);
        config.state.clone_from(&self.state);
    }
}

/// Per manifest (as the state names it), a digest of what it is to become: its kind,
/// version, spec and metadata as written, and its handler's hash. The loop ends the
/// backoff of a manifest whose digest changed.
fn fingerprints(world: &World) -> std::collections::HashMap<String, String> {
    use crate::handler::schema::node_json;
    world
        .manifests
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let handler = world
                .handlers
                .get(i)
                .map(|&h| world.registry.get(h).hash.as_str())
                .unwrap_or_default();
            let text = serde_json::json!([
                m.kind,
                m.version,
                node_json(&m.spec),
                node_json(&m.metadata_node),
                handler,
            ])
            .to_string();
            (m.name.clone(), crate::digest::sha256_hex(text.as_bytes()))
        })
        .collect()
}

/// The loop's driver over one project.
struct ProjectDriver<'c> {
    config: &'c mut Config,
    given: Given,
    /// The last inputs that loaded.
    world: Option<World>,
    project_file: Option<PathBuf>,
}

impl ProjectDriver<'_> {
    /// An error as one masked text: input diagnostics rendered with their file:line.
    fn text(&self, e: &Error) -> String {
        let text = match e {
            Error::Input(diagnostics) => diagnostics
                .iter()
                .map(|d| super::diagnostic::render(d, self.config.color_err))
                .collect::<Vec<_>>()
                .join("\n\n"),
            Error::State(d) => super::diagnostic::render(d, self.config.color_err),
            other => other.to_string(),
        };
        masked(&text)
    }
}

impl Driver for ProjectDriver<'_> {
    fn load(&mut self) -> Result<Loaded, String> {
        self.given.restore(self.config);
        let project = super::locate_project(self.config).map_err(|e| self.text(&e))?;
        let world = super::load::load_reusing(self.config, &project, self.world.as_ref())
            .map_err(|e| self.text(&e))?;
        let handlers_compiled = self
            .world
            .as_ref()
            .is_none_or(|last| !Arc::ptr_eq(&last.registry, &world.registry));
        self.project_file = Some(project.root.join("ordo.yaml")).filter(|f| f.is_file());
        let fingerprints = fingerprints(&world);
        self.world = Some(world);
        Ok(Loaded {
            handlers_compiled,
            fingerprints,
        })
    }

    fn inputs(&self) -> Vec<PathBuf> {
        let c = &self.config;
        c.manifests
            .iter()
            .chain(c.src.iter().flatten())
            .chain(&c.values.files)
            .chain(&c.inventories)
            .chain(&self.project_file)
            .cloned()
            .collect()
    }

    fn run(&mut self, cycle: u64, gate: &dyn Gate, cancel: &Arc<AtomicBool>) -> RunOutcome {
        let Some(world) = &self.world else {
            return RunOutcome::Failed("the inputs have never loaded".into());
        };
        let hooks = Hooks {
            cancel: Some(Arc::clone(cancel)),
            gate: Some(gate),
            cycle: Some(cycle),
            skip_if_locked: true,
        };
        match run_with(self.config, world, Action::Apply, &hooks) {
            Ok(Ran::Done { report, steps }) => RunOutcome::Ran {
                steps: steps
                    .into_iter()
                    .zip(report.outcomes)
                    .map(|(step, outcome)| {
                        let outcome = outcome.unwrap_or_else(|| crate::exec::Outcome {
                            status: crate::events::Status::Skipped,
                            duration: std::time::Duration::ZERO,
                            error: None,
                            reason: None,
                            resolved: None,
                            diff: None,
                            applied: false,
                        });
                        StepResult {
                            name: step.name,
                            host: step.host,
                            baseline: step.baseline,
                            status: outcome.status,
                            reason: outcome.reason.as_deref().map(masked),
                            error: outcome.error.map(|f| masked(&f.line)),
                        }
                    })
                    .collect(),
                interrupted: report.interrupted,
            },
            Ok(Ran::Locked(e)) => RunOutcome::Locked(masked(&e.to_string())),
            Err(e) => RunOutcome::Failed(self.text(&e)),
        }
    }

    fn emit(&self, cycle: u64, event: &crate::events::Event) {
        let events = EventSink::new(super::reporter_in(
            self.config,
            Some(cycle).filter(|&c| c > 0),
        ));
        events.emit(event);
        events.finish();
    }
}
