//! Tokens are stateless, but a revoked API key or a deleted agent must lose access at once,
//! not when its token expires: each request checks that the principal still exists, through a
//! short cache so the check costs a database read only every few seconds per principal.

use std::time::{Duration, Instant};

use cec_store::model::AgentSpec;
use cec_store::{Store, StoreError};

use super::expiring::Expiring;
use crate::{Claims, PrincipalKind, Problem};

/// How long a positive check is trusted on this node (other nodes see a revocation within it).
pub const PRINCIPAL_CHECK_TTL: Duration = Duration::from_secs(5);

/// Recently checked principals.
pub struct PrincipalCache {
    checked: Expiring<()>,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        PrincipalCache {
            checked: Expiring::new(PRINCIPAL_CHECK_TTL, 100_000),
        }
    }
}

fn cache_key(claims: &Claims) -> String {
    match claims.principal {
        PrincipalKind::ApiKey => format!("key:{}", claims.subject),
        PrincipalKind::Agent => format!(
            "agent:{}:{}",
            claims.tenant.as_deref().unwrap_or_default(),
            claims.subject
        ),
    }
}

impl PrincipalCache {
    /// Refuses (401) a token whose key was revoked or whose agent was deleted.
    pub async fn check(&self, store: &Store, claims: &Claims) -> Result<(), Problem> {
        let key = cache_key(claims);
        let now = Instant::now();
        if self.checked.get(&key, now).is_some() {
            return Ok(());
        }
        let active = match claims.principal {
            PrincipalKind::ApiKey => store.api_key_active(&claims.subject).await?,
            PrincipalKind::Agent => {
                let tenant = claims.tenant.as_deref().unwrap_or_default();
                match store.get::<AgentSpec>(tenant, &claims.subject).await {
                    Ok(_) => true,
                    Err(StoreError::NotFound { .. }) => false,
                    Err(other) => return Err(other.into()),
                }
            }
        };
        if active {
            self.checked.insert(key, (), now);
            Ok(())
        } else {
            self.checked.remove(&key);
            Err(Problem::invalid_token(
                "the key of this token was revoked or the agent deleted",
            ))
        }
    }

    /// Forgets a principal at once (its key was revoked on this node).
    pub fn forget_key(&self, access_key: &str) {
        self.checked.remove(&format!("key:{access_key}"));
    }
}
