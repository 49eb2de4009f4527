//! Floods: SYN floods and volumetric denial of service against one target.
//!
//! Per target address the detection counts, second by second, SYNs received,
//! handshakes completed and "unsolicited" packets (anything but established TCP:
//! UDP, ICMP, TCP that never completed a handshake). Over a short window it raises
//! `network.syn_flood` when SYNs arrive fast and few complete, and `network.udp_flood`
//! (mostly UDP) or `network.dos` (ICMP and the rest) when unsolicited packets arrive
//! faster than a busy server would ever see them. Bulk
//! transfers over established TCP (PACS, backups) do not count.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::engine::FlowContext;
use safecare_capture::{Packet, Timestamp, decode::Transport};

use super::{Detector, is_group_or_unspecified};
use crate::context::{Context, Finding, Peer};
use crate::window::Cooldown;

/// Thresholds of the flood detection.
#[derive(Debug, Clone, Copy)]
pub struct FloodConfig {
    /// Seconds averaged over.
    pub window_secs: u64,
    /// SYNs per second to one target.
    pub syn_per_sec: u64,
    /// At most this share of those SYNs may complete a handshake.
    pub max_completion: f64,
    /// Unsolicited packets per second to one target.
    pub packets_per_sec: u64,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            window_secs: 3,
            syn_per_sec: 200,
            max_completion: 0.1,
            packets_per_sec: 5000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    syn: u64,
    established: u64,
    unsolicited: u64,
    /// Unsolicited packets that were UDP.
    udp: u64,
    bytes: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.syn += other.syn;
        self.established += other.established;
        self.unsolicited += other.unsolicited;
        self.udp += other.udp;
        self.bytes += other.bytes;
    }
}

#[derive(Debug, Default)]
struct Target {
    second: u64,
    current: Counts,
    past: VecDeque<(u64, Counts)>,
    sources: HashSet<IpAddr>,
    sources_since: u64,
    last_port: u16,
}

/// Targets tracked at once; idle ones are dropped first.
const MAX_TARGETS: usize = 100_000;
/// Distinct sources remembered per target.
const MAX_SOURCES: usize = 4096;

/// The flood detection.
pub struct Flood {
    config: FloodConfig,
    targets: HashMap<IpAddr, Target>,
    reported: Cooldown<(IpAddr, &'static str)>,
}

impl Default for Flood {
    fn default() -> Self {
        Flood::new(FloodConfig::default())
    }
}

impl Flood {
    /// A detection with the given thresholds.
    pub fn new(config: FloodConfig) -> Self {
        Flood {
            config,
            targets: HashMap::new(),
            reported: Cooldown::new(Duration::from_secs(300), 10_000),
        }
    }

    fn target(&mut self, ip: IpAddr, second: u64) -> &mut Target {
        if !self.targets.contains_key(&ip) && self.targets.len() >= MAX_TARGETS {
            self.targets
                .retain(|_, t| second.saturating_sub(t.second) < 10);
        }
        self.targets.entry(ip).or_insert_with(|| Target {
            second,
            sources_since: second,
            ..Target::default()
        })
    }

    /// Closes the target's current second and checks the window.
    fn roll(&mut self, ip: IpAddr, second: u64, ts: Timestamp, cx: &mut Context<'_>) {
        let window = self.config.window_secs;
        let Some(target) = self.targets.get_mut(&ip) else {
            return;
        };
        if target.second == second {
            return;
        }
        target.past.push_back((target.second, target.current));
        target.current = Counts::default();
        target.second = second;
        while target
            .past
            .front()
            .is_some_and(|(s, _)| second.saturating_sub(*s) > window)
        {
            target.past.pop_front();
        }
        if second.saturating_sub(target.sources_since) > 60 {
            target.sources.clear();
            target.sources_since = second;
        }

        let mut total = Counts::default();
        for (_, counts) in &target.past {
            total.add(counts);
        }
        // Seconds the window covers so far: rates are over those, not the full window.
        let first = target.past.front().map_or(second, |(s, _)| *s);
        let last = target.past.back().map_or(second, |(s, _)| *s);
        let covered = (last - first + 1).min(window.max(1));
        let sources = target.sources.len();
        let port = target.last_port;
        self.check(ip, port, total, covered, sources, ts, cx);
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        ip: IpAddr,
        port: u16,
        total: Counts,
        secs: u64,
        sources: usize,
        ts: Timestamp,
        cx: &mut Context<'_>,
    ) {
        let config = self.config;
        let completion = if total.syn > 0 {
            total.established as f64 / total.syn as f64
        } else {
            1.0
        };

        if total.syn >= config.syn_per_sec * secs && completion <= config.max_completion {
            if self.reported.ready((ip, "syn"), ts) {
                let summary = format!(
                    "SYN flood against {}: {} SYNs/s from {sources} sources, {:.0}% completed",
                    cx.describe(ip),
                    total.syn / secs,
                    completion * 100.0
                );
                let finding = Finding::new("network.syn_flood", 70, 0.85, ts, summary)
                    .destination(Peer::with_port(ip, port))
                    .techniques(&["T1499.001"])
                    .evidence("detector", "flood")
                    .evidence("flood.syn_per_sec", total.syn / secs)
                    .evidence("flood.completed_ratio", completion)
                    .evidence("flood.sources", sources)
                    .evidence("flood.window_s", secs);
                cx.report(finding);
            }
        } else if total.unsolicited >= config.packets_per_sec * secs
            && self.reported.ready((ip, "dos"), ts)
        {
            // Mostly UDP: the catalogue's udp_flood; ICMP or other floods: dos.
            let (kind, what) = if total.udp * 2 >= total.unsolicited {
                ("network.udp_flood", "UDP flood")
            } else {
                ("network.dos", "Volumetric flood")
            };
            let mbit = total.bytes as f64 * 8.0 / 1e6 / secs as f64;
            let summary = format!(
                "{what} against {}: {} packets/s ({mbit:.1} Mbit/s) from {sources} sources",
                cx.describe(ip),
                total.unsolicited / secs,
            );
            let finding = Finding::new(kind, 70, 0.8, ts, summary)
                .destination(Peer::ip(ip))
                .techniques(&["T1498.001"])
                .evidence("detector", "flood")
                .evidence("flood.packets_per_sec", total.unsolicited / secs)
                .evidence("flood.mbit_per_sec", (mbit * 10.0).round() / 10.0)
                .evidence("flood.sources", sources)
                .evidence("flood.window_s", secs);
            cx.report(finding);
        }
    }
}

impl Detector for Flood {
    fn name(&self) -> &'static str {
        "flood"
    }

    fn on_packet(
        &mut self,
        packet: &Packet<'_>,
        flow: Option<FlowContext<'_>>,
        cx: &mut Context<'_>,
    ) {
        let Some(ip) = packet.ip else { return };
        if is_group_or_unspecified(ip.dst) {
            return;
        }
        let second = packet.ts.secs();
        self.target(ip.dst, second);
        self.roll(ip.dst, second, packet.ts, cx);
        let Some(target) = self.targets.get_mut(&ip.dst) else {
            return;
        };

        // Account the packet in the target's current second.
        let established = flow.is_some_and(|f| f.flow.is_established());
        let counts = &mut target.current;
        counts.bytes += u64::from(packet.wire_len);
        match packet.transport {
            Transport::Tcp(tcp) if tcp.flags.is_syn_only() => {
                counts.syn += 1;
                counts.unsolicited += 1;
                target.last_port = tcp.dst_port;
            }
            Transport::Tcp(_) if established => {}
            Transport::Udp(_) => {
                counts.unsolicited += 1;
                counts.udp += 1;
            }
            _ => counts.unsolicited += 1,
        }
        if flow.is_some_and(|f| f.established_now) {
            counts.established += 1;
        }
        if target.sources.len() < MAX_SOURCES {
            target.sources.insert(ip.src);
        }
    }
}
