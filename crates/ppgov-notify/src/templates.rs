//! Rendering a [`Digest`] through templates: built-in defaults (`templates/` in this crate,
//! embedded) that a user overrides file by file from a directory (`[notify] templates_dir`).
//!
//! Templates are minijinja (Jinja2 syntax). HTML templates (`.html`) escape every value, so a
//! finding title or resource name with `<script>` in it arrives as text. Undefined variables are
//! errors, so a typo in a user template fails `ppgov notify preview` instead of sending a blank.

use crate::model::{Digest, Notice, Role};
use chrono::NaiveDate;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The e-mail subject (one line; line breaks are removed).
pub const SUBJECT: &str = "subject.txt";
/// The plain-text e-mail body.
pub const BODY_TEXT: &str = "body.txt";
/// The HTML e-mail body (auto-escaped).
pub const BODY_HTML: &str = "body.html";
/// The text of a webhook message (Teams, Slack and generic payloads carry it).
pub const WEBHOOK_TEXT: &str = "webhook.txt";

/// Every template file and its built-in text.
pub const DEFAULTS: &[(&str, &str)] = &[
    (SUBJECT, include_str!("../templates/subject.txt")),
    (BODY_TEXT, include_str!("../templates/body.txt")),
    (BODY_HTML, include_str!("../templates/body.html")),
    (WEBHOOK_TEXT, include_str!("../templates/webhook.txt")),
];

/// A template could not be read, parsed or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A user template file exists but could not be read.
    #[error("cannot read template {}: {source} (hint: check the file's permissions, or remove it to use the built-in one)", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `templates_dir` is not a directory.
    #[error("templates_dir {} is not a directory (hint: point [notify] templates_dir at a folder holding subject.txt, body.txt, body.html or webhook.txt)", path.display())]
    NotADirectory {
        /// The configured path.
        path: PathBuf,
    },
    /// A syntax error or a failure while rendering, with where it is.
    #[error("template {file}{}: {message} (hint: fix the template, or delete it to fall back to the built-in one)", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Template {
        /// The file (a path for a user template, `built-in <name>` otherwise).
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// What a digest renders to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One-line subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Text for webhook messages.
    pub webhook_text: String,
}

/// The loaded templates, ready to render many digests.
pub struct Templates {
    env: Environment<'static>,
    /// Template name -> the file it came from (for error messages).
    origin: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origin", &self.origin)
            .finish()
    }
}

impl Templates {
    /// The built-in templates alone.
    pub fn builtin() -> Result<Templates, TemplateError> {
        Templates::load(None)
    }

    /// The built-in templates with any of `subject.txt`, `body.txt`, `body.html`, `webhook.txt`
    /// found in `dir` taking their place. Every template is parsed here, so a syntax error shows
    /// before anything is sent.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        if let Some(dir) = dir
            && !dir.is_dir()
        {
            return Err(TemplateError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let mut origin = Vec::new();
        for (name, builtin) in DEFAULTS {
            let user = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let (source, from) = match user {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    (text, path.display().to_string())
                }
                None => ((*builtin).to_string(), format!("built-in {name}")),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| to_error(&from, &e))?;
            origin.push((*name, from));
        }
        Ok(Templates { env, origin })
    }

    /// Where each template came from (`built-in body.txt` or a path), in file order.
    pub fn origins(&self) -> impl Iterator<Item = (&str, &str)> {
        self.origin.iter().map(|(n, o)| (*n, o.as_str()))
    }

    /// Renders every template for one digest.
    pub fn render(&self, digest: &Digest) -> Result<Rendered, TemplateError> {
        self.render_view(&View::of(digest, false))
    }

    /// Renders the test message for `recipient` (no findings, `test` set in the templates).
    pub fn render_test(&self, recipient: &str) -> Result<Rendered, TemplateError> {
        let digest = Digest {
            recipient: recipient.to_string(),
            roles: vec![Role::It],
            notices: Vec::new(),
            due: None,
        };
        self.render_view(&View::of(&digest, true))
    }

    fn render_view(&self, view: &View<'_>) -> Result<Rendered, TemplateError> {
        let subject = self.one(SUBJECT, Value::from(Serde(view)))?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let with_subject = Value::from(Serde(&WithSubject {
            view,
            subject: &subject,
        }));
        Ok(Rendered {
            text: self.one(BODY_TEXT, with_subject.clone())?,
            html: self.one(BODY_HTML, with_subject.clone())?,
            webhook_text: self.one(WEBHOOK_TEXT, with_subject)?,
            subject,
        })
    }

    fn one(&self, name: &str, ctx: Value) -> Result<String, TemplateError> {
        let from = self
            .origin
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| name.to_string());
        let t = self
            .env
            .get_template(name)
            .map_err(|e| to_error(&from, &e))?;
        t.render(ctx).map_err(|e| to_error(&from, &e))
    }
}

fn to_error(file: &str, e: &minijinja::Error) -> TemplateError {
    let message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    TemplateError::Template {
        file: file.to_string(),
        line: e.line(),
        message,
    }
}

/// What templates see. Every optional value is present (as none), so strict undefined checks
/// only catch real typos.
#[derive(Serialize)]
struct View<'a> {
    test: bool,
    recipient: &'a str,
    roles: Vec<&'static str>,
    due: Option<NaiveDate>,
    finding_count: usize,
    max_severity: &'static str,
    notices: Vec<NoticeView<'a>>,
}

#[derive(Serialize)]
struct WithSubject<'a> {
    #[serde(flatten)]
    view: &'a View<'a>,
    subject: &'a str,
}

#[derive(Serialize)]
struct NoticeView<'a> {
    role: &'static str,
    resource: ResourceView<'a>,
    findings: Vec<FindingView<'a>>,
    action: &'a str,
    due: Option<NaiveDate>,
    max_severity: &'static str,
}

#[derive(Serialize)]
struct ResourceView<'a> {
    kind: &'a str,
    id: &'a str,
    name: &'a str,
    environment: Option<&'a str>,
}

#[derive(Serialize)]
struct FindingView<'a> {
    rule_id: &'a str,
    title: &'a str,
    severity: &'static str,
}

impl<'a> View<'a> {
    fn of(d: &'a Digest, test: bool) -> View<'a> {
        View {
            test,
            recipient: &d.recipient,
            roles: d.roles.iter().map(|r| r.as_str()).collect(),
            due: d.due,
            finding_count: d.finding_count(),
            max_severity: d.max_severity().as_str(),
            notices: d.notices.iter().map(NoticeView::of).collect(),
        }
    }
}

impl<'a> NoticeView<'a> {
    fn of(n: &'a Notice) -> NoticeView<'a> {
        NoticeView {
            role: n.role.as_str(),
            resource: ResourceView {
                kind: &n.resource.kind,
                id: &n.resource.id,
                name: &n.resource.name,
                environment: n.resource.environment.as_deref(),
            },
            findings: n
                .findings
                .iter()
                .map(|f| FindingView {
                    rule_id: &f.rule_id,
                    title: &f.title,
                    severity: f.severity.as_str(),
                })
                .collect(),
            action: &n.action,
            due: n.due,
            max_severity: n.max_severity().as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::build_digests;
    use crate::model::tests::notice;
    use ppgov_core::Severity;

    fn digest() -> Digest {
        let mut n = notice(
            Role::Maker,
            "ada@x.com",
            "Pay <b>roll</b>",
            &[
                (
                    "PPG-FLW-001",
                    "flow sends <script>alert(1)</script> & more",
                    Severity::High,
                ),
                ("PPG-FLW-002", "second", Severity::Low),
            ],
        );
        n.due = NaiveDate::from_ymd_opt(2026, 12, 31);
        let m = notice(
            Role::Owner,
            "ada@x.com",
            "other",
            &[("PPG-APP-001", "app", Severity::Medium)],
        );
        build_digests(vec![n, m]).remove(0)
    }

    #[test]
    fn builtin_templates_render_every_notice_and_finding() -> Result<(), TemplateError> {
        let r = Templates::builtin()?.render(&digest())?;
        assert_eq!(
            r.subject,
            "ppgov: 3 findings on 2 resources need your attention by 2026-12-31"
        );
        for part in [&r.text, &r.html, &r.webhook_text] {
            assert!(part.contains("PPG-FLW-001"), "{part}");
            assert!(part.contains("PPG-FLW-002"), "{part}");
            assert!(part.contains("PPG-APP-001"), "{part}");
        }
        assert!(
            r.text
                .contains("[HIGH] PPG-FLW-001: flow sends <script>alert(1)</script> & more")
        );
        assert!(r.text.contains("maker, owner"));
        assert!(r.text.contains("Due: 2026-12-31"));
        Ok(())
    }

    #[test]
    fn html_escapes_titles_and_names() -> Result<(), TemplateError> {
        let r = Templates::builtin()?.render(&digest())?;
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(
            r.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; more"),
            "{}",
            r.html
        );
        assert!(r.html.contains("Pay &lt;b&gt;roll&lt;&#x2f;b&gt;"));
        Ok(())
    }

    #[test]
    fn the_test_message_renders_without_findings() -> Result<(), TemplateError> {
        let r = Templates::builtin()?.render_test("it@x.com")?;
        assert_eq!(r.subject, "ppgov test message");
        assert!(r.text.contains("test message from ppgov to it@x.com"));
        assert!(r.webhook_text.contains("this channel works"));
        Ok(())
    }

    #[test]
    fn a_user_template_replaces_only_its_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join(SUBJECT),
            "[Contoso] {{ finding_count }} to fix\n",
        )?;
        std::fs::write(
            dir.path().join(BODY_HTML),
            "<p>{{ notices[0].findings[0].title }}</p>",
        )?;
        let t = Templates::load(Some(dir.path()))?;
        let r = t.render(&digest())?;
        assert_eq!(r.subject, "[Contoso] 3 to fix");
        // A user HTML template is escaped too.
        assert_eq!(
            r.html,
            "<p>flow sends &lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; more</p>"
        );
        assert!(r.text.contains("Hello,"));
        let origins: Vec<(&str, &str)> = t.origins().collect();
        assert!(origins[0].1.ends_with("subject.txt") && !origins[0].1.starts_with("built-in"));
        assert_eq!(origins[1], (BODY_TEXT, "built-in body.txt"));
        Ok(())
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join(BODY_TEXT),
            "line one\nline two\n{% for x in %}\n",
        )?;
        let e = Templates::load(Some(dir.path()))
            .err()
            .ok_or("expected an error")?;
        let msg = e.to_string();
        assert!(
            msg.contains(&dir.path().join(BODY_TEXT).display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("line 3"), "{msg}");
        Ok(())
    }

    #[test]
    fn an_undefined_variable_fails_with_file_and_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join(WEBHOOK_TEXT), "ok\n{{ recipeint }}\n")?;
        let t = Templates::load(Some(dir.path()))?;
        let e = t.render(&digest()).err().ok_or("expected an error")?;
        let msg = e.to_string();
        assert!(msg.contains("webhook.txt line 2"), "{msg}");
        assert!(msg.contains("undefined"), "{msg}");
        Ok(())
    }

    #[test]
    fn templates_dir_must_be_a_directory() {
        let e = Templates::load(Some(Path::new("/nonexistent/ppgov-templates")));
        assert!(matches!(e, Err(TemplateError::NotADirectory { .. })));
    }
}
