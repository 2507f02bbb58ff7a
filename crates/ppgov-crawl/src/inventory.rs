//! The inventory API fast path for listing flows.
//!
//! With a delegated sign-in, one `resourcequery` walk lists every cloud flow of the tenant in pages
//! of 1,000, where listing per environment costs at least one call per environment. Flows still
//! need their per-resource calls (definition, permissions, runs), so only the listing moves here.
//! Apps are not listed this way: their per-environment list pages carry the full documents the
//! snapshot stores, which the inventory rows do not.
//!
//! The inventory refuses app-only tokens (403) and trails changes by up to 15 minutes
//! (`shared/api/INVENTORY-API.md` §4). So: a refusal or any error falls back to listing per
//! environment; an environment the inventory does not know (new, or a sign-in without the admin
//! role, which reportedly sees nothing rather than a 403) is listed per environment; and a
//! snapshot listed this way may trail the newest flow changes by those 15 minutes, which the next
//! crawl picks up.

use futures::TryStreamExt;
use ppgov_client::{ClientError, Clients};
use ppgov_core::Environment;
use ppgov_model as wire;
use ppgov_model::common::OwnerRef;
use ppgov_model::ppapi::{Clause, QueryRequest, ResourceRow, SortDirection};
use std::collections::{BTreeMap, BTreeSet};

const FLOW_TYPE: &str = "microsoft.powerautomate/cloudflows";
const ENVIRONMENT_TYPE: &str = "microsoft.powerplatform/environments";

/// Flows per environment as the inventory lists them.
#[derive(Debug, Default)]
pub(crate) struct FlowListing {
    /// Lower-cased environment name -> its flows, shaped as list items (name, display name,
    /// created and modified times, creator).
    by_env: BTreeMap<String, Vec<wire::flow::Flow>>,
    /// Environments the inventory knows (lower-cased): only these are listed from it.
    known: BTreeSet<String>,
}

impl FlowListing {
    /// The flows of an environment, or `None` when it must be listed per environment.
    pub(crate) fn flows_of(&self, env: &str) -> Option<Vec<wire::flow::Flow>> {
        let key = env.to_ascii_lowercase();
        if !self.known.contains(&key) {
            return None;
        }
        Some(self.by_env.get(&key).cloned().unwrap_or_default())
    }

    /// How many of `envs` it covers.
    pub(crate) fn covers(&self, envs: &[Environment]) -> usize {
        envs.iter()
            .filter(|e| self.known.contains(&e.id.to_ascii_lowercase()))
            .count()
    }
}

/// Lists environments and cloud flows through the inventory API.
pub(crate) async fn list_flows(c: &Clients) -> Result<FlowListing, ClientError> {
    let query = QueryRequest::new(vec![
        Clause::Where {
            field_name: "type".into(),
            operator: "in~".into(),
            values: vec![format!("'{FLOW_TYPE}'"), format!("'{ENVIRONMENT_TYPE}'")],
        },
        // A unique sort key keeps paging stable (INVENTORY-API.md §1.2).
        Clause::OrderBy {
            field_names_asc_desc: [("name".to_string(), SortDirection::Asc)]
                .into_iter()
                .collect(),
        },
    ]);
    let query = serde_json::to_value(&query)
        .map_err(|e| ClientError::InvalidRequest(format!("inventory query: {e}")))?;
    let rows: Vec<ResourceRow> = c
        .powerplatform
        .inventory_query::<ResourceRow>(&query, 1000)
        .try_collect()
        .await?;
    Ok(listing_of(rows))
}

fn listing_of(rows: Vec<ResourceRow>) -> FlowListing {
    let mut out = FlowListing::default();
    let mut seen = BTreeSet::new();
    for row in rows {
        let Some(name) = row.name.clone().filter(|n| !n.is_empty()) else {
            continue;
        };
        let kind = row
            .resource_type
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase();
        if kind == ENVIRONMENT_TYPE {
            out.known.insert(name.to_ascii_lowercase());
            continue;
        }
        if kind != FLOW_TYPE {
            continue;
        }
        let props = row.properties.unwrap_or_default();
        let Some(env) = props.environment_id.as_deref().filter(|e| !e.is_empty()) else {
            continue;
        };
        let env = env.to_ascii_lowercase();
        // Paging can repeat a row when the data moves underneath; one flow is one item.
        if !seen.insert((env.clone(), name.to_ascii_lowercase())) {
            continue;
        }
        let creator = props.created_by.as_ref().or(props.owner_id.as_ref());
        let flow = wire::flow::Flow {
            name,
            properties: wire::flow::FlowProperties {
                display_name: props.display_name.clone(),
                created_time: props.created_at.clone(),
                last_modified_time: props.last_modified_at.clone(),
                creator: creator
                    .and_then(owner_id)
                    .map(|id| wire::flow::FlowCreator {
                        object_id: Some(id),
                        ..Default::default()
                    }),
                ..Default::default()
            },
            ..Default::default()
        };
        out.by_env.entry(env).or_default().push(flow);
    }
    out
}

fn owner_id(o: &OwnerRef) -> Option<String> {
    o.id().filter(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: serde_json::Value) -> ResourceRow {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn flows_group_by_environment_and_unknown_environments_fall_back() {
        let rows = vec![
            row(json!({"name": "Env-A", "type": ENVIRONMENT_TYPE, "properties": {}})),
            row(
                json!({"name": "f1", "type": "microsoft.powerautomate/cloudflows",
                "properties": {"environmentId": "env-a", "displayName": "One",
                    "lastModifiedAt": "2026-11-01T10:00:00Z", "createdBy": {"id": "u1"}}}),
            ),
            row(
                json!({"name": "f1", "type": "microsoft.powerautomate/cloudflows",
                "properties": {"environmentId": "ENV-A"}}),
            ),
            row(
                json!({"name": "f2", "type": "microsoft.powerautomate/cloudflows",
                "properties": {"environmentId": "env-b"}}),
            ),
            row(
                json!({"name": "app", "type": "microsoft.powerapps/canvasapps",
                "properties": {"environmentId": "env-a"}}),
            ),
        ];
        let l = listing_of(rows);
        let a = l.flows_of("ENV-a").unwrap();
        assert_eq!(a.len(), 1, "a repeated row is one flow; apps are not flows");
        assert_eq!(a[0].name, "f1");
        assert_eq!(
            a[0].properties.last_modified_time.as_deref(),
            Some("2026-11-01T10:00:00Z")
        );
        assert_eq!(
            a[0].properties
                .creator
                .as_ref()
                .and_then(|c| c.object_id.as_deref()),
            Some("u1")
        );
        assert!(
            l.flows_of("env-b").is_none(),
            "env-b is not in the inventory"
        );
        assert!(l.flows_of("env-c").is_none());
    }
}
