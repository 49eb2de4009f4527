//! The impact service against the embedded broker: incidents in, assessments out.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::incident;
use safecare_bus::client::Qos;
use safecare_bus::{BrokerUrl, BusClient, ClientOptions, EmbeddedBroker, Incoming, topics};
use safecare_core::site::Site;
use safecare_core::{IncidentState, IncidentType};
use safecare_impact::ImpactAssessment;
use safecare_impact::service;

fn broker() -> BrokerUrl {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    EmbeddedBroker::start(any, None)
        .expect("embedded broker starts")
        .url()
}

async fn client(url: &BrokerUrl, module: &str, subscribe: &[&str]) -> (BusClient, Incoming) {
    let mut options = ClientOptions::new(module);
    options.client_id = format!("test-{module}-{}", ulid::Ulid::new());
    options.heartbeat = None;
    for filter in subscribe {
        options = options.subscribe(filter, Qos::AtLeastOnce);
    }
    BusClient::connect(url, options, Duration::from_secs(5))
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

async fn next_assessment(incoming: &mut Incoming) -> ImpactAssessment {
    let publish = tokio::time::timeout(Duration::from_secs(10), incoming.recv())
        .await
        .expect("an assessment within 10 s")
        .expect("client open");
    assert_eq!(publish.topic, topics::IMPACT);
    serde_json::from_slice(&publish.payload).expect("the assessment is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_are_assessed_recomputed_and_cleared() {
    let url = broker();
    let impact = service::run(&url, Arc::new(Site::demo())).await.unwrap();
    let (_watcher, mut assessments) = client(&url, "watcher", &[topics::IMPACT]).await;
    let (exchange, _) = client(&url, "exchange", &[]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 1. A new incident: the PACS server.
    let mut open = incident(IncidentType::Ransomware, &["pacs-server"]);
    exchange
        .publish_json(topics::INCIDENT, Qos::AtLeastOnce, false, &open)
        .await
        .unwrap();
    let first = next_assessment(&mut assessments).await;
    assert_eq!(first.incident, open.id);
    assert_eq!(first.service("svc-radiology").map(|s| s.score), Some(0.8));
    assert!(
        first
            .actions
            .iter()
            .any(|a| a.id == "isolate-hosts" && a.owner == "it-security")
    );

    // 2. The incident grows to the workstation used to reach it: recomputed.
    open.assets.push("radiology-ws-1".into());
    open.state = IncidentState::Contained;
    exchange
        .publish_json(topics::INCIDENT, Qos::AtLeastOnce, false, &open)
        .await
        .unwrap();
    let second = next_assessment(&mut assessments).await;
    assert_eq!(second.incident_state, IncidentState::Contained);
    assert!(second.asset("radiology-ws-1").is_some());
    assert!(second.assets.len() > first.assets.len());

    // 3. A message that is not an incident is counted, not fatal.
    exchange
        .publish(
            topics::INCIDENT,
            Qos::AtLeastOnce,
            false,
            b"{not json".to_vec(),
        )
        .await
        .unwrap();

    // 4. Resolved: a cleared assessment withdraws the impact.
    open.state = IncidentState::Resolved;
    exchange
        .publish_json(topics::INCIDENT, Qos::AtLeastOnce, false, &open)
        .await
        .unwrap();
    let cleared = next_assessment(&mut assessments).await;
    assert!(cleared.cleared && cleared.services.is_empty());
    impact.sync().await.unwrap();
    assert_eq!(impact.rejected(), 1);
    assert!(impact.assessments().is_empty());
    assert_eq!(impact.published(), 3);
    impact.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_site_reassesses_open_incidents() {
    let url = broker();
    let impact = service::run(&url, Arc::new(Site::demo())).await.unwrap();
    let (_watcher, mut assessments) = client(&url, "watcher", &[topics::IMPACT]).await;
    let (exchange, _) = client(&url, "exchange", &[]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let open = incident(IncidentType::Sabotage, &["ahu-or-1"]);
    exchange
        .publish_json(topics::INCIDENT, Qos::AtLeastOnce, false, &open)
        .await
        .unwrap();
    let before = next_assessment(&mut assessments).await;
    assert_eq!(before.service("svc-surgery").map(|s| s.score), Some(0.8));

    // The surgery service is made fully resistant to sabotage in the new site file.
    let mut model = Site::demo().into_model();
    for asset in model.assets.iter_mut().filter(|a| a.id == "svc-surgery") {
        asset.protection.denial_of_service = Some(1.0);
    }
    let reassessed = impact
        .replace_site(Arc::new(Site::from_model(model).unwrap()))
        .await
        .unwrap();
    assert_eq!(reassessed, 1);
    let after = next_assessment(&mut assessments).await;
    assert_eq!(after.incident, open.id);
    assert!(
        after.service("svc-surgery").is_none(),
        "{:?}",
        after.services
    );
    impact.shutdown().await;
}
