//! The command line: arguments → checked configuration.

mod args;
mod config;

pub use args::{Cli, ColorChoice, Command, OutputFormat};
pub use config::{CommandKind, Config, UsageError};
