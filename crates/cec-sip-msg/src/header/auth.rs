//! Authorization / Proxy-Authorization credentials and WWW-/Proxy-
//! Authenticate challenges (RFC 3261 §20.7, §20.27, §20.28, §20.44).
//! A header line holds one or more challenges or credentials (RFC 7235 §4.1 allows
//! `Digest realm="a", nonce="1", Digest realm="a", nonce="2", algorithm=SHA-256`); each is a
//! scheme with comma-separated auth-params, or a scheme with an opaque token68.

use bytes::Bytes;

use crate::error::Res;
use crate::print::Print;
use crate::text::{Cursor, cut, is_token, is_ws, split_commas, unquote, write_quoted};

/// One auth-param. `value` is unquoted; `quoted` remembers the form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthParam {
    /// Name (case-insensitive).
    pub name: Bytes,
    /// Value, unquoted and unescaped.
    pub value: Bytes,
    /// Whether the value was (and will be printed) quoted.
    pub quoted: bool,
}

/// Credentials or a challenge: a scheme and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthValue {
    /// Scheme, e.g. `Digest`.
    pub scheme: Bytes,
    /// auth-params.
    pub params: Vec<AuthParam>,
    /// Opaque data for schemes that do not use auth-params (token68).
    pub token: Option<Bytes>,
}

impl AuthValue {
    /// Whether the scheme is Digest.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case(b"Digest")
    }

    /// A parameter value by case-insensitive name (unquoted).
    pub fn param(&self, name: &str) -> Option<&Bytes> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|p| &p.value)
    }
}

/// Parses every challenge or credential of one header line, in order.
pub(crate) fn parse_auth_list(base: &Bytes, s: &[u8]) -> Res<Vec<AuthValue>> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for item in split_commas(s) {
        let item = item?;
        if item.is_empty() {
            continue;
        }
        // `item` is a sub-slice of `s`; its offset locates the challenge text.
        let start = (item.as_ptr() as usize).saturating_sub(s.as_ptr() as usize);
        let end = start + item.len();
        if starts_new_scheme(item) {
            if let Some((from, to)) = current {
                out.push(parse_auth(base, s.get(from..to).unwrap_or_default())?);
            }
            current = Some((start, end));
        } else {
            let (from, _) = current.ok_or("auth-param before any scheme")?;
            current = Some((from, end));
        }
    }
    let (from, to) = current.ok_or("missing auth scheme")?;
    out.push(parse_auth(base, s.get(from..to).unwrap_or_default())?);
    Ok(out)
}

/// Whether a comma-separated item opens a new challenge: `scheme`, `scheme token68` or
/// `scheme name=value`, as opposed to a bare `name=value` auth-param.
fn starts_new_scheme(item: &[u8]) -> bool {
    let mut c = Cursor::new(item);
    if c.token().is_empty() {
        return false;
    }
    if c.at_end() {
        return true;
    }
    if !c.peek().is_some_and(is_ws) {
        return false;
    }
    c.skip_ws();
    // `realm = "x"` is an auth-param written with spaces, not a scheme.
    c.peek() != Some(b'=')
}

pub(crate) fn parse_auth(base: &Bytes, s: &[u8]) -> Res<AuthValue> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let scheme = c.token();
    if scheme.is_empty() {
        return Err("missing auth scheme");
    }
    if !c.at_end() && !c.peek().is_some_and(is_ws) {
        return Err("invalid auth scheme");
    }
    c.skip_ws();
    let rest = c.rest();
    let mut params = Vec::new();
    // token68 (`Bearer abc==`) vs auth-params (`name=value, ...`).
    let looks_like_params = {
        let mut p = Cursor::new(rest);
        let name_ok = !p.token().is_empty();
        p.skip_ws();
        name_ok && p.eat(b'=') && {
            p.skip_ws();
            !p.at_end() && p.peek() != Some(b'=')
        }
    };
    if rest.is_empty() {
        return Ok(AuthValue {
            scheme: cut(base, scheme),
            params,
            token: None,
        });
    }
    if !looks_like_params {
        return Ok(AuthValue {
            scheme: cut(base, scheme),
            params,
            token: Some(cut(base, rest)),
        });
    }
    for item in split_commas(rest) {
        let item = item?;
        if item.is_empty() {
            continue;
        }
        let mut p = Cursor::new(item);
        let name = p.token();
        p.skip_ws();
        if name.is_empty() || !p.eat(b'=') {
            return Err("expected auth-param name=value");
        }
        p.skip_ws();
        let (value, quoted) = if p.peek() == Some(b'"') {
            (unquote(base, p.quoted()?), true)
        } else {
            let v = p.take_while(|b| is_token(b) || b == b'/' || b == b':' || b == b'=');
            (cut(base, v), false)
        };
        p.skip_ws();
        if !p.at_end() {
            return Err("trailing characters in auth-param");
        }
        params.push(AuthParam {
            name: cut(base, name),
            value,
            quoted,
        });
    }
    Ok(AuthValue {
        scheme: cut(base, scheme),
        params,
        token: None,
    })
}

impl Print for AuthValue {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.scheme);
        if let Some(t) = &self.token {
            out.push(b' ');
            out.extend_from_slice(t);
        }
        for (i, p) in self.params.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b" " } else { b", " });
            out.extend_from_slice(&p.name);
            out.push(b'=');
            if p.quoted {
                write_quoted(out, &p.value);
            } else {
                out.extend_from_slice(&p.value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &'static [u8]) -> Res<AuthValue> {
        let b = Bytes::from_static(s);
        parse_auth(&b, &b)
    }

    #[test]
    fn digest() {
        let a = p(br#"Digest username="bob", realm="atlanta.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sips:ss2.biloxi.com", response="dfe56131d1958046689d83306477ecc", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b""#)
            .unwrap();
        assert!(a.is_digest());
        assert_eq!(a.param("realm").map(|v| &v[..]), Some(&b"atlanta.com"[..]));
        assert_eq!(a.param("nc").map(|v| &v[..]), Some(&b"00000001"[..]));
        let out = Bytes::from(a.to_vec());
        assert_eq!(parse_auth(&out, &out).unwrap(), a);
    }

    #[test]
    fn other_schemes() {
        let a = p(b"NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(a.param("opaque-data").map(|v| &v[..]), Some(&b"here"[..]));
        let t = p(b"Bearer abc.def==").unwrap();
        assert_eq!(t.token.as_deref(), Some(&b"abc.def=="[..]));
        assert!(p(b"").is_err());
        assert!(p(br#"Digest realm="x"#).is_err());
    }

    fn list(s: &'static [u8]) -> Res<Vec<AuthValue>> {
        let b = Bytes::from_static(s);
        parse_auth_list(&b, &b)
    }

    #[test]
    fn several_challenges_on_one_line() {
        let all = list(
            br#"Digest realm="a.example", nonce="1", algorithm=MD5, qop="auth", Digest realm = "a.example", nonce="2", algorithm=SHA-256, Bearer abc=="#,
        )
        .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].param("algorithm").map(|v| &v[..]), Some(&b"MD5"[..]));
        assert_eq!(all[0].param("qop").map(|v| &v[..]), Some(&b"auth"[..]));
        assert_eq!(
            all[1].param("realm").map(|v| &v[..]),
            Some(&b"a.example"[..])
        );
        assert_eq!(
            all[1].param("algorithm").map(|v| &v[..]),
            Some(&b"SHA-256"[..])
        );
        assert_eq!(all[2].token.as_deref(), Some(&b"abc=="[..]));
        assert_eq!(list(b"Basic").unwrap().len(), 1);
        assert!(list(b"").is_err());
        assert!(list(br#"realm="a", Digest nonce="1""#).is_err());
    }
}
