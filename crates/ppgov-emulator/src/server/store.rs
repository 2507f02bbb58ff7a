//! How the server keeps one environment's content: every resource document as compact JSON text
//! ([`Doc`]), with the keys handlers look resources up by (`name`, the connection's API) as plain
//! fields, so finding a resource never parses a document and a list page is written straight from
//! the text. A write parses one document, changes it and stores it back.
//!
//! The generator builds [`EnvContent`] (`Value` trees); [`StoredEnv::from`] converts it once,
//! when the server caches the environment.
//!
//! Writes go through the `*_mut` / `remove_*` methods, which note what they touched;
//! [`StoredEnv::take_changes`] turns that into an [`EnvDelta`] (the touched records as they are
//! now, keyed by their position in the generated content). The cache keeps every environment's
//! delta, so it can drop a written environment like any other and rebuild it exactly: generate,
//! then [`StoredEnv::apply`] the delta.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::doc::Doc;
use crate::tenant::{DataverseData, EnvContent, RunPlan};

/// Bytes counted per record on top of its text (names, vector slots, allocation headers).
const RECORD_OVERHEAD: usize = 96;
/// A `Value` tree costs about this many bytes per byte of its JSON (Dataverse rows stay trees).
const TREE_FACTOR: usize = 5;

/// An app: its A1 list item and its A3 access list (a JSON array).
#[derive(Debug, Clone)]
pub struct StoredApp {
    /// Position in the generated content (the key of its change in an [`EnvDelta`]).
    pub origin: usize,
    /// The app `name` (GUID).
    pub name: String,
    /// A1 item.
    pub doc: Doc,
    /// A3 items, as one JSON array.
    pub permissions: Doc,
    /// The quarantine state an admin set (`Quarantined`, `Unquarantined`); `None` is
    /// `NotSpecified`. Served only by `.../quarantineState`: the admin list does not carry it.
    pub quarantine: Option<String>,
}

/// A flow: its F1 list item, definition, F4 access list and run plan.
#[derive(Debug, Clone)]
pub struct StoredFlow {
    /// Position in the generated content (the key of its change in an [`EnvDelta`]).
    pub origin: usize,
    /// The flow `name` (GUID).
    pub name: String,
    /// F1 item.
    pub doc: Doc,
    /// `properties.definition` for F2.
    pub definition: Doc,
    /// F4 items, as one JSON array.
    pub permissions: Doc,
    /// Run history.
    pub runs: RunPlan,
    /// Name of the definition's first trigger (what run documents report).
    pub trigger: String,
}

/// A connection: its C1 item.
#[derive(Debug, Clone)]
pub struct StoredConnection {
    /// Position in the generated content (the key of its change in an [`EnvDelta`]).
    pub origin: usize,
    /// The connection `name`.
    pub name: String,
    /// Last segment of `properties.apiId` (`shared_office365`).
    pub api: String,
    /// C1 item.
    pub doc: Doc,
}

/// Everything inside one environment, as the server keeps it. Read through the accessors; write
/// through the `*_mut` / `remove_*` methods, so the change is recorded (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct StoredEnv {
    apps: Vec<StoredApp>,
    flows: Vec<StoredFlow>,
    connections: Vec<StoredConnection>,
    role_assignments: Vec<Doc>,
    dataverse: Option<DataverseData>,
    /// Approximate size of the Dataverse rows in memory (computed once: rows change rarely).
    dataverse_bytes: usize,
    /// What writes touched since the last [`StoredEnv::take_changes`].
    touched: Touched,
}

#[derive(Debug, Clone, Default)]
struct Touched {
    apps: BTreeSet<usize>,
    flows: BTreeSet<usize>,
    connections: BTreeSet<usize>,
    role_assignments: bool,
    dataverse: bool,
}

/// The writes made to one environment: each touched record as it is now (`None`: deleted), keyed
/// by its position in the generated content, and the role assignments and Dataverse rows when
/// they were touched.
#[derive(Debug, Clone, Default)]
pub struct EnvDelta {
    apps: BTreeMap<usize, Option<StoredApp>>,
    flows: BTreeMap<usize, Option<StoredFlow>>,
    connections: BTreeMap<usize, Option<StoredConnection>>,
    role_assignments: Option<Vec<Doc>>,
    dataverse: Option<Option<DataverseData>>,
}

impl EnvDelta {
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
            && self.flows.is_empty()
            && self.connections.is_empty()
            && self.role_assignments.is_none()
            && self.dataverse.is_none()
    }

    /// Folds a later delta into this one (later changes win).
    pub fn merge(&mut self, later: EnvDelta) {
        self.apps.extend(later.apps);
        self.flows.extend(later.flows);
        self.connections.extend(later.connections);
        if later.role_assignments.is_some() {
            self.role_assignments = later.role_assignments;
        }
        if later.dataverse.is_some() {
            self.dataverse = later.dataverse;
        }
    }

    /// Approximate memory the delta takes.
    pub fn approx_bytes(&self) -> usize {
        let apps: usize = self.apps.values().flatten().map(app_bytes).sum();
        let flows: usize = self.flows.values().flatten().map(flow_bytes).sum();
        let conns: usize = self.connections.values().flatten().map(conn_bytes).sum();
        let roles: usize = self
            .role_assignments
            .iter()
            .flatten()
            .map(|r| r.len() + RECORD_OVERHEAD)
            .sum();
        let dv = self.dataverse.as_ref().map_or(0, |d| {
            d.as_ref().map_or(0, |d| {
                serde_json::to_vec(d).map_or(0, |v| v.len()) * TREE_FACTOR
            })
        });
        let entries = self.apps.len() + self.flows.len() + self.connections.len();
        apps + flows + conns + roles + dv + entries * RECORD_OVERHEAD
    }
}

fn app_bytes(a: &StoredApp) -> usize {
    a.name.len() + a.doc.len() + a.permissions.len() + RECORD_OVERHEAD
}

fn flow_bytes(f: &StoredFlow) -> usize {
    f.name.len()
        + f.doc.len()
        + f.definition.len()
        + f.permissions.len()
        + f.trigger.len()
        + RECORD_OVERHEAD
}

fn conn_bytes(c: &StoredConnection) -> usize {
    c.name.len() + c.api.len() + c.doc.len() + RECORD_OVERHEAD
}

/// The touched records of `items`, as they are now (`None` when gone).
fn changes_of<T: Clone>(
    items: &[T],
    touched: BTreeSet<usize>,
    origin: impl Fn(&T) -> usize,
) -> BTreeMap<usize, Option<T>> {
    touched
        .into_iter()
        .map(|o| (o, items.iter().find(|r| origin(r) == o).cloned()))
        .collect()
}

/// Replaces records by origin and drops the deleted ones.
fn apply_changes<T: Clone>(
    items: &mut Vec<T>,
    changes: &BTreeMap<usize, Option<T>>,
    origin: impl Fn(&T) -> usize,
) {
    if changes.is_empty() {
        return;
    }
    for (o, change) in changes {
        if let Some(rec) = change
            && let Some(slot) = items.iter_mut().find(|r| origin(r) == *o)
        {
            *slot = rec.clone();
        }
    }
    items.retain(|r| !matches!(changes.get(&origin(r)), Some(None)));
}

fn name_of(doc: &Value) -> String {
    doc.get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Last segment of a connection document's `properties.apiId`.
pub fn api_of(doc: &Value) -> &str {
    doc.pointer("/properties/apiId")
        .and_then(Value::as_str)
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("")
}

/// Name of the first trigger of a flow definition (`manual` when there is none).
pub fn first_trigger(definition: &Value) -> String {
    definition
        .get("triggers")
        .and_then(Value::as_object)
        .and_then(|t| t.keys().next().cloned())
        .unwrap_or_else(|| "manual".into())
}

/// A stored permission array, parsed, as a list (empty when it is not an array).
pub fn permission_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

fn array_doc(items: &[Value]) -> Doc {
    Doc::new(&Value::Array(items.to_vec()))
}

impl From<EnvContent> for StoredEnv {
    fn from(c: EnvContent) -> StoredEnv {
        let dataverse_bytes = c.dataverse.as_ref().map_or(0, |d| {
            serde_json::to_vec(d).map_or(0, |v| v.len()) * TREE_FACTOR
        });
        StoredEnv {
            apps: c
                .apps
                .iter()
                .enumerate()
                .map(|(origin, a)| StoredApp {
                    origin,
                    name: name_of(&a.doc),
                    doc: Doc::new(&a.doc),
                    permissions: array_doc(&a.permissions),
                    quarantine: None,
                })
                .collect(),
            flows: c
                .flows
                .iter()
                .enumerate()
                .map(|(origin, f)| StoredFlow {
                    origin,
                    name: name_of(&f.doc),
                    doc: Doc::new(&f.doc),
                    definition: Doc::new(&f.definition),
                    permissions: array_doc(&f.permissions),
                    runs: f.runs,
                    trigger: first_trigger(&f.definition),
                })
                .collect(),
            connections: c
                .connections
                .iter()
                .enumerate()
                .map(|(origin, x)| StoredConnection {
                    origin,
                    name: name_of(&x.doc),
                    api: api_of(&x.doc).to_string(),
                    doc: Doc::new(&x.doc),
                })
                .collect(),
            role_assignments: c.role_assignments.iter().map(Doc::new).collect(),
            dataverse: c.dataverse,
            dataverse_bytes,
            touched: Touched::default(),
        }
    }
}

impl StoredEnv {
    /// Approximate memory the content takes: its text plus a fixed cost per record.
    pub fn approx_bytes(&self) -> usize {
        let apps: usize = self.apps.iter().map(app_bytes).sum();
        let flows: usize = self.flows.iter().map(flow_bytes).sum();
        let conns: usize = self.connections.iter().map(conn_bytes).sum();
        let roles: usize = self
            .role_assignments
            .iter()
            .map(|r| r.len() + RECORD_OVERHEAD)
            .sum();
        apps + flows + conns + roles + self.dataverse_bytes + RECORD_OVERHEAD
    }

    /// Apps, in list order.
    pub fn apps(&self) -> &[StoredApp] {
        &self.apps
    }

    /// Flows, in list order.
    pub fn flows(&self) -> &[StoredFlow] {
        &self.flows
    }

    /// Connections, in list order.
    pub fn connections(&self) -> &[StoredConnection] {
        &self.connections
    }

    /// BAP role assignments (R1 items); environments without Dataverse.
    pub fn role_assignments(&self) -> &[Doc] {
        &self.role_assignments
    }

    /// Dataverse rows, when the environment has Dataverse.
    pub fn dataverse(&self) -> Option<&DataverseData> {
        self.dataverse.as_ref()
    }

    /// The app named `name` (case-insensitive).
    pub fn app(&self, name: &str) -> Option<&StoredApp> {
        self.apps.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The app named `name`, for writing.
    pub fn app_mut(&mut self, name: &str) -> Option<&mut StoredApp> {
        let a = self
            .apps
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(name))?;
        self.touched.apps.insert(a.origin);
        Some(a)
    }

    /// Deletes the app named `name`; whether it existed.
    pub fn remove_app(&mut self, name: &str) -> bool {
        let Some(pos) = self
            .apps
            .iter()
            .position(|a| a.name.eq_ignore_ascii_case(name))
        else {
            return false;
        };
        self.touched.apps.insert(self.apps.remove(pos).origin);
        true
    }

    /// The flow named `name` (case-insensitive).
    pub fn flow(&self, name: &str) -> Option<&StoredFlow> {
        self.flows
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The flow named `name`, for writing.
    pub fn flow_mut(&mut self, name: &str) -> Option<&mut StoredFlow> {
        let f = self
            .flows
            .iter_mut()
            .find(|f| f.name.eq_ignore_ascii_case(name))?;
        self.touched.flows.insert(f.origin);
        Some(f)
    }

    /// Deletes the flow named `name`; whether it existed.
    pub fn remove_flow(&mut self, name: &str) -> bool {
        let Some(pos) = self
            .flows
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
        else {
            return false;
        };
        self.touched.flows.insert(self.flows.remove(pos).origin);
        true
    }

    /// The connection `name` of API `api` (both case-insensitive).
    pub fn connection(&self, api: &str, name: &str) -> Option<&StoredConnection> {
        self.connections
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name) && c.api.eq_ignore_ascii_case(api))
    }

    /// The connection `name` of API `api`, for writing.
    pub fn connection_mut(&mut self, api: &str, name: &str) -> Option<&mut StoredConnection> {
        let c = self
            .connections
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name) && c.api.eq_ignore_ascii_case(api))?;
        self.touched.connections.insert(c.origin);
        Some(c)
    }

    /// Deletes the connection `name` of API `api`; whether it existed.
    pub fn remove_connection(&mut self, api: &str, name: &str) -> bool {
        let Some(pos) = self
            .connections
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name) && c.api.eq_ignore_ascii_case(api))
        else {
            return false;
        };
        self.touched
            .connections
            .insert(self.connections.remove(pos).origin);
        true
    }

    /// The role assignments, for writing.
    pub fn role_assignments_mut(&mut self) -> &mut Vec<Doc> {
        self.touched.role_assignments = true;
        &mut self.role_assignments
    }

    /// The Dataverse rows, for writing.
    pub fn dataverse_mut(&mut self) -> Option<&mut DataverseData> {
        self.touched.dataverse = true;
        self.dataverse.as_mut()
    }

    /// What the writes since the last call changed, as a delta; clears the record of them.
    pub fn take_changes(&mut self) -> EnvDelta {
        let t = std::mem::take(&mut self.touched);
        EnvDelta {
            apps: changes_of(&self.apps, t.apps, |a| a.origin),
            flows: changes_of(&self.flows, t.flows, |f| f.origin),
            connections: changes_of(&self.connections, t.connections, |c| c.origin),
            role_assignments: t.role_assignments.then(|| self.role_assignments.clone()),
            dataverse: t.dataverse.then(|| self.dataverse.clone()),
        }
    }

    /// Applies earlier writes (to freshly generated content, or again to content that already
    /// has some of them: applying is idempotent).
    pub fn apply(&mut self, delta: &EnvDelta) {
        apply_changes(&mut self.apps, &delta.apps, |a| a.origin);
        apply_changes(&mut self.flows, &delta.flows, |f| f.origin);
        apply_changes(&mut self.connections, &delta.connections, |c| c.origin);
        if let Some(r) = &delta.role_assignments {
            self.role_assignments.clone_from(r);
        }
        if let Some(d) = &delta.dataverse {
            self.dataverse.clone_from(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{ConnectionRecord, FlowRecord};
    use serde_json::json;

    #[test]
    fn conversion_keeps_documents_and_keys() {
        let content = EnvContent {
            flows: vec![FlowRecord {
                doc: json!({"name": "F1", "properties": {"state": "Started"}}),
                definition: json!({"triggers": {"Recurrence": {}, "b": {}}}),
                permissions: vec![json!({"name": "p"})],
                runs: RunPlan::default(),
            }],
            connections: vec![ConnectionRecord {
                doc: json!({"name": "c1", "properties": {"apiId": "/providers/Microsoft.PowerApps/apis/shared_sql"}}),
            }],
            ..Default::default()
        };
        let s = StoredEnv::from(content);
        let f = s.flow("f1").unwrap();
        assert_eq!(f.trigger, "Recurrence");
        assert_eq!(f.permissions.text(), r#"[{"name":"p"}]"#);
        assert_eq!(
            f.doc.text(),
            r#"{"name":"F1","properties":{"state":"Started"}}"#
        );
        assert!(s.connection("SHARED_SQL", "c1").is_some());
        assert!(s.connection("shared_x", "c1").is_none());
        assert!(s.approx_bytes() > f.doc.len() + f.definition.len());
    }

    fn sample() -> StoredEnv {
        let flow = |i: usize| FlowRecord {
            doc: json!({"name": format!("f{i}"), "properties": {"state": "Started"}}),
            definition: json!({}),
            permissions: vec![],
            runs: RunPlan::default(),
        };
        StoredEnv::from(EnvContent {
            flows: (0..4).map(flow).collect(),
            role_assignments: vec![json!({"name": "r0"})],
            ..Default::default()
        })
    }

    #[test]
    fn delta_rebuilds_written_content_exactly() {
        let mut written = sample();
        assert!(written.take_changes().is_empty());
        written
            .flow_mut("F2")
            .unwrap()
            .doc
            .update(|d| d["properties"]["state"] = json!("Stopped"));
        assert!(written.remove_flow("f1"));
        let mut delta = written.take_changes();
        written
            .role_assignments_mut()
            .push(Doc::new(&json!({"name": "r1"})));
        assert!(written.remove_flow("f3"));
        delta.merge(written.take_changes());
        assert!(delta.approx_bytes() > 0);

        let mut rebuilt = sample();
        rebuilt.apply(&delta);
        rebuilt.apply(&delta);
        let names = |s: &StoredEnv| -> Vec<String> {
            s.flows().iter().map(|f| f.doc.text().to_string()).collect()
        };
        assert_eq!(names(&rebuilt), names(&written));
        assert_eq!(names(&rebuilt).len(), 2);
        assert_eq!(
            rebuilt.flow("f2").unwrap().doc.value()["properties"]["state"],
            "Stopped"
        );
        assert_eq!(rebuilt.role_assignments(), written.role_assignments());
        assert!(rebuilt.take_changes().is_empty(), "applying is not a write");
    }
}
