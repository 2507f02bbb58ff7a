//! The error type of the model helpers (decoding nested JSON, parsing timestamps).

/// Failure of a model helper; plain deserialisation uses `serde_json::Error` directly.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A field holds JSON encoded inside a string and that JSON is malformed.
    #[error(
        "field `{field}` does not hold the expected embedded json: {source}; check the raw payload"
    )]
    EmbeddedJson {
        /// Wire name of the field.
        field: &'static str,
        /// The underlying parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A timestamp could not be parsed by the lenient parser.
    #[error("timestamp `{value}` is not iso-8601; expected e.g. 2026-03-04T10:15:22[.fff][Z]")]
    Timestamp {
        /// The raw value.
        value: String,
    },
    /// A typed view of a record or document could not be built.
    #[error(
        "cannot read {what} from the payload: {source}; the service may have changed its schema"
    )]
    View {
        /// What was being read.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A Graph `$batch` request broke a documented limit.
    #[error("invalid graph $batch request: {reason}; split the batch or fix the ids")]
    Batch {
        /// Which limit was broken.
        reason: String,
    },
}
