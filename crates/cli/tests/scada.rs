//! `safecare ot simulate` and `safecare ot poll` as a user runs them: two processes
//! talking Modbus/TCP over loopback, JSON lines on stdout, errors with file and line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const SAFECARE: &str = env!("CARGO_BIN_EXE_safecare");
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/scada-demo.yaml");

/// Kills the simulator when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `safecare ot simulate` on a free port; returns it with the address it serves.
/// Its stderr is read to the end on a thread of its own, so that its logs never block.
fn simulate(extra: &[&str]) -> (Running, String) {
    let mut child = Command::new(SAFECARE)
        .args([
            "ot",
            "simulate",
            DEMO,
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("safecare runs");
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let serving = line
                .strip_prefix("serving ")
                .and_then(|l| l.rsplit_once(" on "));
            if let Some((_, address)) = serving {
                let _ = tx.send(address.trim().to_string());
            }
        }
    });
    let address = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the simulator writes the address it serves on stderr");
    (running, address)
}

/// The demo config with every device moved to `address`, written to a temporary file.
fn demo_at(address: &str, dir: &tempfile::TempDir) -> std::path::PathBuf {
    let text = std::fs::read_to_string(DEMO).unwrap();
    let path = dir.path().join("scada.yaml");
    let text = text
        .replace("127.0.0.1:5020", address)
        .replace("interval: 5s", "interval: 50ms");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn poll_reads_every_demo_point_from_the_simulator() {
    let (_simulator, address) = simulate(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = demo_at(&address, &dir);

    let output = Command::new(SAFECARE)
        .args([
            "ot",
            "poll",
            config.to_str().unwrap(),
            "--readings",
            "--cycles",
            "2",
        ])
        .output()
        .expect("safecare runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect();
    let readings: Vec<&Value> = lines.iter().filter(|l| l.get("sensor").is_some()).collect();
    assert_eq!(readings.len(), 16, "two polls of eight points: {lines:?}");
    let freezer = readings
        .iter()
        .find(|r| r["sensor"] == "vaccine-freezer-temperature")
        .unwrap();
    let value = freezer["value"].as_f64().unwrap();
    assert!((-21.0..=-19.0).contains(&value), "{freezer}");
    assert_eq!(freezer["asset"], "vaccine-freezer");
    // a quiet plant raises nothing
    let events: Vec<&Value> = lines.iter().filter(|l| l.get("module").is_some()).collect();
    assert!(events.is_empty(), "{events:?}");
    assert!(stderr.contains("16 readings"), "{stderr}");
}

#[test]
fn poll_reports_a_power_loss_replayed_by_the_simulator() {
    let fault = tempfile::NamedTempFile::new().unwrap();
    let steps = "name: outage\nsteps:\n  - at: 0ms\n    set: { sensor: mains-voltage, value: 0 }\n";
    std::fs::write(fault.path(), steps).unwrap();
    let (_simulator, address) = simulate(&["--fault", fault.path().to_str().unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    let config = demo_at(&address, &dir);

    let output = Command::new(SAFECARE)
        .args(["ot", "poll", config.to_str().unwrap(), "--cycles", "2"])
        .output()
        .expect("safecare runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "scada.power_loss");
    assert_eq!(events[0]["module"], "scada");
    assert_eq!(events[0]["asset"], "mains-power");
    assert_eq!(events[0]["location"]["zone"], "technical-room");
}

#[test]
fn a_bad_config_fails_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "interval: 5s\ndevices:\n  - id: plc\n    adress: 127.0.0.1:502\n",
    )
    .unwrap();

    let output = Command::new(SAFECARE)
        .args(["ot", "poll", path.to_str().unwrap()])
        .output()
        .expect("safecare runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:4:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("adress"), "{stderr}");

    let unknown = Command::new(SAFECARE)
        .args(["ot", "simulate", DEMO, "--fault", "meltdown"])
        .output()
        .expect("safecare runs");
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("freezer-thaw"), "{stderr}");
}
