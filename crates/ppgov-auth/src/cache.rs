//! On-disk cache for interactive sign-in: the refresh token and account per tenant+client, so a
//! device-code user signs in once. The file holds a refresh token, so it is owner-only: written
//! through an exclusively created temporary file (0600) in the same folder and renamed over the
//! old one, its folder created 0700, and a cache file others can read (or write) is refused.

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

    /// Refuses a cache file that others may read or write (it holds a refresh token).
    #[cfg(unix)]
    pub fn check_private(&self) -> Result<(), AuthError> {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(&self.path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => Err(AuthError::Credential(format!(
                "token cache {} is readable or writable by others (mode {:o}); it holds a refresh \
                 token, so it is not used: run `chmod 600 {}` if only you could have read it, \
                 otherwise delete it and sign in again",
                self.path.display(),
                m.permissions().mode() & 0o777,
                self.path.display()
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses a cache file that others may read (no file modes to check on this platform).
    #[cfg(not(unix))]
    pub fn check_private(&self) -> Result<(), AuthError> {
        Ok(())
    }

    fn read(&self) -> Result<CacheFile, AuthError> {
        self.check_private()?;
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
        self.check_private()?;
        let mut file = self.read().unwrap_or_default();
        file.version = 1;
        match entry {
            Some(e) => file.accounts.insert(key(tenant, client_id), e),
            None => file.accounts.remove(&key(tenant, client_id)),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| io(&self.path, "encode", e))?;
        let dir = match self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(&dir)
                .map_err(|e| io(&self.path, "create its directory", e))?;
        }
        // An exclusively created temporary file in the same folder (O_EXCL, 0600, a random
        // name: nobody can pre-create or link it), then an atomic rename over the old file, so
        // a crash never leaves half a file and the token is never readable by others.
        let mut tmp = tempfile::Builder::new()
            .prefix(".token-cache")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| io(&self.path, "create a temporary file", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(&self.path, "restrict", e))?;
        }
        tmp.write_all(&json)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| io(&self.path, "write", e))?;
        tmp.persist(&self.path)
            .map(|_| ())
            .map_err(|e| io(&self.path, "replace", e.error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: &str) -> CachedAccount {
        CachedAccount {
            account: Some("a@b".into()),
            refresh_token: Secret::new(t.into()),
        }
    }

    #[cfg(unix)]
    #[test]
    fn cache_is_private_and_loose_modes_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub").join("cache.json");
        let c = TokenCache::new(&path);
        c.store("T", "C", Some(entry("rt-1"))).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("cache.json")]);
        c.store("T", "C", Some(entry("rt-2"))).unwrap();
        assert_eq!(
            c.load("t", "c").unwrap().unwrap().refresh_token.expose(),
            "rt-2"
        );
        assert_eq!(mode(&path), 0o600);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = c.load("T", "C").unwrap_err().to_string();
        assert!(err.contains("readable or writable by others"), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
        // Nor is it silently overwritten.
        assert!(c.store("T", "C", Some(entry("rt-3"))).is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            c.load("T", "C").unwrap().unwrap().refresh_token.expose(),
            "rt-2"
        );
    }
}
