//! Commit throughput: events per second written in batches of 1000
//! (`SAFECARE_BENCH_BATCH` sets another size).
//!
//! `cargo bench -p safecare-store --bench commit_throughput` measures a SQLite
//! file in a temporary directory; set `SAFECARE_BENCH_POSTGRES` to an empty
//! PostgreSQL database URL to measure that too.

use std::time::Instant;

use chrono::{Duration, Utc};
use safecare_core::{Location, Module, SecurityEvent};
use safecare_store::{Batch, Store};

/// Events written in the measurement.
const TOTAL_EVENTS: usize = 200_000;

/// Events per batch, unless `SAFECARE_BENCH_BATCH` says otherwise.
const DEFAULT_BATCH_SIZE: usize = 1000;

fn batch_size() -> usize {
    std::env::var("SAFECARE_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(DEFAULT_BATCH_SIZE)
}

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

    let batch_size = batch_size();
    (0..TOTAL_EVENTS / batch_size)
        .map(|b| {
            let events = (0..batch_size)
                .map(|i| {
                    let n = b * batch_size + i;
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

/// CPU seconds (user + system) this process has used, from /proc (Linux only).
///
/// The machine is shared, so wall time alone says little; CPU time tells what
/// one free core would do.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Prints a rate by wall time and by CPU time.
fn report(label: &str, what: &str, count: usize, wall: Instant, cpu: Option<f64>) {
    let elapsed = wall.elapsed().as_secs_f64();
    let count = count as f64;
    let cpu = cpu.zip(cpu_seconds()).map(|(start, end)| end - start);
    let by_cpu = cpu
        .map(|c| format!(", {:.0} events per CPU second", count / c))
        .unwrap_or_default();
    println!(
        "{label}: {count} {what} events in {elapsed:.2} s = {:.0} events/s{by_cpu}",
        count / elapsed
    );
}

async fn measure(label: &str, url: &str) {
    let label = format!("{label}, batches of {}", batch_size());
    let label = label.as_str();
    let store = match Store::open(url).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("{label}: {err}");
            return;
        }
    };
    let batches = sample_batches();

    let (wall, cpu) = (Instant::now(), cpu_seconds());
    for batch in &batches {
        if let Err(err) = store.commit(batch).await {
            eprintln!("{label}: commit failed: {err}");
            return;
        }
    }
    let total: usize = batches.iter().map(|b| b.events.len()).sum();
    report(label, "new", total, wall, cpu);

    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let again = &batches[..batches.len() / 4];
    for batch in again {
        if let Err(err) = store.commit(batch).await {
            eprintln!("{label}: commit failed: {err}");
            return;
        }
    }
    let total: usize = again.iter().map(|b| b.events.len()).sum();
    report(label, "duplicate", total, wall, cpu);
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
