//! Suricata EVE intake.

mod support;

use safecare_net::eve::{self, parse_line};
use support::TestDirectory;

const ALERT: &str = r#"{"timestamp":"2026-12-03T02:14:00.123456+0000","flow_id":1234,"in_iface":"eth1","event_type":"alert","src_ip":"10.10.9.99","src_port":51515,"dest_ip":"10.40.0.10","dest_port":104,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2024217,"rev":3,"signature":"ET EXPLOIT Possible DICOM overflow","category":"Attempted Administrator Privilege Gain","severity":1,"metadata":{"mitre_technique_id":["T1190"]}}}"#;
const ANOMALY: &str = r#"{"timestamp":"2026-12-03T02:15:00.000000+0000","event_type":"anomaly","src_ip":"10.20.4.21","dest_ip":"10.40.0.10","anomaly":{"type":"decode","event":"ipv4.trunc_pkt","layer":"proto_detect"}}"#;
const FLOW: &str =
    r#"{"timestamp":"2026-12-03T02:16:00+0000","event_type":"flow","src_ip":"10.0.0.1"}"#;

#[test]
fn alerts_and_anomalies_become_events_others_are_skipped() {
    let dir = TestDirectory::demo();
    let alert = parse_line(ALERT.as_bytes(), 1, &dir).unwrap().unwrap();
    assert_eq!(alert.kind, "network.ids_alert");
    assert_eq!(alert.severity, 75);
    assert_eq!(alert.time.to_rfc3339(), "2026-12-03T02:14:00.123456+00:00");
    assert_eq!(alert.asset.as_deref(), Some("pacs-server"));
    assert_eq!(alert.zone(), Some("datacentre"));
    assert_eq!(alert.techniques(), ["T1190"]);
    assert_eq!(alert.evidence["suricata.signature_id"], 2024217);
    assert_eq!(alert.destination.as_ref().unwrap().port, Some(104));
    alert.validate().unwrap();

    let anomaly = parse_line(ANOMALY.as_bytes(), 2, &dir).unwrap().unwrap();
    assert_eq!(anomaly.kind, "network.ids_alert");
    assert_eq!(anomaly.evidence["suricata.event_type"], "anomaly");
    assert!(anomaly.summary.contains("ipv4.trunc_pkt"));
    assert_eq!(anomaly.evidence["source.asset"], "ct-scanner");

    assert!(parse_line(FLOW.as_bytes(), 3, &dir).unwrap().is_none());
}

#[test]
fn bad_lines_are_reported_with_their_number_and_skipped() {
    let dir = TestDirectory::demo();
    let err = parse_line(b"{not json", 7, &dir).unwrap_err().to_string();
    assert!(err.starts_with("line 7:"), "{err}");
    let err = parse_line(b"[1,2]", 8, &dir).unwrap_err().to_string();
    assert!(err.contains("line 8") && err.contains("array"), "{err}");

    let long = format!(
        "{{\"event_type\":\"alert\",\"pad\":\"{}\"}}",
        "x".repeat(eve::MAX_LINE_BYTES)
    );
    let input = format!("{ALERT}\n{{broken\n\n{long}\n{FLOW}\n{ANOMALY}");
    let mut events = Vec::new();
    let stats = eve::ingest(input.as_bytes(), false, &dir, &mut events).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(stats.lines, 6);
    assert_eq!(stats.bad_lines, 2);
    assert_eq!(stats.skipped, 2);
}
