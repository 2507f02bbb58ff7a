//! PPG-DET-008: activity by a user outside the tenant's domains (one incident per user and UTC
//! day; off until `tenant_domains` is configured).

use super::{Detection, DetectionConfig, Ev, Meta, day_of, single};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-008",
    title: "Activity by a user outside the tenant's domains",
    severity: "medium",
    mitre: "T1078.004 Valid Accounts: Cloud Accounts",
    source: "seed 002",
};

pub(crate) struct OutsideDomain;

impl Detection for OutsideDomain {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if cfg.tenant_domains.is_empty() {
            return;
        }
        let Some((_, domain)) = e.row.actor.rsplit_once('@') else {
            return;
        };
        let inside = cfg
            .tenant_domains
            .iter()
            .any(|d| ppgov_core::domain::within(domain, d.trim_start_matches('@')));
        if !inside {
            let key = format!("{}|{}", e.row.actor, day_of(e.t()));
            out.push(single(
                &META,
                &key,
                e,
                format!("{} by an account of domain {domain}", e.op()),
            ));
        }
    }
}
