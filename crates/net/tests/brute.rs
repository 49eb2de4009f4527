//! Brute force detection on generated captures.

mod support;

use std::time::Duration;

use safecare_capture::synth::{Host, Synth};
use support::scan;

fn short_sessions(port: u16, count: u16, gap: Duration) -> Vec<u8> {
    let (attacker, target) = (Host::v4("10.10.9.50"), Host::v4("10.40.0.20"));
    let mut synth = Synth::new();
    for i in 0..count {
        synth.tcp_session(
            &attacker,
            45000 + i,
            &target,
            port,
            &[(b"hello", b"denied"), (b"try", b"no")],
        );
        synth.advance(gap);
    }
    synth.finish()
}

#[test]
fn ssh_rdp_and_smb_password_guessing() {
    for (port, service) in [(22u16, "ssh"), (3389, "rdp"), (445, "smb")] {
        let outcome = scan(&short_sessions(port, 30, Duration::from_secs(2)));
        let brute = outcome.of_kind("auth.brute_force");
        assert_eq!(brute.len(), 1, "{service}: {:?}", outcome.kinds());
        assert_eq!(brute[0].evidence["brute.service"], service);
        assert_eq!(brute[0].asset.as_deref(), Some("ehr-server"));
        assert!(brute[0].techniques().contains(&"T1110".to_string()));
    }
}

#[test]
fn a_few_logins_spread_over_the_day_are_not_brute_force() {
    let outcome = scan(&short_sessions(22, 12, Duration::from_secs(600)));
    assert!(
        outcome.of_kind("auth.brute_force").is_empty(),
        "{:?}",
        outcome.kinds()
    );
}

#[test]
fn http_login_posts_in_one_keep_alive_connection() {
    let (attacker, portal) = (Host::v4("10.10.9.51"), Host::v4("10.40.0.20"));
    let request: &[u8] =
        b"POST /ehr/login HTTP/1.1\r\nHost: ehr\r\nContent-Length: 21\r\n\r\nuser=admin&pass=guess";
    let refused: &[u8] = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
    let exchanges: Vec<(&[u8], &[u8])> = (0..15).map(|_| (request, refused)).collect();
    let mut synth = Synth::new();
    synth.tcp_session(&attacker, 40000, &portal, 80, &exchanges);
    let outcome = scan(&synth.finish());
    let brute = outcome.of_kind("auth.brute_force");
    assert_eq!(brute.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(brute[0].evidence["brute.service"], "http");
    assert_eq!(brute[0].evidence["brute.refused"], 15);
}
