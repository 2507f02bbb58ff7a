//! Generator tests, including an independent evaluation of `docs/rule-semantics.md` over the generated
//! tenant: it must find exactly the planted ground truth (so the background is clean).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

use super::*;
use crate::tenant::{EnvContent, FlowRecord, RunPlan};

fn cfg(seed: u64, size: Size) -> ScenarioConfig {
    ScenarioConfig {
        seed,
        size,
        base_url: "http://127.0.0.1:4000".into(),
        now: Utc
            .with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
            .single()
            .unwrap(),
    }
}

fn all_content(t: &Tenant) -> Vec<EnvContent> {
    (0..t.environments.len())
        .map(|i| t.env_content(i))
        .collect()
}

// ---- an independent reading of docs/rule-semantics.md ----

const BUSINESS_DATA: [&str; 4] = [
    "shared_sharepointonline",
    "shared_commondataserviceforapps",
    "shared_commondataservice",
    "shared_sql",
];
const EXTERNAL: [&str; 4] = ["shared_gmail", "shared_dropbox", "shared_twitter", "http"];
const CORE: [&str; 14] = [
    "shared_office365",
    "shared_office365users",
    "shared_sharepointonline",
    "shared_teams",
    "shared_onedriveforbusiness",
    "shared_excelonlinebusiness",
    "shared_planner",
    "shared_approvals",
    "shared_microsoftforms",
    "shared_commondataserviceforapps",
    "shared_todo",
    "shared_powerbi",
    "shared_office365groups",
    "shared_flowpush",
];

fn key_of(api: &str) -> String {
    api.rsplit('/').next().unwrap_or("").to_lowercase()
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn time(v: &Value, p: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s(v, p))
        .map(|d| d.with_timezone(&Utc))
        .unwrap()
}

struct Dlp<'a> {
    policies: Vec<&'a Value>,
    unblockable: BTreeSet<String>,
}

impl Dlp<'_> {
    fn group(p: &Value, c: &str) -> String {
        for g in p
            .pointer("/policyDefinition/connectorGroups")
            .and_then(Value::as_array)
            .unwrap()
        {
            for con in g["connectors"].as_array().unwrap() {
                if key_of(con["id"].as_str().unwrap()) == c {
                    return g["classification"].as_str().unwrap().to_string();
                }
            }
        }
        s(p, "/policyDefinition/defaultConnectorsClassification").to_string()
    }
    fn blocked(&self, c: &str) -> bool {
        !self.unblockable.contains(c)
            && self.policies.iter().any(|p| Self::group(p, c) == "Blocked")
    }
    fn action_blocked(&self, c: &str, op: &str) -> bool {
        self.policies.iter().any(|p| {
            p.pointer("/connectorConfigurationsDefinition/connectorActionConfigurations")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .any(|cfg| {
                    key_of(cfg["connectorId"].as_str().unwrap()) == c && {
                        let rules = cfg["actionRules"].as_array().unwrap();
                        match rules.iter().find(|r| r["actionId"] == op) {
                            Some(r) => r["behavior"] == "Block",
                            None => cfg["defaultConnectorActionRuleBehavior"] == "Block",
                        }
                    }
                })
        })
    }
    fn endpoint_denied(&self, uri: &str) -> bool {
        let host = uri
            .split("://")
            .nth(1)
            .unwrap_or(uri)
            .split('/')
            .next()
            .unwrap_or("")
            .to_lowercase();
        self.policies.iter().any(|p| {
            let cfgs = p
                .pointer("/connectorConfigurationsDefinition/endpointConfigurations")
                .and_then(Value::as_array)
                .unwrap();
            cfgs.iter()
                .filter(|c| key_of(c["connectorId"].as_str().unwrap()) == "http")
                .any(|c| {
                    let mut rules: Vec<&Value> =
                        c["endpointRules"].as_array().unwrap().iter().collect();
                    rules.sort_by_key(|r| r["order"].as_i64());
                    rules
                        .iter()
                        .find(|r| {
                            let pat = r["endPoint"].as_str().unwrap().to_lowercase();
                            if pat.contains("://") {
                                glob(&pat, &uri.to_lowercase())
                            } else {
                                glob(&pat, &host)
                            }
                        })
                        .is_some_and(|r| r["behavior"] == "Deny")
                })
        })
    }
}

fn glob(p: &str, t: &str) -> bool {
    match p.split_once('*') {
        None => p == t,
        Some((pre, rest)) => {
            if !t.starts_with(pre) {
                return false;
            }
            let t = &t[pre.len()..];
            (0..=t.len()).any(|i| t.is_char_boundary(i) && glob(rest, &t[i..]))
        }
    }
}

fn applies(p: &Value, env: &str) -> bool {
    let names: Vec<String> = p
        .pointer("/policyDefinition/environments")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_lowercase())
        .collect();
    match s(p, "/policyDefinition/environmentType") {
        "AllEnvironments" => true,
        "OnlyEnvironments" => names.contains(&env.to_lowercase()),
        _ => !names.contains(&env.to_lowercase()),
    }
}

fn walk_ops<'a>(m: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(obj) = m.as_object() {
        for a in obj.values() {
            out.push(a);
            walk_ops(&a["actions"], out);
            walk_ops(&a["else"]["actions"], out);
        }
    }
}

fn flow_connectors(f: &FlowRecord) -> (BTreeSet<String>, Vec<&Value>) {
    let mut cs: BTreeSet<String> = f.doc["properties"]["connectionReferences"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| key_of(r["id"].as_str().unwrap()))
        .collect();
    let mut ops = Vec::new();
    walk_ops(&f.definition["actions"], &mut ops);
    for a in &ops {
        if a["type"] == "Http" {
            cs.insert("http".into());
        }
    }
    for t in f.definition["triggers"].as_object().unwrap().values() {
        // Only the HTTP kind is the "When an HTTP request is received" connector.
        if t["type"] == "Request" && t.get("kind").is_none_or(|k| k == "Http") {
            cs.insert("httprequestreceived".into());
        }
        ops.push(t);
    }
    (cs, ops)
}

fn runs_since(r: &RunPlan, since: DateTime<Utc>) -> (u32, u32) {
    let (mut n, mut f) = (0, 0);
    let mut i = 0;
    while let Some((at, failed)) = r.run(i) {
        if at >= since {
            n += 1;
            f += u32::from(failed);
        }
        i += 1;
    }
    (n, f)
}

fn has_secret(v: &Value, key: &str) -> bool {
    match v {
        Value::String(x) => {
            if x.starts_with('@') {
                return false;
            }
            let k = key.to_lowercase();
            x.contains("Bearer eyJ")
                || x.contains("-----BEGIN PRIVATE KEY")
                || x.contains("AccountKey=")
                || x.contains("Password=")
                || ((k.contains("password") || k.contains("api-key")) && !x.is_empty())
        }
        Value::Object(m) => m.iter().any(|(k, v)| has_secret(v, k)),
        Value::Array(a) => a.iter().any(|v| has_secret(v, key)),
        _ => false,
    }
}

fn evaluate(t: &Tenant, contents: &[EnvContent]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut add = |r: &str, id: &str| {
        out.insert((r.to_string(), id.to_string()));
    };
    let users: BTreeMap<&str, &crate::tenant::User> = t
        .directory
        .users
        .iter()
        .map(|u| (u.id.as_str(), u))
        .collect();
    let gone = |id: &str| users.get(id).is_none_or(|u| u.deleted || !u.enabled);
    // A principal is a user when the payload says so or, typeless, when the directory has it as
    // one (what Graph would say).
    let is_user = |p: &Value| match p.get("type").and_then(Value::as_str) {
        Some(t) => t == "User",
        None => p
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| users.contains_key(id)),
    };
    let ts = &t.tenant_settings;
    let b = |p: &str| ts.pointer(p).and_then(Value::as_bool);
    let tid = t.tenant_id.as_str();
    if b("/disableEnvironmentCreationByNonAdminUsers") != Some(true) {
        add("PPG-TEN-001", tid);
    }
    if b("/disableTrialEnvironmentCreationByNonAdminUsers") != Some(true) {
        add("PPG-TEN-002", tid);
    }
    if t.tenant_isolation
        .as_ref()
        .is_none_or(|i| i["properties"]["isDisabled"] == true)
    {
        add("PPG-TEN-003", tid);
    }
    if b("/disablePortalsCreationByNonAdminUsers") != Some(true) {
        add("PPG-TEN-004", tid);
    }
    if b("/powerPlatform/powerApps/disableShareWithEveryone") != Some(true) {
        add("PPG-TEN-005", tid);
    }
    if b("/powerPlatform/powerApps/enableGuestsToMake") == Some(true) {
        add("PPG-TEN-006", tid);
    }
    if !t.dlp_policies.is_empty()
        && t.dlp_policies
            .iter()
            .all(|p| s(p, "/policyDefinition/environmentType") == "AllEnvironments")
    {
        add("PPG-TEN-007", tid);
    }
    let routing = b("/powerPlatform/governance/enableDefaultEnvironmentRouting") == Some(true);
    if !routing {
        add("PPG-RTE-001", tid);
    }
    if routing
        && b("/powerPlatform/governance/disableDeveloperEnvironmentCreationByNonAdminUsers")
            == Some(true)
    {
        add("PPG-RTE-002", tid);
    }
    let unblockable: BTreeSet<String> = t
        .unblockable_connectors
        .as_array()
        .unwrap()
        .iter()
        .map(|u| key_of(u["id"].as_str().unwrap()))
        .collect();

    // Owners anywhere (for ADM-002).
    let mut owners: BTreeSet<String> = BTreeSet::new();
    for c in contents {
        for a in &c.apps {
            owners.insert(s(&a.doc, "/properties/owner/id").to_string());
        }
        for f in &c.flows {
            owners.insert(s(&f.doc, "/properties/creator/objectId").to_string());
            for p in &f.permissions {
                if p["properties"]["roleName"] == "Owner" {
                    owners.insert(s(p, "/properties/principal/id").to_string());
                }
            }
        }
    }
    let now = t.now;
    for (e, c) in t.environments.iter().zip(contents) {
        let name = e.name.as_str();
        let props = &e.doc["properties"];
        let sku = s(props, "/environmentSku");
        let prod = sku == "Production";
        let is_default = props["isDefault"] == true;
        let managed = s(props, "/governanceConfiguration/protectionLevel") == "Standard";
        let sg = props
            .pointer("/linkedEnvironmentMetadata/securityGroupId")
            .and_then(Value::as_str)
            .unwrap_or("");
        let no_sg = sg.is_empty() || sg == "00000000-0000-0000-0000-000000000000";
        let dv = !props["linkedEnvironmentMetadata"].is_null();
        let org = c.dataverse.as_ref().map(|d| &d.organization);
        let dlp = Dlp {
            policies: t.dlp_policies.iter().filter(|p| applies(p, name)).collect(),
            unblockable: unblockable.clone(),
        };
        if is_default {
            if no_sg {
                add("PPG-DEF-001", name);
            }
            if org.is_some_and(|o| {
                o["enablecanvasappsinsolutionsbydefault"] == false
                    || o["enableflowsinsolutionbydefault"] == false
            }) {
                add("PPG-DEF-002", name);
            }
            if dlp.policies.is_empty() {
                add("PPG-DEF-003", name);
            }
            let mut listed: BTreeSet<String> = BTreeSet::new();
            for p in &dlp.policies {
                for g in p["policyDefinition"]["connectorGroups"].as_array().unwrap() {
                    for con in g["connectors"].as_array().unwrap() {
                        listed.insert(key_of(con["id"].as_str().unwrap()));
                    }
                }
            }
            let leak = listed.iter().any(|c| {
                !dlp.blocked(c) && !unblockable.contains(c) && !CORE.contains(&c.as_str())
            }) || !dlp
                .policies
                .iter()
                .any(|p| s(p, "/policyDefinition/defaultConnectorsClassification") == "Blocked");
            if leak {
                add("PPG-DEF-004", name);
            }
        } else if dlp.policies.is_empty() {
            add("PPG-ENV-001", name);
        }
        if sku == "Developer" {
            let ext = &props["governanceConfiguration"]["settings"]["extendedSettings"];
            if !managed {
                add("PPG-RTE-003", name);
            } else {
                let max = ext["maxLimitUserSharing"].as_str();
                let weak = ext["isGroupSharingDisabled"].as_str() != Some("true")
                    || max.is_none_or(|m| m == "-1" || m.parse::<i64>().is_ok_and(|n| n > 5))
                    || ext["solutionCheckerMode"]
                        .as_str()
                        .is_none_or(|m| m == "none")
                    || ext["excludeEnvironmentFromAnalysis"].as_str() == Some("true");
                if weak {
                    add("PPG-RTE-004", name);
                }
            }
        }
        if prod {
            if dv && no_sg {
                add("PPG-ENV-002", name);
            }
            if !managed {
                add("PPG-ENV-003", name);
            }
            if org.is_some_and(|o| o["isauditenabled"] == false) {
                add("PPG-ENV-004", name);
            }
            let deny = dlp.policies.iter().any(|p| {
                p.pointer("/connectorConfigurationsDefinition/endpointConfigurations")
                    .and_then(Value::as_array)
                    .unwrap()
                    .iter()
                    .any(|c| {
                        key_of(c["connectorId"].as_str().unwrap()) == "http"
                            && c["endpointRules"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|r| r["behavior"] == "Deny")
                    })
            });
            let custom = dlp.policies.iter().any(|p| {
                p.pointer("/customConnectorUrlPatternsDefinition/rules")
                    .and_then(Value::as_array)
                    .unwrap()
                    .iter()
                    .any(|r| r["customConnectorRuleClassification"] == "Blocked")
            });
            if (!dlp.blocked("http") && !deny) || !custom {
                add("PPG-DLP-003", name);
            }
        }
        let verdict =
            |cs: &BTreeSet<String>, ops: &[&Value], id: &str, add: &mut dyn FnMut(&str, &str)| {
                let blocked = cs.iter().any(|c| dlp.blocked(c))
                    || ops.iter().any(|o| {
                        o["type"] == "OpenApiConnection"
                            && dlp.action_blocked(
                                &key_of(s(o, "/inputs/host/apiId")),
                                s(o, "/inputs/host/operationId"),
                            )
                    })
                    || ops
                        .iter()
                        .any(|o| o["type"] == "Http" && dlp.endpoint_denied(s(o, "/inputs/uri")));
                if blocked {
                    add("PPG-DLP-001", id);
                }
                let mixed = dlp.policies.iter().any(|p| {
                    let live: Vec<String> = cs
                        .iter()
                        .filter(|c| !dlp.blocked(c))
                        .map(|c| Dlp::group(p, c))
                        .collect();
                    live.iter().any(|g| g == "Confidential") && live.iter().any(|g| g == "General")
                });
                if mixed {
                    add("PPG-DLP-002", id);
                }
            };
        let conns: BTreeMap<&str, &Value> = c
            .connections
            .iter()
            .map(|x| (x.doc["name"].as_str().unwrap(), &x.doc))
            .collect();
        for f in &c.flows {
            let id = f.doc["name"].as_str().unwrap();
            let (cs, ops) = flow_connectors(f);
            verdict(&cs, &ops, id, &mut add);
            if cs.iter().any(|c| BUSINESS_DATA.contains(&c.as_str()))
                && cs.iter().any(|c| EXTERNAL.contains(&c.as_str()))
            {
                add("PPG-FLW-001", id);
            }
            let creator = s(&f.doc, "/properties/creator/objectId");
            let owner_entries: Vec<&Value> = f
                .permissions
                .iter()
                // Co-owners hold CanEdit (Flow API F5).
                .filter(|p| {
                    matches!(
                        p["properties"]["roleName"].as_str(),
                        Some("Owner" | "CanEdit")
                    )
                })
                .collect();
            if gone(creator)
                && !owner_entries.iter().any(|p| {
                    is_user(&p["properties"]["principal"])
                        && !gone(s(p, "/properties/principal/id"))
                })
            {
                add("PPG-FLW-002", id);
            }
            if prod && owner_entries.len() == 1 {
                add("PPG-FLW-003", id);
            }
            let (n90, _) = runs_since(&f.runs, now - Duration::days(90));
            // A stopped flow has had FLW-004's remediation (turned off): it is not counted.
            if n90 == 0
                && time(&f.doc, "/properties/createdTime") < now - Duration::days(90)
                && s(&f.doc, "/properties/state") != "Stopped"
            {
                add("PPG-FLW-004", id);
            }
            let (n30, f30) = runs_since(&f.runs, now - Duration::days(30));
            if n30 >= 10 && f30 * 2 > n30 {
                add("PPG-FLW-005", id);
            }
            if has_secret(&f.definition, "") {
                add("PPG-FLW-006", id);
            }
            if ops.iter().any(|o| o["type"] == "Http") {
                add("PPG-FLW-007", id);
            }
            if prod {
                let personal = f.doc["properties"]["connectionReferences"]
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|r| {
                        conns
                            .get(r["connectionName"].as_str().unwrap())
                            .is_some_and(|c| {
                                let p = &c["properties"];
                                !(s(p, "/connectionParametersSet/name")
                                    .eq_ignore_ascii_case("servicePrincipal")
                                    || s(p, "/connectionParameters/token:grantType")
                                        == "client_credentials"
                                    || s(p, "/createdBy/type") == "ServicePrincipal")
                            })
                    });
                if personal {
                    add("PPG-FLW-008", id);
                }
            }
            if is_default && n30 > 1000 {
                add("PPG-DEF-005", id);
            }
        }
        for a in &c.apps {
            let id = a.doc["name"].as_str().unwrap();
            let p = &a.doc["properties"];
            let cs: BTreeSet<String> = p["connectionReferences"]
                .as_object()
                .unwrap()
                .values()
                .map(|r| key_of(r["id"].as_str().unwrap()))
                .collect();
            verdict(&cs, &[], id, &mut add);
            if a.permissions
                .iter()
                .any(|x| matches!(s(x, "/properties/principal/type"), "Tenant" | "Group"))
                || p["sharedUsersCount"].as_u64().unwrap() > 20
                || p["sharedGroupsCount"].as_u64().unwrap() > 0
            {
                add("PPG-APP-001", id);
            }
            if gone(s(p, "/owner/id")) {
                add("PPG-APP-002", id);
            }
            if time(&a.doc, "/properties/lastModifiedTime") < now - Duration::days(180) {
                add("PPG-APP-003", id);
            }
            if p["bypassConsent"] == true
                || p["connectionReferences"]
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|r| r["bypassConsent"] == true)
            {
                add("PPG-APP-004", id);
            }
        }
        for x in &c.connections {
            let id = x.doc["name"].as_str().unwrap();
            let p = &x.doc["properties"];
            if gone(s(p, "/createdBy/id")) {
                add("PPG-CON-001", id);
            }
            let bad = p["statuses"].as_array().unwrap().iter().any(|st| {
                st["status"] == "Error"
                    || st["status"] == "Expired"
                    || st["status"] == "Unauthenticated"
                    || st.pointer("/error/code").is_some()
            });
            if bad {
                add("PPG-CON-002", id);
            }
            if prod && EXTERNAL.contains(&key_of(s(p, "/apiId")).as_str()) {
                add("PPG-CON-003", id);
            }
        }
        let mut holders: Vec<(String, bool)> = Vec::new(); // (oid, sysadmin)
        if let Some(d) = &c.dataverse {
            let sa: BTreeSet<&str> = d
                .roles
                .iter()
                .filter(|r| r["_roletemplateid_value"] == wellknown::SYSTEM_ADMIN_TEMPLATE_ID)
                .map(|r| r["roleid"].as_str().unwrap())
                .collect();
            for u in &d.system_users {
                let uid = u["systemuserid"].as_str().unwrap();
                if !u["applicationid"].is_null() {
                    continue;
                }
                if d.user_roles
                    .iter()
                    .any(|(x, r)| x == uid && sa.contains(r.as_str()))
                {
                    holders.push((
                        u["azureactivedirectoryobjectid"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                        true,
                    ));
                }
            }
            // Microsoft Entra group teams holding a System Administrator copy: every transitive
            // member of the group that is a user Graph still has.
            for team in &d.teams {
                let tid = team["teamid"].as_str().unwrap();
                if !matches!(team["teamtype"].as_i64(), Some(2 | 3))
                    || !d
                        .team_roles
                        .iter()
                        .any(|(x, r)| x == tid && sa.contains(r.as_str()))
                {
                    continue;
                }
                let mut queue = vec![
                    team["azureactivedirectoryobjectid"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                ];
                let mut seen = BTreeSet::new();
                while let Some(id) = queue.pop() {
                    if !seen.insert(id.clone()) {
                        continue;
                    }
                    if let Some(g) = t.directory.groups.iter().find(|g| g.id == id) {
                        queue.extend(g.members.iter().cloned());
                    } else if users.get(id.as_str()).is_some_and(|u| !u.deleted) {
                        holders.push((id, true));
                    }
                }
            }
        }
        for ra in &c.role_assignments {
            if s(ra, "/properties/roleDefinition/name") == "EnvironmentAdmin"
                && is_user(&ra["properties"]["principal"])
            {
                holders.push((s(ra, "/properties/principal/id").to_string(), false));
            }
        }
        for (oid, sysadmin) in holders {
            let rid = format!("{name}/{oid}");
            if sysadmin {
                add("PPG-ADM-001", &rid);
            }
            if sysadmin && prod && owners.contains(&oid) {
                add("PPG-ADM-002", &rid);
            }
            if gone(&oid) {
                add("PPG-ADM-003", &rid);
            }
            if users.get(oid.as_str()).is_some_and(|u| u.guest) {
                add("PPG-ADM-004", &rid);
            }
        }
    }
    out
}

fn truth(t: &Tenant) -> BTreeSet<(String, String)> {
    t.ground_truth
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.resource_id.clone()))
        .collect()
}

fn assert_matches(t: &Tenant, contents: &[EnvContent]) {
    let found = evaluate(t, contents);
    let expected = truth(t);
    let missing: Vec<_> = expected.difference(&found).collect();
    let extra: Vec<_> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "seed {} {:?}: missing {missing:?}\nextra {extra:?}",
        t.seed,
        t.size
    );
}

const ENV_LEVEL_ANY_LAYOUT: [&str; 31] = [
    "PPG-ENV-002",
    "PPG-ENV-003",
    "PPG-ENV-004",
    "PPG-RTE-003",
    "PPG-RTE-004",
    "PPG-DEF-004",
    "PPG-DEF-005",
    "PPG-DLP-001",
    "PPG-DLP-002",
    "PPG-DLP-003",
    "PPG-FLW-001",
    "PPG-FLW-002",
    "PPG-FLW-003",
    "PPG-FLW-004",
    "PPG-FLW-005",
    "PPG-FLW-006",
    "PPG-FLW-007",
    "PPG-FLW-008",
    "PPG-APP-001",
    "PPG-APP-002",
    "PPG-APP-003",
    "PPG-APP-004",
    "PPG-CON-001",
    "PPG-CON-002",
    "PPG-CON-003",
    "PPG-ADM-001",
    "PPG-ADM-002",
    "PPG-ADM-003",
    "PPG-ADM-004",
    "PPG-DEF-005",
    "PPG-FLW-006",
];

#[test]
fn small_ground_truth_is_exactly_what_the_rules_find() {
    for seed in 1..=5 {
        let t = generate(&cfg(seed, Size::Small));
        assert_matches(&t, &all_content(&t));
    }
}

#[test]
fn the_plan_agrees_with_what_is_served_over_a_seed_sweep() {
    for seed in 1..=25 {
        let t = generate(&cfg(seed, Size::Small));
        assert_eq!(
            super::check_plan(&t),
            Vec::<String>::new(),
            "small seed {seed}"
        );
        assert_matches(&t, &all_content(&t));
    }
    for seed in [1, 2, 11, 90210] {
        let t = generate(&cfg(seed, Size::Medium));
        assert_eq!(
            super::check_plan(&t),
            Vec::<String>::new(),
            "medium seed {seed}"
        );
    }
    // Medium seed 90210 in full: its default environment keeps its security group.
    let t = generate(&cfg(90210, Size::Medium));
    assert_matches(&t, &all_content(&t));
}

#[test]
fn medium_ground_truth_is_exactly_what_the_rules_find() {
    let t = generate(&cfg(11, Size::Medium));
    let contents = all_content(&t);
    assert_matches(&t, &contents);
    let apps: usize = contents.iter().map(|c| c.apps.len()).sum();
    let flows: usize = contents.iter().map(|c| c.flows.len()).sum();
    let conns: usize = contents.iter().map(|c| c.connections.len()).sum();
    assert_eq!(t.environments.len(), 100);
    assert!((4_700..=5_400).contains(&apps), "{apps}");
    assert!((9_500..=10_600).contains(&flows), "{flows}");
    assert!((19_000..=21_500).contains(&conns), "{conns}");
    // Multiple plants per content rule in medium.
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &t.ground_truth.findings {
        *per_rule.entry(f.rule_id.as_str()).or_default() += 1;
    }
    for r in ENV_LEVEL_ANY_LAYOUT {
        assert!(
            per_rule.get(r).copied().unwrap_or(0) >= 2 || r == "PPG-DEF-004",
            "{r}: {per_rule:?}"
        );
    }
}

#[test]
fn every_rule_is_planted_across_seeds_and_content_rules_in_every_seed() {
    let mut union = BTreeSet::new();
    for seed in 1..=5 {
        let t = generate(&cfg(seed, Size::Small));
        let ids: BTreeSet<String> = t
            .ground_truth
            .findings
            .iter()
            .map(|f| f.rule_id.clone())
            .collect();
        for r in ENV_LEVEL_ANY_LAYOUT {
            if r != "PPG-DEF-004" {
                assert!(ids.contains(r), "seed {seed} lacks {r}");
            }
        }
        union.extend(ids);
    }
    let all = [
        "TEN-001", "TEN-002", "TEN-003", "TEN-004", "TEN-005", "TEN-006", "TEN-007", "DEF-001",
        "DEF-002", "DEF-003", "DEF-004", "DEF-005", "RTE-001", "RTE-002", "RTE-003", "RTE-004",
        "ENV-001", "ENV-002", "ENV-003", "ENV-004", "DLP-001", "DLP-002", "DLP-003", "FLW-001",
        "FLW-002", "FLW-003", "FLW-004", "FLW-005", "FLW-006", "FLW-007", "FLW-008", "APP-001",
        "APP-002", "APP-003", "APP-004", "CON-001", "CON-002", "CON-003", "ADM-001", "ADM-002",
        "ADM-003", "ADM-004",
    ];
    for r in all {
        assert!(union.contains(&format!("PPG-{r}")), "PPG-{r} never planted");
    }
    assert!(!union.contains("PPG-DEF-006"));
}

#[test]
fn same_seed_same_tenant_and_content() {
    let a = generate(&cfg(7, Size::Small));
    let b = generate(&cfg(7, Size::Small));
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    for i in [0, 2, 4] {
        assert_eq!(
            serde_json::to_string(&a.env_content(i)).unwrap(),
            serde_json::to_string(&b.env_content(i)).unwrap()
        );
    }
    let c = generate(&cfg(8, Size::Small));
    assert_ne!(a.tenant_id, c.tenant_id);
    assert_ne!(a.environments[1].name, c.environments[1].name);
    let fa: BTreeSet<_> = a
        .env_content(1)
        .flows
        .iter()
        .map(|f| f.doc["name"].as_str().unwrap().to_string())
        .collect();
    let fc: BTreeSet<_> = c
        .env_content(1)
        .flows
        .iter()
        .map(|f| f.doc["name"].as_str().unwrap().to_string())
        .collect();
    assert!(fa.is_disjoint(&fc));
}

#[test]
fn env_content_does_not_depend_on_call_order() {
    let t = generate(&cfg(3, Size::Small));
    let forward: Vec<String> = (0..5)
        .map(|i| serde_json::to_string(&t.env_content(i)).unwrap())
        .collect();
    let mut backward: Vec<String> = (0..5)
        .rev()
        .map(|i| serde_json::to_string(&t.env_content(i)).unwrap())
        .collect();
    backward.reverse();
    assert_eq!(forward, backward);
}

#[test]
fn small_sizes_and_spec_counts_match_content() {
    let t = generate(&cfg(2, Size::Small));
    assert_eq!(t.environments.len(), 5);
    let contents = all_content(&t);
    for (e, c) in t.environments.iter().zip(&contents) {
        assert_eq!(
            (e.apps, e.flows, e.connections),
            (c.apps.len(), c.flows.len(), c.connections.len()),
            "env {}",
            e.index
        );
        assert_eq!(e.has_dataverse, c.dataverse.is_some());
        assert_eq!(c.role_assignments.is_empty(), e.has_dataverse);
    }
    let flows: usize = contents.iter().map(|c| c.flows.len()).sum();
    assert!((180..=260).contains(&flows), "{flows}");
    let d = &t.environments[0];
    assert_eq!(d.name, format!("Default-{}", t.tenant_id));
    assert_eq!(d.doc["properties"]["isDefault"], true);
    assert_eq!(d.doc["properties"]["environmentSku"], "Default");
    let dv = t.environments.iter().find(|e| e.has_dataverse).unwrap();
    assert!(
        s(
            &dv.doc,
            "/properties/linkedEnvironmentMetadata/instanceApiUrl"
        )
        .starts_with("http://127.0.0.1:4000/dataverse/")
    );
    let no_dv = t.environments.iter().find(|e| !e.has_dataverse).unwrap();
    assert!(no_dv.doc["properties"]["linkedEnvironmentMetadata"].is_null());
    // Every Dataverse environment: one System Administrator role per business unit.
    for c in contents.iter().filter_map(|c| c.dataverse.as_ref()) {
        let sa = c
            .roles
            .iter()
            .filter(|r| r["_roletemplateid_value"] == wellknown::SYSTEM_ADMIN_TEMPLATE_ID)
            .count();
        assert_eq!(sa, c.business_units.len());
        assert!((1..=3).contains(&c.business_units.len()));
    }
}

#[test]
fn ground_truth_resources_exist() {
    let t = generate(&cfg(4, Size::Small));
    let contents = all_content(&t);
    let mut ids: BTreeSet<String> = BTreeSet::new();
    ids.insert(t.tenant_id.clone());
    for (e, c) in t.environments.iter().zip(&contents) {
        ids.insert(e.name.clone());
        ids.extend(
            c.apps
                .iter()
                .map(|a| a.doc["name"].as_str().unwrap().to_string()),
        );
        ids.extend(
            c.flows
                .iter()
                .map(|a| a.doc["name"].as_str().unwrap().to_string()),
        );
        ids.extend(
            c.connections
                .iter()
                .map(|a| a.doc["name"].as_str().unwrap().to_string()),
        );
        if let Some(d) = &c.dataverse {
            ids.extend(d.system_users.iter().map(|u| {
                format!(
                    "{}/{}",
                    e.name,
                    u["azureactivedirectoryobjectid"].as_str().unwrap()
                )
            }));
        }
        ids.extend(
            c.role_assignments
                .iter()
                .map(|r| format!("{}/{}", e.name, s(r, "/properties/principal/id"))),
        );
        // Holders through a group team are members of the team's group.
        if let Some(g) = &e.plan.group_team {
            ids.extend(
                g.holders
                    .iter()
                    .map(|&u| format!("{}/{}", e.name, t.directory.users[u].id)),
            );
        }
    }
    for f in &t.ground_truth.findings {
        assert!(ids.contains(&f.resource_id), "{f:?}");
    }
}

#[test]
fn huge_generate_builds_no_content() {
    let t = generate(&cfg(5, Size::Huge));
    assert_eq!(t.environments.len(), 5_000);
    let flows: usize = t.environments.iter().map(|e| e.flows).sum();
    let conns: usize = t.environments.iter().map(|e| e.connections).sum();
    let apps: usize = t.environments.iter().map(|e| e.apps).sum();
    assert!((290_000..=320_000).contains(&flows), "{flows}");
    assert!((950_000..=1_100_000).contains(&conns), "{conns}");
    assert!((95_000..=110_000).contains(&apps), "{apps}");
    assert!(t.directory.users.len() >= 200_000);
    let domains: Vec<&str> = t
        .environments
        .iter()
        .filter(|e| e.has_dataverse)
        .map(|e| s(&e.doc, "/properties/linkedEnvironmentMetadata/domainName"))
        .collect();
    let unique: BTreeSet<&str> = domains.iter().copied().collect();
    assert_eq!(domains.len(), unique.len());
    assert!(t.audit.len() <= 120_000);
}

#[test]
fn run_plans_are_sane() {
    let r = RunPlan {
        runs: 10,
        failed: 3,
        newest: Some(Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap()),
        oldest: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
    };
    assert_eq!(r.run(0).unwrap().0, r.newest.unwrap());
    assert_eq!(r.run(9).unwrap().0, r.oldest.unwrap());
    assert!(r.run(10).is_none());
    assert_eq!((0..10).filter(|&i| r.run(i).unwrap().1).count(), 3);
    let t = generate(&cfg(1, Size::Small));
    for c in all_content(&t) {
        for f in c.flows {
            assert!(f.runs.failed <= f.runs.runs);
            if f.runs.runs > 0 {
                assert!(f.runs.oldest.unwrap() <= f.runs.newest.unwrap());
                assert!(f.runs.newest.unwrap() <= t.now);
            }
        }
    }
}

#[test]
fn audit_shapes_and_detections() {
    let t = generate(&cfg(6, Size::Small));
    let records: Vec<Value> = t.audit.iter().map(|a| a.record.value()).collect();
    let ids: BTreeSet<&str> = records.iter().map(|r| r["Id"].as_str().unwrap()).collect();
    assert!(t.audit.len() > ids.len(), "duplicates present");
    for (a, r) in t.audit.iter().zip(&records) {
        let ct = r["CreationTime"].as_str().unwrap();
        assert!(!ct.ends_with('Z'));
        let at = chrono::NaiveDateTime::parse_from_str(ct, "%Y-%m-%dT%H:%M:%S")
            .unwrap()
            .and_utc();
        let delay = (a.available - at).num_minutes();
        assert!((20..=180).contains(&delay), "{delay}");
        assert!(at >= t.now - Duration::days(14) && at <= t.now);
    }
    let det: BTreeSet<&str> = t
        .ground_truth
        .detections
        .iter()
        .map(|d| d.detection_id.as_str())
        .collect();
    for n in 1..=17 {
        assert!(
            det.contains(format!("PPG-DET-{n:03}").as_str()),
            "DET-{n:03}"
        );
    }
    for d in &t.ground_truth.detections {
        for e in &d.event_ids {
            assert!(ids.contains(e.as_str()));
        }
    }
    let json = serde_json::to_value(&t.ground_truth).unwrap();
    assert!(json["detection_config"]["departing_users"].is_array());
    // Only planted consents.
    let consents = records
        .iter()
        .filter(|r| {
            matches!(
                r["Operation"].as_str(),
                Some("Consent to application.") | Some("RecordScopesConsent")
            )
        })
        .count();
    assert!((2..=4).contains(&consents));
}

#[test]
fn well_known_identities() {
    let t = generate(&cfg(9, Size::Small));
    assert_eq!(t.well_known.client_id, wellknown::ADMIN_CLIENT_ID);
    let admin = t
        .directory
        .apps
        .iter()
        .find(|a| a.client_id == wellknown::ADMIN_CLIENT_ID)
        .unwrap();
    assert!(admin.management_app && admin.app_roles.iter().any(|r| r == "ActivityFeed.Read"));
    assert!(
        t.directory
            .apps
            .iter()
            .any(|a| a.client_id == wellknown::UNREGISTERED_CLIENT_ID && !a.management_app)
    );
    assert!(
        t.directory
            .apps
            .iter()
            .any(|a| a.client_id == wellknown::NO_CONSENT_CLIENT_ID
                && a.public_client
                && !a.admin_consent)
    );
    let u = t
        .directory
        .users
        .iter()
        .find(|u| u.upn == t.well_known.username)
        .unwrap();
    assert_eq!(u.password.as_deref(), Some(wellknown::ADMIN_PASSWORD));
    assert!(
        t.directory
            .users
            .iter()
            .any(|u| u.sign_in == crate::tenant::SignInBehaviour::MfaRequired)
    );
    let guests = t.directory.users.iter().filter(|u| u.guest).count();
    assert!(
        guests > 0
            && t.directory
                .users
                .iter()
                .all(|u| !u.guest || u.upn.contains("#EXT#"))
    );
}

// ---- an independent reading of the detections under the ground truth's detection_config ----

fn prop<'a>(r: &'a Value, name: &str) -> Option<&'a str> {
    r["PropertyCollection"]
        .as_array()?
        .iter()
        .find(|p| p["Name"] == name)?["Value"]
        .as_str()
}

fn detect(t: &Tenant) -> BTreeSet<(String, String)> {
    use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};
    let cfg = &t.ground_truth.detection_config;
    let list = |k: &str| -> BTreeSet<String> {
        cfg[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let departing = list("departing_users");
    let sensitive = list("sensitive_environments");
    let authorised = list("authorised_sharers");
    let high_risk = list("high_risk_operations");
    let allow_elev = list("elevation_allow_list");
    let mut seen = BTreeSet::new();
    let parsed: Vec<Value> = t.audit.iter().map(|a| a.record.value()).collect();
    let recs: Vec<&Value> = parsed
        .iter()
        .filter(|r| seen.insert(r["Id"].as_str().unwrap().to_string()))
        .collect();
    let at = |r: &Value| {
        NaiveDateTime::parse_from_str(r["CreationTime"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S")
            .unwrap()
            .and_utc()
    };
    let hour = |r: &Value| at(r).format("%Y-%m-%dT%H").to_string();
    let op = |r: &Value| r["Operation"].as_str().unwrap().to_string();
    let actor = |r: &Value| r["UserId"].as_str().unwrap().to_string();
    let mut out = BTreeSet::new();
    let mut add = |d: &str, a: String| {
        out.insert((d.to_string(), a));
    };
    let guests: BTreeMap<&str, DateTime<Utc>> = t
        .directory
        .users
        .iter()
        .filter_map(|u| Some((u.id.as_str(), u.invited?)))
        .collect();
    let mut per_hour: BTreeMap<(String, String, String), Vec<&Value>> = BTreeMap::new();
    let mut activity: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut crm_day: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut policy_created: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut iso_off: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut sg_removed: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut sorted = recs.clone();
    sorted.sort_by_key(|r| at(r));
    for r in sorted {
        let (o, a, when) = (op(r), actor(r), at(r));
        per_hour
            .entry((o.clone(), a.clone(), hour(r)))
            .or_default()
            .push(r);
        *activity
            .entry(a.clone())
            .or_default()
            .entry(hour(r))
            .or_default() += 1;
        if (o == "CreateFlow" || o == "EditFlow") && departing.contains(&a) {
            add("PPG-DET-003", a.clone());
        }
        if o == "PutConnection" && sensitive.contains(r["EnvironmentId"].as_str().unwrap()) {
            add("PPG-DET-005", a.clone());
        }
        if o == "GovernanceApiPolicyOperation" {
            let name = prop(
                r,
                "powerplatform.analytics.resource.tenant.governance.api_policy.operation_name",
            )
            .unwrap();
            let pid = prop(r, "powerplatform.analytics.resource.id")
                .unwrap()
                .to_string();
            match name {
                "CreateDlpPolicy" => {
                    policy_created.insert(pid, when);
                }
                "DeleteDlpPolicy" => add("PPG-DET-006", a.clone()),
                _ => {
                    if policy_created
                        .get(&pid)
                        .is_none_or(|c| when - *c > Duration::minutes(10))
                    {
                        add("PPG-DET-006", a.clone())
                    }
                }
            }
        }
        if o == "TenantIsolationOperation"
            && prop(
                r,
                "powerplatform.analytics.resource.tenant.isolation_policy.enabled",
            ) == Some("False")
        {
            iso_off.entry(a.clone()).or_default().push(when);
        }
        if o == "EnvironmentPropertyChange" && r.to_string().contains("Property: SecurityGroupId") {
            sg_removed.entry(a.clone()).or_default().push(when);
        }
        if !a.to_lowercase().ends_with(&format!("@{}", t.domain)) {
            add("PPG-DET-008", a.clone());
        }
        if (o == "CreateFlow" || o == "EditFlow")
            && r["FlowConnectorNames"]
                .as_str()
                .unwrap()
                .split(", ")
                .any(|c| c == "FTP")
        {
            add("PPG-DET-009", a.clone());
        }
        if (o == "PutPermissions" || o == "PowerAppPermissionEdited") && !authorised.contains(&a) {
            add("PPG-DET-010", a.clone());
        }
        if high_risk.contains(&o)
            && (matches!(when.weekday(), Weekday::Sat | Weekday::Sun)
                || when.hour() < 8
                || when.hour() >= 18)
        {
            add("PPG-DET-011", a.clone());
        }
        let ip = prop(r, "enduser.ip_address")
            .map(|i| i.trim_start_matches("::ffff:").to_string())
            .or(r["ClientIP"].as_str().map(String::from))
            .unwrap_or_default();
        if ip.starts_with("203.0.113.") || ip.starts_with("198.51.100.") {
            add("PPG-DET-012", a.clone());
        }
        if o == "ApplyAdminRole" && !allow_elev.contains(&a) {
            add("PPG-DET-014", a.clone());
        }
        if o == "RecordScopesConsent" || o == "Consent to application." {
            add("PPG-DET-015", a.clone());
        }
        if matches!(
            o.as_str(),
            "Disable Organization Audit"
                | "DeleteAuditData"
                | "DeleteRecordChangeHistory"
                | "User Access Audit is disabled on the organization"
        ) {
            add("PPG-DET-016", a.clone());
        }
        if r["RecordType"] == 21 && (o == "Delete" || o == "ExportToExcel") {
            *crm_day
                .entry((a.clone(), when.date_naive().to_string()))
                .or_default() += 1;
        }
    }
    for ((o, a, _), rs) in &per_hour {
        if o == "DeleteFlow" && rs.len() >= 10 {
            add("PPG-DET-001", a.clone());
        }
        if o == "DeletePowerApp" {
            let envs: BTreeSet<&str> = rs
                .iter()
                .map(|r| r["EnvironmentId"].as_str().unwrap())
                .collect();
            if rs.len() >= 25 || envs.len() >= 10 {
                add("PPG-DET-002", a.clone());
            }
        }
        if o == "PowerAppPermissionEdited" {
            let mut by_app: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for r in rs {
                let target = prop(r, "targetuser.id").unwrap();
                if guests
                    .get(target)
                    .is_some_and(|inv| at(r) - *inv <= Duration::days(14))
                {
                    by_app
                        .entry(prop(r, "powerplatform.analytics.resource.power_app.id").unwrap())
                        .or_default()
                        .insert(target);
                }
            }
            if by_app.values().any(|s| s.len() >= 5) {
                add("PPG-DET-004", a.clone());
            }
        }
    }
    for (a, offs) in &iso_off {
        if sg_removed.get(a).is_some_and(|v| {
            v.iter().any(|s| {
                offs.iter()
                    .any(|o| *s >= *o && *s - *o <= Duration::days(14))
            })
        }) {
            add("PPG-DET-007", a.clone());
        }
    }
    for (a, hours) in &activity {
        let mut counts: Vec<usize> = hours.values().copied().collect();
        counts.sort();
        let median = counts[counts.len() / 2];
        if counts.iter().any(|&c| c >= 20 && c > 10 * median) {
            add("PPG-DET-013", a.clone());
        }
    }
    for ((a, _), n) in crm_day {
        if n > 10_000 {
            add("PPG-DET-017", a);
        }
    }
    out
}

#[test]
fn detections_are_exactly_the_planted_ones() {
    for seed in [1, 2, 3] {
        let t = generate(&cfg(seed, Size::Small));
        let found = detect(&t);
        let planted: BTreeSet<(String, String)> = t
            .ground_truth
            .detections
            .iter()
            .map(|d| (d.detection_id.clone(), d.actor.clone()))
            .collect();
        assert_eq!(found, planted, "seed {seed}");
    }
    let t = generate(&cfg(4, Size::Medium));
    let planted: BTreeSet<(String, String)> = t
        .ground_truth
        .detections
        .iter()
        .map(|d| (d.detection_id.clone(), d.actor.clone()))
        .collect();
    assert_eq!(detect(&t), planted);
}
