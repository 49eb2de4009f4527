//! Cleartext protocols to medical devices: telnet, FTP and HTTP Basic authentication.
//!
//! Medical devices should be administered over encrypted channels only. A telnet or
//! FTP session that completed its handshake, or an HTTP request carrying Basic
//! credentials, with a medical device at either end raises
//! `network.cleartext_credentials`, once per client, device and protocol per hour. User
//! names are reported; passwords are never read into the event.

use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::{EndReason, Flow};

use super::Detector;
use crate::app::AppFacts;
use crate::context::{Context, Finding, Peer};
use crate::window::Cooldown;

/// The cleartext protocol detection.
pub struct Cleartext {
    reported: Cooldown<(IpAddr, IpAddr, &'static str)>,
}

impl Default for Cleartext {
    fn default() -> Self {
        Cleartext {
            reported: Cooldown::new(Duration::from_secs(3600), 10_000),
        }
    }
}

/// The cleartext protocol a flow used and the user name it exposed, if any.
fn cleartext_use(flow: &Flow, facts: &AppFacts) -> Option<(&'static str, Option<String>)> {
    if let Some(http) = facts
        .http
        .as_ref()
        .filter(|h| !h.basic_auth_users.is_empty())
    {
        return Some(("http-basic-auth", http.basic_auth_users.first().cloned()));
    }
    if facts.ftp_user.is_some() || (flow.key.responder_port == 21 && flow.is_established()) {
        return Some(("ftp", facts.ftp_user.clone()));
    }
    if facts.telnet || (flow.key.responder_port == 23 && flow.is_established()) {
        return Some(("telnet", None));
    }
    None
}

impl Detector for Cleartext {
    fn name(&self) -> &'static str {
        "cleartext"
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
        let (client, server) = (flow.key.initiator, flow.key.responder);
        let device = [server, client]
            .into_iter()
            .find(|ip| cx.is_medical_device(*ip));
        let Some(device) = device else { return };
        let Some((protocol, user)) = cleartext_use(flow, facts) else {
            return;
        };
        if !self
            .reported
            .ready((client, server, protocol), flow.first_ts)
        {
            return;
        }

        let credentials = if user.is_some() || protocol != "telnet" {
            "with credentials "
        } else {
            ""
        };
        let summary = format!(
            "Cleartext {protocol} {credentials}between {} and medical device {}",
            cx.describe(client),
            cx.describe(device)
        );
        let subject = if device == server {
            crate::context::Subject::Destination
        } else {
            crate::context::Subject::Source
        };
        let mut finding = Finding::new(
            "network.cleartext_credentials",
            50,
            0.9,
            flow.first_ts,
            summary,
        )
        .source(Peer {
            mac: flow.initiator_mac,
            ..Peer::ip(client)
        })
        .destination(Peer::with_port(server, flow.key.responder_port))
        .subject(subject)
        .techniques(&["T1040", "T1552.001"])
        .evidence("detector", "cleartext")
        .evidence("cleartext.protocol", protocol);
        if let Some(user) = user {
            finding = finding.evidence("user.name", user);
        }
        cx.report(finding);
    }
}
