//! Stateless signed bearer tokens: `v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`.
//!
//! The server keeps no session table: any instance holding the key verifies a token alone.
//! The cost is that a token cannot be revoked before it expires, so lifetimes stay short.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

/// Longest token [`TokenSigner::verify`] looks at; anything longer is refused unread.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Version prefix, covered by the MAC so a token cannot be replayed under another format.
const VERSION: &str = "v1";

/// Length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// What a caller may do, from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Platform operator: every tenant.
    System,
    /// Tenant administrator: configuration of one tenant.
    Admin,
    /// Supervises queues and agents of one tenant.
    Supervisor,
    /// Handles contacts.
    Agent,
}

impl Role {
    /// Whether this role has at least the rights of `min`.
    pub fn at_least(self, min: Role) -> bool {
        self.level() >= min.level()
    }

    fn level(self) -> u8 {
        match self {
            Role::System => 3,
            Role::Admin => 2,
            Role::Supervisor => 1,
            Role::Agent => 0,
        }
    }

    /// The lowercase name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }
}

/// Who the token was issued to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// An API access key (`POST /api/v1/auth/token`).
    ApiKey,
    /// An agent's session (`POST /api/v1/auth/agent-token`).
    Agent,
}

/// The signed content of a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The access key id or agent id.
    pub subject: String,
    /// The tenant the principal belongs to; null for platform principals.
    pub tenant: Option<String>,
    /// What the principal may do.
    pub role: Role,
    /// Access key or agent session.
    pub principal: PrincipalKind,
    /// Issue time, milliseconds since the Unix epoch.
    pub issued_ms: i64,
    /// Expiry time, milliseconds since the Unix epoch; the token is refused from then on.
    pub expires_ms: i64,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token of ours: wrong shape, too long, bad base64 or bad claims.
    #[error("malformed token")]
    Malformed,
    /// Well-formed but not signed with our key (forged or tampered with).
    #[error("bad token signature")]
    BadSignature,
    /// Genuine, but past its expiry time.
    #[error("token expired")]
    Expired,
}

/// Issues and verifies tokens with one 32-byte HMAC key.
#[derive(Clone)]
pub struct TokenSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner { key: <redacted> }")
    }
}

impl TokenSigner {
    /// A signer for `key`, which must come from a cryptographically secure source.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The token for `claims`.
    pub fn issue(&self, claims: &Claims) -> String {
        // Claims hold only strings, integers and unit enums: serialising cannot fail.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(json));
        let tag = self.tag(&token);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(tag));
        token
    }

    /// The claims of `token` if it is ours, intact, and not expired at `now_ms` (epoch ms).
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, tag_text) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (version, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        if version != VERSION || payload.contains('.') {
            return Err(TokenError::Malformed);
        }
        let mut tag = [0u8; TAG_LEN];
        match URL_SAFE_NO_PAD.decode_slice(tag_text, &mut tag) {
            Ok(TAG_LEN) => {}
            _ => return Err(TokenError::Malformed),
        }
        // The MAC is checked before the payload is decoded: nothing an attacker wrote is
        // parsed unless we signed it.
        if !bool::from(self.tag(signed).ct_eq(&tag)) {
            return Err(TokenError::BadSignature);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if now_ms >= claims.expires_ms {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn tag(&self, signed: &str) -> [u8; TAG_LEN] {
        // HMAC accepts keys of any length, so this constructor cannot fail.
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.key) else {
            return [0; TAG_LEN];
        };
        mac.update(signed.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000_000;

    fn claims() -> Claims {
        Claims {
            subject: "key-1".into(),
            tenant: Some("acme".into()),
            role: Role::Admin,
            principal: PrincipalKind::ApiKey,
            issued_ms: NOW,
            expires_ms: NOW + 3_600_000,
        }
    }

    fn signer() -> TokenSigner {
        TokenSigner::new([7; 32])
    }

    #[test]
    fn round_trip() {
        let token = signer().issue(&claims());
        assert!(token.starts_with("v1."));
        assert_eq!(signer().verify(&token, NOW + 1), Ok(claims()));
    }

    #[test]
    fn expiry_is_exclusive() {
        let token = signer().issue(&claims());
        assert!(signer().verify(&token, NOW + 3_599_999).is_ok());
        assert_eq!(
            signer().verify(&token, NOW + 3_600_000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn other_key_is_bad_signature() {
        let token = TokenSigner::new([8; 32]).issue(&claims());
        assert_eq!(signer().verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_payload_is_bad_signature() {
        let token = signer().issue(&claims());
        let mut forged = claims();
        forged.role = Role::System;
        forged.tenant = None;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("v1.{forged_payload}.{}", parts[2]);
        assert_eq!(
            signer().verify(&tampered, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn swapped_signature_is_refused() {
        let first = signer().issue(&claims());
        let mut other = claims();
        other.subject = "key-2".into();
        let second = signer().issue(&other);
        let (first_signed, _) = first.rsplit_once('.').unwrap();
        let (_, second_tag) = second.rsplit_once('.').unwrap();
        let swapped = format!("{first_signed}.{second_tag}");
        assert_eq!(
            signer().verify(&swapped, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn shape_errors_are_malformed() {
        let token = signer().issue(&claims());
        let (signed, tag) = token.rsplit_once('.').unwrap();
        let cases = [
            String::new(),
            "v1".to_owned(),
            "v1.abc".to_owned(),
            token.replacen("v1.", "v2.", 1),
            format!("{signed}.{tag}A"),
            format!("{signed}.{}", &tag[..tag.len() - 1]),
            format!("{signed}.x.{tag}"),
            format!("{token}{}", "A".repeat(MAX_TOKEN_LEN)),
        ];
        for case in cases {
            assert_eq!(
                signer().verify(&case, NOW),
                Err(TokenError::Malformed),
                "{case}"
            );
        }
    }

    #[test]
    fn signed_garbage_is_malformed_not_accepted() {
        let signed = format!("v1.{}", URL_SAFE_NO_PAD.encode(b"{\"subject\":1}"));
        let tag = URL_SAFE_NO_PAD.encode(signer().tag(&signed));
        assert_eq!(
            signer().verify(&format!("{signed}.{tag}"), NOW),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::System.at_least(Role::Admin));
        assert!(Role::Admin.at_least(Role::Admin));
        assert!(Role::Supervisor.at_least(Role::Agent));
        assert!(!Role::Agent.at_least(Role::Supervisor));
        assert!(!Role::Admin.at_least(Role::System));
        assert_eq!(
            serde_json::to_string(&Role::Supervisor).unwrap(),
            "\"supervisor\""
        );
        assert_eq!(
            serde_json::to_string(&PrincipalKind::ApiKey).unwrap(),
            "\"api_key\""
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_or_verifies(text in ".{0,300}") {
            prop_assert!(signer().verify(&text, NOW).is_err());
        }

        #[test]
        fn any_single_byte_change_is_refused(index in 0usize..400, byte in any::<u8>()) {
            let token = signer().issue(&claims());
            let mut bytes = token.into_bytes();
            let index = index % bytes.len();
            prop_assume!(bytes[index] != byte);
            bytes[index] = byte;
            let changed = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(signer().verify(&changed, NOW).is_err());
        }

        #[test]
        fn claims_round_trip(
            subject in ".{0,40}",
            tenant in proptest::option::of("[a-z0-9-]{1,20}"),
            issued in any::<i64>(),
            ttl in 1i64..1_000_000,
        ) {
            let claims = Claims {
                subject,
                tenant,
                role: Role::Supervisor,
                principal: PrincipalKind::Agent,
                issued_ms: issued,
                expires_ms: issued.saturating_add(ttl),
            };
            let token = signer().issue(&claims);
            prop_assume!(token.len() <= MAX_TOKEN_LEN && claims.expires_ms > issued);
            prop_assert_eq!(signer().verify(&token, issued), Ok(claims));
        }
    }
}
