//! State: what earlier runs did, kept in a state file with a journal and a lock.

mod key;
mod lock;
mod recorder;
mod restore;
mod rollback;
mod store;

pub use key::SpecHasher;
pub use lock::{StateLock, hostname, unlock};
pub use recorder::{StateRecorder, entry_manifest, json_node, parse_raw, previous_value};
pub use restore::{RestoreContext, RestoreError, restore_manifest};
pub use rollback::{RollbackJournal, UnfinishedRollback};
pub use store::{
    Entry, Journal, MAX_REVISIONS, Record, RecordedHandlerSource, RecordedHost, RecordedSource,
    SCHEMA, State, StateErrorKind, StateStore,
};
