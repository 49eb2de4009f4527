//! Faults: a locked or full SQLite file, an unreachable or restarted
//! PostgreSQL, a path that cannot be opened. Each time the store answers with
//! a typed error that says what to do, loses nothing it accepted, and keeps serving.

mod common;

use std::time::{Duration, Instant};

use common::{Kind, TestDb, at, event};
use safecare_core::{Module, SecurityEvent};
use safecare_store::{Batch, Store, StoreError, StoreOptions};
use sqlx::{Connection, Executor, SqliteConnection};

fn events(count: i64, summary_len: usize) -> Vec<SecurityEvent> {
    (0..count)
        .map(|i| {
            let mut e = event(
                Module::Net,
                "network.port_scan",
                40,
                at(i),
                Some("pacs-01"),
                None,
            );
            e.summary = "s".repeat(summary_len);
            e
        })
        .collect()
}

fn batch(events: Vec<SecurityEvent>) -> Batch {
    Batch {
        events,
        ..Batch::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_sqlite_is_busy_then_recovers() {
    let db = TestDb::new(Kind::Sqlite).await;
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..StoreOptions::default()
    };
    let store = db.open_with(options).await;
    let waiting = batch(events(10, 20));

    // Another process takes the write lock and keeps it.
    let mut locker = SqliteConnection::connect(&db.url).await.unwrap();
    locker.execute("BEGIN EXCLUSIVE").await.unwrap();

    let started = Instant::now();
    let err = store.commit(&waiting).await.unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("retry"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    // Reads still work while the writer is locked out (WAL).
    assert_eq!(store.reader().counts().await.unwrap().events, 0);

    locker.execute("COMMIT").await.unwrap();
    let outcome = store.commit(&waiting).await.unwrap();
    assert_eq!(outcome.events_inserted, 10);
}

/// A SQLite store capped at 400 KiB, which about 2 MB of events cannot fit.
async fn open_full_soon(db: &TestDb) -> Store {
    let options = StoreOptions {
        sqlite_max_bytes: Some(400 * 1024),
        ..StoreOptions::default()
    };
    db.open_with(options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sqlite_refuses_the_batch_and_keeps_serving() {
    let db = TestDb::new(Kind::Sqlite).await;
    let store = open_full_soon(&db).await;
    store.commit(&batch(events(5, 20))).await.unwrap();

    // About 2 MB of events cannot fit in 400 KiB.
    let err = store.commit(&batch(events(2000, 1000))).await.unwrap_err();
    assert!(matches!(err, StoreError::Full { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("free disk space"), "{err}");

    // Nothing of the failed batch is stored, reads still answer, small writes still fit.
    let reader = store.reader();
    assert_eq!(reader.counts().await.unwrap().events, 5);
    assert_eq!(
        reader
            .events(&Default::default())
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    let small: Vec<SecurityEvent> = events(3, 20)
        .into_iter()
        .map(|mut e| {
            e.id = ulid::Ulid::new();
            e
        })
        .collect();
    assert_eq!(
        store.commit(&batch(small)).await.unwrap().events_inserted,
        3
    );
}

/// Numbered batches are written in order: one queued behind a batch that
/// failed is not tried, even though it would fit, until that one is stored
/// or settled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_queued_behind_a_failed_one_waits_for_it() {
    let db = TestDb::new(Kind::Sqlite).await;
    let store = open_full_soon(&db).await;

    let too_big = store
        .queue_in_order(batch(fresh(events(2000, 1000))), 7)
        .unwrap();
    let small = store
        .queue_in_order(batch(fresh(events(3, 20))), 8)
        .unwrap();
    let (too_big, first) = too_big.outcome().await;
    let (small, second) = small.outcome().await;
    assert!(matches!(first, Err(StoreError::Full { .. })), "{first:?}");
    assert!(matches!(second, Err(StoreError::NotTried)), "{second:?}");
    assert!(second.unwrap_err().is_retryable());
    assert_eq!(small.events.len(), 3, "the batch comes back whole");

    // Retried on its own, batch 8 still waits for batch 7.
    let (small, retried) = store.commit_in_order(small, 8).await;
    assert!(matches!(retried, Err(StoreError::NotTried)), "{retried:?}");
    assert_eq!(store.reader().counts().await.unwrap().events, 0);

    // Once 7 is settled (here: given up), 8 goes in; 9, queued before 8 was
    // stored, waits for it and goes in next.
    drop(too_big);
    store.settle(7).await;
    let early = store
        .queue_in_order(batch(fresh(events(2, 20))), 9)
        .unwrap();
    let (_, stored) = store.commit_in_order(small, 8).await;
    assert_eq!(stored.unwrap().events_inserted, 3);
    let (nine, waited) = early.outcome().await;
    assert!(matches!(waited, Err(StoreError::NotTried)), "{waited:?}");
    let (_, stored) = store.commit_in_order(nine, 9).await;
    assert_eq!(stored.unwrap().events_inserted, 2);
}

/// The same events under new ids, so that they are stored again.
fn fresh(mut events: Vec<SecurityEvent>) -> Vec<SecurityEvent> {
    for event in &mut events {
        event.id = ulid::Ulid::new();
    }
    events
}

/// Size of a SQLite write-ahead-log file, 0 when there is none.
fn wal_bytes(db: &TestDb) -> u64 {
    let wal = db.sqlite_path().with_extension("db-wal");
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_is_copied_back_and_stays_bounded_under_steady_writes() {
    let db = TestDb::new(Kind::Sqlite).await;
    let store = db.open().await;
    let database_at_start = std::fs::metadata(db.sqlite_path()).unwrap().len();

    // About 100 MB through the log, six times the 16 MB (4000 pages) at which
    // the writer copies it back (crates/store/src/connect.rs), in commits of about 2 MB.
    let mut largest_log = 0;
    for round in 0..48 {
        let mut events = events(600, 3000);
        for e in &mut events {
            e.id = ulid::Ulid::new();
        }
        let outcome = store.commit(&batch(events)).await.unwrap();
        assert_eq!(outcome.events_inserted, 600, "round {round}");
        largest_log = largest_log.max(wal_bytes(&db));
    }

    // The log never held much more than its checkpoint size plus one commit.
    assert!(
        largest_log < 24 * 1024 * 1024,
        "the write-ahead log grew to {largest_log} bytes"
    );

    // The pages reached the database file itself: every event is there to read.
    let database = std::fs::metadata(db.sqlite_path()).unwrap().len();
    assert!(
        database > database_at_start + 50 * 1024 * 1024,
        "the database file has {database} bytes"
    );
    assert_eq!(store.reader().counts().await.unwrap().events, 48 * 600);
}

#[tokio::test]
async fn sqlite_in_a_missing_directory_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("store.db");
    let err = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{message}");
    assert!(
        message.contains("store.db") && message.contains("does not exist"),
        "{message}"
    );
    assert!(message.contains("--database"), "{message}");
}

#[tokio::test]
async fn sqlite_path_that_is_a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(&format!("sqlite://{}", dir.path().display()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("--database"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, vec![b'#'; 8192]).unwrap();
    let err = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
}

#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let err = Store::open("mysql://root@localhost/db").await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}

#[tokio::test]
async fn in_memory_store_works_for_tests() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    store.commit(&batch(events(3, 10))).await.unwrap();
    assert_eq!(store.reader().counts().await.unwrap().events, 3);
}

#[tokio::test]
async fn postgres_on_a_wrong_port_is_a_connection_error() {
    let options = StoreOptions {
        acquire_timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    };
    let started = Instant::now();
    let err = Store::open_with("postgres://postgres:secret@127.0.0.1:1/postgres", options)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Connection { .. }), "{message}");
    assert!(err.is_retryable());
    assert!(
        message.contains("127.0.0.1:1") && message.contains("running"),
        "{message}"
    );
    assert!(
        !message.contains("secret"),
        "the password leaked: {message}"
    );
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test]
async fn postgres_missing_database_says_how_to_create_it() {
    let url = common::postgres_admin_url();
    let _server_is_up = common::admin_connection().await;
    let missing = match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/safecare_no_such_database"),
        None => panic!("unexpected admin URL {url}"),
    };
    let err = Store::open(&missing).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("create the database"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_killed_by_the_server_are_replaced() {
    let db = TestDb::new(Kind::Postgres).await;
    let store = db.open().await;
    store.commit(&batch(events(10, 20))).await.unwrap();

    // The server drops every connection of the store (as on a restart).
    let mut admin = common::admin_connection().await;
    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1";
    sqlx::query(kill)
        .bind(db.pg_name())
        .execute(&mut admin)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The next commit either goes through on a new connection or fails as retryable;
    // the retry that the exchange service would make must succeed.
    let more = batch(events(20, 20));
    if let Err(err) = store.commit(&more).await {
        assert!(err.is_retryable(), "not retryable: {err}");
        store.commit(&more).await.unwrap();
    }
    assert_eq!(store.reader().counts().await.unwrap().events, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_postgres_table_is_busy_then_recovers() {
    let db = TestDb::new(Kind::Postgres).await;
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..StoreOptions::default()
    };
    let store = db.open_with(options).await;
    let waiting = batch(events(10, 20));

    // Another session holds the events table (as a long migration or VACUUM FULL would).
    let mut locker = sqlx::PgConnection::connect(&db.url).await.unwrap();
    locker.execute("BEGIN").await.unwrap();
    locker
        .execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let started = Instant::now();
    let err = store.commit(&waiting).await.unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    locker.execute("COMMIT").await.unwrap();
    assert_eq!(store.commit(&waiting).await.unwrap().events_inserted, 10);
}
