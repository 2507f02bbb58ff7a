//! Hostile identifiers: an option of the scenario that gives environments, users and every app,
//! flow and connection inside those environments ids full of the characters that break naive
//! URL and OData building: a quote, a slash, `#`, a space and a percent sign (`%41`, which a
//! double decoding would turn into `A`).
//!
//! It works on a generated tenant rather than inside the generator: every id is renamed
//! consistently in every document (by exact replacement of the generated id, which is unique:
//! GUIDs and GUID-suffixed connection names), environment contents are renamed as they are
//! built, and the ground truth follows. The default environment and the signed-in admin keep
//! their ids, so sign-in and default-environment rules stay as they are.

use crate::server::ContentFn;
use crate::tenant::{EnvContent, ScenarioConfig, Tenant};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What is appended to a hostile id.
pub const SUFFIX: &str = "-o'k/#1 %41";

/// The hostile form of a generated id.
pub fn hostile(id: &str) -> String {
    format!("{id}{SUFFIX}")
}

/// Generates the scenario of `cfg` with hostile ids, and the content source that renames each
/// environment's resources as it is built (for [`crate::server::Emulator::start_with_tenant`]).
pub fn generate(cfg: &ScenarioConfig) -> (Tenant, ContentFn) {
    let tenant = crate::scenario::generate(cfg);
    let (tenant, hostile_envs) = apply(tenant);
    let content: ContentFn = Arc::new(move |t: &Tenant, i: usize| {
        let c = t.env_content(i);
        if hostile_envs.contains(&i) {
            rename_content(c)
        } else {
            c
        }
    });
    (tenant, content)
}

/// Renames environments (all but the default one) and users (every third, not the admin) in
/// the tenant-wide data, and the resources of the renamed environments in the ground truth.
/// Returns the tenant and the indexes of the renamed environments.
pub fn apply(tenant: Tenant) -> (Tenant, Vec<usize>) {
    let admin = tenant.well_known.username.to_ascii_lowercase();
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut envs = Vec::new();
    for e in &tenant.environments {
        if !e.name.starts_with("Default-") {
            renames.insert(e.name.clone(), hostile(&e.name));
            envs.push(e.index);
        }
    }
    for (i, u) in tenant.directory.users.iter().enumerate() {
        if i % 3 == 1 && u.upn.to_ascii_lowercase() != admin {
            renames.insert(u.id.clone(), hostile(&u.id));
        }
    }
    let mut tenant: Tenant = replace_all(&tenant, &renames).unwrap_or(tenant);
    // The resources of renamed environments get hostile names when built; the ground truth
    // names them so too.
    let mut resources = BTreeMap::new();
    for &i in &envs {
        for name in resource_names(&tenant.env_content(i)) {
            resources.insert(name.clone(), hostile(&name));
        }
    }
    if let Some(gt) = replace_all(&tenant.ground_truth, &resources) {
        tenant.ground_truth = gt;
    }
    (tenant, envs)
}

/// The `name`s of an environment's apps, flows and connections.
fn resource_names(c: &EnvContent) -> Vec<String> {
    let name = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
    c.apps
        .iter()
        .filter_map(|a| name(&a.doc))
        .chain(c.flows.iter().filter_map(|f| name(&f.doc)))
        .chain(c.connections.iter().filter_map(|x| name(&x.doc)))
        .collect()
}

/// Gives an environment's apps, flows and connections their hostile names, everywhere they
/// appear in its content.
fn rename_content(c: EnvContent) -> EnvContent {
    let renames: BTreeMap<String, String> = resource_names(&c)
        .into_iter()
        .map(|n| {
            let h = hostile(&n);
            (n, h)
        })
        .collect();
    replace_all(&c, &renames).unwrap_or(c)
}

/// `value` with every occurrence of each key replaced by its value, through its JSON text.
/// The suffix needs no JSON escaping, so the text stays valid. `None` if it does not round-trip.
fn replace_all<T: Serialize + DeserializeOwned>(
    value: &T,
    renames: &BTreeMap<String, String>,
) -> Option<T> {
    if renames.is_empty() {
        return None;
    }
    let mut text = serde_json::to_string(value).ok()?;
    for (from, to) in renames {
        if !from.is_empty() {
            text = text.replace(from.as_str(), to);
        }
    }
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::Size;

    #[test]
    fn renames_consistently() {
        let cfg = ScenarioConfig {
            seed: 3,
            size: Size::Small,
            base_url: "http://127.0.0.1:1".into(),
            now: chrono::Utc::now(),
        };
        let plain = crate::scenario::generate(&cfg);
        let (t, content) = generate(&cfg);
        assert_eq!(t.environments.len(), plain.environments.len());
        let hostile_envs: Vec<_> = t
            .environments
            .iter()
            .filter(|e| e.name.ends_with(SUFFIX))
            .collect();
        assert_eq!(hostile_envs.len(), plain.environments.len() - 1);
        for e in &hostile_envs {
            assert_eq!(e.doc["name"], Value::String(e.name.clone()));
            let c = content(&t, e.index);
            assert!(!c.flows.is_empty() || !c.apps.is_empty());
            for f in &c.flows {
                assert!(f.doc["name"].as_str().unwrap().ends_with(SUFFIX));
            }
        }
        assert!(t.directory.users.iter().any(|u| u.id.ends_with(SUFFIX)));
        // Planted findings on renamed resources name them by their hostile ids.
        assert!(
            t.ground_truth
                .findings
                .iter()
                .any(|f| f.resource_id.ends_with(SUFFIX))
        );
        assert_eq!(
            t.ground_truth.findings.len(),
            plain.ground_truth.findings.len()
        );
    }
}
