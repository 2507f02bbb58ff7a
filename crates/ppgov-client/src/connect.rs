//! A configured tenant's sign-in and API clients, built one way for the CLI and `ppgov serve`.

use crate::{ClientError, Clients, Transport, TransportConfig};
use ppgov_auth::{EntraTokenSource, SourceOptions, TokenSource};
use std::sync::Arc;

/// A token source and every API client for one configured tenant.
#[derive(Clone)]
pub struct Connection {
    /// Hands out tokens per audience (sign-in happens at the first request).
    pub tokens: Arc<EntraTokenSource>,
    /// The API clients.
    pub clients: Clients,
}

/// Sets up sign-in (lazily: nothing is sent until the first request) and the clients of
/// `config`'s tenant, every base URL from its endpoints.
pub fn connect(
    config: &ppgov_config::Config,
    transport: TransportConfig,
) -> Result<Connection, ClientError> {
    let tokens = Arc::new(
        EntraTokenSource::from_config(config, SourceOptions::default())
            .map_err(ClientError::SignIn)?,
    );
    let source: Arc<dyn TokenSource> = tokens.clone();
    let transport = Transport::with_config(source, transport)?;
    Ok(Connection {
        tokens,
        clients: Clients::new(transport, &config.endpoints()),
    })
}
