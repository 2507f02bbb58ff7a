//! Error envelopes shared by BAP, Power Apps, Flow, PPAPI, Dataverse, Graph and the
//! Management Activity API.

use super::JsonMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"error":{...}}`: the envelope nearly every Microsoft API uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error body.
    pub error: ErrorBody,
}

/// The body inside [`ErrorEnvelope`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Machine code, e.g. `OperationNotStartable`, `Request_ResourceNotFound`, `AF429`,
    /// `0x80072322`.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_string")]
    pub code: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// Nested details (ARG/PPAPI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<Value>>,
    /// Graph `innerError` (Dataverse spells it `innererror`).
    #[serde(default, alias = "innererror", skip_serializing_if = "Option::is_none")]
    pub inner_error: Option<Value>,
    /// BAP `detailUrlType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_url_type: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// PPAPI's bare `{"code":..,"message":..}` without the `error` wrapper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BareError {
    /// Machine code, e.g. `PrincipalNotExists`.
    #[serde(deserialize_with = "crate::common::lenient::opt_string")]
    pub code: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
}

/// Either error shape; deserialise an error body into this when the service is unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnyError {
    /// `{"error":{...}}`.
    Wrapped(ErrorEnvelope),
    /// `{"code":..,"message":..}`.
    Bare(BareError),
}

impl AnyError {
    /// The error code, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Wrapped(e) => e.error.code.as_deref(),
            Self::Bare(e) => e.code.as_deref(),
        }
    }

    /// The error message, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Wrapped(e) => e.error.message.as_deref(),
            Self::Bare(e) => e.message.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes() {
        let w: AnyError = serde_json::from_str(
            r#"{"error":{"code":"OperationNotStartable","message":"busy","detailUrlType":"NotSpecified"}}"#,
        )
        .unwrap();
        assert_eq!(w.code(), Some("OperationNotStartable"));
        let b: AnyError =
            serde_json::from_str(r#"{"code":"PrincipalNotExists","message":"no"}"#).unwrap();
        assert!(matches!(b, AnyError::Bare(_)));
        assert_eq!(b.message(), Some("no"));
    }
}
