//! Throwaway PostgreSQL clusters for OpenCEC's tests.
//!
//! The storage crate's tests run against a real PostgreSQL server inside plain
//! `cargo test`. This crate starts one: `initdb` into a temporary directory, `postgres` on
//! a free port of `127.0.0.1` with `trust` authentication and durability switched off, and
//! hands out empty databases by URL. It talks to PostgreSQL only through PostgreSQL's own
//! programs (`initdb`, `postgres`, `pg_isready`, `psql`), so it needs no driver and no
//! async runtime.
//!
//! We wrote it ourselves because the existing crates either download PostgreSQL builds at
//! test time (impossible on our offline CI), need Docker, or pull in a driver and a runtime;
//! and none handles what our CI needs: running as root (the server then runs as the
//! `postgres` system user through `runuser`) and never leaking a server when a test process
//! dies without running destructors (see the `watchdog` module: a small `sh` script owns
//! the server and stops it when the test process is gone).
//!
//! The server binaries are taken from `initdb` in PATH, else from the highest
//! `/usr/lib/postgresql/<N>/bin` (Debian's layout, installed by `scripts/install-deps`).
//! When they are missing every call fails with [`PgTestError::NotInstalled`]: tests fail
//! with a hint rather than being skipped.
//!
//! # Example
//!
//! ```no_run
//! let cluster = cec_pgtest::shared()?;
//! let url = cluster.fresh_database()?; // postgres://postgres@127.0.0.1:PORT/t_0_1234
//! assert!(url.starts_with("postgres://postgres@127.0.0.1:"));
//! # Ok::<(), cec_pgtest::PgTestError>(())
//! ```

mod cluster;
mod error;
mod identity;
mod install;
mod launch;
mod watchdog;

use std::sync::{Mutex, OnceLock, PoisonError};

pub use cluster::{PgCluster, SUPERUSER};
pub use error::PgTestError;

static SHARED: OnceLock<PgCluster> = OnceLock::new();
static SHARED_START: Mutex<()> = Mutex::new(());

/// One throwaway cluster per test process, started on first use, stopped when the process
/// exits.
///
/// Statics are never dropped, so the stop is the watchdog's: it notices within about
/// 200 ms that the process is gone, shuts the server down and removes its directory. Give
/// each test its own database with [`PgCluster::fresh_database`]. A failed start is not
/// remembered: the next call tries again.
///
/// # Errors
///
/// As [`PgCluster::start`].
pub fn shared() -> Result<&'static PgCluster, PgTestError> {
    if let Some(cluster) = SHARED.get() {
        return Ok(cluster);
    }
    // Only one thread starts the cluster; the others wait here and then find it.
    let _starting = SHARED_START.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = SHARED.get() {
        return Ok(cluster);
    }
    let cluster = PgCluster::start()?;
    Ok(SHARED.get_or_init(|| cluster))
}
