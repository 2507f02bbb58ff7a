//! Power Platform API (`api.powerplatform.com`): self-elevation and the inventory query.

use super::seg;
use crate::error::ClientError;
use crate::paging::{ItemStream, failed, inventory_stream};
use crate::transport::{Request, Response, Transport, build_url};
use ppgov_config::Endpoints;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

/// Power Platform API client.
#[derive(Debug, Clone)]
pub struct PowerPlatformClient {
    t: Transport,
    base: Url,
    scope: String,
}

impl PowerPlatformClient {
    /// A client on `endpoints.powerplatform` with its scope.
    pub fn new(transport: Transport, endpoints: &Endpoints) -> Self {
        PowerPlatformClient {
            t: transport,
            base: endpoints.powerplatform.clone(),
            scope: endpoints.scopes.powerplatform.clone(),
        }
    }

    /// U1: make the signed-in user System Administrator of an environment's Dataverse (user
    /// token only). Already-admin callers also get success.
    pub async fn apply_admin_role<T: DeserializeOwned>(&self, env: &str) -> Result<T, ClientError> {
        let u = build_url(
            &self.base,
            &format!(
                "/usermanagement/environments/{}/user/applyAdminRole",
                seg(env)
            ),
            &[("api-version", "2022-03-01-preview")],
        )?;
        // Granting a role the caller already holds changes nothing: safe to retry.
        self.t
            .send_json(Request::post(u, &self.scope).idempotent(true))
            .await
    }

    /// U1 at a chosen api-version (the documented `2022-03-01-preview`, or a newer one), answered
    /// raw: a success may come with an empty body.
    pub async fn apply_admin_role_at(
        &self,
        env: &str,
        api_version: &str,
    ) -> Result<Response, ClientError> {
        let u = build_url(
            &self.base,
            &format!(
                "/usermanagement/environments/{}/user/applyAdminRole",
                seg(env)
            ),
            &[("api-version", api_version)],
        )?;
        self.t
            .send(Request::post(u, &self.scope).idempotent(true))
            .await
    }

    /// Inventory query (`resourcequery`), streamed page by page. `query` holds `TableName` and
    /// `Clauses` (PascalCase, `$type` first in each clause); `top` rows per page (≤ 1000).
    /// Sort on a unique key (`name`) for stable paging. Delegated tokens only.
    pub fn inventory_query<T: DeserializeOwned + Send + 'static>(
        &self,
        query: &Value,
        top: u32,
    ) -> ItemStream<T> {
        match build_url(
            &self.base,
            "/resourcequery/resources/query",
            &[("api-version", "2024-10-01")],
        ) {
            Ok(u) => inventory_stream(self.t.clone(), u, self.scope.clone(), query, top),
            Err(e) => failed(e),
        }
    }
}
