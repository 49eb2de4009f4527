//! Generic video analytics: one JSON format for systems other than Frigate and ONVIF.
//!
//! One message per detection on `site/video/{system}`:
//!
//! ```json
//! {"time": "2026-12-03T14:00:00Z", "camera": "cam-waiting-room", "zone": "waiting-room",
//!  "type": "occupancy", "count": 57}
//! ```
//!
//! | `type` | extra fields | meaning |
//! |---|---|---|
//! | `occupancy` | `count` | people now in the zone (or the camera's zone) |
//! | `person` | `count` (default 1) | people detected |
//! | `loitering` | `dwell_seconds` | a person dwelling, as judged by the analytics |
//! | `line_crossing` | `count`, `door` | people crossing a line, e.g. through a door |
//! | `tamper` | `active` (default true) | the view is covered, moved or blinded |
//! | `camera_status` | `online` | the camera went offline or came back |
//! | `motion` | `active` (default true) | motion in the view |
//! | `intrusion` | `active` (default true) | an object inside a watched area |

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{check_id, read_time};
use crate::error::{AdapterError, parse_json};
use crate::observation::{Fact, Observation, System};

/// Largest count accepted (people in one view).
const MAX_COUNT: u32 = 100_000;

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    time: Option<Value>,
    camera: String,
    #[serde(default)]
    zone: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    dwell_seconds: Option<u32>,
    #[serde(default)]
    door: Option<String>,
    #[serde(default)]
    online: Option<bool>,
    #[serde(default)]
    active: Option<bool>,
}

/// Decodes one generic analytics message.
pub fn decode(payload: &[u8], received: DateTime<Utc>) -> Result<Vec<Observation>, AdapterError> {
    let m: Message = parse_json(payload)?;
    check_id("camera", &m.camera)?;
    if m.count.is_some_and(|c| c > MAX_COUNT) {
        return Err(AdapterError::field("count", format!("over {MAX_COUNT}")));
    }
    let (time, time_assumed) = read_time(m.time.as_ref(), "time", received)?;
    let required = |value: Option<u32>, field: &str| {
        value.ok_or_else(|| AdapterError::field(field, format!("missing for type {}", m.kind)))
    };

    let active = m.active.unwrap_or(true);
    let fact = match m.kind.as_str() {
        "occupancy" => Fact::Occupancy {
            count: required(m.count, "count")?,
        },
        "person" => Fact::PersonSeen {
            count: m.count.unwrap_or(1),
        },
        "loitering" => Fact::Loitering {
            dwell_seconds: required(m.dwell_seconds, "dwell_seconds")?,
        },
        "line_crossing" => Fact::LineCrossing {
            count: m.count.unwrap_or(1),
            door: m.door.clone(),
        },
        "tamper" => Fact::CameraTamper { active },
        "camera_status" => Fact::CameraStatus {
            online: m
                .online
                .ok_or_else(|| AdapterError::field("online", "missing for camera_status"))?,
        },
        "motion" => Fact::VideoMotion { active },
        "intrusion" => Fact::FieldIntrusion { active },
        other => {
            return Err(AdapterError::UnknownValue {
                what: "analytics type",
                value: other.to_string(),
                allowed: "occupancy, person, loitering, line_crossing, tamper, camera_status, \
                          motion, intrusion",
            });
        }
    };
    Ok(vec![Observation {
        time,
        time_assumed,
        system: System::Analytics,
        device: m.camera,
        zone: m.zone,
        fact,
    }])
}
