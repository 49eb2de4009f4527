//! Scenarios with native steps replayed through the adapters over real brokers: the native
//! steps give the events the scenario expects, and correlation raises the same alerts as
//! from the scenario's own event list.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Harness, embedded, mosquitto, past_midnight};
use safecare_bus::client::Qos;
use safecare_core::scenario::{Publication, Scenario};
use safecare_core::site::Site;
use safecare_core::{Alert, SecurityEvent};
use safecare_correlate::{Engine, RuleSet};
use ulid::Ulid;

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");

fn rules_raised(events: &[SecurityEvent]) -> BTreeSet<String> {
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| e.time);
    let mut engine = Engine::new(RuleSet::defaults());
    let mut latest: HashMap<Ulid, Alert> = HashMap::new();
    for event in &sorted {
        for alert in engine.process(event) {
            latest.insert(alert.id, alert);
        }
    }
    latest.into_values().map(|a| a.rule).collect()
}

/// (kind, asset, zone) of an event, for comparing adapter output with expectations.
fn key(event: &SecurityEvent) -> (String, Option<String>, Option<String>) {
    (
        event.kind.clone(),
        event.asset.clone(),
        event.zone().map(String::from),
    )
}

/// Replays a scenario through the service; the events seen and the scenario.
async fn replay(
    url: &safecare_bus::BrokerUrl,
    name: &str,
    start_hour: i64,
) -> (Vec<SecurityEvent>, Scenario, DateTime<Utc>) {
    let path = format!("{SCENARIOS}/{name}.yaml");
    let scenario = Scenario::load(&path).unwrap_or_else(|err| panic!("{err}"));
    let base: DateTime<Utc> = past_midnight() + TimeDelta::hours(start_hour);
    let mut h = Harness::start_with(url, Arc::new(Site::demo()), base).await;
    assert!(
        !scenario.native_messages(base).is_empty(),
        "the scenario's physical steps are native messages"
    );

    let publisher = h.publisher().clone();
    for (_, publication) in scenario.replay(base) {
        match publication {
            Publication::Event(event) => publisher.publish_event(&event).await.unwrap(),
            Publication::Native { topic, payload } => {
                let topic = h.native_topic(&topic);
                publisher
                    .publish(&topic, Qos::AtLeastOnce, false, payload)
                    .await
                    .unwrap();
            }
        }
    }
    let expected_count = scenario.events(base).len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while h.events.len() < expected_count && tokio::time::Instant::now() < deadline {
        h.drain(Duration::from_millis(200)).await;
    }
    h.drain(Duration::from_millis(500)).await;

    h.service.shutdown().await;
    (h.events, scenario, base)
}

/// The adapters produced exactly the events the scenario expects of its native steps.
fn assert_expectations_met(events: &[SecurityEvent], scenario: &Scenario, base: DateTime<Utc>) {
    let mut want: Vec<_> = scenario.events(base).iter().map(|(_, e)| key(e)).collect();
    let mut got: Vec<_> = events.iter().map(key).collect();
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "adapter output differs from the scenario's expectations"
    );
}

async fn vaccine_theft(url: safecare_bus::BrokerUrl) {
    let (events, scenario, base) = replay(&url, "vaccine-theft", 9).await;
    assert_expectations_met(&events, &scenario, base);

    // Correlation concludes the same from the adapters' events as from the scenario's list.
    let offline: Vec<SecurityEvent> = scenario.events(base).into_iter().map(|(_, e)| e).collect();
    let through_adapters = rules_raised(&events);
    assert_eq!(through_adapters, rules_raised(&offline));
    for rule in [
        "targeted-theft-chain",
        "crowding",
        "loitering-restricted-zone",
        "after-hours-restricted-entry",
    ] {
        assert!(
            through_adapters.contains(rule),
            "{rule} missing from {through_adapters:?}"
        );
    }
}

async fn basement_sabotage(url: safecare_bus::BrokerUrl) {
    let (events, scenario, base) = replay(&url, "basement-sabotage", 1).await;
    assert!(scenario.steps.iter().all(|s| s.action.native().is_some()));
    assert_expectations_met(&events, &scenario, base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaccine_theft_runs_through_the_adapters_on_the_embedded_broker() {
    vaccine_theft(embedded()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaccine_theft_runs_through_the_adapters_on_mosquitto() {
    vaccine_theft(mosquitto()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basement_sabotage_runs_through_the_adapters_on_the_embedded_broker() {
    basement_sabotage(embedded()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basement_sabotage_runs_through_the_adapters_on_mosquitto() {
    basement_sabotage(mosquitto()).await;
}
