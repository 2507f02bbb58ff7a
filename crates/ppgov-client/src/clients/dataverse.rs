//! Dataverse Web API (`{instance}/api/data/v9.2`) of one environment: users, roles, role
//! members, organisation settings, role (dis)association.

use crate::error::ClientError;
use crate::paging::{ItemStream, failed, link_stream};
use crate::transport::{Request, Response, Transport, build_url};
use ppgov_config::Endpoints;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

/// Dataverse client for one instance URL.
#[derive(Debug, Clone)]
pub struct DataverseClient {
    t: Transport,
    api: Url,
    scope: String,
    page_size: u32,
}

/// Columns read for role members.
const TEAM_SELECT: &str = "teamid,name,teamtype,azureactivedirectoryobjectid,_businessunitid_value";
const MEMBER_SELECT: &str = "systemuserid,domainname,azureactivedirectoryobjectid,isdisabled,accessmode,applicationid,fullname";

impl DataverseClient {
    /// A client on `instance_url` (e.g. `https://org1a2b.crm4.dynamics.com/`), scope derived from
    /// its origin. `page_size` goes out as `Prefer: odata.maxpagesize` (≤ 5000).
    pub fn new(
        transport: Transport,
        instance_url: &Url,
        page_size: u32,
    ) -> Result<Self, ClientError> {
        let api = build_url(instance_url, "/api/data/v9.2", &[])?;
        Ok(DataverseClient {
            t: transport,
            api,
            scope: Endpoints::dataverse_scope(instance_url),
            page_size: page_size.clamp(1, 5000),
        })
    }

    fn url(&self, path: &str, q: &[(&str, &str)]) -> Result<Url, ClientError> {
        build_url(&self.api, path, q)
    }

    fn odata(&self, req: Request) -> Result<Request, ClientError> {
        req.header("odata-maxversion", "4.0")?
            .header("odata-version", "4.0")
    }

    fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        url: Result<Url, ClientError>,
    ) -> ItemStream<T> {
        let req = url
            .and_then(|u| self.odata(Request::get(u, &self.scope)))
            .and_then(|r| r.header("prefer", &format!("odata.maxpagesize={}", self.page_size)));
        match req {
            Ok(r) => link_stream(self.t.clone(), r),
            Err(e) => failed(e),
        }
    }

    /// System users, optionally filtered (`azureactivedirectoryobjectid eq <oid>`), with
    /// `$select` / `$expand` as given (empty = service default).
    pub fn system_users<T: DeserializeOwned + Send + 'static>(
        &self,
        filter: Option<&str>,
        select: &str,
        expand: &str,
    ) -> ItemStream<T> {
        let mut q = Vec::new();
        if let Some(f) = filter {
            q.push(("$filter", f));
        }
        if !select.is_empty() {
            q.push(("$select", select));
        }
        if !expand.is_empty() {
            q.push(("$expand", expand));
        }
        self.list(self.url("/systemusers", &q))
    }

    /// Every business unit's copy of a role, by template id (System Administrator =
    /// `627090ff-40a3-4053-8790-584edc5be201`).
    pub fn roles_by_template<T: DeserializeOwned + Send + 'static>(
        &self,
        template_id: &str,
    ) -> ItemStream<T> {
        let filter = format!("_roletemplateid_value eq {}", guid(template_id));
        self.list(self.url(
            "/roles",
            &[
                (
                    "$select",
                    "roleid,name,_businessunitid_value,_roletemplateid_value",
                ),
                ("$filter", filter.as_str()),
            ],
        ))
    }

    /// Users holding a role (one business unit's copy).
    pub fn role_members<T: DeserializeOwned + Send + 'static>(
        &self,
        role_id: &str,
    ) -> ItemStream<T> {
        self.list(self.url(
            &format!("/roles({})/systemuserroles_association", guid(role_id)),
            &[("$select", MEMBER_SELECT)],
        ))
    }

    /// Teams holding a role (one business unit's copy), through `teamroles_association`.
    pub fn role_teams<T: DeserializeOwned + Send + 'static>(&self, role_id: &str) -> ItemStream<T> {
        self.list(self.url(
            &format!("/roles({})/teamroles_association", guid(role_id)),
            &[("$select", TEAM_SELECT)],
        ))
    }

    /// The organisation row (solution-by-default flags and the like).
    pub async fn organization<T: DeserializeOwned>(&self) -> Result<Option<T>, ClientError> {
        let u = self.url("/organizations", &[])?;
        let page: Value = self
            .t
            .send_json(self.odata(Request::get(u, &self.scope))?)
            .await?;
        match page
            .get("value")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            Some(row) => {
                serde_json::from_value(row.clone())
                    .map(Some)
                    .map_err(|e| ClientError::Decode {
                        url: format!("{}/organizations", self.api),
                        path: "value[0]".into(),
                        message: e.to_string(),
                    })
            }
            None => Ok(None),
        }
    }

    /// Updates organisation attributes (`{"enableflowsinsolutionbydefault":true}`); 204.
    pub async fn patch_organization<B: Serialize + ?Sized>(
        &self,
        organization_id: &str,
        body: &B,
    ) -> Result<Response, ClientError> {
        let u = self.url(&format!("/organizations({})", guid(organization_id)), &[])?;
        self.t
            .send(self.odata(Request::new(Method::PATCH, u, &self.scope).json(body)?)?)
            .await
    }

    fn role_ref(&self, role_id: &str) -> String {
        format!(
            "{}/roles({})",
            self.api.as_str().trim_end_matches('/'),
            guid(role_id)
        )
    }

    /// Gives a user a role; 204.
    pub async fn associate_role(
        &self,
        user_id: &str,
        role_id: &str,
    ) -> Result<Response, ClientError> {
        let u = self.url(
            &format!(
                "/systemusers({})/systemuserroles_association/$ref",
                guid(user_id)
            ),
            &[],
        )?;
        let body = serde_json::json!({ "@odata.id": self.role_ref(role_id) });
        // Adding an association that exists changes nothing.
        self.t
            .send(
                self.odata(Request::post(u, &self.scope).json(&body)?)?
                    .idempotent(true),
            )
            .await
    }

    /// Takes a role from a user; 204.
    pub async fn disassociate_role(
        &self,
        user_id: &str,
        role_id: &str,
    ) -> Result<Response, ClientError> {
        let role = self.role_ref(role_id);
        let u = self.url(
            &format!(
                "/systemusers({})/systemuserroles_association/$ref",
                guid(user_id)
            ),
            &[("$id", role.as_str())],
        )?;
        self.t
            .send(
                self.odata(Request::new(Method::DELETE, u, &self.scope))?
                    .idempotent(true),
            )
            .await
    }
}

/// Keeps only GUID characters, so an id can never change the OData path.
fn guid(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect()
}
