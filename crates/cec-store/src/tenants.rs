//! Tenants (tenant spaces): the top of the model; every other object belongs to one.

use sqlx::any::AnyRow;

use crate::audit::{Action, write_audit};
use crate::db::{new_id, now_ms};
use crate::error::Problems;
use crate::model::TenantSpec;
use crate::resource::{Listing, Page, Stored};
use crate::{Actor, Store, StoreError};

fn decode(row: &AnyRow) -> Result<Stored<TenantSpec>, StoreError> {
    crate::repo::decode_row(row, "tenant")
}

fn duplicate_or(err: sqlx::Error, name: &str) -> StoreError {
    if crate::db::is_unique_violation(&err) {
        StoreError::Duplicate {
            kind: "tenant",
            key: name.to_owned(),
        }
    } else {
        StoreError::Database(err)
    }
}

fn body_of(spec: &TenantSpec) -> String {
    serde_json::to_string(spec).unwrap_or_else(|_| "{}".to_owned())
}

fn validated(spec: &TenantSpec) -> Result<(), StoreError> {
    let mut problems = Problems::default();
    spec.validate(&mut problems);
    problems.finish()
}

impl Store {
    /// Creates a tenant.
    pub async fn create_tenant(
        &self,
        actor: &Actor,
        spec: TenantSpec,
    ) -> Result<Stored<TenantSpec>, StoreError> {
        validated(&spec)?;
        let now = now_ms();
        let stored = Stored {
            id: new_id(),
            version: 1,
            created_ms: now,
            updated_ms: now,
            spec,
        };
        let body = body_of(&stored.spec);
        let mut tx = self.pools.write.begin().await?;
        sqlx::query(
            "INSERT INTO tenants (id, name, version, created_ms, updated_ms, body) \
             VALUES ($1, $2, 1, $3, $3, $4)",
        )
        .bind(&stored.id)
        .bind(&stored.spec.name)
        .bind(now)
        .bind(&body)
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate_or(e, &stored.spec.name))?;
        write_audit(
            &mut tx,
            Some(&stored.id),
            actor,
            Action::Create,
            "tenant",
            &stored.id,
            &stored.spec.name,
            None,
            Some(&body),
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Reads a tenant by id or name.
    pub async fn get_tenant(&self, key: &str) -> Result<Stored<TenantSpec>, StoreError> {
        let row = sqlx::query(
            "SELECT id, version, created_ms, updated_ms, body FROM tenants WHERE id = $1 OR name = $1",
        )
        .bind(key)
        .fetch_optional(&self.pools.read)
        .await?
        .ok_or_else(|| StoreError::NotFound { kind: "tenant", key: key.to_owned() })?;
        decode(&row)
    }

    /// Lists tenants, oldest first.
    pub async fn list_tenants(
        &self,
        page: &Page,
    ) -> Result<Listing<Stored<TenantSpec>>, StoreError> {
        let limit = page.effective_limit()?;
        let rows = sqlx::query(
            "SELECT id, version, created_ms, updated_ms, body FROM tenants WHERE id > $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(page.cursor.clone().unwrap_or_default())
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pools.read)
        .await?;
        let mut items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|t| t.id.clone())
        } else {
            None
        };
        Ok(Listing { items, next_cursor })
    }

    /// Replaces a tenant's settings.
    pub async fn update_tenant(
        &self,
        actor: &Actor,
        key: &str,
        expected_version: Option<i64>,
        spec: TenantSpec,
    ) -> Result<Stored<TenantSpec>, StoreError> {
        validated(&spec)?;
        let current = self.get_tenant(key).await?;
        crate::repo::check_version(expected_version, current.version)?;
        let body = body_of(&spec);
        let now = now_ms();
        let mut tx = self.pools.write.begin().await?;
        let result = sqlx::query(
            "UPDATE tenants SET name = $1, version = version + 1, updated_ms = $2, body = $3 \
             WHERE id = $4 AND version = $5",
        )
        .bind(&spec.name)
        .bind(now)
        .bind(&body)
        .bind(&current.id)
        .bind(current.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate_or(e, &spec.name))?;
        if result.rows_affected() != 1 {
            return Err(StoreError::VersionMismatch {
                expected: expected_version.unwrap_or(current.version),
                current: current.version + 1,
            });
        }
        let before = body_of(&current.spec);
        write_audit(
            &mut tx,
            Some(&current.id),
            actor,
            Action::Update,
            "tenant",
            &current.id,
            &spec.name,
            Some(&before),
            Some(&body),
        )
        .await?;
        tx.commit().await?;
        Ok(Stored {
            id: current.id,
            version: current.version + 1,
            created_ms: current.created_ms,
            updated_ms: now,
            spec,
        })
    }

    /// Deletes a tenant and everything in it, its call records and events included.
    pub async fn delete_tenant(
        &self,
        actor: &Actor,
        key: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let current = self.get_tenant(key).await?;
        crate::repo::check_version(expected_version, current.version)?;
        let mut tx = self.pools.write.begin().await?;
        // References inside the tenant go first so no row points at a deleted one.
        sqlx::query(
            "DELETE FROM resource_refs WHERE from_id IN (SELECT id FROM resources WHERE tenant_id = $1)",
        )
        .bind(&current.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM resources WHERE tenant_id = $1")
            .bind(&current.id)
            .execute(&mut *tx)
            .await?;
        // Call records and events go with the tenant (the foreign keys cascade too; deleting
        // them here keeps that true on a database whose foreign keys are not enforced).
        for table in [
            "DELETE FROM cdrs WHERE tenant_id = $1",
            "DELETE FROM events WHERE tenant_id = $1",
        ] {
            sqlx::query(table)
                .bind(&current.id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM api_keys WHERE tenant_id = $1")
            .bind(&current.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(&current.id)
            .execute(&mut *tx)
            .await?;
        let before = body_of(&current.spec);
        write_audit(
            &mut tx,
            Some(&current.id),
            actor,
            Action::Delete,
            "tenant",
            &current.id,
            &current.spec.name,
            Some(&before),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
