//! `safecare ot learn` then `safecare ot scan --baseline`, as the binary runs them.

use clap::Parser;
use safecare_capture::synth::{Host, Synth};
use safecare_core::SecurityEvent;
use safecare_core::site::Site;
use safecare_ot::cli::{OtCommand, run_with_site};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: OtCommand,
}

fn modbus_write(client: &str, value: i16) -> Vec<u8> {
    let mut request = vec![0, 1, 0, 0, 0, 6, 1, 6, 0, 101];
    request.extend_from_slice(&value.to_be_bytes());
    let mut synth = Synth::new();
    let (client, plc) = (Host::v4(client), Host::v4("10.30.0.30"));
    synth.tcp_session(&client, 40000, &plc, 502, &[(&request, &request)]);
    synth.finish()
}

#[test]
fn learn_then_scan_with_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let normal = dir.path().join("normal.pcap");
    let attack = dir.path().join("attack.pcap");
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&normal, modbus_write("10.30.0.5", -200)).unwrap();
    std::fs::write(&attack, modbus_write("10.30.0.99", -100)).unwrap();
    let site = Site::demo();

    // 1. learn
    let learn = Cli::parse_from([
        "ot",
        "learn",
        normal.to_str().unwrap(),
        "-o",
        baseline.to_str().unwrap(),
    ]);
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = run_with_site(learn.command, &site, Some(&site), &mut events).unwrap();
    assert_eq!(summary.modbus_frames, 2);
    assert!(
        std::fs::read_to_string(&baseline)
            .unwrap()
            .contains("10.30.0.30/1")
    );

    // 2. scan the attack against it
    let scan = Cli::parse_from([
        "ot",
        "scan",
        "--baseline",
        baseline.to_str().unwrap(),
        attack.to_str().unwrap(),
    ]);
    let summary = run_with_site(scan.command, &site, Some(&site), &mut events).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"ot.modbus.unauthorized_write"), "{kinds:?}");
    assert!(kinds.contains(&"ot.modbus.setpoint_unsafe"), "{kinds:?}");
    assert_eq!(summary.events, events.len() as u64);
    assert!(summary.to_string().contains("1 transactions"), "{summary}");
}

#[test]
fn a_missing_baseline_says_how_to_make_one() {
    let scan = Cli::parse_from(["ot", "scan", "--baseline", "/nonexistent.json", "x.pcap"]);
    let err = run_with_site(scan.command, &Site::demo(), None, &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("safecare ot learn"), "{err}");
}

#[test]
fn transactions_serialise_with_protocol_and_paired_pdus() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("write.pcap");
    std::fs::write(&capture, modbus_write("10.30.0.5", -200)).unwrap();
    let mut lines = Vec::new();
    safecare_ot::cli::scan_files(&[capture], &mut |o| {
        if let safecare_ot::sensor::Observation::Transaction(t) = o {
            lines.push(serde_json::to_value(&t).unwrap());
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(lines.len(), 1);
    let t = &lines[0];
    assert_eq!(t["protocol"], "modbus");
    assert_eq!(t["function_name"], "write_single_register");
    assert_eq!(t["request"]["body"]["address"], 101);
    assert_eq!(t["response"]["body"]["type"], "write_single");
    assert_eq!(t["client"], "10.30.0.5");
}
