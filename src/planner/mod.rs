//! Planning: the dependency graph, cycle reports, the ordered plan.

mod error;
mod graph;
mod plan;
mod select;

pub use error::{PlanError, PlanErrorKind};
pub use graph::{Edge, Graph};
pub use plan::{Plan, Step};
pub use select::{LabelSelector, Selected, Selection};
