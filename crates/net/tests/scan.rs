//! Port scan detection on generated captures.

mod support;

use std::time::Duration;

use safecare_capture::decode::TcpFlags;
use safecare_capture::synth::{Host, PortState, Synth};
use support::scan;

fn attacker() -> Host {
    Host::v4("10.10.9.99")
}

#[test]
fn fast_vertical_syn_scan_of_the_ct_scanner() {
    let ct = Host::v4("10.20.4.21");
    let mut synth = Synth::new();
    for port in 1..=200u16 {
        let state = match port {
            22 | 80 | 104 => PortState::Open,
            p if p % 7 == 0 => PortState::Filtered,
            _ => PortState::Closed,
        };
        synth.syn_probe(&attacker(), 40000, &ct, port, state);
    }
    let outcome = scan(&synth.finish());

    let scans = outcome.of_kind("network.port_scan");
    assert_eq!(scans.len(), 1, "{:?}", outcome.kinds());
    let event = scans[0];
    assert_eq!(event.evidence["scan.shape"], "vertical");
    assert_eq!(event.evidence["scan.speed"], "fast");
    assert_eq!(event.evidence["scan.probe_kind"], "syn");
    assert_eq!(event.evidence["destination.asset"], "ct-scanner");
    assert_eq!(event.evidence["destination.zone"], "radiology");
    assert_eq!(
        event.source.as_ref().unwrap().ip.as_deref(),
        Some("10.10.9.99")
    );
    assert_eq!(event.techniques(), ["T1046"]);
    assert!(event.summary.contains("ct-scanner"), "{}", event.summary);
}

#[test]
fn horizontal_connect_scan_of_smb() {
    let mut synth = Synth::new();
    for host in 1..=40u8 {
        let target = Host::v4(&format!("10.20.4.{host}"));
        synth.tcp_session(&attacker(), 50000 + u16::from(host), &target, 445, &[]);
    }
    let outcome = scan(&synth.finish());
    let scans = outcome.of_kind("network.port_scan");
    assert_eq!(scans.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(scans[0].evidence["scan.shape"], "horizontal");
    assert_eq!(scans[0].evidence["scan.probe_kind"], "connect");
}

#[test]
fn udp_scan_without_answers() {
    let lab = Host::v4("10.20.6.41");
    let mut synth = Synth::new();
    for port in 1000..1060u16 {
        synth.udp(&attacker(), 33333, &lab, port, b"");
    }
    let outcome = scan(&synth.finish());
    let scans = outcome.of_kind("network.port_scan");
    assert_eq!(scans.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(scans[0].evidence["scan.probe_kind"], "udp");
    assert_eq!(scans[0].evidence["destination.asset"], "lab-analyzer-1");
}

#[test]
fn slow_scan_one_probe_a_minute_is_caught_within_the_hour() {
    let pacs = Host::v4("10.40.0.10");
    let mut synth = Synth::new();
    for port in 1..=70u16 {
        synth.syn_probe(&attacker(), 40001, &pacs, port, PortState::Closed);
        synth.advance(Duration::from_secs(60));
    }
    let outcome = scan(&synth.finish());
    let scans = outcome.of_kind("network.port_scan");
    assert_eq!(scans.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(scans[0].evidence["scan.speed"], "slow");
}

#[test]
fn browsing_many_web_servers_is_not_a_scan() {
    let ws = Host::v4("10.10.1.11");
    let mut synth = Synth::new();
    for host in 1..=80u8 {
        let server = Host::v4(&format!("93.184.{host}.10"));
        synth.tcp_session(
            &ws,
            40000 + u16::from(host),
            &server,
            443,
            &[(b"\x16\x03\x01hello", b"\x16\x03\x03world")],
        );
    }
    // A few closed ports and an unanswered SYN are ordinary noise, well under the threshold.
    let ehr = Host::v4("10.40.0.20");
    for port in [8080u16, 8443, 9000] {
        synth.syn_probe(&ws, 41000, &ehr, port, PortState::Closed);
    }
    synth.tcp(&ws, 41001, &ehr, 5000, TcpFlags::SYN, 1, 0, b"");
    let outcome = scan(&synth.finish());
    assert!(
        outcome.of_kind("network.port_scan").is_empty(),
        "{:?}",
        outcome.kinds()
    );
}
