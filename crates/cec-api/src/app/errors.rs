//! The one place a store or call-control error becomes an HTTP problem.

use cec_store::{DatabaseError, StoreError};

use crate::{ControlError, FieldError, Problem};

impl From<ControlError> for Problem {
    fn from(error: ControlError) -> Problem {
        match error {
            ControlError::NotFound(what) => Problem::not_found(what),
            ControlError::InvalidTransition(why) => Problem::unprocessable(why),
            ControlError::Unavailable(why) => {
                Problem::service_unavailable(format!("call control unavailable: {why}"))
            }
        }
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Problem {
        match error {
            StoreError::Invalid(errors) => Problem::invalid_fields(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(e.field, e.reason))
                    .collect(),
            ),
            StoreError::NotFound { kind, key } => {
                Problem::not_found(format_args!("{kind} {key:?}"))
            }
            StoreError::Duplicate { kind, key } => {
                Problem::conflict(format!("{kind} {key:?} already exists"))
            }
            StoreError::VersionMismatch { expected, current } => {
                Problem::version_conflict(format!(
                    "the object changed: you sent version {expected}, the current version is {current}; \
                 read it again and retry"
                ))
            }
            StoreError::InUse { kind, key, used_by } => {
                Problem::conflict(format!("{kind} {key:?} is still used by {used_by}"))
            }
            StoreError::BadCredentials => Problem::unauthorized("invalid credentials"),
            StoreError::Database(err) if is_unavailable(&err) => {
                tracing::warn!(%err, "database unavailable");
                Problem::service_unavailable("the database is not reachable; retry later")
            }
            other => Problem::internal(&other),
        }
    }
}

fn is_unavailable(err: &DatabaseError) -> bool {
    matches!(
        err,
        DatabaseError::PoolTimedOut | DatabaseError::PoolClosed | DatabaseError::Io(_)
    )
}
