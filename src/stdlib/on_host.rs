//! Where a stdlib call acts: the call's target (`ctx.target`: the controller, or the
//! manifest instance's host), or always the controller (`local::*`, the controller's side
//! of `file::upload`/`file::download`).
//!
//! `file::*` and `shell::run` ask [`on_host`] first: `None` means act here, as ordo always
//! has; `Some` gives the host's operations (`crate::target::fs`, `crate::target::exec`)
//! and turns their [`TransportError`]s into script errors that name the call, the host and
//! the path. A host that cannot be reached marks the call `unreachable` before the error
//! goes back to the script (the runner then reports the step `unreachable`, not `failed`).

use std::sync::Arc;

use rhai::EvalAltResult;

use super::Capability;
use crate::script::context::{self, CallContext, script_error};
use crate::target::{RemoteHost, Target, TransportError, fs::HostFs};

/// Which machine a call acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// The call's target: the instance's host, or the controller.
    Target,
    /// Always the controller (`local::*`).
    Controller,
}

/// A call acting on a host.
pub(super) struct OnHost {
    pub(super) ctx: Arc<CallContext>,
    pub(super) host: Arc<RemoteHost>,
    call: String,
}

/// The host `call` acts on, or `None` for the controller. A call that changes things is
/// refused under `plan` here, wherever it acts (`cap` [`Capability::FileWrite`]).
pub(super) fn on_host(
    call: &str,
    cap: Option<Capability>,
    side: Side,
) -> Result<Option<OnHost>, Box<EvalAltResult>> {
    if side == Side::Controller {
        return Ok(None);
    }
    let ctx = context::require(call)?;
    let Target::Remote(host) = &ctx.target else {
        return Ok(None);
    };
    if cap == Some(Capability::FileWrite) {
        ctx.require_mutation(call)?;
    }
    let host = Arc::clone(host);
    Ok(Some(OnHost {
        ctx,
        host,
        call: call.to_string(),
    }))
}

impl OnHost {
    /// The host's file operations for this call: a process's environment refused unless
    /// the handler may read the environment, each bounded by the call's remaining time.
    pub(super) fn fs(&self) -> HostFs<'_> {
        self.host
            .fs(self.ctx.allows(Capability::Env))
            .timeout(self.ctx.remaining())
    }

    /// The script error for `e`, naming the call (the transport's message names the host
    /// and the path).
    pub(super) fn error(&self, e: TransportError) -> Box<EvalAltResult> {
        let call = &self.call;
        match &e {
            TransportError::Unreachable { .. } => self.ctx.mark_unreachable(),
            TransportError::Interrupted { .. } => return context::interrupted(),
            TransportError::Environ { host, path } => {
                let what = format!("{call}(\"{path}\") on `{host}`");
                if let Err(refused) = self.ctx.require(Capability::Env, &what) {
                    return refused;
                }
            }
            TransportError::TooLarge { host, path, limit } => {
                return context::too_large(
                    call,
                    &format!("{path} on `{host}`"),
                    "string length",
                    *limit,
                );
            }
            _ => {}
        }
        let help = match &e {
            TransportError::OutsideRoot { .. } => {
                Some("the inventory confines this host's paths with `fsRoot`".to_string())
            }
            TransportError::NotAbsolute { .. } => Some(
                "remote paths are absolute: they do not depend on the remote user or `become`"
                    .to_string(),
            ),
            _ => None,
        };
        script_error(format!("`{call}`: {e}"), help)
    }
}
