//! Fuzzes the BACnet/IP parser (BVLC, NPDU, APDU and service data): any datagram must
//! give a message or a typed error, never a panic, and serialise as JSON.
//!
//! The same bytes, cut into APDUs, also go through segment reassembly with small caps:
//! whatever the segments, it never panics and never holds more than its caps allow.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_capture::Timestamp;
use safecare_ot::bacnet::segments::{Reassembler, SegmentLimits, is_segment, is_segment_ack};
use safecare_ot::bacnet::{parse_apdu, parse_datagram};
use safecare_ot::sensor::to_datetime;

const LIMITS: SegmentLimits = SegmentLimits {
    max_open: 4,
    max_total_bytes: 512,
    max_message_bytes: 256,
    timeout_secs: 60,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = parse_datagram(data) {
        let _ = serde_json::to_string(&message);
    }
    let _ = parse_apdu(data);
    reassemble(data);
});

/// Reads `data` as records [sender, seconds, length, APDU...] and feeds each APDU to a
/// reassembler, checking its caps after every step.
fn reassemble(mut data: &[u8]) {
    let mut reassembler = Reassembler::new(LIMITS);
    while let [sender, seconds, length, rest @ ..] = data {
        let length = usize::from(*length).min(rest.len());
        let (apdu, next) = rest.split_at(length);
        data = next;
        let (from, to) = (sender & 0x03, (sender >> 2) & 0x03);
        let time = to_datetime(Timestamp::from_parts(u64::from(*seconds), 0));
        if is_segment_ack(apdu) {
            reassembler.segment_ack(from, to, apdu);
        } else if is_segment(apdu)
            && let Ok(Some(whole)) = reassembler.segment(from, to, time, apdu)
        {
            assert!(whole.segments >= 1);
            let _ = serde_json::to_string(&whole.apdu);
        }
        let stats = reassembler.stats();
        assert!(stats.open <= LIMITS.max_open as u64);
        assert!(stats.open_bytes <= LIMITS.max_total_bytes as u64);
    }
}
