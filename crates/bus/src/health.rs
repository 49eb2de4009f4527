//! Heartbeat documents on `health/{module}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether a module is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Up,
    Down,
}

/// What a module says about itself, retained on `health/{module}`.
///
/// The broker publishes the `down` form as the module's last will when the
/// module's connection drops without a goodbye.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub module: String,
    pub status: HealthStatus,
    pub time: DateTime<Utc>,
    /// Seconds since the module started; absent in a last will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_s: Option<u64>,
    /// Module-specific counters (events published, dead letters, ...).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl HealthReport {
    pub fn up(module: &str, uptime_s: u64) -> Self {
        HealthReport {
            module: module.to_string(),
            status: HealthStatus::Up,
            time: Utc::now(),
            uptime_s: Some(uptime_s),
            detail: Default::default(),
        }
    }

    pub fn down(module: &str) -> Self {
        HealthReport {
            module: module.to_string(),
            status: HealthStatus::Down,
            time: Utc::now(),
            uptime_s: None,
            detail: Default::default(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
