//! Lifecycle operation (E6), polled through `Location`/`Operation-Location`.

use crate::common::{IdRef, JsonMap, PrincipalRef, string_enum};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

string_enum! {
    /// `state.id` of a lifecycle operation or stage.
    pub enum LifecycleState {
        /// Queued.
        NotStarted => "NotStarted",
        /// In progress.
        Running => "Running",
        /// Done.
        Succeeded => "Succeeded",
        /// Failed.
        Failed => "Failed",
    }
}

impl LifecycleState {
    /// True when polling can stop.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// E6 response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleOperation {
    /// Operation id.
    #[serde(default)]
    pub id: Option<String>,
    /// `self`, `environment` links.
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub links: BTreeMap<String, LinkPath>,
    /// `{"id":"Create|Update|Delete|..."}`.
    #[serde(rename = "type", default)]
    pub operation_type: Option<IdRef>,
    /// `{"id":"NotStarted|Running|Succeeded|Failed"}`.
    #[serde(default)]
    pub state: Option<IdRef>,
    /// Creation time.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Last action time.
    #[serde(default)]
    pub last_action_date_time: Option<String>,
    /// Requester.
    #[serde(default)]
    pub requested_by: Option<PrincipalRef>,
    /// Stages.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub stages: Vec<LifecycleStage>,
    /// Error detail on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl LifecycleOperation {
    /// The parsed state; `None` if the service sent none.
    pub fn state(&self) -> Option<LifecycleState> {
        self.state.as_ref().map(|s| {
            let Ok(v) = s.id.parse::<LifecycleState>();
            v
        })
    }
}

/// `{"path": "..."}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LinkPath {
    /// Relative or absolute path.
    #[serde(default)]
    pub path: Option<String>,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleStage {
    /// Stage id, e.g. `Validate`.
    #[serde(default)]
    pub id: Option<String>,
    /// Stage name.
    #[serde(default)]
    pub name: Option<String>,
    /// `{"id": state}`.
    #[serde(default)]
    pub state: Option<IdRef>,
    /// First action time.
    #[serde(default)]
    pub first_action_date_time: Option<String>,
    /// Last action time.
    #[serde(default)]
    pub last_action_date_time: Option<String>,
}
