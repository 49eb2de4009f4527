//! What an assessment says: impacted assets and services, with the path that explains each.

use chrono::{DateTime, Utc};
use safecare_core::site::{AssetType, Delay, DependencyKind};
use safecare_core::{Incident, IncidentState, IncidentType};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::names::Domain;
use crate::playbook::Action;
use crate::rules::Effect;

/// The impact of one incident on the site, published on `safecare/v1/impact`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactAssessment {
    /// Id of the incident assessed.
    pub incident: Ulid,
    pub incident_type: IncidentType,
    pub incident_state: IncidentState,
    #[serde(default)]
    pub title: String,
    /// Site id the assessment was made against.
    pub site: String,
    pub assessed_at: DateTime<Utc>,
    /// When the incident was created; times to impact count from here.
    pub incident_time: DateTime<Utc>,
    /// True when the incident is resolved, closed or merged: its impact no longer counts.
    #[serde(default)]
    pub cleared: bool,
    /// Every impacted asset, highest score first.
    #[serde(default)]
    pub assets: Vec<ImpactedAsset>,
    /// Impacted clinical services, highest score first.
    #[serde(default)]
    pub services: Vec<ServiceImpact>,
    /// Asset ids of the incident that the site does not know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_assets: Vec<String>,
    /// Dependency cycles met during propagation (propagation stops at each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<Cycle>,
    /// True when the assessment hit the rules' `max_impacted` or `max_depth` limit, or
    /// assets were left out to fit the bus message limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Lowest-scored impacted assets left out of `assets` to fit the bus message limit
    /// (services are always kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_assets: usize,
    /// Where the propagation rules came from.
    #[serde(default)]
    pub rules: String,
    /// Recommended actions (filled by [`crate::recommend`] in the impact service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
}

/// One impacted asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactedAsset {
    pub id: String,
    pub name: String,
    pub asset_type: AssetType,
    pub domain: Domain,
    /// 0.0 (untouched) to 1.0 (fully hit).
    pub score: f64,
    /// Class of the harm as it reached the asset (e.g. `power_failure` after a fire).
    pub threat: IncidentType,
    pub effect: Effect,
    /// Estimated time from the incident to the impact, e.g. `30m`.
    pub time_to_impact: Delay,
    /// The same in seconds.
    pub time_to_impact_s: u64,
    /// From an incident asset to this one.
    pub path: Vec<PathStep>,
}

/// One impacted clinical service (an asset of type `service`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceImpact {
    pub service: String,
    pub name: String,
    pub score: f64,
    /// Capacity left, 0.0 (none) to 1.0 (full): `1 - score`.
    pub capacity: f64,
    pub threat: IncidentType,
    pub effect: Effect,
    pub time_to_impact: Delay,
    pub time_to_impact_s: u64,
    pub path: Vec<PathStep>,
}

/// One step of an explaining path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStep {
    pub asset: String,
    /// Kind of the link harm crossed to reach this asset; none for the incident's assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<DependencyKind>,
    /// Id of the propagation rule applied on that link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Set when the link was a k-of-n redundancy group that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redundancy: Option<Redundancy>,
}

/// A redundancy group that failed: `lost` of `of` providers harmed, `needed` must work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redundancy {
    pub needed: u32,
    pub of: u32,
    pub lost: u32,
}

/// A dependency cycle: the assets in order, the first repeated at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cycle {
    pub assets: Vec<String>,
}

impl ImpactAssessment {
    /// An empty assessment of an incident, before propagation fills it.
    pub fn empty(incident: &Incident, site: &str, rules: &str) -> ImpactAssessment {
        ImpactAssessment {
            incident: incident.id,
            incident_type: incident.kind,
            incident_state: incident.state,
            title: incident.title.clone(),
            site: site.to_string(),
            assessed_at: Utc::now(),
            incident_time: incident.created,
            cleared: false,
            assets: Vec::new(),
            services: Vec::new(),
            unknown_assets: Vec::new(),
            cycles: Vec::new(),
            truncated: false,
            omitted_assets: 0,
            rules: rules.to_string(),
            actions: Vec::new(),
        }
    }

    /// The assessment that withdraws an incident's impact (resolved, closed or merged).
    pub fn cleared(incident: &Incident, site: &str) -> ImpactAssessment {
        let mut assessment = ImpactAssessment::empty(incident, site, "");
        assessment.cleared = true;
        assessment
    }

    /// The assessment as JSON of at most `limit` bytes: the lowest-scored assets are left
    /// out (and counted in `omitted_assets`) until it fits; services are always kept.
    pub fn to_json_within(&self, limit: usize) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        if bytes.len() <= limit {
            return bytes;
        }
        let mut trimmed = self.clone();
        while bytes.len() > limit && !trimmed.assets.is_empty() {
            let keep = trimmed.assets.len() / 2;
            trimmed.omitted_assets += trimmed.assets.len() - keep;
            trimmed.assets.truncate(keep);
            trimmed.truncated = true;
            bytes = serde_json::to_vec(&trimmed).unwrap_or_default();
        }
        bytes
    }

    /// The impact on one asset, if any.
    pub fn asset(&self, id: &str) -> Option<&ImpactedAsset> {
        self.assets.iter().find(|a| a.id == id)
    }

    /// The impact on one service, if any.
    pub fn service(&self, id: &str) -> Option<&ServiceImpact> {
        self.services.iter().find(|s| s.service == id)
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// True when an incident no longer has impact: resolved, closed or merged into another.
pub fn is_cleared(incident: &Incident) -> bool {
    incident.merged_into.is_some()
        || matches!(
            incident.state,
            IncidentState::Resolved | IncidentState::Closed
        )
}

/// The effect of an incident on its own assets.
pub fn origin_effect(kind: IncidentType) -> Effect {
    match kind {
        IncidentType::Ransomware
        | IncidentType::Malware
        | IncidentType::Intrusion
        | IncidentType::DataManipulation => Effect::Compromised,
        IncidentType::Theft | IncidentType::Fire => Effect::Damaged,
        IncidentType::DenialOfService | IncidentType::PowerFailure => Effect::Unavailable,
        IncidentType::Sabotage => Effect::Unsafe,
        IncidentType::Other => Effect::Degraded,
    }
}
