//! Set-up shared by the CLI's integration tests: an emulator on loopback, a `ppgov.toml` that
//! points every endpoint at it, and the binary run off the async runtime.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ppgov"))
}

/// A small emulated tenant of `seed` on a free loopback port.
pub async fn emulator(seed: u64) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(
        listener,
        ServeOptions {
            size: Size::Small,
            seed,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Writes `dir/ppgov.toml` signing in as the emulator's admin service principal, with every
/// endpoint at the emulator and the store in `dir/store`, followed by `extra` (more sections).
pub fn config_with(dir: &Path, emu: &Emulator, extra: &str) -> PathBuf {
    let r = emu.ready();
    let u = &r.url;
    let text = format!(
        "[tenant]\nid = \"{}\"\n\n[auth]\nmethod = \"client_secret\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\n[endpoints]\nlogin = \"{u}\"\nbap = \"{u}\"\npowerapps = \"{u}\"\nflow = \"{u}\"\npowerplatform = \"{u}\"\ngraph = \"{u}\"\nmanagement = \"{u}\"\n\n[store]\npath = \"{}\"\n{extra}",
        r.tenant_id,
        r.client_id,
        r.client_secret,
        dir.join("store").display()
    );
    let path = dir.join("ppgov.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// [`config_with`] and nothing more.
pub fn config(dir: &Path, emu: &Emulator) -> PathBuf {
    config_with(dir, emu, "")
}

/// Runs ppgov off the async runtime (the emulator lives on it), in `cwd`, without a config
/// variable from the test's environment.
pub async fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let cwd = cwd.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(bin());
        c.args(&args)
            .current_dir(&cwd)
            .env("NO_COLOR", "1")
            .env_remove("PPGOV_CONFIG")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("RUST_LOG");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    })
    .await
    .unwrap()
}

/// Standard output as text.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Standard error as text.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The values of `key` in the rows of an `inventory ... --format json` output.
pub fn ids(json: &[u8], key: &str) -> std::collections::BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().to_string())
        .collect()
}
