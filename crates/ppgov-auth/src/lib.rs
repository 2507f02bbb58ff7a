//! Microsoft Entra token acquisition: client secret, certificate, password, device code and
//! refresh tokens; one cached token per audience; redaction of every secret.

pub mod cache;
pub mod certificate;
pub mod credential;
pub mod describe;
pub mod diagnose;
pub mod entra;
mod entra_source;
pub mod flows;
pub mod source;

pub use cache::{CachedAccount, TokenCache};
pub use certificate::ClientCertificate;
pub use credential::Credential;
pub use describe::{TokenInfo, describe};
pub use diagnose::{Diagnosis, diagnose};
pub use entra_source::{EntraTokenSource, SourceOptions};
pub use flows::{DeviceCodePrompt, PromptFn, Sleeper};
pub use source::{AccessToken, AuthError, StaticToken, TokenFuture, TokenSource};
