//! The command line: arguments → checked configuration.

mod args;
mod config;
pub mod pages;
mod values;

pub use args::{
    Cli, ColorChoice, Command, DriftPolicy, GraphFormat, HandlerDirsArgs, InitArgs, NewArgs,
    NewWhat, OutputFormat, SchemaArgs, SourceArgs, SourcesAction, SourcesArgs, StateAction,
    StateArgs,
};
pub use config::{CommandKind, Config, TestRequest, UsageError, WatchRequest};
