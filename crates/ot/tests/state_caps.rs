//! Per-device state of the detections is capped: a table full of ended windows is
//! pruned, one flooded with live keys is emptied and the reset counted.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, TimeDelta, Utc};
use safecare_capture::synth::{Host, Synth};
use safecare_core::SecurityEvent;
use safecare_core::site::Site;
use safecare_ot::cli::run_scan;
use safecare_ot::detect::{DetectConfig, Detector, MAX_KEYS};
use safecare_ot::modbus::{Body, Pdu};
use safecare_ot::sensor::{Observation, SensorConfig};
use safecare_ot::transaction::{Detail, ModbusExchange, Transaction};

/// A Read Holding Registers of device `n` by one workstation, answered, at `time`.
fn read(n: u32, time: DateTime<Utc>) -> Observation {
    let exchange = ModbusExchange {
        transaction_id: 1,
        unit_id: 1,
        function: 3,
        function_name: Some("read_holding_registers"),
        request: Some(Pdu {
            function: 3,
            body: Body::Read {
                address: 0,
                quantity: 2,
            },
        }),
        response: Some(Pdu {
            function: 3,
            body: Body::Registers { values: vec![1, 2] },
        }),
    };
    Observation::Transaction(Transaction {
        time,
        client: IpAddr::V4(Ipv4Addr::new(10, 30, 0, 5)),
        client_port: 40_000,
        server: IpAddr::V4(Ipv4Addr::from(0x0a40_0000 + n)),
        server_port: 502,
        detail: Detail::Modbus(exchange),
    })
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

/// A detector that saw more distinct live devices than its table holds.
fn flooded(site: &Site) -> Detector<'_> {
    let mut detector = Detector::new(site, None, DetectConfig::default());
    for n in 0..(MAX_KEYS as u32 + 10) {
        detector.observe(&read(n, start()));
    }
    detector
}

#[test]
fn ended_windows_make_room_for_new_devices_without_a_reset() {
    let site = Site::demo();
    let mut detector = Detector::new(&site, None, DetectConfig::default());
    let devices = (MAX_KEYS as u32) * 9 / 10;

    // Two waves of distinct devices, five minutes apart: the first wave's windows
    // have ended by the time the second fills the table.
    for n in 0..devices {
        detector.observe(&read(n, start()));
    }
    let later = start() + TimeDelta::minutes(5);
    for n in devices..2 * devices {
        detector.observe(&read(n, later));
    }
    assert_eq!(detector.table_resets(), 0);
    assert!(
        detector.tracked_keys() <= 2 * MAX_KEYS,
        "{}",
        detector.tracked_keys()
    );
}

#[test]
fn a_flood_of_live_keys_empties_the_table_and_counts_it() {
    let site = Site::demo();
    let detector = flooded(&site);
    assert_eq!(detector.table_resets(), 1);
    assert!(
        detector.tracked_keys() < MAX_KEYS,
        "{}",
        detector.tracked_keys()
    );
}

#[test]
fn the_command_summary_reports_the_resets() {
    let site = Site::demo();
    let mut detector = flooded(&site);

    // Any capture: the summary of the scan reports the detector's resets.
    let mut synth = Synth::new();
    let (workstation, controller) = (Host::v4("10.30.0.5"), Host::v4("10.64.0.1"));
    synth.udp(
        &workstation,
        47808,
        &controller,
        47808,
        &[0x81, 0x0a, 0x00, 0x04],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.pcap");
    std::fs::write(&path, synth.finish()).unwrap();

    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = run_scan(
        &[path],
        SensorConfig::default(),
        &mut detector,
        &mut events,
        &mut |_| Ok(()),
    )
    .unwrap();
    assert_eq!(summary.detection_table_resets, 1);
    assert!(
        summary.to_string().contains("1 detection-table resets"),
        "{summary}"
    );
}
