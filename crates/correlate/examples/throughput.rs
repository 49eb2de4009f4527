//! Measures how many events per second the default rules correlate.
//!
//! ```text
//! cargo run --release -p safecare-correlate --example throughput -- 200000 [BATCH]
//! ```
//!
//! With `BATCH` above 1 the events go through `Engine::process_batch` in
//! batches of that size, as the exchange feeds them; otherwise one at a time.

use std::time::Instant;

use chrono::{TimeDelta, TimeZone, Utc};
use safecare_core::event::{Endpoint, User};
use safecare_core::{Location, Module, SecurityEvent};
use safecare_correlate::{Engine, RuleSet};

/// A mix of kinds the default rules look at, from many sources and zones.
fn event(n: u32) -> SecurityEvent {
    let zones = [
        "pharmacy",
        "datacentre",
        "technical-room",
        "or",
        "radiology",
        "ed",
    ];
    let (module, kind, severity) = match n % 6 {
        0 => (Module::Logs, "auth.failure", 20),
        1 => (Module::Net, "network.port_scan", 50),
        2 => (Module::Access, "access.after_hours", 60),
        3 => (Module::Net, "network.new_device", 55),
        4 => (Module::Video, "video.loitering", 50),
        _ => (Module::Scada, "scada.temperature_alarm", 75),
    };
    let mut event = SecurityEvent::new(module, kind, severity, "generated");
    event.time = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap()
        + TimeDelta::milliseconds(i64::from(n) * 50);
    event.asset = Some(format!("asset-{}", n % 500));
    event.location = Some(Location {
        zone: Some(zones[(n % 6) as usize].into()),
        ..Location::default()
    });
    let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
    event.source = Some(Endpoint {
        ip: Some(ip),
        mac: Some(format!(
            "02:00:00:00:{:02x}:{:02x}",
            (n >> 8) & 255,
            n & 255
        )),
        ..Endpoint::default()
    });
    event.user = Some(User {
        name: Some(format!("user{}", n % 300)),
        ..User::default()
    });
    event
        .evidence
        .insert("after_hours".into(), serde_json::json!(n.is_multiple_of(2)));
    event
}

fn main() {
    let count: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let batch: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let events: Vec<SecurityEvent> = (0..count).map(event).collect();
    let mut engine = Engine::new(RuleSet::defaults());

    let started = Instant::now();
    let mut alerts = 0usize;
    if batch > 1 {
        for chunk in events.chunks(batch) {
            alerts += engine.process_batch(chunk).len();
        }
    } else {
        for event in &events {
            alerts += engine.process(event).len();
        }
    }
    let elapsed = started.elapsed();

    let stats = engine.stats();
    println!(
        "{count} events in {:.2?}: {:.0} events/s, {alerts} alert versions, {} groups tracked, {} evicted",
        elapsed,
        f64::from(count) / elapsed.as_secs_f64(),
        stats.tracked_groups,
        stats.evicted_groups
    );
}
