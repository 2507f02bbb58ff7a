//! Office 365 Management Activity API (`manage.office.com/api/v1.0/{tenant}/activity/feed`):
//! subscriptions, content blob listings, errors, and the audit records inside blobs.

mod feed;
mod record;
mod views;

pub use feed::{
    ContentBlob, ManagementError, StartSubscriptionRequest, Subscription, Webhook, content_type,
    is_throttled,
};
pub use record::{AuditRecord, RecordDetails, record_type};
pub use views::{
    AadRecord, AadTarget, ChangeSet, ChangedProperty, ConnectorChange, ConnectorRecord, CrmRecord,
    DlpAdditionalInfo, DlpRecord, FlowRecord, ModifiedProperty, NameValue, PowerAppsRecord,
    PowerPlatformAdminRecord,
};
