//! `sip:`, `sips:` and `tel:` URIs (RFC 3261 §19.1, §25.1; RFC 3966), plus
//! any other absolute URI kept opaque. Components are stored %-unescaped
//! (once) and re-escaped when printed; `%00` stays a NUL data byte.

use bytes::Bytes;

use crate::error::{ParseError, Res};
use crate::host::{Host, parse_hostport};
use crate::print::Print;
use crate::text::{Param, cut, find_param, unescape, write_escaped};

/// A URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other scheme, kept as written.
    Other(AbsoluteUri),
}

/// A SIP or SIPS URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `true` for `sips:`.
    pub secure: bool,
    /// User part, unescaped (may contain `;`, `?`, NUL...).
    pub user: Option<Bytes>,
    /// Password, unescaped.
    pub password: Option<Bytes>,
    /// Host.
    pub host: Host,
    /// Port.
    pub port: Option<u16>,
    /// URI parameters, unescaped.
    pub params: Vec<Param>,
    /// URI headers (`?name=value&...`), unescaped.
    pub headers: Vec<Param>,
}

/// A `tel:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelUri {
    /// The number, as written.
    pub number: Bytes,
    /// Parameters, unescaped.
    pub params: Vec<Param>,
}

/// An absolute URI of another scheme, opaque.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AbsoluteUri {
    /// Scheme, as written.
    pub scheme: Bytes,
    /// Everything after the first `:`.
    pub rest: Bytes,
}

impl SipUri {
    /// A `sip:` URI with the given host and nothing else.
    pub fn new(host: Host) -> Self {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A URI parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&Param> {
        find_param(&self.params, name)
    }

    /// Whether the `lr` parameter is present (loose routing).
    pub fn lr(&self) -> bool {
        self.param("lr").is_some()
    }
}

impl Uri {
    /// Parses a URI (no surrounding whitespace or `<>`).
    pub fn parse(b: &Bytes) -> Result<Uri, ParseError> {
        parse_uri(b, b).map_err(|reason| ParseError::invalid("URI", reason))
    }

    /// The scheme as written (`sip`, `sips`, `tel`, ...).
    pub fn scheme(&self) -> &[u8] {
        match self {
            Uri::Sip(u) if u.secure => b"sips",
            Uri::Sip(_) => b"sip",
            Uri::Tel(_) => b"tel",
            Uri::Other(o) => &o.scheme,
        }
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The user part (SIP) or number (tel).
    pub fn user(&self) -> Option<&Bytes> {
        match self {
            Uri::Sip(u) => u.user.as_ref(),
            Uri::Tel(t) => Some(&t.number),
            Uri::Other(_) => None,
        }
    }

    /// Whether this URI has `?headers` (never allowed in a Request-URI).
    pub fn has_headers(&self) -> bool {
        matches!(self, Uri::Sip(u) if !u.headers.is_empty())
    }
}

/// Bytes allowed anywhere in a URI (escapes aside), as a table: every URI byte is tested.
static URI_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        table[b] = !matches!(
            b as u8,
            b'<' | b'>' | b'"' | b'\\' | b'{' | b'}' | b'|' | b'^'
        );
        b += 1;
    }
    table
};

#[inline]
fn uri_char(b: u8) -> bool {
    URI_CHARS[usize::from(b)]
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

fn user_ok(b: u8) -> bool {
    unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn password_ok(b: u8) -> bool {
    unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

fn param_ok(b: u8) -> bool {
    unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn header_ok(b: u8) -> bool {
    unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// Parses a URI from `s`, a sub-slice of `base`.
pub(crate) fn parse_uri(base: &Bytes, s: &[u8]) -> Res<Uri> {
    let colon = memchr::memchr(b':', s).ok_or("missing URI scheme")?;
    let (scheme, rest) = (
        s.get(..colon).unwrap_or_default(),
        s.get(colon + 1..).unwrap_or_default(),
    );
    let valid_scheme = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme {
        return Err("invalid URI scheme");
    }
    if rest.is_empty() {
        return Err("empty URI");
    }
    // One pass validates the characters and notes whether any %-escape exists, so the
    // common escape-free URI skips every per-part unescape scan below.
    let mut escaped = false;
    for &b in rest {
        if !uri_char(b) {
            return Err("invalid character in URI");
        }
        escaped |= b == b'%';
    }
    let text = UriText { base, escaped };
    if scheme.eq_ignore_ascii_case(b"sip") {
        parse_sip(text, rest, false).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case(b"sips") {
        parse_sip(text, rest, true).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case(b"tel") {
        parse_tel(text, rest).map(Uri::Tel)
    } else {
        Ok(Uri::Other(AbsoluteUri {
            scheme: cut(base, scheme),
            rest: cut(base, rest),
        }))
    }
}

/// The buffer a URI is cut from, and whether the URI holds any %-escape at all.
#[derive(Clone, Copy)]
struct UriText<'a> {
    base: &'a Bytes,
    escaped: bool,
}

impl UriText<'_> {
    fn unescape(self, s: &[u8]) -> Res<Bytes> {
        if self.escaped {
            unescape(self.base, s)
        } else {
            Ok(cut(self.base, s))
        }
    }
}

fn parse_sip(text: UriText<'_>, rest: &[u8], secure: bool) -> Res<SipUri> {
    let base = text.base;
    // '@' cannot appear unescaped in params or headers, so the first one
    // ends the userinfo; the user part itself may hold ';' and '?'.
    let (user, password, hostpart) = match memchr::memchr(b'@', rest) {
        Some(at) => {
            let userinfo = rest.get(..at).unwrap_or_default();
            let (u, p) = match memchr::memchr(b':', userinfo) {
                Some(c) => (
                    userinfo.get(..c).unwrap_or_default(),
                    Some(userinfo.get(c + 1..).unwrap_or_default()),
                ),
                None => (userinfo, None),
            };
            if u.is_empty() {
                return Err("empty user part");
            }
            let password = p.map(|p| text.unescape(p)).transpose()?;
            (
                Some(text.unescape(u)?),
                password,
                rest.get(at + 1..).unwrap_or_default(),
            )
        }
        None => (None, None, rest),
    };
    let end = memchr::memchr2(b';', b'?', hostpart).unwrap_or(hostpart.len());
    let (host, port) = parse_hostport(base, hostpart.get(..end).unwrap_or_default())?;
    let mut tail = hostpart.get(end..).unwrap_or_default();
    let mut params = Vec::new();
    while let Some(after) = tail.strip_prefix(b";") {
        let end = memchr::memchr2(b';', b'?', after).unwrap_or(after.len());
        params.push(parse_uri_param(text, after.get(..end).unwrap_or_default())?);
        tail = after.get(end..).unwrap_or_default();
    }
    let mut headers = Vec::new();
    if let Some(h) = tail.strip_prefix(b"?") {
        for item in h.split(|&b| b == b'&') {
            let eq = memchr::memchr(b'=', item).ok_or("URI header without '='")?;
            let name = item.get(..eq).unwrap_or_default();
            if name.is_empty() {
                return Err("empty URI header name");
            }
            let value = text.unescape(item.get(eq + 1..).unwrap_or_default())?;
            headers.push(Param::new(text.unescape(name)?, Some(value)));
        }
    }
    Ok(SipUri {
        secure,
        user,
        password,
        host,
        port,
        params,
        headers,
    })
}

fn parse_uri_param(text: UriText<'_>, s: &[u8]) -> Res<Param> {
    let (name, value) = match memchr::memchr(b'=', s) {
        Some(eq) => (
            s.get(..eq).unwrap_or_default(),
            Some(s.get(eq + 1..).unwrap_or_default()),
        ),
        None => (s, None),
    };
    if name.is_empty() {
        return Err("empty URI parameter");
    }
    Ok(Param::new(
        text.unescape(name)?,
        value.map(|v| text.unescape(v)).transpose()?,
    ))
}

fn parse_tel(text: UriText<'_>, rest: &[u8]) -> Res<TelUri> {
    let base = text.base;
    let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
    let number = rest.get(..end).unwrap_or_default();
    if number.is_empty() {
        return Err("empty telephone number");
    }
    let mut params = Vec::new();
    let mut tail = rest.get(end..).unwrap_or_default();
    while let Some(after) = tail.strip_prefix(b";") {
        let end = memchr::memchr(b';', after).unwrap_or(after.len());
        params.push(parse_uri_param(text, after.get(..end).unwrap_or_default())?);
        tail = after.get(end..).unwrap_or_default();
    }
    Ok(TelUri {
        number: cut(base, number),
        params,
    })
}

fn write_uri_params(out: &mut Vec<u8>, params: &[Param]) {
    for p in params {
        out.push(b';');
        write_escaped(out, &p.name, param_ok);
        if let Some(v) = &p.value {
            out.push(b'=');
            write_escaped(out, v, param_ok);
        }
    }
}

impl Print for SipUri {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.secure { b"sips:" } else { b"sip:" });
        if let Some(u) = &self.user {
            write_escaped(out, u, user_ok);
            if let Some(p) = &self.password {
                out.push(b':');
                write_escaped(out, p, password_ok);
            }
            out.push(b'@');
        }
        self.host.write_to(out);
        if let Some(p) = self.port {
            out.extend_from_slice(format!(":{p}").as_bytes());
        }
        write_uri_params(out, &self.params);
        for (i, h) in self.headers.iter().enumerate() {
            out.push(if i == 0 { b'?' } else { b'&' });
            write_escaped(out, &h.name, header_ok);
            out.push(b'=');
            write_escaped(out, h.value.as_deref().unwrap_or_default(), header_ok);
        }
    }
}

impl Print for Uri {
    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Uri::Sip(u) => u.write_to(out),
            Uri::Tel(t) => {
                out.extend_from_slice(b"tel:");
                // The number is kept as written: it has no escapes to redo.
                out.extend_from_slice(&t.number);
                write_uri_params(out, &t.params);
            }
            Uri::Other(o) => {
                out.extend_from_slice(&o.scheme);
                out.push(b':');
                out.extend_from_slice(&o.rest);
            }
        }
    }
}

crate::print::display_via_print!(Uri, SipUri);

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &'static str) -> Res<Uri> {
        let b = Bytes::from_static(s.as_bytes());
        parse_uri(&b, &b)
    }

    fn sip(s: &'static str) -> SipUri {
        match p(s).unwrap() {
            Uri::Sip(u) => u,
            other => panic!("not sip: {other:?}"),
        }
    }

    #[test]
    fn user_with_semicolon() {
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some(&b"user;par=u@example.net"[..]));
        assert_eq!(u.host, Host::Domain(Bytes::from_static(b"example.com")));
    }

    #[test]
    fn escapes_and_params() {
        let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(u.user.as_deref(), Some(&b"caller"[..]));
        assert!(u.lr());
        assert_eq!(
            u.param("name").unwrap().value.as_deref(),
            Some(&b"value%41"[..])
        );
        let n = sip("sip:null-%00-null@example.com");
        assert_eq!(n.user.as_deref(), Some(&b"null-\0-null"[..]));
        assert_eq!(n.to_string(), "sip:null-%00-null@example.com");
    }

    #[test]
    fn headers_and_ipv6() {
        let u = sip("sips:[2001:db8::10]:5070;transport=tcp?Route=%3Csip:x%3E&a=b");
        assert!(u.secure);
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.headers.len(), 2);
        assert_eq!(u.headers[0].value.as_deref(), Some(&b"<sip:x>"[..]));
        let again = Bytes::from(u.to_vec());
        assert_eq!(parse_uri(&again, &again).unwrap(), Uri::Sip(u));
    }

    #[test]
    fn other_schemes_and_errors() {
        assert!(matches!(
            p("soap.beep://192.0.2.103:3002"),
            Ok(Uri::Other(_))
        ));
        assert!(matches!(
            p("tel:+1-201-555-0123;phone-context=x"),
            Ok(Uri::Tel(_))
        ));
        assert!(p("<sip:a@b>").is_err());
        assert!(p("sip:a@b c").is_err());
        assert!(p("sip:user@2001:db8::10").is_err());
        assert!(p("sip:a@b;;x").is_err());
        assert!(p("sip:").is_err());
        assert!(p("nocolon").is_err());
    }

    #[test]
    fn password_and_unusual_user() {
        let u = sip(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(
            u.user.as_deref(),
            Some(&b"1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"[..])
        );
        assert!(u.password.is_some());
        assert!(u.headers.is_empty());
    }
}
