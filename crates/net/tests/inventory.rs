//! New device detection on generated captures.

mod support;

use std::net::Ipv4Addr;

use safecare_capture::decode::MacAddr;
use safecare_capture::synth::{Host, Synth};
use safecare_core::EmptyDirectory;
use safecare_net::app::dhcp;
use safecare_net::sensor::SensorConfig;
use support::{scan, scan_with};

#[test]
fn unknown_laptop_seen_by_arp_in_radiology() {
    let rogue = Host::v4("10.20.4.99").with_mac([0x3c, 0x22, 0xfb, 0x01, 0x02, 0x03]);
    let mut synth = Synth::new();
    synth.arp_request(&rogue, Ipv4Addr::new(10, 20, 4, 21));
    synth.arp_request(&rogue, Ipv4Addr::new(10, 20, 4, 1));
    let outcome = scan(&synth.finish());
    let found = outcome.of_kind("network.new_device");
    assert_eq!(found.len(), 1, "{:?}", outcome.kinds());
    let event = found[0];
    assert_eq!(event.evidence["new_device.seen_by"], "arp");
    assert_eq!(event.evidence["new_device.mac"], "3c:22:fb:01:02:03");
    assert_eq!(event.zone(), Some("radiology"));
    assert_eq!(event.techniques(), ["T1200"]);
}

#[test]
fn dhcp_ack_names_the_new_device_and_its_host_name() {
    let server = Host::v4("10.10.1.1");
    let client = Host::v4("10.10.1.200").with_mac([0xaa, 0, 0, 0, 0, 1]);
    let ack = dhcp::build(
        dhcp::ACK,
        client.mac,
        Ipv4Addr::new(10, 10, 1, 200),
        None,
        "raspberrypi",
    );
    let mut synth = Synth::new();
    synth.udp(&server, 67, &Host::v4("255.255.255.255"), 68, &ack);
    let outcome = scan(&synth.finish());
    let found = outcome.of_kind("network.new_device");
    assert_eq!(found.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(found[0].evidence["new_device.hostname"], "raspberrypi");
    assert_eq!(found[0].zone(), Some("ed"));
}

#[test]
fn known_hosts_internet_peers_and_sites_without_inventory_stay_quiet() {
    let ws = Host::v4("10.10.1.11");
    let ehr = Host::v4("10.40.0.20");
    let web = Host::v4("93.184.216.34");
    let mut synth = Synth::new();
    synth.arp_request(&ws, Ipv4Addr::new(10, 10, 1, 1));
    synth.tcp_session(&ws, 40000, &ehr, 443, &[(b"a", b"b")]);
    synth.tcp_session(&ws, 40001, &web, 443, &[(b"a", b"b")]);
    let known_mac = Host::v4("10.20.4.77").with_mac(MacAddr([2, 0, 10, 20, 4, 21]).0);
    synth.arp_request(&known_mac, Ipv4Addr::new(10, 20, 4, 1));
    let pcap = synth.finish();
    let outcome = scan(&pcap);
    assert!(
        outcome.of_kind("network.new_device").is_empty(),
        "{:?}",
        outcome.kinds()
    );

    // Without a site, every host is unknown: the detection stays quiet rather than noisy.
    let rogue = Host::v4("10.20.4.99");
    let mut synth = Synth::new();
    synth.arp_request(&rogue, Ipv4Addr::new(10, 20, 4, 1));
    let outcome = scan_with(&synth.finish(), &EmptyDirectory, SensorConfig::default());
    assert!(outcome.events.is_empty(), "{:?}", outcome.kinds());
}

#[test]
fn first_seen_ip_address_in_the_datacentre() {
    let intruder = Host::v4("10.40.0.66");
    let pacs = Host::v4("10.40.0.10");
    let mut synth = Synth::new();
    synth.tcp_session(&intruder, 40000, &pacs, 104, &[(b"x", b"y")]);
    let outcome = scan(&synth.finish());
    let found = outcome.of_kind("network.new_device");
    assert_eq!(found.len(), 1, "{:?}", outcome.kinds());
    assert_eq!(found[0].evidence["new_device.seen_by"], "ip");
    assert_eq!(found[0].zone(), Some("datacentre"));
}
