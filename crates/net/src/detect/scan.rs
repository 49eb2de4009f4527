//! Port scans: one source probing many ports or many hosts without holding a conversation.
//!
//! A probe is a flow that ended without carrying data: a TCP SYN answered by RST or
//! by nothing, a half-open SYN/SYN-ACK/RST, a connect that closed without a byte
//! (connect scan), or a UDP datagram that got no answer. Probes are kept per source;
//! many distinct (host, port) targets within a minute is a fast scan (masscan-like),
//! within an hour a slow one. Whether the scan is vertical (many ports of one host)
//! or horizontal (one port across hosts) is read from the targets.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::{EndReason, Flow};

use super::{Detector, is_group_or_unspecified};
use crate::app::AppFacts;
use crate::context::{Context, Finding, Peer, Subject};
use crate::window::{Cooldown, KeyedRecent};

/// How a probe looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// A SYN answered by RST or nothing, or a half-open handshake.
    Syn,
    /// A handshake closed without data.
    Connect,
    /// A UDP datagram without answer.
    Udp,
}

impl ProbeKind {
    fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Syn => "syn",
            ProbeKind::Connect => "connect",
            ProbeKind::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    host: IpAddr,
    port: u16,
    kind: ProbeKind,
}

/// Thresholds of the scan detection.
#[derive(Debug, Clone, Copy)]
pub struct ScanConfig {
    /// Window of a fast scan.
    pub fast_window: Duration,
    /// Distinct (host, port) targets that make a fast scan.
    pub fast_targets: usize,
    /// Window of a slow scan.
    pub slow_window: Duration,
    /// Distinct targets that make a slow scan.
    pub slow_targets: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            fast_window: Duration::from_secs(60),
            fast_targets: 25,
            slow_window: Duration::from_secs(3600),
            slow_targets: 40,
        }
    }
}

/// The port scan detection.
pub struct PortScan {
    config: ScanConfig,
    probes: KeyedRecent<IpAddr, Probe>,
    reported: Cooldown<IpAddr>,
}

impl Default for PortScan {
    fn default() -> Self {
        PortScan::new(ScanConfig::default())
    }
}

impl PortScan {
    /// A detection with the given thresholds.
    pub fn new(config: ScanConfig) -> Self {
        PortScan {
            config,
            probes: KeyedRecent::new(8192, 20_000),
            reported: Cooldown::new(config.slow_window, 20_000),
        }
    }
}

impl Detector for PortScan {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn on_flow_end(
        &mut self,
        flow: &Flow,
        _reason: EndReason,
        _facts: &AppFacts,
        cx: &mut Context<'_>,
    ) {
        let Some(kind) = classify(flow) else { return };
        let key = &flow.key;
        if is_group_or_unspecified(key.responder) {
            return;
        }
        let probe = Probe {
            host: key.responder,
            port: key.responder_port,
            kind,
        };
        let window = self.config.slow_window;
        let recent = self
            .probes
            .push(key.initiator, flow.first_ts, probe, window);
        if self.reported.is_quiet(&key.initiator, flow.first_ts) {
            // Already reported: keep the probes, skip the counting.
            return;
        }

        // Fast first, then slow: distinct targets within each window.
        let now = flow.first_ts;
        let fast: Vec<Probe> = recent
            .within(now, self.config.fast_window)
            .copied()
            .collect();
        let speed = if distinct(&fast) >= self.config.fast_targets {
            Some(("fast", fast))
        } else {
            let slow: Vec<Probe> = recent.within(now, window).copied().collect();
            (distinct(&slow) >= self.config.slow_targets).then_some(("slow", slow))
        };
        let Some((speed, probes)) = speed else { return };
        if self.reported.ready(key.initiator, now) {
            cx.report(finding(flow, speed, &probes, cx));
        }
    }
}

/// Whether an ended flow was a probe, and of which kind.
fn classify(flow: &Flow) -> Option<ProbeKind> {
    let (forward, backward) = (&flow.stats.forward, &flow.stats.backward);
    let no_data = forward.payload_bytes == 0 && backward.payload_bytes == 0;
    match flow.key.protocol {
        6 if !flow.tcp.syn => None,
        6 if !flow.tcp.established && no_data => Some(ProbeKind::Syn),
        6 if no_data && forward.packets <= 4 && flow.tcp.is_closed() => Some(ProbeKind::Connect),
        17 if backward.packets == 0 && forward.packets <= 2 => Some(ProbeKind::Udp),
        _ => None,
    }
}

fn distinct(probes: &[Probe]) -> usize {
    probes
        .iter()
        .map(|p| (p.host, p.port))
        .collect::<HashSet<_>>()
        .len()
}

fn finding(flow: &Flow, speed: &str, probes: &[Probe], cx: &Context<'_>) -> Finding {
    // Shape: the most ports on one host versus the most hosts on one port.
    let mut ports_per_host: HashMap<IpAddr, HashSet<u16>> = HashMap::new();
    let mut hosts_per_port: HashMap<u16, HashSet<IpAddr>> = HashMap::new();
    let mut kinds: HashMap<ProbeKind, usize> = HashMap::new();
    for p in probes {
        ports_per_host.entry(p.host).or_default().insert(p.port);
        hosts_per_port.entry(p.port).or_default().insert(p.host);
        *kinds.entry(p.kind).or_default() += 1;
    }
    let (top_host, max_ports) = ports_per_host
        .iter()
        .map(|(h, ports)| (*h, ports.len()))
        .max_by_key(|(h, n)| (*n, *h))
        .unwrap_or((flow.key.responder, 0));
    let max_hosts = hosts_per_port.values().map(HashSet::len).max().unwrap_or(0);
    let shape = if max_ports >= max_hosts {
        "vertical"
    } else {
        "horizontal"
    };
    let kind = kinds
        .iter()
        .max_by_key(|(k, n)| (**n, k.as_str()))
        .map_or("syn", |(k, _)| k.as_str());
    let targets = distinct(probes);

    let scanner = flow.key.initiator;
    let what = match shape {
        "vertical" => format!("{max_ports} ports of {}", cx.describe(top_host)),
        _ => format!("{} hosts", ports_per_host.len()),
    };
    let summary = format!(
        "{} {speed} {kind} port scan from {} probing {what}",
        capitalize(shape),
        cx.describe(scanner)
    );
    let severity = if speed == "fast" { 45 } else { 40 };
    let mut sample_ports: Vec<u16> = hosts_per_port.keys().copied().collect();
    sample_ports.sort_unstable();
    sample_ports.truncate(20);

    let mut finding = Finding::new("network.port_scan", severity, 0.8, flow.first_ts, summary)
        .source(Peer {
            mac: flow.initiator_mac,
            ..Peer::ip(scanner)
        })
        .subject(Subject::Source)
        .techniques(&["T1046"])
        .evidence("detector", "scan")
        .evidence("scan.shape", shape)
        .evidence("scan.speed", speed)
        .evidence("scan.probe_kind", kind)
        .evidence("scan.targets", targets)
        .evidence("scan.hosts", ports_per_host.len())
        .evidence("scan.ports", hosts_per_port.len())
        .evidence("scan.sample_ports", sample_ports);
    if shape == "vertical" {
        finding = finding.destination(Peer::ip(top_host));
    }
    finding
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
