//! A fixed example digest, for `ppgov notify preview` without a scan: shows what the templates
//! make of a typical message (and that markup in names arrives escaped in HTML).

use crate::model::{Digest, Notice, NoticeFinding, NoticeResource, Role, build_digests};
use chrono::NaiveDate;
use ppgov_core::Severity;

/// One digest for `maker@contoso.example` with two resources and three findings.
pub fn sample_digest() -> Digest {
    let resource = |kind: &str, id: &str, name: &str| NoticeResource {
        kind: kind.into(),
        id: id.into(),
        name: name.into(),
        environment: Some("Contoso (default)".into()),
    };
    let finding = |rule_id: &str, title: &str, severity| NoticeFinding {
        rule_id: rule_id.into(),
        title: title.into(),
        severity,
    };
    let due = NaiveDate::from_ymd_opt(2026, 12, 31);
    let notices = vec![
        Notice {
            role: Role::Maker,
            recipient: "maker@contoso.example".into(),
            resource: resource(
                "flow",
                "00000000-0000-0000-0000-000000000001",
                "Send <payroll> to partner",
            ),
            findings: vec![
                finding(
                    "PPG-FLW-001",
                    "Flow 'Send <payroll> to partner' moves business data to an external connector",
                    Severity::High,
                ),
                finding(
                    "PPG-FLW-006",
                    "Flow 'Send <payroll> to partner' keeps a secret in a parameter default",
                    Severity::Critical,
                ),
            ],
            action: "Remove the external connector and move the secret to Azure Key Vault.".into(),
            due,
        },
        Notice {
            role: Role::Owner,
            recipient: "maker@contoso.example".into(),
            resource: resource("app", "00000000-0000-0000-0000-000000000002", "Expenses"),
            findings: vec![finding(
                "PPG-APP-001",
                "App 'Expenses' is shared with everyone in the tenant",
                Severity::Medium,
            )],
            action: "Share the app with a security group instead of everyone.".into(),
            due,
        },
    ];
    build_digests(notices).into_iter().next().unwrap_or(Digest {
        recipient: "maker@contoso.example".into(),
        roles: Vec::new(),
        notices: Vec::new(),
        due,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_renders() -> Result<(), crate::TemplateError> {
        let d = sample_digest();
        assert_eq!(d.finding_count(), 3);
        let r = crate::Templates::builtin()?.render(&d)?;
        assert!(r.html.contains("Send &lt;payroll&gt; to partner"));
        Ok(())
    }
}
