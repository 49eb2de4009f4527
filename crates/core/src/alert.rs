//! The alert: one or more events grouped by a correlation rule, shown to operators.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::event::Domain;

/// Where an alert stands in the operator's workflow.
///
/// `new -> acknowledged -> confirmed | dismissed`; a new alert may also be
/// confirmed or dismissed directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    New,
    Acknowledged,
    Confirmed,
    Dismissed,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Confirmed => "confirmed",
            AlertStatus::Dismissed => "dismissed",
        }
    }

    /// True when the workflow allows going from `self` to `next`.
    pub fn can_become(self, next: AlertStatus) -> bool {
        use AlertStatus::*;
        matches!(
            (self, next),
            (New, Acknowledged) | (New | Acknowledged, Confirmed) | (New | Acknowledged, Dismissed)
        )
    }

    /// True once a person has decided (confirmed or dismissed).
    pub fn is_closed(self) -> bool {
        matches!(self, AlertStatus::Confirmed | AlertStatus::Dismissed)
    }
}

/// Severity in CAP 1.2 terms.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum CapSeverity {
    Minor,
    Moderate,
    Severe,
    Extreme,
}

impl CapSeverity {
    /// Maps an event severity (0-100) onto the CAP scale.
    pub fn from_score(score: u8) -> CapSeverity {
        match score {
            90.. => CapSeverity::Extreme,
            70..=89 => CapSeverity::Severe,
            40..=69 => CapSeverity::Moderate,
            _ => CapSeverity::Minor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CapSeverity::Minor => "Minor",
            CapSeverity::Moderate => "Moderate",
            CapSeverity::Severe => "Severe",
            CapSeverity::Extreme => "Extreme",
        }
    }
}

/// Whether an alert joins cyber and physical evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AlertDomain {
    Cyber,
    Physical,
    CyberPhysical,
}

impl AlertDomain {
    /// The domain of an alert built from events of these domains.
    pub fn of(domains: impl IntoIterator<Item = Domain>) -> AlertDomain {
        let (mut cyber, mut physical) = (false, false);
        for domain in domains {
            match domain {
                Domain::Cyber => cyber = true,
                Domain::Physical => physical = true,
            }
        }
        match (cyber, physical) {
            (true, true) => AlertDomain::CyberPhysical,
            (false, true) => AlertDomain::Physical,
            _ => AlertDomain::Cyber,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertDomain::Cyber => "cyber",
            AlertDomain::Physical => "physical",
            AlertDomain::CyberPhysical => "cyber-physical",
        }
    }
}

/// An alert shown to operators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    #[schemars(with = "String")]
    pub id: Ulid,
    /// Id of the correlation rule that raised it.
    pub rule: String,
    /// Short title from the rule.
    pub title: String,
    /// One sentence for a person, naming what and where.
    pub summary: String,
    pub status: AlertStatus,
    pub severity: CapSeverity,
    pub domain: AlertDomain,
    /// Event kinds that contributed, in order of first appearance.
    pub kinds: Vec<String>,
    /// Ids of the events grouped here (the first ones, at most a bounded number).
    #[schemars(with = "Vec<String>")]
    pub event_ids: Vec<Ulid>,
    /// How many events were grouped, including those not listed in `event_ids`.
    pub event_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// ATT&CK technique ids seen in the grouped events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub techniques: Vec<String>,
    /// Time of the first and last grouped event.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Why an operator dismissed it (required to dismiss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_reason: Option<String>,
    /// The incident it became part of, once confirmed into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub incident: Option<Ulid>,
}
