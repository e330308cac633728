//! SIP URI comparison (RFC 3261 §19.1.4): what a registrar uses to match an address of
//! record or a contact, and a dialog to match a remote target. Equality of the structs
//! (`==`) is byte equality; these rules are the protocol's.

use crate::host::Host;
use crate::text::Param;
use crate::uri::SipUri;

/// URI parameters that must match when either URI carries them (§19.1.4).
const MUST_MATCH: [&[u8]; 5] = [b"user", b"ttl", b"method", b"maddr", b"transport"];

impl SipUri {
    /// Whether two SIP URIs are equivalent by RFC 3261 §19.1.4: same scheme; user and
    /// password compared case-sensitively after unescaping; host case-insensitively (a name
    /// never equals an address); ports equal, an absent port differing from an explicit
    /// 5060; `user`, `ttl`, `method`, `maddr` and `transport` present in both or neither and
    /// equal; other parameters equal where both carry them; headers equal as sets.
    pub fn equivalent(&self, other: &SipUri) -> bool {
        self.secure == other.secure
            && self.user == other.user
            && self.password == other.password
            && hosts_equivalent(&self.host, &other.host)
            && self.port == other.port
            && params_equivalent(&self.params, &other.params)
            && headers_equivalent(&self.headers, &other.headers)
    }
}

fn hosts_equivalent(a: &Host, b: &Host) -> bool {
    match (a, b) {
        (Host::Domain(x), Host::Domain(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    }
}

fn find<'a>(params: &'a [Param], name: &[u8]) -> Option<&'a Param> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

fn values_equal(a: &Param, b: &Param) -> bool {
    match (&a.value, &b.value) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (None, None) => true,
        _ => false,
    }
}

fn params_equivalent(a: &[Param], b: &[Param]) -> bool {
    let must_match = MUST_MATCH
        .iter()
        .all(|name| match (find(a, name), find(b, name)) {
            (Some(x), Some(y)) => values_equal(x, y),
            (None, None) => true,
            _ => false,
        });
    must_match
        && a.iter()
            .all(|x| find(b, &x.name).is_none_or(|y| values_equal(x, y)))
}

/// Header components are never ignored: the same names with the same (case-sensitive)
/// values, in any order.
fn headers_equivalent(a: &[Param], b: &[Param]) -> bool {
    let covers = |x: &[Param], y: &[Param]| {
        x.iter()
            .all(|h| find(y, &h.name).is_some_and(|other| other.value == h.value))
    };
    a.len() == b.len() && covers(a, b) && covers(b, a)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::uri::{SipUri, Uri};

    fn sip(text: &'static str) -> SipUri {
        match Uri::parse(&Bytes::from_static(text.as_bytes())) {
            Ok(Uri::Sip(uri)) => uri,
            other => panic!("{text}: {other:?}"),
        }
    }

    /// The equivalent pairs of RFC 3261 §19.1.4.
    #[test]
    fn rfc3261_equivalent_pairs() {
        for (a, b) in [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
            ),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ),
        ] {
            assert!(sip(a).equivalent(&sip(b)), "{a} ~ {b}");
            assert!(sip(b).equivalent(&sip(a)), "{b} ~ {a}");
        }
    }

    /// The non-equivalent pairs of RFC 3261 §19.1.4, plus scheme and parameter conflicts.
    #[test]
    fn rfc3261_different_pairs() {
        for (a, b) in [
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
            ),
            ("sip:alice@atlanta.com", "sips:alice@atlanta.com"),
            ("sip:alice:secret@atlanta.com", "sip:alice@atlanta.com"),
        ] {
            assert!(!sip(a).equivalent(&sip(b)), "{a} !~ {b}");
            assert!(!sip(b).equivalent(&sip(a)), "{b} !~ {a}");
        }
    }
}
