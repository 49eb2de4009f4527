//! Shared test support: a small in-test directory of the demo hospital and a runner.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::IpAddr;

use safecare_capture::reader::CaptureReader;
use safecare_capture::{Engine, EngineConfig, EngineStats};
use safecare_core::{AssetDirectory, AssetInfo, Location, SecurityEvent};
use safecare_net::sensor::{NetSensor, SensorConfig};

/// The demo hospital's hosts (ids, IPs, zones from notes/demo-ids.md).
pub struct TestDirectory {
    by_id: HashMap<String, AssetInfo>,
    by_ip: HashMap<IpAddr, String>,
    by_mac: HashMap<String, String>,
    by_name: HashMap<String, String>,
}

const HOSTS: [(&str, &str, &str, &str); 15] = [
    ("pharmacy-ws-1", "computer", "pharmacy", "10.10.3.11"),
    ("radiology-ws-1", "computer", "radiology", "10.20.4.11"),
    ("radiology-ws-2", "computer", "radiology", "10.20.4.12"),
    ("ed-ws-1", "computer", "ed", "10.10.1.11"),
    ("admin-ws-1", "computer", "admin-offices", "10.10.5.11"),
    ("pacs-server", "computer", "datacentre", "10.40.0.10"),
    ("ehr-server", "computer", "datacentre", "10.40.0.20"),
    ("mail-server", "computer", "datacentre", "10.40.0.30"),
    ("lis-server", "computer", "datacentre", "10.40.0.40"),
    (
        "access-control-server",
        "computer",
        "datacentre",
        "10.40.0.50",
    ),
    ("ct-scanner", "medical_device", "radiology", "10.20.4.21"),
    ("mri-scanner", "medical_device", "radiology", "10.20.4.22"),
    ("icu-monitor-1", "medical_device", "icu", "10.20.2.31"),
    ("infusion-pump-1", "medical_device", "icu", "10.20.2.32"),
    ("lab-analyzer-1", "medical_device", "lab", "10.20.6.41"),
];

impl TestDirectory {
    pub fn demo() -> Self {
        let mut dir = TestDirectory {
            by_id: HashMap::new(),
            by_ip: HashMap::new(),
            by_mac: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (id, kind, zone, ip) in HOSTS {
            let allowed: Vec<String> = match id {
                "ct-scanner" => vec![
                    "pacs-server".into(),
                    "radiology-ws-1".into(),
                    "radiology-ws-2".into(),
                ],
                "infusion-pump-1" => vec!["10.20.2.0/24".into(), "ehr-server".into()],
                _ => Vec::new(),
            };
            let info = AssetInfo {
                id: id.to_string(),
                name: id.replace('-', " "),
                asset_type: kind.to_string(),
                location: Location {
                    building: Some("main".into()),
                    zone: Some(zone.into()),
                    ..Location::default()
                },
                allowed_peers: allowed,
            };
            let ip: IpAddr = ip.parse().unwrap();
            // MACs as the generator derives them: 02:00 + the IPv4 octets.
            if let IpAddr::V4(v4) = ip {
                let [a, b, c, d] = v4.octets();
                dir.by_mac.insert(
                    format!("02:00:{a:02x}:{b:02x}:{c:02x}:{d:02x}"),
                    id.to_string(),
                );
            }
            dir.by_ip.insert(ip, id.to_string());
            dir.by_name.insert(id.to_string(), id.to_string());
            dir.by_id.insert(id.to_string(), info);
        }
        // The CT scanner's AE title doubles as a host name in this directory.
        dir.by_name.insert("ct01".into(), "ct-scanner".into());
        dir
    }
}

impl AssetDirectory for TestDirectory {
    fn by_id(&self, id: &str) -> Option<&AssetInfo> {
        self.by_id.get(id)
    }
    fn by_ip(&self, ip: IpAddr) -> Option<&AssetInfo> {
        self.by_ip.get(&ip).and_then(|id| self.by_id.get(id))
    }
    fn by_mac(&self, mac: &str) -> Option<&AssetInfo> {
        self.by_mac.get(mac).and_then(|id| self.by_id.get(id))
    }
    fn by_hostname(&self, name: &str) -> Option<&AssetInfo> {
        self.by_name
            .get(&name.to_ascii_lowercase())
            .and_then(|id| self.by_id.get(id))
    }
}

/// What a scan produced.
pub struct Outcome {
    pub events: Vec<SecurityEvent>,
    pub stats: EngineStats,
}

impl Outcome {
    /// Events of one kind.
    pub fn of_kind(&self, kind: &str) -> Vec<&SecurityEvent> {
        self.events.iter().filter(|e| e.kind == kind).collect()
    }

    /// Every event's kind, for assertion messages.
    pub fn kinds(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| format!("{}: {}", e.kind, e.summary))
            .collect()
    }
}

/// Runs a generated pcap through all detections with the demo directory.
pub fn scan(pcap: &[u8]) -> Outcome {
    scan_with(pcap, &TestDirectory::demo(), SensorConfig::default())
}

/// Runs a pcap through all detections.
pub fn scan_with(pcap: &[u8], directory: &dyn AssetDirectory, config: SensorConfig) -> Outcome {
    let mut reader = CaptureReader::new(pcap).expect("generated capture");
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = NetSensor::new(directory, config);
    engine.run(&mut reader, &mut sensor, &mut |e| {
        panic!("generated capture unreadable: {e}")
    });
    engine.finish(&mut sensor);
    let events = sensor.take_events();
    for event in &events {
        event
            .validate()
            .unwrap_or_else(|errors| panic!("invalid event {event:?}: {errors:?}"));
    }
    Outcome {
        events,
        stats: engine.stats(),
    }
}
