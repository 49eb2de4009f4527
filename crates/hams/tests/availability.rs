//! Availability after the shipped scenarios, checked by hand against the demo hospital.
//!
//! Demo baseline: emergency 20 EmergencyDepartment beds; ICU 12 AdultICU and 2
//! NegativeFlowIsolation; surgery 4 OperatingRooms and 30 MedicalSurgical. Beds left are
//! the baseline times the capacity left, rounded down. Service scores come from
//! crates/impact/tests/scenarios.rs.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::incident;
use safecare_core::site::{BedType, Site};
use safecare_core::{IncidentState, IncidentType};
use safecare_hams::{
    Adequacy, Availability, AvailabilityModel, ClinicalStatus, EmsTraffic, FacilityStatus,
    Override, OverrideError, SecurityStatus, ServiceStatus,
};
use safecare_impact::Engine;

fn setup() -> (Engine, AvailabilityModel) {
    let site = Arc::new(Site::demo());
    (
        Engine::with_default_rules(site.clone()),
        AvailabilityModel::new(site),
    )
}

/// (bed type, available, baseline) for the whole hospital.
fn beds(availability: &Availability) -> Vec<(BedType, u32, u32)> {
    availability
        .beds
        .iter()
        .map(|b| (b.bed_type, b.available, b.baseline))
        .collect()
}

fn capacity(availability: &Availability, service: &str) -> f64 {
    availability.service(service).unwrap().capacity
}

#[test]
fn pacs_ransomware_puts_the_emergency_department_on_advisory() {
    let (engine, mut model) = setup();
    let open = incident(IncidentType::Ransomware, &["pacs-server"]);
    model.apply(engine.assess(&open));
    let availability = model.compute(Utc::now());

    // Radiology at 0.2, emergency at 0.6 from two hours after the incident.
    assert_eq!(capacity(&availability, "svc-radiology"), 0.2);
    assert_eq!(capacity(&availability, "svc-emergency"), 0.6);
    assert_eq!(capacity(&availability, "svc-surgery"), 1.0);
    let emergency = availability.service("svc-emergency").unwrap();
    assert_eq!(emergency.status, ServiceStatus::Degraded);
    assert_eq!(
        emergency.expected_at,
        Some(open.created + Duration::hours(2))
    );
    assert_eq!(
        emergency.causes[0].path,
        ["pacs-server", "pacs", "svc-radiology", "svc-emergency"]
    );
    assert_eq!(
        beds(&availability),
        [
            (BedType::AdultICU, 12, 12),
            (BedType::EmergencyDepartment, 12, 20),
            (BedType::MedicalSurgical, 30, 30),
            (BedType::NegativeFlowIsolation, 2, 2),
            (BedType::OperatingRooms, 4, 4),
        ]
    );

    let state = availability.status;
    assert_eq!(state.ems_traffic, EmsTraffic::Advisory);
    assert!(state.eoc_active);
    assert_eq!(state.clinical, ClinicalStatus::Normal);
    assert_eq!(state.facility, FacilityStatus::Normal);
    assert_eq!(state.security, SecurityStatus::Elevated);
    assert_eq!(state.clinical_operations, Adequacy::Insufficient);
    assert_eq!(state.facility_operations, Adequacy::Adequate);
    assert_eq!(state.staffing, Adequacy::Adequate);
}

#[test]
fn or_tampering_closes_the_operating_rooms() {
    let (engine, mut model) = setup();
    model.apply(engine.assess(&incident(IncidentType::Sabotage, &["ahu-or-1"])));
    let availability = model.compute(Utc::now());

    // Surgery at 0.2: 4 x 0.2 = 0.8 -> 0 theatres, 30 x 0.2 = 6 surgical beds.
    assert_eq!(capacity(&availability, "svc-surgery"), 0.2);
    let surgery = availability.service("svc-surgery").unwrap();
    assert_eq!(
        surgery.beds_of(BedType::OperatingRooms).unwrap().available,
        0
    );
    assert_eq!(
        surgery.beds_of(BedType::MedicalSurgical).unwrap().available,
        6
    );
    assert_eq!(surgery.causes[0].path, ["ahu-or-1", "svc-surgery"]);
    let others = availability
        .services
        .iter()
        .filter(|s| s.service != "svc-surgery");
    assert!(others.into_iter().all(|s| s.capacity == 1.0));

    let state = availability.status;
    assert_eq!(state.ems_traffic, EmsTraffic::Normal);
    assert_eq!(
        state.facility,
        FacilityStatus::Compromised,
        "the air handling unit is plant"
    );
    assert_eq!(state.security, SecurityStatus::RestrictedAccess);
    assert_eq!(state.facility_operations, Adequacy::Insufficient);
}

#[test]
fn vaccine_theft_with_fire_and_power_loss() {
    let (engine, mut model) = setup();
    let theft = incident(IncidentType::Theft, &["vaccine-freezer"]);
    let fire = incident(IncidentType::Fire, &["mains-power"]);
    let power = incident(IncidentType::PowerFailure, &["mains-power"]);
    for open in [&theft, &fire, &power] {
        model.apply(engine.assess(open));
    }
    let availability = model.compute(Utc::now());

    // The worst incident per service counts: vaccination 0.8 (theft), surgery 0.8 (no
    // theatre ventilation), the EHR-, PACS- and LIS-fed services 0.16 (UPS protects 80 %).
    let expected = [
        ("svc-vaccination", 0.2),
        ("svc-surgery", 0.2),
        ("svc-emergency", 0.84),
        ("svc-icu", 0.84),
        ("svc-radiology", 0.84),
        ("svc-laboratory", 0.84),
        ("svc-pharmacy", 0.84),
    ];
    for (service, left) in expected {
        assert_eq!(capacity(&availability, service), left, "{service}");
    }
    let vaccination = availability.service("svc-vaccination").unwrap();
    assert_eq!(vaccination.causes.len(), 3);
    assert_eq!(vaccination.causes[0].incident, theft.id);
    assert_eq!(
        vaccination.causes[0].path,
        ["vaccine-freezer", "svc-vaccination"]
    );

    // 20 x 0.84 = 16.8 -> 16; 12 x 0.84 = 10.08 -> 10; 2 x 0.84 = 1.68 -> 1.
    assert_eq!(
        beds(&availability),
        [
            (BedType::AdultICU, 10, 12),
            (BedType::EmergencyDepartment, 16, 20),
            (BedType::MedicalSurgical, 6, 30),
            (BedType::NegativeFlowIsolation, 1, 2),
            (BedType::OperatingRooms, 0, 4),
        ]
    );
    let state = availability.status;
    assert_eq!(state.ems_traffic, EmsTraffic::Normal);
    assert_eq!(state.facility, FacilityStatus::Compromised);
    assert_eq!(state.security, SecurityStatus::RestrictedAccess);
    assert_eq!(availability.incidents.len(), 3);

    // The theft is resolved: the fire's 0.4 on the freezer is what is left.
    let mut resolved = theft.clone();
    resolved.state = IncidentState::Resolved;
    model.apply(engine.assess(&resolved));
    let availability = model.compute(Utc::now());
    assert_eq!(capacity(&availability, "svc-vaccination"), 0.6);
    assert_eq!(availability.status.security, SecurityStatus::Elevated);

    // Everything closed: back to baseline.
    for open in [&fire, &power] {
        let mut closed = (*open).clone();
        closed.state = IncidentState::Closed;
        model.apply(engine.assess(&closed));
    }
    let availability = model.compute(Utc::now());
    assert!(availability.services.iter().all(|s| s.capacity == 1.0));
    assert!(!availability.status.eoc_active);
    assert_eq!(availability.status.security, SecurityStatus::Normal);
}

fn override_of(service: &str) -> Override {
    Override {
        service: service.to_string(),
        capacity: None,
        beds: Default::default(),
        staff: Default::default(),
        author: "crisis.manager".into(),
        note: Some("checked on the ward".into()),
        time: Utc::now(),
    }
}

#[test]
fn operator_overrides_replace_computed_figures() {
    let (engine, mut model) = setup();
    model.apply(engine.assess(&incident(IncidentType::Sabotage, &["ahu-or-1"])));

    // Portable cooling: the operator reports surgery at half capacity, 3 theatres.
    let mut item = override_of("svc-surgery");
    item.capacity = Some(0.5);
    item.beds.insert(BedType::OperatingRooms, 3);
    model.set_override(item).unwrap();
    let availability = model.compute(Utc::now());
    let surgery = availability.service("svc-surgery").unwrap();
    assert_eq!(surgery.capacity, 0.5);
    assert_eq!(
        surgery.beds_of(BedType::OperatingRooms).unwrap().available,
        3
    );
    assert_eq!(
        surgery.beds_of(BedType::MedicalSurgical).unwrap().available,
        15
    );
    assert!(surgery.overridden.is_some());

    // Half of the twelve ICU nurses call in sick: staffing is insufficient.
    let mut staff = override_of("svc-icu");
    staff.staff.insert("nurse".into(), 6);
    model.set_override(staff).unwrap();
    assert_eq!(
        model.compute(Utc::now()).status.staffing,
        Adequacy::Insufficient
    );
    assert!(model.clear_override("svc-icu"));
    assert_eq!(
        model.compute(Utc::now()).status.staffing,
        Adequacy::Adequate
    );

    // Bad overrides are refused with the reason.
    let mut bad = override_of("svc-nowhere");
    assert_eq!(
        model.set_override(bad.clone()),
        Err(OverrideError::UnknownService("svc-nowhere".into()))
    );
    bad.service = "svc-icu".into();
    bad.capacity = Some(1.5);
    assert_eq!(
        model.set_override(bad.clone()),
        Err(OverrideError::Capacity(1.5))
    );
    bad.capacity = None;
    bad.beds.insert(BedType::Burn, 2);
    assert!(matches!(
        model.set_override(bad),
        Err(OverrideError::BedType { .. })
    ));
}

#[test]
fn a_new_site_keeps_open_incidents_and_drops_what_it_lacks() {
    let (engine, mut model) = setup();
    model.apply(engine.assess(&incident(IncidentType::Ransomware, &["pacs-server"])));

    // The new site has no vaccination clinic and twice the ICU beds.
    let mut site = Site::demo().into_model();
    site.assets.retain(|a| a.id != "svc-vaccination");
    site.dependencies.retain(|d| d.from != "svc-vaccination");
    site.services.retain(|s| s.service != "svc-vaccination");
    for service in site.services.iter_mut().filter(|s| s.service == "svc-icu") {
        service.beds.insert(BedType::AdultICU, 24);
    }
    model.replace_site(Arc::new(Site::from_model(site).unwrap()));

    let availability = model.compute(Utc::now());
    assert!(availability.service("svc-vaccination").is_none());
    assert_eq!(
        availability.beds_of(BedType::AdultICU).unwrap().baseline,
        24
    );
    assert_eq!(
        capacity(&availability, "svc-emergency"),
        0.6,
        "the open incident still counts"
    );
}
