//! Value checks shared by every source: ids, tenant names, URLs.

use std::sync::LazyLock;
use url::{Host, Url};

static GUID: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(
        r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    )
    .ok()
});
static DOMAIN: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$").ok()
});
static RULE_ID: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"^PPG-[A-Z]{3}-[0-9]{3}$").ok());

fn matches(re: &LazyLock<Option<regex::Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn is_guid(s: &str) -> bool {
    matches(&GUID, s)
}

/// A tenant id (GUID) or a verified domain (`contoso.onmicrosoft.com`).
pub fn is_tenant(s: &str) -> bool {
    is_guid(s) || (s.len() <= 253 && matches(&DOMAIN, s))
}

/// A catalogue id: `PPG-XXX-NNN`.
pub fn is_rule_id(s: &str) -> bool {
    matches(&RULE_ID, s)
}

/// Whether a URL's host is loopback: 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Parses a base URL: https anywhere, plain http only to loopback. The error is (problem, fix).
pub fn check_base_url(s: &str) -> Result<Url, (String, String)> {
    let u = Url::parse(s).map_err(|e| {
        (
            format!("`{s}` is not a valid URL: {e}"),
            "write an absolute URL such as https://host".to_string(),
        )
    })?;
    if u.host().is_none() {
        return Err((
            format!("`{s}` has no host"),
            "write an absolute URL such as https://host".into(),
        ));
    }
    match u.scheme() {
        "https" => Ok(u),
        "http" if is_loopback(&u) => Ok(u),
        "http" => Err((
            format!(
                "`{s}` uses plain http to a non-loopback host; only 127.0.0.0/8, ::1 and localhost may use http"
            ),
            format!("use https://{}", s.trim_start_matches("http://")),
        )),
        other => Err((
            format!("`{s}` has scheme `{other}`; only https (or http to loopback) is supported"),
            "use an https:// URL".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_guid("72f988bf86f141af91ab2d7cd011db47"));
        assert!(is_tenant("contoso.onmicrosoft.com"));
        assert!(!is_tenant("contoso"));
        assert!(!is_tenant("not a tenant.com"));
        assert!(is_rule_id("PPG-APP-001"));
        assert!(!is_rule_id("PPG-APP-1"));
        assert!(!is_rule_id("ppg-app-001"));
    }

    #[test]
    fn loopback_rules() {
        for ok in [
            "http://127.0.0.5:8080",
            "http://localhost",
            "http://[::1]:9",
            "https://example.com",
            "http://LOCALHOST:1/x",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        let (msg, fix) = check_base_url("http://example.com").unwrap_err();
        assert!(
            msg.contains("plain http") && msg.contains("loopback"),
            "{msg}"
        );
        assert_eq!(fix, "use https://example.com");
        assert!(check_base_url("http://128.0.0.1").is_err());
        assert!(check_base_url("http://localhost.evil.com").is_err());
        assert!(check_base_url("ftp://127.0.0.1").is_err());
        assert!(check_base_url("not a url").is_err());
    }
}
