//! A bounded packet decoder: link layer, ARP, IPv4, IPv6, TCP, UDP and ICMP.
//!
//! Decoding is split in two steps so that fragments can be reassembled between them:
//! [`decode_frame`] reads the link and network headers, [`decode_transport`] reads the
//! transport header from a (possibly reassembled) IP payload. Both only borrow the
//! input, check every length before reading, and answer bad bytes with a
//! [`DecodeError`]; neither allocates.

mod link;
mod network;
mod transport;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

pub use link::decode_frame;
pub use transport::decode_transport;

use crate::time::Timestamp;

/// The protocol layer a decoding error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Ethernet, cooked or loopback header.
    Link,
    /// ARP.
    Arp,
    /// IPv4 header.
    Ipv4,
    /// IPv6 header or extension header.
    Ipv6,
    /// TCP header.
    Tcp,
    /// UDP header.
    Udp,
    /// ICMP or ICMPv6 header.
    Icmp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Layer::Link => "link",
            Layer::Arp => "ARP",
            Layer::Ipv4 => "IPv4",
            Layer::Ipv6 => "IPv6",
            Layer::Tcp => "TCP",
            Layer::Udp => "UDP",
            Layer::Icmp => "ICMP",
        };
        f.write_str(name)
    }
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The capture's link type is not one this decoder reads.
    #[error(
        "link type {0} is not supported (Ethernet, Linux cooked v1/v2, raw IP and loopback are)"
    )]
    UnsupportedLink(u32),
    /// A header is cut short, by the snap length or by a lying length field.
    #[error("{layer} header needs {need} bytes but only {have} were captured")]
    Truncated {
        /// The layer being decoded.
        layer: Layer,
        /// Bytes the header needs.
        need: usize,
        /// Bytes captured.
        have: usize,
    },
    /// A header field holds an impossible value.
    #[error("{layer} header is invalid: {reason}")]
    Invalid {
        /// The layer being decoded.
        layer: Layer,
        /// Which field is wrong and how.
        reason: &'static str,
    },
}

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Whether the address is a broadcast or multicast group address.
    pub fn is_group(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl fmt::Display for MacAddr {
    /// Lowercase colon form, `aa:bb:cc:dd:ee:ff`, as the asset directory expects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// What the link layer said about a frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// Sender MAC, when the link layer carries one.
    pub src_mac: Option<MacAddr>,
    /// Receiver MAC, when the link layer carries one.
    pub dst_mac: Option<MacAddr>,
    /// The outermost VLAN id, when tagged.
    pub vlan: Option<u16>,
}

/// An ARP request or reply for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    /// 1 request, 2 reply.
    pub operation: u16,
    /// Hardware address of the sender.
    pub sender_mac: MacAddr,
    /// Protocol address of the sender (0.0.0.0 in a probe).
    pub sender_ip: Ipv4Addr,
    /// Hardware address asked for or answered to.
    pub target_mac: MacAddr,
    /// Protocol address asked for.
    pub target_ip: Ipv4Addr,
}

/// Where a fragment sits in its original datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    /// IPv4 identification or IPv6 fragment identification.
    pub id: u32,
    /// Byte offset of this fragment's payload.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// The IP header fields sensors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The transport protocol number (after IPv6 extension headers).
    pub protocol: u8,
    /// TTL or hop limit.
    pub ttl: u8,
}

/// An IP datagram or fragment, its payload borrowed from the frame.
#[derive(Debug, Clone, Copy)]
pub struct IpDatagram<'a> {
    /// Addresses and protocol.
    pub header: IpHeader,
    /// Set when this is one fragment of a larger datagram.
    pub fragment: Option<FragmentInfo>,
    /// The bytes after the header, as captured.
    pub payload: &'a [u8],
    /// The snap length cut the payload short.
    pub payload_cut: bool,
}

/// The network layer of a frame.
#[derive(Debug, Clone, Copy)]
pub enum Network<'a> {
    /// IPv4 or IPv6.
    Ip(IpDatagram<'a>),
    /// ARP over Ethernet for IPv4.
    Arp(ArpPacket),
    /// A frame of another ethertype (LLDP, STP, ...), decoded no further.
    Other {
        /// The ethertype (or 802.3 length) found.
        ethertype: u16,
    },
}

/// A frame after link and network decoding.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Link-layer addresses and VLAN.
    pub link: LinkInfo,
    /// What the link layer carried.
    pub network: Network<'a>,
}

/// TCP flag bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: u8 = 0x01;
    /// Synchronise sequence numbers: opens a connection.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push buffered data to the application.
    pub const PSH: u8 = 0x08;
    /// The acknowledgment number is valid.
    pub const ACK: u8 = 0x10;
    /// The urgent pointer is valid.
    pub const URG: u8 = 0x20;
    /// ECN echo.
    pub const ECE: u8 = 0x40;
    /// Congestion window reduced.
    pub const CWR: u8 = 0x80;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// A connection opening: SYN without ACK.
    pub fn is_syn_only(self) -> bool {
        self.has(Self::SYN) && !self.has(Self::ACK)
    }
}

/// A TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Packets with ACK.
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Receive window (unscaled).
    pub window: u16,
    /// The bytes after the header, as captured.
    pub payload: &'a [u8],
}

/// A UDP datagram.
#[derive(Debug, Clone, Copy)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The bytes after the header, as captured.
    pub payload: &'a [u8],
}

/// An ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy)]
pub struct IcmpMessage<'a> {
    /// ICMPv6 rather than ICMP.
    pub v6: bool,
    /// Message type.
    pub icmp_type: u8,
    /// Message code.
    pub code: u8,
    /// The bytes after the 4-byte header (for errors, the quoted datagram).
    pub payload: &'a [u8],
}

impl IcmpMessage<'_> {
    /// Whether this reports an unreachable destination or port.
    pub fn is_unreachable(&self) -> bool {
        (!self.v6 && self.icmp_type == 3) || (self.v6 && self.icmp_type == 1)
    }
}

/// The transport layer of an IP datagram.
#[derive(Debug, Clone, Copy)]
pub enum Transport<'a> {
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// UDP.
    Udp(UdpDatagram<'a>),
    /// ICMP or ICMPv6.
    Icmp(IcmpMessage<'a>),
    /// Another IP protocol, not decoded further.
    Other {
        /// The IP protocol number.
        protocol: u8,
    },
    /// Not an IP packet.
    None,
}

impl Transport<'_> {
    /// Source and destination ports for TCP and UDP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self {
            Transport::Tcp(t) => Some((t.src_port, t.dst_port)),
            Transport::Udp(u) => Some((u.src_port, u.dst_port)),
            _ => None,
        }
    }

    /// The application payload for TCP and UDP, empty otherwise.
    pub fn payload(&self) -> &[u8] {
        match self {
            Transport::Tcp(t) => t.payload,
            Transport::Udp(u) => u.payload,
            Transport::Icmp(i) => i.payload,
            _ => &[],
        }
    }
}

/// A fully decoded packet as sensors see it.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// 1-based index in the capture.
    pub index: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Length on the wire.
    pub wire_len: u32,
    /// Link-layer addresses and VLAN.
    pub link: LinkInfo,
    /// The IP header, for IP packets (after reassembly for fragmented ones).
    pub ip: Option<IpHeader>,
    /// The ARP message, for ARP frames.
    pub arp: Option<ArpPacket>,
    /// The transport layer, `Transport::None` when not IP.
    pub transport: Transport<'a>,
}

/// Reads a big-endian u16 at `at`, `None` past the end.
fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

/// Reads a big-endian u32 at `at`, `None` past the end.
fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Checks that `data` holds at least `need` bytes for `layer`.
fn need(layer: Layer, data: &[u8], need: usize) -> Result<(), DecodeError> {
    if data.len() < need {
        return Err(DecodeError::Truncated {
            layer,
            need,
            have: data.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
