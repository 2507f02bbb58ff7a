//! Webhooks: one JSON POST per digest to a generic receiver, a Microsoft Teams workflow ("When a
//! Teams webhook request is received", which takes an Adaptive Card in a message envelope) or a
//! Slack incoming webhook. Redirects are never followed; 429 and 5xx are retried a bounded number
//! of times, waiting what `Retry-After` asks (capped).

use crate::error::NotifyError;
use crate::model::Digest;
use crate::redact::{redact_url, scrub, url_secrets};
use crate::templates::Rendered;
use ppgov_core::Secret;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

/// The payload shape a receiver expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// `{"recipient", "subject", "text", "items": [...]}`, for a SIEM, an ITSM tool or a script.
    Generic,
    /// A Teams Workflows message with one Adaptive Card (1.4).
    Teams,
    /// Slack: `{"text", "blocks"}`.
    Slack,
}

impl WebhookKind {
    /// Parses the configuration spelling: `generic`, `teams`, `slack`.
    pub fn parse(s: &str) -> Option<WebhookKind> {
        match s {
            "generic" => Some(WebhookKind::Generic),
            "teams" => Some(WebhookKind::Teams),
            "slack" => Some(WebhookKind::Slack),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Generic => "generic",
            WebhookKind::Teams => "teams",
            WebhookKind::Slack => "slack",
        }
    }
}

/// Settings of a webhook sink.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The configured name (how errors and outcomes name it).
    pub name: String,
    /// The payload shape.
    pub kind: WebhookKind,
    /// The URL; secret because Teams, Slack and Power Automate embed the token in it.
    pub url: Secret<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt for 429 and 5xx.
    pub max_retries: u32,
    /// Wait before the first retry when the server gives no `Retry-After` (doubles each time).
    pub backoff: Duration,
    /// The longest wait, whatever `Retry-After` asks.
    pub max_wait: Duration,
}

impl WebhookSettings {
    /// Settings with the defaults: 10 s timeout, 3 retries, 1 s backoff, waits capped at 60 s.
    pub fn new(name: impl Into<String>, kind: WebhookKind, url: Secret<String>) -> Self {
        WebhookSettings {
            name: name.into(),
            kind,
            url,
            timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// What a successful delivery took.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    /// Requests made (1 when nothing was retried).
    pub attempts: u32,
    /// The waits before each retry, in order.
    pub waits: Vec<Duration>,
}

/// Posts digests to one webhook.
pub struct WebhookSink {
    settings: WebhookSettings,
    client: reqwest::Client,
    shown_url: String,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.settings.name)
            .field("kind", &self.settings.kind)
            .field("url", &self.shown_url)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// Checks the URL and prepares the client (no request is made yet).
    pub fn new(settings: WebhookSettings) -> Result<WebhookSink, NotifyError> {
        let ok = url::Url::parse(settings.url.expose())
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .unwrap_or(false);
        if !ok {
            return Err(NotifyError::WebhookUrl {
                name: settings.name.clone(),
            });
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .user_agent(concat!("ppgov/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::WebhookTransport {
                name: settings.name.clone(),
                url: redact_url(settings.url.expose()),
                message: format!("cannot set up the HTTP client: {}", e.without_url()),
            })?;
        Ok(WebhookSink {
            shown_url: redact_url(settings.url.expose()),
            settings,
            client,
        })
    }

    /// `webhook <name> (<kind>)`, how outcomes name this sink.
    pub fn describe(&self) -> String {
        format!(
            "webhook {} ({})",
            self.settings.name,
            self.settings.kind.as_str()
        )
    }

    /// The JSON this sink posts for a digest (or the test message when `digest` is `None`).
    pub fn payload(&self, recipient: &str, digest: Option<&Digest>, rendered: &Rendered) -> Value {
        payload(self.settings.kind, recipient, digest, rendered)
    }

    /// Posts one payload, retrying 429 and 5xx.
    pub async fn post(&self, body: &Value) -> Result<Delivered, NotifyError> {
        let s = &self.settings;
        let mut waits = Vec::new();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let resp = self
                .client
                .post(s.url.expose())
                .json(body)
                .send()
                .await
                .map_err(|e| self.transport_error(&e))?;
            let status = resp.status();
            if status.is_success() {
                return Ok(Delivered {
                    attempts: attempt,
                    waits,
                });
            }
            let retryable = status.as_u16() == 429 || status.is_server_error();
            if retryable && attempt <= s.max_retries {
                let asked = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                let wait = asked
                    .unwrap_or_else(|| s.backoff.saturating_mul(1u32 << (attempt - 1).min(16)))
                    .min(s.max_wait);
                tracing::debug!(webhook = %s.name, status = status.as_u16(), wait_ms = wait.as_millis() as u64, "webhook retry");
                waits.push(wait);
                tokio::time::sleep(wait).await;
                continue;
            }
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(redact_url);
            let text = resp.text().await.unwrap_or_default();
            let secrets = url_secrets(s.url.expose());
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let body: String = scrub(&text, &secrets).chars().take(200).collect();
            let hint = if status.is_redirection() {
                format!(
                    "the receiver redirects{}; redirects are not followed, put the final URL in the environment variable",
                    location.map(|l| format!(" to {l}")).unwrap_or_default()
                )
            } else {
                match status.as_u16() {
                    401 | 403 => "the receiver refused the request: the URL (its token) may be expired or revoked".into(),
                    404 | 410 => "no webhook at this URL any more: it was deleted or the workflow turned off".into(),
                    400 | 413 | 422 => "the receiver rejected the payload: check the webhook kind matches the receiver".into(),
                    429 => "the receiver is throttling: send less often".into(),
                    _ => "the receiver failed: try again later".into(),
                }
            };
            return Err(NotifyError::WebhookStatus {
                name: s.name.clone(),
                url: self.shown_url.clone(),
                status: status.as_u16(),
                body: body.trim().to_string(),
                attempts: attempt,
                hint,
            });
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> NotifyError {
        let mut message = if e.is_timeout() {
            format!("no answer within {:?}", self.settings.timeout)
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            "request failed".to_string()
        };
        // The chain below reqwest's own error (hyper, rustls, io) names no URL, but scrub anyway.
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        NotifyError::WebhookTransport {
            name: self.settings.name.clone(),
            url: self.shown_url.clone(),
            message: scrub(
                &message,
                &url_secrets(self.settings.url.expose())
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// `Retry-After` as seconds or an HTTP date (relative to `now`); `None` when unreadable.
pub fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn payload(kind: WebhookKind, recipient: &str, digest: Option<&Digest>, r: &Rendered) -> Value {
    match kind {
        WebhookKind::Generic => generic(recipient, digest, r),
        WebhookKind::Teams => teams(recipient, digest, r),
        WebhookKind::Slack => slack(r),
    }
}

fn generic(recipient: &str, digest: Option<&Digest>, r: &Rendered) -> Value {
    let items: Vec<Value> = digest
        .map(|d| {
            d.notices
                .iter()
                .map(|n| {
                    json!({
                        "role": n.role.as_str(),
                        "resource": n.resource,
                        "findings": n.findings.iter().map(|f| json!({
                            "rule_id": f.rule_id,
                            "title": f.title,
                            "severity": f.severity.as_str(),
                        })).collect::<Vec<_>>(),
                        "action": n.action,
                        "due": n.due,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "source": "ppgov",
        "test": digest.is_none(),
        "recipient": recipient,
        "roles": digest.map(|d| d.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()).unwrap_or_default(),
        "subject": r.subject,
        "text": r.webhook_text,
        "due": digest.and_then(|d| d.due),
        "items": items,
    })
}

fn teams(recipient: &str, digest: Option<&Digest>, r: &Rendered) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": r.subject, "weight": "Bolder", "size": "Medium", "wrap": true}),
    ];
    if let Some(d) = digest {
        let mut facts = vec![
            json!({"title": "Recipient", "value": recipient}),
            json!({"title": "Findings", "value": d.finding_count().to_string()}),
            json!({"title": "Highest severity", "value": d.max_severity().as_str()}),
        ];
        if let Some(due) = d.due {
            facts.push(json!({"title": "Due", "value": due.to_string()}));
        }
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    // Adaptive Card markdown needs a blank line between paragraphs.
    let text = r.webhook_text.trim().replace('\n', "\n\n");
    body.push(json!({"type": "TextBlock", "text": text, "wrap": true}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// Slack's three characters that must be escaped in text (`<`, `>` start links and mentions).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn slack(r: &Rendered) -> Value {
    let text = slack_escape(r.webhook_text.trim());
    json!({
        "text": truncate(&text, 3000),
        "blocks": [
            // Slack limits: header text 150 characters, section text 3000.
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&r.subject, 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&text, 3000)}},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> Rendered {
        Rendered {
            subject: "ppgov: 1 finding".into(),
            text: "t".into(),
            html: "h".into(),
            webhook_text: "line <one> & \nline two".into(),
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn slack_escapes_angle_brackets_and_ampersands() {
        let v = slack(&rendered());
        assert_eq!(v["text"], "line &lt;one&gt; &amp; \nline two");
        assert_eq!(v["blocks"][0]["text"]["text"], "ppgov: 1 finding");
        assert_eq!(v["blocks"][1]["type"], "section");
    }

    #[test]
    fn teams_is_an_adaptive_card_in_a_message() {
        let v = teams("it@x.com", None, &rendered());
        assert_eq!(v["type"], "message");
        let a = &v["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(a["content"]["type"], "AdaptiveCard");
        assert_eq!(a["content"]["version"], "1.4");
        assert_eq!(a["content"]["body"][0]["text"], "ppgov: 1 finding");
        assert_eq!(a["content"]["body"][1]["text"], "line <one> & \n\nline two");
    }

    #[test]
    fn a_url_that_is_not_http_is_refused_without_showing_it() {
        let s = WebhookSettings::new(
            "hook",
            WebhookKind::Generic,
            Secret::new("ftp://x/SECRET".into()),
        );
        let e = WebhookSink::new(s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("webhook `hook`"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
    }

    #[test]
    fn debug_shows_the_redacted_url_only() -> Result<(), NotifyError> {
        let s = WebhookSettings::new(
            "hook",
            WebhookKind::Slack,
            Secret::new("https://hooks.slack.com/services/T/B/SECRET".into()),
        );
        let sink = WebhookSink::new(s.clone())?;
        let dbg = format!("{sink:?} {s:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("https://hooks.slack.com/…"), "{dbg}");
        Ok(())
    }
}
