//! Tenants change rarely and every tenant-scoped request names one: keep them in memory for a
//! few seconds instead of reading the database on every request. This node's own changes
//! clear the cache at once; other nodes' changes are seen within the lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cec_store::model::TenantSpec;
use cec_store::{Store, StoreError, Stored};

/// How long a cached tenant is trusted.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(5);

/// Tenants by id and by name.
#[derive(Default)]
pub struct TenantCache {
    entries: Mutex<HashMap<String, (Stored<TenantSpec>, Instant)>>,
}

impl TenantCache {
    /// The tenant named by `key` (id or name).
    pub async fn get(&self, store: &Store, key: &str) -> Result<Stored<TenantSpec>, StoreError> {
        let now = Instant::now();
        if let Ok(entries) = self.entries.lock()
            && let Some((tenant, at)) = entries.get(key)
            && now.duration_since(*at) < TENANT_CACHE_TTL
        {
            return Ok(tenant.clone());
        }
        let tenant = store.get_tenant(key).await?;
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| now.duration_since(*at) < TENANT_CACHE_TTL);
        }
        entries.insert(tenant.id.clone(), (tenant.clone(), now));
        entries.insert(tenant.spec.name.clone(), (tenant.clone(), now));
        Ok(tenant)
    }

    /// Drops everything (after a tenant was changed or deleted on this node).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
