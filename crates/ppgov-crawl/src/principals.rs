//! Resolves every principal a snapshot references (owners, creators, sharers, role holders)
//! through Graph `directoryObjects/getByIds` (user, group or service principal, or deleted when
//! absent), then the users' state through `$batch`: enabled or disabled, member or guest.

use crate::map;
use futures::{StreamExt, stream};
use ppgov_client::GraphClient;
use ppgov_core::{Principal, PrincipalRef, Snapshot};
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

/// Collects principal ids, with the kind each was referenced as.
#[derive(Debug, Default)]
pub struct Refs(BTreeMap<String, Kind>);

impl Refs {
    fn add(&mut self, id: &str, t: &str) {
        let id = id.to_ascii_lowercase();
        if let Some(k) = kind_of(t)
            && is_guid(&id)
            && id != "00000000-0000-0000-0000-000000000000"
        {
            self.0.entry(id).or_insert(k);
        }
    }

    fn add_ref(&mut self, r: &PrincipalRef) {
        self.add(&r.id, &r.principal_type);
    }

    fn add_permissions(&mut self, p: &Option<Vec<ppgov_core::Permission>>) {
        for p in p.iter().flatten() {
            self.add_ref(&p.principal);
        }
    }

    /// An app's owner, creator and sharers.
    pub fn app(&mut self, a: &ppgov_core::App) {
        a.owner
            .iter()
            .chain(a.created_by.iter())
            .for_each(|r| self.add_ref(r));
        self.add_permissions(&a.permissions);
    }

    /// A flow's creator and owners.
    pub fn flow(&mut self, f: &ppgov_core::Flow) {
        if let Some(c) = &f.creator {
            self.add(c, "User");
        }
        self.add_permissions(&f.permissions);
    }

    /// A connection's creator and sharers.
    pub fn connection(&mut self, c: &ppgov_core::Connection) {
        c.created_by.iter().for_each(|r| self.add_ref(r));
        self.add_permissions(&c.permissions);
    }

    /// A role holder.
    pub fn role(&mut self, r: &ppgov_core::RoleAssignment) {
        self.add(&r.principal_id, &r.principal_type);
    }

    /// One principal by id, referenced as `principal_type` (`User`, `Group`, ...).
    pub fn id(&mut self, id: &str, principal_type: &str) {
        self.add(id, principal_type);
    }

    /// A developer environment's owner.
    pub fn environment(&mut self, e: &ppgov_core::Environment) {
        if let Some(u) = &e.used_by {
            self.add(u, "User");
        }
    }
}

/// Every principal id the snapshot references, with the kind it was referenced as.
fn referenced(s: &Snapshot) -> BTreeMap<String, Kind> {
    let mut r = Refs::default();
    s.apps.iter().for_each(|a| r.app(a));
    s.flows.iter().for_each(|f| r.flow(f));
    s.connections.iter().for_each(|c| r.connection(c));
    s.role_assignments.iter().for_each(|x| r.role(x));
    s.environments.iter().for_each(|e| r.environment(e));
    r.0
}

/// Resolves principals while the crawl is still running: shards hand it the ids they see, it asks
/// Graph in chunks of up to [`CHUNK`] ids as they fill, and sends each resolved principal to the store writer.
/// Resolution thus overlaps the environment shards instead of following them, and never needs the
/// whole snapshot in memory.
pub struct Resolver {
    tx: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<(String, Kind)>>>,
    seen: std::sync::Mutex<BTreeSet<String>>,
    skip: BTreeSet<String>,
    handle: std::sync::Mutex<Option<tokio::task::JoinHandle<Outcome>>>,
}

/// Principals resolved, and the first failure.
type Outcome = (u64, Option<String>);

impl Resolver {
    /// Starts resolving; ids in `skip` (carried forward from a recent parent) are never asked.
    pub fn spawn(
        graph: GraphClient,
        writer: tokio::sync::mpsc::Sender<crate::writer::WriteOp>,
        concurrency: usize,
        skip: BTreeSet<String>,
    ) -> Resolver {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Kind)>();
        let handle = tokio::spawn(async move {
            let mut resolved = 0u64;
            let mut failure: Option<String> = None;
            let mut in_flight = futures::stream::FuturesUnordered::new();
            let mut open = true;
            loop {
                // Fill a batch from whatever has arrived; block only when nothing is in flight.
                let mut chunk = Vec::new();
                if open && in_flight.len() < concurrency.max(1) {
                    if in_flight.is_empty() {
                        match rx.recv().await {
                            Some(x) => chunk.push(x),
                            None => open = false,
                        }
                    }
                    while chunk.len() < CHUNK {
                        match rx.try_recv() {
                            Ok(x) => chunk.push(x),
                            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                                open = false;
                                break;
                            }
                        }
                    }
                }
                if !chunk.is_empty() {
                    in_flight.push(owned_chunk(graph.clone(), chunk));
                    continue;
                }
                if in_flight.is_empty() {
                    if open {
                        continue;
                    }
                    break;
                }
                // Wait for a batch to finish, or for more ids when there is room for another batch.
                let done = if open && in_flight.len() < concurrency.max(1) {
                    tokio::select! {
                        d = in_flight.next() => d,
                        x = rx.recv() => {
                            match x {
                                Some(x) => {
                                    let mut chunk = vec![x];
                                    while chunk.len() < CHUNK {
                                        match rx.try_recv() {
                                            Ok(x) => chunk.push(x),
                                            Err(_) => break,
                                        }
                                    }
                                    in_flight.push(owned_chunk(graph.clone(), chunk));
                                }
                                None => open = false,
                            }
                            None
                        }
                    }
                } else {
                    in_flight.next().await
                };
                if let Some((principals, fail)) = done {
                    resolved += principals.len() as u64;
                    if let Some(f) = fail {
                        failure.get_or_insert(f);
                    }
                    let mut rows = Vec::with_capacity(principals.len());
                    for p in &principals {
                        match ppgov_store::ResourceRow::of(p) {
                            Ok(r) => rows.push(r),
                            // Counted as unresolved: the snapshot will not hold it.
                            Err(e) => {
                                resolved = resolved.saturating_sub(1);
                                failure
                                    .get_or_insert(format!("principal {} not stored: {e}", p.id));
                            }
                        }
                    }
                    let _ = writer.send(crate::writer::WriteOp::Rows(rows)).await;
                }
            }
            (resolved, failure)
        });
        Resolver {
            tx: std::sync::Mutex::new(Some(tx)),
            seen: std::sync::Mutex::new(BTreeSet::new()),
            skip,
            handle: std::sync::Mutex::new(Some(handle)),
        }
    }

    /// Hands over the ids a shard saw; each id is asked once per crawl.
    pub fn note(&self, refs: Refs) {
        let (Ok(mut seen), Ok(tx)) = (self.seen.lock(), self.tx.lock()) else {
            return;
        };
        let Some(tx) = tx.as_ref() else { return };
        for (id, kind) in refs.0 {
            if !self.skip.contains(&id) && seen.insert(id.clone()) {
                let _ = tx.send((id, kind));
            }
        }
    }

    /// Waits for every queued id; returns how many were resolved and the first failure.
    pub async fn finish(&self) -> (u64, Option<String>) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let handle = self.handle.lock().ok().and_then(|mut h| h.take());
        match handle {
            Some(h) => h
                .await
                .unwrap_or((0, Some("principal resolution stopped unexpectedly".into()))),
            None => (0, None),
        }
    }
}

/// [`resolve_chunk`] owning its inputs, so every batch in flight is the same future type.
async fn owned_chunk(
    graph: GraphClient,
    chunk: Vec<(String, Kind)>,
) -> (Vec<Principal>, Option<String>) {
    resolve_chunk(&graph, &chunk).await
}

/// Ids resolved together: one `getByIds` call, then the users among them in `$batch`es of 20.
pub(crate) const CHUNK: usize = 200;

/// The directory object types a referenced id may be.
const TYPES: &[&str] = &["user", "group", "servicePrincipal"];

/// Resolves one chunk of ids by what they are: `directoryObjects/getByIds` says which exist and
/// whether each is a user, a group or a service principal (an id it leaves out is deleted); the
/// users are then read in `$batch`es for `accountEnabled` and `userType`, which getByIds does not
/// return by default. A payload's (often missing) principal type is never trusted for the path.
/// Failures leave principals unresolved, never deleted.
async fn resolve_chunk(
    graph: &GraphClient,
    chunk: &[(String, Kind)],
) -> (Vec<Principal>, Option<String>) {
    let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
    let found: Vec<graph::DirectoryObject> = match graph.get_by_ids(&ids, TYPES).await {
        Ok(f) => f,
        Err(e) => {
            let out = ids
                .iter()
                .map(|id| map::unresolved_principal(id, false))
                .collect();
            return (out, Some(e.to_string()));
        }
    };
    let found: BTreeMap<String, graph::DirectoryObject> = found
        .into_iter()
        .map(|o| (o.id.to_ascii_lowercase(), o))
        .collect();
    let users: Vec<&String> = ids
        .iter()
        .filter(|id| {
            found
                .get(*id)
                .is_some_and(|o| o.kind().is_some_and(|k| k.eq_ignore_ascii_case("user")))
        })
        .collect();
    let urls: Vec<String> = users
        .iter()
        .map(|id| {
            format!(
                "/users/{}?$select={USER_SELECT}",
                ppgov_client::path_segment(id)
            )
        })
        .collect();
    let batches = futures::future::join_all(
        urls.chunks(ppgov_client::clients::graph::BATCH_LIMIT)
            .map(|c| graph.batch_get(c)),
    )
    .await;
    let mut failure = None;
    let mut details: BTreeMap<String, Result<serde_json::Value, bool>> = BTreeMap::new();
    for (batch, ids) in batches
        .into_iter()
        .zip(users.chunks(ppgov_client::clients::graph::BATCH_LIMIT))
    {
        match batch {
            Ok(items) => {
                for (id, item) in ids.iter().zip(items) {
                    let v = match item.status {
                        200..=299 => Ok(item.body),
                        // Deleted between the two calls.
                        404 => Err(true),
                        other => {
                            failure.get_or_insert_with(|| {
                                format!("graph answered {other} for {}", item.url)
                            });
                            Err(false)
                        }
                    };
                    details.insert((*id).clone(), v);
                }
            }
            Err(e) => {
                failure.get_or_insert_with(|| e.to_string());
                for id in ids {
                    details.insert((*id).clone(), Err(false));
                }
            }
        }
    }
    let out = ids
        .iter()
        .map(|id| match found.get(id) {
            None => map::unresolved_principal(id, true),
            Some(obj) => match details.get(id) {
                None => map::graph_principal(obj, None),
                Some(Ok(body)) => {
                    let user: Option<graph::User> = serde_json::from_value(body.clone()).ok();
                    map::graph_principal(obj, user.as_ref())
                }
                Some(Err(true)) => map::unresolved_principal(id, true),
                Some(Err(false)) => map::unreadable_user(obj),
            },
        })
        .collect();
    (out, failure)
}

const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,accountEnabled,userType";

/// Resolves every principal the snapshot references except those in `known`, all at once: the
/// path for a resumed crawl, whose earlier shards' principals were not seen by this process.
pub async fn resolve(
    graph: &GraphClient,
    s: &Snapshot,
    concurrency: usize,
    known: &BTreeSet<String>,
) -> (Vec<Principal>, Option<String>) {
    let wanted: Vec<(String, Kind)> = referenced(s)
        .into_iter()
        .filter(|(id, _)| !known.contains(id))
        .collect();
    let chunks: Vec<Vec<(String, Kind)>> = wanted.chunks(CHUNK).map(<[_]>::to_vec).collect();
    let results: Vec<_> = stream::iter(chunks)
        .map(|chunk| async move { resolve_chunk(graph, &chunk).await })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut out = Vec::with_capacity(wanted.len());
    let mut failure = None;
    for (principals, fail) in results {
        out.extend(principals);
        if let Some(f) = fail {
            failure.get_or_insert(f);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    (out, failure)
}
