//! Resolves every principal a snapshot references (owners, creators, sharers, role holders)
//! through Graph `$batch`: user or group, enabled or disabled, member or guest, or deleted (404).

use crate::map;
use futures::{StreamExt, stream};
use ppgov_client::GraphClient;
use ppgov_core::{CollectionState, Principal, PrincipalRef, Snapshot};
use ppgov_model::graph;
use std::collections::{BTreeMap, BTreeSet};

/// What kind of object an id was referenced as; decides which Graph path is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    User,
    Group,
    ServicePrincipal,
}

fn kind_of(t: &str) -> Option<Kind> {
    match t.to_ascii_lowercase().as_str() {
        "group" => Some(Kind::Group),
        "serviceprincipal" | "application" => Some(Kind::ServicePrincipal),
        // "Tenant" is Everyone, not an object.
        "tenant" | "notspecified" => None,
        _ => Some(Kind::User),
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Every principal id the snapshot references.
pub fn referenced_ids(s: &Snapshot) -> BTreeSet<String> {
    referenced(s).into_keys().collect()
}

/// Every principal id the snapshot references, with the kind it was referenced as.
fn referenced(s: &Snapshot) -> BTreeMap<String, Kind> {
    let mut out = BTreeMap::new();
    let mut add = |id: &str, t: &str| {
        let id = id.to_ascii_lowercase();
        if let Some(k) = kind_of(t)
            && is_guid(&id)
            && id != "00000000-0000-0000-0000-000000000000"
        {
            out.entry(id).or_insert(k);
        }
    };
    let mut add_ref = |r: &PrincipalRef| add(&r.id, &r.principal_type);
    for a in &s.apps {
        a.owner
            .iter()
            .chain(a.created_by.iter())
            .for_each(&mut add_ref);
        a.permissions
            .iter()
            .flatten()
            .for_each(|p| add_ref(&p.principal));
    }
    for f in &s.flows {
        f.permissions
            .iter()
            .flatten()
            .for_each(|p| add_ref(&p.principal));
    }
    for c in &s.connections {
        c.created_by.iter().for_each(&mut add_ref);
        c.permissions
            .iter()
            .flatten()
            .for_each(|p| add_ref(&p.principal));
    }
    for f in &s.flows {
        if let Some(c) = &f.creator {
            add(c, "User");
        }
    }
    for r in &s.role_assignments {
        add(&r.principal_id, &r.principal_type);
    }
    for e in &s.environments {
        if let Some(u) = &e.used_by {
            add(u, "User");
        }
    }
    out
}

const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,accountEnabled,userType";

fn url(id: &str, k: Kind) -> String {
    match k {
        Kind::User => format!("/users/{id}?$select={USER_SELECT}"),
        Kind::Group => format!("/groups/{id}?$select=id,displayName,mail,securityEnabled"),
        Kind::ServicePrincipal => format!("/servicePrincipals/{id}?$select=id,displayName,appId"),
    }
}

/// Resolves every referenced principal not in `known` (already resolved and carried forward). A
/// lookup that fails for another reason than 404 leaves the principal `Unresolved` (never deleted)
/// and marks the collection failed.
pub async fn resolve(
    graph: &GraphClient,
    s: &Snapshot,
    concurrency: usize,
    known: &BTreeSet<String>,
) -> (Vec<Principal>, CollectionState) {
    let wanted: Vec<(String, Kind)> = referenced(s)
        .into_iter()
        .filter(|(id, _)| !known.contains(id))
        .collect();
    let chunks: Vec<Vec<(String, Kind)>> = wanted.chunks(20).map(<[_]>::to_vec).collect();
    let results: Vec<_> = stream::iter(chunks)
        .map(|chunk| async move {
            let urls: Vec<String> = chunk.iter().map(|(id, k)| url(id, *k)).collect();
            (graph.batch_get(&urls).await, chunk)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut out = Vec::with_capacity(wanted.len());
    let mut failure: Option<String> = None;
    for (result, chunk) in results {
        match result {
            Ok(items) => {
                for ((id, kind), item) in chunk.iter().zip(items) {
                    out.push(match item.status {
                        200..=299 => from_body(id, *kind, &item.body),
                        404 => map::unresolved_principal(id, true),
                        other => {
                            failure.get_or_insert_with(|| {
                                format!("graph answered {other} for {}", item.url)
                            });
                            map::unresolved_principal(id, false)
                        }
                    });
                }
            }
            Err(e) => {
                failure.get_or_insert_with(|| e.to_string());
                out.extend(
                    chunk
                        .iter()
                        .map(|(id, _)| map::unresolved_principal(id, false)),
                );
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    let state = match failure {
        None => CollectionState::Collected {
            count: (out.len() + known.len()) as u64,
        },
        Some(message) => CollectionState::Failed {
            http_status: None,
            code: None,
            message,
        },
    };
    (out, state)
}

fn from_body(id: &str, kind: Kind, body: &serde_json::Value) -> Principal {
    let odata = match kind {
        Kind::User => "#microsoft.graph.user",
        Kind::Group => "#microsoft.graph.group",
        Kind::ServicePrincipal => "#microsoft.graph.servicePrincipal",
    };
    let mut obj: graph::DirectoryObject =
        serde_json::from_value(body.clone()).unwrap_or_else(|_| graph::DirectoryObject {
            id: id.to_string(),
            ..Default::default()
        });
    if obj.odata_type.is_none() {
        obj.odata_type = Some(odata.to_string());
    }
    if obj.id.is_empty() {
        obj.id = id.to_string();
    }
    let user: Option<graph::User> = (kind == Kind::User)
        .then(|| serde_json::from_value(body.clone()).ok())
        .flatten();
    map::graph_principal(&obj, user.as_ref())
}
