//! Store errors, classified so that a caller knows whether to retry.
//!
//! The exchange service keeps a batch it could not commit and retries it when
//! [`StoreError::is_retryable`] says so: a locked, full or unreachable
//! database loses nothing that was accepted.

use crate::Backend;

/// What went wrong in the store, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer holds the database (SQLite busy or locked, PostgreSQL lock
    /// timeout, serialization failure or deadlock). Nothing was written.
    #[error("the database is busy: {detail}; nothing was written, retry the batch shortly")]
    Busy { detail: String },

    /// The disk or the configured size limit is full. Nothing was written.
    #[error(
        "the database is full: {detail}; nothing was written, free disk space or raise the \
         size limit, then retry the batch"
    )]
    Full { detail: String },

    /// The database server cannot be reached or dropped the connection.
    #[error("{detail}; check that the database server is running and reachable")]
    Connection { detail: String },

    /// The database file or a table is damaged, or the file is not a database.
    #[error("the database is corrupt: {detail}; restore it from a backup or start a new file")]
    Corrupt { detail: String },

    /// The schema could not be brought up to date.
    #[error("could not migrate the database schema: {detail}")]
    Migration { detail: String },

    /// The database could not be opened (missing directory, permissions).
    #[error("could not open {target}: {detail}; {hint}")]
    Open {
        target: String,
        detail: String,
        hint: String,
    },

    /// The database URL is not one the store understands.
    #[error(
        "invalid database URL {url:?}: {detail}; use sqlite://PATH, sqlite::memory: or \
         postgres://USER@HOST:PORT/DATABASE"
    )]
    InvalidUrl { url: String, detail: String },

    /// A page cursor that this store did not hand out.
    #[error(
        "invalid page cursor {cursor:?}; pass back the next_cursor of the previous page unchanged"
    )]
    InvalidCursor { cursor: String },

    /// A batch queued behind one that failed was not tried, so that batches
    /// are stored in the order they were handed over. Nothing was written.
    #[error(
        "the batch was not tried because the one queued before it failed; nothing was \
         written, retry it once that one is stored"
    )]
    NotTried,

    /// Any other database failure.
    #[error("database error: {detail}")]
    Other { detail: String },
}

impl StoreError {
    /// True when the same operation may succeed later (busy, full, connection
    /// lost): keep the batch and retry it with a back-off.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Busy { .. }
                | StoreError::Full { .. }
                | StoreError::Connection { .. }
                | StoreError::NotTried
        )
    }

    /// A short stable code for metrics and logs (`busy`, `full`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Busy { .. } => "busy",
            StoreError::Full { .. } => "full",
            StoreError::Connection { .. } => "connection",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Migration { .. } => "migration",
            StoreError::Open { .. } => "open",
            StoreError::InvalidUrl { .. } => "invalid_url",
            StoreError::InvalidCursor { .. } => "invalid_cursor",
            StoreError::NotTried => "not_tried",
            StoreError::Other { .. } => "other",
        }
    }

    /// A document that could not be turned into JSON (never expected: every
    /// stored type serialises).
    pub(crate) fn encode(err: serde_json::Error) -> StoreError {
        StoreError::Other {
            detail: format!("could not serialise a document for the store: {err}"),
        }
    }

    /// Classifies an error of the native SQLite writer by its result code.
    pub(crate) fn from_rusqlite(err: rusqlite::Error) -> StoreError {
        let detail = err.to_string();
        match err.sqlite_error() {
            Some(failure) => classify_sqlite(&failure.extended_code.to_string(), detail),
            None => StoreError::Other { detail },
        }
    }

    /// Classifies a driver error of the given backend.
    pub(crate) fn from_sqlx(err: sqlx::Error, backend: Backend) -> StoreError {
        let detail = err.to_string();
        match err {
            sqlx::Error::Database(db) => classify_database(db.code().as_deref(), detail, backend),
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) => StoreError::Connection {
                detail: format!("lost the connection to the database: {detail}"),
            },
            sqlx::Error::PoolTimedOut => pool_timed_out(backend),
            sqlx::Error::PoolClosed => StoreError::Connection {
                detail: "the store was closed".to_string(),
            },
            sqlx::Error::WorkerCrashed => StoreError::Connection {
                detail: "the SQLite worker thread stopped".to_string(),
            },
            sqlx::Error::Migrate(err) => StoreError::Migration {
                detail: err.to_string(),
            },
            _ => StoreError::Other { detail },
        }
    }
}

/// No connection became free in time: on SQLite the single writer is taken by
/// another commit, on PostgreSQL the server does not answer.
fn pool_timed_out(backend: Backend) -> StoreError {
    match backend {
        Backend::Sqlite => StoreError::Busy {
            detail: "no store connection became free in time".to_string(),
        },
        Backend::Postgres => StoreError::Connection {
            detail: "no PostgreSQL connection could be obtained in time".to_string(),
        },
    }
}

/// Sorts a database error by its SQLite result code or PostgreSQL SQLSTATE.
fn classify_database(code: Option<&str>, detail: String, backend: Backend) -> StoreError {
    let code = code.unwrap_or_default();
    match backend {
        Backend::Sqlite => classify_sqlite(code, detail),
        Backend::Postgres => classify_postgres(code, detail),
    }
}

/// SQLite reports extended result codes; the primary code is the low byte.
fn classify_sqlite(code: &str, detail: String) -> StoreError {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const CORRUPT: i32 = 11;
    const FULL: i32 = 13;
    const NOTADB: i32 = 26;

    let primary = code.parse::<i32>().map(|c| c & 0xff).unwrap_or(-1);
    match primary {
        BUSY | LOCKED => StoreError::Busy { detail },
        FULL => StoreError::Full { detail },
        CORRUPT | NOTADB => StoreError::Corrupt { detail },
        _ => StoreError::Other { detail },
    }
}

/// PostgreSQL SQLSTATE classes: 08 connection, 53 resources, 57P0x shutdown.
fn classify_postgres(code: &str, detail: String) -> StoreError {
    match code {
        "55P03" | "40001" | "40P01" | "57014" => StoreError::Busy { detail },
        "53100" => StoreError::Full { detail },
        "XX001" | "XX002" => StoreError::Corrupt { detail },
        "53300" | "57P01" | "57P02" | "57P03" => StoreError::Connection { detail },
        _ if code.starts_with("08") => StoreError::Connection { detail },
        _ => StoreError::Other { detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_extended_codes_map_by_primary_code() {
        // SQLITE_BUSY_SNAPSHOT (517) is a busy error; SQLITE_IOERR_WRITE is not full.
        assert!(matches!(
            classify_sqlite("517", String::new()),
            StoreError::Busy { .. }
        ));
        assert!(matches!(
            classify_sqlite("13", String::new()),
            StoreError::Full { .. }
        ));
        assert!(matches!(
            classify_sqlite("26", String::new()),
            StoreError::Corrupt { .. }
        ));
        assert!(matches!(
            classify_sqlite("778", String::new()),
            StoreError::Other { .. }
        ));
    }

    #[test]
    fn postgres_states_map_to_kinds() {
        assert!(matches!(
            classify_postgres("55P03", String::new()),
            StoreError::Busy { .. }
        ));
        assert!(matches!(
            classify_postgres("53100", String::new()),
            StoreError::Full { .. }
        ));
        assert!(matches!(
            classify_postgres("08006", String::new()),
            StoreError::Connection { .. }
        ));
        assert!(matches!(
            classify_postgres("23505", String::new()),
            StoreError::Other { .. }
        ));
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(
            StoreError::Full {
                detail: String::new()
            }
            .is_retryable()
        );
        assert!(
            !StoreError::Corrupt {
                detail: String::new()
            }
            .is_retryable()
        );
        assert!(
            !StoreError::InvalidCursor {
                cursor: String::new()
            }
            .is_retryable()
        );
    }
}
