//! Variables shared between manifests: `<manifest>.<key>` → a plain value.
//!
//! Handlers set them with `vars::set` or by returning a map from `apply`; other manifests read
//! them with `vars::get` or `!Variable name.key`. A key never contains a dot, so a full name
//! splits at its last dot even though manifest names may contain dots.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use rhai::Dynamic;

#[derive(Clone, Debug)]
pub struct Variable {
    pub value: Dynamic,
    pub secret: bool,
}

/// Indexed by manifest, then key, so "every variable of a manifest" (recorded in the state
/// as each manifest finishes) costs nothing extra at 100k manifests.
#[derive(Debug, Default)]
pub struct Variables {
    inner: RwLock<HashMap<String, BTreeMap<String, Variable>>>,
    /// Where the variables of earlier runs came from, for "not set" errors: the state
    /// file's path, or `None` without state.
    state_file: Option<String>,
    /// `manifest.key` of the earlier runs' variables the state kept out because they held
    /// secret text: their value is unknown, never the mask.
    masked: RwLock<std::collections::HashSet<String>>,
    /// Bytes held by all the variables (as [`size_of_value`] counts them), kept under the
    /// run's limit by [`Variables::set_within`].
    bytes: AtomicUsize,
    /// The manifest instances of the run (`name@host`): `name.key` read on a host where
    /// `name` runs means that instance's variable (DESIGN §13).
    instances: std::collections::HashSet<String>,
}

/// Bytes a value holds, roughly: its text, its keys, and 16 per item. Bounded in depth like
/// every walk over script values.
fn size_of_value(value: &Dynamic) -> usize {
    size_within(value, super::convert::MAX_DEPTH)
}

fn size_within(value: &Dynamic, left: usize) -> usize {
    const ITEM: usize = 16;
    let Some(left) = left.checked_sub(1) else {
        return ITEM;
    };
    if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
        return ITEM + s.len();
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return array
            .iter()
            .fold(ITEM, |n, v| n.saturating_add(size_within(v, left)));
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        return map.iter().fold(ITEM, |n, (k, v)| {
            n.saturating_add(k.len())
                .saturating_add(size_within(v, left))
        });
    }
    ITEM
}

use crate::manifest::split_name;

/// Whether `value` is plain data (no functions, no host objects), recursively.
/// Bounded: a value nested deeper than [`MAX_DEPTH`](super::convert::MAX_DEPTH) is
/// not looked into (and not plain).
pub fn is_plain(value: &Dynamic) -> bool {
    plain_within(value, super::convert::MAX_DEPTH)
}

fn plain_within(value: &Dynamic, left: usize) -> bool {
    if value.is_unit()
        || value.is_bool()
        || value.is_int()
        || value.is_float()
        || value.is_string()
        || value.is_char()
    {
        return true;
    }
    let Some(left) = left.checked_sub(1) else {
        return false;
    };
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return array.iter().all(|v| plain_within(v, left));
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        return map.values().all(|v| plain_within(v, left));
    }
    false
}

impl Variables {
    pub fn new() -> Self {
        Variables::default()
    }

    /// Variables seeded from the state file at `path` (named in "not set" errors).
    pub fn from_state_file(path: Option<String>) -> Self {
        Variables {
            state_file: path,
            ..Variables::default()
        }
    }

    /// These variables, knowing the run's manifest instances (`name@host`).
    #[must_use]
    pub fn with_instances(mut self, instances: std::collections::HashSet<String>) -> Self {
        self.instances = instances;
        self
    }

    /// The full name `full` (`name.key`) means when read by an instance on `host`: `name@host.key`
    /// when `name` runs on that host, else `full` as it is (`name@other.key` names an
    /// instance itself).
    pub fn resolve(&self, full: &str, host: Option<&str>) -> String {
        let Some(host) = host else {
            return full.to_string();
        };
        match split_name(full) {
            Some((m, k)) if !m.contains(crate::manifest::HOST_SEPARATOR) => {
                let instance = crate::manifest::instance_name(m, host);
                if self.instances.contains(&instance) {
                    format!("{instance}.{k}")
                } else {
                    full.to_string()
                }
            }
            _ => full.to_string(),
        }
    }

    /// A note for "variable not set" errors: which state file was read for variables of
    /// earlier runs, or that none was.
    pub fn source_note(&self) -> String {
        match &self.state_file {
            Some(path) => format!("variables of earlier runs were read from the state file {path}"),
            None => {
                "no state file was read (`--no-state`): only variables set in this run exist".into()
            }
        }
    }

    /// Remembers that an earlier run's `manifest.key` held secret text, kept out of the state.
    pub fn set_masked(&self, manifest: &str, key: &str) {
        let mut guard = self.masked.write().unwrap_or_else(PoisonError::into_inner);
        guard.insert(format!("{manifest}.{key}"));
    }

    /// The note for a "not set" error about `full`: that it held secret text the state kept
    /// out (its value is unknown until its manifest runs again), or where variables were read.
    pub fn note_for(&self, full: &str) -> String {
        if self.is_masked(full) {
            let owner = split_name(full).map_or(full, |(m, _)| m);
            return format!(
                "`{full}` held secret text, which the state keeps out (it is never read back as the mask): its value is unknown until `{owner}` sets it again; {}",
                self.source_note()
            );
        }
        if let Some(hint) = self.per_host_hint(full) {
            return format!("{hint}; {}", self.source_note());
        }
        self.source_note()
    }

    /// For `a.key` where `a` runs on hosts (its variables are per instance): how to name
    /// one.
    pub fn per_host_hint(&self, full: &str) -> Option<String> {
        let (m, key) = split_name(full)?;
        let prefix = format!("{m}{}", crate::manifest::HOST_SEPARATOR);
        let mut on: Vec<&str> = self
            .instances
            .iter()
            .filter_map(|i| i.strip_prefix(&prefix))
            .collect();
        on.sort_unstable();
        let first = on.first()?;
        Some(format!(
            "`{m}` runs on hosts ({}), and its variables are per host: name an instance, such as `{m}@{first}.{key}` (on a host where `{m}` runs, `{m}.{key}` means its instance there)",
            on.join(", ")
        ))
    }

    /// Whether `full` is an earlier run's variable that held secret text (and this run has
    /// not set it again): its value is unknown.
    pub fn is_masked(&self, full: &str) -> bool {
        let masked = self.masked.read().unwrap_or_else(PoisonError::into_inner);
        masked.contains(full) && self.get(full).is_none()
    }

    /// The variable `manifest.key`.
    pub fn get(&self, full: &str) -> Option<Variable> {
        let (manifest, key) = split_name(full)?;
        let guard = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        guard.get(manifest)?.get(key).cloned()
    }

    pub fn contains(&self, full: &str) -> bool {
        self.get(full).is_some()
    }

    /// Sets `manifest.key` (from the state, where no limit applies: it was within one when
    /// it was set).
    pub fn set(&self, manifest: &str, key: &str, value: Dynamic, secret: bool) {
        let _ = self.set_within(manifest, key, value, secret, usize::MAX);
    }

    /// Sets `manifest.key` unless all the variables would then hold more than `limit` bytes;
    /// the error is the size they would have held.
    pub fn set_within(
        &self,
        manifest: &str,
        key: &str,
        value: Dynamic,
        secret: bool,
        limit: usize,
    ) -> Result<(), usize> {
        let value = value.flatten();
        let size = size_of_value(&value).saturating_add(key.len());
        let mut guard = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let old = guard
            .get(manifest)
            .and_then(|keys| keys.get(key))
            .map_or(0, |v| size_of_value(&v.value).saturating_add(key.len()));
        // Under the write lock: no other set can slip in between the check and the update.
        let total = self
            .bytes
            .load(Ordering::Relaxed)
            .saturating_sub(old)
            .saturating_add(size);
        if total > limit {
            return Err(total);
        }
        self.bytes.store(total, Ordering::Relaxed);
        match guard.get_mut(manifest) {
            Some(keys) => {
                keys.insert(key.to_string(), Variable { value, secret });
            }
            None => {
                let keys = BTreeMap::from([(key.to_string(), Variable { value, secret })]);
                guard.insert(manifest.to_string(), keys);
            }
        }
        Ok(())
    }

    pub fn remove(&self, full: &str) -> Option<Variable> {
        let (manifest, key) = split_name(full)?;
        let mut guard = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let removed = guard.get_mut(manifest)?.remove(key)?;
        let size = size_of_value(&removed.value).saturating_add(key.len());
        let total = self.bytes.load(Ordering::Relaxed).saturating_sub(size);
        self.bytes.store(total, Ordering::Relaxed);
        Some(removed)
    }

    /// Every variable of one manifest, sorted by key.
    pub fn of_manifest(&self, manifest: &str) -> Vec<(String, Variable)> {
        let guard = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        guard
            .get(manifest)
            .map(|keys| keys.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_the_last_dot() {
        assert_eq!(split_name("db.v2.id"), Some(("db.v2", "id")));
        assert_eq!(split_name("db"), None);
        assert_eq!(split_name(".id"), None);
        assert_eq!(split_name("db."), None);
    }

    #[test]
    fn variables_are_namespaced_by_manifest() {
        let v = Variables::new();
        v.set("a", "x", Dynamic::from(1_i64), false);
        v.set("a.b", "x", Dynamic::from(2_i64), false);
        assert_eq!(v.get("a.x").unwrap().value.as_int().unwrap(), 1);
        assert_eq!(v.of_manifest("a").len(), 1);
        assert_eq!(v.of_manifest("a.b")[0].1.value.as_int().unwrap(), 2);
    }
}
