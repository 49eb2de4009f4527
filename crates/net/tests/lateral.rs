//! Lateral movement detection on generated captures.

mod support;

use std::time::Duration;

use safecare_capture::synth::{Host, Synth};
use support::scan;

#[test]
fn workstation_opening_smb_and_winrm_to_many_hosts() {
    let ws = Host::v4("10.10.3.11");
    let targets = [
        "10.40.0.10",
        "10.40.0.20",
        "10.40.0.30",
        "10.40.0.40",
        "10.40.0.50",
        "10.20.4.11",
    ];
    let mut synth = Synth::new();
    for (i, target) in targets.iter().enumerate() {
        let port = if i % 2 == 0 { 445 } else { 5985 };
        synth.tcp_session(
            &ws,
            50000 + i as u16,
            &Host::v4(target),
            port,
            &[(b"negotiate", b"ok")],
        );
        synth.advance(Duration::from_secs(20));
    }
    let outcome = scan(&synth.finish());
    let moves = outcome.of_kind("network.lateral_movement");
    assert_eq!(moves.len(), 1, "{:?}", outcome.kinds());
    let event = moves[0];
    assert_eq!(event.asset.as_deref(), Some("pharmacy-ws-1"));
    assert_eq!(event.zone(), Some("pharmacy"));
    assert_eq!(
        event.evidence["lateral.services"],
        serde_json::json!(["smb", "winrm"])
    );
    assert!(event.techniques().contains(&"T1021.002".to_string()));
    assert!(event.techniques().contains(&"T1021.006".to_string()));
}

#[test]
fn a_user_mapping_two_shares_is_not_lateral_movement() {
    let ws = Host::v4("10.10.5.11");
    let mut synth = Synth::new();
    for (i, target) in ["10.40.0.20", "10.40.0.40"].iter().enumerate() {
        synth.tcp_session(
            &ws,
            50000 + i as u16,
            &Host::v4(target),
            445,
            &[(b"negotiate", b"ok")],
        );
    }
    // RDP to many hosts spread over a day: one every hour.
    for (i, host) in [
        "10.40.0.10",
        "10.40.0.30",
        "10.40.0.50",
        "10.20.4.11",
        "10.20.4.12",
        "10.10.1.11",
    ]
    .iter()
    .enumerate()
    {
        synth.tcp_session(
            &ws,
            51000 + i as u16,
            &Host::v4(host),
            3389,
            &[(b"x224", b"ok")],
        );
        synth.advance(Duration::from_secs(3600));
    }
    let outcome = scan(&synth.finish());
    assert!(
        outcome.of_kind("network.lateral_movement").is_empty(),
        "{:?}",
        outcome.kinds()
    );
}
