//! `host::facts()`: what the machine a call acts on is, `#{ os, kernel, arch, distro,
//! version, cpus }`. On a host it is gathered with one command on first use and kept for
//! the run (`crate::target::facts`); on the controller it is the controller's, read from
//! the system, so a handler can branch on facts the same way wherever it runs. It needs
//! `shell`: on a host it runs a command.

use rhai::{EvalAltResult, Map};

use super::StdModule;
use super::on_host::{Side, on_host};
use crate::target::facts::{self, Facts};

fn facts() -> Result<Map, Box<EvalAltResult>> {
    // `ordo test`: the case's `facts` mock.
    if let Some(answer) = crate::script::context::current()
        .and_then(|ctx| ctx.ask_twin(crate::script::TwinCall::Facts))
    {
        return Ok(answer?
            .read_lock::<Map>()
            .map(|m| m.clone())
            .unwrap_or_default());
    }
    let f: Facts = match on_host("host::facts", None, Side::Target)? {
        Some(h) => h.host.facts().map_err(|e| h.error(e))?,
        None => facts::local(),
    };
    let mut m = Map::new();
    m.insert("os".into(), f.os.into());
    m.insert("kernel".into(), f.kernel.into());
    m.insert("arch".into(), f.arch.into());
    m.insert("distro".into(), f.distro.into());
    m.insert("version".into(), f.version.into());
    m.insert("cpus".into(), f.cpus.into());
    Ok(m)
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("host");
    fallible!(&mut m, "facts", needs[Shell], || facts());
    m
}
