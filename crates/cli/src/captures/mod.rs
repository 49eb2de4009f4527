//! The packet captures the shipped scenarios feed through the sensors, generated here
//! packet by packet so that each committed file is provably what this code makes.
//!
//! `cargo run -p safecare-cli --example scenario_captures` writes them into
//! `scenarios/captures/`, and a test checks that the committed files match.
//!
//! The addresses are those of the demo hospital's building-management network
//! (`sites/demo-hospital.yaml`, net-bms 10.30.0.0/16): the BACnet controller
//! (10.30.0.20, device 1000) that holds the operating-theatre setpoint, the air handling
//! unit's own controller (10.30.0.21, device 1001) and the cold-chain PLC (10.30.0.30).

pub mod frames;

use std::time::Duration;

use safecare_capture::Timestamp;
use safecare_capture::synth::{Host, Synth};

use frames::{ObjectId, Value, object, property};

/// A function that writes one whole capture.
pub type Generator = fn() -> Vec<u8>;

/// Every generated capture: its file name under `scenarios/captures/` and its generator.
pub const GENERATED: [(&str, Generator); 2] = [
    ("bms-normal.pcap", bms_normal),
    ("or-ahu-tampering.pcap", or_ahu_tampering),
];

/// The BACnet/IP UDP port.
const BACNET: u16 = 47808;

/// 2026-12-02T10:00:00Z: the day before the attack, when the baseline is recorded.
const BASELINE_START: u64 = 1_796_205_600;

/// 2026-12-03T10:03:00Z: when the laptop starts talking BACnet.
const ATTACK_START: u64 = 1_796_292_180;

/// The BMS supervisor workstation that normally polls and commands the controllers.
fn workstation() -> Host {
    Host::v4("10.30.0.5")
}

/// The laptop plugged into the BMS network (the MAC the scenario's new-device step names).
fn laptop() -> Host {
    Host::v4("10.30.0.99").with_mac([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e])
}

/// bacnet-controller-1: device 1000, holds the theatre temperature setpoint.
fn controller() -> Host {
    Host::v4("10.30.0.20").with_mac([0x00, 0x1a, 0x2b, 0x30, 0x00, 0x20])
}

/// ahu-or-1's own controller: device 1001, runs the supply fan.
fn ahu() -> Host {
    Host::v4("10.30.0.21")
}

/// modbus-plc-1: cold-chain monitoring, unit 1.
fn plc() -> Host {
    Host::v4("10.30.0.30").with_mac([0x00, 0x1a, 0x2b, 0x30, 0x00, 0x30])
}

fn broadcast() -> Host {
    Host::v4("10.30.255.255").with_mac([0xff; 6])
}

const CONTROLLER_DEVICE: u32 = 1000;
const AHU_DEVICE: u32 = 1001;

/// The operating-theatre temperature setpoint (site point `or-temperature-setpoint`).
const OR_SETPOINT: ObjectId = ObjectId::new(object::ANALOG_VALUE, 1);
/// The operating-theatre air temperature (site point `or-temperature`).
const OR_TEMPERATURE: ObjectId = ObjectId::new(object::ANALOG_INPUT, 1);
/// The supply fan speed command of the air handling unit, in percent.
const FAN_SPEED: ObjectId = ObjectId::new(object::ANALOG_OUTPUT, 1);

/// A day of normal BMS traffic, compressed: the supervisor finds the controllers, polls
/// the theatre temperature and the fan, nudges the setpoint and the fan within their
/// usual ranges, and polls the cold-chain PLC. The OT sensor learns its allowlist here.
pub fn bms_normal() -> Vec<u8> {
    let mut synth = Synth::starting_at(Timestamp::from_secs(BASELINE_START));
    let (station, ctl, ahu) = (workstation(), controller(), ahu());
    bacnet(
        &mut synth,
        &station,
        &broadcast(),
        &frames::who_is(1000, 1001),
    );
    bacnet(
        &mut synth,
        &ctl,
        &broadcast(),
        &frames::i_am(CONTROLLER_DEVICE, 15),
    );
    bacnet(
        &mut synth,
        &ahu,
        &broadcast(),
        &frames::i_am(AHU_DEVICE, 15),
    );

    let setpoints = [20.0, 19.0, 20.0];
    let fan_speeds = [85.0, 80.0, 85.0];
    for (round, (setpoint, fan)) in (0u8..).zip(setpoints.into_iter().zip(fan_speeds)) {
        synth.advance(Duration::from_secs(60));
        let invoke = round * 4;
        let temperature = Value::Real(19.5 + f32::from(round) * 0.2);
        ask(
            &mut synth,
            (&station, &ctl),
            &frames::read_property(invoke, OR_TEMPERATURE, property::PRESENT_VALUE),
            &frames::read_property_ack(
                invoke,
                OR_TEMPERATURE,
                property::PRESENT_VALUE,
                &temperature,
            ),
        );
        ask(
            &mut synth,
            (&station, &ahu),
            &frames::read_property(invoke + 1, FAN_SPEED, property::PRESENT_VALUE),
            &frames::read_property_ack(
                invoke + 1,
                FAN_SPEED,
                property::PRESENT_VALUE,
                &Value::Real(85.0),
            ),
        );
        ask(
            &mut synth,
            (&station, &ctl),
            &frames::write_present_value(invoke + 2, OR_SETPOINT, &Value::Real(setpoint), 8),
            &frames::write_ack(invoke + 2),
        );
        ask(
            &mut synth,
            (&station, &ahu),
            &frames::write_present_value(invoke + 3, FAN_SPEED, &Value::Real(fan), 8),
            &frames::write_ack(invoke + 3),
        );
    }

    synth.advance(Duration::from_secs(30));
    let polls: Vec<(Vec<u8>, Vec<u8>)> = (1u16..=3)
        .map(|transaction| {
            let request = frames::modbus(transaction, 1, &frames::read_holding_registers(100, 2));
            let response =
                frames::modbus(transaction, 1, &frames::holding_registers(&[-205, -200]));
            (request, response)
        })
        .collect();
    modbus_session(&mut synth, &station, 49152, &polls);
    synth.finish()
}

/// The attack on the operating-theatre air handling unit, from a laptop on the BMS
/// network (times from 10:03):
///
/// - +0s: twelve Who-Is broadcasts sweep the device instance space; 1000 and 1001 answer;
/// - +20s: it reads both devices' object lists, then names, values and units;
/// - +2m: it asks the cold-chain PLC for its identity over Modbus and reads two registers;
/// - +9m: it writes 30 °C to the theatre temperature setpoint (safe range 18-24 °C);
/// - +10m30s: it writes 20 % to the supply fan speed (normally 80-85 %);
/// - +12m: DeviceCommunicationControl disables the unit's communication for 60 minutes.
pub fn or_ahu_tampering() -> Vec<u8> {
    let mut synth = Synth::starting_at(Timestamp::from_secs(ATTACK_START));
    let (laptop, ctl, ahu) = (laptop(), controller(), ahu());

    discover(&mut synth, &laptop, &ctl, &ahu);
    synth.advance(Duration::from_secs(15));
    read_object_lists(&mut synth, &laptop, &ctl, &ahu);

    at(&mut synth, 120);
    let exchanges = [
        (
            frames::read_device_id(),
            frames::device_id(&["Controls Inc.", "PLC-200", "v3.2.1"]),
        ),
        (
            frames::read_holding_registers(100, 2),
            frames::holding_registers(&[-204, -200]),
        ),
    ];
    let frames: Vec<(Vec<u8>, Vec<u8>)> = (1u16..)
        .zip(&exchanges)
        .map(|(transaction, (request, response))| {
            (
                frames::modbus(transaction, 1, request),
                frames::modbus(transaction, 1, response),
            )
        })
        .collect();
    modbus_session(&mut synth, &laptop, 51515, &frames);

    at(&mut synth, 540);
    let setpoint = Value::Real(30.0);
    ask(
        &mut synth,
        (&laptop, &ctl),
        &frames::write_present_value(20, OR_SETPOINT, &setpoint, 8),
        &frames::write_ack(20),
    );

    at(&mut synth, 630);
    ask(
        &mut synth,
        (&laptop, &ahu),
        &frames::write_present_value(21, FAN_SPEED, &Value::Real(20.0), 8),
        &frames::write_ack(21),
    );

    at(&mut synth, 720);
    ask(
        &mut synth,
        (&laptop, &ahu),
        &frames::device_communication_control(22, 60, 1),
        &frames::device_communication_control_ack(22),
    );
    synth.finish()
}

/// Twelve Who-Is over instance ranges of a thousand; the two controllers answer theirs.
fn discover(synth: &mut Synth, laptop: &Host, ctl: &Host, ahu: &Host) {
    synth.set_step(Duration::from_millis(400));
    for block in 0..12u32 {
        let low = block * 1000;
        bacnet(synth, laptop, &broadcast(), &frames::who_is(low, low + 999));
        if low == 1000 {
            bacnet(
                synth,
                ctl,
                &broadcast(),
                &frames::i_am(CONTROLLER_DEVICE, 15),
            );
            bacnet(synth, ahu, &broadcast(), &frames::i_am(AHU_DEVICE, 15));
        }
    }
    synth.set_step(Duration::from_millis(1));
}

/// The object lists of both devices, then what the interesting objects are.
fn read_object_lists(synth: &mut Synth, laptop: &Host, ctl: &Host, ahu: &Host) {
    let controller_objects = vec![
        ObjectId::new(object::DEVICE, CONTROLLER_DEVICE),
        OR_TEMPERATURE,
        ObjectId::new(object::ANALOG_INPUT, 2),
        OR_SETPOINT,
    ];
    let ahu_objects = vec![
        ObjectId::new(object::DEVICE, AHU_DEVICE),
        FAN_SPEED,
        ObjectId::new(object::BINARY_OUTPUT, 1),
    ];
    let devices = [
        (ctl, CONTROLLER_DEVICE, controller_objects),
        (ahu, AHU_DEVICE, ahu_objects),
    ];
    for (invoke, (device_host, device, objects)) in (1u8..).zip(devices) {
        let id = ObjectId::new(object::DEVICE, device);
        ask(
            synth,
            (laptop, device_host),
            &frames::read_property(invoke, id, property::OBJECT_LIST),
            &frames::read_property_ack(invoke, id, property::OBJECT_LIST, &Value::Objects(objects)),
        );
        synth.advance(Duration::from_secs(2));
    }

    let described = [
        (ctl, OR_SETPOINT, "OR-1 supply air setpoint", 19.0, 62),
        (ahu, FAN_SPEED, "AHU-OR-1 supply fan", 85.0, 98),
    ];
    for (invoke, (device_host, object, name, value, units)) in (10u8..).zip(described) {
        let wanted = [
            property::OBJECT_NAME,
            property::PRESENT_VALUE,
            property::UNITS,
        ];
        let values = [
            (property::OBJECT_NAME, Value::Text(name.into())),
            (property::PRESENT_VALUE, Value::Real(value)),
            (property::UNITS, Value::Enumerated(units)),
        ];
        ask(
            synth,
            (laptop, device_host),
            &frames::read_property_multiple(invoke, object, &wanted),
            &frames::read_property_multiple_ack(invoke, object, &values),
        );
        synth.advance(Duration::from_secs(3));
    }
}

/// Moves the clock to `seconds` after the attack starts.
fn at(synth: &mut Synth, seconds: u64) {
    let due = Timestamp::from_secs(ATTACK_START + seconds);
    synth.advance(due.since(synth.now()));
}

/// One BACnet/IP datagram between UDP ports 47808.
fn bacnet(synth: &mut Synth, from: &Host, to: &Host, datagram: &[u8]) {
    synth.udp(from, BACNET, to, BACNET, datagram);
}

/// A confirmed request and its answer 12 ms later.
fn ask(synth: &mut Synth, (client, device): (&Host, &Host), request: &[u8], answer: &[u8]) {
    bacnet(synth, client, device, request);
    synth.advance(Duration::from_millis(11));
    bacnet(synth, device, client, answer);
}

/// One Modbus/TCP connection to the PLC carrying these (request, response) ADUs.
fn modbus_session(synth: &mut Synth, client: &Host, port: u16, adus: &[(Vec<u8>, Vec<u8>)]) {
    let exchanges: Vec<(&[u8], &[u8])> = adus
        .iter()
        .map(|(request, response)| (request.as_slice(), response.as_slice()))
        .collect();
    synth.tcp_session(client, port, &plc(), 502, &exchanges);
}
