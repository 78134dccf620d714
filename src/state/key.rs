//! [`SpecHasher`]: the keyed hash of a spec recorded in the state, and the key file beside it.
//!
//! The state records a hash of each manifest's spec, taken over the spec as written (secret
//! values included), to tell a changed spec from drift. An unsalted sha256 of it let anyone
//! who reads the state recover a short secret by trying every candidate offline (issue 15:
//! a 4-digit one in under a second). The hash is therefore an HMAC-SHA256 with a random
//! 32-byte key kept in a separate file beside the state (`state.json.key`, mode 0600,
//! created atomically, never through a link). Reading the state alone tells nothing about a
//! secret; reading the state *and* the key file is as good as reading the secrets' hashes,
//! so the key file is as private as the secrets themselves.
//!
//! A recorded hash is `hmac-sha256:<key id>:<hex>`; the key id (8 hex digits of a hash of
//! the key) says whether it was taken with this key. Older states hold a bare unkeyed
//! sha256: it is still compared the old way (so an upgrade shows nothing as changed), each
//! manifest the run records gets the keyed form, and every unkeyed hash left is dropped
//! when the state is written. A hash that cannot be checked (dropped, or taken with a key
//! that was deleted) falls back to comparing the spec the state recorded, which is exact
//! for a spec that holds no secret; one that holds a secret then counts as changed once.

use std::io::{Read, Write};
use std::path::Path;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::store::{Entry, State, StateErrorKind};
use crate::manifest::Node;

/// Prefix of a keyed spec hash.
const KEYED: &str = "hmac-sha256:";

/// Hashes specs with the state's key (or, without one, can only compare old hashes and
/// recorded specs).
#[derive(Clone, Debug, Default)]
pub struct SpecHasher {
    key: Option<[u8; 32]>,
    /// 8 hex digits naming the key, recorded with each hash.
    id: String,
}

impl SpecHasher {
    /// No key: what `plan` has before any `apply` made one, and runs without a state.
    pub fn none() -> Self {
        SpecHasher::default()
    }

    pub(super) fn with_key(key: [u8; 32]) -> Self {
        let id = crate::stdlib::sha256_hex(&[b"ordo state key id:".as_slice(), &key].concat())
            .chars()
            .take(8)
            .collect();
        SpecHasher { key: Some(key), id }
    }

    /// The key of the state at `state_path`, read from its key file; with `create`, a new
    /// random key is written first when there is none (under the run's lock).
    pub fn load(state_path: &Path, create: bool) -> Result<Self, StateErrorKind> {
        let path = key_path(state_path);
        match read_key(&path)? {
            Some(key) => Ok(SpecHasher::with_key(key)),
            None if create => Ok(SpecHasher::with_key(create_key(&path)?)),
            None => Ok(SpecHasher::none()),
        }
    }

    /// The hash to record for `spec` (empty without a key: nothing is recorded then).
    pub fn hash(&self, spec: &Node) -> String {
        let Some(key) = &self.key else {
            return String::new();
        };
        format!("{KEYED}{}:{}", self.id, self.digest(key, spec))
    }

    fn digest(&self, key: &[u8; 32], spec: &Node) -> String {
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
            return String::new();
        };
        mac.update(super::recorder::node_text(spec).as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Whether [`Self::same`] can tell a spec holding secrets from another: the recorded
    /// hash was taken with this key (or is an older unkeyed one).
    pub fn can_check(&self, entry: &Entry) -> bool {
        let recorded = entry.spec_hash.as_str();
        is_unkeyed(recorded)
            || (self.key.is_some()
                && recorded
                    .strip_prefix(KEYED)
                    .and_then(|r| r.split_once(':'))
                    .is_some_and(|(id, _)| id == self.id))
    }

    /// Whether `spec` is the spec `entry` recorded.
    pub fn same(&self, spec: &Node, entry: &Entry) -> bool {
        let recorded = entry.spec_hash.as_str();
        if let Some(rest) = recorded.strip_prefix(KEYED)
            && let (Some(key), Some((id, digest))) = (&self.key, rest.split_once(':'))
            && id == self.id
        {
            return digest == self.digest(key, spec);
        }
        if is_unkeyed(recorded) {
            // A state written before keyed hashes: compared once the old way.
            return recorded
                == crate::stdlib::sha256_hex(super::recorder::node_text(spec).as_bytes());
        }
        // Unknown (dropped, or another key): the recorded spec is exact unless a secret
        // in it was masked.
        !entry.masked.iter().any(|p| p.starts_with("spec"))
            && super::recorder::node_json(spec) == super::recorder::parse_raw(&entry.spec)
    }
}

/// Whether `hash` is an unkeyed sha256 (64 hex digits), as states before keyed hashes hold.
fn is_unkeyed(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `state` without unkeyed spec hashes, which must not be written again (a reader could
/// guess the secrets in the spec from them); `None` when it holds none.
pub(super) fn without_unkeyed(state: &State) -> Option<State> {
    let any = state
        .environments
        .values()
        .flat_map(|e| e.values())
        .any(|e| e.revisions().any(|r| is_unkeyed(&r.spec_hash)));
    if !any {
        return None;
    }
    let mut clean = state.clone();
    for entry in clean.environments.values_mut().flat_map(|e| e.values_mut()) {
        if is_unkeyed(&entry.spec_hash) {
            entry.spec_hash.clear();
        }
        for old in &mut entry.history {
            if is_unkeyed(&old.spec_hash) {
                old.spec_hash.clear();
            }
        }
    }
    Some(clean)
}

/// The key file of the state at `state_path`: `state.json.key` beside `state.json`.
fn key_path(state_path: &Path) -> std::path::PathBuf {
    let mut p = state_path.to_path_buf().into_os_string();
    p.push(".key");
    std::path::PathBuf::from(p)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim_end_matches('\n');
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (slot, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(s, 16).ok()?;
    }
    Some(key)
}

fn invalid(path: &Path, reason: &str) -> StateErrorKind {
    StateErrorKind::Read {
        path: path.display().to_string(),
        reason: format!(
            "{reason}; remove it to start a new key (manifests whose spec holds a secret then count as changed once)"
        ),
    }
}

/// The key in `path`, or `None` when there is no key file. Never through a link.
fn read_key(path: &Path) -> Result<Option<[u8; 32]>, StateErrorKind> {
    let file = super::store::open_read(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if super::store::is_link_refused(&e) => {
            return Err(StateErrorKind::Link {
                path: path.display().to_string(),
            });
        }
        Err(e) => return Err(invalid(path, &e.to_string())),
    };
    let mut text = String::new();
    // A key file is 65 bytes; anything much longer is not one.
    (&mut file)
        .take(256)
        .read_to_string(&mut text)
        .map_err(|e| invalid(path, &e.to_string()))?;
    unhex(&text)
        .map(Some)
        .ok_or_else(|| invalid(path, "not a key written by ordo (64 hex digits)"))
}

/// Writes a new random key to `path`, atomically: a complete 0600 temporary file linked
/// under the name, which fails if another process made one first (then that one is used).
fn create_key(path: &Path) -> Result<[u8; 32], StateErrorKind> {
    let write_error = |e: &std::io::Error| StateErrorKind::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| write_error(&e))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| write_error(&e))?;
    // tempfile creates the file 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".state-key-")
        .tempfile_in(dir)
        .map_err(|e| write_error(&e))?;
    tmp.write_all(format!("{}\n", hex(&key)).as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| write_error(&e))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(key),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path)?.ok_or_else(|| invalid(path, "it vanished while being read"))
        }
        Err(e) => Err(write_error(&e.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex() {
        let key = [7u8; 32];
        assert_eq!(unhex(&format!("{}\n", hex(&key))), Some(key));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex(&"zz".repeat(32)), None);
    }

    #[test]
    fn unkeyed_hashes_are_recognised() {
        assert!(is_unkeyed(&"a".repeat(64)));
        assert!(!is_unkeyed("hmac-sha256:0123abcd:00"));
        assert!(!is_unkeyed(""));
    }
}
