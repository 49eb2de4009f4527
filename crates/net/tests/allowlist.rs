//! Allowlist violations by medical devices, on generated captures.

mod support;

use safecare_capture::synth::{Host, Synth};
use support::scan;

#[test]
fn ct_scanner_talking_outside_its_allowlist() {
    let ct = Host::v4("10.20.4.21");
    let pacs = Host::v4("10.40.0.10");
    let ws = Host::v4("10.20.4.11");
    let outside = Host::v4("185.199.108.153");
    let admin = Host::v4("10.10.5.11");
    let mut synth = Synth::new();
    synth.tcp_session(&ct, 40000, &pacs, 104, &[(b"a", b"b")]); // allowed by asset id
    synth.tcp_session(&ws, 40001, &ct, 104, &[(b"a", b"b")]); // allowed, inbound
    synth.tcp_session(&ct, 40002, &outside, 443, &[(b"a", b"b")]); // outbound to the internet
    synth.tcp_session(&ct, 40003, &outside, 443, &[(b"a", b"b")]); // the same pair, once only
    synth.tcp_session(&admin, 40004, &ct, 22, &[(b"a", b"b")]); // inbound from an admin PC
    synth.udp(&ct, 68, &Host::v4("255.255.255.255"), 67, b"discover"); // broadcast ignored
    let outcome = scan(&synth.finish());

    let found = outcome.of_kind("network.allowlist_violation");
    assert_eq!(found.len(), 2, "{:?}", outcome.kinds());
    assert_eq!(found[0].evidence["allowlist.direction"], "outbound");
    assert_eq!(found[0].asset.as_deref(), Some("ct-scanner"));
    assert_eq!(found[0].zone(), Some("radiology"));
    assert_eq!(found[1].evidence["allowlist.direction"], "inbound");
    assert_eq!(found[1].evidence["source.asset"], "admin-ws-1");
    assert_eq!(found[1].asset.as_deref(), Some("ct-scanner"));
}

#[test]
fn cidr_entries_allow_the_whole_block() {
    let pump = Host::v4("10.20.2.32");
    let monitor = Host::v4("10.20.2.31");
    let ehr = Host::v4("10.40.0.20");
    let mut synth = Synth::new();
    synth.tcp_session(&pump, 40000, &monitor, 2575, &[(b"hl7", b"ack")]);
    synth.tcp_session(&pump, 40001, &ehr, 443, &[(b"a", b"b")]);
    let outcome = scan(&synth.finish());
    assert!(
        outcome.of_kind("network.allowlist_violation").is_empty(),
        "{:?}",
        outcome.kinds()
    );
    assert!(safecare_net::detect::allowlist::cidr_contains(
        "fd00::/8",
        "fd12::1".parse().unwrap()
    ));
    assert!(!safecare_net::detect::allowlist::cidr_contains(
        "10.20.2.0/24",
        "10.20.3.1".parse().unwrap()
    ));
}
