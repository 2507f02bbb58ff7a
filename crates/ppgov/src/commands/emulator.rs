//! `ppgov emulator serve`: binds, starts the emulator, prints its ready line, serves until Ctrl-C.

use crate::cli::{ServeArgs, SizeArg};
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use std::time::Duration;

/// Maps the CLI size to the emulator's.
pub fn size(s: SizeArg) -> Size {
    match s {
        SizeArg::Small => Size::Small,
        SizeArg::Medium => Size::Medium,
        SizeArg::Large => Size::Large,
        SizeArg::Huge => Size::Huge,
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        anyhow::bail!(
            "--fault-rate must be between 0.0 and 1.0, got {}",
            args.fault_rate
        );
    }
    if let Some(r) = args.rate_limit
        && !(r > 0.0 && r.is_finite())
    {
        anyhow::bail!("--rate-limit must be a positive number of requests per second, got {r}");
    }
    ppgov_emulator::server::bind::check_listen_addr(args.addr, args.allow_remote)
        .map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; hint: pick another --addr or port 0",
                args.addr
            )
        })?;
    let opts = ServeOptions {
        size: size(args.size),
        seed: args.seed,
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: args.rate_limit,
        fault_rate: args.fault_rate,
        audit_enabled: !args.audit_disabled,
        ..ServeOptions::default()
    };
    let emulator = Emulator::start(listener, opts)
        .await
        .context("emulator failed to start")?;
    if let Some(path) = &args.ground_truth {
        let json = serde_json::to_vec_pretty(emulator.ground_truth())?;
        std::fs::write(path, json)
            .with_context(|| format!("cannot write ground truth to {}", path.display()))?;
    }
    println!("{}", serde_json::to_string(emulator.ready())?);
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    emulator.shutdown().await?;
    Ok(Outcome::Clean)
}
