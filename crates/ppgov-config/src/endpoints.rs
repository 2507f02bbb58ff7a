//! Base URLs and token scopes per cloud. Every client takes its base URL from here, so the public
//! cloud, a government cloud, the emulator and a test server are one code path.

use serde::{Deserialize, Serialize};
use url::Url;

/// A Microsoft cloud preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Commercial cloud.
    #[default]
    Public,
    /// US Government Community Cloud.
    Gcc,
    /// GCC High.
    Gcchigh,
    /// US Department of Defense.
    Dod,
}

/// Token scopes (`<audience>/.default`) per API family. Dataverse scopes come from each
/// environment's instance URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes {
    /// BAP and Power Apps.
    pub powerapps: String,
    /// Flow.
    pub flow: String,
    /// Power Platform API (incl. inventory and applyAdminRole).
    pub powerplatform: String,
    /// Microsoft Graph.
    pub graph: String,
    /// Office 365 Management Activity API.
    pub management: String,
}

impl Scopes {
    /// Every scope with the name of the API family it is for, in a fixed order (for sign-in checks
    /// and reports).
    pub fn named(&self) -> [(&'static str, &str); 5] {
        [
            ("BAP / Power Apps", &self.powerapps),
            ("Flow", &self.flow),
            ("Power Platform API", &self.powerplatform),
            ("Microsoft Graph", &self.graph),
            ("Management Activity API", &self.management),
        ]
    }
}

/// Base URLs of every API family (no trailing slash) plus the scopes to request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Entra authority host, e.g. `https://login.microsoftonline.com`.
    pub login: Url,
    /// BAP, e.g. `https://api.bap.microsoft.com` (also serves GOV DLP).
    pub bap: Url,
    /// Power Apps, e.g. `https://api.powerapps.com`.
    pub powerapps: Url,
    /// Flow, e.g. `https://api.flow.microsoft.com`.
    pub flow: Url,
    /// Power Platform API, e.g. `https://api.powerplatform.com`.
    pub powerplatform: Url,
    /// Graph, e.g. `https://graph.microsoft.com`.
    pub graph: Url,
    /// Management Activity API, e.g. `https://manage.office.com`.
    pub management: Url,
    /// Scopes to request per family.
    pub scopes: Scopes,
    /// DNS suffixes a Dataverse instance URL taken from a BAP answer may lie on (the cloud's
    /// own, plus `endpoints.dataverse_domains` from the configuration). Anything else is refused
    /// before a token is sent to it; see [`Endpoints::check_dataverse_url`].
    #[serde(default)]
    pub dataverse_domains: Vec<String>,
}

/// The Dataverse domains of a cloud (Microsoft's Global Discovery Service table: commercial
/// `crm*.dynamics.com`, GCC `crm9.dynamics.com`, GCC High `crm.microsoftdynamics.us`, DoD
/// `crm.appsplatform.us`).
pub fn dataverse_domains(cloud: Cloud) -> &'static [&'static str] {
    match cloud {
        Cloud::Public => &["dynamics.com"],
        Cloud::Gcc => &["crm9.dynamics.com"],
        Cloud::Gcchigh => &["crm.microsoftdynamics.us"],
        Cloud::Dod => &["crm.appsplatform.us"],
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn url(s: &str) -> Url {
    // Presets are literals checked by the tests below; a parse failure would be a typo here.
    Url::parse(s).unwrap_or_else(|_| {
        Url::parse("https://invalid.invalid").unwrap_or_else(|_| unreachable!())
    })
}

impl Endpoints {
    /// The preset for a cloud.
    pub fn for_cloud(cloud: Cloud) -> Endpoints {
        let (login, bap, pa, flow, pp, graph, mgmt, s_pa, s_flow, s_pp, s_graph, s_mgmt) =
            match cloud {
                Cloud::Public => (
                    "https://login.microsoftonline.com",
                    "https://api.bap.microsoft.com",
                    "https://api.powerapps.com",
                    "https://api.flow.microsoft.com",
                    "https://api.powerplatform.com",
                    "https://graph.microsoft.com",
                    "https://manage.office.com",
                    "https://service.powerapps.com/.default",
                    "https://service.flow.microsoft.com/.default",
                    "https://api.powerplatform.com/.default",
                    "https://graph.microsoft.com/.default",
                    "https://manage.office.com/.default",
                ),
                Cloud::Gcc => (
                    "https://login.microsoftonline.com",
                    "https://gov.api.bap.microsoft.us",
                    "https://gov.api.powerapps.us",
                    "https://gov.api.flow.microsoft.us",
                    "https://api.gov.powerplatform.microsoft.us",
                    "https://graph.microsoft.com",
                    "https://manage-gcc.office.com",
                    // TF constants USGOV_POWERAPPS_SCOPE: no `gov.` prefix on the audience.
                    "https://service.powerapps.us/.default",
                    "https://gov.service.flow.microsoft.us/.default",
                    "https://api.gov.powerplatform.microsoft.us/.default",
                    "https://graph.microsoft.com/.default",
                    "https://manage-gcc.office.com/.default",
                ),
                Cloud::Gcchigh => (
                    "https://login.microsoftonline.us",
                    "https://high.api.bap.microsoft.us",
                    "https://high.api.powerapps.us",
                    "https://high.api.flow.microsoft.us",
                    "https://api.high.powerplatform.microsoft.us",
                    "https://graph.microsoft.us",
                    "https://manage.office365.us",
                    // TF constants USGOVHIGH_POWERAPPS_SCOPE (PSM uses high.service.powerapps.us; the
                    // REFERENCE notes the two disagree). The PPAPI host follows TF's cloud table.
                    "https://high.service.apps.appsplatform.us/.default",
                    "https://high.service.flow.microsoft.us/.default",
                    "https://api.high.powerplatform.microsoft.us/.default",
                    "https://graph.microsoft.us/.default",
                    "https://manage.office365.us/.default",
                ),
                Cloud::Dod => (
                    "https://login.microsoftonline.us",
                    "https://api.bap.appsplatform.us",
                    "https://api.apps.appsplatform.us",
                    "https://api.flow.appsplatform.us",
                    "https://api.appsplatform.us",
                    "https://dod-graph.microsoft.us",
                    "https://manage.protection.apps.mil",
                    "https://service.apps.appsplatform.us/.default",
                    "https://service.flow.appsplatform.us/.default",
                    "https://api.appsplatform.us/.default",
                    "https://dod-graph.microsoft.us/.default",
                    "https://manage.protection.apps.mil/.default",
                ),
            };
        Endpoints {
            login: url(login),
            bap: url(bap),
            powerapps: url(pa),
            flow: url(flow),
            powerplatform: url(pp),
            graph: url(graph),
            management: url(mgmt),
            scopes: Scopes {
                powerapps: s_pa.into(),
                flow: s_flow.into(),
                powerplatform: s_pp.into(),
                graph: s_graph.into(),
                management: s_mgmt.into(),
            },
            dataverse_domains: dataverse_domains(cloud)
                .iter()
                .map(|d| (*d).to_string())
                .collect(),
        }
    }

    /// Every API family at one base URL (the emulator serves all of them on one port, at their
    /// real paths), with the public cloud's scopes.
    pub fn all_at(base: &Url) -> Endpoints {
        let mut e = Endpoints::for_cloud(Cloud::Public);
        for u in [
            &mut e.login,
            &mut e.bap,
            &mut e.powerapps,
            &mut e.flow,
            &mut e.powerplatform,
            &mut e.graph,
            &mut e.management,
        ] {
            *u = base.clone();
        }
        e
    }

    /// Whether a Dataverse instance URL (taken from a BAP answer, so not chosen by the user) may
    /// receive a token: HTTPS on one of [`Endpoints::dataverse_domains`] (the host itself or a
    /// subdomain), or loopback when the configured BAP endpoint is loopback (the emulator). The
    /// error says why it was refused.
    pub fn check_dataverse_url(&self, url: &Url) -> Result<(), String> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL carries user information".into());
        }
        if is_loopback(url) {
            return if is_loopback(&self.bap) {
                Ok(())
            } else {
                Err("a loopback address while the configured endpoints are not loopback".into())
            };
        }
        let Some(url::Host::Domain(host)) = url.host() else {
            return Err("the host is not a DNS name on the cloud's Dataverse domains".into());
        };
        if url.scheme() != "https" {
            return Err(format!("scheme {} instead of https", url.scheme()));
        }
        let host = host.trim_end_matches('.');
        let trusted = self
            .dataverse_domains
            .iter()
            .any(|d| ppgov_core::domain::within(host, d.trim().trim_start_matches('.')));
        if trusted {
            Ok(())
        } else {
            Err(format!(
                "host {host} is not on the cloud's Dataverse domains ({}); add its suffix to \
                 endpoints.dataverse_domains if it is genuine",
                self.dataverse_domains.join(", ")
            ))
        }
    }

    /// The Dataverse scope for an instance URL: `scheme://host[:port]/.default`.
    pub fn dataverse_scope(instance_url: &Url) -> String {
        format!("{}/.default", instance_url.origin().ascii_serialization())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_differ() {
        for c in [Cloud::Public, Cloud::Gcc, Cloud::Gcchigh, Cloud::Dod] {
            let e = Endpoints::for_cloud(c);
            assert_ne!(e.bap.host_str(), Some("invalid.invalid"), "{c:?}");
            assert!(e.scopes.powerapps.ends_with("/.default"));
        }
        assert_ne!(
            Endpoints::for_cloud(Cloud::Public).bap,
            Endpoints::for_cloud(Cloud::Gcc).bap
        );
    }

    #[test]
    fn government_presets_follow_terraform_constants() {
        let gcc = Endpoints::for_cloud(Cloud::Gcc);
        assert_eq!(gcc.login.host_str(), Some("login.microsoftonline.com"));
        assert_eq!(gcc.bap.host_str(), Some("gov.api.bap.microsoft.us"));
        assert_eq!(
            gcc.scopes.powerapps,
            "https://service.powerapps.us/.default"
        );
        let high = Endpoints::for_cloud(Cloud::Gcchigh);
        assert_eq!(high.login.host_str(), Some("login.microsoftonline.us"));
        assert_eq!(high.powerapps.host_str(), Some("high.api.powerapps.us"));
        let dod = Endpoints::for_cloud(Cloud::Dod);
        assert_eq!(dod.bap.host_str(), Some("api.bap.appsplatform.us"));
        assert_eq!(
            dod.scopes.powerapps,
            "https://service.apps.appsplatform.us/.default"
        );
    }

    #[test]
    fn dataverse_urls_must_lie_on_the_clouds_domains() {
        let public = Endpoints::for_cloud(Cloud::Public);
        let ok = |e: &Endpoints, u: &str| e.check_dataverse_url(&Url::parse(u).unwrap());
        assert!(ok(&public, "https://org1.crm4.dynamics.com/").is_ok());
        assert!(ok(&public, "https://org1.api.crm.dynamics.com/").is_ok());
        for bad in [
            "https://org1.crm4.dynamics.com.evil.example/",
            "https://evil-dynamics.com/",
            "http://org1.crm.dynamics.com/",
            "https://user@org1.crm.dynamics.com/",
            "https://10.0.0.1/",
            "http://127.0.0.1:8080/",
            "https://org1.crm.microsoftdynamics.us/",
        ] {
            let e = ok(&public, bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        let high = Endpoints::for_cloud(Cloud::Gcchigh);
        assert!(ok(&high, "https://org1.crm.microsoftdynamics.us/").is_ok());
        assert!(ok(&high, "https://org1.crm.dynamics.com/").is_err());
        let dod = Endpoints::for_cloud(Cloud::Dod);
        assert!(ok(&dod, "https://org1.crm.appsplatform.us/").is_ok());
        let gcc = Endpoints::for_cloud(Cloud::Gcc);
        assert!(ok(&gcc, "https://org1.crm9.dynamics.com/").is_ok());
        assert!(ok(&gcc, "https://org1.crm4.dynamics.com/").is_err());
        let emu = Endpoints::all_at(&Url::parse("http://127.0.0.1:9000/").unwrap());
        assert!(ok(&emu, "http://127.0.0.1:9000/dataverse/org1/").is_ok());
        assert!(ok(&emu, "http://localhost:9001/").is_ok());
        assert!(ok(&emu, "http://attacker.example/").is_err());
        let mut extra = public.clone();
        extra.dataverse_domains.push("crm.contoso.test".into());
        assert!(ok(&extra, "https://org.crm.contoso.test/").is_ok());
    }

    #[test]
    fn dataverse_scope_is_origin() {
        let u = Url::parse("https://org1a2b.crm4.dynamics.com/").unwrap();
        assert_eq!(
            Endpoints::dataverse_scope(&u),
            "https://org1a2b.crm4.dynamics.com/.default"
        );
        let u = Url::parse("http://127.0.0.1:8080/dataverse/org1/").unwrap();
        assert_eq!(
            Endpoints::dataverse_scope(&u),
            "http://127.0.0.1:8080/.default"
        );
    }
}
