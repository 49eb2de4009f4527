//! The engine: raw packets in, decoded packets, flows and stream bytes out to a handler.

use std::io::Read;

use crate::decode::{self, DecodeError, Network, Packet, Transport};
use crate::defrag::{DefragConfig, Defragmenter};
use crate::flow::{Direction, EndReason, Flow, FlowConfig, FlowTable};
use crate::reader::{CaptureReader, RawPacket, ReadError};
use crate::reassembly::{StreamConfig, StreamDirection, StreamOutput};

/// What a sensor receives from the engine. Every method has an empty default, so a
/// sensor implements only what it needs.
pub trait Handler {
    /// A decoded packet, with its flow after the packet was accounted (`None` for
    /// packets outside any flow: ARP, other ethertypes, ICMP errors).
    fn on_packet(&mut self, _packet: &Packet<'_>, _flow: Option<FlowContext<'_>>) {}

    /// A flow ended; its statistics are final.
    fn on_flow_end(&mut self, _flow: &Flow, _reason: EndReason) {}

    /// Called once when a TCP flow starts: how many bytes per direction to reassemble
    /// for it (0, the default, follows nothing).
    fn stream_depth(&mut self, _flow: &Flow) -> u64 {
        0
    }

    /// In-order bytes of one direction of a followed TCP flow.
    fn on_stream_data(&mut self, _flow: &Flow, _direction: Direction, _data: &[u8]) {}

    /// Bytes of a followed stream that will never arrive (lost or over a memory cap).
    fn on_stream_gap(&mut self, _flow: &Flow, _direction: Direction, _missing: u64) {}

    /// A packet that could not be decoded.
    fn on_undecodable(&mut self, _index: u64, _error: &DecodeError) {}
}

/// The flow a packet belongs to, as the handler sees it.
#[derive(Clone, Copy)]
pub struct FlowContext<'a> {
    /// The flow after this packet was accounted.
    pub flow: &'a Flow,
    /// Which way the packet travelled.
    pub direction: Direction,
    /// This packet created the flow.
    pub is_new: bool,
    /// This packet completed the TCP handshake.
    pub established_now: bool,
}

/// All limits of the engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineConfig {
    /// Flow table limits and timeouts.
    pub flows: FlowConfig,
    /// Fragment reassembly limits.
    pub defrag: DefragConfig,
    /// TCP reassembly limits.
    pub streams: StreamConfig,
}

/// Counters of one engine run. `decoded + undecodable == packets` always holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Packets seen.
    pub packets: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// Packets decoded without error (IP, ARP or another ethertype).
    pub decoded: u64,
    /// Packets that failed to decode.
    pub undecodable: u64,
    /// Records the reader could not read (not counted in `packets`).
    pub read_errors: u64,
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Flows created.
    pub flows: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Holes skipped in followed TCP streams.
    pub stream_gaps: u64,
}

/// Decodes packets, reassembles fragments and streams, tracks flows.
pub struct Engine {
    config: EngineConfig,
    defrag: Defragmenter,
    flows: FlowTable,
    stream_budget: usize,
    stats: EngineStats,
}

impl Engine {
    /// An engine with no flows yet.
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            config,
            defrag: Defragmenter::new(config.defrag),
            flows: FlowTable::new(config.flows),
            stream_budget: 0,
            stats: EngineStats::default(),
        }
    }

    /// Counters so far, flow table and defragmenter included.
    pub fn stats(&self) -> EngineStats {
        let table = self.flows.stats();
        let defrag = self.defrag.stats();
        EngineStats {
            flows: table.created,
            evicted: table.evicted,
            fragments: defrag.fragments,
            reassembled: defrag.reassembled,
            ..self.stats
        }
    }

    /// Flows currently open.
    pub fn open_flows(&self) -> usize {
        self.flows.len()
    }

    /// Reads a whole capture through the engine; read errors go to `on_read_error` and
    /// reading goes on while the file allows. Flows stay open: call [`Engine::finish`]
    /// after the last file.
    pub fn run<R: Read>(
        &mut self,
        reader: &mut CaptureReader<R>,
        handler: &mut dyn Handler,
        on_read_error: &mut dyn FnMut(&ReadError),
    ) {
        loop {
            match reader.next_packet() {
                Ok(Some(raw)) => self.process(&raw, handler),
                Ok(None) => break,
                Err(err) => {
                    self.stats.read_errors += 1;
                    on_read_error(&err);
                }
            }
        }
    }

    /// Counts a record the reader could not read, for callers that drive the reader
    /// themselves instead of calling [`Engine::run`].
    pub fn count_read_error(&mut self) {
        self.stats.read_errors += 1;
    }

    /// Processes one raw packet.
    pub fn process(&mut self, raw: &RawPacket<'_>, handler: &mut dyn Handler) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(raw.orig_len);
        self.expire(raw, handler);

        // 1. Link and network layers.
        let frame = match decode::decode_frame(raw.link, raw.data) {
            Ok(frame) => frame,
            Err(err) => return self.undecodable(raw.index, &err, handler),
        };
        let mut packet = Packet {
            index: raw.index,
            ts: raw.ts,
            wire_len: raw.orig_len,
            link: frame.link,
            ip: None,
            arp: None,
            transport: Transport::None,
        };
        let datagram = match frame.network {
            Network::Ip(datagram) => datagram,
            Network::Arp(arp) => {
                packet.arp = Some(arp);
                self.stats.decoded += 1;
                return handler.on_packet(&packet, None);
            }
            Network::Other { .. } => {
                self.stats.decoded += 1;
                return handler.on_packet(&packet, None);
            }
        };
        packet.ip = Some(datagram.header);

        // 2. Fragments wait for their datagram; the packet completing it carries it on.
        let whole;
        let payload = match datagram.fragment {
            None => datagram.payload,
            Some(fragment) => {
                self.stats.decoded += 1;
                match self
                    .defrag
                    .push(raw.ts, &datagram.header, fragment, datagram.payload)
                {
                    Some(bytes) => {
                        whole = bytes;
                        self.stats.decoded -= 1;
                        &whole[..]
                    }
                    None => return,
                }
            }
        };

        // 3. Transport layer, then flows and streams.
        match decode::decode_transport(datagram.header.protocol, payload) {
            Ok(transport) => packet.transport = transport,
            Err(err) => return self.undecodable(raw.index, &err, handler),
        }
        self.stats.decoded += 1;
        self.account(&packet, handler);
    }

    /// Ends flows whose timeouts passed at `now`, for live captures that go quiet.
    pub fn expire_at(&mut self, now: crate::time::Timestamp, handler: &mut dyn Handler) {
        let budget = &mut self.stream_budget;
        let gaps = &mut self.stats.stream_gaps;
        self.flows.expire(now, &mut |flow, reason| {
            end_flow(flow, reason, handler, budget, gaps)
        });
    }

    /// Ends every open flow (flushing their streams): call after the last packet.
    pub fn finish(&mut self, handler: &mut dyn Handler) {
        let budget = &mut self.stream_budget;
        let gaps = &mut self.stats.stream_gaps;
        self.flows
            .drain(&mut |flow, reason| end_flow(flow, reason, handler, budget, gaps));
    }

    fn undecodable(&mut self, index: u64, err: &DecodeError, handler: &mut dyn Handler) {
        self.stats.undecodable += 1;
        handler.on_undecodable(index, err);
    }

    fn expire(&mut self, raw: &RawPacket<'_>, handler: &mut dyn Handler) {
        let budget = &mut self.stream_budget;
        let gaps = &mut self.stats.stream_gaps;
        self.flows.expire(raw.ts, &mut |flow, reason| {
            end_flow(flow, reason, handler, budget, gaps)
        });
    }

    /// Accounts a packet to its flow, hands both to the handler, feeds the stream.
    fn account(&mut self, packet: &Packet<'_>, handler: &mut dyn Handler) {
        let budget = &mut self.stream_budget;
        let gaps = &mut self.stats.stream_gaps;
        let update = self.flows.update(packet, &mut |flow, reason| {
            end_flow(flow, reason, handler, budget, gaps)
        });
        let Some(update) = update else {
            return handler.on_packet(packet, None);
        };
        let flow = update.flow;

        // A new TCP flow asks the handler whether to follow its streams.
        if update.is_new && flow.key.protocol == 6 {
            let depth = handler.stream_depth(flow);
            if depth > 0 {
                flow.streams = Some(Box::new([
                    StreamDirection::new(depth),
                    StreamDirection::new(depth),
                ]));
            }
        }
        let context = FlowContext {
            flow,
            direction: update.direction,
            is_new: update.is_new,
            established_now: update.established_now,
        };
        handler.on_packet(packet, Some(context));

        if let Transport::Tcp(segment) = packet.transport {
            let config = self.config.streams;
            feed_stream(
                flow,
                update.direction,
                &segment,
                &config,
                &mut self.stream_budget,
                &mut self.stats.stream_gaps,
                handler,
            );
        }
    }
}

/// Pushes a TCP segment into its flow's stream and hands out what became ordered.
fn feed_stream(
    flow: &mut Flow,
    direction: Direction,
    segment: &decode::TcpSegment<'_>,
    config: &StreamConfig,
    budget: &mut usize,
    gaps: &mut u64,
    handler: &mut dyn Handler,
) {
    let Some(mut streams) = flow.streams.take() else {
        return;
    };
    let side = match direction {
        Direction::Forward => &mut streams[0],
        Direction::Backward => &mut streams[1],
    };
    if segment.flags.has(decode::TcpFlags::SYN) {
        side.syn(segment.seq);
    }
    side.push(
        segment.seq,
        segment.payload,
        config,
        budget,
        &mut |out| match out {
            StreamOutput::Data(data) => handler.on_stream_data(flow, direction, data),
            StreamOutput::Gap(missing) => {
                *gaps += 1;
                handler.on_stream_gap(flow, direction, missing);
            }
        },
    );
    flow.streams = Some(streams);
}

/// Flushes a flow's streams, then reports its end.
fn end_flow(
    mut flow: Flow,
    reason: EndReason,
    handler: &mut dyn Handler,
    budget: &mut usize,
    gaps: &mut u64,
) {
    if let Some(mut streams) = flow.streams.take() {
        for (side, direction) in streams
            .iter_mut()
            .zip([Direction::Forward, Direction::Backward])
        {
            side.flush(budget, &mut |out| match out {
                StreamOutput::Data(data) => handler.on_stream_data(&flow, direction, data),
                StreamOutput::Gap(missing) => {
                    *gaps += 1;
                    handler.on_stream_gap(&flow, direction, missing);
                }
            });
        }
    }
    handler.on_flow_end(&flow, reason);
}
