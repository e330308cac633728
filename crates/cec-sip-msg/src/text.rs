//! Byte-level scanning helpers shared by every typed parser. Header values
//! may still contain folding (CRLF + SP), so CR and LF count as whitespace.

use bytes::Bytes;

use crate::error::Res;

pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 3261 `token` characters.
/// RFC 3261 `token` characters, as a table: this test runs for every byte of every header
/// name and parameter, so it must be one load.
static TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        b += 1;
    }
    table
};

#[inline]
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

pub(crate) fn is_token_str(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}

pub(crate) fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// Zero-copy slice of `base` when `sub` lies inside it, a copy otherwise
/// (never panics, unlike `Bytes::slice_ref`).
pub(crate) fn cut(base: &Bytes, sub: &[u8]) -> Bytes {
    if sub.is_empty() {
        return Bytes::new();
    }
    let b = base.as_ptr() as usize;
    let s = sub.as_ptr() as usize;
    if s >= b && s + sub.len() <= b + base.len() {
        base.slice_ref(sub)
    } else {
        Bytes::copy_from_slice(sub)
    }
}

/// Forward-only cursor over a byte slice; every access is bounds-checked.
pub(crate) struct Cursor<'a> {
    pub s: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    pub fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    pub fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    pub fn token(&mut self) -> &'a [u8] {
        self.take_while(is_token)
    }

    pub fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    /// Scans a quoted string starting at `"`; returns it with its quotes.
    pub fn quoted(&mut self) -> Res<&'a [u8]> {
        let start = self.pos;
        if !self.eat(b'"') {
            return Err("expected quoted string");
        }
        loop {
            match self.peek() {
                None => return Err("unbalanced quotes"),
                Some(b'\\') => {
                    if self.pos + 1 >= self.s.len() {
                        return Err("unbalanced quotes");
                    }
                    self.pos += 2;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        Ok(self.s.get(start..self.pos).unwrap_or_default())
    }
}

/// Content of a quoted string (given with its quotes), with `\x` pairs
/// resolved. Zero-copy when there is no escape.
pub(crate) fn unquote(base: &Bytes, raw: &[u8]) -> Bytes {
    let inner = raw
        .strip_prefix(b"\"")
        .and_then(|r| r.strip_suffix(b"\""))
        .unwrap_or(raw);
    if memchr::memchr(b'\\', inner).is_none() {
        return cut(base, inner);
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut it = inner.iter();
    while let Some(&b) = it.next() {
        if b == b'\\' {
            if let Some(&n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(b);
        }
    }
    Bytes::from(out)
}

/// Writes `s` as a quoted string, escaping what qdtext cannot hold. CR and
/// LF cannot be carried at all; they become spaces so the output can never
/// break the framing.
pub(crate) fn write_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\r' | b'\n' => out.push(b' '),
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            0..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f | 0x7f => {
                out.push(b'\\');
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Iterator over comma-separated elements of a header value; commas inside
/// quoted strings or `<...>` do not separate. Elements are trimmed.
pub(crate) struct CommaSplit<'a> {
    s: &'a [u8],
    pos: usize,
    done: bool,
}

pub(crate) fn split_commas(s: &[u8]) -> CommaSplit<'_> {
    CommaSplit {
        s,
        pos: 0,
        done: false,
    }
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = Res<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let mut in_quote = false;
        let mut in_angle = false;
        let mut i = start;
        // Jump between the bytes that matter (memchr) instead of testing every byte: list
        // headers are long and mostly plain text.
        loop {
            let rest = self.s.get(i..).unwrap_or_default();
            let hit = if in_quote {
                memchr::memchr2(b'\\', b'"', rest)
            } else if in_angle {
                memchr::memchr(b'>', rest)
            } else {
                memchr::memchr3(b'"', b'<', b',', rest)
            };
            let Some(offset) = hit else {
                break;
            };
            i += offset;
            match (self.s.get(i), in_quote) {
                (Some(b'\\'), true) => i += 1,
                (Some(b'"'), true) => in_quote = false,
                (Some(b'>'), false) if in_angle => in_angle = false,
                (Some(b'"'), false) => in_quote = true,
                (Some(b'<'), false) => in_angle = true,
                (Some(b','), false) => {
                    self.pos = i + 1;
                    return Some(Ok(trim(self.s.get(start..i).unwrap_or_default())));
                }
                _ => {}
            }
            i += 1;
        }
        self.done = true;
        if in_quote {
            return Some(Err("unbalanced quotes"));
        }
        if in_angle {
            return Some(Err("unclosed '<'"));
        }
        Some(Ok(trim(self.s.get(start..).unwrap_or_default())))
    }
}

/// A `name[=value]` parameter. Header parameters keep their value as
/// written (quotes included); URI parameters are stored %-unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Parameter name (compare case-insensitively).
    pub name: Bytes,
    /// Value, if the parameter has `=`.
    pub value: Option<Bytes>,
}

impl Param {
    /// Builds a parameter.
    pub fn new(name: impl Into<Bytes>, value: Option<Bytes>) -> Self {
        Param {
            name: name.into(),
            value,
        }
    }

    /// The value with surrounding quotes removed and `\` pairs resolved.
    pub fn unquoted_value(&self) -> Option<Bytes> {
        self.value.as_ref().map(|v| {
            if v.first() == Some(&b'"') {
                unquote(v, v)
            } else {
                v.clone()
            }
        })
    }
}

/// Finds a parameter by case-insensitive name.
pub fn find_param<'a>(params: &'a [Param], name: &str) -> Option<&'a Param> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
}

/// Replaces (or appends) a parameter, keeping its position if present.
pub(crate) fn set_param(params: &mut Vec<Param>, name: &str, value: Option<Bytes>) {
    if let Some(p) = params
        .iter_mut()
        .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
    {
        p.value = value;
    } else {
        params.push(Param::new(Bytes::copy_from_slice(name.as_bytes()), value));
    }
}

/// Parses `*( SEMI name [EQUAL value] )` header parameters until the end of
/// the cursor. LWS is allowed around `;` and `=`.
pub(crate) fn parse_header_params(base: &Bytes, c: &mut Cursor<'_>) -> Res<Vec<Param>> {
    let mut params = Vec::new();
    loop {
        c.skip_ws();
        if c.at_end() {
            return Ok(params);
        }
        if !c.eat(b';') {
            return Err("unexpected character where ';' was expected");
        }
        c.skip_ws();
        let name = c.token();
        if name.is_empty() {
            return Err("empty parameter");
        }
        c.skip_ws();
        let value = if c.eat(b'=') {
            c.skip_ws();
            let v = if c.peek() == Some(b'"') {
                c.quoted()?
            } else {
                c.take_while(|b| !is_ws(b) && b != b';' && b != b',' && b != b'"')
            };
            if v.is_empty() {
                return Err("empty parameter value");
            }
            Some(cut(base, v))
        } else {
            None
        };
        params.push(Param {
            name: cut(base, name),
            value,
        });
    }
}

/// Writes header parameters as `;name=value`.
pub(crate) fn write_params(out: &mut Vec<u8>, params: &[Param]) {
    for p in params {
        out.push(b';');
        out.extend_from_slice(&p.name);
        if let Some(v) = &p.value {
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
}

/// Parses an unsigned decimal that must fit in `u32`.
pub(crate) fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Parses a delta-seconds value; values above 2^32-1 saturate (RFC 3261
/// §20.19 asks to treat them as 2^32-1).
pub(crate) fn parse_delta(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(parse_u32(s).unwrap_or(u32::MAX))
}

/// Percent-decodes `s` (once). Zero-copy when there is no `%`.
pub(crate) fn unescape(base: &Bytes, s: &[u8]) -> Res<Bytes> {
    if memchr::memchr(b'%', s).is_none() {
        return Ok(cut(base, s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            let h = s.get(i + 1).copied().and_then(hex);
            let l = s.get(i + 2).copied().and_then(hex);
            match (h, l) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err("invalid %-escape"),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(Bytes::from(out))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Writes `s`, %-escaping every byte `allowed` rejects.
pub(crate) fn write_escaped(out: &mut Vec<u8>, s: &[u8], allowed: fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s {
        if allowed(b) {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_respect_quotes_and_angles() {
        let v: Vec<_> = split_commas(br#""a,b" <sip:x,y@h>, c ,d"#)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(v, vec![&br#""a,b" <sip:x,y@h>"#[..], b"c", b"d"]);
        assert!(split_commas(br#""abc"#).any(|r| r.is_err()));
    }

    #[test]
    fn params_with_lws() {
        let base = Bytes::from_static(b" ;   tag    = 1918181833n ; lr");
        let mut c = Cursor::new(&base);
        let p = parse_header_params(&base, &mut c).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].value.as_deref(), Some(&b"1918181833n"[..]));
        assert!(p[1].value.is_none());
        let bad = Bytes::from_static(b";;");
        assert!(parse_header_params(&bad, &mut Cursor::new(&bad)).is_err());
    }

    #[test]
    fn escapes() {
        let b = Bytes::from_static(b"a%00b%41");
        assert_eq!(&unescape(&b, &b).unwrap()[..], b"a\0bA");
        assert!(unescape(&b, b"%Z1").is_err());
        let mut out = Vec::new();
        write_escaped(&mut out, b"a b", |c| c.is_ascii_alphanumeric());
        assert_eq!(out, b"a%20b");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(b"0009"), Some(9));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_delta(b"99999999999"), Some(u32::MAX));
        assert_eq!(parse_u32(b"-1"), None);
    }

    #[test]
    fn quoting_round_trip() {
        let mut out = Vec::new();
        write_quoted(&mut out, b"J \"R\" \\ \x07");
        let b = Bytes::from(out);
        assert_eq!(&unquote(&b, &b)[..], b"J \"R\" \\ \x07");
    }

    /// The byte-at-a-time splitter the memchr version replaced: the reference it must match.
    fn reference_split(s: &[u8]) -> Vec<Res<&[u8]>> {
        let mut out = Vec::new();
        let (mut start, mut i) = (0, 0);
        let (mut in_quote, mut in_angle) = (false, false);
        while let Some(&b) = s.get(i) {
            if in_quote {
                match b {
                    b'\\' => i += 1,
                    b'"' => in_quote = false,
                    _ => {}
                }
            } else if in_angle {
                in_angle = b != b'>';
            } else {
                match b {
                    b'"' => in_quote = true,
                    b'<' => in_angle = true,
                    b',' => {
                        out.push(Ok(trim(&s[start..i])));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        out.push(if in_quote {
            Err("unbalanced quotes")
        } else if in_angle {
            Err("unclosed '<'")
        } else {
            Ok(trim(&s[start..]))
        });
        out
    }

    proptest::proptest! {
        #[test]
        fn comma_split_matches_reference(s in proptest::collection::vec(
            proptest::sample::select(&b"ab ,<>\\\";="[..]), 0..40)) {
            let ours: Vec<_> = split_commas(&s).collect();
            proptest::prop_assert_eq!(ours, reference_split(&s));
        }
    }
}
