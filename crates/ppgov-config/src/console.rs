//! `[console]`: the web console that `ppgov serve` serves beside its API.
//!
//! ```toml
//! [console]
//! public_url = "https://ppgov.contoso.example"   # what browsers open (default: http://<serve.listen>); https makes cookies Secure
//! client_id = "7e1c0b6a-..."                     # the console's app registration in Entra
//! client_secret_env = "PPGOV_CONSOLE_SECRET"     # the variable holding its client secret
//! tenant = "contoso-tenant-id"                   # whose Entra signs people in (default: the first tenant)
//! session_minutes = 480                          # a session ends this long after sign-in
//! request_sla_hours = 72                         # each step of a connector request is due within this
//! reviewers = ["security@contoso.example"]       # told when a request waits for its security review
//! approvers = ["compliance@contoso.example"]     # told when it waits for the compliance decision
//! admins = ["platform@contoso.example"]          # told when its DLP plan waits to be approved and applied
//!
//! # Roles come from the ID token's app roles (ppgov.Viewer, ppgov.Auditor, ppgov.Maker,
//! # ppgov.SecurityReviewer, ppgov.ComplianceApprover, ppgov.Admin), for every tenant served.
//! # Groups grant roles too, per tenant when `tenants` is given:
//! [[console.grants]]
//! role = "admin"
//! groups = ["0b7c...-group-object-id"]
//! tenants = ["contoso-tenant-id"]
//! ```
//!
//! Without a `[console]` section `ppgov serve` serves no console.

use serde::{Deserialize, Serialize};

/// The console's roles, least to most powerful.
pub const CONSOLE_ROLES: [&str; 6] = [
    "viewer",
    "auditor",
    "maker",
    "security_reviewer",
    "compliance_approver",
    "admin",
];

/// `[console]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The address browsers open (scheme, host and port; no path); `http://` and the address
    /// the server listens on when unset. Redirect URIs are made from it; `https` turns on
    /// `Secure` cookies.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The console's application (client) id in Entra.
    pub client_id: String,
    /// The environment variable holding the console app's client secret (never the secret
    /// itself in the file).
    #[serde(default = "default_secret_env")]
    pub client_secret_env: String,
    /// The tenant whose Entra signs people in; the first tenant served when unset.
    #[serde(default)]
    pub tenant: Option<String>,
    /// How long a session lasts after sign-in.
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
    /// Each step of a connector request is due within this many hours of the last.
    #[serde(default = "default_sla_hours")]
    pub request_sla_hours: u32,
    /// Addresses told when a request waits for its security review.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Addresses told when a request waits for the compliance decision.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Addresses told when a request's DLP plan waits to be approved and applied.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Roles granted by group membership.
    #[serde(default)]
    pub grants: Vec<ConsoleGrant>,
}

fn default_sla_hours() -> u32 {
    72
}

/// `[[console.grants]]`: members of any of `groups` hold `role` in `tenants` (every tenant
/// when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleGrant {
    /// One of [`CONSOLE_ROLES`].
    pub role: String,
    /// Group object ids (as the ID token's `groups` claim carries them).
    pub groups: Vec<String>,
    /// Tenant ids the grant applies to; every tenant when empty.
    #[serde(default)]
    pub tenants: Vec<String>,
}

fn default_secret_env() -> String {
    "PPGOV_CONSOLE_SECRET".into()
}

fn default_session_minutes() -> u32 {
    480
}

impl ConsoleConfig {
    /// What is wrong with the section, as (key, problem, fix) triples.
    pub(crate) fn problems(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let public = self.public_url.as_deref().unwrap_or("http://127.0.0.1/");
        match url::Url::parse(public) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.path() == "/" => {
                let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
                if u.scheme() == "http" && !loopback {
                    out.push((
                        "console.public_url".into(),
                        format!("`{public}` is plain http on a network address"),
                        "serve the console behind TLS and write its https address; plain http is only for loopback".into(),
                    ));
                }
            }
            _ => out.push((
                "console.public_url".into(),
                format!("`{public}` is not an http(s) address without a path"),
                "write e.g. \"https://ppgov.contoso.example\"".into(),
            )),
        }
        if uuid_like(&self.client_id).is_none() {
            out.push((
                "console.client_id".into(),
                format!("`{}` is not an application id", self.client_id),
                "write the console app registration's application (client) id, a GUID".into(),
            ));
        }
        let env_ok = !self.client_secret_env.is_empty()
            && self
                .client_secret_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !env_ok {
            out.push((
                "console.client_secret_env".into(),
                format!("`{}` is not a variable name", self.client_secret_env),
                "name the environment variable that holds the secret, e.g. PPGOV_CONSOLE_SECRET"
                    .into(),
            ));
        }
        if !(5..=7 * 24 * 60).contains(&self.session_minutes) {
            out.push((
                "console.session_minutes".into(),
                format!("{} is out of range", self.session_minutes),
                "write a whole number of minutes from 5 to 10080 (a week)".into(),
            ));
        }
        if !(1..=24 * 90).contains(&self.request_sla_hours) {
            out.push((
                "console.request_sla_hours".into(),
                format!("{} is out of range", self.request_sla_hours),
                "write a whole number of hours from 1 to 2160 (90 days)".into(),
            ));
        }
        for (key, list) in [
            ("console.reviewers", &self.reviewers),
            ("console.approvers", &self.approvers),
            ("console.admins", &self.admins),
        ] {
            for a in list.iter().filter(|a| !crate::notify::is_address(a)) {
                out.push((
                    key.into(),
                    format!("`{a}` is not an e-mail address"),
                    "write addresses like security@contoso.example".into(),
                ));
            }
        }
        for (i, g) in self.grants.iter().enumerate() {
            if !CONSOLE_ROLES.contains(&g.role.as_str()) {
                out.push((
                    format!("console.grants[{i}].role"),
                    format!("`{}` is not a console role", g.role),
                    format!("use one of {}", CONSOLE_ROLES.join(", ")),
                ));
            }
            if g.groups.is_empty() {
                out.push((
                    format!("console.grants[{i}].groups"),
                    "no group is named".into(),
                    "list the object ids of the groups whose members hold the role".into(),
                ));
            }
        }
        out
    }
}

fn uuid_like(s: &str) -> Option<()> {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    (parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit())))
    .then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConsoleConfig {
        ConsoleConfig {
            public_url: Some("http://127.0.0.1:8080".into()),
            client_id: "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a31".into(),
            client_secret_env: default_secret_env(),
            tenant: None,
            session_minutes: 480,
            request_sla_hours: 72,
            reviewers: vec![],
            approvers: vec![],
            admins: vec![],
            grants: vec![],
        }
    }

    #[test]
    fn a_loopback_console_over_http_is_accepted() {
        assert!(base().problems().is_empty());
    }

    #[test]
    fn every_bad_value_is_named_with_its_key() {
        let c = ConsoleConfig {
            public_url: Some("http://ppgov.contoso.example".into()),
            client_id: "console".into(),
            client_secret_env: "NOT OK".into(),
            session_minutes: 1,
            reviewers: vec!["not an address".into()],
            grants: vec![ConsoleGrant {
                role: "root".into(),
                groups: vec![],
                tenants: vec![],
            }],
            ..base()
        };
        let keys: Vec<String> = c.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(
            keys,
            [
                "console.public_url",
                "console.client_id",
                "console.client_secret_env",
                "console.session_minutes",
                "console.reviewers",
                "console.grants[0].role",
                "console.grants[0].groups"
            ]
        );
        let path = ConsoleConfig {
            public_url: Some("https://ppgov.contoso.example/console".into()),
            ..base()
        };
        assert_eq!(path.problems()[0].0, "console.public_url");
    }
}
