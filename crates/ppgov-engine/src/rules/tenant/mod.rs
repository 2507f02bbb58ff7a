//! Tenant rules (resource = the tenant): creation restrictions, sharing, guests, isolation, DLP shape.

pub mod ten_001;
pub mod ten_002;
pub mod ten_003;
pub mod ten_004;
pub mod ten_005;
pub mod ten_006;
pub mod ten_007;

use super::prelude::*;
use ppgov_core::TenantSettings;

/// Shared body of the tenant-setting rules: error when settings were not collected, one finding
/// on the tenant when `fires(value)`.
pub(crate) fn setting_rule(
    ctx: &Context,
    meta: &RuleMeta,
    setting: &str,
    get: fn(&TenantSettings) -> Option<bool>,
    fires: fn(Option<bool>) -> bool,
    message: &str,
) -> RuleOutput {
    let Some(ts) = &ctx.snapshot.tenant_settings else {
        return RuleOutput::error("tenant settings not collected");
    };
    let value = get(ts);
    if !fires(value) {
        return RuleOutput::ok(vec![]);
    }
    let evidence = json!({ "setting": setting, "value": value });
    RuleOutput::ok(vec![meta.finding(
        ctx.tenant_ref(),
        format!("Tenant {}: {message}.", ctx.snapshot.tenant_id),
        evidence,
    )])
}

/// Fires unless the value is exactly `true`.
pub(crate) fn not_true(v: Option<bool>) -> bool {
    v != Some(true)
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::context::Context;
    use crate::rule::RuleOutput;
    use crate::testkit::*;
    use ppgov_core::TenantSettings;

    /// Checks a tenant setting rule: fires on `bad`, silent on the base value, error without settings.
    pub fn check(evaluate: fn(&Context) -> RuleOutput, set: fn(&mut TenantSettings)) {
        let s = base();
        assert!(run(evaluate, &s).findings.is_empty());
        let mut bad = base();
        if let Some(ts) = bad.tenant_settings.as_mut() {
            set(ts);
        }
        let out = run(evaluate, &bad);
        assert_eq!(ids(&out), vec![TENANT.to_string()]);
        assert!(out.findings[0].message.contains(TENANT));
        let mut none = base();
        none.tenant_settings = None;
        assert!(is_error(&run(evaluate, &none)));
    }
}
