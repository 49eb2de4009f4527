//! New devices: hosts on the site's networks that the site inventory does not list.
//!
//! Identities come from ARP (sender MAC and address), DHCP (client MAC, the address
//! requested or given, the host name) and the source address of IP packets. An
//! identity is known when the directory finds an asset by its IP, MAC or host name.
//! An unknown one is reported once, and only inside an inventoried subnet: an IPv4
//! /24 in which the directory knows at least one host. That keeps internet addresses
//! and sites without an inventory quiet; the neighbour's zone locates the event.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use safecare_capture::decode::{MacAddr, Transport};
use safecare_capture::engine::FlowContext;
use safecare_capture::{Packet, Timestamp};
use safecare_core::{AssetInfo, Location};

use super::{Detector, is_group_or_unspecified};
use crate::app::dhcp;
use crate::context::{Context, Finding, Peer, Subject};

/// Identities remembered; past this the memory is cleared and identities may be
/// reported again (never more memory).
const MAX_SEEN: usize = 200_000;

/// The new device detection.
#[derive(Default)]
pub struct NewDevice {
    seen_ips: HashSet<IpAddr>,
    seen_macs: HashSet<MacAddr>,
    /// /24 prefix -> a known neighbour's asset id, `None` when none is known.
    subnets: HashMap<[u8; 3], Option<String>>,
}

/// One sighting of an identity.
struct Sighting {
    ip: Option<IpAddr>,
    mac: Option<MacAddr>,
    hostname: Option<String>,
    how: &'static str,
}

impl Detector for NewDevice {
    fn name(&self) -> &'static str {
        "inventory"
    }

    fn on_packet(
        &mut self,
        packet: &Packet<'_>,
        _flow: Option<FlowContext<'_>>,
        cx: &mut Context<'_>,
    ) {
        if let Some(sighting) = sighting(packet) {
            self.check(sighting, packet.ts, cx);
        }
    }
}

/// The identity a packet shows: ARP sender, DHCP client, else the IP source.
fn sighting(packet: &Packet<'_>) -> Option<Sighting> {
    let arp = packet.arp.map(|arp| {
        // An ARP probe (sender 0.0.0.0) announces the address it is about to take.
        let ip = if arp.sender_ip.is_unspecified() {
            arp.target_ip
        } else {
            arp.sender_ip
        };
        Sighting {
            ip: Some(IpAddr::V4(ip)),
            mac: Some(arp.sender_mac),
            hostname: None,
            how: "arp",
        }
    });
    if arp.is_some() {
        return arp;
    }

    if let Transport::Udp(udp) = packet.transport
        && matches!((udp.src_port, udp.dst_port), (68, 67) | (67, 68))
        && let Some(message) = dhcp::parse(udp.payload)
    {
        let ip = match message.message_type {
            Some(dhcp::ACK) => Some(message.your_ip),
            _ => message.requested_ip,
        };
        let ip = ip.filter(|ip| !ip.is_unspecified()).map(IpAddr::V4);
        let sighting = Sighting {
            ip,
            mac: Some(message.client_mac),
            hostname: message.hostname,
            how: "dhcp",
        };
        return Some(sighting);
    }

    packet.ip.map(|ip| Sighting {
        ip: Some(ip.src),
        mac: None,
        hostname: None,
        how: "ip",
    })
}

impl NewDevice {
    fn check(&mut self, sighting: Sighting, ts: Timestamp, cx: &mut Context<'_>) {
        // 1. Fast path: every identity already seen.
        let ip_seen = sighting.ip.is_none_or(|ip| self.seen_ips.contains(&ip));
        let mac_seen = sighting.mac.is_none_or(|mac| self.seen_macs.contains(&mac));
        if ip_seen && mac_seen {
            return;
        }
        self.remember(&sighting);

        // 2. Known to the site under any identity?
        let directory = cx.directory;
        let known_ip = sighting
            .ip
            .and_then(|ip| directory.by_ip(ip))
            .is_some_and(is_host);
        let known_mac = sighting
            .mac
            .is_some_and(|m| directory.by_mac(&m.to_string()).is_some());
        let known_name = sighting
            .hostname
            .as_deref()
            .is_some_and(|n| directory.by_hostname(n).is_some());
        if known_ip || known_mac || known_name {
            return;
        }

        // 3. Only inside an inventoried subnet.
        let Some(ip) = sighting.ip.filter(|ip| !is_group_or_unspecified(*ip)) else {
            return;
        };
        let Some(neighbour) = self.neighbour(ip, cx) else {
            return;
        };
        let neighbour_asset = directory.by_id(&neighbour);
        cx.report(finding(&sighting, ip, &neighbour, neighbour_asset, ts));
    }

    fn remember(&mut self, sighting: &Sighting) {
        if self.seen_ips.len() >= MAX_SEEN || self.seen_macs.len() >= MAX_SEEN {
            self.seen_ips.clear();
            self.seen_macs.clear();
        }
        self.seen_ips.extend(sighting.ip);
        self.seen_macs
            .extend(sighting.mac.filter(|m| !m.is_group()));
    }

    /// A known host in the same IPv4 /24, found once per subnet by asking the directory.
    fn neighbour(&mut self, ip: IpAddr, cx: &Context<'_>) -> Option<String> {
        let IpAddr::V4(v4) = ip else { return None };
        let [a, b, c, _] = v4.octets();
        if let Some(cached) = self.subnets.get(&[a, b, c]) {
            return cached.clone();
        }
        let found = (1..=254u8)
            .map(|d| IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
            .filter_map(|candidate| cx.directory.by_ip(candidate))
            .find(|asset| is_host(asset))
            .map(|asset| asset.id.clone());
        if self.subnets.len() < MAX_SEEN {
            self.subnets.insert([a, b, c], found.clone());
        }
        found
    }
}

fn is_host(asset: &AssetInfo) -> bool {
    asset.asset_type != "network"
}

fn finding(
    sighting: &Sighting,
    ip: IpAddr,
    neighbour: &str,
    asset: Option<&AssetInfo>,
    ts: Timestamp,
) -> Finding {
    let mac = sighting.mac.map(|m| m.to_string());
    let zone = asset.and_then(|a| a.zone()).unwrap_or("an unknown zone");
    let named = match (&sighting.hostname, &mac) {
        (Some(name), Some(mac)) => format!("{ip} ({name}, MAC {mac})"),
        (None, Some(mac)) => format!("{ip} (MAC {mac})"),
        (Some(name), None) => format!("{ip} ({name})"),
        (None, None) => ip.to_string(),
    };
    let summary = format!(
        "Device {named} not in the site inventory appeared on the network of {neighbour} ({zone}), seen by {}",
        sighting.how.to_uppercase()
    );
    let mut finding = Finding::new("network.new_device", 45, 0.7, ts, summary)
        .source(Peer {
            ip,
            port: None,
            mac: sighting.mac,
        })
        .subject(Subject::Source)
        .techniques(&["T1200"])
        .location(asset.map(|a| Location {
            room: None,
            ..a.location.clone()
        }))
        .evidence("detector", "inventory")
        .evidence("new_device.seen_by", sighting.how)
        .evidence("new_device.neighbour", neighbour);
    if let Some(mac) = mac {
        finding = finding.evidence("new_device.mac", mac);
    }
    if let Some(name) = &sighting.hostname {
        finding = finding.evidence("new_device.hostname", name.clone());
    }
    finding
}
