//! `ppgov serve` and `ppgov jobs`: wiring of `ppgov-serve` and the store's job queue.

use crate::commands::Outcome;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use ppgov_serve::{ServeOptions, Server, SystemClock, Tenant};
use ppgov_store::{JobFilter, JobKey, JobState};
use std::path::PathBuf;
use std::sync::Arc;

/// `ppgov serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port of the health, metrics and API endpoints (default: [serve] listen,
    /// else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

/// `ppgov jobs`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The job queue, newest tick first.
    List {
        /// Only this tenant's jobs.
        #[arg(long, value_name = "TENANT")]
        of: Option<String>,
        /// Only this kind (crawl, full_crawl, audit, due, digest).
        #[arg(long)]
        kind: Option<String>,
        /// Only jobs in this state (queued, running, done, failed, cancelled).
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Queue a run of a job now (a running `ppgov serve` picks it up).
    Run {
        /// crawl, full_crawl, audit, due or digest.
        kind: String,
        /// The tenant (needed when several are served).
        tenant: Option<String>,
    },
    /// Cancel a queued or running job (a running one stops at its next lease renewal).
    Cancel {
        /// The job's id (`ppgov jobs list`).
        id: i64,
        /// Why, recorded with the job.
        #[arg(long, default_value = "cancelled by hand")]
        reason: String,
    },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub async fn serve(file: Option<PathBuf>, args: ServeArgs) -> anyhow::Result<Outcome> {
    let configs = super::context::tenants(file)?;
    serve_configs(configs, args, &env).await
}

/// Serves `configs` until SIGTERM or Ctrl-C, with `env` answering for the variables the
/// configuration names (secrets, API tokens).
pub async fn serve_configs(
    configs: Vec<ppgov_config::Config>,
    args: ServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Outcome> {
    // `[serve]` and `[store] url` are file-wide: the first tenant's are everyone's.
    let Some(config) = configs.first().cloned() else {
        bail!("no tenant configured; hint: add [tenant] or [[tenants]] to ppgov.toml");
    };
    let listen = match args.listen {
        Some(a) => a,
        None => config
            .serve
            .listen
            .parse()
            .context("[serve] listen is not an address")?,
    };
    let api_tokens: Vec<String> = env(&config.serve.api_tokens_env)
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    // The PostgreSQL client blocks on a runtime of its own: connect off this one.
    let queue = {
        let c = config.clone();
        tokio::task::spawn_blocking(move || super::context::queue(&c)).await??
    };
    let mut opts = ServeOptions {
        listen,
        clock: Arc::new(SystemClock),
        instance: instance_name(),
        workers: config.serve.workers,
        lease_ms: i64::try_from(config.serve.lease_seconds).unwrap_or(300) * 1000,
        poll_ms: 5_000,
        api_tokens,
        extra_routes: None,
    };
    let console = ppgov_console::ConsoleSetup::from_configs(&configs, env)?;
    let console_on = console.is_some();
    if let Some(setup) = console {
        opts.extra_routes = Some(ppgov_console::routes(setup)?);
    }
    let no_tokens = opts.api_tokens.is_empty();
    let names: Vec<String> = configs.iter().map(|c| c.tenant.id.clone()).collect();
    let tenants = configs.into_iter().map(|c| Tenant::new(c, env)).collect();
    let server = Server::start(tenants, queue, opts).await?;
    eprintln!(
        "ppgov serve: {} tenant(s) ({}), listening on http://{} (/healthz, /readyz, /metrics, /api/v1)",
        names.len(),
        names.join(", "),
        server.addr()
    );
    eprintln!(
        "  job queue: {}",
        if config.store.url.is_some() {
            "PostgreSQL ([store] url), shared with other instances".to_string()
        } else {
            config.store.path.display().to_string()
        }
    );
    if console_on {
        eprintln!(
            "  console: http://{}/ (sign in with Microsoft Entra)",
            server.addr()
        );
    }
    if no_tokens {
        eprintln!(
            "note: the JSON API is closed: no tokens in ${}",
            config.serve.api_tokens_env
        );
    }
    for job in &config.schedule.jobs {
        eprintln!("  {:<11} {:<16} {}", job.name, job.expression, job.what);
    }
    shutdown_signal().await;
    eprintln!("ppgov serve: stopping; running jobs go back to the queue");
    server.shutdown().await;
    Ok(Outcome::Clean)
}

/// This instance's name in leases: host and process id.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ppgov".into());
    format!("{host}:{}", std::process::id())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub fn jobs(file: Option<PathBuf>, cmd: JobsCommand) -> anyhow::Result<Outcome> {
    let configs = super::context::tenants(file)?;
    let Some(config) = configs.first() else {
        bail!("no tenant configured; hint: add [tenant] or [[tenants]] to ppgov.toml");
    };
    let mut store = super::context::queue(config)?;
    let now = chrono::Utc::now().timestamp_millis();
    match cmd {
        JobsCommand::List {
            of: tenant,
            kind,
            state,
            limit,
            json,
        } => {
            let state = state
                .map(|s| {
                    JobState::parse(&s).with_context(|| {
                        format!("--state {s}: use queued, running, done, failed or cancelled")
                    })
                })
                .transpose()?;
            let jobs = store.list_jobs(&JobFilter {
                tenant: tenant.clone(),
                kind,
                state,
                limit: Some(limit),
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else {
                print!(
                    "{}",
                    ppgov_serve::jobs::table(&jobs, crate::output::terminal_width())
                );
            }
        }
        JobsCommand::Run { kind, tenant } => {
            let tenant = match tenant {
                Some(t) => configs
                    .iter()
                    .find(|c| c.tenant.id.eq_ignore_ascii_case(&t))
                    .map(|c| c.tenant.id.clone())
                    .with_context(|| format!("tenant {t} is not in the configuration"))?,
                None if configs.len() == 1 => config.tenant.id.clone(),
                None => bail!("several tenants are served; name one: ppgov jobs run {kind} TENANT"),
            };
            if !ppgov_serve::jobs::KINDS.contains(&kind.as_str()) {
                bail!(
                    "unknown job kind `{kind}`; use one of {}",
                    ppgov_serve::jobs::KINDS.join(", ")
                );
            }
            let key = JobKey {
                tenant,
                kind,
                scheduled_for_ms: now,
            };
            match store.enqueue(&key, &serde_json::json!({}), now)? {
                Some(id) => println!(
                    "queued job {id} ({} for {}); a running `ppgov serve` picks it up",
                    key.kind, key.tenant
                ),
                None => bail!("that run is already queued"),
            }
        }
        JobsCommand::Cancel { id, reason } => {
            if store.cancel(id, &reason, now)? {
                println!("cancelled job {id}");
            } else {
                bail!("job {id} does not exist or has already ended; see `ppgov jobs list`");
            }
        }
    }
    Ok(Outcome::Clean)
}
