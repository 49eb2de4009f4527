//! Sustained adapter + rule throughput on a generated site with at least 10,000 doors, the
//! stream spread over 10,000 doors and 1,000 cameras.
//!
//! Run with `cargo bench -p safecare-physical --bench throughput` (release build). Prints
//! the site size, then messages per second through `Engine::ingest` (decode, checks,
//! mapping and rules) for a mixed stream and per system.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::site::{Site, generate};
use safecare_physical::Engine;
use serde_json::json;

const DOORS: usize = 10_000;
const CAMERAS: usize = 1_000;
const MESSAGES: usize = 400_000;

fn main() {
    let started = Instant::now();
    let (site, doors, mut cameras) = site_with_enough_devices();
    println!(
        "site: {} assets, {} doors, {} cameras (generated in {:.1} s)",
        site.assets().len(),
        doors.len(),
        cameras.len(),
        started.elapsed().as_secs_f64()
    );

    // The generator gives every zone a door and a camera; the stream uses 1,000 of them.
    cameras.truncate(CAMERAS);
    let site = Arc::new(site);
    let base: DateTime<Utc> = "2026-12-01T08:00:00Z".parse().unwrap_or_default();
    let mixed = messages(&doors, &cameras, base, MESSAGES, Mix::Mixed);
    run(
        "mixed (60% access, 25% Frigate, 10% occupancy, 5% sensor boxes)",
        &site,
        &mixed,
    );
    run(
        "access control only",
        &site,
        &messages(&doors, &cameras, base, MESSAGES, Mix::Access),
    );
    run(
        "Frigate only",
        &site,
        &messages(&doors, &cameras, base, MESSAGES, Mix::Frigate),
    );
}

fn run(label: &str, site: &Arc<Site>, messages: &[(String, Vec<u8>)]) {
    let mut engine = Engine::new(site.clone());
    let received: DateTime<Utc> = "2026-12-02T00:00:00Z".parse().unwrap_or_default();
    let bytes: usize = messages.iter().map(|(_, p)| p.len()).sum();

    let started = Instant::now();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut events = 0usize;
    let mut errors = 0usize;
    let tick_at = received + TimeDelta::seconds(10);
    for (i, (topic, payload)) in messages.iter().enumerate() {
        // The service ticks every second; here every 1,000 messages.
        if i % 1000 == 999 {
            for event in engine.tick(tick_at) {
                events += 1;
                *kinds.entry(event.kind).or_default() += 1;
            }
        }
        match engine.ingest(topic, payload, received) {
            Ok(out) => {
                events += out.len();
                for event in out {
                    *kinds.entry(event.kind).or_default() += 1;
                }
            }
            Err(_) => errors += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    println!(
        "{label}: {} messages in {seconds:.2} s = {:.0} msg/s ({:.1} MB/s), {events} events, \
         {errors} errors",
        messages.len(),
        messages.len() as f64 / seconds,
        bytes as f64 / seconds / 1e6
    );
    let listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  events by kind: {}", listed.join(", "));
}

/// Grows a generated site until it holds enough doors and cameras; their ids.
fn site_with_enough_devices() -> (Site, Vec<String>, Vec<String>) {
    let mut assets = 60_000;
    loop {
        let site = generate(assets, 7);
        let with = |subtype: &str| -> Vec<String> {
            site.assets()
                .iter()
                .filter(|a| a.subtype.as_deref() == Some(subtype))
                .map(|a| a.id.clone())
                .collect()
        };
        let (doors, cameras) = (with("door"), with("camera"));
        if (doors.len() >= DOORS && cameras.len() >= CAMERAS) || assets > 4_000_000 {
            return (site, doors, cameras);
        }
        assets = assets * 3 / 2;
    }
}

#[derive(Clone, Copy)]
enum Mix {
    Mixed,
    Access,
    Frigate,
}

/// A deterministic stream of native messages, 10 ms apart.
fn messages(
    doors: &[String],
    cameras: &[String],
    base: DateTime<Utc>,
    count: usize,
    mix: Mix,
) -> Vec<(String, Vec<u8>)> {
    let mut rng = XorShift(0x5eed);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let time = base + TimeDelta::milliseconds(10 * i as i64);
        let roll = match mix {
            Mix::Mixed => rng.below(100),
            Mix::Access => 0,
            Mix::Frigate => 60,
        };
        let door = &doors[rng.below(doors.len() as u64) as usize];
        let camera = &cameras[rng.below(cameras.len() as u64) as usize];
        let message = match roll {
            0..=59 => access(&mut rng, door, time),
            60..=84 => frigate(&mut rng, camera, time),
            85..=94 => (
                "site/video/vca".to_string(),
                json!({"time": time.to_rfc3339(), "camera": camera, "type": "occupancy",
                       "count": rng.below(40)}),
            ),
            _ => (
                format!("site/env/env-{}", rng.below(500)),
                json!({"time": time.to_rfc3339(), "temperature_c": 18 + rng.below(20),
                       "humidity_pct": 40, "light_lux": 300, "sound_db": 50}),
            ),
        };
        out.push((
            message.0,
            serde_json::to_vec(&message.1).unwrap_or_default(),
        ));
    }
    out
}

fn access(rng: &mut XorShift, door: &str, time: DateTime<Utc>) -> (String, serde_json::Value) {
    let badge = format!("B-{}", rng.below(50_000));
    let event = match rng.below(20) {
        0 => "denied",
        1 => "passage",
        2 => "opened",
        3 => "closed",
        _ => "granted",
    };
    (
        format!("site/access/{door}"),
        json!({"time": time.to_rfc3339(), "event": event, "badge": badge, "count": 1}),
    )
}

fn frigate(rng: &mut XorShift, camera: &str, time: DateTime<Utc>) -> (String, serde_json::Value) {
    let track = rng.below(20_000);
    let kind = ["new", "update", "update", "end"][rng.below(4) as usize];
    let seconds = time.timestamp() as f64;
    (
        "frigate/events".to_string(),
        json!({"type": kind, "after": {
            "id": format!("{seconds}-{track}"), "camera": camera, "label": "person",
            "start_time": seconds - 30.0, "frame_time": seconds, "end_time": null,
            "current_zones": [], "entered_zones": [], "stationary": rng.below(10) == 0,
            "false_positive": false, "score": 0.8}}),
    )
}

/// xorshift64*: deterministic and dependency-free.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}
