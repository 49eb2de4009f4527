//! The write path of a SQLite file: one connection on a thread of its own,
//! through SQLite's C API (rusqlite) rather than sqlx.
//!
//! sqlx runs each SQLite statement on its worker thread and converts every
//! bound value through its `Any` driver; for the exchange's commits that cost
//! more wall clock than SQLite's own work. Here a commit is one message to the
//! thread, which binds the rows to cached single-row INSERTs and steps them
//! inside one `BEGIN IMMEDIATE` transaction. Reads stay on sqlx's pool.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::connect::SqliteTuning;
use crate::sql::Bind;
use crate::write::{BatchRows, Table, outcome};
use crate::{CommitOutcome, StoreError};

/// One commit for the thread, and where to send its result.
struct Job {
    rows: BatchRows,
    reply: oneshot::Sender<Result<CommitOutcome, StoreError>>,
}

/// The handle of the writer thread; dropping it (or [`SqliteWriter::close`]) stops the thread.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    jobs: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl SqliteWriter {
    /// Opens the write connection on `path` and starts its thread.
    pub(crate) fn start(path: &Path, tuning: &SqliteTuning) -> Result<SqliteWriter, StoreError> {
        let conn = open(path, tuning).map_err(|err| {
            StoreError::from_rusqlite(err).in_context(&format!(
                "could not open the write connection to {}",
                path.display()
            ))
        })?;

        let (jobs, incoming) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, incoming))
            .map_err(|err| StoreError::Other {
                detail: format!("could not start the SQLite writer thread: {err}"),
            })?;

        Ok(SqliteWriter {
            jobs: std::sync::Mutex::new(Some(jobs)),
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Writes the rows in one transaction on the writer thread: all of them or none.
    pub(crate) async fn commit(&self, rows: BatchRows) -> Result<CommitOutcome, StoreError> {
        let stopped = || StoreError::Connection {
            detail: "the SQLite writer thread has stopped (the store was closed)".to_string(),
        };
        let (reply, answer) = oneshot::channel();
        let sent = match self.jobs.lock().map_err(|_| stopped())?.as_ref() {
            Some(jobs) => jobs.send(Job { rows, reply }).is_ok(),
            None => false,
        };
        if !sent {
            return Err(stopped());
        }
        answer.await.map_err(|_| stopped())?
    }

    /// Stops the thread once it has finished the commits already handed to it.
    pub(crate) async fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// The write connection, tuned like the readers plus the writer's own page cache and size cap.
fn open(path: &Path, tuning: &SqliteTuning) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(tuning.busy_timeout)?;
    conn.execute_batch(&tuning.pragmas())?;
    if let Some(max_bytes) = tuning.max_bytes {
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
        let pages = max_bytes / page_size.max(512) as u64;
        conn.execute_batch(&format!("PRAGMA max_page_count = {pages};"))?;
    }
    Ok(conn)
}

/// The thread: one job after the other until every sender is gone.
fn run(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        let result = commit(&mut conn, job.rows).map_err(StoreError::from_rusqlite);
        // The caller may have stopped waiting (shutdown); the result is then only logged.
        if let Err(Err(err)) = job.reply.send(result) {
            tracing::warn!(%err, "a commit nobody waited for failed");
        }
    }
    if let Err((_, err)) = conn.close() {
        tracing::warn!(%err, "closing the SQLite write connection");
    }
}

/// One transaction over every table of the batch; rolled back on any error.
fn commit(conn: &mut Connection, rows: BatchRows) -> rusqlite::Result<CommitOutcome> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let written = insert_all(conn, rows);
    let finished = written.and_then(|outcome| conn.execute_batch("COMMIT").map(|()| outcome));
    if finished.is_err() && !conn.is_autocommit() {
        // SQLite rolls some errors back itself (SQLITE_FULL); otherwise do it here,
        // so that nothing of the batch is kept, as the caller is told.
        if let Err(err) = conn.execute_batch("ROLLBACK") {
            tracing::debug!(%err, "rollback after a failed commit");
        }
    }
    finished
}

fn insert_all(conn: &Connection, rows: BatchRows) -> rusqlite::Result<CommitOutcome> {
    let mut changed = [0; 5];
    for ((table, binds), changed) in rows.tables.iter().zip(&mut changed) {
        *changed = insert_rows(conn, table, binds)?;
    }
    Ok(outcome(rows.events_offered, changed))
}

/// Steps the table's single-row INSERT once per row; returns the rows changed.
fn insert_rows(conn: &Connection, table: &Table, binds: &[Bind]) -> rusqlite::Result<u64> {
    if binds.is_empty() {
        return Ok(0);
    }
    let placeholders = vec!["?"; table.columns].join(", ");
    let sql = format!("{}({placeholders}){}", table.insert, table.conflict);
    let mut statement = conn.prepare_cached(&sql)?;

    let mut changed = 0;
    for row in binds.chunks_exact(table.columns) {
        for (index, value) in row.iter().enumerate() {
            match value {
                Bind::Int(v) => statement.raw_bind_parameter(index + 1, v)?,
                Bind::Text(v) => statement.raw_bind_parameter(index + 1, v.as_str())?,
                Bind::OptText(v) => statement.raw_bind_parameter(index + 1, v.as_deref())?,
            }
        }
        changed += statement.raw_execute()? as u64;
    }
    Ok(changed)
}
