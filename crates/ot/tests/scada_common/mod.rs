//! Shared by the SCADA tests: a simulator on a free loopback port, a poller pointed at
//! it, and waiting for the events a replayed fault must raise.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use safecare_core::{EmptyDirectory, SecurityEvent};
use safecare_ot::scada::PollConfig;
use safecare_ot::scada::fault::Fault;
use safecare_ot::scada::poll::{Output, Poller};
use safecare_ot::scada::simulate::Simulator;
use tokio::sync::mpsc;

/// How long a test waits for what it expects before it fails (a guard, not a measure).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Fast polling of one freezer that follows its setpoint, as the cold-chain PLC serves it.
/// `{address}` is replaced by the simulator's address.
pub const FREEZER: &str = "
interval: 20ms
timeout: 500ms
silence_after: 300ms
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
        unit: C
        low: -25
        high: -15
        max_rate_per_minute: 600   # 10 C per second; the noise moves at most 0.4 C in a window
        rate_window: 200ms
        stuck_after: 300ms
        simulate: { nominal: -20, amplitude: 0, noise: 0.2, follows: setpoint, response: 100ms }
      - id: setpoint
        kind: setpoint
        table: holding
        address: 101
        type: i16
        scale: 0.1
        unit: C
        low: -25
        high: -18
        writable: true
        simulate: { nominal: -20 }
";

/// `template` with `{address}` filled in, parsed without a site.
pub fn config(template: &str, address: SocketAddr) -> PollConfig {
    let text = template.replace("{address}", &address.to_string());
    PollConfig::from_yaml(&text, "test.yaml", None).unwrap_or_else(|err| panic!("{err}"))
}

/// A simulator of `template` on a free loopback port replaying `fault` (YAML), and the
/// config that polls it.
pub async fn simulate(template: &str, fault: Option<&str>) -> (Simulator, PollConfig) {
    let served = config(template, "127.0.0.1:1".parse().unwrap());
    let fault = fault.map(|text| {
        Fault::from_yaml(text, "fault.yaml", &served).unwrap_or_else(|err| panic!("{err}"))
    });
    let listen = "127.0.0.1:0".parse().unwrap();
    let simulator = Simulator::start(&served, Some(listen), fault, 42)
        .await
        .expect("the simulator binds a loopback port");
    let address = simulator.listeners()[0].0;
    (simulator, config(template, address))
}

/// Everything a poller handed out, in order.
#[derive(Default)]
pub struct Seen {
    pub events: Vec<SecurityEvent>,
    pub readings: Vec<safecare_ot::scada::Reading>,
}

impl Seen {
    pub fn kinds(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.kind.as_str()).collect()
    }

    pub fn count(&self, kind: &str) -> usize {
        self.events.iter().filter(|e| e.kind == kind).count()
    }
}

/// Polls `config` until `done` holds for what was seen; fails after [`PATIENCE`].
pub async fn poll_until(config: &PollConfig, done: impl Fn(&Seen) -> bool) -> Seen {
    let mut watcher = Watcher::start(config);
    watcher.until(done).await;
    watcher.seen
}

/// A running poller and what it handed out so far.
pub struct Watcher {
    _poller: Poller,
    outputs: mpsc::Receiver<Output>,
    pub seen: Seen,
}

impl Watcher {
    pub fn start(config: &PollConfig) -> Watcher {
        let (poller, outputs) = Poller::start(config, &EmptyDirectory, None);
        Watcher {
            _poller: poller,
            outputs,
            seen: Seen::default(),
        }
    }

    /// Takes outputs until `done` holds; fails after [`PATIENCE`].
    pub async fn until(&mut self, done: impl Fn(&Seen) -> bool) {
        let seen = &mut self.seen;
        let outputs = &mut self.outputs;
        let waited = tokio::time::timeout(PATIENCE, async {
            while !done(seen) {
                match outputs.recv().await {
                    Some(output) => record(seen, output),
                    None => break,
                }
            }
        })
        .await;
        if waited.is_err() || !done(seen) {
            panic!(
                "the expected events did not come; seen {:?} and {} readings",
                seen.kinds(),
                seen.readings.len()
            );
        }
    }
}

/// Polls `config` for `cycles` rounds per device and returns everything.
pub async fn poll_cycles(config: &PollConfig, cycles: u64) -> Seen {
    let (mut poller, outputs) = Poller::start(config, &EmptyDirectory, Some(cycles));
    let seen = tokio::time::timeout(PATIENCE, collect(outputs))
        .await
        .expect("the poll cycles end");
    poller.finished().await;
    seen
}

async fn collect(mut outputs: mpsc::Receiver<Output>) -> Seen {
    let mut seen = Seen::default();
    while let Some(output) = outputs.recv().await {
        record(&mut seen, output);
    }
    seen
}

fn record(seen: &mut Seen, output: Output) {
    match output {
        Output::Event(event) => seen.events.push(*event),
        Output::Reading(reading) => seen.readings.push(reading),
    }
}
