//! Adapters: one per physical security system, each a pure parser from a native
//! message to [`Observation`]s.
//!
//! Native topics (the defaults of [`NativeTopics`]):
//!
//! | topic | system | format |
//! |---|---|---|
//! | `site/access/{door}` | access control | [`access`] JSON (also the HTTP webhook body) |
//! | `site/intrusion/{panel}` | intrusion panel | [`intrusion`] JSON |
//! | `site/fire/{panel}` | fire panel | [`fire`] JSON, or BACnet life-safety states |
//! | `frigate/events` | Frigate NVR | Frigate's own event JSON ([`frigate`]) |
//! | `site/onvif/{camera}` | ONVIF camera | a PullMessagesResponse XML body ([`onvif`]) |
//! | `site/video/{system}` | other video analytics | [`analytics`] JSON |
//! | `site/env/{box}` | environmental sensor box | [`environment`] JSON |

pub mod access;
pub mod analytics;
pub mod environment;
pub mod fire;
pub mod frigate;
pub mod intrusion;
pub mod onvif;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::error::AdapterError;
use crate::observation::{Observation, System};

/// The MQTT topic filters the service subscribes to, and how a topic maps to a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeTopics {
    /// Prefix of the site's own topics, `site` by default.
    pub prefix: String,
    /// Frigate's topic prefix, `frigate` by default.
    pub frigate: String,
}

impl Default for NativeTopics {
    fn default() -> Self {
        NativeTopics {
            prefix: "site".into(),
            frigate: "frigate".into(),
        }
    }
}

impl NativeTopics {
    /// The filters to subscribe to.
    pub fn filters(&self) -> Vec<String> {
        let p = &self.prefix;
        vec![
            format!("{p}/access/+"),
            format!("{p}/intrusion/+"),
            format!("{p}/fire/+"),
            format!("{p}/onvif/+"),
            format!("{p}/video/+"),
            format!("{p}/env/+"),
            format!("{}/events", self.frigate),
        ]
    }

    /// The system a topic belongs to and the device or source named in the topic.
    pub fn route<'t>(&self, topic: &'t str) -> Option<(System, &'t str)> {
        if topic == format!("{}/events", self.frigate) {
            return Some((System::Frigate, ""));
        }
        let rest = topic
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('/')?;
        let (kind, name) = rest.split_once('/')?;
        if name.is_empty() || name.contains('/') {
            return None;
        }
        let system = match kind {
            "access" => System::Access,
            "intrusion" => System::Intrusion,
            "fire" => System::Fire,
            "onvif" => System::Onvif,
            "video" => System::Analytics,
            "env" => System::Environment,
            _ => return None,
        };
        Some((system, name))
    }

    /// Decodes a message received on `topic` into observations.
    pub fn decode(
        &self,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Vec<Observation>, AdapterError> {
        let Some((system, name)) = self.route(topic) else {
            return Err(AdapterError::UnknownTopic(topic.to_string()));
        };
        if system == System::Access && name == WEBHOOK {
            return access::decode_batch(payload, received);
        }
        decode(system, name, payload, received)
    }
}

/// The access topic name that carries webhook bodies (`site/access/webhook`): the door is
/// named in each message, and a JSON array of messages is accepted.
pub const WEBHOOK: &str = "webhook";

/// Decodes one native message of a system; `name` is the device named by the topic.
pub fn decode(
    system: System,
    name: &str,
    payload: &[u8],
    received: DateTime<Utc>,
) -> Result<Vec<Observation>, AdapterError> {
    match system {
        System::Access => access::decode(payload, name, received),
        System::Intrusion => intrusion::decode(payload, name, received),
        System::Fire => fire::decode(payload, name, received),
        System::Frigate => frigate::decode(payload, received),
        System::Onvif => onvif::decode(payload, name, received),
        System::Analytics => analytics::decode(payload, received),
        System::Environment => environment::decode(payload, name, received),
    }
}

/// Reads an optional time: RFC 3339 text or seconds since 1970 (integer or fraction).
///
/// Returns the time and whether it was assumed (absent, so `received`).
pub(crate) fn read_time(
    value: Option<&Value>,
    field: &str,
    received: DateTime<Utc>,
) -> Result<(DateTime<Utc>, bool), AdapterError> {
    match value {
        None | Some(Value::Null) => Ok((received, true)),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|t| (t.with_timezone(&Utc), false))
            .map_err(|err| {
                AdapterError::field(field, format!("`{text}` is not RFC 3339 time ({err})"))
            }),
        Some(Value::Number(number)) => {
            let seconds = number.as_f64().unwrap_or(f64::NAN);
            epoch(seconds)
                .map(|t| (t, false))
                .ok_or_else(|| AdapterError::field(field, "seconds since 1970 out of range"))
        }
        Some(_) => Err(AdapterError::field(
            field,
            "write RFC 3339 text or seconds since 1970",
        )),
    }
}

/// Seconds since 1970 (with fraction) to a time; `None` when not finite or out of range.
pub(crate) fn epoch(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() || !(0.0..=32_503_680_000.0).contains(&seconds) {
        return None;
    }
    let whole = seconds.trunc() as i64;
    let nanos = ((seconds - seconds.trunc()) * 1e9) as u32;
    Utc.timestamp_opt(whole, nanos.min(999_999_999)).single()
}

/// Checks an id read from a message: non-empty, at most 128 bytes, printable.
pub(crate) fn check_id(field: &str, id: &str) -> Result<(), AdapterError> {
    if id.trim().is_empty() {
        return Err(AdapterError::field(field, "must not be empty"));
    }
    if id.len() > 128 || id.chars().any(char::is_control) {
        return Err(AdapterError::field(
            field,
            "must be at most 128 printable characters",
        ));
    }
    Ok(())
}
