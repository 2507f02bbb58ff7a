//! Microsoft Graph v1.0: users (a 404 means deleted), group members, and `$batch` lookups.

use super::seg;
use crate::error::{ClientError, parse_error_body};
use crate::paging::{ItemStream, link_stream_at};
use crate::retry::parse_retry_after;
use crate::transport::{Request, Transport, build_url};
use ppgov_config::Endpoints;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use url::Url;

/// Graph's limit of requests per `$batch`.
pub const BATCH_LIMIT: usize = 20;
/// Graph's limit of ids per `directoryObjects/getByIds` call.
pub const GET_BY_IDS_LIMIT: usize = 1000;
/// Rounds of re-sending items a batch answered 429 for.
const BATCH_ROUNDS: u32 = 6;

/// Result of looking a user up.
#[derive(Debug, Clone, PartialEq)]
pub enum UserLookup<T> {
    /// The user exists.
    Found(T),
    /// Graph answered 404: deleted or never existed.
    Deleted,
    /// Any other answer (per-item failure inside a batch).
    Failed {
        /// HTTP status of the item.
        status: u16,
        /// Error code, if any.
        code: Option<String>,
        /// Error message.
        message: String,
    },
}

/// One answer inside a `$batch`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    /// The relative URL asked for.
    pub url: String,
    /// Its HTTP status (429 if still throttled after the retry rounds).
    pub status: u16,
    /// Its body (`Null` if none).
    pub body: Value,
}

#[derive(Deserialize)]
struct BatchResponse {
    #[serde(default)]
    responses: Vec<BatchEntry>,
}

#[derive(Deserialize)]
struct BatchEntry {
    id: String,
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, Value>,
    #[serde(default)]
    body: Value,
}

/// Graph client.
#[derive(Debug, Clone)]
pub struct GraphClient {
    t: Transport,
    base: Url,
    scope: String,
}

impl GraphClient {
    /// A client on `endpoints.graph` (`/v1.0`) with the Graph scope.
    pub fn new(transport: Transport, endpoints: &Endpoints) -> Self {
        GraphClient {
            t: transport,
            base: endpoints.graph.clone(),
            scope: endpoints.scopes.graph.clone(),
        }
    }

    /// One user by object id or UPN; `select` e.g. `id,displayName,userPrincipalName,accountEnabled,userType`.
    pub async fn get_user<T: DeserializeOwned>(
        &self,
        id: &str,
        select: &str,
    ) -> Result<UserLookup<T>, ClientError> {
        let q: Vec<(&str, &str)> = if select.is_empty() {
            vec![]
        } else {
            vec![("$select", select)]
        };
        let u = build_url(&self.base, &format!("/v1.0/users/{}", seg(id)), &q)?;
        match self.t.get_json(u, &self.scope).await {
            Ok(v) => Ok(UserLookup::Found(v)),
            Err(e) if e.is_not_found() => Ok(UserLookup::Deleted),
            Err(e) => Err(e),
        }
    }

    /// A user's manager (`GET /users/{id | userPrincipalName}/manager`, `User.Read.All`): a
    /// directory object, usually a user, possibly an organisational contact (`@odata.type` tells).
    /// `None` when the user has no manager (Graph answers 404 for the navigation property).
    pub async fn manager<T: DeserializeOwned>(
        &self,
        user: &str,
        select: &str,
    ) -> Result<Option<T>, ClientError> {
        let q: Vec<(&str, &str)> = if select.is_empty() {
            vec![]
        } else {
            vec![("$select", select)]
        };
        let u = build_url(
            &self.base,
            &format!("/v1.0/users/{}/manager", seg(user)),
            &q,
        )?;
        match self.t.get_json(u, &self.scope).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Direct members of a group (users, groups, service principals; `@odata.type` tells).
    pub fn group_members<T: DeserializeOwned + Send + 'static>(
        &self,
        group_id: &str,
    ) -> ItemStream<T> {
        let u = build_url(
            &self.base,
            &format!("/v1.0/groups/{}/members", seg(group_id)),
            &[
                ("$select", "id,displayName,userPrincipalName"),
                ("$top", "999"),
            ],
        );
        link_stream_at(&self.t, u, &self.scope)
    }

    /// Transitive members of a group (nested groups expanded; `@odata.type` tells each kind).
    pub fn transitive_members<T: DeserializeOwned + Send + 'static>(
        &self,
        group_id: &str,
    ) -> ItemStream<T> {
        let u = build_url(
            &self.base,
            &format!("/v1.0/groups/{}/transitiveMembers", seg(group_id)),
            &[
                ("$select", "id,displayName,userPrincipalName"),
                ("$top", "999"),
            ],
        );
        link_stream_at(&self.t, u, &self.scope)
    }

    /// `POST /v1.0/directoryObjects/getByIds`: the objects of these ids among `types` (e.g.
    /// `user`, `group`, `servicePrincipal`), asked in calls of at most 1000 ids. An id missing from
    /// the answer does not exist (deleted). Users come back with a default subset of properties.
    pub async fn get_by_ids<T: DeserializeOwned>(
        &self,
        ids: &[String],
        types: &[&str],
    ) -> Result<Vec<T>, ClientError> {
        #[derive(Deserialize)]
        struct Page<T> {
            #[serde(default = "Vec::new")]
            value: Vec<T>,
        }
        let url = build_url(&self.base, "/v1.0/directoryObjects/getByIds", &[])?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(GET_BY_IDS_LIMIT) {
            // A read despite the POST: safe to retry.
            let req = Request::post(url.clone(), &self.scope)
                .json(&serde_json::json!({ "ids": chunk, "types": types }))?
                .idempotent(true);
            let page: Page<T> = self.t.send_json(req).await?;
            out.extend(page.value);
        }
        Ok(out)
    }

    /// Many users at once through `$batch` (20 per call); one result per id, in input order.
    pub async fn get_users<T: DeserializeOwned>(
        &self,
        ids: &[String],
        select: &str,
    ) -> Result<Vec<(String, UserLookup<T>)>, ClientError> {
        let urls: Vec<String> = ids
            .iter()
            .map(|id| {
                if select.is_empty() {
                    format!("/users/{}", seg(id))
                } else {
                    format!("/users/{}?$select={select}", seg(id))
                }
            })
            .collect();
        let items = self.batch_get(&urls).await?;
        let mut out = Vec::with_capacity(items.len());
        for (id, item) in ids.iter().zip(items) {
            let r = match item.status {
                200..=299 => match serde_json::from_value(item.body) {
                    Ok(v) => UserLookup::Found(v),
                    Err(e) => {
                        return Err(ClientError::Decode {
                            url: format!("$batch {}", item.url),
                            path: ".".into(),
                            message: e.to_string(),
                        });
                    }
                },
                404 => UserLookup::Deleted,
                status => {
                    let (code, message) = parse_error_body(item.body.to_string().as_bytes());
                    UserLookup::Failed {
                        status,
                        code,
                        message,
                    }
                }
            };
            out.push((id.clone(), r));
        }
        Ok(out)
    }

    /// GETs relative URLs (`/users/<id>?$select=...`) through `$batch` in chunks of at most 20.
    /// Items answered 429 are re-sent after their `Retry-After`, a bounded number of rounds.
    /// Results come back in input order.
    pub async fn batch_get(&self, urls: &[String]) -> Result<Vec<BatchItem>, ClientError> {
        let batch_url = build_url(&self.base, "/v1.0/$batch", &[])?;
        let mut out: Vec<Option<BatchItem>> = vec![None; urls.len()];
        for (chunk_no, chunk) in urls.chunks(BATCH_LIMIT).enumerate() {
            let offset = chunk_no * BATCH_LIMIT;
            let mut pending: Vec<usize> = (0..chunk.len()).collect();
            let mut round = 0;
            while !pending.is_empty() {
                round += 1;
                let requests: Vec<Value> = pending
                    .iter()
                    .map(|i| serde_json::json!({ "id": (i + 1).to_string(), "method": "GET", "url": chunk[*i] }))
                    .collect();
                // Graph evaluates every item of a batch against its limits.
                let cost = u32::try_from(requests.len()).unwrap_or(u32::MAX);
                let req = Request::post(batch_url.clone(), &self.scope)
                    .json(&serde_json::json!({ "requests": requests }))?
                    .idempotent(true)
                    .cost(cost.saturating_add(1));
                let resp: BatchResponse = self.t.send_json(req).await?;
                let mut retry = Vec::new();
                let mut wait = Duration::ZERO;
                for e in resp.responses {
                    let Some(i) =
                        e.id.parse::<usize>()
                            .ok()
                            .and_then(|n| n.checked_sub(1))
                            .filter(|i| *i < chunk.len())
                    else {
                        continue;
                    };
                    if (e.status == 429 || e.status == 503) && round < BATCH_ROUNDS {
                        let ra = header_ci(&e.headers, "retry-after")
                            .and_then(|v| parse_retry_after(&v, SystemTime::now()))
                            .unwrap_or(Duration::from_secs(2));
                        // Capped like every other server-given wait.
                        wait = wait.max(ra.min(self.t.config().retry.max_delay));
                        retry.push(i);
                        continue;
                    }
                    if let Some(slot) = out.get_mut(offset + i) {
                        *slot = Some(BatchItem {
                            url: chunk[i].clone(),
                            status: e.status,
                            body: e.body,
                        });
                    }
                }
                // Items the service left out of its answer are asked again too.
                for i in &pending {
                    if out.get(offset + i).is_some_and(Option::is_none)
                        && !retry.contains(i)
                        && round < BATCH_ROUNDS
                    {
                        retry.push(*i);
                    }
                }
                retry.sort_unstable();
                if !retry.is_empty() {
                    self.t.note_throttled(&batch_url, wait);
                    tokio::time::sleep(wait).await;
                }
                pending = retry;
            }
        }
        Ok(out
            .into_iter()
            .zip(urls)
            .map(|(o, u)| {
                o.unwrap_or_else(|| BatchItem {
                    url: u.clone(),
                    status: 429,
                    body: Value::Null,
                })
            })
            .collect())
    }
}

fn header_ci(h: &BTreeMap<String, Value>, name: &str) -> Option<String> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}
