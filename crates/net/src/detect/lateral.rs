//! Lateral movement: one host opening remote-administration sessions to many hosts.
//!
//! Completed handshakes to SMB, RDP, WinRM or RPC are counted per source; sessions to
//! many distinct hosts within ten minutes raise `network.lateral_movement`. Failed
//! attempts are left to the scan detection.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::Packet;
use safecare_capture::engine::FlowContext;

use super::Detector;
use crate::context::{Context, Finding, Peer, Subject};
use crate::window::{Cooldown, KeyedRecent};

/// Remote administration ports and their ATT&CK sub-techniques.
const SERVICES: [(u16, &str, &str); 5] = [
    (445, "smb", "T1021.002"),
    (139, "smb", "T1021.002"),
    (3389, "rdp", "T1021.001"),
    (5985, "winrm", "T1021.006"),
    (5986, "winrm", "T1021.006"),
];

/// Thresholds of the lateral movement detection.
#[derive(Debug, Clone, Copy)]
pub struct LateralConfig {
    /// How far back attempts are counted.
    pub window: Duration,
    /// Distinct destination hosts within the window.
    pub hosts: usize,
}

impl Default for LateralConfig {
    fn default() -> Self {
        LateralConfig {
            window: Duration::from_secs(600),
            hosts: 5,
        }
    }
}

/// The lateral movement detection.
pub struct LateralMovement {
    config: LateralConfig,
    sessions: KeyedRecent<IpAddr, (IpAddr, &'static str)>,
    reported: Cooldown<IpAddr>,
}

impl Default for LateralMovement {
    fn default() -> Self {
        LateralMovement::new(LateralConfig::default())
    }
}

impl LateralMovement {
    /// A detection with the given thresholds.
    pub fn new(config: LateralConfig) -> Self {
        LateralMovement {
            config,
            sessions: KeyedRecent::new(1024, 20_000),
            reported: Cooldown::new(config.window, 10_000),
        }
    }
}

impl Detector for LateralMovement {
    fn name(&self) -> &'static str {
        "lateral"
    }

    fn on_packet(
        &mut self,
        packet: &Packet<'_>,
        flow: Option<FlowContext<'_>>,
        cx: &mut Context<'_>,
    ) {
        let Some(context) = flow.filter(|f| f.established_now) else {
            return;
        };
        let key = &context.flow.key;
        let Some((_, service, _)) = SERVICES.iter().find(|(p, _, _)| *p == key.responder_port)
        else {
            return;
        };
        let window = self.config.window;
        let recent =
            self.sessions
                .push(key.initiator, packet.ts, (key.responder, *service), window);

        let hosts: HashSet<IpAddr> = recent.within(packet.ts, window).map(|(h, _)| *h).collect();
        if hosts.len() < self.config.hosts || !self.reported.ready(key.initiator, packet.ts) {
            return;
        }
        let services: HashSet<&str> = recent.within(packet.ts, window).map(|(_, s)| *s).collect();
        let mut services: Vec<&str> = services.into_iter().collect();
        services.sort_unstable();
        let techniques: &'static [&'static str] = match services.as_slice() {
            ["rdp"] => &["T1021", "T1021.001"],
            ["smb"] => &["T1021", "T1021.002"],
            ["winrm"] => &["T1021", "T1021.006"],
            _ => &["T1021", "T1021.001", "T1021.002", "T1021.006"],
        };
        let mut targets: Vec<String> = hosts
            .iter()
            .map(|h| cx.asset(*h).map_or(h.to_string(), |a| a.id.clone()))
            .collect();
        targets.sort();

        let summary = format!(
            "Lateral movement from {}: {} sessions to {} hosts in {} minutes",
            cx.describe(key.initiator),
            services.join("/"),
            hosts.len(),
            window.as_secs() / 60
        );
        let finding = Finding::new("network.lateral_movement", 70, 0.7, packet.ts, summary)
            .source(Peer {
                mac: context.flow.initiator_mac,
                ..Peer::ip(key.initiator)
            })
            .subject(Subject::Source)
            .techniques(techniques)
            .evidence("detector", "lateral")
            .evidence("lateral.services", services)
            .evidence("lateral.hosts", hosts.len())
            .evidence("lateral.targets", targets);
        cx.report(finding);
    }
}
