//! Reassembly of segmented BACnet messages (clause 5.2 and 20.1.2): a confirmed request
//! or a complex ACK too long for one APDU travels as numbered segments that share an
//! invoke id, each acknowledged window by window with Segment-ACK PDUs.
//!
//! [`Reassembler`] collects the segments of each open message in order and hands back
//! the whole APDU, decoded as if it had been sent in one piece. Memory is bounded: at
//! most [`SegmentLimits::max_open`] messages and [`SegmentLimits::max_total_bytes`]
//! bytes are held; past either cap the oldest open message is evicted and counted.
//! Segments out of order, sent twice, outside the window or past the size cap are
//! answered with a [`SegmentError`].

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Apdu, BacnetError, parse_apdu};

/// The largest window a sender may propose or a receiver grant (clause 20.1.2.8).
pub const MAX_WINDOW: u8 = 127;

/// Caps on the state the reassembler keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentLimits {
    /// Segmented messages open at once; the oldest is evicted past it.
    pub max_open: usize,
    /// Service data held over all open messages; the oldest are evicted past it.
    pub max_total_bytes: usize,
    /// Service data of one message; a message growing past it is dropped.
    pub max_message_bytes: usize,
    /// Seconds a message may stay open without completing before it is dropped.
    pub timeout_secs: i64,
}

impl Default for SegmentLimits {
    /// 1,024 open messages, 16 MiB in all, 1 MiB per message (a 1,476-byte APDU times
    /// 255 segments is 376 KB), 60 seconds to complete.
    fn default() -> Self {
        SegmentLimits {
            max_open: 1024,
            max_total_bytes: 16 << 20,
            max_message_bytes: 1 << 20,
            timeout_secs: 60,
        }
    }
}

/// Why a segment was not added to its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// The segment header itself is short or malformed.
    #[error("BACnet segment header: {0}")]
    Header(BacnetError),
    /// A segment other than the first, for a message not open.
    #[error("BACnet segment {sequence} of invoke id {invoke_id} came without its first segment")]
    MissingFirst { invoke_id: u8, sequence: u8 },
    /// A segment ahead of the next one expected; ignored, the message stays open.
    #[error(
        "BACnet segment {got} of invoke id {invoke_id} came out of order ({expected} expected); \
         ignored until the sender repeats the window"
    )]
    OutOfOrder {
        invoke_id: u8,
        expected: u8,
        got: u8,
    },
    /// A segment already received; ignored, the message stays open.
    #[error("BACnet segment {sequence} of invoke id {invoke_id} was sent again; ignored")]
    Duplicate { invoke_id: u8, sequence: u8 },
    /// A window size of 0 or above 127; the message is dropped.
    #[error("BACnet window size {window} of invoke id {invoke_id} is outside 1-127; dropped")]
    BadWindow { invoke_id: u8, window: u8 },
    /// More segments sent than the last Segment-ACK allowed; the message is dropped.
    #[error(
        "BACnet segment {sequence} of invoke id {invoke_id} is beyond the window of {window} \
         after the acknowledged segment {acked}; dropped"
    )]
    WindowExceeded {
        invoke_id: u8,
        sequence: u8,
        acked: u8,
        window: u8,
    },
    /// The message would grow past the per-message cap; it is dropped.
    #[error("segmented BACnet message of invoke id {invoke_id} grew past {limit} bytes; dropped")]
    TooLarge { invoke_id: u8, limit: usize },
    /// A later segment names another service than the first; the message is dropped.
    #[error(
        "BACnet segment of invoke id {invoke_id} changes the service from {first} to {now}; \
         dropped"
    )]
    ServiceChanged { invoke_id: u8, first: u8, now: u8 },
    /// The reassembled APDU does not decode.
    #[error("reassembled BACnet message of invoke id {invoke_id}: {source}")]
    Decode { invoke_id: u8, source: BacnetError },
}

/// Counters of the reassembler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentStats {
    /// Segments added to a message.
    pub segments: u64,
    /// Messages reassembled whole.
    pub reassembled: u64,
    /// Segments answered with an error.
    pub errors: u64,
    /// Open messages evicted to stay within the caps on count and bytes.
    pub evicted: u64,
    /// Open messages dropped because they did not complete in time.
    pub expired: u64,
    /// Messages open now.
    pub open: u64,
    /// Service data bytes held now.
    pub open_bytes: u64,
}

/// A message put back together from its segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Reassembled {
    /// The APDU as if sent in one piece (no segment fields).
    pub apdu: Apdu,
    /// How many segments it came in.
    pub segments: u32,
}

/// Which of the two segmentable PDU types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    ConfirmedRequest,
    ComplexAck,
}

/// The fixed fields of one segment.
#[derive(Debug, Clone, Copy)]
struct Header {
    kind: Kind,
    /// Confirmed requests: max segments and max APDU accepted (kept for the rebuild).
    limits: u8,
    /// Confirmed requests: the segmented-response-accepted flag.
    response_accepted: bool,
    invoke_id: u8,
    sequence: u8,
    window: u8,
    more_follows: bool,
    choice: u8,
    /// Where the service data start.
    body_at: usize,
}

/// One message being reassembled.
#[derive(Debug)]
struct Partial {
    first: Header,
    started: DateTime<Utc>,
    /// Order of arrival, to evict the oldest.
    serial: u64,
    segments: u32,
    window: u8,
    /// The last sequence number a Segment-ACK acknowledged, once one is seen.
    acked: Option<u8>,
    body: Vec<u8>,
}

/// Segments of one sender to one receiver, by invoke id and PDU type.
type Key<A> = (A, A, u8, Kind);

/// Collects segmented BACnet messages per (sender, receiver, invoke id, PDU type).
///
/// `A` is an endpoint address, e.g. a `SocketAddr`.
#[derive(Debug)]
pub struct Reassembler<A> {
    limits: SegmentLimits,
    open: HashMap<Key<A>, Partial>,
    bytes: usize,
    serial: u64,
    last_sweep: Option<DateTime<Utc>>,
    stats: SegmentStats,
}

impl<A: Copy + Eq + Hash> Reassembler<A> {
    /// A reassembler holding nothing yet.
    pub fn new(limits: SegmentLimits) -> Self {
        Reassembler {
            limits,
            open: HashMap::new(),
            bytes: 0,
            serial: 0,
            last_sweep: None,
            stats: SegmentStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> SegmentStats {
        SegmentStats {
            open: self.open.len() as u64,
            open_bytes: self.bytes as u64,
            ..self.stats
        }
    }

    /// Adds one segment (the whole APDU, header included) sent by `from` to `to` at
    /// `time`; answers the message once its last segment is in, `None` before.
    pub fn segment(
        &mut self,
        from: A,
        to: A,
        time: DateTime<Utc>,
        apdu: &[u8],
    ) -> Result<Option<Reassembled>, SegmentError> {
        self.expire(time);
        let result = self.add(from, to, time, apdu);
        match &result {
            Ok(_) => self.stats.segments += 1,
            Err(_) => self.stats.errors += 1,
        }
        result
    }

    /// Notes a Segment-ACK sent by `from` to `to`: the window the receiver grants and
    /// the last segment it holds. Acknowledgements of no open message are ignored.
    pub fn segment_ack(&mut self, from: A, to: A, apdu: &[u8]) {
        let Some(&[first, invoke_id, sequence, window]) = apdu.get(..4) else {
            return;
        };
        // The server flag says the acknowledged segments are a confirmed request's.
        let kind = match first & 0x01 {
            1 => Kind::ConfirmedRequest,
            _ => Kind::ComplexAck,
        };
        if let Some(partial) = self.open.get_mut(&(to, from, invoke_id, kind)) {
            partial.acked = Some(sequence);
            if (1..=MAX_WINDOW).contains(&window) {
                partial.window = window;
            }
        }
    }

    fn add(
        &mut self,
        from: A,
        to: A,
        time: DateTime<Utc>,
        apdu: &[u8],
    ) -> Result<Option<Reassembled>, SegmentError> {
        // 1. The header, and a window the standard allows.
        let header = parse_header(apdu).map_err(SegmentError::Header)?;
        let key = (from, to, header.invoke_id, header.kind);
        if !(1..=MAX_WINDOW).contains(&header.window) {
            self.remove(&key);
            return Err(SegmentError::BadWindow {
                invoke_id: header.invoke_id,
                window: header.window,
            });
        }
        let body = apdu.get(header.body_at..).unwrap_or_default();

        // 2. A first segment opens a message; any other needs one open.
        let Some(partial) = self.open.get(&key) else {
            if header.sequence != 0 {
                return Err(SegmentError::MissingFirst {
                    invoke_id: header.invoke_id,
                    sequence: header.sequence,
                });
            }
            return self.open_message(key, header, time, body);
        };

        // 3. A later segment must be the next one, of the same service, in the window.
        let expected = (partial.segments % 256) as u8;
        check_in_order(partial, &header, expected)?;
        if let Err(err) = check_continuation(partial, &header) {
            self.remove(&key);
            return Err(err);
        }

        // 4. Append within the caps; the last segment completes the message.
        self.append(&key, header, body)
    }

    fn open_message(
        &mut self,
        key: Key<A>,
        header: Header,
        time: DateTime<Utc>,
        body: &[u8],
    ) -> Result<Option<Reassembled>, SegmentError> {
        self.check_size(header.invoke_id, body.len())?;
        while self.open.len() >= self.limits.max_open.max(1) {
            self.evict_oldest();
        }
        self.serial += 1;
        let partial = Partial {
            first: header,
            started: time,
            serial: self.serial,
            segments: 0,
            window: header.window,
            acked: None,
            body: Vec::new(),
        };
        self.open.insert(key, partial);
        self.append(&key, header, body)
    }

    fn append(
        &mut self,
        key: &Key<A>,
        header: Header,
        body: &[u8],
    ) -> Result<Option<Reassembled>, SegmentError> {
        let held = self.open.get(key).map_or(0, |p| p.body.len());
        if let Err(err) = self.check_size(header.invoke_id, held.saturating_add(body.len())) {
            self.remove(key);
            return Err(err);
        }
        self.make_room(key, body.len());
        let Some(partial) = self.open.get_mut(key) else {
            return Ok(None);
        };
        partial.body.extend_from_slice(body);
        partial.segments += 1;
        self.bytes += body.len();
        if header.more_follows {
            return Ok(None);
        }
        let Some(partial) = self.remove(key) else {
            return Ok(None);
        };
        self.stats.reassembled += 1;
        finish(partial).map(Some)
    }

    fn check_size(&self, invoke_id: u8, bytes: usize) -> Result<(), SegmentError> {
        let limit = self.limits.max_message_bytes;
        if bytes > limit {
            return Err(SegmentError::TooLarge { invoke_id, limit });
        }
        Ok(())
    }

    /// Evicts the oldest other messages until `adding` more bytes fit the total cap.
    fn make_room(&mut self, keep: &Key<A>, adding: usize) {
        while self.bytes.saturating_add(adding) > self.limits.max_total_bytes {
            let oldest = self
                .open
                .iter()
                .filter(|(key, _)| *key != keep)
                .min_by_key(|(_, p)| p.serial)
                .map(|(key, _)| *key);
            let Some(oldest) = oldest else { return };
            self.remove(&oldest);
            self.stats.evicted += 1;
        }
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, p)| p.serial)
            .map(|(key, _)| *key);
        if let Some(key) = oldest {
            self.remove(&key);
            self.stats.evicted += 1;
        }
    }

    /// Drops messages open longer than the timeout; looks at most once a second.
    fn expire(&mut self, now: DateTime<Utc>) {
        if self
            .last_sweep
            .is_some_and(|at| now - at < TimeDelta::seconds(1))
        {
            return;
        }
        self.last_sweep = Some(now);
        let timeout = TimeDelta::seconds(self.limits.timeout_secs);
        let stale: Vec<_> = self
            .open
            .iter()
            .filter(|(_, p)| now - p.started > timeout)
            .map(|(key, _)| *key)
            .collect();
        for key in stale {
            self.remove(&key);
            self.stats.expired += 1;
        }
    }

    fn remove(&mut self, key: &Key<A>) -> Option<Partial> {
        let partial = self.open.remove(key)?;
        self.bytes = self.bytes.saturating_sub(partial.body.len());
        Some(partial)
    }
}

/// True when `apdu` is one segment of a confirmed request or complex ACK.
pub fn is_segment(apdu: &[u8]) -> bool {
    match apdu.first() {
        Some(first) => matches!(first >> 4, 0 | 3) && first & 0x08 != 0,
        None => false,
    }
}

/// True when `apdu` is a Segment-ACK PDU.
pub fn is_segment_ack(apdu: &[u8]) -> bool {
    apdu.first().is_some_and(|first| first >> 4 == 4)
}

/// Reads the fixed fields of a segment of a confirmed request or complex ACK.
fn parse_header(apdu: &[u8]) -> Result<Header, BacnetError> {
    let truncated = |need: usize| BacnetError::Truncated {
        layer: "APDU",
        need,
        have: apdu.len(),
    };
    let first = *apdu.first().ok_or(truncated(1))?;
    let (kind, fields) = match first >> 4 {
        0 => (Kind::ConfirmedRequest, 2),
        3 => (Kind::ComplexAck, 1),
        other => return Err(BacnetError::BadApduType(other)),
    };
    if first & 0x08 == 0 {
        return Err(BacnetError::Tag("APDU is not segmented"));
    }

    // Confirmed requests carry max segments/APDU before the invoke id.
    let need = 1 + fields + 3;
    let head = apdu.get(..need).ok_or(truncated(need))?;
    let at = 1 + fields;
    Ok(Header {
        kind,
        limits: if kind == Kind::ConfirmedRequest {
            head[1]
        } else {
            0
        },
        response_accepted: first & 0x02 != 0,
        invoke_id: head[at - 1],
        sequence: head[at],
        window: head[at + 1],
        more_follows: first & 0x04 != 0,
        choice: head[at + 2],
        body_at: need,
    })
}

/// An in-order segment is the next expected; one just behind was sent again.
fn check_in_order(partial: &Partial, header: &Header, expected: u8) -> Result<(), SegmentError> {
    if header.sequence == expected {
        return Ok(());
    }
    let invoke_id = header.invoke_id;
    let behind = expected.wrapping_sub(header.sequence);
    if (1..=MAX_WINDOW).contains(&behind) && u32::from(behind) <= partial.segments {
        return Err(SegmentError::Duplicate {
            invoke_id,
            sequence: header.sequence,
        });
    }
    Err(SegmentError::OutOfOrder {
        invoke_id,
        expected,
        got: header.sequence,
    })
}

/// The same service as the first segment, and within the window last granted.
fn check_continuation(partial: &Partial, header: &Header) -> Result<(), SegmentError> {
    let invoke_id = header.invoke_id;
    if header.choice != partial.first.choice {
        return Err(SegmentError::ServiceChanged {
            invoke_id,
            first: partial.first.choice,
            now: header.choice,
        });
    }
    if let Some(acked) = partial.acked
        && header.sequence.wrapping_sub(acked) > partial.window
    {
        return Err(SegmentError::WindowExceeded {
            invoke_id,
            sequence: header.sequence,
            acked,
            window: partial.window,
        });
    }
    Ok(())
}

/// Rebuilds the message as one unsegmented APDU and decodes it.
fn finish(partial: Partial) -> Result<Reassembled, SegmentError> {
    let head = partial.first;
    let mut whole = Vec::with_capacity(partial.body.len() + 4);
    match head.kind {
        Kind::ConfirmedRequest => {
            let flags = if head.response_accepted { 0x02 } else { 0x00 };
            whole.extend_from_slice(&[flags, head.limits, head.invoke_id, head.choice]);
        }
        Kind::ComplexAck => whole.extend_from_slice(&[0x30, head.invoke_id, head.choice]),
    }
    whole.extend_from_slice(&partial.body);
    let apdu = parse_apdu(&whole).map_err(|source| SegmentError::Decode {
        invoke_id: head.invoke_id,
        source,
    })?;
    Ok(Reassembled {
        apdu,
        segments: partial.segments,
    })
}

#[cfg(test)]
#[path = "segments_tests.rs"]
mod tests;
