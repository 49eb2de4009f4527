//! The detections. Each is a [`Detector`] in its own file: the state it keeps, the
//! thresholds it applies, the events it raises.
//!
//! | file | kind | ATT&CK |
//! |---|---|---|
//! | `scan` | `network.port_scan` | T1046 |
//! | `flood` | `network.syn_flood`, `network.udp_flood`, `network.dos` | T1499.001, T1498.001 |
//! | `brute` | `auth.brute_force` | T1110, T1110.001 |
//! | `inventory` | `network.new_device` | T1200 |
//! | `lateral` | `network.lateral_movement` | T1021 (.001 .002 .006) |
//! | `cleartext` | `network.cleartext_credentials` | T1040, T1552.001 |
//! | `dicom` | `network.dicom_unknown_ae` | T1213, T1078 |
//! | `dns` | `network.dns_tunnel` | T1071.004, T1048 |
//! | `allowlist` | `network.allowlist_violation` | T1071, T1021 |

pub mod allowlist;
pub mod brute;
pub mod cleartext;
pub mod dicom;
pub mod dns;
pub mod flood;
pub mod inventory;
pub mod lateral;
pub mod scan;

use std::net::IpAddr;

use safecare_capture::engine::FlowContext;
use safecare_capture::{EndReason, Flow, Packet};

use crate::app::AppFacts;
use crate::context::Context;
use crate::sensor::SensorConfig;

/// One detection: sees packets and ended flows, raises findings through the context.
pub trait Detector {
    /// Short stable name, used in evidence (`detector`).
    fn name(&self) -> &'static str;

    /// A decoded packet and its flow, if it has one.
    fn on_packet(
        &mut self,
        _packet: &Packet<'_>,
        _flow: Option<FlowContext<'_>>,
        _cx: &mut Context<'_>,
    ) {
    }

    /// A flow ended; `facts` holds what its streams said (empty when not followed).
    fn on_flow_end(
        &mut self,
        _flow: &Flow,
        _reason: EndReason,
        _facts: &AppFacts,
        _cx: &mut Context<'_>,
    ) {
    }
}

/// Every detection, with default thresholds.
pub fn all(config: &SensorConfig) -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(scan::PortScan::default()),
        Box::new(flood::Flood::default()),
        Box::new(brute::BruteForce::default()),
        Box::new(inventory::NewDevice::default()),
        Box::new(lateral::LateralMovement::default()),
        Box::new(cleartext::Cleartext::default()),
        Box::new(dicom::DicomAe::new(config.known_ae_titles.clone())),
        Box::new(dns::DnsTunnel::default()),
        Box::new(allowlist::Allowlist::default()),
    ]
}

/// Broadcast, multicast and unspecified addresses: never a real peer of a conversation.
pub(crate) fn is_group_or_unspecified(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_broadcast() || v4.is_multicast() || v4.is_unspecified() || v4.octets()[3] == 255
        }
        IpAddr::V6(v6) => v6.is_multicast() || v6.is_unspecified(),
    }
}
