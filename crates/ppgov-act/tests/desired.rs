//! `plan --desired` against the emulator over real HTTP: tenant settings, a Managed Environment
//! and a DLP policy declared in `[desired]` are planned, applied and verified; the tenant then
//! plans nothing, also when the file writes the same values in another form (ids in other
//! case, API ids for connector names, numbers for the strings the API uses); revert restores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::TryStreamExt;
use ppgov_act::{Ctx, Plan, StepOutcome, planner};
use ppgov_config::DesiredState;
use ppgov_emulator::tenant::Size;
use ppgov_store::Store;
use serde_json::Value;

mod common;
use common::*;

fn desired(text: &str) -> DesiredState {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ppgov.toml");
    std::fs::write(&p, text).unwrap();
    ppgov_config::desired::load(&p).unwrap()
}

fn file(env: &str, limit: &str, sharepoint: &str) -> String {
    format!(
        r#"
[desired.tenant_settings]
"powerPlatform.powerApps.disableShareWithEveryone" = true

[[desired.managed_environments]]
environment = "{env}"
settings = {{ maxLimitUserSharing = {limit}, solutionCheckerMode = "warn", isGroupSharingDisabled = true }}

[[desired.dlp_policies]]
display_name = "ppgov test: production"
environment_type = "OnlyEnvironments"
environments = ["{env}"]
default_group = "blocked"
business = ["{sharepoint}", "shared_office365"]
non_business = ["shared_twitter"]
blocked = ["shared_gmail"]
custom_connector_patterns = ["business https://api.contoso.com/*", "blocked *"]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_state_is_applied_then_plans_nothing_in_any_spelling() {
    let emu = emulator(1, Size::Small).await;
    let tenant = emu.ready().tenant_id.clone();
    let ctx = Ctx::new(clients(&emu, false));
    let envs: Vec<Value> = ctx
        .clients
        .bap
        .list_environments(&[])
        .try_collect()
        .await
        .unwrap();
    let prod = envs
        .iter()
        .find(|e| e["properties"]["environmentSku"] == "Production")
        .expect("a production environment")["name"]
        .as_str()
        .unwrap()
        .to_string();

    let d = desired(&file(&prod, "5", "shared_sharepointonline"));
    let planned = ppgov_act::desired::from_desired(&ctx, &tenant, &d, "ppgov.toml")
        .await
        .unwrap();
    let actions: Vec<&str> = planned.steps.iter().map(|s| s.action.as_str()).collect();
    assert!(actions.contains(&"PPG-ACT-005"), "{actions:?}");
    assert!(
        planned
            .steps
            .iter()
            .all(|s| s.why.starts_with("ppgov.toml: ")),
        "each step names its desired-state line"
    );
    let plan = Plan::new(&tenant, author(), "--desired", planned.steps).unwrap();
    let store = Box::new(Store::open_in_memory().unwrap());
    let (report, store) = apply_all(&emu, store, plan, StepOutcome::Applied).await;

    // The same state, written differently, plans nothing.
    let spelled = file(
        &prod.to_ascii_uppercase(),
        "\"5\"",
        "/providers/Microsoft.PowerApps/apis/shared_SharePointOnline",
    );
    for text in [file(&prod, "5", "shared_sharepointonline"), spelled] {
        let again = ppgov_act::desired::from_desired(&ctx, &tenant, &desired(&text), "ppgov.toml")
            .await
            .unwrap();
        assert!(again.steps.is_empty(), "{:#?}", again.steps);
    }

    // Revert brings every declared value back, and the state then plans the same steps again.
    let undo = planner::revert_steps(&store.journal(Some(&report.apply_id)).unwrap());
    assert_eq!(undo.steps.len(), report.steps.len(), "{:?}", undo.notes);
    let plan = Plan::new(&tenant, author(), "revert", undo.steps).unwrap();
    apply_all(&emu, store, plan, StepOutcome::Applied).await;
    let replanned = ppgov_act::desired::from_desired(&ctx, &tenant, &d, "ppgov.toml")
        .await
        .unwrap();
    assert_eq!(replanned.steps.len(), report.steps.len());
}
