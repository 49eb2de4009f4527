//! Segmented BACnet messages through the whole sensor: captures generated here with
//! Synth, segments sent whole, out of order, repeated, beyond the window or too large,
//! on the standard port and on a port given in the configuration.

use safecare_capture::synth::{Host, Synth};
use safecare_core::SecurityEvent;
use safecare_core::site::Site;
use safecare_ot::bacnet::{PduType, Service};
use safecare_ot::cli::{OtCommand, run_with_site, scan_files_with};
use safecare_ot::detect::{DetectConfig, Detector};
use safecare_ot::live::PortArgs;
use safecare_ot::sensor::{Observation, SensorConfig, SensorStats};
use safecare_ot::transaction::Detail;

const WORKSTATION: &str = "10.30.0.5";
const CONTROLLER: &str = "10.30.0.20";

/// WritePropertyMultiple service data: present-value (85) of analog-value 0..objects
/// set to 20.0 + N at priority 8.
fn write_multiple_body(objects: u32) -> Vec<u8> {
    let mut body = Vec::new();
    for instance in 0..objects {
        let id = (2u32 << 22 | instance).to_be_bytes();
        body.extend_from_slice(&[0x0c, id[0], id[1], id[2], id[3]]); // ctx 0: analog-value:N
        body.push(0x1e); // ctx 1 opening: values to write
        body.extend_from_slice(&[0x09, 85]); // ctx 0: present-value
        body.push(0x2e); // ctx 2 opening: value
        body.push(0x44); // application REAL
        body.extend_from_slice(&(20.0 + instance as f32).to_be_bytes());
        body.push(0x2f); // ctx 2 closing
        body.extend_from_slice(&[0x39, 8]); // ctx 3: priority 8
        body.push(0x1f); // ctx 1 closing
    }
    body
}

/// BACnet/IP datagrams, one per segment of a confirmed WritePropertyMultiple.
fn segments(invoke: u8, body: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let pieces: Vec<_> = body.chunks(chunk).collect();
    let last = pieces.len() - 1;
    let mut datagrams = Vec::new();
    for (sequence, piece) in pieces.into_iter().enumerate() {
        let more = if sequence < last { 0x04 } else { 0x00 };
        // APDU: confirmed, SEG, MOR, SA; max 1476; invoke; sequence; window 16; service 16
        let mut apdu = vec![0x0a | more, 0x05, invoke, sequence as u8, 16, 16];
        apdu.extend_from_slice(piece);
        datagrams.push(unicast(&apdu));
    }
    datagrams
}

/// BVLC Original-Unicast-NPDU and an NPDU expecting a reply around `apdu`.
fn unicast(apdu: &[u8]) -> Vec<u8> {
    let len = (apdu.len() + 6) as u16;
    let mut datagram = vec![0x81, 0x0a, (len >> 8) as u8, len as u8, 0x01, 0x04];
    datagram.extend_from_slice(apdu);
    datagram
}

/// A capture of `datagrams` from the workstation to the controller, both on `port`.
fn capture(datagrams: &[Vec<u8>], port: u16) -> Vec<u8> {
    let mut synth = Synth::new();
    let (workstation, controller) = (Host::v4(WORKSTATION), Host::v4(CONTROLLER));
    for datagram in datagrams {
        synth.udp(&workstation, port, &controller, port, datagram);
    }
    synth.finish()
}

/// Scans a generated capture with `config`: observations, events and counters.
fn scan(pcap: &[u8], config: SensorConfig) -> (Vec<Observation>, Vec<SecurityEvent>, SensorStats) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segments.pcap");
    std::fs::write(&path, pcap).unwrap();
    let site = Site::demo();
    let mut detector = Detector::new(&site, Some(&site), DetectConfig::default());
    let mut observations = Vec::new();
    let mut events = Vec::new();
    let (_, stats) = scan_files_with(&[path], config, &mut |o| {
        detector.observe(&o);
        events.extend(detector.drain_events());
        observations.push(o);
        Ok(())
    })
    .unwrap();
    (observations, events, stats)
}

fn errors(observations: &[Observation]) -> Vec<&str> {
    let mut errors = Vec::new();
    for observation in observations {
        if let Observation::Malformed(m) = observation {
            errors.push(m.error.as_str());
        }
    }
    errors
}

#[test]
fn a_segmented_write_is_one_transaction_with_every_value() {
    let datagrams = segments(3, &write_multiple_body(12), 40);
    let (observations, events, stats) = scan(&capture(&datagrams, 47808), SensorConfig::default());

    assert_eq!(observations.len(), 1, "{observations:?}");
    let Observation::Transaction(t) = &observations[0] else {
        panic!("not a transaction: {observations:?}");
    };
    let Detail::Bacnet(exchange) = &t.detail else {
        panic!("not BACnet");
    };
    assert_eq!(exchange.segments, Some(datagrams.len() as u32));
    let apdu = exchange.apdu().unwrap();
    assert_eq!(apdu.pdu_type, PduType::ConfirmedRequest);
    assert_eq!(apdu.service_name, Some("write_property_multiple"));
    let Service::Properties { refs } = &apdu.service else {
        panic!("no properties: {apdu:?}");
    };
    let written: Vec<_> = refs.iter().map(|r| (r.object.instance, r.value)).collect();
    let expected: Vec<_> = (0..12).map(|n| (n, Some(20.0 + f64::from(n)))).collect();
    assert_eq!(written, expected);
    assert!(refs.iter().all(|r| r.priority == Some(8)));

    assert_eq!(
        (stats.bacnet_segments, stats.bacnet_reassembled),
        (datagrams.len() as u64, 1)
    );
    assert!(
        events.iter().all(|e| e.kind != "ot.bacnet.malformed"),
        "{events:?}"
    );
}

#[test]
fn the_bacnet_port_comes_from_the_configuration() {
    let datagrams = segments(3, &write_multiple_body(4), 40);
    let pcap = capture(&datagrams, 47809);

    let (unseen, _, _) = scan(&pcap, SensorConfig::default());
    assert!(unseen.is_empty(), "{unseen:?}");

    let config = SensorConfig {
        bacnet_ports: vec![47808, 47809],
        ..SensorConfig::default()
    };
    let (seen, _, stats) = scan(&pcap, config);
    assert_eq!((seen.len(), stats.bacnet_reassembled), (1, 1));
}

#[test]
fn out_of_order_and_repeated_segments_are_malformed_and_the_message_still_completes() {
    let good = segments(9, &write_multiple_body(6), 30);
    // 0, 2 (ahead), 1, 1 (again), then the rest in order.
    let mut sent = vec![
        good[0].clone(),
        good[2].clone(),
        good[1].clone(),
        good[1].clone(),
    ];
    sent.extend_from_slice(&good[2..]);
    let (observations, events, stats) = scan(&capture(&sent, 47808), SensorConfig::default());

    let errors = errors(&observations);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("out of order"), "{}", errors[0]);
    assert!(errors[1].contains("sent again"), "{}", errors[1]);
    assert_eq!(stats.bacnet_segment_errors, 2);
    assert_eq!(stats.bacnet_reassembled, 1);
    assert!(
        events.iter().any(|e| e.kind == "ot.bacnet.malformed"),
        "{events:?}"
    );
}

#[test]
fn the_command_summary_counts_reassembled_messages_and_segment_problems() {
    let good = segments(9, &write_multiple_body(6), 30);
    let mut sent = vec![good[0].clone(), good[2].clone()];
    sent.extend_from_slice(&good[1..]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segments.pcap");
    std::fs::write(&path, capture(&sent, 47808)).unwrap();

    let command = OtCommand::Scan {
        files: vec![path],
        transactions: false,
        baseline: None,
        modbus_scale: 0.1,
        ports: PortArgs {
            modbus_ports: vec![502],
            bacnet_ports: vec![47808],
        },
    };
    let site = Site::demo();
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = run_with_site(command, &site, Some(&site), &mut events).unwrap();

    assert_eq!(summary.bacnet_reassembled, 1);
    assert_eq!(
        summary.bacnet_segment_problems, 1,
        "segment 2 came too early"
    );
    assert!(
        summary
            .to_string()
            .contains("1 reassembled from segments, 1 segment problems")
    );
}

#[test]
fn hostile_segments_are_errors_and_memory_stays_capped() {
    // A message that never ends, sent past the per-message cap, then orphans.
    let body = write_multiple_body(200);
    let mut endless = segments(1, &body, 200);
    endless.pop();
    let orphan = segments(2, &write_multiple_body(6), 30).remove(3);
    let mut sent = endless;
    sent.push(orphan);
    // A window of 0 and a header cut short.
    let mut zero_window = segments(4, &write_multiple_body(2), 30).remove(0);
    zero_window[10] = 0;
    sent.push(zero_window);
    sent.push(unicast(&[0x0e, 0x05, 7]));

    let config = SensorConfig {
        segments: safecare_ot::bacnet::segments::SegmentLimits {
            max_message_bytes: 1000,
            ..Default::default()
        },
        ..SensorConfig::default()
    };
    let (observations, _, stats) = scan(&capture(&sent, 47808), config);

    let errors = errors(&observations);
    assert!(
        errors.iter().any(|e| e.contains("grew past 1000 bytes")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("without its first segment")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("window size 0")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("truncated")), "{errors:?}");
    assert!(
        observations
            .iter()
            .all(|o| matches!(o, Observation::Malformed(_)))
    );
    assert_eq!(stats.bacnet_reassembled, 0);
}
