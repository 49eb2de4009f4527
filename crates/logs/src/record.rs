//! One parsed log record, whatever format it came from.
//!
//! Every intake turns its input into [`LogRecord`]s: flat fields named as the
//! Sigma rules name them (`EventID`, `Image`, `CommandLine`, `message`), the
//! Sigma log source the record belongs to, and where it came from so that an
//! error or a detection can point back at the file and record.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Where a record came from: file (or peer address) and record number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// File path, or `udp://addr` / `tcp://addr` for received messages.
    pub source: String,
    /// 1-based line number, EVTX record id, or message counter.
    pub record: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} record {}", self.source, self.record)
    }
}

/// The Sigma log source of a record, possibly in several categories at once.
///
/// A Sysmon registry value change (event 13) is both `registry_set` and
/// `registry_event`, and an sshd line of auth.log is both `sshd` and `auth`,
/// so services and categories are lists; a rule matches when each of its
/// `product`, `service` and `category` is absent or among the record's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RecordSource {
    /// `windows`, `linux`, ...
    pub product: Option<String>,
    /// `security`, `sysmon`, `sshd`, `auth`, ...
    pub services: Vec<String>,
    /// `process_creation`, `registry_set`, ...
    pub categories: Vec<String>,
}

impl RecordSource {
    /// A source with a product and at most one service, and no category.
    pub fn new(product: &str, service: Option<&str>) -> Self {
        RecordSource {
            product: Some(product.to_string()),
            services: service.map(str::to_string).into_iter().collect(),
            categories: Vec::new(),
        }
    }

    /// Adds a service the record also belongs to.
    pub fn with_service(mut self, service: &str) -> Self {
        if !self.services.iter().any(|s| s == service) {
            self.services.push(service.to_string());
        }
        self
    }

    /// Adds a category the record also belongs to.
    pub fn with_category(mut self, category: &str) -> Self {
        self.categories.push(category.to_string());
        self
    }
}

/// One log record with flat, Sigma-named fields.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Flat fields: always a JSON object.
    pub fields: Value,
    /// When the record says it happened; `None` when it does not say.
    pub time: Option<DateTime<Utc>>,
    /// The host that wrote the record (Windows `Computer`, syslog host name).
    pub host: Option<String>,
    /// The Sigma log source the record belongs to.
    pub source: RecordSource,
    /// Where the record was read.
    pub origin: Origin,
}

impl LogRecord {
    /// A record from flat fields; time, host and log source are set by the intake.
    pub fn new(fields: Map<String, Value>, origin: Origin) -> Self {
        LogRecord {
            fields: Value::Object(fields),
            time: None,
            host: None,
            source: RecordSource::default(),
            origin,
        }
    }

    /// A field as a string, numbers rendered in decimal.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A field as a borrowed string, only when it is a JSON string.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.fields.get(name)?.as_str()
    }

    /// A field as an integer, parsing decimal and `0x` hexadecimal strings.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.fields.get(name)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => parse_int(s),
            _ => None,
        }
    }

    /// The Windows event id, when the record has one.
    pub fn event_id(&self) -> Option<i64> {
        self.int("EventID")
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_from_numbers_and_hex_strings() {
        let mut fields = Map::new();
        fields.insert("EventID".into(), Value::from(4624));
        fields.insert("Status".into(), Value::from("0xC000006A"));
        fields.insert("LogonType".into(), Value::from("10"));
        let record = LogRecord::new(fields, Origin::default());

        assert_eq!(record.event_id(), Some(4624));
        assert_eq!(record.int("Status"), Some(0xC000006A));
        assert_eq!(record.int("LogonType"), Some(10));
        assert_eq!(record.int("Missing"), None);
    }
}
