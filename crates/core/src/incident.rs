//! The incident: one or more confirmed alerts followed by people to closure.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::alert::CapSeverity;

/// What kind of harm an incident is; impact rules and playbooks key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentType {
    Intrusion,
    Theft,
    Ransomware,
    Malware,
    DataManipulation,
    DenialOfService,
    Fire,
    Sabotage,
    PowerFailure,
    Other,
}

impl IncidentType {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentType::Intrusion => "intrusion",
            IncidentType::Theft => "theft",
            IncidentType::Ransomware => "ransomware",
            IncidentType::Malware => "malware",
            IncidentType::DataManipulation => "data_manipulation",
            IncidentType::DenialOfService => "denial_of_service",
            IncidentType::Fire => "fire",
            IncidentType::Sabotage => "sabotage",
            IncidentType::PowerFailure => "power_failure",
            IncidentType::Other => "other",
        }
    }
}

/// Where an incident stands: `open -> contained -> resolved -> closed`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum IncidentState {
    Open,
    Contained,
    Resolved,
    Closed,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Contained => "contained",
            IncidentState::Resolved => "resolved",
            IncidentState::Closed => "closed",
        }
    }

    /// States only move forward; skipping a step is allowed, going back is not.
    pub fn can_become(self, next: IncidentState) -> bool {
        next > self
    }
}

/// A note an operator added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    pub author: String,
    pub time: DateTime<Utc>,
    pub text: String,
}

/// One line of an incident's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineEntry {
    pub time: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// A confirmed security incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Incident {
    #[schemars(with = "String")]
    pub id: Ulid,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: IncidentType,
    pub state: IncidentState,
    pub severity: CapSeverity,
    /// Asset ids of the site model that the incident touches.
    pub assets: Vec<String>,
    /// Zone ids the incident touches.
    #[serde(default)]
    pub zones: Vec<String>,
    #[schemars(with = "Vec<String>")]
    pub alert_ids: Vec<Ulid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default)]
    pub notes: Vec<Note>,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Set when this incident was merged into another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub merged_into: Option<Ulid>,
}
