//! E-mail through a real SMTP server: STARTTLS, AUTH, one message per recipient.

use crate::sample_digests;
use crate::smtp_server::{PASSWORD, SmtpServer, USER};
use ppgov_core::Secret;
use ppgov_notify::{Notifier, Sink, SmtpSettings, SmtpSink, StartTls, Templates};
use std::time::Duration;

fn settings(server: &SmtpServer, password: &str) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: server.port,
        starttls: StartTls::Required,
        username: Some(USER.into()),
        password: Some(Secret::new(password.into())),
        from: "ppgov <ppgov@contoso.test>".into(),
        extra_roots_pem: vec![server.ca_pem.clone()],
        timeout: Duration::from_secs(20),
    }
}

#[tokio::test]
async fn one_message_per_recipient_over_starttls_with_auth() {
    let server = SmtpServer::start();
    let sink = SmtpSink::new(&settings(&server, PASSWORD)).unwrap();
    let notifier = Notifier::new(Templates::builtin().unwrap(), vec![Sink::Smtp(sink)]);
    let digests = sample_digests();
    let outcomes = notifier.send_all(&digests).await;
    assert_eq!(outcomes.len(), 3);
    for o in &outcomes {
        assert!(
            o.result.is_ok(),
            "{} via {}: {:?}",
            o.recipient,
            o.sink,
            o.result
        );
        assert_eq!(o.sink, format!("smtp 127.0.0.1:{}", server.port));
    }

    let mail = server.messages();
    assert_eq!(mail.len(), 3, "one message per recipient, not per finding");
    let rcpts: Vec<&str> = mail
        .iter()
        .map(|m| {
            let to = m["rcpt_tos"].as_array().unwrap();
            assert_eq!(to.len(), 1, "{m}");
            to[0].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        rcpts,
        ["ada@contoso.test", "bob@contoso.test", "it@contoso.test"]
    );
    for m in &mail {
        assert_eq!(m["tls"], true, "delivered only after STARTTLS");
        assert_eq!(m["login"], USER);
        assert_eq!(m["mail_from"], "ppgov@contoso.test");
        assert_eq!(m["from"], "ppgov <ppgov@contoso.test>");
        assert_eq!(m["content_type"], "multipart/alternative");
        assert!(
            m["text"].is_string() && m["html"].is_string(),
            "both parts: {m}"
        );
    }

    let ada = &mail[0];
    assert_eq!(ada["to"], "ada@contoso.test");
    assert_eq!(
        ada["subject"],
        "ppgov: 3 findings on 2 resources need your attention by 2026-12-31"
    );
    let text = ada["text"].as_str().unwrap();
    assert!(
        text.contains("[CRITICAL] PPG-FLW-006: secret in a parameter <script>alert(1)</script>"),
        "{text}"
    );
    assert!(
        text.contains("[HIGH] PPG-FLW-001: HTTP to an external host"),
        "{text}"
    );
    assert!(text.contains("flow \"Paie é <b>mensuelle</b>\""), "{text}");
    let html = ada["html"].as_str().unwrap();
    assert!(
        !html.contains("<script>"),
        "HTML must escape finding titles: {html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("Paie é &lt;b&gt;mensuelle&lt;&#x2f;b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>mensuelle"), "{html}");

    let bob = &mail[1];
    assert_eq!(
        bob["subject"],
        "ppgov: 1 finding on 1 resource needs your attention by 2026-12-31"
    );
    assert!(
        bob["text"]
            .as_str()
            .unwrap()
            .contains("(you are its owner)")
    );
    assert!(
        !bob["text"].as_str().unwrap().contains("PPG-FLW-006"),
        "only Bob's findings"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password() {
    let server = SmtpServer::start();
    let wrong = "not-the-Pa55word-4711";
    let sink = SmtpSink::new(&settings(&server, wrong)).unwrap();
    let notifier = Notifier::new(Templates::builtin().unwrap(), vec![Sink::Smtp(sink)]);
    let outcomes = notifier.send_test("it@contoso.test").await;
    assert_eq!(outcomes.len(), 1);
    let err = outcomes[0].result.as_ref().unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("smtp 127.0.0.1:{}:", server.port)),
        "{err}"
    );
    assert!(err.contains("535"), "{err}");
    assert!(err.contains("user name or password"), "{err}");
    assert!(!err.contains(wrong), "{err}");
    assert!(!format!("{:?}", outcomes[0]).contains(wrong));
    // The server saw the login attempt (so TLS and AUTH happened) and accepted nothing.
    assert_eq!(server.next_line(), format!("AUTH-FAILED {USER}"));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn the_test_message_arrives() {
    let server = SmtpServer::start();
    let sink = SmtpSink::new(&settings(&server, PASSWORD)).unwrap();
    let outcomes = Notifier::new(Templates::builtin().unwrap(), vec![Sink::Smtp(sink)])
        .send_test("it@contoso.test")
        .await;
    assert!(outcomes[0].result.is_ok(), "{:?}", outcomes[0].result);
    let mail = server.messages();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["subject"], "ppgov test message");
    assert!(
        mail[0]["text"]
            .as_str()
            .unwrap()
            .contains("this notification channel works")
    );
}

#[tokio::test]
async fn required_starttls_refuses_a_certificate_it_does_not_trust() {
    let server = SmtpServer::start();
    let mut s = settings(&server, PASSWORD);
    s.extra_roots_pem.clear();
    let sink = SmtpSink::new(&s).unwrap();
    let rendered = Templates::builtin()
        .unwrap()
        .render_test("it@contoso.test")
        .unwrap();
    let err = sink
        .send("it@contoso.test", &rendered)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("certificate"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
    assert!(server.messages().is_empty());
}
