//! Intrusion panels: motion, glass break, tamper and arming, as JSON.
//!
//! One message per panel event on `site/intrusion/{panel}`:
//!
//! ```json
//! {"time": "2026-12-04T02:12:00Z", "sensor": "pir-pharmacy-1", "zone": "pharmacy",
//!  "event": "motion"}
//! ```
//!
//! `event` is `motion`, `glass_break`, `tamper`, `armed` or `disarmed`; `sensor` defaults
//! to the panel named by the topic, `zone` (the area, as a site zone id) is optional when
//! the sensor is in the site model.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{check_id, read_time};
use crate::error::{AdapterError, parse_json};
use crate::observation::{Fact, Observation, System};

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    time: Option<Value>,
    #[serde(default)]
    sensor: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    event: String,
}

/// Decodes one intrusion-panel message; `panel` is the panel named by the topic.
pub fn decode(
    payload: &[u8],
    panel: &str,
    received: DateTime<Utc>,
) -> Result<Vec<Observation>, AdapterError> {
    let message: Message = parse_json(payload)?;
    let device = message.sensor.unwrap_or_else(|| panel.to_string());
    check_id("sensor", &device)?;
    let (time, time_assumed) = read_time(message.time.as_ref(), "time", received)?;

    let fact = match message.event.as_str() {
        "motion" => Fact::Motion,
        "glass_break" => Fact::GlassBreak,
        "tamper" => Fact::Tamper,
        "armed" => Fact::Arming { armed: true },
        "disarmed" => Fact::Arming { armed: false },
        other => {
            return Err(AdapterError::UnknownValue {
                what: "intrusion event",
                value: other.to_string(),
                allowed: "motion, glass_break, tamper, armed, disarmed",
            });
        }
    };
    Ok(vec![Observation {
        time,
        time_assumed,
        system: System::Intrusion,
        device,
        zone: message.zone,
        fact,
    }])
}
