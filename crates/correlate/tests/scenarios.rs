//! The shipped scenarios through the default rules: the alerts each must raise,
//! and silence where nothing should fire.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::scenario::Scenario;
use safecare_core::{Alert, AlertDomain, CapSeverity, SecurityEvent};
use safecare_correlate::{Engine, RuleSet};
use serde_json::json;
use ulid::Ulid;

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");

fn scenario(name: &str) -> Scenario {
    let path = format!("{SCENARIOS}/{name}.yaml");
    Scenario::load(&path).unwrap_or_else(|err| panic!("{err}"))
}

fn base() -> DateTime<Utc> {
    "2026-12-03T09:00:00Z".parse().unwrap()
}

fn events(name: &str) -> Vec<SecurityEvent> {
    scenario(name)
        .events(base())
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// Runs events through the default rules; the last version of each alert.
fn correlate(events: &[SecurityEvent]) -> Vec<Alert> {
    let mut engine = Engine::new(RuleSet::defaults());
    let mut latest: HashMap<Ulid, Alert> = HashMap::new();
    for event in events {
        for alert in engine.process(event) {
            latest.insert(alert.id, alert);
        }
    }
    let mut alerts: Vec<Alert> = latest.into_values().collect();
    alerts.sort_by_key(|a| (a.first_seen, a.rule.clone()));
    alerts
}

fn rule_ids(alerts: &[Alert]) -> BTreeSet<&str> {
    alerts.iter().map(|a| a.rule.as_str()).collect()
}

fn the<'a>(alerts: &'a [Alert], rule: &str) -> &'a Alert {
    let found: Vec<&Alert> = alerts.iter().filter(|a| a.rule == rule).collect();
    assert_eq!(found.len(), 1, "expected one {rule} alert, got {found:#?}");
    found[0]
}

fn set<'a>(ids: &[&'a str]) -> BTreeSet<&'a str> {
    ids.iter().copied().collect()
}

#[test]
fn vaccine_theft_becomes_cyber_physical_alerts() {
    let alerts = correlate(&events("vaccine-theft"));
    let expected = set(&[
        "phishing-mail",
        "application-data-tampering",
        "crowding",
        "loitering-restricted-zone",
        "after-hours-restricted-entry",
        "high-severity-event",
        "fire",
        "phishing-then-after-hours-entry",
        "reconnaissance-then-entry",
        "entry-then-cold-chain-alarm",
        "targeted-theft-chain",
        "schedule-tampering-then-crowding",
        "fire-then-power-loss",
    ]);
    assert_eq!(rule_ids(&alerts), expected);

    let chain = the(&alerts, "targeted-theft-chain");
    assert_eq!(chain.domain, AlertDomain::CyberPhysical);
    assert_eq!(chain.severity, CapSeverity::Extreme);
    assert_eq!(chain.zone.as_deref(), Some("pharmacy"));
    assert_eq!(chain.asset.as_deref(), Some("vaccine-freezer"));
    assert_eq!(
        chain.kinds,
        [
            "mail.phishing",
            "video.loitering",
            "access.after_hours",
            "scada.temperature_alarm"
        ]
    );
    assert!(chain.techniques.contains(&"T1566.001".to_string()));

    let phished = the(&alerts, "phishing-then-after-hours-entry");
    assert_eq!(phished.domain, AlertDomain::CyberPhysical);
    assert_eq!(phished.asset.as_deref(), Some("door-pharmacy"));
    assert!(phished.summary.contains("n.jansen"), "{}", phished.summary);

    let diversion = the(&alerts, "schedule-tampering-then-crowding");
    assert_eq!(diversion.domain, AlertDomain::CyberPhysical);
    assert_eq!(diversion.zone.as_deref(), Some("waiting-room"));

    let crowd = the(&alerts, "crowding");
    assert_eq!(
        crowd.event_count, 2,
        "the second crowding report updates the alert"
    );

    let fire = the(&alerts, "fire-then-power-loss");
    assert_eq!(fire.domain, AlertDomain::Physical);
    assert_eq!(fire.zone.as_deref(), Some("technical-room"));
    assert_eq!(fire.event_count, 3, "fire, power loss, then the UPS update");

    let cold_chain = the(&alerts, "entry-then-cold-chain-alarm");
    assert_eq!(cold_chain.domain, AlertDomain::Physical);
}

#[test]
fn pacs_ransomware_is_followed_from_brute_force_to_encryption() {
    let alerts = correlate(&events("pacs-ransomware"));
    let expected = set(&[
        "port-scan",
        "brute-force-login",
        "brute-force-detected",
        "brute-force-then-login",
        "lateral-movement",
        "malicious-file",
        "ransomware-chain",
        "service-unavailable",
        "high-severity-event",
    ]);
    assert_eq!(rule_ids(&alerts), expected);

    let brute = the(&alerts, "brute-force-login");
    assert_eq!(brute.event_count, 12, "10 to raise it, 2 updates");
    assert_eq!(brute.asset.as_deref(), Some("radiology-ws-1"));
    assert!(brute.summary.contains("10.10.5.11"), "{}", brute.summary);

    let chain = the(&alerts, "ransomware-chain");
    assert_eq!(chain.domain, AlertDomain::Cyber);
    assert_eq!(chain.severity, CapSeverity::Extreme);
    assert_eq!(chain.asset.as_deref(), Some("pacs-server"));
    for technique in ["T1110.001", "T1021.002", "T1486"] {
        assert!(
            chain.techniques.contains(&technique.to_string()),
            "{technique}"
        );
    }
    assert_eq!(
        chain.event_count, 4,
        "login, move, encryption, then the ransom note"
    );

    let high: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.rule == "high-severity-event")
        .collect();
    let mut kinds: Vec<&str> = high
        .iter()
        .flat_map(|a| a.kinds.iter().map(String::as_str))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["auth.success_after_failures", "host.mass_file_encryption"],
        "the catch-all alerts only on severe events no specific rule looks at"
    );
}

#[test]
fn or_air_handling_tampering_links_commands_to_the_theatres() {
    let alerts = correlate(&events("or-ahu-tampering"));
    let expected = set(&[
        "new-device",
        "ot-discovery",
        "ot-unauthorized-command",
        "new-device-then-ot-command",
        "bms-command-then-process-alarm",
        "high-severity-event",
    ]);
    assert_eq!(rule_ids(&alerts), expected);

    // The OT sensor names the device written to: the setpoint lives on the building
    // controller, the fan and the communication on the unit's own controller.
    let mut commands: Vec<(Option<&str>, u64)> = alerts
        .iter()
        .filter(|a| a.rule == "ot-unauthorized-command")
        .map(|a| (a.asset.as_deref(), a.event_count))
        .collect();
    commands.sort();
    assert_eq!(
        commands,
        [(Some("ahu-or-1"), 2), (Some("bacnet-controller-1"), 1)]
    );

    let tampering = the(&alerts, "bms-command-then-process-alarm");
    assert_eq!(tampering.domain, AlertDomain::CyberPhysical);
    assert_eq!(tampering.asset.as_deref(), Some("ahu-or-1"));
    assert!(tampering.techniques.contains(&"T0836".to_string()));

    let rogue = the(&alerts, "new-device-then-ot-command");
    assert_eq!(rogue.domain, AlertDomain::Cyber);
    assert!(rogue.summary.contains("10.30.0.99"), "{}", rogue.summary);
}

#[test]
fn datacentre_night_entry_then_rogue_device() {
    let alerts = correlate(&events("datacentre-intrusion"));
    let expected = set(&[
        "after-hours-restricted-entry",
        "new-device",
        "port-scan",
        "after-hours-entry-then-new-device",
    ]);
    assert_eq!(rule_ids(&alerts), expected);

    let alert = the(&alerts, "after-hours-entry-then-new-device");
    assert_eq!(alert.domain, AlertDomain::CyberPhysical);
    assert_eq!(alert.zone.as_deref(), Some("datacentre"));
    assert_eq!(alert.severity, CapSeverity::Severe);
    assert!(
        alert.summary.contains("b8:27:eb:41:9c:02"),
        "{}",
        alert.summary
    );
}

#[test]
fn daytime_entry_then_device_is_not_a_cyber_physical_alert() {
    let mut events = events("datacentre-intrusion");
    for event in events.iter_mut().filter(|e| e.kind == "access.after_hours") {
        event.kind = "access.restricted_entry".into();
        event.evidence.insert("after_hours".into(), json!(false));
    }
    let alerts = correlate(&events);
    assert_eq!(rule_ids(&alerts), set(&["new-device", "port-scan"]));
}

#[test]
fn theft_without_phishing_stays_physical() {
    let events: Vec<SecurityEvent> = events("vaccine-theft")
        .into_iter()
        .filter(|e| e.kind != "mail.phishing")
        .collect();
    let alerts = correlate(&events);
    let ids = rule_ids(&alerts);
    assert!(!ids.contains("targeted-theft-chain"), "{ids:?}");
    assert!(!ids.contains("phishing-then-after-hours-entry"), "{ids:?}");
    assert!(ids.contains("reconnaissance-then-entry"), "{ids:?}");
}

#[test]
fn a_quiet_day_raises_nothing() {
    let alerts = correlate(&events("quiet-day"));
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn scenarios_do_not_trigger_each_others_chains() {
    let ransomware = rule_ids(&correlate(&events("pacs-ransomware")))
        .into_iter()
        .map(String::from)
        .collect::<BTreeSet<_>>();
    for name in ["vaccine-theft", "or-ahu-tampering", "datacentre-intrusion"] {
        let ids = rule_ids(&correlate(&events(name)))
            .into_iter()
            .map(String::from)
            .collect();
        let shared: BTreeSet<&String> = ransomware.intersection(&ids).collect();
        assert!(
            !shared.contains(&"ransomware-chain".to_string()),
            "{name}: {shared:?}"
        );
        assert!(
            !shared.contains(&"brute-force-login".to_string()),
            "{name}: {shared:?}"
        );
    }
}

/// Rule id -> how many alerts and how many events in them.
fn outcome(alerts: &[Alert]) -> BTreeMap<String, (usize, u64)> {
    let mut out: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for alert in alerts {
        let entry = out.entry(alert.rule.clone()).or_default();
        entry.0 += 1;
        entry.1 += alert.event_count;
    }
    out
}

#[test]
fn replays_agree_whatever_the_start_time_and_small_disorder() {
    for name in [
        "vaccine-theft",
        "pacs-ransomware",
        "or-ahu-tampering",
        "datacentre-intrusion",
    ] {
        let in_order = outcome(&correlate(&events(name)));

        let later: Vec<SecurityEvent> = scenario(name)
            .events(base() + TimeDelta::days(40) + TimeDelta::seconds(17))
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        assert_eq!(
            outcome(&correlate(&later)),
            in_order,
            "{name}: another start time"
        );

        // Swap neighbours that are at most three minutes apart.
        let mut shuffled = events(name);
        let mut i = 0;
        while i + 1 < shuffled.len() {
            if shuffled[i + 1].time - shuffled[i].time <= TimeDelta::minutes(3) {
                shuffled.swap(i, i + 1);
                i += 2;
            } else {
                i += 1;
            }
        }
        assert_eq!(
            outcome(&correlate(&shuffled)),
            in_order,
            "{name}: out of order"
        );
    }
}

/// The dotted kinds documented in docs/EVENTS.md.
fn catalogue() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/EVENTS.md");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .map(String::from)
        .collect()
}

#[test]
fn every_kind_used_is_in_the_catalogue() {
    let catalogue = catalogue();
    let names = [
        "vaccine-theft",
        "pacs-ransomware",
        "or-ahu-tampering",
        "datacentre-intrusion",
    ];
    for name in names.into_iter().chain(["quiet-day"]) {
        for event in events(name) {
            assert!(
                catalogue.contains(&event.kind),
                "{name}: {} not in EVENTS.md",
                event.kind
            );
        }
    }

    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(RuleSet::default_yaml()).unwrap();
    let mut kinds = Vec::new();
    collect_kinds(&rules, &mut kinds);
    assert!(kinds.len() > 30, "found only {kinds:?}");
    for kind in kinds.iter().filter(|k| !k.contains('*')) {
        assert!(
            catalogue.contains(kind),
            "default rules use {kind}, not in EVENTS.md"
        );
    }
}

fn collect_kinds(value: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    use serde_yaml_ng::Value;
    match value {
        Value::Mapping(map) => {
            for (key, value) in map {
                if key.as_str() == Some("kind") {
                    match value {
                        Value::String(kind) => out.push(kind.clone()),
                        Value::Sequence(list) => {
                            out.extend(list.iter().filter_map(|v| v.as_str().map(String::from)))
                        }
                        _ => {}
                    }
                } else {
                    collect_kinds(value, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_kinds(v, out)),
        _ => {}
    }
}
