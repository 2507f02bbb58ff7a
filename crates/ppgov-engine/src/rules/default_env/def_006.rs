//! PPG-DEF-006: App or flow created in the default environment by a maker outside the approved-makers group.
//!
//! What it checks: only when an approved-makers group is configured (`[posture]`
//! `approved_makers_group`), every app and flow in the default environment must have been made
//! by a transitive member of that group (nested groups count, as Graph `transitiveMembers`
//! expands them). The maker is an app's `createdBy` (its owner when the API left `createdBy`
//! out) and a flow's `creator`. The membership is read at crawl time; a group the crawl did not
//! read, a group Entra does not know, or a resource with no recorded maker makes the rule
//! report an error instead of a pass. A contained resource is not reported: an app an admin
//! quarantined (only an admin can release it) or a flow that is turned off or suspended (it moves
//! no data); one turned back on is reported again by the next scan.
//! Why it matters: seed 000's alternative to a security group: let only approved makers build in
//! the default environment and clean up the rest after notice.
//! Remediation: quarantine or delete the resource after notice and a grace period (PPG-ACT-009),
//! or add the maker to the group.
//! References: CATALOGUE.md PPG-DEF-006; seed 000 alternatives; Microsoft Graph
//! `GET /groups/{id}/transitiveMembers`.

use super::default_env;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DEF-006",
    area: "default_env",
    title: "App or flow in the default environment made by a maker outside the approved-makers group",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Quarantine or delete the resource after notice and a grace period, or add its maker to the approved-makers group.",
    action_id: Some("PPG-ACT-009"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let group_id = match ctx.config.approved_makers_group.as_deref().map(str::trim) {
        None | Some("") => {
            return RuleOutput::not_applicable("no approved-makers group is configured");
        }
        Some(g) => g,
    };
    let e = match default_env(ctx, &[CollectionKind::GroupMembers]) {
        Ok(e) => e,
        Err(out) => return out,
    };
    let Some(group) = ctx.snapshot.group(group_id) else {
        return RuleOutput::error(format!(
            "the membership of the approved-makers group {group_id} is not in this snapshot: crawl again with this [posture] approved_makers_group"
        ));
    };
    if !group.exists {
        return RuleOutput::error(format!(
            "the approved-makers group {group_id} does not exist in Microsoft Entra: check [posture] approved_makers_group"
        ));
    }
    let mut missing = Vec::new();
    let apps_ok = ctx.env_collected(&e.id, CollectionKind::Apps);
    let flows_ok = ctx.env_collected(&e.id, CollectionKind::Flows);
    for (ok, name) in [(apps_ok, "apps"), (flows_ok, "flows")] {
        if !ok {
            missing.push(format!("{name} in environment {}", e.id));
        }
    }
    let observed = group.observed_at;
    let mut findings = Vec::new();
    let mut unknown = 0usize;
    let mut judge = |maker: Option<&str>, r: ResourceRef, what: &str| {
        match maker
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => unknown += 1,
        Some(m) if group.contains(m) => {}
        Some(m) => findings.push(META.finding(
            r.clone(),
            format!(
                "{what} '{}' ({}) in the default environment was made by {m}, who is not a member of the approved-makers group {group_id}.",
                r.name, r.id
            ),
            json!({
                "maker": m,
                "maker_name": ctx.snapshot.principal(m).and_then(|p| p.display_name.clone()),
                "approved_makers_group": group_id,
                "group_members": group.members.len(),
                "group_observed_at": observed,
            }),
        )),
    }
    };
    if apps_ok {
        for a in ctx
            .snapshot
            .apps
            .iter()
            .filter(|a| a.environment_id.eq_ignore_ascii_case(&e.id) && !a.quarantined)
        {
            let maker = a.created_by.as_ref().or(a.owner.as_ref());
            judge(maker.map(|p| p.id.as_str()), app_ref(a), "App");
        }
    }
    if flows_ok {
        for f in ctx
            .snapshot
            .flows
            .iter()
            .filter(|f| f.environment_id.eq_ignore_ascii_case(&e.id))
            .filter(|f| {
                !(f.state.eq_ignore_ascii_case("Stopped")
                    || f.state.eq_ignore_ascii_case("Suspended"))
            })
        {
            judge(f.creator.as_deref(), flow_ref(f), "Flow");
        }
    }
    if unknown > 0 {
        missing.push(format!(
            "the maker of {unknown} app(s) or flow(s) in the default environment"
        ));
    }
    RuleOutput::partial(findings, &missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_config::PostureConfig;
    use ppgov_core::{CollectionScope, CollectionState, GroupMembers, RuleStatus, Snapshot};

    fn cfg() -> PostureConfig {
        PostureConfig {
            approved_makers_group: Some("G1".into()),
            ..PostureConfig::default()
        }
    }

    fn with_group(s: &mut Snapshot, members: &[&str]) {
        s.groups = vec![GroupMembers::new(
            "g1",
            members.iter().map(|m| m.to_uppercase()),
            now(),
        )];
        s.collection.record(
            CollectionScope::Tenant,
            CollectionKind::GroupMembers,
            CollectionState::Collected { count: 1 },
        );
    }

    #[test]
    fn not_applicable_without_a_group() {
        assert!(matches!(
            run(evaluate, &base()).status,
            RuleStatus::NotApplicable { .. }
        ));
    }

    #[test]
    fn makers_outside_the_group_are_found_members_are_not() {
        let mut s = base();
        s.apps.push(app("a-in", DEFAULT_ENV));
        let mut out_app = app("a-out", DEFAULT_ENV);
        out_app.created_by = Some(user_ref(USER_2));
        // The owner is a member, but the maker is who counts.
        out_app.owner = Some(user_ref(USER_1));
        s.apps.push(out_app);
        let mut no_created_by = app("a-owner-only", DEFAULT_ENV);
        no_created_by.created_by = None;
        no_created_by.owner = Some(user_ref(USER_2));
        s.apps.push(no_created_by);
        s.flows.push(flow("f-in", DEFAULT_ENV));
        let mut f_out = flow("f-out", DEFAULT_ENV);
        f_out.creator = Some(SP_1.into());
        s.flows.push(f_out);
        // Contained resources are not reported: a quarantined app, a flow turned off.
        let mut quarantined = app("a-quarantined", DEFAULT_ENV);
        quarantined.created_by = Some(user_ref(USER_2));
        quarantined.quarantined = true;
        s.apps.push(quarantined);
        let mut off = flow("f-off", DEFAULT_ENV);
        off.creator = Some(USER_2.into());
        off.state = "Stopped".into();
        s.flows.push(off);
        // Outside the default environment nothing is judged.
        let mut prod = flow("f-prod", PROD_ENV);
        prod.creator = Some(USER_2.into());
        s.flows.push(prod);
        with_group(&mut s, &[USER_1]);
        let out = run_with(evaluate, &s, &cfg());
        assert_eq!(out.status, RuleStatus::Evaluated);
        assert_eq!(ids(&out), vec!["a-out", "a-owner-only", "f-out"]);
        assert_eq!(out.findings[0].evidence["maker"], USER_2);
        assert!(out.findings[0].evidence["group_observed_at"].is_string());
    }

    #[test]
    fn fails_closed_when_it_cannot_judge() {
        let mut s = base();
        s.flows.push(flow("f-in", DEFAULT_ENV));
        // Membership not collected at all.
        assert!(is_error(&run_with(evaluate, &s, &cfg())));
        // Collected, but for another group (the configuration changed after the crawl).
        with_group(&mut s, &[USER_1]);
        let other = PostureConfig {
            approved_makers_group: Some("g2".into()),
            ..PostureConfig::default()
        };
        assert!(is_error(&run_with(evaluate, &s, &other)));
        // A group Entra does not know is a configuration error, never an empty group.
        s.groups = vec![GroupMembers::missing("g1", now())];
        let out = run_with(evaluate, &s, &cfg());
        assert!(is_error(&out) && out.findings.is_empty());
        // A flow with no recorded maker cannot be judged.
        with_group(&mut s, &[USER_1]);
        let mut anon = flow("f-anon", DEFAULT_ENV);
        anon.creator = None;
        s.flows.push(anon);
        assert!(is_error(&run_with(evaluate, &s, &cfg())));
        // The default environment's flows not collected: findings for the apps are kept.
        s.flows.retain(|f| f.id != "f-anon");
        let mut a = app("a-out", DEFAULT_ENV);
        a.created_by = Some(user_ref(USER_2));
        s.apps.push(a);
        fail(&mut s, Some(DEFAULT_ENV), CollectionKind::Flows);
        let out = run_with(evaluate, &s, &cfg());
        assert!(is_error(&out));
        assert_eq!(ids(&out), vec!["a-out"]);
    }
}
