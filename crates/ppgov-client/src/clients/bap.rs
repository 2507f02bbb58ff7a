//! BAP (`api.bap.microsoft.com/providers/Microsoft.BusinessAppPlatform`): environments, tenant
//! settings, tenant isolation, role assignments, management-app registration.

use super::seg;
use crate::error::ClientError;
use crate::paging::{ItemStream, link_stream_at};
use crate::transport::{Request, Response, Transport, build_url};
use ppgov_config::Endpoints;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

const BAP: &str = "/providers/Microsoft.BusinessAppPlatform";
const GOV: &str = "/providers/PowerPlatform.Governance";
const BAE: &str = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments";

/// BAP admin client.
#[derive(Debug, Clone)]
pub struct BapClient {
    t: Transport,
    base: Url,
    scope: String,
}

impl BapClient {
    /// A client on `endpoints.bap` with the Power Apps scope.
    pub fn new(transport: Transport, endpoints: &Endpoints) -> Self {
        BapClient {
            t: transport,
            base: endpoints.bap.clone(),
            scope: endpoints.scopes.powerapps.clone(),
        }
    }

    fn url(&self, path: &str, q: &[(&str, &str)]) -> Result<Url, ClientError> {
        build_url(&self.base, path, q)
    }

    /// E1: all environments (admin view); `expand` e.g. `["properties.capacity"]`.
    pub fn list_environments<T: DeserializeOwned + Send + 'static>(
        &self,
        expand: &[&str],
    ) -> ItemStream<T> {
        let joined = expand.join(",");
        let mut q = vec![("api-version", "2023-06-01")];
        if !joined.is_empty() {
            q.push(("$expand", joined.as_str()));
        }
        link_stream_at(&self.t, self.url(BAE, &q), &self.scope)
    }

    /// E2: one environment.
    pub async fn get_environment<T: DeserializeOwned>(
        &self,
        env: &str,
        expand: &[&str],
    ) -> Result<T, ClientError> {
        let joined = expand.join(",");
        let mut q = vec![("api-version", "2023-06-01")];
        if !joined.is_empty() {
            q.push(("$expand", joined.as_str()));
        }
        let u = self.url(&format!("{BAE}/{}", seg(env)), &q)?;
        self.t.get_json(u, &self.scope).await
    }

    /// E3: partial update (e.g. security group), waiting out busy environments and polling the
    /// lifecycle operation to its end.
    pub async fn patch_environment<B: Serialize + ?Sized>(
        &self,
        env: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{BAE}/{}", seg(env)),
            &[("api-version", "2021-04-01")],
        )?;
        self.t
            .send_and_wait(Request::new(Method::PATCH, u, &self.scope).json(body)?)
            .await
    }

    /// E5: Managed Environment on (`{"protectionLevel":"Standard",...}`) or off (`Basic`),
    /// polled to completion.
    pub async fn set_governance_configuration<B: Serialize + ?Sized>(
        &self,
        env: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{BAP}/environments/{}/governanceConfiguration", seg(env)),
            &[("api-version", "2021-04-01")],
        )?;
        self.t
            .send_and_wait(Request::post(u, &self.scope).json(body)?)
            .await
    }

    /// E7: tenant settings. Decode into `serde_json::Value` (or a type with a flattened
    /// `extra` map) to keep keys this build does not know.
    pub async fn list_tenant_settings<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        let u = self.url(
            &format!("{BAP}/listTenantSettings"),
            &[("api-version", "2023-06-01")],
        )?;
        // A read despite the POST: safe to retry.
        self.t
            .send_json(
                Request::post(u, &self.scope)
                    .json(&serde_json::json!({}))?
                    .idempotent(true),
            )
            .await
    }

    /// E8: update tenant settings (full or partial object); returns the full settings.
    pub async fn update_tenant_settings<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        body: &B,
    ) -> Result<T, ClientError> {
        let u = self.url(
            &format!("{BAP}/scopes/admin/updateTenantSettings"),
            &[("api-version", "2023-06-01")],
        )?;
        self.t
            .send_json(Request::post(u, &self.scope).json(body)?)
            .await
    }

    /// E9: tenant geo information.
    pub async fn tenant<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        let u = self.url(&format!("{BAP}/tenant"), &[("api-version", "2020-08-01")])?;
        self.t.get_json(u, &self.scope).await
    }

    /// E10: tenant isolation policy; `None` when the tenant has none (404).
    pub async fn tenant_isolation<T: DeserializeOwned>(
        &self,
        tenant_id: &str,
    ) -> Result<Option<T>, ClientError> {
        let u = self.url(
            &format!("{GOV}/v1/tenants/{}/tenantIsolationPolicy", seg(tenant_id)),
            &[],
        )?;
        match self.t.get_json(u, &self.scope).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// E10: set the tenant isolation policy (PUT of the whole policy is idempotent); polls a
    /// 202 to completion.
    pub async fn put_tenant_isolation<B: Serialize + ?Sized>(
        &self,
        tenant_id: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{GOV}/v1/tenants/{}/tenantIsolationPolicy", seg(tenant_id)),
            &[],
        )?;
        self.t
            .send_and_wait(
                Request::new(Method::PUT, u, &self.scope)
                    .json(body)?
                    .idempotent(true),
            )
            .await
    }

    /// R1: role assignments of a non-Dataverse environment.
    pub fn list_role_assignments<T: DeserializeOwned + Send + 'static>(
        &self,
        env: &str,
    ) -> ItemStream<T> {
        link_stream_at(
            &self.t,
            self.url(
                &format!("{BAE}/{}/roleAssignments", seg(env)),
                &[("api-version", "2021-04-01")],
            ),
            &self.scope,
        )
    }

    /// R2: add or remove role assignments (`{"add":[...]}` / `{"remove":[{"id":...}]}`).
    pub async fn modify_role_assignments<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        env: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let u = self.url(
            &format!("{BAE}/{}/modifyRoleAssignments", seg(env)),
            &[("api-version", "2021-04-01")],
        )?;
        self.t
            .send_json(Request::post(u, &self.scope).json(body)?)
            .await
    }

    /// Registers a service principal as a Power Platform management application (idempotent
    /// PUT, no body). Must be called by a Power Platform admin user.
    pub async fn register_admin_application(
        &self,
        client_id: &str,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{BAP}/adminApplications/{}", seg(client_id)),
            &[("api-version", "2020-10-01")],
        )?;
        self.t
            .send(Request::new(Method::PUT, u, &self.scope).idempotent(true))
            .await
    }

    /// E4: delete an environment (202 polled to completion; 409 while busy is waited out).
    pub async fn delete_environment(
        &self,
        env: &str,
        reason: &str,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{BAE}/{}", seg(env)),
            &[("api-version", "2023-06-01")],
        )?;
        let body = serde_json::json!({ "code": "7", "message": reason });
        self.t
            .send_and_wait(
                Request::new(Method::DELETE, u, &self.scope)
                    .json(&body)?
                    .idempotent(true),
            )
            .await
    }

    /// R3: sync an Entra user into the environment's Dataverse (`userNotLicensed` until the
    /// licence has propagated).
    pub async fn add_user(&self, env: &str, object_id: &str) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{BAE}/{}/addUser", seg(env)),
            &[("api-version", "2023-06-01")],
        )?;
        let body = serde_json::json!({ "objectId": object_id });
        self.t
            .send(Request::post(u, &self.scope).json(&body)?.idempotent(true))
            .await
    }

    /// R4: add an application user (made System Administrator) to the environment.
    pub async fn add_app_user(&self, env: &str, app_id: &str) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{BAE}/{}/addAppUser", seg(env)),
            &[("api-version", "2020-10-01")],
        )?;
        let body = serde_json::json!({ "servicePrincipalAppId": app_id });
        self.t
            .send(Request::post(u, &self.scope).json(&body)?.idempotent(true))
            .await
    }
}
