//! On-disk cache for interactive sign-in: the refresh token and account per tenant+client, so a
//! device-code user signs in once. The file is created owner-only (0600) because it holds a
//! refresh token.

use crate::source::AuthError;
use ppgov_core::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One cached sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedAccount {
    /// UPN of the signed-in user, if known.
    pub account: Option<String>,
    /// The refresh token (serialised as itself only into the cache file).
    #[serde(with = "exposed")]
    pub refresh_token: Secret<String>,
}

mod exposed {
    use ppgov_core::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Secret<String>, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret<String>, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    accounts: BTreeMap<String, CachedAccount>,
}

/// The cache file.
#[derive(Debug, Clone)]
pub struct TokenCache {
    path: PathBuf,
}

fn key(tenant: &str, client_id: &str) -> String {
    format!(
        "{}|{}",
        tenant.to_ascii_lowercase(),
        client_id.to_ascii_lowercase()
    )
}

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Credential(format!(
        "token cache {}: cannot {what}: {e}; delete the file to sign in again",
        path.display()
    ))
}

impl TokenCache {
    /// A cache at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> TokenCache {
        TokenCache { path: path.into() }
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<CacheFile, AuthError> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| io(&self.path, "parse", e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CacheFile::default()),
            Err(e) => Err(io(&self.path, "read", e)),
        }
    }

    /// The cached sign-in for tenant+client.
    pub fn load(&self, tenant: &str, client_id: &str) -> Result<Option<CachedAccount>, AuthError> {
        Ok(self.read()?.accounts.get(&key(tenant, client_id)).cloned())
    }

    /// Stores (or with `None` removes) the sign-in for tenant+client.
    pub fn store(
        &self,
        tenant: &str,
        client_id: &str,
        entry: Option<CachedAccount>,
    ) -> Result<(), AuthError> {
        let mut file = self.read().unwrap_or_default();
        file.version = 1;
        match entry {
            Some(e) => file.accounts.insert(key(tenant, client_id), e),
            None => file.accounts.remove(&key(tenant, client_id)),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| io(&self.path, "encode", e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(&self.path, "create its directory", e))?;
        }
        // Write a sibling then rename, so a crash never leaves half a file; the sibling is
        // created 0600 so the token is never readable by others, not even briefly.
        let tmp = self.path.with_extension("tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| io(&self.path, "write", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(&self.path, "restrict", e))?;
        }
        f.write_all(&json)
            .and_then(|_| f.sync_all())
            .map_err(|e| io(&self.path, "write", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io(&self.path, "replace", e))
    }
}
