//! The capture engine's handler: one protocol reader per TCP connection.

use std::collections::HashMap;
use std::net::SocketAddr;

use safecare_capture::engine::Handler;
use safecare_capture::{Direction, EndReason, Flow, Timestamp};

use super::buffer::{Budget, ConnectorLimits};
use super::dicom_store::DicomConnection;
use super::dicom_ul::looks_like_associate_request;
use super::http::{HttpConnection, looks_like_request};
use super::{Found, IssueKind, ObjectDetails, Sender};

/// Ports where DICOM is expected without sniffing (PS3.8 and the IANA registry).
const DICOM_PORTS: [u16; 2] = [104, 11112];
/// Client bytes looked at before a connection's protocol is decided.
const SNIFF_BYTES: usize = 10;

/// The endpoints of the connection an object or issue came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// The side that opened the connection.
    pub client: SocketAddr,
    /// The side that was contacted.
    pub server: SocketAddr,
    /// When the connection's first packet was captured.
    pub started: Timestamp,
}

/// One thing found on one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorItem {
    pub connection: Connection,
    pub found: Found,
}

/// Connections by protocol, and what they yielded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectorStats {
    pub tcp_connections: u64,
    pub dicom_connections: u64,
    pub http_connections: u64,
    pub objects: u64,
    pub issues: u64,
}

/// How one connection is read.
enum Protocol {
    /// Waiting for enough client bytes to decide.
    Sniffing(Vec<u8>),
    Dicom(Box<DicomConnection>),
    Http(Box<HttpConnection>),
    /// Neither protocol, or no longer read: its bytes are dropped.
    Ignored,
}

impl Protocol {
    /// Bytes held by the reader's own buffers (objects are counted apart).
    fn buffered(&self) -> u64 {
        match self {
            Protocol::Sniffing(head) => head.capacity() as u64,
            Protocol::Dicom(dicom) => dicom.buffered(),
            Protocol::Http(http) => http.buffered(),
            Protocol::Ignored => 0,
        }
    }

    /// The connection ended or is given up: what is open is reported and let go.
    fn finish(&mut self, budget: &mut Budget, found: &mut Vec<Found>) {
        match self {
            Protocol::Dicom(dicom) => dicom.finish(budget, found),
            Protocol::Http(http) => http.finish(budget, found),
            Protocol::Sniffing(_) | Protocol::Ignored => {}
        }
    }
}

/// A followed connection, how it is read, and the bytes of its buffers the
/// budget has been charged with.
struct Tracked {
    connection: Connection,
    protocol: Protocol,
    charged: u64,
}

/// Follows every TCP connection, reads DICOM and HTTP ones, and queues what they yield.
pub struct Connector {
    limits: ConnectorLimits,
    budget: Budget,
    connections: HashMap<u64, Tracked>,
    ready: Vec<ConnectorItem>,
    stats: ConnectorStats,
}

impl Connector {
    /// A connector holding at most `limits.max_open_bytes` of open objects.
    pub fn new(limits: ConnectorLimits) -> Self {
        Connector {
            limits,
            budget: Budget::new(limits.max_open_bytes),
            connections: HashMap::new(),
            ready: Vec::new(),
            stats: ConnectorStats::default(),
        }
    }

    /// Objects and issues found since the last call, oldest first.
    pub fn take_ready(&mut self) -> Vec<ConnectorItem> {
        std::mem::take(&mut self.ready)
    }

    /// Counts so far.
    pub fn stats(&self) -> ConnectorStats {
        self.stats
    }

    /// Bytes held by objects still open and the readers' buffers.
    pub fn open_bytes(&self) -> u64 {
        self.budget.held()
    }

    /// Sends `found` to the ready queue, tagged with its connection.
    fn queue(&mut self, connection: Connection, found: Vec<Found>) {
        for mut item in found {
            match &mut item {
                Found::Object(object) => {
                    self.stats.objects += 1;
                    fill_url(&connection, &mut object.details);
                }
                Found::Issue(issue) => {
                    self.stats.issues += 1;
                    if let Some(details) = &mut issue.about {
                        fill_url(&connection, details);
                    }
                }
            }
            self.ready.push(ConnectorItem {
                connection,
                found: item,
            });
        }
    }

    /// Charges the budget with what the connection's buffers hold now. Past
    /// the cap the connection is no longer read: what it held is let go, and
    /// an issue says so.
    fn charge_buffers(&mut self, tracked: &mut Tracked, found: &mut Vec<Found>) {
        let now = tracked.protocol.buffered();
        if now <= tracked.charged {
            self.budget.give_back(tracked.charged - now);
            tracked.charged = now;
            return;
        }
        if self.budget.take(now - tracked.charged) {
            tracked.charged = now;
            return;
        }

        tracked.protocol.finish(&mut self.budget, found);
        tracked.protocol = Protocol::Ignored;
        self.budget.give_back(tracked.charged);
        tracked.charged = 0;
        found.push(Found::issue(
            Sender::Client,
            IssueKind::OverLimit,
            format!(
                "the connection's protocol buffers ({now} bytes) would take the connector past \
                 its {} bytes of open data: the rest of the connection is not read",
                self.limits.max_open_bytes
            ),
        ));
    }

    /// Decides a sniffing connection's protocol once the client sent enough.
    fn decide(&mut self, head: &[u8], server_port: u16) -> Protocol {
        if DICOM_PORTS.contains(&server_port) || looks_like_associate_request(head) {
            self.stats.dicom_connections += 1;
            return Protocol::Dicom(Box::new(DicomConnection::new(self.limits)));
        }
        if looks_like_request(head) {
            self.stats.http_connections += 1;
            return Protocol::Http(Box::new(HttpConnection::new(self.limits)));
        }
        Protocol::Ignored
    }
}

/// Completes an HTTP object's URL from its Host header, or else the server's address.
fn fill_url(connection: &Connection, details: &mut ObjectDetails) {
    let ObjectDetails::Http(info) = details else {
        return;
    };
    let Some(uri) = info.uri.as_deref() else {
        return;
    };
    info.url = Some(if uri.starts_with("http://") {
        uri.to_string()
    } else {
        let host = info
            .host
            .clone()
            .unwrap_or_else(|| connection.server.to_string());
        format!("http://{host}{uri}")
    });
}

fn sender(direction: Direction) -> Sender {
    match direction {
        Direction::Forward => Sender::Client,
        Direction::Backward => Sender::Server,
    }
}

impl Handler for Connector {
    /// Every TCP connection is followed: DICOM and HTTP run on any port.
    fn stream_depth(&mut self, flow: &Flow) -> u64 {
        let connection = Connection {
            client: SocketAddr::new(flow.key.initiator, flow.key.initiator_port),
            server: SocketAddr::new(flow.key.responder, flow.key.responder_port),
            started: flow.first_ts,
        };
        self.stats.tcp_connections += 1;
        let tracked = Tracked {
            connection,
            protocol: Protocol::Sniffing(Vec::new()),
            charged: 0,
        };
        self.connections.insert(flow.id, tracked);
        u64::MAX
    }

    fn on_stream_data(&mut self, flow: &Flow, direction: Direction, data: &[u8]) {
        let Some(mut tracked) = self.connections.remove(&flow.id) else {
            return;
        };
        let sender = sender(direction);
        let mut found = Vec::new();

        // 1. Decide the protocol from the client's first bytes.
        let mut pending: &[u8] = data;
        let head;
        if let Protocol::Sniffing(buffered) = &mut tracked.protocol {
            if sender == Sender::Server {
                tracked.protocol = Protocol::Ignored;
            } else {
                buffered.extend_from_slice(data);
                let server_port = tracked.connection.server.port();
                if buffered.len() < SNIFF_BYTES && !DICOM_PORTS.contains(&server_port) {
                    self.charge_buffers(&mut tracked, &mut found);
                    self.queue(tracked.connection, found);
                    self.connections.insert(flow.id, tracked);
                    return;
                }
                head = std::mem::take(buffered);
                pending = &head;
                tracked.protocol = self.decide(&head, server_port);
            }
        }

        // 2. Read the bytes in that protocol.
        let budget = &mut self.budget;
        match &mut tracked.protocol {
            Protocol::Dicom(dicom) => dicom.feed(sender, pending, budget, &mut found),
            Protocol::Http(http) => http.feed(sender, pending, budget, &mut found),
            Protocol::Sniffing(_) | Protocol::Ignored => {}
        }
        self.charge_buffers(&mut tracked, &mut found);
        self.queue(tracked.connection, found);
        self.connections.insert(flow.id, tracked);
    }

    fn on_stream_gap(&mut self, flow: &Flow, direction: Direction, missing: u64) {
        let Some(mut tracked) = self.connections.remove(&flow.id) else {
            return;
        };
        let mut found = Vec::new();
        let budget = &mut self.budget;
        match &mut tracked.protocol {
            Protocol::Dicom(dicom) => dicom.gap(sender(direction), missing, budget, &mut found),
            Protocol::Http(http) => http.gap(sender(direction), missing, budget, &mut found),
            Protocol::Sniffing(_) => tracked.protocol = Protocol::Ignored,
            Protocol::Ignored => {}
        }
        self.charge_buffers(&mut tracked, &mut found);
        self.queue(tracked.connection, found);
        self.connections.insert(flow.id, tracked);
    }

    fn on_flow_end(&mut self, flow: &Flow, _reason: EndReason) {
        let Some(mut tracked) = self.connections.remove(&flow.id) else {
            return;
        };
        let mut found = Vec::new();
        tracked.protocol.finish(&mut self.budget, &mut found);
        self.budget.give_back(tracked.charged);
        self.queue(tracked.connection, found);
    }
}

/// A short name for an object, for reports: AE titles and UID, or the URL.
pub fn describe(connection: &Connection, details: Option<&ObjectDetails>) -> String {
    match details {
        Some(ObjectDetails::Dicom(info)) => format!(
            "DICOM {} -> {} ({} -> {}) instance {}",
            display_or(&info.calling_ae, "?"),
            display_or(&info.called_ae, "?"),
            connection.client,
            connection.server,
            info.sop_instance_uid.as_deref().unwrap_or("?")
        ),
        Some(ObjectDetails::Http(info)) => format!(
            "HTTP {} {} ({} -> {})",
            info.method.as_deref().unwrap_or("?"),
            info.url.as_deref().or(info.uri.as_deref()).unwrap_or("?"),
            connection.client,
            connection.server
        ),
        None => format!("connection {} -> {}", connection.client, connection.server),
    }
}

fn display_or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}
