//! All family clients on one transport, for callers that speak to every API (the crawler).

use super::bap::BapClient;
use super::dataverse::DataverseClient;
use super::dlp::DlpClient;
use super::flow::FlowClient;
use super::graph::GraphClient;
use super::management::ManagementClient;
use super::powerapps::PowerAppsClient;
use super::ppapi::PowerPlatformClient;
use crate::error::ClientError;
use crate::transport::Transport;
use ppgov_config::Endpoints;
use url::Url;

/// One client per API family, sharing a transport (limiter, counters, connections).
#[derive(Debug, Clone)]
pub struct Clients {
    /// The shared transport.
    pub transport: Transport,
    /// BAP.
    pub bap: BapClient,
    /// DLP.
    pub dlp: DlpClient,
    /// Power Apps.
    pub powerapps: PowerAppsClient,
    /// Flow.
    pub flow: FlowClient,
    /// Power Platform API.
    pub powerplatform: PowerPlatformClient,
    /// Graph.
    pub graph: GraphClient,
    endpoints: Endpoints,
}

impl Clients {
    /// Every family client on `endpoints`.
    pub fn new(transport: Transport, endpoints: &Endpoints) -> Self {
        Clients {
            bap: BapClient::new(transport.clone(), endpoints),
            dlp: DlpClient::new(transport.clone(), endpoints),
            powerapps: PowerAppsClient::new(transport.clone(), endpoints),
            flow: FlowClient::new(transport.clone(), endpoints),
            powerplatform: PowerPlatformClient::new(transport.clone(), endpoints),
            graph: GraphClient::new(transport.clone(), endpoints),
            transport,
            endpoints: endpoints.clone(),
        }
    }

    /// A Dataverse client for one environment's instance URL (`page_size` rows per page). The
    /// URL comes from a BAP answer, so it is checked against the cloud's Dataverse domains
    /// ([`Endpoints::check_dataverse_url`]) before any token could be sent to it.
    pub fn dataverse(
        &self,
        instance_url: &Url,
        page_size: u32,
    ) -> Result<DataverseClient, ClientError> {
        self.endpoints
            .check_dataverse_url(instance_url)
            .map_err(|reason| ClientError::UntrustedHost {
                url: crate::error::redact_url(instance_url),
                reason,
            })?;
        DataverseClient::new(self.transport.clone(), instance_url, page_size)
    }

    /// The endpoints these clients were built on.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// A Management Activity API client for a tenant.
    pub fn management(
        &self,
        tenant_id: &str,
        publisher: Option<String>,
    ) -> Result<ManagementClient, ClientError> {
        ManagementClient::new(
            self.transport.clone(),
            &self.endpoints,
            tenant_id,
            publisher,
        )
    }
}
