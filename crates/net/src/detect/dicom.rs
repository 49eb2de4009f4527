//! DICOM associations from an AE title or host the site does not know.
//!
//! Every A-ASSOCIATE request is checked: the calling AE title must be known (listed
//! in the sensor's configuration or known to the directory as a host name), the
//! calling host must be a known asset, and a known title must come from its own
//! host. Anything else raises `network.dicom_unknown_ae`: someone is talking to the
//! PACS or a modality with an identity the site did not give out.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::{EndReason, Flow};

use super::Detector;
use crate::app::{AppFacts, Association};
use crate::context::{Context, Finding, Peer};
use crate::window::Cooldown;

/// The DICOM association detection.
pub struct DicomAe {
    known_titles: HashSet<String>,
    reported: Cooldown<(IpAddr, IpAddr, String)>,
}

impl DicomAe {
    /// A detection that also accepts `known_titles` (case-sensitive, as DICOM is).
    pub fn new(known_titles: Vec<String>) -> Self {
        DicomAe {
            known_titles: known_titles
                .into_iter()
                .map(|t| t.trim().to_string())
                .collect(),
            reported: Cooldown::new(Duration::from_secs(3600), 10_000),
        }
    }

    /// Why the association is suspicious, if it is.
    fn problem(
        &self,
        client: IpAddr,
        assoc: &Association,
        cx: &Context<'_>,
    ) -> Option<&'static str> {
        let title_asset = cx.directory.by_hostname(&assoc.calling_ae);
        let host_asset = cx.asset(client);
        let title_known = self.known_titles.contains(&assoc.calling_ae) || title_asset.is_some();
        match (title_known, host_asset) {
            (false, _) => Some("unknown_ae_title"),
            (true, None) => Some("unknown_host"),
            (true, Some(host)) => match title_asset {
                Some(owner) if owner.id != host.id => Some("ae_title_from_another_host"),
                _ => None,
            },
        }
    }
}

impl Detector for DicomAe {
    fn name(&self) -> &'static str {
        "dicom"
    }

    fn on_flow_end(
        &mut self,
        flow: &Flow,
        _reason: EndReason,
        facts: &AppFacts,
        cx: &mut Context<'_>,
    ) {
        let Some(assoc) = &facts.dicom else { return };
        let (client, server) = (flow.key.initiator, flow.key.responder);
        let Some(problem) = self.problem(client, assoc, cx) else {
            return;
        };
        if !self
            .reported
            .ready((client, server, assoc.calling_ae.clone()), flow.first_ts)
        {
            return;
        }

        let outcome = match assoc.accepted {
            Some(true) => "accepted",
            Some(false) => "rejected",
            None => "unanswered",
        };
        let summary = format!(
            "DICOM association from {problem_text} AE {} at {} to {} ({}), {outcome}",
            assoc.calling_ae,
            cx.describe(client),
            assoc.called_ae,
            cx.describe(server),
            problem_text = match problem {
                "unknown_ae_title" => "unknown",
                "unknown_host" => "an unknown host using",
                _ => "a host not owning",
            },
        );
        let severity = if assoc.accepted == Some(true) { 65 } else { 50 };
        let finding = Finding::new(
            "network.dicom_unknown_ae",
            severity,
            0.85,
            flow.first_ts,
            summary,
        )
        .source(Peer {
            mac: flow.initiator_mac,
            ..Peer::ip(client)
        })
        .destination(Peer::with_port(server, flow.key.responder_port))
        .techniques(&["T1213", "T1078"])
        .evidence("detector", "dicom")
        .evidence("dicom.problem", problem)
        .evidence("dicom.calling_ae", assoc.calling_ae.clone())
        .evidence("dicom.called_ae", assoc.called_ae.clone())
        .evidence("dicom.outcome", outcome);
        cx.report(finding);
    }
}
