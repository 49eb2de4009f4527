//! The anomaly model: learned on generated normal traffic, measured on a mixed capture.
//!
//! Normal traffic: web sessions to the EHR, DNS lookups, DICOM transfers from the
//! modalities to the PACS, SMB sessions, HL7 messages between ICU devices, with
//! randomised sizes and timings. Attacks mixed in: bulk exfiltration to the internet,
//! a slow beacon, SYN probes, a slowloris-style hold. The test prints the detection
//! and false-positive rates it measured and asserts floors on both.

mod support;

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::reader::CaptureReader;
use safecare_capture::synth::{Host, PortState, Synth};
use safecare_capture::{EndReason, Engine, EngineConfig, Flow, Handler};
use safecare_net::anomaly::{AnomalyModel, TrainConfig};
use safecare_net::app::dns::build_query;
use safecare_net::sensor::SensorConfig;
use support::{TestDirectory, scan_with};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

const WORKSTATIONS: [&str; 5] = [
    "10.10.3.11",
    "10.20.4.11",
    "10.20.4.12",
    "10.10.1.11",
    "10.10.5.11",
];

/// One session of normal hospital traffic.
fn normal_session(synth: &mut Synth, rng: &mut Rng, port: u16) {
    let ws = Host::v4(WORKSTATIONS[rng.range(0, 4) as usize]);
    let step = Duration::from_micros(rng.range(200, 20_000));
    synth.set_step(step);
    let chunk = vec![0x41u8; 1400];
    match rng.range(0, 4) {
        0 => {
            // Web request to the EHR, response of 1 to 30 segments.
            let request = vec![0x47u8; rng.range(200, 700) as usize];
            let mut exchanges: Vec<(&[u8], &[u8])> =
                vec![(&request, &chunk[..rng.range(100, 1400) as usize])];
            for _ in 0..rng.range(0, 30) {
                exchanges.push((b"", &chunk));
            }
            synth.tcp_session(&ws, port, &Host::v4("10.40.0.20"), 443, &exchanges);
        }
        1 => {
            let name = format!("host{}.hospital.local", rng.range(1, 40));
            synth.udp(
                &ws,
                port,
                &Host::v4("10.40.0.53"),
                53,
                &build_query(port, &name, 1),
            );
            synth.udp(
                &Host::v4("10.40.0.53"),
                53,
                &ws,
                port,
                &build_query(port, &name, 1),
            );
        }
        2 => {
            // A modality sends images to the PACS.
            let modality = Host::v4(if rng.range(0, 1) == 0 {
                "10.20.4.21"
            } else {
                "10.20.4.22"
            });
            let mut exchanges: Vec<(&[u8], &[u8])> = vec![(&chunk[..300], &chunk[..200])];
            for _ in 0..rng.range(20, 200) {
                exchanges.push((&chunk, b""));
            }
            exchanges.push((&chunk[..100], &chunk[..60]));
            synth.tcp_session(&modality, port, &Host::v4("10.40.0.10"), 104, &exchanges);
        }
        3 => {
            let mut exchanges: Vec<(&[u8], &[u8])> = Vec::new();
            for _ in 0..rng.range(3, 25) {
                exchanges.push((
                    &chunk[..rng.range(60, 400) as usize],
                    &chunk[..rng.range(60, 1400) as usize],
                ));
            }
            synth.tcp_session(&ws, port, &Host::v4("10.40.0.40"), 445, &exchanges);
        }
        _ => {
            let pump = Host::v4("10.20.2.32");
            let message = vec![0x0bu8; rng.range(80, 300) as usize];
            synth.tcp_session(
                &pump,
                port,
                &Host::v4("10.20.2.31"),
                2575,
                &[(&message, &chunk[..40])],
            );
        }
    }
    synth.advance(Duration::from_millis(rng.range(10, 2000)));
}

fn normal_capture(seed: u64, sessions: u16) -> Synth {
    let mut rng = Rng(seed);
    let mut synth = Synth::new();
    for i in 0..sessions {
        normal_session(&mut synth, &mut rng, 20000 + i);
    }
    synth
}

const ATTACKERS: [&str; 4] = ["10.10.9.201", "10.10.9.202", "10.10.9.203", "10.10.9.204"];

/// Adds attack flows; every one starts from an attacker address.
fn add_attacks(synth: &mut Synth) -> usize {
    let chunk = vec![0x5au8; 1400];
    let mut flows = 0;
    synth.set_step(Duration::from_micros(300));

    // Bulk exfiltration: 4 uploads of 2-4 MB to an internet host.
    for i in 0..4u16 {
        let exchanges: Vec<(&[u8], &[u8])> = (0..2000 + 500 * i)
            .map(|_| (&chunk[..], &b""[..]))
            .collect();
        synth.tcp_session(
            &Host::v4(ATTACKERS[0]),
            60000 + i,
            &Host::v4("203.0.113.50"),
            443,
            &exchanges,
        );
        flows += 1;
    }
    // A slow beacon: one flow, a small check-in every 20 s for 20 minutes.
    let beacon: Vec<(&[u8], &[u8])> = (0..60).map(|_| (&chunk[..48], &chunk[..16])).collect();
    let (bot, c2) = (Host::v4(ATTACKERS[1]), Host::v4("198.51.100.7"));
    synth.paced_session(&bot, 61000, &c2, 8443, &beacon, Duration::from_secs(20));
    flows += 1;
    // SYN probes against the EHR server.
    synth.set_step(Duration::from_millis(1));
    for port in 1..=20u16 {
        synth.syn_probe(
            &Host::v4(ATTACKERS[2]),
            62000,
            &Host::v4("10.40.0.20"),
            port,
            PortState::Closed,
        );
        flows += 1;
    }
    // Slowloris: connections sending one header byte every 10 seconds.
    for i in 0..5u16 {
        let drip: Vec<(&[u8], &[u8])> = (0..60).map(|_| (&b"X"[..], &b""[..])).collect();
        let (client, server) = (Host::v4(ATTACKERS[3]), Host::v4("10.40.0.20"));
        synth.paced_session(
            &client,
            63000 + i,
            &server,
            80,
            &drip,
            Duration::from_secs(10),
        );
        flows += 1;
    }
    flows
}

/// Records each ended flow's initiator and features.
#[derive(Default)]
struct Flows(Vec<(IpAddr, Vec<f64>)>);

impl Handler for Flows {
    fn on_flow_end(&mut self, flow: &Flow, _reason: EndReason) {
        self.0.push((flow.key.initiator, flow.features().to_vec()));
    }
}

fn flows_of(pcap: &[u8]) -> Vec<(IpAddr, Vec<f64>)> {
    let mut reader = CaptureReader::new(pcap).unwrap();
    let mut engine = Engine::new(EngineConfig::default());
    let mut flows = Flows::default();
    engine.run(&mut reader, &mut flows, &mut |e| panic!("{e}"));
    engine.finish(&mut flows);
    flows.0
}

#[test]
fn isolation_forest_detection_and_false_positive_rates() {
    // 1. Learn on a baseline.
    let baseline = flows_of(&normal_capture(0x1234_5678, 1500).finish());
    let rows: Vec<Vec<f64>> = baseline.iter().map(|(_, f)| f.clone()).collect();
    let model = AnomalyModel::train(&rows, &TrainConfig::default()).unwrap();
    let again = AnomalyModel::train(&rows, &TrainConfig::default()).unwrap();
    assert_eq!(model, again, "the same seed must grow the same forest");

    // 2. Score a mixed capture: fresh normal traffic (another seed) plus attacks.
    let mut mixed = normal_capture(0x0bad_cafe, 1500);
    let attack_flows = add_attacks(&mut mixed);
    let flows = flows_of(&mixed.finish());
    let attackers: HashSet<IpAddr> = ATTACKERS.iter().map(|a| a.parse().unwrap()).collect();
    let (mut tp, mut fp, mut attacks, mut normal) = (0, 0, 0, 0);
    let (mut forest_tp, mut forest_fp) = (0, 0);
    let mut per_attacker = std::collections::BTreeMap::new();
    for (initiator, features) in &flows {
        let flagged = model.is_unusual(features);
        let by_forest = model.score(features) >= model.threshold;
        if attackers.contains(initiator) {
            attacks += 1;
            tp += usize::from(flagged);
            forest_tp += usize::from(by_forest);
            let entry = per_attacker.entry(initiator.to_string()).or_insert((0, 0));
            entry.0 += usize::from(flagged);
            entry.1 += 1;
        } else {
            normal += 1;
            fp += usize::from(flagged);
            forest_fp += usize::from(by_forest);
        }
    }
    println!(
        "forest score alone: {forest_tp}/{attacks} attack flows, {forest_fp}/{normal} normal flows; \
         per attacker (flagged/flows): {per_attacker:?}"
    );
    assert_eq!(attacks, attack_flows);
    let detection = tp as f64 / attacks as f64;
    let false_positive = fp as f64 / normal as f64;
    println!(
        "anomaly model: {} baseline flows, threshold {:.3}; mixed capture: {attacks} attack flows, \
         {normal} normal flows; detection rate {:.1}% ({tp}/{attacks}), false-positive rate {:.2}% ({fp}/{normal})",
        rows.len(),
        model.threshold,
        detection * 100.0,
        false_positive * 100.0
    );
    assert!(detection >= 0.8, "detection rate {detection}");
    assert!(
        false_positive <= 0.02,
        "false-positive rate {false_positive}"
    );
}

#[test]
fn scan_with_a_model_names_the_unusual_features() {
    let baseline = flows_of(&normal_capture(0x1234_5678, 800).finish());
    let rows: Vec<Vec<f64>> = baseline.iter().map(|(_, f)| f.clone()).collect();
    let model = AnomalyModel::train(&rows, &TrainConfig::default()).unwrap();

    // Round trip through JSON, as `learn` and `scan --model` do.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    model.save(&path).unwrap();
    let model = AnomalyModel::load(&path).unwrap();

    let mut synth = Synth::new();
    let chunk = vec![0u8; 1400];
    let exchanges: Vec<(&[u8], &[u8])> = (0..3000).map(|_| (&chunk[..], &b""[..])).collect();
    synth.tcp_session(
        &Host::v4("10.10.3.11"),
        60000,
        &Host::v4("203.0.113.50"),
        443,
        &exchanges,
    );
    let config = SensorConfig {
        model: Some(model),
        ..SensorConfig::default()
    };
    let outcome = scan_with(&synth.finish(), &TestDirectory::demo(), config);

    let found = outcome.of_kind("network.anomaly");
    assert_eq!(found.len(), 1, "{:?}", outcome.kinds());
    let event = found[0];
    let features = event.evidence["anomaly.features"].as_object().unwrap();
    assert_eq!(features.len(), 3);
    assert!(
        event.summary.contains("higher than normal"),
        "{}",
        event.summary
    );
    assert_eq!(event.evidence["source.asset"], "pharmacy-ws-1");
}

#[test]
fn a_model_with_other_features_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.json");
    let rows: Vec<Vec<f64>> = (0..64).map(|i| vec![f64::from(i); 24]).collect();
    let mut model = AnomalyModel::train(
        &rows,
        &TrainConfig {
            trees: 3,
            ..TrainConfig::default()
        },
    )
    .unwrap();
    model.features[0] = "renamed".into();
    model.save(&path).unwrap();
    let err = AnomalyModel::load(&path).unwrap_err().to_string();
    assert!(err.contains("safecare net learn"), "{err}");
}
