//! The one write path: a [`Batch`] committed in a single transaction.

use std::collections::HashMap;

use safecare_core::{Alert, AuditRecord, Incident, SecurityEvent};
use serde::Serialize;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe};
use ulid::Ulid;

use crate::model::severity_rank;
use crate::sql::{Bind, bind_all, micros, values_placeholders};
use crate::{Backend, Batch, CommitOutcome, DeadLetter, StoreError};

/// Rows per multi-row INSERT, largest first: a batch is cut greedily into
/// these sizes. A few fixed shapes let each connection's statement cache
/// reuse the prepared statements; one statement per batch size made nearly
/// every commit prepare a new one. The largest stays under SQLite's 32,766
/// bound values with the widest table (11 columns).
const STATEMENT_ROWS: [usize; 5] = [256, 64, 16, 4, 1];

const EVENT_INSERT: &str =
    "INSERT INTO events (id, time_us, module, kind, domain, severity, asset, zone, doc) VALUES ";
const EVENT_CONFLICT: &str = " ON CONFLICT (id) DO NOTHING";

const ALERT_INSERT: &str = "INSERT INTO alerts (id, status, severity, domain, asset, zone, \
     first_seen_us, last_seen_us, created_us, updated_us, doc) VALUES ";
const ALERT_CONFLICT: &str = " ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
     severity = excluded.severity, domain = excluded.domain, asset = excluded.asset, \
     zone = excluded.zone, first_seen_us = excluded.first_seen_us, \
     last_seen_us = excluded.last_seen_us, created_us = excluded.created_us, \
     updated_us = excluded.updated_us, doc = excluded.doc \
     WHERE excluded.updated_us >= alerts.updated_us";

const INCIDENT_INSERT: &str = "INSERT INTO incidents (id, state, kind, owner, severity, \
     created_us, updated_us, doc) VALUES ";
const INCIDENT_CONFLICT: &str = " ON CONFLICT (id) DO UPDATE SET state = excluded.state, \
     kind = excluded.kind, owner = excluded.owner, severity = excluded.severity, \
     created_us = excluded.created_us, updated_us = excluded.updated_us, doc = excluded.doc \
     WHERE excluded.updated_us >= incidents.updated_us";

const AUDIT_INSERT: &str = "INSERT INTO audit_records (id, time_us, actor, action, target_kind, \
     target_id, doc) VALUES ";
const DEAD_LETTER_INSERT: &str = "INSERT INTO dead_letters (id, time_us, module, topic, \
     reason_code, doc) VALUES ";
const APPEND_CONFLICT: &str = " ON CONFLICT (id) DO NOTHING";

/// One kind of row: its INSERT head, conflict clause and column count.
pub(crate) struct Table {
    pub(crate) insert: &'static str,
    pub(crate) conflict: &'static str,
    pub(crate) columns: usize,
}

const EVENTS: Table = Table {
    insert: EVENT_INSERT,
    conflict: EVENT_CONFLICT,
    columns: 9,
};
const ALERTS: Table = Table {
    insert: ALERT_INSERT,
    conflict: ALERT_CONFLICT,
    columns: 11,
};
const INCIDENTS: Table = Table {
    insert: INCIDENT_INSERT,
    conflict: INCIDENT_CONFLICT,
    columns: 8,
};
const AUDIT: Table = Table {
    insert: AUDIT_INSERT,
    conflict: APPEND_CONFLICT,
    columns: 7,
};
const DEAD_LETTERS: Table = Table {
    insert: DEAD_LETTER_INSERT,
    conflict: APPEND_CONFLICT,
    columns: 6,
};

/// A batch turned into bound values, table by table, in the order they are written.
///
/// Both write paths (sqlx for PostgreSQL and in-memory SQLite, the writer
/// thread for SQLite files) take these, so they store exactly the same rows.
pub(crate) struct BatchRows {
    /// Events offered, for the duplicate count.
    pub(crate) events_offered: u64,
    /// `(table, flat run of rows)` for events, alerts, incidents, audit, dead letters.
    pub(crate) tables: [(&'static Table, Vec<Bind>); 5],
}

impl BatchRows {
    /// The bound values of every row of `batch`; one version per alert and incident id.
    pub(crate) fn of(batch: &Batch) -> Result<BatchRows, serde_json::Error> {
        let alerts = newest_by_id(&batch.alerts, |a| (a.id, micros(a.updated)));
        let incidents = newest_by_id(&batch.incidents, |i| (i.id, micros(i.updated)));
        Ok(BatchRows {
            events_offered: batch.events.len() as u64,
            tables: [
                (&EVENTS, event_rows(&batch.events)?),
                (&ALERTS, alert_rows(&alerts)?),
                (&INCIDENTS, incident_rows(&incidents)?),
                (&AUDIT, audit_rows(&batch.audit)?),
                (&DEAD_LETTERS, dead_letter_rows(&batch.dead_letters)?),
            ],
        })
    }
}

/// The outcome of a commit, from the rows each table's statements changed (in table order).
pub(crate) fn outcome(events_offered: u64, changed: [u64; 5]) -> CommitOutcome {
    let [events, alerts, incidents, audit, dead_letters] = changed;
    CommitOutcome {
        events_inserted: events,
        events_duplicate: events_offered.saturating_sub(events),
        alerts_written: alerts,
        incidents_written: incidents,
        audit_written: audit,
        dead_letters_written: dead_letters,
    }
}

/// Writes the rows of a batch in one transaction, or nothing of them.
pub(crate) async fn commit(
    pool: &AnyPool,
    backend: Backend,
    rows: BatchRows,
) -> Result<CommitOutcome, StoreError> {
    let to_store = |err| StoreError::from_sqlx(err, backend);

    let mut tx = pool.begin().await.map_err(to_store)?;
    let written = write_all(&mut tx, backend, rows).await;
    match written {
        Ok(outcome) => {
            tx.commit().await.map_err(to_store)?;
            tracing::trace!(?outcome, "batch committed");
            Ok(outcome)
        }
        Err(err) => {
            // SQLite may already have rolled back (e.g. on SQLITE_FULL); either way
            // nothing of the batch is kept, which is what the caller is told.
            if let Err(rollback) = tx.rollback().await {
                tracing::debug!(%rollback, "rollback after a failed commit");
            }
            Err(to_store(err))
        }
    }
}

/// Every table of the batch, in a fixed order.
async fn write_all(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: BatchRows,
) -> Result<CommitOutcome, sqlx::Error> {
    let mut insert = Inserter { conn, backend };
    let mut changed = [0; 5];
    let BatchRows {
        events_offered,
        tables,
    } = rows;
    for ((table, binds), changed) in tables.into_iter().zip(&mut changed) {
        *changed = insert.rows(table, binds).await?;
    }
    Ok(outcome(events_offered, changed))
}

/// Multi-row INSERTs inside the commit's transaction.
struct Inserter<'c> {
    conn: &'c mut AnyConnection,
    backend: Backend,
}

impl Inserter<'_> {
    /// Inserts `binds` (a flat run of rows) in statements of the fixed sizes
    /// of [`STATEMENT_ROWS`]; returns the rows changed.
    async fn rows(&mut self, table: &Table, binds: Vec<Bind>) -> Result<u64, sqlx::Error> {
        let mut changed = 0;
        let mut rows_left = binds.len() / table.columns;
        let mut binds = binds.into_iter();

        while rows_left > 0 {
            let rows = statement_rows(rows_left);
            let chunk: Vec<Bind> = binds.by_ref().take(rows * table.columns).collect();
            let sql = format!(
                "{}{}{}",
                table.insert,
                values_placeholders(rows, table.columns, self.backend),
                table.conflict
            );
            let query = bind_all(sqlx::query(AssertSqlSafe(sql)), chunk);
            changed += query.execute(&mut *self.conn).await?.rows_affected();
            rows_left -= rows;
        }
        Ok(changed)
    }
}

/// The largest statement size that `rows_left` rows fill.
fn statement_rows(rows_left: usize) -> usize {
    STATEMENT_ROWS
        .into_iter()
        .find(|&rows| rows <= rows_left)
        .unwrap_or(1)
}

/// Keeps one version per id: the one with the latest `updated`, later ones winning ties.
/// (PostgreSQL refuses to upsert the same row twice in one statement.)
fn newest_by_id<T>(items: &[T], key: impl Fn(&T) -> (Ulid, i64)) -> Vec<&T> {
    let mut newest: HashMap<Ulid, (i64, usize)> = HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let (id, updated) = key(item);
        let entry = newest.entry(id).or_insert((updated, index));
        if updated >= entry.0 {
            *entry = (updated, index);
        }
    }
    let mut keep: Vec<usize> = newest.into_values().map(|(_, index)| index).collect();
    keep.sort_unstable();
    keep.into_iter()
        .filter_map(|index| items.get(index))
        .collect()
}

/// The JSON document kept beside the indexed columns.
fn doc<T: Serialize>(value: &T) -> Result<Bind, serde_json::Error> {
    serde_json::to_string(value).map(Bind::Text)
}

fn event_rows(events: &[SecurityEvent]) -> Result<Vec<Bind>, serde_json::Error> {
    let mut binds = Vec::with_capacity(events.len() * EVENTS.columns);
    for event in events {
        binds.extend([
            Bind::Text(event.id.to_string()),
            Bind::Int(micros(event.time)),
            Bind::Text(event.module.as_str().to_string()),
            Bind::Text(event.kind.clone()),
            Bind::Text(domain_name(event)),
            Bind::Int(i64::from(event.severity)),
            Bind::OptText(event.asset.clone()),
            Bind::OptText(event.zone().map(str::to_string)),
            doc(event)?,
        ]);
    }
    Ok(binds)
}

fn domain_name(event: &SecurityEvent) -> String {
    match event.domain {
        safecare_core::Domain::Cyber => "cyber".to_string(),
        safecare_core::Domain::Physical => "physical".to_string(),
    }
}

fn alert_rows(alerts: &[&Alert]) -> Result<Vec<Bind>, serde_json::Error> {
    let mut binds = Vec::with_capacity(alerts.len() * ALERTS.columns);
    for alert in alerts {
        binds.extend([
            Bind::Text(alert.id.to_string()),
            Bind::Text(alert.status.as_str().to_string()),
            Bind::Int(severity_rank(alert.severity)),
            Bind::Text(alert.domain.as_str().to_string()),
            Bind::OptText(alert.asset.clone()),
            Bind::OptText(alert.zone.clone()),
            Bind::Int(micros(alert.first_seen)),
            Bind::Int(micros(alert.last_seen)),
            Bind::Int(micros(alert.created)),
            Bind::Int(micros(alert.updated)),
            doc(alert)?,
        ]);
    }
    Ok(binds)
}

fn incident_rows(incidents: &[&Incident]) -> Result<Vec<Bind>, serde_json::Error> {
    let mut binds = Vec::with_capacity(incidents.len() * INCIDENTS.columns);
    for incident in incidents {
        binds.extend([
            Bind::Text(incident.id.to_string()),
            Bind::Text(incident.state.as_str().to_string()),
            Bind::Text(incident.kind.as_str().to_string()),
            Bind::OptText(incident.owner.clone()),
            Bind::Int(severity_rank(incident.severity)),
            Bind::Int(micros(incident.created)),
            Bind::Int(micros(incident.updated)),
            doc(incident)?,
        ]);
    }
    Ok(binds)
}

fn audit_rows(records: &[AuditRecord]) -> Result<Vec<Bind>, serde_json::Error> {
    let mut binds = Vec::with_capacity(records.len() * AUDIT.columns);
    for record in records {
        binds.extend([
            Bind::Text(record.id.to_string()),
            Bind::Int(micros(record.time)),
            Bind::Text(record.actor.clone()),
            Bind::Text(record.action.clone()),
            Bind::Text(record.target_kind.clone()),
            Bind::Text(record.target_id.clone()),
            doc(record)?,
        ]);
    }
    Ok(binds)
}

fn dead_letter_rows(letters: &[DeadLetter]) -> Result<Vec<Bind>, serde_json::Error> {
    let mut binds = Vec::with_capacity(letters.len() * DEAD_LETTERS.columns);
    for letter in letters {
        binds.extend([
            Bind::Text(letter.id.to_string()),
            Bind::Int(micros(letter.time)),
            Bind::Text(letter.module.clone()),
            Bind::Text(letter.topic.clone()),
            Bind::Text(letter.reason_code.clone()),
            doc(letter)?,
        ]);
    }
    Ok(binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_by_id_keeps_the_latest_update_of_each_id() {
        let (a, b) = (Ulid::new(), Ulid::new());
        let items = [(a, 2), (b, 1), (a, 1), (a, 2)];
        let kept = newest_by_id(&items, |&(id, updated)| (id, updated));
        // `a` keeps its last version with the highest `updated` (index 3), `b` its only one.
        assert_eq!(kept.len(), 2);
        assert!(std::ptr::eq(kept[0], &items[1]));
        assert!(std::ptr::eq(kept[1], &items[3]));
    }

    #[test]
    fn statements_stay_under_the_bind_limit() {
        for table in [&EVENTS, &ALERTS, &INCIDENTS, &AUDIT, &DEAD_LETTERS] {
            assert!(STATEMENT_ROWS[0] * table.columns <= 32_766);
        }
    }

    #[test]
    fn a_batch_is_cut_into_the_fixed_statement_sizes() {
        let cut = |mut rows: usize| {
            let mut sizes = Vec::new();
            while rows > 0 {
                sizes.push(statement_rows(rows));
                rows -= statement_rows(rows);
            }
            sizes
        };
        assert_eq!(cut(1), [1]);
        assert_eq!(cut(21), [16, 4, 1]);
        assert_eq!(cut(600), [256, 256, 64, 16, 4, 4]);
    }
}
