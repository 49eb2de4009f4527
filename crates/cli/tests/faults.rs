//! Faults the platform must survive without losing what it accepted:
//! a locked database, a broker that goes away and comes back.

mod common;

use std::time::Duration;

use common::Backend;
use safecare_bus::mosquitto::MosquittoProcess;
use safecare_bus::{BrokerUrl, EmbeddedBroker};
use safecare_cli::platform::{BrokerChoice, Platform, PlatformConfig, exchange_tuning};
use safecare_core::{Module, SecurityEvent};
use safecare_correlate::RuleSet;
use safecare_exchange::ExchangeConfig;
use safecare_store::Store;
use sqlx::{Connection, Executor, SqliteConnection};

fn events(n: usize, summary: &str) -> Vec<SecurityEvent> {
    (0..n)
        .map(|i| {
            SecurityEvent::new(
                Module::Logs,
                "auth.failed_login",
                20,
                format!("{summary} {i}"),
            )
        })
        .collect()
}

/// Takes SQLite's write lock from another connection, as a backup tool might;
/// `ROLLBACK` on the returned connection releases it.
async fn lock_database(database: &str) -> SqliteConnection {
    let path = database.trim_start_matches("sqlite://");
    let mut locker = SqliteConnection::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    locker.execute("BEGIN EXCLUSIVE").await.unwrap();
    locker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_holds_the_batch_and_loses_nothing() {
    let t = common::start(Backend::Embedded).await;
    let (bus, _) = t.client("logs", &[]).await;
    bus.publish_event(&events(1, "warm-up")[0]).await.unwrap();
    t.wait_for_events(1).await;

    // Another process takes the write lock, as a backup tool might.
    let mut locker = lock_database(&t.platform.database).await;

    let batch = events(200, "during the lock");
    for event in &batch {
        bus.publish_event(event).await.unwrap();
    }
    // Longer than the store's 5 s busy timeout, so the commit fails and is retried.
    tokio::time::sleep(Duration::from_millis(6500)).await;
    let metrics = reqwest::get(format!("{}/metrics", t.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("safecare_store_retries_total") && !l.ends_with(" 0")),
        "the exchange retried while the database was locked:\n{metrics}"
    );

    locker.execute("ROLLBACK").await.unwrap();
    drop(locker);
    t.wait_for_events(201).await;
    let counts = t.platform.exchange.reader().counts().await.unwrap();
    assert_eq!(counts.events, 201);
    assert_eq!(counts.dead_letters, 0);
}

/// The broker embedded in the platform under test.
fn embedded_broker(t: &common::TestPlatform) -> EmbeddedBroker {
    let broker = t.platform.embedded_broker.clone();
    broker.expect("the platform runs an embedded broker")
}

/// With the embedded broker the exchange reads events through the broker's
/// in-process link, and a stopped exchange leaves the link, emptied, for the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exchange_reads_the_embedded_broker_in_process_and_hands_the_link_back() {
    let t = common::start(Backend::Embedded).await;
    let broker = embedded_broker(&t);
    assert!(
        broker.in_process_events().is_none(),
        "the running exchange must hold the in-process link"
    );

    let (bus, _) = t.client("logs", &[]).await;
    for event in &events(500, "read in process") {
        bus.publish_event(event).await.unwrap();
    }
    t.wait_for_events(500).await;

    // Stopped, the exchange gives the link back, with nothing left unread in it.
    t.platform.exchange.shutdown().await;
    let mut link = broker
        .in_process_events()
        .expect("the stopped exchange handed the link back");
    let leftover = tokio::time::timeout(Duration::from_millis(300), link.next()).await;
    assert!(leftover.is_err(), "an event was left behind: {leftover:?}");
    assert_eq!(
        t.platform.exchange.reader().counts().await.unwrap().events,
        500
    );
}

/// A second exchange in one process finds the in-process link taken and
/// subscribes over the network instead, acknowledging on receipt: it too
/// stores every event, and leaves the link with the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_exchange_reads_over_the_network_while_the_link_is_taken() {
    let t = common::start(Backend::Embedded).await;
    let broker = embedded_broker(&t);
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("second.db").display());
    let store = Store::open(&database).await.unwrap();
    let config = ExchangeConfig {
        client_id: format!("second-exchange-{}", ulid::Ulid::new()),
        ..exchange_tuning(ExchangeConfig::default(), Some(&broker))
    };
    let second = safecare_exchange::start(store, &broker.url(), RuleSet::defaults(), config)
        .await
        .expect("the second exchange starts on the network path");

    let (bus, _) = t.client("logs", &[]).await;
    for event in &events(500, "read twice") {
        bus.publish_event(event).await.unwrap();
    }
    t.wait_for_events(500).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while second.reader().counts().await.unwrap().events < 500 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second exchange stored too few events"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    second.shutdown().await;
    assert_eq!(second.reader().counts().await.unwrap().events, 500);
    assert!(
        broker.in_process_events().is_none(),
        "the first exchange still holds the link"
    );
}

/// The embedded broker's messages are acknowledged once queued for the
/// writer: stopping the platform must store the queue, even while the
/// database is locked for part of the shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_with_events_queued_behind_a_locked_database_stores_them_all() {
    let mut t = common::start(Backend::Embedded).await;
    let (bus, _) = t.client("logs", &[]).await;
    bus.publish_event(&events(1, "warm-up")[0]).await.unwrap();
    t.wait_for_events(1).await;

    let mut locker = lock_database(&t.platform.database).await;
    for event in &events(500, "queued during the lock") {
        bus.publish_event(event).await.unwrap();
    }
    // Time for the broker to hand every event to the exchange, which queues
    // and acknowledges them while its first commit waits for the lock.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let stored_during_lock = t.platform.exchange.reader().counts().await.unwrap().events;
    assert_eq!(
        stored_during_lock, 1,
        "nothing is stored while the lock is held"
    );

    let release = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        locker.execute("ROLLBACK").await.unwrap();
    };
    tokio::join!(t.platform.shutdown(), release);

    let counts = t.platform.exchange.reader().counts().await.unwrap();
    assert_eq!(
        counts.events, 501,
        "every queued event was stored before the stop"
    );
    assert_eq!(counts.dead_letters, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_broker_that_goes_away_and_comes_back_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let broker = MosquittoProcess::start(port, dir.path(), true).unwrap();
    let url = BrokerUrl::parse(&format!("mqtt://127.0.0.1:{port}")).unwrap();
    let database = format!("sqlite://{}", dir.path().join("safecare.db").display());
    let store_dir = tempfile::tempdir().unwrap();
    let t = common::start_on(
        BrokerChoice::External(url),
        database,
        None,
        store_dir,
        RuleSet::defaults(),
    )
    .await;
    let (bus, _) = t.client("logs", &[]).await;

    for event in events(50, "before") {
        bus.publish_event(&event).await.unwrap();
    }
    t.wait_for_events(50).await;

    drop(broker);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, health) = t.get("/api/health").await;
    assert_eq!(status, 200, "the API keeps serving without a broker");
    assert_eq!(health["bus_connected"], false);
    for event in events(50, "during the outage") {
        bus.publish_event(&event).await.unwrap();
    }

    let _broker = MosquittoProcess::start(port, dir.path(), true).unwrap();
    t.wait_for_events(100).await;
    let (_, health) = t.get("/api/health").await;
    assert_eq!(health["bus_connected"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgresql_is_a_clear_error_at_start() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let database = format!("postgres://postgres@{closed}/safecare");
    let any = "127.0.0.1:0".parse().unwrap();
    let err = Platform::start(PlatformConfig::embedded(any, database, any))
        .await
        .err()
        .expect("nothing listens there");
    let message = format!("{err:#}");
    assert!(message.contains(&closed.to_string()), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_holds_events_until_a_restart_with_room_stores_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _broker = MosquittoProcess::start(port, dir.path(), true).unwrap();
    let url = BrokerUrl::parse(&format!("mqtt://127.0.0.1:{port}")).unwrap();
    let database = format!("sqlite://{}", dir.path().join("safecare.db").display());
    let client_id = format!("safecare-exchange-full-{}", ulid::Ulid::new());
    let config = |max_bytes: Option<u64>| {
        let any = "127.0.0.1:0".parse().unwrap();
        let mut config = PlatformConfig::embedded(any, database.clone(), any);
        config.broker = BrokerChoice::External(url.clone());
        config.store.sqlite_max_bytes = max_bytes;
        config.instance = client_id.clone();
        config
    };

    // A store capped at 512 KiB fills up long before 3000 events are in.
    let mut full =
        common::start_config(config(Some(512 * 1024)), None, tempfile::tempdir().unwrap()).await;
    let (bus, _) = full.client("logs", &[]).await;
    let sent = events(
        3000,
        "a failed login with a long enough summary to take some room",
    );
    for event in &sent {
        bus.publish_event(event).await.unwrap();
    }
    let mut saw_full = false;
    for _ in 0..100 {
        let metrics = reqwest::get(format!("{}/metrics", full.http))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("safecare_store_errors_total{code=\"full\"}") {
            saw_full = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saw_full, "the store reported itself full");
    let (status, _) = full.get("/api/events?limit=5").await;
    assert_eq!(
        status, 200,
        "reads keep being served while the store is full"
    );
    let stored_while_full = full
        .platform
        .exchange
        .reader()
        .counts()
        .await
        .unwrap()
        .events;
    assert!(stored_while_full < sent.len() as u64);

    // The operator makes room (here: a restart without the cap) and nothing is missing.
    full.platform.shutdown().await;
    let roomy = common::start_config(config(None), None, tempfile::tempdir().unwrap()).await;
    roomy.wait_for_events(sent.len() as u64).await;
    let counts = roomy.platform.exchange.reader().counts().await.unwrap();
    assert_eq!(counts.events, sent.len() as u64);
    assert_eq!(counts.dead_letters, 0);
    drop(full);
}
