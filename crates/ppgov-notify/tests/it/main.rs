#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! ppgov-notify against real receivers: an SMTP server process (Python `aiosmtpd`, STARTTLS and
//! AUTH) and an HTTP receiver on loopback; every test checks what was delivered.

mod receiver;
mod smtp;
mod smtp_server;
mod webhooks;

use chrono::NaiveDate;
use ppgov_core::Severity;
use ppgov_notify::{Digest, Notice, NoticeFinding, NoticeResource, Role, build_digests};

/// Three recipients: Ada (maker of two flows, one title with markup), Bob (owner), IT.
pub fn sample_digests() -> Vec<Digest> {
    let n = |role, to: &str, name: &str, findings: &[(&str, &str, Severity)]| Notice {
        role,
        recipient: to.to_string(),
        resource: NoticeResource {
            kind: "flow".into(),
            id: format!("flow-{name}"),
            name: name.into(),
            environment: Some("Default-contoso".into()),
        },
        findings: findings
            .iter()
            .map(|(id, title, severity)| NoticeFinding {
                rule_id: (*id).into(),
                title: (*title).into(),
                severity: *severity,
            })
            .collect(),
        action: "share the flow with a co-owner or turn it off".into(),
        due: NaiveDate::from_ymd_opt(2026, 12, 31),
    };
    build_digests(vec![
        n(
            Role::Maker,
            "Ada@Contoso.test",
            "Paie é <b>mensuelle</b>",
            &[
                (
                    "PPG-FLW-006",
                    "secret in a parameter <script>alert(1)</script>",
                    Severity::Critical,
                ),
                ("PPG-FLW-002", "no active owner", Severity::Medium),
            ],
        ),
        n(
            Role::Maker,
            "ada@contoso.test",
            "Invoices",
            &[("PPG-FLW-001", "HTTP to an external host", Severity::High)],
        ),
        n(
            Role::Owner,
            "bob@contoso.test",
            "Invoices",
            &[("PPG-FLW-001", "HTTP to an external host", Severity::High)],
        ),
        n(
            Role::It,
            "it@contoso.test",
            "Invoices",
            &[("PPG-FLW-001", "HTTP to an external host", Severity::High)],
        ),
    ])
}
