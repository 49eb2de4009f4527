//! The `safecare` binary as a user runs it.

use std::process::Command;

use serde_json::Value;

fn safecare(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_safecare"))
        .args(args)
        .env("SAFECARE_LOG", "warn")
        .output()
        .expect("the safecare binary runs")
}

#[test]
fn demo_turns_the_vaccine_theft_chain_into_cyber_physical_alerts_and_incidents() {
    let output = safecare(&["demo", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();

    let scenarios = report["scenarios"].as_array().unwrap();
    let names: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for name in ["vaccine-theft", "pacs-ransomware", "or-ahu-tampering"] {
        assert!(names.contains(&name), "{name} not played: {names:?}");
    }
    for scenario in scenarios {
        let incidents = scenario["incidents"].as_array().unwrap();
        assert!(
            !incidents.is_empty(),
            "{} ended in no incident",
            scenario["name"]
        );
    }

    let theft = scenarios
        .iter()
        .find(|s| s["name"] == "vaccine-theft")
        .unwrap();
    let alerts = theft["alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a["domain"] == "cyber-physical" && a["status"] == "confirmed"),
        "no confirmed cyber-physical alert: {alerts:#?}"
    );
    let types: Vec<&str> = theft["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["type"].as_str())
        .collect();
    assert!(
        types.contains(&"theft") && types.contains(&"fire"),
        "{types:?}"
    );
    assert!(
        report["operator_note"]
            .as_str()
            .unwrap()
            .contains("rule stood in for the operator")
    );
    assert_eq!(report["totals"]["dead_letters"], 0);
}

#[test]
fn demo_text_says_the_operator_was_a_rule() {
    let output = safecare(&["demo"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("▶ vaccine-theft"), "{text}");
    assert!(text.contains("cyber-physical"));
    assert!(text.contains("a rule stood in for the operator"));
}

#[test]
fn demo_text_shows_the_ahu_chain_raised_by_the_ot_sensor() {
    let output = safecare(&["demo"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let ahu = text
        .split("▶ ")
        .find(|part| part.starts_with("or-ahu-tampering"))
        .unwrap_or_else(|| panic!("no AHU scenario in {text}"));
    assert!(
        ahu.contains("(10 raised by sensors from packet captures)"),
        "{ahu}"
    );
    assert!(
        ahu.contains("Building-controller command followed by a process alarm"),
        "{ahu}"
    );
    assert!(ahu.contains("sabotage"), "{ahu}");
    assert!(ahu.contains("-> Surgery (svc-surgery)"), "{ahu}");
}

/// Writes a scenario with one capture step into a fresh folder.
fn capture_scenario(step: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("bms.yaml");
    let text = format!("name: bms\nsteps:\n  - at: 0s\n    note: A capture.\n{step}");
    std::fs::write(&path, text).unwrap();
    (folder, path)
}

#[test]
fn replay_refuses_a_capture_step_with_a_missing_file_at_its_line() {
    let step = "    capture:\n      sensor: ot\n      file: captures/absent.pcap\n";
    let (_folder, path) = capture_scenario(step);
    let output = safecare(&["replay", path.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:7:", path.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("captures/absent.pcap` not found"),
        "{stderr}"
    );
}

#[test]
fn replay_refuses_a_capture_step_with_an_unknown_sensor_at_its_line() {
    let step = "    capture:\n      file: bms.pcap\n      sensor: sonar\n";
    let (_folder, path) = capture_scenario(step);
    let output = safecare(&["replay", path.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:7:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("unknown variant `sonar`"), "{stderr}");
    assert!(
        stderr.contains("`ot`") && stderr.contains("`net`"),
        "{stderr}"
    );
}

#[test]
fn schema_prints_the_json_schema_of_each_document() {
    for document in ["event", "alert", "incident"] {
        let output = safecare(&["schema", document]);
        assert!(output.status.success());
        let schema: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(schema["properties"]["id"].is_object(), "{document}");
    }
    let output = safecare(&["schema", "toaster"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("event, alert, incident"));
}

/// With the default log filter, a demo that works logs no error: the
/// embedded broker's reports of clients that disconnect are left out.
#[test]
fn a_healthy_demo_logs_no_error_by_default() {
    let output = Command::new(env!("CARGO_BIN_EXE_safecare"))
        .arg("demo")
        .env_remove("SAFECARE_LOG")
        .output()
        .expect("the safecare binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    assert!(
        stderr.contains("INFO"),
        "the default filter logs at INFO: {stderr}"
    );
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("ERROR"))
        .collect();
    assert!(errors.is_empty(), "errors in a healthy run: {errors:#?}");
}

#[test]
fn up_on_a_taken_port_says_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = safecare(&[
        "up",
        "--mqtt-listen",
        &addr,
        "--database",
        "sqlite::memory:",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--mqtt-listen") && stderr.contains("--broker"),
        "{stderr}"
    );
}

#[test]
fn a_rules_file_with_an_error_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yaml");
    let good = safecare(&["rules", "defaults"]);
    assert!(good.status.success());
    let mut text = String::from_utf8(good.stdout).unwrap();
    text.push_str("  - id: broken\n    type: no-such-type\n");
    std::fs::write(&file, &text).unwrap();

    let output = safecare(&["rules", "check", file.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let type_line = text.lines().count();
    assert!(
        stderr.contains(&format!("rules.yaml:{type_line}:")),
        "line {type_line} not in: {stderr}"
    );
    assert!(stderr.contains("no-such-type"), "{stderr}");
}

#[test]
fn site_generate_writes_a_site_that_checks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.yaml");
    let output = safecare(&[
        "site",
        "generate",
        "--assets",
        "500",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = safecare(&["site", "check", file.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("valid"));
}
