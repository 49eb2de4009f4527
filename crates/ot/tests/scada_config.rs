//! Poll configs and fault files: the shipped demo config against the demo site, and bad
//! files answered with the file, the line and a fix.

use safecare_core::site::Site;
use safecare_ot::scada::PointKind;
use safecare_ot::scada::config::{ConfigError, PollConfig};
use safecare_ot::scada::fault::Fault;
use safecare_ot::scada::register::{DataType, Table, WordOrder};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/scada-demo.yaml");

fn demo() -> PollConfig {
    let site = Site::demo();
    PollConfig::load(DEMO.as_ref(), Some(&site)).unwrap_or_else(|err| panic!("{err}"))
}

/// The error for `text`, as `file:line: message; fix`, with its line.
fn error(text: &str) -> (usize, String) {
    let site = Site::demo();
    match PollConfig::from_yaml(text, "bad.yaml", Some(&site)) {
        Ok(_) => panic!("accepted a bad config:\n{text}"),
        Err(err @ ConfigError::Invalid { line, .. }) => (line, err.to_string()),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn the_demo_config_takes_limits_units_and_registers_from_the_site() {
    let config = demo();
    let kinds: Vec<PointKind> = config
        .devices
        .iter()
        .flat_map(|d| d.points.iter().map(|p| p.kind))
        .collect();
    for kind in [
        PointKind::Temperature,
        PointKind::Humidity,
        PointKind::Pressure,
        PointKind::MainsVoltage,
        PointKind::UpsOnBattery,
        PointKind::Setpoint,
    ] {
        assert!(
            kinds.contains(&kind),
            "the demo config has no {kind:?} point"
        );
    }

    // From the site: bounds -25..-15 C, register 100, the freezer asset.
    let (device, freezer) = config.point("vaccine-freezer-temperature").unwrap();
    assert_eq!(
        (freezer.limits.low, freezer.limits.high),
        (Some(-25.0), Some(-15.0))
    );
    assert_eq!((freezer.table, freezer.address), (Table::Input, 100));
    assert_eq!(freezer.unit, "C");
    assert_eq!(freezer.asset.as_deref(), Some("vaccine-freezer"));
    assert_eq!(device.asset.as_deref(), Some("modbus-plc-1"));

    // The setpoint is writable because the site says so.
    let (_, setpoint) = config.point("vaccine-freezer-setpoint").unwrap();
    assert!(setpoint.writable);
    assert_eq!(setpoint.kind, PointKind::Setpoint);

    let (_, or_temperature) = config.point("or-temperature").unwrap();
    assert_eq!(or_temperature.encoding.data, DataType::F32);
    assert_eq!(or_temperature.encoding.word_order, WordOrder::Little);
}

#[test]
fn every_built_in_fault_fits_the_demo_config() {
    let config = demo();
    for name in Fault::built_in_names() {
        let fault = Fault::load(name, &config).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(!fault.steps.is_empty(), "{name} has no steps");
    }
    let err = Fault::load("no-such-fault", &config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("freezer-thaw"), "{err}");
}

const GOOD_DEVICE: &str = "devices:
  - id: plc
    address: 127.0.0.1:5020
    points:
";

#[test]
fn a_yaml_typo_names_the_line_and_the_allowed_fields() {
    let text =
        format!("{GOOD_DEVICE}      - id: t\n        kind: temperature\n        tabel: input\n");
    let (line, err) = error(&text);
    assert_eq!(line, 7, "{err}");
    assert!(err.starts_with("bad.yaml:7:"), "{err}");
    assert!(err.contains("tabel") && err.contains("table"), "{err}");
}

#[test]
fn a_bad_duration_names_its_line() {
    let text = "interval: 5 seconds\ndevices: []\n";
    let (line, err) = error(text);
    assert_eq!(line, 1, "{err}");
    assert!(err.contains("units are ms, s, m and h"), "{err}");
}

#[test]
fn limits_the_wrong_way_round_point_at_the_low_limit() {
    let text = format!(
        "{GOOD_DEVICE}      - id: t\n        kind: temperature\n        table: input\n        \
         address: 0\n        type: i16\n        low: 30\n        high: 10\n"
    );
    let (line, err) = error(&text);
    assert_eq!(line, 10, "{err}");
    assert!(err.contains("low 30 above high 10"), "{err}");
}

#[test]
fn overlapping_registers_are_refused() {
    let text = format!(
        "{GOOD_DEVICE}      - {{ id: a, kind: other, table: input, address: 0, type: f32 }}\n      \
         - {{ id: b, kind: other, table: input, address: 1, type: u16 }}\n"
    );
    let (line, err) = error(&text);
    assert_eq!(line, 6, "{err}");
    assert!(
        err.contains("`a` and `b`") && err.contains("input 1"),
        "{err}"
    );
}

#[test]
fn a_float_on_a_coil_and_a_word_order_on_sixteen_bits_are_refused() {
    let coil = format!(
        "{GOOD_DEVICE}      - {{ id: a, kind: other, table: coil, address: 0, type: f32 }}\n"
    );
    assert!(error(&coil).1.contains("reads a f32 from the coil table"));

    let order = format!(
        "{GOOD_DEVICE}      - {{ id: a, kind: other, table: input, address: 0, type: i16, \
         word_order: little }}\n"
    );
    assert!(
        error(&order)
            .1
            .contains("word order applies to u32, i32 and f32")
    );
}

#[test]
fn an_unknown_site_point_lists_the_known_ones() {
    let text = format!("{GOOD_DEVICE}      - id: t\n        site_point: freezer-temp\n");
    let (line, err) = error(&text);
    assert_eq!(line, 6, "{err}");
    assert!(err.contains("vaccine-freezer-temperature"), "{err}");
}

#[test]
fn duplicate_ids_name_the_second_one() {
    let text = format!(
        "{GOOD_DEVICE}      - {{ id: t, kind: other, table: input, address: 0, type: u16 }}\n      \
         - {{ id: t, kind: other, table: input, address: 1, type: u16 }}\n"
    );
    let (line, err) = error(&text);
    assert_eq!(line, 6, "{err}");
    assert!(err.contains("used twice"), "{err}");
}

#[test]
fn a_missing_kind_and_a_bad_address_say_what_to_add() {
    let kind = format!("{GOOD_DEVICE}      - {{ id: t, table: input, address: 0, type: u16 }}\n");
    assert!(error(&kind).1.contains("add `kind:`"));

    let address = "devices:\n  - id: plc\n    address: plc:http\n    points: []\n";
    let (line, err) = error(address);
    assert_eq!(line, 3, "{err}");
    assert!(err.contains("host:port"), "{err}");
}

#[test]
fn a_fault_on_an_unknown_sensor_or_a_read_only_point_is_refused() {
    let config = demo();
    let unknown = "name: x\nsteps:\n  - at: 1s\n    stick: { sensor: nope }\n";
    let err = Fault::from_yaml(unknown, "f.yaml", &config)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("f.yaml:3:") && err.contains("or-humidity"),
        "{err}"
    );

    let read_only = "name: x\nsteps:\n  - at: 1s\n    write: { sensor: or-humidity, value: 1 }\n";
    let err = Fault::from_yaml(read_only, "f.yaml", &config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not writable"), "{err}");

    let two = "name: x\nsteps:\n  - at: 1s\n    stick: { sensor: or-humidity }\n    \
               restore: { sensor: or-humidity }\n";
    let err = Fault::from_yaml(two, "f.yaml", &config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has 2 actions"), "{err}");
}

#[test]
fn a_missing_file_says_which() {
    let err = PollConfig::load("/no/such/poll.yaml".as_ref(), None).unwrap_err();
    assert!(err.to_string().contains("/no/such/poll.yaml"), "{err}");
}
