//! Audit records: who changed what, and when.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ulid::Ulid;

/// One change to an alert or incident, kept forever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditRecord {
    #[schemars(with = "String")]
    pub id: Ulid,
    pub time: DateTime<Utc>,
    /// Who did it: a user name, or `system:<component>` for automatic changes.
    pub actor: String,
    /// What was done, e.g. `alert.acknowledge`, `incident.merge`.
    pub action: String,
    /// `alert` or `incident`.
    pub target_kind: String,
    pub target_id: String,
    /// The change itself (old and new values, reason).
    pub detail: Value,
}

impl AuditRecord {
    pub fn new(
        actor: &str,
        action: &str,
        target_kind: &str,
        target_id: Ulid,
        detail: Value,
    ) -> Self {
        AuditRecord {
            id: Ulid::new(),
            time: Utc::now(),
            actor: actor.to_string(),
            action: action.to_string(),
            target_kind: target_kind.to_string(),
            target_id: target_id.to_string(),
            detail,
        }
    }
}
