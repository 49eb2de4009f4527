//! Frigate NVR: the `frigate/events` messages.
//!
//! Frigate publishes one message per change of a tracked object:
//! `{"type": "new" | "update" | "end", "before": {...}, "after": {...}}`, where each
//! object has `id`, `camera`, `label`, `start_time`, `end_time`, `frame_time`,
//! `current_zones`, `entered_zones`, `stationary`, `false_positive` and more. The `after`
//! object is the state now; `before` is used only when `after` is missing. Frigate's camera
//! and zone names are matched to site ids by the engine (`cam_pharmacy` finds
//! `cam-pharmacy`).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{check_id, epoch};
use crate::error::{AdapterError, parse_json};
use crate::observation::{Fact, Observation, System, TrackedObject};

/// Most zones read from one object.
const MAX_ZONES: usize = 32;

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    before: Option<Object>,
    #[serde(default)]
    after: Option<Object>,
}

#[derive(Debug, Deserialize)]
struct Object {
    id: String,
    camera: String,
    label: String,
    #[serde(default)]
    start_time: Option<f64>,
    #[serde(default)]
    end_time: Option<f64>,
    #[serde(default)]
    frame_time: Option<f64>,
    #[serde(default)]
    current_zones: Vec<String>,
    #[serde(default)]
    entered_zones: Vec<String>,
    #[serde(default)]
    stationary: bool,
    #[serde(default)]
    false_positive: bool,
    #[serde(default)]
    score: Option<f64>,
}

/// Decodes one `frigate/events` message; a false positive gives no observation.
pub fn decode(payload: &[u8], received: DateTime<Utc>) -> Result<Vec<Observation>, AdapterError> {
    let message: Message = parse_json(payload)?;
    let ended = match message.kind.as_str() {
        "new" | "update" => false,
        "end" => true,
        other => {
            return Err(AdapterError::UnknownValue {
                what: "Frigate event type",
                value: other.to_string(),
                allowed: "new, update, end",
            });
        }
    };
    let Some(object) = message.after.or(message.before) else {
        return Err(AdapterError::field(
            "after",
            "missing: no object in the event",
        ));
    };
    if object.false_positive {
        return Ok(Vec::new());
    }
    check_id("after.id", &object.id)?;
    check_id("after.camera", &object.camera)?;
    check_id("after.label", &object.label)?;
    if object.current_zones.len() > MAX_ZONES || object.entered_zones.len() > MAX_ZONES {
        return Err(AdapterError::field(
            "after.current_zones",
            format!("more than {MAX_ZONES} zones"),
        ));
    }

    let seconds =
        |field: &str, value: Option<f64>| -> Result<Option<DateTime<Utc>>, AdapterError> {
            value
                .map(|s| epoch(s).ok_or_else(|| AdapterError::field(field, "time out of range")))
                .transpose()
        };
    let frame = seconds("after.frame_time", object.frame_time)?;
    let start = seconds("after.start_time", object.start_time)?;
    let end = seconds("after.end_time", object.end_time)?;
    let time = end.filter(|_| ended).or(frame).or(start);

    let tracked = TrackedObject {
        track: object.id,
        label: object.label,
        zones: object.current_zones,
        entered_zones: object.entered_zones,
        stationary: object.stationary,
        start: start.or(time).unwrap_or(received),
        active: !ended,
        score: object.score,
    };
    Ok(vec![Observation {
        time: time.unwrap_or(received),
        time_assumed: time.is_none(),
        system: System::Frigate,
        device: object.camera,
        zone: None,
        fact: Fact::Object(tracked),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATE: &str = r#"{"type":"update","before":{"id":"1","camera":"cam","label":"person"},
      "after":{"id":"1796350000.1-ab","camera":"cam_pharmacy","label":"person",
      "start_time":1796350000.1,"end_time":null,"frame_time":1796351200.5,
      "current_zones":["pharmacy_door"],"entered_zones":["pharmacy_door"],
      "stationary":true,"false_positive":false,"score":0.81,"box":[1,2,3,4]}}"#;

    #[test]
    fn update_reads_the_after_object() {
        let obs = decode(UPDATE.as_bytes(), Utc::now()).unwrap();
        assert_eq!(obs[0].device, "cam_pharmacy");
        assert_eq!(obs[0].time.timestamp(), 1_796_351_200);
        let Fact::Object(object) = &obs[0].fact else {
            panic!()
        };
        assert!(object.stationary && object.active);
        assert_eq!(object.zones, ["pharmacy_door"]);
        assert_eq!(object.start.timestamp(), 1_796_350_000);
    }

    #[test]
    fn false_positives_are_ignored_and_bad_types_refused() {
        let fp = UPDATE.replace("\"false_positive\":false", "\"false_positive\":true");
        assert!(decode(fp.as_bytes(), Utc::now()).unwrap().is_empty());
        let bad = UPDATE.replace("\"type\":\"update\"", "\"type\":\"renamed\"");
        assert!(decode(bad.as_bytes(), Utc::now()).is_err());
        let no_camera = UPDATE.replace("\"camera\":\"cam_pharmacy\",", "");
        assert!(decode(no_camera.as_bytes(), Utc::now()).is_err());
    }
}
