//! A pymodbus client and a pymodbus server talk Modbus/TCP over 127.0.0.1 while the
//! sensor watches the loopback interface live: every transaction it decodes must be an
//! operation the client performed, with its function, unit, addresses, quantities,
//! written values and the server's response, paired by transaction id.
//!
//! Needs root (AF_PACKET on lo) and pymodbus (`.ci/requirements-peers.txt`).

mod peers;

use std::net::{IpAddr, Ipv4Addr};

use safecare_ot::modbus::Body;
use safecare_ot::sensor::{Observation, SensorConfig};
use safecare_ot::transaction::{Detail, ModbusExchange};
use serde_json::Value;

use peers::{LiveSensor, free_tcp_port, run_peer};

const UNIT: u8 = 17;

/// The request the client sent, from its own log.
fn expected_request(op: &Value) -> Body {
    let request = &op["request"];
    let address = number(&request["address"]);
    match op["function"].as_u64().unwrap() {
        1..=4 => Body::Read {
            address,
            quantity: number(&request["quantity"]),
        },
        5 | 6 => Body::WriteSingle {
            address,
            value: number(&request["value"]),
        },
        15 | 16 => {
            let values: Vec<u16> = numbers(&request["values"]);
            Body::WriteMultiple {
                address,
                quantity: values.len() as u16,
                values,
            }
        }
        other => panic!("the peer performed function {other}, which this test does not know"),
    }
}

/// Checks the decoded response against what the client received.
fn check_response(op: &Value, exchange: &ModbusExchange) {
    let response = exchange.response.as_ref().expect("response not paired");
    if let Some(code) = op.get("exception") {
        assert_eq!(
            exchange.exception(),
            Some(code.as_u64().unwrap() as u8),
            "{op}"
        );
        return;
    }
    match (&response.body, exchange.function) {
        (Body::Registers { values }, 3 | 4) => assert_eq!(*values, numbers(&op["registers"])),
        (Body::Bits { bits, .. }, 1 | 2) => {
            let received: Vec<bool> = serde_json::from_value(op["bits"].clone()).unwrap();
            assert_eq!(bits[..received.len()], received[..], "{op}");
        }
        (echo @ Body::WriteSingle { .. }, 5 | 6) => assert_eq!(*echo, expected_request(op)),
        (Body::WriteMultipleAck { address, quantity }, 15 | 16) => {
            let Body::WriteMultiple {
                address: asked,
                quantity: count,
                ..
            } = expected_request(op)
            else {
                unreachable!()
            };
            assert_eq!((*address, *quantity), (asked, count), "{op}");
        }
        (body, function) => panic!("function {function} answered with {body:?} for {op}"),
    }
}

fn number(value: &Value) -> u16 {
    value.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap()
}

fn numbers(value: &Value) -> Vec<u16> {
    value.as_array().unwrap().iter().map(number).collect()
}

#[test]
fn pymodbus_operations_are_decoded_exactly_from_live_loopback_traffic() {
    let port = free_tcp_port();
    let config = SensorConfig {
        modbus_ports: vec![port],
        ..SensorConfig::default()
    };

    // 1. The sensor listens before the peers start; the client runs its operations.
    let sensor = LiveSensor::start(config);
    let args = [
        "--port".to_string(),
        port.to_string(),
        "--unit".into(),
        UNIT.to_string(),
    ];
    let log = run_peer("modbus_peer.py", &args);
    let (observations, stats) = sensor.stop();

    // 2. Only this test's server: other tests may use the loopback at the same time.
    let mut exchanges: Vec<&ModbusExchange> = Vec::new();
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for observation in &observations {
        match observation {
            Observation::Transaction(t) if t.server_port == port => {
                let Detail::Modbus(exchange) = &t.detail else {
                    panic!("a BACnet message on the Modbus port: {t:?}");
                };
                assert_eq!((t.client, t.server), (localhost, localhost));
                exchanges.push(exchange);
            }
            Observation::Malformed(m) => panic!("pymodbus traffic read as malformed: {m:?}"),
            _ => {}
        }
    }

    // 3. One paired exchange per operation, in the client's order, field by field.
    let ops = log["ops"].as_array().unwrap();
    assert_eq!(exchanges.len(), ops.len(), "stats: {stats:?}");
    assert!(ops.len() >= 10);
    for (op, exchange) in ops.iter().zip(&exchanges) {
        assert_eq!(
            u64::from(exchange.transaction_id),
            op["transaction_id"].as_u64().unwrap()
        );
        assert_eq!(u64::from(exchange.unit_id), op["unit"].as_u64().unwrap());
        assert_eq!(
            u64::from(exchange.function),
            op["function"].as_u64().unwrap()
        );
        let request = exchange.request.as_ref().expect("request not seen");
        assert_eq!(request.body, expected_request(op), "{op}");
        check_response(op, exchange);
    }

    // 4. The read of an address the server lacks came back as exception 2.
    let exceptions: Vec<_> = exchanges.iter().filter_map(|x| x.exception()).collect();
    assert_eq!(exceptions, vec![2]);
    assert_eq!(stats.modbus_errors, 0);
    assert_eq!(stats.modbus_unanswered, 0);
    assert_eq!(stats.modbus_orphan_responses, 0);
}
