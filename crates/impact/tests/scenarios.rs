//! The shipped scenarios against the demo hospital: impacts and actions checked by hand.
//!
//! Expected scores follow from the shipped rules (crates/impact/rules/propagation.yaml)
//! and the demo site's protections, worked out by hand in the comments of each test.

mod common;

use std::sync::Arc;

use common::incident;
use safecare_core::IncidentType;
use safecare_core::site::{DependencyKind, Site};
use safecare_impact::{Engine, ImpactAssessment, PathStep, recommend};

fn engine() -> Engine {
    Engine::with_default_rules(Arc::new(Site::demo()))
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{what}: expected {expected}, got {actual}"
    );
}

/// The path as "asset" and "kind>asset" items, e.g. ["pacs-server", "hosts>pacs"].
fn path(steps: &[PathStep]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match s.via {
            Some(kind) => format!("{}>{}", kind.as_str(), s.asset),
            None => s.asset.clone(),
        })
        .collect()
}

/// (service, score, seconds to impact), highest score first.
fn services(assessment: &ImpactAssessment) -> Vec<(String, f64, u64)> {
    assessment
        .services
        .iter()
        .map(|s| (s.service.clone(), s.score, s.time_to_impact_s))
        .collect()
}

fn assert_services(assessment: &ImpactAssessment, expected: &[(&str, f64, u64)]) {
    let actual = services(assessment);
    assert_eq!(
        actual.len(),
        expected.len(),
        "impacted services: {actual:?}, expected {expected:?}"
    );
    for (service, score, seconds) in expected {
        let found = assessment
            .service(service)
            .unwrap_or_else(|| panic!("{service} is not impacted: {actual:?}"));
        close(found.score, *score, &format!("{service} score"));
        close(found.capacity, 1.0 - score, &format!("{service} capacity"));
        assert_eq!(found.time_to_impact_s, *seconds, "{service} time to impact");
    }
}

fn action_ids(assessment: &ImpactAssessment, incident: &safecare_core::Incident) -> Vec<String> {
    recommend(assessment, incident)
        .into_iter()
        .map(|a| format!("{}/{}", a.playbook, a.id))
        .collect()
}

#[test]
fn pacs_ransomware_degrades_radiology_then_emergency() {
    // pacs-server (1.0) hosts pacs: hosted-software-compromised x1.0 -> pacs 1.0.
    // svc-radiology depends_on pacs: service-loses-it x0.8 -> 0.8, capacity 0.2.
    // svc-emergency depends_on [svc-radiology, svc-laboratory] after 2h: service-chain
    // x0.5 -> 0.4, capacity 0.6, at 2h.
    let incident = incident(IncidentType::Ransomware, &["pacs-server"]);
    let assessment = engine().assess(&incident);

    assert!(assessment.unknown_assets.is_empty());
    let ids: Vec<&str> = assessment.assets.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["pacs", "pacs-server", "svc-radiology", "svc-emergency"]
    );
    close(assessment.asset("pacs").unwrap().score, 1.0, "pacs");
    assert_services(
        &assessment,
        &[("svc-radiology", 0.8, 0), ("svc-emergency", 0.4, 7200)],
    );

    let emergency = assessment.service("svc-emergency").unwrap();
    assert_eq!(
        path(&emergency.path),
        [
            "pacs-server",
            "hosts>pacs",
            "depends_on>svc-radiology",
            "depends_on>svc-emergency"
        ]
    );
    assert_eq!(emergency.path[2].rule.as_deref(), Some("service-loses-it"));
    assert_eq!(emergency.path[3].rule.as_deref(), Some("service-chain"));
    assert_eq!(emergency.time_to_impact.to_string(), "2h");

    assert_eq!(
        action_ids(&assessment, &incident),
        [
            "pacs-ransomware/isolate-hosts",
            "pacs-ransomware/block-smb-rdp",
            "pacs-ransomware/downtime-imaging",
            "clinical-continuity/inform-clinical-lead",
            "pacs-ransomware/restore-archive",
            "pacs-ransomware/notify-authorities",
            "clinical-continuity/publish-availability",
        ]
    );
    let actions = recommend(&assessment, &incident);
    let isolate = &actions[0];
    assert_eq!(isolate.owner, "it-security");
    assert_eq!(isolate.assets, ["pacs-server"]);
}

#[test]
fn or_air_handling_tampering_reaches_surgery_in_30_minutes() {
    // svc-surgery depends_on ahu-or-1 with a 30m delay: service-loses-equipment x0.8.
    let incident = incident(IncidentType::Sabotage, &["ahu-or-1"]);
    let assessment = engine().assess(&incident);

    let ids: Vec<&str> = assessment.assets.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["ahu-or-1", "svc-surgery"]);
    assert_services(&assessment, &[("svc-surgery", 0.8, 1800)]);
    let surgery = assessment.service("svc-surgery").unwrap();
    assert_eq!(path(&surgery.path), ["ahu-or-1", "depends_on>svc-surgery"]);
    assert_eq!(surgery.threat, IncidentType::DenialOfService);

    assert_eq!(
        action_ids(&assessment, &incident),
        [
            "or-ahu-tampering/manual-override",
            "or-ahu-tampering/isolate-bms",
            "or-ahu-tampering/check-theatres",
            "clinical-continuity/inform-clinical-lead",
            "or-ahu-tampering/review-bms-logs",
            "clinical-continuity/publish-availability",
        ]
    );
}

#[test]
fn vaccine_theft_stops_the_vaccination_clinic() {
    // svc-vaccination depends_on vaccine-freezer after 4h: service-loses-equipment x0.8.
    let incident = incident(IncidentType::Theft, &["vaccine-freezer"]);
    let assessment = engine().assess(&incident);

    let ids: Vec<&str> = assessment.assets.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["vaccine-freezer", "svc-vaccination"]);
    assert_services(&assessment, &[("svc-vaccination", 0.8, 14_400)]);
    let actions = action_ids(&assessment, &incident);
    assert_eq!(
        actions,
        [
            "vaccine-theft/call-security",
            "vaccine-theft/check-freezer",
            "clinical-continuity/inform-clinical-lead",
            "vaccine-theft/quarantine-stock",
            "vaccine-theft/change-door-code",
            "vaccine-theft/reschedule-clinic",
            "clinical-continuity/publish-availability",
            "vaccine-theft/report-theft",
        ]
    );
}

/// Fire and power loss on the mains supply, worked out by hand:
///
/// - chiller-1 and ahu-or-1 depend on mains-power: supply-lost x1.0 -> 1.0, at once.
/// - vaccine-freezer depends on mains-power, power_failure protection 0.5 -> 0.5.
/// - ups-1 depends on mains-power after 30m, power_failure protection 0.8 -> 0.2 at 30m.
/// - the five servers depend on [ups-1, net-datacentre]: power-to-it x1.0 -> 0.2 at 30m;
///   their software and data: host-down-takes-software -> 0.2; the access-control
///   server's doors: controller-down x0.5 -> 0.1.
/// - svc-surgery depends on ahu-or-1 after 30m: 0.8 at 30m.
/// - svc-vaccination depends on the freezer after 4h: 0.4 at 4h.
/// - radiology (pacs), laboratory (lis), emergency (ehr): 0.2 x 0.8 = 0.16 at 30m; ICU
///   (ehr after 1h) at 1h30m; pharmacy (ehr after 4h) at 4h30m.
fn expected_mains_services() -> Vec<(&'static str, f64, u64)> {
    vec![
        ("svc-surgery", 0.8, 1800),
        ("svc-vaccination", 0.4, 14_400),
        ("svc-emergency", 0.16, 1800),
        ("svc-laboratory", 0.16, 1800),
        ("svc-radiology", 0.16, 1800),
        ("svc-icu", 0.16, 5400),
        ("svc-pharmacy", 0.16, 16_200),
    ]
}

#[test]
fn fire_and_power_loss_in_the_technical_room() {
    let engine = engine();
    for kind in [IncidentType::Fire, IncidentType::PowerFailure] {
        let incident = incident(kind, &["mains-power"]);
        let assessment = engine.assess(&incident);

        assert_services(&assessment, &expected_mains_services());
        let score = |id: &str| assessment.asset(id).map(|a| a.score);
        assert_eq!(score("chiller-1"), Some(1.0));
        assert_eq!(score("ahu-or-1"), Some(1.0));
        assert_eq!(score("vaccine-freezer"), Some(0.5));
        assert_eq!(score("ups-1"), Some(0.2));
        for server in ["pacs-server", "ehr-server", "mail-server", "lis-server"] {
            assert_eq!(score(server), Some(0.2), "{server}");
        }
        for door in [
            "door-pharmacy",
            "door-datacentre",
            "door-technical-room",
            "door-or",
        ] {
            assert_eq!(score(door), Some(0.1), "{door}");
        }
        assert_eq!(
            score("icu-monitor-1"),
            None,
            "nothing links the monitors to power"
        );
        assert_eq!(assessment.assets.len(), 1 + 4 + 5 + 6 + 4 + 7);

        let ups = assessment.asset("ups-1").unwrap();
        assert_eq!(ups.threat, IncidentType::PowerFailure);
        assert_eq!(ups.time_to_impact_s, 1800);
        let emergency = assessment.service("svc-emergency").unwrap();
        assert_eq!(
            path(&emergency.path),
            [
                "mains-power",
                "depends_on>ups-1",
                "depends_on>ehr-server",
                "hosts>ehr",
                "depends_on>svc-emergency"
            ]
        );
        let surgery = assessment.service("svc-surgery").unwrap();
        assert_eq!(
            path(&surgery.path),
            [
                "mains-power",
                "depends_on>ahu-or-1",
                "depends_on>svc-surgery"
            ]
        );
        assert_eq!(surgery.path[1].via, Some(DependencyKind::DependsOn));
        assert_eq!(surgery.path[1].rule.as_deref(), Some("supply-lost"));

        let actions = action_ids(&assessment, &incident);
        assert_eq!(
            actions[..3],
            [
                "power-and-fire/fire-brigade",
                "power-and-fire/start-generator",
                "power-and-fire/theatres-on-hold"
            ]
        );
    }
}

#[test]
fn datacentre_intrusion_exposes_the_servers() {
    // door-datacentre leads_to the five servers: physical-access-to-it x0.7; the access
    // control server has intrusion protection 0.5 -> 0.35. pacs-server hosts pacs
    // (x1.0 -> 0.7), which radiology depends on: service-exposed x0.3 -> 0.21.
    let incident = incident(IncidentType::Intrusion, &["door-datacentre"]);
    let assessment = engine().assess(&incident);

    let score = |id: &str| assessment.asset(id).map(|a| a.score);
    assert_eq!(score("pacs-server"), Some(0.7));
    assert_eq!(score("access-control-server"), Some(0.35));
    let radiology = assessment.service("svc-radiology").unwrap();
    close(radiology.score, 0.21, "radiology");
    assert_eq!(
        path(&radiology.path),
        [
            "door-datacentre",
            "leads_to>pacs-server",
            "hosts>pacs",
            "depends_on>svc-radiology"
        ]
    );

    let actions = action_ids(&assessment, &incident);
    assert_eq!(
        actions,
        [
            "datacentre-intrusion/guard-to-room",
            "datacentre-intrusion/find-rogue-devices",
            "datacentre-intrusion/suspend-badge",
            "datacentre-intrusion/check-server-integrity",
        ]
    );
}
