//! PPG-CON-001: Orphaned connection: creator deleted or disabled.
//!
//! What it checks: the connection's `createdBy` principal is deleted (Graph 404) or disabled.
//! Why it matters: the connection keeps acting with a departed identity's token, or breaks the
//! flows and apps bound to it.
//! Remediation: rebind dependants to a live connection, then remove it.
//! References: CATALOGUE.md PPG-CON-001; seed 002.

use super::per_connection;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-CON-001",
    area: "connection",
    title: "Orphaned connection: creator deleted or disabled",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Connection,
    remediation: "Rebind the flows and apps using the connection to a live connection, then remove it.",
    action_id: Some("PPG-ACT-010"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::Principals]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    per_connection(
        ctx,
        |_| true,
        |c| {
            let creator = c.created_by.as_ref()?;
            ctx.is_gone(&creator.id).then(|| {
            META.finding(
                connection_ref(c),
                format!("Connection '{}' ({}) is orphaned: its creator {} is deleted or disabled.", c.display_name, c.id, creator.id),
                json!({ "created_by": creator.id, "creator_status": ctx.snapshot.principal(&creator.id).map(|p| p.status), "connector": c.connector }),
            )
        })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::{PrincipalKind, PrincipalStatus};

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let gone = "00000000-0000-0000-0000-0000000000d3";
        s.principals.insert(
            gone.into(),
            principal(gone, PrincipalKind::User, PrincipalStatus::Deleted, false),
        );
        let mut orphan = connection("c-orphan", PROD_ENV, "shared_sql");
        orphan.created_by = Some(user_ref(gone));
        let mut unknown = connection("c-unknown", PROD_ENV, "shared_sql");
        unknown.created_by = Some(user_ref("not-resolved"));
        s.connections
            .extend([connection("c-ok", PROD_ENV, "shared_sql"), orphan, unknown]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["c-orphan"]);
        fail(&mut s, None, CollectionKind::Principals);
        assert!(is_error(&run(evaluate, &s)));
    }
}
