//! SYN flood and volumetric DoS detection on generated captures.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use safecare_capture::decode::TcpFlags;
use safecare_capture::synth::{Host, Synth};
use support::scan;

/// Spoofed sources spread over a /16, as flood tools pick them.
fn spoofed(i: u32) -> Host {
    Host::from_ip(IpAddr::V4(Ipv4Addr::from(0xc633_0000u32 + (i % 60_000))))
}

#[test]
fn syn_flood_against_the_ehr_server() {
    let ehr = Host::v4("10.40.0.20");
    let mut synth = Synth::new();
    synth.set_step(Duration::from_micros(1000));
    // 4 seconds at 1000 SYNs/s, the server answering SYN-ACK and never getting the ACK.
    for i in 0..4000u32 {
        let source = spoofed(i);
        synth.tcp(
            &source,
            1024 + (i % 60000) as u16,
            &ehr,
            443,
            TcpFlags::SYN,
            i,
            0,
            b"",
        );
    }
    let outcome = scan(&synth.finish());
    let floods = outcome.of_kind("network.syn_flood");
    assert_eq!(floods.len(), 1, "{:?}", outcome.kinds());
    let event = floods[0];
    assert_eq!(event.asset.as_deref(), Some("ehr-server"));
    assert_eq!(event.zone(), Some("datacentre"));
    assert_eq!(event.techniques(), ["T1499.001"]);
    assert!(event.evidence["flood.syn_per_sec"].as_u64().unwrap() >= 900);
    assert!(
        outcome.of_kind("network.dos").is_empty(),
        "a SYN flood is reported once, as such"
    );
}

#[test]
fn udp_flood_is_reported_as_such() {
    let pacs = Host::v4("10.40.0.10");
    let mut synth = Synth::new();
    synth.set_step(Duration::from_micros(100));
    for i in 0..40_000u32 {
        synth.udp(&spoofed(i), 5000, &pacs, 11112, &[0u8; 512]);
    }
    let outcome = scan(&synth.finish());
    let dos = outcome.of_kind("network.udp_flood");
    assert_eq!(dos.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(dos[0].asset.as_deref(), Some("pacs-server"));
    assert!(dos[0].evidence["flood.packets_per_sec"].as_u64().unwrap() >= 5000);
}

#[test]
fn a_busy_server_with_completed_handshakes_is_no_flood() {
    let ehr = Host::v4("10.40.0.20");
    let mut synth = Synth::new();
    synth.set_step(Duration::from_micros(200));
    // 600 real connections a second for 3 seconds, each handshake completing.
    for i in 0..1800u32 {
        let client = Host::v4(&format!("10.10.{}.{}", 1 + i / 250, 1 + i % 250));
        synth.tcp_session(&client, 40000, &ehr, 443, &[(b"req", b"resp")]);
    }
    // And a bulk transfer over established TCP at a high packet rate.
    let ws = Host::v4("10.20.4.11");
    let payload = [7u8; 1400];
    let mut exchanges: Vec<(&[u8], &[u8])> = Vec::new();
    for _ in 0..20_000 {
        exchanges.push((&payload[..], b""));
    }
    synth.set_step(Duration::from_micros(20));
    synth.tcp_session(&ws, 50000, &ehr, 104, &exchanges);
    let outcome = scan(&synth.finish());
    assert!(
        outcome.of_kind("network.syn_flood").is_empty(),
        "{:?}",
        outcome.kinds()
    );
    assert!(
        outcome.of_kind("network.dos").is_empty(),
        "{:?}",
        outcome.kinds()
    );
}

#[test]
fn icmp_flood_is_a_volumetric_dos() {
    let ehr = Host::v4("10.40.0.20");
    let mut synth = Synth::new();
    synth.set_step(Duration::from_micros(100));
    for i in 0..30_000u32 {
        synth.icmp(&spoofed(i), &ehr, 8, 0, &[0u8; 56]);
    }
    let outcome = scan(&synth.finish());
    let dos = outcome.of_kind("network.dos");
    assert_eq!(dos.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(dos[0].techniques(), ["T1498.001"]);
}
