//! RFC 4475 torture tests: parser-level verdict for all 49 messages, plus
//! the facts a UAS needs for the context-dependent verdicts.

mod common;

use bytes::Bytes;
use cec_sip_msg::{
    Contact, HeaderName, Host, Message, Method, Origin, ParseError, Transport, Uri, parse_datagram,
};
use common::{load, touch_all};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    /// Parses and validates.
    Valid,
    /// Rejected; the UAS answers with this status.
    Reject(u16),
    /// A response that fails: discarded, never answered.
    Discard,
}
use Verdict::*;

const TABLE: &[(&str, Verdict)] = &[
    ("wsinv", Valid),
    ("intmeth", Valid),
    ("esc01", Valid),
    ("escnull", Valid),
    ("esc02", Valid),
    ("lwsdisp", Valid),
    ("longreq", Valid),
    ("dblreq", Valid),
    ("semiuri", Valid),
    ("transports", Valid),
    ("mpart01", Valid),
    ("unreason", Valid),
    ("noreason", Valid),
    ("badinv01", Reject(400)),
    ("clerr", Reject(400)),
    ("ncl", Reject(400)),
    ("scalar02", Reject(400)),
    ("scalarlg", Discard),
    ("quotbal", Reject(400)),
    ("ltgtruri", Reject(400)),
    ("lwsruri", Reject(400)),
    ("lwsstart", Reject(400)),
    ("trws", Reject(400)),
    ("escruri", Reject(400)),
    ("baddate", Reject(400)),
    ("regbadct", Reject(400)),
    ("badaspec", Reject(400)),
    ("baddn", Reject(400)),
    ("badvers", Reject(505)),
    ("mismatch01", Reject(400)),
    ("mismatch02", Reject(400)),
    ("bigcode", Discard),
    ("badbranch", Valid),
    ("insuf", Reject(400)),
    ("unkscm", Reject(416)),
    ("novelsc", Reject(416)),
    ("unksm2", Valid),
    ("bext01", Valid),
    ("invut", Valid),
    ("regaut01", Valid),
    ("multi01", Reject(400)),
    ("mcl01", Reject(400)),
    ("bcast", Valid),
    ("zeromf", Valid),
    ("cparam01", Valid),
    ("cparam02", Valid),
    ("regescrt", Valid),
    ("sdp01", Valid),
    ("inv2543", Valid),
];

fn parse_and_validate(raw: Bytes) -> Result<Message, ParseError> {
    let m = parse_datagram(raw)?;
    touch_all(&m);
    let core = m.validate()?;
    // What validation parsed is exactly what the accessors give.
    assert_eq!(core.vias, m.via()?);
    assert_eq!(core.top_via(), m.via()?.first());
    assert_eq!(core.from, m.from()?);
    assert_eq!(core.to, m.to()?);
    assert_eq!(core.call_id, m.call_id()?);
    assert_eq!(core.cseq, m.cseq()?);
    assert_eq!(core.max_forwards, m.max_forwards()?);
    Ok(m)
}

fn check_verdict(name: &str, raw: &Bytes, verdict: Verdict) -> Option<Message> {
    let res = parse_and_validate(raw.clone());
    match (verdict, res) {
        (Valid, Ok(m)) => {
            check_print(name, raw, &m);
            Some(m)
        }
        (Reject(code), Err(e)) => {
            assert_eq!(e.origin, Origin::Request, "{name}: {e}");
            let got = e.response_status().map(|s| s.0);
            assert_eq!(got, Some(code), "{name}: {e:?}");
            None
        }
        (Discard, Err(e)) => {
            assert_eq!(e.origin, Origin::Response, "{name}: {e}");
            assert_eq!(e.response_status(), None, "{name}");
            None
        }
        (v, r) => panic!("{name}: expected {v:?}, got {r:?}"),
    }
}

/// Unmodified messages print byte-exact (minus bytes the framing ignored)
/// and re-parse to an equal message.
fn check_print(name: &str, raw: &Bytes, m: &Message) {
    let printed = m.to_bytes();
    assert_eq!(
        &printed[..],
        raw.get(..printed.len()).unwrap_or_default(),
        "{name}: not byte-exact"
    );
    if name != "dblreq" {
        assert_eq!(printed.len(), raw.len(), "{name}");
    }
    let again = parse_datagram(printed).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(&again, m, "{name}: re-parse differs");
}

#[test]
fn all_verdicts() {
    assert_eq!(TABLE.len(), 49);
    for &(name, verdict) in TABLE {
        let mut raw = load("rfc4475", name);
        if name == "baddn" {
            // The archive copy lacks the final empty line (see INDEX.md).
            let mut v = raw.to_vec();
            v.extend_from_slice(b"\r\n");
            raw = Bytes::from(v);
        }
        check_verdict(name, &raw, verdict);
    }
}

#[test]
fn baddn_as_archived_is_incomplete() {
    let e = parse_datagram(load("rfc4475", "baddn")).unwrap_err();
    assert_eq!(e.response_status().map(|s| s.0), Some(400));
}

fn valid(name: &str) -> Message {
    check_verdict(name, &load("rfc4475", name), Valid).unwrap_or_else(|| panic!("{name}"))
}

fn user(u: &Uri) -> Vec<u8> {
    u.user().map(|b| b.to_vec()).unwrap_or_default()
}

#[test]
fn wsinv_headers() {
    let m = valid("wsinv");
    let to = m.to().unwrap();
    assert_eq!(to.tag().map(|t| &t[..]), Some(&b"1918181833n"[..]));
    let from = m.from().unwrap();
    assert_eq!(
        from.display_name.as_deref(),
        Some(&br#"J Rosenberg \""#[..])
    );
    assert_eq!(from.tag().map(|t| &t[..]), Some(&b"98asjd8"[..]));
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    assert_eq!(m.cseq().unwrap().seq, 9);
    let via = m.via().unwrap();
    assert_eq!(via.len(), 3);
    assert_eq!(via[0].transport, Transport::Udp);
    assert_eq!(via[0].branch().map(|b| &b[..]), Some(&b"390skdjuw"[..]));
    assert_eq!(via[1].transport, Transport::Tcp);
    assert_eq!(
        via[1].host,
        Host::Domain(Bytes::from_static(b"spindle.example.com"))
    );
    assert_eq!(via[2].branch().map(|b| &b[..]), Some(&b"z9hG4bK30239"[..]));
    let c = m.contacts().unwrap();
    let Contact::Address(a) = &c[0] else { panic!() };
    assert_eq!(a.display_name.as_deref(), Some(&br#"Quoted string """#[..]));
    assert_eq!(a.q(), Some(0.33));
    assert!(a.param("secondparam").is_some());
    assert_eq!(
        a.param("newparam").unwrap().value.as_deref(),
        Some(&b"newvalue"[..])
    );
    let subj = m.header(&HeaderName::Subject).unwrap();
    assert_eq!(subj.value(), b"");
    let nf = m.header(&HeaderName::from("newfangledheader")).unwrap();
    assert!(nf.value().starts_with(b"newfangled value"));
    assert!(nf.value().ends_with(b"continued newfangled value"));
    let odd = m
        .header(&HeaderName::from("UnknownHeaderWithUnusualValue"))
        .unwrap();
    assert_eq!(odd.value(), b";;,,;;,;");
    let route = m.route().unwrap();
    assert!(route[0].uri.as_sip().unwrap().lr());
    assert_eq!(m.headers().len(), 14);
}

#[test]
fn intmeth_extension_method() {
    let raw = load("rfc4475", "intmeth");
    let m = valid("intmeth");
    let Some(Method::Extension(t)) = m.method() else {
        panic!()
    };
    assert_eq!(&t[..], b"!interesting-Method0123456789_*+`.%indeed'~");
    assert_eq!(m.cseq().unwrap().method, m.method().unwrap().clone());
    let to = m.to().unwrap();
    assert_eq!(
        to.display_name.as_deref(),
        Some(&b"BEL:\x07 NUL:\x00 DEL:\x7f"[..])
    );
    let from = m.from().unwrap();
    assert_eq!(
        from.display_name.as_deref(),
        Some(&b"token1~` token2'+_ token3*%!.-"[..])
    );
    let ext = m
        .headers()
        .iter()
        .find(|h| h.name().as_str().starts_with("extensionHeader"));
    let pos = raw
        .windows(16)
        .position(|w| w == b"extensionHeader-")
        .unwrap();
    let line = &raw[pos..];
    let colon = line.iter().position(|&b| b == b':').unwrap();
    let eol = line.iter().position(|&b| b == b'\r').unwrap();
    // Raw UTF-8 bytes kept as received.
    assert_eq!(ext.unwrap().value(), &line[colon + 1..eol]);
    assert_eq!(
        std::str::from_utf8(&line[colon + 1..eol]).unwrap(),
        "\u{feff}\u{5927}\u{505c}\u{96fb}"
    );
    assert_eq!(
        m.call_id().unwrap().as_ref(),
        br#"intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{"#
    );
}

#[test]
fn escapes() {
    let m = valid("esc01");
    assert_eq!(user(m.request_uri().unwrap()), b"sips:user@example.com");
    assert_eq!(user(&m.to().unwrap().uri), b"user");
    assert_eq!(user(&m.from().unwrap().uri), b"I have spaces");
    let c = m.contacts().unwrap();
    let u = c[0].address().unwrap().uri.as_sip().unwrap();
    assert_eq!(u.user.as_deref(), Some(&b"caller"[..]));
    assert!(u.lr());
    assert_eq!(
        u.param("name").unwrap().value.as_deref(),
        Some(&b"value%41"[..])
    );

    let n = valid("escnull");
    assert_eq!(user(&n.to().unwrap().uri), b"null-\0-null");
    let c = n.contacts().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(user(&c[0].address().unwrap().uri), b"\0");
    assert_eq!(user(&c[1].address().unwrap().uri), b"\0\0");

    let e = valid("esc02");
    assert_eq!(e.method().unwrap().as_bytes(), b"RE%47IST%45R");
    assert!(e.method().unwrap().is_extension());
    assert_eq!(e.contacts().unwrap().len(), 2);
    assert_eq!(e.to().unwrap().display_name.as_deref(), Some(&b"%Z%45"[..]));
}

#[test]
fn misc_valid() {
    let l = valid("lwsdisp");
    assert_eq!(
        l.from().unwrap().display_name.as_deref(),
        Some(&b"caller"[..])
    );

    let s = valid("semiuri");
    assert_eq!(user(s.request_uri().unwrap()), b"user;par=u@example.net");
    assert_eq!(s.accept().unwrap().len(), 6);

    let t = valid("transports");
    let v = t.via().unwrap();
    assert_eq!(v.len(), 5);
    assert_eq!(
        v[3].transport,
        Transport::Other(Bytes::from_static(b"UNKNOWN"))
    );
    assert_eq!(v[1].transport, Transport::Sctp);

    let long = valid("longreq");
    assert!(long.from().unwrap().tag().unwrap().len() > 100);
    assert!(long.to().unwrap().display_name.unwrap().len() > 80);
    assert!(long.call_id().unwrap().len() > 100);
    assert!(long.via().unwrap().len() >= 28);
    assert_eq!(long.body().len(), 150);
    assert!(long.headers().iter().any(|h| h.name().as_str().len() > 80));

    let d = valid("dblreq");
    assert!(d.body().is_empty());
    assert_eq!(d.method(), Some(&Method::Register));

    let mp = valid("mpart01");
    assert_eq!(mp.body().len(), 553);
    assert!(mp.content_type().unwrap().unwrap().is("multipart", "mixed"));

    let inv = valid("inv2543");
    assert!(inv.header(&HeaderName::ContentLength).is_none());
    assert!(inv.max_forwards().unwrap().is_none());
    assert!(inv.top_via().unwrap().branch().is_none());
    assert!(inv.from().unwrap().tag().is_none());
    let raw = load("rfc4475", "inv2543");
    let body_start = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(inv.body().len(), raw.len() - body_start);
}

#[test]
fn responses() {
    let u = valid("unreason");
    assert_eq!(u.status(), Some(200));
    let r = std::str::from_utf8(u.reason().unwrap()).unwrap();
    assert!(r.starts_with("= 2**3 * 5**2 но сто девяносто"));
    let n = valid("noreason");
    assert_eq!(n.status(), Some(100));
    assert!(n.reason().unwrap().is_empty());
    let b = valid("bcast");
    assert_eq!(
        b.via().unwrap()[1].host,
        Host::Ipv4([255, 255, 255, 255].into())
    );
}

#[test]
fn uas_context_facts() {
    let b = valid("badbranch");
    assert!(!b.top_via().unwrap().has_rfc3261_branch());
    let x = valid("bext01");
    let req: Vec<_> = x.require().unwrap();
    assert_eq!(
        req,
        vec!["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    assert_eq!(x.proxy_require().unwrap().len(), 2);
    let i = valid("invut");
    assert!(
        i.content_type()
            .unwrap()
            .unwrap()
            .is("application", "unknownformat")
    );
    let s = valid("sdp01");
    let acc = s.accept().unwrap();
    assert_eq!(acc.len(), 1);
    assert!(acc[0].is("text", "nobodyKnowsThis"));
    let z = valid("zeromf");
    assert_eq!(z.max_forwards().unwrap(), Some(0));
    let a = valid("regaut01");
    let auth = a.authorization().unwrap();
    assert_eq!(&auth[0].scheme[..], b"NoOneKnowsThisScheme");
    let u = valid("unksm2");
    assert!(matches!(u.to().unwrap().uri, Uri::Other(_)));
    let c1 = valid("cparam01");
    let a1 = c1.contacts().unwrap()[0].address().unwrap().clone();
    assert!(a1.param("unknownparam").is_some());
    assert!(a1.uri.as_sip().unwrap().params.is_empty());
    let c2 = valid("cparam02");
    let a2 = c2.contacts().unwrap()[0].address().unwrap().clone();
    assert!(a2.params.is_empty());
    assert!(a2.uri.as_sip().unwrap().param("unknownparam").is_some());
    let r = valid("regescrt");
    let a3 = r.contacts().unwrap()[0].address().unwrap().clone();
    let h = &a3.uri.as_sip().unwrap().headers[0];
    assert_eq!(&h.name[..], b"Route");
    assert_eq!(h.value.as_deref(), Some(&b"<sip:sip.example.com>"[..]));
}

#[test]
fn specific_rejections() {
    use cec_sip_msg::ParseErrorKind as K;
    let kind = |n: &str| parse_and_validate(load("rfc4475", n)).unwrap_err().kind;
    assert_eq!(
        kind("scalar02"),
        K::InvalidHeader {
            name: "CSeq",
            reason: "sequence number above 2^32-1"
        }
    );
    assert!(matches!(kind("ncl"), K::ContentLength(_)));
    assert!(matches!(kind("clerr"), K::ContentLength(_)));
    assert!(matches!(kind("mcl01"), K::ContentLength(_)));
    assert!(matches!(kind("multi01"), K::DuplicateHeader(_)));
    assert!(matches!(kind("insuf"), K::MissingHeader(_)));
    assert_eq!(kind("mismatch01"), K::CSeqMethodMismatch);
    assert!(matches!(kind("escruri"), K::BadRequestUri(_)));
    assert!(matches!(kind("ltgtruri"), K::BadRequestUri(_)));
    assert!(matches!(
        kind("baddate"),
        K::InvalidHeader { name: "Date", .. }
    ));
    assert!(matches!(
        kind("quotbal"),
        K::InvalidHeader { name: "To", .. }
    ));
    assert!(matches!(
        kind("regbadct"),
        K::InvalidHeader {
            name: "Contact",
            ..
        }
    ));
}
