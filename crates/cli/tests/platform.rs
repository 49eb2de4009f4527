//! The platform end to end: bus -> exchange -> store -> correlation -> API,
//! on the embedded defaults and on a real Mosquitto with PostgreSQL.

mod common;

use std::time::Duration;

use common::{Backend, TestPlatform};
use futures::StreamExt;
use safecare_bus::topics;
use safecare_cli::capture_steps::CaptureFiles;
use safecare_cli::demo::{self, DemoProgress, ShippedScenario};
use safecare_cli::replay::{self, ReplayPlan};
use safecare_core::scenario::Scenario;
use safecare_core::{Module, SecurityEvent};
use serde_json::{Value, json};

fn shipped(name: &str) -> (&'static str, Scenario) {
    let (file, text) = safecare_cli::scenarios::SHIPPED
        .iter()
        .find(|(file, _)| file.starts_with(name))
        .expect("shipped scenario");
    (file, Scenario::from_yaml(text, file).unwrap())
}

/// Replays a shipped scenario; returns the events the platform should now hold.
async fn replay_scenario(t: &TestPlatform, name: &str) -> Vec<SecurityEvent> {
    let (bus, _) = t.client("replay", &[]).await;
    let (file, scenario) = shipped(name);
    let base = replay::base_time(&scenario, chrono::Utc::now());
    let files = CaptureFiles::Shipped(file);
    let plan = ReplayPlan::new(&scenario, base, &files, &t.platform.site).unwrap();
    let sent = replay::replay(&bus, &plan, None, |_| {}).await.unwrap();
    t.wait_for_events(sent.expected_events as u64).await;
    scenario
        .events(base)
        .into_iter()
        .map(|(_, event)| event)
        .collect()
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn events_alerts_and_the_workflow(backend: Backend) {
    let t = common::start(backend).await;
    let sent = replay_scenario(&t, "vaccine-theft").await;

    // Events: filters and pagination.
    let (status, page) = t.get("/api/events?module=access&limit=1000").await;
    assert_eq!(status, 200, "{page}");
    let access = sent.iter().filter(|e| e.module == Module::Access).count();
    assert_eq!(items(&page).len(), access, "{page:#}");
    assert!(items(&page).iter().all(|e| e["module"] == "access"));

    let (_, page) = t.get("/api/events?zone=pharmacy&limit=1000").await;
    assert!(!items(&page).is_empty());
    assert!(
        items(&page)
            .iter()
            .all(|e| e["location"]["zone"] == "pharmacy")
    );

    let mut seen = Vec::new();
    let mut path = "/api/events?limit=3".to_string();
    loop {
        let (status, page) = t.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(items(&page).into_iter().map(|e| e["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/events?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), sent.len(), "pagination returns each event once");

    let (status, error) = t.get("/api/events?module=toaster").await;
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().contains("module"),
        "{error}"
    );

    // Alerts: the cyber-physical chain is there.
    let (_, page) = t.get("/api/alerts?limit=1000").await;
    let alerts = items(&page);
    assert!(
        alerts.iter().any(|a| a["domain"] == "cyber-physical"),
        "{alerts:#?}"
    );
    assert!(
        alerts.len() >= 4,
        "need four alerts for the workflow, got {}",
        alerts.len()
    );
    let ids: Vec<String> = alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();

    // Live stream: open it before acting.
    let stream = reqwest::get(format!("{}/api/stream", t.http))
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut chunks = stream.bytes_stream();

    // Acknowledge, and not twice.
    let actor = json!({ "actor": "alice" });
    let (status, changed) = t
        .post(
            &format!("/api/alerts/{}/acknowledge", ids[0]),
            actor.clone(),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["alerts"][0]["status"], "acknowledged");
    let (status, _) = t
        .post(
            &format!("/api/alerts/{}/acknowledge", ids[0]),
            actor.clone(),
        )
        .await;
    assert_eq!(status, 409);

    let mut streamed = String::new();
    while !streamed.contains(&ids[0]) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), chunks.next())
            .await
            .expect("the stream carries the acknowledged alert")
            .unwrap()
            .unwrap();
        streamed.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(streamed.contains("event: alert"), "{streamed}");

    // Dismiss needs a reason.
    let (status, error) = t
        .post(
            &format!("/api/alerts/{}/dismiss", ids[1]),
            json!({ "actor": "alice", "reason": " " }),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    let body = json!({ "actor": "alice", "reason": "pharmacist on a night shift" });
    let (status, changed) = t
        .post(&format!("/api/alerts/{}/dismiss", ids[1]), body)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        changed["alerts"][0]["dismiss_reason"],
        "pharmacist on a night shift"
    );
    let (status, _) = t
        .post(&format!("/api/alerts/{}/confirm", ids[1]), actor.clone())
        .await;
    assert_eq!(status, 409, "a dismissed alert cannot be confirmed");

    // Confirm two alerts into two incidents, then merge them.
    let (status, first) = t
        .post(
            &format!("/api/alerts/{}/confirm", ids[2]),
            json!({ "actor": "alice", "type": "theft" }),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let into = first["incidents"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(first["incidents"][0]["type"], "theft");
    assert_eq!(first["alerts"][0]["incident"], into.as_str());
    let (_, second) = t
        .post(&format!("/api/alerts/{}/confirm", ids[3]), actor.clone())
        .await;
    let from = second["incidents"][0]["id"].as_str().unwrap().to_string();
    let (status, merged) = t
        .post(
            &format!("/api/incidents/{into}/merge"),
            json!({ "actor": "bob", "from": [from] }),
        )
        .await;
    assert_eq!(status, 200, "{merged}");
    let (_, incident) = t.get(&format!("/api/incidents/{into}")).await;
    let alert_ids: Vec<&str> = incident["alert_ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(alert_ids.contains(&ids[2].as_str()) && alert_ids.contains(&ids[3].as_str()));
    let (_, old) = t.get(&format!("/api/incidents/{from}")).await;
    assert_eq!(old["merged_into"], into.as_str());
    assert_eq!(old["state"], "closed");
    let (status, _) = t
        .post(
            &format!("/api/incidents/{from}/notes"),
            json!({ "actor": "bob", "text": "x" }),
        )
        .await;
    assert_eq!(
        status, 409,
        "a merged incident is acted on through the one it joined"
    );

    // State only moves forward; owner and notes.
    let path = format!("/api/incidents/{into}/state");
    assert_eq!(
        t.post(&path, json!({ "actor": "bob", "state": "contained" }))
            .await
            .0,
        200
    );
    assert_eq!(
        t.post(&path, json!({ "actor": "bob", "state": "open" }))
            .await
            .0,
        409
    );
    let owner = json!({ "actor": "bob", "owner": "carol" });
    assert_eq!(
        t.post(&format!("/api/incidents/{into}/owner"), owner)
            .await
            .0,
        200
    );
    let note = json!({ "actor": "carol", "text": "Freezer log secured." });
    assert_eq!(
        t.post(&format!("/api/incidents/{into}/notes"), note)
            .await
            .0,
        200
    );
    let (_, incident) = t.get(&format!("/api/incidents/{into}")).await;
    assert_eq!(incident["owner"], "carol");
    assert_eq!(incident["state"], "contained");
    assert_eq!(incident["notes"][0]["author"], "carol");

    // Every change left an audit record naming who.
    let (_, audit) = t.get(&format!("/api/incidents/{into}/audit")).await;
    let actions: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().into(),
                r["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (action, actor) in [
        ("incident.create", "alice"),
        ("incident.merge", "bob"),
        ("incident.state", "bob"),
        ("incident.assign", "bob"),
        ("incident.note", "carol"),
    ] {
        assert!(
            actions.contains(&(action.into(), actor.into())),
            "{action} by {actor} in {actions:?}"
        );
    }
    let (_, audit) = t.get(&format!("/api/alerts/{}/audit", ids[0])).await;
    assert_eq!(audit[0]["action"], "alert.acknowledge");
    assert_eq!(audit[0]["actor"], "alice");

    // Metrics and the API description.
    let metrics = reqwest::get(format!("{}/metrics", t.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("safecare_events_stored_total {}", sent.len())),
        "{metrics}"
    );
    assert!(metrics.contains("safecare_pipeline_latency_seconds_count"));
    let raised = metrics
        .lines()
        .find_map(|l| l.strip_prefix("safecare_alerts_raised_total "))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap();
    assert_eq!(raised, alerts.len(), "every alert raised is counted once");
    let (_, openapi) = t.get("/api/openapi.json").await;
    for operation in safecare_web::openapi::OPERATIONS {
        assert!(
            openapi["paths"][operation.path][operation.method].is_object(),
            "{}",
            operation.path
        );
        if operation.method == "get"
            && !operation.path.contains('{')
            && operation.path != "/api/stream"
        {
            let response = reqwest::get(format!("{}{}", t.http, operation.path))
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{}", operation.path);
        }
    }
}

/// The operating-theatre AHU tampering: its BMS traffic goes through the OT sensor, and
/// the platform stores the sensor's events and turns them into a sabotage incident.
async fn ahu_tampering_from_a_capture(backend: Backend) {
    let t = common::start(backend).await;
    let (bus, _) = t.client("replay", &[]).await;
    let (file, scenario) = shipped("or-ahu-tampering");
    let played = ShippedScenario {
        file,
        scenario: &scenario,
    };
    let mut progress = DemoProgress::default();
    let report = demo::play(&t.platform, &bus, played, None, &mut progress)
        .await
        .unwrap();
    assert_eq!(report.events_from_captures, 10, "{report:#?}");

    // The store holds the sensor's events: those the capture step expects, no others.
    let (_, page) = t.get("/api/events?module=ot&limit=1000").await;
    let stored = items(&page);
    let mut kinds: Vec<(String, String)> = stored
        .iter()
        .map(|e| (e["kind"].to_string(), e["asset"].to_string()))
        .collect();
    let mut expected: Vec<(String, String)> = scenario.steps[1]
        .action
        .capture()
        .unwrap()
        .expect
        .iter()
        .map(|e| (json!(e.kind).to_string(), json!(e.asset).to_string()))
        .collect();
    kinds.sort();
    expected.sort();
    assert_eq!(kinds, expected);
    let setpoint = stored
        .iter()
        .find(|e| e["kind"] == "ot.bacnet.setpoint_unsafe")
        .unwrap();
    assert_eq!(setpoint["asset"], "ahu-or-1");
    assert_eq!(setpoint["evidence"]["value"], 30.0, "{setpoint:#}");
    assert_eq!(setpoint["evidence"]["point"], "or-temperature-setpoint");
    let (_, new_device) = t.get("/api/events?module=net&limit=10").await;
    let appeared = items(&new_device)[0]["time"].as_str().unwrap().to_string();
    let written = setpoint["time"].as_str().unwrap();
    let gap = written.parse::<chrono::DateTime<chrono::Utc>>().unwrap()
        - appeared.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(
        gap,
        chrono::TimeDelta::minutes(12),
        "the setpoint write lands at 10:12"
    );

    // Alerts: the command to the unit, then its process alarm; the rogue device.
    let rules: Vec<&str> = report.alerts.iter().map(|a| a.rule.as_str()).collect();
    for rule in [
        "bms-command-then-process-alarm",
        "new-device-then-ot-command",
        "ot-unauthorized-command",
        "ot-discovery",
    ] {
        assert!(rules.contains(&rule), "{rule} missing from {rules:?}");
    }
    let chain = report
        .alerts
        .iter()
        .find(|a| a.rule == "bms-command-then-process-alarm")
        .unwrap();
    assert_eq!(chain.domain, safecare_core::AlertDomain::CyberPhysical);
    assert_eq!(chain.asset.as_deref(), Some("ahu-or-1"));

    // The stand-in operator confirmed it into a sabotage incident that hits surgery.
    let sabotage = report
        .incidents
        .iter()
        .find(|i| i.alert_ids.contains(&chain.id))
        .unwrap_or_else(|| panic!("no incident holds the chain: {:#?}", report.incidents));
    assert_eq!(sabotage.kind.as_str(), "sabotage");
    assert!(sabotage.assets.iter().any(|a| a == "ahu-or-1"));
    let (status, incident) = t.get(&format!("/api/incidents/{}", sabotage.id)).await;
    assert_eq!(status, 200, "{incident}");
    let impact = report
        .impacts
        .iter()
        .find(|i| i.incident == sabotage.id)
        .unwrap();
    assert!(
        impact.services.iter().any(|s| s.service == "svc-surgery"),
        "{impact:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ahu_tampering_from_a_capture_on_the_embedded_defaults() {
    ahu_tampering_from_a_capture(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_alerts_and_the_workflow_on_the_embedded_defaults() {
    events_alerts_and_the_workflow(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_alerts_and_the_workflow_on_mosquitto_and_postgresql() {
    events_alerts_and_the_workflow(Backend::MosquittoPostgres).await;
}

async fn bad_messages_become_dead_letters(backend: Backend) {
    let t = common::start(backend).await;
    let (watcher, mut letters) = t.client("watcher", &["safecare/v1/deadletter/+"]).await;
    let (bus, _) = t.client("net", &[]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let valid = SecurityEvent::new(
        Module::Net,
        "network.port_scan",
        30,
        "Port scan from 10.10.5.11",
    );
    let valid_json = serde_json::to_value(&valid).unwrap();
    let mut wrong_type = valid_json.clone();
    wrong_type["severity"] = json!("high");
    wrong_type["id"] = json!(ulid::Ulid::new().to_string());
    let big = vec![b'x'; safecare_core::MAX_MESSAGE_BYTES + 1];
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            topics::event("net"),
            b"{\"id\": ".to_vec(),
            "malformed_json",
        ),
        (
            topics::event("net"),
            serde_json::to_vec(&wrong_type).unwrap(),
            "wrong_field",
        ),
        (
            topics::event("toaster"),
            serde_json::to_vec(&valid_json).unwrap(),
            "unknown_module",
        ),
        (
            topics::event("ot"),
            serde_json::to_vec(&valid_json).unwrap(),
            "module_mismatch",
        ),
        (topics::event("net"), big, "too_large"),
    ];
    for (topic, payload, _) in &cases {
        bus.publish(
            topic,
            safecare_bus::QoS::AtLeastOnce,
            false,
            payload.clone(),
        )
        .await
        .unwrap();
    }
    for _ in 0..2 {
        bus.publish_event(&valid).await.unwrap();
    }
    t.wait_for_events(1).await;
    t.wait_for_dead_letters(cases.len() as u64).await;

    let (_, stored) = t.get("/api/dead-letters?limit=100").await;
    let codes: Vec<&str> = stored
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["reason_code"].as_str())
        .collect();
    for (_, _, code) in &cases {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    let wrong = stored
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["reason_code"] == "wrong_field")
        .unwrap();
    assert!(
        wrong["reason"].as_str().unwrap().contains("severity"),
        "{wrong}"
    );

    let mut published = Vec::new();
    while published.len() < cases.len() {
        let publish = tokio::time::timeout(Duration::from_secs(5), letters.recv())
            .await
            .unwrap()
            .unwrap();
        published.push(publish.topic.clone());
    }
    assert!(
        published.contains(&topics::deadletter("toaster")),
        "{published:?}"
    );

    let counts = t.platform.exchange.reader().counts().await.unwrap();
    assert_eq!(counts.events, 1, "the event sent twice is stored once");
    let metrics = reqwest::get(format!("{}/metrics", t.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("safecare_dead_letters_total{module=\"net\",reason=\"malformed_json\"} 1")
    );
    assert!(
        metrics.contains("safecare_events_duplicate_total 1"),
        "{metrics}"
    );

    // Still serving.
    let after = SecurityEvent::new(Module::Net, "network.port_scan", 30, "Another scan");
    bus.publish_event(&after).await.unwrap();
    t.wait_for_events(2).await;
    watcher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_become_dead_letters_on_the_embedded_defaults() {
    bad_messages_become_dead_letters(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_become_dead_letters_on_mosquitto_and_postgresql() {
    bad_messages_become_dead_letters(Backend::MosquittoPostgres).await;
}
