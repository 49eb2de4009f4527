//! Every real Modbus and BACnet capture decodes: frames parsed or counted, no panic.

use std::path::PathBuf;

use safecare_ot::cli::scan_files;
use safecare_ot::sensor::Observation;

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcap"
    ))
    .join(path)
}

fn scan(
    path: &str,
) -> (
    safecare_capture::EngineStats,
    safecare_ot::SensorStats,
    Vec<Observation>,
) {
    let mut seen = Vec::new();
    let (engine, sensor) = scan_files(&[data(path)], &mut |o| {
        seen.push(o);
        Ok(())
    })
    .unwrap();
    eprintln!("{path}: {engine:?}\n  {sensor:?}");
    (engine, sensor, seen)
}

#[test]
fn modbus_captures_decode_with_requests_paired() {
    for name in [
        "modbusSmall.pcap",
        "modbus_test.pcap",
        "modbus_test_2.pcap",
        "modbus_test_data_part1.pcap",
        "modbus_test_data_part2.pcap",
    ] {
        let (engine, sensor, seen) = scan(&format!("modbus/{name}"));
        assert_eq!(
            engine.decoded + engine.undecodable,
            engine.packets,
            "{name}"
        );
        assert!(sensor.modbus_frames > 0, "{name}: no Modbus frame decoded");
        let paired = seen
            .iter()
            .filter(|o| matches!(o, Observation::Transaction(t) if matches!(&t.detail,
                safecare_ot::transaction::Detail::Modbus(x) if x.request.is_some() && x.response.is_some())))
            .count();
        eprintln!("  paired {paired}");
        assert!(paired > 0, "{name}: no request paired with its response");
    }
}

/// Wireshark's Modbus/TCP dissector counts 2258 and 3975 frames in these captures
/// (`tshark -Y mbtcp -T fields -e mbtcp.trans_id`); SafeCare must find the same.
#[test]
fn modbus_frame_counts_match_wireshark() {
    for (name, frames) in [("modbus_test.pcap", 2258), ("modbus_test_2.pcap", 3975)] {
        let (_, sensor, _) = scan(&format!("modbus/{name}"));
        assert_eq!(sensor.modbus_frames, frames, "{name}");
        assert_eq!(sensor.modbus_errors, 0, "{name}");
    }
}

#[test]
fn fuzz_captures_are_counted_not_fatal() {
    for name in ["fuzz-72.pcap", "fuzz-1011.pcap"] {
        let (engine, sensor, _) = scan(&format!("modbus/{name}"));
        assert_eq!(
            engine.decoded + engine.undecodable,
            engine.packets,
            "{name}"
        );
        assert!(sensor.modbus_frames + sensor.modbus_errors > 0, "{name}");
    }
}

#[test]
fn bacnet_captures_decode_every_datagram() {
    for name in [
        "bacnet_test.pcap",
        "bacnet_example.pcap",
        "bacnet_services.pcap",
        "bacnet_error_reject_abort.pcap",
        "bacnet_segmented_data.pcap",
    ] {
        let (_, sensor, seen) = scan(&format!("bacnet/{name}"));
        assert!(sensor.bacnet_datagrams > 0, "{name}");
        assert_eq!(
            sensor.bacnet_messages + sensor.bacnet_errors,
            sensor.bacnet_datagrams
        );
        // The only datagrams that do not decode are empty ones (bacnet_test.pcap
        // holds four zero-length UDP probes).
        for o in &seen {
            if let Observation::Malformed(m) = o {
                assert!(m.error.contains("0 present"), "{name}: {}", m.error);
            }
        }
    }
}
