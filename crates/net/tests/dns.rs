//! DNS tunnelling detection on generated captures.

mod support;

use std::time::Duration;

use safecare_capture::synth::{Host, Synth};
use safecare_net::app::dns::{TYPE_TXT, build_query};
use support::scan;

/// Deterministic base32-looking labels, as tunnel tools encode data.
fn encoded(i: u32, len: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut state = 0x9e37_79b9u32.wrapping_mul(i + 1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            alphabet[(state % 32) as usize] as char
        })
        .collect()
}

#[test]
fn long_encoded_names_under_one_domain() {
    let ws = Host::v4("10.10.3.11");
    let resolver = Host::v4("10.40.0.53");
    let mut synth = Synth::new();
    for i in 0..30u32 {
        let name = format!(
            "{}.{}.t.exfil-cdn.net",
            encoded(i, 50),
            encoded(i + 1000, 30)
        );
        synth.udp(
            &ws,
            50000 + i as u16,
            &resolver,
            53,
            &build_query(i as u16, &name, 1),
        );
        synth.advance(Duration::from_secs(2));
    }
    let outcome = scan(&synth.finish());
    let found = outcome.of_kind("network.dns_tunnel");
    assert_eq!(found.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(found[0].evidence["dns.reason"], "high_entropy_names");
    assert_eq!(found[0].evidence["dns.domain"], "exfil-cdn.net");
    assert_eq!(found[0].asset.as_deref(), Some("pharmacy-ws-1"));
    assert!(found[0].techniques().contains(&"T1071.004".to_string()));
}

#[test]
fn txt_query_flood() {
    let ws = Host::v4("10.10.1.11");
    let resolver = Host::v4("10.40.0.53");
    let mut synth = Synth::new();
    for i in 0..80u32 {
        let name = format!("c{i}.cmd.evil.org");
        synth.udp(
            &ws,
            50000,
            &resolver,
            53,
            &build_query(i as u16, &name, TYPE_TXT),
        );
    }
    let outcome = scan(&synth.finish());
    let found = outcome.of_kind("network.dns_tunnel");
    assert_eq!(found.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(found[0].evidence["dns.reason"], "txt_flood");
}

#[test]
fn ordinary_lookups_are_quiet() {
    let ws = Host::v4("10.10.1.11");
    let resolver = Host::v4("10.40.0.53");
    let names = [
        "www.example.org",
        "login.microsoftonline.com",
        "ec2-54-12-34-56.eu-west-1.compute.amazonaws.com",
        "e1234.dscb.akamaiedge.net",
        "_ldap._tcp.dc._msdcs.hospital.local",
        "pacs-server.hospital.local",
        "update.googleapis.com",
        "safebrowsing.googleapis.com",
    ];
    let mut synth = Synth::new();
    for round in 0..20u16 {
        for (i, name) in names.iter().enumerate() {
            synth.udp(
                &ws,
                50000 + i as u16,
                &resolver,
                53,
                &build_query(round, name, 1),
            );
        }
        // A few TXT lookups (SPF, DKIM) are normal.
        synth.udp(
            &ws,
            50100,
            &resolver,
            53,
            &build_query(round, "hospital.org", TYPE_TXT),
        );
    }
    let outcome = scan(&synth.finish());
    assert!(
        outcome.of_kind("network.dns_tunnel").is_empty(),
        "{:?}",
        outcome.kinds()
    );
}
