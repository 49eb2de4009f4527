//! BACnet/IP parser: BVLC (Annex J), NPDU (clause 6) and APDU (clause 20).
//!
//! [`parse_datagram`] reads one UDP payload into a [`Message`]. The service data of
//! the services a monitor needs is decoded into a [`Service`]; other services keep
//! their name and length. Every tag is read with [`tags::TagReader`], which checks
//! each length against the bytes that remain. [`segments`] puts segmented messages
//! back together before they are decoded.

pub mod names;
pub mod segments;
pub mod services;
pub mod tags;

use serde::Serialize;

pub use services::{PropertyRef, Service};
pub use tags::ObjectId;

/// The BACnet/IP UDP port (0xBAC0).
pub const PORT: u16 = 47808;

/// Largest BACnet/IP datagram accepted (the BVLC length is 16 bits; a UDP payload
/// cannot exceed it).
pub const MAX_DATAGRAM: usize = 65_535;

/// Why bytes are not a BACnet/IP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacnetError {
    /// The datagram ends before a field.
    #[error("BACnet {layer} truncated: {need} bytes needed, {have} present")]
    Truncated {
        layer: &'static str,
        need: usize,
        have: usize,
    },
    /// The BVLC type byte is not 0x81 (BACnet/IP).
    #[error("BVLC type 0x{0:02x} is not BACnet/IP (0x81)")]
    BadBvlcType(u8),
    /// The BVLC length is shorter than the BVLC header itself.
    #[error("BVLC length {declared} is shorter than its 4-byte header ({actual}-byte datagram)")]
    BadBvlcLength { declared: u16, actual: usize },
    /// The NPDU version is not 1.
    #[error("NPDU version {0} is not 1")]
    BadNpduVersion(u8),
    /// An APDU type above 7.
    #[error("APDU type {0} is reserved")]
    BadApduType(u8),
    /// A tag in the service data is malformed.
    #[error("malformed BACnet tag: {0}")]
    Tag(&'static str),
}

/// One BACnet/IP datagram, decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// BVLC function name, e.g. `original_unicast_npdu`.
    pub bvlc_function: &'static str,
    /// The BVLC length when it disagrees with the datagram's (a lying length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bvlc_length_mismatch: Option<u16>,
    /// The originating address of a Forwarded-NPDU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// The network layer, when the BVLC function carries an NPDU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npdu: Option<Npdu>,
    /// The application layer, when the NPDU carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apdu: Option<Apdu>,
}

/// The NPDU header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Npdu {
    /// The sender expects a reply.
    pub expecting_reply: bool,
    /// Network priority: 0 normal to 3 life safety.
    pub priority: u8,
    /// The destination network number, when routed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_network: Option<u16>,
    /// The source network number, when routed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_network: Option<u16>,
    /// A network layer message type (Who-Is-Router-To-Network is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_message: Option<u8>,
}

/// The PDU type of an APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PduType {
    /// A request that expects an answer.
    ConfirmedRequest,
    /// A request without answer (Who-Is, I-Am, time synchronisation).
    UnconfirmedRequest,
    /// Success without data.
    SimpleAck,
    /// Success with data.
    ComplexAck,
    /// Acknowledges segments of a segmented message.
    SegmentAck,
    /// The service failed: error class and code.
    Error,
    /// The request was malformed or not understood.
    Reject,
    /// The transaction was aborted.
    Abort,
}

/// The application layer: PDU type, invoke id, service and segmentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Apdu {
    /// Which of the eight APDU types.
    pub pdu_type: PduType,
    /// Pairs a confirmed request with its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<u8>,
    /// The service choice (for Error, the service that failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_choice: Option<u8>,
    /// The service's name, e.g. `read_property`; `None` for segment ACKs,
    /// rejects and aborts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<&'static str>,
    /// Segmentation flags and sequence, when the APDU is segmented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<Segment>,
    /// Error class and code, reject or abort reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Decoded service data.
    pub service: Service,
}

/// Segmentation of a confirmed request or complex ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Sequence number of this segment.
    pub sequence: u8,
    /// Proposed or actual window size.
    pub window: u8,
    /// More segments follow.
    pub more_follows: bool,
}

impl Apdu {
    /// True for a request (confirmed or unconfirmed).
    pub fn is_request(&self) -> bool {
        matches!(
            self.pdu_type,
            PduType::ConfirmedRequest | PduType::UnconfirmedRequest
        )
    }
}

/// Parses one BACnet/IP UDP payload.
pub fn parse_datagram(data: &[u8]) -> Result<Message, BacnetError> {
    let (mut message, apdu_at) = parse_layers(data)?;
    if let Some(at) = apdu_at {
        message.apdu = Some(parse_apdu(data.get(at..).unwrap_or_default())?);
    }
    Ok(message)
}

/// The APDU bytes of one BACnet/IP UDP payload, when it carries one (the input of
/// [`segments::Reassembler`]).
pub fn apdu_bytes(data: &[u8]) -> Result<Option<&[u8]>, BacnetError> {
    let (_, apdu_at) = parse_layers(data)?;
    Ok(apdu_at.map(|at| data.get(at..).unwrap_or_default()))
}

/// Parses the BVLC and NPDU layers; returns the message without its APDU and where
/// the APDU starts, when there is one.
fn parse_layers(data: &[u8]) -> Result<(Message, Option<usize>), BacnetError> {
    // 1. BVLC: type, function, length that must match the datagram.
    let head = array::<4>(data, 0, "BVLC")?;
    if head[0] != 0x81 {
        return Err(BacnetError::BadBvlcType(head[0]));
    }
    let declared = u16::from_be_bytes([head[2], head[3]]);
    if declared < 4 {
        return Err(BacnetError::BadBvlcLength {
            declared,
            actual: data.len(),
        });
    }

    // A length that disagrees with the datagram is a finding, not a reason to stop:
    // the datagram's own length bounds every read below.
    let function = head[1];
    let mut message = Message {
        bvlc_function: bvlc_name(function),
        bvlc_length_mismatch: (usize::from(declared) != data.len()).then_some(declared),
        forwarded_from: None,
        npdu: None,
        apdu: None,
    };

    // 2. Only three functions carry an NPDU; Forwarded-NPDU prefixes the origin.
    let npdu_at = match function {
        0x09..=0x0b => 4,
        0x04 => {
            let origin = array::<6>(data, 4, "BVLC")?;
            let port = u16::from_be_bytes([origin[4], origin[5]]);
            let ip = std::net::Ipv4Addr::new(origin[0], origin[1], origin[2], origin[3]);
            message.forwarded_from = Some(format!("{ip}:{port}"));
            10
        }
        _ => return Ok((message, None)),
    };

    // 3. NPDU; an APDU follows unless the NPDU is a network layer message.
    let rest = data.get(npdu_at..).unwrap_or_default();
    let (npdu, apdu_at) = parse_npdu(rest)?;
    let carries_apdu = npdu.network_message.is_none();
    message.npdu = Some(npdu);
    Ok((message, carries_apdu.then_some(npdu_at + apdu_at)))
}

/// Parses the NPDU header; returns it and where the APDU starts.
pub fn parse_npdu(data: &[u8]) -> Result<(Npdu, usize), BacnetError> {
    let head = array::<2>(data, 0, "NPDU")?;
    if head[0] != 1 {
        return Err(BacnetError::BadNpduVersion(head[0]));
    }
    let control = head[1];
    let mut at = 2;
    let mut npdu = Npdu {
        expecting_reply: control & 0x04 != 0,
        priority: control & 0x03,
        destination_network: None,
        source_network: None,
        network_message: None,
    };

    // Destination and source specifiers: network, address length, address.
    if control & 0x20 != 0 {
        let spec = array::<3>(data, at, "NPDU")?;
        npdu.destination_network = Some(u16::from_be_bytes([spec[0], spec[1]]));
        at += 3 + usize::from(spec[2]);
    }
    if control & 0x08 != 0 {
        let spec = array::<3>(data, at, "NPDU")?;
        npdu.source_network = Some(u16::from_be_bytes([spec[0], spec[1]]));
        at += 3 + usize::from(spec[2]);
    }
    if control & 0x20 != 0 {
        at += 1; // hop count
    }
    if control & 0x80 != 0 {
        let kind = array::<1>(data, at, "NPDU")?[0];
        npdu.network_message = Some(kind);
        at += if kind >= 0x80 { 3 } else { 1 };
    }
    take(data, 0, at, "NPDU")?;
    Ok((npdu, at))
}

/// Parses an APDU: header fields by PDU type, then the service data.
pub fn parse_apdu(data: &[u8]) -> Result<Apdu, BacnetError> {
    let first = array::<1>(data, 0, "APDU")?[0];
    let kind = first >> 4;
    let mut apdu = Apdu {
        pdu_type: PduType::Abort,
        invoke_id: None,
        service_choice: None,
        service_name: None,
        segment: None,
        result: None,
        service: Service::None,
    };

    match kind {
        0 => confirmed_request(data, first, &mut apdu)?,
        1 => {
            apdu.pdu_type = PduType::UnconfirmedRequest;
            let choice = array::<1>(data, 1, "APDU")?[0];
            apdu.service_choice = Some(choice);
            apdu.service_name = names::unconfirmed_service(choice);
            let body = data.get(2..).unwrap_or_default();
            apdu.service = services::parse_unconfirmed(choice, body)?;
        }
        2 => {
            apdu.pdu_type = PduType::SimpleAck;
            let head = array::<2>(data, 1, "APDU")?;
            set_service(&mut apdu, head[0], head[1]);
        }
        3 => complex_ack(data, first, &mut apdu)?,
        4 => {
            apdu.pdu_type = PduType::SegmentAck;
            let head = array::<3>(data, 1, "APDU")?;
            apdu.invoke_id = Some(head[0]);
            apdu.segment = Some(Segment {
                sequence: head[1],
                window: head[2],
                more_follows: false,
            });
        }
        5 => error_pdu(data, &mut apdu)?,
        6 | 7 => {
            let head = array::<2>(data, 1, "APDU")?;
            apdu.invoke_id = Some(head[0]);
            if kind == 6 {
                apdu.pdu_type = PduType::Reject;
                apdu.result = Some(names::reject_reason(head[1]));
            } else {
                apdu.pdu_type = PduType::Abort;
                apdu.result = Some(names::abort_reason(head[1]));
            }
        }
        _ => return Err(BacnetError::BadApduType(kind)),
    }
    Ok(apdu)
}

fn confirmed_request(data: &[u8], first: u8, apdu: &mut Apdu) -> Result<(), BacnetError> {
    apdu.pdu_type = PduType::ConfirmedRequest;
    let segmented = first & 0x08 != 0;
    let head = array::<2>(data, 1, "APDU")?;
    let mut at = 3;
    if segmented {
        let seg = array::<2>(data, at, "APDU")?;
        apdu.segment = Some(Segment {
            sequence: seg[0],
            window: seg[1],
            more_follows: first & 0x04 != 0,
        });
        at += 2;
    }
    let choice = array::<1>(data, at, "APDU")?[0];
    set_service(apdu, head[1], choice);

    // Only the first segment starts with the service's own fields.
    let body = data.get(at + 1..).unwrap_or_default();
    if apdu.segment.is_none_or(|s| s.sequence == 0) {
        apdu.service = services::parse_confirmed(choice, body, segmented)?;
    }
    Ok(())
}

fn complex_ack(data: &[u8], first: u8, apdu: &mut Apdu) -> Result<(), BacnetError> {
    apdu.pdu_type = PduType::ComplexAck;
    let segmented = first & 0x08 != 0;
    let invoke = array::<1>(data, 1, "APDU")?[0];
    let mut at = 2;
    if segmented {
        let seg = array::<2>(data, at, "APDU")?;
        apdu.segment = Some(Segment {
            sequence: seg[0],
            window: seg[1],
            more_follows: first & 0x04 != 0,
        });
        at += 2;
    }
    let choice = array::<1>(data, at, "APDU")?[0];
    set_service(apdu, invoke, choice);

    let body = data.get(at + 1..).unwrap_or_default();
    if apdu.segment.is_none_or(|s| s.sequence == 0) {
        apdu.service = services::parse_ack(choice, body, segmented)?;
    }
    Ok(())
}

fn error_pdu(data: &[u8], apdu: &mut Apdu) -> Result<(), BacnetError> {
    apdu.pdu_type = PduType::Error;
    let head = array::<2>(data, 1, "APDU")?;
    set_service(apdu, head[0], head[1]);

    // Error class and code, possibly inside context tag 0 (e.g. CreateObject errors).
    let mut reader = tags::TagReader::new(data.get(3..).unwrap_or_default());
    reader.opening(0)?;
    let class = tags::unsigned(reader.application(9)?);
    let code = tags::unsigned(reader.application(9)?);
    if let (Some(class), Some(code)) = (class, code) {
        apdu.result = Some(format!(
            "{}:{}",
            names::error_class(class),
            names::error_code(code)
        ));
    }
    Ok(())
}

fn set_service(apdu: &mut Apdu, invoke: u8, choice: u8) {
    apdu.invoke_id = Some(invoke);
    apdu.service_choice = Some(choice);
    apdu.service_name = names::confirmed_service(choice);
}

/// The BVLC function's name (Annex J.2).
pub fn bvlc_name(function: u8) -> &'static str {
    match function {
        0x00 => "result",
        0x01 => "write_broadcast_distribution_table",
        0x02 => "read_broadcast_distribution_table",
        0x03 => "read_broadcast_distribution_table_ack",
        0x04 => "forwarded_npdu",
        0x05 => "register_foreign_device",
        0x06 => "read_foreign_device_table",
        0x07 => "read_foreign_device_table_ack",
        0x08 => "delete_foreign_device_table_entry",
        0x09 => "distribute_broadcast_to_network",
        0x0a => "original_unicast_npdu",
        0x0b => "original_broadcast_npdu",
        0x0c => "secure_bvll",
        _ => "unknown",
    }
}

/// `N` bytes at `at` as an array (so fields are read by constant index), or a
/// truncation error naming the layer.
fn array<const N: usize>(
    data: &[u8],
    at: usize,
    layer: &'static str,
) -> Result<[u8; N], BacnetError> {
    let bytes = take(data, at, N, layer)?;
    bytes.try_into().map_err(|_| BacnetError::Truncated {
        layer,
        need: at.saturating_add(N),
        have: data.len(),
    })
}

/// `len` bytes at `at`, or a truncation error naming the layer.
fn take<'a>(
    data: &'a [u8],
    at: usize,
    len: usize,
    layer: &'static str,
) -> Result<&'a [u8], BacnetError> {
    let end = at.saturating_add(len);
    data.get(at..end).ok_or(BacnetError::Truncated {
        layer,
        need: end,
        have: data.len(),
    })
}

#[cfg(test)]
mod tests;
