//! The EDXL-HAVE 1.0 report, parsed back and checked element by element.
//!
//! The OASIS HAVE schema is not available offline here, so the test checks what the
//! schema fixes: the namespace, the order of every element we write within its parent (the
//! schema's sequences, listed below), the value types (integers, booleans, dateTime) and
//! the enumerations, and the values themselves for the vaccine-theft scenario.

mod common;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use common::incident;
use safecare_core::IncidentType;
use safecare_core::site::{Site, SiteModel};
use safecare_hams::{AvailabilityModel, HAVE_NAMESPACE, have_xml};
use safecare_impact::Engine;

/// Child sequences of the EDXL-HAVE 1.0 schema (OASIS Standard, 2008); `*` repeats.
const SEQUENCES: [(&str, &[&str]); 9] = [
    (
        "Hospital",
        &[
            "Organization",
            "EmergencyDepartmentStatus",
            "HospitalBedCapacityStatus",
            "ServiceCoverageStatus",
            "HospitalFacilityStatus",
            "HospitalResourcesStatus",
            "LastUpdateTime",
        ],
    ),
    (
        "Organization",
        &[
            "OrganizationInformation",
            "OrganizationGeoLocation",
            "CommentText*",
        ],
    ),
    (
        "EmergencyDepartmentStatus",
        &[
            "EMSTraffic",
            "EMSCapacity",
            "EMSCensus",
            "EMSAmbulanceStatus",
            "EMSAirTransportStatus",
            "CommentText*",
        ],
    ),
    ("EMSTraffic", &["EMSTrafficStatus", "EMSTrafficReason"]),
    ("HospitalBedCapacityStatus", &["BedCapacity*"]),
    (
        "BedCapacity",
        &["BedType", "SubCategoryBedType*", "Capacity", "CommentText*"],
    ),
    (
        "Capacity",
        &[
            "CapacityStatus",
            "AvailableCount",
            "BaselineCount",
            "AdditionalCapacityCount24Hr",
            "AdditionalCapacityCount72Hr",
        ],
    ),
    (
        "HospitalFacilityStatus",
        &[
            "HospitalEOCStatus",
            "HospitalEOCPlan",
            "ClinicalStatus",
            "DeconCapacity",
            "MorgueCapacity",
            "FacilityStatus",
            "SecurityStatus",
            "Activity24Hr",
            "CommentText*",
        ],
    ),
    (
        "HospitalResourcesStatus",
        &[
            "Staffing",
            "FacilityOperations",
            "ClinicalOperations",
            "ResourcesInformationText*",
            "CommentText*",
        ],
    ),
];

const SERVICE_COVERAGE: &[&str] = &[
    "Burn",
    "CardiologyIndicator",
    "Dialysis",
    "EmergencyDepartment",
    "HyperbaricChamber",
    "InfectiousDisease",
    "Neonatology",
    "NeurologyIndicator",
    "OBGYNIndicator",
    "Ophthalmology",
    "Orthopedic",
    "Pediatrics",
    "PsychiatricIndicator",
    "SurgeryIndicator",
    "TransportServicesIndicator",
    "TraumaCenterServicesIndicator",
    "CommentText*",
];

/// Enumerations of the schema's simple types we write.
const ENUMS: [(&str, &[&str]); 10] = [
    (
        "EMSTrafficStatus",
        &["Normal", "Advisory", "Closed", "NotApplicable"],
    ),
    ("CapacityStatus", &["Vacant/Available", "NotAvailable"]),
    (
        "BedType",
        &[
            "AdultICU",
            "PediatricICU",
            "NeonatalICU",
            "EmergencyDepartment",
            "NurseryBeds",
            "MedicalSurgical",
            "RehabLongTermCare",
            "Burn",
            "Pediatrics",
            "AdultPsychiatric",
            "PediatricPsychiatric",
            "NegativeFlowIsolation",
            "OtherIsolation",
            "OperatingRooms",
        ],
    ),
    ("HospitalEOCStatus", &["Active", "Inactive"]),
    ("HospitalEOCPlan", &["Active", "Inactive"]),
    ("ClinicalStatus", &["Normal", "Full"]),
    (
        "FacilityStatus",
        &["Normal", "Compromised", "Evacuating", "Closed"],
    ),
    (
        "SecurityStatus",
        &[
            "Normal",
            "Elevated",
            "RestrictedAccess",
            "Lockdown",
            "Quarantine",
        ],
    ),
    ("Staffing", &["Adequate", "Insufficient"]),
    ("FacilityOperations", &["Adequate", "Insufficient"]),
];

fn elements<'a>(node: roxmltree::Node<'a, 'a>) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children().filter(|n| n.is_element()).collect()
}

/// Checks that the children of `node` follow `sequence` (each at most once unless `*`).
fn check_sequence(node: roxmltree::Node, sequence: &[&str]) {
    let parent = node.tag_name().name();
    let mut at = 0;
    let mut last: Option<&str> = None;
    for child in elements(node) {
        let name = child.tag_name().name();
        let index = sequence
            .iter()
            .position(|s| s.trim_end_matches('*') == name)
            .unwrap_or_else(|| panic!("<{name}> is not a child of <{parent}> in the schema"));
        assert!(index >= at, "<{name}> comes too late in <{parent}>");
        let repeats = sequence[index].ends_with('*');
        assert!(
            repeats || last != Some(name),
            "<{name}> repeated in <{parent}>"
        );
        at = index;
        last = Some(name);
    }
}

fn walk(node: roxmltree::Node) {
    let name = node.tag_name().name();
    if name == "ServiceCoverageStatus" {
        check_sequence(node, SERVICE_COVERAGE);
    } else if let Some((_, sequence)) = SEQUENCES.iter().find(|(n, _)| *n == name) {
        check_sequence(node, sequence);
    }
    if let Some((_, allowed)) = ENUMS.iter().find(|(n, _)| *n == name) {
        let value = node.text().unwrap_or("");
        assert!(
            allowed.contains(&value),
            "<{name}>{value}</{name}> is not allowed"
        );
    }
    match name {
        "AvailableCount" | "BaselineCount" => {
            let value = node.text().unwrap_or("");
            assert!(
                value.parse::<u32>().is_ok(),
                "<{name}> must be an integer: {value}"
            );
        }
        "EmergencyDepartment"
            if node
                .parent()
                .is_some_and(|p| p.tag_name().name() == "ServiceCoverageStatus") =>
        {
            assert!(matches!(node.text(), Some("true" | "false")), "boolean");
        }
        "LastUpdateTime" => {
            let value = node.text().unwrap_or("");
            assert!(
                DateTime::parse_from_rfc3339(value).is_ok(),
                "dateTime: {value}"
            );
        }
        _ => {}
    }
    for child in elements(node) {
        walk(child);
    }
}

fn text_of(node: roxmltree::Node, name: &str) -> String {
    node.descendants()
        .find(|n| n.tag_name().name() == name)
        .and_then(|n| n.text())
        .unwrap_or_else(|| panic!("no <{name}>"))
        .to_string()
}

#[test]
fn the_vaccine_scenario_report_follows_the_schema() {
    let site = Arc::new(Site::demo());
    let engine = Engine::with_default_rules(site.clone());
    let mut model = AvailabilityModel::new(site);
    for (kind, asset) in [
        (IncidentType::Theft, "vaccine-freezer"),
        (IncidentType::Fire, "mains-power"),
        (IncidentType::PowerFailure, "mains-power"),
    ] {
        model.apply(engine.assess(&incident(kind, &[asset])));
    }
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 2, 30, 0).unwrap();
    let xml = have_xml(&model.compute(now));

    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "HospitalStatus");
    assert_eq!(root.tag_name().namespace(), Some(HAVE_NAMESPACE));
    let hospitals = elements(root);
    assert_eq!(hospitals.len(), 1);
    let hospital = hospitals[0];
    assert!(hospital.descendants().filter(|n| n.is_element()).all(|n| {
        let ns = n.tag_name().namespace();
        ns == Some(HAVE_NAMESPACE) || ns == Some("urn:oasis:names:tc:ciq:xnl:3")
    }));
    let order: Vec<&str> = elements(hospital)
        .iter()
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(order, SEQUENCES[0].1);
    walk(hospital);

    // Values, element by element.
    assert_eq!(
        text_of(hospital, "NameElement"),
        "St. Aurelia General Hospital"
    );
    assert_eq!(text_of(hospital, "EMSTrafficStatus"), "Normal");
    let beds: Vec<(String, String, String, String)> = hospital
        .descendants()
        .filter(|n| n.tag_name().name() == "BedCapacity")
        .map(|b| {
            (
                text_of(b, "BedType"),
                text_of(b, "CapacityStatus"),
                text_of(b, "AvailableCount"),
                text_of(b, "BaselineCount"),
            )
        })
        .collect();
    let expected = [
        ("AdultICU", "Vacant/Available", "10", "12"),
        ("EmergencyDepartment", "Vacant/Available", "16", "20"),
        ("MedicalSurgical", "Vacant/Available", "6", "30"),
        ("NegativeFlowIsolation", "Vacant/Available", "1", "2"),
        ("OperatingRooms", "NotAvailable", "0", "4"),
    ];
    let expected: Vec<(String, String, String, String)> = expected
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(beds, expected);
    assert_eq!(text_of(hospital, "EmergencyDepartment"), "true");
    assert_eq!(text_of(hospital, "HospitalEOCStatus"), "Active");
    assert_eq!(text_of(hospital, "ClinicalStatus"), "Normal");
    assert_eq!(text_of(hospital, "FacilityStatus"), "Compromised");
    assert_eq!(text_of(hospital, "SecurityStatus"), "RestrictedAccess");
    assert_eq!(text_of(hospital, "Staffing"), "Adequate");
    assert_eq!(text_of(hospital, "FacilityOperations"), "Insufficient");
    assert_eq!(text_of(hospital, "ClinicalOperations"), "Insufficient");
    assert_eq!(text_of(hospital, "LastUpdateTime"), "2026-12-03T02:30:00Z");
    let coverage = hospital
        .descendants()
        .find(|n| n.tag_name().name() == "ServiceCoverageStatus")
        .unwrap();
    let comments: Vec<&str> = elements(coverage)
        .iter()
        .filter(|n| n.tag_name().name() == "CommentText")
        .filter_map(|n| n.text())
        .collect();
    assert!(comments.contains(&"Vaccination clinic (svc-vaccination): degraded, 20 % capacity"));
}

#[test]
fn names_with_markup_are_escaped() {
    let mut model: SiteModel = Site::demo().into_model();
    model.name = "St. <Aurelia> & \"Partners\"".into();
    let site = Arc::new(Site::from_model(model).unwrap());
    let xml = have_xml(&AvailabilityModel::new(site).compute(Utc::now()));
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    assert_eq!(
        text_of(document.root_element(), "NameElement"),
        "St. <Aurelia> & \"Partners\""
    );
}
