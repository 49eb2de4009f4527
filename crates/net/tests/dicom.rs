//! DICOM associations from unknown AE titles or hosts, on generated captures.

mod support;

use safecare_capture::synth::{Host, Synth};
use safecare_net::app::dicom::associate_request;
use safecare_net::sensor::SensorConfig;
use support::{TestDirectory, scan_with};

const ACCEPT: &[u8] = &[0x02, 0, 0, 0, 0, 4, 0, 1, 0, 0];
const REJECT: &[u8] = &[0x03, 0, 0, 0, 0, 4, 0, 1, 1, 1];

fn config() -> SensorConfig {
    SensorConfig {
        known_ae_titles: vec!["RADWS1".into(), "PACS".into()],
        ..SensorConfig::default()
    }
}

fn associate(synth: &mut Synth, from: &str, port: u16, calling: &str, answer: &[u8]) {
    let pacs = Host::v4("10.40.0.10");
    let request = associate_request(calling, "PACS");
    synth.tcp_session(&Host::v4(from), port, &pacs, 104, &[(&request, answer)]);
}

#[test]
fn unknown_title_unknown_host_and_borrowed_title_are_reported() {
    let mut synth = Synth::new();
    associate(&mut synth, "10.20.4.11", 40000, "RADWS1", ACCEPT); // known title, known host
    associate(&mut synth, "10.20.4.21", 40001, "CT01", ACCEPT); // the CT with its own title
    associate(&mut synth, "10.20.4.11", 40002, "OSIRIX", ACCEPT); // unknown title
    associate(&mut synth, "10.10.9.70", 40003, "RADWS1", REJECT); // known title, unknown host
    associate(&mut synth, "10.20.4.12", 40004, "CT01", ACCEPT); // the CT's title from another host
    let outcome = scan_with(&synth.finish(), &TestDirectory::demo(), config());

    let found = outcome.of_kind("network.dicom_unknown_ae");
    let problems: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|e| {
            (
                e.evidence["dicom.calling_ae"].as_str().unwrap(),
                e.evidence["dicom.problem"].as_str().unwrap(),
                e.evidence["dicom.outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            ("OSIRIX", "unknown_ae_title", "accepted"),
            ("RADWS1", "unknown_host", "rejected"),
            ("CT01", "ae_title_from_another_host", "accepted"),
        ],
        "{:?}",
        outcome.kinds()
    );
    assert_eq!(found[0].asset.as_deref(), Some("pacs-server"));
    assert_eq!(found[0].evidence["source.zone"], "radiology");
    assert!(found[0].techniques().contains(&"T1213".to_string()));
}
