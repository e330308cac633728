//! The `Authorization: Bearer <token>` extractor and the authorisation checks on its claims.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::problem::Problem;
use crate::token::{Claims, Role, TokenError, TokenSigner};

/// The verified claims of the request's bearer token. Extracting it answers 401 (with
/// `WWW-Authenticate: Bearer`) when the header is missing or the token is malformed,
/// forged or expired. The application state must provide an `Arc<TokenSigner>` through
/// [`FromRef`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated(pub Claims);

impl<S> FromRequestParts<S> for Authenticated
where
    Arc<TokenSigner>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let signer = Arc::<TokenSigner>::from_ref(state);
        authenticate(&parts.headers, &signer, now_epoch_ms()).map(Authenticated)
    }
}

/// Verifies the bearer token in `headers` at `now_ms`; the extractor's logic, with the
/// clock as an argument.
pub fn authenticate(
    headers: &header::HeaderMap,
    signer: &TokenSigner,
    now_ms: i64,
) -> Result<Claims, Problem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Problem::unauthorized("missing Authorization header"));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(bearer_token)
        .ok_or_else(|| Problem::invalid_token("Authorization must be `Bearer <token>`"))?;
    signer.verify(token, now_ms).map_err(|error| {
        Problem::invalid_token(match error {
            TokenError::Expired => "token expired",
            TokenError::BadSignature => "bad token signature",
            TokenError::Malformed => "malformed token",
        })
    })
}

/// The token of a `Bearer` credential; the scheme is case-insensitive (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Milliseconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn now_epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

impl Claims {
    /// Allows access to `tenant_id` for the platform (`System`) role and for principals of
    /// that tenant. Others get 404, not 403, so probing does not reveal which tenants exist.
    pub fn require_tenant(&self, tenant_id: &str) -> Result<(), Problem> {
        if self.role == Role::System || self.tenant.as_deref() == Some(tenant_id) {
            Ok(())
        } else {
            Err(Problem::not_found(format_args!(
                "tenant {}",
                crate::problem::truncate(tenant_id, 100)
            )))
        }
    }

    /// Allows `min` and more powerful roles; 403 otherwise.
    pub fn require_role(&self, min: Role) -> Result<(), Problem> {
        if self.role.at_least(min) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "requires role {} or higher",
                min.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, StatusCode};

    use super::*;
    use crate::token::PrincipalKind;

    const NOW: i64 = 1_700_000_000_000;

    fn claims(role: Role, tenant: Option<&str>) -> Claims {
        Claims {
            subject: "s".into(),
            tenant: tenant.map(str::to_owned),
            role,
            principal: PrincipalKind::ApiKey,
            issued_ms: NOW,
            expires_ms: NOW + 1000,
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accepts_any_case_of_the_scheme() {
        let signer = TokenSigner::new([1; 32]);
        let token = signer.issue(&claims(Role::Agent, Some("t")));
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let got = authenticate(&headers(&format!("{scheme} {token}")), &signer, NOW);
            assert_eq!(got.unwrap().role, Role::Agent);
        }
    }

    #[test]
    fn says_why_it_refused() {
        let signer = TokenSigner::new([1; 32]);
        let token = signer.issue(&claims(Role::Agent, Some("t")));
        let cases = [
            (HeaderMap::new(), "missing Authorization header"),
            (
                headers(&format!("Basic {token}")),
                "Authorization must be `Bearer <token>`",
            ),
            (headers("Bearer"), "Authorization must be `Bearer <token>`"),
            (headers("Bearer v1.x.y"), "malformed token"),
            (headers(&format!("Bearer {token}")), "token expired"),
        ];
        for (headers, detail) in cases {
            let problem = authenticate(&headers, &signer, NOW + 1000).unwrap_err();
            assert_eq!(problem.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(problem.detail(), Some(detail));
        }
        let foreign = TokenSigner::new([2; 32]).issue(&claims(Role::Agent, None));
        let problem = authenticate(&headers(&format!("Bearer {foreign}")), &signer, NOW);
        assert_eq!(problem.unwrap_err().detail(), Some("bad token signature"));
    }

    #[test]
    fn tenant_isolation_answers_not_found() {
        let admin = claims(Role::Admin, Some("acme"));
        assert!(admin.require_tenant("acme").is_ok());
        let refused = admin.require_tenant("globex").unwrap_err();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert!(claims(Role::System, None).require_tenant("globex").is_ok());
        // A tenant-less principal that is not System reaches no tenant.
        assert!(claims(Role::Admin, None).require_tenant("acme").is_err());
    }

    #[test]
    fn role_check_answers_forbidden() {
        let agent = claims(Role::Agent, Some("acme"));
        assert_eq!(
            agent.require_role(Role::Supervisor).unwrap_err().status(),
            StatusCode::FORBIDDEN
        );
        assert!(agent.require_role(Role::Agent).is_ok());
        assert!(claims(Role::System, None).require_role(Role::Admin).is_ok());
    }

    #[test]
    fn clock_is_after_2020() {
        assert!(now_epoch_ms() > 1_577_836_800_000);
    }
}
