//! Power Apps admin (`api.powerapps.com/providers/Microsoft.PowerApps/scopes/admin`): apps,
//! app permissions and owner, connections and their permissions.

use super::seg;
use crate::error::ClientError;
use crate::paging::{ItemStream, link_stream_at};
use crate::transport::{Request, Response, Transport, build_url};
use ppgov_config::Endpoints;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

const PAE: &str = "/providers/Microsoft.PowerApps/scopes/admin/environments";
/// The api-version of the quarantine operations.
const QUARANTINE_VERSION: (&str, &str) = ("api-version", "2021-02-01");
const V2016: (&str, &str) = ("api-version", "2016-11-01");

/// Power Apps admin client.
#[derive(Debug, Clone)]
pub struct PowerAppsClient {
    t: Transport,
    base: Url,
    scope: String,
}

impl PowerAppsClient {
    /// A client on `endpoints.powerapps` with the Power Apps scope.
    pub fn new(transport: Transport, endpoints: &Endpoints) -> Self {
        PowerAppsClient {
            t: transport,
            base: endpoints.powerapps.clone(),
            scope: endpoints.scopes.powerapps.clone(),
        }
    }

    fn url(&self, path: &str, q: &[(&str, &str)]) -> Result<Url, ClientError> {
        build_url(&self.base, path, q)
    }

    fn app_path(env: &str, app: &str) -> String {
        format!("{PAE}/{}/apps/{}", seg(env), seg(app))
    }

    /// D6 (admin form): the custom connectors of an environment
    /// (`.../environments/{env}/apis?$filter=isCustomApi eq 'True'`), each with its
    /// `backendService.serviceUrl` where the service gives it.
    pub fn list_custom_connectors<T: DeserializeOwned + Send + 'static>(
        &self,
        env: &str,
    ) -> ItemStream<T> {
        link_stream_at(
            &self.t,
            self.url(
                &format!("{PAE}/{}/apis", seg(env)),
                &[V2016, ("$filter", "isCustomApi eq 'True'")],
            ),
            &self.scope,
        )
    }

    /// A1: all apps of an environment, 250 per page.
    pub fn list_apps<T: DeserializeOwned + Send + 'static>(&self, env: &str) -> ItemStream<T> {
        let u = self.url(
            &format!("{PAE}/{}/apps", seg(env)),
            &[("api-version", "2023-06-01"), ("$top", "250")],
        );
        link_stream_at(&self.t, u, &self.scope)
    }

    /// A2: one app.
    pub async fn get_app<T: DeserializeOwned>(
        &self,
        env: &str,
        app: &str,
    ) -> Result<T, ClientError> {
        self.t
            .get_json(self.url(&Self::app_path(env, app), &[V2016])?, &self.scope)
            .await
    }

    /// A2: delete an app.
    pub async fn delete_app(&self, env: &str, app: &str) -> Result<Response, ClientError> {
        let u = self.url(&Self::app_path(env, app), &[V2016])?;
        self.t
            .send(Request::new(Method::DELETE, u, &self.scope).idempotent(true))
            .await
    }

    /// An app's quarantine state (`{"quarantineStatus":"Quarantined|Unquarantined|NotSpecified"}`),
    /// as the "Power Apps for Admins" connector's *Get App Quarantine State* reads it.
    pub async fn app_quarantine_state<T: DeserializeOwned>(
        &self,
        env: &str,
        app: &str,
    ) -> Result<T, ClientError> {
        let u = self.url(
            &format!("{}/quarantineState", Self::app_path(env, app)),
            &[QUARANTINE_VERSION],
        )?;
        self.t.get_json(u, &self.scope).await
    }

    /// Quarantines or releases an app (`{"quarantineStatus":"Quarantined"}` or `"Unquarantined"`),
    /// the connector's *Set App Quarantine State*.
    pub async fn set_app_quarantine_state(
        &self,
        env: &str,
        app: &str,
        status: &str,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{}/setAppQuarantineState", Self::app_path(env, app)),
            &[QUARANTINE_VERSION],
        )?;
        let body = serde_json::json!({ "quarantineStatus": status });
        self.t
            .send(Request::post(u, &self.scope).json(&body)?)
            .await
    }

    /// A3: who an app is shared with.
    pub fn app_permissions<T: DeserializeOwned + Send + 'static>(
        &self,
        env: &str,
        app: &str,
    ) -> ItemStream<T> {
        let filter = format!("environment eq {}", super::odata_string(env));
        let u = self.url(
            &format!("{}/permissions", Self::app_path(env, app)),
            &[V2016, ("$filter", filter.as_str())],
        );
        link_stream_at(&self.t, u, &self.scope)
    }

    /// A4: share / unshare (`{"put":[...]}` / `{"delete":[{"id":...}]}`).
    pub async fn modify_app_permissions<B: Serialize + ?Sized>(
        &self,
        env: &str,
        app: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{}/modifyPermissions", Self::app_path(env, app)),
            &[V2016],
        )?;
        self.t.send(Request::post(u, &self.scope).json(body)?).await
    }

    /// A5: change the owner (`{"newAppOwner":"<oid>","roleForOldAppOwner":"CanView"}`).
    pub async fn modify_app_owner<B: Serialize + ?Sized>(
        &self,
        env: &str,
        app: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{}/modifyAppOwner", Self::app_path(env, app)),
            &[V2016],
        )?;
        self.t.send(Request::post(u, &self.scope).json(body)?).await
    }

    /// C1: all connections of an environment.
    pub fn list_connections<T: DeserializeOwned + Send + 'static>(
        &self,
        env: &str,
    ) -> ItemStream<T> {
        link_stream_at(
            &self.t,
            self.url(&format!("{PAE}/{}/connections", seg(env)), &[V2016]),
            &self.scope,
        )
    }

    fn conn_path(env: &str, connector: &str, conn: &str) -> String {
        format!(
            "{PAE}/{}/apis/{}/connections/{}",
            seg(env),
            seg(connector),
            seg(conn)
        )
    }

    /// C2: delete a connection.
    pub async fn delete_connection(
        &self,
        env: &str,
        connector: &str,
        conn: &str,
    ) -> Result<Response, ClientError> {
        let u = self.url(&Self::conn_path(env, connector, conn), &[V2016])?;
        self.t
            .send(Request::new(Method::DELETE, u, &self.scope).idempotent(true))
            .await
    }

    /// C3: who a connection is shared with.
    pub fn connection_permissions<T: DeserializeOwned + Send + 'static>(
        &self,
        env: &str,
        connector: &str,
        conn: &str,
    ) -> ItemStream<T> {
        let u = self.url(
            &format!("{}/permissions", Self::conn_path(env, connector, conn)),
            &[V2016],
        );
        link_stream_at(&self.t, u, &self.scope)
    }

    /// C3: share / unshare a connection.
    pub async fn modify_connection_permissions<B: Serialize + ?Sized>(
        &self,
        env: &str,
        connector: &str,
        conn: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!(
                "{}/modifyPermissions",
                Self::conn_path(env, connector, conn)
            ),
            &[V2016],
        )?;
        self.t.send(Request::post(u, &self.scope).json(body)?).await
    }
}
