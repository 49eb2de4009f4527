//! The detections over the real Modbus and BACnet captures in shared/data/pcap.
//!
//! Every packet must be decoded or counted as undecodable, nothing may panic, and the
//! detections must stay quiet: these captures hold ordinary building-automation
//! traffic and protocol fuzzing, not IT attacks. Any event that does fire is listed
//! in `EXPLAINED` with the reason it is right.

mod support;

use std::path::PathBuf;

use safecare_core::EmptyDirectory;
use safecare_net::sensor::SensorConfig;
use support::{TestDirectory, scan_with};

fn shared_pcaps() -> Vec<PathBuf> {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcap"
    ));
    let mut files = Vec::new();
    for folder in ["modbus", "bacnet"] {
        for entry in std::fs::read_dir(root.join(folder))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// (file, event kind, why the event is right). Only the demo directory can raise these:
/// without a site nothing is "unknown".
const EXPLAINED: [(&str, &str, &str); 1] = [(
    "fuzz-1011.pcap",
    "network.new_device",
    "the fuzzing client 10.10.5.104 happens to sit in the demo hospital's admin-offices \
     subnet (admin-ws-1 is 10.10.5.11) and is not in its inventory: for that site, a correct \
     finding",
)];

#[test]
fn real_captures_decode_fully_and_detections_stay_quiet() {
    let files = shared_pcaps();
    assert!(files.len() >= 10, "shared captures missing: {files:?}");
    let demo = TestDirectory::demo();
    let mut total_events = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        // Without a site: nothing at all may fire.
        let outcome = scan_with(&bytes, &EmptyDirectory, SensorConfig::default());
        let stats = outcome.stats;
        assert!(stats.packets > 0, "{name}");
        assert_eq!(stats.decoded + stats.undecodable, stats.packets, "{name}");
        assert!(outcome.events.is_empty(), "{name}: {:?}", outcome.kinds());

        // With the demo hospital: only the explained events.
        let outcome = scan_with(&bytes, &demo, SensorConfig::default());
        for event in &outcome.events {
            let explained = EXPLAINED
                .iter()
                .any(|(file, kind, _)| *file == name && *kind == event.kind);
            assert!(
                explained,
                "{name}: unexplained {}: {}",
                event.kind, event.summary
            );
        }
        total_events += outcome.events.len();
    }
    assert_eq!(
        total_events,
        EXPLAINED.len(),
        "each explained event is seen exactly once"
    );
}
