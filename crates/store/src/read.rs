//! The read side: listings with filters and keyset pagination, lookups, counts.

use safecare_core::{Alert, AuditRecord, Incident, SecurityEvent};
use serde::de::DeserializeOwned;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use ulid::Ulid;

use crate::model::{page_limit, severity_rank};
use crate::sql::{Bind, Conditions, bind_all, encode_cursor, like_prefix, micros};
use crate::{
    AlertFilter, Backend, DeadLetter, EventFilter, IncidentFilter, MAX_PAGE_LIMIT, Page,
    StoreCounts, StoreError,
};

/// The most audit records [`StoreReader::audit_for`] returns for one target.
pub const MAX_AUDIT_RECORDS: u32 = 10_000;

/// Read-only access to the store, cheap to clone and share (the web API holds one).
///
/// It has no write method; on SQLite its connections are also opened
/// `query_only`, so the database itself refuses a write through them.
#[derive(Clone)]
pub struct StoreReader {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

impl std::fmt::Debug for StoreReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReader")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// A listing query: its table, sort key column, conditions and page size.
struct Listing<'a> {
    table: &'a str,
    key_column: &'a str,
    conditions: Conditions,
    limit: u32,
}

impl StoreReader {
    /// Events matching `filter`, newest first (time, then id, descending).
    pub async fn events(&self, filter: &EventFilter) -> Result<Page<SecurityEvent>, StoreError> {
        let mut c = Conditions::default();
        c.compare("time_us", ">=", filter.from.map(micros));
        c.compare("time_us", "<", filter.to.map(micros));
        c.equal("module", filter.module.map(|m| m.as_str()));
        add_kind(&mut c, filter.kind.as_deref());
        c.equal("asset", filter.asset.as_deref());
        c.equal("zone", filter.zone.as_deref());
        c.compare("severity", ">=", filter.min_severity.map(i64::from));
        c.after("time_us", filter.cursor.as_deref())?;

        let listing = Listing {
            table: "events",
            key_column: "time_us",
            conditions: c,
            limit: page_limit(filter.limit),
        };
        self.page(listing, |e: &SecurityEvent| (micros(e.time), e.id))
            .await
    }

    /// The event with this id, if stored.
    pub async fn event(&self, id: Ulid) -> Result<Option<SecurityEvent>, StoreError> {
        self.by_id("events", id).await
    }

    /// Alerts matching `filter`, newest created first.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Page<Alert>, StoreError> {
        let mut c = Conditions::default();
        c.equal("status", filter.status.map(|s| s.as_str()));
        c.compare("severity", ">=", filter.min_severity.map(severity_rank));
        c.equal("domain", filter.domain.map(|d| d.as_str()));
        c.equal("asset", filter.asset.as_deref());
        c.equal("zone", filter.zone.as_deref());
        c.compare("last_seen_us", ">=", filter.from.map(micros));
        c.compare("first_seen_us", "<", filter.to.map(micros));
        c.after("created_us", filter.cursor.as_deref())?;

        let listing = Listing {
            table: "alerts",
            key_column: "created_us",
            conditions: c,
            limit: page_limit(filter.limit),
        };
        self.page(listing, |a: &Alert| (micros(a.created), a.id))
            .await
    }

    /// The alert with this id, if stored.
    pub async fn alert(&self, id: Ulid) -> Result<Option<Alert>, StoreError> {
        self.by_id("alerts", id).await
    }

    /// Incidents matching `filter`, newest created first.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>, StoreError> {
        let mut c = Conditions::default();
        c.equal("state", filter.state.map(|s| s.as_str()));
        c.equal("kind", filter.kind.map(|k| k.as_str()));
        c.equal("owner", filter.owner.as_deref());
        c.after("created_us", filter.cursor.as_deref())?;

        let listing = Listing {
            table: "incidents",
            key_column: "created_us",
            conditions: c,
            limit: page_limit(filter.limit),
        };
        self.page(listing, |i: &Incident| (micros(i.created), i.id))
            .await
    }

    /// The incident with this id, if stored.
    pub async fn incident(&self, id: Ulid) -> Result<Option<Incident>, StoreError> {
        self.by_id("incidents", id).await
    }

    /// The audit trail of one alert or incident, oldest first, at most
    /// [`MAX_AUDIT_RECORDS`] records.
    pub async fn audit_for(&self, target_id: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT doc FROM audit_records WHERE target_id = $1 \
             ORDER BY time_us, id LIMIT {MAX_AUDIT_RECORDS}"
        );
        let query = bind_all(
            sqlx::query(AssertSqlSafe(sql)),
            vec![Bind::Text(target_id.to_string())],
        );
        let docs = self.fetch_docs(query).await?;
        docs.iter().map(|d| parse_doc("audit_records", d)).collect()
    }

    /// The newest dead letters, at most `limit` (capped at [`MAX_PAGE_LIMIT`]).
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, StoreError> {
        let limit = limit.min(MAX_PAGE_LIMIT);
        let sql =
            format!("SELECT doc FROM dead_letters ORDER BY time_us DESC, id DESC LIMIT {limit}");
        let docs = self.fetch_docs(sqlx::query(AssertSqlSafe(sql))).await?;
        docs.iter().map(|d| parse_doc("dead_letters", d)).collect()
    }

    /// How many rows each table holds.
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        Ok(StoreCounts {
            events: self.count("SELECT COUNT(*) FROM events").await?,
            alerts: self.count("SELECT COUNT(*) FROM alerts").await?,
            incidents: self.count("SELECT COUNT(*) FROM incidents").await?,
            dead_letters: self.count("SELECT COUNT(*) FROM dead_letters").await?,
        })
    }

    /// Runs a listing and cuts it into a page with the cursor of its last item.
    async fn page<T: DeserializeOwned>(
        &self,
        listing: Listing<'_>,
        key: impl Fn(&T) -> (i64, Ulid),
    ) -> Result<Page<T>, StoreError> {
        // One row more than asked tells whether there is a next page.
        let sql = format!(
            "SELECT doc FROM {table}{conditions} ORDER BY {key} DESC, id DESC LIMIT {limit}",
            table = listing.table,
            conditions = listing.conditions.where_sql(),
            key = listing.key_column,
            limit = listing.limit + 1,
        );
        let query = bind_all(
            sqlx::query(AssertSqlSafe(sql)),
            listing.conditions.into_binds(),
        );
        let docs = self.fetch_docs(query).await?;

        let mut items = docs
            .iter()
            .map(|d| parse_doc(listing.table, d))
            .collect::<Result<Vec<T>, _>>()?;
        let next_cursor = if items.len() > listing.limit as usize {
            items.truncate(listing.limit as usize);
            items.last().map(|last| {
                let (k, id) = key(last);
                encode_cursor(k, id)
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Looks one document up by id.
    async fn by_id<T: DeserializeOwned>(
        &self,
        table: &str,
        id: Ulid,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT doc FROM {table} WHERE id = $1");
        let query = bind_all(
            sqlx::query(AssertSqlSafe(sql)),
            vec![Bind::Text(id.to_string())],
        );
        let docs = self.fetch_docs(query).await?;
        docs.first().map(|d| parse_doc(table, d)).transpose()
    }

    /// Runs a query whose only column is `doc`.
    async fn fetch_docs(
        &self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<String>, StoreError> {
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|err| StoreError::from_sqlx(err, self.backend))?;
        rows.iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()
            .map_err(|err| StoreError::from_sqlx(err, self.backend))
    }

    async fn count(&self, sql: &'static str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(|err| StoreError::from_sqlx(err, self.backend))?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

/// An exact kind, or every kind under a prefix when the filter ends with `.*`.
fn add_kind(c: &mut Conditions, kind: Option<&str>) {
    let Some(kind) = kind else {
        return;
    };
    match kind
        .strip_suffix('*')
        .filter(|prefix| prefix.ends_with('.'))
    {
        Some(prefix) => {
            // Kinds are lowercase; lowering the prefix keeps SQLite's
            // case-insensitive LIKE and PostgreSQL's case-sensitive one in step.
            let p = c.bind(Bind::Text(like_prefix(&prefix.to_lowercase())));
            c.push(format!("kind LIKE {p} ESCAPE '\\'"));
        }
        None => c.equal("kind", Some(kind)),
    }
}

/// Reads a stored JSON document; a row that does not parse is reported as corrupt.
fn parse_doc<T: DeserializeOwned>(table: &str, doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|err| StoreError::Corrupt {
        detail: format!("a row of table {table} holds an unreadable document: {err}"),
    })
}
