//! `ppgov doctor`: one cheap read per API family, so an admin setting ppgov up learns in one run
//! what is missing and how to fix it (seed 004 lists the set-up steps and their failure modes).
//!
//! Each check turns the error an API gives into a plain problem and a concrete fix.

use futures::StreamExt;
use ppgov_auth::{AuthError, TokenSource, diagnose};
use ppgov_client::{
    BapClient, ClientError, DataverseClient, DlpClient, FlowClient, GraphClient, ManagementClient,
    PowerAppsClient, PowerPlatformClient, Transport,
};
use ppgov_config::Endpoints;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Works.
    Ok,
    /// Works, with a limitation worth knowing.
    Warn,
    /// Does not work.
    Fail,
    /// Not checked, because an earlier check it depends on failed.
    Skipped,
}

/// One line of the doctor's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (API family).
    pub name: String,
    /// How it went.
    pub status: Status,
    /// What ppgov saw.
    pub detail: String,
    /// What to do, when something is wrong.
    pub fix: Option<String>,
}

fn check(name: &str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Check {
    Check {
        name: name.to_string(),
        status,
        detail: detail.into(),
        fix,
    }
}

/// The store check: `opened` is what opening the tenant's stores as every command does said
/// (where they are, or why they cannot be used).
pub fn store_check(opened: Result<String, String>) -> Check {
    match opened {
        Ok(detail) => check("store", Status::Ok, detail, None),
        Err(e) => check(
            "store",
            Status::Fail,
            e,
            Some(
                "check [store] in ppgov.toml: the path must be a writable folder, and with `url` \
                 the PostgreSQL server must be reachable and the role NOSUPERUSER NOBYPASSRLS"
                    .into(),
            ),
        ),
    }
}

/// Who ppgov signs in as, for fixes that name it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Tenant id.
    pub tenant_id: String,
    /// Client (application) id.
    pub client_id: String,
    /// True for user sign-in (password, device code).
    pub delegated: bool,
}

/// Explains an API error in plain words with its fix.
pub fn explain(
    err: &ClientError,
    who: &Identity,
    endpoints: &Endpoints,
) -> (String, Option<String>) {
    let text = err.to_string();
    let status = err.status();
    if let ClientError::Auth { source, .. } = err {
        let d = diagnose(source);
        return (d.problem, Some(d.fix));
    }
    if matches!(err, ClientError::NotManagementApp { .. })
        || (status == Some(403) && text.contains("does not have permission to access the path"))
    {
        let url = format!(
            "{}/providers/Microsoft.BusinessAppPlatform/adminApplications/{}?api-version=2020-10-01",
            endpoints.bap.as_str().trim_end_matches('/'),
            who.client_id
        );
        return (
            "the service principal is not registered as a Power Platform management application"
                .into(),
            Some(format!(
                "a Power Platform administrator registers it once: PUT {url} (no body), or New-PowerAppManagementApp -ApplicationId {}",
                who.client_id
            )),
        );
    }
    if (text.contains("does not exist.") && text.contains("Tenant"))
        || err.code().is_some_and(|c| c == "AF20012" || c == "AF20011")
    {
        return (
            "unified audit logging is not enabled for this tenant, so the Management Activity API has nothing to serve".into(),
            Some("turn on auditing in Microsoft Purview (Audit > Start recording user and admin activity) or run `Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true` in Exchange Online PowerShell; content appears within hours".into()),
        );
    }
    match status {
        Some(401) => ("the API refused the token (401)".into(), Some("check the tenant id and that the app registration has the API permission with admin consent".into())),
        Some(403) => ("access denied (403)".into(), Some("grant the identity the Power Platform Administrator role (or the API permission this family needs) and admin consent".into())),
        Some(429) => ("throttled".into(), Some("retry later; ppgov backs off automatically during crawls".into())),
        _ => (text, None),
    }
}

async fn first<T: serde::de::DeserializeOwned + Send + 'static>(
    mut s: ppgov_client::ItemStream<T>,
) -> Result<Option<T>, ClientError> {
    s.next().await.transpose()
}

/// Runs every check. Never fails as a whole: each problem is a row.
pub async fn run(
    tokens: Arc<dyn TokenSource>,
    transport: Transport,
    endpoints: &Endpoints,
    who: &Identity,
) -> Vec<Check> {
    let mut out = Vec::new();
    // Sign-in, per audience: a failure here explains every API failure below it.
    let mut signed_in = true;
    for (family, scope) in endpoints.scopes.named() {
        let name = format!("sign-in: {family}");
        let name = name.as_str();
        match tokens.token(scope).await {
            Ok(_) => out.push(check(name, Status::Ok, "token issued", None)),
            Err(e) => {
                signed_in = false;
                let d = diagnose(&e);
                let detail = match &e {
                    AuthError::Refused {
                        aadsts: Some(code), ..
                    } => format!("AADSTS{code}: {}", d.problem),
                    _ => d.problem,
                };
                out.push(check(name, Status::Fail, detail, Some(d.fix)));
            }
        }
        if !signed_in {
            out.push(check(
                "APIs",
                Status::Skipped,
                "not checked: sign-in failed",
                Some("fix sign-in first".into()),
            ));
            return out;
        }
    }

    let fail = |name: &str, e: &ClientError| {
        let (detail, fix) = explain(e, who, endpoints);
        check(name, Status::Fail, detail, fix)
    };
    let bap = BapClient::new(transport.clone(), endpoints);
    let listed: Result<Vec<ppgov_model::bap::Environment>, ClientError> = bap
        .list_environments(&[])
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect();
    let envs = match listed {
        Ok(envs) => {
            out.push(check(
                "BAP environments",
                Status::Ok,
                format!("{} environments", envs.len()),
                None,
            ));
            envs
        }
        Err(e) => {
            out.push(fail("BAP environments", &e));
            Vec::new()
        }
    };
    let probe_env = envs
        .iter()
        .find(|e| e.is_default())
        .or(envs.first())
        .map(|e| e.name.clone());
    match bap.list_tenant_settings::<Value>().await {
        Ok(_) => out.push(check("tenant settings", Status::Ok, "readable", None)),
        Err(e) => out.push(fail("tenant settings", &e)),
    }
    match first(DlpClient::new(transport.clone(), endpoints).list_policies_v2::<Value>()).await {
        Ok(_) => out.push(check("DLP policies (GOV v2)", Status::Ok, "readable", None)),
        Err(e) => out.push(fail("DLP policies (GOV v2)", &e)),
    }
    match &probe_env {
        Some(env) => {
            match first(PowerAppsClient::new(transport.clone(), endpoints).list_apps::<Value>(env))
                .await
            {
                Ok(_) => out.push(check(
                    "Power Apps",
                    Status::Ok,
                    format!("apps of {env} readable"),
                    None,
                )),
                Err(e) => out.push(fail("Power Apps", &e)),
            }
            match first(FlowClient::new(transport.clone(), endpoints).list_flows::<Value>(env))
                .await
            {
                Ok(_) => out.push(check(
                    "Power Automate",
                    Status::Ok,
                    format!("flows of {env} readable"),
                    None,
                )),
                Err(e) => out.push(fail("Power Automate", &e)),
            }
        }
        None => out.push(check(
            "Power Apps / Power Automate",
            Status::Skipped,
            "no environment to probe",
            None,
        )),
    }
    let dataverse = envs.iter().find(|e| e.has_dataverse()).and_then(|e| {
        let lem = e.properties.linked_environment_metadata.as_ref()?;
        let u = lem
            .instance_api_url
            .as_deref()
            .or(lem.instance_url.as_deref())?;
        url::Url::parse(u).ok().map(|u| (e.name.clone(), u))
    });
    match dataverse {
        // The instance URL comes from BAP: checked against the cloud's Dataverse domains first.
        Some((env, url)) => match match endpoints.check_dataverse_url(&url) {
            Ok(()) => DataverseClient::new(transport.clone(), &url, 1),
            Err(reason) => Err(ppgov_client::ClientError::UntrustedHost {
                url: url.to_string(),
                reason,
            }),
        } {
            Ok(c) => match c.organization::<Value>().await {
                Ok(_) => out.push(check(
                    "Dataverse",
                    Status::Ok,
                    format!("organization settings of {env} readable"),
                    None,
                )),
                Err(e) => {
                    let (detail, fix) = explain(&e, who, endpoints);
                    let fix = fix.or_else(|| Some("add the service principal as an application user with the System Administrator role (BAP addAppUser) in each Dataverse environment".into()));
                    out.push(check("Dataverse", Status::Fail, detail, fix));
                }
            },
            Err(e) => out.push(fail("Dataverse", &e)),
        },
        None => out.push(check(
            "Dataverse",
            Status::Skipped,
            "no Dataverse environment visible",
            None,
        )),
    }
    let inv = serde_json::json!({"TableName": "PowerPlatformResources", "Clauses": [{"$type": "take", "TakeCount": 1}], "Options": {"Top": 1}});
    match first(PowerPlatformClient::new(transport.clone(), endpoints).inventory_query::<Value>(&inv, 1)).await {
        Ok(_) => out.push(check("inventory API", Status::Ok, "fast tenant-wide listing available", None)),
        Err(e) if e.status() == Some(403) && !who.delegated => out.push(check(
            "inventory API",
            Status::Warn,
            "the inventory API refuses app-only tokens (403): it serves delegated users only",
            Some("sign in as a Power Platform administrator (device code or password) to use the fast path; crawls still work per environment without it".into()),
        )),
        Err(e) => out.push(fail("inventory API", &e)),
    }
    match GraphClient::new(transport.clone(), endpoints)
        .get_user::<Value>("00000000-0000-0000-0000-000000000000", "id")
        .await
    {
        Ok(_) => out.push(check(
            "Microsoft Graph",
            Status::Ok,
            "users can be resolved",
            None,
        )),
        Err(e) => {
            let (detail, fix) = explain(&e, who, endpoints);
            out.push(check("Microsoft Graph", Status::Fail, detail, fix.or_else(|| Some("grant User.Read.All and GroupMember.Read.All (application) with admin consent".into()))));
        }
    }
    match ManagementClient::new(transport.clone(), endpoints, &who.tenant_id, None) {
        Ok(m) => match m.list_subscriptions::<Value>().await {
            Ok(_) => out.push(check(
                "Management Activity API",
                Status::Ok,
                "audit subscriptions readable",
                None,
            )),
            Err(e) => out.push(fail("Management Activity API", &e)),
        },
        Err(e) => out.push(fail("Management Activity API", &e)),
    }
    out
}
