//! `ppgov doctor`: prints the doctor's checks as a table.

use crate::commands::Outcome;
use ppgov_auth::TokenSource;
use ppgov_doctor::{Identity, Status};
use std::path::PathBuf;
use std::sync::Arc;

pub async fn run(file: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let config = super::context::config(file)?;
    let conn = super::context::connect(&config, Default::default())?;
    let who = Identity {
        tenant_id: config.tenant.id.clone(),
        client_id: config.auth.client_id.clone(),
        delegated: config.auth.method.is_delegated(),
    };
    let tokens: Arc<dyn TokenSource> = conn.tokens.clone();
    let mut checks = ppgov_doctor::run(
        tokens,
        conn.clients.transport.clone(),
        &config.endpoints(),
        &who,
    )
    .await;
    let cfg = config.clone();
    let stores = tokio::task::spawn_blocking(move || ppgov_serve::check_stores(&cfg)).await?;
    checks.push(ppgov_doctor::store_check(stores));
    let mut failed = false;
    for c in &checks {
        let tag = match c.status {
            Status::Ok => "OK  ",
            Status::Warn => "WARN",
            Status::Fail => {
                failed = true;
                "FAIL"
            }
            Status::Skipped => "SKIP",
        };
        println!("{tag}  {:<28} {}", c.name, c.detail);
        if let Some(fix) = &c.fix
            && c.status != Status::Ok
        {
            println!("      {:<28} fix: {fix}", "");
        }
    }
    if failed {
        anyhow::bail!("some checks failed; apply the fixes above and run `ppgov doctor` again");
    }
    Ok(Outcome::Clean)
}
