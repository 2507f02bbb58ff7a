//! PPG-APP-004: App bypasses consent.
//!
//! What it checks: any connection reference of the app (or the app) has `bypassConsent: true`.
//! Why it matters: users are not shown which data the app's connections access; consent is the
//! only moment they see it.
//! Remediation: clear `bypassConsent` unless the app is a vetted first-party line-of-business app.
//! References: CATALOGUE.md PPG-APP-004; CoE and community tools.

use super::per_app;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-APP-004",
    area: "app",
    title: "App bypasses consent",
    severity: Severity::Medium,
    resource_kind: ResourceKind::App,
    remediation: "Turn off consent bypass for the app unless it is a vetted line-of-business app, and record why.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    per_app(ctx, &[], |a| {
        a.bypass_consent.then(|| {
            META.finding(
                app_ref(a),
                format!("App '{}' ({}) bypasses consent.", a.display_name, a.id),
                json!({ "bypass_consent": true }),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut bad = app("a-bypass", DEFAULT_ENV);
        bad.bypass_consent = true;
        s.apps.extend([app("a-ok", DEFAULT_ENV), bad]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["a-bypass"]);
        fail(&mut s, Some(DEFAULT_ENV), CollectionKind::Apps);
        assert!(is_error(&run(evaluate, &s)));
    }
}
