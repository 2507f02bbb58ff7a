//! What can go wrong sending a notification. No variant ever holds a password or a webhook
//! URL's path or query (where Teams, Slack and Power Automate put their tokens).

use crate::templates::TemplateError;

/// A notification could not be prepared or delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The templates failed for this digest.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An address (from, to) is not a valid mailbox.
    #[error(
        "`{address}` is not a valid e-mail address: {reason} (hint: fix the address in [notify] or in the directory the recipient came from)"
    )]
    Address {
        /// The address as given.
        address: String,
        /// What the parser said.
        reason: String,
    },
    /// The SMTP sink's settings cannot work (bad certificate, password without user name, ...).
    #[error("smtp settings: {0}")]
    SmtpSettings(String),
    /// The SMTP server refused or the connection failed.
    #[error("smtp {host}:{port}: {message}{}", hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    Smtp {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What happened (the password scrubbed out).
        message: String,
        /// What to check next.
        hint: Option<String>,
    },
    /// The webhook answered with a status that is not 2xx (after any retries).
    #[error("webhook `{name}` at {url}: HTTP {status}{}{} (hint: {hint})", if body.is_empty() { String::new() } else { format!(": {body}") }, if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() })]
    WebhookStatus {
        /// The sink's configured name.
        name: String,
        /// Scheme, host and port only.
        url: String,
        /// The last status.
        status: u16,
        /// The start of the response body (the URL scrubbed out).
        body: String,
        /// How many requests were made.
        attempts: u32,
        /// What to check next.
        hint: String,
    },
    /// The webhook could not be reached (connection, TLS, timeout).
    #[error(
        "webhook `{name}` at {url}: {message} (hint: check the host is reachable from here and the URL in the environment variable is right)"
    )]
    WebhookTransport {
        /// The sink's configured name.
        name: String,
        /// Scheme, host and port only.
        url: String,
        /// What happened, without the URL.
        message: String,
    },
    /// The webhook URL does not parse or is not http(s).
    #[error(
        "webhook `{name}`: the URL is not a valid http(s) URL (hint: put the full URL Teams, Slack or your receiver gave you in the environment variable)"
    )]
    WebhookUrl {
        /// The sink's configured name.
        name: String,
    },
}
