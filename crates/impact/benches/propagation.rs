//! Propagation time per incident on generated sites of 10k, 100k and 1M assets.
//!
//! Run with `cargo bench -p safecare-impact --bench propagation` (release profile).
//! Pass sizes as arguments to change them, e.g. `-- 10000 50000`. For each size it prints
//! the time to generate the site and build the harm graph, the graph's memory, the process
//! resident memory, and the time per incident: 500 incidents on random assets with random
//! types, and two worst cases (power loss on a building's mains, ransomware on its EHR
//! server).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use safecare_core::site::generate;
use safecare_core::{CapSeverity, Incident, IncidentState, IncidentType};
use safecare_impact::Engine;
use ulid::Ulid;

const RANDOM_INCIDENTS: usize = 500;

const TYPES: [IncidentType; 9] = [
    IncidentType::Intrusion,
    IncidentType::Theft,
    IncidentType::Ransomware,
    IncidentType::Malware,
    IncidentType::DataManipulation,
    IncidentType::DenialOfService,
    IncidentType::Fire,
    IncidentType::Sabotage,
    IncidentType::PowerFailure,
];

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        sizes
    };

    println!(
        "{:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "assets",
        "gen ms",
        "graph ms",
        "graph MB",
        "RSS MB",
        "mean ms",
        "p50 ms",
        "p99 ms",
        "max ms",
        "mains ms",
        "ehr ms"
    );
    for size in sizes {
        bench(size);
    }
}

fn bench(size: usize) {
    // 1. Site and graph.
    let started = Instant::now();
    let site = Arc::new(generate(size, 7));
    let generated = started.elapsed();
    let started = Instant::now();
    let engine = Engine::with_default_rules(site.clone());
    let built = started.elapsed();

    // 2. Random incidents.
    let mut rng = 0x2545_F491_4F6C_DD1Du64 ^ size as u64;
    let mut times = Vec::with_capacity(RANDOM_INCIDENTS);
    let mut impacted = 0usize;
    for _ in 0..RANDOM_INCIDENTS {
        let asset = &site.assets()[(next(&mut rng) % site.assets().len() as u64) as usize];
        let kind = TYPES[(next(&mut rng) % TYPES.len() as u64) as usize];
        let incident = incident(kind, &asset.id);
        let started = Instant::now();
        let assessment = engine.assess(&incident);
        times.push(started.elapsed());
        impacted += assessment.assets.len();
    }
    times.sort();

    // 3. Worst cases: a whole building's power, its EHR.
    let (mains, mains_assets) = timed(&engine, IncidentType::PowerFailure, "b0-mains-power");
    let (ehr, ehr_assets) = timed(&engine, IncidentType::Ransomware, "b0-ehr-server");

    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "{:>9} {:>9.0} {:>9.0} {:>9.1} {:>9.0} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>12} {:>12}",
        size,
        ms(generated),
        ms(built),
        engine.graph().heap_bytes() as f64 / 1e6,
        rss_mb(),
        ms(mean),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
        ms(times[times.len() - 1]),
        format!("{:.2} ({mains_assets})", ms(mains)),
        format!("{:.2} ({ehr_assets})", ms(ehr)),
    );
    println!(
        "          {} harm edges, {} redundancy groups, {:.1} impacted assets per random incident",
        engine.graph().edge_count(),
        engine.graph().group_count(),
        impacted as f64 / RANDOM_INCIDENTS as f64
    );
}

fn timed(engine: &Engine, kind: IncidentType, asset: &str) -> (Duration, usize) {
    let incident = incident(kind, asset);
    let started = Instant::now();
    let assessment = engine.assess(&incident);
    (started.elapsed(), assessment.assets.len())
}

fn incident(kind: IncidentType, asset: &str) -> Incident {
    let now = Utc::now();
    Incident {
        id: Ulid::new(),
        title: "bench".into(),
        kind,
        state: IncidentState::Open,
        severity: CapSeverity::Severe,
        assets: vec![asset.to_string()],
        zones: Vec::new(),
        alert_ids: Vec::new(),
        owner: None,
        notes: Vec::new(),
        timeline: Vec::new(),
        created: now,
        updated: now,
        merged_into: None,
    }
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident set size of this process (Linux), in MB; 0 elsewhere.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
