//! The Digest client: answering a carrier's 401/407 and pre-authenticating later requests.

use cec_sip_msg::{AuthValue, HeaderName, Message, Method, Print, Uri};

use crate::hash::{Algorithm, Ha1, Qop, ResponseInput, compute_ha1, compute_response, hex};
use crate::outcome::ClientError;
use crate::wire::push_quoted;

/// How many `stale=true` answers in a row to fresh credentials we accept before giving up
/// (a server that never accepts its own nonces must not make us loop).
const MAX_STALE_RETRIES: u32 = 3;

/// Our secret for one account.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The plain password (HA1 is computed for whatever realm challenges us).
    Password(String),
    /// Precomputed HA1 values, valid for one realm only.
    Ha1 {
        /// The realm the HA1 values were computed for.
        realm: String,
        /// `H(username:realm:password)` with MD5.
        md5: Option<Ha1>,
        /// `H(username:realm:password)` with SHA-256.
        sha256: Option<Ha1>,
    },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(..)"),
            Secret::Ha1 { realm, .. } => write!(f, "Ha1 {{ realm: {realm:?}, .. }}"),
        }
    }
}

/// User name and secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name to send.
    pub username: String,
    /// Password or HA1.
    pub secret: Secret,
}

/// The challenge we are answering: nonce and parameters, with the nonce count used so far.
#[derive(Debug, Clone)]
struct Session {
    header: HeaderName,
    realm: String,
    nonce: String,
    algorithm: Algorithm,
    qop: Option<Qop>,
    opaque: Option<String>,
    nc: u32,
}

/// One parsed challenge we could answer.
struct Offer {
    realm: String,
    nonce: String,
    algorithm: Algorithm,
    qop: Option<Qop>,
    opaque: Option<String>,
    stale: bool,
}

/// Answers Digest challenges for one account (one client per trunk or registration).
pub struct DigestClient {
    credentials: Credentials,
    random: Box<dyn FnMut() -> u64 + Send>,
    session: Option<Session>,
    stale_retries: u32,
}

impl std::fmt::Debug for DigestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestClient")
            .field("credentials", &self.credentials)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl DigestClient {
    /// A client; `random` supplies the cnonces (give it a CSPRNG in production).
    pub fn new(credentials: Credentials, random: impl FnMut() -> u64 + Send + 'static) -> Self {
        DigestClient {
            credentials,
            random: Box::new(random),
            session: None,
            stale_retries: 0,
        }
    }

    /// The header to add when re-sending `challenged` (same method, Request-URI and body, a
    /// new CSeq) after it drew `challenge`, a 401 or 407. Chooses the strongest algorithm
    /// offered. Fails with [`ClientError::Rejected`] when `challenged` already carried our
    /// credentials computed for a fresh nonce (nc 1) and the server did not say `stale`:
    /// the password is wrong and retrying would loop. Credentials that reused an older nonce
    /// (pre-authentication) are retried once with the new nonce.
    pub fn authorize(
        &mut self,
        challenged: &Message,
        challenge: &Message,
    ) -> Result<(HeaderName, String), ClientError> {
        let (header, values) = match challenge.status() {
            Some(401) => (HeaderName::Authorization, challenge.www_authenticate()),
            Some(407) => (
                HeaderName::ProxyAuthorization,
                challenge.proxy_authenticate(),
            ),
            _ => return Err(ClientError::NotAChallenge),
        };
        let values = values.map_err(|e| ClientError::Malformed(e.to_string()))?;
        let (Some(method), Some(uri)) = (challenged.method(), challenged.request_uri()) else {
            return Err(ClientError::Malformed(
                "the challenged message is not a request".into(),
            ));
        };
        let offer = self.choose(&values).ok_or(ClientError::NoUsableChallenge)?;
        if self.sent_fresh_credentials(challenged, &header, &offer.realm) {
            let give_up = if offer.stale {
                self.stale_retries += 1;
                self.stale_retries > MAX_STALE_RETRIES
            } else {
                true
            };
            if give_up {
                self.session = None;
                self.stale_retries = 0;
                return Err(ClientError::Rejected { realm: offer.realm });
            }
        } else {
            self.stale_retries = 0;
        }
        self.session = Some(Session {
            header,
            realm: offer.realm,
            nonce: offer.nonce,
            algorithm: offer.algorithm,
            qop: offer.qop,
            opaque: offer.opaque,
            nc: 0,
        });
        self.sign(method, uri, challenged.body())
            .ok_or(ClientError::NoUsableChallenge)
    }

    /// The header for a new request, reusing the last nonce with the next nonce count
    /// (`None` before any challenge was answered, or after a rejection).
    pub fn preauthorize(
        &mut self,
        method: &Method,
        uri: &Uri,
        body: &[u8],
    ) -> Option<(HeaderName, String)> {
        self.sign(method, uri, body)
    }

    /// Forgets the remembered nonce (e.g. when the registration target changes).
    pub fn reset(&mut self) {
        self.session = None;
        self.stale_retries = 0;
    }

    /// The HA1 for a realm and base algorithm, if our secret can produce it.
    fn ha1(&self, realm: &str, algorithm: Algorithm) -> Option<Ha1> {
        match &self.credentials.secret {
            Secret::Password(p) => Some(compute_ha1(
                algorithm.base(),
                &self.credentials.username,
                realm,
                p,
            )),
            Secret::Ha1 {
                realm: ours,
                md5,
                sha256,
            } => {
                if ours != realm {
                    return None;
                }
                match algorithm.base() {
                    Algorithm::Sha256 => sha256.clone(),
                    _ => md5.clone(),
                }
            }
        }
    }

    /// The strongest challenge we can answer; the first one among equals.
    fn choose(&self, values: &[AuthValue]) -> Option<Offer> {
        let mut best: Option<Offer> = None;
        for offer in values.iter().filter_map(parse_offer) {
            if self.ha1(&offer.realm, offer.algorithm).is_none() {
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|b| offer.algorithm.strength() > b.algorithm.strength())
            {
                best = Some(offer);
            }
        }
        best
    }

    /// Whether `request` carried our credentials for `realm` computed for a nonce's first
    /// use (nc 1, or no nc at all: RFC 2069 gives no way to tell, so assume fresh).
    fn sent_fresh_credentials(&self, request: &Message, header: &HeaderName, realm: &str) -> bool {
        let values = if *header == HeaderName::ProxyAuthorization {
            request.proxy_authorization()
        } else {
            request.authorization()
        };
        values.unwrap_or_default().iter().any(|v| {
            v.is_digest()
                && v.param("realm").is_some_and(|r| r[..] == *realm.as_bytes())
                && v.param("username")
                    .is_some_and(|u| u[..] == *self.credentials.username.as_bytes())
                && v.param("nc").is_none_or(|nc| {
                    std::str::from_utf8(nc)
                        .ok()
                        .and_then(|t| u32::from_str_radix(t, 16).ok())
                        .is_none_or(|n| n <= 1)
                })
        })
    }

    fn sign(&mut self, method: &Method, uri: &Uri, body: &[u8]) -> Option<(HeaderName, String)> {
        let session = self.session.as_ref()?;
        let ha1 = self.ha1(&session.realm, session.algorithm)?;
        let uses_cnonce = session.qop.is_some() || session.algorithm.is_session();
        let cnonce = if uses_cnonce {
            let (a, b) = ((self.random)(), (self.random)());
            hex(&[a.to_be_bytes(), b.to_be_bytes()].concat())
        } else {
            String::new()
        };
        let session = self.session.as_mut()?;
        if session.qop.is_some() {
            session.nc = session.nc.checked_add(1)?;
        }
        let nc = format!("{:08x}", session.nc);
        let uri_text = String::from_utf8_lossy(&uri.to_vec()).into_owned();
        let response = compute_response(
            &ha1,
            &ResponseInput {
                algorithm: session.algorithm,
                nonce: session.nonce.as_bytes(),
                cnonce: cnonce.as_bytes(),
                nc: nc.as_bytes(),
                qop: session.qop,
                method: method.as_bytes(),
                uri: uri_text.as_bytes(),
                body,
            },
        );
        let mut v = String::from("Digest username=");
        push_quoted(&mut v, &self.credentials.username);
        v.push_str(", realm=");
        push_quoted(&mut v, &session.realm);
        v.push_str(", nonce=");
        push_quoted(&mut v, &session.nonce);
        v.push_str(", uri=");
        push_quoted(&mut v, &uri_text);
        v.push_str(", response=\"");
        v.push_str(&response);
        v.push_str("\", algorithm=");
        v.push_str(session.algorithm.name());
        if uses_cnonce {
            v.push_str(", cnonce=\"");
            v.push_str(&cnonce);
            v.push('"');
        }
        if let Some(qop) = session.qop {
            v.push_str(", qop=");
            v.push_str(qop.name());
            v.push_str(", nc=");
            v.push_str(&nc);
        }
        if let Some(opaque) = &session.opaque {
            v.push_str(", opaque=");
            push_quoted(&mut v, opaque);
        }
        Some((session.header.clone(), v))
    }
}

/// A Digest challenge we understand: realm and nonce present, a known algorithm, and either
/// no qop (RFC 2069) or a qop list holding `auth` (preferred) or `auth-int`.
fn parse_offer(value: &AuthValue) -> Option<Offer> {
    if !value.is_digest() {
        return None;
    }
    let text = |name: &str| {
        value
            .param(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_owned)
    };
    let algorithm = match value.param("algorithm") {
        None => Algorithm::Md5,
        Some(name) => Algorithm::from_name(name)?,
    };
    let qop = match value.param("qop") {
        None => None,
        Some(list) => {
            let offered: Vec<Qop> = list
                .split(|&b| b == b',')
                .filter_map(|q| Qop::from_name(q.trim_ascii()))
                .collect();
            Some(if offered.contains(&Qop::Auth) {
                Qop::Auth
            } else {
                *offered.first()?
            })
        }
    };
    Some(Offer {
        realm: text("realm")?,
        nonce: text("nonce").filter(|n| !n.is_empty())?,
        algorithm,
        qop,
        opaque: text("opaque"),
        stale: value
            .param("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case(b"true")),
    })
}
