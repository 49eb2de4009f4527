//! The security event: what a detector saw, evaluated automatically.
//!
//! Field names follow the Elastic Common Schema where one exists, so that an
//! event exports to a SIEM as it is (`source.ip`, `file.hash.sha256`, ...).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ulid::Ulid;

use crate::validate::{self, FieldError, ParseError};

/// The part of the platform that produced an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Module {
    Net,
    Ot,
    Files,
    Logs,
    Access,
    Intrusion,
    Fire,
    Video,
    Scada,
    Monitor,
    External,
}

impl Module {
    /// Every module, in the order of the design brief.
    pub const ALL: [Module; 11] = [
        Module::Net,
        Module::Ot,
        Module::Files,
        Module::Logs,
        Module::Access,
        Module::Intrusion,
        Module::Fire,
        Module::Video,
        Module::Scada,
        Module::Monitor,
        Module::External,
    ];

    /// The lowercase name used in topics and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Module::Net => "net",
            Module::Ot => "ot",
            Module::Files => "files",
            Module::Logs => "logs",
            Module::Access => "access",
            Module::Intrusion => "intrusion",
            Module::Fire => "fire",
            Module::Video => "video",
            Module::Scada => "scada",
            Module::Monitor => "monitor",
            Module::External => "external",
        }
    }

    /// Parses a module name as it appears in a topic; `None` when unknown.
    pub fn from_name(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The domain a module's events belong to unless they say otherwise.
    pub fn default_domain(self) -> Domain {
        match self {
            Module::Access | Module::Intrusion | Module::Fire | Module::Video | Module::Scada => {
                Domain::Physical
            }
            _ => Domain::Cyber,
        }
    }
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an event concerns networks and software or doors and rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    Cyber,
    Physical,
}

/// Where something happened, as ids from the site model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// One end of a network conversation (ECS `source` / `destination`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Endpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
}

/// The person or account involved (ECS `user`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// The machine an event was observed on (ECS `host`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Host {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mac: Vec<String>,
}

/// File hashes (ECS `file.hash`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileHash {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A file an event is about (ECS `file`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct File {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<FileHash>,
}

/// An ATT&CK technique or tactic reference (ECS `threat.technique`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ThreatRef {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<String>,
}

/// The threat classification of an event (ECS `threat`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Threat {
    /// "MITRE ATT&CK" or "MITRE ATT&CK for ICS".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<ThreatRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tactic: Option<ThreatRef>,
}

/// What a detector saw: one security event on the bus and in the store.
///
/// The `id` is the idempotency key: the same id stored twice is stored once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityEvent {
    /// ULID, unique per event; resending the same event keeps the same id.
    #[schemars(with = "String", regex(pattern = r"^[0-9A-HJKMNP-TV-Z]{26}$"))]
    pub id: Ulid,
    /// When it happened (RFC 3339), not when it was received.
    pub time: DateTime<Utc>,
    pub module: Module,
    /// Dotted type from the event catalogue, e.g. `network.port_scan`.
    #[schemars(regex(pattern = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"))]
    pub kind: String,
    pub domain: Domain,
    /// 0 (informational) to 100 (life-threatening).
    #[schemars(range(max = 100))]
    pub severity: u8,
    /// 0.0 to 1.0: how sure the detector is.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
    /// One sentence for a person.
    pub summary: String,
    /// Asset id from the site model, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat: Option<Threat>,
    /// Module-specific details (packet counts, rule id, matched fields).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub evidence: Map<String, Value>,
}

impl SecurityEvent {
    /// A new event with a fresh id, stamped now, in the module's default domain.
    pub fn new(module: Module, kind: &str, severity: u8, summary: impl Into<String>) -> Self {
        SecurityEvent {
            id: Ulid::new(),
            time: Utc::now(),
            module,
            kind: kind.to_string(),
            domain: module.default_domain(),
            severity,
            confidence: 1.0,
            summary: summary.into(),
            asset: None,
            location: None,
            source: None,
            destination: None,
            user: None,
            host: None,
            file: None,
            threat: None,
            evidence: Map::new(),
        }
    }

    /// Parses and validates one event from JSON bytes.
    ///
    /// Errors name the field that is wrong and why; a payload over
    /// [`crate::MAX_MESSAGE_BYTES`] is refused before it is parsed.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ParseError> {
        let event: SecurityEvent = validate::parse_json(bytes)?;
        event.validate().map_err(ParseError::Invalid)?;
        Ok(event)
    }

    /// Checks the rules JSON types cannot express; lists every broken field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();

        if !validate::is_dotted_kind(&self.kind) {
            errors.push(FieldError::new(
                "kind",
                "must be lowercase dotted words such as network.port_scan",
            ));
        }
        if self.severity > 100 {
            errors.push(FieldError::new("severity", "must be between 0 and 100"));
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            errors.push(FieldError::new("confidence", "must be between 0.0 and 1.0"));
        }
        if self.summary.trim().is_empty() {
            errors.push(FieldError::new("summary", "must not be empty"));
        }
        if self.summary.len() > 1000 {
            errors.push(FieldError::new(
                "summary",
                "must be one sentence (at most 1000 bytes)",
            ));
        }
        if self
            .asset
            .as_ref()
            .is_some_and(|asset| asset.trim().is_empty())
        {
            errors.push(FieldError::new("asset", "must not be empty when present"));
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The zone id, when the event carries a location with one.
    pub fn zone(&self) -> Option<&str> {
        self.location.as_ref()?.zone.as_deref()
    }

    /// Sets ATT&CK technique ids on the event, keeping any framework already set.
    pub fn with_techniques(mut self, framework: &str, ids: &[&str]) -> Self {
        let threat = self.threat.get_or_insert_with(Threat::default);
        threat
            .framework
            .get_or_insert_with(|| framework.to_string());
        let technique = threat.technique.get_or_insert_with(ThreatRef::default);
        technique.id.extend(ids.iter().map(|id| id.to_string()));
        self
    }

    /// The ATT&CK technique ids the event carries.
    pub fn techniques(&self) -> &[String] {
        match self.threat.as_ref().and_then(|t| t.technique.as_ref()) {
            Some(technique) => &technique.id,
            None => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        r#"{"id":"01JDQ3Z8X9F5V2K7M4N6P8R0ST","time":"2026-12-03T02:14:00Z","module":"access",
            "kind":"access.door_forced","domain":"physical","severity":70,"confidence":0.9,
            "summary":"Pharmacy door forced","location":{"zone":"pharmacy"}}"#
            .to_string()
    }

    #[test]
    fn parses_a_valid_event() {
        let event = SecurityEvent::from_json(sample().as_bytes()).unwrap();
        assert_eq!(event.module, Module::Access);
        assert_eq!(event.zone(), Some("pharmacy"));
    }

    #[test]
    fn wrong_type_names_the_field() {
        let bad = sample().replace("\"severity\":70", "\"severity\":\"high\"");
        let err = SecurityEvent::from_json(bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("severity"), "{err}");
    }

    #[test]
    fn unknown_module_is_refused_with_its_field() {
        let bad = sample().replace("\"module\":\"access\"", "\"module\":\"toaster\"");
        let err = SecurityEvent::from_json(bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("module") && err.contains("toaster"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_listed_together() {
        let bad = sample()
            .replace("\"severity\":70", "\"severity\":170")
            .replace("\"confidence\":0.9", "\"confidence\":1.5")
            .replace("access.door_forced", "Door Forced");
        let err = SecurityEvent::from_json(bad.as_bytes())
            .unwrap_err()
            .to_string();
        for field in ["severity", "confidence", "kind"] {
            assert!(err.contains(field), "{field} missing from {err}");
        }
    }

    #[test]
    fn oversized_payload_is_refused_before_parsing() {
        let big = vec![b' '; crate::MAX_MESSAGE_BYTES + 1];
        let err = SecurityEvent::from_json(&big).unwrap_err();
        assert!(matches!(err, ParseError::TooLarge { .. }));
    }

    #[test]
    fn round_trips_through_json() {
        let event = SecurityEvent::new(Module::Net, "network.port_scan", 50, "Port scan")
            .with_techniques("MITRE ATT&CK", &["T1046"]);
        let json = serde_json::to_vec(&event).unwrap();
        let back = SecurityEvent::from_json(&json).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.techniques(), ["T1046"]);
    }
}
