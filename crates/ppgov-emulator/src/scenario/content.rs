//! Lazy, deterministic construction of one environment's content from its plan.

use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::catalog::{self, BACKGROUND, api_id, app_api_id};
use super::flowdef::{DefBuilder, params, summary};
use super::plan::{EnvPlan, Plant, PlantKind};
use super::util::{
    ENV_STREAM_BASE, days_ago, guid, iso, iso_secs, pick, resource_name, rng_for, skewed,
};
use super::wellknown as wk;
use crate::tenant::{
    AppRecord, ConnectionRecord, DataverseData, EnvContent, FlowRecord, RunPlan, Tenant, User,
};

struct Ctx<'a> {
    t: &'a Tenant,
    env: &'a str,
    plan: &'a EnvPlan,
    now: DateTime<Utc>,
    /// Background connection names per background connector.
    pool: Vec<Vec<String>>,
}

impl Ctx<'_> {
    fn user(&self, idx: usize) -> &User {
        &self.t.directory.users[idx]
    }
    fn maker(&self, rng: &mut ChaCha8Rng) -> usize {
        let m = &self.t.roster.makers;
        m[skewed(rng, m.len())]
    }
    fn principal(&self, u: &User) -> Value {
        json!({"id": u.id, "displayName": u.display_name, "email": u.mail, "type": "User",
               "tenantId": self.t.tenant_id, "userPrincipalName": u.upn})
    }
}

fn conn_name(key: &str, rng: &mut ChaCha8Rng) -> String {
    let short: String = key.replace('_', "-").chars().take(20).collect();
    format!("{short}-{}", guid(rng).replace('-', ""))
}

enum ConnStyle {
    User,
    FirstParty,
    ServicePrincipal,
}

#[allow(clippy::too_many_arguments)]
fn connection(
    c: &Ctx,
    rng: &mut ChaCha8Rng,
    name: &str,
    key: &str,
    creator: &User,
    style: ConnStyle,
    statuses: Value,
    expiration: Option<DateTime<Utc>>,
) -> ConnectionRecord {
    let created = days_ago(rng, c.now, 20, 600);
    let mut props = json!({
        "apiId": api_id(key),
        "displayName": creator.upn,
        "iconUri": format!("https://connectoricons-prod.azureedge.net/{key}/icon.png"),
        "statuses": statuses,
        "createdBy": c.principal(creator),
        "createdTime": iso(created),
        "lastModifiedTime": iso(days_ago(rng, c.now, 1, 20)),
        "environment": {"id": format!("/providers/Microsoft.PowerApps/environments/{}", c.env), "name": c.env},
        "permissions": [{"name": creator.id, "id": format!("/providers/Microsoft.PowerApps/apis/{key}/connections/{name}/permissions/{}", creator.id),
                         "properties": {"roleName": "Owner", "principal": {"id": creator.id, "type": "User", "tenantId": c.t.tenant_id}}}],
        "accountName": creator.upn,
        "allowSharing": false,
        "keywordsRemaining": 78
    });
    if let Some(obj) = props.as_object_mut() {
        match style {
            ConnStyle::User => {
                obj.insert(
                    "connectionParameters".into(),
                    json!({"token:grantType": "code", "sku": "Enterprise"}),
                );
            }
            ConnStyle::FirstParty => {
                obj.insert(
                    "connectionParametersSet".into(),
                    json!({"name": "firstParty", "values": {}}),
                );
            }
            ConnStyle::ServicePrincipal => {
                obj.insert(
                    "connectionParametersSet".into(),
                    json!({"name": "servicePrincipal", "values": {
                        "token:clientId": {"value": wk::AUTOMATION_CLIENT_ID},
                        "token:TenantId": {"value": c.t.tenant_id}}}),
                );
            }
        }
        // `expirationTime` is when the token is next refreshed: routinely in the past on a
        // healthy connection. Most connections carry one (fixed per name, no draw from `rng`).
        let refresh = expiration.or_else(|| {
            let h = name
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            (h % 4 != 0).then(|| c.now - Duration::hours(i64::from(h % 72) + 1))
        });
        if let Some(e) = refresh {
            obj.insert("expirationTime".into(), json!(iso(e)));
        }
    }
    ConnectionRecord {
        doc: json!({"name": name, "id": format!("/providers/Microsoft.PowerApps/apis/{key}/connections/{name}"),
                    "type": "Microsoft.PowerApps/apis/connections", "properties": props}),
    }
}

fn connected() -> Value {
    json!([{"status": "Connected"}])
}

fn flow_permissions(c: &Ctx, flow: &str, owners: &[(String, &str)]) -> Vec<Value> {
    owners
        .iter()
        .map(|(id, ty)| {
            json!({"name": id, "id": format!("/providers/Microsoft.ProcessSimple/environments/{}/flows/{flow}/permissions/{id}", c.env),
                   "type": "/providers/Microsoft.ProcessSimple/environments/flows/permissions",
                   "properties": {"roleName": "Owner", "permissionType": "Principal", "principal": {"id": id, "type": ty}}})
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn flow_record(
    c: &Ctx,
    rng: &mut ChaCha8Rng,
    name: &str,
    display: &str,
    def: DefBuilder,
    refs: &[(String, String)],
    creator: &User,
    created: DateTime<Utc>,
    owners: &[(String, &str)],
    runs: RunPlan,
) -> FlowRecord {
    let mut cr = serde_json::Map::new();
    for (key, conn) in refs {
        let (display_name, color, tier) = catalog::meta(key);
        cr.insert(
            key.clone(),
            json!({"connectionName": conn, "source": "Embedded", "id": api_id(key), "displayName": display_name,
                   "iconUri": format!("https://connectoricons-prod.azureedge.net/{key}/icon.png"), "brandColor": color, "tier": tier}),
        );
    }
    let definition = def.finish();
    let modified = created.max(c.now - Duration::days(rng.random_range(1..60)));
    let doc = json!({
        "name": name,
        "id": format!("/providers/Microsoft.ProcessSimple/environments/{}/flows/{name}", c.env),
        "type": "Microsoft.ProcessSimple/environments/flows",
        "properties": {
            "apiId": "/providers/Microsoft.PowerApps/apis/shared_logicflows",
            "displayName": display,
            "userType": "Owner",
            "state": "Started",
            "flowSuspensionReason": "None",
            "createdTime": iso_secs(created),
            "lastModifiedTime": iso_secs(modified),
            "environment": {"name": c.env, "type": "Microsoft.ProcessSimple/environments",
                            "id": format!("/providers/Microsoft.ProcessSimple/environments/{}", c.env)},
            "connectionReferences": cr,
            "definitionSummary": summary(&definition, &guid(rng)),
            "creator": {"tenantId": c.t.tenant_id, "objectId": creator.id, "userId": creator.id, "userType": "ActiveDirectory"},
            "provisioningMethod": "FromDefinition",
            "flowFailureAlertSubscribed": true,
            "isManaged": false
        }
    });
    FlowRecord {
        doc,
        definition,
        permissions: flow_permissions(c, name, owners),
        runs,
    }
}

fn recent_runs(rng: &mut ChaCha8Rng, now: DateTime<Utc>, max_runs: u32) -> RunPlan {
    let runs = rng.random_range(5..=max_runs.max(5));
    RunPlan {
        runs,
        failed: rng.random_range(0..=runs / 5),
        newest: Some(now - Duration::minutes(rng.random_range(10..2880))),
        oldest: Some(now - Duration::days(rng.random_range(5..29))),
    }
}

/// A clean background definition over background connectors.
fn background_def(c: &Ctx, rng: &mut ChaCha8Rng, keys: &[&str]) -> DefBuilder {
    let mut d = DefBuilder::new();
    let domain = c.t.domain.as_str();
    if keys.first() == Some(&"shared_sharepointonline") && rng.random_bool(0.5) {
        d.connector_trigger(
            "shared_sharepointonline",
            "GetOnNewItems",
            params("shared_sharepointonline", &guid(rng), domain),
        );
    } else {
        d.recurrence(
            ["Hour", "Day", "Week"][pick(rng, 3)],
            rng.random_range(1..4),
        );
    }
    for (i, key) in keys.iter().enumerate() {
        let op = catalog::operation(key);
        let p = params(key, &guid(rng), domain);
        match i % 3 {
            0 => d.op(&format!("{op}_{i}"), key, op, p),
            1 => d.if_then(
                &format!("Condition_{i}"),
                json!({"and": [{"equals": ["@triggerOutputs()?['body/Status']", "Approved"]}]}),
                key,
                op,
                p,
            ),
            _ => d.secure_op(&format!("{op}_{i}"), key, op, p),
        }
    }
    if rng.random_bool(0.4) {
        d.compose("Compose_token", json!("@body('Get_token')?['token']"));
    }
    if rng.random_bool(0.3) {
        d.foreach("Apply_to_each", "@body('GetItems_0')?['value']");
    }
    d
}

fn refs_for(c: &Ctx, rng: &mut ChaCha8Rng, keys: &[String]) -> Vec<(String, String)> {
    keys.iter()
        .map(|k| {
            let pos = BACKGROUND.iter().position(|b| b == k).unwrap_or(0);
            let pool = &c.pool[pos];
            let name = if pool.is_empty() {
                format!("{}-missing", k)
            } else {
                pool[pick(rng, pool.len())].clone()
            };
            (k.clone(), name)
        })
        .collect()
}

fn co_owners(c: &Ctx, rng: &mut ChaCha8Rng, creator: usize) -> Vec<(String, &'static str)> {
    let mut v = vec![(c.user(creator).id.clone(), "User")];
    for _ in 0..rng.random_range(1..3) {
        let m = c.maker(rng);
        let id = c.user(m).id.clone();
        if !v.iter().any(|(x, _)| *x == id) {
            v.push((id, "User"));
        }
    }
    if v.len() < 2 {
        // Two owners everywhere in the background: pick the next maker deterministically.
        let m = c.t.roster.makers[(c
            .t
            .roster
            .makers
            .iter()
            .position(|&x| x == creator)
            .unwrap_or(0)
            + 1)
            % c.t.roster.makers.len()];
        v.push((c.user(m).id.clone(), "User"));
    }
    v
}

fn bg_keys(rng: &mut ChaCha8Rng) -> Vec<&'static str> {
    let n = rng.random_range(1..=3usize);
    let mut keys: Vec<&str> = Vec::new();
    while keys.len() < n {
        let k = BACKGROUND[skewed(rng, BACKGROUND.len())];
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

#[allow(clippy::too_many_arguments)]
fn app_record(
    c: &Ctx,
    rng: &mut ChaCha8Rng,
    name: &str,
    owner: &User,
    keys: &[&str],
    modified: DateTime<Utc>,
    bypass: bool,
    shares: &[(Value, &str)],
    shared_users: usize,
    shared_groups: usize,
) -> AppRecord {
    let mut cr = serde_json::Map::new();
    for k in keys {
        let (dn, _, tier) = catalog::meta(k);
        cr.insert(
            guid(rng),
            json!({"id": app_api_id(k), "displayName": dn, "iconUri": format!("https://connectoricons-prod.azureedge.net/{k}/icon.png"),
                   "dataSources": [dn], "dependencies": [], "dependents": [], "isOnPremiseConnection": false,
                   "bypassConsent": bypass, "apiTier": tier, "isCustomApiConnection": false}),
        );
    }
    let created = modified - Duration::days(rng.random_range(1..400));
    let p = c.principal(owner);
    let display = resource_name(rng);
    let doc = json!({
        "name": name,
        "id": format!("/providers/Microsoft.PowerApps/scopes/admin/environments/{}/apps/{name}", c.env),
        "type": "Microsoft.PowerApps/scopes/admin/apps",
        "tags": {"primaryFormFactor": "Tablet", "publisherVersion": "3.24104.17", "minimumRequiredApiVersion": "2.2.0"},
        "properties": {
            "displayName": display, "description": "", "appVersion": iso(modified), "lifeCycleId": "Published", "status": "Ready",
            "owner": p, "createdBy": p, "lastModifiedBy": p, "lastPublishedBy": p,
            "createdTime": iso(created), "lastModifiedTime": iso(modified), "lastPublishTime": iso(modified),
            "sharedGroupsCount": shared_groups, "sharedUsersCount": shared_users,
            "appOpenUri": format!("https://apps.powerapps.com/play/e/{}/a/{name}", c.env),
            "connectionReferences": cr,
            "environment": {"id": format!("/providers/Microsoft.PowerApps/environments/{}", c.env), "name": c.env, "location": "europe"},
            "almMode": "Environment",
            "executionRestrictions": {"dataLossPreventionEvaluationResult": {"status": "Compliant", "violations": []}},
            "usesPremiumApi": keys.iter().any(|k| catalog::meta(k).2 == "Premium"),
            "usesCustomApi": false,
            "bypassConsent": false
        }
    });
    let mut perms = vec![app_perm(c, name, &p, "User", "Owner", created)];
    for (principal, role) in shares {
        let ty = principal
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("User")
            .to_string();
        perms.push(app_perm(c, name, principal, &ty, role, created));
    }
    AppRecord {
        doc,
        permissions: perms,
    }
}

fn app_perm(
    c: &Ctx,
    app: &str,
    principal: &Value,
    ty: &str,
    role: &str,
    created: DateTime<Utc>,
) -> Value {
    let pid = principal.get("id").and_then(Value::as_str).unwrap_or("");
    let mut pr = principal.clone();
    if let Some(o) = pr.as_object_mut() {
        o.insert("type".into(), json!(ty));
    }
    json!({"name": pid, "id": format!("/providers/Microsoft.PowerApps/apps/{app}/permissions/{pid}"),
           "type": "Microsoft.PowerApps/apps/permissions",
           "properties": {"roleName": role, "principal": pr,
                          "scope": format!("/providers/Microsoft.PowerApps/environments/{}/apps/{app}", c.env),
                          "notifyShareTargetOption": "NotSpecified", "createdOn": iso(created), "createdBy": c.t.tenant_id}})
}

impl Tenant {
    /// Builds environment `index`'s content; the same tenant and index always give the same
    /// content, whatever was built before. An unknown index gives empty content.
    pub fn env_content(&self, index: usize) -> EnvContent {
        let Some(spec) = self.environments.get(index) else {
            return EnvContent::default();
        };
        if self.roster.makers.is_empty() {
            return EnvContent::default();
        }
        let mut rng = rng_for(self.seed, ENV_STREAM_BASE + index as u64);
        let plan = &spec.plan;
        let mut c = Ctx {
            t: self,
            env: &spec.name,
            plan,
            now: self.now,
            pool: vec![Vec::new(); BACKGROUND.len()],
        };
        let mut out = EnvContent::default();

        // Background connections.
        for j in 0..plan.bg_connections {
            let key = BACKGROUND[j % BACKGROUND.len()];
            let name = conn_name(key, &mut rng);
            let creator = c.maker(&mut rng);
            let style = if plan.is_prod() {
                ConnStyle::ServicePrincipal
            } else {
                match rng.random_range(0..10u32) {
                    0..=5 => ConnStyle::User,
                    6..=8 => ConnStyle::FirstParty,
                    _ => ConnStyle::ServicePrincipal,
                }
            };
            let exp = if rng.random_bool(0.5) {
                Some(self.now + Duration::days(rng.random_range(10..300)))
            } else {
                None
            };
            let rec = connection(
                &c,
                &mut rng,
                &name,
                key,
                c.user(creator),
                style,
                connected(),
                exp,
            );
            c.pool[j % BACKGROUND.len()].push(name);
            out.connections.push(rec);
        }

        // Background flows.
        for j in 0..plan.bg_flows {
            let name = guid(&mut rng);
            let creator = if index == 0 && j < 8 {
                self.roster.makers[j % self.roster.makers.len()]
            } else {
                c.maker(&mut rng)
            };
            let keys = bg_keys(&mut rng);
            let def = background_def(&c, &mut rng, &keys);
            let refs = refs_for(&c, &mut rng, &def.connectors);
            let (created, runs) = if rng.random_bool(0.05) {
                (days_ago(&mut rng, self.now, 2, 60), RunPlan::default())
            } else {
                (
                    days_ago(&mut rng, self.now, 30, 700),
                    recent_runs(&mut rng, self.now, if index == 0 { 300 } else { 200 }),
                )
            };
            let owners = co_owners(&c, &mut rng, creator);
            let display = resource_name(&mut rng);
            let creator_u = c.user(creator);
            out.flows.push(flow_record(
                &c, &mut rng, &name, &display, def, &refs, creator_u, created, &owners, runs,
            ));
        }

        // Background apps.
        for _ in 0..plan.bg_apps {
            let name = guid(&mut rng);
            let owner = c.maker(&mut rng);
            let keys = bg_keys(&mut rng);
            let modified = days_ago(&mut rng, self.now, 1, 150);
            let mut shares = Vec::new();
            let n_share = rng.random_range(0..=5usize);
            for _ in 0..n_share {
                let pool = if self.roster.members.is_empty() {
                    &self.roster.makers
                } else {
                    &self.roster.members
                };
                let u = c.user(pool[pick(&mut rng, pool.len())]);
                let role = if rng.random_bool(0.3) {
                    "CanEdit"
                } else {
                    "CanView"
                };
                let p = c.principal(u);
                if !shares
                    .iter()
                    .any(|(s, _): &(Value, &str)| s.get("id") == p.get("id"))
                    && u.id != c.user(owner).id
                {
                    shares.push((p, role));
                }
            }
            let n = shares.len();
            out.apps.push(app_record(
                &c,
                &mut rng,
                &name,
                c.user(owner),
                &keys,
                modified,
                false,
                &shares,
                n,
                0,
            ));
        }

        for plant in &plan.plants {
            build_plant(&c, &mut rng, plant, &mut out);
        }
        if plan.dataverse {
            out.dataverse = Some(dataverse(&c, &mut rng, index));
        } else {
            out.role_assignments = role_assignments(&c, &mut rng);
        }
        super::identity::adjust_content(self, index, &mut out);
        out
    }
}

fn build_plant(c: &Ctx, rng: &mut ChaCha8Rng, p: &Plant, out: &mut EnvContent) {
    let now = c.now;
    let domain = c.t.domain.clone();
    let maker = c.maker(rng);
    let maker_u = c.user(maker);
    // Connections the plant needs of its own (clean in themselves).
    let mut own: Vec<(String, String)> = Vec::new();
    for key in p.kind.own_connections(p.variant) {
        let name = conn_name(key, rng);
        let style = if c.plan.is_prod() && p.kind != PlantKind::FlowUserConnection {
            ConnStyle::ServicePrincipal
        } else {
            ConnStyle::User
        };
        out.connections.push(connection(
            c,
            rng,
            &name,
            key,
            maker_u,
            style,
            connected(),
            None,
        ));
        own.push((key.to_string(), name));
    }
    let flow = |def: DefBuilder,
                creator: &User,
                owners: Vec<(String, &str)>,
                runs: RunPlan,
                created: DateTime<Utc>,
                rng: &mut ChaCha8Rng| {
        let mut refs = Vec::new();
        for k in &def.connectors {
            if let Some(o) = own.iter().find(|(ok, _)| ok == k) {
                refs.push(o.clone());
            } else {
                refs.extend(refs_for(c, rng, std::slice::from_ref(k)));
            }
        }
        let display = resource_name(rng);
        flow_record(
            c, rng, &p.id, &display, def, &refs, creator, created, &owners, runs,
        )
    };
    let two_owners = |rng: &mut ChaCha8Rng| co_owners(c, rng, maker);
    let old = days_ago(rng, now, 100, 600);
    match p.kind {
        PlantKind::FlowExfiltration => {
            let mut d = DefBuilder::new();
            match p.variant {
                0 => {
                    d.connector_trigger(
                        "shared_sharepointonline",
                        "GetOnNewItems",
                        params("shared_sharepointonline", &guid(rng), &domain),
                    );
                    d.op("Send_to_personal_mailbox", "shared_gmail", "SendEmailV2", json!({"To": "backup.copy@gmail.example", "Subject": "@{triggerOutputs()?['body/Title']}", "Body": "@{triggerOutputs()?['body']}"}));
                }
                1 => {
                    d.recurrence("Day", 1);
                    d.op("Read_customers", "shared_sql", "GetItems_V2", json!({"server": "default", "database": "default", "table": "[dbo].[Customers]"}));
                    d.op("Copy_to_Dropbox", "shared_dropbox", "CreateFile", json!({"folderPath": "/exports", "name": "customers.csv", "body": "@body('Read_customers')"}));
                }
                _ => {
                    d.recurrence("Hour", 1);
                    d.op(
                        "List_accounts",
                        "shared_commondataserviceforapps",
                        "ListRecords",
                        json!({"entityName": "accounts"}),
                    );
                    d.op(
                        "Post_tweet",
                        "shared_twitter",
                        "Tweet",
                        json!({"tweetText": "@{first(body('List_accounts')?['value'])?['name']}"}),
                    );
                }
            }
            let r = recent_runs(rng, now, 60);
            out.flows
                .push(flow(d, maker_u, two_owners(rng), r, old, rng));
        }
        PlantKind::FlowOrphan => {
            let Some(gone) = p.user.map(|u| c.user(u)) else {
                return;
            };
            let d = background_def(c, rng, &["shared_sharepointonline", "shared_office365"]);
            let mut owners = vec![(gone.id.clone(), "User")];
            if let (1, Some(&g)) = (p.variant, c.t.roster.security_groups.first()) {
                owners.push((c.t.directory.groups[g].id.clone(), "Group"));
            }
            let r = recent_runs(rng, now, 60);
            out.flows.push(flow(d, gone, owners, r, old, rng));
        }
        PlantKind::FlowSingleOwner => {
            let d = background_def(c, rng, &["shared_sharepointonline"]);
            let r = recent_runs(rng, now, 60);
            out.flows.push(flow(
                d,
                maker_u,
                vec![(maker_u.id.clone(), "User")],
                r,
                old,
                rng,
            ));
        }
        PlantKind::FlowInactive => {
            let d = background_def(c, rng, &["shared_planner"]);
            let runs = if p.variant == 0 {
                RunPlan::default()
            } else {
                RunPlan {
                    runs: 12,
                    failed: 1,
                    newest: Some(now - Duration::days(120)),
                    oldest: Some(now - Duration::days(200)),
                }
            };
            let created = now - Duration::days(rng.random_range(300..700));
            out.flows
                .push(flow(d, maker_u, two_owners(rng), runs, created, rng));
        }
        PlantKind::FlowFailing => {
            let d = background_def(c, rng, &["shared_excelonlinebusiness"]);
            let runs = RunPlan {
                runs: 24,
                failed: 16,
                newest: Some(now - Duration::hours(3)),
                oldest: Some(now - Duration::days(20)),
            };
            out.flows
                .push(flow(d, maker_u, two_owners(rng), runs, old, rng));
        }
        PlantKind::FlowSecret => {
            let d = secret_def(p.variant, &domain, rng);
            let r = recent_runs(rng, now, 60);
            out.flows
                .push(flow(d, maker_u, two_owners(rng), r, old, rng));
        }
        PlantKind::FlowHttp => {
            let mut d = DefBuilder::new();
            d.recurrence("Hour", 6);
            d.http(
                "Check_status",
                "GET",
                &format!("https://status.{domain}/api/health"),
                json!({"Accept": "application/json"}),
                None,
            );
            let r = recent_runs(rng, now, 60);
            out.flows
                .push(flow(d, maker_u, two_owners(rng), r, old, rng));
        }
        PlantKind::FlowUserConnection | PlantKind::FlowBusyDefault => {
            let d = background_def(c, rng, &["shared_sharepointonline"]);
            let runs = if p.kind == PlantKind::FlowBusyDefault {
                RunPlan {
                    runs: 1500 + rng.random_range(0..500),
                    failed: 20,
                    newest: Some(now - Duration::minutes(30)),
                    oldest: Some(now - Duration::days(29)),
                }
            } else {
                recent_runs(rng, now, 60)
            };
            out.flows
                .push(flow(d, maker_u, two_owners(rng), runs, old, rng));
        }
        PlantKind::FlowBlocked => {
            let mut d = DefBuilder::new();
            d.recurrence("Day", 1);
            match p.variant {
                0 => d.op("Upload_to_FTP", "shared_ftp", "CreateFile", json!({"folderPath": "/outbound", "name": "daily.csv", "body": "@{triggerOutputs()}"})),
                1 => d.op("Delete_old_blob", "shared_azureblob", crate::scenario::catalog::BLOCKED_ACTION, json!({"dataset": "AccountNameFromSettings", "id": "/archive/old.csv"})),
                _ => d.http("Post_to_paste_site", "POST", "https://pastebin.com/api/api_post.php", json!({"Content-Type": "application/x-www-form-urlencoded"}), Some(json!("@{triggerOutputs()}"))),
            }
            let r = recent_runs(rng, now, 60);
            out.flows
                .push(flow(d, maker_u, two_owners(rng), r, old, rng));
        }
        PlantKind::FlowMixed => {
            let mut d = DefBuilder::new();
            match p.variant {
                0 => {
                    d.recurrence("Hour", 1);
                    d.op(
                        "List_feed",
                        "shared_rss",
                        "ListFeedItems",
                        json!({"feedUrl": "https://news.example.org/feed"}),
                    );
                    d.op(
                        "Create_item",
                        "shared_sharepointonline",
                        "PostItem",
                        params("shared_sharepointonline", &guid(rng), &domain),
                    );
                }
                1 => {
                    d.request("Http");
                    d.op(
                        "Create_item",
                        "shared_sharepointonline",
                        "PostItem",
                        params("shared_sharepointonline", &guid(rng), &domain),
                    );
                }
                _ => {
                    // A manual trigger is not the HTTP Request connector: the mix comes from
                    // the RSS (Non-Business) and Outlook (Business) actions.
                    d.request("Button");
                    d.op(
                        "List_feed",
                        "shared_rss",
                        "ListFeedItems",
                        json!({"feedUrl": "https://news.example.org/feed"}),
                    );
                    d.op(
                        "Send_mail",
                        "shared_office365",
                        "SendEmailV2",
                        params("shared_office365", &guid(rng), &domain),
                    );
                }
            }
            let r = recent_runs(rng, now, 60);
            out.flows
                .push(flow(d, maker_u, two_owners(rng), r, old, rng));
        }
        PlantKind::AppShared => {
            let modified = days_ago(rng, now, 1, 60);
            let (shares, users, groups): (Vec<(Value, &str)>, usize, usize) = match p.variant {
                0 => (
                    vec![(
                        json!({"id": c.t.tenant_id, "displayName": "Everyone", "type": "Tenant", "tenantId": c.t.tenant_id}),
                        "CanView",
                    )],
                    0,
                    0,
                ),
                1 => {
                    let pool = &c.t.roster.members;
                    let mut v: Vec<(Value, &str)> = Vec::new();
                    for &m in pool.iter().take(25) {
                        v.push((c.principal(c.user(m)), "CanView"));
                    }
                    let n = v.len().max(25);
                    (v, n, 0)
                }
                _ => {
                    let g =
                        c.t.roster
                            .security_groups
                            .first()
                            .map(|&g| &c.t.directory.groups[g]);
                    let gid = g.map(|g| g.id.clone()).unwrap_or_else(|| guid(rng));
                    let gname = g.map(|g| g.display_name.clone()).unwrap_or_default();
                    (
                        vec![(
                            json!({"id": gid, "displayName": gname, "email": null, "type": "Group", "tenantId": c.t.tenant_id}),
                            "CanView",
                        )],
                        0,
                        1,
                    )
                }
            };
            out.apps.push(app_record(
                c,
                rng,
                &p.id,
                maker_u,
                &["shared_sharepointonline"],
                modified,
                false,
                &shares,
                users,
                groups,
            ));
        }
        PlantKind::AppOrphan => {
            let Some(gone) = p.user.map(|u| c.user(u)) else {
                return;
            };
            let m = days_ago(rng, now, 1, 60);
            out.apps.push(app_record(
                c,
                rng,
                &p.id,
                gone,
                &["shared_office365"],
                m,
                false,
                &[],
                0,
                0,
            ));
        }
        PlantKind::AppInactive => {
            let m = days_ago(rng, now, 200, 500);
            out.apps.push(app_record(
                c,
                rng,
                &p.id,
                maker_u,
                &["shared_sharepointonline"],
                m,
                false,
                &[],
                0,
                0,
            ));
        }
        PlantKind::AppBypassConsent => {
            let m = days_ago(rng, now, 1, 60);
            out.apps.push(app_record(
                c,
                rng,
                &p.id,
                maker_u,
                &["shared_office365users"],
                m,
                true,
                &[],
                0,
                0,
            ));
        }
        PlantKind::AppBlocked => {
            let m = days_ago(rng, now, 1, 60);
            out.apps.push(app_record(
                c,
                rng,
                &p.id,
                maker_u,
                &["shared_ftp"],
                m,
                false,
                &[],
                0,
                0,
            ));
        }
        PlantKind::AppMixed => {
            let m = days_ago(rng, now, 1, 60);
            out.apps.push(app_record(
                c,
                rng,
                &p.id,
                maker_u,
                &["shared_sharepointonline", "shared_rss"],
                m,
                false,
                &[],
                0,
                0,
            ));
        }
        PlantKind::ConnectionOrphan => {
            let Some(gone) = p.user.map(|u| c.user(u)) else {
                return;
            };
            out.connections.push(connection(
                c,
                rng,
                &p.id,
                "shared_office365",
                gone,
                ConnStyle::User,
                connected(),
                None,
            ));
        }
        PlantKind::ConnectionBroken => {
            let (statuses, exp) = if p.variant == 0 {
                (
                    json!([{"status": "Error", "target": "token", "error": {"code": "Unauthenticated", "message": "The refresh token has expired due to inactivity."}}]),
                    None,
                )
            } else {
                (
                    json!([{"status": "Expired"}]),
                    Some(now - Duration::days(rng.random_range(3..60))),
                )
            };
            out.connections.push(connection(
                c,
                rng,
                &p.id,
                "shared_onedriveforbusiness",
                maker_u,
                ConnStyle::User,
                statuses,
                exp,
            ));
        }
        PlantKind::ConnectionExternal => {
            out.connections.push(connection(
                c,
                rng,
                &p.id,
                "shared_gmail",
                maker_u,
                ConnStyle::User,
                connected(),
                None,
            ));
        }
        // Role plants are built with the environment's roles.
        _ => {}
    }
}

fn secret_def(variant: u32, domain: &str, rng: &mut ChaCha8Rng) -> DefBuilder {
    let mut d = DefBuilder::new();
    d.recurrence("Hour", 1);
    let hex: String = guid(rng).replace('-', "");
    match variant {
        0 => d.http(
            "Get_orders",
            "GET",
            &format!("https://api.{domain}/v1/orders"),
            json!({"Authorization": format!("Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtb3JkZXJzIiwiYXVkIjoiYXBpOi8vb3JkZXJzIiwianRpIjoi{hex}In0.c2lnbmF0dXJlLW5vdC1yZWFsbHktdmFsaWQtYnV0LWxvb2tzLWxpa2UtaXQ"), "Accept": "application/json"}),
            None,
        ),
        1 => d.http(
            "Charge_card",
            "POST",
            &format!("https://billing.{domain}/charge"),
            json!({"x-api-key": format!("sk_live_{hex}9f3Kq"), "Content-Type": "application/json"}),
            Some(json!({"amount": "@{triggerOutputs()?['body/amount']}"})),
        ),
        2 => d.http(
            "Login",
            "POST",
            &format!("https://auth.{domain}/login"),
            json!({"Content-Type": "application/json"}),
            Some(json!({"username": "svc-integration", "password": "Summer2024!Vault#7"})),
        ),
        3 => d.op(
            "Run_query",
            "shared_sql",
            "ExecutePassThroughNativeQuery_V2",
            json!({"server": "default", "database": "default",
                   "connectionString": "Server=tcp:contoso-finance.database.windows.net,1433;Initial Catalog=finance;User ID=sqladmin;Password=Pr0d-Sql!2024;Encrypt=True;",
                   "query/query": "SELECT * FROM dbo.Invoices"}),
        ),
        4 => d.op(
            "Send_report",
            "shared_office365",
            "SendEmailV2",
            json!({"emailMessage/To": format!("ops@{domain}"), "emailMessage/Subject": "Storage settings",
                   "emailMessage/Body": format!("DefaultEndpointsProtocol=https;AccountName=contosoexports;AccountKey={}{}Zq9vXlP0rT3yU6wS8aB1cD4eF7gH0jK2mN5pQ8sV1xY4==;EndpointSuffix=core.windows.net", hex, hex.to_uppercase())}),
        ),
        5 => d.compose(
            "Signing_key",
            json!("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\nNMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ\n-----END PRIVATE KEY-----"),
        ),
        _ => d.compose("Service_account", json!({"username": "svc_batch", "password": format!("Xk9#mQ2!vL7p{}", &hex[..6])})),
    }
    d
}

fn role_assignments(c: &Ctx, rng: &mut ChaCha8Rng) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |principal: Value, role: &str, rng: &mut ChaCha8Rng| {
        let ra = guid(rng);
        out.push(json!({
            "id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{}/roleAssignments/{ra}", c.env),
            "type": "Microsoft.BusinessAppPlatform/scopes/environments/roleAssignments",
            "name": ra,
            "properties": {
                "scope": format!("/providers/Microsoft.BusinessAppPlatform/environments/{}", c.env),
                "roleDefinition": {"id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{}/roleDefinitions/{role}", c.env), "name": role},
                "principal": principal
            }
        }));
    };
    let pool = if c.t.roster.members.is_empty() {
        &c.t.roster.makers
    } else {
        &c.t.roster.members
    };
    for _ in 0..rng.random_range(1..=3) {
        let u = c.user(pool[pick(rng, pool.len())]);
        push(c.principal(u), "EnvironmentAdmin", rng);
    }
    for _ in 0..rng.random_range(1..=4) {
        let u = c.user(c.maker(rng));
        push(c.principal(u), "EnvironmentMaker", rng);
    }
    if c.plan.sku == "Teams" || rng.random_bool(0.3) {
        push(
            json!({"id": c.t.tenant_id, "displayName": "Everyone", "email": null, "type": "Tenant", "tenantId": c.t.tenant_id}),
            "EnvironmentMaker",
            rng,
        );
    }
    for p in &c.plan.plants {
        if let (PlantKind::AdminGoneEnvAdmin | PlantKind::AdminGuestEnvAdmin, Some(u)) =
            (p.kind, p.user)
        {
            push(c.principal(c.user(u)), "EnvironmentAdmin", rng);
        }
    }
    out
}

fn dataverse(c: &Ctx, rng: &mut ChaCha8Rng, index: usize) -> DataverseData {
    let plan = c.plan;
    let org_id = guid(rng);
    let mut d = DataverseData {
        organization: json!({
            "@odata.etag": format!("W/\"{}\"", rng.random_range(100000..999999u32)),
            "organizationid": org_id,
            "name": format!("org{index}"),
            "isauditenabled": plan.audit_enabled,
            "isuseraccessauditenabled": plan.audit_enabled,
            "enablecanvasappsinsolutionsbydefault": plan.solutions_by_default,
            "enableflowsinsolutionbydefault": plan.solutions_by_default,
            "enableflowsinsolutionbydefaultgraceperiod": false,
            "auditretentionperiodv2": 30,
            "languagecode": 1033
        }),
        ..DataverseData::default()
    };
    let n_bu = plan.business_units.clamp(1, 3) as usize;
    let mut bus = Vec::new();
    for b in 0..n_bu {
        let id = guid(rng);
        let parent = if b == 0 { Value::Null } else { json!(bus[0]) };
        d.business_units.push(json!({"businessunitid": id, "name": if b == 0 { format!("org{index}") } else { format!("Division {b}") }, "_parentbusinessunitid_value": parent}));
        bus.push(id);
    }
    let mut sysadmin = Vec::new();
    let mut basic = Vec::new();
    for bu in &bus {
        let sa = guid(rng);
        d.roles.push(json!({"roleid": sa, "name": "System Administrator", "_roletemplateid_value": wk::SYSTEM_ADMIN_TEMPLATE_ID,
                            "_businessunitid_value": bu, "_parentrootroleid_value": sa, "ismanaged": true,
                            "iscustomizable": {"Value": false, "CanBeChanged": false, "ManagedPropertyLogicalName": "iscustomizableanddeletable"}}));
        let bu_role = guid(rng);
        d.roles.push(json!({"roleid": bu_role, "name": "Basic User", "_roletemplateid_value": wk::BASIC_USER_TEMPLATE_ID,
                            "_businessunitid_value": bu, "_parentrootroleid_value": bu_role, "ismanaged": true,
                            "iscustomizable": {"Value": true, "CanBeChanged": true, "ManagedPropertyLogicalName": "iscustomizableanddeletable"}}));
        sysadmin.push(sa);
        basic.push(bu_role);
    }
    let add_user = |d: &mut DataverseData,
                    rng: &mut ChaCha8Rng,
                    u: Option<&User>,
                    app: Option<(&str, &str)>,
                    roles: Vec<String>| {
        let id = guid(rng);
        let row = match (u, app) {
            (Some(u), _) => {
                json!({"systemuserid": id, "domainname": u.upn, "azureactivedirectoryobjectid": u.id, "fullname": u.display_name,
                                  "isdisabled": false, "accessmode": 0, "applicationid": null, "islicensed": true,
                                  "_businessunitid_value": bus[0], "azuredeletedon": null})
            }
            (None, Some((appid, oid))) => {
                json!({"systemuserid": id, "domainname": format!("{appid}@{}", c.t.domain), "azureactivedirectoryobjectid": oid,
                                  "fullname": "# Contoso automation", "isdisabled": false, "accessmode": 4, "applicationid": appid,
                                  "islicensed": false, "_businessunitid_value": bus[0], "azuredeletedon": null})
            }
            _ => return,
        };
        d.system_users.push(row);
        for r in roles {
            d.user_roles.push((id.clone(), r));
        }
    };
    add_user(
        &mut d,
        rng,
        None,
        Some((wk::AUTOMATION_CLIENT_ID, wk::AUTOMATION_SP_OBJECT_ID)),
        vec![sysadmin[0].clone()],
    );
    // Plant holders get their own rows below; keep them out of the background rows.
    let mut seen: Vec<usize> = plan.plants.iter().filter_map(|p| p.user).collect();
    for _ in 0..rng.random_range(3..12) {
        let m = c.maker(rng);
        if seen.contains(&m) {
            continue;
        }
        seen.push(m);
        let b = pick(rng, basic.len());
        add_user(&mut d, rng, Some(c.user(m)), None, vec![basic[b].clone()]);
    }
    for p in &plan.plants {
        let Some(u) = p.user else { continue };
        let roles = match p.kind {
            PlantKind::AdminUser if p.variant == 1 && sysadmin.len() > 1 => {
                vec![sysadmin[0].clone(), sysadmin[1].clone()]
            }
            PlantKind::AdminUser
            | PlantKind::AdminMaker
            | PlantKind::AdminGoneSysAdmin
            | PlantKind::AdminGuestSysAdmin => {
                vec![sysadmin[pick(rng, sysadmin.len())].clone()]
            }
            _ => continue,
        };
        add_user(&mut d, rng, Some(c.user(u)), None, roles);
    }
    d
}
