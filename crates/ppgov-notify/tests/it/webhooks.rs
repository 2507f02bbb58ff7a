//! Webhooks against a local receiver: payload shapes, retries, redirects, redaction.

use crate::receiver::{HttpReceiver, Response};
use crate::sample_digests;
use ppgov_core::Secret;
use ppgov_notify::{
    Notifier, NotifyError, Sink, Templates, WebhookKind, WebhookSettings, WebhookSink,
};
use std::time::Duration;

fn sink(name: &str, kind: WebhookKind, url: String) -> WebhookSink {
    let mut s = WebhookSettings::new(name, kind, Secret::new(url));
    s.timeout = Duration::from_secs(10);
    s.backoff = Duration::from_millis(10);
    s.max_wait = Duration::from_secs(2);
    WebhookSink::new(s).unwrap()
}

fn notifier(sinks: Vec<WebhookSink>) -> Notifier {
    Notifier::new(
        Templates::builtin().unwrap(),
        sinks.into_iter().map(Sink::Webhook).collect(),
    )
}

#[tokio::test]
async fn generic_teams_and_slack_bodies_one_request_per_digest() {
    let rx = HttpReceiver::start(|_, _| Response::ok());
    let n = notifier(vec![
        sink("soc", WebhookKind::Generic, rx.url("/generic")),
        sink(
            "chan",
            WebhookKind::Teams,
            rx.url("/teams/workflows/1?sig=T0K3N"),
        ),
        sink("slack", WebhookKind::Slack, rx.url("/slack/T/B/X0X0")),
    ]);
    let digests = sample_digests();
    let outcomes = n.send_all(&digests).await;
    assert_eq!(outcomes.len(), 9);
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    assert_eq!(outcomes[1].sink, "webhook chan (teams)");

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 9);
    for r in &reqs {
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let generic: Vec<_> = reqs.iter().filter(|r| r.path == "/generic").collect();
    let teams: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/teams"))
        .collect();
    let slack: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/slack"))
        .collect();
    assert_eq!((generic.len(), teams.len(), slack.len()), (3, 3, 3));

    let g = generic[0].json();
    assert_eq!(g["recipient"], "ada@contoso.test");
    assert_eq!(g["test"], false);
    assert_eq!(
        g["subject"],
        "ppgov: 3 findings on 2 resources need your attention by 2026-12-31"
    );
    assert_eq!(g["roles"], serde_json::json!(["maker"]));
    let items = g["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["resource"]["name"], "Paie é <b>mensuelle</b>");
    assert_eq!(items[0]["findings"][0]["rule_id"], "PPG-FLW-006");
    assert_eq!(items[0]["findings"][0]["severity"], "critical");
    assert_eq!(items[0]["due"], "2026-12-31");
    assert!(g["text"].as_str().unwrap().contains("PPG-FLW-001"));

    let t = teams[1].json();
    assert_eq!(t["type"], "message");
    let att = &t["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &att["content"];
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    let body = card["body"].as_array().unwrap();
    assert_eq!(body[0]["type"], "TextBlock");
    assert_eq!(
        body[0]["text"],
        "ppgov: 1 finding on 1 resource needs your attention by 2026-12-31"
    );
    assert_eq!(body[1]["type"], "FactSet");
    assert_eq!(body[1]["facts"][0]["value"], "bob@contoso.test");
    assert!(body[2]["text"].as_str().unwrap().contains("PPG-FLW-001"));

    let s = slack[0].json();
    let text = s["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;script&gt;"),
        "Slack control characters escaped: {text}"
    );
    assert!(!text.contains("<script>"), "{text}");
    assert_eq!(s["blocks"][0]["type"], "header");
    assert_eq!(s["blocks"][1]["type"], "section");
    assert_eq!(s["blocks"][1]["text"]["type"], "mrkdwn");
}

#[tokio::test]
async fn a_429_is_retried_after_what_retry_after_asks() {
    let rx = HttpReceiver::start(|_, i| match i {
        0 => Response(429, vec![("Retry-After", "1".into())], "slow down".into()),
        _ => Response::ok(),
    });
    let s = sink("soc", WebhookKind::Generic, rx.url("/hook"));
    let r = Notifier::new(Templates::builtin().unwrap(), vec![Sink::Webhook(s)])
        .send_test("it@contoso.test")
        .await;
    let delivered = r[0].result.as_ref().unwrap();
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.waits, [Duration::from_secs(1)]);
    assert_eq!(rx.requests().len(), 2);
    assert_eq!(rx.requests()[1].json()["test"], true);
}

#[tokio::test]
async fn retry_after_is_capped_and_5xx_backs_off_then_gives_up() {
    let rx = HttpReceiver::start(|req, _| {
        if req.path == "/capped" {
            return Response(429, vec![("Retry-After", "3600".into())], String::new());
        }
        Response(503, Vec::new(), "down".into())
    });
    let mut settings = WebhookSettings::new(
        "capped",
        WebhookKind::Generic,
        Secret::new(rx.url("/capped")),
    );
    settings.max_retries = 1;
    settings.max_wait = Duration::from_millis(30);
    let capped = WebhookSink::new(settings).unwrap();
    let body = serde_json::json!({"x": 1});
    let err = capped.post(&body).await.unwrap_err();
    assert!(
        matches!(
            err,
            NotifyError::WebhookStatus {
                status: 429,
                attempts: 2,
                ..
            }
        ),
        "{err}"
    );

    let down = sink("down", WebhookKind::Generic, rx.url("/down"));
    let err = down.post(&body).await.unwrap_err();
    let NotifyError::WebhookStatus {
        status, attempts, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (*status, *attempts),
        (503, 4),
        "3 retries after the first attempt"
    );
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
    assert_eq!(
        rx.requests().iter().filter(|r| r.path == "/down").count(),
        4
    );
    assert_eq!(
        rx.requests().iter().filter(|r| r.path == "/capped").count(),
        2
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let rx = HttpReceiver::start(|req, _| {
        if req.path.starts_with("/moved") {
            Response(
                302,
                vec![(
                    "Location",
                    "http://127.0.0.1:9/elsewhere?sig=L0CATION-T0KEN".into(),
                )],
                String::new(),
            )
        } else {
            Response::ok()
        }
    });
    let s = sink("chan", WebhookKind::Teams, rx.url("/moved/abc?sig=T0K3N"));
    let err = s
        .post(&serde_json::json!({}))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 302"), "{err}");
    assert!(err.contains("redirects are not followed"), "{err}");
    assert!(
        !err.contains("T0K3N") && !err.contains("L0CATION-T0KEN") && !err.contains("abc"),
        "{err}"
    );
    assert_eq!(
        rx.requests().len(),
        1,
        "nothing sent to the redirect target"
    );
}

#[tokio::test]
async fn errors_show_scheme_and_host_only() {
    let rx = HttpReceiver::start(|req, _| {
        // A receiver that echoes the URL it was called on.
        Response(404, Vec::new(), format!("no workflow at {}", req.path))
    });
    let url = rx.url("/workflows/0c1d/triggers/manual/paths/invoke?sig=S3CR3T-SIG");
    let s = sink("chan", WebhookKind::Teams, url);
    let err = s
        .post(&serde_json::json!({}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("webhook `chan` at http://{}/…: HTTP 404", rx.addr)),
        "{err}"
    );
    assert!(
        !err.contains("S3CR3T-SIG") && !err.contains("0c1d"),
        "{err}"
    );
    assert!(err.contains("deleted or the workflow turned off"), "{err}");

    // Nothing listens: a transport error, also without the path.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let s = sink(
        "gone",
        WebhookKind::Slack,
        format!("http://{addr}/services/T/B/S3CR3T"),
    );
    let err = s
        .post(&serde_json::json!({}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("webhook `gone` at http://{addr}/…")),
        "{err}"
    );
    assert!(!err.contains("S3CR3T"), "{err}");
}

#[tokio::test]
async fn one_failing_sink_does_not_stop_the_others() {
    let rx = HttpReceiver::start(|req, _| {
        if req.path == "/dead" {
            Response(410, Vec::new(), String::new())
        } else {
            Response::ok()
        }
    });
    let n = notifier(vec![
        sink("dead", WebhookKind::Generic, rx.url("/dead")),
        sink("alive", WebhookKind::Generic, rx.url("/alive")),
    ]);
    let outcomes = n.send_all(&sample_digests()).await;
    assert_eq!(outcomes.len(), 6);
    for o in &outcomes {
        match o.sink.as_str() {
            "webhook dead (generic)" => assert!(o.result.is_err()),
            "webhook alive (generic)" => assert!(o.result.is_ok(), "{:?}", o.result),
            other => panic!("unexpected sink {other}"),
        }
    }
    let alive: Vec<String> = rx
        .requests()
        .iter()
        .filter(|r| r.path == "/alive")
        .map(|r| r.json()["recipient"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        alive,
        ["ada@contoso.test", "bob@contoso.test", "it@contoso.test"]
    );
}
