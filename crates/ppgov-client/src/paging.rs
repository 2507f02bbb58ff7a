//! Paged listings as streams of items. The next page is fetched only when the consumer has
//! drained the current one, so a listing of 100,000 flows never sits in memory at once.
//!
//! Three continuation styles: a link in the body (`nextLink` for BAP/Power Apps/Flow,
//! `@odata.nextLink` for Dataverse/Graph; either key accepted), a skip token in the body
//! (inventory API: the same query re-sent with `Options {Top, SkipToken}`), and a link in a
//! response header (Management Activity API `NextPageUri`/`NextPageUrl`). A continuation seen
//! twice ends the stream with [`ClientError::PagingLoop`] instead of looping forever.

use crate::error::{ClientError, redact_url};
use crate::transport::{Request, Transport, check_follow, decode};
use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use url::Url;

/// A stream of listed items.
pub type ItemStream<T> = BoxStream<'static, Result<T, ClientError>>;

/// `{"value":[...], "nextLink"|"@odata.nextLink": ...}` page.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct LinkPage<T> {
    #[serde(default)]
    value: Option<Vec<T>>,
    #[serde(rename = "nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.nextLink", default)]
    odata_next_link: Option<String>,
}

struct LinkState<T> {
    transport: Transport,
    template: Request,
    origin: Url,
    next: Option<Url>,
    buf: VecDeque<T>,
    seen: BTreeSet<String>,
}

/// Follows `nextLink` / `@odata.nextLink` from a first request (usually a GET; its headers, e.g.
/// Dataverse's `Prefer`, are re-sent on every page).
pub fn link_stream<T>(transport: Transport, first: Request) -> ItemStream<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let origin = first.url.clone();
    let state = LinkState {
        transport,
        next: Some(first.url.clone()),
        template: first,
        origin,
        buf: VecDeque::new(),
        seen: BTreeSet::new(),
    };
    stream::try_unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buf.pop_front() {
                return Ok(Some((item, st)));
            }
            let Some(url) = st.next.take() else {
                return Ok(None);
            };
            let mut req = st.template.clone();
            req.url = url.clone();
            let resp = st.transport.send(req).await?;
            let page: LinkPage<T> = resp.json()?;
            let next = page
                .next_link
                .or(page.odata_next_link)
                .filter(|s| !s.trim().is_empty());
            if let Some(n) = next {
                let n_url = url
                    .join(&n)
                    .map_err(|e| ClientError::InvalidRequest(format!("next link: {e}")))?;
                check_follow(&st.origin, &n_url)?;
                if n_url == url || !st.seen.insert(n_url.as_str().to_owned()) {
                    return Err(ClientError::PagingLoop {
                        url: redact_url(&n_url),
                    });
                }
                // Later pages are fetched by GET even if the first was a POST.
                st.template.method = reqwest::Method::GET;
                st.template.body = None;
                st.template.idempotent = true;
                st.next = Some(n_url);
            }
            st.seen.insert(url.as_str().to_owned());
            st.buf.extend(page.value.unwrap_or_default());
        }
    })
    .boxed()
}

/// An inventory (`resourcequery`) page.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
#[serde(rename_all = "camelCase")]
struct InventoryPage<T> {
    #[serde(default)]
    total_records: Option<i64>,
    #[serde(default)]
    skip_token: Option<String>,
    #[serde(default)]
    data: Option<Vec<T>>,
}

struct InvState<T> {
    transport: Transport,
    url: Url,
    scope: String,
    table: Value,
    clauses: Value,
    top: u32,
    token: Option<String>,
    started: bool,
    buf: VecDeque<T>,
    seen: BTreeSet<String>,
    rows: i64,
    total: Option<i64>,
}

/// Streams the rows of an inventory query: POSTs `{TableName, Clauses, Options {Top,
/// SkipToken}}` page after page (never `Skip` with a token: `Skip` would override the token's
/// offset), until `skipToken` is absent, null or empty. `query` must hold `TableName` and
/// `Clauses`; `top` is capped at 1000 (the service's page size limit).
pub fn inventory_stream<T>(
    transport: Transport,
    url: Url,
    scope: String,
    query: &Value,
    top: u32,
) -> ItemStream<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let state = InvState {
        transport,
        url,
        scope,
        table: query
            .get("TableName")
            .cloned()
            .unwrap_or(Value::String("PowerPlatformResources".into())),
        clauses: query
            .get("Clauses")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
        top: top.clamp(1, 1000),
        token: None,
        started: false,
        buf: VecDeque::new(),
        seen: BTreeSet::new(),
        rows: 0,
        total: None,
    };
    stream::try_unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buf.pop_front() {
                return Ok(Some((item, st)));
            }
            if st.started && st.token.is_none() {
                if let Some(total) = st.total
                    && total != st.rows
                    {
                        // Inventory data moves while we page; a mismatch is worth a warning, not
                        // a failure.
                        tracing::warn!(rows = st.rows, total_records = total, "inventory query returned a different number of rows than totalRecords");
                    }
                return Ok(None);
            }
            let mut options = serde_json::Map::new();
            options.insert("Top".into(), Value::from(st.top));
            if let Some(t) = &st.token {
                options.insert("SkipToken".into(), Value::String(t.clone()));
            }
            let body = serde_json::json!({ "TableName": st.table, "Clauses": st.clauses, "Options": options });
            let req = Request::post(st.url.clone(), st.scope.clone()).json(&body)?.idempotent(true);
            let resp = st.transport.send(req).await?;
            let page: InventoryPage<T> = resp.json()?;
            st.started = true;
            if st.total.is_none() {
                st.total = page.total_records;
            }
            let rows = page.data.unwrap_or_default();
            st.rows += i64::try_from(rows.len()).unwrap_or(i64::MAX);
            st.buf.extend(rows);
            st.token = page.skip_token.filter(|t| !t.is_empty());
            if let Some(t) = &st.token
                && !st.seen.insert(t.clone())
                {
                    return Err(ClientError::PagingLoop { url: redact_url(&st.url) });
                }
        }
    })
    .boxed()
}

struct HeaderState<T> {
    transport: Transport,
    template: Request,
    origin: Url,
    next: Option<Url>,
    buf: VecDeque<T>,
    seen: BTreeSet<String>,
}

/// Streams a JSON-array body, following the continuation URL in the `NextPageUri` (or
/// `NextPageUrl`) response header (Management Activity API content listing).
pub fn header_link_stream<T>(transport: Transport, first: Request) -> ItemStream<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let state = HeaderState {
        transport,
        origin: first.url.clone(),
        next: Some(first.url.clone()),
        template: first,
        buf: VecDeque::new(),
        seen: BTreeSet::new(),
    };
    stream::try_unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buf.pop_front() {
                return Ok(Some((item, st)));
            }
            let Some(url) = st.next.take() else {
                return Ok(None);
            };
            st.seen.insert(url.as_str().to_owned());
            let mut req = st.template.clone();
            req.url = url.clone();
            let resp = st.transport.send(req).await?;
            let items: Option<Vec<T>> = if resp.body.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                decode(&resp.body, &url)?
            };
            let next = resp
                .header("NextPageUri")
                .or_else(|| resp.header("NextPageUrl"))
                .map(str::trim)
                .filter(|s| !s.is_empty());
            if let Some(n) = next {
                let n_url = url
                    .join(n)
                    .map_err(|e| ClientError::InvalidRequest(format!("next page header: {e}")))?;
                check_follow(&st.origin, &n_url)?;
                if !st.seen.insert(n_url.as_str().to_owned()) {
                    return Err(ClientError::PagingLoop {
                        url: redact_url(&n_url),
                    });
                }
                st.next = Some(n_url);
            }
            st.buf.extend(items.unwrap_or_default());
        }
    })
    .boxed()
}

/// A stream that yields one error (a listing whose URL could not even be built).
pub(crate) fn failed<T: Send + 'static>(e: ClientError) -> ItemStream<T> {
    stream::once(async move { Err(e) }).boxed()
}

/// A link-style listing from a URL that may have failed to build.
pub(crate) fn link_stream_at<T>(
    transport: &Transport,
    url: Result<Url, ClientError>,
    scope: &str,
) -> ItemStream<T>
where
    T: DeserializeOwned + Send + 'static,
{
    match url {
        Ok(u) => link_stream(transport.clone(), Request::get(u, scope)),
        Err(e) => failed(e),
    }
}
