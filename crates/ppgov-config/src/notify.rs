//! `[notify]`: where notifications go (PPG-ACT-013). Secrets never live in the file: the SMTP
//! password and each webhook URL (Teams, Slack and Power Automate put the token in it) are read
//! from environment variables the file names.
//!
//! ```toml
//! [notify]
//! templates_dir = "notify-templates"   # optional; files here replace the built-in templates
//! it_recipients = ["platform-team@contoso.com"]
//! [notify.smtp]
//! host = "smtp.office365.com"
//! port = 587
//! starttls = "required"                # required | opportunistic | none
//! username = "ppgov@contoso.com"
//! password_env = "PPGOV_SMTP_PASSWORD"
//! from = "ppgov <ppgov@contoso.com>"
//! [[notify.webhooks]]
//! name = "governance-channel"
//! kind = "teams"                       # generic | teams | slack
//! url_env = "PPGOV_TEAMS_WEBHOOK_URL"
//! ```

use crate::error::{ConfigError, Location};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The `[notify]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Folder whose `subject.txt`, `body.txt`, `body.html`, `webhook.txt` replace the built-in
    /// templates (relative to the configuration file).
    pub templates_dir: Option<PathBuf>,
    /// Addresses of the IT / platform team, told about everything.
    pub it_recipients: Vec<String>,
    /// `[notify.smtp]`: e-mail, if configured.
    pub smtp: Option<SmtpConfig>,
    /// `[[notify.webhooks]]`.
    pub webhooks: Vec<WebhookConfig>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// STARTTLS or no mail.
    #[default]
    Required,
    /// STARTTLS when offered.
    Opportunistic,
    /// Clear text (a relay on the same host only; refused with a username).
    None,
}

/// `[notify.smtp]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host.
    pub host: String,
    /// Server port (default 587, submission).
    #[serde(default = "default_port")]
    pub port: u16,
    /// STARTTLS mode.
    #[serde(default)]
    pub starttls: SmtpTls,
    /// User name for AUTH.
    pub username: Option<String>,
    /// Name of the environment variable holding the password.
    pub password_env: Option<String>,
    /// Sender address.
    pub from: String,
}

impl NotifyConfig {
    /// Resolves `templates_dir` against the directory of the file it was read from.
    pub(crate) fn relative_to(mut self, file: Option<&std::path::Path>) -> NotifyConfig {
        let base = file.and_then(|p| p.parent());
        if let (Some(dir), Some(base)) = (self.templates_dir.take(), base) {
            self.templates_dir = Some(if dir.is_relative() && !base.as_os_str().is_empty() {
                base.join(dir)
            } else {
                dir
            });
        }
        self
    }
}

fn default_port() -> u16 {
    587
}

/// What a webhook receiver expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookKindConfig {
    /// Plain JSON.
    Generic,
    /// Teams Workflows with an Adaptive Card.
    Teams,
    /// Slack incoming webhook.
    Slack,
}

/// One `[[notify.webhooks]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// A name for messages and `ppgov notify test` output.
    pub name: String,
    /// Payload shape.
    pub kind: WebhookKindConfig,
    /// Name of the environment variable holding the URL.
    pub url_env: String,
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A plausible mailbox: `local@domain` or `Name <local@domain>`, no spaces in the address.
pub fn is_address(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        _ => s,
    };
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !addr.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Checks values in `[notify]` the schema walk cannot (allowed words, ranges, pairs, duplicates),
/// each problem with its position.
pub(crate) fn check(
    loc: &dyn Fn(Range<usize>) -> Location,
    notify: &DeTable<'_>,
    errs: &mut Vec<ConfigError>,
) {
    let str_of = |v: &Spanned<DeValue<'_>>| match v.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        _ => None,
    };
    if let Some(v) = notify.get("it_recipients")
        && let DeValue::Array(a) = v.get_ref()
    {
        for (i, item) in a.iter().enumerate() {
            if let Some(s) = str_of(item)
                && !is_address(&s)
            {
                errs.push(
                    ConfigError::new(
                        loc(item.span()),
                        format!("notify.it_recipients[{i}]"),
                        format!("`{s}` is not an e-mail address"),
                    )
                    .fix("write an address such as \"platform-team@contoso.com\""),
                );
            }
        }
    }
    if let Some(v) = notify.get("smtp")
        && let DeValue::Table(t) = v.get_ref()
    {
        check_smtp(loc, v.span(), t, errs);
    }
    if let Some(v) = notify.get("webhooks")
        && let DeValue::Array(a) = v.get_ref()
    {
        let mut names: Vec<String> = Vec::new();
        for (i, item) in a.iter().enumerate() {
            let DeValue::Table(t) = item.get_ref() else {
                continue;
            };
            let key = |k: &str| format!("notify.webhooks[{i}].{k}");
            match t.get("name").map(|v| (str_of(v), v.span())) {
                None => errs.push(
                    ConfigError::new(loc(item.span()), key("name"), "missing")
                        .fix("name the webhook, e.g. name = \"governance-channel\""),
                ),
                Some((Some(n), span)) => {
                    if n.trim().is_empty() {
                        errs.push(
                            ConfigError::new(loc(span), key("name"), "empty")
                                .fix("name the webhook, e.g. name = \"governance-channel\""),
                        );
                    } else if names.contains(&n) {
                        errs.push(
                            ConfigError::new(
                                loc(span),
                                key("name"),
                                format!("`{n}` names two webhooks"),
                            )
                            .fix("give each webhook its own name"),
                        );
                    } else {
                        names.push(n);
                    }
                }
                Some((None, _)) => {}
            }
            match t.get("kind").map(|v| (str_of(v), v.span())) {
                None => errs.push(
                    ConfigError::new(loc(item.span()), key("kind"), "missing")
                        .fix("set kind = \"generic\", \"teams\" or \"slack\""),
                ),
                Some((Some(k), span)) if !matches!(k.as_str(), "generic" | "teams" | "slack") => {
                    errs.push(
                        ConfigError::new(loc(span), key("kind"), format!("unknown kind `{k}`"))
                            .fix("use \"generic\", \"teams\" or \"slack\""),
                    )
                }
                _ => {}
            }
            check_env_name(loc, item.span(), t, "url_env", &key("url_env"), true, errs);
        }
    }
}

fn check_smtp(
    loc: &dyn Fn(Range<usize>) -> Location,
    here: Range<usize>,
    t: &DeTable<'_>,
    errs: &mut Vec<ConfigError>,
) {
    let get_str = |k: &str| match t.get(k).map(|v| v.get_ref()) {
        Some(DeValue::String(s)) => Some(s.to_string()),
        _ => None,
    };
    match t.get("host") {
        None => errs.push(
            ConfigError::new(loc(here.clone()), "notify.smtp.host", "missing")
                .fix("set the SMTP server, e.g. host = \"smtp.office365.com\""),
        ),
        Some(v) => {
            if let DeValue::String(s) = v.get_ref()
                && s.trim().is_empty()
            {
                errs.push(
                    ConfigError::new(loc(v.span()), "notify.smtp.host", "empty")
                        .fix("set the SMTP server, e.g. host = \"smtp.office365.com\""),
                );
            }
        }
    }
    match t.get("from") {
        None => errs.push(
            ConfigError::new(loc(here.clone()), "notify.smtp.from", "missing")
                .fix("set the sender, e.g. from = \"ppgov <ppgov@contoso.com>\""),
        ),
        Some(v) => {
            if let DeValue::String(s) = v.get_ref()
                && !is_address(s)
            {
                errs.push(
                    ConfigError::new(
                        loc(v.span()),
                        "notify.smtp.from",
                        format!("`{s}` is not an e-mail address"),
                    )
                    .fix("set the sender, e.g. from = \"ppgov <ppgov@contoso.com>\""),
                );
            }
        }
    }
    if let Some(v) = t.get("port")
        && let DeValue::Integer(i) = v.get_ref()
    {
        let n = i64::from_str_radix(
            i.as_str().replace('_', "").trim_start_matches('+'),
            i.radix(),
        );
        if !matches!(n, Ok(1..=65535)) {
            errs.push(
                ConfigError::new(
                    loc(v.span()),
                    "notify.smtp.port",
                    format!("`{}` is not a port", i.as_str()),
                )
                .fix("use 1-65535: 587 for submission with STARTTLS, 25 for a relay"),
            );
        }
    }
    let starttls = get_str("starttls");
    if let (Some(s), Some(v)) = (&starttls, t.get("starttls"))
        && !matches!(s.as_str(), "required" | "opportunistic" | "none")
    {
        errs.push(
            ConfigError::new(
                loc(v.span()),
                "notify.smtp.starttls",
                format!("unknown mode `{s}`"),
            )
            .fix("use \"required\", \"opportunistic\" or \"none\""),
        );
    }
    check_env_name(
        loc,
        here.clone(),
        t,
        "password_env",
        "notify.smtp.password_env",
        false,
        errs,
    );
    let user = t.get("username");
    let pw = t.get("password_env");
    match (user, pw) {
        (Some(u), None) => errs.push(
            ConfigError::new(loc(u.span()), "notify.smtp.password_env", "a username needs a password")
                .fix("name the environment variable holding the password, e.g. password_env = \"PPGOV_SMTP_PASSWORD\""),
        ),
        (None, Some(p)) => errs.push(
            ConfigError::new(loc(p.span()), "notify.smtp.username", "a password needs a username")
                .fix("set username = \"...\" or remove password_env"),
        ),
        _ => {}
    }
    if let (Some(u), Some("none")) = (user, starttls.as_deref()) {
        errs.push(
            ConfigError::new(
                loc(u.span()),
                "notify.smtp.starttls",
                "starttls = \"none\" would send the password in clear text",
            )
            .fix("use starttls = \"required\" (or remove username for an open local relay)"),
        );
    }
}

fn check_env_name(
    loc: &dyn Fn(Range<usize>) -> Location,
    here: Range<usize>,
    t: &DeTable<'_>,
    name: &str,
    key: &str,
    required: bool,
    errs: &mut Vec<ConfigError>,
) {
    match t.get(name) {
        None if required => errs.push(
            ConfigError::new(loc(here), key, "missing")
                .fix(format!("name the environment variable that holds the secret, e.g. {name} = \"PPGOV_TEAMS_WEBHOOK_URL\"")),
        ),
        None => {}
        Some(v) => {
            if let DeValue::String(s) = v.get_ref()
                && !is_env_name(s)
            {
                // Never echo it: someone may have pasted the secret itself here.
                errs.push(
                    ConfigError::new(
                        loc(v.span()),
                        key,
                        "not an environment variable name (letters, digits, _)",
                    )
                    .fix("put the secret in an environment variable and its name here; never the secret itself"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::{ConfigErrors, ConfigSources, Flags, validate};
    use std::collections::BTreeMap;

    const HEAD: &str = "[tenant]\nid = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\n[auth]\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret = \"s\"\n";

    fn load(dir: &tempfile::TempDir, text: &str) -> Result<crate::Config, ConfigErrors> {
        let p = dir.path().join("ppgov.toml");
        std::fs::write(&p, format!("{HEAD}{text}")).unwrap();
        validate(&ConfigSources {
            file: Some(p),
            env: BTreeMap::from([("HOME".to_string(), "/home/u".to_string())]),
            flags: Flags::default(),
        })
    }

    fn line_of(errs: &ConfigErrors, key: &str) -> usize {
        let e = errs
            .errors()
            .iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("no error for {key} in:\n{errs}"));
        match &e.location {
            Location::File { line, .. } => *line,
            other => panic!("{key}: not a file position: {other:?}"),
        }
    }

    #[test]
    fn a_full_section_loads_and_templates_dir_is_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = load(
            &dir,
            "[notify]\ntemplates_dir = \"tpl\"\nit_recipients = [\"it@contoso.com\"]\n\
             [notify.smtp]\nhost = \"smtp.contoso.com\"\nusername = \"ppgov\"\npassword_env = \"PPGOV_SMTP_PASSWORD\"\nfrom = \"ppgov <ppgov@contoso.com>\"\n\
             [[notify.webhooks]]\nname = \"chan\"\nkind = \"teams\"\nurl_env = \"TEAMS_URL\"\n\
             [[notify.webhooks]]\nname = \"soc\"\nkind = \"generic\"\nurl_env = \"SOC_URL\"\n",
        )
        .unwrap();
        let n = c.notify;
        assert_eq!(n.templates_dir, Some(dir.path().join("tpl")));
        assert_eq!(n.it_recipients, ["it@contoso.com"]);
        let smtp = n.smtp.unwrap();
        assert_eq!(smtp.port, 587);
        assert_eq!(smtp.starttls, SmtpTls::Required);
        assert_eq!(smtp.password_env.as_deref(), Some("PPGOV_SMTP_PASSWORD"));
        assert_eq!(n.webhooks.len(), 2);
        assert_eq!(n.webhooks[0].kind, WebhookKindConfig::Teams);
    }

    #[test]
    fn notify_alone_needs_no_sign_in_settings() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ppgov.toml");
        std::fs::write(
            &p,
            "[notify]\ntemplates_dir = \"t\"\nit_recipients = [\"it@x.com\"]\n",
        )
        .unwrap();
        let sources = ConfigSources {
            file: Some(p.clone()),
            ..Default::default()
        };
        let n = crate::notify(&sources).unwrap();
        assert_eq!(n.templates_dir, Some(dir.path().join("t")));
        std::fs::write(
            &p,
            "[notify]\nit_recipients = [\"nobody\"]\n[tenant]\nbogus = 1\n",
        )
        .unwrap();
        let errs = crate::notify(&sources).unwrap_err();
        // Only [notify] problems count here.
        assert_eq!(errs.errors().len(), 1, "{errs}");
        assert!(errs.has_key("notify.it_recipients[0]"));
    }

    #[test]
    fn no_section_means_no_sinks() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir, "").unwrap().notify, NotifyConfig::default());
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let errs = load(
            &dir,
            // line 6 onwards (HEAD is 5 lines)
            "[notify]\n\
             it_recipients = [\"nobody\"]\n\
             [notify.smtp]\n\
             host = \"smtp.contoso.com\"\n\
             port = 70000\n\
             starttls = \"always\"\n\
             username = \"ppgov\"\n\
             from = \"ppgov\"\n\
             [[notify.webhooks]]\n\
             name = \"chan\"\n\
             kind = \"discord\"\n\
             url_env = \"https://hooks.example/SECRET\"\n\
             [[notify.webhooks]]\n\
             name = \"chan\"\n\
             kind = \"slack\"\n",
        )
        .unwrap_err();
        assert_eq!(line_of(&errs, "notify.it_recipients[0]"), 7);
        assert_eq!(line_of(&errs, "notify.smtp.port"), 10);
        assert_eq!(line_of(&errs, "notify.smtp.starttls"), 11);
        assert_eq!(line_of(&errs, "notify.smtp.password_env"), 12);
        assert_eq!(line_of(&errs, "notify.smtp.from"), 13);
        assert_eq!(line_of(&errs, "notify.webhooks[0].kind"), 16);
        assert_eq!(line_of(&errs, "notify.webhooks[0].url_env"), 17);
        assert_eq!(line_of(&errs, "notify.webhooks[1].name"), 19);
        assert!(errs.has_key("notify.webhooks[1].url_env"));
        let text = errs.to_string();
        // A secret pasted where a variable name belongs is never echoed.
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("`chan` names two webhooks"), "{text}");
    }

    #[test]
    fn a_password_in_the_file_is_an_unknown_key_pointing_at_password_env() {
        let dir = tempfile::tempdir().unwrap();
        let errs = load(
            &dir,
            "[notify.smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\npassword = \"hunter2\"\n",
        )
        .unwrap_err();
        let text = errs.to_string();
        assert!(text.contains("notify.smtp.password: unknown key"), "{text}");
        assert!(text.contains("password_env"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn clear_text_with_a_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let errs = load(
            &dir,
            "[notify.smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\nstarttls = \"none\"\nusername = \"u\"\npassword_env = \"P\"\n",
        )
        .unwrap_err();
        assert!(errs.to_string().contains("clear text"), "{errs}");
    }

    #[test]
    fn smtp_needs_host_and_from() {
        let dir = tempfile::tempdir().unwrap();
        let errs = load(&dir, "[notify.smtp]\nport = 25\n").unwrap_err();
        assert!(errs.has_key("notify.smtp.host"), "{errs}");
        assert!(errs.has_key("notify.smtp.from"), "{errs}");
    }

    #[test]
    fn addresses() {
        assert!(is_address("a@b.c"));
        assert!(is_address("ppgov <ppgov@contoso.com>"));
        assert!(!is_address("ppgov"));
        assert!(!is_address("a b@c"));
        assert!(!is_address("@c"));
        assert!(!is_address("a@b@c"));
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("PPGOV_SMTP_PASSWORD"));
        assert!(is_env_name("_X1"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("https://x/y"));
        assert!(!is_env_name(""));
    }
}
