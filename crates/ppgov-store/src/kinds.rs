//! The kinds of row the store keeps, and how each domain type names its row.

use crate::StoreError;
use chrono::{DateTime, Utc};
use ppgov_core::{
    App, Connection, ConnectorMetadata, CustomConnector, DlpPolicy, Environment, Flow,
    GroupMembers, Principal, RoleAssignment, TenantIsolation, TenantSettings,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// What a stored resource row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StoreKind {
    /// [`TenantSettings`] (one row, id `tenant`).
    TenantSettings,
    /// [`TenantIsolation`] (one row, id `tenant`).
    TenantIsolation,
    /// [`ConnectorMetadata`] (one row, id `tenant`).
    ConnectorMetadata,
    /// [`DlpPolicy`].
    DlpPolicy,
    /// [`Environment`].
    Environment,
    /// [`App`].
    App,
    /// [`Flow`].
    Flow,
    /// [`Connection`].
    Connection,
    /// [`RoleAssignment`].
    RoleAssignment,
    /// [`Principal`].
    Principal,
    /// [`CustomConnector`].
    CustomConnector,
    /// [`GroupMembers`].
    GroupMembers,
}

impl StoreKind {
    /// Every kind, in the order a snapshot file lists them.
    pub const ALL: [StoreKind; 12] = [
        StoreKind::TenantSettings,
        StoreKind::TenantIsolation,
        StoreKind::ConnectorMetadata,
        StoreKind::DlpPolicy,
        StoreKind::Environment,
        StoreKind::App,
        StoreKind::Flow,
        StoreKind::Connection,
        StoreKind::RoleAssignment,
        StoreKind::Principal,
        StoreKind::CustomConnector,
        StoreKind::GroupMembers,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::TenantSettings => "tenant_settings",
            StoreKind::TenantIsolation => "tenant_isolation",
            StoreKind::ConnectorMetadata => "connector_metadata",
            StoreKind::DlpPolicy => "dlp_policy",
            StoreKind::Environment => "environment",
            StoreKind::App => "app",
            StoreKind::Flow => "flow",
            StoreKind::Connection => "connection",
            StoreKind::RoleAssignment => "role_assignment",
            StoreKind::Principal => "principal",
            StoreKind::CustomConnector => "custom_connector",
            StoreKind::GroupMembers => "group_members",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<StoreKind, StoreError> {
        StoreKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::BadValue {
                column: "resources.kind",
                value: s.to_string(),
            })
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id of the single row of tenant-wide kinds.
pub(crate) const TENANT_ROW_ID: &str = "tenant";

/// A domain type the store can keep: its kind and the key of its row.
pub trait StoredResource: Serialize + DeserializeOwned {
    /// Which kind of row.
    const KIND: StoreKind;
    /// The row id, unique within (snapshot, kind).
    fn store_id(&self) -> String;
    /// The environment it lives in, where it lives in one.
    fn environment_id(&self) -> Option<&str> {
        None
    }
    /// Its `lastModifiedTime`, which incremental crawls compare.
    fn last_modified(&self) -> Option<DateTime<Utc>> {
        None
    }
}

impl StoredResource for TenantSettings {
    const KIND: StoreKind = StoreKind::TenantSettings;
    fn store_id(&self) -> String {
        TENANT_ROW_ID.to_string()
    }
}

impl StoredResource for TenantIsolation {
    const KIND: StoreKind = StoreKind::TenantIsolation;
    fn store_id(&self) -> String {
        TENANT_ROW_ID.to_string()
    }
}

impl StoredResource for ConnectorMetadata {
    const KIND: StoreKind = StoreKind::ConnectorMetadata;
    fn store_id(&self) -> String {
        TENANT_ROW_ID.to_string()
    }
}

impl StoredResource for DlpPolicy {
    const KIND: StoreKind = StoreKind::DlpPolicy;
    fn store_id(&self) -> String {
        self.id.clone()
    }
    fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.last_modified_time
    }
}

impl StoredResource for Environment {
    const KIND: StoreKind = StoreKind::Environment;
    fn store_id(&self) -> String {
        self.id.clone()
    }
    fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.last_modified_time
    }
}

impl StoredResource for App {
    const KIND: StoreKind = StoreKind::App;
    fn store_id(&self) -> String {
        self.id.clone()
    }
    fn environment_id(&self) -> Option<&str> {
        Some(&self.environment_id)
    }
    fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.last_modified_time
    }
}

impl StoredResource for Flow {
    const KIND: StoreKind = StoreKind::Flow;
    fn store_id(&self) -> String {
        self.id.clone()
    }
    fn environment_id(&self) -> Option<&str> {
        Some(&self.environment_id)
    }
    fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.last_modified_time
    }
}

impl StoredResource for CustomConnector {
    const KIND: StoreKind = StoreKind::CustomConnector;
    /// `<environment>/<connector key>`: the same key can exist in several environments.
    fn store_id(&self) -> String {
        format!("{}/{}", self.environment_id, self.key)
    }
    fn environment_id(&self) -> Option<&str> {
        Some(&self.environment_id)
    }
}

impl StoredResource for Connection {
    const KIND: StoreKind = StoreKind::Connection;
    fn store_id(&self) -> String {
        self.id.clone()
    }
    fn environment_id(&self) -> Option<&str> {
        Some(&self.environment_id)
    }
    fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.last_modified_time
    }
}

impl StoredResource for RoleAssignment {
    const KIND: StoreKind = StoreKind::RoleAssignment;
    /// `<environment>/<principal>/<role>/<source>/<role id or assignment id>`: one principal can
    /// hold the same role through several business units or assignments.
    fn store_id(&self) -> String {
        let source = match self.source {
            ppgov_core::RoleSource::Bap => "bap",
            ppgov_core::RoleSource::Dataverse => "dataverse",
        };
        let which = self
            .role_id
            .as_deref()
            .or(self.assignment_id.as_deref())
            .unwrap_or_default();
        let id = format!(
            "{}/{}/{}/{source}/{which}",
            self.environment_id, self.principal_id, self.role
        );
        // The same role copy can be held directly and through a group team.
        match &self.via_group {
            Some(g) => format!("{id}/via/{g}"),
            None => id,
        }
    }
    fn environment_id(&self) -> Option<&str> {
        Some(&self.environment_id)
    }
}

impl StoredResource for GroupMembers {
    const KIND: StoreKind = StoreKind::GroupMembers;
    fn store_id(&self) -> String {
        self.group_id.clone()
    }
}

impl StoredResource for Principal {
    const KIND: StoreKind = StoreKind::Principal;
    fn store_id(&self) -> String {
        self.id.clone()
    }
}
