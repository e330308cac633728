//! Stamp `received`/`rport` (RFC 3581) onto the top Via of any datagram that
//! parses, from a source address taken from the input's first bytes: the
//! stamped message must re-parse, keep every other header, keep the Via
//! count, and record the source in its top Via.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use cec_runtime::stamp_via;
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{HeaderName, parse_datagram};
use libfuzzer_sys::fuzz_target;

fn source(data: &[u8]) -> (SocketAddr, &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<19>() else {
        return (SocketAddr::from(([192, 0, 2, 1], 5060)), data);
    };
    let port = u16::from_be_bytes([head[17], head[18]]);
    let ip = if head[0] & 1 == 0 {
        IpAddr::V4(Ipv4Addr::new(head[1], head[2], head[3], head[4]))
    } else {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&head[1..17]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    (SocketAddr::new(ip, port), rest)
}

fuzz_target!(|data: &[u8]| {
    let (src, text) = source(data);
    let Ok(mut m) = parse_datagram(Bytes::copy_from_slice(text)) else {
        return;
    };
    let before = m.clone();
    if !stamp_via(&mut m, src) {
        assert_eq!(m.to_bytes(), before.to_bytes(), "unstamped message changed");
        return;
    }
    let again = parse_datagram(m.to_bytes()).expect("stamped message must re-parse");
    let top = again.top_via().expect("stamped top Via must parse");
    assert_eq!(top.received(), Some(src.ip().to_canonical()));
    assert_eq!(again.headers().len(), before.headers().len());
    let first_via = before
        .headers()
        .iter()
        .position(|h| *h.name() == HeaderName::Via);
    for (i, (a, b)) in again.headers().iter().zip(before.headers()).enumerate() {
        if Some(i) != first_via {
            assert_eq!(a, b, "a header other than the top Via changed");
        }
    }
    if let (Ok(a), Ok(b)) = (again.via(), before.via()) {
        assert_eq!(a.len(), b.len(), "Via count changed");
        assert_eq!(a.get(1..), b.get(1..), "lower Vias changed");
    }
});
