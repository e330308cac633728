//! The one error type of this crate.

use std::time::Duration;

/// Why a throwaway cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgTestError {
    /// No `initdb`/`postgres` pair was found.
    #[error(
        "PostgreSQL server binaries not found (looked in PATH and /usr/lib/postgresql/*/bin); \
         run scripts/install-deps"
    )]
    NotInstalled,
    /// A PostgreSQL program (or `chown`/`runuser`) ran but failed.
    #[error("{what} failed ({status}): {stderr}")]
    Command {
        /// What was being done, e.g. `initdb` or `psql: CREATE DATABASE t_1_42`.
        what: String,
        /// How it ended, e.g. `exit status: 1`.
        status: String,
        /// Its standard error, or the tail of the server log for the server itself.
        stderr: String,
    },
    /// The server did not accept connections, or did not stop, in time.
    #[error("timed out after {waited:?} waiting for {what}; server log tail:\n{log_tail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        waited: Duration,
        /// The last lines of the server log.
        log_tail: String,
    },
    /// A file system or process-spawning operation failed.
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl PgTestError {
    /// Wraps an I/O error with what we were doing when it happened.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
