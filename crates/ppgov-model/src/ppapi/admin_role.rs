//! Self-elevation response (U1 `applyAdminRole`).

use crate::ModelError;
use crate::common::JsonMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"errors":[...],"information":[{"Subject","Description","Code"}]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApplyAdminRoleResponse {
    /// Errors (shape unverified; kept as JSON).
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub errors: Vec<Value>,
    /// Informational messages.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub information: Vec<ApplyAdminRoleMessage>,
}

impl ApplyAdminRoleResponse {
    /// True when the service reported no errors.
    pub fn succeeded(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One message; PascalCase keys on the wire.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplyAdminRoleMessage {
    /// e.g. `Result`.
    #[serde(default)]
    pub subject: Option<String>,
    /// A JSON-encoded string array; see [`ApplyAdminRoleMessage::description_lines`].
    #[serde(default)]
    pub description: Option<String>,
    /// e.g. `UserExists`.
    #[serde(default)]
    pub code: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl ApplyAdminRoleMessage {
    /// Decodes `Description` (a JSON array inside a string). A description that is plain
    /// text rather than an encoded array is returned as a single line.
    pub fn description_lines(&self) -> Result<Vec<String>, ModelError> {
        let Some(d) = self.description.as_deref() else {
            return Ok(Vec::new());
        };
        if !d.trim_start().starts_with('[') {
            return Ok(vec![d.to_owned()]);
        }
        serde_json::from_str(d).map_err(|source| ModelError::EmbeddedJson {
            field: "Description",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_description_array() {
        let r: ApplyAdminRoleResponse = serde_json::from_str(
            r#"{"errors":[],"information":[{"Subject":"Result","Description":"[\"SyncMode: Default\",\"User found in AD tenant\"]","Code":"UserExists"}]}"#,
        )
        .unwrap();
        assert!(r.succeeded());
        let m = &r.information[0];
        assert_eq!(m.code.as_deref(), Some("UserExists"));
        assert_eq!(
            m.description_lines().unwrap(),
            vec!["SyncMode: Default", "User found in AD tenant"]
        );
        let plain = ApplyAdminRoleMessage {
            description: Some("done".into()),
            ..Default::default()
        };
        assert_eq!(plain.description_lines().unwrap(), vec!["done"]);
        let broken = ApplyAdminRoleMessage {
            description: Some("[\"x\"".into()),
            ..Default::default()
        };
        assert!(broken.description_lines().is_err());
    }
}
