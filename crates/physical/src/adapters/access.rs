//! Access control: badge readers, keypads and door contacts, as JSON.
//!
//! One message per door event, on `site/access/{door}` or POSTed to the webhook
//! ([`crate::ingest_webhook`]), which also takes a JSON array of them:
//!
//! ```json
//! {
//!   "id": "acs-000123",                  // optional: the system's message id
//!   "time": "2026-12-04T02:10:00Z",      // optional: RFC 3339 or seconds since 1970
//!   "door": "door-pharmacy",             // required on the webhook; else the topic's door
//!   "event": "granted",                  // see below
//!   "credential": "badge",               // badge | keypad | badge_and_keypad | biometric | remote
//!   "badge": "B-1042",                   // badge number, when a badge was shown
//!   "user": "n.jansen",                  // account of the badge holder, when known
//!   "code_id": "slot-3",                 // which keypad code was typed (a slot or hash, never the code)
//!   "reason": "expired",                 // why a badge was denied
//!   "held_seconds": 95,                  // for held_open
//!   "count": 2                           // for passage: people counted through the door
//! }
//! ```
//!
//! `event` is one of `granted`, `denied`, `code_entry` (a keypad code, with `result`
//! `granted` or `denied`, granted by default), `forced`, `held_open`, `opened`, `closed`,
//! `anti_passback`, `reader_tamper`, `passage`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{check_id, read_time};
use crate::error::{AdapterError, check_size, json_error};
use crate::observation::{Credential, Fact, Observation, Presentation, System};

/// Most messages in one webhook body.
pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    time: Option<Value>,
    #[serde(default)]
    door: Option<String>,
    event: String,
    #[serde(default)]
    credential: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    badge: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    code_id: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    held_seconds: Option<u32>,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    zone: Option<String>,
}

/// Decodes one access-control message; `door` is the door named by the topic.
pub fn decode(
    payload: &[u8],
    door: &str,
    received: DateTime<Utc>,
) -> Result<Vec<Observation>, AdapterError> {
    check_size(payload)?;
    let message: Message = serde_json::from_slice(payload).map_err(json_error)?;
    Ok(vec![observe(message, Some(door), received)?])
}

/// Decodes a webhook body: one message or an array of at most [`MAX_BATCH`].
pub fn decode_batch(
    payload: &[u8],
    received: DateTime<Utc>,
) -> Result<Vec<Observation>, AdapterError> {
    check_size(payload)?;
    let value: Value = serde_json::from_slice(payload).map_err(json_error)?;
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    if items.len() > MAX_BATCH {
        return Err(AdapterError::field(
            "[]",
            format!(
                "{} messages, over {MAX_BATCH}: split the batch",
                items.len()
            ),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            to_message(item)
                .and_then(|m| observe(m, None, received))
                .map_err(|err| AdapterError::field(&format!("[{i}]"), err.to_string()))
        })
        .collect()
}

fn to_message(value: Value) -> Result<Message, AdapterError> {
    serde_json::from_value(value).map_err(json_error)
}

fn observe(
    message: Message,
    topic_door: Option<&str>,
    received: DateTime<Utc>,
) -> Result<Observation, AdapterError> {
    let door = message
        .door
        .clone()
        .or_else(|| topic_door.map(str::to_string))
        .ok_or_else(|| AdapterError::field("door", "missing: name the door"))?;
    check_id("door", &door)?;
    for (field, value) in [
        ("badge", &message.badge),
        ("user", &message.user),
        ("code_id", &message.code_id),
    ] {
        if let Some(value) = value {
            check_id(field, value)?;
        }
    }

    let (time, time_assumed) = read_time(message.time.as_ref(), "time", received)?;
    let fact = fact(&message)?;
    Ok(Observation {
        time,
        time_assumed,
        system: System::Access,
        device: door,
        zone: message.zone,
        fact,
    })
}

fn fact(m: &Message) -> Result<Fact, AdapterError> {
    let present = |granted: bool, default: Credential| -> Result<Fact, AdapterError> {
        let credential = match m.credential.as_deref() {
            None => default,
            Some(text) => credential(text)?,
        };
        Ok(Fact::Presented(Presentation {
            granted,
            credential,
            badge: m.badge.clone(),
            user: m.user.clone(),
            code_id: m.code_id.clone(),
            reason: m.reason.clone(),
        }))
    };

    match m.event.as_str() {
        "granted" => present(true, Credential::Badge),
        "denied" => present(false, Credential::Badge),
        "code_entry" => {
            let granted = match m.result.as_deref() {
                None | Some("granted") => true,
                Some("denied") => false,
                Some(other) => {
                    return Err(AdapterError::UnknownValue {
                        what: "result",
                        value: other.to_string(),
                        allowed: "granted, denied",
                    });
                }
            };
            let default = if m.badge.is_some() {
                Credential::BadgeAndKeypad
            } else {
                Credential::Keypad
            };
            present(granted, default)
        }
        "forced" => Ok(Fact::DoorForced),
        "held_open" => Ok(Fact::DoorHeld {
            seconds: m.held_seconds,
        }),
        "opened" => Ok(Fact::DoorOpened),
        "closed" => Ok(Fact::DoorClosed),
        "anti_passback" => Ok(Fact::AntiPassback {
            badge: m.badge.clone(),
            user: m.user.clone(),
        }),
        "reader_tamper" => Ok(Fact::ReaderTamper),
        "passage" => Ok(Fact::Passage {
            count: m.count.unwrap_or(1),
            door: None,
        }),
        other => Err(AdapterError::UnknownValue {
            what: "access event",
            value: other.to_string(),
            allowed: "granted, denied, code_entry, forced, held_open, opened, closed, \
                      anti_passback, reader_tamper, passage",
        }),
    }
}

fn credential(text: &str) -> Result<Credential, AdapterError> {
    match text {
        "badge" => Ok(Credential::Badge),
        "keypad" | "code" => Ok(Credential::Keypad),
        "badge_and_keypad" => Ok(Credential::BadgeAndKeypad),
        "biometric" => Ok(Credential::Biometric),
        "remote" => Ok(Credential::Remote),
        other => Err(AdapterError::UnknownValue {
            what: "credential",
            value: other.to_string(),
            allowed: "badge, keypad, badge_and_keypad, biometric, remote",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-04T02:10:30Z".parse().unwrap()
    }

    #[test]
    fn keypad_code_without_badge_is_a_keypad_presentation() {
        let body = br#"{"time":"2026-12-04T02:10:00Z","event":"code_entry","code_id":"slot-3"}"#;
        let obs = decode(body, "door-pharmacy", now()).unwrap();
        assert_eq!(obs[0].device, "door-pharmacy");
        assert!(!obs[0].time_assumed);
        let Fact::Presented(p) = &obs[0].fact else {
            panic!("{:?}", obs[0].fact)
        };
        assert!(p.granted);
        assert_eq!(p.credential, Credential::Keypad);
        assert_eq!(p.code_id.as_deref(), Some("slot-3"));
    }

    #[test]
    fn webhook_batch_names_the_bad_item() {
        let body = br#"[{"door":"d1","event":"forced"},{"door":"d1","event":"exploded"}]"#;
        let err = decode_batch(body, now()).unwrap_err().to_string();
        assert!(err.contains("[1]") && err.contains("exploded"), "{err}");
    }

    #[test]
    fn webhook_needs_a_door() {
        let err = decode_batch(br#"{"event":"forced"}"#, now()).unwrap_err();
        assert!(err.to_string().contains("door"), "{err}");
    }

    #[test]
    fn epoch_seconds_are_accepted_and_garbage_refused() {
        let obs = decode(br#"{"time":1796350200.5,"event":"forced"}"#, "d", now()).unwrap();
        assert_eq!(obs[0].time.timestamp(), 1_796_350_200);
        assert!(decode(br#"{"time":"yesterday","event":"forced"}"#, "d", now()).is_err());
        assert!(decode(br#"{"time":-5,"event":"forced"}"#, "d", now()).is_err());
        assert!(decode(b"{not json", "d", now()).is_err());
    }
}
