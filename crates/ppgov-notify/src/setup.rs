//! From `[notify]` to a [`Notifier`]: reads the secrets from the environment variables the file
//! names, and reports every missing one at once (by variable name, never by value).

use crate::notifier::{Notifier, Sink};
use crate::smtp::{SmtpSettings, SmtpSink, StartTls};
use crate::templates::Templates;
use crate::webhook::{WebhookKind, WebhookSettings, WebhookSink};
use ppgov_config::{NotifyConfig, SmtpTls, WebhookKindConfig};
use ppgov_core::Secret;
use std::time::Duration;

/// The configuration cannot make a notifier.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Templates failed to load.
    #[error(transparent)]
    Templates(#[from] crate::templates::TemplateError),
    /// Some sinks could not be set up; each line says which and why.
    #[error("{}", .0.join("\n"))]
    Sinks(Vec<String>),
}

/// Builds the notifier for `config`, reading secrets through `env` (the process environment in
/// the binary, a map in tests). Every sink is checked, so all problems show at once.
pub fn notifier_from_config(
    config: &NotifyConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Notifier, SetupError> {
    let templates = Templates::load(config.templates_dir.as_deref())?;
    let (sinks, problems) = build_sinks(config, env);
    if problems.is_empty() {
        Ok(Notifier::new(templates, sinks))
    } else {
        Err(SetupError::Sinks(problems))
    }
}

/// Same as [`notifier_from_config`] but a sink that cannot be set up is left out instead of
/// failing the whole (for `ppgov notify test`, which reports each sink's fate); its problem is
/// returned beside the notifier.
pub fn notifier_lenient(
    config: &NotifyConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Notifier, Vec<String>), crate::templates::TemplateError> {
    let templates = Templates::load(config.templates_dir.as_deref())?;
    let (sinks, problems) = build_sinks(config, env);
    Ok((Notifier::new(templates, sinks), problems))
}

fn build_sinks(
    config: &NotifyConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Vec<Sink>, Vec<String>) {
    let mut sinks = Vec::new();
    let mut problems = Vec::new();
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(s) = &config.smtp {
        let password = match &s.password_env {
            None => Ok(None),
            Some(name) => var(name).map(|v| Some(Secret::new(v))).ok_or_else(|| {
                format!(
                    "smtp {}:{}: environment variable {name} (notify.smtp.password_env) is not set (hint: export it with the SMTP password)",
                    s.host, s.port
                )
            }),
        };
        match password {
            Err(p) => problems.push(p),
            Ok(password) => {
                let settings = SmtpSettings {
                    host: s.host.clone(),
                    port: s.port,
                    starttls: match s.starttls {
                        SmtpTls::Required => StartTls::Required,
                        SmtpTls::Opportunistic => StartTls::Opportunistic,
                        SmtpTls::None => StartTls::None,
                    },
                    username: s.username.clone(),
                    password,
                    from: s.from.clone(),
                    extra_roots_pem: Vec::new(),
                    timeout: Duration::from_secs(30),
                };
                match SmtpSink::new(&settings) {
                    Ok(sink) => sinks.push(Sink::Smtp(sink)),
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
    }
    for w in &config.webhooks {
        let Some(url) = var(&w.url_env) else {
            problems.push(format!(
                "webhook `{}`: environment variable {} (url_env) is not set (hint: export it with the webhook URL)",
                w.name, w.url_env
            ));
            continue;
        };
        let kind = match w.kind {
            WebhookKindConfig::Generic => WebhookKind::Generic,
            WebhookKindConfig::Teams => WebhookKind::Teams,
            WebhookKindConfig::Slack => WebhookKind::Slack,
        };
        match WebhookSink::new(WebhookSettings::new(&w.name, kind, Secret::new(url))) {
            Ok(sink) => sinks.push(Sink::Webhook(sink)),
            Err(e) => problems.push(e.to_string()),
        }
    }
    (sinks, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ppgov_config::{SmtpConfig, WebhookConfig};
    use std::collections::BTreeMap;

    fn config() -> NotifyConfig {
        NotifyConfig {
            templates_dir: None,
            it_recipients: vec!["it@x.com".into()],
            smtp: Some(SmtpConfig {
                host: "smtp.x.com".into(),
                port: 587,
                starttls: SmtpTls::Required,
                username: Some("u".into()),
                password_env: Some("PW".into()),
                from: "ppgov@x.com".into(),
            }),
            webhooks: vec![WebhookConfig {
                name: "chan".into(),
                kind: WebhookKindConfig::Teams,
                url_env: "HOOK".into(),
            }],
        }
    }

    #[test]
    fn secrets_come_from_the_named_variables() -> Result<(), SetupError> {
        let env: BTreeMap<&str, &str> = [
            ("PW", "hunter2"),
            ("HOOK", "https://x.example/hook?sig=SECRET"),
        ]
        .into();
        let n = notifier_from_config(&config(), &|k| env.get(k).map(|v| v.to_string()))?;
        let names: Vec<String> = n.sinks().iter().map(Sink::describe).collect();
        assert_eq!(names, ["smtp smtp.x.com:587", "webhook chan (teams)"]);
        let dbg = format!("{n:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("SECRET"), "{dbg}");
        Ok(())
    }

    #[test]
    fn every_missing_variable_is_named() {
        let e = notifier_from_config(&config(), &|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("environment variable PW"), "{e}");
        assert!(e.contains("environment variable HOOK"), "{e}");
    }

    #[test]
    fn lenient_keeps_the_sinks_that_work() -> Result<(), Box<dyn std::error::Error>> {
        let env: BTreeMap<&str, &str> = [("HOOK", "https://x.example/hook")].into();
        let (n, problems) = notifier_lenient(&config(), &|k| env.get(k).map(|v| v.to_string()))?;
        assert_eq!(n.sinks().len(), 1);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("PW"));
        Ok(())
    }
}
