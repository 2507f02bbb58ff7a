//! `ppgov auth test`: a token per audience, and who ppgov is; never the token.

use crate::commands::Outcome;
use ppgov_auth::{TokenSource, describe, diagnose};
use std::path::PathBuf;

pub async fn test(file: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let config = super::context::config(file)?;
    let conn = super::context::connect(&config, Default::default())?;
    let e = config.endpoints();
    let mut failed = false;
    for (name, scope) in e.scopes.named() {
        match conn.tokens.token(scope).await {
            Ok(t) => {
                let info = describe(&t);
                let who = info
                    .user
                    .clone()
                    .map(|u| format!("user {u}"))
                    .or_else(|| info.app.clone().map(|a| format!("app {a}")))
                    .unwrap_or_else(|| "unknown".into());
                let grants = if info.roles.is_empty() {
                    info.scopes.join(" ")
                } else {
                    info.roles.join(" ")
                };
                println!(
                    "OK    {name:<24} tenant {} as {who}; expires {}; {}",
                    info.tenant.unwrap_or_default(),
                    info.expires_at.format("%Y-%m-%d %H:%M UTC"),
                    if grants.is_empty() {
                        "no roles or scopes".into()
                    } else {
                        grants
                    }
                );
            }
            Err(err) => {
                failed = true;
                let d = diagnose(&err);
                println!("FAIL  {name:<24} {}\n      fix: {}", d.problem, d.fix);
            }
        }
    }
    if failed {
        anyhow::bail!("sign-in failed for at least one API; see the fixes above");
    }
    Ok(Outcome::Clean)
}
