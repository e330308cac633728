//! The registrar binding table against RFC 3261 §10.3 on a virtual timeline: expiry from
//! the Contact parameter, the Expires header or the default; clamping; 423 with
//! Min-Expires; removal by expiry 0 and by `*`; queries; URI equivalence and RFC 5626
//! instance matching; the Call-ID/CSeq ordering rule; the per-AOR contact limit; lookup
//! order by q; and expiry with `expire` / `next_expiry`.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cec_sip_auth::{BindingSource, Registrar, RegistrarConfig};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{Message, parse_datagram};
use common::base_instant;

const AOR: &str = "1001@tenant.example.com";

fn source(addr: &str) -> BindingSource {
    BindingSource {
        transport: "UDP".into(),
        addr: addr.parse::<SocketAddr>().unwrap(),
        connection: None,
    }
}

/// A REGISTER with the given Call-ID, CSeq, Contact values (one header line each) and
/// optional Expires.
fn reg(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<&str>) -> Message {
    let mut text = format!(
        "REGISTER sip:tenant.example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-{cseq}\r\n\
         From: <sip:1001@tenant.example.com>;tag=f\r\n\
         To: <sip:1001@tenant.example.com>\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
    );
    for c in contacts {
        text.push_str(&format!("Contact: {c}\r\n"));
    }
    if let Some(e) = expires {
        text.push_str(&format!("Expires: {e}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    parse_datagram(Bytes::from(text)).unwrap()
}

/// The Contact values of a response as (URI, expires) pairs.
fn contacts_of(resp: &Message) -> Vec<(String, u32)> {
    resp.contacts()
        .unwrap()
        .iter()
        .filter_map(|c| c.address())
        .map(|a| (a.uri.to_string(), a.expires().unwrap()))
        .collect()
}

fn setup() -> (Registrar, Instant) {
    (Registrar::new(RegistrarConfig::default()), base_instant())
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn register_stores_binding_and_lists_it() {
    let (mut r, t0) = setup();
    let resp = r.register(
        t0,
        AOR,
        &reg("c1", 1, &["<sip:1001@192.0.2.1:5060>"], None),
        &source("192.0.2.1:5060"),
    );
    assert_eq!(resp.status(), Some(200));
    assert_eq!(
        contacts_of(&resp),
        [("sip:1001@192.0.2.1:5060".to_string(), 3600)]
    );
    assert!(resp.to().unwrap().tag().is_some());
    assert_eq!(&resp.call_id().unwrap()[..], b"c1");
    let found = r.lookup(t0, AOR);
    assert_eq!(found.len(), 1);
    let b = &found[0];
    assert_eq!(b.contact, "sip:1001@192.0.2.1:5060");
    assert_eq!((b.call_id.as_str(), b.cseq), ("c1", 1));
    assert_eq!(b.expires_at, t0 + secs(3600));
    assert_eq!(b.source, source("192.0.2.1:5060"));
    assert!(r.lookup(t0, "other@tenant.example.com").is_empty());
}

#[test]
fn expiry_sources_and_clamping() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    // Contact parameter beats the header; the header beats the default; above max clamps.
    let resp = r.register(
        t0,
        AOR,
        &reg(
            "c1",
            1,
            &[
                "<sip:a@192.0.2.1>;expires=1200",
                "<sip:b@192.0.2.1>",
                "<sip:c@192.0.2.1>;expires=99999",
            ],
            Some("600"),
        ),
        &src,
    );
    assert_eq!(
        contacts_of(&resp),
        [
            ("sip:a@192.0.2.1".to_string(), 1200),
            ("sip:b@192.0.2.1".to_string(), 600),
            ("sip:c@192.0.2.1".to_string(), 3600)
        ]
    );
    let resp = r.register(
        t0,
        AOR,
        &reg("c1", 2, &["<sip:d@192.0.2.1>"], Some("7200")),
        &src,
    );
    assert!(contacts_of(&resp).contains(&("sip:d@192.0.2.1".to_string(), 3600)));
    let mut custom = Registrar::new(RegistrarConfig {
        default_expires: 900,
        ..RegistrarConfig::default()
    });
    let resp = custom.register(t0, AOR, &reg("c1", 1, &["<sip:e@192.0.2.1>"], None), &src);
    assert_eq!(contacts_of(&resp), [("sip:e@192.0.2.1".to_string(), 900)]);
}

#[test]
fn expiry_zero_removes_only_that_binding() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(
        t0,
        AOR,
        &reg("c1", 1, &["<sip:a@192.0.2.1>", "<sip:b@192.0.2.1>"], None),
        &src,
    );
    let resp = r.register(
        t0,
        AOR,
        &reg("c1", 2, &["<sip:a@192.0.2.1>;expires=0"], None),
        &src,
    );
    assert_eq!(contacts_of(&resp), [("sip:b@192.0.2.1".to_string(), 3600)]);
    let resp = r.register(
        t0,
        AOR,
        &reg("c1", 3, &["<sip:b@192.0.2.1>"], Some("0")),
        &src,
    );
    assert_eq!(resp.status(), Some(200));
    assert!(contacts_of(&resp).is_empty());
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn too_brief_interval_gets_423_and_changes_nothing() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(t0, AOR, &reg("c1", 1, &["<sip:a@192.0.2.1>"], None), &src);
    for request in [
        reg("c1", 2, &["<sip:a@192.0.2.1>;expires=30"], None),
        reg("c1", 2, &["<sip:b@192.0.2.1>"], Some("59")),
        reg(
            "c1",
            2,
            &["<sip:b@192.0.2.1>", "<sip:c@192.0.2.1>;expires=1"],
            None,
        ),
    ] {
        let resp = r.register(t0, AOR, &request, &src);
        assert_eq!(resp.status(), Some(423));
        let min = resp.header(&cec_sip_msg::HeaderName::MinExpires).unwrap();
        assert_eq!(min.value(), b"60");
        assert_eq!(r.lookup(t0, AOR).len(), 1);
        assert_eq!(r.lookup(t0, AOR)[0].expires_at, t0 + secs(3600));
    }
    // Exactly the minimum is fine.
    let resp = r.register(
        t0,
        AOR,
        &reg("c1", 3, &["<sip:a@192.0.2.1>"], Some("60")),
        &src,
    );
    assert_eq!(contacts_of(&resp), [("sip:a@192.0.2.1".to_string(), 60)]);
}

#[test]
fn star_removes_everything_only_when_alone_with_expires_zero() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(
        t0,
        AOR,
        &reg("c1", 1, &["<sip:a@192.0.2.1>", "<sip:b@192.0.2.1>"], None),
        &src,
    );
    for (request, reason) in [
        (
            reg("c1", 2, &["*", "<sip:a@192.0.2.1>"], Some("0")),
            "Contact * Mixed With Other Contacts",
        ),
        (reg("c1", 2, &["*"], None), "Contact * Requires Expires: 0"),
        (
            reg("c1", 2, &["*"], Some("30")),
            "Contact * Requires Expires: 0",
        ),
    ] {
        let resp = r.register(t0, AOR, &request, &src);
        assert_eq!(resp.status(), Some(400));
        assert_eq!(resp.reason().map(|r| &r[..]), Some(reason.as_bytes()));
        assert_eq!(r.lookup(t0, AOR).len(), 2);
    }
    let resp = r.register(t0, AOR, &reg("other-call", 1, &["*"], Some("0")), &src);
    assert_eq!(resp.status(), Some(200));
    assert!(contacts_of(&resp).is_empty());
    assert!(r.lookup(t0, AOR).is_empty());
    assert_eq!(r.next_expiry(), None);
}

#[test]
fn query_lists_bindings_with_remaining_time() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(t0, AOR, &reg("c1", 1, &["<sip:a@192.0.2.1>"], None), &src);
    let resp = r.register(t0 + secs(1000), AOR, &reg("c2", 1, &[], Some("0")), &src);
    assert_eq!(resp.status(), Some(200));
    assert_eq!(contacts_of(&resp), [("sip:a@192.0.2.1".to_string(), 2600)]);
    // A query changes nothing (Expires: 0 without Contact is not a removal).
    assert_eq!(r.lookup(t0 + secs(1000), AOR).len(), 1);
    let resp = r.register(
        t0,
        "empty@tenant.example.com",
        &reg("c3", 1, &[], None),
        &src,
    );
    assert_eq!(resp.status(), Some(200));
    assert!(contacts_of(&resp).is_empty());
}

#[test]
fn equivalent_contacts_refresh_one_binding() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(
        t0,
        AOR,
        &reg(
            "c1",
            1,
            &["<sip:%61lice@Host.Example.com:5060;transport=UDP>"],
            None,
        ),
        &src,
    );
    let later = t0 + secs(100);
    let resp = r.register(
        later,
        AOR,
        &reg(
            "c1",
            2,
            &["<sip:alice@host.example.com:5060;transport=udp>"],
            None,
        ),
        &source("192.0.2.1:5070"),
    );
    assert_eq!(contacts_of(&resp).len(), 1);
    let b = &r.lookup(later, AOR)[0];
    assert_eq!((b.cseq, b.expires_at), (2, later + secs(3600)));
    assert_eq!(b.source.addr.port(), 5070);
    // Same user and host without the port is a different URI (RFC 3261 §19.1.4).
    let resp = r.register(
        later,
        AOR,
        &reg(
            "c1",
            3,
            &["<sip:alice@host.example.com;transport=udp>"],
            None,
        ),
        &src,
    );
    assert_eq!(contacts_of(&resp).len(), 2);
    // Two equivalent Contacts in one request write one binding.
    let resp = r.register(
        later,
        AOR,
        &reg(
            "c1",
            4,
            &[
                "<sip:x@192.0.2.9>",
                "<sip:X@192.0.2.9>;expires=120",
                "<sip:x@192.0.2.9>;expires=300",
            ],
            None,
        ),
        &src,
    );
    assert_eq!(resp.status(), Some(200));
    let x: Vec<_> = contacts_of(&resp)
        .into_iter()
        .filter(|(u, _)| u.contains("192.0.2.9"))
        .collect();
    assert_eq!(
        x.len(),
        2,
        "user parts compare case-sensitively: x and X differ"
    );
    assert!(x.contains(&("sip:x@192.0.2.9".to_string(), 300)));
}

#[test]
fn same_call_id_needs_a_higher_cseq() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(t0, AOR, &reg("c1", 5, &["<sip:a@192.0.2.1>"], None), &src);
    for request in [
        reg("c1", 5, &["<sip:a@192.0.2.1>"], Some("600")),
        reg("c1", 4, &["<sip:a@192.0.2.1>;expires=0"], None),
        reg("c1", 3, &["*"], Some("0")),
    ] {
        let resp = r.register(t0, AOR, &request, &src);
        assert_eq!(resp.status(), Some(500));
        assert!(resp.retry_after().unwrap().is_some());
        let b = &r.lookup(t0, AOR)[0];
        assert_eq!(
            (b.cseq, b.expires_at),
            (5, t0 + secs(3600)),
            "nothing changed"
        );
    }
    // Another Call-ID (e.g. the phone rebooted) may use any CSeq.
    let resp = r.register(
        t0,
        AOR,
        &reg("c2", 1, &["<sip:a@192.0.2.1>"], Some("600")),
        &src,
    );
    assert_eq!(contacts_of(&resp), [("sip:a@192.0.2.1".to_string(), 600)]);
    assert_eq!(r.lookup(t0, AOR)[0].call_id, "c2");
    // A lower CSeq on a new contact of the old Call-ID touches no stored binding: fine.
    let resp = r.register(t0, AOR, &reg("c1", 1, &["<sip:b@192.0.2.1>"], None), &src);
    assert_eq!(resp.status(), Some(200));
    // The rule looks at live bindings only.
    let late = t0 + secs(4000);
    let resp = r.register(late, AOR, &reg("c1", 1, &["<sip:b@192.0.2.1>"], None), &src);
    assert_eq!(resp.status(), Some(200));
}

#[test]
fn contact_limit_refuses_with_403_and_keeps_existing() {
    let (mut r, t0) = (
        Registrar::new(RegistrarConfig {
            max_contacts_per_aor: 2,
            ..RegistrarConfig::default()
        }),
        base_instant(),
    );
    let src = source("192.0.2.1:5060");
    let resp = r.register(
        t0,
        AOR,
        &reg("c1", 1, &["<sip:a@192.0.2.1>", "<sip:b@192.0.2.1>"], None),
        &src,
    );
    assert_eq!(resp.status(), Some(200));
    let resp = r.register(t0, AOR, &reg("c2", 1, &["<sip:c@192.0.2.1>"], None), &src);
    assert_eq!(resp.status(), Some(403));
    assert_eq!(
        resp.reason().map(|r| &r[..]),
        Some(&b"Too Many Contacts"[..])
    );
    assert_eq!(r.lookup(t0, AOR).len(), 2);
    // Refreshing, or replacing one by another in a single request, stays within the limit.
    let resp = r.register(
        t0,
        AOR,
        &reg(
            "c1",
            2,
            &["<sip:a@192.0.2.1>;expires=0", "<sip:c@192.0.2.1>"],
            None,
        ),
        &src,
    );
    assert_eq!(resp.status(), Some(200));
    assert_eq!(r.lookup(t0, AOR).len(), 2);
}

#[test]
fn malformed_requests_get_400() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    for (request, reason) in [
        (reg("c1", 1, &["<sip:a@192.0.2.1"], None), "Invalid Contact"),
        (
            reg("c1", 1, &["<sip:a@192.0.2.1>;expires=soon"], None),
            "Invalid Contact expires",
        ),
        (
            reg("c1", 1, &["<sip:a@192.0.2.1>;q=2"], None),
            "Invalid Contact q",
        ),
        (
            reg("c1", 1, &["<sip:a@192.0.2.1>;q=high"], None),
            "Invalid Contact q",
        ),
        (
            reg("c1", 1, &["<sip:a@192.0.2.1>;reg-id=x"], None),
            "Invalid reg-id",
        ),
        (
            reg("c1", 1, &["<sip:a@192.0.2.1>;+sip.instance"], None),
            "Invalid +sip.instance",
        ),
        (
            reg("c1", 1, &["<sip:a@192.0.2.1>"], Some("soon")),
            "Invalid Expires",
        ),
    ] {
        let resp = r.register(t0, AOR, &request, &src);
        assert_eq!(resp.status(), Some(400), "{reason}");
        assert_eq!(resp.reason().map(|r| &r[..]), Some(reason.as_bytes()));
    }
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn lookup_orders_by_q() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(
        t0,
        AOR,
        &reg(
            "c1",
            1,
            &[
                "<sip:low@192.0.2.1>;q=0.5",
                "<sip:none@192.0.2.1>",
                "<sip:high@192.0.2.1>;q=0.9",
                "<sip:zero@192.0.2.1>;q=0",
            ],
            None,
        ),
        &src,
    );
    let order: Vec<_> = r.lookup(t0, AOR).into_iter().map(|b| b.contact).collect();
    assert_eq!(
        order,
        [
            "sip:none@192.0.2.1",
            "sip:high@192.0.2.1",
            "sip:low@192.0.2.1",
            "sip:zero@192.0.2.1"
        ]
    );
    assert_eq!(r.lookup(t0, AOR)[2].q, Some(0.5));
}

#[test]
fn bindings_expire_on_the_timeline() {
    let (mut r, t0) = setup();
    let src = source("192.0.2.1:5060");
    r.register(
        t0,
        AOR,
        &reg(
            "c1",
            1,
            &[
                "<sip:a@192.0.2.1>;expires=60",
                "<sip:b@192.0.2.1>;expires=120",
            ],
            None,
        ),
        &src,
    );
    r.register(
        t0 + secs(10),
        "2002@tenant.example.com",
        &reg("c9", 1, &["<sip:z@192.0.2.2>"], Some("90")),
        &src,
    );
    assert_eq!(r.next_expiry(), Some(t0 + secs(60)));
    assert!(r.expire(t0 + secs(59)).is_empty());
    let gone = r.expire(t0 + secs(60));
    assert_eq!(gone.len(), 1);
    assert_eq!(
        (gone[0].0.as_str(), gone[0].1.contact.as_str()),
        (AOR, "sip:a@192.0.2.1")
    );
    assert_eq!(r.next_expiry(), Some(t0 + secs(100)));
    // lookup already hides a binding at its expiry instant, before expire() runs.
    assert_eq!(r.lookup(t0 + secs(100), "2002@tenant.example.com").len(), 0);
    assert_eq!(r.lookup(t0 + secs(99), "2002@tenant.example.com").len(), 1);
    assert_eq!(r.expire(t0 + secs(500)).len(), 2);
    assert_eq!(r.next_expiry(), None);
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn instance_and_reg_id_replace_a_moved_phone() {
    let (mut r, t0) = setup();
    let phone = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1";
    r.register(
        t0,
        AOR,
        &reg(
            "c1",
            1,
            &[&format!("<sip:1001@192.0.2.1:5060>;{phone}")],
            None,
        ),
        &source("192.0.2.1:5060"),
    );
    // Behind a new NAT mapping the phone registers a new contact with the same instance.
    let resp = r.register(
        t0,
        AOR,
        &reg(
            "c1",
            2,
            &[&format!("<sip:1001@198.51.100.4:6000>;{phone}")],
            None,
        ),
        &source("198.51.100.4:6000"),
    );
    assert_eq!(
        contacts_of(&resp),
        [("sip:1001@198.51.100.4:6000".to_string(), 3600)]
    );
    let b = &r.lookup(t0, AOR)[0];
    assert_eq!(
        b.instance_id.as_deref(),
        Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>")
    );
    assert_eq!(b.reg_id, Some(1));
    let echoed = resp.contacts().unwrap()[0].address().unwrap().clone();
    assert_eq!(
        echoed.param("reg-id").and_then(|p| p.value.as_deref()),
        Some(&b"1"[..])
    );
    assert!(echoed.param("+sip.instance").is_some());
    // Another reg-id of the same instance is a second flow, kept alongside.
    let flow2 = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=2";
    let resp = r.register(
        t0,
        AOR,
        &reg(
            "c1",
            3,
            &[&format!("<sip:1001@198.51.100.4:6001>;{flow2}")],
            None,
        ),
        &source("198.51.100.4:6001"),
    );
    assert_eq!(contacts_of(&resp).len(), 2);
}
