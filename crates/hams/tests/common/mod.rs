//! Incidents written by hand for the tests.

#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use safecare_core::{CapSeverity, Incident, IncidentState, IncidentType};
use ulid::Ulid;

/// An open incident of `kind` on `assets`, created at a fixed time.
pub fn incident(kind: IncidentType, assets: &[&str]) -> Incident {
    let created = Utc.with_ymd_and_hms(2026, 12, 3, 2, 10, 0).unwrap();
    Incident {
        id: Ulid::new(),
        title: format!("{} on {}", kind.as_str(), assets.join(", ")),
        kind,
        state: IncidentState::Open,
        severity: CapSeverity::Severe,
        assets: assets.iter().map(|a| a.to_string()).collect(),
        zones: Vec::new(),
        alert_ids: Vec::new(),
        owner: None,
        notes: Vec::new(),
        timeline: Vec::new(),
        created,
        updated: created,
        merged_into: None,
    }
}
