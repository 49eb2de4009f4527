//! The risk register on the demo hospital, and the `safecare risk report` command.

mod common;

use std::sync::Arc;

use common::incident;
use safecare_core::site::Site;
use safecare_core::{IncidentType, Module, SecurityEvent};
use safecare_impact::cli::{RiskCommand, RiskFormat};
use safecare_impact::risk::RiskOptions;
use safecare_impact::{Engine, RiskHistory, risk_report};

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-6,
        "{what}: expected {expected}, got {actual}"
    );
}

#[test]
fn history_and_exposure_rank_the_pacs_server() {
    let engine = Engine::with_default_rules(Arc::new(Site::demo()));
    let mut history = RiskHistory::new();
    history.add_incident(&incident(IncidentType::Ransomware, &["pacs-server"]));
    let mut event =
        SecurityEvent::new(Module::Files, "host.mass_file_encryption", 90, "encrypting");
    event.asset = Some("pacs-server".into());
    history.add_event(&event);
    history.add_event(&event);

    let options = RiskOptions {
        classes: vec![IncidentType::Ransomware],
        ..RiskOptions::default()
    };
    let report = risk_report(&engine, &history, &options);

    // pacs-server: on net-datacentre, which net-it leads to: exposure 0.7; ransomware
    // protection 0.6. History: two events and one incident, 1 - e^-(0.3 x 2 + 1) =
    // 0.798103. Likelihood 0.5 x 0.7 x 0.4 + 0.5 x 0.798103 = 0.539052. Impact: radiology
    // loses 0.8. Risk 0.431242 (rounded).
    let top = &report.rows[0];
    assert_eq!(
        (top.asset.as_str(), top.threat),
        ("pacs-server", IncidentType::Ransomware)
    );
    assert_eq!((top.events, top.incidents), (2, 1));
    close(top.exposure, 0.7, "exposure");
    close(top.likelihood, 0.539052, "likelihood");
    close(top.protection, 0.6, "protection");
    close(top.impact, 0.8, "impact");
    close(top.risk, 0.431242, "risk");
    assert_eq!(top.worst_service.as_deref(), Some("svc-radiology"));

    // An IT workstation without history: exposure 1.0, likelihood 0.5; ransomware on it
    // reaches the appointment system (lateral movement x0.5), then the vaccination clinic
    // (x0.8): impact 0.4, risk 0.2.
    let admin = report
        .rows
        .iter()
        .find(|r| r.asset == "admin-ws-1")
        .unwrap();
    close(admin.exposure, 1.0, "admin exposure");
    close(admin.likelihood, 0.5, "admin likelihood");
    close(admin.impact, 0.4, "admin impact");
    assert_eq!(admin.worst_service.as_deref(), Some("svc-vaccination"));

    assert!(
        report.rows.windows(2).all(|w| w[0].risk >= w[1].risk),
        "sorted by risk"
    );
    let table = report.to_table();
    assert!(table.starts_with("  RISK  LIKELIHOOD"));
    assert!(table.contains("pacs-server"));
    let csv = report.to_csv();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("pacs-server,PACS archive server,computer,ransomware,0.7,0.6,2,1,")
    );
    let html = report.to_html();
    assert!(html.contains("<td title=\"PACS archive server\">pacs-server</td>"));
}

#[test]
fn the_command_writes_the_register() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("risk.csv");
    let history = dir.path().join("history.jsonl");
    let incident = incident(IncidentType::Sabotage, &["ahu-or-1"]);
    let lines = format!("{}\nnot json\n", serde_json::to_string(&incident).unwrap());
    std::fs::write(&history, lines).unwrap();

    safecare_impact::cli::run(RiskCommand::Report {
        format: RiskFormat::Csv,
        site: None,
        rules: None,
        history: Some(history),
        threats: vec!["sabotage".into()],
        it_networks: vec!["net-it".into()],
        top: Some(3),
        output: Some(output.clone()),
    })
    .unwrap();
    let csv = std::fs::read_to_string(&output).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.lines().nth(1).unwrap().starts_with("ahu-or-1,"),
        "{csv}"
    );

    let err = safecare_impact::cli::run(RiskCommand::Report {
        format: RiskFormat::Table,
        site: None,
        rules: None,
        history: None,
        threats: vec!["flood".into()],
        it_networks: vec![],
        top: None,
        output: None,
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("`--threat flood` is not an incident type")
    );
}
