//! The Digest server: challenges (401/407) and verification of the answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cec_sip_msg::{HeaderName, Message};

use crate::hash::{Algorithm, Ha1};
use crate::nonce::NonceCodec;
use crate::outcome::{AuthError, AuthOutcome};
use crate::replay::NonceCounts;
use crate::verify::{Verdict, check_credentials};
use crate::wire::{build_response, push_quoted};

/// Where verified HA1 values come from (a database, a config file, a closure).
pub trait CredentialStore {
    /// `H(username:realm:password)` computed with `algorithm` (always a base algorithm:
    /// `Md5` or `Sha256`; the `-sess` step is applied per request), or `None` if the user has
    /// no credentials for it.
    fn ha1(&self, username: &str, realm: &str, algorithm: Algorithm) -> Option<Ha1>;
}

impl<F> CredentialStore for F
where
    F: Fn(&str, &str, Algorithm) -> Option<Ha1>,
{
    fn ha1(&self, username: &str, realm: &str, algorithm: Algorithm) -> Option<Ha1> {
        self(username, realm, algorithm)
    }
}

/// Digest server settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestConfig {
    /// Our realm, sent in challenges and required in credentials.
    pub realm: String,
    /// How long a nonce may be used before the client is asked for a new one (`stale=true`).
    pub nonce_lifetime: Duration,
    /// Algorithms offered, one challenge each, most preferred first (RFC 8760 §2.4). The
    /// `-sess` variant of an offered algorithm is accepted too. Empty means the default.
    pub algorithms: Vec<Algorithm>,
    /// Accept RFC 2069 responses (no `qop`, no nonce count, no replay protection within the
    /// nonce lifetime). Only for old devices.
    pub allow_rfc2069: bool,
    /// Bound on the nonce-count table (memory stays bounded under a flood).
    pub max_tracked_nonces: usize,
    /// An `opaque` value to send, which clients must echo.
    pub opaque: Option<String>,
}

impl DigestConfig {
    /// Defaults: 300 s nonces, SHA-256 then MD5, no RFC 2069, 65 536 tracked nonces, no opaque.
    pub fn new(realm: impl Into<String>) -> Self {
        DigestConfig {
            realm: realm.into(),
            nonce_lifetime: Duration::from_secs(300),
            algorithms: default_algorithms(),
            allow_rfc2069: false,
            max_tracked_nonces: 65_536,
            opaque: None,
        }
    }
}

fn default_algorithms() -> Vec<Algorithm> {
    vec![Algorithm::Sha256, Algorithm::Md5]
}

/// Issues challenges and verifies credentials (RFC 3261 §22, RFC 7616, RFC 8760). Nonces are
/// stateless; the only state is the bounded nonce-count table.
pub struct DigestServer {
    config: DigestConfig,
    nonces: NonceCodec,
    next_seq: AtomicU64,
    counts: NonceCounts,
}

impl std::fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("DigestServer")
            .field("config", &self.config)
            .field("tracked_nonces", &self.counts.len())
            .finish_non_exhaustive()
    }
}

impl DigestServer {
    /// A server with its nonce secret (32 random bytes, new at each start: older nonces then
    /// become stale) and the epoch nonce times count from.
    pub fn new(mut config: DigestConfig, secret: [u8; 32], epoch: Instant) -> Self {
        if config.algorithms.is_empty() {
            config.algorithms = default_algorithms();
        }
        let mut seen = Vec::new();
        config.algorithms.retain(|a| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        });
        let counts = NonceCounts::new(config.max_tracked_nonces);
        DigestServer {
            config,
            nonces: NonceCodec::new(secret, epoch),
            next_seq: AtomicU64::new(0),
            counts,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &DigestConfig {
        &self.config
    }

    /// Challenge header values (one per algorithm, most preferred first) around one new
    /// nonce. `binding` ties the nonce to the requester (e.g. its source IP octets; `&[]`
    /// for none); verification must be given the same binding.
    pub fn challenge(&self, now: Instant, stale: bool, binding: &[u8]) -> Vec<String> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let nonce = self
            .nonces
            .mint(now, seq, self.config.realm.as_bytes(), binding);
        self.config
            .algorithms
            .iter()
            .map(|alg| {
                let mut v = String::from("Digest realm=");
                push_quoted(&mut v, &self.config.realm);
                v.push_str(", nonce=\"");
                v.push_str(&nonce);
                v.push_str("\", algorithm=");
                v.push_str(alg.name());
                v.push_str(", qop=\"auth\"");
                if let Some(opaque) = &self.config.opaque {
                    v.push_str(", opaque=");
                    push_quoted(&mut v, opaque);
                }
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// The full challenge response to `request`: 401 with WWW-Authenticate, or 407 with
    /// Proxy-Authenticate when `proxy`.
    pub fn challenge_response(
        &self,
        request: &Message,
        now: Instant,
        stale: bool,
        proxy: bool,
        binding: &[u8],
    ) -> Message {
        let values = self.challenge(now, stale, binding);
        let (code, reason, header) = if proxy {
            (
                407,
                "Proxy Authentication Required",
                HeaderName::ProxyAuthenticate,
            )
        } else {
            (401, "Unauthorized", HeaderName::WwwAuthenticate)
        };
        let mut response = build_response(request, code, reason);
        for value in values {
            response.push(header.clone(), value.as_bytes());
        }
        response
    }

    /// The 403 for refused credentials, reason phrase from [`AuthError::reason_phrase`].
    pub fn rejection_response(&self, request: &Message, error: &AuthError) -> Message {
        build_response(request, 403, error.reason_phrase())
    }

    /// Verifies the request's Authorization (or Proxy-Authorization when `proxy`) for our
    /// realm against `store`. `binding` must be the one given to the challenge.
    pub fn verify(
        &mut self,
        request: &Message,
        now: Instant,
        proxy: bool,
        binding: &[u8],
        store: &impl CredentialStore,
    ) -> AuthOutcome {
        let values = if proxy {
            request.proxy_authorization()
        } else {
            request.authorization()
        };
        let Ok(values) = values else {
            return AuthOutcome::Rejected(AuthError::Malformed("unparsable credentials header"));
        };
        let realm = self.config.realm.as_bytes();
        // Credentials for other realms (other proxies on the path) are not ours to judge.
        let Some(credentials) = values
            .iter()
            .find(|v| v.is_digest() && v.param("realm").is_some_and(|r| r[..] == *realm))
        else {
            return AuthOutcome::NoCredentials;
        };
        let lifetime_ms = u64::try_from(self.config.nonce_lifetime.as_millis()).unwrap_or(u64::MAX);
        let now_ms = self.nonces.millis(now);
        let mut context = crate::verify::Context {
            config: &self.config,
            nonces: &self.nonces,
            counts: &mut self.counts,
            now_ms,
            lifetime_ms,
            binding,
        };
        match check_credentials(&mut context, request, credentials, store) {
            Verdict::Ok { username } => AuthOutcome::Authenticated {
                username,
                realm: self.config.realm.clone(),
            },
            Verdict::Stale => AuthOutcome::Stale,
            Verdict::Rejected(e) => AuthOutcome::Rejected(e),
        }
    }
}
