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

/// An OData string literal: `'` doubled and the whole quoted, so a value can never end the
/// literal and add a clause (`o'brien` becomes `'o''brien'`). Percent-encoding of the query is
/// [`crate::build_url`]'s job.
pub fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Percent-encodes one URL path segment: every byte but the unreserved ones, so an id with `/`,
/// `?`, `#`, `%`, spaces or quotes stays one segment of the path it is put in.
pub fn path_segment(s: &str) -> String {
    seg(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_stay_one_segment_and_one_literal() {
        assert_eq!(seg("a/b?c#d e%f'g"), "a%2Fb%3Fc%23d%20e%25f%27g");
        assert_eq!(odata_string("o'brien"), "'o''brien'");
        assert_eq!(odata_string("' or 1 eq 1 or 'x"), "''' or 1 eq 1 or ''x'");
    }
}
