//! The sensor reading published on `telemetry/{sensor}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::PointKind;

/// One reading of one point, as published on `safecare/v1/telemetry/{sensor}` (QoS 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Sensor id from the poll config; the last topic level.
    pub sensor: String,
    /// When the device answered.
    pub time: DateTime<Utc>,
    /// Engineering value: raw registers decoded, scaled and offset.
    pub value: f64,
    /// Unit of `value` (`C`, `%`, `bar`, `V`); empty for a status bit.
    pub unit: String,
    pub kind: PointKind,
    /// Site asset the reading is about, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Device id from the poll config.
    pub device: String,
    /// The registers (or the bit, as 0 or 1) as the device sent them.
    pub raw: Vec<u16>,
}
