//! The network connector: files carried by captured traffic, extracted for analysis.
//!
//! Captures go through the capture crate's engine (decoding, IP defragmentation,
//! TCP reassembly); every TCP connection is followed, and the first bytes the client
//! sends decide its protocol:
//!
//! - DICOM ([`dicom_ul`], [`dicom_store`]): connections to ports 104 and 11112, or
//!   any connection that opens with an A-ASSOCIATE-RQ. Each C-STORE dataset is
//!   reassembled from its P-DATA-TF fragments and wrapped in a Part 10 file built from
//!   the command's UIDs and the negotiated transfer syntax.
//! - HTTP/1.x ([`http`]): connections that open with a request line. Successful
//!   response bodies are extracted, framed by Content-Length, chunked coding or the
//!   end of the connection.
//!
//! What a connection yields is [`Found`]: an [`ExtractedObject`], or an [`Issue`]
//! when the protocol broke, the capture lost bytes or an object passed a limit
//! ([`ConnectorLimits`]). [`extract`] runs the analysis on each object.

pub mod buffer;
pub mod dicom_store;
pub mod dicom_ul;
pub mod extract;
pub mod flows;
pub mod http;

use serde::Serialize;

pub use buffer::ConnectorLimits;
pub use dicom_store::{DicomConnection, DicomObjectInfo};
pub use extract::{ExtractOptions, extract, extract_capture};
pub use flows::{Connection, Connector, ConnectorItem, ConnectorStats};
pub use http::{HttpConnection, HttpObjectInfo};

/// Which side of a connection sent something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// The side that opened the TCP connection.
    Client = 0,
    /// The side that was contacted.
    Server = 1,
}

/// What the protocol said about an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum ObjectDetails {
    Dicom(DicomObjectInfo),
    Http(HttpObjectInfo),
}

impl From<DicomObjectInfo> for ObjectDetails {
    fn from(info: DicomObjectInfo) -> Self {
        ObjectDetails::Dicom(info)
    }
}

impl From<HttpObjectInfo> for ObjectDetails {
    fn from(info: HttpObjectInfo) -> Self {
        ObjectDetails::Http(info)
    }
}

/// A file taken whole from a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractedObject {
    pub sender: Sender,
    pub details: ObjectDetails,
    /// The file to analyse: a Part 10 file for DICOM, the body for HTTP.
    pub bytes: Vec<u8>,
    /// Where the dataset as sent starts in `bytes` (0 for HTTP).
    pub dataset_start: usize,
}

impl ExtractedObject {
    /// The bytes as they crossed the network: the DICOM dataset, or the HTTP body.
    pub fn sent_bytes(&self) -> &[u8] {
        self.bytes.get(self.dataset_start..).unwrap_or_default()
    }
}

/// Why something on a connection could not be extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The protocol broke (lying lengths, unknown PDU, bad framing); the rest of that
    /// direction was not read.
    Malformed,
    /// The capture lost bytes, or the connection ended before the object did.
    Truncated,
    /// An object past a size limit.
    OverLimit,
}

impl IssueKind {
    /// The event catalogue kind.
    pub fn event_kind(self) -> &'static str {
        match self {
            IssueKind::Malformed => "file.transfer.malformed",
            IssueKind::Truncated => "file.transfer.truncated",
            IssueKind::OverLimit => "file.transfer.over_limit",
        }
    }
}

/// A problem on a connection, with what is known of the object it hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub sender: Sender,
    pub kind: IssueKind,
    /// One sentence for a person.
    pub detail: String,
    pub about: Option<ObjectDetails>,
}

/// What a connection yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Object(ExtractedObject),
    Issue(Issue),
}

impl Found {
    fn issue(sender: Sender, kind: IssueKind, detail: String) -> Found {
        Found::Issue(Issue {
            sender,
            kind,
            detail,
            about: None,
        })
    }

    fn issue_about(
        sender: Sender,
        kind: IssueKind,
        detail: String,
        about: impl Into<ObjectDetails>,
    ) -> Found {
        Found::Issue(Issue {
            sender,
            kind,
            detail,
            about: Some(about.into()),
        })
    }
}
