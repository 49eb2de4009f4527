//! The DICOM upper layer (PS3.8 section 9): PDUs read from one direction of a TCP stream.
//!
//! [`PduReader`] takes the stream in whatever pieces TCP reassembly hands out and
//! reports what it reads as [`UlEvent`]s. P-DATA-TF PDUs are never held whole: their
//! PDV values are passed on as they arrive, so a PDU that claims gigabytes costs no
//! memory here. The other PDUs (association, release, abort) are small and held up to
//! a limit. Every length is checked against the PDU holding it; the first violation is
//! an [`UlError`] and the reader stops, because a stream that lied once cannot be
//! framed again.

use thiserror::Error;

const A_ASSOCIATE_RQ: u8 = 0x01;
const A_ASSOCIATE_AC: u8 = 0x02;
const A_ASSOCIATE_RJ: u8 = 0x03;
const P_DATA_TF: u8 = 0x04;
const A_RELEASE_RQ: u8 = 0x05;
const A_RELEASE_RP: u8 = 0x06;
const A_ABORT: u8 = 0x07;

/// PDU header: type, reserved, 32-bit length.
const PDU_HEADER: usize = 6;
/// PDV header: 32-bit item length, presentation context id, message control header.
const PDV_HEADER: usize = 6;
/// Fixed part of A-ASSOCIATE-RQ/AC after the PDU header, before the variable items.
const ASSOCIATION_FIXED: usize = 68;
/// Presentation contexts one association may propose (odd ids 1 to 255).
const MAX_CONTEXTS: usize = 128;
/// Transfer syntaxes one presentation context may propose.
const MAX_TRANSFER_SYNTAXES: usize = 64;

/// A violation of the upper layer protocol; the reader stops at the first.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UlError {
    #[error("unknown PDU type 0x{pdu_type:02X} at stream offset {offset}")]
    UnknownPdu { pdu_type: u8, offset: u64 },
    #[error(
        "{name} PDU at stream offset {offset} declares {length} bytes, over the {max}-byte \
         limit for it"
    )]
    PduTooLong {
        name: &'static str,
        offset: u64,
        length: u32,
        max: u32,
    },
    #[error(
        "PDV at stream offset {offset} declares {length} bytes but its P-DATA-TF PDU has only \
         {remaining} left"
    )]
    PdvOverrunsPdu {
        offset: u64,
        length: u64,
        remaining: u32,
    },
    #[error("PDV at stream offset {offset} declares {length} bytes, less than its 2-byte header")]
    PdvTooShort { offset: u64, length: u32 },
    #[error("{name} PDU at stream offset {offset}: {detail}")]
    BadAssociation {
        name: &'static str,
        offset: u64,
        detail: String,
    },
    #[error("the stream ends inside a PDU at offset {offset}: {missing} bytes never arrived")]
    Truncated { offset: u64, missing: u64 },
}

/// A presentation context as proposed (A-ASSOCIATE-RQ) or answered (A-ASSOCIATE-AC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresentationContext {
    /// Odd number 1 to 255 naming the context in P-DATA-TF.
    pub id: u8,
    /// Acceptance (0) or the reason for refusal; `None` in a request.
    pub result: Option<u8>,
    /// The SOP class (request only).
    pub abstract_syntax: Option<String>,
    /// Proposed transfer syntaxes (request) or the one accepted (accept).
    pub transfer_syntaxes: Vec<String>,
}

/// The content of an A-ASSOCIATE-RQ or A-ASSOCIATE-AC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Association {
    pub called_ae: String,
    pub calling_ae: String,
    pub application_context: Option<String>,
    pub contexts: Vec<PresentationContext>,
    /// Largest P-DATA-TF PDU the sender of this PDU accepts (0: no limit).
    pub max_pdu_length: Option<u32>,
    pub implementation_class_uid: Option<String>,
}

/// What the reader found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum UlEvent<'a> {
    AssociateRequest(Association),
    AssociateAccept(Association),
    AssociateReject {
        result: u8,
        source: u8,
        reason: u8,
    },
    /// A piece of one PDV's value; a PDV may arrive in several pieces.
    PdvData {
        context_id: u8,
        is_command: bool,
        data: &'a [u8],
    },
    /// The end of one PDV; `is_last` marks the last fragment of a command or dataset.
    PdvEnd {
        context_id: u8,
        is_command: bool,
        is_last: bool,
    },
    ReleaseRequest,
    ReleaseReply,
    Abort {
        source: u8,
        reason: u8,
    },
}

/// Where the reader is within the stream.
#[derive(Debug)]
enum State {
    PduHeader {
        buf: [u8; PDU_HEADER],
        have: usize,
    },
    Control {
        pdu_type: u8,
        body: Vec<u8>,
        need: usize,
    },
    PdvHeader {
        pdu_left: u32,
        buf: [u8; PDV_HEADER],
        have: usize,
    },
    PdvData {
        pdu_left: u32,
        pdv_left: u32,
        context_id: u8,
        control: u8,
    },
    Failed,
}

/// Reads the PDUs of one direction of an association.
#[derive(Debug)]
pub struct PduReader {
    state: State,
    /// Stream offset of the next byte fed.
    offset: u64,
    /// Stream offset where the PDU or PDV being read started, for error messages.
    mark: u64,
    max_control_pdu: u32,
}

impl PduReader {
    /// Bytes held for a control PDU being read.
    pub fn buffered(&self) -> usize {
        match &self.state {
            State::Control { body, .. } => body.capacity(),
            _ => 0,
        }
    }

    /// A reader at the start of a stream; non-data PDUs over `max_control_pdu` are refused.
    pub fn new(max_control_pdu: u32) -> Self {
        PduReader {
            state: State::PduHeader {
                buf: [0; PDU_HEADER],
                have: 0,
            },
            offset: 0,
            mark: 0,
            max_control_pdu,
        }
    }

    /// Stops reading: the rest of the stream is ignored (after a gap, say).
    pub fn stop(&mut self) {
        self.state = State::Failed;
    }

    /// Whether an error stopped the reader.
    pub fn has_failed(&self) -> bool {
        matches!(self.state, State::Failed)
    }

    /// Reads the next bytes of the stream, reporting what they complete to `out`.
    ///
    /// After an error the reader ignores the rest of the stream.
    pub fn feed(&mut self, data: &[u8], out: &mut dyn FnMut(UlEvent<'_>)) -> Result<(), UlError> {
        let mut rest = data;
        while !rest.is_empty() {
            if self.has_failed() {
                return Ok(());
            }
            let used = match self.step(rest, out) {
                Ok(used) => used,
                Err(err) => {
                    self.state = State::Failed;
                    return Err(err);
                }
            };
            self.offset += used as u64;
            rest = rest.get(used..).unwrap_or_default();
        }
        Ok(())
    }

    /// Called when the stream ends: an error if it ended inside a PDU.
    pub fn finish(&mut self) -> Result<(), UlError> {
        let missing = match &self.state {
            State::PduHeader { have: 0, .. } | State::Failed => return Ok(()),
            State::PduHeader { have, .. } => (PDU_HEADER - have) as u64,
            State::Control { body, need, .. } => (need - body.len()) as u64,
            State::PdvHeader { pdu_left, .. } | State::PdvData { pdu_left, .. } => {
                u64::from(*pdu_left)
            }
        };
        self.state = State::Failed;
        Err(UlError::Truncated {
            offset: self.offset,
            missing: missing.max(1),
        })
    }

    /// Consumes bytes for the current state; returns how many it used.
    fn step(&mut self, data: &[u8], out: &mut dyn FnMut(UlEvent<'_>)) -> Result<usize, UlError> {
        match &mut self.state {
            State::PduHeader { buf, have } => {
                if *have == 0 {
                    self.mark = self.offset;
                }
                let used = fill(buf, have, data);
                if *have == PDU_HEADER {
                    let header = *buf;
                    self.state = self.after_pdu_header(header)?;
                    self.emit_empty_control(out)?;
                }
                Ok(used)
            }
            State::Control { body, need, .. } => {
                let used = (*need - body.len()).min(data.len());
                body.extend_from_slice(&data[..used]);
                if body.len() == *need {
                    self.finish_control(out)?;
                }
                Ok(used)
            }
            State::PdvHeader {
                pdu_left,
                buf,
                have,
            } => {
                if *have == 0 {
                    self.mark = self.offset;
                    if (*pdu_left as usize) < PDV_HEADER {
                        return Err(UlError::PdvOverrunsPdu {
                            offset: self.offset,
                            length: PDV_HEADER as u64,
                            remaining: *pdu_left,
                        });
                    }
                }
                let used = fill(buf, have, data);
                *pdu_left -= used as u32;
                if *have == PDV_HEADER {
                    let (pdu_left, header) = (*pdu_left, *buf);
                    self.state = self.after_pdv_header(pdu_left, header)?;
                    self.end_pdv_if_empty(out);
                }
                Ok(used)
            }
            State::PdvData {
                pdu_left,
                pdv_left,
                context_id,
                control,
            } => {
                let used = (*pdv_left as usize).min(data.len());
                *pdv_left -= used as u32;
                *pdu_left -= used as u32;
                out(UlEvent::PdvData {
                    context_id: *context_id,
                    is_command: *control & 1 == 1,
                    data: &data[..used],
                });
                self.end_pdv_if_empty(out);
                Ok(used)
            }
            State::Failed => Ok(data.len()),
        }
    }

    /// Checks a PDU header and chooses how to read its body.
    fn after_pdu_header(&self, header: [u8; PDU_HEADER]) -> Result<State, UlError> {
        let pdu_type = header[0];
        let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
        let offset = self.mark;

        if pdu_type == P_DATA_TF {
            return Ok(next_pdv_or_pdu(length));
        }
        let Some(name) = control_pdu_name(pdu_type) else {
            return Err(UlError::UnknownPdu { pdu_type, offset });
        };
        if length > self.max_control_pdu {
            return Err(UlError::PduTooLong {
                name,
                offset,
                length,
                max: self.max_control_pdu,
            });
        }
        Ok(State::Control {
            pdu_type,
            // Grown as bytes arrive: a header claiming a large PDU reserves nothing.
            body: Vec::new(),
            need: length as usize,
        })
    }

    /// A PDU with an empty body is complete as soon as its header is.
    fn emit_empty_control(&mut self, out: &mut dyn FnMut(UlEvent<'_>)) -> Result<(), UlError> {
        if matches!(&self.state, State::Control { need: 0, .. }) {
            self.finish_control(out)?;
        }
        Ok(())
    }

    /// Checks a PDV header against the PDU that holds it.
    fn after_pdv_header(&self, pdu_left: u32, header: [u8; PDV_HEADER]) -> Result<State, UlError> {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let offset = self.mark;
        if length < 2 {
            return Err(UlError::PdvTooShort { offset, length });
        }
        let value = length - 2;
        if value > pdu_left {
            return Err(UlError::PdvOverrunsPdu {
                offset,
                length: u64::from(length),
                remaining: pdu_left + 2,
            });
        }
        Ok(State::PdvData {
            pdu_left,
            pdv_left: value,
            context_id: header[4],
            control: header[5],
        })
    }

    /// Reports the end of a PDV whose value is all read, and moves on.
    fn end_pdv_if_empty(&mut self, out: &mut dyn FnMut(UlEvent<'_>)) {
        if let State::PdvData {
            pdu_left,
            pdv_left: 0,
            context_id,
            control,
        } = self.state
        {
            out(UlEvent::PdvEnd {
                context_id,
                is_command: control & 1 == 1,
                is_last: control & 2 == 2,
            });
            self.state = next_pdv_or_pdu(pdu_left);
        }
    }

    /// Parses a complete non-data PDU and reports it.
    fn finish_control(&mut self, out: &mut dyn FnMut(UlEvent<'_>)) -> Result<(), UlError> {
        let state = std::mem::replace(&mut self.state, next_pdv_or_pdu(0));
        let State::Control { pdu_type, body, .. } = state else {
            return Ok(());
        };
        let offset = self.mark;
        let byte = |i: usize| body.get(i).copied().unwrap_or(0);
        let event = match pdu_type {
            A_ASSOCIATE_RQ => UlEvent::AssociateRequest(parse_association(&body, false, offset)?),
            A_ASSOCIATE_AC => UlEvent::AssociateAccept(parse_association(&body, true, offset)?),
            A_ASSOCIATE_RJ => UlEvent::AssociateReject {
                result: byte(1),
                source: byte(2),
                reason: byte(3),
            },
            A_RELEASE_RQ => UlEvent::ReleaseRequest,
            A_RELEASE_RP => UlEvent::ReleaseReply,
            _ => UlEvent::Abort {
                source: byte(2),
                reason: byte(3),
            },
        };
        out(event);
        Ok(())
    }
}

/// The state after a PDV: another PDV in the same PDU, or the next PDU.
fn next_pdv_or_pdu(pdu_left: u32) -> State {
    if pdu_left == 0 {
        return State::PduHeader {
            buf: [0; PDU_HEADER],
            have: 0,
        };
    }
    State::PdvHeader {
        pdu_left,
        buf: [0; PDV_HEADER],
        have: 0,
    }
}

fn control_pdu_name(pdu_type: u8) -> Option<&'static str> {
    Some(match pdu_type {
        A_ASSOCIATE_RQ => "A-ASSOCIATE-RQ",
        A_ASSOCIATE_AC => "A-ASSOCIATE-AC",
        A_ASSOCIATE_RJ => "A-ASSOCIATE-RJ",
        A_RELEASE_RQ => "A-RELEASE-RQ",
        A_RELEASE_RP => "A-RELEASE-RP",
        A_ABORT => "A-ABORT",
        _ => return None,
    })
}

/// Copies into a fixed header buffer; returns the bytes used.
fn fill<const N: usize>(buf: &mut [u8; N], have: &mut usize, data: &[u8]) -> usize {
    let used = (N - *have).min(data.len());
    buf[*have..*have + used].copy_from_slice(&data[..used]);
    *have += used;
    used
}

/// Whether `head` starts like an A-ASSOCIATE-RQ: type 1, version 1, a plausible length.
pub fn looks_like_associate_request(head: &[u8]) -> bool {
    let [A_ASSOCIATE_RQ, 0, l0, l1, l2, l3, 0, version, ..] = head else {
        return false;
    };
    let length = u32::from_be_bytes([*l0, *l1, *l2, *l3]);
    *version & 1 == 1 && (ASSOCIATION_FIXED as u32..=16 * 1024 * 1024).contains(&length)
}

/// Parses the body of an A-ASSOCIATE-RQ or -AC (after the 6-byte PDU header).
///
/// Called and calling AE titles are in the fixed part; presentation contexts and user
/// information are variable items, each length checked against the PDU.
pub fn parse_association(body: &[u8], accept: bool, offset: u64) -> Result<Association, UlError> {
    let name = if accept {
        "A-ASSOCIATE-AC"
    } else {
        "A-ASSOCIATE-RQ"
    };
    let bad = |detail: String| UlError::BadAssociation {
        name,
        offset,
        detail,
    };
    if body.len() < ASSOCIATION_FIXED {
        return Err(bad(format!(
            "{} bytes, shorter than the {ASSOCIATION_FIXED}-byte fixed part",
            body.len()
        )));
    }

    // 1. Fixed part: version, reserved, called AE, calling AE, 32 reserved bytes.
    let mut association = Association {
        called_ae: ae_title(&body[4..20]),
        calling_ae: ae_title(&body[20..36]),
        ..Association::default()
    };

    // 2. Variable items.
    for item in items(&body[ASSOCIATION_FIXED..]) {
        let (item_type, value) = item.map_err(|detail| bad(format!("item: {detail}")))?;
        match item_type {
            0x10 => association.application_context = Some(uid_text(value)),
            0x20 | 0x21 => {
                if association.contexts.len() >= MAX_CONTEXTS {
                    return Err(bad(format!(
                        "more than {MAX_CONTEXTS} presentation contexts"
                    )));
                }
                let context = parse_context(value, accept)
                    .map_err(|detail| bad(format!("presentation context: {detail}")))?;
                association.contexts.push(context);
            }
            0x50 => read_user_information(value, &mut association)
                .map_err(|detail| bad(format!("user information: {detail}")))?,
            _ => {}
        }
    }
    Ok(association)
}

/// One presentation context item: id, reserved, result, reserved, then sub-items.
fn parse_context(value: &[u8], accept: bool) -> Result<PresentationContext, String> {
    let [id, _, result, _, sub_items @ ..] = value else {
        return Err(format!("{} bytes, shorter than 4", value.len()));
    };
    let mut context = PresentationContext {
        id: *id,
        result: accept.then_some(*result),
        ..PresentationContext::default()
    };
    for item in items(sub_items) {
        let (item_type, value) = item?;
        match item_type {
            0x30 => context.abstract_syntax = Some(uid_text(value)),
            0x40 if context.transfer_syntaxes.len() >= MAX_TRANSFER_SYNTAXES => {
                return Err(format!(
                    "more than {MAX_TRANSFER_SYNTAXES} transfer syntaxes"
                ));
            }
            0x40 => context.transfer_syntaxes.push(uid_text(value)),
            _ => {}
        }
    }
    Ok(context)
}

/// User information sub-items: maximum length (0x51) and implementation class (0x52).
fn read_user_information(value: &[u8], association: &mut Association) -> Result<(), String> {
    for item in items(value) {
        let (item_type, value) = item?;
        match (item_type, value) {
            (0x51, [a, b, c, d]) => {
                association.max_pdu_length = Some(u32::from_be_bytes([*a, *b, *c, *d]))
            }
            (0x51, _) => {
                return Err(format!(
                    "maximum length item of {} bytes, not 4",
                    value.len()
                ));
            }
            (0x52, _) => association.implementation_class_uid = Some(uid_text(value)),
            _ => {}
        }
    }
    Ok(())
}

/// Iterates over items: type, reserved, 16-bit big-endian length, value.
fn items(mut data: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), String>> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let [item_type, _, l0, l1, rest @ ..] = data else {
            let short = data.len();
            data = &[];
            return Some(Err(format!(
                "{short} bytes left, shorter than an item header"
            )));
        };
        let length = usize::from(u16::from_be_bytes([*l0, *l1]));
        let Some(value) = rest.get(..length) else {
            let detail = format!(
                "item 0x{item_type:02X} declares {length} bytes but {} remain",
                rest.len()
            );
            data = &[];
            return Some(Err(detail));
        };
        data = &rest[length..];
        Some(Ok((*item_type, value)))
    })
}

/// An AE title: trimmed, with anything but printable ASCII shown as '?'.
fn ae_title(bytes: &[u8]) -> String {
    let text: String = bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    text.trim().to_string()
}

/// A UID as sent: trailing NUL and space padding removed, non-ASCII shown as '?'.
pub fn uid_text(bytes: &[u8]) -> String {
    let text: String = bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) || b == 0 {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    text.trim_end_matches(['\0', ' ']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A-ASSOCIATE-RQ: CT01 -> PACS, one context (CT storage, two transfer syntaxes).
    fn request() -> Vec<u8> {
        let mut items = vec![0x10, 0, 0, 21];
        items.extend_from_slice(b"1.2.840.10008.3.1.1.1");
        let mut context = vec![1, 0, 0, 0];
        context.extend_from_slice(&[0x30, 0, 0, 25]);
        context.extend_from_slice(b"1.2.840.10008.5.1.4.1.1.2");
        context.extend_from_slice(&[0x40, 0, 0, 17]);
        context.extend_from_slice(b"1.2.840.10008.1.2");
        context.extend_from_slice(&[0x40, 0, 0, 19]);
        context.extend_from_slice(b"1.2.840.10008.1.2.1");
        items.extend_from_slice(&[0x20, 0, 0, context.len() as u8]);
        items.extend_from_slice(&context);
        items.extend_from_slice(&[0x50, 0, 0, 8, 0x51, 0, 0, 4, 0, 0, 0x40, 0]);

        let mut body = vec![0, 1, 0, 0];
        body.extend_from_slice(b"PACS            ");
        body.extend_from_slice(b"CT01            ");
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&items);
        let mut pdu = vec![A_ASSOCIATE_RQ, 0];
        pdu.extend_from_slice(&(body.len() as u32).to_be_bytes());
        pdu.extend_from_slice(&body);
        pdu
    }

    /// A P-DATA-TF PDU holding the given PDVs (context, control, value).
    fn p_data(pdvs: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (context, control, value) in pdvs {
            body.extend_from_slice(&(value.len() as u32 + 2).to_be_bytes());
            body.extend_from_slice(&[*context, *control]);
            body.extend_from_slice(value);
        }
        let mut pdu = vec![P_DATA_TF, 0];
        pdu.extend_from_slice(&(body.len() as u32).to_be_bytes());
        pdu.extend_from_slice(&body);
        pdu
    }

    fn read_all(stream: &[u8], piece: usize) -> (Vec<String>, Result<(), UlError>) {
        let mut reader = PduReader::new(1 << 20);
        let mut seen = Vec::new();
        for chunk in stream.chunks(piece.max(1)) {
            let result = reader.feed(chunk, &mut |event| seen.push(format!("{event:?}")));
            if result.is_err() {
                return (seen, result);
            }
        }
        (seen, reader.finish())
    }

    #[test]
    fn association_request_fields_are_read() {
        let (events, result) = read_all(&request(), 1000);
        result.unwrap();
        let mut reader = PduReader::new(1 << 20);
        let mut association = None;
        reader
            .feed(&request(), &mut |event| {
                if let UlEvent::AssociateRequest(a) = event {
                    association = Some(a);
                }
            })
            .unwrap();
        let association = association.expect("one request");
        assert_eq!(events.len(), 1);
        assert_eq!(association.calling_ae, "CT01");
        assert_eq!(association.called_ae, "PACS");
        assert_eq!(association.max_pdu_length, Some(16384));
        let context = &association.contexts[0];
        assert_eq!(context.id, 1);
        assert_eq!(
            context.abstract_syntax.as_deref(),
            Some("1.2.840.10008.5.1.4.1.1.2")
        );
        assert_eq!(
            context.transfer_syntaxes,
            ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]
        );
    }

    #[test]
    fn pdvs_come_out_the_same_whatever_the_tcp_segmentation() {
        let mut stream = p_data(&[(1, 0b11, b"command"), (1, 0b00, b"data1")]);
        stream.extend(p_data(&[(1, 0b10, b"data2")]));
        stream.extend_from_slice(&[A_RELEASE_RQ, 0, 0, 0, 0, 4, 0, 0, 0, 0]);

        let collect = |piece| {
            let mut value = Vec::new();
            let mut ends = Vec::new();
            let mut reader = PduReader::new(1024);
            for chunk in stream.chunks(piece) {
                reader
                    .feed(chunk, &mut |event| match event {
                        UlEvent::PdvData { data, .. } => value.extend_from_slice(data),
                        other => ends.push(format!("{other:?}")),
                    })
                    .unwrap();
            }
            reader.finish().unwrap();
            (value, ends)
        };
        let whole = collect(stream.len());
        assert_eq!(whole.0, b"commanddata1data2");
        assert_eq!(whole.1.len(), 4, "{:?}", whole.1);
        for piece in 1..12 {
            assert_eq!(collect(piece), whole, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn every_cut_of_a_request_is_reported_as_truncated() {
        let rq = request();
        for cut in 1..rq.len() {
            let (events, result) = read_all(&rq[..cut], 7);
            assert!(events.is_empty(), "cut {cut}");
            assert!(
                matches!(result, Err(UlError::Truncated { .. })),
                "cut {cut}: {result:?}"
            );
        }
    }

    #[test]
    fn a_pdv_longer_than_its_pdu_is_refused() {
        let mut pdu = p_data(&[(1, 0b10, b"abcd")]);
        pdu[6..10].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        let (_, result) = read_all(&pdu, 3);
        assert!(
            matches!(result, Err(UlError::PdvOverrunsPdu { offset: 6, .. })),
            "{result:?}"
        );

        let mut short = p_data(&[(1, 0b10, b"")]);
        short[6..10].copy_from_slice(&1u32.to_be_bytes());
        let (_, result) = read_all(&short, 100);
        assert!(
            matches!(result, Err(UlError::PdvTooShort { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn lying_association_lengths_are_refused_without_allocation() {
        let mut rq = request();
        rq[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
        let (_, result) = read_all(&rq, 100);
        assert!(
            matches!(result, Err(UlError::PduTooLong { .. })),
            "{result:?}"
        );

        // An item that claims more than the PDU holds.
        let mut rq = request();
        rq[6 + ASSOCIATION_FIXED + 2] = 0xFF;
        let (_, result) = read_all(&rq, 100);
        assert!(
            matches!(result, Err(UlError::BadAssociation { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn unknown_pdu_types_stop_the_reader() {
        let (_, result) = read_all(b"GET / HTTP/1.1\r\n\r\n", 5);
        assert!(matches!(
            result,
            Err(UlError::UnknownPdu {
                pdu_type: b'G',
                offset: 0
            })
        ));
        assert!(looks_like_associate_request(&request()));
        assert!(!looks_like_associate_request(b"GET / HTTP/1.1\r\n"));
    }
}
