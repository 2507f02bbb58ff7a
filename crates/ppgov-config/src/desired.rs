//! `[desired]`: the tenant as it should be, for `ppgov plan --desired FILE` (Microsoft365DSC's
//! idea, planned and applied like every other change). Tenant settings by path, Managed
//! Environment settings per environment, DLP policies by display name.
//!
//! ```toml
//! [desired.tenant_settings]
//! "powerPlatform.governance.enableDefaultEnvironmentRouting" = true
//! "disableTrialEnvironmentCreationByNonAdminUsers" = true
//!
//! [[desired.managed_environments]]
//! environment = "<environment name>"
//! protection_level = "Standard"            # or "Basic"
//! settings = { maxLimitUserSharing = 5, solutionCheckerMode = "warn" }
//!
//! [[desired.dlp_policies]]
//! display_name = "Contoso: production"
//! environment_type = "OnlyEnvironments"    # AllEnvironments | ExceptEnvironments | OnlyEnvironments
//! environments = ["<environment name>"]
//! default_group = "non_business"           # business | non_business | blocked
//! business = ["shared_sharepointonline", "shared_office365"]
//! blocked = ["shared_gmail"]
//! custom_connector_patterns = ["Allow https://api.contoso.com/*", "Blocked *"]
//! ```

use crate::error::{ConfigError, ConfigErrors, Location};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A scalar value in a settings table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text.
    Text(String),
}

/// `[desired]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesiredState {
    /// Tenant settings by dotted path (`powerPlatform.governance.enableDefaultEnvironmentRouting`)
    /// or JSON pointer (`/powerPlatform/...`).
    pub tenant_settings: BTreeMap<String, Scalar>,
    /// `[[desired.managed_environments]]`.
    pub managed_environments: Vec<DesiredManagedEnvironment>,
    /// `[[desired.dlp_policies]]`.
    pub dlp_policies: Vec<DesiredDlpPolicy>,
}

impl DesiredState {
    /// Nothing declared.
    pub fn is_empty(&self) -> bool {
        self.tenant_settings.is_empty()
            && self.managed_environments.is_empty()
            && self.dlp_policies.is_empty()
    }
}

/// One environment's Managed Environment configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredManagedEnvironment {
    /// The environment `name` (its id).
    pub environment: String,
    /// `Standard` (managed) or `Basic`.
    #[serde(default = "standard")]
    pub protection_level: String,
    /// Extended settings (`maxLimitUserSharing`, `solutionCheckerMode`, ...); sent as the strings
    /// the API uses.
    #[serde(default)]
    pub settings: BTreeMap<String, Scalar>,
}

fn standard() -> String {
    "Standard".into()
}

/// One DLP policy, found by display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredDlpPolicy {
    /// The policy's display name (how it is found again).
    pub display_name: String,
    /// `AllEnvironments`, `ExceptEnvironments` or `OnlyEnvironments`.
    #[serde(default = "all_environments")]
    pub environment_type: String,
    /// Environment names the scope lists.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Where unlisted connectors go: `business`, `non_business` or `blocked`.
    #[serde(default = "non_business")]
    pub default_group: String,
    /// Business connectors (names like `shared_sharepointonline`, or API ids).
    #[serde(default)]
    pub business: Vec<String>,
    /// Non-Business connectors.
    #[serde(default)]
    pub non_business: Vec<String>,
    /// Blocked connectors.
    #[serde(default)]
    pub blocked: Vec<String>,
    /// Custom connector URL patterns in order, `CLASS PATTERN`: `business` (or `allow`,
    /// `Confidential`), `non_business` (`General`), `blocked` (`block`), `ignore`.
    #[serde(default)]
    pub custom_connector_patterns: Vec<String>,
}

fn all_environments() -> String {
    "AllEnvironments".into()
}

fn non_business() -> String {
    "non_business".into()
}

/// Reads `[desired]` from `path`, checked as `config validate` checks a file (unknown keys and
/// wrong types with their line), plus the values only this section knows.
pub fn load(path: &Path) -> Result<DesiredState, ConfigErrors> {
    let mut errs = Vec::new();
    let layer = crate::file::read(path, &mut errs);
    errs.retain(|e| e.key == "file" || e.key == "syntax" || e.key.starts_with("desired"));
    if !errs.is_empty() {
        return Err(ConfigErrors(errs));
    }
    let whole = || Location::FileAsWhole(path.to_path_buf());
    let Some(v) = layer.desired else {
        return Err(ConfigErrors(vec![
            ConfigError::new(whole(), "desired", "the file declares no [desired] section")
                .fix("add [desired.tenant_settings], [[desired.managed_environments]] or [[desired.dlp_policies]]"),
        ]));
    };
    let d: DesiredState = v.try_into().map_err(|e: toml::de::Error| {
        ConfigErrors(vec![
            ConfigError::new(whole(), "desired", e.message().to_string())
                .fix("correct the [desired] section"),
        ])
    })?;
    let mut errs = Vec::new();
    for (i, m) in d.managed_environments.iter().enumerate() {
        if !matches!(m.protection_level.as_str(), "Standard" | "Basic") {
            errs.push(
                ConfigError::new(
                    whole(),
                    format!("desired.managed_environments[{i}].protection_level"),
                    format!("`{}` is not a protection level", m.protection_level),
                )
                .fix("write \"Standard\" (managed) or \"Basic\""),
            );
        }
        if m.protection_level == "Basic" && !m.settings.is_empty() {
            errs.push(
                ConfigError::new(
                    whole(),
                    format!("desired.managed_environments[{i}].settings"),
                    "a Basic environment has no Managed Environment settings",
                )
                .fix("remove `settings`, or make it \"Standard\""),
            );
        }
    }
    for (i, p) in d.dlp_policies.iter().enumerate() {
        let key = |k: &str| format!("desired.dlp_policies[{i}].{k}");
        if p.display_name.trim().is_empty() {
            errs.push(
                ConfigError::new(whole(), key("display_name"), "empty")
                    .fix("name the policy; it is found again by this name"),
            );
        }
        if !matches!(
            p.environment_type.as_str(),
            "AllEnvironments" | "ExceptEnvironments" | "OnlyEnvironments"
        ) {
            errs.push(
                ConfigError::new(
                    whole(),
                    key("environment_type"),
                    format!("`{}` is not a scope", p.environment_type),
                )
                .fix("write AllEnvironments, ExceptEnvironments or OnlyEnvironments"),
            );
        }
        if !matches!(
            p.default_group.as_str(),
            "business" | "non_business" | "blocked"
        ) {
            errs.push(
                ConfigError::new(
                    whole(),
                    key("default_group"),
                    format!("`{}` is not a connector group", p.default_group),
                )
                .fix("write business, non_business or blocked"),
            );
        }
    }
    if errs.is_empty() {
        Ok(d)
    } else {
        Err(ConfigErrors(errs))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<DesiredState, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ppgov.toml");
        std::fs::write(&p, text).unwrap();
        super::load(&p)
    }

    #[test]
    fn a_full_section_reads() {
        let d = parse(
            "[desired.tenant_settings]\n\"powerPlatform.governance.enableDefaultEnvironmentRouting\" = true\n\n[[desired.managed_environments]]\nenvironment = \"e1\"\nsettings = { maxLimitUserSharing = 5, solutionCheckerMode = \"warn\" }\n\n[[desired.dlp_policies]]\ndisplay_name = \"P\"\nbusiness = [\"shared_sql\"]\n",
        )
        .unwrap();
        assert_eq!(
            d.tenant_settings["powerPlatform.governance.enableDefaultEnvironmentRouting"],
            Scalar::Bool(true)
        );
        assert_eq!(d.managed_environments[0].protection_level, "Standard");
        assert_eq!(
            d.managed_environments[0].settings["maxLimitUserSharing"],
            Scalar::Int(5)
        );
        assert_eq!(d.dlp_policies[0].default_group, "non_business");
    }

    #[test]
    fn bad_values_are_named_with_their_key() {
        let e = parse("[[desired.dlp_policies]]\ndisplay_name = \"P\"\ndefault_group = \"Confidential\"\nenvironment_type = \"Some\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("desired.dlp_policies[0].default_group"), "{e}");
        assert!(
            e.contains("desired.dlp_policies[0].environment_type"),
            "{e}"
        );
        let e = parse("[desired]\ntenant_settings = { a = [1] }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("desired.tenant_settings.a"), "{e}");
        let e = parse("[desired]\nunknown = 1\n").unwrap_err().to_string();
        assert!(e.contains("unknown key"), "{e}");
        let e = parse("[tenant]\nid = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("no [desired] section"), "{e}");
    }
}
