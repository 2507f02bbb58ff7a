//! Notifications (PPG-ACT-013): findings become one [`Digest`] per recipient (maker, owner, their
//! manager, IT), rendered from user-editable templates and sent by e-mail (SMTP with STARTTLS and
//! authentication) and webhooks (generic JSON, Microsoft Teams Workflows with an Adaptive Card,
//! Slack). Never one message per finding.
//!
//! The crate does no discovery of its own: callers build [`Notice`]s from findings and the
//! snapshot, and managers come through a [`ManagerLookup`] the caller supplies.

pub mod error;
pub mod from_scan;
pub mod manager;
pub mod model;
pub mod notifier;
pub mod redact;
pub mod sample;
pub mod setup;
pub mod smtp;
pub mod templates;
pub mod webhook;

pub use error::NotifyError;
pub use from_scan::{ScanNotices, notices_from_scan};
pub use manager::{LookupFailure, ManagerLookup, escalate};
pub use model::{
    Digest, Notice, NoticeFinding, NoticeResource, Role, build_digests, normalise_address,
};
pub use notifier::{Notifier, Outcome, Sink};
pub use redact::redact_url;
pub use sample::sample_digest;
pub use setup::{SetupError, notifier_from_config, notifier_lenient};
pub use smtp::{SmtpSettings, SmtpSink, StartTls};
pub use templates::{Rendered, TemplateError, Templates};
pub use webhook::{Delivered, WebhookKind, WebhookSettings, WebhookSink};
