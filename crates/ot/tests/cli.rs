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

#[test]
fn scan_decodes_modbus_on_a_port_given_with_modbus_port() {
    let request = [0, 1, 0, 0, 0, 6, 1, 6, 0, 101, 0, 200];
    let mut synth = Synth::new();
    let (client, plc) = (Host::v4("10.30.0.5"), Host::v4("10.30.0.30"));
    synth.tcp_session(&client, 40000, &plc, 1502, &[(&request, &request)]);
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("port1502.pcap");
    std::fs::write(&capture, synth.finish()).unwrap();
    let path = capture.to_str().unwrap();
    let site = Site::demo();

    let standard = Cli::parse_from(["ot", "scan", path]);
    let summary = run_with_site(standard.command, &site, None, &mut Vec::new()).unwrap();
    assert_eq!(summary.transactions, 0, "{summary}");

    let moved = Cli::parse_from(["ot", "scan", "--modbus-port", "1502", path]);
    let summary = run_with_site(moved.command, &site, None, &mut Vec::new()).unwrap();
    assert_eq!(
        (summary.modbus_frames, summary.transactions),
        (2, 1),
        "{summary}"
    );
}

#[test]
fn live_takes_the_interface_ports_and_limits() {
    let cli = Cli::parse_from([
        "ot",
        "live",
        "-i",
        "eth1",
        "--modbus-port",
        "502",
        "--modbus-port",
        "1502",
        "--bacnet-port",
        "47809",
        "--duration",
        "60",
        "--transactions",
    ]);
    let OtCommand::Live(args) = cli.command else {
        panic!("not live");
    };
    assert_eq!(args.interface, "eth1");
    assert_eq!(args.ports.modbus_ports, vec![502, 1502]);
    assert_eq!(args.ports.bacnet_ports, vec![47809]);
    assert!(args.transactions && !args.no_promiscuous);
    assert_eq!(
        args.limits().duration,
        Some(std::time::Duration::from_secs(60))
    );

    let defaults = Cli::parse_from(["ot", "live", "-i", "eth1"]);
    let OtCommand::Live(args) = defaults.command else {
        panic!("not live");
    };
    assert_eq!(
        (args.ports.modbus_ports, args.ports.bacnet_ports),
        (vec![502], vec![47808])
    );
}

#[test]
fn live_on_a_missing_interface_says_how_to_list_them() {
    let live = Cli::parse_from(["ot", "live", "-i", "nosuchif0"]);
    let err = run_with_site(live.command, &Site::demo(), None, &mut Vec::new()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("nosuchif0") && message.contains("ip link"),
        "{message}"
    );
}

#[test]
fn live_on_loopback_decodes_modbus_until_its_duration_ends() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    // A Modbus server on a free port that echoes Write Single Register requests.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 12];
            if stream.read_exact(&mut request).is_ok() {
                stream.write_all(&request).unwrap();
            }
        }
    });

    // Clients write during the capture, until it has surely started and ended.
    let client = std::thread::spawn(move || {
        for _ in 0..15 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream
                .write_all(&[0, 1, 0, 0, 0, 6, 1, 6, 0, 101, 0, 200])
                .unwrap();
            let mut echo = [0u8; 12];
            stream.read_exact(&mut echo).unwrap();
        }
    });
    let port = port.to_string();
    let args = [
        "ot",
        "live",
        "-i",
        "lo",
        "--no-promiscuous",
        "--duration",
        "1",
    ];
    let live = Cli::parse_from(args.into_iter().chain(["--modbus-port", port.as_str()]));
    let summary = run_with_site(live.command, &Site::demo(), None, &mut Vec::new()).unwrap();
    client.join().unwrap();

    // A request in flight when the second ends may miss its response; none is broken.
    assert!(summary.transactions >= 1, "{summary}");
    assert!(summary.modbus_frames >= 2, "{summary}");
    assert_eq!(summary.malformed, 0, "{summary}");
}
