//! PPG-CON-002: Connection in error or expired.
//!
//! What it checks: any status is `Error`, `Expired` or `Unauthenticated`, or carries an error
//! code. `expirationTime` is not used: it is when the token is next refreshed, routinely in the
//! past on a healthy connection (it stays in the evidence, for information).
//! Why it matters: flows and apps using it fail; stale connections clutter the estate.
//! Remediation: re-authenticate the connection or remove it.
//! References: CATALOGUE.md PPG-CON-002; seed 002.

use super::per_connection;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-CON-002",
    area: "connection",
    title: "Connection in error or expired",
    severity: Severity::Low,
    resource_kind: ResourceKind::Connection,
    remediation: "Re-authenticate the connection, or remove it when nothing uses it.",
    action_id: Some("PPG-ACT-010"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    per_connection(
        ctx,
        |_| true,
        |c| {
            let bad: Vec<&str> = c
                .statuses
                .iter()
                .map(String::as_str)
                .filter(|s| {
                    ["Error", "Expired", "Unauthenticated"]
                        .iter()
                        .any(|b| s.eq_ignore_ascii_case(b))
                })
                .collect();
            (!bad.is_empty() || !c.status_errors.is_empty()).then(|| {
                let what = if bad.is_empty() {
                    format!("reports error {}", c.status_errors.join(", "))
                } else {
                    format!("has status {}", bad.join(", "))
                };
                META.finding(
                    connection_ref(c),
                    format!("Connection '{}' ({}) {what}.", c.display_name, c.id),
                    json!({ "statuses": c.statuses, "errors": c.status_errors, "expiration_time": c.expiration_time }),
                )
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut err = connection("c-err", PROD_ENV, "shared_sql");
        err.statuses = vec!["Error".into()];
        let mut exp = connection("c-exp", PROD_ENV, "shared_sql");
        exp.statuses = vec!["Expired".into()];
        let mut unauth = connection("c-unauth", PROD_ENV, "shared_sql");
        unauth.statuses = vec!["Connected".into()];
        unauth.status_errors = vec!["Unauthenticated".into()];
        // A token refresh time in the past is how a healthy connection looks.
        let mut refresh_past = connection("c-refresh", PROD_ENV, "shared_sql");
        refresh_past.expiration_time = Some(ago(1));
        let mut none = connection("c-noexp", PROD_ENV, "shared_sql");
        none.expiration_time = None;
        s.connections.extend([
            connection("c-ok", PROD_ENV, "shared_sql"),
            err,
            exp,
            unauth,
            refresh_past,
            none,
        ]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["c-err", "c-exp", "c-unauth"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::Connections);
        assert!(is_error(&run(evaluate, &s)));
    }
}
