//! Create/read/update/delete/list for every tenant-scoped kind, with reference checks,
//! optimistic versioning and an audit entry in the same transaction as the change.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::audit::{Action, write_audit};
use crate::db::{is_foreign_key_violation, is_unique_violation, new_id, now_ms};
use crate::error::Problems;
use crate::resource::{Kind, Listing, Page, RefField, Resource, Stored};
use crate::{Actor, Store, StoreError};

/// A `SELECT` of the stored-object columns of one tenant's objects of one kind (`$1`, `$2`),
/// with `$rest` appended: built at compile time, no SQL formatting per query.
macro_rules! select_resources {
    ($rest:literal) => {
        concat!(
            "SELECT id, version, created_ms, updated_ms, body, natural_key FROM resources ",
            "WHERE tenant_id = $1 AND kind = $2 AND ",
            $rest
        )
    };
}

/// Decodes a row with `id, version, created_ms, updated_ms, body` into a stored object.
pub(crate) fn decode_row<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    kind: &'static str,
) -> Result<Stored<T>, StoreError> {
    let id: String = row.try_get("id")?;
    let body: String = row.try_get("body")?;
    let spec = serde_json::from_str::<T>(&body).map_err(|e| StoreError::Corrupt {
        kind,
        id: id.clone(),
        reason: e.to_string(),
    })?;
    Ok(Stored {
        id,
        version: row.try_get("version")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        spec,
    })
}

pub(crate) fn decode<R: Resource>(row: &AnyRow) -> Result<Stored<R>, StoreError> {
    decode_row(row, R::KIND.as_str())
}

fn to_body<R: Resource>(spec: &R) -> Result<String, StoreError> {
    serde_json::to_string(spec).map_err(|e| StoreError::Corrupt {
        kind: R::KIND.as_str(),
        id: String::new(),
        reason: e.to_string(),
    })
}

fn not_found(kind: Kind, key: &str) -> StoreError {
    StoreError::NotFound {
        kind: kind.label(),
        key: key.to_owned(),
    }
}

/// Resolves every reference of `spec` (given as id or natural key) to an id of the right kind
/// in the tenant; returns (field, id) pairs for the refs table.
async fn resolve_refs<R: Resource>(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    spec: &mut R,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut wanted: Vec<(String, Kind, String)> = Vec::new();
    spec.visit_refs(&mut |r: RefField<'_>| wanted.push((r.field, r.kind, r.value.clone())));
    let mut problems = Problems::default();
    let mut resolved = Vec::with_capacity(wanted.len());
    for (field, kind, value) in &wanted {
        let row = sqlx::query(
            "SELECT id FROM resources WHERE tenant_id = $1 AND kind = $2 \
             AND (id = $3 OR natural_key = $3) LIMIT 1",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(value)
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            Some(row) => resolved.push((field.clone(), row.try_get::<String, _>("id")?)),
            None => problems.add(
                field,
                format!("no {} {value:?} in this tenant", kind.label()),
            ),
        }
    }
    problems.finish()?;
    let mut ids = resolved.iter().map(|(_, id)| id.clone());
    spec.visit_refs(&mut |r: RefField<'_>| {
        if let Some(id) = ids.next() {
            *r.value = id;
        }
    });
    Ok(resolved)
}

/// Replaces the outgoing references of `from_id` (none removes them all).
pub(crate) async fn write_refs(
    tx: &mut Transaction<'static, Any>,
    from_id: &str,
    refs: &[(String, String)],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM resource_refs WHERE from_id = $1")
        .bind(from_id)
        .execute(&mut **tx)
        .await?;
    for (field, to_id) in refs {
        sqlx::query(
            "INSERT INTO resource_refs (from_id, field, to_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(from_id)
        .bind(field)
        .bind(to_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The columns of a resource row that a write sets.
pub(crate) struct RowWrite<'a> {
    pub(crate) id: &'a str,
    pub(crate) key: &'a str,
    pub(crate) alt_key: Option<&'a str>,
    pub(crate) time_ms: i64,
    pub(crate) body: &'a str,
    pub(crate) secrets: Option<String>,
}

/// Inserts a new resource row at version 1.
pub(crate) async fn insert_row(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    kind: Kind,
    row: RowWrite<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO resources (id, tenant_id, kind, natural_key, alt_key, version, \
         created_ms, updated_ms, body, secrets) VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $8)",
    )
    .bind(row.id)
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(row.key)
    .bind(row.alt_key)
    .bind(row.time_ms)
    .bind(row.body)
    .bind(row.secrets)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces a resource row and bumps its version; with `version`, only if the row is still
/// at that version. Returns whether a row was written.
pub(crate) async fn update_row(
    tx: &mut Transaction<'static, Any>,
    row: RowWrite<'_>,
    version: Option<i64>,
) -> Result<bool, sqlx::Error> {
    macro_rules! update {
        ($condition:literal) => {
            concat!(
                "UPDATE resources SET natural_key = $1, alt_key = $2, version = version + 1, ",
                "updated_ms = $3, body = $4, secrets = $5 WHERE ",
                $condition
            )
        };
    }
    let sql = match version {
        Some(_) => update!("id = $6 AND version = $7"),
        None => update!("id = $6"),
    };
    let mut query = sqlx::query(sql)
        .bind(row.key)
        .bind(row.alt_key)
        .bind(row.time_ms)
        .bind(row.body)
        .bind(row.secrets)
        .bind(row.id);
    if let Some(version) = version {
        query = query.bind(version);
    }
    Ok(query.execute(&mut **tx).await?.rows_affected() == 1)
}

pub(crate) fn merge_secrets(old: Option<&str>, new: Option<Value>) -> Option<String> {
    let mut merged = old.and_then(|s| serde_json::from_str::<Value>(s).ok());
    if let Some(Value::Object(new)) = new {
        let base = merged.get_or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(base) = base {
            base.extend(new);
        }
    }
    merged.map(|v| v.to_string())
}

fn duplicate_or(err: sqlx::Error, kind: Kind, key: &str, alt_key: Option<&str>) -> StoreError {
    // Both backends name the violated index or its columns in the message.
    if is_unique_violation(&err) && err.to_string().contains("alt_key") {
        return StoreError::Duplicate {
            kind: "SIP user",
            key: alt_key.unwrap_or_default().to_owned(),
        };
    }
    if is_unique_violation(&err) {
        StoreError::Duplicate {
            kind: kind.label(),
            key: key.to_owned(),
        }
    } else {
        StoreError::Database(err)
    }
}

struct Current {
    id: String,
    version: i64,
    created_ms: i64,
    body: String,
    natural_key: String,
    secrets: Option<String>,
}

async fn fetch_current(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    kind: Kind,
    key: &str,
) -> Result<Current, StoreError> {
    let row = sqlx::query(
        "SELECT id, version, created_ms, body, natural_key, secrets FROM resources \
         WHERE tenant_id = $1 AND kind = $2 AND (id = $3 OR natural_key = $3) LIMIT 1",
    )
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| not_found(kind, key))?;
    Ok(Current {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        created_ms: row.try_get("created_ms")?,
        body: row.try_get("body")?,
        natural_key: row.try_get("natural_key")?,
        secrets: row.try_get("secrets")?,
    })
}

/// Fails with a version mismatch when the caller expected another version.
pub(crate) fn check_version(expected: Option<i64>, current: i64) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != current => {
            Err(StoreError::VersionMismatch { expected, current })
        }
        _ => Ok(()),
    }
}

/// Validates a spec without the database: field checks of the kind.
pub fn validate<R: Resource>(spec: &R) -> Result<(), StoreError> {
    let mut problems = Problems::default();
    spec.validate(&mut problems);
    problems.finish()
}

impl Store {
    /// Creates an object in a tenant. References may be given as ids or natural keys.
    pub async fn create<R: Resource>(
        &self,
        actor: &Actor,
        tenant_id: &str,
        mut spec: R,
    ) -> Result<Stored<R>, StoreError> {
        validate(&spec)?;
        spec.reset_managed();
        let secrets = spec.take_secrets(&self.realm);
        let mut tx = self.pools.write.begin().await?;
        let refs = resolve_refs(&mut tx, tenant_id, &mut spec).await?;
        let stored = Stored {
            id: new_id(),
            version: 1,
            created_ms: now_ms(),
            updated_ms: now_ms(),
            spec,
        };
        let key = stored.spec.natural_key();
        let body = to_body(&stored.spec)?;
        let alt_key = stored.spec.alt_key();
        let row = RowWrite {
            id: &stored.id,
            key: &key,
            alt_key: alt_key.as_deref(),
            time_ms: stored.created_ms,
            body: &body,
            secrets: merge_secrets(None, secrets),
        };
        insert_row(&mut tx, tenant_id, R::KIND, row)
            .await
            .map_err(|e| duplicate_or(e, R::KIND, &key, alt_key.as_deref()))?;
        write_refs(&mut tx, &stored.id, &refs).await?;
        write_audit(
            &mut tx,
            Some(tenant_id),
            actor,
            Action::Create,
            R::KIND.as_str(),
            &stored.id,
            &key,
            None,
            Some(&body),
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Reads one object by id or natural key.
    pub async fn get<R: Resource>(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Stored<R>, StoreError> {
        self.get_where::<R>(
            tenant_id,
            select_resources!("(id = $3 OR natural_key = $3) LIMIT 1"),
            key,
        )
        .await
    }

    /// Reads one object by its second unique key (an agent's SIP user).
    pub async fn get_by_alt_key<R: Resource>(
        &self,
        tenant_id: &str,
        alt_key: &str,
    ) -> Result<Stored<R>, StoreError> {
        self.get_where::<R>(
            tenant_id,
            select_resources!("alt_key = $3 LIMIT 1"),
            alt_key,
        )
        .await
    }

    async fn get_where<R: Resource>(
        &self,
        tenant_id: &str,
        sql: &'static str,
        key: &str,
    ) -> Result<Stored<R>, StoreError> {
        let row = sqlx::query(sql)
            .bind(tenant_id)
            .bind(R::KIND.as_str())
            .bind(key)
            .fetch_optional(&self.pools.read)
            .await?
            .ok_or_else(|| not_found(R::KIND, key))?;
        decode(&row)
    }

    /// The stored secrets of an object (hashes), as JSON.
    pub async fn secrets<R: Resource>(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query(
            "SELECT secrets FROM resources WHERE tenant_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(tenant_id)
        .bind(R::KIND.as_str())
        .bind(id)
        .fetch_optional(&self.pools.read)
        .await?
        .ok_or_else(|| not_found(R::KIND, id))?;
        let text: Option<String> = row.try_get("secrets")?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Lists a tenant's objects of one kind, oldest first, a page at a time.
    pub async fn list<R: Resource>(
        &self,
        tenant_id: &str,
        page: &Page,
    ) -> Result<Listing<Stored<R>>, StoreError> {
        let limit = page.effective_limit()?;
        let rows = sqlx::query(select_resources!("id > $3 ORDER BY id LIMIT $4"))
            .bind(tenant_id)
            .bind(R::KIND.as_str())
            .bind(page.cursor.clone().unwrap_or_default())
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pools.read)
            .await?;
        let mut items = rows
            .iter()
            .map(decode::<R>)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|s| s.id.clone())
        } else {
            None
        };
        Ok(Listing { items, next_cursor })
    }

    /// Replaces an object. With `expected_version`, fails with a version mismatch when the
    /// object changed since the caller read it.
    pub async fn update<R: Resource>(
        &self,
        actor: &Actor,
        tenant_id: &str,
        key: &str,
        expected_version: Option<i64>,
        mut spec: R,
    ) -> Result<Stored<R>, StoreError> {
        validate(&spec)?;
        let realm = self.realm.clone();
        self.modify(
            actor,
            tenant_id,
            key,
            expected_version,
            move |previous: &R| {
                let mut problems = Problems::default();
                spec.check_update(previous, &mut problems);
                problems.finish()?;
                spec.carry_over(previous);
                let secrets = spec.take_secrets(&realm);
                Ok((spec, secrets))
            },
        )
        .await
    }

    /// Reads an object, lets `change` build its next version from the current one (and new
    /// secrets to merge), and writes it, all in one transaction.
    pub(crate) async fn modify<R: Resource>(
        &self,
        actor: &Actor,
        tenant_id: &str,
        key: &str,
        expected_version: Option<i64>,
        change: impl FnOnce(&R) -> Result<(R, Option<Value>), StoreError>,
    ) -> Result<Stored<R>, StoreError> {
        let mut tx = self.pools.write.begin().await?;
        let current = fetch_current(&mut tx, tenant_id, R::KIND, key).await?;
        check_version(expected_version, current.version)?;
        let previous: R = serde_json::from_str(&current.body).map_err(|e| StoreError::Corrupt {
            kind: R::KIND.as_str(),
            id: current.id.clone(),
            reason: e.to_string(),
        })?;
        let (mut spec, new_secrets) = change(&previous)?;
        let refs = resolve_refs(&mut tx, tenant_id, &mut spec).await?;
        let new_key = spec.natural_key();
        let body = to_body(&spec)?;
        let updated_ms = now_ms();
        let alt_key = spec.alt_key();
        let row = RowWrite {
            id: &current.id,
            key: &new_key,
            alt_key: alt_key.as_deref(),
            time_ms: updated_ms,
            body: &body,
            secrets: merge_secrets(current.secrets.as_deref(), new_secrets),
        };
        let written = update_row(&mut tx, row, Some(current.version))
            .await
            .map_err(|e| duplicate_or(e, R::KIND, &new_key, alt_key.as_deref()))?;
        if !written {
            return Err(StoreError::VersionMismatch {
                expected: expected_version.unwrap_or(current.version),
                current: current.version + 1,
            });
        }
        write_refs(&mut tx, &current.id, &refs).await?;
        write_audit(
            &mut tx,
            Some(tenant_id),
            actor,
            Action::Update,
            R::KIND.as_str(),
            &current.id,
            &new_key,
            Some(&current.body),
            Some(&body),
        )
        .await?;
        tx.commit().await?;
        Ok(Stored {
            id: current.id,
            version: current.version + 1,
            created_ms: current.created_ms,
            updated_ms,
            spec,
        })
    }

    /// Deletes an object unless something still refers to it.
    pub async fn delete<R: Resource>(
        &self,
        actor: &Actor,
        tenant_id: &str,
        key: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pools.write.begin().await?;
        let current = fetch_current(&mut tx, tenant_id, R::KIND, key).await?;
        check_version(expected_version, current.version)?;
        if let Some(row) = sqlx::query(
            "SELECT r.kind, r.natural_key, x.field FROM resource_refs x \
             JOIN resources r ON r.id = x.from_id WHERE x.to_id = $1 LIMIT 1",
        )
        .bind(&current.id)
        .fetch_optional(&mut *tx)
        .await?
        {
            let kind: String = row.try_get("kind")?;
            let label = Kind::from_name(&kind).map_or("object", Kind::label);
            let referrer: String = row.try_get("natural_key")?;
            let field: String = row.try_get("field")?;
            return Err(StoreError::InUse {
                kind: R::KIND.label(),
                key: current.natural_key,
                used_by: format!("{label} {referrer:?} ({field})"),
            });
        }
        sqlx::query("DELETE FROM resources WHERE id = $1")
            .bind(&current.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StoreError::InUse {
                        kind: R::KIND.label(),
                        key: current.natural_key.clone(),
                        used_by: "another object".to_owned(),
                    }
                } else {
                    StoreError::Database(e)
                }
            })?;
        write_audit(
            &mut tx,
            Some(tenant_id),
            actor,
            Action::Delete,
            R::KIND.as_str(),
            &current.id,
            &current.natural_key,
            Some(&current.body),
            None,
        )
        .await?;
        tx.commit().await?;
        if R::KIND == Kind::Prompt {
            // The row is gone; a file left behind by a failed removal is only wasted space.
            if let Err(err) = std::fs::remove_file(self.prompt_audio_path(tenant_id, &current.id))
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%err, prompt = %current.id, "could not remove prompt audio");
            }
        }
        Ok(())
    }
}
