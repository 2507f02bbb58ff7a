//! Power Platform API (`api.powerplatform.com`) shapes: `applyAdminRole` (U1) and the
//! inventory `resourcequery` API.

mod admin_role;
mod inventory;

pub use admin_role::{ApplyAdminRoleMessage, ApplyAdminRoleResponse};
pub use inventory::{
    Clause, JoinTable, QueryOptions, QueryRequest, QueryResult, ResourceProperties, ResourceRow,
    ResultTruncated, SortDirection, SummarizeExpression, dollar_type_first,
};
