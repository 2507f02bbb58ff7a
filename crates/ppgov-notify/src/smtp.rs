//! E-mail over SMTP with lettre: STARTTLS (required, opportunistic or off), optional
//! authentication, one multipart/alternative (text + HTML) message per digest.

use crate::error::NotifyError;
use crate::redact::scrub;
use crate::templates::Rendered;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use ppgov_core::Secret;
use std::time::Duration;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartTls {
    /// Upgrade with STARTTLS or fail: nothing (credentials included) goes out in clear text.
    #[default]
    Required,
    /// Upgrade when the server offers STARTTLS, clear text otherwise (open to downgrade).
    Opportunistic,
    /// Never encrypt: only for a relay on the same host.
    None,
}

impl StartTls {
    /// Parses the configuration spelling: `required`, `opportunistic`, `none`.
    pub fn parse(s: &str) -> Option<StartTls> {
        match s {
            "required" => Some(StartTls::Required),
            "opportunistic" => Some(StartTls::Opportunistic),
            "none" => Some(StartTls::None),
            _ => None,
        }
    }
}

/// Settings of an SMTP sink.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Server host name (also the name the certificate must carry).
    pub host: String,
    /// Server port (587 for submission with STARTTLS, 25 for a relay).
    pub port: u16,
    /// How the connection is protected.
    pub starttls: StartTls,
    /// User name for AUTH (PLAIN or LOGIN), if the server wants it.
    pub username: Option<String>,
    /// Password for AUTH.
    pub password: Option<Secret<String>>,
    /// The sender, `ppgov@contoso.com` or `ppgov <ppgov@contoso.com>`.
    pub from: String,
    /// Extra trusted root certificates (PEM), e.g. an internal CA; the system roots stay trusted.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Connection and command timeout.
    pub timeout: Duration,
}

/// Sends digests as e-mail.
pub struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    starttls: StartTls,
    /// Kept only to scrub it out of server replies.
    password: Option<Secret<String>>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("starttls", &self.starttls)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// Checks the settings and prepares the transport (no connection is made yet).
    pub fn new(s: &SmtpSettings) -> Result<SmtpSink, NotifyError> {
        let from = parse_mailbox(&s.from)?;
        let tls = match s.starttls {
            StartTls::None => Tls::None,
            mode => {
                let mut b = TlsParameters::builder(s.host.clone());
                for pem in &s.extra_roots_pem {
                    let cert = Certificate::from_pem(pem).map_err(|e| {
                        NotifyError::SmtpSettings(format!(
                            "an extra root certificate is not valid PEM: {e}"
                        ))
                    })?;
                    b = b.add_root_certificate(cert);
                }
                let params = b.build_rustls().map_err(|e| {
                    NotifyError::SmtpSettings(format!("cannot set up TLS for {}: {e}", s.host))
                })?;
                if mode == StartTls::Required {
                    Tls::Required(params)
                } else {
                    Tls::Opportunistic(params)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        match (&s.username, &s.password) {
            (Some(user), Some(pw)) => {
                builder = builder.credentials(Credentials::new(user.clone(), pw.expose().clone()));
            }
            (Some(_), None) => {
                return Err(NotifyError::SmtpSettings(
                    "a username is set but no password (hint: set password_env in [notify.smtp] and that environment variable)".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(NotifyError::SmtpSettings(
                    "a password is set but no username (hint: set username in [notify.smtp])"
                        .into(),
                ));
            }
            (None, None) => {}
        }
        Ok(SmtpSink {
            transport: builder.build(),
            from,
            host: s.host.clone(),
            port: s.port,
            starttls: s.starttls,
            password: s.password.clone(),
        })
    }

    /// `smtp host:port`, how outcomes name this sink.
    pub fn describe(&self) -> String {
        format!("smtp {}:{}", self.host, self.port)
    }

    /// Sends one rendered message to `to`.
    pub async fn send(&self, to: &str, rendered: &Rendered) -> Result<(), NotifyError> {
        let to = parse_mailbox(to)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| NotifyError::SmtpSettings(format!("cannot build the message: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| self.error(&e))
    }

    fn error(&self, e: &lettre::transport::smtp::Error) -> NotifyError {
        let secrets: Vec<&str> = self.password.iter().map(|p| p.expose().as_str()).collect();
        let message = scrub(&e.to_string(), &secrets);
        let code = e.status().map(|c| c.to_string());
        let hint = match code.as_deref() {
            Some("535") | Some("534") => Some(
                "the server refused the user name or password: check username and the variable password_env names".to_string(),
            ),
            Some("530") => Some(
                "the server demands authentication (or TLS first): set username and password_env, and starttls = \"required\"".to_string(),
            ),
            Some("550") | Some("553") => {
                Some("the server refused the sender or a recipient address".to_string())
            }
            _ if e.is_tls() => Some(
                "TLS failed: the server's certificate must be valid for the configured host and trusted here".to_string(),
            ),
            _ if e.is_timeout() => Some("the server did not answer in time".to_string()),
            _ if self.starttls == StartTls::Required
                && message.to_ascii_lowercase().contains("starttls") =>
            {
                Some("the server does not offer STARTTLS; starttls = \"required\" refuses to send in clear text".to_string())
            }
            _ => None,
        };
        NotifyError::Smtp {
            host: self.host.clone(),
            port: self.port,
            message,
            hint,
        }
    }
}

fn parse_mailbox(s: &str) -> Result<Mailbox, NotifyError> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| NotifyError::Address {
            address: s.to_string(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            starttls: StartTls::Required,
            username: Some("ppgov".into()),
            password: Some(Secret::new("hunter2".into())),
            from: "ppgov <ppgov@example.com>".into(),
            extra_roots_pem: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn debug_never_shows_the_password() -> Result<(), NotifyError> {
        let sink = SmtpSink::new(&settings())?;
        let dbg = format!("{sink:?} {:?}", settings());
        assert!(!dbg.contains("hunter2"), "{dbg}");
        Ok(())
    }

    #[test]
    fn a_bad_from_address_is_refused_up_front() {
        let mut s = settings();
        s.from = "not an address".into();
        let e = SmtpSink::new(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("`not an address` is not a valid e-mail address"),
            "{e}"
        );
    }

    #[test]
    fn a_user_without_password_is_refused() {
        let mut s = settings();
        s.password = None;
        let e = SmtpSink::new(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no password"), "{e}");
    }

    #[test]
    fn starttls_spellings() {
        assert_eq!(StartTls::parse("required"), Some(StartTls::Required));
        assert_eq!(
            StartTls::parse("opportunistic"),
            Some(StartTls::Opportunistic)
        );
        assert_eq!(StartTls::parse("none"), Some(StartTls::None));
        assert_eq!(StartTls::parse("yes"), None);
    }
}
