//! Collection of each environment's custom connectors and their hosts (for DLP custom
//! connector URL patterns). Kept apart from the crawler's incremental logic: the crawler calls
//! [`collect`] once per environment with its connections and records the outcome.

use crate::map;
use futures::TryStreamExt;
use ppgov_client::{ClientError, Clients};
use ppgov_core::CustomConnector;
use ppgov_model as wire;

/// Lists the custom connectors of one environment, mapped, sorted by key.
pub(crate) async fn collect(
    clients: &Clients,
    env_id: &str,
) -> Result<Vec<CustomConnector>, ClientError> {
    let list: Vec<wire::powerapps::Connector> = clients
        .powerapps
        .list_custom_connectors::<wire::powerapps::Connector>(env_id)
        .try_collect()
        .await?;
    let mut out: Vec<CustomConnector> = list
        .iter()
        .filter(|c| c.properties.is_custom_api != Some(false))
        .map(|c| map::custom_connector(env_id, c))
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.key == b.key);
    Ok(out)
}
