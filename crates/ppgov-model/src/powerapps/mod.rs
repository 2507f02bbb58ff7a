//! Power Apps (`api.powerapps.com`, Microsoft.PowerApps) shapes: apps (A1-A5), connections
//! (C1-C4) and connectors (D6).

mod apps;
mod connections;
mod connectors;

pub use apps::{
    App, AppConnectionReference, AppPermission, AppPermissionProperties, AppProperties,
    ModifyAppOwnerRequest, PermissionRole,
};
pub use connections::{
    Connection, ConnectionParametersSet, ConnectionPermission, ConnectionPermissionProperties,
    ConnectionProperties, ConnectionStatus, StatusError,
};
pub use connectors::{BackendService, Connector, ConnectorProperties};

/// A4 body (`{put:[...]}` / `{delete:[{id}]}`), shared with flows and connections.
pub use crate::common::ModifyPermissionsRequest;
