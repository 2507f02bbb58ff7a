//! Who is signed in, from the token's claims (never the token itself).

use crate::ActError;
use crate::plan::Identity;
use ppgov_auth::{TokenSource, describe};

/// The identity behind the tokens `source` hands out for `scope`.
pub async fn whoami(source: &dyn TokenSource, scope: &str) -> Result<Identity, ActError> {
    let token = source.token(scope).await?;
    let info = describe(&token);
    let (kind, name) = match (&info.user, &info.app) {
        (Some(u), _) => ("user", u.clone()),
        (None, Some(a)) => ("app", a.clone()),
        (None, None) => {
            return Err(ActError::Invalid(
                "the token names neither a user nor an app; cannot record who acts".into(),
            ));
        }
    };
    Ok(Identity {
        kind: kind.into(),
        name,
        tenant: info.tenant.unwrap_or_default(),
    })
}

impl Identity {
    /// The journal's `actor` column.
    pub fn to_actor(&self) -> String {
        format!("{}:{}", self.kind, self.name)
    }

    /// Reads an `actor` column back.
    pub fn from_actor(actor: &str, tenant: &str) -> Identity {
        let (kind, name) = actor.split_once(':').unwrap_or(("unknown", actor));
        Identity {
            kind: kind.into(),
            name: name.into(),
            tenant: tenant.into(),
        }
    }
}
