//! DLP policies: GOV v2 and v1 (`/providers/PowerPlatform.Governance` on the BAP host), legacy
//! `apiPolicies`, and connector metadata (unblockable / virtual).

use super::seg;
use crate::error::ClientError;
use crate::paging::{ItemStream, link_stream_at};
use crate::transport::{Request, Response, Transport, build_url};
use ppgov_config::Endpoints;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

const GOV: &str = "/providers/PowerPlatform.Governance";
const BAP: &str = "/providers/Microsoft.BusinessAppPlatform";

/// DLP client.
#[derive(Debug, Clone)]
pub struct DlpClient {
    t: Transport,
    base: Url,
    scope: String,
}

impl DlpClient {
    /// A client on `endpoints.bap` with the Power Apps scope.
    pub fn new(transport: Transport, endpoints: &Endpoints) -> Self {
        DlpClient {
            t: transport,
            base: endpoints.bap.clone(),
            scope: endpoints.scopes.powerapps.clone(),
        }
    }

    fn url(&self, path: &str, q: &[(&str, &str)]) -> Result<Url, ClientError> {
        build_url(&self.base, path, q)
    }

    /// D1: GOV v2 policies (list items carry only `policyDefinition`).
    pub fn list_policies_v2<T: DeserializeOwned + Send + 'static>(&self) -> ItemStream<T> {
        link_stream_at(
            &self.t,
            self.url(&format!("{GOV}/v2/policies"), &[]),
            &self.scope,
        )
    }

    /// D2: one GOV v2 policy with connector groups and rules.
    pub async fn get_policy_v2<T: DeserializeOwned>(&self, name: &str) -> Result<T, ClientError> {
        let u = self.url(&format!("{GOV}/v2/policies/{}", seg(name)), &[])?;
        self.t.get_json(u, &self.scope).await
    }

    /// D1: create a GOV v2 policy (201 with the created policy; `Response::json` reads it).
    pub async fn create_policy_v2<B: Serialize + ?Sized>(
        &self,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(&format!("{GOV}/v2/policies"), &[])?;
        self.t.send(Request::post(u, &self.scope).json(body)?).await
    }

    /// D2: replace a GOV v2 policy (PATCH with the full document).
    pub async fn update_policy_v2<B: Serialize + ?Sized>(
        &self,
        name: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(&format!("{GOV}/v2/policies/{}", seg(name)), &[])?;
        self.t
            .send(Request::new(Method::PATCH, u, &self.scope).json(body)?)
            .await
    }

    /// D2: delete a GOV v2 policy.
    pub async fn delete_policy_v2(&self, name: &str) -> Result<Response, ClientError> {
        let u = self.url(&format!("{GOV}/v2/policies/{}", seg(name)), &[])?;
        self.t
            .send(Request::new(Method::DELETE, u, &self.scope).idempotent(true))
            .await
    }

    /// D3: GOV v1 policies (flat documents).
    pub fn list_policies_v1<T: DeserializeOwned + Send + 'static>(&self) -> ItemStream<T> {
        link_stream_at(
            &self.t,
            self.url(&format!("{GOV}/v1/policies"), &[("$top", "50")]),
            &self.scope,
        )
    }

    /// D3: one GOV v1 policy.
    pub async fn get_policy_v1<T: DeserializeOwned>(&self, name: &str) -> Result<T, ClientError> {
        let u = self.url(&format!("{GOV}/v1/policies/{}", seg(name)), &[])?;
        self.t.get_json(u, &self.scope).await
    }

    /// D4: legacy tenant-scope `apiPolicies`.
    pub fn list_api_policies<T: DeserializeOwned + Send + 'static>(&self) -> ItemStream<T> {
        link_stream_at(
            &self.t,
            self.url(
                &format!("{BAP}/scopes/admin/apiPolicies"),
                &[("api-version", "2016-11-01")],
            ),
            &self.scope,
        )
    }

    /// D5: connectors that cannot be blocked (a bare JSON array).
    pub async fn unblockable_connectors<T: DeserializeOwned>(&self) -> Result<Vec<T>, ClientError> {
        let u = self.url(&format!("{GOV}/v1/connectors/metadata/unblockable"), &[])?;
        self.t.get_json(u, &self.scope).await
    }

    /// D5: virtual connectors (HTTP, HTTP request received, ...; a bare JSON array).
    pub async fn virtual_connectors<T: DeserializeOwned>(&self) -> Result<Vec<T>, ClientError> {
        let u = self.url(&format!("{GOV}/v1/connectors/metadata/virtual"), &[])?;
        self.t.get_json(u, &self.scope).await
    }
}
