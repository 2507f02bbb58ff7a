//! PPG-RTE-004: A managed developer environment is weaker than the routing preset.
//!
//! What it checks: a managed developer environment whose extended settings allow group sharing
//! (`isGroupSharingDisabled` not "true"), allow more than 5 users per share (`maxLimitUserSharing`
//! "-1", above 5 or absent), have the solution checker off (`solutionCheckerMode` "none" or absent),
//! or exclude the environment from usage insights (`excludeEnvironmentFromAnalysis` "true").
//! Why it matters: developer environments created by routing should be sandboxes; wide sharing
//! turns them into unmanaged production.
//! Remediation: apply the routing preset's sharing limits, solution checker and insights.
//! References: CATALOGUE.md PPG-RTE-004; seed 001.

use super::{is_developer, is_managed, needs_environments};
use crate::rules::prelude::*;
use ppgov_core::Environment;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-RTE-004",
    area: "routing",
    title: "A managed developer environment is weaker than the routing preset",
    severity: Severity::Low,
    resource_kind: ResourceKind::Environment,
    remediation: "Disable group sharing, limit sharing to 5 users, turn the solution checker on and include the environment in usage insights.",
    action_id: Some("PPG-ACT-004"),
};

fn weaknesses(e: &Environment, max_users: i64) -> Vec<String> {
    let get = |k: &str| e.governance_settings.get(k).map(|v| v.trim().to_string());
    let is = |v: &Option<String>, x: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(x));
    let mut w = vec![];
    let group = get("isGroupSharingDisabled");
    if !is(&group, "true") {
        w.push(format!(
            "isGroupSharingDisabled={}",
            group.as_deref().unwrap_or("absent")
        ));
    }
    let limit = get("maxLimitUserSharing");
    let too_wide = match limit.as_deref() {
        None => true,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => n == -1 || n > max_users,
            Err(_) => true,
        },
    };
    if too_wide {
        w.push(format!(
            "maxLimitUserSharing={}",
            limit.as_deref().unwrap_or("absent")
        ));
    }
    let checker = get("solutionCheckerMode");
    if checker.is_none() || is(&checker, "none") {
        w.push(format!(
            "solutionCheckerMode={}",
            checker.as_deref().unwrap_or("absent")
        ));
    }
    let excluded = get("excludeEnvironmentFromAnalysis");
    if is(&excluded, "true") {
        w.push("excludeEnvironmentFromAnalysis=true".to_string());
    }
    w
}

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    if let Some(err) = needs_environments(ctx) {
        return err;
    }
    let max = ctx.config.thresholds.developer_env_max_share_users;
    let findings = ctx
        .snapshot
        .environments
        .iter()
        .filter(|e| is_developer(e) && is_managed(e))
        .filter_map(|e| {
            let w = weaknesses(e, max);
            (!w.is_empty()).then(|| {
                META.finding(
                    env_ref(e),
                    format!("Managed developer environment '{}' ({}) is weaker than the routing preset: {}.", e.display_name, e.id, w.join(", ")),
                    json!({ "weaknesses": w, "max_share_users": max }),
                )
            })
        })
        .collect();
    RuleOutput::ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        s.environments.push(env("dev-ok", "Developer"));
        for (id, k, v) in [
            ("dev-a", "maxLimitUserSharing", Some("-1")),
            ("dev-b", "solutionCheckerMode", None),
            ("dev-c", "excludeEnvironmentFromAnalysis", Some("true")),
            ("dev-d", "isGroupSharingDisabled", Some("false")),
            ("dev-e", "maxLimitUserSharing", Some("6")),
        ] {
            let mut e = env(id, "Developer");
            match v {
                Some(v) => e.governance_settings.insert(k.into(), v.into()),
                None => e.governance_settings.remove(k),
            };
            s.environments.push(e);
        }
        let mut unmanaged = env("dev-u", "Developer");
        unmanaged.managed = false;
        unmanaged.protection_level = None;
        unmanaged.governance_settings.clear();
        s.environments.push(unmanaged);
        collect_all(&mut s);
        assert_eq!(
            ids(&run(evaluate, &s)),
            vec!["dev-a", "dev-b", "dev-c", "dev-d", "dev-e"]
        );
        fail(&mut s, None, CollectionKind::Environments);
        assert!(is_error(&run(evaluate, &s)));
    }
}
