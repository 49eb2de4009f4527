//! The bidirectional flow table: one entry per conversation, bounded in memory.
//!
//! A flow is keyed by protocol and both endpoints regardless of direction; the side
//! that sent the first packet (the SYN, for TCP) is the initiator. Flows end on an
//! idle timeout, on an active timeout (long flows are cut into pieces, as
//! CICFlowMeter does), when a TCP connection closes, or when the table is full and
//! the least recently seen flows are evicted. Every ending is reported with its
//! [`EndReason`], and evictions are counted.

pub mod features;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

pub use features::{FEATURE_NAMES, FlowStats};

use crate::decode::{MacAddr, Packet, TcpFlags, Transport};
use crate::reassembly::StreamDirection;
use crate::time::Timestamp;

/// Which way a packet travels within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the initiator to the responder.
    Forward,
    /// From the responder back to the initiator.
    Backward,
}

/// A conversation's endpoints, initiator first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP...).
    pub protocol: u8,
    /// The side that sent the first packet (the SYN).
    pub initiator: IpAddr,
    /// Initiator port (0 for protocols without ports).
    pub initiator_port: u16,
    /// The side that was contacted.
    pub responder: IpAddr,
    /// Responder port: the service.
    pub responder_port: u16,
}

/// The lookup key: both endpoints in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CanonicalKey {
    protocol: u8,
    low: (IpAddr, u16),
    high: (IpAddr, u16),
}

impl CanonicalKey {
    fn new(protocol: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Self {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        CanonicalKey {
            protocol,
            low,
            high,
        }
    }
}

/// Flows in a slab with a small index beside it: the index holds only keys and slot
/// numbers, so when the hash table grows (it doubles, and tombstones left by evictions
/// make it grow) only the small index is copied, never the flows.
struct FlowStore {
    index: HashMap<CanonicalKey, u32>,
    slots: Vec<Option<Flow>>,
    free: Vec<u32>,
}

impl FlowStore {
    /// A store for up to `max` flows. The slab is reserved at once, so it never moves;
    /// the pages are only touched (and resident) as flows arrive.
    fn new(max: usize) -> Self {
        FlowStore {
            index: HashMap::new(),
            slots: Vec::with_capacity(max),
            free: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn contains_key(&self, key: &CanonicalKey) -> bool {
        self.index.contains_key(key)
    }

    fn get(&self, key: &CanonicalKey) -> Option<&Flow> {
        let slot = *self.index.get(key)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    fn get_mut(&mut self, key: &CanonicalKey) -> Option<&mut Flow> {
        let slot = *self.index.get(key)?;
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    fn insert(&mut self, key: CanonicalKey, flow: Flow) {
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(place) = self.slots.get_mut(slot as usize) {
                    *place = Some(flow);
                }
                slot
            }
            None => {
                self.slots.push(Some(flow));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
    }

    fn remove(&mut self, key: &CanonicalKey) -> Option<Flow> {
        let slot = self.index.remove(key)?;
        let flow = self.slots.get_mut(slot as usize)?.take();
        self.free.push(slot);
        flow
    }

    fn iter(&self) -> impl Iterator<Item = (CanonicalKey, &Flow)> {
        self.slots
            .iter()
            .flatten()
            .map(|flow| (canonical(&flow.key), flow))
    }

    fn drain(&mut self) -> Vec<Flow> {
        self.index.clear();
        self.free.clear();
        self.slots.drain(..).flatten().collect()
    }
}

/// The lookup key of a flow.
fn canonical(key: &FlowKey) -> CanonicalKey {
    CanonicalKey::new(
        key.protocol,
        (key.initiator, key.initiator_port),
        (key.responder, key.responder_port),
    )
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for the idle timeout.
    Idle,
    /// Open longer than the active timeout; later packets start a new flow.
    Active,
    /// TCP FIN in both directions, or RST.
    Closed,
    /// The table was full and this flow was among the least recently seen.
    Evicted,
    /// The capture ended.
    EndOfCapture,
}

/// How far a TCP connection got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpProgress {
    /// The initiator sent a SYN.
    pub syn: bool,
    /// The responder answered SYN-ACK.
    pub syn_ack: bool,
    /// The initiator acknowledged the SYN-ACK: the handshake completed.
    pub established: bool,
    /// The initiator sent FIN.
    pub fin_forward: bool,
    /// The responder sent FIN.
    pub fin_backward: bool,
    /// Which side reset the connection, if any.
    pub rst_by: Option<Direction>,
}

impl TcpProgress {
    /// Closed by RST or by FIN from both sides.
    pub fn is_closed(&self) -> bool {
        self.rst_by.is_some() || (self.fin_forward && self.fin_backward)
    }
}

/// One conversation and what it carried so far.
#[derive(Debug)]
pub struct Flow {
    /// Unique per engine run, increasing.
    pub id: u64,
    /// Both endpoints, initiator first.
    pub key: FlowKey,
    /// VLAN of the first packet.
    pub vlan: Option<u16>,
    /// MAC the initiator sent from (a router's, across subnets).
    pub initiator_mac: Option<MacAddr>,
    /// MAC the responder sent from.
    pub responder_mac: Option<MacAddr>,
    /// Time of the first packet.
    pub first_ts: Timestamp,
    /// Time of the latest packet.
    pub last_ts: Timestamp,
    /// Handshake and close state (TCP only).
    pub tcp: TcpProgress,
    /// Counters and timing statistics.
    pub stats: FlowStats,
    pub(crate) streams: Option<Box<[StreamDirection; 2]>>,
}

impl Flow {
    /// How long the flow lasted so far.
    pub fn duration(&self) -> Duration {
        self.last_ts.since(self.first_ts)
    }

    /// The feature vector named by [`FEATURE_NAMES`].
    pub fn features(&self) -> [f64; 24] {
        self.stats.features(self.duration().as_secs_f64())
    }

    /// Whether the TCP handshake completed (always false for other protocols).
    pub fn is_established(&self) -> bool {
        self.tcp.established
    }

    /// Total packets both ways.
    pub fn packets(&self) -> u64 {
        self.stats.forward.packets + self.stats.backward.packets
    }

    /// Whether reassembly follows this flow.
    pub fn is_followed(&self) -> bool {
        self.streams.is_some()
    }
}

/// Limits and timeouts of the flow table.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    /// A flow with no packet for this long ends.
    pub idle_timeout: Duration,
    /// A TCP flow whose SYN was seen but never completed its handshake ends after this
    /// much silence.
    pub embryonic_timeout: Duration,
    /// A closed TCP flow lingers this long for its last ACKs.
    pub closed_linger: Duration,
    /// A flow open longer than this ends, and its next packets start a new flow.
    pub active_timeout: Duration,
    /// Flows held at once; past this the least recently seen are evicted. The default,
    /// 200,000, keeps the table near 100 MiB (about 500 bytes a flow with its index).
    pub max_flows: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            idle_timeout: Duration::from_secs(120),
            embryonic_timeout: Duration::from_secs(20),
            closed_linger: Duration::from_secs(2),
            active_timeout: Duration::from_secs(1800),
            max_flows: 200_000,
        }
    }
}

/// Counters of the flow table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowTableStats {
    /// Flows created.
    pub created: u64,
    /// Flows ended for any reason.
    pub ended: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Most flows held at once.
    pub peak: u64,
}

/// The result of accounting a packet to its flow.
pub struct FlowUpdate<'a> {
    /// The flow the packet belongs to.
    pub flow: &'a mut Flow,
    /// Which way the packet travelled.
    pub direction: Direction,
    /// This packet created the flow.
    pub is_new: bool,
    /// This packet completed the TCP handshake.
    pub established_now: bool,
}

/// All open flows.
pub struct FlowTable {
    config: FlowConfig,
    flows: FlowStore,
    next_id: u64,
    last_sweep: Timestamp,
    stats: FlowTableStats,
}

impl FlowTable {
    /// An empty table with the given limits.
    pub fn new(config: FlowConfig) -> Self {
        FlowTable {
            config,
            flows: FlowStore::new(config.max_flows),
            next_id: 1,
            last_sweep: Timestamp(0),
            stats: FlowTableStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> FlowTableStats {
        self.stats
    }

    /// Flows currently held.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether no flow is held.
    pub fn is_empty(&self) -> bool {
        self.flows.len() == 0
    }

    /// Accounts an IP packet to its flow, creating the flow when needed. Flows that must
    /// end first (evicted, timed out, reused ports) are passed to `ended`.
    /// Returns `None` for packets that belong to no flow (not IP, ICMP errors).
    pub fn update<'t>(
        &'t mut self,
        packet: &Packet<'_>,
        ended: &mut dyn FnMut(Flow, EndReason),
    ) -> Option<FlowUpdate<'t>> {
        let ip = packet.ip?;
        let (src_port, dst_port) = flow_ports(&packet.transport)?;
        let key = CanonicalKey::new(ip.protocol, (ip.src, src_port), (ip.dst, dst_port));
        let tcp = match packet.transport {
            Transport::Tcp(segment) => Some(segment),
            _ => None,
        };

        // 1. End the old flow when this packet must start a new one.
        if let Some(existing) = self.flows.get(&key) {
            let reason = if packet.ts.since(existing.first_ts) > self.config.active_timeout {
                Some(EndReason::Active)
            } else if existing.tcp.is_closed() && tcp.is_some_and(|t| t.flags.is_syn_only()) {
                Some(EndReason::Closed)
            } else {
                None
            };
            if let Some(reason) = reason
                && let Some(flow) = self.flows.remove(&key)
            {
                self.finish(flow, reason, ended);
            }
        }

        // 2. Find or create the flow.
        let is_new = !self.flows.contains_key(&key);
        if is_new {
            if self.flows.len() >= self.config.max_flows {
                self.evict(ended);
            }
            let flow = self.new_flow(packet, ip.src, src_port, ip.dst, dst_port);
            self.flows.insert(key, flow);
            self.stats.created += 1;
            self.stats.peak = self.stats.peak.max(self.flows.len() as u64);
        }
        let flow = self.flows.get_mut(&key)?;

        // 3. Account the packet.
        let direction = if flow.key.initiator == ip.src && flow.key.initiator_port == src_port {
            Direction::Forward
        } else {
            Direction::Backward
        };
        let forward = direction == Direction::Forward;
        flow.last_ts = flow.last_ts.max(packet.ts);
        let payload_len = packet.transport.payload().len();
        flow.stats.record(
            forward,
            packet.ts,
            packet.wire_len,
            payload_len,
            tcp.map(|t| (t.flags, t.window)),
        );
        let mac = packet.link.src_mac;
        if forward {
            flow.initiator_mac = flow.initiator_mac.or(mac)
        } else {
            flow.responder_mac = flow.responder_mac.or(mac)
        }
        let established_now = tcp.is_some_and(|t| advance_tcp(&mut flow.tcp, direction, t.flags));

        Some(FlowUpdate {
            flow,
            direction,
            is_new,
            established_now,
        })
    }

    /// Ends flows whose timeouts passed at capture time `now`. Sweeps at most once a
    /// second of capture time, so the cost stays flat per packet.
    pub fn expire(&mut self, now: Timestamp, ended: &mut dyn FnMut(Flow, EndReason)) {
        if now.since(self.last_sweep) < Duration::from_secs(1) {
            return;
        }
        self.last_sweep = now;
        let config = self.config;
        let mut expired: Vec<(u64, CanonicalKey, EndReason)> = self
            .flows
            .iter()
            .filter_map(|(key, flow)| expiry(&config, flow, now).map(|r| (flow.id, key, r)))
            .collect();

        // Oldest flow first, so a run's output does not depend on hash order.
        expired.sort_unstable_by_key(|(id, _, _)| *id);
        for (_, key, reason) in expired {
            if let Some(flow) = self.flows.remove(&key) {
                self.finish(flow, reason, ended);
            }
        }
    }

    /// Ends every flow, oldest first: the capture is over.
    pub fn drain(&mut self, ended: &mut dyn FnMut(Flow, EndReason)) {
        let mut flows: Vec<Flow> = self.flows.drain();
        flows.sort_by_key(|f| f.id);
        for flow in flows {
            self.finish(flow, EndReason::EndOfCapture, ended);
        }
    }

    fn finish(&mut self, flow: Flow, reason: EndReason, ended: &mut dyn FnMut(Flow, EndReason)) {
        self.stats.ended += 1;
        if reason == EndReason::Evicted {
            self.stats.evicted += 1;
        }
        ended(flow, reason);
    }

    /// Evicts the least recently seen sixteenth of the table at once, so that a flood of
    /// new flows costs a sort now and then rather than a scan per packet.
    fn evict(&mut self, ended: &mut dyn FnMut(Flow, EndReason)) {
        let mut by_age: Vec<(Timestamp, u64, CanonicalKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.last_ts, f.id, k))
            .collect();
        let count = (by_age.len() / 16).max(1).min(by_age.len());
        if count == 0 {
            return;
        }
        by_age.select_nth_unstable_by_key(count - 1, |(ts, id, _)| (*ts, *id));
        let mut oldest: Vec<_> = by_age.into_iter().take(count).collect();
        oldest.sort_unstable_by_key(|(ts, id, _)| (*ts, *id));
        for (_, _, key) in oldest {
            if let Some(flow) = self.flows.remove(&key) {
                self.finish(flow, EndReason::Evicted, ended);
            }
        }
    }

    fn new_flow(
        &mut self,
        packet: &Packet<'_>,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
    ) -> Flow {
        // A SYN-ACK seen first means we missed the SYN: its receiver is the initiator.
        let reversed = matches!(packet.transport, Transport::Tcp(t)
            if t.flags.has(TcpFlags::SYN | TcpFlags::ACK));
        let ((a, ap), (b, bp)) = if reversed {
            ((dst, dport), (src, sport))
        } else {
            ((src, sport), (dst, dport))
        };
        let id = self.next_id;
        self.next_id += 1;
        Flow {
            id,
            key: FlowKey {
                protocol: packet.ip.map(|ip| ip.protocol).unwrap_or(0),
                initiator: a,
                initiator_port: ap,
                responder: b,
                responder_port: bp,
            },
            vlan: packet.link.vlan,
            initiator_mac: None,
            responder_mac: None,
            first_ts: packet.ts,
            last_ts: packet.ts,
            tcp: TcpProgress::default(),
            stats: FlowStats::default(),
            streams: None,
        }
    }
}

/// Ports that key a flow; ICMP errors belong to the flow they report on, not to one
/// of their own, so they get `None`.
fn flow_ports(transport: &Transport<'_>) -> Option<(u16, u16)> {
    match transport {
        Transport::Tcp(t) => Some((t.src_port, t.dst_port)),
        Transport::Udp(u) => Some((u.src_port, u.dst_port)),
        Transport::Icmp(i) => {
            let error = if i.v6 {
                i.icmp_type < 128
            } else {
                matches!(i.icmp_type, 3 | 4 | 5 | 11 | 12)
            };
            (!error).then_some((0, 0))
        }
        Transport::Other { .. } => Some((0, 0)),
        Transport::None => None,
    }
}

/// Moves the TCP state on; true when this packet completed the handshake.
fn advance_tcp(tcp: &mut TcpProgress, direction: Direction, flags: TcpFlags) -> bool {
    let forward = direction == Direction::Forward;
    if flags.has(TcpFlags::RST) && tcp.rst_by.is_none() {
        tcp.rst_by = Some(direction);
    }
    if flags.has(TcpFlags::FIN) {
        if forward {
            tcp.fin_forward = true
        } else {
            tcp.fin_backward = true
        }
    }
    if flags.is_syn_only() && forward {
        tcp.syn = true;
    }
    if flags.has(TcpFlags::SYN | TcpFlags::ACK) && !forward {
        tcp.syn_ack = true;
    }
    let completes = forward
        && tcp.syn_ack
        && !tcp.established
        && flags.has(TcpFlags::ACK)
        && !flags.has(TcpFlags::SYN)
        && !flags.has(TcpFlags::RST);
    if completes {
        tcp.established = true;
    }
    completes
}

/// Why `flow` should end at `now`, if it should.
fn expiry(config: &FlowConfig, flow: &Flow, now: Timestamp) -> Option<EndReason> {
    let silent = now.since(flow.last_ts);
    let is_tcp = flow.key.protocol == 6;
    if is_tcp && flow.tcp.is_closed() && silent > config.closed_linger {
        return Some(EndReason::Closed);
    }
    if is_tcp && flow.tcp.syn && !flow.tcp.established && silent > config.embryonic_timeout {
        return Some(EndReason::Idle);
    }
    if silent > config.idle_timeout {
        return Some(EndReason::Idle);
    }
    if now.since(flow.first_ts) > config.active_timeout {
        return Some(EndReason::Active);
    }
    None
}

#[cfg(test)]
mod tests;
