//! Replaying a scenario onto the bus, at a chosen speed.

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Days, NaiveTime, Utc};
use safecare_bus::{BusClient, QoS};
use safecare_core::scenario::{Publication, Scenario, StepAction};
use safecare_core::site::Site;

use crate::capture_steps::{self, CaptureFiles};

/// How fast to play: `None` as fast as possible, `Some(x)` x times real time.
pub type Speed = Option<f64>;

/// What a replay sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct Replayed {
    /// Finished events published on `event/{module}`, those of captures included.
    pub events: usize,
    /// Of those, the events sensors raised from the scenario's captures.
    pub from_captures: usize,
    /// Native messages (badge readers, cameras, ...) published for the adapters.
    pub native: usize,
    /// Events the platform should store: the finished ones plus those the
    /// scenario expects the adapters to make from its native messages.
    pub expected_events: usize,
}

/// A scenario ready to publish: its steps in offset order, each `capture:` step
/// already run through its sensor and replaced by the events the sensor raised.
#[derive(Debug, Clone)]
pub struct ReplayPlan {
    /// What to publish, at which offset from the start.
    pub publications: Vec<(Duration, Publication)>,
    /// How many of the published events came from captures.
    pub from_captures: usize,
    /// Events the platform should store once the plan is published.
    pub expected_events: usize,
}

impl ReplayPlan {
    /// Plans the replay of `scenario` from `base`: captures are read from `files` and
    /// their sensors name assets and check bounds with `site`.
    ///
    /// Every capture is run here, before anything is published, so a broken capture
    /// step stops the replay with nothing sent.
    pub fn new(
        scenario: &Scenario,
        base: DateTime<Utc>,
        files: &CaptureFiles,
        site: &Site,
    ) -> Result<ReplayPlan> {
        let captured = capture_steps::run(scenario, base, files, site)?;
        let from_captures = captured.len();
        let from_steps: usize = scenario
            .steps
            .iter()
            .filter(|step| !matches!(step.action, StepAction::Capture(_)))
            .map(|step| step.action.expected_events().len())
            .sum();

        let mut publications = scenario.replay(base);
        let events = captured
            .into_iter()
            .map(|(offset, event)| (offset, Publication::Event(Box::new(event))));
        publications.extend(events);
        // Stable: at equal offsets, written steps go before the capture's events.
        publications.sort_by_key(|(offset, _)| *offset);
        Ok(ReplayPlan {
            publications,
            from_captures,
            expected_events: from_steps + from_captures,
        })
    }
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

/// Publishes a planned scenario in offset order.
///
/// Event times are scenario time (`base` plus the step's offset), whatever the
/// speed, so correlation windows see the same story at any speed.
pub async fn replay(
    bus: &BusClient,
    plan: &ReplayPlan,
    speed: Speed,
    mut on_step: impl FnMut(&Publication),
) -> Result<Replayed> {
    let mut replayed = Replayed {
        expected_events: plan.expected_events,
        from_captures: plan.from_captures,
        ..Replayed::default()
    };

    let started = tokio::time::Instant::now();
    for (offset, publication) in &plan.publications {
        if let Some(speed) = speed.filter(|s| *s > 0.0) {
            let due = started + Duration::from_secs_f64(offset.as_secs_f64() / speed);
            tokio::time::sleep_until(due).await;
        }
        match publication {
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
        on_step(publication);
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
