//! `host::facts()`: what a machine is (`os`, `kernel`, `arch`, `distro`, `version`, `cpus`),
//! gathered once per host and run, in one round trip for a host, from the system itself on
//! the controller.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use super::RemoteHost;
use super::error::TransportError;
use super::ssh::RemoteCommand;

/// What `host::facts()` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `uname -s`, lower case: `linux`.
    pub os: String,
    /// `uname -r`: the kernel release.
    pub kernel: String,
    /// `uname -m`: `x86_64`, `aarch64`.
    pub arch: String,
    /// `ID` of `/etc/os-release`: `debian`, `ubuntu`; empty when there is none.
    pub distro: String,
    /// `VERSION_ID` of `/etc/os-release`: the distribution's version; may be empty.
    pub version: String,
    /// Processors online.
    pub cpus: i64,
}

const SCRIPT: &str = r#"uname -s; uname -r; uname -m
( . /etc/os-release 2>/dev/null; printf '%s\n%s\n' "${ID:-}" "${VERSION_ID:-}" ) || printf '\n\n'
getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1"#;

/// Facts already gathered, by connection (its control directory is unique to the run's
/// connection to that host).
static CACHE: Mutex<Vec<(PathBuf, Facts)>> = Mutex::new(Vec::new());

impl RemoteHost {
    /// This host's facts, gathered on first use and kept for the run.
    ///
    /// # Errors
    ///
    /// The transport's, or a host whose answer is not understood.
    pub fn facts(&self) -> Result<Facts, TransportError> {
        let key = self.connection.socket_dir().to_path_buf();
        if let Some((_, f)) = CACHE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(k, _)| *k == key)
        {
            return Ok(f.clone());
        }
        let out = self
            .connection
            .run(&RemoteCommand::new(["sh", "-c", SCRIPT]).max_output(64 << 10))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let get = |i: usize| lines.get(i).copied().unwrap_or_default().to_string();
        let facts = Facts {
            os: get(0).to_lowercase(),
            kernel: get(1),
            arch: get(2),
            distro: get(3),
            version: get(4),
            cpus: get(5).parse().unwrap_or(1),
        };
        if out.code != 0 || facts.os.is_empty() {
            return Err(TransportError::FileFailed {
                host: self.name.clone(),
                action: "gathering facts with",
                path: "uname".into(),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        // Connections of finished runs (tests run many) are not looked up again.
        cache.retain(|(k, _)| k.exists());
        cache.push((key, facts.clone()));
        Ok(facts)
    }
}

/// The controller's facts, from the system (no command).
#[must_use]
pub fn local() -> Facts {
    let uname = rustix::system::uname();
    let text = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
    let release = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let fields: HashMap<&str, String> = release
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim(), v.to_string())
        })
        .collect();
    Facts {
        os: text(uname.sysname()).to_lowercase(),
        kernel: text(uname.release()),
        arch: text(uname.machine()),
        distro: fields.get("ID").cloned().unwrap_or_default(),
        version: fields.get("VERSION_ID").cloned().unwrap_or_default(),
        cpus: std::thread::available_parallelism()
            .ok()
            .and_then(|n| i64::try_from(n.get()).ok())
            .unwrap_or(1),
    }
}
