//! The OT sensor: Modbus/TCP over reassembled streams, BACnet/IP over UDP, and the
//! state that pairs Modbus requests with their responses and puts segmented BACnet
//! messages back together.
//!
//! State is bounded: one entry per Modbus connection the capture engine follows (its
//! flow table is capped), at most [`MAX_PENDING`] unanswered requests per connection,
//! and the caps of [`SegmentLimits`] on BACnet segments held.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, Utc};
use safecare_capture::decode::Transport;
use safecare_capture::engine::FlowContext;
use safecare_capture::{DecodeError, Direction, EndReason, Flow, Handler, Packet};

use crate::bacnet;
use crate::bacnet::segments::{self, Reassembler, SegmentLimits};
use crate::modbus::{self, ModbusError};
use crate::transaction::{BacnetExchange, Detail, ModbusExchange, Transaction};

/// Requests awaiting a response per Modbus connection; older ones are given up.
pub const MAX_PENDING: usize = 256;

/// Bytes of one Modbus connection followed; plenty for days of polling.
const STREAM_DEPTH: u64 = 1 << 32;

/// Which ports the sensor decodes and how much BACnet reassembly it may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorConfig {
    /// TCP ports Modbus servers listen on; a connection to or from one is decoded.
    pub modbus_ports: Vec<u16>,
    /// UDP ports of BACnet/IP devices; a datagram to or from one is decoded.
    pub bacnet_ports: Vec<u16>,
    /// Caps on segmented BACnet messages held until their last segment.
    pub segments: SegmentLimits,
}

impl Default for SensorConfig {
    /// Modbus on TCP 502, BACnet/IP on UDP 47808, the default reassembly caps.
    fn default() -> Self {
        SensorConfig {
            modbus_ports: vec![modbus::PORT],
            bacnet_ports: vec![bacnet::PORT],
            segments: SegmentLimits::default(),
        }
    }
}

/// What the sensor produced from the traffic: decoded exchanges and protocol errors.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A decoded exchange.
    Transaction(Transaction),
    /// Bytes on a Modbus or BACnet port that break the protocol.
    Malformed(Malformed),
}

/// A frame or datagram that failed to parse.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// When the bytes were seen.
    pub time: DateTime<Utc>,
    /// `modbus` or `bacnet`.
    pub protocol: &'static str,
    /// The sender (for Modbus, the TCP client).
    pub client: IpAddr,
    /// The receiver (for Modbus, the TCP server).
    pub server: IpAddr,
    /// What was wrong, from the parser's error.
    pub error: String,
}

/// Counters of what the sensor decoded and what it could not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SensorStats {
    /// Modbus frames decoded (requests and responses).
    pub modbus_frames: u64,
    /// Modbus frames or stream stretches that failed to parse.
    pub modbus_errors: u64,
    /// Modbus responses without a pending request.
    pub modbus_orphan_responses: u64,
    /// Modbus requests never answered.
    pub modbus_unanswered: u64,
    /// BACnet/IP datagrams decoded.
    pub bacnet_messages: u64,
    /// BACnet/IP datagrams that failed to parse, segments included.
    pub bacnet_errors: u64,
    /// UDP datagrams on a BACnet port.
    pub bacnet_datagrams: u64,
    /// Segments of segmented BACnet messages taken into reassembly.
    pub bacnet_segments: u64,
    /// Segmented BACnet messages reassembled whole.
    pub bacnet_reassembled: u64,
    /// Segments refused: out of order, repeated, outside the window, too large.
    pub bacnet_segment_errors: u64,
    /// Open segmented messages evicted by the caps or dropped unfinished after the
    /// timeout.
    pub bacnet_segment_evictions: u64,
    /// Transactions produced.
    pub transactions: u64,
    /// Packets that the engine could not decode.
    pub undecodable: u64,
}

/// State of one Modbus/TCP connection.
#[derive(Debug, Default)]
struct ModbusConn {
    /// The flow's responder is the Modbus server (it listens on a Modbus port).
    server_is_responder: bool,
    /// Unparsed bytes per direction: requests (0) and responses (1).
    buffers: [Vec<u8>; 2],
    /// A direction whose framing was lost stays silent until the connection ends.
    lost: [bool; 2],
    pending: HashMap<(u16, u8), (DateTime<Utc>, modbus::Pdu)>,
}

/// Decodes Modbus/TCP and BACnet/IP from what the capture engine reports.
pub struct OtSensor {
    config: SensorConfig,
    conns: HashMap<u64, ModbusConn>,
    segments: Reassembler<SocketAddr>,
    out: Vec<Observation>,
    stats: SensorStats,
}

impl Default for OtSensor {
    fn default() -> Self {
        OtSensor::with_config(SensorConfig::default())
    }
}

impl OtSensor {
    /// A sensor on the standard ports with no connections yet.
    pub fn new() -> Self {
        OtSensor::default()
    }

    /// A sensor on the ports of `config`.
    pub fn with_config(config: SensorConfig) -> Self {
        OtSensor {
            segments: Reassembler::new(config.segments),
            config,
            conns: HashMap::new(),
            out: Vec::new(),
            stats: SensorStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> SensorStats {
        let segments = self.segments.stats();
        SensorStats {
            bacnet_segments: segments.segments,
            bacnet_reassembled: segments.reassembled,
            bacnet_segment_errors: segments.errors,
            bacnet_segment_evictions: segments.evicted + segments.expired,
            ..self.stats
        }
    }

    /// Modbus connections followed now and BACnet segmented messages open now: the
    /// sensor's tracking state.
    pub fn tracked(&self) -> (usize, u64) {
        (self.conns.len(), self.segments.stats().open)
    }

    /// Takes what was decoded since the last call, in order.
    pub fn drain(&mut self) -> Vec<Observation> {
        std::mem::take(&mut self.out)
    }

    fn emit(&mut self, transaction: Transaction) {
        self.stats.transactions += 1;
        self.out.push(Observation::Transaction(transaction));
    }

    fn on_bacnet(&mut self, packet: &Packet<'_>, sport: u16, dport: u16, payload: &[u8]) {
        let Some(ip) = packet.ip else { return };
        self.stats.bacnet_datagrams += 1;
        let time = packet.ts.to_datetime();
        let (from, to) = (
            SocketAddr::new(ip.src, sport),
            SocketAddr::new(ip.dst, dport),
        );

        // 1. The datagram, segment or not, must parse.
        let mut message = match bacnet::parse_datagram(payload) {
            Ok(message) => message,
            Err(err) => return self.malformed_bacnet(time, from, to, err.to_string()),
        };
        self.stats.bacnet_messages += 1;

        // 2. Segments wait for the last one; Segment-ACKs move the window.
        let apdu = bacnet::apdu_bytes(payload)
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut segment_count = None;
        if segments::is_segment_ack(apdu) {
            self.segments.segment_ack(from, to, apdu);
        } else if segments::is_segment(apdu) {
            match self.segments.segment(from, to, time, apdu) {
                Ok(None) => return,
                Ok(Some(whole)) => {
                    message.apdu = Some(whole.apdu);
                    segment_count = Some(whole.segments);
                }
                Err(err) => return self.malformed_bacnet(time, from, to, err.to_string()),
            }
        }

        // 3. One transaction per message: a whole datagram or a reassembled message.
        let exchange = BacnetExchange {
            message,
            segments: segment_count,
        };
        self.emit(Transaction {
            time,
            client: ip.src,
            client_port: sport,
            server: ip.dst,
            server_port: dport,
            detail: Detail::Bacnet(exchange),
        });
    }

    fn malformed_bacnet(
        &mut self,
        time: DateTime<Utc>,
        from: SocketAddr,
        to: SocketAddr,
        error: String,
    ) {
        self.stats.bacnet_errors += 1;
        self.out.push(Observation::Malformed(Malformed {
            time,
            protocol: "bacnet",
            client: from.ip(),
            server: to.ip(),
            error,
        }));
    }

    /// Parses every whole frame buffered for one direction of a Modbus connection.
    fn drain_frames(&mut self, flow: &Flow, side: usize) {
        let time = flow.last_ts.to_datetime();
        let is_request = side == 0;
        loop {
            let Some(conn) = self.conns.get_mut(&flow.id) else {
                return;
            };
            let buffer = &mut conn.buffers[side];
            match modbus::parse_adu(buffer, is_request) {
                Ok((adu, used)) => {
                    buffer.drain(..used);
                    self.stats.modbus_frames += 1;
                    self.on_adu(flow, time, is_request, adu);
                }
                Err(ModbusError::Truncated { .. }) => return,
                Err(err) => {
                    // A frame of known length is skipped; a broken header loses framing.
                    let skip = frame_len(buffer);
                    match skip {
                        Some(len) => drop(buffer.drain(..len.min(buffer.len()))),
                        None => {
                            buffer.clear();
                            conn.lost[side] = true;
                        }
                    }
                    self.stats.modbus_errors += 1;
                    self.malformed_modbus(flow, time, err);
                    if skip.is_none() {
                        return;
                    }
                }
            }
        }
    }

    fn on_adu(&mut self, flow: &Flow, time: DateTime<Utc>, is_request: bool, adu: modbus::Adu) {
        let key = (adu.mbap.transaction_id, adu.mbap.unit_id);
        let Some(conn) = self.conns.get_mut(&flow.id) else {
            return;
        };
        let server_is_responder = conn.server_is_responder;
        if is_request {
            if conn.pending.len() >= MAX_PENDING {
                self.stats.modbus_unanswered += conn.pending.len() as u64;
                conn.pending.clear();
            }
            if let Some((at, old)) = conn.pending.insert(key, (time, adu.pdu)) {
                self.stats.modbus_unanswered += 1;
                let exchange = exchange(key, Some(old), None);
                self.emit(modbus_transaction(flow, server_is_responder, at, exchange));
            }
            return;
        }
        match conn.pending.remove(&key) {
            Some((at, request)) => {
                let exchange = exchange(key, Some(request), Some(adu.pdu));
                self.emit(modbus_transaction(flow, server_is_responder, at, exchange));
            }
            None => {
                self.stats.modbus_orphan_responses += 1;
                let exchange = exchange(key, None, Some(adu.pdu));
                self.emit(modbus_transaction(
                    flow,
                    server_is_responder,
                    time,
                    exchange,
                ));
            }
        }
    }

    fn malformed_modbus(&mut self, flow: &Flow, time: DateTime<Utc>, err: ModbusError) {
        let server_is_responder = self
            .conns
            .get(&flow.id)
            .is_none_or(|conn| conn.server_is_responder);
        let (client, server) = modbus_ends(flow, server_is_responder);
        self.out.push(Observation::Malformed(Malformed {
            time,
            protocol: "modbus",
            client: client.0,
            server: server.0,
            error: err.to_string(),
        }));
    }
}

impl Handler for OtSensor {
    fn on_packet(&mut self, packet: &Packet<'_>, _flow: Option<FlowContext<'_>>) {
        let ports = &self.config.bacnet_ports;
        if let Transport::Udp(udp) = packet.transport
            && (ports.contains(&udp.src_port) || ports.contains(&udp.dst_port))
        {
            self.on_bacnet(packet, udp.src_port, udp.dst_port, udp.payload);
        }
    }

    fn stream_depth(&mut self, flow: &Flow) -> u64 {
        let ports = &self.config.modbus_ports;
        let server_is_responder = ports.contains(&flow.key.responder_port);
        if !server_is_responder && !ports.contains(&flow.key.initiator_port) {
            return 0;
        }
        let conn = ModbusConn {
            server_is_responder,
            ..ModbusConn::default()
        };
        self.conns.insert(flow.id, conn);
        STREAM_DEPTH
    }

    fn on_stream_data(&mut self, flow: &Flow, direction: Direction, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&flow.id) else {
            return;
        };
        let side = request_side(conn.server_is_responder, direction);
        if conn.lost[side] {
            return;
        }
        conn.buffers[side].extend_from_slice(data);
        self.drain_frames(flow, side);
    }

    fn on_stream_gap(&mut self, flow: &Flow, direction: Direction, _missing: u64) {
        if let Some(conn) = self.conns.get_mut(&flow.id) {
            let side = request_side(conn.server_is_responder, direction);
            conn.buffers[side].clear();
        }
    }

    fn on_flow_end(&mut self, flow: &Flow, _reason: EndReason) {
        let Some(conn) = self.conns.remove(&flow.id) else {
            return;
        };
        let mut pending: Vec<_> = conn.pending.into_iter().collect();
        pending.sort_by_key(|(_, (at, _))| *at);
        for (key, (at, request)) in pending {
            self.stats.modbus_unanswered += 1;
            let exchange = exchange(key, Some(request), None);
            self.emit(modbus_transaction(
                flow,
                conn.server_is_responder,
                at,
                exchange,
            ));
        }
        if conn.buffers.iter().any(|b| !b.is_empty()) {
            self.stats.modbus_errors += 1;
        }
    }

    fn on_undecodable(&mut self, _index: u64, _error: &DecodeError) {
        self.stats.undecodable += 1;
    }
}

/// The whole length of the frame at the front of `buffer` when its header is sane.
fn frame_len(buffer: &[u8]) -> Option<usize> {
    let mbap = modbus::parse_mbap(buffer).ok()?;
    Some(6 + usize::from(mbap.length))
}

fn exchange(
    (transaction_id, unit_id): (u16, u8),
    request: Option<modbus::Pdu>,
    response: Option<modbus::Pdu>,
) -> ModbusExchange {
    let function = request
        .as_ref()
        .or(response.as_ref())
        .map_or(0, |p| p.function);
    ModbusExchange {
        transaction_id,
        unit_id,
        function,
        function_name: modbus::function_name(function),
        request,
        response,
    }
}

fn modbus_transaction(
    flow: &Flow,
    server_is_responder: bool,
    time: DateTime<Utc>,
    exchange: ModbusExchange,
) -> Transaction {
    let (client, server) = modbus_ends(flow, server_is_responder);
    Transaction {
        time,
        client: client.0,
        client_port: client.1,
        server: server.0,
        server_port: server.1,
        detail: Detail::Modbus(exchange),
    }
}

/// (client, server) addresses of a Modbus connection: the server listens on a
/// Modbus port.
fn modbus_ends(flow: &Flow, server_is_responder: bool) -> ((IpAddr, u16), (IpAddr, u16)) {
    let k = flow.key;
    let initiator = (k.initiator, k.initiator_port);
    let responder = (k.responder, k.responder_port);
    if server_is_responder {
        (initiator, responder)
    } else {
        (responder, initiator)
    }
}

/// 0 for the client-to-server (request) direction, 1 for responses.
fn request_side(forward_is_request: bool, direction: Direction) -> usize {
    match (direction, forward_is_request) {
        (Direction::Forward, true) | (Direction::Backward, false) => 0,
        _ => 1,
    }
}
