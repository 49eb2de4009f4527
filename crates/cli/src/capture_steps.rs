//! A scenario's `capture:` steps: each capture run through the real sensor, and the
//! events it raises placed on the scenario's timeline.
//!
//! An event the sensor raises at packet time `t` of a capture whose first packet is at
//! `t0` lands at the step's offset plus `t - t0`: the capture keeps its own pace
//! (scaled by `--speed` like every other step) and its events are stamped in scenario
//! time. When the step lists `expect:`, the sensor must raise exactly those events, in
//! that order, or the replay stops before anything is published.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeDelta, Utc};
use safecare_capture::{CaptureReader, Engine, EngineConfig};
use safecare_core::SecurityEvent;
use safecare_core::scenario::{
    CaptureSensor, CaptureStep, EventStep, Scenario, Step, format_duration,
};
use safecare_core::site::Site;
use safecare_ot::baseline::Baseline;
use safecare_ot::detect::{DetectConfig, Detector};
use safecare_ot::sensor::{Observation, OtSensor};

/// The largest capture a scenario step may feed a sensor: 64 MiB, read into memory.
pub const MAX_CAPTURE_BYTES: u64 = 64 * 1024 * 1024;

/// Where the captures named by a scenario are read from.
#[derive(Debug, Clone)]
pub enum CaptureFiles {
    /// Files relative to this scenario file's folder (`safecare replay FILE`).
    Beside(PathBuf),
    /// The captures built into the binary with the shipped scenario of this file name.
    Shipped(&'static str),
}

impl CaptureFiles {
    /// The scenario file, for messages.
    fn scenario(&self) -> String {
        match self {
            CaptureFiles::Beside(path) => path.display().to_string(),
            CaptureFiles::Shipped(name) => format!("scenarios/{name}"),
        }
    }

    /// The bytes of the capture a step names.
    fn read(&self, name: &str) -> Result<Cow<'static, [u8]>> {
        match self {
            CaptureFiles::Beside(scenario) => {
                let folder = scenario.parent().unwrap_or(Path::new(""));
                let path = folder.join(name);
                read_capture(&path).map(Cow::Owned)
            }
            CaptureFiles::Shipped(_) => crate::scenarios::shipped_capture(name)
                .map(Cow::Borrowed)
                .with_context(|| format!("`{name}` is not among the captures built into safecare")),
        }
    }
}

fn read_capture(path: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("could not read capture {}", path.display()))?
        .len();
    if size > MAX_CAPTURE_BYTES {
        bail!(
            "capture {} has {size} bytes, over the {MAX_CAPTURE_BYTES}-byte limit of a \
             scenario step: cut it with editcap",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("could not read capture {}", path.display()))
}

/// Runs every capture step of `scenario` through its sensor, naming assets and checking
/// bounds with `site`; returns the events raised, each with its offset from the start
/// and stamped `base + offset`, sorted by offset.
///
/// Fails, naming the scenario file and the step, when a capture cannot be read or the
/// sensor raises other events than the step's `expect:` list.
pub fn run(
    scenario: &Scenario,
    base: DateTime<Utc>,
    files: &CaptureFiles,
    site: &Site,
) -> Result<Vec<(Duration, SecurityEvent)>> {
    let mut placed = Vec::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let Some(capture) = step.action.capture() else {
            continue;
        };
        let raised = run_step(step, capture, base, files, site).with_context(|| {
            format!(
                "{}: step {} (at {}): capture {} through the {} sensor",
                files.scenario(),
                index + 1,
                format_duration(step.at),
                capture.file,
                capture.sensor.as_str()
            )
        })?;
        placed.extend(raised);
    }
    placed.sort_by_key(|(offset, _)| *offset);
    Ok(placed)
}

fn run_step(
    step: &Step,
    capture: &CaptureStep,
    base: DateTime<Utc>,
    files: &CaptureFiles,
    site: &Site,
) -> Result<Vec<(Duration, SecurityEvent)>> {
    let bytes = files.read(&capture.file)?;
    let baseline = capture
        .baseline
        .as_deref()
        .map(|name| files.read(name).map(|bytes| (name, bytes)))
        .transpose()?;

    let mut events = match capture.sensor {
        CaptureSensor::Ot => {
            let baseline = baseline
                .map(|(name, bytes)| learn_ot(name, &bytes))
                .transpose()?;
            scan_ot(&capture.file, &bytes, baseline, site)?
        }
        CaptureSensor::Net => scan_net(&capture.file, &bytes, site)?,
    };
    events.sort_by_key(|event| event.time);
    if !capture.expect.is_empty() {
        check_expectations(capture, &events)?;
    }

    let start = first_packet_time(&capture.file, &bytes)?;
    Ok(events
        .into_iter()
        .map(|event| place(event, start, step.at, base))
        .collect())
}

/// Moves an event from capture time to scenario time: the step's offset plus how far
/// into the capture it was raised.
fn place(
    mut event: SecurityEvent,
    start: DateTime<Utc>,
    step_at: Duration,
    base: DateTime<Utc>,
) -> (Duration, SecurityEvent) {
    let into = (event.time - start).to_std().unwrap_or_default();
    let offset = step_at.saturating_add(into);
    event.time = TimeDelta::from_std(offset)
        .ok()
        .and_then(|delta| base.checked_add_signed(delta))
        .unwrap_or(base);
    (offset, event)
}

/// When the capture's first packet was taken.
fn first_packet_time(name: &str, bytes: &[u8]) -> Result<DateTime<Utc>> {
    let mut reader = open(name, bytes)?;
    match reader.next_packet() {
        Ok(Some(packet)) => Ok(packet.ts.to_datetime()),
        Ok(None) => bail!("capture {name} holds no packets"),
        Err(err) => bail!("capture {name} cannot be read: {err}"),
    }
}

fn open<'a>(name: &str, bytes: &'a [u8]) -> Result<CaptureReader<&'a [u8]>> {
    CaptureReader::new(bytes).with_context(|| format!("{name} is not a pcap or pcapng capture"))
}

/// Runs the OT sensor over a capture, handing every observation to `each`.
fn observe_ot(name: &str, bytes: &[u8], each: &mut dyn FnMut(Observation)) -> Result<()> {
    let mut reader = open(name, bytes)?;
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = OtSensor::new();
    let path = Path::new(name);
    safecare_ot::cli::scan_reader(path, &mut reader, &mut engine, &mut sensor, &mut |o| {
        each(o);
        Ok(())
    })?;
    engine.finish(&mut sensor);
    sensor.drain().into_iter().for_each(each);

    let unread = engine.stats().read_errors;
    if unread > 0 {
        bail!("{unread} records of capture {name} cannot be read: regenerate or repair it");
    }
    Ok(())
}

/// The allowlist the OT sensor learns from a capture of normal traffic.
fn learn_ot(name: &str, bytes: &[u8]) -> Result<Baseline> {
    let mut baseline = Baseline::default();
    observe_ot(name, bytes, &mut |o| {
        if let Observation::Transaction(t) = o {
            baseline.learn(&t);
        }
    })
    .with_context(|| format!("could not learn the OT baseline from {name}"))?;
    Ok(baseline)
}

/// The events the OT sensor raises on a capture, as `safecare ot scan` would.
fn scan_ot(
    name: &str,
    bytes: &[u8],
    baseline: Option<Baseline>,
    site: &Site,
) -> Result<Vec<SecurityEvent>> {
    let config = DetectConfig {
        baseline,
        ..DetectConfig::default()
    };
    let mut detector = Detector::new(site, Some(site), config);
    let mut events = Vec::new();
    observe_ot(name, bytes, &mut |o| {
        detector.observe(&o);
        events.extend(detector.drain_events());
    })?;
    Ok(events)
}

/// The events the IT network sensor raises on a capture, as `safecare net scan` would.
fn scan_net(name: &str, bytes: &[u8], site: &Site) -> Result<Vec<SecurityEvent>> {
    let mut reader = open(name, bytes)?;
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = safecare_net::NetSensor::new(site, safecare_net::SensorConfig::default());
    let mut events: Vec<SecurityEvent> = Vec::new();
    loop {
        match reader.next_packet() {
            Ok(Some(raw)) => engine.process(&raw, &mut sensor),
            Ok(None) => break,
            Err(err) => bail!("capture {name} cannot be read: {err}"),
        }
        safecare_net::scan::drain(&mut sensor, &mut events)?;
    }
    engine.finish(&mut sensor);
    safecare_net::scan::drain(&mut sensor, &mut events)?;
    Ok(events)
}

/// The sensor raised exactly the expected events, in order: same module, kind,
/// severity and asset, and the same addresses where the expectation gives them.
fn check_expectations(capture: &CaptureStep, raised: &[SecurityEvent]) -> Result<()> {
    let expected = &capture.expect;
    let first_difference =
        (0..expected.len().max(raised.len())).find(|&i| match (expected.get(i), raised.get(i)) {
            (Some(want), Some(got)) => !matches(want, got),
            _ => true,
        });
    let Some(index) = first_difference else {
        return Ok(());
    };

    let mut message = format!(
        "the {} sensor raised {} events where `expect:` lists {}; they first differ at \
         event {}. What the sensor raised, to copy into `expect:`:",
        capture.sensor.as_str(),
        raised.len(),
        expected.len(),
        index + 1
    );
    for event in raised {
        let _ = write!(message, "\n  {}", expectation_line(event));
    }
    bail!(message)
}

fn matches(want: &EventStep, got: &SecurityEvent) -> bool {
    let ip = |endpoint: &Option<safecare_core::event::Endpoint>| {
        endpoint.as_ref().and_then(|e| e.ip.clone())
    };
    let same_ip = |want: Option<String>, got: Option<String>| want.is_none() || want == got;
    want.module == got.module
        && want.kind == got.kind
        && want.severity == got.severity
        && want.asset == got.asset
        && same_ip(ip(&want.source), ip(&got.source))
        && same_ip(ip(&want.destination), ip(&got.destination))
}

/// One raised event as a line of YAML in the `expect:` form.
fn expectation_line(event: &SecurityEvent) -> String {
    let mut line = format!(
        "- {{ module: {}, kind: {}, severity: {}",
        event.module.as_str(),
        event.kind,
        event.severity
    );
    if let Some(asset) = &event.asset {
        let _ = write!(line, ", asset: {asset}");
    }
    let ips = [
        ("source", &event.source),
        ("destination", &event.destination),
    ];
    for (field, endpoint) in ips {
        if let Some(ip) = endpoint.as_ref().and_then(|e| e.ip.as_deref()) {
            let _ = write!(line, ", {field}: {{ ip: {ip} }}");
        }
    }
    let summary = serde_json::to_string(&event.summary).unwrap_or_default();
    let _ = write!(line, ", summary: {summary} }}");
    line
}
