//! Showing a webhook URL without its secret: scheme, host and port only.

use url::Url;

/// `https://host[:port]/…` for a URL whose path or query may hold a token; `[invalid url]` when it
/// does not parse. The path is replaced by `…` whenever there is one, so nothing after the host
/// ever shows.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if u.path() != "/" || u.query().is_some() {
                "/…"
            } else {
                ""
            };
            format!("{}://{host}{port}{rest}", u.scheme())
        }
        Err(_) => "[invalid url]".to_string(),
    }
}

/// The pieces of a webhook URL that must never show: the whole URL, its path with the query, the
/// path and the query alone (receivers echo any of them in error bodies).
pub fn url_secrets(raw: &str) -> Vec<String> {
    let mut out = vec![raw.to_string()];
    if let Ok(u) = Url::parse(raw) {
        let path = u.path().to_string();
        if let Some(q) = u.query() {
            out.push(format!("{path}?{q}"));
            out.push(q.to_string());
        }
        if path.len() > 1 {
            out.push(path);
        }
    }
    out
}

/// `text` with every occurrence of each secret replaced by `[redacted]` (servers echo things).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheme_host_and_port_show() {
        assert_eq!(
            redact_url(
                "https://prod-1.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=SECRET"
            ),
            "https://prod-1.westeurope.logic.azure.com/…"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/hook/T0/B0/XYZ"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(redact_url("https://example.com"), "https://example.com");
        assert_eq!(
            redact_url("https://user:pw@example.com/x"),
            "https://example.com/…"
        );
        assert_eq!(redact_url("not a url SECRET"), "[invalid url]");
    }

    #[test]
    fn url_secrets_cover_path_and_query() {
        let s = url_secrets("https://h/a/b?sig=X");
        assert_eq!(s, ["https://h/a/b?sig=X", "/a/b?sig=X", "sig=X", "/a/b"]);
        let text = scrub(
            "no workflow at /a/b?sig=X",
            &s.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(text, "no workflow at [redacted]");
    }

    #[test]
    fn scrub_replaces_every_secret() {
        assert_eq!(scrub("a pw b pw", &["pw", ""]), "a [redacted] b [redacted]");
    }
}
