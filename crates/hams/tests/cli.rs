//! `safecare have export`: the report from a file of open incidents.

mod common;

use common::incident;
use safecare_core::IncidentType;
use safecare_hams::cli::{HaveCommand, HaveFormat, run};

#[test]
fn export_writes_the_report_of_the_open_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let incidents = dir.path().join("incidents.json");
    let open = vec![incident(IncidentType::Sabotage, &["ahu-or-1"])];
    std::fs::write(&incidents, serde_json::to_string(&open).unwrap()).unwrap();
    let output = dir.path().join("have.xml");

    run(HaveCommand::Export {
        output: Some(output.clone()),
        site: None,
        incidents: Some(incidents.clone()),
        rules: None,
        format: HaveFormat::Xml,
    })
    .unwrap();
    let xml = std::fs::read_to_string(&output).unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    let theatres = document
        .descendants()
        .filter(|n| n.tag_name().name() == "BedCapacity")
        .find(|b| b.descendants().any(|n| n.text() == Some("OperatingRooms")))
        .expect("operating rooms are reported");
    let available = theatres
        .descendants()
        .find(|n| n.tag_name().name() == "AvailableCount")
        .and_then(|n| n.text());
    assert_eq!(available, Some("0"));

    // A broken incidents file is refused with its name.
    std::fs::write(&incidents, "{\"not\": \"an incident\"}\n").unwrap();
    let err = run(HaveCommand::Export {
        output: None,
        site: None,
        incidents: Some(incidents.clone()),
        rules: None,
        format: HaveFormat::Json,
    })
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("incidents.json:1: not an incident"),
        "{message}"
    );
}
