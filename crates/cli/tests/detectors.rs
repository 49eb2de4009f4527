//! Detectors run as separate commands, publishing into a running platform,
//! and the modules that follow an incident (impact, availability).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Backend, TestPlatform};
use safecare_capture::synth::{Host, PortState, Synth};
use serde_json::{Value, json};

fn safecare(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_safecare"))
        .args(args)
        .env("SAFECARE_LOG", "warn")
        .output()
        .expect("the safecare binary runs")
}

/// Waits until the store holds an event of `kind`; returns it.
async fn stored_event(t: &TestPlatform, kind: &str) -> Value {
    for _ in 0..200 {
        t.platform.exchange.sync().await;
        let (_, page) = t.get(&format!("/api/events?kind={kind}&limit=10")).await;
        if let Some(event) = page["items"].as_array().and_then(|items| items.first()) {
            return event.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {kind} event was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_scan_publishes_into_a_running_platform() {
    let t = common::start(Backend::Embedded).await;
    let mut synth = Synth::new();
    for port in 1..=200u16 {
        let target = Host::v4("10.40.0.10");
        synth.syn_probe(
            &Host::v4("10.10.5.11"),
            40000,
            &target,
            port,
            PortState::Closed,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("scan.pcap");
    std::fs::write(&capture, synth.finish()).unwrap();

    let broker = t.platform.broker_url.to_string();
    let output = safecare(&[
        "net",
        "--broker",
        &broker,
        "scan",
        capture.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let event = stored_event(&t, "network.port_scan").await;
    assert_eq!(event["module"], "net");
    assert_eq!(event["source"]["ip"], "10.10.5.11");
    let (_, alerts) = t.get("/api/alerts?limit=100").await;
    let rules: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["rule"].as_str())
        .collect();
    assert!(rules.contains(&"port-scan"), "{rules:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_scan_publishes_device_findings_into_a_running_platform() {
    let t = common::start(Backend::Embedded).await;
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");
    let logs = format!("{data}/logs/loghub/OpenSSH");
    let rules = format!("{data}/sigma/rules/linux");

    let broker = t.platform.broker_url.to_string();
    let output = safecare(&[
        "logs", "--broker", &broker, "scan", &logs, "--rules", &rules,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let event = stored_event(&t, "auth.brute_force").await;
    assert_eq!(event["module"], "logs");
    assert!(event["source"]["ip"].is_string(), "{event}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_incident_gets_an_impact_and_changes_availability() {
    let t = common::start(Backend::Embedded).await;
    let (_, before) = t.get("/api/availability").await;

    let (bus, _) = t.client("replay", &[]).await;
    let mut event = safecare_core::SecurityEvent::new(
        safecare_core::Module::Files,
        "file.ransom_note",
        95,
        "Ransom note written on the PACS archive",
    );
    event.asset = Some("pacs-server".into());
    bus.publish_event(&event).await.unwrap();
    t.wait_for_events(1).await;

    let (_, alerts) = t.get("/api/alerts?limit=10").await;
    let alert = alerts["items"][0]["id"].as_str().unwrap().to_string();
    let body = json!({ "actor": "alice", "type": "ransomware" });
    let (status, changed) = t.post(&format!("/api/alerts/{alert}/confirm"), body).await;
    assert_eq!(status, 200, "{changed}");
    let incident = changed["incidents"][0]["id"].as_str().unwrap().to_string();

    let mut impact = Value::Null;
    for _ in 0..200 {
        let (status, body) = t.get(&format!("/api/incidents/{incident}/impact")).await;
        if status == 200 {
            impact = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = impact.to_string();
    assert!(
        text.contains("svc-radiology"),
        "radiology loses its images: {text}"
    );

    let mut after = before.clone();
    for _ in 0..200 {
        (_, after) = t.get("/api/availability").await;
        if after != before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(after, before, "availability was recomputed from the impact");
    let have = reqwest::get(format!("{}/api/availability/have", t.http))
        .await
        .unwrap();
    let xml = have.text().await.unwrap();
    assert!(
        xml.contains("urn:oasis:names:tc:emergency:EDXL:HAVE:1.0"),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_plan_shows_the_zones_of_the_demo_hospital() {
    let t = common::start(Backend::Embedded).await;
    let response = reqwest::get(format!("{}/api/floors/main-0/plan.svg", t.http))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let svg = response.text().await.unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{svg}");
    assert!(
        svg.contains("pharmacy"),
        "the ground floor has the pharmacy"
    );
    let (status, _) = t.get("/api/floors/no-such-floor/plan.svg").await;
    assert_eq!(status, 404);
    let (status, zone) = t.get("/api/zones/pharmacy").await;
    assert_eq!(status, 200, "{zone}");
}

#[test]
fn device_profiles_come_from_the_site_model() {
    // pharmacy-ws-1 is staffed 07:00-22:00 Europe/Brussels in the demo site.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let lines = "\
Dec  2 23:30:00 pharmacy-ws-1 sshd[4242]: Accepted password for n.jansen from 10.10.3.50 port 50022 ssh2
Dec  2 12:30:00 pharmacy-ws-1 sshd[4243]: Accepted password for n.jansen from 10.10.3.50 port 50023 ssh2
";
    std::fs::write(&log, lines).unwrap();

    let output = safecare(&["logs", "scan", log.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let off_hours: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "auth.logon_off_hours")
        .collect();
    assert_eq!(
        off_hours.len(),
        1,
        "only the 00:30 local logon is off hours: {events:#?}"
    );
    assert_eq!(off_hours[0]["asset"], "pharmacy-ws-1");
    assert_eq!(off_hours[0]["location"]["zone"], "pharmacy");
}
