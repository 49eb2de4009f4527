//! Video rules: loitering, crowding, people after hours, cameras offline or tampered.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::SecurityEvent;
use serde_json::json;

use super::make_room;
use crate::engine::{Subject, with};
use crate::observation::{Fact, TrackedObject};
use crate::site_view::SiteView;
use crate::thresholds::Thresholds;

#[derive(Debug, Default)]
pub(crate) struct VideoRules {
    /// (camera, track id) -> what we know of the tracked person.
    tracks: HashMap<(String, String), Track>,
    /// People tracked per zone now.
    people: HashMap<String, u32>,
    /// Zone -> (time, count) of the last crowding report.
    crowd_reported: HashMap<String, (DateTime<Utc>, u32)>,
    cameras: HashMap<String, Camera>,
    last_sweep: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Track {
    zones: Vec<String>,
    loiter_reported: bool,
    /// Receive time of the track's last message, to forget tracks whose end was lost.
    last_received: DateTime<Utc>,
}

/// A track not updated for this long is forgotten (its `end` message was lost).
const TRACK_TIMEOUT: TimeDelta = TimeDelta::hours(1);

#[derive(Debug, Clone)]
struct Camera {
    /// Receive time of the camera's last message.
    last_seen: DateTime<Utc>,
    /// Event time of the camera's last message.
    last_time: DateTime<Utc>,
    /// True once the camera sent a status (heartbeat): only such cameras can fall silent,
    /// since Frigate and ONVIF send nothing while nothing moves.
    heartbeats: bool,
    offline_reported: bool,
    tampered: bool,
    subject: Subject,
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl VideoRules {
    pub fn observe(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        fact: &Fact,
        out: &mut Vec<SecurityEvent>,
    ) {
        self.camera_seen(th, s, out);
        let name = s.name().to_string();
        match fact {
            Fact::Object(object) if object.label == "person" => {
                self.person(view, th, s, object, out)
            }
            Fact::Occupancy { count } => {
                if let Some(zone) = s.zone() {
                    self.crowding(view, th, s, zone, *count, out);
                }
            }
            Fact::PersonSeen { count } => {
                if let Some(zone) = s.zone().map(String::from) {
                    self.after_hours_person(view, s, &zone, *count, out);
                }
            }
            Fact::Loitering { dwell_seconds }
                if u64::from(*dwell_seconds) >= th.loiter_after.as_secs() =>
            {
                out.push(loitering(s, i64::from(*dwell_seconds)));
            }
            Fact::CameraTamper { active } => self.tamper(s, *active, out),
            Fact::CameraStatus { online: true } => {
                if let Some(camera) = self.cameras.get_mut(&s.device_id) {
                    camera.heartbeats = true;
                }
            }
            Fact::CameraStatus { online: false } => {
                if let Some(camera) = self.cameras.get_mut(&s.device_id) {
                    camera.offline_reported = true;
                }
                out.push(s.event(
                    "video.camera_offline",
                    60,
                    format!("{name} reports it is offline."),
                ));
            }
            Fact::VideoMotion { active: true } if closed(view, s) == Some(true) => {
                let summary = format!(
                    "Motion seen by {name} in {} outside its hours.",
                    zone_name(s)
                );
                out.push(with(
                    s.event("video.motion", 45, summary),
                    &[("after_hours", json!(true))],
                ));
            }
            Fact::FieldIntrusion { active: true } => {
                let after_hours = closed(view, s) == Some(true);
                let summary = format!("{name} sees an object inside its watched area.");
                let event = s.event(
                    "video.intrusion_field",
                    if after_hours { 65 } else { 50 },
                    summary,
                );
                out.push(with(event, &[("after_hours", json!(after_hours))]));
            }
            Fact::LineCrossing { count, door: None } => {
                let summary = format!("{count} crossing(s) of the line watched by {name}.");
                out.push(with(
                    s.event("video.line_crossing", 20, summary),
                    &[("count", json!(count))],
                ));
            }
            _ => {}
        }
    }

    /// A tracked person: zone counts, after-hours presence, loitering, crowding.
    fn person(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        object: &TrackedObject,
        out: &mut Vec<SecurityEvent>,
    ) {
        let key = (s.device_id.clone(), object.track.clone());
        let zones = person_zones(view, s, object);
        let previous = self.tracks.get(&key).cloned();

        // Move the person's count from the zones it left to those it is in.
        if let Some(previous) = &previous {
            for zone in &previous.zones {
                if let Some(n) = self.people.get_mut(zone) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        if !object.active {
            self.tracks.remove(&key);
            return;
        }
        for zone in &zones {
            *self.people.entry(zone.clone()).or_default() += 1;
        }

        let is_new = previous.is_none();
        let mut track = previous.unwrap_or(Track {
            zones: Vec::new(),
            loiter_reported: false,
            last_received: s.received,
        });
        track.zones = zones.clone();
        track.last_received = s.received;

        let mut subject = s.clone();
        for zone in &zones {
            subject.location = view.zone_location(zone).or(subject.location);
            if is_new {
                self.after_hours_person(view, &subject, zone, 1, out);
            }
            let count = self.people.get(zone).copied().unwrap_or(0);
            self.crowding(view, th, &subject, zone, count, out);
        }

        let dwell = s.time - object.start;
        if object.stationary && !track.loiter_reported && dwell >= delta(th.loiter_after) {
            track.loiter_reported = true;
            let mut event = loitering(&subject, dwell.num_seconds());
            event.evidence.insert("track".into(), json!(object.track));
            out.push(event);
        }

        if is_new {
            make_room(&mut self.tracks, th.limits.tracks);
        }
        self.tracks.insert(key, track);
    }

    /// A person where the zone's schedule says nobody should be.
    fn after_hours_person(
        &mut self,
        view: &SiteView,
        s: &Subject,
        zone: &str,
        count: u32,
        out: &mut Vec<SecurityEvent>,
    ) {
        if view.zone_open(zone, s.time) != Some(false) {
            return;
        }
        let local = view.local(s.time).format("%H:%M");
        let name = view.zone(zone).map_or(zone, |z| z.name.as_str());
        let summary = format!("{count} person(s) seen in {name} at {local}, when it is closed.");
        let event = s.event("video.person_detected", 55, summary);
        out.push(with(
            event,
            &[("after_hours", json!(true)), ("people", json!(count))],
        ));
    }

    /// More people in a zone than its capacity: reported once, again when it grows.
    fn crowding(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        zone: &str,
        count: u32,
        out: &mut Vec<SecurityEvent>,
    ) {
        let Some(facts) = view.zone(zone) else { return };
        let Some(capacity) = facts.capacity else {
            return;
        };
        if count <= capacity {
            self.crowd_reported.remove(zone);
            return;
        }
        if let Some((time, reported)) = self.crowd_reported.get(zone) {
            let risen = f64::from(count) >= f64::from(*reported) * (1.0 + th.crowd_rise);
            let stale = s.time - *time >= delta(th.crowd_repeat);
            if !risen && !stale {
                return;
            }
        }
        make_room(&mut self.crowd_reported, th.limits.doors);
        self.crowd_reported
            .insert(zone.to_string(), (s.time, count));

        let mut subject = s.clone();
        subject.location = view.zone_location(zone).or(subject.location);
        let severity = if count >= capacity.saturating_mul(2) {
            55
        } else {
            45
        };
        let summary = format!("{count} people in {}, capacity {capacity}.", facts.name);
        let event = subject.event("video.crowding", severity, summary);
        out.push(with(
            event,
            &[("people", json!(count)), ("capacity", json!(capacity))],
        ));
    }

    fn tamper(&mut self, s: &Subject, active: bool, out: &mut Vec<SecurityEvent>) {
        let Some(camera) = self.cameras.get_mut(&s.device_id) else {
            return;
        };
        let was = std::mem::replace(&mut camera.tampered, active);
        if active && !was {
            let summary = format!("{} view is covered, moved or blinded.", s.name());
            out.push(s.event("video.camera_tamper", 70, summary));
        }
    }

    /// Any message from a camera: it is alive; back online after an offline report.
    fn camera_seen(&mut self, th: &Thresholds, s: &Subject, out: &mut Vec<SecurityEvent>) {
        if !self.cameras.contains_key(&s.device_id) {
            make_room(&mut self.cameras, th.limits.cameras);
        }
        let camera = self
            .cameras
            .entry(s.device_id.clone())
            .or_insert_with(|| Camera {
                last_seen: s.received,
                last_time: s.time,
                heartbeats: false,
                offline_reported: false,
                tampered: false,
                subject: s.clone(),
            });
        if s.received > camera.last_seen {
            camera.last_seen = s.received;
        }
        if s.time > camera.last_time {
            camera.last_time = s.time;
        }
        if std::mem::take(&mut camera.offline_reported) {
            let summary = format!("{} is sending again.", s.name());
            out.push(s.event("video.camera_online", 5, summary));
        }
    }

    /// Cameras that send heartbeats and fell silent past the limit; once a minute, forgets
    /// tracks whose end never came.
    pub fn tick(
        &mut self,
        _view: &SiteView,
        th: &Thresholds,
        now: DateTime<Utc>,
        out: &mut Vec<SecurityEvent>,
    ) {
        if self
            .last_sweep
            .is_none_or(|t| now - t >= TimeDelta::minutes(1))
        {
            self.last_sweep = Some(now);
            self.forget_stale_tracks(now);
        }

        let limit = delta(th.camera_silence);
        for camera in self.cameras.values_mut() {
            if !camera.heartbeats || camera.offline_reported || now - camera.last_seen <= limit {
                continue;
            }
            camera.offline_reported = true;
            let mut subject = camera.subject.clone();
            subject.time = camera.last_time + (now - camera.last_seen);
            let silent = (now - camera.last_seen).num_seconds();
            let summary = format!(
                "{} has sent nothing for {silent} s: offline or cut.",
                subject.name()
            );
            let event = subject.event("video.camera_offline", 60, summary);
            out.push(with(event, &[("silent_seconds", json!(silent))]));
        }
    }

    fn forget_stale_tracks(&mut self, now: DateTime<Utc>) {
        let people = &mut self.people;
        self.tracks.retain(|_, track| {
            let keep = now - track.last_received <= TRACK_TIMEOUT;
            if !keep {
                for zone in &track.zones {
                    if let Some(n) = people.get_mut(zone) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
            keep
        });
    }
}

fn loitering(s: &Subject, dwell_seconds: i64) -> SecurityEvent {
    let minutes = dwell_seconds / 60;
    let summary = format!(
        "A person has stood {minutes} minutes in {} ({}).",
        zone_name(s),
        s.name()
    );
    with(
        s.event("video.loitering", 50, summary),
        &[("dwell_seconds", json!(dwell_seconds))],
    )
}

/// The site zones a tracked person is in: its Frigate zones that name site zones, else the
/// zones the camera watches. Only site zones, so untrusted names never grow the counts.
fn person_zones(view: &SiteView, s: &Subject, object: &TrackedObject) -> Vec<String> {
    let named: Vec<String> = object
        .zones
        .iter()
        .filter_map(|z| view.zone(z).map(|facts| facts.id.clone()))
        .collect();
    if !named.is_empty() {
        return named;
    }
    let watched = match &s.device {
        Some(device) => device.watches.clone(),
        None => s.zone().map(String::from).into_iter().collect(),
    };
    watched
        .into_iter()
        .filter_map(|z| view.zone(&z).map(|facts| facts.id.clone()))
        .collect()
}

fn closed(view: &SiteView, s: &Subject) -> Option<bool> {
    view.zone_open(s.zone()?, s.time).map(|open| !open)
}

fn zone_name(s: &Subject) -> &str {
    s.zone().unwrap_or("an unknown zone")
}
