//! Loading YAML manifest files: sources, the YAML tree, the manifest format.

mod builder;
mod document;
mod error;
mod instance;
mod loader;
mod node;
mod parse;
mod scalar;
mod tags;
mod values;

/// Moved to the crate root (`source`), below `diagnostic`; kept here under their old paths.
pub use crate::source::{Location, Mark, SourceFile};
pub use document::{
    Action, Dependencies, Drift, METADATA_KEYS, Manifest, Metadata, NameRef, RollbackMode, Serial,
    check_document, recorded_metadata, valid_name,
};
pub use error::{ManifestError, ManifestErrorKind};
pub use instance::{HOST_SEPARATOR, InstanceHost, SharedHost, instance_name, split_instance};
pub use loader::{Loaded, load, load_except, load_source};
pub use node::{Entry, Node, Tagged, Value, float_text, node_to_dynamic};
pub use parse::{Limits, YamlError, YamlErrorKind, parse_one, parse_stream, parse_stream_parallel};
pub use scalar::{needs_quotes, string_text};
pub use tags::{
    FoundVariable, StaticContext, StaticResult, TagErrorKind, TagSource, refuse_env_tags,
    resolve_deferred, resolve_static, split_name, value_references,
};
pub use values::{
    VALUES_KIND, ValueSet, ValueSources, collect as collect_values, metadata_environments,
};
