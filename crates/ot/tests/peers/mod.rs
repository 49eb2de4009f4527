//! Helpers of the interoperability tests: the sensor watching the loopback interface
//! live, and real protocol peers from PyPI (pymodbus, bacpypes3) run as Python scripts
//! from this folder.

#![allow(dead_code)] // each test file uses some of these helpers

use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use safecare_capture::live::LiveCapture;
use safecare_ot::live::{LiveLimits, run_capture};
use safecare_ot::sensor::{Observation, SensorConfig, SensorStats};

/// Exit status of a peer script whose Python module is missing.
const MISSING_MODULE: i32 = 3;

/// The OT sensor capturing on `lo` in a thread until stopped.
pub struct LiveSensor {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Vec<Observation>, SensorStats)>,
}

impl LiveSensor {
    /// Opens the loopback interface here, so that nothing sent after this returns is
    /// missed, and runs the sensor on it in a thread.
    pub fn start(config: SensorConfig) -> LiveSensor {
        let mut capture = LiveCapture::open("lo", false).unwrap_or_else(|err| {
            panic!("{err}; the interoperability tests capture on lo and must run as root")
        });
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut keep = |o: Observation| {
                seen.push(o);
                Ok(())
            };
            let is_stopped = || stopped.load(Ordering::Relaxed);
            let limits = LiveLimits::default();
            let (_, stats) = run_capture(&mut capture, limits, config, &mut keep, &is_stopped)
                .expect("live capture on lo failed");
            (seen, stats)
        });
        LiveSensor { stop, thread }
    }

    /// Stops the capture once the frames already received are decoded; answers what
    /// the sensor saw.
    pub fn stop(self) -> (Vec<Observation>, SensorStats) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the live sensor thread panicked")
    }
}

/// A TCP port free on 127.0.0.1 now.
pub fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A UDP port free on 127.0.0.1 now.
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

/// Runs `script` of this folder with python3 and answers the JSON it prints.
///
/// Panics with the script's error output when it fails, and with the command that
/// installs the peers when a Python module is missing.
pub fn run_peer(script: &str, args: &[String]) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script);
    let output = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("could not run python3 {}: {err}", path.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(MISSING_MODULE) {
        panic!(
            "{script} needs a Python peer that is not installed: {stderr}\n\
             install them with `python3 -m pip install -r .ci/requirements-peers.txt`"
        );
    }
    assert!(
        output.status.success(),
        "{script} failed ({}): {stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "{script} printed no JSON ({err}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
