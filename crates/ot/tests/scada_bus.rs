//! `safecare ot poll --broker`: readings reach `telemetry/{sensor}` and events
//! `event/scada` on a real Mosquitto (127.0.0.1:1883 unless SAFECARE_TEST_MQTT says
//! otherwise).

mod scada_common;

use std::time::Duration;

use safecare_bus::{BrokerUrl, BusClient, ClientOptions, QoS, topics};
use safecare_core::site::Site;
use safecare_core::{Module, SecurityEvent};
use safecare_ot::scada::Reading;
use safecare_ot::scada::cli::{PollArgs, run_poll};
use safecare_ot::scada::fault::Action;
use scada_common::{FREEZER, PATIENCE, simulate};

fn mqtt_url() -> String {
    std::env::var("SAFECARE_TEST_MQTT").unwrap_or("mqtt://127.0.0.1:1883".into())
}

#[tokio::test]
async fn poll_publishes_telemetry_and_events_to_the_broker() {
    // Sensor ids of this run only, so that other runs on the broker do not count.
    let run = format!("{:x}", std::process::id() ^ 0x0005_cada);
    let template = FREEZER
        .replace("id: freezer", &format!("id: freezer-{run}"))
        .replace("follows: setpoint", &format!("follows: setpoint-{run}"))
        .replace("id: setpoint", &format!("id: setpoint-{run}"));
    let (simulator, config) = simulate(&template, None).await;
    let freezer = format!("freezer-{run}");
    simulator.apply(&Action::Set {
        sensor: freezer.clone(),
        value: -10.0,
    });

    // 1. a subscriber on the broker
    let url = BrokerUrl::parse(&mqtt_url()).unwrap();
    let mut options = ClientOptions::new("scada-test")
        .subscribe("safecare/v1/telemetry/+", QoS::AtMostOnce)
        .subscribe(&topics::event("scada"), QoS::AtLeastOnce);
    options.client_id = format!("safecare-scada-test-{run}");
    options.heartbeat = None;
    let (subscriber, mut incoming) = BusClient::connect(&url, options, Duration::from_secs(5))
        .await
        .unwrap_or_else(|err| panic!("{err}"));

    // 2. three polls of the two points, published
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poll.yaml");
    let address = config.devices[0].address.clone();
    std::fs::write(&path, template.replace("{address}", &address)).unwrap();
    let args = PollArgs {
        config: path,
        readings: false,
        cycles: Some(3),
    };
    let summary = run_poll(args, Some(&mqtt_url()), &Site::demo())
        .await
        .unwrap();
    assert_eq!(summary.readings, 6, "{summary}");

    // 3. what the subscriber got
    let mut readings = Vec::new();
    let mut alarm = None;
    let received = tokio::time::timeout(PATIENCE, async {
        while readings.len() < 6 || alarm.is_none() {
            let Some(message) = incoming.recv().await else {
                break;
            };
            let topic = message.topic.clone();
            if topic.starts_with("safecare/v1/telemetry/") {
                let reading: Reading = serde_json::from_slice(&message.payload).unwrap();
                if reading.sensor.ends_with(&run) {
                    assert_eq!(topic, topics::telemetry(&reading.sensor));
                    readings.push(reading);
                }
            } else if let Ok(event) = SecurityEvent::from_json(&message.payload)
                && event.evidence["sensor"] == freezer.as_str()
            {
                alarm = Some(event);
            }
        }
    })
    .await;
    subscriber.shutdown().await;
    assert!(
        received.is_ok(),
        "got {} readings and alarm {alarm:?}",
        readings.len()
    );

    let freezer_values: Vec<f64> = readings
        .iter()
        .filter(|r| r.sensor == freezer)
        .map(|r| r.value)
        .collect();
    assert_eq!(freezer_values, [-10.0, -10.0, -10.0]);
    let alarm = alarm.unwrap();
    assert_eq!(alarm.module, Module::Scada);
    assert_eq!(alarm.kind, "scada.temperature_alarm");
}
