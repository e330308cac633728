//! The echo service against a sans-IO endpoint and a real media engine: ringing then the
//! answer, late offers refused, CANCEL / BYE / time limit each releasing the leg, and
//! re-INVITEs answered on the same port (a switch to the other G.711 law included, checked
//! on the echoed RTP).

use std::net::{Ipv4Addr, UdpSocket};

use bytes::Bytes;
use cec_runtime::media::{MediaConfig, PortRange};
use cec_sip::{EndpointConfig, Event};

use super::*;

const CALLER: &str = "127.0.0.1:5099";
const OFFER: &str = "v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                     m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
                     a=rtpmap:101 telephone-event/8000\r\n";

struct Harness {
    endpoint: Endpoint,
    echo: EchoService,
    media: MediaEngine,
    now: Instant,
}

fn free_range() -> PortRange {
    // Ask the system for a free even port and use the pair above it.
    for _ in 0..100 {
        let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = probe.local_addr().unwrap().port() & !1;
        drop(probe);
        if port > 1024 && port < 65_000 && UdpSocket::bind((Ipv4Addr::LOCALHOST, port + 1)).is_ok()
        {
            return PortRange::new(port, port + 3).unwrap();
        }
    }
    panic!("no free ports");
}

fn harness(ring_ms: u64) -> Harness {
    let media_config = MediaConfig {
        rtp_ports: free_range(),
        shards: 1,
        ..MediaConfig::default()
    };
    let (media, _events) = MediaEngine::start(media_config).unwrap();
    let now = Instant::now();
    let settings = EchoSettings {
        number: "echo".into(),
        ring: Duration::from_millis(ring_ms),
        max_duration: Duration::from_secs(5),
        public_ip: None,
        listeners: vec![(TransportKind::Udp, "127.0.0.1:5060".parse().unwrap())],
    };
    let mut counter = 0u64;
    let echo = EchoService::new(
        settings,
        media.clone(),
        move || {
            counter = counter.wrapping_add(0x9E37_79B9_7F4A_7C15);
            counter
        },
        NtpClock {
            origin: now,
            ntp_at_origin: 0,
        },
    );
    let mut seed = 1u64;
    let endpoint = Endpoint::new(EndpointConfig::default(), move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed
    });
    Harness {
        endpoint,
        echo,
        media,
        now,
    }
}

fn peer() -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: CALLER.parse().unwrap(),
        connection: None,
    }
}

fn request(method: &str, user: &str, cseq: u32, to_tag: &str, body: &str) -> Message {
    // A CANCEL names the INVITE's branch.
    let branch_method = if method == "CANCEL" { "INVITE" } else { method };
    let branch = format!("z9hG4bK{branch_method}{cseq}");
    let content_type = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/sdp\r\n".into()
    };
    let text = format!(
        "{method} sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=c1\r\nTo: <sip:{user}@127.0.0.1>{to_tag}\r\n\
         Call-ID: echo-unit@test\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@{CALLER}>\r\n\
         {content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    cec_sip_msg::parse_datagram(Bytes::from(text)).unwrap()
}

impl Harness {
    /// Feeds a message and routes the endpoint's events the way `SipService` does.
    fn feed(&mut self, message: Message) {
        self.endpoint.handle_message(self.now, message, peer());
        self.pump();
    }

    fn pump(&mut self) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                Event::Request { tx, request, .. } => {
                    assert!(self.echo.is_echo_call(&request));
                    self.echo
                        .on_invite(self.now, &mut self.endpoint, tx, &request, peer());
                }
                Event::DialogRequest {
                    dialog,
                    tx,
                    request,
                } => {
                    self.echo
                        .on_dialog_request(self.now, &mut self.endpoint, dialog, tx, &request);
                }
                Event::Cancelled { invite } => self.echo.on_cancelled(invite),
                Event::DialogTerminated { dialog, reason } => {
                    self.echo.on_dialog_terminated(dialog, reason);
                }
                _ => {}
            }
        }
    }

    fn advance_to(&mut self, at: Instant) {
        self.now = at;
        self.endpoint.handle_timeout(at);
        self.echo.handle_timeout(at, &mut self.endpoint);
        self.pump();
    }

    /// Everything sent since the last call, as text.
    fn sent(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.endpoint.poll_transmit())
            .map(|t| String::from_utf8_lossy(&t.bytes).into_owned())
            .collect()
    }

    /// Allocated legs, once the shard has caught up.
    fn legs(&self) -> usize {
        std::thread::sleep(Duration::from_millis(50));
        self.media.stats().legs
    }

    /// Calls, rings, answers; returns the 200 and the To tag.
    fn answered_call(&mut self) -> (String, String) {
        self.feed(request("INVITE", "echo", 1, "", OFFER));
        let mut sent = self.sent();
        if !sent.iter().any(|m| m.starts_with("SIP/2.0 200")) {
            let deadline = self.echo.poll_timeout().expect("answer timer");
            self.advance_to(deadline);
            sent = self.sent();
        }
        let ok = sent
            .into_iter()
            .find(|m| m.starts_with("SIP/2.0 200"))
            .expect("200");
        let tag = ok
            .lines()
            .find(|l| l.starts_with("To:"))
            .and_then(|l| l.split("tag=").nth(1))
            .expect("to tag")
            .trim()
            .to_string();
        self.feed(request("ACK", "echo", 1, &format!(";tag={tag}"), ""));
        (ok, tag)
    }
}

fn audio_port(message: &str) -> u16 {
    message
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("m=audio")
}

#[test]
fn rings_then_answers_with_the_leg_port_and_the_offered_codec() {
    let mut h = harness(300);
    h.feed(request("INVITE", "echo", 1, "", OFFER));
    let sent = h.sent();
    assert!(
        sent.iter().any(|m| m.starts_with("SIP/2.0 180")),
        "{sent:?}"
    );
    assert!(
        !sent.iter().any(|m| m.starts_with("SIP/2.0 200")),
        "{sent:?}"
    );
    assert_eq!(h.legs(), 1, "leg allocated while ringing");
    let answer_at = h.echo.poll_timeout().expect("timer");
    assert_eq!(answer_at, h.now + Duration::from_millis(300));
    h.advance_to(answer_at - Duration::from_millis(1));
    assert!(!h.sent().iter().any(|m| m.starts_with("SIP/2.0 200")));
    h.advance_to(answer_at);
    let ok = h
        .sent()
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 200"))
        .expect("200 at the ringing deadline");
    assert!(ok.contains("c=IN IP4 127.0.0.1\r\n"), "{ok}");
    assert!(ok.contains("a=rtpmap:0 PCMU/8000"), "{ok}");
    assert!(ok.contains("telephone-event/8000"), "{ok}");
    let range = h.media.stats();
    assert_eq!(range.legs, 1);
    assert!(
        audio_port(&ok) > 1024 && audio_port(&ok).is_multiple_of(2),
        "{ok}"
    );
    // Answered: the next deadline is the time limit.
    assert_eq!(
        h.echo.poll_timeout(),
        Some(answer_at + Duration::from_secs(5))
    );
}

#[test]
fn late_offer_and_unacceptable_codecs_get_488_without_a_leg() {
    let mut h = harness(0);
    h.feed(request("INVITE", "echo", 1, "", ""));
    assert!(h.sent().iter().any(|m| m.starts_with("SIP/2.0 488")));
    let g729 = OFFER
        .replace("RTP/AVP 0 101", "RTP/AVP 18")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000");
    h.feed(request("INVITE", "echo", 2, "", &g729));
    assert!(h.sent().iter().any(|m| m.starts_with("SIP/2.0 488")));
    assert_eq!(h.echo.active_calls(), 0);
    assert_eq!(h.legs(), 0);
}

#[test]
fn cancel_while_ringing_releases_the_leg_and_the_timer() {
    let mut h = harness(1_000);
    h.feed(request("INVITE", "echo", 1, "", OFFER));
    assert_eq!(h.legs(), 1);
    h.feed(request("CANCEL", "echo", 1, "", ""));
    let sent = h.sent();
    assert!(
        sent.iter().any(|m| m.starts_with("SIP/2.0 487")),
        "{sent:?}"
    );
    assert_eq!(h.echo.active_calls(), 0);
    assert_eq!(h.echo.poll_timeout(), None, "no answer timer left");
    assert_eq!(h.legs(), 0);
}

#[test]
fn caller_bye_releases_the_leg() {
    let mut h = harness(0);
    let (_, tag) = h.answered_call();
    assert_eq!(h.legs(), 1);
    h.feed(request("BYE", "echo", 2, &format!(";tag={tag}"), ""));
    assert!(h.sent().iter().any(|m| m.starts_with("SIP/2.0 200")));
    assert_eq!(h.echo.active_calls(), 0);
    assert_eq!(h.legs(), 0);
}

#[test]
fn time_limit_sends_bye_and_releases_the_leg() {
    let mut h = harness(0);
    h.answered_call();
    let hangup = h.echo.poll_timeout().expect("time limit");
    h.advance_to(hangup);
    assert!(h.sent().iter().any(|m| m.starts_with("BYE ")));
    assert_eq!(h.echo.active_calls(), 0);
    assert_eq!(h.legs(), 0);
}

#[test]
fn no_ack_ends_the_call_and_releases_the_leg() {
    let mut h = harness(0);
    h.feed(request("INVITE", "echo", 1, "", OFFER));
    assert_eq!(h.echo.active_calls(), 1);
    // 64·T1 with the default T1 of 500 ms, and no ACK.
    let start = h.now;
    while h.now < start + Duration::from_secs(33) {
        let next = h.endpoint.poll_timeout().expect("endpoint timer");
        h.advance_to(next.min(start + Duration::from_secs(33)));
    }
    assert!(h.sent().iter().any(|m| m.starts_with("BYE ")));
    assert_eq!(h.echo.active_calls(), 0);
    assert_eq!(h.legs(), 0);
}

#[test]
fn reinvite_gets_the_same_port_and_hold_is_answered() {
    let mut h = harness(0);
    let (ok, tag) = h.answered_call();
    let port = audio_port(&ok);
    let hold = OFFER.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    h.feed(request("INVITE", "echo", 2, &format!(";tag={tag}"), &hold));
    let reanswer = h
        .sent()
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 200"))
        .expect("200 to the re-INVITE");
    assert_eq!(audio_port(&reanswer), port);
    assert!(reanswer.contains("a=recvonly"), "{reanswer}");
    h.feed(request("ACK", "echo", 2, &format!(";tag={tag}"), ""));
    // A re-offer with no G.711 cannot be taken: 488, and the call goes on.
    let g729 = OFFER
        .replace("RTP/AVP 0 101", "RTP/AVP 18 101")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000");
    h.feed(request("INVITE", "echo", 3, &format!(";tag={tag}"), &g729));
    assert!(h.sent().iter().any(|m| m.starts_with("SIP/2.0 488")));
    assert_eq!(h.echo.active_calls(), 1, "the call goes on");
}

#[test]
fn a_reoffer_in_the_other_law_switches_the_echo_to_it() {
    let mut h = harness(0);
    let (ok, tag) = h.answered_call();
    let port = audio_port(&ok);
    let phone = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    phone
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let phone_port = phone.local_addr().unwrap().port();
    let pcma = OFFER
        .replace("m=audio 4000", &format!("m=audio {phone_port}"))
        .replace("RTP/AVP 0 101", "RTP/AVP 8 101")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000");
    h.feed(request("ACK", "echo", 1, &format!(";tag={tag}"), ""));
    h.feed(request("INVITE", "echo", 2, &format!(";tag={tag}"), &pcma));
    let reanswer = h
        .sent()
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 200"))
        .expect("200 to the re-INVITE");
    assert_eq!(audio_port(&reanswer), port, "same port");
    assert!(reanswer.contains("a=rtpmap:8 PCMA/8000"), "{reanswer}");
    assert!(
        !reanswer.contains("PCMU"),
        "only the chosen codec: {reanswer}"
    );
    // The leg now takes and echoes A-law (payload type 8), bytes unchanged.
    let header = cec_rtp::packet::RtpHeader {
        payload_type: 8,
        sequence: 1,
        timestamp: 0,
        ssrc: 0x0123_4567,
        ..Default::default()
    };
    let mut packet = [0u8; 1500];
    let len = header.write(&[0x2A; 160], &mut packet).unwrap();
    let mut buf = [0u8; 2048];
    let echoed = (0..20).find_map(|_| {
        phone
            .send_to(&packet[..len], (Ipv4Addr::LOCALHOST, port))
            .unwrap();
        let (n, _) = phone.recv_from(&mut buf).ok()?;
        let rtp = cec_rtp::packet::RtpPacket::parse(&buf[..n]).ok()?;
        Some((rtp.payload_type(), rtp.payload().to_vec()))
    });
    assert_eq!(echoed, Some((8, vec![0x2A; 160])));
}

#[test]
fn only_the_echo_number_is_an_echo_call() {
    let h = harness(0);
    assert!(
        h.echo
            .is_echo_call(&request("INVITE", "echo", 1, "", OFFER))
    );
    assert!(
        !h.echo
            .is_echo_call(&request("INVITE", "1001", 1, "", OFFER))
    );
    assert!(
        !h.echo
            .is_echo_call(&request("INVITE", "echo2", 1, "", OFFER))
    );
}
