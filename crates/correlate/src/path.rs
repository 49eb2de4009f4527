//! Dotted field paths into a security event (`source.ip`, `evidence.after_hours`).

use std::cell::OnceCell;

use safecare_core::SecurityEvent;
use serde_json::Value;

/// The top-level names a path may start with: the event's fields plus `zone`.
const ROOTS: &[&str] = &[
    "id",
    "time",
    "module",
    "kind",
    "domain",
    "severity",
    "confidence",
    "summary",
    "asset",
    "zone",
    "location",
    "source",
    "destination",
    "user",
    "host",
    "file",
    "threat",
    "evidence",
];

/// The longest path accepted, in parts.
const MAX_PARTS: usize = 8;

/// A checked dotted path; `zone` is short for `location.zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath {
    /// Where the first part sits in [`ROOTS`].
    root: usize,
    parts: Vec<String>,
}

impl FieldPath {
    /// Checks a path written in a rule; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<FieldPath, String> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "field path `{text}` has an empty part: write e.g. source.ip"
            ));
        }
        if parts.len() > MAX_PARTS {
            return Err(format!(
                "field path `{text}` is deeper than {MAX_PARTS} parts"
            ));
        }
        let root = parts.first().copied().unwrap_or_default();
        let Some(mut root_index) = ROOTS.iter().position(|r| *r == root) else {
            return Err(format!(
                "field path `{text}` starts with unknown field `{root}`: use one of {}",
                ROOTS.join(", ")
            ));
        };

        let mut resolved: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        if root == "zone" {
            resolved.splice(0..1, ["location".to_string(), "zone".to_string()]);
            root_index = ROOTS
                .iter()
                .position(|r| *r == "location")
                .unwrap_or(root_index);
        }
        Ok(FieldPath {
            root: root_index,
            parts: resolved,
        })
    }
}

/// An event whose top-level fields are turned into JSON one at a time, on
/// first need: rules look at a few fields of each event, and turning the whole
/// event into JSON was most of the cost of correlating it.
pub(crate) struct EventView<'a> {
    pub(crate) event: &'a SecurityEvent,
    fields: [OnceCell<Value>; ROOTS.len()],
}

impl<'a> EventView<'a> {
    pub(crate) fn new(event: &'a SecurityEvent) -> EventView<'a> {
        EventView {
            event,
            fields: std::array::from_fn(|_| OnceCell::new()),
        }
    }

    /// The value at `path`, if the event has one (null counts as none).
    pub(crate) fn value(&self, path: &FieldPath) -> Option<&Value> {
        let (_, below_root) = path.parts.split_first()?;
        match below_root.split_first() {
            // Evidence is already JSON: look into it without a copy.
            Some((key, rest)) if ROOTS[path.root] == "evidence" => {
                descend(self.event.evidence.get(key)?, rest)
            }
            _ => descend(self.field(path.root), below_root),
        }
    }

    /// The top-level field at `root` of [`ROOTS`] as JSON, made once.
    fn field(&self, root: usize) -> &Value {
        self.fields[root].get_or_init(|| {
            let event = self.event;
            let value = match ROOTS[root] {
                "id" => serde_json::to_value(event.id),
                "time" => serde_json::to_value(event.time),
                "module" => serde_json::to_value(event.module),
                "kind" => Ok(Value::String(event.kind.clone())),
                "domain" => serde_json::to_value(event.domain),
                "severity" => Ok(Value::from(event.severity)),
                "confidence" => serde_json::to_value(event.confidence),
                "summary" => Ok(Value::String(event.summary.clone())),
                "asset" => serde_json::to_value(&event.asset),
                "location" => serde_json::to_value(&event.location),
                "source" => serde_json::to_value(&event.source),
                "destination" => serde_json::to_value(&event.destination),
                "user" => serde_json::to_value(&event.user),
                "host" => serde_json::to_value(&event.host),
                "file" => serde_json::to_value(&event.file),
                "threat" => serde_json::to_value(&event.threat),
                "evidence" => serde_json::to_value(&event.evidence),
                _ => Ok(Value::Null),
            };
            value.unwrap_or(Value::Null)
        })
    }

    /// The value at `path` as a grouping key; arrays give their first element.
    /// Long values are cut to 256 bytes so that state stays bounded.
    pub(crate) fn key(&self, path: &FieldPath) -> Option<String> {
        key_of(self.value(path)?).map(clip)
    }
}

/// Follows `parts` down from `value`; a list stands for its first element.
/// Null counts as missing.
fn descend<'v>(mut current: &'v Value, parts: &[String]) -> Option<&'v Value> {
    for part in parts {
        current = match current {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.first()?.as_object()?.get(part)?,
            _ => return None,
        };
    }
    (!current.is_null()).then_some(current)
}

/// The longest value kept from an event for a key or a summary, in bytes.
const MAX_VALUE_BYTES: usize = 256;

/// Cuts a value taken from an event to [`MAX_VALUE_BYTES`], on a char boundary.
pub(crate) fn clip(mut text: String) -> String {
    if text.len() > MAX_VALUE_BYTES {
        let mut cut = MAX_VALUE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// A scalar rendered as text, for keys and summaries.
pub(crate) fn key_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => items.first().and_then(key_of),
        Value::Object(_) | Value::Null => None,
    }
}

/// True when `actual` equals `expected`; either side may be a list of options.
pub(crate) fn values_equal(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (_, Value::Array(options)) => options.iter().any(|o| values_equal(actual, o)),
        (Value::Array(items), _) => items.iter().any(|i| values_equal(i, expected)),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => actual == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safecare_core::{Location, Module};
    use serde_json::json;

    fn event() -> SecurityEvent {
        let mut event = SecurityEvent::new(Module::Access, "access.after_hours", 60, "Entry");
        event.location = Some(Location {
            zone: Some("pharmacy".into()),
            ..Location::default()
        });
        event.evidence.insert("after_hours".into(), json!(true));
        event.evidence.insert("count".into(), json!(3));
        event.with_techniques("MITRE ATT&CK", &["T1078", "T1110"])
    }

    #[test]
    fn zone_is_short_for_location_zone() {
        let event = event();
        let view = EventView::new(&event);
        let path = FieldPath::parse("zone").unwrap();
        assert_eq!(view.key(&path).as_deref(), Some("pharmacy"));
    }

    #[test]
    fn reads_evidence_arrays_and_missing_fields() {
        let event = event();
        let view = EventView::new(&event);
        let get = |p: &str| view.key(&FieldPath::parse(p).unwrap());
        assert_eq!(get("evidence.after_hours").as_deref(), Some("true"));
        assert_eq!(get("evidence.count").as_deref(), Some("3"));
        assert_eq!(get("threat.technique.id").as_deref(), Some("T1078"));
        assert_eq!(get("source.ip"), None);
        assert_eq!(get("kind").as_deref(), Some("access.after_hours"));
    }

    #[test]
    fn refuses_unknown_roots_and_empty_parts() {
        assert!(FieldPath::parse("sauce.ip").unwrap_err().contains("sauce"));
        assert!(FieldPath::parse("source..ip").is_err());
        assert!(FieldPath::parse("").is_err());
    }

    #[test]
    fn equality_handles_lists_and_numbers() {
        assert!(values_equal(&json!(["T1078", "T1110"]), &json!("T1110")));
        assert!(values_equal(&json!("pharmacy"), &json!(["or", "pharmacy"])));
        assert!(values_equal(&json!(3), &json!(3.0)));
        assert!(!values_equal(&json!(true), &json!("true")));
    }
}
