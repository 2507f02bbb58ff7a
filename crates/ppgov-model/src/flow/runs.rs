//! Flow runs (F6).

use crate::common::{JsonMap, string_enum};
use serde::{Deserialize, Serialize};
use serde_json::Value;

string_enum! {
    /// Run status.
    pub enum RunStatus {
        /// Succeeded.
        Succeeded => "Succeeded",
        /// Running.
        Running => "Running",
        /// Failed.
        Failed => "Failed",
        /// Cancelled.
        Cancelled => "Cancelled",
        /// Skipped.
        Skipped => "Skipped",
    }
}

/// One run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlowRun {
    /// Run id.
    #[serde(default)]
    pub name: String,
    /// Resource path.
    #[serde(default)]
    pub id: Option<String>,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The run.
    #[serde(default)]
    pub properties: FlowRunProperties,
}

/// `properties` of a [`FlowRun`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowRunProperties {
    /// Start time.
    #[serde(default)]
    pub start_time: Option<String>,
    /// End time.
    #[serde(default)]
    pub end_time: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<RunStatus>,
    /// `{"clientTrackingId":...}`.
    #[serde(default)]
    pub correlation: Option<Value>,
    /// Trigger execution.
    #[serde(default)]
    pub trigger: Option<RunTrigger>,
    /// Error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `trigger` of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTrigger {
    /// Trigger name.
    #[serde(default)]
    pub name: Option<String>,
    /// Inputs link.
    #[serde(default)]
    pub inputs_link: Option<Value>,
    /// Outputs link.
    #[serde(default)]
    pub outputs_link: Option<Value>,
    /// Start time.
    #[serde(default)]
    pub start_time: Option<String>,
    /// End time.
    #[serde(default)]
    pub end_time: Option<String>,
    /// `OK`, ...
    #[serde(default)]
    pub code: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<RunStatus>,
}
