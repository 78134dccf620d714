//! What goes wrong with a source. Every error names the source (its name and its address),
//! says what happened, and where there is one, what to do; the command line maps all of
//! them to exit code 3 (invalid input, nothing ran).

use std::fmt;

/// A failure of one source: a bad address, a refused host, an unknown ref, a digest that
/// does not match, the network, the cache, the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The source's name (the address itself for a source named on the command line).
    pub name: String,
    /// The address, when it differs from the name.
    pub address: Option<String>,
    /// What happened, a lowercase fragment.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// What failed.
    pub kind: SourceErrorKind,
}

/// The class of a [`SourceError`], for callers and tests that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// The address does not parse or is not allowed in this form.
    BadAddress,
    /// Policy refuses it: `file://` without `--allow-file-sources`, a host outside
    /// `--allow-source`, no digest under `--require-digest`.
    NotAllowed,
    /// The ref names no branch, tag or commit of the repository.
    UnknownRef,
    /// A download or a tree is not what the address or the lock pins.
    Mismatch,
    /// The network (or git talking to it) failed.
    Fetch,
    /// `--offline` and the cache does not hold it.
    Offline,
    /// `--locked` and the lock would change.
    Locked,
    /// An archive holds something that must not be unpacked.
    Archive,
    /// The cache or a temporary file could not be read or written.
    Io,
    /// `ordo.lock` could not be read, parsed or written; the error's name is the file
    /// (`ordo.lock:LINE`), not a source.
    LockFile,
}

impl SourceError {
    /// An error of the source `name` at `address`.
    pub fn new(
        name: &str,
        address: &str,
        kind: SourceErrorKind,
        message: impl Into<String>,
    ) -> SourceError {
        SourceError {
            name: name.to_string(),
            address: (name != address).then(|| address.to_string()),
            message: message.into(),
            help: None,
            kind,
        }
    }

    /// An address that does not parse: named by its text.
    pub fn bad_address(text: &str, message: impl Into<String>) -> SourceError {
        SourceError::new(text, text, SourceErrorKind::BadAddress, message)
    }

    /// Adds what to do about it.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> SourceError {
        self.help = Some(help.into());
        self
    }

    /// The same error, of the source `name` (an address error found before the name was known).
    #[must_use]
    pub fn named(mut self, name: &str, address: &str) -> SourceError {
        self.name = super::address::mask_secrets(name);
        self.address = (name != address).then(|| super::address::mask_secrets(address));
        self
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == SourceErrorKind::LockFile {
            return write!(f, "{}: {}", self.name, self.message);
        }
        write!(f, "source `{}`", self.name)?;
        if let Some(a) = &self.address {
            write!(f, " ({a})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SourceError {}
