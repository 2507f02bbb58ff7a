//! The audit stream: a benign background over the 14 days before `now`, the planted attack
//! sequences of PPG-DET-001..017, and the detection configuration they assume.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::catalog::{self, BACKGROUND};
use super::util::{audit_time, guid, pick, skewed};
use crate::tenant::{AuditItem, Doc, PlantedDetection, Tenant, User};

/// Operations the detection configuration calls high-risk (business-hours detection).
const HIGH_RISK: [&str; 5] = [
    "PutConnection",
    "PutPermissions",
    "PowerAppPermissionEdited",
    "RecordScopesConsent",
    "Consent to application.",
];
/// Business hours (UTC, Monday to Friday).
const OPEN_HOUR: u32 = 8;
const CLOSE_HOUR: u32 = 18;

struct Builder<'a> {
    t: &'a Tenant,
    rng: ChaCha8Rng,
    items: Vec<AuditItem>,
}

/// Who acts in an event.
#[derive(Clone)]
struct Actor {
    upn: String,
    oid: String,
    admin: bool,
}

impl Actor {
    fn of(u: &User) -> Self {
        Actor {
            upn: u.upn.clone(),
            oid: u.id.clone(),
            admin: !u.admin_roles.is_empty(),
        }
    }
}

fn allowed_ip(rng: &mut ChaCha8Rng) -> String {
    let first = if rng.random_bool(0.5) { 20 } else { 52 };
    format!(
        "{first}.{}.{}.{}",
        rng.random_range(0..256u32),
        rng.random_range(0..256u32),
        rng.random_range(1..255u32)
    )
}

/// The latest weekday time at `hour:minute` that is at least `min_back` before `now`.
fn weekday_slot(now: DateTime<Utc>, min_back: Duration, hour: u32, minute: u32) -> DateTime<Utc> {
    let limit = now - min_back;
    let mut day = limit.date_naive();
    for _ in 0..10 {
        let t = day
            .and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default())
            .and_utc();
        if t <= limit && !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            return t;
        }
        day = day.pred_opt().unwrap_or(day);
    }
    limit
}

impl Builder<'_> {
    fn env_name(&self, i: usize) -> &str {
        &self.t.environments[i % self.t.environments.len()].name
    }

    fn push(&mut self, at: DateTime<Utc>, record: Value) -> String {
        let id = record
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let delay = self.rng.random_range(20..=120);
        self.items.push(AuditItem {
            available: at + Duration::minutes(delay),
            record: Doc::new(&record),
        });
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn common(
        &mut self,
        at: DateTime<Utc>,
        rt: u32,
        op: &str,
        workload: &str,
        a: &Actor,
        ip: &str,
        object: &str,
    ) -> Value {
        json!({
            "Id": guid(&mut self.rng), "RecordType": rt, "CreationTime": audit_time(at), "Operation": op,
            "OrganizationId": self.t.tenant_id, "UserType": if a.admin { 2 } else { 0 }, "UserKey": a.oid,
            "Workload": workload, "ResultStatus": "Succeeded", "ObjectId": object, "UserId": a.upn,
            "ClientIP": ip, "Scope": 0
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn flow_event(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        a: &Actor,
        env: &str,
        connectors: &str,
        ip: &str,
        recipient: Option<&str>,
    ) -> String {
        let flow = guid(&mut self.rng);
        let mut r = self.common(at, 30, op, "MicrosoftFlow", a, ip, &flow);
        if let Some(o) = r.as_object_mut() {
            let url = if op == "DeleteFlow" {
                String::new()
            } else {
                format!("https://make.powerautomate.com/environments/{env}/flows/{flow}/details")
            };
            o.insert("FlowDetailsUrl".into(), json!(url));
            o.insert("FlowConnectorNames".into(), json!(connectors));
            o.insert("UserUPN".into(), json!(a.upn));
            o.insert("AdditionalInfo".into(), json!(env));
            o.insert("Version".into(), json!(1));
            if op == "DeleteFlow" {
                o.insert("ObjectId".into(), json!(a.oid));
                o.insert("UserTypeInitiated".into(), json!(1));
            }
            if let Some(rcp) = recipient {
                o.insert("RecipientUPN".into(), json!(rcp));
                o.insert("SharingPermission".into(), json!("3"));
                o.insert("UserTypeInitiated".into(), json!(1));
            }
        }
        self.push(at, r)
    }

    fn pp_event(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        a: &Actor,
        env: &str,
        ip: &str,
        extra: &[(&str, String)],
    ) -> String {
        let mut r = self.common(at, 256, op, "PowerPlatform", a, ip, env);
        let id = r
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut props = vec![
            json!({"Name": "type", "Value": "PowerPlatformAdministratorActivityRecord"}),
            json!({"Name": "version", "Value": "1.0"}),
            json!({"Name": "powerplatform.analytics.activity.name", "Value": op}),
            json!({"Name": "powerplatform.analytics.activity.id", "Value": id}),
            json!({"Name": "powerplatform.analytics.resource.environment.id", "Value": env}),
            json!({"Name": "powerplatform.analytics.resource.tenant.id", "Value": self.t.tenant_id}),
            json!({"Name": "powerplatform.analytics.operation.is_successful", "Value": "True"}),
            json!({"Name": "enduser.id", "Value": a.oid}),
            json!({"Name": "enduser.principal_name", "Value": a.upn}),
            json!({"Name": "enduser.role", "Value": if a.admin { "Admin" } else { "User" }}),
            json!({"Name": "enduser.ip_address", "Value": format!("::ffff:{ip}")}),
            json!({"Name": "user_agent.original", "Value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}),
        ];
        for (k, v) in extra {
            props.push(json!({"Name": k, "Value": v}));
        }
        if let Some(o) = r.as_object_mut() {
            o.insert("EnvironmentId".into(), json!(env));
            o.insert("Version".into(), json!(1));
            o.insert("RequiresCustomerKeyEncryption".into(), json!(false));
            o.insert("PropertyCollection".into(), Value::Array(props));
        }
        self.push(at, r)
    }

    #[allow(clippy::too_many_arguments)]
    fn app_event(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        a: &Actor,
        env: &str,
        ip: &str,
        app: &str,
        extra: &[(&str, String)],
    ) -> String {
        let mut e: Vec<(&str, String)> = vec![
            ("powerplatform.analytics.resource.type", "PowerApp".into()),
            (
                "powerplatform.analytics.resource.power_app.id",
                app.to_string(),
            ),
            (
                "powerplatform.analytics.resource.power_app.display_name",
                "Expense tracker".into(),
            ),
        ];
        e.extend_from_slice(extra);
        self.pp_event(at, op, a, env, ip, &e)
    }

    fn crm_event(
        &mut self,
        at: DateTime<Utc>,
        message: &str,
        a: &Actor,
        entity: &str,
        ip: &str,
    ) -> String {
        let entity_id = guid(&mut self.rng);
        let mut r = self.common(at, 21, message, "CRM", a, ip, &entity_id);
        if let Some(o) = r.as_object_mut() {
            o.insert("CrmOrganizationUniqueName".into(), json!("unqorg"));
            o.insert("InstanceUrl".into(), json!("https://org.crm4.dynamics.com"));
            o.insert("ItemType".into(), json!(entity));
            o.insert("Message".into(), json!(message));
            o.insert("EntityId".into(), json!(entity_id));
            o.insert("EntityName".into(), json!(entity));
            o.insert("UserUpn".into(), json!(a.upn));
            o.insert("CorrelationId".into(), json!(guid(&mut self.rng)));
            o.insert("UserAgent".into(), json!("Mozilla/5.0"));
            o.insert("Fields".into(), json!([]));
        }
        self.push(at, r)
    }

    fn entra_event(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        a: &Actor,
        target: &str,
        target_ids: &[String],
        modified: Value,
    ) -> String {
        let mut r = self.common(at, 8, op, "AzureActiveDirectory", a, "", target);
        if let Some(o) = r.as_object_mut() {
            o.insert("ClientIP".into(), Value::Null);
            o.insert("AzureActiveDirectoryEventType".into(), json!(1));
            o.insert("ModifiedProperties".into(), modified);
            // Entra targets name the object by id (`User_<oid>`, `<oid>`) and by UPN (type 5).
            let mut targets = vec![json!({"Type": 1, "ID": target})];
            for id in target_ids {
                targets.insert(0, json!({"Type": 2, "ID": id}));
            }
            o.insert("Target".into(), Value::Array(targets));
            o.insert("Actor".into(), json!([{"Type": 5, "ID": a.upn}]));
        }
        self.push(at, r)
    }
}

/// Audit items, planted detections and the detection configuration.
pub fn build(
    t: &Tenant,
    seed: u64,
    background: usize,
) -> (Vec<AuditItem>, Vec<PlantedDetection>, Value) {
    let mut b = Builder {
        t,
        rng: super::util::rng_for(seed, super::util::STREAM_AUDIT),
        items: Vec::with_capacity(background + 11_000),
    };
    let now = t.now;
    let users = &t.directory.users;
    let roster = &t.roster;
    let admin = Actor::of(&users[0]);
    let maker = |i: usize| Actor::of(&users[roster.makers[i % roster.makers.len()]]);
    let member = |i: usize| {
        let pool = if roster.members.len() > 8 {
            &roster.members
        } else {
            &roster.makers
        };
        Actor::of(&users[pool[i % pool.len()]])
    };
    // Parts: members 0..4 are reserved for attacks and have no background activity.
    let departing = member(0);
    let exporter = member(1);
    let spiker = member(2);
    let auditor_off = member(3);
    let sharer = maker(1);
    let rogue_sharer = maker(3);
    let bulk_flow_deleter = maker(2);
    let bulk_app_deleter = maker(4);
    let geo = maker(5);
    let elevator = maker(6);
    let night = maker(7);
    let consenter = maker(8);
    let blocked_maker = maker(9);
    let sensitive_env = t
        .environments
        .iter()
        .skip(1)
        .find(|e| e.plan.is_prod())
        .map(|e| e.name.clone())
        .unwrap_or_else(|| t.environments[0].name.clone());
    let authorised = vec![admin.upn.clone(), sharer.upn.clone(), maker(0).upn.clone()];
    let n_env = t.environments.len();
    let reserved_members = 4.min(roster.members.len());

    // Background.
    let start = now - Duration::days(14);
    let span = (14 * 86_400 - 3 * 3600) as i64;
    for _ in 0..background {
        let r: u32 = b.rng.random_range(0..1000);
        let at = start + Duration::seconds(b.rng.random_range(0..span));
        let ip = allowed_ip(&mut b.rng);
        let env_i = skewed(&mut b.rng, n_env);
        let env = b.env_name(env_i).to_string();
        // Makers 0..13 play parts in the attacks; the background draws from the rest.
        let bg_from = if roster.makers.len() > 18 { 13 } else { 0 };
        let a = maker(bg_from + skewed(&mut b.rng, roster.makers.len() - bg_from));
        match r {
            0..=299 => {
                let app = guid(&mut b.rng);
                let who = if roster.members.len() > reserved_members && b.rng.random_bool(0.5) {
                    Actor::of(
                        &users[roster.members[reserved_members
                            + pick(&mut b.rng, roster.members.len() - reserved_members)]],
                    )
                } else {
                    a
                };
                b.app_event(at, "LaunchPowerApp", &who, &env, &ip, &app, &[]);
            }
            300..=449 => {
                let names = connector_names(&mut b.rng);
                b.flow_event(at, "EditFlow", &a, &env, &names, &ip, None);
            }
            450..=499 => {
                let names = connector_names(&mut b.rng);
                b.flow_event(at, "CreateFlow", &a, &env, &names, &ip, None);
            }
            500..=509 => {
                b.flow_event(at, "DeleteFlow", &a, &env, "", &ip, None);
            }
            510..=559 => {
                let app = guid(&mut b.rng);
                let op =
                    ["CreatePowerApp", "PublishPowerApp", "PatchPowerApp"][pick(&mut b.rng, 3)];
                b.app_event(at, op, &a, &env, &ip, &app, &[]);
            }
            560..=579 => {
                // High-risk operations happen in business hours, never in the sensitive environment.
                let env = if env == sensitive_env {
                    t.environments[0].name.clone()
                } else {
                    env
                };
                let at = business_hours(&mut b.rng, now);
                let conn = format!("shared-office365-{}", guid(&mut b.rng));
                b.pp_event(
                    at,
                    "PutConnection",
                    &a,
                    &env,
                    &ip,
                    &[("powerplatform.analytics.resource.connection.id", conn)],
                );
            }
            580..=599 => {
                let at = business_hours(&mut b.rng, now);
                let who = if b.rng.random_bool(0.5) {
                    sharer.clone()
                } else {
                    maker(0)
                };
                let rcp = maker(10 + pick(&mut b.rng, 20)).upn;
                if b.rng.random_bool(0.5) {
                    b.flow_event(
                        at,
                        "PutPermissions",
                        &who,
                        &env,
                        "SharePoint, Office 365 Outlook",
                        &ip,
                        Some(&rcp),
                    );
                } else {
                    let app = guid(&mut b.rng);
                    let target = maker(10 + pick(&mut b.rng, 20)).oid;
                    b.app_event(
                        at,
                        "PowerAppPermissionEdited",
                        &who,
                        &env,
                        &ip,
                        &app,
                        &[
                            (
                                "powerplatform.analytics.resource.permission_type",
                                "CanView".into(),
                            ),
                            ("targetuser.id", target),
                        ],
                    );
                }
            }
            600..=602 => {
                let at = business_hours(&mut b.rng, now);
                b.pp_event(at, "ApplyAdminRole", &admin, &env, &ip, &[]);
            }
            _ => {
                let who = if roster.members.len() > reserved_members && b.rng.random_bool(0.5) {
                    Actor::of(
                        &users[roster.members[reserved_members
                            + pick(&mut b.rng, roster.members.len() - reserved_members)]],
                    )
                } else {
                    a
                };
                let msg = ["Retrieve", "RetrieveMultiple", "Update", "Create"][pick(&mut b.rng, 4)];
                let entity = ["account", "contact", "incident", "opportunity"][pick(&mut b.rng, 4)];
                b.crm_event(at, msg, &who, entity, &ip);
            }
        }
    }
    // Benign DLP churn: created and updated within 10 minutes (must not fire DET-006).
    let at = weekday_slot(now, Duration::days(5), 10, 5);
    let benign_policy = guid(&mut b.rng);
    for (op, dt) in [("CreateDlpPolicy", 0), ("UpdateDlpPolicy", 4)] {
        dlp_event(
            &mut b,
            at + Duration::minutes(dt),
            op,
            &admin,
            &benign_policy,
        );
    }
    // Invitations of the new guests.
    for &g in &roster.new_guests {
        let u = &users[g];
        if let Some(inv) = u.invited {
            let m = json!([{"Name": "UserPrincipalName", "NewValue": u.upn, "OldValue": ""}]);
            let ids = [format!("User_{}", u.id), u.id.clone()];
            b.entra_event(inv, "Invite external user.", &sharer, &u.upn, &ids, m);
        }
    }

    let mut det: Vec<PlantedDetection> = Vec::new();
    let mut plant = |id: &str, actor: &Actor, ids: Vec<String>| {
        det.push(PlantedDetection {
            detection_id: id.to_string(),
            actor: actor.upn.clone(),
            event_ids: ids,
        });
    };
    let ip = |b: &mut Builder| allowed_ip(&mut b.rng);

    // DET-001: 12 flow deletions in one hour after 14 quiet days.
    let at = weekday_slot(now, Duration::days(1), 10, 0);
    let mut ids = Vec::new();
    for k in 0..12 {
        let i = ip(&mut b);
        ids.push(b.flow_event(
            at + Duration::minutes(k * 4),
            "DeleteFlow",
            &bulk_flow_deleter,
            &t.environments[0].name,
            "",
            &i,
            None,
        ));
    }
    plant("PPG-DET-001", &bulk_flow_deleter, ids);

    // DET-002: 26 app deletions across environments in one hour; baseline of ~3 events per
    // active hour keeps it below the spike threshold.
    // Each active hour's four launches fall in one clock hour, so the actor's hourly baseline
    // is four whatever minute `now` has.
    let hour0 = start - Duration::seconds(start.timestamp().rem_euclid(3600));
    for h in 0..40 {
        let at = hour0 + Duration::hours(6 + h * 7);
        for k in 0..4 {
            let i = ip(&mut b);
            let app = guid(&mut b.rng);
            let env = b.env_name(k as usize).to_string();
            b.app_event(
                at + Duration::minutes(k * 10),
                "LaunchPowerApp",
                &bulk_app_deleter,
                &env,
                &i,
                &app,
                &[],
            );
        }
    }
    let at = weekday_slot(now, Duration::days(2), 14, 0);
    let mut ids = Vec::new();
    for k in 0..26 {
        let i = ip(&mut b);
        let app = guid(&mut b.rng);
        let env = b.env_name(k % 10.min(n_env)).to_string();
        ids.push(b.app_event(
            at + Duration::minutes(k as i64 * 2),
            "DeletePowerApp",
            &bulk_app_deleter,
            &env,
            &i,
            &app,
            &[],
        ));
    }
    plant("PPG-DET-002", &bulk_app_deleter, ids);

    // DET-003: a departing user creates a flow.
    let at = weekday_slot(now, Duration::days(3), 11, 20);
    let i = ip(&mut b);
    let e = b.env_name(0).to_string();
    let id = b.flow_event(
        at,
        "CreateFlow",
        &departing,
        &e,
        "SharePoint, Office 365 Outlook",
        &i,
        None,
    );
    plant("PPG-DET-003", &departing, vec![id]);

    // DET-004: one app shared to five newly invited guests within the hour.
    let at = weekday_slot(now, Duration::hours(6), 15, 0);
    let app = guid(&mut b.rng);
    let mut ids = Vec::new();
    for (k, &g) in roster.new_guests.iter().take(5).enumerate() {
        let i = ip(&mut b);
        let e = b.env_name(0).to_string();
        ids.push(b.app_event(
            at + Duration::minutes(k as i64 * 3),
            "PowerAppPermissionEdited",
            &sharer,
            &e,
            &i,
            &app,
            &[
                (
                    "powerplatform.analytics.resource.permission_type",
                    "CanEdit".into(),
                ),
                ("targetuser.id", users[g].id.clone()),
            ],
        ));
    }
    plant("PPG-DET-004", &sharer, ids);

    // DET-005: a connection created in the sensitive environment.
    let at = weekday_slot(now, Duration::days(4), 9, 40);
    let i = ip(&mut b);
    let conn = format!("shared-sql-{}", guid(&mut b.rng));
    let id = b.pp_event(
        at,
        "PutConnection",
        &maker(11),
        &sensitive_env,
        &i,
        &[("powerplatform.analytics.resource.connection.id", conn)],
    );
    plant("PPG-DET-005", &maker(11), vec![id]);

    // DET-006: a policy updated 40 minutes after creation, then deleted.
    let at = weekday_slot(now, Duration::days(6), 9, 0);
    let policy = guid(&mut b.rng);
    dlp_event(&mut b, at, "CreateDlpPolicy", &admin, &policy);
    let up = dlp_event(
        &mut b,
        at + Duration::minutes(40),
        "UpdateDlpPolicy",
        &admin,
        &policy,
    );
    let del = dlp_event(
        &mut b,
        at + Duration::hours(2),
        "DeleteDlpPolicy",
        &admin,
        &policy,
    );
    plant("PPG-DET-006", &admin, vec![up]);
    plant("PPG-DET-006", &admin, vec![del]);

    // DET-007: tenant isolation turned off, then an environment's security group removed.
    let at = weekday_slot(now, Duration::days(8), 10, 30);
    let i = ip(&mut b);
    let e = b.env_name(0).to_string();
    let iso_off = b.pp_event(
        at,
        "TenantIsolationOperation",
        &admin,
        &e,
        &i,
        &[(
            "powerplatform.analytics.resource.tenant.isolation_policy.enabled",
            "False".into(),
        )],
    );
    let at2 = weekday_slot(now, Duration::days(7), 11, 0);
    let env = sensitive_env.clone();
    let sg = b.pp_event(at2, "EnvironmentPropertyChange", &admin, &env, &i, &[
        ("powerplatform.analytics.resource.environment.name", "Finance Prod".into()),
        ("powerplatform.analytics.resource.environment.url", "https://orgfinance.crm4.dynamics.com/".into()),
        ("powerplatform.analytics.resource.environment.property_change", "Property: SecurityGroupId, Old Value: 5f1c3b2a-9d8e-4f7a-b6c5-1a2b3c4d5e6f, New Value: ".into()),
    ]);
    plant("PPG-DET-007", &admin, vec![iso_off, sg]);

    // DET-008: activity by an account outside the tenant's domains.
    let outsider = Actor {
        upn: "mallory@outsider-corp.example".into(),
        oid: guid(&mut b.rng),
        admin: false,
    };
    let at = weekday_slot(now, Duration::days(2), 13, 10);
    let i = ip(&mut b);
    let e = b.env_name(1).to_string();
    let id = b.flow_event(at, "EditFlow", &outsider, &e, "SharePoint", &i, None);
    plant("PPG-DET-008", &outsider, vec![id]);

    // DET-009: a flow created with a blocked connector.
    let at = weekday_slot(now, Duration::days(3), 14, 45);
    let i = ip(&mut b);
    let e = b.env_name(1).to_string();
    let id = b.flow_event(
        at,
        "CreateFlow",
        &blocked_maker,
        &e,
        "FTP, Office 365 Outlook",
        &i,
        None,
    );
    plant("PPG-DET-009", &blocked_maker, vec![id]);

    // DET-010: sharing by someone not on the authorised-sharers list.
    let at = weekday_slot(now, Duration::days(4), 15, 15);
    let i = ip(&mut b);
    let e = b.env_name(0).to_string();
    let rcp = maker(12).upn;
    let id = b.flow_event(
        at,
        "PutPermissions",
        &rogue_sharer,
        &e,
        "SharePoint",
        &i,
        Some(&rcp),
    );
    plant("PPG-DET-010", &rogue_sharer, vec![id]);

    // DET-011: a high-risk operation at night.
    let at = weekday_slot(now, Duration::days(5), 2, 30);
    let i = ip(&mut b);
    let e = b.env_name(0).to_string();
    let conn = format!("shared-office365-{}", guid(&mut b.rng));
    let id = b.pp_event(
        at,
        "PutConnection",
        &night,
        &e,
        &i,
        &[("powerplatform.analytics.resource.connection.id", conn)],
    );
    plant("PPG-DET-011", &night, vec![id]);

    // DET-012: activity from a denied country's address range.
    let at = weekday_slot(now, Duration::days(2), 10, 50);
    let app = guid(&mut b.rng);
    let e = b.env_name(0).to_string();
    let id = b.app_event(at, "LaunchPowerApp", &geo, &e, "203.0.113.45", &app, &[]);
    plant("PPG-DET-012", &geo, vec![id]);

    // DET-013: 60 operations in one hour by an actor whose usual hour has one.
    for h in 0..20 {
        let at = start + Duration::hours(5 + h * 13);
        let i = ip(&mut b);
        let app = guid(&mut b.rng);
        let e = b.env_name(0).to_string();
        b.app_event(at, "LaunchPowerApp", &spiker, &e, &i, &app, &[]);
    }
    let at = weekday_slot(now, Duration::days(1), 16, 0);
    let mut ids = Vec::new();
    for k in 0..60 {
        let i = ip(&mut b);
        let app = guid(&mut b.rng);
        let e = b.env_name(k).to_string();
        let op = if k % 2 == 0 {
            "LaunchPowerApp"
        } else {
            "PatchPowerApp"
        };
        ids.push(b.app_event(
            at + Duration::seconds(k as i64 * 55),
            op,
            &spiker,
            &e,
            &i,
            &app,
            &[],
        ));
    }
    plant("PPG-DET-013", &spiker, ids);

    // DET-014: self-elevation by someone not on the allow-list.
    let at = weekday_slot(now, Duration::days(3), 9, 5);
    let i = ip(&mut b);
    let e = b.env_name(1).to_string();
    let id = b.pp_event(at, "ApplyAdminRole", &elevator, &e, &i, &[]);
    plant("PPG-DET-014", &elevator, vec![id]);

    // DET-015: consent, both kinds.
    let at = weekday_slot(now, Duration::days(6), 13, 30);
    let i = ip(&mut b);
    let app = guid(&mut b.rng);
    let e = b.env_name(0).to_string();
    let id = b.app_event(at, "RecordScopesConsent", &consenter, &e, &i, &app, &[]);
    plant("PPG-DET-015", &consenter, vec![id]);
    let m = json!([{"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
                   {"Name": "ConsentAction.Permissions", "NewValue": "Scope: Mail.Read offline_access", "OldValue": ""}]);
    let id = b.entra_event(
        at + Duration::minutes(20),
        "Consent to application.",
        &consenter,
        "Mail Helper Pro",
        &[],
        m,
    );
    plant("PPG-DET-015", &consenter, vec![id]);

    // DET-016: Dataverse auditing turned off and audit data deleted.
    let at = weekday_slot(now, Duration::days(9), 10, 0);
    let i = ip(&mut b);
    let id = b.crm_event(
        at,
        "Disable Organization Audit",
        &auditor_off,
        "organization",
        &i,
    );
    plant("PPG-DET-016", &auditor_off, vec![id]);
    let id = b.crm_event(
        at + Duration::minutes(30),
        "DeleteAuditData",
        &auditor_off,
        "audit",
        &i,
    );
    plant("PPG-DET-016", &auditor_off, vec![id]);

    // DET-017: 10,050 record deletions by one user in one business day.
    let day = weekday_slot(now, Duration::days(10), 8, 0);
    let mut ids = Vec::with_capacity(10_050);
    let i = ip(&mut b);
    for k in 0..10_050i64 {
        ids.push(b.crm_event(
            day + Duration::seconds(k * 3),
            "Delete",
            &exporter,
            "contact",
            &i,
        ));
    }
    plant("PPG-DET-017", &exporter, ids);

    // About 0.5% duplicates: the same record served twice (the API does not de-duplicate).
    let n = b.items.len();
    for k in (0..n).step_by(200) {
        let mut dup = b.items[k].clone();
        dup.available += Duration::minutes(b.rng.random_range(1..60));
        b.items.push(dup);
    }

    let config = json!({
        "departing_users": [departing.upn],
        "sensitive_environments": [sensitive_env],
        "authorised_sharers": authorised,
        "business_hours": {"time_zone": "UTC", "days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "start": format!("{OPEN_HOUR:02}:00"), "end": format!("{CLOSE_HOUR:02}:00")},
        "high_risk_operations": HIGH_RISK,
        "country_deny_list": ["KP", "RU"],
        "ip_ranges": [
            {"cidr": "20.0.0.0/8", "country": "NL"},
            {"cidr": "52.0.0.0/8", "country": "US"},
            {"cidr": "203.0.113.0/24", "country": "KP"},
            {"cidr": "198.51.100.0/24", "country": "RU"}
        ],
        "elevation_allow_list": [admin.upn],
        "blocked_connectors": [{"id": catalog::api_id(catalog::BLOCKED), "name": catalog::meta(catalog::BLOCKED).0}],
        "tenant_domains": [t.domain],
        "bulk_flow_delete": {"min": 10, "window_minutes": 60},
        "bulk_app_delete": {"min": 25, "min_environments": 10, "window_minutes": 60},
        "new_guest_sharing": {"min": 5, "guest_age_days": 14, "window_minutes": 60},
        "dlp_update_grace_minutes": 10,
        "activity_spike": {"factor": 10, "min_events": 20, "baseline": "median of the actor's non-zero hourly counts over the 14-day window"},
        "mass_record_operations": {"min": 10000, "per": "user per UTC day"}
    });
    (b.items, det, config)
}

fn dlp_event(b: &mut Builder, at: DateTime<Utc>, op: &str, a: &Actor, policy: &str) -> String {
    let i = allowed_ip(&mut b.rng);
    let tenant = b.t.tenant_id.clone();
    b.pp_event(
        at,
        "GovernanceApiPolicyOperation",
        a,
        &tenant,
        &i,
        &[
            (
                "powerplatform.analytics.resource.tenant.governance.api_policy.operation_name",
                op.to_string(),
            ),
            (
                "powerplatform.analytics.resource.tenant.governance.api_policy.operation_result",
                "Succeeded".into(),
            ),
            ("powerplatform.analytics.resource.id", policy.to_string()),
            ("powerplatform.analytics.resource.type", "ApiPolicy".into()),
            (
                "powerplatform.analytics.resource.display_name",
                "Temporary policy".into(),
            ),
        ],
    )
}

fn connector_names(rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(1..=3usize);
    let mut v: Vec<&str> = Vec::new();
    for _ in 0..n {
        let name = catalog::meta(BACKGROUND[pick(rng, BACKGROUND.len())]).0;
        if !v.contains(&name) {
            v.push(name);
        }
    }
    v.join(", ")
}

/// A random weekday business-hours time in the last 14 days (at least 3 hours ago).
fn business_hours(rng: &mut ChaCha8Rng, now: DateTime<Utc>) -> DateTime<Utc> {
    let back = Duration::hours(rng.random_range(3..(11 * 24)));
    weekday_slot(
        now,
        back,
        rng.random_range(OPEN_HOUR..CLOSE_HOUR - 1),
        rng.random_range(0..60),
    )
}
