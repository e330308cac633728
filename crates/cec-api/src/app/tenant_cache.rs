//! Tenants change rarely and every tenant-scoped request names one: keep them in memory for a
//! few seconds instead of reading the database on every request. This node's own changes
//! clear the cache at once; other nodes' changes are seen within the lifetime.

use std::time::{Duration, Instant};

use cec_store::model::TenantSpec;
use cec_store::{Store, StoreError, Stored};

use super::expiring::Expiring;

/// How long a cached tenant is trusted.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(5);

/// Tenants by id and by name.
pub struct TenantCache {
    entries: Expiring<Stored<TenantSpec>>,
}

impl Default for TenantCache {
    fn default() -> Self {
        TenantCache {
            entries: Expiring::new(TENANT_CACHE_TTL, 10_000),
        }
    }
}

impl TenantCache {
    /// The tenant named by `key` (id or name).
    pub async fn get(&self, store: &Store, key: &str) -> Result<Stored<TenantSpec>, StoreError> {
        let now = Instant::now();
        if let Some(tenant) = self.entries.get(key, now) {
            return Ok(tenant);
        }
        let tenant = store.get_tenant(key).await?;
        self.entries.insert(tenant.id.clone(), tenant.clone(), now);
        self.entries
            .insert(tenant.spec.name.clone(), tenant.clone(), now);
        Ok(tenant)
    }

    /// Drops everything (after a tenant was changed or deleted on this node).
    pub fn clear(&self) {
        self.entries.clear();
    }
}
