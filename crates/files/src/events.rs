//! Security events from verdicts: one event per file and event kind.

use std::collections::BTreeMap;

use safecare_core::event::{File, FileHash};
use safecare_core::{AssetDirectory, Module, SecurityEvent};
use serde_json::{Value, json};

use crate::verdict::{Finding, Severity, Verdict, VerdictLevel};

/// The event catalogue kind for a finding kind.
pub fn event_kind(finding: &str) -> &'static str {
    match finding {
        "dicom.preamble_code"
        | "dicom.trailing_code"
        | "dicom.embedded_code"
        | "dicom.document_code"
        | "dicom.document_script" => "file.dicom.polyglot",
        "dicom.patient_identifiers" => "file.dicom.identifiable",
        "hash.blocklisted" => "file.hash_blocklisted",
        "entropy.encrypted_like" => "file.entropy_high",
        "yara.match" => "file.yara_match",
        "yara.ransom_note" => "file.ransom_note",
        kind if kind.starts_with("archive.") => "file.zip_bomb",
        _ => "file.dicom.malformed",
    }
}

fn event_severity(severity: Severity) -> u8 {
    match severity {
        Severity::High => 85,
        Severity::Medium => 55,
        Severity::Low => 30,
        Severity::Info => 10,
    }
}

/// Events for a suspicious or malicious verdict: one per event kind, from findings of medium or worse.
///
/// A clean verdict yields no events.
pub fn verdict_events(verdict: &Verdict, _site: &dyn AssetDirectory) -> Vec<SecurityEvent> {
    if verdict.verdict == VerdictLevel::Clean {
        return Vec::new();
    }
    let mut by_kind: BTreeMap<&'static str, Vec<&Finding>> = BTreeMap::new();
    for finding in verdict
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
    {
        by_kind
            .entry(event_kind(&finding.kind))
            .or_default()
            .push(finding);
    }
    by_kind
        .into_iter()
        .map(|(kind, findings)| event(verdict, kind, &findings))
        .collect()
}

fn event(verdict: &Verdict, kind: &str, findings: &[&Finding]) -> SecurityEvent {
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Medium);
    let first = findings
        .first()
        .map(|f| f.detail.as_str())
        .unwrap_or_default();
    let summary = format!(
        "{} file {}: {first}",
        verdict.verdict.as_str(),
        verdict.path
    );

    let mut event = SecurityEvent::new(
        Module::Files,
        kind,
        event_severity(worst),
        truncate(&summary),
    );
    if kind == "file.dicom.polyglot" {
        event = event.with_techniques("MITRE ATT&CK", &["T1027.009"]);
    }
    event.file = Some(File {
        path: Some(verdict.path.clone()),
        name: std::path::Path::new(&verdict.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        size: Some(verdict.size),
        mime_type: None,
        hash: Some(FileHash {
            md5: Some(verdict.hashes.md5.clone()),
            sha1: Some(verdict.hashes.sha1.clone()),
            sha256: Some(verdict.hashes.sha256.clone()),
        }),
    });
    event
        .evidence
        .insert("verdict".into(), json!(verdict.verdict));
    event
        .evidence
        .insert("type".into(), json!(verdict.file_type));
    let listed: Vec<Value> = findings.iter().map(|f| json!(f)).collect();
    event
        .evidence
        .insert("findings".into(), Value::Array(listed));
    event
}

/// The event for a file copied into quarantine.
pub fn quarantined_event(verdict: &Verdict, copy: &std::path::Path) -> SecurityEvent {
    let summary = format!("{} copied into quarantine", verdict.path);
    let mut event = SecurityEvent::new(Module::Files, "file.quarantined", 40, truncate(&summary));
    event.file = Some(File {
        path: Some(verdict.path.clone()),
        hash: Some(FileHash {
            sha256: Some(verdict.hashes.sha256.clone()),
            ..FileHash::default()
        }),
        ..File::default()
    });
    event
        .evidence
        .insert("quarantine_path".into(), json!(copy.display().to_string()));
    event
}

/// Keeps a summary within the 1000 bytes events allow, on a character boundary.
pub(crate) fn truncate(text: &str) -> String {
    if text.len() <= 900 {
        return text.to_string();
    }
    let mut end = 900;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
