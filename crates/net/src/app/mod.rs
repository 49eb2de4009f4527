//! Application facts read from the first bytes of TCP streams, and datagram parsers.
//!
//! The sensor follows a TCP flow when its port or its ends make it interesting (web,
//! FTP, telnet, DICOM, medical devices), keeps the first bytes of each direction
//! within a memory budget, and parses them once when the flow ends into
//! [`AppFacts`] that every detection can read.

pub mod dhcp;
pub mod dicom;
pub mod dns;
pub mod http;

use std::collections::HashMap;

use safecare_capture::{Direction, Flow};

use crate::context::Context;

pub use dicom::Association;
pub use http::HttpFacts;

/// Bytes kept per direction of a followed flow.
pub const STREAM_PREFIX_BYTES: usize = 8 * 1024;

/// Bytes kept over all followed flows; past this, new flows are not followed.
pub const MAX_FOLLOWED_BYTES: usize = 64 * 1024 * 1024;

/// Server ports whose streams are read: FTP, telnet, HTTP, DICOM.
pub const FOLLOWED_PORTS: [u16; 11] = [21, 23, 80, 591, 8000, 8008, 8080, 104, 2761, 4242, 11112];

/// What the first bytes of a flow's streams said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFacts {
    /// Set when the client spoke HTTP.
    pub http: Option<HttpFacts>,
    /// Set when the client opened a DICOM association.
    pub dicom: Option<Association>,
    /// The user name of an FTP `USER` command.
    pub ftp_user: Option<String>,
    /// Telnet option negotiation (IAC) seen.
    pub telnet: bool,
}

/// Keeps the first bytes of followed flows until they end.
#[derive(Debug, Default)]
pub struct AppTracker {
    buffers: HashMap<u64, [Vec<u8>; 2]>,
    reserved: usize,
}

impl AppTracker {
    /// How many bytes per direction to follow for a new TCP flow (0: not followed).
    pub fn depth_for(&mut self, flow: &Flow, cx: &Context<'_>) -> u64 {
        let key = &flow.key;
        let interesting = FOLLOWED_PORTS.contains(&key.responder_port)
            || cx.is_medical_device(key.responder)
            || cx.is_medical_device(key.initiator);
        if !interesting || self.reserved + 2 * STREAM_PREFIX_BYTES > MAX_FOLLOWED_BYTES {
            return 0;
        }
        self.reserved += 2 * STREAM_PREFIX_BYTES;
        self.buffers.insert(flow.id, [Vec::new(), Vec::new()]);
        STREAM_PREFIX_BYTES as u64
    }

    /// Appends stream bytes of a followed flow, up to the prefix size.
    pub fn push(&mut self, flow_id: u64, direction: Direction, data: &[u8]) {
        let Some(buffers) = self.buffers.get_mut(&flow_id) else {
            return;
        };
        let buffer = match direction {
            Direction::Forward => &mut buffers[0],
            Direction::Backward => &mut buffers[1],
        };
        let room = STREAM_PREFIX_BYTES.saturating_sub(buffer.len());
        buffer.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
    }

    /// Parses and forgets a followed flow's bytes; `None` when it was not followed.
    pub fn finish(&mut self, flow_id: u64) -> Option<AppFacts> {
        let [client, server] = self.buffers.remove(&flow_id)?;
        self.reserved = self.reserved.saturating_sub(2 * STREAM_PREFIX_BYTES);
        Some(AppFacts {
            http: http::parse(&client, &server),
            dicom: dicom::parse_association(&client, &server),
            ftp_user: ftp_user(&client),
            telnet: is_telnet(&client) || is_telnet(&server),
        })
    }
}

/// The argument of the first `USER` command, when the client speaks FTP.
fn ftp_user(client: &[u8]) -> Option<String> {
    for line in client.split(|b| *b == b'\n').take(16) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(name) = line.get(..5).filter(|c| c.eq_ignore_ascii_case(b"USER ")) else {
            continue;
        };
        let user = line.get(name.len()..).unwrap_or_default();
        let user = String::from_utf8_lossy(user.get(..64.min(user.len())).unwrap_or_default());
        return Some(user.trim().to_string());
    }
    None
}

/// Telnet negotiation: IAC followed by WILL, WONT, DO or DONT at the stream start.
fn is_telnet(stream: &[u8]) -> bool {
    matches!(stream, [0xff, 0xfb..=0xfe, ..])
}
