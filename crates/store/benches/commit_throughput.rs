//! Commit throughput: events per second written in batches of 1000.
//!
//! `cargo bench -p safecare-store --bench commit_throughput` measures a SQLite
//! file in a temporary directory; set `SAFECARE_BENCH_POSTGRES` to an empty
//! PostgreSQL database URL to measure that too.

use std::time::Instant;

use chrono::{Duration, Utc};
use safecare_core::{Location, Module, SecurityEvent};
use safecare_store::{Batch, Store};

const BATCHES: usize = 200;
const BATCH_SIZE: usize = 1000;

/// Events shaped like a network detector's output, spread over modules and zones.
fn sample_batches() -> Vec<Batch> {
    let kinds = [
        "network.port_scan",
        "network.dns_tunnel",
        "ot.modbus.unauthorized_write",
        "auth.brute_force",
    ];
    let zones = ["radiology", "icu", "technical", "pharmacy", "emergency"];
    let start = Utc::now() - Duration::days(1);

    (0..BATCHES)
        .map(|b| {
            let events = (0..BATCH_SIZE)
                .map(|i| {
                    let n = b * BATCH_SIZE + i;
                    let mut e = SecurityEvent::new(
                        Module::ALL[n % Module::ALL.len()],
                        kinds[n % kinds.len()],
                        (n % 101) as u8,
                        format!(
                            "Port scan from 10.0.{}.{} against 40 hosts",
                            n % 250,
                            n % 200
                        ),
                    );
                    e.time = start + Duration::milliseconds(n as i64);
                    e.asset = Some(format!("asset-{}", n % 300));
                    e.location = Some(Location {
                        zone: Some(zones[n % zones.len()].to_string()),
                        ..Location::default()
                    });
                    e.evidence
                        .insert("packets".to_string(), serde_json::json!(n % 5000));
                    e.evidence
                        .insert("rule".to_string(), serde_json::json!("scan-001"));
                    e
                })
                .collect();
            Batch {
                events,
                ..Batch::default()
            }
        })
        .collect()
}

async fn measure(label: &str, url: &str) {
    let store = match Store::open(url).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("{label}: {err}");
            return;
        }
    };
    let batches = sample_batches();

    let started = Instant::now();
    for batch in &batches {
        if let Err(err) = store.commit(batch).await {
            eprintln!("{label}: commit failed: {err}");
            return;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = (BATCHES * BATCH_SIZE) as f64;
    println!(
        "{label}: {total} new events in {elapsed:.2} s = {:.0} events/s",
        total / elapsed
    );

    let started = Instant::now();
    for batch in batches.iter().take(50) {
        if let Err(err) = store.commit(batch).await {
            eprintln!("{label}: commit failed: {err}");
            return;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = (50 * BATCH_SIZE) as f64;
    println!(
        "{label}: {total} duplicate events in {elapsed:.2} s = {:.0} events/s",
        total / elapsed
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    measure("sqlite (WAL, synchronous=NORMAL)", &url).await;

    if let Ok(url) = std::env::var("SAFECARE_BENCH_POSTGRES") {
        measure("postgres", &url).await;
    }
}
