//! The `safecare net` commands end to end through `run`, on files in a temp folder.

mod support;

use std::path::PathBuf;

use clap::Parser;
use safecare_capture::synth::{Host, PortState, Synth};
use safecare_core::{EmptyDirectory, SecurityEvent};
use safecare_net::{NetCommand, run};
use support::TestDirectory;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: NetCommand,
}

fn parse(args: &[&str]) -> NetCommand {
    Cli::try_parse_from(std::iter::once("net").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"))
        .command
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn scan_capture() -> Vec<u8> {
    let mut synth = Synth::new();
    for port in 1..=100u16 {
        synth.syn_probe(
            &Host::v4("10.10.9.99"),
            40000,
            &Host::v4("10.20.4.21"),
            port,
            PortState::Closed,
        );
    }
    synth.finish()
}

#[test]
fn scan_reads_several_files_and_goes_past_a_truncated_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(&dir, "scan.pcap", &scan_capture());
    let mut cut = scan_capture();
    cut.truncate(cut.len() - 7);
    let truncated = write(&dir, "cut.pcap", &cut);
    let missing = dir.path().join("missing.pcap");

    let command = parse(&[
        "scan",
        "--no-progress",
        truncated.to_str().unwrap(),
        missing.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = run(command, &TestDirectory::demo(), &mut events).unwrap();

    assert_eq!(summary.read_errors, 1, "{summary}");
    assert_eq!(summary.packets, 399, "{summary}");
    assert_eq!(summary.undecodable, 0);
    assert!(events.iter().any(|e| e.kind == "network.port_scan"));
    assert_eq!(summary.events as usize, events.len());
    assert!(summary.to_string().contains("399 packets"));
}

#[test]
fn scan_of_only_unreadable_files_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(&dir, "junk.pcap", b"this is not a capture at all");
    let command = parse(&["scan", junk.to_str().unwrap()]);
    let mut events: Vec<SecurityEvent> = Vec::new();
    let err = run(command, &EmptyDirectory, &mut events)
        .unwrap_err()
        .to_string();
    assert!(err.contains("none of the 1 capture files"), "{err}");
}

#[test]
fn learn_writes_a_model_that_scan_uses() {
    let dir = tempfile::tempdir().unwrap();
    let mut synth = Synth::new();
    for i in 0..100u16 {
        synth.tcp_session(
            &Host::v4("10.10.1.11"),
            30000 + i,
            &Host::v4("10.40.0.20"),
            443,
            &[(b"req", b"resp")],
        );
    }
    let baseline = write(&dir, "baseline.pcap", &synth.finish());
    let model = dir.path().join("model.json");

    let command = parse(&[
        "learn",
        baseline.to_str().unwrap(),
        "-o",
        model.to_str().unwrap(),
        "--trees",
        "20",
    ]);
    let summary = run(command, &EmptyDirectory, &mut Vec::new()).unwrap();
    assert_eq!(summary.flows, 100);
    let text = std::fs::read_to_string(&model).unwrap();
    assert!(text.contains("\"trees\""));

    let capture = write(&dir, "scan.pcap", &scan_capture());
    let command = parse(&[
        "scan",
        "--model",
        model.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    let mut events: Vec<SecurityEvent> = Vec::new();
    run(command, &TestDirectory::demo(), &mut events).unwrap();
    assert!(
        events.iter().any(|e| e.kind == "network.anomaly"),
        "probes differ from the baseline"
    );
}

#[test]
fn eve_command_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"timestamp":"2026-12-03T02:14:00.000000+0000","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","alert":{"signature":"test","severity":2}}"#;
    let file = write(&dir, "eve.json", format!("{line}\nnot json\n").as_bytes());
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = run(
        parse(&["eve", file.to_str().unwrap()]),
        &EmptyDirectory,
        &mut events,
    )
    .unwrap();
    assert_eq!((summary.events, summary.read_errors), (1, 1));
}

#[test]
fn live_capture_on_loopback_sees_local_traffic() {
    // Needs root or CAP_NET_RAW; the machines this project runs on give it.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: live capture test skipped");
        return;
    }
    let sender = std::thread::spawn(|| {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..40 {
            socket
                .send_to(b"safecare live test", "127.0.0.1:9")
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
    });
    let command = parse(&["live", "-i", "lo", "--duration", "2", "--no-promiscuous"]);
    let summary = run(command, &EmptyDirectory, &mut Vec::new()).unwrap();
    sender.join().unwrap();
    assert!(summary.packets >= 20, "{summary}");
    assert_eq!(summary.undecodable, 0, "{summary}");
}

#[test]
fn live_capture_on_a_missing_interface_says_so() {
    let command = parse(&["live", "-i", "nosuchif0"]);
    let err = run(command, &EmptyDirectory, &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("nosuchif0"), "{err}");
}
