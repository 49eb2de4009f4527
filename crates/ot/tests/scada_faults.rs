//! `ot poll` against `ot simulate` over real Modbus/TCP on loopback: each replayed fault
//! raises its event, and a quiet run raises none.

mod scada_common;

use safecare_ot::scada::simulate::Simulator;
use scada_common::{FREEZER, Watcher, config, poll_cycles, poll_until, simulate};

#[tokio::test]
async fn a_quiet_freezer_raises_nothing() {
    let (_simulator, config) = simulate(FREEZER, None).await;
    let seen = poll_cycles(&config, 40).await;

    assert!(
        seen.events.is_empty(),
        "events on a quiet run: {:?}",
        seen.kinds()
    );
    let freezer: Vec<f64> = seen
        .readings
        .iter()
        .filter(|r| r.sensor == "freezer")
        .map(|r| r.value)
        .collect();
    assert_eq!(freezer.len(), 40);
    assert!(
        freezer.iter().all(|v| (-20.3..=-19.7).contains(v)),
        "{freezer:?}"
    );
}

#[tokio::test]
async fn a_thawing_freezer_raises_rate_of_change_then_temperature_alarm() {
    let thaw =
        "name: thaw\nsteps:\n  - at: 100ms\n    ramp: { sensor: freezer, to: 8, over: 1s }\n";
    let (_simulator, config) = simulate(FREEZER, Some(thaw)).await;
    let both = |s: &scada_common::Seen| {
        s.count("scada.temperature_alarm") > 0 && s.count("scada.rate_of_change") > 0
    };
    let seen = poll_until(&config, both).await;

    assert_eq!(seen.count("scada.rate_of_change"), 1, "{:?}", seen.kinds());
    let alarm = seen
        .events
        .iter()
        .find(|e| e.kind == "scada.temperature_alarm")
        .unwrap();
    assert_eq!(alarm.evidence["sensor"], "freezer");
    assert_eq!(alarm.evidence["limit_c"], -15.0);
    assert!(alarm.evidence["value_c"].as_f64().unwrap() > -15.0);
    let rate = seen
        .events
        .iter()
        .find(|e| e.kind == "scada.rate_of_change")
        .unwrap();
    assert!(rate.evidence["rate_per_minute"].as_f64().unwrap() > 600.0);
}

#[tokio::test]
async fn a_stuck_sensor_is_reported_once() {
    let stick = "name: stick\nsteps:\n  - at: 100ms\n    stick: { sensor: freezer }\n";
    let (_simulator, config) = simulate(FREEZER, Some(stick)).await;
    let seen = poll_until(&config, |s| s.count("scada.sensor_stuck") > 0).await;

    let stuck = seen
        .events
        .iter()
        .find(|e| e.kind == "scada.sensor_stuck")
        .unwrap();
    assert_eq!(stuck.evidence["sensor"], "freezer");
    assert!(stuck.evidence["unchanged_ms"].as_i64().unwrap() >= 300);
    assert_eq!(seen.events.len(), 1, "{:?}", seen.kinds());
}

#[tokio::test]
async fn a_silent_device_is_reported_once_then_its_recovery() {
    let silence =
        "name: silence\nsteps:\n  - at: 100ms\n    silence: { device: plc, for: 1500ms }\n";
    let (_simulator, config) = simulate(FREEZER, Some(silence)).await;
    let seen = poll_until(&config, |s| s.count("scada.sensor_recovered") > 0).await;

    let kinds = seen.kinds();
    let stale = kinds.iter().position(|k| *k == "scada.sensor_stale");
    let recovered = kinds.iter().position(|k| *k == "scada.sensor_recovered");
    assert!(stale.is_some() && stale < recovered, "{kinds:?}");
    assert_eq!(seen.count("scada.sensor_stale"), 1, "{kinds:?}");
    let event = &seen.events[stale.unwrap()];
    assert_eq!(event.evidence["device"], "plc");
    assert_eq!(
        event.evidence["points"],
        serde_json::json!(["freezer", "setpoint"])
    );

    // the poller reconnected and reads again after the silence
    let silent_at = event.time;
    assert!(seen.readings.iter().any(|r| r.time > silent_at));
}

#[tokio::test]
async fn an_unsafe_setpoint_write_is_reported_and_the_freezer_follows() {
    let write = "name: write\nsteps:\n  - at: 100ms\n    write: { sensor: setpoint, value: 8 }\n";
    let (_simulator, config) = simulate(FREEZER, Some(write)).await;
    let seen = poll_until(&config, |s| s.count("scada.temperature_alarm") > 0).await;

    let change = seen
        .events
        .iter()
        .find(|e| e.kind == "scada.setpoint_changed")
        .unwrap();
    assert_eq!(change.evidence["previous"], -20.0);
    assert_eq!(change.evidence["value"], 8.0);
    assert_eq!(change.evidence["outside_limits"], true);
    assert_eq!(change.severity, 60);
}

#[tokio::test]
async fn a_device_that_goes_away_and_comes_back_is_polled_again() {
    let (simulator, polled) = simulate(FREEZER, None).await;
    let address = simulator.listeners()[0].0;
    let mut watcher = Watcher::start(&polled);
    watcher.until(|s| !s.readings.is_empty()).await;

    // The device goes away: its port refuses connections.
    drop(simulator);
    watcher.until(|s| s.count("scada.sensor_stale") > 0).await;

    // It comes back on the same address.
    let served = config(FREEZER, address);
    let _back = Simulator::start(&served, Some(address), None, 1)
        .await
        .unwrap();
    let before = watcher.seen.readings.len();
    watcher
        .until(|s| s.count("scada.sensor_recovered") > 0)
        .await;
    watcher.until(|s| s.readings.len() > before).await;
    assert_eq!(
        watcher.seen.count("scada.sensor_stale"),
        1,
        "{:?}",
        watcher.seen.kinds()
    );
}
