//! Inventory views of a snapshot as simple tables (`ppgov inventory ...`, evidence CSVs), each
//! renderable as aligned text, JSON or CSV.

use crate::ReportError;
use chrono::{DateTime, Utc};
use ppgov_core::{PrincipalKind, PrincipalStatus, RoleSource, Snapshot};

/// A table of strings with named columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Column names (snake_case; they are the JSON keys and the CSV header).
    pub columns: Vec<&'static str>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A text table with a header (every cell in full); control characters in cells are
    /// neutralised so data cannot rewrite the terminal.
    pub fn to_text(&self) -> String {
        self.to_text_fitted(None)
    }

    /// [`Table::to_text`] fitted to a terminal `width` (long cells wrap).
    pub fn to_text_fitted(&self, width: Option<u16>) -> String {
        crate::grid::grid(&self.columns, &self.rows, width)
    }

    /// An array of objects, keys in column order, each value typed by its column
    /// ([`column_type`]): booleans, numbers, arrays, RFC 3339 strings, and `null` for what the
    /// snapshot does not know (docs/inventory-json.md).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        self.columns
                            .iter()
                            .zip(r)
                            .map(|(k, v)| (k.to_string(), typed(column_type(k), v)))
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    /// The versioned JSON document of `ppgov inventory <view> --format json`:
    /// `{"schema_version", "view", "rows"}` (docs/inventory-json.md).
    pub fn to_json_document(&self, view: &str) -> serde_json::Value {
        serde_json::json!({
            "schema_version": INVENTORY_JSON_VERSION,
            "view": view,
            "rows": self.to_json(),
        })
    }

    /// CSV (header row, RFC 4180 quoting, CRLF), plain UTF-8.
    pub fn to_csv(&self) -> Result<Vec<u8>, ReportError> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(&self.columns)?;
        for r in &self.rows {
            w.write_record(r)?;
        }
        w.into_inner().map_err(|e| ReportError::Io(e.into_error()))
    }

    fn sorted(mut self) -> Table {
        self.rows.sort();
        self
    }
}

/// Version of the inventory JSON contract (docs/inventory-json.md).
pub const INVENTORY_JSON_VERSION: &str = "1.0";

/// The JSON type of an inventory column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A string; `null` when empty (not known).
    Text,
    /// `true` / `false`.
    Bool,
    /// A non-negative integer; `null` when not collected.
    Count,
    /// An RFC 3339 UTC time; `null` when not known.
    Time,
    /// An array of strings (`;`-separated in text and CSV).
    List,
}

/// The JSON type of a column, by its name (one vocabulary across the views).
pub fn column_type(column: &str) -> ColumnType {
    match column {
        "default"
        | "managed"
        | "dataverse"
        | "dataverse_provisioning"
        | "bypass_consent"
        | "service_principal"
        | "disabled_in_environment"
        | "guest"
        | "in_managed_solution" => ColumnType::Bool,
        "shared_users" | "shared_groups" | "runs_30d" | "failed_30d" | "runs_90d"
        | "failed_90d" | "flows_using" => ColumnType::Count,
        "created_time" | "last_modified_time" | "last_run" | "created" | "last_used" => {
            ColumnType::Time
        }
        "connectors" | "connection_status" => ColumnType::List,
        _ => ColumnType::Text,
    }
}

/// A cell as the JSON value of its column type. Cells are written by the views from typed
/// data, so the parse cannot fail on their own output; anything unreadable becomes `null`
/// rather than a wrong value.
fn typed(t: ColumnType, v: &str) -> serde_json::Value {
    use serde_json::Value;
    if v.is_empty() {
        return match t {
            ColumnType::List => Value::Array(vec![]),
            _ => Value::Null,
        };
    }
    match t {
        ColumnType::Text | ColumnType::Time => Value::String(v.to_string()),
        ColumnType::Bool => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Null,
        },
        ColumnType::Count => v
            .parse::<u64>()
            .map(|n| Value::Number(n.into()))
            .unwrap_or(Value::Null),
        ColumnType::List => Value::Array(
            v.split(';')
                .filter(|x| !x.is_empty())
                .map(|x| Value::String(x.to_string()))
                .collect(),
        ),
    }
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::text::time_text).unwrap_or_default()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// True when `env` is unset or names this environment (by id or display name, any case).
fn in_env(s: &Snapshot, env: Option<&str>, environment_id: &str) -> bool {
    match env {
        None => true,
        Some(want) => {
            environment_id.eq_ignore_ascii_case(want)
                || s.environment(environment_id)
                    .is_some_and(|e| e.display_name.eq_ignore_ascii_case(want))
        }
    }
}

fn env_name(s: &Snapshot, id: &str) -> String {
    s.environment(id)
        .map(|e| e.display_name.clone())
        .unwrap_or_default()
}

fn snake<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Environments (optionally only one), sorted.
pub fn environments(s: &Snapshot, env: Option<&str>) -> Table {
    let mut t = Table {
        columns: vec![
            "environment_id",
            "display_name",
            "sku",
            "default",
            "managed",
            "dataverse",
            "dataverse_provisioning",
            "security_group",
            "region",
            "state",
            "created_time",
        ],
        rows: vec![],
    };
    for e in s.environments.iter().filter(|e| in_env(s, env, &e.id)) {
        t.rows.push(vec![
            e.id.clone(),
            e.display_name.clone(),
            e.sku.clone(),
            e.is_default.to_string(),
            e.managed.to_string(),
            e.has_dataverse.to_string(),
            e.dataverse_provisioning().to_string(),
            if e.has_security_group() {
                opt(e.security_group_id.as_deref())
            } else {
                String::new()
            },
            opt(e.azure_region.as_deref().or(Some(e.location.as_str()))),
            opt(e.runtime_state.as_deref()),
            time(e.created_time),
        ]);
    }
    t.sorted()
}

/// Apps, sorted by environment then name.
pub fn apps(s: &Snapshot, env: Option<&str>) -> Table {
    let mut t = Table {
        columns: vec![
            "environment_id",
            "environment",
            "display_name",
            "app_id",
            "owner_id",
            "owner_email",
            "connectors",
            "shared_users",
            "shared_groups",
            "bypass_consent",
            "created_time",
            "last_modified_time",
        ],
        rows: vec![],
    };
    for a in s.apps.iter().filter(|a| in_env(s, env, &a.environment_id)) {
        t.rows.push(vec![
            a.environment_id.clone(),
            env_name(s, &a.environment_id),
            a.display_name.clone(),
            a.id.clone(),
            opt(a.owner.as_ref().map(|o| o.id.as_str())),
            opt(a.owner.as_ref().and_then(|o| o.email.as_deref())),
            a.connectors
                .iter()
                .map(|c| c.key.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(";"),
            opt(a.shared_users_count),
            opt(a.shared_groups_count),
            a.bypass_consent.to_string(),
            time(a.created_time),
            time(a.last_modified_time),
        ]);
    }
    t.sorted()
}

/// Who a principal reference is, resolved through the snapshot's principals where possible:
/// (display name, e-mail or UPN, status word).
fn who(
    s: &Snapshot,
    id: Option<&str>,
    recorded_name: Option<&str>,
    recorded_mail: Option<&str>,
) -> (String, String, &'static str) {
    let Some(id) = id else {
        return (String::new(), String::new(), "");
    };
    let p = s.principal(id);
    let name = p
        .and_then(|p| p.display_name.clone())
        .or_else(|| recorded_name.map(str::to_string))
        .unwrap_or_else(|| id.to_string());
    let mail = p
        .and_then(|p| p.upn.clone().or_else(|| p.mail.clone()))
        .or_else(|| recorded_mail.map(str::to_string))
        .unwrap_or_default();
    let status = match p.map(|p| p.status) {
        Some(PrincipalStatus::Active) => "active",
        Some(PrincipalStatus::Disabled) => "disabled",
        Some(PrincipalStatus::Deleted) => "deleted",
        Some(PrincipalStatus::Unresolved) | None => "unresolved",
    };
    (name, mail, status)
}

/// Flows with owner, state, connectors, last run, run and failure counts (seed 002's quarterly
/// flow review), sorted.
pub fn flows(s: &Snapshot, env: Option<&str>) -> Table {
    let mut t = Table {
        columns: vec![
            "environment_id",
            "environment",
            "display_name",
            "flow_id",
            "owner",
            "owner_email",
            "owner_status",
            "state",
            "trigger_type",
            "connectors",
            "last_run",
            "runs_30d",
            "failed_30d",
            "runs_90d",
            "failed_90d",
            "created_time",
            "last_modified_time",
        ],
        rows: vec![],
    };
    for f in s.flows.iter().filter(|f| in_env(s, env, &f.environment_id)) {
        let runs = f.runs.as_ref();
        let (owner, mail, status) = who(s, f.creator.as_deref(), None, None);
        t.rows.push(vec![
            f.environment_id.clone(),
            env_name(s, &f.environment_id),
            f.display_name.clone(),
            f.id.clone(),
            owner,
            mail,
            status.to_string(),
            f.state.clone(),
            opt(f.trigger_type.as_deref()),
            f.connectors
                .iter()
                .map(|c| c.key.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(";"),
            time(runs.and_then(|r| r.last_run)),
            opt(runs.map(|r| r.runs_30d)),
            opt(runs.map(|r| r.failed_30d)),
            opt(runs.map(|r| r.runs_90d)),
            opt(runs.map(|r| r.failed_90d)),
            time(f.created_time),
            time(f.last_modified_time),
        ]);
    }
    t.sorted()
}

/// Connections with connector, owner, owner e-mail, created, last used, Active or Orphaned, and
/// how many flows use each (seed 002's connection audit), sorted.
pub fn connections(s: &Snapshot, env: Option<&str>) -> Table {
    let mut usage: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for f in &s.flows {
        for c in &f.connectors {
            if let Some(name) = &c.connection_name {
                *usage
                    .entry((
                        f.environment_id.to_ascii_lowercase(),
                        name.to_ascii_lowercase(),
                    ))
                    .or_default() += 1;
            }
        }
    }
    let mut t = Table {
        columns: vec![
            "environment_id",
            "environment",
            "connection_id",
            "connection_name",
            "connector",
            "owner",
            "owner_email",
            "created",
            "last_used",
            "status",
            "connection_status",
            "service_principal",
            "flows_using",
        ],
        rows: vec![],
    };
    for c in s
        .connections
        .iter()
        .filter(|c| in_env(s, env, &c.environment_id))
    {
        let creator = c.created_by.as_ref();
        let (owner, mail, status) = who(
            s,
            creator.map(|p| p.id.as_str()),
            creator.and_then(|p| p.display_name.as_deref()),
            creator.and_then(|p| p.email.as_deref()),
        );
        let orphaned = creator.is_none() || matches!(status, "deleted" | "disabled");
        t.rows.push(vec![
            c.environment_id.clone(),
            env_name(s, &c.environment_id),
            c.id.clone(),
            c.display_name.clone(),
            c.connector.clone(),
            owner,
            mail,
            time(c.created_time),
            time(c.last_connected_time.or(c.last_modified_time)),
            if orphaned { "Orphaned" } else { "Active" }.to_string(),
            c.statuses.join(";"),
            c.service_principal.to_string(),
            usage
                .get(&(
                    c.environment_id.to_ascii_lowercase(),
                    c.id.to_ascii_lowercase(),
                ))
                .copied()
                .unwrap_or(0)
                .to_string(),
        ]);
    }
    t.sorted()
}

/// Admin role assignments with the holder's status as Graph reported it, sorted. A holder
/// through a Microsoft Entra group team names the group (`via_group`, `via_group_name`).
pub fn roles(s: &Snapshot, env: Option<&str>) -> Table {
    let mut t = Table {
        columns: vec![
            "environment_id",
            "environment",
            "role",
            "principal_id",
            "principal_type",
            "principal_name",
            "principal_upn",
            "source",
            "principal_status",
            "disabled_in_environment",
            "via_group",
            "via_group_name",
        ],
        rows: vec![],
    };
    for r in s
        .role_assignments
        .iter()
        .filter(|r| in_env(s, env, &r.environment_id))
    {
        let status = s
            .principal(&r.principal_id)
            .map_or(PrincipalStatus::Unresolved, |p| p.status);
        t.rows.push(vec![
            r.environment_id.clone(),
            env_name(s, &r.environment_id),
            r.role.clone(),
            r.principal_id.clone(),
            r.principal_type.clone(),
            opt(r.principal_name.as_deref()),
            opt(r.principal_upn.as_deref()),
            match r.source {
                RoleSource::Bap => "bap".to_string(),
                RoleSource::Dataverse => "dataverse".to_string(),
            },
            snake(status),
            r.disabled_in_environment.to_string(),
            opt(r.via_group.as_deref()),
            r.via_group
                .as_deref()
                .and_then(|g| s.principal(g))
                .and_then(|p| p.display_name.clone())
                .unwrap_or_default(),
        ]);
    }
    t.sorted()
}

/// Principals seen in the snapshot, sorted by id.
pub fn principals(s: &Snapshot) -> Table {
    let mut t = Table {
        columns: vec![
            "principal_id",
            "kind",
            "status",
            "guest",
            "display_name",
            "upn",
            "mail",
        ],
        rows: vec![],
    };
    for (id, p) in &s.principals {
        let kind: PrincipalKind = p.kind;
        t.rows.push(vec![
            id.clone(),
            snake(kind),
            snake(p.status),
            p.guest.to_string(),
            opt(p.display_name.as_deref()),
            opt(p.upn.as_deref()),
            opt(p.mail.as_deref()),
        ]);
    }
    t.sorted()
}
