//! PPG-DET-009: a flow created or edited with a blocked connector (`FlowConnectorNames` against
//! the blocked list, by display name or id).

use super::{Detection, DetectionConfig, Ev, Meta, single};
use crate::event::attr;
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-009",
    title: "Flow created or edited with a blocked connector",
    severity: "medium",
    mitre: "T1567 Exfiltration Over Web Service",
    source: "seed 002",
};

pub(crate) struct BlockedConnector;

impl Detection for BlockedConnector {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if cfg.blocked_connectors.is_empty() || (e.op() != "CreateFlow" && e.op() != "EditFlow") {
            return;
        }
        let Some(names) = e.attr(attr::CONNECTORS) else {
            return;
        };
        for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let hit = cfg.blocked_connectors.iter().any(|c| {
                (!c.name.is_empty() && c.name.eq_ignore_ascii_case(n))
                    || (!c.id.is_empty()
                        && c.id
                            .rsplit('/')
                            .next()
                            .is_some_and(|s| s.eq_ignore_ascii_case(n)))
            });
            if hit {
                out.push(single(
                    &META,
                    &e.row.id,
                    e,
                    format!("{} uses blocked connector {n}", e.op()),
                ));
                return;
            }
        }
    }
}
