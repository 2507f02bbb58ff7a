//! Sending every digest through every sink, and reporting what happened to each pair: one
//! failure (a refused address, a dead webhook) never stops the others.

use crate::error::NotifyError;
use crate::model::Digest;
use crate::smtp::SmtpSink;
use crate::templates::Templates;
use crate::webhook::{Delivered, WebhookSink};

/// A place notifications go.
#[derive(Debug)]
pub enum Sink {
    /// E-mail to the digest's recipient.
    Smtp(SmtpSink),
    /// A channel (Teams, Slack, a receiver) that gets every digest, naming its recipient.
    Webhook(WebhookSink),
}

impl Sink {
    /// How outcomes name the sink: `smtp host:port` or `webhook <name> (<kind>)`.
    pub fn describe(&self) -> String {
        match self {
            Sink::Smtp(s) => s.describe(),
            Sink::Webhook(w) => w.describe(),
        }
    }

    /// Sends one digest.
    pub async fn send_digest(
        &self,
        templates: &Templates,
        digest: &Digest,
    ) -> Result<Delivered, NotifyError> {
        let rendered = templates.render(digest)?;
        match self {
            Sink::Smtp(s) => s
                .send(&digest.recipient, &rendered)
                .await
                .map(|()| Delivered {
                    attempts: 1,
                    waits: Vec::new(),
                }),
            Sink::Webhook(w) => {
                w.post(&w.payload(&digest.recipient, Some(digest), &rendered))
                    .await
            }
        }
    }

    /// Sends the test message: by e-mail to `recipient`, to a webhook naming `recipient`.
    pub async fn send_test(
        &self,
        templates: &Templates,
        recipient: &str,
    ) -> Result<Delivered, NotifyError> {
        let rendered = templates.render_test(recipient)?;
        match self {
            Sink::Smtp(s) => s.send(recipient, &rendered).await.map(|()| Delivered {
                attempts: 1,
                waits: Vec::new(),
            }),
            Sink::Webhook(w) => w.post(&w.payload(recipient, None, &rendered)).await,
        }
    }
}

/// What happened to one digest at one sink.
#[derive(Debug)]
pub struct Outcome {
    /// The digest's recipient.
    pub recipient: String,
    /// The sink, as [`Sink::describe`] names it.
    pub sink: String,
    /// Delivered, or why not.
    pub result: Result<Delivered, NotifyError>,
}

/// Templates plus sinks.
#[derive(Debug)]
pub struct Notifier {
    templates: Templates,
    sinks: Vec<Sink>,
}

impl Notifier {
    /// A notifier over these sinks.
    pub fn new(templates: Templates, sinks: Vec<Sink>) -> Notifier {
        Notifier { templates, sinks }
    }

    /// The sinks, in configuration order.
    pub fn sinks(&self) -> &[Sink] {
        &self.sinks
    }

    /// The sinks, taking the notifier apart.
    pub fn into_sinks(self) -> Vec<Sink> {
        self.sinks
    }

    /// The templates.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Sends every digest to every sink, in order; one outcome per (digest, sink).
    pub async fn send_all(&self, digests: &[Digest]) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(digests.len() * self.sinks.len());
        for d in digests {
            for sink in &self.sinks {
                let result = sink.send_digest(&self.templates, d).await;
                if let Err(e) = &result {
                    tracing::warn!(recipient = %d.recipient, sink = %sink.describe(), error = %e, "notification not delivered");
                }
                out.push(Outcome {
                    recipient: d.recipient.clone(),
                    sink: sink.describe(),
                    result,
                });
            }
        }
        out
    }

    /// Sends the test message through every sink; one outcome per sink.
    pub async fn send_test(&self, recipient: &str) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(self.sinks.len());
        for sink in &self.sinks {
            out.push(Outcome {
                recipient: recipient.to_string(),
                sink: sink.describe(),
                result: sink.send_test(&self.templates, recipient).await,
            });
        }
        out
    }
}
