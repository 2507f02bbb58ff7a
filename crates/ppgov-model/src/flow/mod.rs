//! Power Automate (`api.flow.microsoft.com`, Microsoft.ProcessSimple) shapes: flows (F1/F2),
//! permissions (F4/F5) and runs (F6).

mod flows;
mod runs;

pub use flows::{
    DefinitionSummary, Flow, FlowConnectionReference, FlowCreator, FlowPermission,
    FlowPermissionProperties, FlowProperties, FlowState, OperationSummary,
};
pub use runs::{FlowRun, FlowRunProperties, RunStatus, RunTrigger};

/// F5 body (`{put:[...]}` / `{delete:[{id}]}`), shared with apps and connections.
pub use crate::common::ModifyPermissionsRequest;
