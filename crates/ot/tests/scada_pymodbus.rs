//! Interoperability with pymodbus (PyPI) over loopback: `ot poll` reads a pymodbus server,
//! and a pymodbus client reads and writes the `ot simulate` device.
//!
//! pymodbus must be installed: `pip install -r .ci/requirements-peers.txt`.

mod scada_common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use scada_common::{PATIENCE, config, poll_until, simulate};
use serde_json::Value;
use tokio::process::{Child, Command};

const INSTALL: &str = "pymodbus is missing: pip install -r .ci/requirements-peers.txt";

fn script(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers")).join(name)
}

/// Fails the test, saying how to install pymodbus, when python3 cannot import it.
async fn require_pymodbus() {
    let check = Command::new("python3")
        .args(["-c", "import pymodbus"])
        .output()
        .await
        .unwrap_or_else(|err| panic!("python3 does not run ({err}); {INSTALL}"));
    assert!(
        check.status.success(),
        "{INSTALL}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts the pymodbus server on `port` and waits until it accepts connections.
async fn pymodbus_server(port: u16) -> Child {
    let mut child = Command::new("python3")
        .arg(script("pymodbus_server.py"))
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let ready = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(status);
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the pymodbus server listens");
    if let Err(status) = ready {
        let output = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        panic!("the pymodbus server exited ({status}): {stderr}");
    }
    child
}

/// What the pymodbus server holds, packed by Python's struct module.
const PEER_POINTS: &str = "
interval: 50ms
silence_after: 30s
devices:
  - id: peer
    address: {address}
    unit: 1
    points:
      - { id: freezer, kind: temperature, table: holding, address: 100, type: i16, scale: 0.1 }
      - { id: mains, kind: mains_voltage, table: holding, address: 200, type: u32, scale: 0.001 }
      - { id: or-temperature, kind: temperature, table: input, address: 0, type: f32 }
      - { id: oxygen, kind: pressure, table: input, address: 2, type: f32, word_order: little }
      - { id: humidity, kind: humidity, table: input, address: 10, type: u16, scale: 0.1 }
      - { id: ups, kind: ups_on_battery, table: discrete, address: 5 }
      - { id: door-open, kind: other, table: coil, address: 7 }
      - { id: fan-on, kind: other, table: coil, address: 8 }
";

#[tokio::test]
async fn poll_reads_every_type_from_a_pymodbus_server() {
    require_pymodbus().await;
    let port = free_port();
    let _server = pymodbus_server(port).await;
    let config = config(PEER_POINTS, format!("127.0.0.1:{port}").parse().unwrap());

    let seen = poll_until(&config, |s| s.readings.len() >= 8).await;
    let values: HashMap<&str, f64> = seen
        .readings
        .iter()
        .map(|r| (r.sensor.as_str(), r.value))
        .collect();
    let expected = [
        ("freezer", -20.3),
        ("mains", 230.4),
        ("or-temperature", 21.5),
        ("oxygen", 4.25),
        ("humidity", 45.5),
        ("ups", 1.0),
        ("door-open", 1.0),
        ("fan-on", 0.0),
    ];
    for (sensor, value) in expected {
        assert_eq!(values.get(sensor), Some(&value), "{sensor} in {values:?}");
    }
    // the UPS on battery is the one limit crossed
    assert_eq!(seen.kinds(), ["scada.ups_on_battery"]);
}

/// The simulated devices at rest, without drift or noise, so that their values are exact.
const SIMULATED: &str = "
interval: 50ms
devices:
  - id: plc
    address: {address}
    unit: 1
    points:
      - id: freezer
        kind: temperature
        table: input
        address: 100
        type: i16
        scale: 0.1
        low: -25
        high: -10
        simulate: { nominal: -20.3, amplitude: 0, noise: 0, follows: setpoint, response: 50ms }
      - { id: setpoint, kind: setpoint, table: holding, address: 101, type: i16, scale: 0.1,
          writable: true, simulate: { nominal: -20 } }
  - id: ahu
    address: {address}
    unit: 2
    points:
      - { id: or-temperature, kind: temperature, table: input, address: 0, type: f32,
          word_order: little, simulate: { nominal: 21.5, amplitude: 0, noise: 0 } }
  - id: power
    address: {address}
    unit: 4
    points:
      - { id: mains, kind: mains_voltage, table: holding, address: 0, type: u32, scale: 0.01,
          simulate: { nominal: 230.4, amplitude: 0, noise: 0 } }
      - { id: ups, kind: ups_on_battery, table: discrete, address: 0, simulate: { nominal: 1 } }
";

#[tokio::test]
async fn a_pymodbus_client_reads_and_writes_the_simulated_device() {
    require_pymodbus().await;
    let (_simulator, config) = simulate(SIMULATED, None).await;
    let port = config.devices[0]
        .address
        .rsplit_once(':')
        .unwrap()
        .1
        .to_string();

    let run = Command::new("python3")
        .arg(script("pymodbus_client.py"))
        .arg(&port)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("the pymodbus client finishes")
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the pymodbus client failed: {stderr}"
    );
    let read: Value = serde_json::from_slice(&output.stdout).expect("the client prints JSON");

    assert_eq!(read["freezer"], -20.3);
    assert_eq!(read["or_temperature"], 21.5);
    assert_eq!(read["mains_voltage"], 230.4);
    assert_eq!(read["ups_on_battery"], true);
    assert_eq!(read["setpoint_written"], true);
    assert_eq!(read["setpoint"], -15.0);
    assert_eq!(read["unmapped_write_refused"], true);

    // The write holds, and the freezer follows its new setpoint (-15.0 - 0.3).
    let warmed = |s: &scada_common::Seen| {
        s.readings
            .iter()
            .any(|r| r.sensor == "freezer" && r.value == -15.3)
    };
    let seen = poll_until(&config, warmed).await;
    let setpoint = seen
        .readings
        .iter()
        .find(|r| r.sensor == "setpoint")
        .unwrap();
    assert_eq!(setpoint.value, -15.0);
}
