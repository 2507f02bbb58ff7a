//! The evidence package: a deterministic zip of named files plus SHA-256 manifests.

use crate::ReportError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Write;
use zip::write::SimpleFileOptions;

/// One file to put in the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    /// Its path inside the zip, e.g. `dlp/policies.json`.
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

impl EvidenceItem {
    /// Builds an item.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        EvidenceItem {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    algorithm: &'static str,
    files: Vec<ManifestEntry<'a>>,
}

#[derive(Serialize)]
struct ManifestEntry<'a> {
    name: &'a str,
    sha256: String,
    size: usize,
}

const MANIFEST_JSON: &str = "manifest.json";
const MANIFEST_SHA: &str = "MANIFEST.sha256";

use ppgov_core::hex;

/// Zips the items (sorted by name) with `manifest.json` (name, SHA-256, size of each) and
/// `MANIFEST.sha256` (checkable with `sha256sum -c`). Same items, same bytes: every entry has the
/// fixed DOS time 1980-01-01 00:00 and mode 0644.
pub fn evidence_package(items: &[EvidenceItem]) -> Result<Vec<u8>, ReportError> {
    let mut sorted: Vec<&EvidenceItem> = items.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut seen = BTreeSet::new();
    for it in &sorted {
        let n = it.name.as_str();
        let unsafe_name = n.is_empty()
            || n.starts_with('/')
            || n.contains('\\')
            || n.split('/').any(|p| p == ".." || p.is_empty());
        if unsafe_name || n == MANIFEST_JSON || n == MANIFEST_SHA {
            return Err(ReportError::BadEvidenceName(n.to_string()));
        }
        if !seen.insert(n) {
            return Err(ReportError::DuplicateEvidence(n.to_string()));
        }
    }
    let entries: Vec<ManifestEntry<'_>> = sorted
        .iter()
        .map(|it| ManifestEntry {
            name: &it.name,
            sha256: hex(&Sha256::digest(&it.bytes)),
            size: it.bytes.len(),
        })
        .collect();
    let mut sha_lines = String::new();
    for e in &entries {
        sha_lines.push_str(&format!("{}  {}\n", e.sha256, e.name));
    }
    let mut manifest = serde_json::to_string_pretty(&Manifest {
        format: "ppgov-evidence/1",
        algorithm: "sha256",
        files: entries,
    })
    .map_err(|source| ReportError::Json {
        what: "evidence manifest",
        source,
    })?;
    manifest.push('\n');

    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::DEFAULT)
        .unix_permissions(0o644);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for it in &sorted {
        zip.start_file(it.name.as_str(), options)?;
        zip.write_all(&it.bytes)?;
    }
    zip.start_file(MANIFEST_JSON, options)?;
    zip.write_all(manifest.as_bytes())?;
    zip.start_file(MANIFEST_SHA, options)?;
    zip.write_all(sha_lines.as_bytes())?;
    Ok(zip.finish()?.into_inner())
}
