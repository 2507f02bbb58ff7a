//! Wiring of audit alerts to the notification sinks (`ppgov_audit::alerting`) and of the
//! `[detections]` section of `ppgov.toml`.

use anyhow::bail;
use ppgov_audit::detect::DetectionConfig;
use ppgov_notify::Notifier;
use ppgov_store::AlertRow;
use std::path::PathBuf;

/// Where new incidents are told, when `[notify]` configures a sink.
pub(super) struct Alerting {
    notifier: Option<Notifier>,
    recipients: Vec<String>,
}

impl Alerting {
    /// From `[notify]` of the configuration file; no sink, no alerting.
    pub(super) fn from_config(config: Option<PathBuf>) -> anyhow::Result<Alerting> {
        let notify = ppgov_config::notify(&super::context::sources(config))?;
        if notify.smtp.is_none() && notify.webhooks.is_empty() {
            return Ok(Alerting {
                notifier: None,
                recipients: Vec::new(),
            });
        }
        let notifier = ppgov_notify::notifier_from_config(&notify, &|k| std::env::var(k).ok())
            .map_err(|e| {
                anyhow::anyhow!(
                    "alerts go to the [notify] sinks, which cannot be set up:\n{e}\nhint: `ppgov notify test --to ADDRESS`"
                )
            })?;
        Ok(Alerting {
            notifier: Some(notifier),
            recipients: notify.it_recipients,
        })
    }

    /// Tells the recipients about the incidents of `alerts` not told before; fails when a
    /// delivery failed (the incidents are stored and retried by the next run).
    pub(super) async fn tell(
        &self,
        store: &mut (dyn ppgov_store::EventStore + Send),
        alerts: &[AlertRow],
    ) -> anyhow::Result<()> {
        let Some(n) = &self.notifier else {
            return Ok(());
        };
        let d = ppgov_audit::alerting::deliver(store, alerts, &self.recipients, n).await?;
        if !d.told.is_empty() {
            eprintln!(
                "told {} new incident(s) to {}",
                d.told.len(),
                self.recipients.join(", ")
            );
        }
        if !d.failed.is_empty() {
            for f in &d.failed {
                eprintln!("not delivered: {f}");
            }
            bail!(
                "the alerts are stored, but {} delivery(ies) failed; the incidents are retried by the next run",
                d.failed.len()
            );
        }
        Ok(())
    }
}

/// The detection settings: `--detections FILE`, else the `[detections]` section of the
/// configuration file, else the defaults.
pub(super) fn detection_file(
    explicit: Option<&PathBuf>,
    config: Option<PathBuf>,
) -> anyhow::Result<DetectionConfig> {
    if let Some(p) = explicit {
        return Ok(DetectionConfig::from_file(p)?);
    }
    let file = super::context::sources(config).file;
    Ok(DetectionConfig::from_ppgov_toml(file.as_deref())?)
}
