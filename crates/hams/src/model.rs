//! The availability model: what each service, ward and bed type can still offer.
//!
//! Baseline capacity (beds per EDXL-HAVE bed type, staff per role) comes from the site's
//! `services` section. Each open incident's impact assessment lowers the capacity of the
//! services it reaches (the worst incident counts, so two incidents on the same plant do not
//! double-count), and an operator override replaces the computed figures of one service.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use safecare_core::IncidentType;
use safecare_core::site::{AssetType, BedType, Site};
use safecare_impact::{Domain, ImpactAssessment};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use ulid::Ulid;

/// A service below this capacity is reported unavailable.
pub const UNAVAILABLE_BELOW: f64 = 0.05;
/// A service at or above this capacity is reported normal.
pub const NORMAL_FROM: f64 = 0.999;
/// Open incidents kept at most; beyond, the least recently assessed is dropped.
pub const MAX_OPEN_INCIDENTS: usize = 10_000;

/// The hospital's availability, published as JSON on `safecare/v1/availability`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    pub site: String,
    pub name: String,
    pub updated: DateTime<Utc>,
    pub status: HospitalState,
    pub services: Vec<ServiceAvailability>,
    /// Beds per EDXL-HAVE bed type over all services.
    pub beds: Vec<BedAvailability>,
    /// Open incidents that lower availability.
    pub incidents: Vec<IncidentSummary>,
}

/// Hospital-wide states, in EDXL-HAVE terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HospitalState {
    pub ems_traffic: EmsTraffic,
    /// The emergency operations centre is activated (some service is degraded).
    pub eoc_active: bool,
    pub clinical: ClinicalStatus,
    pub facility: FacilityStatus,
    pub security: SecurityStatus,
    pub staffing: Adequacy,
    pub facility_operations: Adequacy,
    pub clinical_operations: Adequacy,
}

/// EDXL-HAVE `EMSTrafficStatus`: can ambulances bring patients?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmsTraffic {
    Normal,
    Advisory,
    Closed,
    NotApplicable,
}

/// EDXL-HAVE `ClinicalStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClinicalStatus {
    Normal,
    Full,
}

/// EDXL-HAVE `FacilityStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FacilityStatus {
    Normal,
    Compromised,
    Evacuating,
    Closed,
}

/// EDXL-HAVE `SecurityStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecurityStatus {
    Normal,
    Elevated,
    RestrictedAccess,
    Lockdown,
    Quarantine,
}

/// EDXL-HAVE `Staffing`, `FacilityOperations` and `ClinicalOperations` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Adequacy {
    Adequate,
    Insufficient,
}

/// How one service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Normal,
    Degraded,
    Unavailable,
}

/// One clinical service (ward, unit) and what it can offer now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAvailability {
    pub service: String,
    pub name: String,
    /// 0.0 (none) to 1.0 (baseline).
    pub capacity: f64,
    pub status: ServiceStatus,
    /// When the worst impact is (or was) felt: incident time plus time to impact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<DateTime<Utc>>,
    pub beds: Vec<BedAvailability>,
    pub staff: Vec<StaffAvailability>,
    /// The incidents that lower this service, worst first.
    pub causes: Vec<Cause>,
    /// The operator override in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<Override>,
}

/// Beds of one EDXL-HAVE bed type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BedAvailability {
    pub bed_type: BedType,
    pub baseline: u32,
    pub available: u32,
}

/// Staff of one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAvailability {
    pub role: String,
    pub baseline: u32,
    pub on_duty: u32,
}

/// One incident's share in a service's loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    pub incident: Ulid,
    pub incident_type: IncidentType,
    pub score: f64,
    pub time_to_impact_s: u64,
    /// Asset ids from the incident to the service.
    pub path: Vec<String>,
}

/// An open incident, as listed in the availability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: Ulid,
    pub incident_type: IncidentType,
    pub title: String,
    /// Services it degrades.
    pub services: usize,
}

/// An operator's correction of one service's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub service: String,
    /// Capacity to report instead of the computed one, 0-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
    /// Available beds per bed type, instead of the computed counts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub beds: BTreeMap<BedType, u32>,
    /// Staff on duty per role, instead of the baseline.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub staff: BTreeMap<String, u32>,
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub time: DateTime<Utc>,
}

/// Why an override was refused.
#[derive(Debug, Error, PartialEq)]
pub enum OverrideError {
    #[error("`{0}` is not a service of this site: use the id of an asset of type service")]
    UnknownService(String),
    #[error("capacity {0} is outside 0..1: give the share of the baseline the service can offer")]
    Capacity(f64),
    #[error(
        "{service} has no {bed_type} beds in the site file: override only the bed types it has"
    )]
    BedType { service: String, bed_type: String },
}

/// Assessments and overrides of one site, from which availability is computed.
#[derive(Debug, Clone)]
pub struct AvailabilityModel {
    site: std::sync::Arc<Site>,
    assessments: BTreeMap<Ulid, ImpactAssessment>,
    overrides: BTreeMap<String, Override>,
}

impl AvailabilityModel {
    /// A model at baseline: no incident, no override.
    pub fn new(site: std::sync::Arc<Site>) -> AvailabilityModel {
        AvailabilityModel {
            site,
            assessments: BTreeMap::new(),
            overrides: BTreeMap::new(),
        }
    }

    /// Takes in an incident's latest assessment; a cleared one removes the incident.
    pub fn apply(&mut self, assessment: ImpactAssessment) {
        if assessment.cleared {
            self.assessments.remove(&assessment.incident);
            return;
        }
        self.assessments.insert(assessment.incident, assessment);
        if self.assessments.len() > MAX_OPEN_INCIDENTS {
            let oldest = self
                .assessments
                .values()
                .min_by_key(|a| a.assessed_at)
                .map(|a| a.incident);
            if let Some(oldest) = oldest {
                self.assessments.remove(&oldest);
                tracing::warn!(
                    incident = %oldest,
                    max = MAX_OPEN_INCIDENTS,
                    "too many open incidents; the least recently assessed no longer counts"
                );
            }
        }
    }

    /// Sets an operator override, replacing any earlier one of the service.
    pub fn set_override(&mut self, item: Override) -> Result<(), OverrideError> {
        let is_service = self
            .site
            .asset(&item.service)
            .is_some_and(|a| a.asset_type == AssetType::Service);
        if !is_service {
            return Err(OverrideError::UnknownService(item.service));
        }
        if let Some(capacity) = item.capacity
            && !(0.0..=1.0).contains(&capacity)
        {
            return Err(OverrideError::Capacity(capacity));
        }
        let beds = self.site.capacity_of(&item.service).map(|c| &c.beds);
        for bed_type in item.beds.keys() {
            if !beds.is_some_and(|b| b.contains_key(bed_type)) {
                return Err(OverrideError::BedType {
                    service: item.service.clone(),
                    bed_type: bed_type.as_str().to_string(),
                });
            }
        }
        self.overrides.insert(item.service.clone(), item);
        Ok(())
    }

    /// Removes the override of a service; true if there was one.
    pub fn clear_override(&mut self, service: &str) -> bool {
        self.overrides.remove(service).is_some()
    }

    /// Switches to a new site; assessments and overrides of services it lacks are ignored.
    pub fn replace_site(&mut self, site: std::sync::Arc<Site>) {
        self.site = site;
    }

    /// The site.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The open incidents' assessments.
    pub fn assessments(&self) -> impl Iterator<Item = &ImpactAssessment> {
        self.assessments.values()
    }

    /// Availability at `now`.
    pub fn compute(&self, now: DateTime<Utc>) -> Availability {
        let assessments: Vec<&ImpactAssessment> = self.assessments.values().collect();
        availability_now(&self.site, &assessments, &self.overrides, now)
    }
}

/// Computes availability from a site, the open incidents' assessments and overrides.
pub fn availability_now(
    site: &Site,
    assessments: &[&ImpactAssessment],
    overrides: &BTreeMap<String, Override>,
    now: DateTime<Utc>,
) -> Availability {
    let services: Vec<ServiceAvailability> = site
        .assets()
        .iter()
        .filter(|a| a.asset_type == AssetType::Service)
        .map(|a| service_availability(site, &a.id, &a.name, assessments, overrides.get(&a.id)))
        .collect();
    let beds = bed_totals(&services);
    let status = hospital_state(&services, &beds, assessments);
    let incidents = assessments
        .iter()
        .map(|a| IncidentSummary {
            id: a.incident,
            incident_type: a.incident_type,
            title: a.title.clone(),
            services: a.services.len(),
        })
        .collect();
    Availability {
        site: site.id().to_string(),
        name: site.name().to_string(),
        updated: now,
        status,
        services,
        beds,
        incidents,
    }
}

fn service_availability(
    site: &Site,
    id: &str,
    name: &str,
    assessments: &[&ImpactAssessment],
    overridden: Option<&Override>,
) -> ServiceAvailability {
    // 1. Causes, worst first.
    let mut causes: Vec<(Cause, DateTime<Utc>)> = assessments
        .iter()
        .filter_map(|a| {
            let hit = a.service(id)?;
            let cause = Cause {
                incident: a.incident,
                incident_type: a.incident_type,
                score: hit.score.clamp(0.0, 1.0),
                time_to_impact_s: hit.time_to_impact_s,
                path: hit.path.iter().map(|s| s.asset.clone()).collect(),
            };
            let seconds = hit.time_to_impact_s.min(366 * 86_400) as i64;
            let at = a
                .incident_time
                .checked_add_signed(chrono::Duration::seconds(seconds))
                .unwrap_or(a.incident_time);
            Some((cause, at))
        })
        .collect();
    causes.sort_by(|(a, _), (b, _)| b.score.total_cmp(&a.score));

    // 2. Capacity: the worst incident, unless an operator says otherwise.
    let worst = causes.first().map_or(0.0, |(c, _)| c.score);
    let computed = round6(1.0 - worst);
    let capacity = overridden.and_then(|o| o.capacity).unwrap_or(computed);

    // 3. Beds and staff.
    let baseline = site.capacity_of(id);
    let beds = baseline
        .map(|b| &b.beds)
        .into_iter()
        .flatten()
        .map(|(&bed_type, &count)| BedAvailability {
            bed_type,
            baseline: count,
            available: overridden
                .and_then(|o| o.beds.get(&bed_type).copied())
                .unwrap_or_else(|| scaled(count, capacity)),
        })
        .collect();
    let staff = baseline
        .map(|b| &b.staff)
        .into_iter()
        .flatten()
        .map(|(role, &count)| StaffAvailability {
            role: role.clone(),
            baseline: count,
            on_duty: overridden
                .and_then(|o| o.staff.get(role).copied())
                .unwrap_or(count),
        })
        .collect();

    ServiceAvailability {
        service: id.to_string(),
        name: name.to_string(),
        capacity,
        status: status_of(capacity),
        expected_at: causes.first().map(|(_, at)| *at),
        beds,
        staff,
        causes: causes.into_iter().map(|(c, _)| c).collect(),
        overridden: overridden.cloned(),
    }
}

/// Whole beds left at a capacity: rounded down, so a bed is never promised that is not there.
fn scaled(baseline: u32, capacity: f64) -> u32 {
    let beds = (f64::from(baseline) * capacity.clamp(0.0, 1.0) + 1e-6).floor();
    beds as u32
}

fn status_of(capacity: f64) -> ServiceStatus {
    if capacity >= NORMAL_FROM {
        ServiceStatus::Normal
    } else if capacity < UNAVAILABLE_BELOW {
        ServiceStatus::Unavailable
    } else {
        ServiceStatus::Degraded
    }
}

fn bed_totals(services: &[ServiceAvailability]) -> Vec<BedAvailability> {
    let mut totals: BTreeMap<BedType, (u32, u32)> = BTreeMap::new();
    for bed in services.iter().flat_map(|s| &s.beds) {
        let total = totals.entry(bed.bed_type).or_default();
        total.0 = total.0.saturating_add(bed.baseline);
        total.1 = total.1.saturating_add(bed.available);
    }
    totals
        .into_iter()
        .map(|(bed_type, (baseline, available))| BedAvailability {
            bed_type,
            baseline,
            available,
        })
        .collect()
}

fn hospital_state(
    services: &[ServiceAvailability],
    beds: &[BedAvailability],
    assessments: &[&ImpactAssessment],
) -> HospitalState {
    let ems_traffic = ems_traffic(services);
    let no_beds = beds.iter().any(|b| b.baseline > 0) && beds.iter().all(|b| b.available == 0);
    let clinical = if no_beds || ems_traffic == EmsTraffic::Closed {
        ClinicalStatus::Full
    } else {
        ClinicalStatus::Normal
    };
    let facility = facility_status(services, assessments);
    let staff_short = services.iter().any(|s| {
        let baseline: u32 = s.staff.iter().map(|r| r.baseline).sum();
        let on_duty: u32 = s.staff.iter().map(|r| r.on_duty).sum();
        f64::from(on_duty) < 0.8 * f64::from(baseline)
    }) || impacted(assessments, |a| a.asset_type == AssetType::Staff);
    let adequacy = |short: bool| {
        if short {
            Adequacy::Insufficient
        } else {
            Adequacy::Adequate
        }
    };
    HospitalState {
        ems_traffic,
        eoc_active: services.iter().any(|s| s.status != ServiceStatus::Normal),
        clinical,
        facility,
        security: security_status(assessments),
        staffing: adequacy(staff_short),
        facility_operations: adequacy(facility != FacilityStatus::Normal),
        clinical_operations: adequacy(services.iter().any(|s| s.capacity < 0.5)),
    }
}

/// Normal from 80 % emergency capacity, advisory from 30 %, closed below.
fn ems_traffic(services: &[ServiceAvailability]) -> EmsTraffic {
    let emergency = services
        .iter()
        .filter(|s| {
            s.beds
                .iter()
                .any(|b| b.bed_type == BedType::EmergencyDepartment)
        })
        .map(|s| s.capacity)
        .fold(None, |worst: Option<f64>, c| {
            Some(worst.map_or(c, |w| w.min(c)))
        });
    match emergency {
        None => EmsTraffic::NotApplicable,
        Some(c) if c >= 0.8 => EmsTraffic::Normal,
        Some(c) if c >= 0.3 => EmsTraffic::Advisory,
        Some(_) => EmsTraffic::Closed,
    }
}

/// Compromised when building infrastructure is hit hard (score 0.5 or more).
fn facility_status(
    services: &[ServiceAvailability],
    assessments: &[&ImpactAssessment],
) -> FacilityStatus {
    let all_closed = !services.is_empty()
        && services
            .iter()
            .all(|s| s.status == ServiceStatus::Unavailable);
    if all_closed {
        return FacilityStatus::Closed;
    }
    let plant_hit = impacted(assessments, |a| {
        a.domain == Domain::Physical
            && a.asset_type != AssetType::Staff
            && a.asset_type != AssetType::AccessPoint
            && a.score >= 0.5
    });
    if plant_hit {
        FacilityStatus::Compromised
    } else {
        FacilityStatus::Normal
    }
}

/// Restricted access during intrusion, theft or sabotage; elevated during any incident.
fn security_status(assessments: &[&ImpactAssessment]) -> SecurityStatus {
    let physical_threat = assessments.iter().any(|a| {
        matches!(
            a.incident_type,
            IncidentType::Intrusion | IncidentType::Theft | IncidentType::Sabotage
        )
    });
    if physical_threat {
        SecurityStatus::RestrictedAccess
    } else if assessments.is_empty() {
        SecurityStatus::Normal
    } else {
        SecurityStatus::Elevated
    }
}

fn impacted(
    assessments: &[&ImpactAssessment],
    test: impl Fn(&safecare_impact::ImpactedAsset) -> bool,
) -> bool {
    assessments.iter().flat_map(|a| &a.assets).any(test)
}

fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

impl Availability {
    /// One service's availability.
    pub fn service(&self, id: &str) -> Option<&ServiceAvailability> {
        self.services.iter().find(|s| s.service == id)
    }

    /// Hospital-wide beds of one type.
    pub fn beds_of(&self, bed_type: BedType) -> Option<&BedAvailability> {
        self.beds.iter().find(|b| b.bed_type == bed_type)
    }
}

impl ServiceAvailability {
    /// This service's beds of one type.
    pub fn beds_of(&self, bed_type: BedType) -> Option<&BedAvailability> {
        self.beds.iter().find(|b| b.bed_type == bed_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beds_round_down_without_float_surprises() {
        assert_eq!(scaled(30, 1.0 - 0.8), 6);
        assert_eq!(scaled(4, 0.2), 0);
        assert_eq!(scaled(20, 0.6), 12);
        assert_eq!(scaled(12, 1.0), 12);
        assert_eq!(scaled(12, 0.0), 0);
    }

    #[test]
    fn the_demo_site_at_baseline() {
        let site = std::sync::Arc::new(Site::demo());
        let availability = AvailabilityModel::new(site).compute(Utc::now());
        assert_eq!(availability.services.len(), 7);
        assert!(availability.services.iter().all(|s| s.capacity == 1.0));
        let icu = availability.beds_of(BedType::AdultICU).unwrap();
        assert_eq!((icu.baseline, icu.available), (12, 12));
        assert_eq!(availability.status.ems_traffic, EmsTraffic::Normal);
        assert_eq!(availability.status.security, SecurityStatus::Normal);
        assert!(!availability.status.eoc_active);
    }
}
