//! PPG-DET-003: a user on the departing-users list creates or edits flows (one incident per
//! user and UTC day).

use super::config::has;
use super::{Detection, DetectionConfig, Ev, Meta, day_of, single};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-003",
    title: "Departing employee edits or creates flows",
    severity: "high",
    mitre: "T1020 Automated Exfiltration",
    source: "Sentinel",
};

pub(crate) struct DepartingUserFlows;

impl Detection for DepartingUserFlows {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if (e.op() == "CreateFlow" || e.op() == "EditFlow")
            && has(&cfg.departing_users, &e.row.actor)
        {
            let key = format!("{}|{}", e.row.actor, day_of(e.t()));
            out.push(single(
                &META,
                &key,
                e,
                format!("{} by a departing user", e.op()),
            ));
        }
    }
}
