//! Opening a database: URL parsing, pre-flight checks, pools and migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor, SqlSafeStr};

use crate::sqlite_writer::SqliteWriter;
use crate::{Backend, StoreError, Writer};

/// The schema, one file for both backends.
const MIGRATION_0001: &str = include_str!("../migrations/0001_initial.sql");

/// Page cache of the SQLite writer connection, in KiB.
const SQLITE_WRITER_CACHE_KIB: u32 = 64 * 1024;

/// Page cache of each SQLite reader connection, in KiB.
const SQLITE_READER_CACHE_KIB: u32 = 16 * 1024;

/// WAL pages written before SQLite copies them back into the database file.
const SQLITE_CHECKPOINT_PAGES: u32 = 4000;

/// Tuning for [`crate::Store::open_with`]; the defaults suit one hospital.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a write waits for a lock held by someone else before it fails
    /// with [`StoreError::Busy`] (SQLite `busy_timeout`, PostgreSQL `lock_timeout`).
    pub busy_timeout: Duration,
    /// How long to wait for a free connection, or for PostgreSQL to answer.
    pub acquire_timeout: Duration,
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// Caps the SQLite file at about this many bytes; writes past it fail with
    /// [`StoreError::Full`]. `None` lets the file grow until the disk is full.
    pub sqlite_max_bytes: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
            max_connections: 4,
            sqlite_max_bytes: None,
        }
    }
}

/// Where the data lives, as read from a `--database` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    SqliteFile(PathBuf),
    SqliteMemory,
    Postgres(String),
}

/// The pools a store works with: one that writes, one that only reads.
pub(crate) struct Pools {
    pub(crate) backend: Backend,
    pub(crate) writer: Writer,
    pub(crate) reader: AnyPool,
    pub(crate) description: String,
}

/// Reads a `--database` URL: `sqlite://PATH`, `sqlite::memory:` or `postgres://...`.
pub(crate) fn parse_target(url: &str) -> Result<Target, StoreError> {
    let invalid = |detail: &str| StoreError::InvalidUrl {
        url: redact(url),
        detail: detail.to_string(),
    };

    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(Target::SqliteMemory);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_string()));
    }

    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| invalid("unknown scheme"))?;
    if path.is_empty() {
        return Err(invalid("the SQLite path is empty"));
    }
    Ok(Target::SqliteFile(PathBuf::from(path)))
}

/// Opens the pools for `target` and brings the schema up to date.
pub(crate) async fn open(target: &Target, options: &StoreOptions) -> Result<Pools, StoreError> {
    sqlx::any::install_default_drivers();
    match target {
        Target::SqliteFile(path) => open_sqlite_file(path, options).await,
        Target::SqliteMemory => open_sqlite_memory(options).await,
        Target::Postgres(url) => open_postgres(url, options).await,
    }
}

/// A SQLite file: one writer connection in WAL mode, several query-only readers.
async fn open_sqlite_file(path: &Path, options: &StoreOptions) -> Result<Pools, StoreError> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let shown = path.display().to_string();
    preflight_sqlite_file(&path)?;

    // A single connection first, so that the real cause of a failure reaches
    // the caller instead of a pool timeout.
    let connect_options = any_options(&sqlite_url(&path), &shown)?;
    let mut first = AnyConnection::connect_with(&connect_options)
        .await
        .map_err(|err| sqlite_open_error(&shown, err))?;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
        .fetch_one(&mut first)
        .await
        .map_err(|err| sqlite_open_error(&shown, err))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        // Some file systems (network shares) cannot hold a WAL; SQLite then keeps
        // its rollback journal, which is slower and lets writers block readers.
        tracing::warn!(file = %shown, %journal_mode, "SQLite could not switch to WAL mode");
    }
    migrate(&mut first, Backend::Sqlite).await?;
    first
        .close()
        .await
        .map_err(|err| StoreError::from_sqlx(err, Backend::Sqlite))?;

    let writer = SqliteWriter::start(&path, &SqliteTuning::writer(options))?;
    let reader = sqlite_pool(
        options,
        options.max_connections.max(1),
        SqliteTuning::reader(options),
    )
    .connect_with(connect_options)
    .await
    .map_err(|err| sqlite_open_error(&shown, err))?;

    Ok(Pools {
        backend: Backend::Sqlite,
        writer: Writer::SqliteThread(writer),
        reader,
        description: format!("SQLite file {shown} (WAL)"),
    })
}

/// An in-memory SQLite database for tests: one connection that never closes,
/// shared by writes and reads (each new connection would see an empty database).
async fn open_sqlite_memory(options: &StoreOptions) -> Result<Pools, StoreError> {
    let shown = "an in-memory SQLite database";
    let connect_options = any_options("sqlite::memory:", shown)?;
    let pool = sqlite_pool(options, 1, SqliteTuning::writer(options))
        .connect_with(connect_options)
        .await
        .map_err(|err| sqlite_open_error(shown, err))?;

    let mut conn = pool
        .acquire()
        .await
        .map_err(|err| StoreError::from_sqlx(err, Backend::Sqlite))?;
    migrate(&mut conn, Backend::Sqlite).await?;
    drop(conn);

    Ok(Pools {
        backend: Backend::Sqlite,
        writer: Writer::Pool(pool.clone()),
        reader: pool,
        description: "in-memory SQLite".to_string(),
    })
}

/// PostgreSQL: one pool; reads and writes share it.
async fn open_postgres(url: &str, options: &StoreOptions) -> Result<Pools, StoreError> {
    let shown = redact(url);
    let connect_options = any_options(url, &shown)?;

    let first = tokio::time::timeout(
        options.acquire_timeout,
        AnyConnection::connect_with(&connect_options),
    )
    .await;
    let mut first = match first {
        Ok(result) => result.map_err(|err| postgres_open_error(&shown, err))?,
        Err(_) => {
            return Err(StoreError::Connection {
                detail: format!(
                    "could not connect to PostgreSQL at {shown}: no answer within {:?}",
                    options.acquire_timeout
                ),
            });
        }
    };
    migrate(&mut first, Backend::Postgres).await?;
    first
        .close()
        .await
        .map_err(|err| StoreError::from_sqlx(err, Backend::Postgres))?;

    let lock_timeout = format!("SET lock_timeout = {}", options.busy_timeout.as_millis());
    let pool = AnyPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |conn, _meta| {
            let statement = lock_timeout.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(statement)).await?;
                Ok(())
            })
        })
        .connect_with(connect_options)
        .await
        .map_err(|err| postgres_open_error(&shown, err))?;

    Ok(Pools {
        backend: Backend::Postgres,
        writer: Writer::Pool(pool.clone()),
        reader: pool,
        description: format!("PostgreSQL {shown}"),
    })
}

/// The settings every SQLite connection of a store gets.
#[derive(Debug, Clone)]
pub(crate) struct SqliteTuning {
    pub(crate) busy_timeout: Duration,
    cache_kib: u32,
    query_only: bool,
    /// The size cap (`max_page_count`), for the writer only.
    pub(crate) max_bytes: Option<u64>,
}

impl SqliteTuning {
    /// The one connection that writes.
    pub(crate) fn writer(options: &StoreOptions) -> SqliteTuning {
        SqliteTuning {
            busy_timeout: options.busy_timeout,
            cache_kib: SQLITE_WRITER_CACHE_KIB,
            query_only: false,
            max_bytes: options.sqlite_max_bytes,
        }
    }

    /// A connection that refuses every write.
    fn reader(options: &StoreOptions) -> SqliteTuning {
        SqliteTuning {
            busy_timeout: options.busy_timeout,
            cache_kib: SQLITE_READER_CACHE_KIB,
            query_only: true,
            max_bytes: None,
        }
    }

    /// The PRAGMA statements, except the size cap, which needs the page size first.
    ///
    /// A large page cache keeps the indexes of recent events in memory,
    /// statement journals of multi-row INSERTs stay in memory, and the WAL is
    /// copied back to the database file less often.
    pub(crate) fn pragmas(&self) -> String {
        format!(
            "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; \
             PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}; \
             PRAGMA query_only = {};",
            self.busy_timeout.as_millis(),
            self.cache_kib,
            if self.query_only { "ON" } else { "OFF" }
        )
    }

    /// The PRAGMA that caps the file at `max_bytes` for pages of `page_size`
    /// bytes (read it only when there is a cap); empty without a cap.
    pub(crate) fn size_cap(&self, page_size: i64) -> String {
        match self.max_bytes {
            Some(max_bytes) => {
                let pages = max_bytes / page_size.max(512) as u64;
                format!(" PRAGMA max_page_count = {pages};")
            }
            None => String::new(),
        }
    }
}

/// Pool settings for SQLite: the readers of a file, or the one shared
/// connection of an in-memory database.
fn sqlite_pool(options: &StoreOptions, size: u32, tuning: SqliteTuning) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(size)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |conn, _meta| {
            let tuning = tuning.clone();
            Box::pin(async move {
                let mut pragmas = tuning.pragmas();
                if tuning.max_bytes.is_some() {
                    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
                        .fetch_one(&mut *conn)
                        .await?;
                    pragmas.push_str(&tuning.size_cap(page_size));
                }
                conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                Ok(())
            })
        })
}

/// Runs the migrations that are not applied yet.
async fn migrate(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
    let migration = Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        MIGRATION_0001.into_sql_str(),
        false,
    );
    let migrator = Migrator::with_migrations(vec![migration]);

    migrator.run(&mut *conn).await.map_err(|err| match err {
        sqlx::migrate::MigrateError::Execute(inner) => {
            match StoreError::from_sqlx(inner, backend) {
                StoreError::Other { detail } => StoreError::Migration { detail },
                classified => classified,
            }
        }
        other => StoreError::Migration {
            detail: format!("{other}; the database was written by another SafeCare version"),
        },
    })
}

/// Connect options with per-statement logging off (batches are large).
fn any_options(url: &str, shown: &str) -> Result<AnyConnectOptions, StoreError> {
    AnyConnectOptions::from_str(url)
        .map(|options| options.disable_statement_logging())
        .map_err(|err| StoreError::InvalidUrl {
            url: shown.to_string(),
            detail: err.to_string(),
        })
}

/// Checks that the file can be created and written, to report the OS reason.
fn preflight_sqlite_file(path: &Path) -> Result<(), StoreError> {
    let result = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    let Err(err) = result else {
        return Ok(());
    };

    let detail = match err.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::NotFound => "its directory does not exist".to_string(),
        std::io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => err.to_string(),
    };
    Err(StoreError::Open {
        target: format!("sqlite file {}", path.display()),
        detail,
        hint: "pass --database with a writable path".to_string(),
    })
}

/// The sqlx URL of a SQLite file, created if missing.
fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    url
}

/// Explains a failure to open or set up a SQLite file.
fn sqlite_open_error(shown: &str, err: sqlx::Error) -> StoreError {
    match StoreError::from_sqlx(err, Backend::Sqlite) {
        StoreError::Corrupt { detail } => StoreError::Corrupt {
            detail: format!("{shown} is not a SafeCare SQLite database or is damaged ({detail})"),
        },
        StoreError::Other { detail } => StoreError::Open {
            target: format!("sqlite file {shown}"),
            detail,
            hint: "pass --database with a writable path".to_string(),
        },
        classified => classified,
    }
}

/// Explains a failure to reach or log in to PostgreSQL.
fn postgres_open_error(shown: &str, err: sqlx::Error) -> StoreError {
    let code = err
        .as_database_error()
        .and_then(|db| db.code().map(|c| c.into_owned()));
    let detail = err.to_string();

    match code.as_deref() {
        Some("3D000") => StoreError::Open {
            target: format!("PostgreSQL {shown}"),
            detail,
            hint: "create the database first (createdb) or fix --database".to_string(),
        },
        Some("28000" | "28P01") => StoreError::Open {
            target: format!("PostgreSQL {shown}"),
            detail,
            hint: "check the user and password in --database".to_string(),
        },
        _ => match StoreError::from_sqlx(err, Backend::Postgres) {
            StoreError::Connection { .. } | StoreError::Other { .. } => StoreError::Connection {
                detail: format!("could not connect to PostgreSQL at {shown}: {detail}"),
            },
            classified => classified,
        },
    }
}

/// The URL without its password, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let tail = tail.split('?').next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_url_forms() {
        assert_eq!(
            parse_target("sqlite::memory:").unwrap(),
            Target::SqliteMemory
        );
        assert_eq!(
            parse_target("sqlite://data/safecare.db").unwrap(),
            Target::SqliteFile(PathBuf::from("data/safecare.db"))
        );
        assert!(matches!(
            parse_target("postgres://u@h:5432/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(matches!(
            parse_target("mysql://x").unwrap_err(),
            StoreError::InvalidUrl { .. }
        ));
    }

    #[test]
    fn redact_drops_the_password_and_options() {
        assert_eq!(
            redact("postgres://app:secret@db.local:5432/safecare?sslmode=require"),
            "postgres://app@db.local:5432/safecare"
        );
    }

    #[test]
    fn sqlite_url_escapes_special_characters() {
        assert_eq!(
            sqlite_url(Path::new("/tmp/a b?.db")),
            "sqlite:///tmp/a%20b%3F.db?mode=rwc"
        );
    }
}
