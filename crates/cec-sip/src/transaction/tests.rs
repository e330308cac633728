//! Timer-by-timer checks of the four transaction machines on a hand-driven clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip_msg::{Message, parse_datagram};

use super::*;
use crate::peer::TransportKind;
use crate::test_support::base_instant;

fn peer(transport: TransportKind) -> Peer {
    Peer::new(transport, "127.0.0.1:5070".parse::<SocketAddr>().unwrap())
}

fn request(method: &str, branch: &str) -> Message {
    let text = format!(
        "{method} sip:bob@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@127.0.0.1>;tag=a1\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: call-{branch}\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    parse_datagram(Bytes::from(text)).unwrap()
}

fn feed(layer: &mut TransactionLayer, now: Instant, message: Message, from: Peer) {
    let core = message.validate().unwrap();
    layer.handle_message(now, message, core, from);
}

fn drain_transmits(layer: &mut TransactionLayer) -> Vec<Message> {
    std::iter::from_fn(|| layer.poll_transmit())
        .map(|t| parse_datagram(t.bytes).unwrap())
        .collect()
}

fn new_server_tx(
    layer: &mut TransactionLayer,
    now: Instant,
    message: Message,
    from: Peer,
) -> TransactionId {
    feed(layer, now, message, from);
    match layer.poll_event() {
        Some(TxEvent::Request { tx, .. }) => tx,
        other => panic!("expected a request event, got {other:?}"),
    }
}

/// Answers server transaction `tx` with `code` (To tag `t`).
fn respond_with(
    layer: &mut TransactionLayer,
    now: Instant,
    tx: TransactionId,
    code: u16,
    reason: &str,
) {
    let response = Message::response_to(
        layer.server_request(tx).unwrap(),
        code,
        reason.to_string(),
        Some(b"t"),
    )
    .unwrap();
    layer.respond(now, tx, &response).unwrap();
}

/// The names of the timers armed for `tx`, earliest first.
fn timer_names(layer: &TransactionLayer, tx: TransactionId) -> Vec<TimerName> {
    layer.timers_of(tx).iter().map(|(_, n)| *n).collect()
}

/// Runs the clock forward to `until`, firing timers at their exact deadlines; returns the
/// times at which something was transmitted.
fn run_until(layer: &mut TransactionLayer, until: Instant) -> Vec<Instant> {
    let mut sent = Vec::new();
    while let Some(at) = layer.poll_timeout().filter(|at| *at <= until) {
        layer.handle_timeout(at);
        sent.extend(std::iter::from_fn(|| layer.poll_transmit()).map(|_| at));
    }
    sent
}

#[test]
fn invite_server_sends_100_trying_after_200_ms_unless_answered() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let tx = new_server_tx(
        &mut layer,
        t0,
        request("INVITE", "z9hG4bKinv1"),
        peer(TransportKind::Udp),
    );
    assert_eq!(
        layer.next_timer(),
        Some((t0 + Duration::from_millis(200), tx, TimerName::Trying))
    );
    layer.handle_timeout(t0 + Duration::from_millis(199));
    assert!(layer.poll_transmit().is_none());
    layer.handle_timeout(t0 + Duration::from_millis(200));
    let sent = drain_transmits(&mut layer);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status(), Some(100));

    // Answered in time: no 100 at all.
    let tx2 = new_server_tx(
        &mut layer,
        t0,
        request("INVITE", "z9hG4bKinv2"),
        peer(TransportKind::Udp),
    );
    let ringing = Message::response_to(
        layer.server_request(tx2).unwrap(),
        180,
        "Ringing",
        Some(b"t"),
    )
    .unwrap();
    layer
        .respond(t0 + Duration::from_millis(50), tx2, &ringing)
        .unwrap();
    assert_eq!(drain_transmits(&mut layer)[0].status(), Some(180));
    assert!(layer.timers_of(tx2).is_empty());
}

#[test]
fn invite_server_retransmits_final_with_timer_g_until_ack_then_timer_i() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let tx = new_server_tx(
        &mut layer,
        t0,
        request("INVITE", "z9hG4bKg"),
        peer(TransportKind::Udp),
    );
    respond_with(&mut layer, t0, tx, 486, "Busy Here");
    assert_eq!(drain_transmits(&mut layer).len(), 1);
    // G fires at 0.5, 1.5, 3.5, 7.5, 11.5 s (interval doubles up to T2 = 4 s).
    let sent = run_until(&mut layer, t0 + Duration::from_millis(11_600));
    let offsets: Vec<u128> = sent.iter().map(|at| (*at - t0).as_millis()).collect();
    assert_eq!(offsets, vec![500, 1500, 3500, 7500, 11_500]);
    let ack = request("ACK", "z9hG4bKg");
    feed(
        &mut layer,
        t0 + Duration::from_secs(12),
        ack,
        peer(TransportKind::Udp),
    );
    assert_eq!(timer_names(&layer, tx), vec![TimerName::I]);
    let sent = run_until(&mut layer, t0 + Duration::from_secs(20));
    assert!(sent.is_empty());
    assert!(layer.is_empty());
}

#[test]
fn invite_server_without_ack_times_out_with_timer_h() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let tx = new_server_tx(
        &mut layer,
        t0,
        request("INVITE", "z9hG4bKh"),
        peer(TransportKind::Udp),
    );
    respond_with(&mut layer, t0, tx, 480, "Temporarily Unavailable");
    let _ = drain_transmits(&mut layer);
    let sent = run_until(&mut layer, t0 + Duration::from_secs(40));
    // 0.5, 1.5, 3.5, 7.5, then every 4 s up to 31.5 s; H fires at 32 s.
    assert_eq!(sent.len(), 10, "{sent:?}");
    let events: Vec<TxEvent> = std::iter::from_fn(|| layer.poll_event()).collect();
    assert!(matches!(events[0], TxEvent::Timeout { tx: t } if t == tx));
    assert!(matches!(events[1], TxEvent::Terminated { tx: t } if t == tx));
}

#[test]
fn reliable_transports_never_retransmit() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let tx = new_server_tx(
        &mut layer,
        t0,
        request("INVITE", "z9hG4bKtcp"),
        peer(TransportKind::Tcp),
    );
    respond_with(&mut layer, t0, tx, 486, "Busy Here");
    let _ = drain_transmits(&mut layer);
    assert_eq!(timer_names(&layer, tx), vec![TimerName::H]);

    let client = layer
        .send_request(
            t0,
            request("OPTIONS", "z9hG4bKc1"),
            peer(TransportKind::Tcp),
        )
        .unwrap();
    assert_eq!(timer_names(&layer, client), vec![TimerName::F]);
}

#[test]
fn non_invite_client_retransmits_with_timer_e_and_gives_up_with_timer_f() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let tx = layer
        .send_request(t0, request("OPTIONS", "z9hG4bKe"), peer(TransportKind::Udp))
        .unwrap();
    let _ = drain_transmits(&mut layer);
    let sent = run_until(&mut layer, t0 + Duration::from_secs(33));
    let offsets: Vec<u128> = sent.iter().map(|at| (*at - t0).as_millis()).collect();
    // 0.5, 1.5, 3.5, 7.5, then every 4 s: 11.5 ... 31.5 s.
    assert_eq!(&offsets[..4], &[500, 1500, 3500, 7500]);
    assert_eq!(offsets.len(), 10);
    let events: Vec<TxEvent> = std::iter::from_fn(|| layer.poll_event()).collect();
    assert!(
        matches!(events[0], TxEvent::Timeout { tx: t } if t == tx),
        "{events:?}"
    );
}

#[test]
fn non_invite_client_completes_on_final_and_absorbs_retransmissions() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let options = request("OPTIONS", "z9hG4bKok");
    let tx = layer
        .send_request(t0, options.clone(), peer(TransportKind::Udp))
        .unwrap();
    let _ = drain_transmits(&mut layer);
    let ok = Message::response_to(&options, 200, "OK", Some(b"x")).unwrap();
    let ok = parse_datagram(ok.to_bytes()).unwrap();
    feed(
        &mut layer,
        t0 + Duration::from_millis(30),
        ok.clone(),
        peer(TransportKind::Udp),
    );
    feed(
        &mut layer,
        t0 + Duration::from_millis(40),
        ok,
        peer(TransportKind::Udp),
    );
    let events: Vec<TxEvent> = std::iter::from_fn(|| layer.poll_event()).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], TxEvent::Response { tx: t, response, .. } if *t == tx && response.status() == Some(200))
    );
    assert_eq!(timer_names(&layer, tx), vec![TimerName::K]);
}

#[test]
fn invite_client_acks_a_non_2xx_and_re_acks_its_retransmission() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let invite = request("INVITE", "z9hG4bKic");
    let tx = layer
        .send_request(t0, invite.clone(), peer(TransportKind::Udp))
        .unwrap();
    let _ = drain_transmits(&mut layer);
    let busy = parse_datagram(
        Message::response_to(&invite, 486, "Busy Here", Some(b"b"))
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    feed(
        &mut layer,
        t0 + Duration::from_millis(10),
        busy.clone(),
        peer(TransportKind::Udp),
    );
    let acks = drain_transmits(&mut layer);
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert_eq!(ack.method(), Some(&cec_sip_msg::Method::Ack));
    assert_eq!(
        ack.top_via().unwrap().branch().unwrap().as_ref(),
        b"z9hG4bKic"
    );
    assert_eq!(ack.to().unwrap().tag().unwrap().as_ref(), b"b");
    assert_eq!(ack.cseq().unwrap().seq, 1);
    feed(
        &mut layer,
        t0 + Duration::from_millis(600),
        busy,
        peer(TransportKind::Udp),
    );
    assert_eq!(
        drain_transmits(&mut layer).len(),
        1,
        "the retransmitted 486 is ACKed again"
    );
    assert_eq!(
        std::iter::from_fn(|| layer.poll_event()).count(),
        1,
        "the TU sees the 486 once"
    );
    assert_eq!(timer_names(&layer, tx), vec![TimerName::D]);
}

#[test]
fn invite_client_passes_2xx_retransmissions_up_in_accepted_state() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let invite = request("INVITE", "z9hG4bKacc");
    let tx = layer
        .send_request(t0, invite.clone(), peer(TransportKind::Udp))
        .unwrap();
    let ok = parse_datagram(
        Message::response_to(&invite, 200, "OK", Some(b"o"))
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    feed(
        &mut layer,
        t0 + Duration::from_millis(10),
        ok.clone(),
        peer(TransportKind::Udp),
    );
    feed(
        &mut layer,
        t0 + Duration::from_millis(510),
        ok,
        peer(TransportKind::Udp),
    );
    let responses = std::iter::from_fn(|| layer.poll_event())
        .filter(|e| matches!(e, TxEvent::Response { .. }))
        .count();
    assert_eq!(responses, 2);
    assert_eq!(timer_names(&layer, tx), vec![TimerName::M]);
}

#[test]
fn server_retransmitted_request_gets_the_last_response_again() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let options = request("OPTIONS", "z9hG4bKre");
    let tx = new_server_tx(&mut layer, t0, options.clone(), peer(TransportKind::Udp));
    // Before any answer: absorbed.
    feed(
        &mut layer,
        t0 + Duration::from_millis(5),
        options.clone(),
        peer(TransportKind::Udp),
    );
    assert!(layer.poll_transmit().is_none());
    let ok = Message::response_to(&options, 200, "OK", Some(b"s")).unwrap();
    layer
        .respond(t0 + Duration::from_millis(10), tx, &ok)
        .unwrap();
    let _ = drain_transmits(&mut layer);
    feed(
        &mut layer,
        t0 + Duration::from_millis(500),
        options,
        peer(TransportKind::Udp),
    );
    let again = drain_transmits(&mut layer);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].status(), Some(200));
    assert!(
        layer.poll_event().is_none(),
        "a retransmission is not a new request"
    );
    assert_eq!(layer.respond(t0, tx, &ok), Err(TxError::InvalidState(tx)));
}

#[test]
fn cancel_finds_the_invite_it_cancels() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let invite_tx = new_server_tx(
        &mut layer,
        t0,
        request("INVITE", "z9hG4bKcx"),
        peer(TransportKind::Udp),
    );
    let cancel = request("CANCEL", "z9hG4bKcx");
    let core = cancel.validate().unwrap();
    assert_eq!(layer.find_cancelled_invite(&core), Some(invite_tx));
    let other = request("CANCEL", "z9hG4bKnone").validate().unwrap();
    assert_eq!(layer.find_cancelled_invite(&other), None);
}

#[test]
fn ack_for_a_2xx_is_handed_to_the_dialog_layer() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    feed(
        &mut layer,
        t0,
        request("ACK", "z9hG4bKnew"),
        peer(TransportKind::Udp),
    );
    assert!(matches!(layer.poll_event(), Some(TxEvent::Ack { .. })));
    assert!(layer.is_empty());
}

#[test]
fn invite_client_stops_timers_a_and_b_once_a_provisional_arrives() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let invite = request("INVITE", "z9hG4bKprov");
    let tx = layer
        .send_request(t0, invite.clone(), peer(TransportKind::Udp))
        .unwrap();
    let ringing = Message::response_to(&invite, 180, "Ringing", Some(b"r")).unwrap();
    let ringing = parse_datagram(ringing.to_bytes()).unwrap();
    feed(
        &mut layer,
        t0 + Duration::from_millis(100),
        ringing,
        peer(TransportKind::Udp),
    );
    assert!(layer.timers_of(tx).is_empty(), "{:?}", layer.timers_of(tx));
    assert!(run_until(&mut layer, t0 + Duration::from_secs(60)).is_empty());
}

#[test]
fn invite_server_accepts_the_same_2xx_again_in_the_accepted_state() {
    let t0 = base_instant();
    let mut layer = TransactionLayer::new(TimerValues::default());
    let tx = new_server_tx(
        &mut layer,
        t0,
        request("INVITE", "z9hG4bKacc2"),
        peer(TransportKind::Udp),
    );
    let ok =
        Message::response_to(layer.server_request(tx).unwrap(), 200, "OK", Some(b"t")).unwrap();
    layer.respond(t0, tx, &ok).unwrap();
    assert!(!layer.awaits_final(tx));
    layer
        .respond(t0 + Duration::from_millis(500), tx, &ok)
        .unwrap();
    assert_eq!(drain_transmits(&mut layer).len(), 2);
    let busy = Message::response_to(
        layer.server_request(tx).unwrap(),
        486,
        "Busy Here",
        Some(b"t"),
    )
    .unwrap();
    assert_eq!(layer.respond(t0, tx, &busy), Err(TxError::InvalidState(tx)));
}

#[test]
fn answered_options_keep_no_state_when_stateless_and_timer_j_otherwise() {
    for (stateless, live_after_answer) in [(true, 0), (false, 1)] {
        let t0 = base_instant();
        let mut layer = TransactionLayer::new(TimerValues::default());
        layer.set_stateless_options(stateless);
        let options = request("OPTIONS", "z9hG4bKsl");
        let tx = new_server_tx(&mut layer, t0, options.clone(), peer(TransportKind::Udp));
        let ok = Message::response_to(&options, 200, "OK", Some(b"s")).unwrap();
        layer.respond(t0, tx, &ok).unwrap();
        layer.handle_timeout(t0);
        assert_eq!(layer.len(), live_after_answer, "stateless={stateless}");
        // A late retransmission: answered again by the application (a new transaction) when
        // stateless, by the transaction from its stored answer otherwise.
        let _ = drain_transmits(&mut layer);
        while layer.poll_event().is_some() {}
        feed(
            &mut layer,
            t0 + Duration::from_millis(500),
            options,
            peer(TransportKind::Udp),
        );
        let new_request = matches!(layer.poll_event(), Some(TxEvent::Request { .. }));
        assert_eq!(new_request, stateless);
        assert_eq!(drain_transmits(&mut layer).len(), usize::from(!stateless));
    }
}
