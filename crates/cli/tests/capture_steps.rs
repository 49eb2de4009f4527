//! Scenario `capture:` steps: the committed captures are what the generator makes, and
//! a scenario's captures go through the real sensors into its timeline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_cli::capture_steps::CaptureFiles;
use safecare_cli::captures::GENERATED;
use safecare_cli::replay::ReplayPlan;
use safecare_cli::scenarios::shipped_capture;
use safecare_core::SecurityEvent;
use safecare_core::scenario::{Publication, Scenario};
use safecare_core::site::Site;
use safecare_ot::sensor::Observation;
use safecare_ot::transaction::Detail;

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");

fn captures_folder() -> PathBuf {
    Path::new(SCENARIOS).join("captures")
}

fn base() -> DateTime<Utc> {
    "2026-12-03T10:00:00Z".parse().unwrap()
}

/// The events a plan publishes, with their offsets.
fn planned_events(plan: &ReplayPlan) -> Vec<(Duration, &SecurityEvent)> {
    plan.publications
        .iter()
        .filter_map(|(offset, publication)| match publication {
            Publication::Event(event) => Some((*offset, event.as_ref())),
            Publication::Native { .. } => None,
        })
        .collect()
}

/// Writes a scenario into a fresh folder; returns the folder (kept alive) and the file.
fn scenario_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("story.yaml");
    std::fs::write(&path, text).unwrap();
    (folder, path)
}

fn plan_file(path: &Path) -> anyhow::Result<ReplayPlan> {
    let scenario = Scenario::load(path)?;
    let files = CaptureFiles::Beside(path.to_path_buf());
    ReplayPlan::new(&scenario, base(), &files, &Site::demo())
}

#[test]
fn committed_captures_are_what_the_generator_makes() {
    for (name, generate) in GENERATED {
        let path = captures_folder().join(name);
        let committed = std::fs::read(&path).unwrap_or_else(|err| {
            panic!(
                "{}: {err}; run `cargo run -p safecare-cli --example scenario_captures`",
                path.display()
            )
        });
        let generated = generate();
        assert!(
            committed == generated,
            "{name} differs from what crates/cli/src/captures makes: run \
             `cargo run -p safecare-cli --example scenario_captures` and commit the result"
        );
        assert_eq!(
            shipped_capture(&format!("captures/{name}")),
            Some(generated.as_slice()),
            "the binary carries {name} as generated"
        );
        assert!(
            generated.len() < 8 * 1024,
            "{name} stays small: {} bytes",
            generated.len()
        );
    }
}

#[test]
fn the_generated_captures_decode_cleanly_as_bacnet_and_modbus() {
    for (name, _) in GENERATED {
        let (mut bacnet, mut modbus, mut malformed) = (0, 0, Vec::new());
        let files = [captures_folder().join(name)];
        safecare_ot::cli::scan_files(&files, &mut |observation| {
            match observation {
                Observation::Transaction(t) => match t.detail {
                    Detail::Bacnet(_) => bacnet += 1,
                    Detail::Modbus(x) if x.request.is_some() && x.response.is_some() => modbus += 1,
                    Detail::Modbus(x) => malformed.push(format!("unpaired Modbus {x:?}")),
                },
                Observation::Malformed(m) => malformed.push(m.error),
            }
            Ok(())
        })
        .unwrap();
        assert!(malformed.is_empty(), "{name}: {malformed:?}");
        assert!(
            bacnet >= 20 && modbus >= 2,
            "{name}: {bacnet} BACnet, {modbus} Modbus"
        );
    }
}

#[test]
fn the_ahu_scenario_publishes_what_the_ot_sensor_raised_in_scenario_time() {
    let path = Path::new(SCENARIOS).join("or-ahu-tampering.yaml");
    let scenario = Scenario::load(&path).unwrap();
    let plan = plan_file(&path).unwrap();
    let events = planned_events(&plan);

    // The OT events are exactly the step's expectations, in order, and nothing else.
    let ot: Vec<&(Duration, &SecurityEvent)> = events
        .iter()
        .filter(|(_, e)| e.kind.starts_with("ot."))
        .collect();
    let expected: Vec<String> = scenario.steps[1]
        .action
        .capture()
        .unwrap()
        .expect
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    let raised: Vec<String> = ot.iter().map(|(_, e)| e.kind.clone()).collect();
    assert_eq!(raised, expected);
    assert_eq!(plan.from_captures, 10);
    assert_eq!(plan.expected_events, scenario.events(base()).len());

    // Placed at the step's offset (3m) plus the time into the capture.
    let at = |kind: &str| {
        ot.iter()
            .find(|(_, e)| e.kind == kind)
            .map(|(offset, e)| (*offset, e.time))
            .unwrap()
    };
    let minutes = |m: u64, s: u64| Duration::from_secs(m * 60 + s);
    let (offset, time) = at("ot.bacnet.who_is_scan");
    assert!(
        offset > minutes(3, 3) && offset < minutes(3, 5),
        "{offset:?}"
    );
    assert_eq!(time, base() + TimeDelta::from_std(offset).unwrap());
    assert_eq!(at("ot.bacnet.setpoint_unsafe").0, minutes(12, 0));
    assert_eq!(
        at("ot.bacnet.device_communication_control").0,
        minutes(15, 0)
    );

    // In order with the written steps: the laptop appears first, the alarms come after.
    let kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"network.new_device"));
    assert_eq!(kinds.last(), Some(&"scada.airflow_alarm"));
    assert!(events.windows(2).all(|pair| pair[0].0 <= pair[1].0));

    // The binary's own copies of the captures give the same plan.
    let shipped = ReplayPlan::new(
        &scenario,
        base(),
        &CaptureFiles::Shipped("or-ahu-tampering.yaml"),
        &Site::demo(),
    )
    .unwrap();
    let summary = |plan: &ReplayPlan| -> Vec<(Duration, String, Option<String>)> {
        planned_events(plan)
            .into_iter()
            .map(|(offset, e)| (offset, e.kind.clone(), e.asset.clone()))
            .collect()
    };
    assert_eq!(summary(&shipped), summary(&plan));
}

#[test]
fn a_sensor_that_raises_other_events_than_expected_stops_the_replay() {
    let capture = captures_folder().join("or-ahu-tampering.pcap");
    let text = format!(
        "name: wrong\nsteps:\n  - at: 1m\n    capture:\n      file: {}\n      sensor: ot\n      \
         expect:\n        - {{ module: ot, kind: ot.bacnet.reinitialize_device, severity: 85, \
         summary: A restart. }}\n",
        capture.display()
    );
    let (_folder, path) = scenario_file(&text);

    let err = format!("{:#}", plan_file(&path).unwrap_err());
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("step 1 (at 1m)"), "{err}");
    assert!(
        err.contains("raised 4 events where `expect:` lists 1"),
        "{err}"
    );
    assert!(
        err.contains(
            "- { module: ot, kind: ot.bacnet.setpoint_unsafe, severity: 90, asset: ahu-or-1"
        ),
        "the error lists what to expect instead: {err}"
    );
}

#[test]
fn the_net_sensor_reads_a_capture_step_too() {
    let capture = captures_folder().join("or-ahu-tampering.pcap");
    let text = format!(
        "name: net\nsteps:\n  - at: 2m\n    capture: {{ file: {}, sensor: net }}\n",
        capture.display()
    );
    let (_folder, path) = scenario_file(&text);

    let plan = plan_file(&path).unwrap();
    let events = planned_events(&plan);
    let (offset, laptop) = events
        .iter()
        .find(|(_, e)| e.kind == "network.new_device")
        .unwrap_or_else(|| panic!("no new device in {events:#?}"));
    assert_eq!(
        laptop.source.as_ref().unwrap().ip.as_deref(),
        Some("10.30.0.99")
    );
    assert_eq!(
        *offset,
        Duration::from_secs(120),
        "the laptop's first packet opens the capture"
    );
    assert_eq!(plan.expected_events, events.len());
}

#[test]
fn a_file_that_is_not_a_capture_is_refused_naming_the_step() {
    let text = "name: junk\nsteps:\n  - at: 0s\n    capture: { file: notes.txt, sensor: ot }\n";
    let (folder, path) = scenario_file(text);
    std::fs::write(folder.path().join("notes.txt"), "not a capture").unwrap();

    let err = format!("{:#}", plan_file(&path).unwrap_err());
    assert!(err.contains("step 1 (at 0s): capture notes.txt"), "{err}");
    assert!(err.contains("not a pcap or pcapng capture"), "{err}");
}
