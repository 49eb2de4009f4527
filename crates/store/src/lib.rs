//! The SafeCare central database: security events, alerts, incidents, the audit
//! trail and dead letters, in a SQLite file (the default) or PostgreSQL.
//!
//! Only the exchange service writes: it owns the [`Store`] and commits a
//! [`Batch`] at a time. Everyone else reads through a [`StoreReader`], which
//! has no write method at all.
//!
//! # Schema
//!
//! One table per document type (`events`, `alerts`, `incidents`,
//! `audit_records`, `dead_letters`). Each row keeps the whole document as JSON
//! text in `doc`, so a read returns exactly what was written and a new field
//! in `safecare-core` needs no migration. Beside it, the fields that listings
//! filter or sort on are copied into plain indexed columns: module, kind,
//! asset, zone and severity for events; status, CAP severity (as a rank 0-3),
//! domain, asset and zone for alerts; state, type and owner for incidents.
//! Times are BIGINT microseconds since the Unix epoch, which sort and compare
//! the same on both backends and keep full precision.
//!
//! The event id (a ULID) is the primary key and the idempotency key: a batch
//! inserts events with `ON CONFLICT (id) DO NOTHING`, so a message delivered
//! twice, or a batch retried after an error, is stored once. Alerts and
//! incidents are upserted by id, and an older `updated` never overwrites a
//! newer one (bus messages can arrive out of order). Audit records and dead
//! letters are append-only, also skipping ids already stored.
//!
//! Listings are newest first and paginated by keyset (`(time, id) < cursor`)
//! rather than by offset, so a page costs the same however deep it is and
//! rows arriving meanwhile do not shift the pages.
//!
//! # One SQL for two backends
//!
//! The store uses sqlx's `Any` driver: the same migration file and the same
//! query text (with `$1` placeholders, `ON CONFLICT`, row values) run on
//! SQLite and PostgreSQL, and one test suite runs against both. Through sqlx
//! a commit uses multi-row INSERTs of fixed sizes (256, 64, 16, 4 and 1 rows,
//! below both engines' bind limits); SQLite gets plain `?` placeholders
//! there, because it finds each numbered one by a linear scan.
//!
//! Commits to a SQLite file do not go through sqlx: one connection on a
//! thread of its own (rusqlite) binds the same rows to cached single-row
//! INSERTs inside `BEGIN IMMEDIATE`. sqlx's worker thread and its `Any`
//! value conversions cost more than SQLite's own work per event. Reads, and
//! every statement on PostgreSQL or an in-memory database, stay on sqlx.
//!
//! Errors are sorted into [`StoreError`] kinds from the SQLite result code or
//! the PostgreSQL SQLSTATE, so the caller can tell a retryable fault (busy,
//! full, connection lost) from a permanent one.
//!
//! SQLite runs in WAL mode with `synchronous = NORMAL`: readers never block
//! the writer; a process crash loses nothing committed, a power cut may lose
//! the last commits but never the database's integrity.

mod connect;
mod error;
mod model;
mod read;
mod sql;
mod sqlite_writer;
mod write;

use tracing::info;

pub use connect::StoreOptions;
pub use error::StoreError;
pub use model::{
    AlertFilter, Batch, CommitOutcome, DEAD_LETTER_EXCERPT_BYTES, DEFAULT_PAGE_LIMIT, DeadLetter,
    EventFilter, IncidentFilter, MAX_PAGE_LIMIT, Page, StoreCounts,
};
pub use read::{MAX_AUDIT_RECORDS, StoreReader};
pub use sqlite_writer::QueuedCommit;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where commits go.
#[derive(Debug)]
enum Writer {
    /// PostgreSQL, and in-memory SQLite (one connection shared with the reads).
    Pool(sqlx::AnyPool),
    /// A SQLite file: its own connection on its own thread.
    SqliteThread(sqlite_writer::SqliteWriter),
}

/// The central database, with the one write path ([`Store::commit`]).
///
/// Owned by the exchange service; hand [`Store::reader`] to everyone else.
#[derive(Debug)]
pub struct Store {
    writer: Writer,
    reader: StoreReader,
    description: String,
}

impl Store {
    /// Opens (and creates or migrates) the database at `url` with default options.
    ///
    /// `url` is `sqlite://PATH` (a file, created if missing), `sqlite::memory:`
    /// (tests) or `postgres://USER@HOST:PORT/DATABASE`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, StoreOptions::default()).await
    }

    /// Opens the database at `url` with explicit options.
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let target = connect::parse_target(url)?;
        let pools = connect::open(&target, &options).await?;
        info!(database = %pools.description, "store opened");

        Ok(Store {
            writer: pools.writer,
            reader: StoreReader {
                pool: pools.reader,
                backend: pools.backend,
            },
            description: pools.description,
        })
    }

    /// Writes the whole batch in one transaction: all of it, or on error none of it.
    ///
    /// On an error with [`StoreError::is_retryable`], keep the batch and commit
    /// it again later; ids already stored make the retry harmless.
    pub async fn commit(&self, batch: &Batch) -> Result<CommitOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(CommitOutcome::default());
        }
        let rows = write::BatchRows::of(batch).map_err(StoreError::encode)?;
        match &self.writer {
            Writer::Pool(pool) => write::commit(pool, self.reader.backend, rows).await,
            Writer::SqliteThread(writer) => writer.commit(rows).await,
        }
    }

    /// Like [`Store::commit`], taking the batch and handing it back.
    ///
    /// With a SQLite file the rows are then built on the writer thread, off the
    /// caller's task: the exchange's tokio workers stay free for the broker's
    /// traffic.
    pub async fn commit_owned(&self, batch: Batch) -> (Batch, Result<CommitOutcome, StoreError>) {
        if batch.is_empty() {
            return (batch, Ok(CommitOutcome::default()));
        }
        match &self.writer {
            Writer::SqliteThread(writer) => writer.commit_owned(batch).await,
            Writer::Pool(_) => {
                let result = self.commit(&batch).await;
                (batch, result)
            }
        }
    }

    /// Like [`Store::commit_owned`], for batch number `seq` of a caller that
    /// stores its batches in order, numbered one after the other: with a
    /// SQLite file, the batch is not tried ([`StoreError::NotTried`]) while
    /// an earlier-numbered batch is not settled (see
    /// [`Store::queue_in_order`]). An empty batch is not written and takes
    /// no number: give the next batch the same one.
    pub async fn commit_in_order(
        &self,
        batch: Batch,
        seq: u64,
    ) -> (Batch, Result<CommitOutcome, StoreError>) {
        match &self.writer {
            Writer::SqliteThread(writer) if !batch.is_empty() => {
                writer.commit_in_order(batch, seq).await
            }
            _ => self.commit_owned(batch).await,
        }
    }

    /// Hands batch number `seq` to a SQLite file's writer thread at once,
    /// behind the commits already queued, and returns the commit to wait
    /// for: the thread goes from one batch to the next without waiting for
    /// the caller. The thread tries a numbered batch only once every
    /// earlier-numbered one is settled, so that a batch queued behind one
    /// that failed comes back [`StoreError::NotTried`]; store the failed one
    /// ([`Store::commit_in_order`]) or settle it ([`Store::settle`]) first.
    /// Gives the batch back where there is no writer thread (PostgreSQL,
    /// in-memory SQLite, a closed store): commit it there instead.
    pub fn queue_in_order(&self, batch: Batch, seq: u64) -> Result<QueuedCommit, Batch> {
        match &self.writer {
            Writer::SqliteThread(writer) if !batch.is_empty() => writer.queue_in_order(batch, seq),
            _ => Err(batch),
        }
    }

    /// Marks batch number `seq` as settled although it was not stored as one
    /// batch (it was stored piece by piece), so that later ones are tried.
    pub async fn settle(&self, seq: u64) {
        if let Writer::SqliteThread(writer) = &self.writer {
            writer.settle(seq).await;
        }
    }

    /// A read-only handle for the other modules; cheap to clone.
    pub fn reader(&self) -> StoreReader {
        self.reader.clone()
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.reader.backend
    }

    /// A description for logs, e.g. `SQLite file /var/lib/safecare/store.db (WAL)`.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Closes every connection, waiting for running queries to finish.
    pub async fn close(&self) {
        match &self.writer {
            Writer::Pool(pool) => pool.close().await,
            Writer::SqliteThread(writer) => writer.close().await,
        }
        self.reader.pool.close().await;
    }
}
