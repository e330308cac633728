//! Checking one Digest credential against the request, the nonce and the store.
//!
//! Order: syntax and policy first (cheap, no store access), then the nonce tag, then the
//! store and the response. A nonce we cannot vouch for (expired, older secret, evicted
//! history) with a correct response is "stale" (RFC 7616 §3.3: the client retries with a
//! new nonce without asking the user); with a wrong response it is refused.

use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{AuthValue, Message, Uri};

use crate::hash::{Algorithm, Qop, ResponseInput, compute_response, constant_time_eq};
use crate::nonce::NonceCodec;
use crate::outcome::AuthError;
use crate::replay::{NcCheck, NonceCounts};
use crate::server::{CredentialStore, DigestConfig};

/// What [`check_credentials`] needs from the server.
pub(crate) struct Context<'a> {
    pub(crate) config: &'a DigestConfig,
    pub(crate) nonces: &'a NonceCodec,
    pub(crate) counts: &'a mut NonceCounts,
    pub(crate) now_ms: u64,
    pub(crate) lifetime_ms: u64,
    pub(crate) binding: &'a [u8],
}

/// The decision for one credential.
pub(crate) enum Verdict {
    Ok { username: String },
    Stale,
    Rejected(AuthError),
}

/// The parameters of one Digest credential, checked for syntax and policy.
struct Presented<'a> {
    username: &'a str,
    nonce: &'a [u8],
    uri: &'a [u8],
    response: Vec<u8>,
    algorithm: Algorithm,
    qop: Option<Qop>,
    nc: Option<u32>,
    nc_text: &'a [u8],
    cnonce: &'a [u8],
}

fn required<'a>(
    cred: &'a AuthValue,
    name: &str,
    missing: &'static str,
) -> Result<&'a [u8], AuthError> {
    match cred.param(name) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(AuthError::Malformed(missing)),
    }
}

/// `nc`: 8 hex digits (RFC 7616); 1 to 8 accepted.
fn parse_nc(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 8 || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
}

impl<'a> Presented<'a> {
    fn parse(cred: &'a AuthValue, config: &DigestConfig) -> Result<Self, AuthError> {
        if cred
            .param("userhash")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"))
        {
            return Err(AuthError::Malformed("userhash is not supported"));
        }
        let username = required(cred, "username", "missing username")?;
        let username = std::str::from_utf8(username)
            .map_err(|_| AuthError::Malformed("username not UTF-8"))?;
        let nonce = required(cred, "nonce", "missing nonce")?;
        let uri = required(cred, "uri", "missing uri")?;
        let response = required(cred, "response", "missing response")?.to_ascii_lowercase();
        let algorithm = match cred.param("algorithm") {
            None => Algorithm::Md5,
            Some(name) => Algorithm::from_name(name).ok_or(AuthError::UnsupportedAlgorithm)?,
        };
        let offered = &config.algorithms;
        if !(offered.contains(&algorithm) || offered.contains(&algorithm.base())) {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        let qop = match cred.param("qop") {
            None if config.allow_rfc2069 => None,
            None => return Err(AuthError::UnsupportedQop),
            Some(q) => Some(Qop::from_name(q).ok_or(AuthError::UnsupportedQop)?),
        };
        let cnonce = cred.param("cnonce").map_or(&[][..], |c| &c[..]);
        let nc_text = cred.param("nc").map_or(&[][..], |n| &n[..]);
        let nc = if qop.is_some() {
            if cnonce.is_empty() {
                return Err(AuthError::Malformed("missing cnonce"));
            }
            Some(parse_nc(nc_text).ok_or(AuthError::Malformed("missing or invalid nc"))?)
        } else {
            if algorithm.is_session() && cnonce.is_empty() {
                return Err(AuthError::Malformed("missing cnonce"));
            }
            None
        };
        if let Some(opaque) = &config.opaque
            && cred
                .param("opaque")
                .is_none_or(|o| o[..] != *opaque.as_bytes())
        {
            return Err(AuthError::OpaqueMismatch);
        }
        Ok(Presented {
            username,
            nonce,
            uri,
            response,
            algorithm,
            qop,
            nc,
            nc_text,
            cnonce,
        })
    }
}

/// Whether the `uri` parameter names the Request-URI: SIP URIs by RFC 3261 §19.1.4
/// equivalence, other URIs by their canonical printed form.
fn uri_matches(request_uri: &Uri, presented: &[u8]) -> bool {
    let Ok(presented) = Uri::parse(&Bytes::copy_from_slice(presented)) else {
        return false;
    };
    match (request_uri, &presented) {
        (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
        (a, b) => cec_sip_msg::Print::to_vec(a) == cec_sip_msg::Print::to_vec(b),
    }
}

pub(crate) fn check_credentials(
    ctx: &mut Context<'_>,
    request: &Message,
    cred: &AuthValue,
    store: &impl CredentialStore,
) -> Verdict {
    match check(ctx, request, cred, store) {
        Ok(v) | Err(v) => v,
    }
}

fn check(
    ctx: &mut Context<'_>,
    request: &Message,
    cred: &AuthValue,
    store: &impl CredentialStore,
) -> Result<Verdict, Verdict> {
    let reject = Verdict::Rejected;
    let p = Presented::parse(cred, ctx.config).map_err(reject)?;
    let (Some(method), Some(request_uri)) = (request.method(), request.request_uri()) else {
        return Err(reject(AuthError::Malformed("not a request")));
    };
    if !uri_matches(request_uri, p.uri) {
        return Err(reject(AuthError::UriMismatch));
    }
    let realm = ctx.config.realm.as_str();
    let nonce = ctx.nonces.open(p.nonce, realm.as_bytes(), ctx.binding);
    let ha1 = store
        .ha1(p.username, realm, p.algorithm.base())
        .ok_or(reject(AuthError::UnknownUser))?;
    let expected = compute_response(
        &ha1,
        &ResponseInput {
            algorithm: p.algorithm,
            nonce: p.nonce,
            cnonce: p.cnonce,
            nc: p.nc_text,
            qop: p.qop,
            method: method.as_bytes(),
            uri: p.uri,
            body: request.body(),
        },
    );
    let response_ok = constant_time_eq(expected.as_bytes(), &p.response);
    let nonce = match (nonce, response_ok) {
        (Some(info), true) => info,
        (None, true) => return Err(Verdict::Stale),
        (None, false) => return Err(reject(AuthError::BadNonce)),
        (Some(_), false) => return Err(reject(AuthError::BadResponse)),
    };
    if ctx.now_ms.saturating_sub(nonce.created_ms) > ctx.lifetime_ms {
        return Err(Verdict::Stale);
    }
    if let Some(nc) = p.nc {
        let expired_before = ctx.now_ms.saturating_sub(ctx.lifetime_ms);
        match ctx.counts.check(nonce, nc, expired_before) {
            NcCheck::Fresh => {}
            NcCheck::Replayed => return Err(reject(AuthError::ReplayedNonceCount)),
            NcCheck::Forgotten => return Err(Verdict::Stale),
        }
    }
    Ok(Verdict::Ok {
        username: p.username.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_counts_are_hex() {
        assert_eq!(parse_nc(b"00000001"), Some(1));
        assert_eq!(parse_nc(b"0000000a"), Some(10));
        assert_eq!(parse_nc(b"ffffffff"), Some(u32::MAX));
        assert_eq!(parse_nc(b"1"), Some(1));
        assert_eq!(parse_nc(b""), None);
        assert_eq!(parse_nc(b"000000001"), None);
        assert_eq!(parse_nc(b"+0000001"), None);
        assert_eq!(parse_nc(b"0000000g"), None);
    }

    fn uri(text: &'static str) -> Uri {
        Uri::parse(&Bytes::from_static(text.as_bytes())).unwrap()
    }

    #[test]
    fn uri_comparison() {
        let r = uri("sip:%61lice@atlanta.com;transport=TCP");
        assert!(uri_matches(&r, b"sip:alice@AtLanTa.CoM;Transport=tcp"));
        assert!(!uri_matches(&r, b"sip:alice@atlanta.com"));
        assert!(!uri_matches(&r, b"sips:alice@atlanta.com;transport=tcp"));
        assert!(!uri_matches(&r, b"not a uri"));
        let t = uri("tel:+15551234");
        assert!(uri_matches(&t, b"tel:+15551234"));
        assert!(!uri_matches(&t, b"tel:+15551235"));
    }
}
