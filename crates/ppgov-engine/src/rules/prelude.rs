//! What every rule file needs.

pub use crate::context::{Context, app_ref, connection_ref, env_ref, flow_ref};
pub use crate::rule::{RuleMeta, RuleOutput};
pub use ppgov_core::{CollectionKind, ResourceKind, ResourceRef, Severity};
pub use serde_json::json;
