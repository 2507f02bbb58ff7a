//! The shape of `ppgov.toml`: every known key and its type. Unknown keys and wrong types are
//! found by walking the parsed document against this, so all of them are reported at once
//! (serde's `deny_unknown_fields` stops at the first).

/// The type a key expects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A string.
    Str,
    /// An integer.
    Int,
    /// A list of strings.
    StrList,
    /// A boolean.
    Bool,
    /// A date: a TOML local date (`2026-12-31`) or the same as a string.
    Date,
    /// A table with these keys.
    Table(&'static [(&'static str, Kind)]),
    /// An array of tables with these keys.
    TableArray(&'static [(&'static str, Kind)]),
    /// A table of any keys whose values are strings, integers or booleans (tenant setting paths,
    /// Managed Environment settings), checked by its consumer.
    ScalarMap,
    /// A table checked in full by the crate that reads it (`[detections]`: ppgov-audit).
    Delegated,
}

impl Kind {
    /// How the expected type reads in a message.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Int => "an integer",
            Kind::StrList => "a list of strings",
            Kind::Bool => "true or false",
            Kind::Date => "a date (YYYY-MM-DD)",
            Kind::Table(_) => "a table",
            Kind::TableArray(_) => "an array of tables ([[...]])",
            Kind::ScalarMap => "a table of strings, integers or booleans",
            Kind::Delegated => "a table",
        }
    }
}

const TENANT: &[(&str, Kind)] = &[("id", Kind::Str), ("name", Kind::Str)];

const AUTH: &[(&str, Kind)] = &[
    ("method", Kind::Str),
    ("client_id", Kind::Str),
    ("client_secret", Kind::Str),
    ("certificate_path", Kind::Str),
    ("certificate_password", Kind::Str),
    ("assertion_alg", Kind::Str),
    ("username", Kind::Str),
    ("password", Kind::Str),
    ("token_cache", Kind::Str),
];

const ENDPOINTS: &[(&str, Kind)] = &[
    ("cloud", Kind::Str),
    ("login", Kind::Str),
    ("bap", Kind::Str),
    ("powerapps", Kind::Str),
    ("flow", Kind::Str),
    ("powerplatform", Kind::Str),
    ("graph", Kind::Str),
    ("management", Kind::Str),
    ("dataverse_domains", Kind::Str),
];

const STORE: &[(&str, Kind)] = &[("path", Kind::Str), ("url", Kind::Str)];

const MAX_AGE: &[(&str, Kind)] = &[
    ("definition", Kind::Str),
    ("permissions", Kind::Str),
    ("runs", Kind::Str),
    ("principal_state", Kind::Str),
    ("role_holders", Kind::Str),
];

const CRAWL: &[(&str, Kind)] = &[("max_age", Kind::Table(MAX_AGE))];

const PROD: &[(&str, Kind)] = &[
    ("ids", Kind::StrList),
    ("name_patterns", Kind::StrList),
    ("skus", Kind::StrList),
];

const THRESHOLDS: &[(&str, Kind)] = &[
    ("default_env_flow_runs_30d", Kind::Int),
    ("flow_inactive_days", Kind::Int),
    ("flow_failure_percent", Kind::Int),
    ("flow_failure_min_runs", Kind::Int),
    ("app_share_max_users", Kind::Int),
    ("app_inactive_days", Kind::Int),
    ("developer_env_max_share_users", Kind::Int),
];

const CONNECTORS: &[(&str, Kind)] = &[
    ("business_data", Kind::StrList),
    ("external", Kind::StrList),
    ("default_env_core", Kind::StrList),
];

const SUPPRESSION: &[(&str, Kind)] = &[
    ("rule_id", Kind::Str),
    ("resource", Kind::Str),
    ("justification", Kind::Str),
    ("expires", Kind::Date),
];

const POSTURE: &[(&str, Kind)] = &[
    ("prod", Kind::Table(PROD)),
    ("thresholds", Kind::Table(THRESHOLDS)),
    ("connectors", Kind::Table(CONNECTORS)),
    ("approved_makers_group", Kind::Str),
    ("break_glass_admins", Kind::StrList),
    ("authorised_sharers", Kind::StrList),
    ("allowed_http_hosts", Kind::StrList),
    ("suppressions", Kind::TableArray(SUPPRESSION)),
];

const REMEDIATION: &[(&str, Kind)] = &[
    ("allow_unsupported", Kind::Bool),
    ("require_approval", Kind::Bool),
    ("max_plan_age_hours", Kind::Int),
    ("security_group_id", Kind::Str),
    ("orphan_owner", Kind::Str),
    ("concurrency", Kind::Int),
    ("default_env_cleanup", Kind::Str),
    ("grace_period_hours", Kind::Int),
];

const NOTIFY_SMTP: &[(&str, Kind)] = &[
    ("host", Kind::Str),
    ("port", Kind::Int),
    ("starttls", Kind::Str),
    ("username", Kind::Str),
    ("password_env", Kind::Str),
    ("from", Kind::Str),
];

const NOTIFY_WEBHOOK: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("kind", Kind::Str),
    ("url_env", Kind::Str),
];

const NOTIFY: &[(&str, Kind)] = &[
    ("templates_dir", Kind::Str),
    ("it_recipients", Kind::StrList),
    ("smtp", Kind::Table(NOTIFY_SMTP)),
    ("webhooks", Kind::TableArray(NOTIFY_WEBHOOK)),
];

const DESIRED_MANAGED: &[(&str, Kind)] = &[
    ("environment", Kind::Str),
    ("protection_level", Kind::Str),
    ("settings", Kind::ScalarMap),
];

const DESIRED_DLP: &[(&str, Kind)] = &[
    ("display_name", Kind::Str),
    ("environment_type", Kind::Str),
    ("environments", Kind::StrList),
    ("default_group", Kind::Str),
    ("business", Kind::StrList),
    ("non_business", Kind::StrList),
    ("blocked", Kind::StrList),
    ("custom_connector_patterns", Kind::StrList),
];

const DESIRED: &[(&str, Kind)] = &[
    ("tenant_settings", Kind::ScalarMap),
    ("managed_environments", Kind::TableArray(DESIRED_MANAGED)),
    ("dlp_policies", Kind::TableArray(DESIRED_DLP)),
];

const SCHEDULE: &[(&str, Kind)] = &[
    ("crawl", Kind::Str),
    ("full_crawl", Kind::Str),
    ("audit", Kind::Str),
    ("due", Kind::Str),
    ("digest", Kind::Str),
];

const SERVE: &[(&str, Kind)] = &[
    ("listen", Kind::Str),
    ("workers", Kind::Int),
    ("lease_seconds", Kind::Int),
    ("api_tokens_env", Kind::Str),
];

const CONSOLE_GRANT: &[(&str, Kind)] = &[
    ("role", Kind::Str),
    ("groups", Kind::StrList),
    ("tenants", Kind::StrList),
];

const CONSOLE: &[(&str, Kind)] = &[
    ("public_url", Kind::Str),
    ("client_id", Kind::Str),
    ("client_secret_env", Kind::Str),
    ("tenant", Kind::Str),
    ("session_minutes", Kind::Int),
    ("request_sla_hours", Kind::Int),
    ("reviewers", Kind::StrList),
    ("approvers", Kind::StrList),
    ("admins", Kind::StrList),
    ("grants", Kind::TableArray(CONSOLE_GRANT)),
];

const TENANTS: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("name", Kind::Str),
    ("store", Kind::Str),
    ("auth", Kind::Table(AUTH)),
    ("endpoints", Kind::Table(ENDPOINTS)),
];

/// The whole document.
pub(crate) const ROOT: &[(&str, Kind)] = &[
    ("tenant", Kind::Table(TENANT)),
    ("tenants", Kind::TableArray(TENANTS)),
    ("auth", Kind::Table(AUTH)),
    ("endpoints", Kind::Table(ENDPOINTS)),
    ("store", Kind::Table(STORE)),
    ("crawl", Kind::Table(CRAWL)),
    ("schedule", Kind::Table(SCHEDULE)),
    ("serve", Kind::Table(SERVE)),
    ("console", Kind::Table(CONSOLE)),
    ("posture", Kind::Table(POSTURE)),
    ("remediation", Kind::Table(REMEDIATION)),
    ("notify", Kind::Table(NOTIFY)),
    ("desired", Kind::Table(DESIRED)),
    ("detections", Kind::Delegated),
];

/// Every dotted scalar key outside `[posture]` (the keys environment and flags may set).
pub(crate) fn scalar_keys() -> Vec<String> {
    let mut out = Vec::new();
    for (section, kind) in ROOT {
        if let (Kind::Table(keys), false) = (
            kind,
            matches!(
                *section,
                "posture" | "remediation" | "notify" | "desired" | "detections" | "console"
            ),
        ) {
            for (k, kind) in *keys {
                match kind {
                    // One level of nesting (`crawl.max_age.runs`).
                    Kind::Table(inner) => {
                        for (i, _) in *inner {
                            out.push(format!("{section}.{k}.{i}"));
                        }
                    }
                    _ => out.push(format!("{section}.{k}")),
                }
            }
        }
    }
    out
}

/// The known key closest to `unknown` (edit distance at most 3), for "did you mean".
pub(crate) fn closest<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (distance(unknown, k), k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, k)| (*d, *k))
        .map(|(_, k)| k)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
