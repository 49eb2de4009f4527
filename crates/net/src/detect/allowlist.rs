//! Allowlists: a device talking to a peer its site entry does not allow.
//!
//! An asset's `allowed_peers` lists asset ids and CIDR blocks (or single addresses).
//! When a new flow has such an asset at one end and a peer outside the list at the
//! other, `network.allowlist_violation` is raised once per device and peer (the
//! first port is in the event; a scan of the device does not raise one per port).
//! Broadcast and multicast peers are ignored (discovery, not conversation).

use std::collections::HashSet;
use std::net::IpAddr;

use safecare_capture::Packet;
use safecare_capture::engine::FlowContext;
use safecare_core::AssetInfo;

use super::{Detector, is_group_or_unspecified};
use crate::context::{Context, Finding, Peer, Subject};

/// Pairs remembered; past this the memory is cleared.
const MAX_REPORTED: usize = 100_000;

/// The allowlist detection.
#[derive(Default)]
pub struct Allowlist {
    reported: HashSet<(IpAddr, IpAddr)>,
}

impl Detector for Allowlist {
    fn name(&self) -> &'static str {
        "allowlist"
    }

    fn on_packet(
        &mut self,
        packet: &Packet<'_>,
        flow: Option<FlowContext<'_>>,
        cx: &mut Context<'_>,
    ) {
        let Some(context) = flow.filter(|f| f.is_new) else {
            return;
        };
        let key = context.flow.key;
        let ends = [
            (key.initiator, key.responder, true),
            (key.responder, key.initiator, false),
        ];
        for (device_ip, peer_ip, outbound) in ends {
            let Some(device) = cx.asset(device_ip).filter(|a| !a.allowed_peers.is_empty()) else {
                continue;
            };
            if is_group_or_unspecified(peer_ip) || allows(device, peer_ip, cx) {
                continue;
            }
            if self.reported.len() >= MAX_REPORTED {
                self.reported.clear();
            }
            if !self.reported.insert((device_ip, peer_ip)) {
                continue;
            }
            let finding = finding(device, device_ip, peer_ip, outbound, &key, packet, cx);
            cx.report(finding);
        }
    }
}

/// Whether `device`'s allowlist admits `peer`, by asset id or address block.
fn allows(device: &AssetInfo, peer: IpAddr, cx: &Context<'_>) -> bool {
    let peer_asset = cx.asset(peer).map(|a| a.id.as_str());
    device
        .allowed_peers
        .iter()
        .any(|entry| Some(entry.as_str()) == peer_asset || cidr_contains(entry, peer))
}

/// Whether `entry` (`10.20.0.0/16`, `fd00::/8` or a single address) contains `ip`.
pub fn cidr_contains(entry: &str, ip: IpAddr) -> bool {
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, prefix.parse::<u32>().ok()),
        None => (entry, None),
    };
    let Ok(network) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = prefix.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = prefix.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

fn finding(
    device: &AssetInfo,
    device_ip: IpAddr,
    peer_ip: IpAddr,
    outbound: bool,
    key: &safecare_capture::FlowKey,
    packet: &Packet<'_>,
    cx: &Context<'_>,
) -> Finding {
    let (verb, techniques): (&str, &'static [&'static str]) = if outbound {
        ("contacted", &["T1071"])
    } else {
        ("was contacted by", &["T1021"])
    };
    let summary = format!(
        "{} {} {verb} {}, which its allowlist does not include (port {})",
        device.asset_type.replace('_', " "),
        cx.describe(device_ip),
        cx.describe(peer_ip),
        key.responder_port
    );
    let summary = capitalize(&summary);
    let subject = if outbound {
        Subject::Source
    } else {
        Subject::Destination
    };
    Finding::new("network.allowlist_violation", 60, 0.9, packet.ts, summary)
        .source(Peer::with_port(key.initiator, key.initiator_port))
        .destination(Peer::with_port(key.responder, key.responder_port))
        .subject(subject)
        .techniques(techniques)
        .evidence("detector", "allowlist")
        .evidence("allowlist.device", device.id.clone())
        .evidence(
            "allowlist.direction",
            if outbound { "outbound" } else { "inbound" },
        )
        .evidence("allowlist.allowed", device.allowed_peers.clone())
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
