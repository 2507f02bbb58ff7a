//! Shapes shared by several API families: paging envelopes, error envelopes, principal
//! references, permission edit bodies, and lenient (de)serialisation helpers.

mod error;
pub mod lenient;
mod list;
mod permissions;
mod principal;
pub(crate) use principal::last_segment;
mod string_enum;
mod time;

pub use error::{AnyError, BareError, ErrorBody, ErrorEnvelope};
pub use list::ListPage;
pub use permissions::{
    IdOnly, ModifyPermissionsRequest, PermissionGrant, PermissionGrantProperties, PrincipalSpec,
};
pub use principal::{EnvironmentRef, IdRef, OwnerRef, PrincipalRef, PrincipalType, ResourceRef};
pub(crate) use string_enum::string_enum;
pub use time::parse_timestamp;

/// Free-form JSON object used for `extra` (unknown fields kept for write-back).
pub type JsonMap = serde_json::Map<String, serde_json::Value>;
