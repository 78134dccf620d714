//! `ordo test` (DESIGN §12): handler unit tests with a mocked standard library.
//!
//! A `*.test.yaml` file ([`file`]) holds cases: a manifest, an action, mocks and
//! expectations. Each case runs through the run's own engine and [`Runner`](crate::exec::Runner)
//! ([`case`]) in a fresh directory, with the stdlib's world replaced by the case's mock twin
//! ([`mocks`], through `script::Twin`); [`expect`] compares what happened with what the case
//! expects, [`suite`] prepares and runs every case, [`output`] renders the results.

pub mod case;
pub mod expect;
pub mod file;
pub mod mocks;
pub mod output;
pub mod script;
pub mod suite;

pub use case::{CaseResult, Invocation, Prepared, Sandbox, Seen, Suite};
pub use expect::Failure;
pub use file::{Case, CaseAction, TEST_KIND, TestFile};
pub use mocks::{Call, Mocks};
pub use output::Results;
