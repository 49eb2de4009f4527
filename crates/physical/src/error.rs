//! Why a native message could not be turned into events.

use thiserror::Error;

/// The largest native message accepted: 256 KiB (a Frigate event is about 2 KiB).
pub const MAX_NATIVE_BYTES: usize = 256 * 1024;

/// A native message that the adapters refuse; the service sends it to a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AdapterError {
    #[error("message of {size} bytes is over the {max}-byte limit: check the sender")]
    TooLarge { size: usize, max: usize },
    #[error("message is not valid JSON ({0}): send one JSON object per message")]
    Json(String),
    #[error("message does not fit the format ({0}): see the adapter's documented fields")]
    Shape(String),
    #[error("field `{field}` is wrong: {reason}")]
    Field { field: String, reason: String },
    #[error("unknown {what} `{value}`: use one of {allowed}")]
    UnknownValue {
        what: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("XML does not parse ({0}): send the body of an ONVIF PullMessagesResponse")]
    Xml(String),
    #[error("no adapter listens on topic `{0}`: publish under site/..., frigate/events")]
    UnknownTopic(String),
}

impl AdapterError {
    /// A field error with its reason.
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        AdapterError::Field {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// A short stable code for counters and dead letters.
    pub fn code(&self) -> &'static str {
        match self {
            AdapterError::TooLarge { .. } => "too_large",
            AdapterError::Json(_) => "json",
            AdapterError::Shape(_) => "shape",
            AdapterError::Field { .. } => "field",
            AdapterError::UnknownValue { .. } => "unknown_value",
            AdapterError::Xml(_) => "xml",
            AdapterError::UnknownTopic(_) => "unknown_topic",
        }
    }
}

/// Refuses a payload over [`MAX_NATIVE_BYTES`] before it is parsed.
pub fn check_size(payload: &[u8]) -> Result<(), AdapterError> {
    if payload.len() > MAX_NATIVE_BYTES {
        return Err(AdapterError::TooLarge {
            size: payload.len(),
            max: MAX_NATIVE_BYTES,
        });
    }
    Ok(())
}

/// Parses a JSON payload into `T` after the size check, naming the bad field.
pub fn parse_json<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, AdapterError> {
    check_size(payload)?;
    serde_json::from_slice(payload).map_err(json_error)
}

/// Tells a JSON syntax error from JSON of the wrong shape.
pub fn json_error(err: serde_json::Error) -> AdapterError {
    match err.classify() {
        serde_json::error::Category::Data => AdapterError::Shape(err.to_string()),
        _ => AdapterError::Json(err.to_string()),
    }
}
