//! Replaying a scenario onto the bus, at a chosen speed.

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Days, NaiveTime, Utc};
use safecare_bus::{BusClient, QoS};
use safecare_core::scenario::{Publication, Scenario};

/// How fast to play: `None` as fast as possible, `Some(x)` x times real time.
pub type Speed = Option<f64>;

/// What a replay sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct Replayed {
    /// Finished events published on `event/{module}`.
    pub events: usize,
    /// Native messages (badge readers, cameras, ...) published for the adapters.
    pub native: usize,
    /// Events the platform should store: the finished ones plus those the
    /// scenario expects the adapters to make from its native messages.
    pub expected_events: usize,
}

/// The base time of a replay: 09:00 UTC on the latest day that puts the
/// scenario's last step in the past.
///
/// Scenarios are written from a morning start, so their night steps stay at
/// night (the adapters judge "after hours" from the site's schedules), and
/// nothing is stamped in the future.
pub fn base_time(scenario: &Scenario, now: DateTime<Utc>) -> DateTime<Utc> {
    let span = chrono::Duration::from_std(scenario.duration()).unwrap_or_default();
    let latest_start = now - span;
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    let same_day = latest_start.date_naive().and_time(nine).and_utc();
    if same_day <= latest_start {
        same_day
    } else {
        same_day.checked_sub_days(Days::new(1)).unwrap_or(same_day)
    }
}

/// Publishes the scenario's steps in offset order.
///
/// Event times are scenario time (`base` plus the step's offset), whatever the
/// speed, so correlation windows see the same story at any speed.
pub async fn replay(
    bus: &BusClient,
    scenario: &Scenario,
    base: DateTime<Utc>,
    speed: Speed,
    mut on_step: impl FnMut(&Publication),
) -> Result<Replayed> {
    let mut replayed = Replayed {
        expected_events: scenario.events(base).len(),
        ..Replayed::default()
    };

    let started = tokio::time::Instant::now();
    for (offset, publication) in scenario.replay(base) {
        if let Some(speed) = speed.filter(|s| *s > 0.0) {
            let due = started + Duration::from_secs_f64(offset.as_secs_f64() / speed);
            tokio::time::sleep_until(due).await;
        }
        match &publication {
            Publication::Event(event) => {
                bus.publish_event(event).await?;
                replayed.events += 1;
            }
            Publication::Native { topic, payload } => {
                bus.publish(topic, QoS::AtLeastOnce, false, payload.clone())
                    .await?;
                replayed.native += 1;
            }
        }
        on_step(&publication);
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_a_morning_that_keeps_the_last_step_in_the_past() {
        let text = "name: t\nsteps:\n  - at: 20h\n    event: { module: net, kind: network.port_scan, \
                    severity: 10, summary: s }\n";
        let scenario = Scenario::from_yaml(text, "t.yaml").unwrap();
        let now: DateTime<Utc> = "2026-12-03T18:00:00Z".parse().unwrap();
        let base = base_time(&scenario, now);
        assert_eq!(
            base,
            "2026-12-02T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(base + chrono::Duration::hours(20) <= now);
    }
}
