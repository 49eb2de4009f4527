//! The operator workflow: what each action changes, and the audit record it leaves.
//!
//! These functions only change documents in memory; the service loads them,
//! calls these, and commits the result with its audit records in one batch.

use chrono::{DateTime, Utc};
use safecare_core::{
    Alert, AlertStatus, AuditRecord, Incident, IncidentState, IncidentType, Note, TimelineEntry,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use thiserror::Error;
use ulid::Ulid;

/// An action a person takes on alerts and incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    AcknowledgeAlert {
        alert: Ulid,
        actor: String,
    },
    /// Confirms an alert into an incident: the given one, or a new one.
    ConfirmAlert {
        alert: Ulid,
        actor: String,
        #[serde(default)]
        incident: Option<Ulid>,
        #[serde(default, rename = "type")]
        kind: Option<IncidentType>,
        #[serde(default)]
        title: Option<String>,
    },
    DismissAlert {
        alert: Ulid,
        actor: String,
        reason: String,
    },
    /// Confirms one or more alerts into one new incident.
    CreateIncident {
        alerts: Vec<Ulid>,
        actor: String,
        #[serde(default, rename = "type")]
        kind: Option<IncidentType>,
        #[serde(default)]
        title: Option<String>,
    },
    /// Folds `from` into `into`; the merged ones are closed and point to `into`.
    MergeIncidents {
        into: Ulid,
        from: Vec<Ulid>,
        actor: String,
    },
    SetIncidentState {
        incident: Ulid,
        actor: String,
        state: IncidentState,
    },
    AssignOwner {
        incident: Ulid,
        actor: String,
        owner: String,
    },
    AddNote {
        incident: Ulid,
        actor: String,
        text: String,
    },
}

impl Command {
    /// Who asks for the action.
    pub fn actor(&self) -> &str {
        match self {
            Command::AcknowledgeAlert { actor, .. }
            | Command::ConfirmAlert { actor, .. }
            | Command::DismissAlert { actor, .. }
            | Command::CreateIncident { actor, .. }
            | Command::MergeIncidents { actor, .. }
            | Command::SetIncidentState { actor, .. }
            | Command::AssignOwner { actor, .. }
            | Command::AddNote { actor, .. } => actor,
        }
    }
}

/// Why an action was refused; nothing was changed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WorkflowError {
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: Ulid },
    #[error("alert {id} is {from} and cannot become {to}")]
    AlertTransition {
        id: Ulid,
        from: &'static str,
        to: &'static str,
    },
    #[error(
        "incident {id} is {from} and cannot go to {to}: states only move forward \
         (open -> contained -> resolved -> closed)"
    )]
    IncidentTransition {
        id: Ulid,
        from: &'static str,
        to: &'static str,
    },
    #[error("incident {id} was merged into {into}; act on {into} instead")]
    Merged { id: Ulid, into: Ulid },
    #[error("{0}")]
    Invalid(String),
}

/// Checks the fields every action needs; names the missing one.
pub fn check(command: &Command) -> Result<(), WorkflowError> {
    let actor = command.actor().trim();
    if actor.is_empty() || actor.len() > 200 {
        return Err(WorkflowError::Invalid(
            "`actor` must name who acts (1-200 characters)".into(),
        ));
    }
    match command {
        Command::DismissAlert { reason, .. } if reason.trim().is_empty() => Err(
            WorkflowError::Invalid("dismissing an alert needs a `reason` (why it is false)".into()),
        ),
        Command::CreateIncident { alerts, .. } if alerts.is_empty() => Err(WorkflowError::Invalid(
            "an incident needs at least one alert in `alerts`".into(),
        )),
        Command::MergeIncidents { into, from, .. } if from.is_empty() || from.contains(into) => {
            Err(WorkflowError::Invalid(
                "`from` must list other incidents than `into`, at least one".into(),
            ))
        }
        Command::AssignOwner { owner, .. } if owner.trim().is_empty() => {
            Err(WorkflowError::Invalid("`owner` must not be empty".into()))
        }
        Command::AddNote { text, .. } if text.trim().is_empty() || text.len() > 20_000 => Err(
            WorkflowError::Invalid("a note needs `text` (at most 20,000 bytes)".into()),
        ),
        _ => Ok(()),
    }
}

/// Moves an alert to `next`, refusing what the workflow forbids.
pub fn move_alert(
    alert: &mut Alert,
    next: AlertStatus,
    actor: &str,
    now: DateTime<Utc>,
    detail: serde_json::Value,
) -> Result<AuditRecord, WorkflowError> {
    if !alert.status.can_become(next) {
        return Err(WorkflowError::AlertTransition {
            id: alert.id,
            from: alert.status.as_str(),
            to: next.as_str(),
        });
    }
    let from = alert.status;
    alert.status = next;
    alert.updated = now;

    let mut detail = detail;
    detail["from"] = from.as_str().into();
    detail["to"] = next.as_str().into();
    let action = format!("alert.{}", verb(next));
    Ok(audit(actor, &action, "alert", alert.id, now, detail))
}

fn verb(status: AlertStatus) -> &'static str {
    match status {
        AlertStatus::New => "reopen",
        AlertStatus::Acknowledged => "acknowledge",
        AlertStatus::Confirmed => "confirm",
        AlertStatus::Dismissed => "dismiss",
    }
}

/// A new open incident made of these alerts (already confirmed by the caller).
pub fn new_incident(
    alerts: &[Alert],
    kind: Option<IncidentType>,
    title: Option<String>,
    actor: &str,
    now: DateTime<Utc>,
) -> (Incident, AuditRecord) {
    let kind = kind.unwrap_or_else(|| infer_type(alerts));
    let title = title.unwrap_or_else(|| {
        alerts
            .first()
            .map(|a| a.title.clone())
            .unwrap_or_else(|| "Incident".into())
    });
    let mut incident = Incident {
        id: Ulid::new(),
        title,
        kind,
        state: IncidentState::Open,
        severity: alerts
            .iter()
            .map(|a| a.severity)
            .max()
            .unwrap_or(safecare_core::CapSeverity::Minor),
        assets: Vec::new(),
        zones: Vec::new(),
        alert_ids: Vec::new(),
        owner: None,
        notes: Vec::new(),
        timeline: Vec::new(),
        created: now,
        updated: now,
        merged_into: None,
    };
    for alert in alerts {
        attach(&mut incident, alert);
    }
    push_timeline(
        &mut incident,
        actor,
        "created",
        &format!("{} alert(s) confirmed", alerts.len()),
        now,
    );

    let detail = json!({ "type": kind.as_str(), "alerts": incident.alert_ids });
    let record = audit(
        actor,
        "incident.create",
        "incident",
        incident.id,
        now,
        detail,
    );
    (incident, record)
}

/// Adds an alert's assets, zone and severity to an incident.
pub fn attach(incident: &mut Incident, alert: &Alert) {
    if !incident.alert_ids.contains(&alert.id) {
        incident.alert_ids.push(alert.id);
    }
    if let Some(asset) = &alert.asset {
        push_unique(&mut incident.assets, asset);
    }
    if let Some(zone) = &alert.zone {
        push_unique(&mut incident.zones, zone);
    }
    incident.severity = incident.severity.max(alert.severity);
}

/// Attaches a confirmed alert to an existing incident.
pub fn add_alert(
    incident: &mut Incident,
    alert: &Alert,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<AuditRecord, WorkflowError> {
    ensure_not_merged(incident)?;
    attach(incident, alert);
    incident.updated = now;
    push_timeline(incident, actor, "alert_added", &alert.title, now);
    let detail = json!({ "alert": alert.id });
    Ok(audit(
        actor,
        "incident.add_alert",
        "incident",
        incident.id,
        now,
        detail,
    ))
}

/// Folds `sources` into `target`; each source is closed and points to the target.
pub fn merge(
    target: &mut Incident,
    sources: &mut [Incident],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AuditRecord>, WorkflowError> {
    ensure_not_merged(target)?;
    for source in sources.iter() {
        ensure_not_merged(source)?;
    }

    let mut records = Vec::new();
    for source in sources.iter_mut() {
        for id in &source.alert_ids {
            if !target.alert_ids.contains(id) {
                target.alert_ids.push(*id);
            }
        }
        for asset in &source.assets {
            push_unique(&mut target.assets, asset);
        }
        for zone in &source.zones {
            push_unique(&mut target.zones, zone);
        }
        target.notes.extend(source.notes.iter().cloned());
        target.severity = target.severity.max(source.severity);

        source.merged_into = Some(target.id);
        source.state = IncidentState::Closed;
        source.updated = now;
        push_timeline(
            source,
            actor,
            "merged",
            &format!("merged into {}", target.id),
            now,
        );
        let detail = json!({ "into": target.id });
        records.push(audit(
            actor,
            "incident.merged_into",
            "incident",
            source.id,
            now,
            detail,
        ));
    }

    let ids: Vec<Ulid> = sources.iter().map(|s| s.id).collect();
    target.updated = now;
    push_timeline(
        target,
        actor,
        "merge",
        &format!("merged {} incident(s)", ids.len()),
        now,
    );
    records.push(audit(
        actor,
        "incident.merge",
        "incident",
        target.id,
        now,
        json!({ "from": ids }),
    ));
    Ok(records)
}

/// Moves an incident forward in its life cycle.
pub fn set_state(
    incident: &mut Incident,
    next: IncidentState,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<AuditRecord, WorkflowError> {
    ensure_not_merged(incident)?;
    if !incident.state.can_become(next) {
        return Err(WorkflowError::IncidentTransition {
            id: incident.id,
            from: incident.state.as_str(),
            to: next.as_str(),
        });
    }
    let from = incident.state;
    incident.state = next;
    incident.updated = now;
    let line = format!("{} -> {}", from.as_str(), next.as_str());
    push_timeline(incident, actor, "state", &line, now);
    let detail = json!({ "from": from.as_str(), "to": next.as_str() });
    Ok(audit(
        actor,
        "incident.state",
        "incident",
        incident.id,
        now,
        detail,
    ))
}

/// Gives an incident an owner.
pub fn assign(
    incident: &mut Incident,
    owner: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<AuditRecord, WorkflowError> {
    ensure_not_merged(incident)?;
    let previous = incident.owner.replace(owner.to_string());
    incident.updated = now;
    push_timeline(incident, actor, "owner", owner, now);
    let detail = json!({ "from": previous, "to": owner });
    Ok(audit(
        actor,
        "incident.assign",
        "incident",
        incident.id,
        now,
        detail,
    ))
}

/// Adds a note to an incident.
pub fn add_note(
    incident: &mut Incident,
    text: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<AuditRecord, WorkflowError> {
    ensure_not_merged(incident)?;
    incident.notes.push(Note {
        author: actor.to_string(),
        time: now,
        text: text.to_string(),
    });
    incident.updated = now;
    push_timeline(incident, actor, "note", "note added", now);
    let detail = json!({ "text": text });
    Ok(audit(
        actor,
        "incident.note",
        "incident",
        incident.id,
        now,
        detail,
    ))
}

/// Guesses the incident type from the rules and event kinds behind the alerts.
///
/// Rule ids speak first (`targeted-theft-chain` says theft even though its
/// events are door and freezer events), then event kinds.
pub fn infer_type(alerts: &[Alert]) -> IncidentType {
    let rules: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
    let kinds: Vec<&str> = alerts
        .iter()
        .flat_map(|a| a.kinds.iter().map(String::as_str))
        .collect();
    let table = [
        ("ransom", IncidentType::Ransomware),
        ("theft", IncidentType::Theft),
        ("cold-chain", IncidentType::Theft),
        ("fire", IncidentType::Fire),
        ("power", IncidentType::PowerFailure),
        ("tampering", IncidentType::DataManipulation),
        ("data_manipulation", IncidentType::DataManipulation),
        ("ot.", IncidentType::Sabotage),
        ("ot-", IncidentType::Sabotage),
        ("bms", IncidentType::Sabotage),
        ("file.", IncidentType::Malware),
        ("malicious-file", IncidentType::Malware),
        ("denial", IncidentType::DenialOfService),
        ("flood", IncidentType::DenialOfService),
    ];
    for names in [&rules, &kinds] {
        let found = table
            .iter()
            .find(|(needle, _)| names.iter().any(|n| n.contains(needle)));
        if let Some((_, kind)) = found {
            return *kind;
        }
    }
    IncidentType::Intrusion
}

fn ensure_not_merged(incident: &Incident) -> Result<(), WorkflowError> {
    match incident.merged_into {
        Some(into) => Err(WorkflowError::Merged {
            id: incident.id,
            into,
        }),
        None => Ok(()),
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

fn push_timeline(
    incident: &mut Incident,
    actor: &str,
    action: &str,
    detail: &str,
    now: DateTime<Utc>,
) {
    incident.timeline.push(TimelineEntry {
        time: now,
        actor: actor.to_string(),
        action: action.to_string(),
        detail: detail.to_string(),
    });
}

fn audit(
    actor: &str,
    action: &str,
    target_kind: &str,
    target: Ulid,
    now: DateTime<Utc>,
    detail: serde_json::Value,
) -> AuditRecord {
    let mut record = AuditRecord::new(actor, action, target_kind, target, detail);
    record.time = now;
    record
}
