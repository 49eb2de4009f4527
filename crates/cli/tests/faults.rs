//! Faults the platform must survive without losing what it accepted:
//! a locked database, a broker that goes away and comes back.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Backend;
use safecare_bus::BrokerUrl;
use safecare_cli::platform::BrokerChoice;
use safecare_core::{Module, SecurityEvent};
use safecare_correlate::RuleSet;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_holds_the_batch_and_loses_nothing() {
    let t = common::start(Backend::Embedded).await;
    let (bus, _) = t.client("logs", &[]).await;
    bus.publish_event(&events(1, "warm-up")[0]).await.unwrap();
    t.wait_for_events(1).await;

    // Another process takes the write lock, as a backup tool might.
    let path = t
        .platform
        .database
        .trim_start_matches("sqlite://")
        .to_string();
    let mut locker = SqliteConnection::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    locker.execute("BEGIN EXCLUSIVE").await.unwrap();

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

/// A Mosquitto of the test's own that keeps sessions on disk, as a production broker does.
struct OwnMosquitto {
    child: Child,
}

impl OwnMosquitto {
    fn start(port: u16, dir: &std::path::Path) -> OwnMosquitto {
        let config = dir.join("mosquitto.conf");
        let settings = include_str!("../../../deploy/mosquitto.conf")
            .replace(
                "listener 1883 127.0.0.1",
                &format!("listener {port} 127.0.0.1"),
            )
            .replace("/var/lib/mosquitto/", &format!("{}/", dir.display()));
        std::fs::write(&config, settings).unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (Debian package mosquitto)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        OwnMosquitto { child }
    }
}

impl Drop for OwnMosquitto {
    /// Stops it as an operator would (SIGTERM), so it saves its sessions.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_broker_that_goes_away_and_comes_back_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let broker = OwnMosquitto::start(port, dir.path());
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

    let _broker = OwnMosquitto::start(port, dir.path());
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
    let err = safecare_cli::platform::Platform::start(safecare_cli::platform::PlatformConfig {
        broker: BrokerChoice::Embedded {
            listen: "127.0.0.1:0".parse().unwrap(),
            listen_v5: None,
        },
        database,
        http_listen: "127.0.0.1:0".parse().unwrap(),
        site: safecare_core::site::Site::demo(),
        rules: RuleSet::defaults(),
    })
    .await
    .err()
    .expect("nothing listens there");
    let message = format!("{err:#}");
    assert!(message.contains(&closed.to_string()), "{message}");
}
