//! Environmental sensor boxes: readings and alarms in one JSON object.
//!
//! One message per reading cycle on `site/env/{box}` (the box id is the topic's last
//! level unless `sensor` names it); every field but the box is optional:
//!
//! ```json
//! {"time": "2026-12-04T02:20:00Z", "zone": "pharmacy", "temperature_c": 21.5,
//!  "humidity_pct": 41, "light_lux": 320, "sound_db": 48,
//!  "flood": false, "glass_break": false, "fire": false}
//! ```
//!
//! Readings are judged against the site's BMS points for the box (by quantity
//! `temperature`, `humidity`, `light`, `sound`), else against [`crate::EnvLimits`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{check_id, read_time};
use crate::error::{AdapterError, parse_json};
use crate::observation::{Fact, FireState, Observation, Reading, System};

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    time: Option<Value>,
    #[serde(default)]
    sensor: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    temperature_c: Option<f64>,
    #[serde(default)]
    humidity_pct: Option<f64>,
    #[serde(default)]
    light_lux: Option<f64>,
    #[serde(default)]
    sound_db: Option<f64>,
    #[serde(default)]
    flood: bool,
    #[serde(default)]
    glass_break: bool,
    #[serde(default)]
    fire: bool,
}

/// Decodes one sensor-box message into one observation per reading or alarm.
pub fn decode(
    payload: &[u8],
    name: &str,
    received: DateTime<Utc>,
) -> Result<Vec<Observation>, AdapterError> {
    let m: Message = parse_json(payload)?;
    let device = m.sensor.clone().unwrap_or_else(|| name.to_string());
    check_id("sensor", &device)?;
    let (time, time_assumed) = read_time(m.time.as_ref(), "time", received)?;

    let mut facts = Vec::new();
    let readings = [
        ("temperature_c", m.temperature_c.map(Reading::TemperatureC)),
        ("humidity_pct", m.humidity_pct.map(Reading::HumidityPct)),
        ("light_lux", m.light_lux.map(Reading::LightLux)),
        ("sound_db", m.sound_db.map(Reading::SoundDb)),
    ];
    for (field, reading) in readings {
        let Some(reading) = reading else { continue };
        if !reading_value(reading).is_finite() {
            return Err(AdapterError::field(field, "must be a finite number"));
        }
        facts.push(Fact::Reading(reading));
    }
    if m.flood {
        facts.push(Fact::Flood);
    }
    if m.glass_break {
        facts.push(Fact::GlassBreak);
    }
    if m.fire {
        facts.push(Fact::Fire(FireState::GeneralAlarm));
    }

    let observe = |fact| Observation {
        time,
        time_assumed,
        system: System::Environment,
        device: device.clone(),
        zone: m.zone.clone(),
        fact,
    };
    Ok(facts.into_iter().map(observe).collect())
}

/// The number a reading carries.
pub fn reading_value(reading: Reading) -> f64 {
    match reading {
        Reading::TemperatureC(v) | Reading::HumidityPct(v) | Reading::LightLux(v) => v,
        Reading::SoundDb(v) => v,
    }
}
