//! API access keys (access key + secret, secret stored hashed) and the token signing key.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::{Action, write_audit};
use crate::credentials::{constant_time_eq, hash_api_secret, random_hex, random_key};
use crate::db::now_ms;
use crate::{Actor, Store, StoreError};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// Platform operator: all tenants, creates tenants.
    System,
    /// Tenant administrator.
    Admin,
    /// Tenant supervisor (reads, agent control).
    Supervisor,
}

impl KeyRole {
    fn as_str(self) -> &'static str {
        match self {
            KeyRole::System => "system",
            KeyRole::Admin => "admin",
            KeyRole::Supervisor => "supervisor",
        }
    }

    fn from_name(name: &str) -> Option<KeyRole> {
        match name {
            "system" => Some(KeyRole::System),
            "admin" => Some(KeyRole::Admin),
            "supervisor" => Some(KeyRole::Supervisor),
            _ => None,
        }
    }
}

/// An API key as stored (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// The public half, used to log in.
    pub access_key: String,
    /// The tenant it belongs to; absent for platform (system) keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// What it may do.
    pub role: KeyRole,
    /// Free text.
    pub description: String,
    /// Creation time, epoch milliseconds.
    pub created_ms: i64,
    /// When it was revoked; a revoked key cannot get tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<i64>,
}

/// A freshly created key: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewApiKey {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret; store it now, it cannot be shown again.
    pub secret: String,
}

fn decode(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let role: String = row.try_get("role")?;
    let access_key: String = row.try_get("access_key")?;
    Ok(ApiKey {
        role: KeyRole::from_name(&role).ok_or_else(|| StoreError::Corrupt {
            kind: "api_key",
            id: access_key.clone(),
            reason: format!("unknown role {role:?}"),
        })?,
        access_key,
        tenant_id: row.try_get("tenant_id")?,
        description: row.try_get("description")?,
        created_ms: row.try_get("created_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}

const KEY_COLUMNS: &str = "access_key, tenant_id, role, description, created_ms, revoked_ms";

impl Store {
    /// Creates an API key; the returned secret is never stored in clear.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        tenant_id: Option<&str>,
        role: KeyRole,
        description: &str,
    ) -> Result<NewApiKey, StoreError> {
        if description.chars().count() > 200 {
            return Err(StoreError::invalid(
                "description",
                "must be at most 200 characters",
            ));
        }
        if (role == KeyRole::System) != tenant_id.is_none() {
            return Err(StoreError::invalid(
                "role",
                "system keys have no tenant; tenant keys are admin or supervisor",
            ));
        }
        let access_key = format!("AK{}", random_hex(10).to_uppercase());
        let secret = random_hex(32);
        let key = ApiKey {
            access_key,
            tenant_id: tenant_id.map(str::to_owned),
            role,
            description: description.to_owned(),
            created_ms: now_ms(),
            revoked_ms: None,
        };
        let mut tx = self.pools.write.begin().await?;
        sqlx::query(
            "INSERT INTO api_keys (access_key, tenant_id, role, description, secret_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.access_key)
        .bind(&key.tenant_id)
        .bind(role.as_str())
        .bind(&key.description)
        .bind(hash_api_secret(&secret))
        .bind(key.created_ms)
        .execute(&mut *tx)
        .await?;
        let body = serde_json::to_string(&key).unwrap_or_default();
        write_audit(
            &mut tx,
            tenant_id,
            actor,
            Action::Create,
            "api_key",
            &key.access_key,
            &key.access_key,
            None,
            Some(&body),
        )
        .await?;
        tx.commit().await?;
        Ok(NewApiKey { key, secret })
    }

    /// Checks an access key and secret; revoked or unknown keys and wrong secrets all give
    /// `BadCredentials`.
    pub async fn verify_api_key(
        &self,
        access_key: &str,
        secret: &str,
    ) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS}, secret_hash FROM api_keys WHERE access_key = $1"
        ))
        .bind(access_key)
        .fetch_optional(&self.pools.read)
        .await?;
        // Hash even when the key is unknown so timing does not tell which keys exist.
        let offered = hash_api_secret(secret);
        let Some(row) = row else {
            return Err(StoreError::BadCredentials);
        };
        let stored: String = row.try_get("secret_hash")?;
        let key = decode(&row)?;
        if !constant_time_eq(&offered, &stored) || key.revoked_ms.is_some() {
            return Err(StoreError::BadCredentials);
        }
        Ok(key)
    }

    /// Whether a key exists and is not revoked (tokens of revoked keys are refused).
    pub async fn api_key_active(&self, access_key: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT revoked_ms FROM api_keys WHERE access_key = $1")
            .bind(access_key)
            .fetch_optional(&self.pools.read)
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<i64>, _>("revoked_ms")?.is_none(),
            None => false,
        })
    }

    /// The keys of a tenant (or the platform keys for `None`).
    pub async fn list_api_keys(&self, tenant_id: Option<&str>) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE COALESCE(tenant_id, '') = $1 ORDER BY created_ms, access_key"
        ))
        .bind(tenant_id.unwrap_or_default())
        .fetch_all(&self.pools.read)
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Revokes a key of a tenant (or a platform key for `None`).
    pub async fn revoke_api_key(
        &self,
        actor: &Actor,
        tenant_id: Option<&str>,
        access_key: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pools.write.begin().await?;
        let result = sqlx::query(
            "UPDATE api_keys SET revoked_ms = $1 WHERE access_key = $2 AND COALESCE(tenant_id, '') = $3 \
             AND revoked_ms IS NULL",
        )
        .bind(now_ms())
        .bind(access_key)
        .bind(tenant_id.unwrap_or_default())
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::NotFound {
                kind: "api key",
                key: access_key.to_owned(),
            });
        }
        write_audit(
            &mut tx,
            tenant_id,
            actor,
            Action::Delete,
            "api_key",
            access_key,
            access_key,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The key that signs bearer tokens, created on first use and shared by every node on the
    /// same database (so tokens survive restarts and work on any node).
    pub async fn token_signing_key(&self) -> Result<[u8; 32], StoreError> {
        let fresh: String = random_key().iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query("INSERT INTO settings (name, value) VALUES ('token_signing_key', $1) ON CONFLICT (name) DO NOTHING")
            .bind(&fresh)
            .execute(&self.pools.write)
            .await?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = 'token_signing_key'")
            .fetch_one(&self.pools.write)
            .await?;
        let hex: String = row.try_get("value")?;
        let mut key = [0u8; 32];
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(StoreError::Corrupt {
                kind: "setting",
                id: "token_signing_key".into(),
                reason: "not 64 hex digits".into(),
            });
        }
        for (i, pair) in bytes.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).unwrap_or("");
            key[i] = u8::from_str_radix(text, 16).map_err(|_| StoreError::Corrupt {
                kind: "setting",
                id: "token_signing_key".into(),
                reason: "not hex".into(),
            })?;
        }
        Ok(key)
    }
}
