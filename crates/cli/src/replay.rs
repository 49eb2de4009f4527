//! Replaying a scenario onto the bus, at a chosen speed.

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use safecare_bus::BusClient;
use safecare_core::SecurityEvent;
use safecare_core::scenario::Scenario;

/// How fast to play: `None` as fast as possible, `Some(x)` x times real time.
pub type Speed = Option<f64>;

/// The base time that puts a scenario's last step at `now`.
pub fn base_time(scenario: &Scenario, now: DateTime<Utc>) -> DateTime<Utc> {
    let span = chrono::Duration::from_std(scenario.duration()).unwrap_or_default();
    now - span
}

/// Publishes the scenario's events in offset order; returns them as sent.
///
/// Event times are scenario time (`base` plus the step's offset), whatever the
/// speed, so correlation windows see the same story at any speed.
pub async fn replay(
    bus: &BusClient,
    scenario: &Scenario,
    base: DateTime<Utc>,
    speed: Speed,
    mut on_event: impl FnMut(&SecurityEvent),
) -> Result<Vec<SecurityEvent>> {
    let mut steps = scenario.events(base);
    steps.sort_by_key(|(offset, _)| *offset);

    let started = tokio::time::Instant::now();
    let mut sent = Vec::with_capacity(steps.len());
    for (offset, event) in steps {
        if let Some(speed) = speed.filter(|s| *s > 0.0) {
            let due = started + Duration::from_secs_f64(offset.as_secs_f64() / speed);
            tokio::time::sleep_until(due).await;
        }
        bus.publish_event(&event).await?;
        on_event(&event);
        sent.push(event);
    }
    Ok(sent)
}
