//! Flow admin (`api.flow.microsoft.com/providers/Microsoft.ProcessSimple/scopes/admin`): flows,
//! permissions, start/stop/delete, runs.

use super::seg;
use crate::error::ClientError;
use crate::paging::{ItemStream, link_stream_at};
use crate::transport::{Request, Response, Transport, build_url};
use ppgov_config::Endpoints;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

const FLE: &str = "/providers/Microsoft.ProcessSimple/scopes/admin/environments";
const V2016: (&str, &str) = ("api-version", "2016-11-01");

/// Flow admin client.
#[derive(Debug, Clone)]
pub struct FlowClient {
    t: Transport,
    base: Url,
    scope: String,
}

impl FlowClient {
    /// A client on `endpoints.flow` with the Flow scope.
    pub fn new(transport: Transport, endpoints: &Endpoints) -> Self {
        FlowClient {
            t: transport,
            base: endpoints.flow.clone(),
            scope: endpoints.scopes.flow.clone(),
        }
    }

    fn url(&self, path: &str, q: &[(&str, &str)]) -> Result<Url, ClientError> {
        build_url(&self.base, path, q)
    }

    fn flow_path(env: &str, flow: &str) -> String {
        format!("{FLE}/{}/flows/{}", seg(env), seg(flow))
    }

    /// F1: all flows of an environment including solution flows (`/v2/flows`), 50 per page.
    pub fn list_flows<T: DeserializeOwned + Send + 'static>(&self, env: &str) -> ItemStream<T> {
        let u = self.url(
            &format!("{FLE}/{}/v2/flows", seg(env)),
            &[
                V2016,
                ("$top", "50"),
                ("include", "includeSolutionCloudFlows"),
            ],
        );
        link_stream_at(&self.t, u, &self.scope)
    }

    /// F2: one flow with its full `definition`.
    pub async fn get_flow<T: DeserializeOwned>(
        &self,
        env: &str,
        flow: &str,
    ) -> Result<T, ClientError> {
        self.t
            .get_json(
                self.url(&Self::flow_path(env, flow), &[V2016])?,
                &self.scope,
            )
            .await
    }

    /// F2: delete a flow.
    pub async fn delete_flow(&self, env: &str, flow: &str) -> Result<Response, ClientError> {
        let u = self.url(&Self::flow_path(env, flow), &[V2016])?;
        self.t
            .send(Request::new(Method::DELETE, u, &self.scope).idempotent(true))
            .await
    }

    /// F3: turn a flow off.
    pub async fn stop_flow(&self, env: &str, flow: &str) -> Result<Response, ClientError> {
        self.state_call(env, flow, "stop").await
    }

    /// F3: turn a flow on.
    pub async fn start_flow(&self, env: &str, flow: &str) -> Result<Response, ClientError> {
        self.state_call(env, flow, "start").await
    }

    async fn state_call(&self, env: &str, flow: &str, verb: &str) -> Result<Response, ClientError> {
        let u = self.url(&format!("{}/{verb}", Self::flow_path(env, flow)), &[V2016])?;
        // Setting a state twice has the same effect as once.
        self.t
            .send(
                Request::post(u, &self.scope)
                    .json(&serde_json::json!({}))?
                    .idempotent(true),
            )
            .await
    }

    /// F4: owners and co-owners.
    pub fn flow_permissions<T: DeserializeOwned + Send + 'static>(
        &self,
        env: &str,
        flow: &str,
    ) -> ItemStream<T> {
        link_stream_at(
            &self.t,
            self.url(
                &format!("{}/permissions", Self::flow_path(env, flow)),
                &[V2016],
            ),
            &self.scope,
        )
    }

    /// F5: add / remove co-owners (`{"put":[...]}` / `{"delete":[{"id":...}]}`).
    pub async fn modify_flow_permissions<B: Serialize + ?Sized>(
        &self,
        env: &str,
        flow: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!("{}/modifyPermissions", Self::flow_path(env, flow)),
            &[V2016],
        )?;
        self.t.send(Request::post(u, &self.scope).json(body)?).await
    }

    /// F6: runs of a flow, optionally filtered (`status eq 'Failed' and startTime ge 2026-01-01T00:00:00Z`).
    pub fn list_runs<T: DeserializeOwned + Send + 'static>(
        &self,
        env: &str,
        flow: &str,
        filter: Option<&str>,
    ) -> ItemStream<T> {
        let mut q = vec![V2016];
        if let Some(f) = filter {
            q.push(("$filter", f));
        }
        link_stream_at(
            &self.t,
            self.url(&format!("{}/runs", Self::flow_path(env, flow)), &q),
            &self.scope,
        )
    }
}
