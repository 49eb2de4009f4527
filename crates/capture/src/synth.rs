//! A traffic generator for tests: hand-built packets written into an in-memory pcap.
//!
//! Sensors test their detections on captures they generate here, so no test depends
//! on a stored capture of an attack. Checksums are computed, so the output also opens
//! cleanly in Wireshark.
//!
//! ```
//! use safecare_capture::synth::{Host, Synth};
//! let (client, server) = (Host::v4("10.10.1.11"), Host::v4("10.40.0.20"));
//! let mut synth = Synth::new();
//! synth.tcp_session(&client, 40000, &server, 80, &[(b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n")]);
//! let pcap: Vec<u8> = synth.finish();
//! assert!(pcap.len() > 24);
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::decode::{MacAddr, TcpFlags};
use crate::reader::LinkType;
use crate::time::Timestamp;
use crate::writer::PcapWriter;

/// A machine on the generated network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// Its address.
    pub ip: IpAddr,
    /// Its MAC address.
    pub mac: MacAddr,
}

impl Host {
    /// A host with a locally administered MAC derived from its address.
    ///
    /// # Panics
    /// When `ip` is not an IP address literal (test input only).
    pub fn v4(ip: &str) -> Host {
        let ip: IpAddr = ip
            .parse()
            .unwrap_or_else(|_| panic!("{ip} is not an IP address"));
        Host::from_ip(ip)
    }

    /// A host at `ip`, its MAC derived from the address.
    pub fn from_ip(ip: IpAddr) -> Host {
        let tail = match ip {
            IpAddr::V4(v4) => v4.octets(),
            IpAddr::V6(v6) => {
                let o = v6.octets();
                [o[12], o[13], o[14], o[15]]
            }
        };
        Host {
            ip,
            mac: MacAddr([0x02, 0x00, tail[0], tail[1], tail[2], tail[3]]),
        }
    }

    /// The same host with another MAC.
    pub fn with_mac(mut self, mac: [u8; 6]) -> Host {
        self.mac = MacAddr(mac);
        self
    }
}

/// How a probed port answers a SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortState {
    /// SYN-ACK, then the prober resets (a half-open scan).
    Open,
    /// RST-ACK.
    Closed,
    /// No answer (filtered).
    Filtered,
}

/// Builds a capture packet by packet, the clock stepping a little after each packet.
pub struct Synth {
    writer: PcapWriter<Vec<u8>>,
    now: Timestamp,
    step: Duration,
    packets: u64,
    ip_id: u16,
}

impl Default for Synth {
    fn default() -> Self {
        Synth::new()
    }
}

impl Synth {
    /// An empty Ethernet capture starting at 2026-12-03T02:00:00Z, stepping 1 ms a packet.
    pub fn new() -> Self {
        Synth::starting_at(Timestamp::from_secs(1_796_263_200))
    }

    /// An empty Ethernet capture starting at `start`.
    pub fn starting_at(start: Timestamp) -> Self {
        let writer = match PcapWriter::new(Vec::new(), LinkType::ETHERNET) {
            Ok(writer) => writer,
            Err(_) => unreachable!("writing to a Vec cannot fail"),
        };
        Synth {
            writer,
            now: start,
            step: Duration::from_millis(1),
            packets: 0,
            ip_id: 1,
        }
    }

    /// Sets the time between consecutive packets.
    pub fn set_step(&mut self, step: Duration) {
        self.step = step;
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.plus(by);
    }

    /// The current capture time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Writes a ready-made frame at the current time and steps the clock.
    pub fn frame(&mut self, bytes: &[u8]) {
        if self.writer.write_packet(self.now, bytes).is_err() {
            unreachable!("writing to a Vec cannot fail");
        }
        self.packets += 1;
        self.now = self.now.plus(self.step);
    }

    /// The finished pcap file.
    pub fn finish(self) -> Vec<u8> {
        self.writer.into_inner().unwrap_or_default()
    }

    /// A TCP segment from `src` to `dst`.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        src: &Host,
        sport: u16,
        dst: &Host,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) {
        let segment = tcp_segment(src.ip, dst.ip, sport, dport, flags, seq, ack, payload);
        let id = self.next_id();
        let frame = ethernet(
            src.mac,
            dst.mac,
            &ip_packet(src.ip, dst.ip, 6, id, &segment),
        );
        self.frame(&frame);
    }

    /// A UDP datagram from `src` to `dst`.
    pub fn udp(&mut self, src: &Host, sport: u16, dst: &Host, dport: u16, payload: &[u8]) {
        let datagram = udp_datagram(src.ip, dst.ip, sport, dport, payload);
        let id = self.next_id();
        let frame = ethernet(
            src.mac,
            dst.mac,
            &ip_packet(src.ip, dst.ip, 17, id, &datagram),
        );
        self.frame(&frame);
    }

    /// An ICMP (IPv4) message.
    pub fn icmp(&mut self, src: &Host, dst: &Host, icmp_type: u8, code: u8, payload: &[u8]) {
        let mut message = vec![icmp_type, code, 0, 0];
        message.extend_from_slice(payload);
        let sum = checksum(&[&message]);
        message[2..4].copy_from_slice(&sum.to_be_bytes());
        let id = self.next_id();
        let frame = ethernet(
            src.mac,
            dst.mac,
            &ip_packet(src.ip, dst.ip, 1, id, &message),
        );
        self.frame(&frame);
    }

    /// An ARP request from `sender` asking for `target`.
    pub fn arp_request(&mut self, sender: &Host, target: Ipv4Addr) {
        let IpAddr::V4(sender_ip) = sender.ip else {
            return;
        };
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
        arp.extend_from_slice(&sender.mac.0);
        arp.extend_from_slice(&sender_ip.octets());
        arp.extend_from_slice(&[0; 6]);
        arp.extend_from_slice(&target.octets());
        let frame = ethernet_typed(sender.mac, MacAddr([0xff; 6]), 0x0806, &arp);
        self.frame(&frame);
    }

    /// A whole TCP connection: handshake, each (request, response) exchange, FIN close.
    pub fn tcp_session(
        &mut self,
        client: &Host,
        cport: u16,
        server: &Host,
        sport: u16,
        exchanges: &[(&[u8], &[u8])],
    ) {
        self.paced_session(client, cport, server, sport, exchanges, Duration::ZERO);
    }

    /// Like [`Synth::tcp_session`], with the clock moved on by `pause` before each
    /// exchange: beacons, slow uploads, idle keep-alive connections.
    pub fn paced_session(
        &mut self,
        client: &Host,
        cport: u16,
        server: &Host,
        sport: u16,
        exchanges: &[(&[u8], &[u8])],
        pause: Duration,
    ) {
        let (mut c_seq, mut s_seq) = (1000u32, 5000u32);
        self.tcp(client, cport, server, sport, TcpFlags::SYN, c_seq, 0, b"");
        self.tcp(
            server,
            sport,
            client,
            cport,
            TcpFlags::SYN | TcpFlags::ACK,
            s_seq,
            c_seq + 1,
            b"",
        );
        c_seq += 1;
        s_seq += 1;
        self.tcp(
            client,
            cport,
            server,
            sport,
            TcpFlags::ACK,
            c_seq,
            s_seq,
            b"",
        );

        let push = TcpFlags::PSH | TcpFlags::ACK;
        for (request, response) in exchanges {
            self.advance(pause);
            if !request.is_empty() {
                self.tcp(client, cport, server, sport, push, c_seq, s_seq, request);
                c_seq = c_seq.wrapping_add(request.len() as u32);
            }
            if !response.is_empty() {
                self.tcp(server, sport, client, cport, push, s_seq, c_seq, response);
                s_seq = s_seq.wrapping_add(response.len() as u32);
            }
        }

        let fin = TcpFlags::FIN | TcpFlags::ACK;
        self.tcp(client, cport, server, sport, fin, c_seq, s_seq, b"");
        self.tcp(server, sport, client, cport, fin, s_seq, c_seq + 1, b"");
        self.tcp(
            client,
            cport,
            server,
            sport,
            TcpFlags::ACK,
            c_seq + 1,
            s_seq + 1,
            b"",
        );
    }

    /// A SYN probe and the answer a port in `state` gives.
    pub fn syn_probe(
        &mut self,
        client: &Host,
        cport: u16,
        server: &Host,
        port: u16,
        state: PortState,
    ) {
        let seq = 7000u32.wrapping_add(u32::from(port));
        self.tcp(client, cport, server, port, TcpFlags::SYN, seq, 0, b"");
        match state {
            PortState::Open => {
                self.tcp(
                    server,
                    port,
                    client,
                    cport,
                    TcpFlags::SYN | TcpFlags::ACK,
                    9000,
                    seq + 1,
                    b"",
                );
                self.tcp(client, cport, server, port, TcpFlags::RST, seq + 1, 0, b"");
            }
            PortState::Closed => {
                self.tcp(
                    server,
                    port,
                    client,
                    cport,
                    TcpFlags::RST | TcpFlags::ACK,
                    0,
                    seq + 1,
                    b"",
                );
            }
            PortState::Filtered => {}
        }
    }

    fn next_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }
}

/// An Ethernet II frame carrying an IP packet (the ethertype follows the IP version).
pub fn ethernet(src: MacAddr, dst: MacAddr, ip: &[u8]) -> Vec<u8> {
    let ethertype = if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    };
    ethernet_typed(src, dst, ethertype, ip)
}

/// An Ethernet II frame of any ethertype.
pub fn ethernet_typed(src: MacAddr, dst: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.extend_from_slice(&dst.0);
    frame.extend_from_slice(&src.0);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An unfragmented IPv4 or IPv6 packet (by the address family) around `transport`.
pub fn ip_packet(src: IpAddr, dst: IpAddr, protocol: u8, id: u16, transport: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4_fragment(s, d, protocol, id, 0, false, transport),
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut packet = vec![0x60, 0, 0, 0];
            packet.extend_from_slice(&(transport.len() as u16).to_be_bytes());
            packet.extend_from_slice(&[protocol, 64]);
            packet.extend_from_slice(&s.octets());
            packet.extend_from_slice(&d.octets());
            packet.extend_from_slice(transport);
            packet
        }
        _ => Vec::new(),
    }
}

/// An IPv4 packet carrying `payload` at byte `offset` (a multiple of 8) of a datagram.
pub fn ipv4_fragment(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    id: u16,
    offset: u16,
    more: bool,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let flags = (offset / 8) | if more { 0x2000 } else { 0 };
    let mut header = vec![0x45, 0];
    header.extend_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&id.to_be_bytes());
    header.extend_from_slice(&flags.to_be_bytes());
    header.extend_from_slice(&[64, protocol, 0, 0]);
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    let sum = checksum(&[&header]);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    header.extend_from_slice(payload);
    header
}

/// A TCP header (no options, window 64240) and payload, checksummed.
#[allow(clippy::too_many_arguments)]
pub fn tcp_segment(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut segment = Vec::with_capacity(20 + payload.len());
    segment.extend_from_slice(&sport.to_be_bytes());
    segment.extend_from_slice(&dport.to_be_bytes());
    segment.extend_from_slice(&seq.to_be_bytes());
    segment.extend_from_slice(&ack.to_be_bytes());
    segment.extend_from_slice(&[0x50, flags]);
    segment.extend_from_slice(&64240u16.to_be_bytes());
    segment.extend_from_slice(&[0, 0, 0, 0]);
    segment.extend_from_slice(payload);
    let sum = checksum(&[&pseudo_header(src, dst, 6, segment.len()), &segment]);
    segment[16..18].copy_from_slice(&sum.to_be_bytes());
    segment
}

/// A UDP header and payload, checksummed.
pub fn udp_datagram(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut datagram = Vec::with_capacity(len);
    datagram.extend_from_slice(&sport.to_be_bytes());
    datagram.extend_from_slice(&dport.to_be_bytes());
    datagram.extend_from_slice(&(len as u16).to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    let sum = checksum(&[&pseudo_header(src, dst, 17, len), &datagram]);
    datagram[6..8].copy_from_slice(&sum.to_be_bytes());
    datagram
}

fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> Vec<u8> {
    let mut pseudo = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, protocol]);
            pseudo.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&(len as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, protocol]);
        }
        _ => {}
    }
    pseudo
}

/// The Internet checksum over the concatenation of `parts`.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    let mut odd: Option<u8> = None;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        match odd.take() {
            None => odd = Some(*byte),
            Some(high) => sum += u32::from(u16::from_be_bytes([high, *byte])),
        }
    }
    if let Some(high) = odd {
        sum += u32::from(u16::from_be_bytes([high, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
