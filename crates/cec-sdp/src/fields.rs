//! Parsers for the individual typed lines (`o= c= m= b= t=`).

use crate::address::net_type;
use crate::attribute::parse_u16_digits;
use crate::error::{Limit, ParseError, excerpt};
use crate::model::{
    AddressType, Bandwidth, Connection, MediaDescription, Origin, Protocol, Timing,
};

fn lower_case_tokens(net: &str, addr_type: &str) -> bool {
    let lower = |s: &str| s.bytes().any(|b| b.is_ascii_lowercase());
    let known = net.eq_ignore_ascii_case("IN")
        || !matches!(AddressType::parse(addr_type), AddressType::Other(_));
    known && (lower(net) || lower(addr_type))
}

pub(crate) fn origin(line: usize, value: &str) -> Result<(Origin, bool), ParseError> {
    let tokens: Vec<&str> = value.split_ascii_whitespace().collect();
    let Some((user, [id, version, net, addr_type, address])) = tokens.split_last_chunk() else {
        return Err(ParseError::InvalidOrigin {
            line,
            reason: "expected 6 fields",
        });
    };
    if user.is_empty() {
        return Err(ParseError::InvalidOrigin {
            line,
            reason: "expected 6 fields",
        });
    }
    if !is_digits(id) {
        return Err(ParseError::InvalidOrigin {
            line,
            reason: "session id is not a number",
        });
    }
    if !is_digits(version) {
        let reason = "session version is not a number";
        return Err(ParseError::InvalidOrigin { line, reason });
    }
    let origin = Origin {
        username: user.join(" "),
        session_id: (*id).to_owned(),
        session_version: (*version).to_owned(),
        net_type: net_type(net),
        addr_type: AddressType::parse(addr_type),
        address: (*address).to_owned(),
    };
    Ok((origin, lower_case_tokens(net, addr_type)))
}

pub(crate) fn connection(line: usize, value: &str) -> Result<(Connection, bool), ParseError> {
    let tokens: Vec<&str> = value.split_ascii_whitespace().take(4).collect();
    let [net, addr_type, address] = tokens.as_slice() else {
        return Err(ParseError::InvalidConnection {
            line,
            reason: "expected 3 fields",
        });
    };
    let lower = lower_case_tokens(net, addr_type);
    Ok((Connection::from_parts(net, addr_type, address), lower))
}

pub(crate) fn media(
    line: usize,
    value: &str,
    max_formats: usize,
) -> Result<MediaDescription, ParseError> {
    let mut tokens = value.split_ascii_whitespace();
    let Some(media) = tokens.next() else {
        return Err(ParseError::InvalidMedia {
            line,
            reason: "missing media type",
        });
    };
    let port_field = tokens.next().unwrap_or("");
    let (port, count) = match port_field.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port_field, None),
    };
    let port = parse_port(line, port, port_field)?;
    let port_count = count.map(|c| parse_port(line, c, port_field)).transpose()?;
    let Some(proto) = tokens.next() else {
        return Err(ParseError::InvalidMedia {
            line,
            reason: "missing protocol",
        });
    };
    let protocol = Protocol::parse(proto);
    let mut formats = Vec::new();
    for f in tokens {
        if formats.len() >= max_formats {
            let max = max_formats;
            return Err(ParseError::TooMany {
                line,
                what: Limit::Formats,
                max,
            });
        }
        let valid_pt = is_digits(f) && f.parse::<u8>().is_ok_and(|pt| pt <= 127);
        if protocol.is_rtp() && !valid_pt {
            return Err(ParseError::InvalidPayloadType {
                line,
                value: excerpt(f),
            });
        }
        formats.push(f.to_owned());
    }
    let mut m = MediaDescription::new(media, port, protocol, formats);
    m.port_count = port_count;
    Ok(m)
}

pub(crate) fn split_line(line: &str, line_no: usize) -> Result<(char, &str), ParseError> {
    match line.as_bytes() {
        [k, b'=', ..] if k.is_ascii_alphabetic() => {
            let value = line
                .get(2..)
                .ok_or(ParseError::MalformedLine { line: line_no })?;
            Ok((char::from(*k), value))
        }
        _ => Err(ParseError::MalformedLine { line: line_no }),
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_port(line: usize, s: &str, field: &str) -> Result<u16, ParseError> {
    if !is_digits(s) {
        return Err(ParseError::InvalidPort {
            line,
            value: excerpt(field),
        });
    }
    parse_u16_digits(s).ok_or_else(|| ParseError::PortOutOfRange {
        line,
        value: excerpt(field),
    })
}

pub(crate) fn parse_bandwidth(value: &str) -> Option<Bandwidth> {
    let (bw_type, bw) = value.split_once(':')?;
    if bw_type.is_empty() || bw_type.contains(|c: char| c.is_whitespace()) || !is_digits(bw) {
        return None;
    }
    Some(Bandwidth {
        bw_type: bw_type.to_owned(),
        bandwidth: bw.parse().ok()?,
    })
}

pub(crate) fn parse_timing(value: &str) -> Option<Timing> {
    let mut tokens = value.split_ascii_whitespace();
    let (start, stop) = (tokens.next()?, tokens.next()?);
    if tokens.next().is_some() || !is_digits(start) || !is_digits(stop) {
        return None;
    }
    Some(Timing {
        start: start.parse().ok()?,
        stop: stop.parse().ok()?,
        repeats: Vec::new(),
    })
}
