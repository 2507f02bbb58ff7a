//! Paging helpers. BAP, Power Apps and Flow answer `{"value":[...],"nextLink":"<absolute URL with
//! %24skiptoken>"}`; Dataverse and Graph use `@odata.nextLink`. The skip token is opaque to
//! clients (base64url of the offset) and every listing yields each item exactly once when the
//! links are followed to the end.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::common::{ApiResult, ok_serialized};
use super::errors::ApiError;

/// Query parameters, decoded (`%24top` becomes `$top`), last value wins.
pub type QueryMap = BTreeMap<String, String>;

/// Decodes a raw query string (from `axum::extract::RawQuery`).
pub fn parse_query(raw: Option<&str>) -> QueryMap {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// Case-insensitive lookup of a query parameter (`$top` vs `$Top`).
pub fn param<'a>(q: &'a QueryMap, name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One page request: where to start and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Offset of the first item.
    pub skip: usize,
    /// Page size.
    pub top: usize,
}

/// Encodes an offset as an opaque skip token.
pub fn encode_skiptoken(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("emu:{offset}"))
}

/// Decodes a skip token made by [`encode_skiptoken`].
pub fn decode_skiptoken(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("emu:")?
        .parse()
        .ok()
}

/// Reads `$top` (default `default_top`, capped at `max_top`) and `$skiptoken`.
pub fn page(q: &QueryMap, default_top: usize, max_top: usize) -> Result<Page, ApiError> {
    let top = match param(q, "$top") {
        None => default_top,
        Some(t) => match t.trim().parse::<usize>() {
            Ok(n) if n > 0 => n.min(max_top),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "The value '{t}' of query parameter '$top' is not valid; use a positive integer."
                )));
            }
        },
    };
    let skip = match param(q, "$skiptoken") {
        None => 0,
        Some(t) => decode_skiptoken(t).ok_or_else(|| {
            ApiError::bad_request(
                "The '$skiptoken' query parameter is not valid; follow the nextLink as returned.",
            )
        })?,
    };
    Ok(Page { skip, top })
}

/// The absolute URL of the next page: same path and parameters, `$skiptoken` set to `next`.
pub fn next_url(base_url: &str, path: &str, q: &QueryMap, next: usize) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in q
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
    {
        ser.append_pair(k, v);
    }
    ser.append_pair("$skiptoken", &encode_skiptoken(next));
    format!(
        "{}{}?{}",
        base_url.trim_end_matches('/'),
        path,
        ser.finish()
    )
}

/// Slices `items` for `page`: the page and the offset of the next one, if any.
pub fn slice<T: Clone>(items: &[T], page: Page) -> (Vec<T>, Option<usize>) {
    let start = page.skip.min(items.len());
    let end = start.saturating_add(page.top).min(items.len());
    let next = (end < items.len()).then_some(end);
    (items[start..end].to_vec(), next)
}

/// The index range of `page` in a list of `len` items, and the offset of the next page, if any.
pub fn range(len: usize, page: Page) -> (std::ops::Range<usize>, Option<usize>) {
    let start = page.skip.min(len);
    let end = start.saturating_add(page.top).min(len);
    (start..end, (end < len).then_some(end))
}

/// A BAP-style page of serialisable items (stored text or structs).
#[derive(Serialize)]
struct RawPage<'a, T> {
    value: &'a [T],
    #[serde(rename = "nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

/// [`bap_page`] written straight from stored documents, as a 200 response: no `Value` is built.
pub fn bap_page_raw(
    base_url: &str,
    path: &str,
    q: &QueryMap,
    items: &[&RawValue],
    next: Option<usize>,
) -> ApiResult {
    bap_page_ser(base_url, path, q, items, next)
}

/// [`bap_page`] of any serialisable items, as a 200 response.
pub fn bap_page_ser<T: Serialize>(
    base_url: &str,
    path: &str,
    q: &QueryMap,
    items: &[T],
    next: Option<usize>,
) -> ApiResult {
    ok_serialized(&RawPage {
        value: items,
        next_link: next.map(|n| next_url(base_url, path, q, n)),
    })
}

/// `{"value":[...]}` from stored documents, as a 200 response.
pub fn value_list_raw(items: &[&RawValue]) -> ApiResult {
    ok_serialized(&RawPage {
        value: items,
        next_link: None,
    })
}

/// `{"value":<array>}` where the array is stored as one document, as a 200 response.
pub fn value_of_raw(array: &RawValue) -> ApiResult {
    #[derive(Serialize)]
    struct ValueOf<'a> {
        value: &'a RawValue,
    }
    ok_serialized(&ValueOf { value: array })
}

/// `{"value":[...],"nextLink":...}` (BAP / Power Apps / Flow style).
pub fn bap_page(
    base_url: &str,
    path: &str,
    q: &QueryMap,
    items: Vec<Value>,
    next: Option<usize>,
) -> Value {
    let mut m = Map::new();
    m.insert("value".into(), Value::Array(items));
    if let Some(n) = next {
        m.insert("nextLink".into(), json!(next_url(base_url, path, q, n)));
    }
    Value::Object(m)
}

/// `{"@odata.context"?, "value":[...], "@odata.nextLink":...}` (Graph / Dataverse style).
pub fn odata_page(
    base_url: &str,
    path: &str,
    q: &QueryMap,
    context: Option<&str>,
    items: Vec<Value>,
    next: Option<usize>,
) -> Value {
    let mut m = Map::new();
    if let Some(c) = context {
        m.insert("@odata.context".into(), json!(c));
    }
    m.insert("value".into(), Value::Array(items));
    if let Some(n) = next {
        m.insert(
            "@odata.nextLink".into(),
            json!(next_url(base_url, path, q, n)),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn following_pages_yields_each_item_once() {
        let items: Vec<usize> = (0..23).collect();
        let mut seen = Vec::new();
        let mut q = QueryMap::new();
        q.insert("$top".into(), "5".into());
        loop {
            let p = page(&q, 50, 250).unwrap();
            let (chunk, next) = slice(&items, p);
            seen.extend(chunk);
            let Some(n) = next else { break };
            let url = next_url("http://x", "/p", &q, n);
            let raw = url.split_once('?').unwrap().1.to_string();
            q = parse_query(Some(&raw));
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn bad_top_and_token_are_rejected() {
        let mut q = QueryMap::new();
        q.insert("$top".into(), "x".into());
        assert!(page(&q, 1, 1).is_err());
        let mut q = QueryMap::new();
        q.insert("$skiptoken".into(), "!!".into());
        assert!(page(&q, 1, 1).is_err());
    }
}
