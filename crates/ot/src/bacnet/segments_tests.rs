use chrono::{DateTime, Utc};

use super::*;
use crate::bacnet::{PduType, Service};

const CLIENT: u8 = 1;
const DEVICE: u8 = 2;
const READ_PROPERTY_MULTIPLE: u8 = 14;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

/// Object identifier `type:instance` as context tag 0.
fn object_tag(object_type: u32, instance: u32) -> [u8; 5] {
    let id = (object_type << 22 | instance).to_be_bytes();
    [0x0c, id[0], id[1], id[2], id[3]]
}

/// ReadPropertyMultiple service data: for each analog-input 0..objects, properties
/// present-value (85) and units (117).
fn rpm_request_body(objects: u32) -> Vec<u8> {
    let mut body = Vec::new();
    for instance in 0..objects {
        body.extend_from_slice(&object_tag(0, instance)); // ctx 0: analog-input:N
        body.push(0x1e); // ctx 1 opening: property references
        body.extend_from_slice(&[0x09, 85]); // ctx 0: present-value
        body.extend_from_slice(&[0x09, 117]); // ctx 0: units
        body.push(0x1f); // ctx 1 closing
    }
    body
}

/// ReadPropertyMultiple-ACK service data: present-value of analog-input N is N + 0.5.
fn rpm_ack_body(objects: u32) -> Vec<u8> {
    let mut body = Vec::new();
    for instance in 0..objects {
        body.extend_from_slice(&object_tag(0, instance)); // ctx 0: analog-input:N
        body.push(0x1e); // ctx 1 opening: results
        body.extend_from_slice(&[0x29, 85]); // ctx 2: present-value
        body.push(0x4e); // ctx 4 opening: value
        body.push(0x44); // application REAL
        body.extend_from_slice(&(instance as f32 + 0.5).to_be_bytes());
        body.push(0x4f); // ctx 4 closing
        body.push(0x1f); // ctx 1 closing
    }
    body
}

/// Confirmed-request segments of `body`, `chunk` bytes each, window `window`.
fn request_segments(invoke: u8, window: u8, body: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let pieces: Vec<_> = body.chunks(chunk).collect();
    let last = pieces.len() - 1;
    let mut segments = Vec::new();
    for (sequence, piece) in pieces.into_iter().enumerate() {
        let more = if sequence < last { 0x04 } else { 0x00 };
        // type 0, SEG, MOR, SA; max segments/APDU 0x05; invoke; sequence; window; choice
        let mut apdu = vec![0x0a | more, 0x05, invoke, sequence as u8, window];
        apdu.push(READ_PROPERTY_MULTIPLE);
        apdu.extend_from_slice(piece);
        segments.push(apdu);
    }
    segments
}

/// Complex-ACK segments of `body`, `chunk` bytes each.
fn ack_segments(invoke: u8, body: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let pieces: Vec<_> = body.chunks(chunk).collect();
    let last = pieces.len() - 1;
    let mut segments = Vec::new();
    for (sequence, piece) in pieces.into_iter().enumerate() {
        let more = if sequence < last { 0x04 } else { 0x00 };
        // type 3, SEG, MOR; invoke; sequence; window 4; choice
        let mut apdu = vec![
            0x38 | more,
            invoke,
            sequence as u8,
            4,
            READ_PROPERTY_MULTIPLE,
        ];
        apdu.extend_from_slice(piece);
        segments.push(apdu);
    }
    segments
}

fn refs(service: &Service) -> Vec<(String, u32, Option<f64>)> {
    let Service::Properties { refs } = service else {
        panic!("not a property service: {service:?}");
    };
    refs.iter()
        .map(|r| (r.object.to_string(), r.property, r.value))
        .collect()
}

/// Feeds every segment but the last, checking each is held.
fn feed_all_but_last(r: &mut Reassembler<u8>, from: u8, to: u8, segments: &[Vec<u8>]) {
    for segment in &segments[..segments.len() - 1] {
        assert_eq!(r.segment(from, to, at(0), segment).unwrap(), None);
    }
}

#[test]
fn a_request_split_mid_tag_reads_as_if_sent_whole() {
    let body = rpm_request_body(20);
    let segments = request_segments(7, 4, &body, 37);
    let mut r = Reassembler::new(SegmentLimits::default());
    feed_all_but_last(&mut r, CLIENT, DEVICE, &segments);
    let last = segments.last().unwrap();
    let whole = r.segment(CLIENT, DEVICE, at(0), last).unwrap().unwrap();

    assert_eq!(whole.segments, segments.len() as u32);
    assert_eq!(whole.apdu.pdu_type, PduType::ConfirmedRequest);
    assert_eq!(whole.apdu.invoke_id, Some(7));
    assert_eq!(whole.apdu.segment, None);
    assert_eq!(whole.apdu.service_name, Some("read_property_multiple"));
    let read = refs(&whole.apdu.service);
    assert_eq!(read.len(), 40);
    assert_eq!(read[0], ("analog-input:0".to_string(), 85, None));
    assert_eq!(read[39], ("analog-input:19".to_string(), 117, None));
    assert_eq!(r.stats().open, 0);
    assert_eq!(r.stats().open_bytes, 0);
    assert_eq!(r.stats().reassembled, 1);
}

#[test]
fn a_complex_ack_keeps_every_value_across_segments() {
    let body = rpm_ack_body(30);
    let segments = ack_segments(9, &body, 50);
    let mut r = Reassembler::new(SegmentLimits::default());
    feed_all_but_last(&mut r, DEVICE, CLIENT, &segments);
    let whole = r
        .segment(DEVICE, CLIENT, at(0), segments.last().unwrap())
        .unwrap()
        .unwrap();

    assert_eq!(whole.apdu.pdu_type, PduType::ComplexAck);
    let values: Vec<_> = refs(&whole.apdu.service).iter().map(|r| r.2).collect();
    let expected: Vec<_> = (0..30).map(|n| Some(f64::from(n as f32 + 0.5))).collect();
    assert_eq!(values, expected);
}

#[test]
fn messages_of_different_invoke_ids_and_senders_stay_apart() {
    let a = request_segments(1, 4, &rpm_request_body(3), 10);
    let b = request_segments(2, 4, &rpm_request_body(5), 10);
    let c = request_segments(1, 4, &rpm_request_body(4), 10);
    let mut r = Reassembler::new(SegmentLimits::default());
    let mut done = Vec::new();

    // Interleave the three messages segment by segment.
    for i in 0..b.len() {
        for (from, segments) in [(CLIENT, &a), (CLIENT, &b), (3, &c)] {
            if let Some(segment) = segments.get(i)
                && let Some(whole) = r.segment(from, DEVICE, at(0), segment).unwrap()
            {
                done.push(refs(&whole.apdu.service).len());
            }
        }
    }
    assert_eq!(done, vec![6, 8, 10]);
}

#[test]
fn a_segment_without_its_first_is_an_error() {
    let segments = request_segments(4, 4, &rpm_request_body(5), 10);
    let mut r = Reassembler::new(SegmentLimits::default());
    let err = r.segment(CLIENT, DEVICE, at(0), &segments[2]).unwrap_err();
    assert_eq!(
        err,
        SegmentError::MissingFirst {
            invoke_id: 4,
            sequence: 2
        }
    );
    assert!(
        err.to_string().contains("without its first segment"),
        "{err}"
    );
    assert_eq!(r.stats().errors, 1);
}

#[test]
fn out_of_order_and_repeated_segments_are_reported_and_ignored() {
    let segments = request_segments(4, 4, &rpm_request_body(5), 10);
    let mut r = Reassembler::new(SegmentLimits::default());
    r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap();
    r.segment(CLIENT, DEVICE, at(0), &segments[1]).unwrap();

    let skipped = r.segment(CLIENT, DEVICE, at(0), &segments[3]).unwrap_err();
    assert_eq!(
        skipped,
        SegmentError::OutOfOrder {
            invoke_id: 4,
            expected: 2,
            got: 3
        }
    );
    let again = r.segment(CLIENT, DEVICE, at(0), &segments[1]).unwrap_err();
    assert_eq!(
        again,
        SegmentError::Duplicate {
            invoke_id: 4,
            sequence: 1
        }
    );

    // The sender repeats from the expected segment: the message completes whole.
    let mut whole = None;
    for segment in &segments[2..] {
        whole = r.segment(CLIENT, DEVICE, at(0), segment).unwrap();
    }
    assert_eq!(refs(&whole.unwrap().apdu.service).len(), 10);
    assert_eq!(r.stats().errors, 2);
}

#[test]
fn a_window_outside_the_standard_drops_the_message() {
    let mut segments = request_segments(4, 4, &rpm_request_body(5), 10);
    let mut r = Reassembler::new(SegmentLimits::default());
    r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap();
    segments[1][4] = 200; // proposed window 200 > 127
    let err = r.segment(CLIENT, DEVICE, at(0), &segments[1]).unwrap_err();
    assert_eq!(
        err,
        SegmentError::BadWindow {
            invoke_id: 4,
            window: 200
        }
    );
    assert_eq!(r.stats().open, 0);

    segments[0][4] = 0;
    let zero = r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap_err();
    assert!(matches!(zero, SegmentError::BadWindow { window: 0, .. }));
}

#[test]
fn sending_past_the_granted_window_drops_the_message() {
    let segments = request_segments(4, 4, &rpm_request_body(10), 8);
    let mut r = Reassembler::new(SegmentLimits::default());
    r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap();

    // The device acknowledges segment 0 and grants a window of 2 (server flag set).
    r.segment_ack(DEVICE, CLIENT, &[0x41, 4, 0, 2]);
    r.segment(CLIENT, DEVICE, at(0), &segments[1]).unwrap();
    r.segment(CLIENT, DEVICE, at(0), &segments[2]).unwrap();
    let err = r.segment(CLIENT, DEVICE, at(0), &segments[3]).unwrap_err();
    assert_eq!(
        err,
        SegmentError::WindowExceeded {
            invoke_id: 4,
            sequence: 3,
            acked: 0,
            window: 2
        }
    );
    assert_eq!(r.stats().open, 0);
}

#[test]
fn acknowledged_windows_let_the_message_complete() {
    let segments = request_segments(4, 2, &rpm_request_body(10), 8);
    let mut r = Reassembler::new(SegmentLimits::default());
    let mut whole = None;
    for (sequence, segment) in segments.iter().enumerate() {
        whole = r.segment(CLIENT, DEVICE, at(0), segment).unwrap();
        if sequence % 2 == 0 {
            r.segment_ack(DEVICE, CLIENT, &[0x41, 4, sequence as u8, 2]);
        }
    }
    assert_eq!(refs(&whole.unwrap().apdu.service).len(), 20);
}

#[test]
fn a_message_past_its_size_cap_is_dropped() {
    let limits = SegmentLimits {
        max_message_bytes: 100,
        ..SegmentLimits::default()
    };
    let segments = request_segments(4, 4, &rpm_request_body(20), 40);
    let mut r = Reassembler::new(limits);
    r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap();
    r.segment(CLIENT, DEVICE, at(0), &segments[1]).unwrap();
    let err = r.segment(CLIENT, DEVICE, at(0), &segments[2]).unwrap_err();
    assert_eq!(
        err,
        SegmentError::TooLarge {
            invoke_id: 4,
            limit: 100
        }
    );
    assert_eq!((r.stats().open, r.stats().open_bytes), (0, 0));

    // The rest of the dropped message no longer has a first segment.
    let late = r.segment(CLIENT, DEVICE, at(0), &segments[3]).unwrap_err();
    assert!(matches!(late, SegmentError::MissingFirst { .. }));
}

#[test]
fn a_segment_naming_another_service_drops_the_message() {
    let mut segments = request_segments(4, 4, &rpm_request_body(5), 10);
    let mut r = Reassembler::new(SegmentLimits::default());
    r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap();
    segments[1][5] = 15; // WriteProperty
    let err = r.segment(CLIENT, DEVICE, at(0), &segments[1]).unwrap_err();
    assert_eq!(
        err,
        SegmentError::ServiceChanged {
            invoke_id: 4,
            first: 14,
            now: 15
        }
    );
}

#[test]
fn open_messages_past_the_count_cap_evict_the_oldest() {
    let limits = SegmentLimits {
        max_open: 3,
        ..SegmentLimits::default()
    };
    let mut r = Reassembler::new(limits);
    let messages: Vec<_> = (0..5)
        .map(|invoke| request_segments(invoke, 4, &rpm_request_body(3), 10))
        .collect();
    for segments in &messages {
        r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap();
    }
    let stats = r.stats();
    assert_eq!((stats.open, stats.evicted), (3, 2));

    // Invoke ids 0 and 1 were the oldest: their next segments have no first.
    let evicted = r
        .segment(CLIENT, DEVICE, at(0), &messages[0][1])
        .unwrap_err();
    assert!(matches!(
        evicted,
        SegmentError::MissingFirst { invoke_id: 0, .. }
    ));
    assert_eq!(
        r.segment(CLIENT, DEVICE, at(0), &messages[4][1]).unwrap(),
        None
    );
}

#[test]
fn held_bytes_past_the_total_cap_evict_the_oldest() {
    let limits = SegmentLimits {
        max_total_bytes: 100,
        ..SegmentLimits::default()
    };
    let mut r = Reassembler::new(limits);
    for invoke in 0..4 {
        let segments = request_segments(invoke, 4, &rpm_request_body(10), 40);
        r.segment(CLIENT, DEVICE, at(0), &segments[0]).unwrap();
    }
    let stats = r.stats();
    assert!(stats.open_bytes <= 100, "{stats:?}");
    assert_eq!((stats.open, stats.evicted), (2, 2));
}

#[test]
fn a_message_that_never_completes_expires() {
    let mut r = Reassembler::new(SegmentLimits::default());
    let stale = request_segments(1, 4, &rpm_request_body(5), 10);
    let fresh = request_segments(2, 4, &rpm_request_body(5), 10);
    r.segment(CLIENT, DEVICE, at(0), &stale[0]).unwrap();
    r.segment(CLIENT, DEVICE, at(61), &fresh[0]).unwrap();
    let stats = r.stats();
    assert_eq!((stats.open, stats.expired), (1, 1));
    let late = r.segment(CLIENT, DEVICE, at(62), &stale[1]).unwrap_err();
    assert!(matches!(
        late,
        SegmentError::MissingFirst { invoke_id: 1, .. }
    ));
}

#[test]
fn short_and_unsegmented_headers_are_errors() {
    let mut r = Reassembler::new(SegmentLimits::default());
    for bad in [
        &[][..],
        &[0x0c, 0x05, 1],
        &[0x38, 1, 0],
        &[0x00, 0x05, 1, 14],
        &[0x50],
    ] {
        let err = r.segment(CLIENT, DEVICE, at(0), bad).unwrap_err();
        assert!(matches!(err, SegmentError::Header(_)), "{bad:?}: {err:?}");
    }
    assert_eq!(r.stats().errors, 5);
}

#[test]
fn reassembled_garbage_is_a_decode_error() {
    // A ReadPropertyMultiple whose object tag is cut by the end of the last segment.
    let mut body = rpm_request_body(2);
    body.truncate(body.len() - 3);
    let segments = request_segments(6, 4, &body, 6);
    let mut r = Reassembler::new(SegmentLimits::default());
    feed_all_but_last(&mut r, CLIENT, DEVICE, &segments);
    let err = r
        .segment(CLIENT, DEVICE, at(0), segments.last().unwrap())
        .unwrap_err();
    assert!(
        matches!(err, SegmentError::Decode { invoke_id: 6, .. }),
        "{err:?}"
    );
}

#[test]
fn acknowledgements_of_nothing_open_are_ignored() {
    let mut r: Reassembler<u8> = Reassembler::new(SegmentLimits::default());
    r.segment_ack(DEVICE, CLIENT, &[0x41, 4, 0, 2]);
    r.segment_ack(DEVICE, CLIENT, &[0x41]);
    assert_eq!(r.stats(), SegmentStats::default());
}
