//! PPG-DET-012: activity from a disallowed country (the client IP looked up in the configured
//! IP-range-to-country table; one incident per actor, country and UTC day).

use super::config::{Cidr, has};
use super::{Detection, DetectionConfig, Ev, Meta, day_of, single};
use ppgov_store::AlertRow;
use std::net::IpAddr;

static META: Meta = Meta {
    id: "PPG-DET-012",
    title: "Activity from a disallowed country",
    severity: "low",
    mitre: "T1078 Valid Accounts",
    source: "Sentinel, seed 002",
};

#[derive(Default)]
pub(crate) struct DeniedCountry {
    ranges: Option<Vec<Cidr>>,
}

impl Detection for DeniedCountry {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if cfg.country_deny_list.is_empty() || e.row.client_ip.is_empty() {
            return;
        }
        let ranges = self.ranges.get_or_insert_with(|| {
            cfg.ip_ranges
                .iter()
                .filter_map(|r| Cidr::parse(r).ok())
                .collect()
        });
        let Ok(ip) = e.row.client_ip.parse::<IpAddr>() else {
            return;
        };
        if let Some(c) = ranges.iter().find(|c| c.contains(ip))
            && has(&cfg.country_deny_list, &c.country)
        {
            let key = format!("{}|{}|{}", e.row.actor, c.country, day_of(e.t()));
            out.push(single(
                &META,
                &key,
                e,
                format!("{} from {} ({})", e.op(), e.row.client_ip, c.country),
            ));
        }
    }
}
