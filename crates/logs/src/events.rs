//! Findings as security events for the bus.
//!
//! A Sigma detection becomes an event of kind `log.sigma.<level>` carrying
//! the rule id, title, level, ATT&CK techniques and the matched fields in
//! `evidence`; an analytic finding keeps its own kind. The device and its
//! zone come from the site's asset directory, looked up by host name.

use safecare_core::event::{Endpoint, Host, User};
use safecare_core::{AssetDirectory, Module, SecurityEvent};
use serde_json::{Map, Value};

use crate::analytics::Finding;
use crate::record::LogRecord;
use crate::sigma::{Detection, DetectionKind};

const ATTACK: &str = "MITRE ATT&CK";

/// The security event for a Sigma rule or correlation that matched `record`.
pub fn detection_event(
    detection: &Detection,
    record: &LogRecord,
    site: &dyn AssetDirectory,
) -> SecurityEvent {
    let level = detection.level.as_deref().unwrap_or("informational");
    let kind = match &detection.kind {
        DetectionKind::Rule => format!("log.sigma.{level}"),
        DetectionKind::Correlation { .. } => format!("log.sigma_correlation.{level}"),
    };
    let host = record.host.as_deref().unwrap_or("unknown host");
    let summary = format!("Sigma: {} on {host}", detection.title);
    let mut event = SecurityEvent::new(Module::Logs, &kind, detection.severity(), summary);
    event.confidence = confidence(level);

    let mut evidence = Map::new();
    if let Some(id) = &detection.rule_id {
        evidence.insert("rule_id".into(), Value::from(id.clone()));
    }
    evidence.insert("rule_title".into(), Value::from(detection.title.clone()));
    evidence.insert("rule_level".into(), Value::from(level));
    evidence.insert("tags".into(), Value::from(detection.tags.clone()));
    let matched: Map<String, Value> = detection.matched.iter().cloned().collect();
    evidence.insert("matched_fields".into(), Value::Object(matched));
    if let DetectionKind::Correlation {
        correlation_type,
        group,
        value,
        timespan_secs,
    } = &detection.kind
    {
        evidence.insert(
            "correlation_type".into(),
            Value::from(correlation_type.clone()),
        );
        let group: Map<String, Value> = group
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        evidence.insert("group".into(), Value::Object(group));
        evidence.insert("aggregated_value".into(), Value::from(*value));
        evidence.insert("timespan_secs".into(), Value::from(*timespan_secs));
    }
    event.evidence = evidence;

    let techniques = detection.techniques();
    let ids: Vec<&str> = techniques.iter().map(String::as_str).collect();
    if !ids.is_empty() {
        event = event.with_techniques(ATTACK, &ids);
    }
    finish(event, record, site, None, None)
}

/// The security event for a device-analytics finding on `record`.
pub fn finding_event(
    finding: &Finding,
    record: &LogRecord,
    site: &dyn AssetDirectory,
) -> SecurityEvent {
    let mut event = SecurityEvent::new(
        Module::Logs,
        finding.kind,
        finding.severity,
        finding.summary.clone(),
    );
    event.confidence = 0.8;
    event.evidence = finding.evidence.clone();
    event
        .evidence
        .insert("analytic".into(), Value::from(finding.kind));
    if !finding.techniques.is_empty() {
        event = event.with_techniques(ATTACK, &finding.techniques);
    }
    finish(
        event,
        record,
        site,
        finding.user.clone(),
        finding.source_ip.clone(),
    )
}

/// Sets time, host, asset, zone, user and source from the record.
fn finish(
    mut event: SecurityEvent,
    record: &LogRecord,
    site: &dyn AssetDirectory,
    user: Option<String>,
    source_ip: Option<String>,
) -> SecurityEvent {
    if let Some(time) = record.time {
        event.time = time;
    }
    event
        .evidence
        .insert("log_record".into(), Value::from(record.origin.to_string()));

    if let Some(host) = &record.host {
        event.host = Some(Host {
            name: Some(host.clone()),
            ..Host::default()
        });
        let short = host.split('.').next().unwrap_or(host);
        if let Some(asset) = site.by_hostname(short) {
            event.asset = Some(asset.id.clone());
            event.location = Some(asset.location.clone());
        }
    }

    let user = user.or_else(|| {
        ["TargetUserName", "User", "SubjectUserName"]
            .iter()
            .find_map(|name| record.str(name))
            .filter(|u| !u.is_empty() && *u != "-")
            .map(str::to_string)
    });
    if let Some(name) = user {
        event.user = Some(User {
            name: Some(name),
            ..User::default()
        });
    }
    let source_ip = source_ip.or_else(|| {
        ["IpAddress", "SourceIp", "src_ip"]
            .iter()
            .find_map(|name| record.str(name))
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
            .map(str::to_string)
    });
    if let Some(ip) = source_ip {
        event.source = Some(Endpoint {
            ip: Some(ip),
            ..Endpoint::default()
        });
    }
    event
}

fn confidence(level: &str) -> f64 {
    match level {
        "critical" | "high" => 0.8,
        "medium" => 0.6,
        _ => 0.4,
    }
}
