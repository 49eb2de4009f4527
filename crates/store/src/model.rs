//! The values the store takes and gives back: batches, pages, filters, dead letters.

use chrono::{DateTime, Utc};
use safecare_core::{
    Alert, AlertDomain, AlertStatus, AuditRecord, CapSeverity, Incident, IncidentState,
    IncidentType, Module, SecurityEvent,
};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// How much of a rejected payload a dead letter keeps.
pub const DEAD_LETTER_EXCERPT_BYTES: usize = 4096;

/// The most items one page holds, whatever the caller asks for.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// Items per page when the caller does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;

/// A bus message the exchange service refused, kept with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: Ulid,
    /// When the message was refused.
    pub time: DateTime<Utc>,
    /// The module named by the topic (free text: the topic may be wrong too).
    pub module: String,
    pub topic: String,
    /// A stable machine-readable reason, e.g. `invalid_json`, `too_large`.
    pub reason_code: String,
    /// The reason for a person, naming the field when there is one.
    pub reason: String,
    /// The first 4 KiB of the payload, invalid UTF-8 replaced.
    pub payload_excerpt: String,
    /// The full payload size in bytes.
    pub payload_size: u64,
}

impl DeadLetter {
    /// A dead letter stamped now, keeping at most the first 4 KiB of `payload`.
    pub fn new(module: &str, topic: &str, reason_code: &str, reason: &str, payload: &[u8]) -> Self {
        let excerpt = &payload[..payload.len().min(DEAD_LETTER_EXCERPT_BYTES)];
        DeadLetter {
            id: Ulid::new(),
            time: Utc::now(),
            module: module.to_string(),
            topic: topic.to_string(),
            reason_code: reason_code.to_string(),
            reason: reason.to_string(),
            payload_excerpt: String::from_utf8_lossy(excerpt).into_owned(),
            payload_size: payload.len() as u64,
        }
    }
}

/// Everything one commit writes, in a single transaction: all of it or none.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Inserted unless an event with the same id is already stored.
    pub events: Vec<SecurityEvent>,
    /// Inserted or replaced by id (an older `updated` never replaces a newer one).
    pub alerts: Vec<Alert>,
    /// Inserted or replaced by id (an older `updated` never replaces a newer one).
    pub incidents: Vec<Incident>,
    /// Appended; a record id already stored is skipped, so a retried batch is harmless.
    pub audit: Vec<AuditRecord>,
    /// Appended; a dead letter id already stored is skipped.
    pub dead_letters: Vec<DeadLetter>,
}

impl Batch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.alerts.is_empty()
            && self.incidents.is_empty()
            && self.audit.is_empty()
            && self.dead_letters.is_empty()
    }
}

/// What a commit changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CommitOutcome {
    /// Events newly stored.
    pub events_inserted: u64,
    /// Events skipped because their id was already stored (or repeated in the batch).
    pub events_duplicate: u64,
    /// Alerts inserted or updated.
    pub alerts_written: u64,
    /// Incidents inserted or updated.
    pub incidents_written: u64,
    /// Audit records newly stored.
    pub audit_written: u64,
    /// Dead letters newly stored.
    pub dead_letters_written: u64,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass it as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// How many rows each table holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub events: u64,
    pub alerts: u64,
    pub incidents: u64,
    pub dead_letters: u64,
}

/// Which events to list. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventFilter {
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events strictly before this time.
    pub to: Option<DateTime<Utc>>,
    pub module: Option<Module>,
    /// An exact kind, or a prefix when it ends with `.*` (`network.*`).
    pub kind: Option<String>,
    pub asset: Option<String>,
    pub zone: Option<String>,
    /// Events with at least this severity (0-100).
    pub min_severity: Option<u8>,
    /// Items per page, at most [`MAX_PAGE_LIMIT`]; [`DEFAULT_PAGE_LIMIT`] when absent.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Which alerts to list, newest created first. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    /// Alerts at least this severe.
    pub min_severity: Option<CapSeverity>,
    pub domain: Option<AlertDomain>,
    pub asset: Option<String>,
    pub zone: Option<String>,
    /// Alerts whose last event is at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Alerts whose first event is strictly before this time.
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Which incidents to list, newest created first. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncidentFilter {
    pub state: Option<IncidentState>,
    #[serde(rename = "type")]
    pub kind: Option<IncidentType>,
    pub owner: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The page size to use for a requested limit: default when absent, capped.
pub(crate) fn page_limit(requested: Option<u32>) -> u32 {
    requested
        .unwrap_or(DEFAULT_PAGE_LIMIT)
        .clamp(1, MAX_PAGE_LIMIT)
}

/// Orders CAP severities as integers so SQL can compare them.
pub(crate) fn severity_rank(severity: CapSeverity) -> i64 {
    match severity {
        CapSeverity::Minor => 0,
        CapSeverity::Moderate => 1,
        CapSeverity::Severe => 2,
        CapSeverity::Extreme => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_keeps_a_bounded_lossy_excerpt() {
        let mut payload = vec![b'a'; DEAD_LETTER_EXCERPT_BYTES + 10];
        payload[0] = 0xff;
        let letter = DeadLetter::new(
            "net",
            "safecare/v1/event/net",
            "invalid_json",
            "bad",
            &payload,
        );
        assert_eq!(letter.payload_size, (DEAD_LETTER_EXCERPT_BYTES + 10) as u64);
        assert!(letter.payload_excerpt.starts_with('\u{fffd}'));
        assert_eq!(
            letter.payload_excerpt.chars().count(),
            DEAD_LETTER_EXCERPT_BYTES
        );
    }

    #[test]
    fn page_limit_is_capped_and_defaulted() {
        assert_eq!(page_limit(None), DEFAULT_PAGE_LIMIT);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(50_000)), MAX_PAGE_LIMIT);
    }
}
