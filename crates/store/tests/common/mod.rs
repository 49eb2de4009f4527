//! Test databases for both backends, and builders for the documents stored.
//!
//! Every test gets a fresh database: a SQLite file in its own temporary
//! directory, or a new PostgreSQL database `safecare_test_<ulid>` dropped when
//! the test ends (even when it panics), so tests run in parallel.

#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use safecare_core::{
    Alert, AlertDomain, AlertStatus, AuditRecord, CapSeverity, Incident, IncidentState,
    IncidentType, Location, Module, SecurityEvent,
};
use safecare_store::{Store, StoreOptions};
use sqlx::{Connection, Executor, PgConnection};
use ulid::Ulid;

/// The server the PostgreSQL half of the suite runs against.
pub fn postgres_admin_url() -> String {
    std::env::var("SAFECARE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh, empty database that disappears with the value.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// Creates a new database; panics with instructions when PostgreSQL is down.
    pub async fn new(kind: Kind) -> TestDb {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                TestDb {
                    kind,
                    url,
                    dir: Some(dir),
                    pg_name: None,
                }
            }
            Kind::Postgres => {
                let name = format!("safecare_test_{}", Ulid::new().to_string().to_lowercase());
                let mut admin = admin_connection().await;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .unwrap_or_else(|err| panic!("could not create test database {name}: {err}"));
                let url = database_url(&postgres_admin_url(), &name);
                TestDb {
                    kind,
                    url,
                    dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Opens the store with default options.
    pub async fn open(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|err| panic!("could not open {}: {err}", self.url))
    }

    /// Opens the store with explicit options.
    pub async fn open_with(&self, options: StoreOptions) -> Store {
        Store::open_with(&self.url, options)
            .await
            .unwrap_or_else(|err| panic!("could not open {}: {err}", self.url))
    }

    /// The SQLite file path (SQLite only).
    pub fn sqlite_path(&self) -> std::path::PathBuf {
        self.dir
            .as_ref()
            .expect("a SQLite test database")
            .path()
            .join("store.db")
    }

    /// The PostgreSQL database name (PostgreSQL only).
    pub fn pg_name(&self) -> &str {
        self.pg_name.as_deref().expect("a PostgreSQL test database")
    }

    /// Runs raw SQL on the database behind the store's back (fault injection).
    pub async fn execute_raw(&self, sql: &'static str) {
        match self.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
            }
            Kind::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async code (maybe while unwinding): use a thread of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async move {
                let mut admin = admin_connection().await;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                admin.execute(sqlx::AssertSqlSafe(sql)).await.map(|_| ())
            })
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop a test database: {err}");
        }
    }
}

/// A connection to the server's maintenance database, or a panic saying how to start it.
pub async fn admin_connection() -> PgConnection {
    let url = postgres_admin_url();
    let connect = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&url)).await;
    match connect {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => panic!("{}", postgres_down_message(&url, &err.to_string())),
        Err(_) => panic!("{}", postgres_down_message(&url, "no answer within 10 s")),
    }
}

fn postgres_down_message(url: &str, err: &str) -> String {
    format!(
        "PostgreSQL is not reachable at {url} ({err}). The store tests need a real server: \
         start one (Debian: `apt-get install postgresql && pg_ctlcluster 15 main start`, with \
         `trust` auth for local TCP in pg_hba.conf; or \
         `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`), or set \
         SAFECARE_TEST_POSTGRES to the URL of a server whose user may CREATE DATABASE."
    )
}

/// The admin URL with its database name replaced.
fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin, String::new()),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// A fixed point in time, plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// An event with the fields the filters look at.
pub fn event(
    module: Module,
    kind: &str,
    severity: u8,
    time: DateTime<Utc>,
    asset: Option<&str>,
    zone: Option<&str>,
) -> SecurityEvent {
    let mut event = SecurityEvent::new(module, kind, severity, format!("{kind} seen"));
    event.time = time;
    event.asset = asset.map(str::to_string);
    event.location = zone.map(|zone| Location {
        zone: Some(zone.to_string()),
        ..Location::default()
    });
    event
}

/// An alert created at `created`, covering `first..=last`.
pub fn alert(
    status: AlertStatus,
    severity: CapSeverity,
    domain: AlertDomain,
    zone: Option<&str>,
    created: DateTime<Utc>,
) -> Alert {
    Alert {
        id: Ulid::new(),
        rule: "test.rule".to_string(),
        title: "Test alert".to_string(),
        summary: "Something happened".to_string(),
        status,
        severity,
        domain,
        kinds: vec!["network.port_scan".to_string()],
        event_ids: vec![Ulid::new()],
        event_count: 1,
        asset: Some("pacs-01".to_string()),
        zone: zone.map(str::to_string),
        techniques: Vec::new(),
        first_seen: created,
        last_seen: created + chrono::Duration::seconds(60),
        created,
        updated: created,
        dismiss_reason: None,
        incident: None,
    }
}

/// An incident created at `created`.
pub fn incident(
    kind: IncidentType,
    state: IncidentState,
    owner: Option<&str>,
    created: DateTime<Utc>,
) -> Incident {
    Incident {
        id: Ulid::new(),
        title: "Test incident".to_string(),
        kind,
        state,
        severity: CapSeverity::Severe,
        assets: vec!["pacs-01".to_string()],
        zones: vec!["radiology".to_string()],
        alert_ids: vec![Ulid::new()],
        owner: owner.map(str::to_string),
        notes: Vec::new(),
        timeline: Vec::new(),
        created,
        updated: created,
        merged_into: None,
    }
}

/// An audit record about `target` at `time`.
pub fn audit(target: Ulid, action: &str, time: DateTime<Utc>) -> AuditRecord {
    let mut record = AuditRecord::new(
        "alice",
        action,
        "alert",
        target,
        serde_json::json!({ "action": action }),
    );
    record.time = time;
    record
}
