//! Lenient ISO-8601 timestamp parsing.

use crate::ModelError;
use chrono::{DateTime, NaiveDateTime, Utc};

/// Parses an ISO-8601 timestamp as UTC.
///
/// Accepts what Microsoft APIs emit: with or without fractional seconds (any precision, e.g.
/// .NET's 7 digits), with `Z`, with an offset, or with no zone at all. A missing zone means UTC
/// (the Management Activity API's `CreationTime` is UTC without `Z`). Anything else is an
/// error, never a silently wrong value.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, ModelError> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(naive.and_utc());
        }
    }
    Err(ModelError::Timestamp {
        value: s.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_shapes_and_treats_naive_as_utc() {
        let want = "2026-03-04T10:15:22+00:00";
        for s in [
            "2026-03-04T10:15:22",
            "2026-03-04T10:15:22Z",
            "2026-03-04T10:15:22.000Z",
            "2026-03-04T11:15:22+01:00",
        ] {
            assert_eq!(parse_timestamp(s).unwrap().to_rfc3339(), want, "{s}");
        }
        let frac = parse_timestamp("2023-09-27T07:08:27.6012345Z").unwrap();
        assert_eq!(frac.timestamp_subsec_nanos(), 601_234_500);
        let naive_frac = parse_timestamp("2023-09-27T07:08:27.6").unwrap();
        assert_eq!(naive_frac.timestamp_subsec_millis(), 600);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_timestamp("6/1/2024 11:59:15 PM").is_err());
        assert!(parse_timestamp("").is_err());
    }
}
