//! Impact and HAMS services together on the embedded broker: an incident ends in a
//! retained availability document and EDXL-HAVE report.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::incident;
use safecare_bus::client::Qos;
use safecare_bus::{BrokerUrl, BusClient, ClientOptions, EmbeddedBroker, Incoming, topics};
use safecare_core::site::{BedType, Site};
use safecare_core::{IncidentState, IncidentType};
use safecare_hams::{Availability, EmsTraffic, Override};

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

/// Reads availability documents until one satisfies `test`; returns it and the last XML.
async fn wait_for(
    incoming: &mut Incoming,
    test: impl Fn(&Availability) -> bool,
) -> (Availability, String) {
    let mut xml = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let publish = tokio::time::timeout_at(deadline, incoming.recv())
            .await
            .expect("the expected availability within 15 s")
            .expect("client open");
        if publish.topic == topics::AVAILABILITY_HAVE {
            xml = String::from_utf8(publish.payload.to_vec()).expect("UTF-8 XML");
            continue;
        }
        let availability: Availability =
            serde_json::from_slice(&publish.payload).expect("availability JSON");
        if test(&availability) {
            // The XML is published right after the JSON.
            if let Ok(Some(next)) =
                tokio::time::timeout(Duration::from_secs(5), incoming.recv()).await
            {
                xml = String::from_utf8(next.payload.to_vec()).expect("UTF-8 XML");
            }
            return (availability, xml);
        }
    }
}

fn capacity(availability: &Availability, service: &str) -> f64 {
    availability.service(service).map_or(-1.0, |s| s.capacity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_ends_in_the_published_availability() {
    let url = broker();
    let site = Arc::new(Site::demo());
    let impact = safecare_impact::service::run(&url, site.clone())
        .await
        .unwrap();
    let hams = safecare_hams::service::run(&url, site).await.unwrap();
    let (_region, mut availability) = client(
        &url,
        "region",
        &[topics::AVAILABILITY, topics::AVAILABILITY_HAVE],
    )
    .await;
    let (exchange, _) = client(&url, "exchange", &[]).await;

    // 1. The retained baseline is there for a late subscriber.
    let (baseline, _) = wait_for(&mut availability, |a| a.incidents.is_empty()).await;
    assert_eq!(baseline.status.ems_traffic, EmsTraffic::Normal);

    // 2. PACS ransomware: radiology 0.2, emergency 0.6 and on advisory.
    let mut open = incident(IncidentType::Ransomware, &["pacs-server"]);
    exchange
        .publish_json(topics::INCIDENT, Qos::AtLeastOnce, false, &open)
        .await
        .unwrap();
    let (hit, xml) = wait_for(&mut availability, |a| a.incidents.len() == 1).await;
    assert_eq!(capacity(&hit, "svc-radiology"), 0.2);
    assert_eq!(capacity(&hit, "svc-emergency"), 0.6);
    assert_eq!(
        hit.beds_of(BedType::EmergencyDepartment).unwrap().available,
        12
    );
    assert_eq!(hit.status.ems_traffic, EmsTraffic::Advisory);
    let document = roxmltree::Document::parse(&xml).expect("the HAVE report is XML");
    let traffic = document
        .descendants()
        .find(|n| n.tag_name().name() == "EMSTrafficStatus")
        .and_then(|n| n.text());
    assert_eq!(traffic, Some("Advisory"));

    // 3. An operator override is published too, and served by the shared handle.
    let handle = hams.handle().clone();
    handle
        .set_override(Override {
            service: "svc-emergency".into(),
            capacity: None,
            beds: [(BedType::EmergencyDepartment, 15)].into(),
            staff: Default::default(),
            author: "crisis.manager".into(),
            note: None,
            time: Utc::now(),
        })
        .unwrap();
    let (overridden, _) = wait_for(&mut availability, |a| {
        a.beds_of(BedType::EmergencyDepartment)
            .is_some_and(|b| b.available == 15)
    })
    .await;
    assert!(
        overridden
            .service("svc-emergency")
            .unwrap()
            .overridden
            .is_some()
    );
    assert!(
        handle
            .have_now()
            .contains("<AvailableCount>15</AvailableCount>")
    );

    // 4. Resolved: back to baseline capacities.
    open.state = IncidentState::Resolved;
    exchange
        .publish_json(topics::INCIDENT, Qos::AtLeastOnce, false, &open)
        .await
        .unwrap();
    let (after, _) = wait_for(&mut availability, |a| a.incidents.is_empty()).await;
    assert_eq!(capacity(&after, "svc-radiology"), 1.0);
    assert_eq!(hams.rejected(), 0);
    assert!(hams.published() >= 4);
    impact.shutdown().await;
    hams.shutdown().await;
}
