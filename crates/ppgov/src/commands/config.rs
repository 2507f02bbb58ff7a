//! `ppgov config validate`.

use crate::commands::Outcome;
use std::path::PathBuf;

pub fn validate(file: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let config = super::context::config(file.clone())?;
    // `[detections]` is checked by the crate that reads it, `[desired]` by its loader.
    let detections = super::audit_notify::detection_file(None, file)?;
    if let Some(path) = &config.file {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("desired")) {
            ppgov_config::desired::load(path)?;
        }
    }
    println!("configuration is valid");
    println!(
        "  file:      {}",
        config
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none; environment only)".into())
    );
    println!("  tenant:    {}", config.tenant.id);
    println!(
        "  sign-in:   {} as {}",
        config.auth.method.as_str(),
        config.auth.client_id
    );
    println!("  cloud:     {:?}", config.cloud);
    println!("  store:     {}", config.store.path.display());
    println!(
        "  detections: {} departing users, {} sensitive environments, business hours {}",
        detections.departing_users.len(),
        detections.sensitive_environments.len(),
        detections.business_hours.time_zone
    );
    println!(
        "  serve:     listen {}, {} worker(s), lease {} s, API tokens in ${}",
        config.serve.listen,
        config.serve.workers,
        config.serve.lease_seconds,
        config.serve.api_tokens_env
    );
    println!("  schedule (UTC; for `ppgov serve`):");
    let now = chrono::Utc::now();
    for job in &config.schedule.jobs {
        let next: Vec<String> = job
            .next_runs(now, 3)
            .iter()
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .collect();
        println!(
            "    {:<10} {:<14} next {}  ({})",
            job.name,
            job.expression,
            next.join(", "),
            job.what
        );
    }
    Ok(Outcome::Clean)
}
