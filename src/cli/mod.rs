//! The command line: arguments → checked configuration.

mod args;
mod config;
pub mod pages;
mod values;

pub use args::{Cli, ColorChoice, Command, GraphFormat, OutputFormat, StateAction, StateArgs};
pub use config::{CommandKind, Config, UsageError};
