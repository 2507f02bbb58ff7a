//! PPG-DET-014: admin self-elevation (`ApplyAdminRole`) by someone not on the elevation
//! allow-list.

use super::config::has;
use super::{Detection, DetectionConfig, Ev, Meta, single};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-014",
    title: "Admin self-elevation by someone not on the elevation allow-list",
    severity: "high",
    mitre: "T1098.003 Additional Cloud Roles",
    source: "seed 003",
};

pub(crate) struct SelfElevation;

impl Detection for SelfElevation {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.op() == "ApplyAdminRole" && !has(&cfg.elevation_allow_list, &e.row.actor) {
            out.push(single(
                &META,
                &e.row.id,
                e,
                format!(
                    "self-elevated to System Administrator in {}",
                    e.row.environment_id
                ),
            ));
        }
    }
}
