//! The bus against the embedded broker and a real Mosquitto.
//!
//! Mosquitto is expected at 127.0.0.1:1883 (override with
//! SAFECARE_TEST_MQTT=mqtt://host:port); `.ci/run` starts it when it is not
//! running. A missing broker fails these tests: it is never skipped.

use std::net::SocketAddr;

use std::time::Duration;

use safecare_bus::client::Qos;
use safecare_bus::mosquitto::MosquittoProcess;
use safecare_bus::{BrokerUrl, BusClient, ClientOptions, EmbeddedBroker, HealthReport, topics};
use safecare_core::{Module, SecurityEvent};

fn mosquitto_url() -> BrokerUrl {
    let url = std::env::var("SAFECARE_TEST_MQTT").unwrap_or("mqtt://127.0.0.1:1883".into());
    BrokerUrl::parse(&url).expect("SAFECARE_TEST_MQTT must be mqtt://host:port")
}

fn embedded() -> BrokerUrl {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    EmbeddedBroker::start(any, None)
        .expect("embedded broker starts")
        .url()
}

async fn client(
    url: &BrokerUrl,
    module: &str,
    subscribe: &[&str],
) -> (BusClient, safecare_bus::Incoming) {
    let mut options = ClientOptions::new(module);
    options.client_id = format!("test-{module}-{}", ulid::Ulid::new());
    for filter in subscribe {
        options = options.subscribe(filter, Qos::AtLeastOnce);
    }
    BusClient::connect(url, options, Duration::from_secs(5))
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

async fn events_round_trip(url: BrokerUrl) {
    let topic_root = format!("safecare/v1/event/{}", "net");
    let (subscriber, mut incoming) = client(&url, "exchange", &[&topic_root]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (publisher, _) = client(&url, "net", &[]).await;

    let sent: Vec<SecurityEvent> = (0..100)
        .map(|i| SecurityEvent::new(Module::Net, "network.port_scan", 40, format!("scan {i}")))
        .collect();
    for event in &sent {
        publisher.publish_event(event).await.unwrap();
    }

    let mut received = Vec::new();
    while received.len() < sent.len() {
        let publish = tokio::time::timeout(Duration::from_secs(10), incoming.recv())
            .await
            .expect("all events arrive within 10 s")
            .expect("client is open");
        if publish.topic == topic_root {
            received.push(SecurityEvent::from_json(&publish.payload).unwrap());
        }
    }
    let mut sent_ids: Vec<_> = sent.iter().map(|e| e.id).collect();
    let mut got_ids: Vec<_> = received.iter().map(|e| e.id).collect();
    sent_ids.sort();
    got_ids.sort();
    assert_eq!(sent_ids, got_ids);
    assert!(subscriber.is_connected());
}

#[tokio::test]
async fn events_round_trip_on_the_embedded_broker() {
    events_round_trip(embedded()).await;
}

#[tokio::test]
async fn events_round_trip_on_mosquitto() {
    events_round_trip(mosquitto_url()).await;
}

#[tokio::test]
async fn health_is_retained_and_a_clean_shutdown_says_down() {
    let url = embedded();
    let module = format!("probe{}", std::process::id());
    let (probe, _) = client(&url, &module, &[]).await;
    assert!(probe.is_connected());
    probe.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (_watcher, mut incoming) = client(&url, "watcher", &[&topics::health(&module)]).await;
    let publish = tokio::time::timeout(Duration::from_secs(5), incoming.recv())
        .await
        .expect("a retained health message is delivered")
        .unwrap();
    let report: HealthReport = serde_json::from_slice(&publish.payload).unwrap();
    assert_eq!(report.module, module);
    assert_eq!(report.status, safecare_bus::HealthStatus::Down);
}

#[tokio::test]
async fn an_unreachable_broker_is_a_clear_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = BrokerUrl::parse(&format!("mqtt://{closed}")).unwrap();
    let options = ClientOptions::new("net");
    let err = match BusClient::connect(&url, options, Duration::from_secs(1)).await {
        Ok(_) => panic!("nothing listens there"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains(&closed.to_string()) && err.contains("mosquitto"),
        "{err}"
    );
}

#[tokio::test]
async fn publishes_made_while_the_broker_is_away_arrive_when_it_is_back() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let broker = MosquittoProcess::start(port, dir.path(), true).unwrap();
    let url = BrokerUrl::parse(&format!("mqtt://127.0.0.1:{}", port)).unwrap();
    let topic = topics::event("ot");
    let (_subscriber, mut incoming) = client(&url, "exchange", &[&topic]).await;
    let (publisher, _) = client(&url, "ot", &[]).await;

    let before = SecurityEvent::new(Module::Ot, "ot.modbus.unauthorized_write", 80, "before");
    publisher.publish_event(&before).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), incoming.recv())
        .await
        .unwrap();
    assert_eq!(
        SecurityEvent::from_json(&first.unwrap().payload)
            .unwrap()
            .id,
        before.id
    );

    drop(broker);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!publisher.is_connected());
    let during = SecurityEvent::new(Module::Ot, "ot.modbus.unauthorized_write", 80, "during");
    publisher.publish_event(&during).await.unwrap();

    let _broker = MosquittoProcess::start(port, dir.path(), true).unwrap();
    let arrived = loop {
        let publish = tokio::time::timeout(Duration::from_secs(15), incoming.recv())
            .await
            .expect("the event published during the outage arrives after it")
            .unwrap();
        let event = SecurityEvent::from_json(&publish.payload).unwrap();
        if event.id == during.id {
            break event;
        }
    };
    assert_eq!(arrived.summary, "during");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_that_dies_is_reported_down_by_its_last_will() {
    let url = embedded();
    let module = format!("doomed{}", std::process::id());

    // The module runs on a runtime of its own, which is then dropped: its
    // socket closes without a DISCONNECT, as when the process is killed.
    let (doomed_url, doomed_module) = (url.clone(), module.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let mut options = ClientOptions::new(&doomed_module);
            options.client_id = format!("test-{doomed_module}");
            let (client, _) = BusClient::connect(&doomed_url, options, Duration::from_secs(5))
                .await
                .unwrap();
            assert!(client.is_connected());
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
        drop(runtime);
    })
    .join()
    .unwrap();

    let (_watcher, mut incoming) = client(&url, "watcher", &[&topics::health(&module)]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let publish = tokio::time::timeout_at(deadline, incoming.recv())
            .await
            .expect("the last will arrives")
            .unwrap();
        let report: HealthReport = serde_json::from_slice(&publish.payload).unwrap();
        if report.status == safecare_bus::HealthStatus::Down {
            assert_eq!(report.module, module);
            break;
        }
    }
}
