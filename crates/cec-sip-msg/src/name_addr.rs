//! `name-addr` / `addr-spec` with header parameters (From, To, Contact,
//! Route, Record-Route, P-Asserted-Identity, Diversion, History-Info...).
//!
//! RFC 3261 §20.10: without `<>`, the URI ends at the first `;` and every
//! parameter after it belongs to the header, not the URI; such a URI may not
//! contain `?` or `,`.

use bytes::Bytes;

use crate::error::{ParseError, Res};
use crate::print::Print;
use crate::text::{
    Cursor, Param, cut, find_param, is_token, is_ws, parse_header_params, set_param, trim, unquote,
    write_params, write_quoted,
};
use crate::uri::{Uri, parse_uri};

/// An address with optional display name and header parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped; any bytes (UTF-8 or Latin-1).
    pub display_name: Option<Bytes>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`;tag=...`), values as written.
    pub params: Vec<Param>,
}

impl NameAddr {
    /// An address with no display name or parameters.
    pub fn new(uri: Uri) -> Self {
        NameAddr {
            display_name: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Parses one name-addr or addr-spec value.
    pub fn parse(b: &Bytes) -> Result<NameAddr, ParseError> {
        parse_name_addr(b, b).map_err(|r| ParseError::invalid("name-addr", r))
    }

    /// A header parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&Param> {
        find_param(&self.params, name)
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&Bytes> {
        self.param("tag").and_then(|p| p.value.as_ref())
    }

    /// Sets (or replaces) a header parameter.
    pub fn set_param(&mut self, name: &str, value: Option<Bytes>) {
        set_param(&mut self.params, name, value);
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: impl Into<Bytes>) {
        self.set_param("tag", Some(tag.into()));
    }

    /// `expires` parameter (Contact), saturating above 2^32-1.
    pub fn expires(&self) -> Option<u32> {
        self.param("expires")
            .and_then(|p| p.value.as_deref())
            .and_then(crate::text::parse_delta)
    }

    /// `q` parameter (Contact), 0.0 to 1.0.
    pub fn q(&self) -> Option<f32> {
        let v = self.param("q")?.value.as_deref()?;
        std::str::from_utf8(v).ok()?.parse().ok()
    }

    /// `index` parameter (History-Info, RFC 7044).
    pub fn index(&self) -> Option<&Bytes> {
        self.param("index").and_then(|p| p.value.as_ref())
    }
}

/// A Contact value: `*` or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(clippy::large_enum_variant)] // Star is rare; boxing would cost every address.
pub enum Contact {
    /// `Contact: *` (REGISTER removal of all bindings).
    Star,
    /// An address.
    Address(NameAddr),
}

impl Contact {
    /// The address, unless this is `*`.
    pub fn address(&self) -> Option<&NameAddr> {
        match self {
            Contact::Star => None,
            Contact::Address(a) => Some(a),
        }
    }
}

pub(crate) fn parse_contact(base: &Bytes, s: &[u8]) -> Res<Contact> {
    if trim(s) == b"*" {
        Ok(Contact::Star)
    } else {
        parse_name_addr(base, s).map(Contact::Address)
    }
}

/// Parses one name-addr / addr-spec element (already split at commas).
pub(crate) fn parse_name_addr(base: &Bytes, s: &[u8]) -> Res<NameAddr> {
    let s = trim(s);
    let mut c = Cursor::new(s);
    let display_name;
    if c.peek() == Some(b'"') {
        let q = c.quoted()?;
        display_name = Some(unquote(base, q));
        c.skip_ws();
        if c.peek() != Some(b'<') {
            return Err("quoted display name not followed by '<'");
        }
    } else {
        // Unquoted display name: tokens and LWS up to '<'. If anything else
        // comes first, this is an addr-spec.
        // Bytes >= 0x80 tolerated: Latin-1 / UTF-8 display names are common.
        let words = c.take_while(|b| is_token(b) || is_ws(b) || b >= 0x80);
        if c.peek() == Some(b'<') {
            let words = trim(words);
            display_name = (!words.is_empty()).then(|| cut(base, words));
        } else {
            if s.first().is_some_and(|&b| b == b'<') {
                return Err("unclosed '<'");
            }
            if memchr::memchr(b'<', s).is_some() || memchr::memchr(b'"', s).is_some() {
                // `Bell, Alexander <sip:...>` and the like.
                return Err("display name with special characters must be quoted");
            }
            return parse_addr_spec(base, s);
        }
    }
    // At '<': the URI runs to the first '>' with no LWS allowed inside.
    c.eat(b'<');
    let start = c.pos;
    let close = memchr::memchr(b'>', c.rest()).ok_or("unclosed '<'")?;
    let uri_bytes = s.get(start..start + close).unwrap_or_default();
    if uri_bytes.first().is_some_and(|&b| is_ws(b)) || uri_bytes.last().is_some_and(|&b| is_ws(b)) {
        return Err("whitespace inside '<>'");
    }
    let uri = parse_uri(base, uri_bytes)?;
    c.pos = start + close + 1;
    let params = parse_header_params(base, &mut c)?;
    Ok(NameAddr {
        display_name,
        uri,
        params,
    })
}

fn parse_addr_spec(base: &Bytes, s: &[u8]) -> Res<NameAddr> {
    let end = s
        .iter()
        .position(|&b| b == b';' || is_ws(b))
        .unwrap_or(s.len());
    let uri_bytes = s.get(..end).unwrap_or_default();
    if memchr::memchr2(b'?', b',', uri_bytes).is_some() {
        return Err("URI with '?' or ',' must be enclosed in '<>'");
    }
    let uri = parse_uri(base, uri_bytes)?;
    let mut c = Cursor::new(s);
    c.pos = end;
    let params = parse_header_params(base, &mut c)?;
    Ok(NameAddr {
        display_name: None,
        uri,
        params,
    })
}

impl Print for NameAddr {
    fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(d) = &self.display_name {
            write_quoted(out, d);
            out.push(b' ');
        }
        // Always bracket: safe whatever the URI holds.
        out.push(b'<');
        self.uri.write_to(out);
        out.push(b'>');
        write_params(out, &self.params);
    }
}

impl Print for Contact {
    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Contact::Star => out.push(b'*'),
            Contact::Address(a) => a.write_to(out),
        }
    }
}

crate::print::display_via_print!(NameAddr, Contact);

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &'static [u8]) -> Res<NameAddr> {
        let b = Bytes::from_static(s);
        parse_name_addr(&b, &b)
    }

    #[test]
    fn forms() {
        let a =
            p(br#""J Rosenberg \\\""       <sip:jdrosen@example.com>  ;  tag = 98asjd8"#).unwrap();
        assert_eq!(a.display_name.as_deref(), Some(&br#"J Rosenberg \""#[..]));
        assert_eq!(a.tag().map(|t| &t[..]), Some(&b"98asjd8"[..]));
        let b = p(b"caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(b.display_name.as_deref(), Some(&b"caller"[..]));
        let c = p(b"sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert!(c.param("unknownparam").is_some());
        assert!(c.uri.as_sip().unwrap().params.is_empty());
        let d = p(b"<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
        assert!(d.params.is_empty());
        assert!(d.uri.as_sip().unwrap().param("unknownparam").is_some());
    }

    #[test]
    fn rejects() {
        assert!(p(b"Bell, Alexander <sip:a@b>").is_err());
        assert!(p(b"< sip:t.watson@example.org >").is_err());
        assert!(p(br#""Mr. J. User <sip:j.user@example.com>"#).is_err());
        assert!(p(b"sip:user@example.com?Route=%3Csip:x%3E").is_err());
        assert!(p(br#""Joe" <sip:joe@example.org>;;;;"#).is_err());
        assert!(p(b"<sip:a@b").is_err());
        assert!(p(b"").is_err());
    }

    #[test]
    fn prints_and_reparses() {
        let a = p(br#""a\"b" <sip:x@y;lr>;tag=1;q=0.5"#).unwrap();
        let out = Bytes::from(a.to_vec());
        assert_eq!(parse_name_addr(&out, &out).unwrap(), a);
        assert_eq!(a.q(), Some(0.5));
    }
}
