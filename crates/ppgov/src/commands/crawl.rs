//! `ppgov crawl`.

use crate::cli::CrawlArgs;
use crate::commands::Outcome;
use ppgov_crawl::{CrawlOptions, ProgressMode};
use std::path::PathBuf;

/// How progress shows for this invocation.
pub fn progress_mode(quiet: bool) -> ProgressMode {
    if quiet {
        ProgressMode::Quiet
    } else if crate::output::interactive(false) {
        ProgressMode::Live
    } else {
        ProgressMode::Lines
    }
}

pub async fn run(file: Option<PathBuf>, quiet: bool, args: CrawlArgs) -> anyhow::Result<Outcome> {
    let config = super::context::config(file)?;
    // --concurrency bounds requests in flight per host as well as shards, so the two agree.
    let mut transport = ppgov_client::TransportConfig::default();
    transport.limiter.concurrency_per_host = args.concurrency.max(1);
    let conn = super::context::connect(&config, transport)?;
    let store = super::context::snapshots(&config)?;
    let opts = CrawlOptions {
        concurrency: args.concurrency.max(1),
        resume: args.resume,
        full: args.full,
        progress: progress_mode(quiet),
        environments: None,
        inventory: !args.no_inventory,
        ..Default::default()
    };
    let opts = CrawlOptions {
        max_age: config.crawl.max_age,
        groups: config
            .posture
            .approved_makers_group
            .iter()
            .cloned()
            .collect(),
        ..opts
    };
    let (summary, _store) =
        ppgov_crawl::crawl(conn.clients, store, &config.tenant.id, opts).await?;
    println!(
        "snapshot {} ({}) of tenant {}",
        summary.snapshot_id.as_str(),
        summary.kind.as_str(),
        config.tenant.id
    );
    for (kind, n) in &summary.counts {
        println!("  {kind:<18} {n}");
    }
    println!(
        "  {} requests, {} throttled, {:.1} s",
        summary.requests,
        summary.throttled,
        summary.elapsed.as_secs_f64()
    );
    if !summary.failures.is_empty() {
        println!("not collected (rules that need these report errors, never passes):");
        for f in &summary.failures {
            println!("  {f}");
        }
    }
    Ok(Outcome::Clean)
}
