//! What verification decides, and why credentials were refused.

/// The result of [`crate::DigestServer::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The credentials are valid for this request.
    Authenticated {
        /// The authenticated user name.
        username: String,
        /// The realm (ours).
        realm: String,
    },
    /// No Digest credentials for our realm: answer with a challenge.
    NoCredentials,
    /// The response was right but the nonce is no longer usable (expired, minted with an
    /// older secret, or its nonce-count history was evicted): challenge again with
    /// `stale=true`, which the client answers without treating it as a failure.
    Stale,
    /// Credentials for our realm that are wrong: answer 403 ([`AuthError::reason_phrase`]).
    Rejected(AuthError),
}

/// Why credentials were refused. `Display` is for logs; [`AuthError::reason_phrase`] is what
/// the client sees and does not tell an unknown user from a wrong password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A required parameter is missing or unparsable.
    #[error("malformed credentials: {0}")]
    Malformed(&'static str),
    /// The store has no HA1 for this user, realm and algorithm.
    #[error("unknown user")]
    UnknownUser,
    /// The `response` value does not match.
    #[error("wrong digest response")]
    BadResponse,
    /// The nonce was not minted by us for this realm and binding, and the response does not
    /// prove knowledge of the password either (forged or modified nonce).
    #[error("invalid nonce")]
    BadNonce,
    /// The nonce count is not higher than one already accepted for this nonce.
    #[error("nonce count replayed")]
    ReplayedNonceCount,
    /// The `uri` parameter is not the Request-URI.
    #[error("digest uri does not match the Request-URI")]
    UriMismatch,
    /// The `algorithm` is unknown or not enabled.
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
    /// The `qop` is unknown, or absent while RFC 2069 responses are not allowed.
    #[error("unsupported or missing qop")]
    UnsupportedQop,
    /// `opaque` differs from the one we sent.
    #[error("opaque does not match")]
    OpaqueMismatch,
}

impl AuthError {
    /// Reason phrase for the 403 response.
    pub fn reason_phrase(&self) -> &'static str {
        match self {
            // Same phrase: a caller must not learn which user names exist.
            AuthError::UnknownUser | AuthError::BadResponse => "Forbidden",
            AuthError::Malformed(_) => "Forbidden (Malformed Credentials)",
            AuthError::BadNonce => "Forbidden (Invalid Nonce)",
            AuthError::ReplayedNonceCount => "Forbidden (Replayed Nonce Count)",
            AuthError::UriMismatch => "Forbidden (URI Mismatch)",
            AuthError::UnsupportedAlgorithm => "Forbidden (Unsupported Algorithm)",
            AuthError::UnsupportedQop => "Forbidden (Unsupported QOP)",
            AuthError::OpaqueMismatch => "Forbidden (Opaque Mismatch)",
        }
    }
}

/// Why the client could not answer a challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The message is not a 401 or 407 response.
    #[error("not a 401 or 407 response")]
    NotAChallenge,
    /// The challenge headers do not parse.
    #[error("malformed challenge: {0}")]
    Malformed(String),
    /// No Digest challenge we can answer (algorithm, qop, or realm of our HA1).
    #[error("no supported digest challenge")]
    NoUsableChallenge,
    /// Our credentials were refused for this realm: the request already carried them for a
    /// fresh nonce and the server challenged again without `stale=true`. Do not retry.
    #[error("credentials rejected for realm {realm:?}")]
    Rejected {
        /// The realm that refused us.
        realm: String,
    },
}
