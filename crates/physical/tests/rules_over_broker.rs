//! Every adapter and behaviour rule, fed native messages over a real broker: the embedded
//! one and Mosquitto at 127.0.0.1:1883.

mod common;

use std::time::Duration;

use common::{Harness, device, embedded, mosquitto};
use safecare_bus::client::Qos;
use safecare_core::site::Site;
use safecare_core::{Alert, AlertDomain, AlertStatus, CapSeverity, Module};
use safecare_physical::render_floor_svg;
use safecare_physical::zones::{CameraStatus, DoorStatus, SensorStatus};
use serde_json::{Value, json};
use ulid::Ulid;

const NIGHT: i64 = 2 * 3600; // 03:00 in Brussels
const DAY: i64 = 12 * 3600; // 13:00 in Brussels

fn evidence<'e>(event: &'e safecare_core::SecurityEvent, key: &str) -> &'e Value {
    event.evidence.get(key).unwrap_or(&Value::Null)
}

async fn access_rules(h: &mut Harness) {
    // After hours into a restricted zone, and the same door by day.
    let night =
        json!({"time": h.at(NIGHT), "event": "granted", "badge": "B-1", "user": "n.jansen"});
    h.send_json("access/door-pharmacy", night).await;
    let entry = h
        .expect("after-hours entry", |e| e.kind == "access.after_hours")
        .await;
    assert_eq!(entry.asset.as_deref(), Some("door-pharmacy"));
    assert_eq!(entry.zone(), Some("pharmacy"));
    assert_eq!(entry.module, Module::Access);
    assert_eq!(evidence(&entry, "after_hours"), &json!(true));
    assert_eq!(
        entry.user.as_ref().and_then(|u| u.name.as_deref()),
        Some("n.jansen")
    );

    let day = json!({"time": h.at(DAY), "event": "granted", "badge": "B-2"});
    h.send_json("access/door-pharmacy", day).await;
    let by_day = h
        .expect("daytime restricted entry", |e| {
            e.kind == "access.restricted_entry"
        })
        .await;
    assert_eq!(evidence(&by_day, "after_hours"), &json!(false));

    // Five denials out of order, one of them sent twice: one burst, five denials.
    for (i, offset) in [40, 0, 20, 10, 30, 10].into_iter().enumerate() {
        let badge = format!("B-3{}", offset / 10);
        let denied = json!({"time": h.at(NIGHT + 100 + offset), "event": "denied",
                            "badge": badge, "reason": "not authorised"});
        h.send_json("access/door-datacentre", denied).await;
        let _ = i;
    }
    let burst = h
        .expect("denied burst", |e| e.kind == "access.badge_denied_burst")
        .await;
    assert_eq!(burst.asset.as_deref(), Some("door-datacentre"));
    assert_eq!(evidence(&burst, "denials"), &json!(5));

    // One badge at the data centre, then at the operating theatres five seconds later.
    for (door, offset) in [("door-datacentre", 800), ("door-or", 805)] {
        let use_ = json!({"time": h.at(NIGHT + offset), "event": "granted", "badge": "B-7"});
        h.send_json(&format!("access/{door}"), use_).await;
    }
    let travel = h
        .expect("impossible travel", |e| {
            e.kind == "access.impossible_travel"
        })
        .await;
    assert_eq!(evidence(&travel, "badge"), &json!("B-7"));
    assert_eq!(travel.asset.as_deref(), Some("door-or"));

    // Door counter: two people on one badge.
    h.send_json(
        "access/door-or",
        json!({"time": h.at(NIGHT + 1000), "event": "granted", "badge": "B-8"}),
    )
    .await;
    h.send_json(
        "access/door-or",
        json!({"time": h.at(NIGHT + 1003), "event": "passage", "count": 2}),
    )
    .await;
    let tailgate = h
        .expect("tailgating", |e| e.kind == "access.tailgating")
        .await;
    assert_eq!(tailgate.asset.as_deref(), Some("door-or"));
    assert_eq!(evidence(&tailgate, "people"), &json!(2));

    // Video line at a door: three people on one badge.
    h.send_json(
        "access/door-technical-room",
        json!({"time": h.at(NIGHT + 1100), "event": "granted", "badge": "B-9"}),
    )
    .await;
    let line = json!({"time": h.at(NIGHT + 1102), "camera": "cam-datacentre", "type": "line_crossing",
                      "door": "door-technical-room", "count": 3});
    h.send_json("video/vca", line).await;
    let video = h
        .expect("video tailgating", |e| e.kind == "video.tailgating")
        .await;
    assert_eq!(video.zone(), Some("technical-room"));
    assert_eq!(evidence(&video, "credentials"), &json!(1));

    // Forced, held (reported by the system, by open/close, and by the clock).
    h.send_json(
        "access/door-technical-room",
        json!({"time": h.at(NIGHT + 1200), "event": "forced"}),
    )
    .await;
    let forced = h
        .expect("door forced", |e| {
            e.kind == "access.door_forced" && device(e) == "door-technical-room"
        })
        .await;
    assert_eq!(forced.severity, 85, "restricted zone");
    h.send_json(
        "access/door-or",
        json!({"time": h.at(NIGHT + 1300), "event": "held_open", "held_seconds": 95}),
    )
    .await;
    h.expect("held open (reported)", |e| {
        e.kind == "access.door_held_open" && device(e) == "door-or"
    })
    .await;
    h.send_json(
        "access/door-datacentre",
        json!({"time": h.at(NIGHT + 1400), "event": "opened"}),
    )
    .await;
    h.send_json(
        "access/door-datacentre",
        json!({"time": h.at(NIGHT + 1490), "event": "closed"}),
    )
    .await;
    let held = h
        .expect("held open (open/close)", |e| {
            e.kind == "access.door_held_open" && device(e) == "door-datacentre"
        })
        .await;
    assert_eq!(evidence(&held, "held_seconds"), &json!(90));
    h.send_json(
        "access/door-pharmacy",
        json!({"time": h.at(NIGHT + 1500), "event": "opened"}),
    )
    .await;
    h.expect("held open (clock)", |e| {
        e.kind == "access.door_held_open" && device(e) == "door-pharmacy"
    })
    .await;

    // A known code typed by a badge with a history that never used it.
    let code = |badge: &str, at: i64| json!({"time": h.at(at), "event": "code_entry", "badge": badge, "code_id": "slot-3"});
    h.send_json("access/door-pharmacy", code("B-20", DAY + 100))
        .await;
    for at in [DAY + 200, DAY + 300] {
        h.send_json(
            "access/door-or",
            json!({"time": h.at(at), "event": "granted", "badge": "B-21"}),
        )
        .await;
    }
    h.send_json("access/door-pharmacy", code("B-21", DAY + 400))
        .await;
    let first = h
        .expect("code first use", |e| e.kind == "access.code_first_use")
        .await;
    assert_eq!(evidence(&first, "badge"), &json!("B-21"));
    assert_eq!(
        h.count(|e| e.kind == "access.code_first_use"),
        1,
        "B-20 taught the code"
    );

    // A webhook body forwarded to the bus: a batch naming its doors.
    let batch = json!([
        {"time": h.at(NIGHT + 1600), "door": "door-or", "event": "reader_tamper"},
        {"time": h.at(NIGHT + 1610), "door": "door-datacentre", "event": "anti_passback", "badge": "B-40"}
    ]);
    h.send_json("access/webhook", batch).await;
    let tamper = h
        .expect("reader tamper", |e| e.kind == "access.reader_tamper")
        .await;
    assert_eq!(tamper.asset.as_deref(), Some("door-or"));
    let passback = h
        .expect("anti-passback", |e| e.kind == "access.antipassback")
        .await;
    assert_eq!(passback.asset.as_deref(), Some("door-datacentre"));
}

async fn video_rules(h: &mut Harness) {
    // A person standing still by the pharmacy for 700 s (Frigate zone not in the site).
    let loiter = json!({"type": "update", "before": null, "after": {
        "id": "trk-loiter", "camera": "cam_pharmacy", "label": "person",
        "start_time": h.epoch(DAY), "frame_time": h.epoch(DAY + 700), "end_time": null,
        "current_zones": ["pharmacy_door"], "entered_zones": ["pharmacy_door"],
        "stationary": true, "false_positive": false, "score": 0.8}});
    h.send_json("frigate", loiter).await;
    let loitering = h.expect("loitering", |e| e.kind == "video.loitering").await;
    assert_eq!(loitering.zone(), Some("pharmacy"));
    assert_eq!(loitering.asset.as_deref(), Some("cam-pharmacy"));
    assert!(evidence(&loitering, "dwell_seconds").as_i64() >= Some(600));

    // Five people tracked in the data centre (capacity 4).
    for i in 0..5 {
        let person = json!({"type": "new", "after": {
            "id": format!("trk-dc-{i}"), "camera": "cam-datacentre", "label": "person",
            "start_time": h.epoch(NIGHT + 2000 + i), "frame_time": h.epoch(NIGHT + 2000 + i),
            "current_zones": [], "entered_zones": [], "stationary": false}});
        h.send_json("frigate", person).await;
    }
    let crowd = h
        .expect("crowding (Frigate)", |e| {
            e.kind == "video.crowding" && e.zone() == Some("datacentre")
        })
        .await;
    assert_eq!(evidence(&crowd, "people"), &json!(5));
    assert_eq!(evidence(&crowd, "capacity"), &json!(4));

    // A counted crowd in the waiting room (capacity 60).
    let count = json!({"time": h.at(DAY + 900), "camera": "cam-waiting-room", "type": "occupancy", "count": 72});
    h.send_json("video/vca", count).await;
    let waiting = h
        .expect("crowding (count)", |e| {
            e.kind == "video.crowding" && e.zone() == Some("waiting-room")
        })
        .await;
    assert_eq!(evidence(&waiting, "people"), &json!(72));

    // A person in the closed pharmacy at night.
    let intruder = json!({"type": "new", "after": {
        "id": "trk-night", "camera": "cam_pharmacy", "label": "person",
        "start_time": h.epoch(NIGHT + 2100), "frame_time": h.epoch(NIGHT + 2100),
        "current_zones": [], "stationary": false}});
    h.send_json("frigate", intruder).await;
    let seen = h
        .expect("person after hours", |e| e.kind == "video.person_detected")
        .await;
    assert_eq!(seen.zone(), Some("pharmacy"));
    assert_eq!(evidence(&seen, "after_hours"), &json!(true));

    // ONVIF tampering, an explicit offline report, and a heartbeat that stops.
    let tamper = onvif(
        "tns1:RuleEngine/TamperDetector/Tamper",
        "IsTamper",
        &h.at(NIGHT + 2200),
    );
    h.send("onvif/cam-pharmacy", tamper).await;
    let tampered = h
        .expect("camera tamper", |e| e.kind == "video.camera_tamper")
        .await;
    assert_eq!(tampered.asset.as_deref(), Some("cam-pharmacy"));
    let down = json!({"time": h.at(NIGHT + 2300), "camera": "cam-datacentre", "type": "camera_status", "online": false});
    h.send_json("video/vca", down).await;
    h.expect("camera offline (reported)", |e| {
        e.kind == "video.camera_offline" && device(e) == "cam-datacentre"
    })
    .await;
    let alive = json!({"time": h.at(NIGHT + 2400), "camera": "cam-waiting-room", "type": "camera_status", "online": true});
    h.send_json("video/vca", alive).await;
    let silent = h
        .expect("camera offline (silence)", |e| {
            e.kind == "video.camera_offline" && device(e) == "cam-waiting-room"
        })
        .await;
    assert!(evidence(&silent, "silent_seconds").as_i64() >= Some(2));
}

async fn building_rules(h: &mut Harness) {
    let smoke = json!({"time": h.at(NIGHT + 3000), "device": "smoke-technical-room", "bacnet": {"present_value": 2}});
    h.send_json("fire/panel-1", smoke).await;
    let fire = h.expect("smoke (BACnet)", |e| e.kind == "fire.smoke").await;
    assert_eq!(fire.module, Module::Fire);
    assert_eq!(fire.zone(), Some("technical-room"));
    let isolated = json!({"time": h.at(NIGHT + 3100), "device": "smoke-technical-room",
                          "bacnet": {"present_value": 0, "mode": "disabled"}});
    h.send_json("fire/panel-1", isolated).await;
    h.expect("isolation", |e| e.kind == "fire.isolation").await;
    h.send_json("fire/panel-1", json!({"time": h.at(NIGHT + 3150), "device": "mcp-ed-1", "zone": "ed", "event": "manual_call_point"})).await;
    h.expect("manual call point", |e| e.kind == "fire.alarm")
        .await;

    for event in ["armed", "motion", "glass_break"] {
        let message = json!({"time": h.at(NIGHT + 3200), "sensor": "pir-radiology", "zone": "radiology", "event": event});
        h.send_json("intrusion/panel-1", message).await;
    }
    let motion = h
        .expect("motion in an armed zone", |e| e.kind == "intrusion.motion")
        .await;
    assert_eq!(motion.zone(), Some("radiology"));
    h.expect("glass break", |e| e.kind == "intrusion.glass_break")
        .await;

    let hot = json!({"time": h.at(NIGHT + 3300), "zone": "pharmacy", "temperature_c": 41.5, "flood": true});
    h.send_json("env/env-pharmacy-1", hot).await;
    let warm = h
        .expect("temperature", |e| e.kind == "scada.temperature_alarm")
        .await;
    assert_eq!(warm.zone(), Some("pharmacy"));
    h.expect("flood", |e| e.kind == "scada.flood").await;
}

async fn bad_input(h: &mut Harness) {
    h.send("access/door-or", b"{not json".to_vec()).await;
    let (topic, letter) = h.expect_dead_letter("access/door-or").await;
    assert_eq!(topic, "safecare/v1/deadletter/access");
    assert_eq!(letter["code"], "json");
    assert!(
        letter["reason"].as_str().unwrap().contains("JSON"),
        "{letter}"
    );

    let teleported = json!({"type": "teleported", "after": {"id": "t", "camera": "cam_pharmacy", "label": "person"}});
    h.send_json("frigate", teleported).await;
    let (topic, letter) = h.expect_dead_letter("/events").await;
    assert_eq!(topic, "safecare/v1/deadletter/video");
    assert!(
        letter["reason"].as_str().unwrap().contains("teleported"),
        "{letter}"
    );

    h.send("onvif/cam-pharmacy", b"<Envelope><Body>".to_vec())
        .await;
    let (_, letter) = h.expect_dead_letter("onvif/cam-pharmacy").await;
    assert_eq!(letter["code"], "xml");

    // An unknown door still gives its event, and one that says the door is unknown.
    h.send_json(
        "access/door-nowhere",
        json!({"time": h.at(NIGHT + 4000), "event": "forced"}),
    )
    .await;
    let unknown = h
        .expect("unknown door", |e| e.kind == "access.unknown_device")
        .await;
    assert_eq!(device(&unknown), "door-nowhere");
    let forced = h
        .expect("forced unknown door", |e| {
            e.kind == "access.door_forced" && device(e) == "door-nowhere"
        })
        .await;
    assert_eq!(evidence(&forced, "unknown_device"), &json!(true));
    assert!(
        forced.summary.contains("not in the site model"),
        "{}",
        forced.summary
    );

    // A sender whose clock runs a day ahead: the receive time is used.
    let ahead = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
    h.send_json(
        "access/door-or",
        json!({"time": ahead, "event": "denied", "reason": "skew-test"}),
    )
    .await;
    let skewed = h
        .expect("clock skew", |e| {
            e.kind == "access.badge_denied" && e.summary.contains("skew-test")
        })
        .await;
    assert!(evidence(&skewed, "clock_skew_s").as_i64() > Some(80_000));
    assert!(skewed.time <= chrono::Utc::now());
}

/// Zone states follow the bus, and the floor plan shows them.
async fn zone_states_follow(h: &mut Harness) {
    let alert = open_alert("pharmacy");
    h.publisher()
        .publish_json(safecare_bus::topics::ALERT, Qos::AtLeastOnce, false, &alert)
        .await
        .unwrap();
    h.drain(Duration::from_millis(500)).await;
    {
        let states = h.service.zone_states();
        let states = states.read().unwrap();
        let pharmacy = states.zone("pharmacy").unwrap();
        assert!(
            pharmacy.alerts.iter().any(|a| a.id == alert.id),
            "the alert is listed"
        );
        assert_eq!(pharmacy.alert_level, Some(CapSeverity::Extreme));
    }

    let states = h.service.zone_states();
    let states = states.read().unwrap();
    let pharmacy = states.zone("pharmacy").unwrap();
    assert_eq!(
        pharmacy.cameras["cam-pharmacy"].status,
        CameraStatus::Tampered
    );
    assert_eq!(
        pharmacy.doors["door-pharmacy"].status,
        DoorStatus::Normal,
        "held at night, then opened normally by day"
    );
    let datacentre = states.zone("datacentre").unwrap();
    assert_eq!(
        datacentre.doors["door-datacentre"].status,
        DoorStatus::HeldOpen
    );
    assert_eq!(
        datacentre.cameras["cam-datacentre"].status,
        CameraStatus::Offline
    );
    let technical = states.zone("technical-room").unwrap();
    assert_eq!(
        technical.sensors["smoke-technical-room"].status,
        SensorStatus::Isolated
    );
    assert_eq!(
        technical.doors["door-technical-room"].status,
        DoorStatus::Forced
    );
    assert_eq!(states.zone("waiting-room").unwrap().people, Some(72));

    let site = Site::demo();
    let svg = render_floor_svg(&site, "main-0", &states);
    assert!(svg.contains("cam-pharmacy: tampered"), "{svg}");
    assert!(svg.contains("Waiting room (72/60)"), "{svg}");
    let basement = render_floor_svg(&site, "main-b", &states);
    assert!(basement.contains("door-technical-room: forced"));
    assert!(basement.contains("smoke-technical-room: isolated"));
}

async fn every_rule(url: safecare_bus::BrokerUrl) {
    let mut h = Harness::start(&url).await;
    let mut changes = h.service.zone_changes();
    access_rules(&mut h).await;
    let changed = tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .expect("a zone change is streamed")
        .unwrap();
    assert!(
        h.service
            .zone_states()
            .read()
            .unwrap()
            .zone(&changed)
            .is_some(),
        "{changed}"
    );

    video_rules(&mut h).await;
    building_rules(&mut h).await;
    bad_input(&mut h).await;
    zone_states_follow(&mut h).await;

    h.drain(Duration::from_millis(300)).await;
    let denials = h.count(|e| e.kind == "access.badge_denied" && device(e) == "door-datacentre");
    assert_eq!(
        denials,
        5,
        "the duplicate message is dropped: {:#?}",
        h.kinds()
    );
    let stats = h.service.stats();
    assert!(stats.duplicates >= 1 && stats.rejected >= 3, "{stats:?}");
    h.service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_fires_over_the_embedded_broker() {
    every_rule(embedded()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_fires_over_mosquitto() {
    every_rule(mosquitto()).await;
}

fn open_alert(zone: &str) -> Alert {
    let now = chrono::Utc::now();
    Alert {
        id: Ulid::new(),
        rule: "targeted-theft-chain".into(),
        title: "Targeted theft from a restricted zone".into(),
        summary: "test alert".into(),
        status: AlertStatus::New,
        severity: CapSeverity::Extreme,
        domain: AlertDomain::CyberPhysical,
        kinds: vec!["video.loitering".into()],
        event_ids: Vec::new(),
        event_count: 1,
        asset: None,
        zone: Some(zone.into()),
        techniques: Vec::new(),
        first_seen: now,
        last_seen: now,
        created: now,
        updated: now,
        dismiss_reason: None,
        incident: None,
    }
}

fn onvif(topic: &str, item: &str, time: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tev="http://www.onvif.org/ver10/events/wsdl"
 xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema"
 xmlns:tns1="http://www.onvif.org/ver10/topics"><s:Body><tev:PullMessagesResponse>
 <tev:CurrentTime>{time}</tev:CurrentTime><tev:TerminationTime>{time}</tev:TerminationTime>
 <wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">{topic}</wsnt:Topic>
 <wsnt:Message><tt:Message UtcTime="{time}" PropertyOperation="Changed">
 <tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" Value="vsc1"/></tt:Source>
 <tt:Data><tt:SimpleItem Name="{item}" Value="true"/></tt:Data></tt:Message></wsnt:Message>
 </wsnt:NotificationMessage></tev:PullMessagesResponse></s:Body></s:Envelope>"#
    )
    .into_bytes()
}
