//! `ppgov config validate`.

use crate::commands::Outcome;
use std::path::PathBuf;

pub fn validate(file: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let config = super::context::config(file)?;
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
    Ok(Outcome::Clean)
}
