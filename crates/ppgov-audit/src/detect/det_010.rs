//! PPG-DET-010: sharing (`PutPermissions`, `PowerAppPermissionEdited`) by an actor who is not an
//! authorised sharer (only when the list is configured).

use super::config::has;
use super::{Detection, DetectionConfig, Ev, Meta, single};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-010",
    title: "Sharing by an actor who is not an authorised sharer",
    severity: "medium",
    mitre: "T1098 Account Manipulation",
    source: "seed 002",
};

pub(crate) struct UnauthorisedSharing;

impl Detection for UnauthorisedSharing {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if !cfg.authorised_sharers.is_empty()
            && (e.op() == "PutPermissions" || e.op() == "PowerAppPermissionEdited")
            && !has(&cfg.authorised_sharers, &e.row.actor)
        {
            out.push(single(
                &META,
                &e.row.id,
                e,
                format!("{} by someone not on the authorised-sharers list", e.op()),
            ));
        }
    }
}
