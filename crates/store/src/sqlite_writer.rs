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
use crate::{Batch, CommitOutcome, StoreError};

/// One commit for the thread, and where to send its result.
struct Job {
    work: Work,
    /// The batch's place in the caller's order, for batches that must be
    /// stored in order (see [`InOrder`]).
    seq: Option<u64>,
    reply: oneshot::Sender<Done>,
}

/// What to write: rows built by the caller, or a batch the thread turns into
/// rows; or nothing, to mark a numbered batch as settled another way.
enum Work {
    Rows(BatchRows),
    Batch(Batch),
    Settle,
}

impl Work {
    /// The batch, when the caller gave one, to hand back.
    fn into_batch(self) -> Option<Batch> {
        match self {
            Work::Rows(_) | Work::Settle => None,
            Work::Batch(batch) => Some(batch),
        }
    }
}

/// The result of a job, with the batch handed back when one was given.
#[derive(Debug)]
struct Done {
    batch: Option<Batch>,
    result: Result<CommitOutcome, StoreError>,
}

impl Done {
    /// The answer for a job the thread did not take because it has stopped.
    fn stopped(batch: Option<Batch>) -> Done {
        Done {
            batch,
            result: Err(StoreError::Connection {
                detail: "the SQLite writer thread has stopped (the store was closed)".to_string(),
            }),
        }
    }

    /// The thread's answer. It always answers unless it died; the batch is
    /// then gone with it.
    async fn awaited(answer: oneshot::Receiver<Done>) -> Done {
        answer.await.unwrap_or_else(|_| Done::stopped(None))
    }

    /// The batch and the result of a batch job of `events` events.
    fn into_owned(self, events: usize) -> (Batch, Result<CommitOutcome, StoreError>) {
        let batch = self.batch.unwrap_or_else(|| {
            // Only if the thread died without answering (it catches panics).
            tracing::error!(
                events,
                "the SQLite writer thread died holding a batch: it is lost"
            );
            Batch::default()
        });
        (batch, self.result)
    }
}

/// A batch queued on the writer thread ([`crate::Store::queue_in_order`]).
#[derive(Debug)]
pub struct QueuedCommit {
    answer: oneshot::Receiver<Done>,
    events: usize,
}

impl QueuedCommit {
    /// Waits for the thread to write (or not try) the batch; hands the batch back.
    pub async fn outcome(self) -> (Batch, Result<CommitOutcome, StoreError>) {
        Done::awaited(self.answer).await.into_owned(self.events)
    }
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
        let conn = open(path, tuning).map_err(|err| open_error(path, err))?;

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
        self.run_job(Work::Rows(rows), None).await.result
    }

    /// Like [`SqliteWriter::commit`], with the rows built on the writer thread,
    /// off the caller's task; the batch is handed back.
    pub(crate) async fn commit_owned(
        &self,
        batch: Batch,
    ) -> (Batch, Result<CommitOutcome, StoreError>) {
        let events = batch.events.len();
        let done = self.run_job(Work::Batch(batch), None).await;
        done.into_owned(events)
    }

    /// Like [`SqliteWriter::commit_owned`] for batch number `seq` of a
    /// caller that stores its batches in order (see [`InOrder`]).
    pub(crate) async fn commit_in_order(
        &self,
        batch: Batch,
        seq: u64,
    ) -> (Batch, Result<CommitOutcome, StoreError>) {
        let events = batch.events.len();
        let done = self.run_job(Work::Batch(batch), Some(seq)).await;
        done.into_owned(events)
    }

    /// Queues batch number `seq` behind the jobs already handed to the
    /// thread, which goes from one to the next without waiting for the caller.
    pub(crate) fn queue_in_order(&self, batch: Batch, seq: u64) -> Result<QueuedCommit, Batch> {
        let events = batch.events.len();
        match self.send(Work::Batch(batch), Some(seq)) {
            Ok(answer) => Ok(QueuedCommit { answer, events }),
            Err(batch) => Err(batch.unwrap_or_default()),
        }
    }

    /// Marks batch number `seq` as settled without storing it as one batch
    /// (it was stored piece by piece, or given up).
    pub(crate) async fn settle(&self, seq: u64) {
        self.run_job(Work::Settle, Some(seq)).await;
    }

    /// Hands a job to the thread and waits for its answer.
    async fn run_job(&self, work: Work, seq: Option<u64>) -> Done {
        match self.send(work, seq) {
            Ok(answer) => Done::awaited(answer).await,
            Err(batch) => Done::stopped(batch),
        }
    }

    /// Hands a job to the thread; gives its batch back (if it had one) when
    /// the thread has stopped.
    fn send(&self, work: Work, seq: Option<u64>) -> Result<oneshot::Receiver<Done>, Option<Batch>> {
        let (reply, answer) = oneshot::channel();
        let job = Job { work, seq, reply };
        let refused = match self.jobs.lock() {
            Ok(jobs) => match jobs.as_ref() {
                Some(jobs) => jobs.send(job).err().map(|refused| refused.0),
                None => Some(job),
            },
            Err(_) => Some(job),
        };
        match refused {
            Some(job) => Err(job.work.into_batch()),
            None => Ok(answer),
        }
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
    if tuning.max_bytes.is_some() {
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
        conn.execute_batch(&tuning.size_cap(page_size))?;
    }
    Ok(conn)
}

/// Explains a failure to open or set up the write connection, as for the readers.
fn open_error(path: &Path, err: rusqlite::Error) -> StoreError {
    match StoreError::from_rusqlite(err) {
        StoreError::Other { detail } => StoreError::Open {
            target: format!("sqlite file {} (write connection)", path.display()),
            detail,
            hint: "pass --database with a writable path".to_string(),
        },
        classified => classified,
    }
}

/// The thread: one job after the other until every sender is gone.
fn run(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    let mut order = InOrder::default();
    while let Ok(job) = jobs.recv() {
        let done = match job.seq {
            Some(seq) if !order.admits(seq) => Done {
                batch: job.work.into_batch(),
                result: Err(StoreError::NotTried),
            },
            Some(seq) => {
                let done = work(&mut conn, job.work);
                if done.result.is_ok() {
                    order.settled(seq);
                }
                done
            }
            None => work(&mut conn, job.work),
        };

        // The caller may have stopped waiting (shutdown); the result is then only logged.
        if let Err(Done {
            result: Err(err), ..
        }) = job.reply.send(done)
        {
            tracing::warn!(%err, "a commit nobody waited for failed");
        }
    }
    if let Err((_, err)) = conn.close() {
        tracing::warn!(%err, "closing the SQLite write connection");
    }
}

/// Keeps numbered batches in order: batch `n` is tried only once every
/// batch before it is settled (stored, or marked settled by the caller).
///
/// A caller queues its next batch while the previous one is being written,
/// so that the thread never waits for it. If that previous batch fails, the
/// next is not tried ([`StoreError::NotTried`]) until the caller has stored
/// the failed one, so that a later version of an alert is never overwritten
/// by an earlier one.
#[derive(Debug, Default)]
struct InOrder {
    /// The lowest number not yet settled; `None` before the first batch.
    next: Option<u64>,
}

impl InOrder {
    /// Whether batch `seq` may be tried now; the first number seen starts the order.
    fn admits(&mut self, seq: u64) -> bool {
        let next = *self.next.get_or_insert(seq);
        seq <= next
    }

    fn settled(&mut self, seq: u64) {
        if self.next.is_none_or(|next| seq >= next) {
            self.next = Some(seq + 1);
        }
    }
}

fn work(conn: &mut Connection, work: Work) -> Done {
    match work {
        Work::Rows(rows) => Done {
            batch: None,
            result: commit(conn, rows).map_err(StoreError::from_rusqlite),
        },
        Work::Batch(batch) => {
            let result = commit_batch(conn, &batch);
            Done {
                batch: Some(batch),
                result,
            }
        }
        Work::Settle => Done {
            batch: None,
            result: Ok(CommitOutcome::default()),
        },
    }
}

/// Builds the batch's rows and commits them. A panic on the way is caught, so
/// that the batch always goes back to the caller, who keeps and retries it.
fn commit_batch(conn: &mut Connection, batch: &Batch) -> Result<CommitOutcome, StoreError> {
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let rows = BatchRows::of(batch).map_err(StoreError::encode)?;
        commit(conn, rows).map_err(StoreError::from_rusqlite)
    }));
    attempt.unwrap_or_else(|_| {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        Err(StoreError::Other {
            detail: "the SQLite writer failed on this batch (a bug: please report it)".to_string(),
        })
    })
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
