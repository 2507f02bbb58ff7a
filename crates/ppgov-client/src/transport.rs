//! The HTTP transport shared by every API family: auth header, request ids, logging, client-side
//! rate limiting, retries with back-off, throttling and error mapping.
//!
//! Retry rules (why): idempotent calls (GET, HEAD, and calls the caller marks idempotent, e.g.
//! a PUT that sets state or a read-only POST such as `listTenantSettings`) are retried on 408,
//! 425, 429, 500, 502, 503, 504 and on network errors. Writes are not: a 500 or a timeout on a
//! POST may have taken effect, and repeating it could apply it twice. A write is retried only
//! when the answer proves it was not processed: throttling (429, Management's 403 `AF429`, 503
//! with `Retry-After`), a refused token (401, once, after invalidating the token), or a failed
//! TCP connect (the request never left).

use crate::counters::{Counters, CountersSnapshot};
use crate::error::{ClientError, parse_error_body, redact_url};
use crate::limiter::{Limiter, LimiterConfig};
use crate::retry::{RetryConfig, backoff, is_retryable_status, jitter_small, retry_after};
use ppgov_auth::TokenSource;
use reqwest::Method;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// Everything tunable about a [`Transport`].
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Retries and back-off.
    pub retry: RetryConfig,
    /// Client-side rate limiting and concurrency.
    pub limiter: LimiterConfig,
    /// Long-running operation polling.
    pub lifecycle: LifecycleConfig,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Largest response body read, in bytes; a larger one is refused with
    /// [`ClientError::BodyTooLarge`] naming the URL. The default (256 MiB) is far above any page
    /// the services send (a few MiB at most), so it only stops a hostile or broken answer from
    /// exhausting memory.
    pub max_body_bytes: u64,
}

/// Default [`TransportConfig::max_body_bytes`].
pub const DEFAULT_MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            retry: RetryConfig::default(),
            limiter: LimiterConfig::default(),
            lifecycle: LifecycleConfig::default(),
            user_agent: format!("ppgov/{}", env!("CARGO_PKG_VERSION")),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Polling of long-running operations (202 + `Location`) and waiting out busy resources (409).
#[derive(Debug, Clone)]
pub struct LifecycleConfig {
    /// Poll interval when the service gives no `Retry-After`.
    pub poll_interval: Duration,
    /// Give up polling after this long.
    pub max_wait: Duration,
    /// Wait between retries of a call answered 409 `OperationNotStartable`.
    pub conflict_delay: Duration,
    /// Retries of a 409 `OperationNotStartable` call.
    pub conflict_attempts: u32,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            poll_interval: Duration::from_secs(5),
            max_wait: Duration::from_secs(30 * 60),
            conflict_delay: Duration::from_secs(15),
            conflict_attempts: 10,
        }
    }
}

/// One HTTP call to make.
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) scope: String,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) headers: HeaderMap,
    pub(crate) idempotent: bool,
    pub(crate) cost: u32,
}

impl Request {
    /// A request with no body; GET and HEAD count as idempotent.
    pub fn new(method: Method, url: Url, scope: impl Into<String>) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        Request {
            method,
            url,
            scope: scope.into(),
            body: None,
            headers: HeaderMap::new(),
            idempotent,
            cost: 1,
        }
    }

    /// `GET url`.
    pub fn get(url: Url, scope: impl Into<String>) -> Self {
        Request::new(Method::GET, url, scope)
    }

    /// `POST url`.
    pub fn post(url: Url, scope: impl Into<String>) -> Self {
        Request::new(Method::POST, url, scope)
    }

    /// `PATCH url` (not retried: a PATCH is not idempotent for the transport's purposes).
    pub fn patch(url: Url, scope: impl Into<String>) -> Self {
        Request::new(Method::PATCH, url, scope)
    }

    /// A JSON body.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidRequest(format!("body: {e}")))?;
        self.body = Some(bytes);
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(self)
    }

    /// An extra header; invalid values are rejected.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, ClientError> {
        let v = HeaderValue::from_str(value)
            .map_err(|_| ClientError::InvalidRequest(format!("header {name}")))?;
        // `from_bytes` lower-cases (`from_static` would panic on `Prefer`).
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ClientError::InvalidRequest(format!("header name {name}")))?;
        self.headers.insert(n, v);
        Ok(self)
    }

    /// Marks the call safe to repeat (PUT/DELETE/read-only POST), so it is retried on 5xx and
    /// network errors.
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// How many requests the service counts this call as (a Graph `$batch` counts each item), so
    /// the limiter paces what the service counts, not what goes over the wire.
    pub fn cost(mut self, requests: u32) -> Self {
        self.cost = requests.max(1);
        self
    }
}

/// A successful (2xx) answer, body fully read.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
    /// The URL requested.
    pub url: Url,
    /// Our `x-ms-client-request-id`.
    pub request_id: String,
}

impl Response {
    /// The body as `T`; a mismatch names the failing JSON path.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        decode(&self.body, &self.url)
    }

    /// A header value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Decodes JSON, reporting the path of the failing field.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8], url: &Url) -> Result<T, ClientError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| ClientError::Decode {
        url: redact_url(url),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

struct Inner {
    http: reqwest::Client,
    tokens: Arc<dyn TokenSource>,
    cfg: TransportConfig,
    limiter: Limiter,
    counters: Counters,
}

/// The HTTP transport; cheap to clone (all clones share limiter, counters and connections).
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("counters", &self.inner.counters.snapshot())
            .finish_non_exhaustive()
    }
}

/// Outcome of a throttle check on a response.
fn is_throttle(status: u16, code: Option<&str>, has_retry_after: bool) -> bool {
    status == 429 || (status == 403 && code == Some("AF429")) || (status == 503 && has_retry_after)
}

impl Transport {
    /// A transport with default tuning.
    pub fn new(tokens: Arc<dyn TokenSource>) -> Result<Self, ClientError> {
        Transport::with_config(tokens, TransportConfig::default())
    }

    /// A transport with explicit tuning.
    pub fn with_config(
        tokens: Arc<dyn TokenSource>,
        cfg: TransportConfig,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .redirect(redirect_policy())
            .connect_timeout(Duration::from_secs(20))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::InvalidRequest(format!("http client: {e}")))?;
        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                tokens,
                limiter: Limiter::new(cfg.limiter.clone()),
                cfg,
                counters: Counters::default(),
            }),
        })
    }

    /// Current counters.
    pub fn counters(&self) -> CountersSnapshot {
        self.inner.counters.snapshot()
    }

    /// The configuration in use.
    pub fn config(&self) -> &TransportConfig {
        &self.inner.cfg
    }

    /// The limiter's current rate (requests/s) for a URL's host.
    pub fn current_rate(&self, url: &Url) -> f64 {
        self.inner.limiter.rate(&limiter_key(url))
    }

    /// Records a throttle the transport did not see itself (a 429 inside a Graph `$batch`).
    pub(crate) fn note_throttled(&self, url: &Url, wait: Duration) {
        self.inner.counters.throttled();
        self.inner.counters.waited(wait);
        self.inner
            .limiter
            .on_throttled(&limiter_key(url), Some(wait));
    }

    /// GET a URL and decode the JSON body.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        scope: &str,
    ) -> Result<T, ClientError> {
        self.send(Request::get(url, scope)).await?.json()
    }

    /// Sends a request and decodes the JSON body.
    pub async fn send_json<T: DeserializeOwned>(&self, req: Request) -> Result<T, ClientError> {
        self.send(req).await?.json()
    }

    /// Sends a request with retries; `Ok` only for 2xx.
    pub async fn send(&self, req: Request) -> Result<Response, ClientError> {
        let r = self.send_inner(&req).await;
        if r.is_err() {
            self.inner.counters.error();
        }
        r
    }

    async fn sleep(&self, d: Duration) {
        if !d.is_zero() {
            self.inner.counters.waited(d);
            tokio::time::sleep(d).await;
        }
    }

    async fn send_inner(&self, req: &Request) -> Result<Response, ClientError> {
        let cfg = &self.inner.cfg.retry;
        let host = host_of(&req.url);
        let key = limiter_key(&req.url);
        let url_log = redact_url(&req.url);
        let path = req.url.path().to_owned();
        let sem = self.inner.limiter.host_semaphore(&host);
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut failures: u32 = 0;
        let mut throttled: u32 = 0;
        let mut auth_retried = false;
        loop {
            attempt += 1;
            // A permit first, then a slot: only requests about to be sent hold reservations, so a
            // throttle never finds thousands of slots already handed out.
            let queued = Instant::now();
            let permit = sem
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| ClientError::InvalidRequest("transport closed".into()))?;
            self.inner.counters.queued(queued.elapsed());
            loop {
                let slot = self.inner.limiter.reserve(&key, req.cost);
                self.sleep(slot.wait).await;
                if self.inner.limiter.still_valid(&key, slot) {
                    break;
                }
            }
            let token = self
                .inner
                .tokens
                .token(&req.scope)
                .await
                .map_err(|source| ClientError::Auth {
                    scope: req.scope.clone(),
                    source,
                })?;
            let request_id = uuid::Uuid::new_v4().to_string();
            let mut builder = self
                .inner
                .http
                .request(req.method.clone(), req.url.clone())
                .headers(req.headers.clone())
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, self.inner.cfg.user_agent.as_str())
                .header("x-ms-client-request-id", request_id.as_str())
                .header(AUTHORIZATION, format!("Bearer {}", token.token.expose()))
                .timeout(cfg.attempt_timeout);
            if let Some(b) = &req.body {
                builder = builder.body(b.clone());
            } else if matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
                builder = builder.header(reqwest::header::CONTENT_LENGTH, "0");
            }
            drop(token);
            self.inner.counters.request();
            if attempt > 1 {
                self.inner.counters.retry();
            }
            let t0 = Instant::now();
            let sent = builder.send().await;
            let outcome = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match read_capped(resp, self.inner.cfg.max_body_bytes).await {
                        Ok(Some(b)) => Ok((status, headers, b)),
                        Ok(None) => {
                            drop(permit);
                            return Err(ClientError::BodyTooLarge {
                                url: url_log,
                                limit: self.inner.cfg.max_body_bytes,
                            });
                        }
                        Err(e) => Err((e, true)),
                    }
                }
                Err(e) => Err((e, false)),
            };
            drop(permit);
            self.inner.counters.in_flight(t0.elapsed());
            let duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
            let method = req.method.as_str();
            match outcome {
                Err((e, got_headers)) => {
                    // A failed connect proves the request never left; anything later may have
                    // reached the server.
                    let not_sent = !got_headers && e.is_connect();
                    // A refused redirect answers the same way every time: never retried.
                    let refused_redirect = e.is_redirect();
                    let message = if e.is_timeout() {
                        "timed out".to_owned()
                    } else {
                        describe(e)
                    };
                    tracing::warn!(method, host = %host, path = %path, status = 0u16, duration_ms, request_id = %request_id, attempt, error = %message, "http call failed");
                    failures += 1;
                    if (req.idempotent || not_sent)
                        && !refused_redirect
                        && failures < cfg.max_attempts
                    {
                        self.sleep(backoff(cfg, failures)).await;
                        continue;
                    }
                    return Err(ClientError::Transport {
                        method: method.to_owned(),
                        url: url_log,
                        message,
                        attempts: attempt,
                    });
                }
                Ok((status, headers, body)) => {
                    let ra = retry_after(&headers);
                    let code = if status >= 400 {
                        parse_error_body(&body).0
                    } else {
                        None
                    };
                    if (200..300).contains(&status) {
                        tracing::debug!(method, host = %host, path = %path, status, duration_ms, request_id = %request_id, attempt, "http call");
                    } else {
                        tracing::info!(method, host = %host, path = %path, status, duration_ms, request_id = %request_id, attempt, code = code.as_deref().unwrap_or(""), "http call");
                    }
                    if is_throttle(status, code.as_deref(), ra.is_some()) {
                        self.inner.counters.throttled();
                        throttled += 1;
                        let wait = ra
                            .unwrap_or(self.inner.cfg.retry.default_throttle_delay)
                            .min(cfg.max_delay)
                            + jitter_small();
                        self.inner.limiter.on_throttled(&key, Some(wait));
                        if throttled >= cfg.max_throttled_attempts {
                            return Err(ClientError::Throttled {
                                url: url_log,
                                attempts: attempt,
                                waited_ms: u64::try_from(started.elapsed().as_millis())
                                    .unwrap_or(u64::MAX),
                            });
                        }
                        // The limiter now blocks this key until the wait has passed.
                        continue;
                    }
                    self.inner.limiter.on_accepted(&key, req.cost);
                    if (200..300).contains(&status) {
                        return Ok(Response {
                            status,
                            headers,
                            body,
                            url: req.url.clone(),
                            request_id,
                        });
                    }
                    if status == 401 && !auth_retried {
                        auth_retried = true;
                        self.inner.tokens.invalidate(&req.scope);
                        continue;
                    }
                    if req.idempotent && is_retryable_status(status) {
                        failures += 1;
                        if failures < cfg.max_attempts {
                            let wait = ra
                                .map(|d| d.min(cfg.max_delay))
                                .unwrap_or_else(|| backoff(cfg, failures));
                            self.sleep(wait).await;
                            continue;
                        }
                    }
                    return Err(http_error(method, &req.url, status, &body, request_id));
                }
            }
        }
    }
}

/// Authenticated calls follow a redirect only to the same scheme, host and port (at most 10
/// hops): a redirect elsewhere, or from HTTPS to plain HTTP, would carry the bearer token (or
/// the request it authorises) to a host we did not choose, so it fails the call instead.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let verdict = attempt
            .previous()
            .last()
            .map(|prev| redirect_verdict(prev, attempt.url()));
        match verdict {
            Some(Err(why)) => attempt.error(why),
            _ if attempt.previous().len() > 10 => attempt.error("more than 10 redirects"),
            _ => attempt.follow(),
        }
    })
}

/// `Ok` when a redirect from `from` to `to` stays on the same origin.
pub(crate) fn redirect_verdict(from: &Url, to: &Url) -> Result<(), String> {
    let same_host = match (from.host_str(), to.host_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    if from.scheme() == "https" && to.scheme() != "https" {
        return Err(format!(
            "refused a redirect from {} to plain {} {}",
            redact_url(from),
            to.scheme(),
            redact_url(to)
        ));
    }
    if !same_host || from.port_or_known_default() != to.port_or_known_default() {
        return Err(format!(
            "refused a redirect from {} to another host {}: it would receive our token",
            redact_url(from),
            redact_url(to)
        ));
    }
    Ok(())
}

/// Reads a body up to `cap` bytes: `Ok(None)` when it is larger (by `Content-Length` before
/// reading anything, or while streaming when the length is not announced or lies).
async fn read_capped(
    mut resp: reqwest::Response,
    cap: u64,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > cap) {
        return Ok(None);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if (out.len() as u64).saturating_add(chunk.len() as u64) > cap {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// Maps an error answer to [`ClientError`].
pub(crate) fn http_error(
    method: &str,
    url: &Url,
    status: u16,
    body: &[u8],
    request_id: String,
) -> ClientError {
    let (code, message) = parse_error_body(body);
    if status == 403
        && String::from_utf8_lossy(body).contains("does not have permission to access the path")
    {
        return ClientError::NotManagementApp {
            method: method.to_owned(),
            url: redact_url(url),
            registration_base: url.origin().ascii_serialization(),
        };
    }
    let hint = match (status, code.as_deref()) {
        (403, _) if url.path().contains("/resourcequery/") => {
            "; hint: the inventory API accepts delegated (user) tokens only, sign in as a user"
        }
        (_, Some("AF20022")) => "; hint: start a subscription for this content type first",
        (_, Some("AF20023")) => {
            "; hint: an admin disabled this subscription, re-enable it in the Microsoft 365 admin center"
        }
        (_, Some("AF10001")) => {
            "; hint: grant the app the ActivityFeed.Read permission of Office 365 Management APIs"
        }
        _ => "",
    };
    let message = format!("{message}{hint}");
    ClientError::Http {
        method: method.to_owned(),
        url: redact_url(url),
        status,
        code,
        message,
        request_id,
    }
}

fn describe(e: reqwest::Error) -> String {
    // reqwest's Display includes the full URL (query and all); strip it, keep the causes.
    let e = e.without_url();
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(&e);
    while let Some(err) = cur {
        s.push_str(": ");
        s.push_str(&err.to_string());
        cur = err.source();
    }
    s
}

/// `host[:port]`.
pub(crate) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// The limiter counts per host: each API family (and each Dataverse instance) has its own host
/// and its own limits, and one transport signs in as one identity.
fn limiter_key(url: &Url) -> String {
    host_of(url)
}

/// Builds `base + path` with a query of `(name, value)` pairs, percent-encoding values so that
/// OData expressions keep `%20` for spaces (some services do not read `+` as a space).
pub fn build_url(base: &Url, path: &str, query: &[(&str, &str)]) -> Result<Url, ClientError> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    let mut url = Url::parse(&joined)
        .map_err(|e| ClientError::InvalidRequest(format!("url {joined}: {e}")))?;
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let existing = url.query().map(str::to_owned);
        let all = match existing {
            Some(e) if !e.is_empty() => format!("{e}&{}", q.join("&")),
            _ => q.join("&"),
        };
        url.set_query(Some(&all));
    }
    Ok(url)
}

/// Percent-encodes a query component, keeping characters OData expressions use literally.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'$'
            | b'\''
            | b'('
            | b')'
            | b','
            | b':'
            | b'@'
            | b'/'
            | b'*' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Refuses to send a token to a host other than the one the listing started on (or a
/// subdomain of it, e.g. BAP's regional `europe.api.bap.microsoft.com`).
pub(crate) fn check_follow(origin: &Url, next: &Url) -> Result<(), ClientError> {
    let (Some(a), Some(b)) = (origin.host_str(), next.host_str()) else {
        return Err(ClientError::InvalidRequest(
            "continuation url without host".into(),
        ));
    };
    let same =
        a.eq_ignore_ascii_case(b) && origin.port_or_known_default() == next.port_or_known_default();
    let sub =
        !a.eq_ignore_ascii_case(b) && ppgov_core::domain::within(b, a) && next.scheme() == "https";
    if same || sub {
        Ok(())
    } else {
        Err(ClientError::InvalidRequest(format!(
            "refusing to follow {} from {}: a different host would receive our token",
            redact_url(next),
            redact_url(origin)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_urls_with_odata_queries() {
        let base = Url::parse("https://api.flow.microsoft.com/").unwrap();
        let u = build_url(
            &base,
            "/providers/x/runs",
            &[
                ("api-version", "2016-11-01"),
                ("$filter", "status eq 'Failed'"),
            ],
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.flow.microsoft.com/providers/x/runs?api-version=2016-11-01&$filter=status%20eq%20%27Failed%27"
        );
    }

    #[test]
    fn header_names_are_normalised() {
        let r = Request::get(Url::parse("https://x.test/").unwrap(), "s")
            .header("Prefer", "odata.maxpagesize=10")
            .unwrap();
        assert_eq!(r.headers["prefer"], "odata.maxpagesize=10");
        assert!(
            Request::get(Url::parse("https://x.test/").unwrap(), "s")
                .header("bad name", "v")
                .is_err()
        );
    }

    #[test]
    fn redirects_stay_on_the_origin() {
        let u = |s: &str| Url::parse(s).unwrap();
        let from = u("https://api.bap.microsoft.com/a");
        assert!(redirect_verdict(&from, &u("https://api.bap.microsoft.com/b")).is_ok());
        assert!(redirect_verdict(&from, &u("https://evil.example/b")).is_err());
        assert!(redirect_verdict(&from, &u("http://api.bap.microsoft.com/b")).is_err());
        assert!(redirect_verdict(&from, &u("https://api.bap.microsoft.com:8443/b")).is_err());
        let l = u("http://127.0.0.1:8080/a");
        assert!(redirect_verdict(&l, &u("http://127.0.0.1:8080/b")).is_ok());
        assert!(redirect_verdict(&l, &u("http://127.0.0.1:9/b")).is_err());
    }

    #[test]
    fn follow_rules() {
        let o = Url::parse("https://api.bap.microsoft.com/a").unwrap();
        assert!(
            check_follow(
                &o,
                &Url::parse("https://europe.api.bap.microsoft.com/b").unwrap()
            )
            .is_ok()
        );
        assert!(check_follow(&o, &Url::parse("https://evil.example/b").unwrap()).is_err());
        let l = Url::parse("http://127.0.0.1:8080/a").unwrap();
        assert!(check_follow(&l, &Url::parse("http://127.0.0.1:8080/b?x=1").unwrap()).is_ok());
        assert!(check_follow(&l, &Url::parse("http://127.0.0.1:9090/b").unwrap()).is_err());
    }
}
