//! The one error type of the store, and the field-level validation errors it carries.

use serde::Serialize;

/// One invalid field of an input: a path such as `skills[0].weight` and why it is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body.
    pub field: String,
    /// What is wrong with it, for a human.
    pub reason: String,
}

impl FieldError {
    /// A field error for `field` with `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Everything a store call can fail with. Each variant maps to one HTTP status in the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The input is invalid; every invalid field is listed (HTTP 400).
    #[error("invalid input: {}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// No such object in this tenant (HTTP 404).
    #[error("{kind} {key:?} not found")]
    NotFound {
        /// The kind of object looked for.
        kind: &'static str,
        /// The id or natural key asked for.
        key: String,
    },
    /// A unique key is taken (HTTP 409).
    #[error("{kind} {key:?} already exists")]
    Duplicate {
        /// The kind of object.
        kind: &'static str,
        /// The natural key that is taken.
        key: String,
    },
    /// The object changed since the caller read it (HTTP 409).
    #[error("version mismatch: expected {expected}, current {current}")]
    VersionMismatch {
        /// The version the caller based its change on.
        expected: i64,
        /// The version in the store.
        current: i64,
    },
    /// The object is still referenced and cannot be deleted (HTTP 409).
    #[error("{kind} {key:?} is still used by {used_by}")]
    InUse {
        /// The kind of object.
        kind: &'static str,
        /// Its natural key.
        key: String,
        /// Who refers to it (kind and natural key of one referrer).
        used_by: String,
    },
    /// The credentials do not match (HTTP 401).
    #[error("invalid credentials")]
    BadCredentials,
    /// A stored document could not be read back (corruption or an incompatible version).
    #[error("stored {kind} {id} is unreadable: {reason}")]
    Corrupt {
        /// The kind of object.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// A file operation under the data dir failed.
    #[error("file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database failed (HTTP 503 / 500).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl StoreError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> StoreError {
        StoreError::Invalid(vec![FieldError::new(field, reason)])
    }
}

/// Collects field errors while validating one input.
#[derive(Debug, Default)]
pub struct Problems {
    errors: Vec<FieldError>,
}

impl Problems {
    /// Records that `field` is invalid.
    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    /// Records an error when `ok` is false.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, reason: impl Into<String>) {
        if !ok {
            self.add(field, reason);
        }
    }

    /// Checks a string's length in characters.
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let len = value.chars().count();
        if len < min || len > max {
            if min == max {
                self.add(field, format!("must be {min} characters long"));
            } else if min > 0 && len == 0 {
                self.add(field, "must not be empty");
            } else {
                self.add(
                    field,
                    format!("must be {min} to {max} characters long (is {len})"),
                );
            }
        }
    }

    /// Checks that a number lies in `min..=max`.
    pub fn range<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        field: &str,
        value: T,
        min: T,
        max: T,
    ) {
        if value < min || value > max {
            self.add(
                field,
                format!("must be between {min} and {max} (is {value})"),
            );
        }
    }

    /// Records the errors of a nested validation under `prefix`.
    pub fn nested(&mut self, prefix: &str, inner: Problems) {
        for e in inner.errors {
            let sep = if e.field.starts_with('[') { "" } else { "." };
            self.errors.push(FieldError::new(
                format!("{prefix}{sep}{}", e.field),
                e.reason,
            ));
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else the collected errors.
    pub fn finish(self) -> Result<(), StoreError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Invalid(self.errors))
        }
    }
}
