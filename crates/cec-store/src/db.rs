//! Opening the database: backend from the URL, SQLite pragmas, pools, migrations.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::StoreError;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (the default).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a `database.url` names, or `None` for an unknown scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The pools of one database. SQLite gets one writer connection (writes are serialised in
/// the process instead of failing with SQLITE_BUSY) and several readers (WAL lets them run
/// beside the writer); PostgreSQL uses one pool for both.
#[derive(Clone)]
pub(crate) struct Pools {
    pub(crate) backend: Backend,
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
}

/// Makes sure the directory of a SQLite file URL exists and that the URL creates the file.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::invalid(
            "database.url",
            "SQLite needs a file path (sqlite://data/opencec.db)",
        ));
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::File {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let has_mode = rest.contains("mode=");
    let sep = if rest.contains('?') { '&' } else { '?' };
    Ok(if has_mode {
        url.to_owned()
    } else {
        format!("{url}{sep}mode=rwc")
    })
}

pub(crate) async fn open(url: &str, max_connections: u32) -> Result<Pools, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(url).ok_or_else(|| {
        StoreError::invalid("database.url", "must start with sqlite:// or postgres://")
    })?;
    match backend {
        Backend::Sqlite => {
            let url = prepare_sqlite_url(url)?;
            let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
            let pool = |max: u32| {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(Duration::from_secs(10))
                    // A local file needs no liveness ping before every query.
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL: readers do not block the writer; FULL: a commit is on disk
                            // when it returns (configuration writes are durable when the API
                            // answers); foreign keys are off by default in SQLite.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
            };
            let write = pool(1).await?;
            let read = pool(max_connections.max(2)).await?;
            Ok(Pools {
                backend,
                read,
                write,
            })
        }
        Backend::Postgres => {
            let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
            let pool = AnyPoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                // No ping round trip before every query: a broken connection fails its query
                // (the API answers 503, the pool drops the connection) and idle ones are
                // recycled before servers or middleboxes time them out.
                .test_before_acquire(false)
                .idle_timeout(Duration::from_secs(60))
                .max_lifetime(Duration::from_secs(30 * 60))
                .connect_with(options)
                .await?;
            Ok(Pools {
                backend,
                read: pool.clone(),
                write: pool,
            })
        }
    }
}

pub(crate) async fn migrate(pools: &Pools) -> Result<(), StoreError> {
    let migrator = match pools.backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.run(&pools.write).await?;
    Ok(())
}

/// Current time in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A new UUIDv7 (time-ordered, so ids sort by creation and page cursors are stable).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

/// Whether a database error is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_foreign_key_violation() || db.code().is_some_and(|c| c == "23503" || c == "787")
        }
        _ => false,
    }
}
