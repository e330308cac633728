//! Configuration storage for OpenCEC: tenants, trunks, access codes, called routes, skill
//! queues, agents, prompts, calendars, reason codes, IVR flow documents, API keys and the
//! audit log, plus the records the call path writes (call records and the event log), on an
//! embedded SQLite database (default) or PostgreSQL.
//!
//! # Design
//!
//! Queries go through sqlx's `Any` driver with plain runtime-checked SQL that both backends
//! accept, so one code path serves both and the same test suite runs against both; each
//! backend keeps its own migrations folder (types differ). Tenant-scoped objects share one
//! `resources` table: the columns the database must index or constrain (tenant, kind, natural
//! key, a second unique key, version) are real columns, the rest of the object is a JSON body
//! validated by its Rust type. References between objects are rows of `resource_refs`, so
//! deleting an object that something points at fails in the database, not only in our checks.
//! Write-only secrets (SIP HA1 values, argon2 hashes, carrier passwords) live in a separate
//! column and never appear in an object's body, its API representation or an export.
//!
//! Every change writes its audit entry in the same transaction; SQLite runs in WAL mode with
//! `synchronous = FULL` and PostgreSQL with its default durability, so a change is on disk
//! when the call returns. Concurrent updates are detected by the `version` column.

mod audit;
mod calls;
mod cdr_list;
mod config_doc;
mod credentials;
mod db;
mod error;
mod events;
mod keys;
pub mod model;
mod prompts;
mod repo;
mod resource;
mod tenants;

use std::path::PathBuf;

pub use audit::{Action, AuditEntry, AuditQuery};
pub use calls::{CdrRecord, CdrState, DEFAULT_RECORD_LIMIT, LegQuality, MAX_RECORD_LIMIT};
pub use cdr_list::CdrQuery;
pub use config_doc::{ApplySummary, TenantConfig, TenantSettings};
pub use credentials::{hash_password, password_problem, random_hex, verify_password};
pub use db::Backend;
pub use error::{FieldError, Problems, StoreError};
pub use events::EventRecord;
pub use keys::{ApiKey, KeyRole, NewApiKey};
pub use repo::validate;
pub use resource::{Kind, Listing, Page, RefField, Resource, Stored};
/// The database driver's error (inside [`StoreError::Database`]).
pub use sqlx::Error as DatabaseError;

/// Who makes a change, as written to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// An API key.
    pub fn key(access_key: &str) -> Actor {
        Actor(format!("key:{access_key}"))
    }

    /// An agent (by work number).
    pub fn agent(work_no: &str) -> Actor {
        Actor(format!("agent:{work_no}"))
    }

    /// The server itself (start-up, demo seeding, migrations).
    pub fn system(what: &str) -> Actor {
        Actor(what.to_owned())
    }

    /// The audit-log form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path` or `postgres://…`.
    pub url: String,
    /// SIP digest realm (HA1 values are computed for it).
    pub sip_realm: String,
    /// Where prompt audio files are kept.
    pub data_dir: PathBuf,
    /// Pool size.
    pub max_connections: u32,
}

/// The configuration store. Cheap to clone (pools are shared).
#[derive(Clone)]
pub struct Store {
    pools: db::Pools,
    realm: String,
    data_dir: PathBuf,
}

impl Store {
    /// Opens (and for SQLite creates) the database. Does not migrate: call [`Store::migrate`].
    pub async fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        let pools = db::open(&options.url, options.max_connections).await?;
        Ok(Store {
            pools,
            realm: options.sip_realm.clone(),
            data_dir: options.data_dir.clone(),
        })
    }

    /// Applies the backend's pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        db::migrate(&self.pools).await
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.pools.backend
    }

    /// The SIP realm HA1 values are computed for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pools.read).await?;
        Ok(())
    }

    /// A value that changes whenever any tenant or tenant object is created, updated or
    /// deleted (counts and version sums): readers that cache the configuration poll it
    /// cheaply and reload only when it moved.
    pub async fn config_fingerprint(&self) -> Result<[i64; 4], StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM resources) AS a, \
             (SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM resources) AS b, \
             (SELECT COUNT(*) FROM tenants) AS c, \
             (SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM tenants) AS d",
        )
        .fetch_one(&self.pools.read)
        .await?;
        use sqlx::Row;
        Ok([
            row.try_get("a")?,
            row.try_get("b")?,
            row.try_get("c")?,
            row.try_get("d")?,
        ])
    }

    /// Closes the pools (waits for connections in use).
    pub async fn close(&self) {
        self.pools.read.close().await;
        self.pools.write.close().await;
    }
}
