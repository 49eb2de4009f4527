//! Network layers: ARP, IPv4 and IPv6 with extension headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{
    ArpPacket, DecodeError, FragmentInfo, IpDatagram, IpHeader, Layer, MacAddr, Network, be16,
    be32, need,
};

/// IPv6 extension headers walked before a packet is considered hostile.
const MAX_EXTENSION_HEADERS: usize = 8;

/// Decodes an ARP packet; other hardware or protocol types are left undecoded.
pub(super) fn decode_arp(data: &[u8]) -> Result<Network<'_>, DecodeError> {
    need(Layer::Arp, data, 8)?;
    let hardware = be16(data, 0).unwrap_or(0);
    let protocol = be16(data, 2).unwrap_or(0);
    let (hlen, plen) = (data.get(4).copied(), data.get(5).copied());
    if hardware != 1 || protocol != 0x0800 || hlen != Some(6) || plen != Some(4) {
        return Ok(Network::Other { ethertype: 0x0806 });
    }

    need(Layer::Arp, data, 28)?;
    let mac = |at: usize| {
        MacAddr(
            data.get(at..at + 6)
                .and_then(|b| b.try_into().ok())
                .unwrap_or_default(),
        )
    };
    let ip = |at: usize| Ipv4Addr::from(be32(data, at).unwrap_or(0));
    Ok(Network::Arp(ArpPacket {
        operation: be16(data, 6).unwrap_or(0),
        sender_mac: mac(8),
        sender_ip: ip(14),
        target_mac: mac(18),
        target_ip: ip(24),
    }))
}

/// Decodes an IPv4 header; the payload stops at the total length (dropping Ethernet
/// padding) or at the end of the captured bytes.
pub(super) fn decode_ipv4(data: &[u8]) -> Result<IpDatagram<'_>, DecodeError> {
    // 1. Version and header length.
    need(Layer::Ipv4, data, 20)?;
    let first = data.first().copied().unwrap_or(0);
    if first >> 4 != 4 {
        return Err(invalid(Layer::Ipv4, "version field is not 4"));
    }
    let header_len = usize::from(first & 0x0f) * 4;
    if header_len < 20 {
        return Err(invalid(Layer::Ipv4, "header length is under 20 bytes"));
    }
    need(Layer::Ipv4, data, header_len)?;

    // 2. Total length: 0 is seen with segmentation offload, taken as "all captured".
    let total = usize::from(be16(data, 2).unwrap_or(0));
    if total != 0 && total < header_len {
        return Err(invalid(
            Layer::Ipv4,
            "total length is shorter than the header",
        ));
    }
    let end = if total == 0 {
        data.len()
    } else {
        total.min(data.len())
    };
    let payload_cut = total > data.len();

    // 3. Fragmentation and addresses.
    let flags_offset = be16(data, 6).unwrap_or(0);
    let more = flags_offset & 0x2000 != 0;
    let offset = u32::from(flags_offset & 0x1fff) * 8;
    let fragment = (more || offset > 0).then(|| FragmentInfo {
        id: u32::from(be16(data, 4).unwrap_or(0)),
        offset,
        more,
    });
    let header = IpHeader {
        src: IpAddr::V4(Ipv4Addr::from(be32(data, 12).unwrap_or(0))),
        dst: IpAddr::V4(Ipv4Addr::from(be32(data, 16).unwrap_or(0))),
        protocol: data.get(9).copied().unwrap_or(0),
        ttl: data.get(8).copied().unwrap_or(0),
    };
    Ok(IpDatagram {
        header,
        fragment,
        payload: data.get(header_len..end).unwrap_or_default(),
        payload_cut,
    })
}

/// Decodes an IPv6 header and walks its extension headers to the transport protocol.
pub(super) fn decode_ipv6(data: &[u8]) -> Result<IpDatagram<'_>, DecodeError> {
    // 1. The fixed header.
    need(Layer::Ipv6, data, 40)?;
    if data.first().map(|b| b >> 4) != Some(6) {
        return Err(invalid(Layer::Ipv6, "version field is not 6"));
    }
    let payload_len = usize::from(be16(data, 4).unwrap_or(0));
    let end = if payload_len == 0 {
        data.len()
    } else {
        (40 + payload_len).min(data.len())
    };
    let payload_cut = 40 + payload_len > data.len();
    let addr = |at: usize| {
        let bytes: [u8; 16] = data
            .get(at..at + 16)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default();
        IpAddr::V6(Ipv6Addr::from(bytes))
    };
    let (src, dst) = (addr(8), addr(24));
    let ttl = data.get(7).copied().unwrap_or(0);

    // 2. Extension headers, at most MAX_EXTENSION_HEADERS of them.
    let mut next = data.get(6).copied().unwrap_or(0);
    let mut at = 40usize;
    let mut fragment = None;
    for _ in 0..MAX_EXTENSION_HEADERS {
        let here = data.get(at..end).unwrap_or_default();
        let len = match next {
            0 | 43 | 60 => {
                need(Layer::Ipv6, here, 8)?;
                (usize::from(here.get(1).copied().unwrap_or(0)) + 1) * 8
            }
            51 => {
                need(Layer::Ipv6, here, 8)?;
                (usize::from(here.get(1).copied().unwrap_or(0)) + 2) * 4
            }
            44 => {
                need(Layer::Ipv6, here, 8)?;
                let field = be16(here, 2).unwrap_or(0);
                fragment = Some(FragmentInfo {
                    id: be32(here, 4).unwrap_or(0),
                    offset: u32::from(field & 0xfff8),
                    more: field & 1 == 1,
                });
                8
            }
            _ => break,
        };
        need(Layer::Ipv6, here, len)?;
        next = here.first().copied().unwrap_or(0);
        at += len;
        if fragment.is_some() {
            // What follows belongs to the fragmentable part, read after reassembly.
            break;
        }
    }
    if fragment.is_none() && matches!(next, 0 | 43 | 44 | 51 | 60) {
        return Err(invalid(Layer::Ipv6, "more than eight extension headers"));
    }

    // A fragment whose offset is not 0 carries no extension or transport header.
    let header = IpHeader {
        src,
        dst,
        protocol: next,
        ttl,
    };
    Ok(IpDatagram {
        header,
        fragment: fragment.filter(|f| f.more || f.offset > 0),
        payload: data.get(at..end).unwrap_or_default(),
        payload_cut,
    })
}

fn invalid(layer: Layer, reason: &'static str) -> DecodeError {
    DecodeError::Invalid { layer, reason }
}
