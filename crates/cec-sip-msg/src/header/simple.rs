//! Small typed headers: CSeq, RAck, Content-Type, Session-Expires, Min-SE,
//! Reason, Retry-After, Warning, and the Date syntax check.

use bytes::Bytes;

use crate::error::Res;
use crate::method::Method;
use crate::print::Print;
use crate::text::{
    Cursor, Param, cut, find_param, is_token, is_ws, parse_delta, parse_header_params, parse_u32,
    unquote, write_params, write_quoted,
};

/// CSeq: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// Sequence number (at most 2^32-1).
    pub seq: u32,
    /// Method.
    pub method: Method,
}

fn digits_then_method(c: &mut Cursor<'_>) -> Res<(u32, Method)> {
    c.skip_ws();
    let num = c.take_while(|b| b.is_ascii_digit());
    if num.is_empty() {
        return Err("missing sequence number");
    }
    let seq = parse_u32(num).ok_or("sequence number above 2^32-1")?;
    if !c.peek().is_some_and(is_ws) {
        return Err("expected whitespace after sequence number");
    }
    c.skip_ws();
    let m = c.token();
    let method = Method::from_bytes(m).ok_or("invalid method")?;
    Ok((seq, method))
}

pub(crate) fn parse_cseq(_base: &Bytes, s: &[u8]) -> Res<CSeq> {
    let mut c = Cursor::new(s);
    let (seq, method) = digits_then_method(&mut c)?;
    c.skip_ws();
    if !c.at_end() {
        return Err("trailing characters");
    }
    Ok(CSeq { seq, method })
}

impl Print for CSeq {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.method.as_bytes());
    }
}

/// RAck (RFC 3262): response number, CSeq number, method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RAck {
    /// RSeq of the response being acknowledged.
    pub rseq: u32,
    /// CSeq number of the request.
    pub cseq: u32,
    /// CSeq method.
    pub method: Method,
}

pub(crate) fn parse_rack(_base: &Bytes, s: &[u8]) -> Res<RAck> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let r = c.take_while(|b| b.is_ascii_digit());
    let rseq = parse_u32(r).ok_or("invalid response number")?;
    let (cseq, method) = digits_then_method(&mut c)?;
    c.skip_ws();
    if !c.at_end() {
        return Err("trailing characters");
    }
    Ok(RAck { rseq, cseq, method })
}

impl Print for RAck {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{} {} ", self.rseq, self.cseq).as_bytes());
        out.extend_from_slice(self.method.as_bytes());
    }
}

/// A media type with parameters (Content-Type, Accept).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaType {
    /// Type, e.g. `application`.
    pub mtype: Bytes,
    /// Subtype, e.g. `sdp`.
    pub subtype: Bytes,
    /// Parameters, values as written.
    pub params: Vec<Param>,
}

impl MediaType {
    /// Case-insensitive match on type and subtype.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype.as_bytes())
            && self.subtype.eq_ignore_ascii_case(subtype.as_bytes())
    }

    /// A parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&Param> {
        find_param(&self.params, name)
    }
}

pub(crate) fn parse_media_type(base: &Bytes, s: &[u8]) -> Res<MediaType> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let mtype = c.token();
    c.skip_ws();
    if mtype.is_empty() || !c.eat(b'/') {
        return Err("expected type/subtype");
    }
    c.skip_ws();
    let subtype = c.token();
    if subtype.is_empty() {
        return Err("expected type/subtype");
    }
    let params = parse_header_params(base, &mut c)?;
    Ok(MediaType {
        mtype: cut(base, mtype),
        subtype: cut(base, subtype),
        params,
    })
}

impl Print for MediaType {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.mtype);
        out.push(b'/');
        out.extend_from_slice(&self.subtype);
        write_params(out, &self.params);
    }
}

/// Session-Expires refresher (RFC 4028).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Refresher {
    /// `uac`
    Uac,
    /// `uas`
    Uas,
}

/// Session-Expires (RFC 4028).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionExpires {
    /// Interval in seconds.
    pub delta: u32,
    /// Parameters (including `refresher`).
    pub params: Vec<Param>,
}

impl SessionExpires {
    /// The `refresher` parameter, if it is `uac` or `uas`.
    pub fn refresher(&self) -> Option<Refresher> {
        let v = find_param(&self.params, "refresher")?.value.as_deref()?;
        if v.eq_ignore_ascii_case(b"uac") {
            Some(Refresher::Uac)
        } else if v.eq_ignore_ascii_case(b"uas") {
            Some(Refresher::Uas)
        } else {
            None
        }
    }
}

fn delta_params(base: &Bytes, s: &[u8]) -> Res<(u32, Vec<Param>)> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let d = c.take_while(|b| b.is_ascii_digit());
    let delta = parse_delta(d).ok_or("expected delta-seconds")?;
    let params = parse_header_params(base, &mut c)?;
    Ok((delta, params))
}

/// `delta *(;param)`: the wire form shared by Session-Expires and Min-SE.
fn write_delta_params(out: &mut Vec<u8>, delta: u32, params: &[Param]) {
    out.extend_from_slice(delta.to_string().as_bytes());
    write_params(out, params);
}

pub(crate) fn parse_session_expires(base: &Bytes, s: &[u8]) -> Res<SessionExpires> {
    delta_params(base, s).map(|(delta, params)| SessionExpires { delta, params })
}

impl Print for SessionExpires {
    fn write_to(&self, out: &mut Vec<u8>) {
        write_delta_params(out, self.delta, &self.params);
    }
}

/// Min-SE (RFC 4028).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MinSe {
    /// Minimum interval in seconds.
    pub delta: u32,
    /// Parameters.
    pub params: Vec<Param>,
}

pub(crate) fn parse_min_se(base: &Bytes, s: &[u8]) -> Res<MinSe> {
    delta_params(base, s).map(|(delta, params)| MinSe { delta, params })
}

impl Print for MinSe {
    fn write_to(&self, out: &mut Vec<u8>) {
        write_delta_params(out, self.delta, &self.params);
    }
}

/// Retry-After: delta, optional comment, parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RetryAfter {
    /// Seconds (saturating at 2^32-1).
    pub delta: u32,
    /// Comment text without parentheses.
    pub comment: Option<Bytes>,
    /// Parameters (e.g. `duration`).
    pub params: Vec<Param>,
}

pub(crate) fn parse_retry_after(base: &Bytes, s: &[u8]) -> Res<RetryAfter> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let d = c.take_while(|b| b.is_ascii_digit());
    let delta = parse_delta(d).ok_or("expected delta-seconds")?;
    c.skip_ws();
    let mut comment = None;
    if c.eat(b'(') {
        // Comments nest; track depth so ')' inside does not end it early.
        let start = c.pos;
        let mut depth = 1usize;
        while depth > 0 {
            match c.peek() {
                None => return Err("unterminated comment"),
                Some(b'(') => depth += 1,
                Some(b')') => depth -= 1,
                Some(b'\\') => c.pos += 1,
                Some(_) => {}
            }
            c.pos += 1;
        }
        comment = Some(cut(base, c.s.get(start..c.pos - 1).unwrap_or_default()));
    }
    let params = parse_header_params(base, &mut c)?;
    Ok(RetryAfter {
        delta,
        comment,
        params,
    })
}

impl Print for RetryAfter {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.delta.to_string().as_bytes());
        if let Some(cm) = &self.comment {
            out.extend_from_slice(b" (");
            out.extend_from_slice(cm);
            out.push(b')');
        }
        write_params(out, &self.params);
    }
}

/// Reason (RFC 3326): protocol with `cause` and `text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason {
    /// Protocol, e.g. `SIP` or `Q.850`.
    pub protocol: Bytes,
    /// Parameters.
    pub params: Vec<Param>,
}

impl Reason {
    /// The `cause` parameter.
    pub fn cause(&self) -> Option<u16> {
        let v = find_param(&self.params, "cause")?.value.as_deref()?;
        std::str::from_utf8(v).ok()?.parse().ok()
    }

    /// The `text` parameter, unquoted.
    pub fn text(&self) -> Option<Bytes> {
        find_param(&self.params, "text")?.unquoted_value()
    }
}

pub(crate) fn parse_reason(base: &Bytes, s: &[u8]) -> Res<Reason> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let protocol = c.token();
    if protocol.is_empty() {
        return Err("missing protocol");
    }
    let params = parse_header_params(base, &mut c)?;
    Ok(Reason {
        protocol: cut(base, protocol),
        params,
    })
}

impl Print for Reason {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.protocol);
        write_params(out, &self.params);
    }
}

/// Warning: code, agent and text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Warning {
    /// Three-digit warn-code.
    pub code: u16,
    /// warn-agent (`host[:port]` or pseudonym).
    pub agent: Bytes,
    /// Warning text, unquoted.
    pub text: Bytes,
}

pub(crate) fn parse_warning(base: &Bytes, s: &[u8]) -> Res<Warning> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let code = c.take_while(|b| b.is_ascii_digit());
    if code.len() != 3 {
        return Err("warn-code must have three digits");
    }
    let code = code.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
    c.skip_ws();
    let agent = c.take_while(|b| !is_ws(b));
    if agent.is_empty() {
        return Err("missing warn-agent");
    }
    c.skip_ws();
    if c.peek() != Some(b'"') {
        return Err("warn-text must be quoted");
    }
    let text = unquote(base, c.quoted()?);
    c.skip_ws();
    if !c.at_end() {
        return Err("trailing characters");
    }
    Ok(Warning {
        code,
        agent: cut(base, agent),
        text,
    })
}

impl Print for Warning {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{:03} ", self.code).as_bytes());
        out.extend_from_slice(&self.agent);
        out.push(b' ');
        write_quoted(out, &self.text);
    }
}

/// Checks the RFC 1123 date form SIP requires:
/// `Sun, 06 Nov 1994 08:49:37 GMT` (the zone must be GMT).
pub(crate) fn is_rfc1123_date(s: &[u8]) -> bool {
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let parts: Vec<&[u8]> = s.split(|&b| b == b' ').filter(|p| !p.is_empty()).collect();
    let digits = |p: &[u8], n: usize| p.len() == n && p.iter().all(u8::is_ascii_digit);
    let [day, dd, mon, year, time, zone] = parts.as_slice() else {
        return false;
    };
    let day_ok = day.strip_suffix(b",").is_some_and(|d| DAYS.contains(&d));
    let time_ok = time.len() == 8
        && time.split(|&b| b == b':').all(|p| digits(p, 2))
        && time.iter().filter(|&&b| b == b':').count() == 2;
    day_ok && digits(dd, 2) && MONTHS.contains(mon) && digits(year, 4) && time_ok && *zone == b"GMT"
}

/// Parses a comma list of tokens (Supported, Require, ...); empty elements
/// are skipped.
pub(crate) fn parse_token(base: &Bytes, s: &[u8]) -> Res<Option<Bytes>> {
    if s.is_empty() {
        return Ok(None);
    }
    if s.iter().all(|&b| is_token(b)) {
        Ok(Some(cut(base, s)))
    } else {
        Err("invalid token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static [u8]) -> Bytes {
        Bytes::from_static(s)
    }

    #[test]
    fn cseq() {
        let s = b(b"0009\r\n  INVITE");
        assert_eq!(
            parse_cseq(&s, &s).unwrap(),
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        let big = b(b"36893488147419103232 REGISTER");
        assert_eq!(parse_cseq(&big, &big), Err("sequence number above 2^32-1"));
        let max = b(b"4294967295 BYE");
        assert_eq!(parse_cseq(&max, &max).unwrap().seq, u32::MAX);
        let bad = b(b"1INVITE");
        assert!(parse_cseq(&bad, &bad).is_err());
        let r = b(b"776656 1 INVITE");
        assert_eq!(parse_rack(&r, &r).unwrap().rseq, 776656);
    }

    #[test]
    fn media_and_timers() {
        let m = b(b"multipart/mixed;boundary=\"7a9cbec02ceef655\"");
        let t = parse_media_type(&m, &m).unwrap();
        assert!(t.is("Multipart", "MIXED"));
        assert!(t.param("boundary").is_some());
        let se = b(b"1800;refresher=uas");
        let se = parse_session_expires(&se, &se).unwrap();
        assert_eq!(se.delta, 1800);
        assert_eq!(se.refresher(), Some(Refresher::Uas));
        let ra = b(b"120 (I'm in a (meeting)) ;duration=60");
        let ra = parse_retry_after(&ra, &ra).unwrap();
        assert_eq!(ra.comment.as_deref(), Some(&b"I'm in a (meeting)"[..]));
        assert_eq!(ra.params.len(), 1);
    }

    #[test]
    fn reason_warning_date() {
        let r = b(b"SIP ;cause=200 ;text=\"Call completed elsewhere\"");
        let r = parse_reason(&r, &r).unwrap();
        assert_eq!(r.cause(), Some(200));
        assert_eq!(r.text().as_deref(), Some(&b"Call completed elsewhere"[..]));
        let w = b(b"301 isi.edu \"Incompatible network address type 'E.164'\"");
        let w = parse_warning(&w, &w).unwrap();
        assert_eq!(w.code, 301);
        let bad = b(b"1812 overture \"In Progress\"");
        assert!(parse_warning(&bad, &bad).is_err());
        assert!(is_rfc1123_date(b"Sat, 13 Nov 2010 23:29:00 GMT"));
        assert!(!is_rfc1123_date(b"Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!is_rfc1123_date(b""));
    }
}
