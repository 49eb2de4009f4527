//! Link layers: Ethernet (with VLAN tags), Linux cooked v1 and v2, raw IP, loopback.

use super::network::{decode_arp, decode_ipv4, decode_ipv6};
use super::{DecodeError, Frame, Layer, LinkInfo, MacAddr, Network, be16, need};
use crate::reader::LinkType;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];

/// VLAN tags read before a frame is considered hostile (QinQ uses two).
const MAX_VLAN_TAGS: usize = 4;

/// Decodes the link and network headers of one captured frame.
pub fn decode_frame(link: LinkType, data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    match link {
        LinkType::ETHERNET => decode_ethernet(data),
        LinkType::LINUX_SLL => decode_sll(data),
        LinkType::LINUX_SLL2 => decode_sll2(data),
        LinkType::RAW | LinkType::RAW_ALT_12 | LinkType::RAW_ALT_14 => decode_raw_ip(data),
        LinkType::IPV4 => network_frame(LinkInfo::default(), ETHERTYPE_IPV4, data),
        LinkType::IPV6 => network_frame(LinkInfo::default(), ETHERTYPE_IPV6, data),
        LinkType::NULL | LinkType::LOOP => decode_loopback(link, data),
        other => Err(DecodeError::UnsupportedLink(other.0)),
    }
}

fn mac_at(data: &[u8], at: usize) -> Option<MacAddr> {
    let bytes = data.get(at..at + 6)?;
    Some(MacAddr(bytes.try_into().ok()?))
}

fn decode_ethernet(data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    need(Layer::Link, data, 14)?;
    let link = LinkInfo {
        dst_mac: mac_at(data, 0),
        src_mac: mac_at(data, 6),
        vlan: None,
    };
    let ethertype = be16(data, 12).unwrap_or(0);
    let rest = data.get(14..).unwrap_or_default();
    after_ethertype(link, ethertype, rest)
}

/// Strips VLAN tags, then decodes the network layer the ethertype names.
fn after_ethertype<'a>(
    mut link: LinkInfo,
    mut ethertype: u16,
    mut rest: &'a [u8],
) -> Result<Frame<'a>, DecodeError> {
    let mut tags = 0;
    while VLAN_TAGS.contains(&ethertype) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(DecodeError::Invalid {
                layer: Layer::Link,
                reason: "more than four stacked VLAN tags",
            });
        }
        need(Layer::Link, rest, 4)?;
        let tci = be16(rest, 0).unwrap_or(0);
        link.vlan.get_or_insert(tci & 0x0fff);
        ethertype = be16(rest, 2).unwrap_or(0);
        rest = rest.get(4..).unwrap_or_default();
    }
    network_frame(link, ethertype, rest)
}

fn network_frame(link: LinkInfo, ethertype: u16, rest: &[u8]) -> Result<Frame<'_>, DecodeError> {
    let network = match ethertype {
        ETHERTYPE_IPV4 => Network::Ip(decode_ipv4(rest)?),
        ETHERTYPE_IPV6 => Network::Ip(decode_ipv6(rest)?),
        ETHERTYPE_ARP => decode_arp(rest)?,
        other => Network::Other { ethertype: other },
    };
    Ok(Frame { link, network })
}

/// Linux cooked v1: packet type, ARPHRD type, address length, 8 address bytes, protocol.
fn decode_sll(data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    need(Layer::Link, data, 16)?;
    let hardware = be16(data, 2).unwrap_or(0);
    let addr_len = be16(data, 4).unwrap_or(0);
    let link = LinkInfo {
        src_mac: cooked_mac(hardware, addr_len, data, 6),
        dst_mac: None,
        vlan: None,
    };
    let protocol = be16(data, 14).unwrap_or(0);
    after_ethertype(link, protocol, data.get(16..).unwrap_or_default())
}

/// Linux cooked v2: protocol, reserved, interface index, ARPHRD type, packet type,
/// address length, 8 address bytes.
fn decode_sll2(data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    need(Layer::Link, data, 20)?;
    let protocol = be16(data, 0).unwrap_or(0);
    let hardware = be16(data, 8).unwrap_or(0);
    let addr_len = data.get(11).copied().map(u16::from).unwrap_or(0);
    let link = LinkInfo {
        src_mac: cooked_mac(hardware, addr_len, data, 12),
        dst_mac: None,
        vlan: None,
    };
    after_ethertype(link, protocol, data.get(20..).unwrap_or_default())
}

/// The sender's MAC from a cooked header, when the hardware is Ethernet (ARPHRD 1).
fn cooked_mac(hardware: u16, addr_len: u16, data: &[u8], at: usize) -> Option<MacAddr> {
    (hardware == 1 && addr_len == 6)
        .then(|| mac_at(data, at))
        .flatten()
}

/// Raw IP: the version nibble says IPv4 or IPv6.
fn decode_raw_ip(data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    need(Layer::Link, data, 1)?;
    let ethertype = match data.first().map(|b| b >> 4) {
        Some(4) => ETHERTYPE_IPV4,
        Some(6) => ETHERTYPE_IPV6,
        _ => {
            return Err(DecodeError::Invalid {
                layer: Layer::Link,
                reason: "raw IP packet with an IP version other than 4 or 6",
            });
        }
    };
    network_frame(LinkInfo::default(), ethertype, data)
}

/// BSD loopback: a 4-byte address family, host order for NULL, network order for LOOP.
fn decode_loopback(link: LinkType, data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    need(Layer::Link, data, 4)?;
    let bytes: [u8; 4] = data
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .unwrap_or_default();
    let family = if link == LinkType::LOOP {
        u32::from_be_bytes(bytes)
    } else {
        // Host order of the capturing machine: whichever reading is small is right.
        let le = u32::from_le_bytes(bytes);
        if le <= 0xffff {
            le
        } else {
            u32::from_be_bytes(bytes)
        }
    };
    let ethertype = match family {
        2 => ETHERTYPE_IPV4,
        10 | 24 | 28 | 30 => ETHERTYPE_IPV6,
        _ => {
            return Err(DecodeError::Invalid {
                layer: Layer::Link,
                reason: "loopback frame with an address family other than IPv4 or IPv6",
            });
        }
    };
    network_frame(
        LinkInfo::default(),
        ethertype,
        data.get(4..).unwrap_or_default(),
    )
}
