//! Tests of the engine: each rule type, time handling, closing and memory bounds.

use super::*;
use safecare_core::event::{Endpoint, User};
use safecare_core::{AlertDomain, CapSeverity, Location, Module};
use serde_json::json;

const RULES: &str = "\
version: 1
rules:
  - id: dedup
    type: single
    title: Scan
    summary: \"{source.ip} scanned {count} times\"
    window: 15m
    match: { kind: network.port_scan }
    group_by: [source.ip]
  - id: brute
    type: threshold
    title: Brute force
    summary: \"{count} failures from {source.ip}\"
    window: 5m
    match: { kind: auth.failure }
    group_by: [source.ip]
    count: 5
  - id: chain
    type: sequence
    title: Night entry then device
    summary: \"{zone}: entry then {source.ip}\"
    window: 2h
    severity: Severe
    join: zone
    steps:
      - kind: access.*
        fields: { evidence.after_hours: true }
      - kind: network.new_device
  - id: keyed
    type: sequence
    title: Login then move
    summary: \"{source.ip}\"
    window: 1h
    join: source.ip
    steps:
      - kind: auth.success_after_failures
        key: destination.ip
      - kind: network.lateral_movement
";

fn engine() -> Engine {
    Engine::new(RuleSet::from_yaml(RULES, "test.yaml").unwrap())
}

fn at(minutes: i64) -> DateTime<Utc> {
    let base: DateTime<Utc> = "2026-12-03T23:00:00Z".parse().unwrap();
    base + TimeDelta::minutes(minutes)
}

fn event(module: Module, kind: &str, severity: u8, minutes: i64) -> SecurityEvent {
    let mut event = SecurityEvent::new(module, kind, severity, format!("{kind} seen"));
    event.time = at(minutes);
    event
}

fn from_ip(mut event: SecurityEvent, ip: &str) -> SecurityEvent {
    event.source = Some(Endpoint {
        ip: Some(ip.into()),
        ..Endpoint::default()
    });
    event
}

fn in_zone(mut event: SecurityEvent, zone: &str) -> SecurityEvent {
    event.location = Some(Location {
        zone: Some(zone.into()),
        ..Location::default()
    });
    event
}

fn scan(ip: &str, minutes: i64) -> SecurityEvent {
    from_ip(event(Module::Net, "network.port_scan", 50, minutes), ip)
}

fn failure(ip: &str, minutes: i64) -> SecurityEvent {
    let mut event = from_ip(event(Module::Logs, "auth.failure", 20, minutes), ip);
    event.user = Some(User {
        name: Some("administrator".into()),
        ..User::default()
    });
    event.with_techniques("MITRE ATT&CK", &["T1110"])
}

fn night_entry(zone: &str, minutes: i64) -> SecurityEvent {
    let mut event = in_zone(
        event(Module::Access, "access.after_hours", 60, minutes),
        zone,
    );
    event.evidence.insert("after_hours".into(), json!(true));
    event.asset = Some(format!("door-{zone}"));
    event
}

fn new_device(zone: &str, minutes: i64) -> SecurityEvent {
    let event = event(Module::Net, "network.new_device", 55, minutes);
    from_ip(in_zone(event, zone), "10.40.0.99")
}

fn rules_of(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.rule.as_str()).collect()
}

#[test]
fn engine_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Engine>();
}

#[test]
fn single_rule_deduplicates_within_its_window() {
    let mut engine = engine();
    let first = engine.process(&scan("10.10.5.11", 0));
    assert_eq!(rules_of(&first), ["dedup"]);
    assert_eq!(first[0].status, AlertStatus::New);
    assert_eq!(first[0].event_count, 1);

    let second = engine.process(&scan("10.10.5.11", 10));
    assert_eq!(second[0].id, first[0].id, "same alert updated");
    assert_eq!(second[0].event_count, 2);
    assert_eq!(second[0].last_seen, at(10));
    assert_eq!(second[0].first_seen, at(0));
    assert_eq!(second[0].summary, "10.10.5.11 scanned 2 times");

    let other_source = engine.process(&scan("10.10.5.12", 11));
    assert_ne!(
        other_source[0].id, first[0].id,
        "another key, another alert"
    );

    let later = engine.process(&scan("10.10.5.11", 10 + 16));
    assert_ne!(later[0].id, first[0].id, "past the window, a new alert");
    assert_eq!(later[0].event_count, 1);
    assert_eq!(engine.stats().alerts_created, 3);
    assert_eq!(engine.stats().alerts_updated, 1);
}

#[test]
fn single_alert_takes_severity_domain_and_techniques_from_events() {
    let mut engine = engine();
    let low = scan("10.10.5.11", 0).with_techniques("MITRE ATT&CK", &["T1046"]);
    let mut high = scan("10.10.5.11", 1).with_techniques("MITRE ATT&CK", &["T1595"]);
    high.severity = 92;
    engine.process(&low);
    let alerts = engine.process(&high);
    assert_eq!(alerts[0].severity, CapSeverity::Extreme);
    assert_eq!(alerts[0].domain, AlertDomain::Cyber);
    assert_eq!(alerts[0].techniques, ["T1046", "T1595"]);
    assert_eq!(alerts[0].event_ids, [low.id, high.id]);
}

#[test]
fn threshold_rule_fires_at_its_count_then_updates() {
    let mut engine = engine();
    for minute in 0..4 {
        assert!(engine.process(&failure("10.10.5.11", minute)).is_empty());
    }
    let fired = engine.process(&failure("10.10.5.11", 4));
    assert_eq!(rules_of(&fired), ["brute"]);
    assert_eq!(fired[0].event_count, 5);
    assert_eq!(fired[0].summary, "5 failures from 10.10.5.11");
    assert_eq!(fired[0].techniques, ["T1110"]);

    let updated = engine.process(&failure("10.10.5.11", 5));
    assert_eq!(updated[0].id, fired[0].id);
    assert_eq!(updated[0].event_count, 6);
}

#[test]
fn threshold_rule_ignores_events_spread_beyond_its_window() {
    let mut engine = engine();
    for step in 0..10 {
        let alerts = engine.process(&failure("10.10.5.11", step * 2));
        assert!(
            alerts.is_empty(),
            "event {step} fired: two minutes apart, only 3 per 5m"
        );
    }
    for step in 0..4 {
        assert!(
            engine
                .process(&failure(&format!("10.10.9.{step}"), 30))
                .is_empty()
        );
    }
}

#[test]
fn sequence_rule_joins_steps_of_different_modules_at_one_zone() {
    let mut engine = engine();
    assert!(engine.process(&night_entry("datacentre", 0)).is_empty());
    assert!(
        engine.process(&new_device("pharmacy", 5)).is_empty(),
        "other zone"
    );

    let alerts = engine.process(&new_device("datacentre", 12));
    assert_eq!(rules_of(&alerts), ["chain"]);
    let alert = &alerts[0];
    assert_eq!(alert.domain, AlertDomain::CyberPhysical);
    assert_eq!(alert.severity, CapSeverity::Severe);
    assert_eq!(alert.zone.as_deref(), Some("datacentre"));
    assert_eq!(alert.asset.as_deref(), Some("door-datacentre"));
    assert_eq!(alert.kinds, ["access.after_hours", "network.new_device"]);
    assert_eq!(alert.event_count, 2);
    assert_eq!(alert.summary, "datacentre: entry then 10.40.0.99");

    let again = engine.process(&new_device("datacentre", 20));
    assert_eq!(
        again[0].id, alert.id,
        "a further step match updates the alert"
    );
    assert_eq!(again[0].event_count, 3);
}

#[test]
fn sequence_rule_needs_order_window_and_fields() {
    let mut engine = engine();
    engine.process(&new_device("datacentre", 0));
    assert!(
        engine.process(&night_entry("datacentre", 30)).is_empty(),
        "wrong order"
    );

    let mut engine = Engine::new(RuleSet::from_yaml(RULES, "test.yaml").unwrap());
    engine.process(&night_entry("datacentre", 0));
    assert!(
        engine.process(&new_device("datacentre", 121)).is_empty(),
        "past 2h"
    );

    let mut engine = Engine::new(RuleSet::from_yaml(RULES, "test.yaml").unwrap());
    let mut daytime = night_entry("datacentre", 0);
    daytime.evidence.insert("after_hours".into(), json!(false));
    engine.process(&daytime);
    assert!(
        engine.process(&new_device("datacentre", 5)).is_empty(),
        "not after hours"
    );
}

#[test]
fn sequence_steps_may_join_on_their_own_key() {
    let mut engine = engine();
    let mut login = event(Module::Logs, "auth.success_after_failures", 70, 0);
    login.destination = Some(Endpoint {
        ip: Some("10.20.4.11".into()),
        ..Endpoint::default()
    });
    engine.process(&login);

    let elsewhere = from_ip(
        event(Module::Net, "network.lateral_movement", 70, 5),
        "10.20.4.12",
    );
    assert!(engine.process(&elsewhere).is_empty());
    let onward = from_ip(
        event(Module::Net, "network.lateral_movement", 70, 6),
        "10.20.4.11",
    );
    assert_eq!(rules_of(&engine.process(&onward)), ["keyed"]);
}

#[test]
fn events_out_of_order_by_a_little_still_correlate() {
    let mut engine = engine();
    assert!(engine.process(&new_device("datacentre", 12)).is_empty());
    let alerts = engine.process(&night_entry("datacentre", 10));
    assert_eq!(
        rules_of(&alerts),
        ["chain"],
        "entry arrived two minutes late"
    );
    assert_eq!(alerts[0].first_seen, at(10));
    assert_eq!(alerts[0].last_seen, at(12));

    let mut engine = engine_with_shuffled_failures();
    assert_eq!(
        engine.stats().alerts_created,
        1,
        "threshold met despite the order"
    );
    assert_eq!(engine.stats().late_events, 0);
    engine.expire(at(60));
}

fn engine_with_shuffled_failures() -> Engine {
    let mut engine = engine();
    for minute in [3, 1, 4, 0, 2] {
        engine.process(&failure("10.10.5.11", minute));
    }
    engine
}

#[test]
fn very_late_events_are_counted() {
    let mut engine = engine();
    engine.process(&scan("10.10.5.11", 60));
    engine.process(&scan("10.10.5.11", 0));
    assert_eq!(engine.stats().late_events, 1);
}

#[test]
fn closed_alert_is_not_updated_again() {
    let mut engine = engine();
    let first = engine.process(&scan("10.10.5.11", 0)).remove(0);
    assert!(engine.alert_closed(first.id));
    assert!(!engine.alert_closed(first.id), "already forgotten");

    let next = engine.process(&scan("10.10.5.11", 1)).remove(0);
    assert_ne!(next.id, first.id);
    assert_eq!(next.status, AlertStatus::New);
    assert_eq!(next.event_count, 1);
}

#[test]
fn acknowledged_alert_keeps_its_status_on_update() {
    let mut engine = engine();
    let first = engine.process(&scan("10.10.5.11", 0)).remove(0);
    assert!(engine.alert_acknowledged(first.id));
    let next = engine.process(&scan("10.10.5.11", 1)).remove(0);
    assert_eq!(next.id, first.id);
    assert_eq!(next.status, AlertStatus::Acknowledged);
}

#[test]
fn memory_stays_bounded_by_the_group_limit() {
    let limits = EngineLimits {
        max_groups_per_rule: 100,
        ..EngineLimits::default()
    };
    let mut engine = Engine::with_limits(RuleSet::from_yaml(RULES, "test.yaml").unwrap(), limits);
    for n in 0..10_000u32 {
        let ip = format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255);
        engine.process(&failure(&ip, 0));
        engine.process(&scan(&ip, 0));
    }
    let stats = engine.stats();
    assert!(stats.tracked_groups <= 200, "{stats:?}");
    assert!(stats.evicted_groups >= 2 * (10_000 - 100), "{stats:?}");
    assert_eq!(stats.events, 20_000);
}

#[test]
fn expire_drops_state_past_the_windows() {
    let mut engine = engine();
    engine.process(&scan("10.10.5.11", 0));
    engine.process(&night_entry("datacentre", 0));
    engine.process(&failure("10.10.5.11", 0));
    assert_eq!(engine.stats().tracked_groups, 3);

    engine.expire(at(60 * 24 * 365));
    assert_eq!(
        engine.stats().tracked_groups,
        3,
        "no event moved time on yet"
    );

    engine.process(&scan("10.10.5.99", 200));
    engine.expire(at(60 * 24 * 365));
    let stats = engine.stats();
    assert_eq!(stats.tracked_groups, 1, "{stats:?}");
    assert_eq!(stats.expired_groups, 3);

    let alerts = engine.process(&new_device("datacentre", 201));
    assert!(alerts.is_empty(), "the entry's state is gone");
}

#[test]
fn disabled_rules_do_not_run() {
    let text = RULES.replacen(
        "    window: 15m\n",
        "    window: 15m\n    enabled: false\n",
        1,
    );
    let mut engine = Engine::new(RuleSet::from_yaml(&text, "test.yaml").unwrap());
    assert!(engine.process(&scan("10.10.5.11", 0)).is_empty());
    assert_eq!(engine.rules().len(), 3);
}

#[test]
fn a_fallback_rule_only_sees_events_no_specific_rule_matched() {
    let text = "\
version: 1
rules:
  - id: scan
    type: single
    title: Scan
    summary: scan
    window: 15m
    match: { kind: network.port_scan }
  - id: catch-all
    type: single
    title: High-severity event
    summary: \"{kinds}\"
    fallback: true
    window: 15m
    match: { severity_min: 70 }
    group_by: [kind]
";
    let mut engine = Engine::new(RuleSet::from_yaml(text, "fallback.yaml").unwrap());

    let severe_scan = event(Module::Net, "network.port_scan", 90, 0);
    assert_eq!(rules_of(&engine.process(&severe_scan)), ["scan"]);

    let severe_other = event(Module::Net, "host.mass_file_encryption", 90, 1);
    assert_eq!(rules_of(&engine.process(&severe_other)), ["catch-all"]);
}

#[test]
fn fallback_is_refused_on_other_rule_types() {
    let text = "\
version: 1
rules:
  - id: brute
    type: threshold
    title: Brute force
    summary: x
    fallback: true
    window: 5m
    match: { kind: auth.failure }
    count: 5
";
    let err = RuleSet::from_yaml(text, "bad.yaml").unwrap_err();
    assert_eq!(err.line, 7, "{err}");
    assert!(err.reason.contains("fallback"), "{err}");
}

/// A stream that opens, updates, closes (window passed, group evicted) and
/// reopens alerts of every rule type, with a group limit small enough to evict.
fn mixed_stream() -> Vec<SecurityEvent> {
    let zones = ["icu", "pharmacy", "datacentre"];
    let mut events = Vec::new();
    for n in 0..900i64 {
        let minutes = n / 3;
        let ip = format!("10.0.0.{}", n % 11);
        let zone = zones[(n % 3) as usize];
        events.push(match n % 5 {
            0 | 1 => scan(&ip, minutes),
            2 => failure(&format!("10.9.0.{}", n % 4), minutes),
            3 => night_entry(zone, minutes),
            _ => new_device(zone, minutes),
        });
    }
    events
}

/// Each alert's last version, in the order alerts first appeared; ids and
/// times of day differ between engines, so only what the events made is kept.
fn final_versions(batches: impl IntoIterator<Item = Vec<Alert>>) -> Vec<String> {
    let mut order = Vec::new();
    let mut last: HashMap<Ulid, Alert> = HashMap::new();
    for alert in batches.into_iter().flatten() {
        if !last.contains_key(&alert.id) {
            order.push(alert.id);
        }
        last.insert(alert.id, alert);
    }
    order
        .iter()
        .filter_map(|id| last.get(id))
        .map(|a| {
            format!(
                "{} {} {} {:?} {:?} {} {}",
                a.rule,
                a.summary,
                a.event_count,
                a.event_ids,
                a.severity,
                a.first_seen,
                a.last_seen
            )
        })
        .collect()
}

#[test]
fn a_batch_gives_the_last_version_of_each_alert_it_changed_once() {
    let limits = EngineLimits {
        max_groups_per_rule: 6,
        ..EngineLimits::default()
    };
    let new_engine =
        || Engine::with_limits(RuleSet::from_yaml(RULES, "test.yaml").unwrap(), limits);
    let events = mixed_stream();

    let mut one_by_one = new_engine();
    let singles: Vec<Vec<Alert>> = events.iter().map(|e| one_by_one.process(e)).collect();

    for batch_size in [2, 7, 64, events.len()] {
        let mut batched = new_engine();
        let batches: Vec<Vec<Alert>> = events
            .chunks(batch_size)
            .map(|chunk| batched.process_batch(chunk))
            .collect();

        for batch in &batches {
            let mut ids: Vec<Ulid> = batch.iter().map(|a| a.id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), batch.len(), "an alert twice in one batch");
        }
        assert_eq!(
            final_versions(batches),
            final_versions(singles.clone()),
            "batches of {batch_size}"
        );
        assert_eq!(batched.stats(), one_by_one.stats());
    }
    let stats = one_by_one.stats();
    assert!(
        stats.evicted_groups > 0 && stats.alerts_created > 20,
        "{stats:?}"
    );
}
