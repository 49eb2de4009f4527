//! Brute force: many short login sessions from one source to one service.
//!
//! SSH, RDP, SMB, telnet, FTP and VNC: each established, short session to the
//! service's port counts as a login attempt, since a failed login ends the session
//! within seconds. HTTP: requests the stream shows to be logins (a POST to a login
//! path, or HTTP authentication) count one by one, even within one keep-alive
//! connection. Many attempts from one source against one target within five minutes
//! raise `auth.brute_force`.

use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::{EndReason, Flow};

use super::Detector;
use crate::app::AppFacts;
use crate::context::{Context, Finding, Peer};
use crate::window::{Cooldown, KeyedRecent};

/// Service ports whose short sessions are login attempts.
const SESSION_SERVICES: [(u16, &str); 7] = [
    (22, "ssh"),
    (3389, "rdp"),
    (445, "smb"),
    (139, "smb"),
    (23, "telnet"),
    (21, "ftp"),
    (5900, "vnc"),
];

/// Thresholds of the brute-force detection.
#[derive(Debug, Clone, Copy)]
pub struct BruteConfig {
    /// How far back attempts are counted.
    pub window: Duration,
    /// Attempts within the window.
    pub attempts: usize,
    /// A session longer than this is a user at work, not an attempt.
    pub max_session: Duration,
    /// A session with more packets than this is a user at work.
    pub max_packets: u64,
}

impl Default for BruteConfig {
    fn default() -> Self {
        BruteConfig {
            window: Duration::from_secs(300),
            attempts: 10,
            max_session: Duration::from_secs(30),
            max_packets: 200,
        }
    }
}

type Key = (IpAddr, IpAddr, &'static str);

/// The brute-force detection.
pub struct BruteForce {
    config: BruteConfig,
    attempts: KeyedRecent<Key, u16>,
    reported: Cooldown<Key>,
}

impl Default for BruteForce {
    fn default() -> Self {
        BruteForce::new(BruteConfig::default())
    }
}

impl BruteForce {
    /// A detection with the given thresholds.
    pub fn new(config: BruteConfig) -> Self {
        BruteForce {
            config,
            attempts: KeyedRecent::new(4096, 50_000),
            reported: Cooldown::new(config.window, 10_000),
        }
    }

    /// The service and number of login attempts an ended flow represents.
    fn attempts_in(&self, flow: &Flow, facts: &AppFacts) -> Option<(&'static str, usize)> {
        if let Some(http) = &facts.http {
            return (http.login_attempts > 0).then_some(("http", http.login_attempts as usize));
        }
        let port = flow.key.responder_port;
        let service = SESSION_SERVICES
            .iter()
            .find(|(p, _)| *p == port)
            .map(|(_, s)| *s)?;
        let short =
            flow.duration() <= self.config.max_session && flow.packets() <= self.config.max_packets;
        (flow.is_established() && short).then_some((service, 1))
    }
}

impl Detector for BruteForce {
    fn name(&self) -> &'static str {
        "brute"
    }

    fn on_flow_end(
        &mut self,
        flow: &Flow,
        _reason: EndReason,
        facts: &AppFacts,
        cx: &mut Context<'_>,
    ) {
        if flow.key.protocol != 6 {
            return;
        }
        let Some((service, count)) = self.attempts_in(flow, facts) else {
            return;
        };
        let key: Key = (flow.key.initiator, flow.key.responder, service);
        let window = self.config.window;
        for _ in 0..count.min(1024) {
            self.attempts
                .push(key, flow.first_ts, flow.key.responder_port, window);
        }
        let seen = self
            .attempts
            .get(&key)
            .map_or(0, |r| r.within(flow.first_ts, window).count());
        if seen < self.config.attempts || !self.reported.ready(key, flow.first_ts) {
            return;
        }

        let summary = format!(
            "Brute force against {service} on {} from {}: {seen} login attempts in {} minutes",
            cx.describe(flow.key.responder),
            cx.describe(flow.key.initiator),
            window.as_secs() / 60
        );
        let mut finding = Finding::new("auth.brute_force", 60, 0.75, flow.first_ts, summary)
            .source(Peer {
                mac: flow.initiator_mac,
                ..Peer::ip(flow.key.initiator)
            })
            .destination(Peer::with_port(flow.key.responder, flow.key.responder_port))
            .techniques(&["T1110", "T1110.001"])
            .evidence("detector", "brute")
            .evidence("brute.service", service)
            .evidence("brute.attempts", seen)
            .evidence("brute.window_s", window.as_secs());
        if let Some(http) = &facts.http {
            finding = finding.evidence("brute.refused", http.refused);
        }
        cx.report(finding);
    }
}
