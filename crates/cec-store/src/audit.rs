//! The audit log: every configuration change (who, when, what), written in the transaction
//! of the change, queryable per tenant.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::db::now_ms;
use crate::{Actor, Store, StoreError};

/// What happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created.
    Create,
    /// Replaced or patched.
    Update,
    /// Deleted.
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    fn from_name(name: &str) -> Action {
        match name {
            "create" => Action::Create,
            "delete" => Action::Delete,
            _ => Action::Update,
        }
    }
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Increasing sequence number (the page cursor).
    pub seq: i64,
    /// When, epoch milliseconds.
    pub time_ms: i64,
    /// Who: `key:<access key>`, `agent:<work no>`, `system`, `demo`.
    pub actor: String,
    /// What was done.
    pub action: Action,
    /// Kind of object (`trunk`, `agent`, `tenant`, `api_key`, …).
    pub kind: String,
    /// The object's id.
    pub resource_id: String,
    /// The object's natural key at the time.
    pub key: String,
    /// The object before the change (absent for create).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The object after the change (absent for delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// Filters of an audit query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only entries of this kind.
    pub kind: Option<String>,
    /// Only entries about this object id.
    pub resource_id: Option<String>,
    /// Only entries after this sequence number (the previous page's `next_cursor`).
    pub cursor: Option<String>,
    /// 1..=100, default 50.
    pub limit: Option<u32>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one column each; called from three places"
)]
pub(crate) async fn write_audit(
    tx: &mut Transaction<'static, Any>,
    tenant_id: Option<&str>,
    actor: &Actor,
    action: Action,
    kind: &str,
    resource_id: &str,
    key: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, time_ms, actor, action, kind, resource_id, \
         natural_key, before_body, after_body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tenant_id)
    .bind(now_ms())
    .bind(actor.as_str())
    .bind(action.as_str())
    .bind(kind)
    .bind(resource_id)
    .bind(key)
    .bind(before)
    .bind(after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// A tenant's audit entries, oldest first, a page at a time.
    pub async fn audit_log(
        &self,
        tenant_id: &str,
        query: &AuditQuery,
    ) -> Result<crate::Listing<AuditEntry>, StoreError> {
        let limit = crate::Page {
            limit: query.limit,
            cursor: None,
        }
        .effective_limit()?;
        let after = match query.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => c.parse::<i64>().map_err(|_| {
                StoreError::invalid("cursor", "must be a sequence number from a previous page")
            })?,
        };
        let rows = sqlx::query(
            "SELECT seq, time_ms, actor, action, kind, resource_id, natural_key, before_body, \
             after_body FROM audit_log WHERE tenant_id = $1 AND seq > $2 \
             AND ($3 = '' OR kind = $3) AND ($4 = '' OR resource_id = $4) ORDER BY seq LIMIT $5",
        )
        .bind(tenant_id)
        .bind(after)
        .bind(query.kind.clone().unwrap_or_default())
        .bind(query.resource_id.clone().unwrap_or_default())
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pools.read)
        .await?;
        let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let action: String = row.try_get("action")?;
            items.push(AuditEntry {
                seq: row.try_get("seq")?,
                time_ms: row.try_get("time_ms")?,
                actor: row.try_get("actor")?,
                action: Action::from_name(&action),
                kind: row.try_get("kind")?,
                resource_id: row.try_get("resource_id")?,
                key: row.try_get("natural_key")?,
                before: parse(row.try_get("before_body")?),
                after: parse(row.try_get("after_body")?),
            });
        }
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|e| e.seq.to_string())
        } else {
            None
        };
        Ok(crate::Listing { items, next_cursor })
    }
}
