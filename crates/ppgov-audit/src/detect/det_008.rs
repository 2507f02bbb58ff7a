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
            .any(|d| in_domain(domain, d.trim_start_matches('@')));
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

/// `domain` is `d` or a subdomain of it (ASCII case-insensitive, no allocation: this runs for
/// every event).
fn in_domain(domain: &str, d: &str) -> bool {
    if domain.eq_ignore_ascii_case(d) {
        return true;
    }
    let (Some(cut), true) = (domain.len().checked_sub(d.len() + 1), !d.is_empty()) else {
        return false;
    };
    let (head, tail) = domain.as_bytes().split_at(cut);
    match tail.split_first() {
        Some((b'.', rest)) => !head.is_empty() && rest.eq_ignore_ascii_case(d.as_bytes()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::in_domain;

    #[test]
    fn subdomains_count_and_lookalikes_do_not() {
        assert!(in_domain("Contoso.com", "contoso.com"));
        assert!(in_domain("eu.CONTOSO.com", "contoso.com"));
        assert!(!in_domain("evilcontoso.com", "contoso.com"));
        assert!(!in_domain(".contoso.com", "contoso.com"));
        assert!(!in_domain("contoso.com.evil", "contoso.com"));
        assert!(!in_domain("com", "contoso.com"));
        assert!(!in_domain("x.contoso.com", ""));
    }
}
