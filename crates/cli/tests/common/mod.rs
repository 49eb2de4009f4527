//! A whole platform per test: on the embedded defaults, or on a real Mosquitto
//! and PostgreSQL (127.0.0.1:1883 and :5432 unless SAFECARE_TEST_MQTT and
//! SAFECARE_TEST_POSTGRES say otherwise). A missing server fails the test with
//! the way to start it; nothing is skipped.
#![allow(dead_code)]

use std::time::Duration;

use safecare_bus::{BrokerUrl, BusClient, ClientOptions, Incoming};
use safecare_cli::platform::{BrokerChoice, Platform, PlatformConfig};
use safecare_correlate::RuleSet;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

pub enum Backend {
    Embedded,
    MosquittoPostgres,
}

pub struct TestPlatform {
    pub platform: Platform,
    pub http: String,
    _dir: tempfile::TempDir,
    pg_database: Option<String>,
    _shared_broker: Option<tokio::sync::MutexGuard<'static, ()>>,
}

/// Platforms on the shared Mosquitto take turns: their adapters subscribe to
/// the same native topics and their exchanges to the same event topics, so two
/// at once would each see the other's messages.
static SHARED_BROKER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn mqtt_url() -> String {
    std::env::var("SAFECARE_TEST_MQTT").unwrap_or("mqtt://127.0.0.1:1883".into())
}

pub fn postgres_admin_url() -> String {
    std::env::var("SAFECARE_TEST_POSTGRES")
        .unwrap_or("postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates an empty database of the test's own and returns its URL.
pub async fn fresh_postgres() -> (String, String) {
    let admin = postgres_admin_url();
    let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|err| {
        panic!("PostgreSQL is not reachable at {admin} ({err}): start it with `pg_ctlcluster 15 main start` or set SAFECARE_TEST_POSTGRES")
    });
    let name = format!(
        "safecare_cli_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin);
    (format!("{base}/{name}"), name)
}

pub async fn start(backend: Backend) -> TestPlatform {
    start_with(backend, RuleSet::defaults()).await
}

pub async fn start_with(backend: Backend, rules: RuleSet) -> TestPlatform {
    let dir = tempfile::tempdir().unwrap();
    let mut shared = None;
    let (broker, database, pg_database) = match backend {
        Backend::Embedded => (
            BrokerChoice::Embedded {
                listen: "127.0.0.1:0".parse().unwrap(),
                listen_v5: None,
            },
            format!("sqlite://{}", dir.path().join("safecare.db").display()),
            None,
        ),
        Backend::MosquittoPostgres => {
            shared = Some(SHARED_BROKER.lock().await);
            let (url, name) = fresh_postgres().await;
            (
                BrokerChoice::External(BrokerUrl::parse(&mqtt_url()).unwrap()),
                url,
                Some(name),
            )
        }
    };
    let mut platform = start_on(broker, database, pg_database, dir, rules).await;
    platform._shared_broker = shared;
    platform
}

pub async fn start_on(
    broker: BrokerChoice,
    database: String,
    pg_database: Option<String>,
    dir: tempfile::TempDir,
    rules: RuleSet,
) -> TestPlatform {
    start_config(
        PlatformConfig {
            broker,
            rules,
            instance: format!("safecare-test-{}", ulid::Ulid::new()),
            ..PlatformConfig::embedded(any(), database, any())
        },
        pg_database,
        dir,
    )
    .await
}

fn any() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn start_config(
    config: PlatformConfig,
    pg_database: Option<String>,
    dir: tempfile::TempDir,
) -> TestPlatform {
    let platform = Platform::start(config)
        .await
        .unwrap_or_else(|err| panic!("platform starts: {err:#}"));
    let http = format!("http://{}", platform.http_addr);
    TestPlatform {
        platform,
        http,
        _dir: dir,
        pg_database,
        _shared_broker: None,
    }
}

impl TestPlatform {
    /// A bus client speaking for `module`, subscribed to `filters`.
    pub async fn client(&self, module: &str, filters: &[&str]) -> (BusClient, Incoming) {
        let mut options = ClientOptions::new(module);
        options.client_id = format!("test-{module}-{}", ulid::Ulid::new());
        for filter in filters {
            options = options.subscribe(filter, safecare_bus::QoS::AtLeastOnce);
        }
        BusClient::connect(&self.platform.broker_url, options, Duration::from_secs(10))
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::get(format!("{}{path}", self.http)).await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{}{path}", self.http))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn wait_for_events(&self, count: u64) {
        self.platform
            .wait_for_events(count, Duration::from_secs(30))
            .await
            .unwrap();
    }

    /// Waits until the store holds `count` dead letters.
    pub async fn wait_for_dead_letters(&self, count: u64) {
        for _ in 0..300 {
            self.platform.exchange.sync().await;
            let counts = self.platform.exchange.reader().counts().await.unwrap();
            if counts.dead_letters >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("fewer than {count} dead letters after 6 s");
    }
}

impl Drop for TestPlatform {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            let admin = postgres_admin_url();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(mut conn) = PgConnection::connect(&admin).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                        }
                    });
                }
            })
            .join()
            .ok();
        }
    }
}
