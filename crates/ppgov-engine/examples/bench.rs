//! Timing harness (not a test): `cargo run --release -p ppgov-engine --example bench [flows] [apps]`.
//! Builds a synthetic tenant, then times a full scan and a DLP simulation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use ppgov_config::PostureConfig;
use ppgov_core::{DlpGroup, DlpScope};
use ppgov_engine::testkit::*;
use ppgov_engine::{ScanOptions, dlp, scan};
use std::time::Instant;

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().unwrap());
    let flows = args.next().unwrap_or(300_000);
    let apps = args.next().unwrap_or(100_000);
    let connections = 100_000;
    let n_envs = 200;
    let mut s = base();
    for e in 0..n_envs {
        s.environments.push(env(
            &format!("env-{e}"),
            if e % 2 == 0 { "Production" } else { "Sandbox" },
        ));
    }
    collect_all(&mut s);
    let tf = flow("f", PROD_ENV);
    let ta = app("a", PROD_ENV);
    for i in 0..flows {
        let mut f = tf.clone();
        f.id = format!("flow-{i}");
        f.environment_id = format!("env-{}", i % n_envs);
        s.flows.push(f);
    }
    for i in 0..apps {
        let mut a = ta.clone();
        a.id = format!("app-{i}");
        a.environment_id = format!("env-{}", i % n_envs);
        if i % 7 == 0 {
            a.connectors.push(connector("shared_gmail"));
        }
        s.apps.push(a);
    }
    for i in 0..connections {
        s.connections.push(connection(
            &format!("conn-{i}"),
            &format!("env-{}", i % n_envs),
            "shared_sharepointonline",
        ));
    }
    let config = PostureConfig::default();
    let t = Instant::now();
    let facts: usize = s
        .flows
        .iter()
        .map(|f| ppgov_engine::flowdef::flow_facts(f).connectors.len())
        .sum();
    println!("flow facts: {:?} ({facts})", t.elapsed());
    let t = Instant::now();
    let engine = dlp::DlpEngine::new(
        s.dlp_policies.iter(),
        &s.environments,
        &s.connector_metadata,
    );
    println!(
        "dlp engine: {:?} ({})",
        t.elapsed(),
        engine.policies().len()
    );
    let t = Instant::now();
    let ctx = ppgov_engine::Context::new(&s, &config);
    println!("context: {:?}", t.elapsed());
    for rule in ppgov_engine::registry::RULES {
        let t = Instant::now();
        let out = (rule.evaluate)(&ctx);
        let took = t.elapsed();
        if took.as_millis() > 20 {
            println!(
                "  {}: {took:?} ({} findings)",
                rule.meta.id,
                out.findings.len()
            );
        }
    }
    let t = Instant::now();
    let r = scan(&s, &PostureConfig::default(), &ScanOptions::default());
    println!(
        "scan: {flows} flows, {apps} apps, {connections} connections: {:?}, {} findings",
        t.elapsed(),
        r.findings.len()
    );
    let mut draft = policy("draft", DlpScope::AllEnvironments);
    draft
        .connectors
        .insert("shared_sharepointonline".into(), DlpGroup::Blocked);
    draft.default_group = DlpGroup::NonBusiness;
    let t = Instant::now();
    let sim = dlp::simulate(&s, &draft, None);
    println!(
        "simulate: {:?}, {} would break, {} would be fixed",
        t.elapsed(),
        sim.would_break.len(),
        sim.would_fix.len()
    );
}
