//! Parsing and validation errors that name the field and the reason.

use serde::de::DeserializeOwned;
use thiserror::Error;

/// The largest message the platform accepts: 1 MiB.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// One field that breaks a rule of the data model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `source.port`.
    pub field: String,
    /// Why the value is refused, for a person.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, reason: &str) -> Self {
        FieldError {
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Why a document could not be accepted.
#[derive(Debug, Error)]
pub enum ParseError {
    #[error("message of {size} bytes is over the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("message is not UTF-8 JSON: {0}")]
    NotJson(String),
    #[error("field `{field}`: {reason}")]
    WrongField { field: String, reason: String },
    #[error("invalid fields: {}", join(.0))]
    Invalid(Vec<FieldError>),
}

impl ParseError {
    /// A stable short code for counters and dead letters.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::TooLarge { .. } => "too_large",
            ParseError::NotJson(_) => "malformed_json",
            ParseError::WrongField { .. } => "wrong_field",
            ParseError::Invalid(_) => "invalid_field",
        }
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Deserializes JSON, refusing oversized input and naming the failing field.
///
/// A refused input is parsed a second time, with path tracking, to name the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }

    // The plain parser first: tracking the path of every field costs about a
    // third of the parse, and is only needed to explain a refusal.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }

    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ParseError::NotJson(inner.to_string())
        } else {
            ParseError::WrongField {
                field: path,
                reason: inner.to_string(),
            }
        }
    })?;
    deserializer
        .end()
        .map_err(|err| ParseError::NotJson(err.to_string()))?;
    Ok(value)
}

/// True for lowercase dotted words such as `network.port_scan`.
pub fn is_dotted_kind(kind: &str) -> bool {
    let mut parts = 0;
    for part in kind.split('.') {
        let ok = !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return false;
        }
        parts += 1;
    }
    parts >= 2 && kind.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_kinds() {
        assert!(is_dotted_kind("network.port_scan"));
        assert!(is_dotted_kind("ot.modbus.unauthorized_write"));
        assert!(!is_dotted_kind("network"));
        assert!(!is_dotted_kind("Network.Scan"));
        assert!(!is_dotted_kind("network..scan"));
    }

    #[test]
    fn malformed_json_is_not_a_field_error() {
        let err = parse_json::<serde_json::Value>(b"{not json").unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }
}
