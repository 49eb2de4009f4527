//! Per-flow statistics of the kind CICFlowMeter computes, kept in constant memory.

use crate::decode::TcpFlags;
use crate::time::Timestamp;

/// Count, mean, spread and range of a series, updated one value at a time (Welford).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunningStats {
    /// Values seen.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    m2: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl RunningStats {
    /// Adds one value.
    pub fn push(&mut self, value: f64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
    }

    /// Population standard deviation, 0 for fewer than two values.
    pub fn std_dev(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2 / self.count as f64).sqrt()
        }
    }
}

/// What one direction of a flow carried.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DirectionStats {
    /// Packets seen.
    pub packets: u64,
    /// Bytes on the wire, link header included.
    pub bytes: u64,
    /// Transport payload bytes.
    pub payload_bytes: u64,
    /// Transport payload size per packet.
    pub payload_size: RunningStats,
    /// Seconds between packets of this direction.
    pub iat: RunningStats,
    /// TCP window of the first packet, when TCP.
    pub init_window: Option<u16>,
    pub(crate) last_ts: Option<Timestamp>,
}

impl DirectionStats {
    fn record(&mut self, ts: Timestamp, wire_len: u32, payload_len: usize, window: Option<u16>) {
        if let Some(last) = self.last_ts {
            self.iat.push(ts.since(last).as_secs_f64());
        }
        self.last_ts = Some(ts);
        self.packets += 1;
        self.bytes += u64::from(wire_len);
        self.payload_bytes += payload_len as u64;
        self.payload_size.push(payload_len as f64);
        if self.init_window.is_none() {
            self.init_window = window;
        }
    }
}

/// TCP flags seen over the whole flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlagCounts {
    /// Packets with SYN.
    pub syn: u32,
    /// Packets with FIN.
    pub fin: u32,
    /// Packets with RST.
    pub rst: u32,
    /// Packets with PSH.
    pub psh: u32,
    /// Packets with ACK.
    pub ack: u32,
    /// Packets with URG.
    pub urg: u32,
    /// Packets with ECE.
    pub ece: u32,
    /// Packets with CWR.
    pub cwr: u32,
}

impl FlagCounts {
    fn record(&mut self, flags: TcpFlags) {
        let count = |on: bool| u32::from(on);
        self.syn += count(flags.has(TcpFlags::SYN));
        self.fin += count(flags.has(TcpFlags::FIN));
        self.rst += count(flags.has(TcpFlags::RST));
        self.psh += count(flags.has(TcpFlags::PSH));
        self.ack += count(flags.has(TcpFlags::ACK));
        self.urg += count(flags.has(TcpFlags::URG));
        self.ece += count(flags.has(TcpFlags::ECE));
        self.cwr += count(flags.has(TcpFlags::CWR));
    }
}

/// Everything a flow accumulates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlowStats {
    /// Initiator to responder.
    pub forward: DirectionStats,
    /// Responder to initiator.
    pub backward: DirectionStats,
    /// Seconds between packets of either direction.
    pub iat: RunningStats,
    /// TCP flag counts, both directions.
    pub flags: FlagCounts,
    last_ts: Option<Timestamp>,
}

/// Names of [`FlowStats::features`], in order; stable, as models store them.
pub const FEATURE_NAMES: [&str; 24] = [
    "duration_s",
    "fwd_packets",
    "bwd_packets",
    "fwd_bytes",
    "bwd_bytes",
    "fwd_payload_mean",
    "fwd_payload_max",
    "fwd_payload_std",
    "bwd_payload_mean",
    "bwd_payload_max",
    "bwd_payload_std",
    "flow_iat_mean_s",
    "flow_iat_std_s",
    "flow_iat_max_s",
    "fwd_iat_mean_s",
    "bwd_iat_mean_s",
    "bytes_per_s",
    "packets_per_s",
    "syn_count",
    "fin_count",
    "rst_count",
    "psh_count",
    "down_up_ratio",
    "fwd_init_window",
];

impl FlowStats {
    /// Accounts one packet travelling in `forward` direction or back.
    pub(crate) fn record(
        &mut self,
        forward: bool,
        ts: Timestamp,
        wire_len: u32,
        payload_len: usize,
        tcp: Option<(TcpFlags, u16)>,
    ) {
        if let Some(last) = self.last_ts {
            self.iat.push(ts.since(last).as_secs_f64());
        }
        self.last_ts = Some(ts);
        let side = if forward {
            &mut self.forward
        } else {
            &mut self.backward
        };
        side.record(ts, wire_len, payload_len, tcp.map(|(_, window)| window));
        if let Some((flags, _)) = tcp {
            self.flags.record(flags);
        }
    }

    /// The feature vector named by [`FEATURE_NAMES`], for a flow lasting `duration_s`.
    pub fn features(&self, duration_s: f64) -> [f64; 24] {
        let (f, b) = (&self.forward, &self.backward);
        let packets = (f.packets + b.packets) as f64;
        let bytes = (f.bytes + b.bytes) as f64;
        let rate = |x: f64| if duration_s > 0.0 { x / duration_s } else { x };
        [
            duration_s,
            f.packets as f64,
            b.packets as f64,
            f.bytes as f64,
            b.bytes as f64,
            f.payload_size.mean,
            f.payload_size.max,
            f.payload_size.std_dev(),
            b.payload_size.mean,
            b.payload_size.max,
            b.payload_size.std_dev(),
            self.iat.mean,
            self.iat.std_dev(),
            self.iat.max,
            f.iat.mean,
            b.iat.mean,
            rate(bytes),
            rate(packets),
            f64::from(self.flags.syn),
            f64::from(self.flags.fin),
            f64::from(self.flags.rst),
            f64::from(self.flags.psh),
            if f.packets > 0 {
                b.packets as f64 / f.packets as f64
            } else {
                0.0
            },
            f64::from(f.init_window.unwrap_or(0)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_stats_match_the_textbook_values() {
        let mut stats = RunningStats::default();
        for v in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            stats.push(v);
        }
        assert_eq!(stats.count, 8);
        assert!((stats.mean - 5.0).abs() < 1e-12);
        assert!((stats.std_dev() - 2.0).abs() < 1e-12);
        assert_eq!((stats.min, stats.max), (2.0, 9.0));
    }
}
