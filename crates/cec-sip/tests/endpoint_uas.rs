//! The UAS rules the endpoint applies on its own, before the application sees a request:
//! 501 for unknown methods (with Allow), 420 for unsupported Require (with Unsupported),
//! 481 for requests in dialogs we do not have, CANCEL (200 + 487, or 481), and stateless
//! 400/505 answers to malformed requests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip::{Endpoint, EndpointConfig, Event, Peer, TransportKind};
use cec_sip_msg::{HeaderName, Message, parse_datagram};

/// The origin of the virtual timeline (the simulator's clock reads the real one once).
fn t0() -> Instant {
    cec_sim::VirtualClock::start().now()
}

fn endpoint() -> Endpoint {
    let mut counter = 0u64;
    Endpoint::new(EndpointConfig::default(), move || {
        counter += 1;
        counter
    })
}

fn caller() -> Peer {
    Peer::new(
        TransportKind::Udp,
        "127.0.0.1:5099".parse::<SocketAddr>().unwrap(),
    )
}

fn request(method: &str, branch: &str, extra: &str) -> Message {
    let text = format!(
        "{method} sip:4001@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5099;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:caller@127.0.0.1>;tag=f1\r\n\
         To: <sip:4001@127.0.0.1>{extra}\r\n\
         Call-ID: {branch}@test\r\n\
         CSeq: 7 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    parse_datagram(Bytes::from(text)).unwrap()
}

fn sent(endpoint: &mut Endpoint) -> Vec<Message> {
    std::iter::from_fn(|| endpoint.poll_transmit())
        .map(|t| parse_datagram(t.bytes).unwrap())
        .collect()
}

#[test]
fn unknown_method_gets_501_with_allow() {
    let mut ep = endpoint();
    ep.handle_message(t0(), request("FROBNICATE", "z9hG4bKu1", ""), caller());
    let out = sent(&mut ep);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status(), Some(501));
    let allow = out[0].allow().unwrap();
    assert!(allow.contains(&cec_sip_msg::Method::Invite));
    assert!(ep.poll_event().is_none());
}

#[test]
fn unsupported_require_gets_420_naming_the_extension() {
    let mut ep = endpoint();
    let mut invite = request("INVITE", "z9hG4bKr1", "");
    invite.push(HeaderName::Require, b"100rel, foo-ext");
    ep.handle_message(t0(), invite, caller());
    let out = sent(&mut ep);
    assert_eq!(out[0].status(), Some(420));
    let unsupported: Vec<Bytes> = out[0].unsupported().unwrap();
    assert_eq!(unsupported, vec![Bytes::from_static(b"foo-ext")]);
}

#[test]
fn requests_for_unknown_dialogs_get_481() {
    let mut ep = endpoint();
    ep.handle_message(t0(), request("BYE", "z9hG4bKb1", ";tag=nobody"), caller());
    ep.handle_message(t0(), request("INFO", "z9hG4bKb2", ""), caller());
    let statuses: Vec<u16> = sent(&mut ep).iter().filter_map(Message::status).collect();
    assert_eq!(statuses, vec![481, 481]);
    assert_eq!(ep.stats().no_dialog, 2);
}

#[test]
fn options_reaches_the_application_which_answers_with_capabilities() {
    let mut ep = endpoint();
    let now = t0();
    ep.handle_message(now, request("OPTIONS", "z9hG4bKo1", ""), caller());
    let Some(Event::Request { tx, .. }) = ep.poll_event() else {
        panic!("OPTIONS must reach the application");
    };
    let response = ep.options_response(tx).unwrap();
    ep.respond(now, tx, &response).unwrap();
    let out = sent(&mut ep);
    assert_eq!(out[0].status(), Some(200));
    assert!(out[0].to().unwrap().tag().is_some());
    assert!(!out[0].supported().unwrap().is_empty());
    assert_eq!(out[0].accept().unwrap().len(), 1);
}

#[test]
fn cancel_of_a_pending_invite_gets_200_and_the_invite_487() {
    let mut ep = endpoint();
    let now = t0();
    ep.handle_message(now, request("INVITE", "z9hG4bKc1", ""), caller());
    let Some(Event::Request { tx: invite_tx, .. }) = ep.poll_event() else {
        panic!("INVITE must reach the application");
    };
    let cancel = parse_datagram(Bytes::from(
        String::from_utf8(request("INVITE", "z9hG4bKc1", "").to_bytes().to_vec())
            .unwrap()
            .replacen("INVITE sip", "CANCEL sip", 1)
            .replace("CSeq: 7 INVITE", "CSeq: 7 CANCEL"),
    ))
    .unwrap();
    ep.handle_message(now + Duration::from_millis(50), cancel, caller());
    let out = sent(&mut ep);
    let summary: Vec<(u16, String)> = out
        .iter()
        .map(|m| {
            (
                m.status().unwrap(),
                String::from_utf8_lossy(m.cseq().unwrap().method.as_bytes()).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![(200, "CANCEL".into()), (487, "INVITE".into())]
    );
    assert!(matches!(ep.poll_event(), Some(Event::Cancelled { invite }) if invite == invite_tx));
    // The application's late answer is refused: the INVITE is already finished.
    assert!(
        ep.respond_status(now, invite_tx, 480, "Temporarily Unavailable")
            .is_err()
    );
}

#[test]
fn cancel_without_a_matching_invite_gets_481() {
    let mut ep = endpoint();
    ep.handle_message(t0(), request("CANCEL", "z9hG4bKnone", ""), caller());
    assert_eq!(sent(&mut ep)[0].status(), Some(481));
}

#[test]
fn malformed_request_gets_a_stateless_400_and_the_next_one_is_served() {
    let mut ep = endpoint();
    let raw = b"INVITE sip:4001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKm\r\nMax-Forwards: 70\r\nFrom: <sip:c@h>;tag=1\r\nTo: <sip:4001@h>\r\nCall-ID: m@t\r\nCSeq: 8 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let message = parse_datagram(Bytes::from_static(raw)).unwrap();
    ep.handle_message(t0(), message, caller());
    let out = sent(&mut ep);
    assert_eq!(out[0].status(), Some(400));
    assert_eq!(ep.stats().rejected_malformed, 1);
    ep.handle_message(t0(), request("OPTIONS", "z9hG4bKok", ""), caller());
    assert!(matches!(ep.poll_event(), Some(Event::Request { .. })));
}

#[test]
fn unreadable_session_description_gets_415_and_sdp_refused_by_accept_gets_406() {
    let mut ep = endpoint();
    let mut invite = request("INVITE", "z9hG4bKbody", "");
    invite.push(HeaderName::ContentType, b"application/unknownformat");
    invite.set_body(Bytes::from_static(b"<audio/>"));
    let invite = parse_datagram(invite.to_bytes()).unwrap();
    ep.handle_message(t0(), invite, caller());
    let out = sent(&mut ep);
    assert_eq!(out[0].status(), Some(415));
    assert!(out[0].accept().unwrap()[0].is("application", "sdp"));

    let mut invite = request("INVITE", "z9hG4bKacc", "");
    invite.push(HeaderName::Accept, b"text/nobodyKnowsThis");
    ep.handle_message(t0(), invite, caller());
    assert_eq!(sent(&mut ep)[0].status(), Some(406));

    let mut invite = request("INVITE", "z9hG4bKok", "");
    invite.push(HeaderName::Accept, b"application/sdp, text/plain");
    ep.handle_message(t0(), invite, caller());
    assert!(sent(&mut ep).is_empty());
    assert!(matches!(ep.poll_event(), Some(Event::Request { .. })));
}

#[test]
fn a_full_transaction_table_sheds_new_requests_with_503_but_still_matches_retransmissions() {
    let mut counter = 0u64;
    let config = EndpointConfig {
        max_server_transactions: 2,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, move || {
        counter += 1;
        counter
    });
    let now = t0();
    ep.handle_message(now, request("OPTIONS", "z9hG4bKs1", ""), caller());
    ep.handle_message(now, request("OPTIONS", "z9hG4bKs2", ""), caller());
    ep.handle_message(now, request("OPTIONS", "z9hG4bKs3", ""), caller());
    let out = sent(&mut ep);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status(), Some(503));
    assert_eq!(out[0].retry_after().unwrap().unwrap().delta, 5);
    assert_eq!(ep.stats().shed, 1);
    // A retransmission of a live transaction is absorbed, not shed.
    ep.handle_message(now, request("OPTIONS", "z9hG4bKs1", ""), caller());
    assert!(sent(&mut ep).is_empty());
    let requests = std::iter::from_fn(|| ep.poll_event())
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, 2);
}
