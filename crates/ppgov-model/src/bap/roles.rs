//! Environment role assignments (R1) and `modifyRoleAssignments` (R2).

use crate::common::{IdOnly, JsonMap, PrincipalRef, last_segment};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One R1 role assignment (non-Dataverse environments).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// `.../environments/<env>/roleAssignments/<raId>`.
    #[serde(default)]
    pub id: String,
    /// Assignment id.
    #[serde(default)]
    pub name: Option<String>,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The assignment.
    #[serde(default)]
    pub properties: RoleAssignmentProperties,
}

/// `properties` of a [`RoleAssignment`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    /// Environment scope path.
    #[serde(default)]
    pub scope: Option<String>,
    /// Role.
    #[serde(default)]
    pub role_definition: RoleDefinitionRef,
    /// Assignee.
    #[serde(default)]
    pub principal: PrincipalRef,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `roleDefinition`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleDefinitionRef {
    /// `.../roleDefinitions/EnvironmentAdmin`.
    #[serde(default)]
    pub id: String,
    /// `EnvironmentAdmin` or `EnvironmentMaker` (absent in requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl RoleDefinitionRef {
    /// The role name, falling back to the last segment of the id.
    pub fn role_name(&self) -> &str {
        self.name
            .as_deref()
            .unwrap_or_else(|| last_segment(&self.id))
    }
}

/// R2 body: `{"add":[...]}` and/or `{"remove":[{"id"}]}`; empty lists are omitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModifyRoleAssignmentsRequest {
    /// Assignments to create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<RoleAssignmentAdd>,
    /// Assignment ids to delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<IdOnly>,
}

/// One assignment to create.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleAssignmentAdd {
    /// The assignment.
    pub properties: RoleAssignmentAddProperties,
}

/// `properties` of a [`RoleAssignmentAdd`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentAddProperties {
    /// `{"id": ".../roleDefinitions/environmentadmin"}`.
    pub role_definition: RoleDefinitionRef,
    /// `{"id":"<oid>","type":"User"}`.
    pub principal: PrincipalRef,
}

/// R2 response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModifyRoleAssignmentsResponse {
    /// Results of `add`.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub add: Vec<RoleAssignmentResult>,
    /// Results of `remove`.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub remove: Vec<RoleAssignmentResult>,
}

/// One result entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentResult {
    /// The created assignment.
    #[serde(default)]
    pub role_assignment: Option<RoleAssignment>,
    /// `Created`, `OK`, `BadRequest`, ...
    #[serde(default)]
    pub http_status: Option<String>,
    /// Error detail, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}
