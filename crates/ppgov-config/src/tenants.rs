//! `[[tenants]]`: several tenants served by one `ppgov serve`, each with its own sign-in, store and
//! (optionally) endpoints, laid over the rest of the file, whose sections (`[auth]`, `[posture]`,
//! `[schedule]`, `[notify]`, ...) are every tenant's defaults.
//!
//! ```toml
//! [auth]
//! method = "certificate"
//! certificate_path = "ppgov.pem"          # shared by the tenants below unless one sets its own
//!
//! [[tenants]]
//! id = "contoso.onmicrosoft.com"
//! name = "Contoso"
//! store = "/var/lib/ppgov/contoso"
//! auth = { client_id = "11111111-2222-3333-4444-555555555555" }
//!
//! [[tenants]]
//! id = "fabrikam.onmicrosoft.com"
//! auth = { client_id = "66666666-7777-8888-9999-000000000000", certificate_path = "fabrikam.pem" }
//! ```

use crate::config::{CONFIG_ENV, Config, ConfigSources, validate};
use crate::error::{ConfigError, ConfigErrors, Location};
use std::path::{Path, PathBuf};

/// Keys of an entry that name files, resolved against the configuration file's folder.
const PATH_KEYS: &[&str] = &["store.path", "auth.certificate_path", "auth.token_cache"];

/// One configuration per tenant: each `[[tenants]]` entry over the rest of the file, or the file's
/// one `[tenant]` when it has no `[[tenants]]`. Every problem of every tenant is reported at once,
/// each naming its entry (`tenants[1].auth.client_id`).
pub fn tenants(sources: &ConfigSources) -> Result<Vec<Config>, ConfigErrors> {
    let path = sources.file.clone().or_else(|| {
        sources
            .env
            .get(CONFIG_ENV)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    });
    // No file, no `[[tenants]]`, or a file that cannot be read as TOML (the full validation
    // then says where and why): the one `[tenant]`.
    let Some(entries) = path.as_deref().and_then(entries_of) else {
        return validate(sources).map(|c| vec![c]);
    };
    let file = path.unwrap_or_default();
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut configs = Vec::new();
    let mut errs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let mut flags = sources.flags.clone();
        for (key, value) in entry {
            let value = if PATH_KEYS.contains(&key.as_str()) && Path::new(value).is_relative() {
                base.join(value).display().to_string()
            } else {
                value.clone()
            };
            flags.values.insert(key.clone(), value);
        }
        let one = ConfigSources {
            file: Some(file.clone()),
            env: sources.env.clone(),
            flags,
        };
        match validate(&one) {
            Ok(c) => {
                if !seen.insert(c.tenant.id.to_ascii_lowercase()) {
                    errs.push(
                        ConfigError::new(
                            Location::FileAsWhole(file.clone()),
                            format!("tenants[{i}].id"),
                            format!("tenant {} is listed twice", c.tenant.id),
                        )
                        .fix("list each tenant once"),
                    );
                }
                configs.push(c);
            }
            Err(e) => {
                for mut err in e.0 {
                    // A value the entry set, or one no layer set (missing): name the entry. A
                    // problem in the shared file is reported once, as the file says it.
                    let set_here = matches!(&err.location, Location::Flag(k)
                        if entry.iter().any(|(key, _)| key == k));
                    if set_here || err.location == Location::Unset {
                        if set_here {
                            err.location = Location::FileAsWhole(file.clone());
                        }
                        err.key = format!("tenants[{i}].{}", err.key);
                    }
                    if !errs.contains(&err) {
                        errs.push(err);
                    }
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(configs)
    } else {
        Err(ConfigErrors(errs))
    }
}

/// One `[[tenants]]` entry as (dotted key, value) pairs.
type Entry = Vec<(String, String)>;

/// The `[[tenants]]` entries as dotted keys (`tenant.id`, `auth.client_id`, ...), `None` when the
/// file has none or cannot be read as TOML.
fn entries_of(path: &Path) -> Option<Vec<Entry>> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    let Some(toml::Value::Array(list)) = doc.get("tenants") else {
        return None;
    };
    let mut out = Vec::new();
    for item in list {
        let mut pairs = Vec::new();
        if let toml::Value::Table(t) = item {
            for (k, v) in t {
                match (k.as_str(), v) {
                    ("id", toml::Value::String(s)) => pairs.push(("tenant.id".into(), s.clone())),
                    ("name", toml::Value::String(s)) => {
                        pairs.push(("tenant.name".into(), s.clone()))
                    }
                    ("store", toml::Value::String(s)) => {
                        pairs.push(("store.path".into(), s.clone()))
                    }
                    (section @ ("auth" | "endpoints"), toml::Value::Table(inner)) => {
                        for (ik, iv) in inner {
                            if let toml::Value::String(s) = iv {
                                pairs.push((format!("{section}.{ik}"), s.clone()));
                            }
                        }
                    }
                    // Wrong types and unknown keys are reported by the schema walk.
                    _ => {}
                }
            }
        }
        out.push(pairs);
    }
    Some(out)
}
