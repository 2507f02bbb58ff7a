//! Timestamps as stored: RFC 3339, UTC, microseconds, `Z`, so text order is time order.

use crate::StoreError;
use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a time the way every column stores it.
pub fn to_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored time.
pub fn from_text(column: &'static str, s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::BadValue {
            column,
            value: s.to_string(),
        })
}
