//! A bacpypes3 device and a bacpypes3 client talk BACnet/IP over 127.0.0.1 while the
//! sensor watches the loopback interface live: the services it decodes must be those
//! the client issued (Who-Is, ReadProperty, ReadPropertyMultiple, WriteProperty), with
//! their object types, instances, properties and values, and each answer paired to
//! its request by invoke id. With a small maximum APDU the device answers the large
//! ReadPropertyMultiple in segments, which the sensor must put back together.
//!
//! Needs root (AF_PACKET on lo) and bacpypes3 (`.ci/requirements-peers.txt`).

mod peers;

use safecare_ot::bacnet::{Apdu, PduType, PropertyRef, Service};
use safecare_ot::sensor::{Observation, SensorConfig, SensorStats};
use safecare_ot::transaction::{BacnetExchange, Detail};
use serde_json::Value;

use peers::{LiveSensor, free_udp_port, run_peer};

/// One BACnet message between the two peers, in the direction it went.
struct Seen {
    to_device: bool,
    exchange: BacnetExchange,
}

impl Seen {
    fn apdu(&self) -> &Apdu {
        self.exchange.apdu().expect("a BACnet message without APDU")
    }
}

/// Runs the peers with `max_apdu` while the sensor listens on their ports; answers the
/// client's log, the messages between the peers in order, and the sensor's counters.
fn run_peers(max_apdu: u16) -> (Vec<Value>, Vec<Seen>, SensorStats) {
    let (device, client) = (free_udp_port(), free_udp_port());
    let config = SensorConfig {
        bacnet_ports: vec![device],
        ..SensorConfig::default()
    };
    let sensor = LiveSensor::start(config);
    let args = [
        "--device-port".to_string(),
        device.to_string(),
        "--client-port".into(),
        client.to_string(),
        "--max-apdu".into(),
        max_apdu.to_string(),
    ];
    let log = run_peer("bacnet_peer.py", &args);
    let (observations, stats) = sensor.stop();

    let mut seen = Vec::new();
    for observation in observations {
        match observation {
            Observation::Transaction(t) => {
                let ends = (t.client_port, t.server_port);
                let Detail::Bacnet(exchange) = t.detail else {
                    continue;
                };
                if ends == (client, device) || ends == (device, client) {
                    let to_device = ends.1 == device;
                    seen.push(Seen {
                        to_device,
                        exchange,
                    });
                }
            }
            Observation::Malformed(m) => panic!("bacpypes3 traffic read as malformed: {m:?}"),
        }
    }
    let services = log["services"].as_array().unwrap().clone();
    (services, seen, stats)
}

/// (object type, instance, property) of each reference, as the peer logs them.
fn logged_refs(service: &Value) -> Vec<(u16, u32, u32)> {
    let refs = service["refs"].as_array().unwrap();
    let triple = |r: &Value| {
        let n = |i: usize| r[i].as_u64().unwrap();
        (n(0) as u16, n(1) as u32, n(2) as u32)
    };
    refs.iter().map(triple).collect()
}

fn decoded_refs(apdu: &Apdu) -> &[PropertyRef] {
    match &apdu.service {
        Service::Properties { refs } => refs,
        other => panic!("{:?} carries no properties: {other:?}", apdu.service_name),
    }
}

fn triples(refs: &[PropertyRef]) -> Vec<(u16, u32, u32)> {
    let triple = |r: &PropertyRef| (r.object.object_type, r.object.instance, r.property);
    refs.iter().map(triple).collect()
}

fn logged_values(service: &Value) -> Vec<Option<f64>> {
    let values = service["values"].as_array().unwrap();
    values.iter().map(Value::as_f64).collect()
}

/// Checks every logged service against the request the sensor decoded and the answer
/// paired with it; answers the exchange that carried the ReadPropertyMultiple-ACK.
fn check_services(services: &[Value], seen: &[Seen]) -> BacnetExchange {
    // Segment-ACKs only move the window of a segmented message.
    let services_only = |s: &&Seen| s.apdu().pdu_type != PduType::SegmentAck;
    let requests: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.to_device)
        .filter(services_only)
        .collect();
    let answers: Vec<&Seen> = seen
        .iter()
        .filter(|s| !s.to_device)
        .filter(services_only)
        .collect();
    assert_eq!(requests.len(), services.len(), "requests to the device");
    assert_eq!(answers.len(), services.len(), "answers from the device");

    let mut multiple_ack = None;
    for ((service, request), answer) in services.iter().zip(requests).zip(answers) {
        let (request, answer) = (request.apdu(), answer.apdu());
        let name = service["service"].as_str().unwrap();
        assert_eq!(request.service_name, Some(name));
        if name == "who_is" {
            check_who_is(service, request, answer);
            continue;
        }

        // A confirmed service: the request's references, the answer by invoke id.
        assert_eq!(request.pdu_type, PduType::ConfirmedRequest);
        assert_eq!(answer.invoke_id, request.invoke_id, "{name}");
        assert_eq!(
            triples(decoded_refs(request)),
            logged_refs(service),
            "{name}"
        );
        match name {
            "write_property" => {
                let written = &decoded_refs(request)[0];
                assert_eq!(vec![written.value], logged_values(service));
                assert_eq!(
                    written.priority,
                    service["priority"].as_u64().map(|p| p as u32)
                );
                assert_eq!(answer.pdu_type, PduType::SimpleAck);
            }
            _ => {
                assert_eq!(answer.pdu_type, PduType::ComplexAck, "{name}");
                assert_eq!(answer.service_name, Some(name));
                let read = decoded_refs(answer);
                assert_eq!(triples(read), logged_refs(service), "{name}");
                let values: Vec<_> = read.iter().map(|r| r.value).collect();
                assert_eq!(values, logged_values(service), "{name}");
            }
        }
        if name == "read_property_multiple" {
            let ack = seen.iter().find(|s| !s.to_device && s.apdu() == answer);
            multiple_ack = ack.map(|s| s.exchange.clone());
        }
    }
    multiple_ack.expect("no ReadPropertyMultiple answer")
}

fn check_who_is(service: &Value, request: &Apdu, answer: &Apdu) {
    let limit = |key: &str| service[key].as_u64().map(|n| n as u32);
    let expected = Service::WhoIs {
        low: limit("low"),
        high: limit("high"),
    };
    assert_eq!(request.service, expected);
    let Service::IAm { device, .. } = &answer.service else {
        panic!("Who-Is answered with {:?}", answer.service);
    };
    let announced = service["i_am"][0].as_u64().unwrap();
    assert_eq!(
        (device.object_type, u64::from(device.instance)),
        (8, announced)
    );
}

#[test]
fn bacpypes3_services_are_decoded_from_live_loopback_traffic() {
    let (services, seen, stats) = run_peers(1476);
    assert_eq!(services.len(), 5);
    let ack = check_services(&services, &seen);

    // Everything fits one 1,476-byte APDU: nothing is segmented.
    assert_eq!(ack.segments, None);
    assert_eq!(stats.bacnet_segments, 0);
    assert_eq!(stats.bacnet_errors, 0);
}

#[test]
fn a_segmented_read_property_multiple_from_bacpypes3_is_reassembled() {
    let (services, seen, stats) = run_peers(128);
    let ack = check_services(&services, &seen);

    // Forty results do not fit 128 bytes: the device sent them in segments, each
    // window acknowledged by the client, and the sensor put them back together.
    let segments = ack
        .segments
        .expect("the ReadPropertyMultiple-ACK was not segmented");
    assert!(segments >= 2, "{segments} segments");
    // The request (twenty objects, about 220 bytes) went in segments too.
    assert_eq!(stats.bacnet_reassembled, 2, "{stats:?}");
    assert_eq!(stats.bacnet_segment_errors, 0, "{stats:?}");
    assert_eq!(stats.bacnet_segment_evictions, 0, "{stats:?}");
    assert_eq!(stats.bacnet_errors, 0, "{stats:?}");
}
