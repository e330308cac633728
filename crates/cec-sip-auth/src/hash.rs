//! Digest algorithms (RFC 7616 §3.4.1, RFC 8760 for SIP), HA1 values and the `response`
//! computation shared by the server and the client; HMAC-SHA-256 for the nonce tag.

use md5::Md5;
use sha2::{Digest, Sha256};

/// A digest algorithm, as named in the `algorithm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `MD5` (RFC 2617; the default when `algorithm` is absent).
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `MD5-sess`: HA1 re-hashed with the nonce and cnonce.
    Md5Sess,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The name as written in `algorithm=`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Recognises an `algorithm` value (case-insensitive); `None` for any other algorithm.
    pub fn from_name(name: &[u8]) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Sha256,
            Algorithm::Md5Sess,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Whether this is a `-sess` variant.
    pub fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// The hash without the `-sess` step: the algorithm a stored HA1 is computed with.
    pub fn base(self) -> Algorithm {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Algorithm::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => Algorithm::Sha256,
        }
    }

    /// Preference rank, higher is stronger (a client picks the strongest offered).
    pub(crate) fn strength(self) -> u8 {
        match self {
            Algorithm::Md5Sess => 0,
            Algorithm::Md5 => 1,
            Algorithm::Sha256Sess => 2,
            Algorithm::Sha256 => 3,
        }
    }

    /// `H(part1:part2:...)` in lowercase hex.
    pub(crate) fn hash_joined(self, parts: &[&[u8]]) -> String {
        match self.base() {
            Algorithm::Sha256 => hex(&joined::<Sha256>(parts)),
            _ => hex(&joined::<Md5>(parts)),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn joined<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut d = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            d.update(b":");
        }
        d.update(part);
    }
    d.finalize().to_vec()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// `H(username:realm:password)` in lowercase hex: what a credential store keeps instead of
/// the password. The `Debug` form hides the value (it is password-equivalent).
#[derive(Clone, PartialEq, Eq)]
pub struct Ha1(String);

impl Ha1 {
    /// Accepts a stored HA1: 32 (MD5) or 64 (SHA-256) hex digits, any case.
    pub fn from_hex(hex: &str) -> Option<Ha1> {
        let ok = matches!(hex.len(), 32 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Ha1(hex.to_ascii_lowercase()))
    }

    /// The lowercase hex value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Ha1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ha1(..)")
    }
}

/// `H(username:realm:password)` with the base hash of `algorithm` (the `-sess` step needs the
/// nonce and is applied per request by [`compute_response`]).
pub fn compute_ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> Ha1 {
    Ha1(algorithm.hash_joined(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()]))
}

/// Quality of protection (RFC 7616 §3.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: method and URI are protected.
    Auth,
    /// `auth-int`: the body is protected as well.
    AuthInt,
}

impl Qop {
    /// The token as written in `qop=`.
    pub fn name(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }

    /// Recognises a qop token (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<Qop> {
        if name.eq_ignore_ascii_case(b"auth") {
            Some(Qop::Auth)
        } else if name.eq_ignore_ascii_case(b"auth-int") {
            Some(Qop::AuthInt)
        } else {
            None
        }
    }
}

/// Everything the `response` value covers besides HA1.
#[derive(Debug, Clone, Copy)]
pub struct ResponseInput<'a> {
    /// Algorithm named in the credentials.
    pub algorithm: Algorithm,
    /// Server nonce.
    pub nonce: &'a [u8],
    /// Client nonce (ignored without qop unless the algorithm is `-sess`).
    pub cnonce: &'a [u8],
    /// Nonce count as written (8 hex digits); ignored without qop.
    pub nc: &'a [u8],
    /// Quality of protection; `None` is the RFC 2069 form.
    pub qop: Option<Qop>,
    /// Request method.
    pub method: &'a [u8],
    /// The `uri` parameter as written.
    pub uri: &'a [u8],
    /// Message body (only `auth-int` covers it).
    pub body: &'a [u8],
}

/// The `response` value (RFC 7616 §3.4.1), lowercase hex.
pub fn compute_response(ha1: &Ha1, input: &ResponseInput<'_>) -> String {
    let alg = input.algorithm;
    let session_ha1;
    let ha1 = if alg.is_session() {
        session_ha1 = alg.hash_joined(&[ha1.0.as_bytes(), input.nonce, input.cnonce]);
        session_ha1.as_str()
    } else {
        ha1.as_str()
    };
    let ha2 = match input.qop {
        Some(Qop::AuthInt) => {
            let body_hash = alg.hash_joined(&[input.body]);
            alg.hash_joined(&[input.method, input.uri, body_hash.as_bytes()])
        }
        _ => alg.hash_joined(&[input.method, input.uri]),
    };
    match input.qop {
        Some(qop) => alg.hash_joined(&[
            ha1.as_bytes(),
            input.nonce,
            input.nc,
            input.cnonce,
            qop.name().as_bytes(),
            ha2.as_bytes(),
        ]),
        None => alg.hash_joined(&[ha1.as_bytes(), input.nonce, ha2.as_bytes()]),
    }
}

/// HMAC-SHA-256 (RFC 2104) over the concatenation of `parts`; the key is shorter than the
/// block, so it is only zero-padded.
pub(crate) fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    for (dst, src) in block.iter_mut().zip(key) {
        *dst = *src;
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Equality whose time does not depend on where the inputs first differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // Zero-padding "Jefe" to 32 bytes leaves the HMAC block, hence the result, unchanged.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, &[b"what do ya ", b"want for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn names_round_trip_case_insensitively() {
        for alg in [
            Algorithm::Md5,
            Algorithm::Sha256,
            Algorithm::Md5Sess,
            Algorithm::Sha256Sess,
        ] {
            assert_eq!(Algorithm::from_name(alg.name().as_bytes()), Some(alg));
            let upper = alg.name().to_ascii_uppercase();
            assert_eq!(Algorithm::from_name(upper.as_bytes()), Some(alg));
        }
        assert_eq!(Algorithm::from_name(b"SHA-512-256"), None);
        assert_eq!(Qop::from_name(b"AUTH-INT"), Some(Qop::AuthInt));
        assert_eq!(Qop::from_name(b"auth-conf"), None);
    }

    #[test]
    fn ha1_accepts_only_hash_sized_hex() {
        assert!(Ha1::from_hex(&"A".repeat(32)).is_some_and(|h| h.as_str() == "a".repeat(32)));
        assert!(Ha1::from_hex(&"0".repeat(64)).is_some());
        assert!(Ha1::from_hex(&"0".repeat(40)).is_none());
        assert!(Ha1::from_hex(&"g".repeat(32)).is_none());
        assert_eq!(
            format!("{:?}", Ha1::from_hex(&"a".repeat(32))),
            "Some(Ha1(..))"
        );
    }

    #[test]
    fn constant_time_eq_compares_everything() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"xbc", b"abc"));
    }
}
