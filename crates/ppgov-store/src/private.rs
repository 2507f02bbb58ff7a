//! Owner-only files and folders. The store, snapshot files and evidence packages describe a
//! tenant's security posture (and name its admins), so everything ppgov writes to disk is
//! created readable by the owner only: files 0600, folders 0700, whatever the umask.

use std::io::Write;
use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700 (existing folders are left alone: the
/// user chose them).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Sets an existing file to 0600 (no-op where there are no file modes).
pub fn restrict_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates (or truncates) `path` as a 0600 file, its folder 0700 when it has to be created.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts.open(path)?;
    // `mode` applies only when the file is created; an older file keeps its mode otherwise.
    restrict_file(path)?;
    Ok(f)
}

/// Writes `bytes` to `path` atomically: an exclusively created 0600 temporary file in the same
/// folder, then a rename over `path`, so a failure never leaves half a file and no other user
/// can read it at any moment.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => std::path::PathBuf::from("."),
    };
    create_private_dir(&dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ppgov")
        .suffix(".partial")
        .tempfile_in(&dir)?;
    restrict_file(tmp.path())?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folders_are_owner_only() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a").join("b").join("x.json");
        write_private_file(&f, b"{}").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&d.path().join("a")), 0o700);
        assert_eq!(mode(&d.path().join("a").join("b")), 0o700);
        assert_eq!(std::fs::read(&f).unwrap(), b"{}");
        let old = d.path().join("old.jsonl");
        std::fs::write(&old, b"x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(create_private_file(&old).unwrap());
        assert_eq!(mode(&old), 0o600);
        write_private_file(&old, b"y").unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
    }
}
