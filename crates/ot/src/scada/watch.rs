//! The checks every reading goes through, and the events they raise (module `scada`):
//! limits, rate of change, stuck values, setpoint changes, and a device falling silent.
//!
//! Each condition raises one event when it starts and re-arms when it ends, so a freezer
//! that stays warm for an hour is one alarm, not one per poll.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::event::Location;
use safecare_core::{AssetDirectory, Module, SecurityEvent};
use serde_json::{Map, Value, json};

use super::config::{Device, Limits, Point, PointKind};
use super::reading::Reading;

/// Readings kept per point for the rate of change, bounding memory on a long window.
const MAX_HISTORY: usize = 4096;
/// ATT&CK for ICS: Modify Parameter, for setpoint changes.
const MODIFY_PARAMETER: &str = "T0836";

/// Where a reading stands against the point's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    Normal,
    Low,
    High,
}

/// The site facts put into every event about one asset.
#[derive(Debug, Clone, Default)]
struct Place {
    asset: Option<String>,
    location: Option<Location>,
}

impl Place {
    fn of(asset: Option<&str>, directory: &dyn AssetDirectory) -> Place {
        let info = asset.and_then(|id| directory.by_id(id));
        Place {
            asset: asset.map(str::to_string),
            location: info.map(|a| a.location.clone()),
        }
    }
}

/// The state kept for one point.
struct PointWatch {
    id: String,
    name: String,
    kind: PointKind,
    unit: String,
    limits: Limits,
    place: Place,
    band: Band,
    /// When the reading left its limits, while it is outside them.
    excursion_since: Option<DateTime<Utc>>,
    history: VecDeque<(DateTime<Utc>, f64)>,
    rate_alarm: bool,
    last: Option<f64>,
    unchanged_since: Option<DateTime<Utc>>,
    stuck: bool,
}

/// The checks of one device and its points.
pub struct DeviceWatch {
    device: String,
    via: Place,
    silence_after: TimeDelta,
    last_answer: DateTime<Utc>,
    silent: bool,
    points: Vec<PointWatch>,
}

impl DeviceWatch {
    /// Watches `device` from `now`; assets are placed through `directory`.
    pub fn new(device: &Device, directory: &dyn AssetDirectory, now: DateTime<Utc>) -> Self {
        let via = Place::of(device.asset.as_deref(), directory);
        let points = device
            .points
            .iter()
            .map(|p| PointWatch::new(p, &via, directory))
            .collect();
        DeviceWatch {
            device: device.id.clone(),
            via,
            silence_after: delta(device.silence_after),
            last_answer: now,
            silent: false,
            points,
        }
    }

    /// Checks one reading of the point at `index`; returns the events it raises.
    pub fn reading(&mut self, index: usize, reading: &Reading) -> Vec<SecurityEvent> {
        let Some(point) = self.points.get_mut(index) else {
            return Vec::new();
        };
        let (t, v) = (reading.time, reading.value);
        let raised = [
            point.limit(t, v),
            point.rate(t, v),
            point.stuck(t, v),
            point.setpoint(t, v),
        ];
        point.last = Some(v);
        raised
            .into_iter()
            .flatten()
            .map(|e| self.finish(e))
            .collect()
    }

    /// The device answered at `now`; returns a recovery event if it had been silent.
    pub fn answered(&mut self, now: DateTime<Utc>) -> Option<SecurityEvent> {
        let silent_for = now - self.last_answer;
        self.last_answer = now;
        if !self.silent {
            return None;
        }
        self.silent = false;
        for point in &mut self.points {
            point.history.clear();
            point.unchanged_since = None;
        }
        let summary = format!(
            "Device {} answers the polling again after {} s of silence",
            self.device,
            silent_for.num_seconds()
        );
        let event = self.device_event("scada.sensor_recovered", 5, summary, now, silent_for);
        Some(event)
    }

    /// The device did not answer at `now`; returns a silence event once it has been silent
    /// for longer than allowed.
    pub fn unanswered(&mut self, now: DateTime<Utc>) -> Option<SecurityEvent> {
        let silent_for = now - self.last_answer;
        if self.silent || silent_for < self.silence_after {
            return None;
        }
        self.silent = true;
        let summary = format!(
            "Device {} has not answered the polling for {} s: {} readings are missing",
            self.device,
            silent_for.num_seconds(),
            self.points.len()
        );
        let event = self.device_event("scada.sensor_stale", 45, summary, now, silent_for);
        Some(event)
    }

    /// True while the device is reported silent.
    pub fn is_silent(&self) -> bool {
        self.silent
    }

    fn device_event(
        &self,
        kind: &str,
        severity: u8,
        summary: String,
        now: DateTime<Utc>,
        silent_for: TimeDelta,
    ) -> SecurityEvent {
        let mut event = SecurityEvent::new(Module::Scada, kind, severity, summary);
        event.time = now;
        event.asset = self.via.asset.clone();
        event.location = self.via.location.clone();
        let points: Vec<&str> = self.points.iter().map(|p| p.id.as_str()).collect();
        let evidence = json!({
            "device": self.device,
            "points": points,
            "silent_for_ms": silent_for.num_milliseconds(),
        });
        event.evidence = into_map(evidence);
        if let Some(via) = &self.via.asset {
            event.evidence.insert("via".into(), json!(via));
        }
        event
    }

    /// Adds what every point event carries: the device and the controller it came through.
    fn finish(&self, mut event: SecurityEvent) -> SecurityEvent {
        event.evidence.insert("device".into(), json!(self.device));
        if let Some(via) = &self.via.asset {
            event.evidence.insert("via".into(), json!(via));
        }
        if event.asset.is_none() {
            event.asset = self.via.asset.clone();
            event.location = self.via.location.clone();
        }
        event
    }
}

impl PointWatch {
    fn new(point: &Point, via: &Place, directory: &dyn AssetDirectory) -> Self {
        let place = match point.asset.as_deref() {
            Some(asset) => Place::of(Some(asset), directory),
            None => via.clone(),
        };
        PointWatch {
            id: point.id.clone(),
            name: point.name.clone(),
            kind: point.kind,
            unit: point.unit.clone(),
            limits: point.limits.clone(),
            place,
            band: Band::Normal,
            history: VecDeque::new(),
            rate_alarm: false,
            excursion_since: None,
            last: None,
            unchanged_since: None,
            stuck: false,
        }
    }

    /// A reading that crossed the low or high limit, once per excursion, and
    /// the reading that brought it back past the deadband.
    fn limit(&mut self, t: DateTime<Utc>, v: f64) -> Option<SecurityEvent> {
        let band = self.band_of(v);
        let previous = std::mem::replace(&mut self.band, band);
        if band == previous {
            return None;
        }
        if band == Band::Normal {
            return Some(self.back_to_normal(t, v, previous));
        }
        self.excursion_since = Some(t);

        let (kind, severity) = limit_kind(self.kind, band);
        let (side, limit) = match band {
            Band::Low => ("below its low", self.limits.low),
            _ => ("above its high", self.limits.high),
        };
        let limit = limit.unwrap_or_default();
        let summary = if self.kind == PointKind::UpsOnBattery {
            format!("{} reports the UPS running on battery", self.name)
        } else {
            format!(
                "{} reads {} {}, {side} limit {} {}",
                self.name,
                shown(v),
                self.unit,
                shown(limit),
                self.unit
            )
        };
        let mut evidence = json!({"limit": limit, "side": side_name(band)});
        if self.kind == PointKind::Temperature && self.unit == "C" {
            evidence["value_c"] = json!(v);
            evidence["limit_c"] = json!(limit);
        }
        Some(self.event(
            kind,
            severity,
            summary.trim_end().to_string(),
            t,
            v,
            evidence,
        ))
    }

    /// The end of a limit alarm: the reading is back inside by the deadband.
    fn back_to_normal(&mut self, t: DateTime<Utc>, v: f64, left: Band) -> SecurityEvent {
        let since = self.excursion_since.take();
        let minutes = since.map_or(0, |since| (t - since).num_minutes());
        let summary = if self.kind == PointKind::UpsOnBattery {
            format!(
                "{} reports the UPS back on mains after {minutes} min",
                self.name
            )
        } else {
            format!(
                "{} reads {} {}, back within its limits after {minutes} min",
                self.name,
                shown(v),
                self.unit
            )
        };
        let mut evidence = json!({"side": side_name(left)});
        if let Some(since) = since {
            evidence["alarm_since"] = json!(since);
            evidence["alarm_ms"] = json!((t - since).num_milliseconds());
        }
        self.event(
            "scada.reading_normal",
            5,
            summary.trim_end().to_string(),
            t,
            v,
            evidence,
        )
    }

    /// The band `v` falls in; an alarm ends only once `v` is back inside by the deadband.
    fn band_of(&self, v: f64) -> Band {
        let l = &self.limits;
        if l.low.is_some_and(|low| v < low) {
            return Band::Low;
        }
        if l.high.is_some_and(|high| v > high) {
            return Band::High;
        }
        match self.band {
            Band::Low if l.low.is_some_and(|low| v < low + l.deadband) => Band::Low,
            Band::High if l.high.is_some_and(|high| v > high - l.deadband) => Band::High,
            _ => Band::Normal,
        }
    }

    /// A change faster than the point's largest plausible rate, measured over its window.
    fn rate(&mut self, t: DateTime<Utc>, v: f64) -> Option<SecurityEvent> {
        let max = self.limits.max_rate_per_minute?;
        let window = delta(self.limits.rate_window);

        // Keep the newest reading at least one window old as the reference.
        self.history.push_back((t, v));
        while self.history.len() > MAX_HISTORY
            || self.history.get(1).is_some_and(|&(t1, _)| t - t1 >= window)
        {
            self.history.pop_front();
        }
        let &(t0, v0) = self.history.front()?;
        let elapsed = t - t0;
        if elapsed < window {
            return None;
        }
        let per_minute = (v - v0) / (elapsed.num_milliseconds() as f64 / 60_000.0);
        if per_minute.abs() <= max {
            self.rate_alarm = false;
            return None;
        }
        if self.rate_alarm {
            return None;
        }
        self.rate_alarm = true;

        let summary = format!(
            "{} changes by {} {} per minute, faster than the {} {} per minute it can",
            self.name,
            shown(per_minute),
            self.unit,
            shown(max),
            self.unit
        );
        let evidence = json!({
            "rate_per_minute": per_minute,
            "max_rate_per_minute": max,
            "window_ms": elapsed.num_milliseconds(),
            "from": v0,
        });
        Some(self.event("scada.rate_of_change", 50, summary, t, v, evidence))
    }

    /// A value that has not changed at all for longer than the point allows.
    fn stuck(&mut self, t: DateTime<Utc>, v: f64) -> Option<SecurityEvent> {
        let after = self.limits.stuck_after.map(delta)?;
        if self.last != Some(v) {
            self.unchanged_since = Some(t);
            self.stuck = false;
            return None;
        }
        let since = *self.unchanged_since.get_or_insert(t);
        if self.stuck || t - since < after {
            return None;
        }
        self.stuck = true;

        let summary = format!(
            "{} has read exactly {} {} for {} s: the sensor may be stuck or its value replayed",
            self.name,
            shown(v),
            self.unit,
            (t - since).num_seconds()
        );
        let evidence = json!({"unchanged_ms": (t - since).num_milliseconds()});
        Some(self.event("scada.sensor_stuck", 40, summary, t, v, evidence))
    }

    /// A setpoint that differs from its previous reading.
    fn setpoint(&mut self, t: DateTime<Utc>, v: f64) -> Option<SecurityEvent> {
        if self.kind != PointKind::Setpoint {
            return None;
        }
        let previous = self.last.filter(|&p| p != v)?;
        let unsafe_value = self.limits.is_outside(v);
        let severity = if unsafe_value { 60 } else { 30 };
        let verdict = if unsafe_value {
            ", outside its safe limits"
        } else {
            ""
        };
        let summary = format!(
            "{} changed from {} to {} {}{verdict}",
            self.name,
            shown(previous),
            shown(v),
            self.unit
        );
        let evidence = json!({"previous": previous, "outside_limits": unsafe_value});
        let event = self.event("scada.setpoint_changed", severity, summary, t, v, evidence);
        Some(event.with_techniques("MITRE ATT&CK for ICS", &[MODIFY_PARAMETER]))
    }

    fn event(
        &self,
        kind: &str,
        severity: u8,
        summary: String,
        t: DateTime<Utc>,
        v: f64,
        evidence: Value,
    ) -> SecurityEvent {
        let mut event = SecurityEvent::new(Module::Scada, kind, severity, summary);
        event.time = t;
        event.asset = self.place.asset.clone();
        event.location = self.place.location.clone();
        let mut map = into_map(evidence);
        map.insert("sensor".into(), json!(self.id));
        map.insert("value".into(), json!(v));
        map.insert("unit".into(), json!(self.unit));
        if let Some(low) = self.limits.low {
            map.insert("low".into(), json!(low));
        }
        if let Some(high) = self.limits.high {
            map.insert("high".into(), json!(high));
        }
        event.evidence = map;
        event
    }
}

/// The event kind and severity of a limit crossing.
fn limit_kind(kind: PointKind, band: Band) -> (&'static str, u8) {
    match (kind, band) {
        (PointKind::Temperature, _) => ("scada.temperature_alarm", 75),
        (PointKind::Pressure, _) => ("scada.pressure_alarm", 80),
        (PointKind::MainsVoltage, Band::Low) => ("scada.power_loss", 90),
        (PointKind::UpsOnBattery, _) => ("scada.ups_on_battery", 70),
        _ => ("scada.reading_out_of_range", 50),
    }
}

fn side_name(band: Band) -> &'static str {
    match band {
        Band::Low => "low",
        _ => "high",
    }
}

/// A value rounded to three decimals for a summary.
fn shown(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scada::config::PollConfig;
    use safecare_core::EmptyDirectory;

    const CONFIG: &str = "
devices:
  - id: plc
    address: 127.0.0.1:502
    silence_after: 3s
    points:
      - id: freezer
        kind: temperature
        table: input
        address: 0
        type: i16
        scale: 0.1
        unit: C
        low: -25
        high: -15
        deadband: 1
        max_rate_per_minute: 2
        rate_window: 1m
        stuck_after: 10m
      - id: setpoint
        kind: setpoint
        table: holding
        address: 1
        type: i16
        scale: 0.1
        low: -25
        high: -18
";

    fn watch() -> (DeviceWatch, DateTime<Utc>) {
        let config = PollConfig::from_yaml(CONFIG, "test.yaml", None).unwrap();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        (
            DeviceWatch::new(&config.devices[0], &EmptyDirectory, t0),
            t0,
        )
    }

    fn reading(point: &str, t: DateTime<Utc>, value: f64) -> Reading {
        Reading {
            sensor: point.into(),
            time: t,
            value,
            unit: "C".into(),
            kind: PointKind::Temperature,
            asset: None,
            device: "plc".into(),
            raw: vec![],
        }
    }

    fn kinds(events: &[SecurityEvent]) -> Vec<&str> {
        events.iter().map(|e| e.kind.as_str()).collect()
    }

    #[test]
    fn a_limit_alarm_is_raised_once_and_rearms_past_the_deadband() {
        let (mut w, t0) = watch();
        let s = |n| t0 + TimeDelta::minutes(n);
        assert!(w.reading(0, &reading("freezer", s(0), -20.0)).is_empty());
        assert_eq!(
            kinds(&w.reading(0, &reading("freezer", s(10), -14.0))),
            ["scada.temperature_alarm"]
        );
        assert!(w.reading(0, &reading("freezer", s(20), -14.5)).is_empty());
        // back inside, but within the deadband: still the same excursion
        assert!(w.reading(0, &reading("freezer", s(30), -15.5)).is_empty());
        assert!(w.reading(0, &reading("freezer", s(40), -14.8)).is_empty());
        // properly back, which ends the alarm, then out again: a second alarm
        let back = w.reading(0, &reading("freezer", s(50), -17.0));
        assert_eq!(kinds(&back), ["scada.reading_normal"]);
        assert_eq!(back[0].evidence["side"], json!("high"));
        assert_eq!(back[0].evidence["alarm_ms"], json!(40 * 60 * 1000));
        assert!(back[0].severity < 10);
        let again = w.reading(0, &reading("freezer", s(60), -14.0));
        assert_eq!(kinds(&again), ["scada.temperature_alarm"]);
        assert_eq!(again[0].evidence["limit_c"], json!(-15.0));
    }

    #[test]
    fn a_fast_change_is_judged_over_the_window() {
        let (mut w, t0) = watch();
        let s = |n| t0 + TimeDelta::seconds(n);
        // 1 C in 30 s is fast, but half a window is not enough to judge
        assert!(w.reading(0, &reading("freezer", s(0), -20.0)).is_empty());
        assert!(w.reading(0, &reading("freezer", s(30), -19.0)).is_empty());
        // 3 C in 60 s is over the 2 C per minute allowed
        assert_eq!(
            kinds(&w.reading(0, &reading("freezer", s(60), -17.0))),
            ["scada.rate_of_change"]
        );
        assert!(w.reading(0, &reading("freezer", s(90), -16.0)).is_empty());
    }

    #[test]
    fn a_value_frozen_for_too_long_is_stuck_once() {
        let (mut w, t0) = watch();
        let s = |n| t0 + TimeDelta::minutes(n);
        for n in 0..10 {
            assert!(
                w.reading(0, &reading("freezer", s(n), -20.0)).is_empty(),
                "minute {n}"
            );
        }
        assert_eq!(
            kinds(&w.reading(0, &reading("freezer", s(10), -20.0))),
            ["scada.sensor_stuck"]
        );
        assert!(w.reading(0, &reading("freezer", s(11), -20.0)).is_empty());
        assert!(w.reading(0, &reading("freezer", s(12), -20.1)).is_empty());
    }

    #[test]
    fn a_setpoint_change_says_whether_it_is_safe() {
        let (mut w, t0) = watch();
        assert!(w.reading(1, &reading("setpoint", t0, -20.0)).is_empty());
        let events = w.reading(1, &reading("setpoint", t0, -17.0));
        let change = events
            .iter()
            .find(|e| e.kind == "scada.setpoint_changed")
            .unwrap();
        assert_eq!(change.severity, 60);
        assert_eq!(change.evidence["previous"], json!(-20.0));
        assert_eq!(change.techniques(), [MODIFY_PARAMETER]);
    }

    #[test]
    fn silence_is_reported_once_then_the_recovery() {
        let (mut w, t0) = watch();
        let s = |n| t0 + TimeDelta::seconds(n);
        assert!(w.unanswered(s(2)).is_none());
        let stale = w.unanswered(s(3)).unwrap();
        assert_eq!(stale.kind, "scada.sensor_stale");
        assert_eq!(stale.evidence["points"], json!(["freezer", "setpoint"]));
        assert!(w.unanswered(s(10)).is_none());
        let back = w.answered(s(12)).unwrap();
        assert_eq!(back.kind, "scada.sensor_recovered");
        assert!(w.answered(s(13)).is_none());
    }
}
