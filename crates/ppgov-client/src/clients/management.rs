//! Office 365 Management Activity API (`{root}/api/v1.0/{tenant}/activity/feed`): subscriptions,
//! content listing over a time window, blob fetch. `PublisherIdentifier` (optional) is sent on
//! every call for a dedicated throttling quota.

use crate::error::ClientError;
use crate::paging::{ItemStream, failed, header_link_stream};
use crate::transport::{Request, Response, Transport, build_url, encode};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use futures::StreamExt;
use ppgov_config::Endpoints;
use serde::de::DeserializeOwned;
use url::Url;

/// Management Activity API client for one tenant.
#[derive(Debug, Clone)]
pub struct ManagementClient {
    t: Transport,
    root: Url,
    scope: String,
    publisher: Option<String>,
}

/// Time format the API wants (UTC, no zone suffix).
fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl ManagementClient {
    /// A client on `endpoints.management` for `tenant_id`; `publisher` is the vendor tenant
    /// GUID for `PublisherIdentifier`.
    pub fn new(
        transport: Transport,
        endpoints: &Endpoints,
        tenant_id: &str,
        publisher: Option<String>,
    ) -> Result<Self, ClientError> {
        let root = build_url(
            &endpoints.management,
            &format!("/api/v1.0/{}/activity/feed", super::seg(tenant_id)),
            &[],
        )?;
        Ok(ManagementClient {
            t: transport,
            root,
            scope: endpoints.scopes.management.clone(),
            publisher,
        })
    }

    fn url(&self, path: &str, q: &[(&str, &str)]) -> Result<Url, ClientError> {
        let mut q = q.to_vec();
        if let Some(p) = &self.publisher {
            q.push(("PublisherIdentifier", p.as_str()));
        }
        build_url(&self.root, path, &q)
    }

    /// Starts a subscription to a content type (`Audit.General` carries Power Platform).
    pub async fn start_subscription<T: DeserializeOwned>(
        &self,
        content_type: &str,
    ) -> Result<T, ClientError> {
        let u = self.url("/subscriptions/start", &[("contentType", content_type)])?;
        // Starting an enabled subscription leaves it enabled: safe to retry.
        self.t
            .send_json(Request::post(u, &self.scope).idempotent(true))
            .await
    }

    /// Stops a subscription (content available while stopped is lost).
    pub async fn stop_subscription(&self, content_type: &str) -> Result<Response, ClientError> {
        let u = self.url("/subscriptions/stop", &[("contentType", content_type)])?;
        self.t
            .send(Request::post(u, &self.scope).idempotent(true))
            .await
    }

    /// Current subscriptions (a bare JSON array).
    pub async fn list_subscriptions<T: DeserializeOwned>(&self) -> Result<Vec<T>, ClientError> {
        self.t
            .get_json(self.url("/subscriptions/list", &[])?, &self.scope)
            .await
    }

    /// Content blobs created in `[start, end)`, streamed; windows longer than 24 h are split
    /// into 24 h slices (the API's limit), each followed through `NextPageUri`.
    pub fn list_content<T: DeserializeOwned + Send + 'static>(
        &self,
        content_type: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> ItemStream<T> {
        let mut slices = Vec::new();
        let mut from = start;
        while from < end {
            let to = (from + ChronoDuration::hours(24)).min(end);
            slices.push((from, to));
            from = to;
        }
        let mut requests = Vec::with_capacity(slices.len());
        for (a, b) in slices {
            let (a, b) = (fmt_time(a), fmt_time(b));
            match self.url(
                "/subscriptions/content",
                &[
                    ("contentType", content_type),
                    ("startTime", a.as_str()),
                    ("endTime", b.as_str()),
                ],
            ) {
                Ok(u) => requests.push(Request::get(u, &self.scope)),
                Err(e) => return failed(e),
            }
        }
        let t = self.t.clone();
        futures::stream::iter(requests)
            .flat_map(move |r| header_link_stream::<T>(t.clone(), r))
            .boxed()
    }

    /// Fetches one content blob (a JSON array of audit records).
    pub async fn fetch_blob<T: DeserializeOwned>(
        &self,
        content_uri: &str,
    ) -> Result<Vec<T>, ClientError> {
        let mut u = Url::parse(content_uri)
            .map_err(|e| ClientError::InvalidRequest(format!("content uri: {e}")))?;
        crate::transport::check_follow(&self.root, &u)?;
        if let Some(p) = &self.publisher {
            let q = match u.query() {
                Some(q) if !q.is_empty() => format!("{q}&PublisherIdentifier={}", encode(p)),
                _ => format!("PublisherIdentifier={}", encode(p)),
            };
            u.set_query(Some(&q));
        }
        self.t.get_json(u, &self.scope).await
    }
}
