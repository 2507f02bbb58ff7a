//! PPG-DET-014: admin self-elevation (`ApplyAdminRole`) by someone not on the elevation
//! allow-list, or, when approved elevation windows are configured (`elevation_windows`), by an
//! allow-listed admin outside every window that covers them and the environment.

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
        if e.op() != "ApplyAdminRole" {
            return;
        }
        let env = &e.row.environment_id;
        let reason = if !has(&cfg.elevation_allow_list, &e.row.actor) {
            format!("self-elevated to System Administrator in {env}")
        } else if !cfg.elevation_windows.is_empty()
            && !cfg
                .elevation_windows
                .iter()
                .any(|w| w.covers(&e.row.actor, env, e.t()))
        {
            format!(
                "self-elevated to System Administrator in {env} outside every approved elevation window"
            )
        } else {
            return;
        };
        out.push(single(&META, &e.row.id, e, reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::config::ElevationWindow;
    use ppgov_store::EventRow;

    fn elevation(actor: &str, env: &str, at: &str) -> EventRow {
        EventRow {
            id: format!("{actor}-{env}-{at}"),
            time_ms: chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| t.timestamp_millis())
                .unwrap_or_default(),
            operation: "ApplyAdminRole".into(),
            actor: actor.into(),
            environment_id: env.into(),
            ..EventRow::default()
        }
    }

    fn fired(cfg: &DetectionConfig, row: &EventRow) -> Vec<String> {
        let mut out = Vec::new();
        SelfElevation.observe(&Ev::new(row), cfg, &mut out);
        out.into_iter().map(|a| a.reason).collect()
    }

    #[test]
    fn windows_bound_allow_listed_elevations() {
        let mut cfg = DetectionConfig {
            elevation_allow_list: vec!["ops@contoso.com".into()],
            ..DetectionConfig::default()
        };
        let inside = elevation("ops@contoso.com", "env-1", "2026-12-01T09:00:00Z");
        let outside = elevation("ops@contoso.com", "env-1", "2026-12-02T09:00:00Z");
        let other_env = elevation("ops@contoso.com", "env-2", "2026-12-01T09:00:00Z");
        let stranger = elevation("eve@contoso.com", "env-1", "2026-12-01T09:00:00Z");
        // Without windows the allow-list alone decides.
        assert!(fired(&cfg, &outside).is_empty());
        assert_eq!(fired(&cfg, &stranger).len(), 1);
        cfg.elevation_windows = vec![ElevationWindow {
            actor: "OPS@contoso.com".into(),
            environment: Some("env-1".into()),
            start: "2026-12-01T08:00:00Z".into(),
            end: "2026-12-01T12:00:00Z".into(),
            reference: Some("CHG-1".into()),
        }];
        assert!(cfg.validate().is_ok());
        assert!(fired(&cfg, &inside).is_empty());
        assert!(fired(&cfg, &outside)[0].contains("outside every approved elevation window"));
        assert_eq!(fired(&cfg, &other_env).len(), 1);
        assert!(!fired(&cfg, &stranger)[0].contains("window"));
        // A window that ends before it starts is a configuration error.
        cfg.elevation_windows[0].end = "2026-12-01T07:00:00Z".into();
        assert!(cfg.validate().is_err());
    }
}
