//! The behaviour rules at their thresholds, through `Engine::ingest` (no broker): what
//! must fire and, as important, what must stay quiet.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::SecurityEvent;
use safecare_core::site::Site;
use safecare_physical::{Engine, ingest_webhook};
use serde_json::{Value, json};

/// 00:00 UTC on a Monday in winter: 01:00 in Brussels.
fn base() -> DateTime<Utc> {
    "2025-01-06T00:00:00Z".parse().unwrap()
}

fn at(seconds: i64) -> String {
    (base() + TimeDelta::seconds(seconds)).to_rfc3339()
}

fn epoch(seconds: i64) -> f64 {
    (base() + TimeDelta::seconds(seconds)).timestamp() as f64
}

struct Rig {
    engine: Engine,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            engine: Engine::new(Arc::new(Site::demo())),
        }
    }

    fn send(&mut self, topic: &str, payload: Value) -> Vec<SecurityEvent> {
        let received = base() + TimeDelta::days(1);
        let bytes = serde_json::to_vec(&payload).unwrap();
        self.engine.ingest(topic, &bytes, received).unwrap()
    }

    /// Runs the time-driven rules as the service would a few seconds after the messages.
    fn settle(&mut self) -> Vec<SecurityEvent> {
        self.engine
            .tick(base() + TimeDelta::days(1) + TimeDelta::seconds(5))
    }

    fn badge(&mut self, door: &str, t: i64, badge: &str) -> Vec<SecurityEvent> {
        let message = json!({"time": at(t), "event": "granted", "badge": badge});
        self.send(&format!("site/access/{door}"), message)
    }
}

fn kinds(events: &[SecurityEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[test]
fn travel_fires_only_when_too_fast_to_walk() {
    let mut rig = Rig::new();
    rig.badge("door-datacentre", 0, "B-1");
    // Data centre (basement) to theatres (first floor): about 88 m, 44 s at 2 m/s.
    let slow = rig.badge("door-or", 60, "B-1");
    assert!(
        !kinds(&slow).contains(&"access.impossible_travel"),
        "{slow:#?}"
    );
    let fast = rig.badge("door-datacentre", 70, "B-1");
    assert!(
        kinds(&fast).contains(&"access.impossible_travel"),
        "{fast:#?}"
    );
}

#[test]
fn tailgating_needs_more_people_than_grants() {
    let mut rig = Rig::new();
    rig.badge("door-or", 100, "B-1");
    rig.badge("door-or", 101, "B-2");
    let passage = |t: i64, count: u32| json!({"time": at(t), "event": "passage", "count": count});
    assert!(
        rig.send("site/access/door-or", passage(103, 2)).is_empty(),
        "judged later"
    );
    assert!(rig.settle().is_empty(), "two people, two badges");

    rig.send("site/access/door-or", passage(104, 3));
    assert_eq!(kinds(&rig.settle()), ["access.tailgating"]);
    rig.send("site/access/door-or", passage(200, 1));
    let late = rig.settle();
    assert_eq!(
        kinds(&late),
        ["access.tailgating"],
        "grants older than the window do not count"
    );
}

#[test]
fn a_grant_that_arrives_after_its_passage_still_counts() {
    let mut rig = Rig::new();
    let passage = json!({"time": at(300), "event": "passage", "count": 1});
    rig.send("site/access/door-or", passage);
    rig.badge("door-or", 299, "B-1");
    assert!(
        rig.settle().is_empty(),
        "the door counter was faster than the access system"
    );
}

#[test]
fn denied_burst_fires_once_per_window() {
    let mut rig = Rig::new();
    let mut bursts = 0;
    for i in 0..12 {
        let denied = json!({"time": at(i * 10), "event": "denied", "badge": format!("B-{i}")});
        let events = rig.send("site/access/door-or", denied);
        bursts += kinds(&events)
            .iter()
            .filter(|k| **k == "access.badge_denied_burst")
            .count();
    }
    assert_eq!(bursts, 1, "12 denials in 110 s are one burst");
    let four_later = (0..4).flat_map(|i| {
        let denied = json!({"time": at(1000 + i), "event": "denied", "badge": "B-x"});
        rig.send("site/access/door-pharmacy", denied)
    });
    assert!(
        !four_later
            .map(|e| e.kind)
            .any(|k| k == "access.badge_denied_burst")
    );
}

#[test]
fn loitering_waits_for_the_threshold_and_fires_once() {
    let mut rig = Rig::new();
    let update = |frame: i64| {
        json!({"type": "update", "after": {"id": "t1", "camera": "cam-pharmacy", "label": "person",
            "start_time": epoch(43_200), "frame_time": epoch(43_200 + frame), "stationary": true}})
    };
    assert!(
        rig.send("frigate/events", update(500)).is_empty(),
        "8 minutes is not loitering"
    );
    assert_eq!(
        kinds(&rig.send("frigate/events", update(700))),
        ["video.loitering"]
    );
    assert!(
        rig.send("frigate/events", update(900)).is_empty(),
        "reported once per track"
    );
}

#[test]
fn crowding_repeats_only_when_the_crowd_grows() {
    let mut rig = Rig::new();
    let count = |t: i64, n: u32| json!({"time": at(t), "camera": "cam-waiting-room", "type": "occupancy", "count": n});
    assert!(
        rig.send("site/video/vca", count(0, 60)).is_empty(),
        "at capacity is fine"
    );
    assert_eq!(
        kinds(&rig.send("site/video/vca", count(10, 61))),
        ["video.crowding"]
    );
    assert!(
        rig.send("site/video/vca", count(20, 63)).is_empty(),
        "a small rise is the same crowd"
    );
    assert_eq!(
        kinds(&rig.send("site/video/vca", count(30, 70))),
        ["video.crowding"]
    );
    assert!(rig.send("site/video/vca", count(40, 50)).is_empty());
    assert_eq!(
        kinds(&rig.send("site/video/vca", count(50, 62))),
        ["video.crowding"],
        "a new crowd"
    );
}

#[test]
fn frigate_tracks_leave_the_zone_count_when_they_end() {
    let mut rig = Rig::new();
    let person = |id: u32, kind: &str| {
        json!({"type": kind, "after": {"id": format!("p{id}"), "camera": "cam_datacentre",
            "label": "person", "start_time": epoch(100), "frame_time": epoch(100 + i64::from(id))}})
    };
    for id in 0..4 {
        assert!(
            rig.send("frigate/events", person(id, "new")).is_empty(),
            "capacity 4"
        );
    }
    rig.send("frigate/events", person(0, "end"));
    assert!(
        rig.send("frigate/events", person(4, "new")).is_empty(),
        "one left, one came"
    );
    assert_eq!(
        kinds(&rig.send("frigate/events", person(5, "new"))),
        ["video.crowding"]
    );
}

#[test]
fn keypad_code_new_to_a_known_badge() {
    let mut rig = Rig::new();
    let code = |badge: &str, t: i64| json!({"time": at(43_200 + t), "event": "code_entry", "badge": badge, "code_id": "c1"});
    rig.send("site/access/door-pharmacy", code("B-1", 0));
    let newcomer = rig.send("site/access/door-pharmacy", code("B-2", 10));
    assert!(
        !kinds(&newcomer).contains(&"access.code_first_use"),
        "a badge never seen is not judged"
    );
    rig.badge("door-or", 43_300, "B-3");
    rig.badge("door-or", 43_400, "B-3");
    let known = rig.send("site/access/door-pharmacy", code("B-3", 500));
    assert!(
        kinds(&known).contains(&"access.code_first_use"),
        "{known:#?}"
    );
    let again = rig.send("site/access/door-pharmacy", code("B-3", 600));
    assert!(!kinds(&again).contains(&"access.code_first_use"));
}

#[test]
fn unknown_devices_are_reported_once_an_hour_and_never_dropped() {
    let mut rig = Rig::new();
    let forced = |t: i64| json!({"time": at(t), "event": "forced"});
    let first = rig.send("site/access/door-x", forced(0));
    assert_eq!(
        kinds(&first),
        ["access.unknown_device", "access.door_forced"]
    );
    let second = rig.send("site/access/door-x", forced(60));
    assert_eq!(kinds(&second), ["access.door_forced"]);
    assert_eq!(second[0].evidence["unknown_device"], json!(true));
    let granted = rig.badge("door-x", 4000, "B-1");
    assert_eq!(
        kinds(&granted),
        ["access.unknown_device"],
        "a quiet message still says so"
    );
}

#[test]
fn duplicates_are_dropped_and_future_times_corrected() {
    let mut rig = Rig::new();
    let forced = json!({"time": at(0), "event": "forced"});
    assert_eq!(rig.send("site/access/door-or", forced.clone()).len(), 1);
    assert!(
        rig.send("site/access/door-or", forced).is_empty(),
        "same message twice"
    );
    let future = json!({"time": at(2 * 86_400), "event": "forced"});
    let corrected = rig.send("site/access/door-or", future);
    assert_eq!(
        corrected[0].time,
        base() + TimeDelta::days(1),
        "the receive time"
    );
    assert_eq!(corrected[0].evidence["clock_skew_s"], json!(86_400));
    assert_eq!(rig.engine.stats().duplicates, 1);
}

#[test]
fn malformed_payloads_are_typed_errors() {
    let mut rig = Rig::new();
    let now = base();
    for (topic, payload, code) in [
        ("site/access/door-or", &b"{"[..], "json"),
        ("site/access/door-or", br#"{"event": 5}"#, "shape"),
        (
            "site/access/door-or",
            br#"{"event": "teleport"}"#,
            "unknown_value",
        ),
        (
            "site/fire/p1",
            br#"{"device": "d", "bacnet": {"present_value": 77}}"#,
            "field",
        ),
        ("site/onvif/cam", b"<a><b></a>", "xml"),
        ("site/unknown/x", b"{}", "unknown_topic"),
    ] {
        let err = rig.engine.ingest(topic, payload, now).unwrap_err();
        assert_eq!(err.code(), code, "{topic}: {err}");
    }
    let huge = vec![b' '; safecare_physical::MAX_NATIVE_BYTES + 1];
    let err = rig
        .engine
        .ingest("site/access/door-or", &huge, now)
        .unwrap_err();
    assert_eq!(err.code(), "too_large");
}

#[test]
fn webhook_maps_a_batch_without_a_site() {
    let body = br#"[{"door": "door-or", "event": "forced"},
                    {"door": "door-or", "event": "denied", "badge": "B-1", "reason": "expired"},
                    {"door": "door-or", "event": "granted", "badge": "B-2"}]"#;
    let events = ingest_webhook(body).unwrap();
    assert_eq!(
        kinds(&events),
        ["access.door_forced", "access.badge_denied"]
    );
    assert!(
        events
            .iter()
            .all(|e| !e.evidence.contains_key("unknown_device"))
    );
    assert!(
        ingest_webhook(br#"[{"event": "forced"}]"#).is_err(),
        "the door is required"
    );
}
