//! Suricata EVE JSON intake: a hospital that already runs Suricata plugs in.
//!
//! Each line of an EVE log is one JSON object. `alert` and `anomaly` records become
//! `network.ids_alert` events (`evidence["suricata.event_type"]` tells which), with
//! Suricata's addresses, signature and any ATT&CK ids from the rule metadata. Other record types (flow, dns, stats, ...) are counted and skipped. A
//! line that is not JSON is reported with its number and skipped.

use std::io::{BufRead, Read};
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use safecare_core::event::Endpoint;
use safecare_core::{AssetDirectory, EventSink, Module, SecurityEvent};
use serde_json::{Map, Value};

use crate::context::ATTACK;

/// Longest line read; longer lines are skipped as bad.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Counters of one intake run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EveStats {
    /// Lines read.
    pub lines: u64,
    /// Events emitted.
    pub events: u64,
    /// Records of other types, skipped.
    pub skipped: u64,
    /// Lines that were not a JSON object, or too long.
    pub bad_lines: u64,
}

/// Why a line was refused.
#[derive(Debug, thiserror::Error)]
pub enum EveLineError {
    #[error("line {line}: not JSON ({source}); skipped it")]
    /// The line is not JSON.
    Json {
        /// 1-based line number.
        line: u64,
        /// The JSON error.
        source: serde_json::Error,
    },
    #[error("line {line}: longer than {MAX_LINE_BYTES} bytes; skipped it")]
    /// The line is longer than [`MAX_LINE_BYTES`].
    TooLong {
        /// 1-based line number.
        line: u64,
    },
    #[error("line {line}: a JSON {found} where an EVE record (object) belongs; skipped it")]
    /// The line is JSON but not an object.
    NotObject {
        /// 1-based line number.
        line: u64,
        /// The JSON type found instead.
        found: &'static str,
    },
}

/// Reads EVE lines from `input` until it ends (or, with `follow`, forever, waiting for
/// new lines as Suricata appends them).
pub fn ingest<R: Read>(
    input: R,
    follow: bool,
    directory: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
) -> std::io::Result<EveStats> {
    let mut reader = std::io::BufReader::new(input);
    let mut stats = EveStats::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let (read, complete) = read_bounded_line(&mut reader, &mut line)?;
        if read == 0 {
            if follow {
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
            break;
        }
        stats.lines += 1;
        if !complete {
            stats.bad_lines += 1;
            tracing::warn!("{}", EveLineError::TooLong { line: stats.lines });
            continue;
        }
        match parse_line(&line, stats.lines, directory) {
            Ok(Some(event)) => {
                stats.events += 1;
                sink.emit(event)?;
            }
            Ok(None) => stats.skipped += 1,
            Err(err) => {
                stats.bad_lines += 1;
                tracing::warn!("{err}");
            }
        }
    }
    Ok(stats)
}

/// Reads one line of at most [`MAX_LINE_BYTES`]; a longer one is consumed to its end
/// and reported incomplete. Returns bytes consumed and whether the line is whole.
fn read_bounded_line<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<(usize, bool)> {
    let read = reader
        .by_ref()
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', line)?;
    if line.len() <= MAX_LINE_BYTES || line.ends_with(b"\n") {
        return Ok((read, true));
    }
    let mut rest = Vec::new();
    let mut skipped = read;
    loop {
        rest.clear();
        let n = reader
            .by_ref()
            .take(64 * 1024)
            .read_until(b'\n', &mut rest)?;
        skipped += n;
        if n == 0 || rest.ends_with(b"\n") {
            return Ok((skipped, false));
        }
    }
}

/// Turns one EVE line into an event; `Ok(None)` for record types that are not
/// alerts or anomalies, and for blank lines.
pub fn parse_line(
    line: &[u8],
    number: u64,
    directory: &dyn AssetDirectory,
) -> Result<Option<SecurityEvent>, EveLineError> {
    if line.trim_ascii().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(line).map_err(|source| EveLineError::Json {
        line: number,
        source,
    })?;
    let Value::Object(record) = value else {
        return Err(EveLineError::NotObject {
            line: number,
            found: json_type(&value),
        });
    };
    let event = match record.get("event_type").and_then(Value::as_str) {
        Some("alert") => alert_event(&record),
        Some("anomaly") => anomaly_event(&record),
        _ => return Ok(None),
    };
    Ok(Some(locate(event, &record, directory)))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn text<'a>(record: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let mut value = record.get(*path.first()?)?;
    for key in path.iter().skip(1) {
        value = value.get(key)?;
    }
    value.as_str()
}

fn alert_event(record: &Map<String, Value>) -> SecurityEvent {
    let alert = record.get("alert").cloned().unwrap_or(Value::Null);
    let signature = text(record, &["alert", "signature"]).unwrap_or("unnamed signature");
    let category = text(record, &["alert", "category"]).unwrap_or("uncategorised");

    // Suricata severity: 1 high, 2 medium, 3 low.
    let severity = match alert.get("severity").and_then(Value::as_u64) {
        Some(1) => 75,
        Some(2) => 55,
        Some(3) => 35,
        _ => 30,
    };
    let summary = format!("Suricata alert: {signature} ({category})");
    let mut event = SecurityEvent::new(Module::Net, "network.ids_alert", severity, summary);
    event.confidence = 0.8;
    for key in [
        "signature_id",
        "rev",
        "signature",
        "category",
        "action",
        "gid",
    ] {
        if let Some(value) = alert.get(key) {
            event
                .evidence
                .insert(format!("suricata.{key}"), value.clone());
        }
    }

    // ATT&CK ids as Emerging Threats rules carry them in their metadata.
    let techniques: Vec<String> = alert
        .get("metadata")
        .and_then(|m| m.get("mitre_technique_id"))
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !techniques.is_empty() {
        let ids: Vec<&str> = techniques.iter().map(String::as_str).collect();
        event = event.with_techniques(ATTACK, &ids);
    }
    event
}

fn anomaly_event(record: &Map<String, Value>) -> SecurityEvent {
    let kind = text(record, &["anomaly", "type"]).unwrap_or("unknown");
    let name = text(record, &["anomaly", "event"]).unwrap_or("unnamed anomaly");
    let layer = text(record, &["anomaly", "layer"]);
    let summary = match layer {
        Some(layer) => format!("Suricata {kind} anomaly at {layer}: {name}"),
        None => format!("Suricata {kind} anomaly: {name}"),
    };
    let mut event = SecurityEvent::new(Module::Net, "network.ids_alert", 30, summary);
    event.confidence = 0.6;
    if let Some(anomaly) = record.get("anomaly") {
        event
            .evidence
            .insert("suricata.anomaly".to_string(), anomaly.clone());
    }
    event
}

/// Fills time, endpoints and assets shared by both record types.
fn locate(
    mut event: SecurityEvent,
    record: &Map<String, Value>,
    directory: &dyn AssetDirectory,
) -> SecurityEvent {
    if let Some(time) = text(record, &["timestamp"]).and_then(parse_time) {
        event.time = time;
    }
    let endpoint = |ip_key: &str, port_key: &str| {
        let ip = text(record, &[ip_key])?.parse::<IpAddr>().ok()?;
        let port = record
            .get(port_key)
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok());
        Some((ip, port))
    };
    let source = endpoint("src_ip", "src_port");
    let destination = endpoint("dest_ip", "dest_port");
    for (side, found) in [("source", source), ("destination", destination)] {
        let Some((ip, port)) = found else { continue };
        if let Some(asset) = directory.by_ip(ip) {
            event
                .evidence
                .insert(format!("{side}.asset"), asset.id.clone().into());
            if let Some(zone) = asset.zone() {
                event.evidence.insert(format!("{side}.zone"), zone.into());
            }
        }
        let endpoint = Endpoint {
            ip: Some(ip.to_string()),
            port,
            ..Endpoint::default()
        };
        if side == "source" {
            event.source = Some(endpoint)
        } else {
            event.destination = Some(endpoint)
        }
    }

    // Filed under the destination's asset (the target), else the source's.
    let filed = [destination, source]
        .into_iter()
        .flatten()
        .find_map(|(ip, _)| directory.by_ip(ip));
    if let Some(asset) = filed {
        event.asset = Some(asset.id.clone());
        event.location = Some(asset.location.clone()).filter(|l| *l != Default::default());
    }
    for key in ["event_type", "flow_id", "in_iface", "proto", "app_proto"] {
        if let Some(value) = record.get(key) {
            event
                .evidence
                .insert(format!("suricata.{key}"), value.clone());
        }
    }
    event
}

/// Suricata writes `2026-12-03T02:14:00.123456+0000`; RFC 3339 is accepted too.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
