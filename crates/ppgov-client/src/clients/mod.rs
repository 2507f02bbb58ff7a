//! One thin client per API family. Each method is one documented call (REFERENCE.md §3), with
//! the api-version listed there. Item types are generic (`T: DeserializeOwned`) so callers pick
//! the `ppgov-model` type, or `serde_json::Value` to keep every key.

pub mod bap;
pub mod bundle;
pub mod dataverse;
pub mod dlp;
pub mod flow;
pub mod graph;
pub mod management;
pub mod powerapps;
pub mod ppapi;

/// Percent-encodes one path segment (ids come from the service or the user; never let one
/// add a path level).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
