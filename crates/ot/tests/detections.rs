//! Each attack of the BMS threat model, raised on a capture generated here with Synth,
//! and normal traffic raising nothing against its own learned baseline.

use safecare_capture::synth::{Host, Synth};
use safecare_capture::{CaptureReader, Engine, EngineConfig};
use safecare_core::SecurityEvent;
use safecare_core::site::Site;
use safecare_ot::baseline::Baseline;
use safecare_ot::cli::scan_reader;
use safecare_ot::detect::{DetectConfig, Detector};
use safecare_ot::sensor::{Observation, OtSensor};

const WORKSTATION: &str = "10.30.0.5";
const PLC: &str = "10.30.0.30";
const BACNET_CONTROLLER: &str = "10.30.0.20";
const BACNET: u16 = 47808;

/// Runs a generated capture through the sensor; every observation goes to `each`.
fn observe(pcap: &[u8], each: &mut dyn FnMut(Observation)) {
    let mut reader = CaptureReader::new(pcap).unwrap();
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = OtSensor::new();
    let path = std::path::Path::new("generated.pcap");
    scan_reader(path, &mut reader, &mut engine, &mut sensor, &mut |o| {
        each(o);
        Ok(())
    })
    .unwrap();
    engine.finish(&mut sensor);
    sensor.drain().into_iter().for_each(each);
}

fn learn(pcap: &[u8]) -> Baseline {
    let mut baseline = Baseline::default();
    observe(pcap, &mut |o| {
        if let Observation::Transaction(t) = o {
            baseline.learn(&t);
        }
    });
    baseline
}

fn detect(pcap: &[u8], baseline: Option<Baseline>) -> Vec<SecurityEvent> {
    let site = Site::demo();
    let config = DetectConfig {
        baseline,
        ..DetectConfig::default()
    };
    let mut detector = Detector::new(&site, Some(&site), config);
    let mut events = Vec::new();
    observe(pcap, &mut |o| {
        detector.observe(&o);
        events.extend(detector.drain_events());
    });
    events
}

fn kinds(events: &[SecurityEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn find<'a>(events: &'a [SecurityEvent], kind: &str) -> &'a SecurityEvent {
    events
        .iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(events)))
}

/// A Modbus/TCP ADU: MBAP header (transaction id, protocol 0, length, unit) and PDU.
fn mb(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = tid.to_be_bytes().to_vec();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    out.push(unit);
    out.extend_from_slice(pdu);
    out
}

/// FC 6 request (and echo) writing `value` to `register`.
fn write_register(register: u16, value: i16) -> Vec<u8> {
    let mut pdu = vec![6];
    pdu.extend_from_slice(&register.to_be_bytes());
    pdu.extend_from_slice(&value.to_be_bytes());
    pdu
}

/// FC 3 request reading `quantity` registers at `register`.
fn read_registers(register: u16, quantity: u16) -> Vec<u8> {
    let mut pdu = vec![3];
    pdu.extend_from_slice(&register.to_be_bytes());
    pdu.extend_from_slice(&quantity.to_be_bytes());
    pdu
}

/// One Modbus connection from `client` to the PLC with these (request, response) PDUs.
fn modbus_session(synth: &mut Synth, client: &str, port: u16, pdus: &[(Vec<u8>, Vec<u8>)]) {
    let frames: Vec<(Vec<u8>, Vec<u8>)> = (1u16..)
        .zip(pdus)
        .map(|(tid, (req, resp))| (mb(tid, 1, req), mb(tid, 1, resp)))
        .collect();
    let exchanges: Vec<(&[u8], &[u8])> = frames
        .iter()
        .map(|(a, b)| (a.as_slice(), b.as_slice()))
        .collect();
    synth.tcp_session(&Host::v4(client), port, &Host::v4(PLC), 502, &exchanges);
}

/// BVLC Original-Unicast-NPDU around an APDU.
fn bvlc(apdu: &[u8]) -> Vec<u8> {
    let len = (apdu.len() + 6) as u16;
    let mut out = vec![0x81, 0x0a, (len >> 8) as u8, len as u8, 0x01, 0x04];
    out.extend_from_slice(apdu);
    out
}

fn object_id(object_type: u32, instance: u32) -> [u8; 4] {
    (object_type << 22 | instance).to_be_bytes()
}

/// WriteProperty of a REAL to `present-value` of analog-value `instance`.
fn write_property(invoke: u8, instance: u32, value: f32) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x05, invoke, 0x0f, 0x0c];
    apdu.extend_from_slice(&object_id(2, instance));
    apdu.extend_from_slice(&[0x19, 85, 0x3e, 0x44]);
    apdu.extend_from_slice(&value.to_be_bytes());
    apdu.push(0x3f);
    apdu
}

fn read_property(invoke: u8, instance: u32) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x05, invoke, 0x0c, 0x0c];
    apdu.extend_from_slice(&object_id(2, instance));
    apdu.extend_from_slice(&[0x19, 85]);
    apdu
}

fn bacnet(synth: &mut Synth, from: &str, to: &str, apdu: &[u8]) {
    synth.udp(&Host::v4(from), BACNET, &Host::v4(to), BACNET, &bvlc(apdu));
}

/// A day of normal BMS traffic: the workstation polls the PLC and the BACnet
/// controller and sets the freezer to -20.0 C and the OR to 21.0 C.
fn normal() -> Vec<u8> {
    let mut synth = Synth::new();
    let poll = (read_registers(100, 2), vec![3, 4, 0xff, 0x38, 0xff, 0x38]);
    let set = (write_register(101, -200), write_register(101, -200));
    modbus_session(&mut synth, WORKSTATION, 40000, &[poll.clone(), set, poll]);
    for invoke in 0..3 {
        bacnet(
            &mut synth,
            WORKSTATION,
            BACNET_CONTROLLER,
            &read_property(invoke, 1),
        );
    }
    bacnet(
        &mut synth,
        WORKSTATION,
        BACNET_CONTROLLER,
        &write_property(9, 1, 21.0),
    );
    bacnet(&mut synth, BACNET_CONTROLLER, WORKSTATION, &[0x20, 9, 0x0f]);
    synth.finish()
}

#[test]
fn normal_traffic_raises_nothing_against_its_baseline() {
    let baseline = learn(&normal());
    let unit = &baseline.modbus["10.30.0.30/1"];
    assert!(unit.writers.contains(WORKSTATION));
    assert_eq!(unit.written["register:101"].min, -200.0);
    let events = detect(&normal(), Some(baseline));
    assert!(events.is_empty(), "{:?}", kinds(&events));
}

#[test]
fn modbus_write_from_unknown_host() {
    let mut synth = Synth::new();
    let set = (write_register(101, -200), write_register(101, -200));
    modbus_session(&mut synth, "10.30.0.99", 40001, &[set]);
    let events = detect(&synth.finish(), Some(learn(&normal())));
    let event = find(&events, "ot.modbus.unauthorized_write");
    assert_eq!(event.techniques(), ["T0855", "T0836"]);
    assert_eq!(event.asset.as_deref(), Some("modbus-plc-1"));
}

#[test]
fn modbus_new_function_code_and_diagnostics() {
    let mut synth = Synth::new();
    let file = (vec![20, 7, 6, 0, 1, 0, 0, 0, 1], vec![20, 4, 3, 6, 0, 0]);
    let listen_only = (vec![8, 0, 4, 0, 0], vec![8, 0, 4, 0, 0]);
    modbus_session(&mut synth, WORKSTATION, 40002, &[file, listen_only]);
    let events = detect(&synth.finish(), Some(learn(&normal())));
    let anomalies: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "ot.modbus.function_code_anomaly")
        .collect();
    assert_eq!(anomalies.len(), 2, "{:?}", kinds(&events));
    assert!(
        anomalies
            .iter()
            .any(|e| e.techniques().contains(&"T0814".to_string()))
    );
}

#[test]
fn modbus_write_outside_learned_range_and_safe_bounds() {
    let mut synth = Synth::new();
    let warm = (write_register(101, -150), write_register(101, -150));
    modbus_session(&mut synth, WORKSTATION, 40003, &[warm]);
    let events = detect(&synth.finish(), Some(learn(&normal())));
    find(&events, "ot.modbus.write_out_of_range");
    let unsafe_write = find(&events, "ot.modbus.setpoint_unsafe");
    assert_eq!(unsafe_write.asset.as_deref(), Some("vaccine-freezer"));
    assert_eq!(unsafe_write.evidence["value"], -15.0);
}

#[test]
fn modbus_register_sweep_and_exception_storm() {
    let mut synth = Synth::new();
    let probes: Vec<_> = (0..40u16)
        .map(|i| (read_registers(i * 100, 1), vec![0x83, 2]))
        .collect();
    modbus_session(&mut synth, WORKSTATION, 40004, &probes);
    let events = detect(&synth.finish(), None);
    assert_eq!(find(&events, "ot.modbus.scan").techniques(), ["T0846"]);
    let storm = find(&events, "ot.modbus.malformed");
    assert_eq!(storm.evidence["reason"], "exception_storm");
}

#[test]
fn modbus_lying_length_is_malformed() {
    let mut synth = Synth::new();
    let mut bad = mb(1, 1, &read_registers(100, 1));
    bad[4] = 0x40; // MBAP length 16k
    let ok = mb(1, 1, &[3, 2, 0, 1]);
    synth.tcp_session(
        &Host::v4(WORKSTATION),
        40005,
        &Host::v4(PLC),
        502,
        &[(&bad, &ok)],
    );
    let events = detect(&synth.finish(), None);
    assert!(
        find(&events, "ot.modbus.malformed")
            .summary
            .contains("MBAP length")
    );
}

#[test]
fn it_host_talking_to_the_bms_network() {
    let mut synth = Synth::new();
    let poll = (read_registers(100, 2), vec![3, 4, 0, 1, 0, 2]);
    modbus_session(&mut synth, "10.10.5.11", 40006, &[poll]);
    let events = detect(&synth.finish(), None);
    let crossing = find(&events, "ot.modbus.zone_crossing");
    assert_eq!(crossing.evidence["client_network"], "net-it");
    assert_eq!(crossing.evidence["server_network"], "net-bms");
}

#[test]
fn bacnet_setpoint_outside_bounds_and_learned_range() {
    let mut synth = Synth::new();
    bacnet(
        &mut synth,
        WORKSTATION,
        BACNET_CONTROLLER,
        &write_property(10, 1, 30.0),
    );
    let events = detect(&synth.finish(), Some(learn(&normal())));
    let event = find(&events, "ot.bacnet.setpoint_unsafe");
    assert_eq!(event.asset.as_deref(), Some("ahu-or-1"));
    assert_eq!(event.evidence["point"], "or-temperature-setpoint");
    find(&events, "ot.bacnet.write_out_of_range");
}

#[test]
fn bacnet_write_and_traffic_from_unknown_client() {
    let mut synth = Synth::new();
    bacnet(
        &mut synth,
        "10.30.0.66",
        BACNET_CONTROLLER,
        &write_property(1, 1, 21.0),
    );
    let events = detect(&synth.finish(), Some(learn(&normal())));
    find(&events, "ot.bacnet.unknown_client");
    assert_eq!(
        find(&events, "ot.bacnet.write_property").techniques(),
        ["T0836", "T0855"]
    );
}

#[test]
fn bacnet_new_service_from_known_client() {
    let mut synth = Synth::new();
    let mut rpm = vec![0x00, 0x05, 1, 0x0e, 0x0c];
    rpm.extend_from_slice(&object_id(2, 1));
    rpm.extend_from_slice(&[0x1e, 0x09, 85, 0x1f]);
    bacnet(&mut synth, WORKSTATION, BACNET_CONTROLLER, &rpm);
    let events = detect(&synth.finish(), Some(learn(&normal())));
    find(&events, "ot.bacnet.service_anomaly");
}

#[test]
fn bacnet_reinitialize_communication_control_and_file_write() {
    let mut synth = Synth::new();
    bacnet(
        &mut synth,
        WORKSTATION,
        BACNET_CONTROLLER,
        &[0x00, 0x05, 1, 0x14, 0x09, 0x00],
    );
    bacnet(
        &mut synth,
        WORKSTATION,
        BACNET_CONTROLLER,
        &[0x00, 0x05, 2, 0x11, 0x19, 0x01],
    );
    let mut file = vec![0x00, 0x05, 3, 0x07, 0xc4];
    file.extend_from_slice(&object_id(10, 1));
    file.extend_from_slice(&[0x0e, 0x31, 0x00, 0x65, 0x02, 0xab, 0xcd, 0x0f]);
    bacnet(&mut synth, WORKSTATION, BACNET_CONTROLLER, &file);
    let events = detect(&synth.finish(), None);
    assert_eq!(
        find(&events, "ot.bacnet.reinitialize_device").techniques(),
        ["T0816"]
    );
    let dcc = find(&events, "ot.bacnet.device_communication_control");
    assert!(dcc.summary.contains("disable"), "{}", dcc.summary);
    assert!(dcc.techniques().contains(&"T0814".to_string()));
    find(&events, "ot.bacnet.file_write");
}

#[test]
fn bacnet_who_is_sweep_and_error_storm() {
    let mut synth = Synth::new();
    for i in 0..12u8 {
        let who_is = [0x10, 0x08, 0x09, i * 10, 0x19, i * 10 + 9];
        bacnet(&mut synth, "10.30.0.77", "10.30.255.255", &who_is);
    }
    for invoke in 0..25u8 {
        bacnet(
            &mut synth,
            BACNET_CONTROLLER,
            "10.30.0.77",
            &[0x50, invoke, 0x0c, 0x91, 0x01, 0x91, 0x1f],
        );
    }
    let events = detect(&synth.finish(), None);
    assert_eq!(
        find(&events, "ot.bacnet.who_is_scan").techniques(),
        ["T0846", "T0888"]
    );
    assert_eq!(
        find(&events, "ot.bacnet.malformed").evidence["reason"],
        "exception_storm"
    );
}

#[test]
fn every_event_validates() {
    let mut synth = Synth::new();
    bacnet(
        &mut synth,
        "10.10.5.11",
        BACNET_CONTROLLER,
        &write_property(1, 1, 35.0),
    );
    let events = detect(&synth.finish(), Some(learn(&normal())));
    assert!(events.len() >= 3, "{:?}", kinds(&events));
    for event in &events {
        event.validate().unwrap();
        assert_eq!(event.module, safecare_core::Module::Ot);
        assert_eq!(
            event.threat.as_ref().unwrap().framework.as_deref(),
            Some("MITRE ATT&CK for ICS")
        );
    }
}

#[test]
fn modbus_controller_that_stops_answering() {
    let mut synth = Synth::new();
    let (client, plc) = (Host::v4(WORKSTATION), Host::v4(PLC));
    let requests: Vec<Vec<u8>> = (1..=6)
        .map(|tid| mb(tid, 1, &read_registers(100, 1)))
        .collect();
    let exchanges: Vec<(&[u8], &[u8])> = requests.iter().map(|r| (r.as_slice(), &[][..])).collect();
    synth.tcp_session(&client, 40007, &plc, 502, &exchanges);
    let events = detect(&synth.finish(), None);
    let silent = find(&events, "ot.modbus.controller_silent");
    assert_eq!(silent.evidence["unanswered"], 5);
}
