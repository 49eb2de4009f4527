//! Fire panels: detector alarms, call points, faults and isolations, as JSON, plus BACnet
//! life-safety point states.
//!
//! One message per device change on `site/fire/{panel}`, either named:
//!
//! ```json
//! {"time": "2026-12-04T02:26:00Z", "device": "smoke-technical-room", "event": "smoke"}
//! ```
//!
//! with `event` one of `smoke`, `heat`, `manual_call_point`, `alarm`, `pre_alarm`,
//! `fault`, `isolated`, `restored`; or as the values of a BACnet Life Safety Point, as the
//! BMS sensor decodes them (numbers or the standard's hyphenated names):
//!
//! ```json
//! {"device": "smoke-technical-room", "bacnet": {"present_value": 2, "mode": "on"}}
//! ```

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{check_id, read_time};
use crate::error::{AdapterError, parse_json};
use crate::observation::{Fact, FireState, Observation, System};

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    time: Option<Value>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    bacnet: Option<LifeSafetyPoint>,
}

/// The values of a BACnet Life Safety Point or Zone object that matter here.
#[derive(Debug, Clone, Deserialize)]
pub struct LifeSafetyPoint {
    /// `Present_Value`, a BACnetLifeSafetyState.
    pub present_value: Value,
    /// `Mode`, a BACnetLifeSafetyMode, when read.
    #[serde(default)]
    pub mode: Option<Value>,
}

/// Decodes one fire-panel message; `panel` is the panel named by the topic.
pub fn decode(
    payload: &[u8],
    panel: &str,
    received: DateTime<Utc>,
) -> Result<Vec<Observation>, AdapterError> {
    let message: Message = parse_json(payload)?;
    let device = message.device.unwrap_or_else(|| panel.to_string());
    check_id("device", &device)?;
    let (time, time_assumed) = read_time(message.time.as_ref(), "time", received)?;

    let state = match (&message.event, &message.bacnet) {
        (Some(event), _) => named_state(event)?,
        (None, Some(point)) => life_safety_state(point)?,
        (None, None) => {
            return Err(AdapterError::field(
                "event",
                "missing: give `event` or `bacnet`",
            ));
        }
    };
    let Some(state) = state else {
        return Ok(Vec::new());
    };
    Ok(vec![Observation {
        time,
        time_assumed,
        system: System::Fire,
        device,
        zone: message.zone,
        fact: Fact::Fire(state),
    }])
}

fn named_state(event: &str) -> Result<Option<FireState>, AdapterError> {
    let state = match event {
        "smoke" => FireState::Smoke,
        "heat" => FireState::Heat,
        "manual_call_point" => FireState::ManualCallPoint,
        "alarm" => FireState::GeneralAlarm,
        "pre_alarm" => FireState::PreAlarm,
        "fault" => FireState::Fault,
        "isolated" => FireState::Isolated,
        "restored" => FireState::Restored,
        other => {
            return Err(AdapterError::UnknownValue {
                what: "fire event",
                value: other.to_string(),
                allowed: "smoke, heat, manual_call_point, alarm, pre_alarm, fault, isolated, \
                          restored",
            });
        }
    };
    Ok(Some(state))
}

/// BACnetLifeSafetyState names in enumeration order (ASHRAE 135, 0 to 23).
const STATES: [&str; 24] = [
    "quiet",
    "pre-alarm",
    "alarm",
    "fault",
    "fault-pre-alarm",
    "fault-alarm",
    "not-ready",
    "active",
    "tamper",
    "test-alarm",
    "test-active",
    "test-fault",
    "test-fault-alarm",
    "holdup",
    "duress",
    "tamper-alarm",
    "abnormal",
    "emergency-power",
    "delayed",
    "blocked",
    "local-alarm",
    "general-alarm",
    "supervisory",
    "test-supervisory",
];

/// BACnetLifeSafetyMode names in enumeration order (0 to 14).
const MODES: [&str; 15] = [
    "off",
    "on",
    "test",
    "manned",
    "unmanned",
    "armed",
    "disarmed",
    "prearmed",
    "slow",
    "fast",
    "disconnected",
    "enabled",
    "disabled",
    "automatic-release-disabled",
    "default",
];

/// Maps a life-safety point's state and mode to a fire state; `None` for test states.
///
/// A mode of `off`, `disabled` or `disconnected` is an isolation whatever the state.
pub fn life_safety_state(point: &LifeSafetyPoint) -> Result<Option<FireState>, AdapterError> {
    if let Some(mode) = &point.mode {
        let mode = enum_name(mode, &MODES, "bacnet.mode")?;
        if matches!(mode, "off" | "disabled" | "disconnected") {
            return Ok(Some(FireState::Isolated));
        }
    }

    let state = enum_name(&point.present_value, &STATES, "bacnet.present_value")?;
    let mapped = match state {
        "quiet" => Some(FireState::Restored),
        "pre-alarm" | "fault-pre-alarm" => Some(FireState::PreAlarm),
        "alarm" | "fault-alarm" | "local-alarm" | "active" => Some(FireState::GeneralAlarm),
        "general-alarm" | "emergency-power" => Some(FireState::GeneralAlarm),
        "fault" | "not-ready" | "tamper" | "tamper-alarm" | "abnormal" | "supervisory" => {
            Some(FireState::Fault)
        }
        "blocked" | "delayed" => Some(FireState::Isolated),
        "holdup" | "duress" => Some(FireState::ManualCallPoint),
        _ => None, // test-* states: the panel is being tested.
    };
    Ok(mapped)
}

/// Reads an enumeration given as its number or its hyphenated name.
fn enum_name<'a>(value: &Value, names: &[&'a str], field: &str) -> Result<&'a str, AdapterError> {
    let found = match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| names.get(i)),
        Value::String(s) => names.iter().find(|n| n.eq_ignore_ascii_case(s)),
        _ => None,
    };
    found.copied().ok_or_else(|| {
        AdapterError::field(
            field,
            format!(
                "{value} is not a known value: use 0-{} or its name",
                names.len() - 1
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn point(state: Value, mode: Option<Value>) -> LifeSafetyPoint {
        LifeSafetyPoint {
            present_value: state,
            mode,
        }
    }

    #[test]
    fn bacnet_states_map_by_number_and_name() {
        let alarm = life_safety_state(&point(json!(2), None)).unwrap();
        assert_eq!(alarm, Some(FireState::GeneralAlarm));
        let fault = life_safety_state(&point(json!("fault"), None)).unwrap();
        assert_eq!(fault, Some(FireState::Fault));
        let quiet = life_safety_state(&point(json!(0), Some(json!("on")))).unwrap();
        assert_eq!(quiet, Some(FireState::Restored));
        let test = life_safety_state(&point(json!("test-alarm"), None)).unwrap();
        assert_eq!(test, None, "a test alarm is not a fire");
    }

    #[test]
    fn disabled_mode_is_an_isolation_and_bad_values_are_refused() {
        let isolated = life_safety_state(&point(json!(2), Some(json!(12)))).unwrap();
        assert_eq!(isolated, Some(FireState::Isolated));
        assert!(life_safety_state(&point(json!(99), None)).is_err());
        assert!(life_safety_state(&point(json!("burning"), None)).is_err());
    }
}
