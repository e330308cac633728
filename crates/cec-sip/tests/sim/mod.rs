//! Harness: two or more [`Endpoint`]s on a simulated UDP network, each with a scripted
//! application ("ring reliably, answer after 1 s", "BYE when answered", ...).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sim::{Node, Simulation};
use cec_sip::{DialogId, Endpoint, EndpointConfig, Event, OutgoingInvite, Peer, TransportKind};
use cec_sip_msg::{Message, NameAddr, Uri, parse_datagram};

pub const ALICE: &str = "127.0.0.1:5061";
pub const BOB: &str = "127.0.0.1:5062";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub const SDP_OFFER: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
pub const SDP_ANSWER: &[u8] = b"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

/// What a scripted application does.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// On an incoming INVITE: send this provisional (code, reliable, with SDP).
    pub ring: Option<(u16, bool, bool)>,
    /// Then answer 200 after this long (from the INVITE).
    pub answer_after: Option<Duration>,
    /// Or reject with this status after `answer_after` (or at once).
    pub reject: Option<u16>,
    /// Send BYE this long after the call is answered (UAC side: after the 2xx).
    pub bye_after: Option<Duration>,
}

/// A scheduled application action.
#[derive(Debug, Clone)]
enum Action {
    Answer(cec_sip::TransactionId),
    Reject(cec_sip::TransactionId, u16),
    Bye(DialogId),
}

pub struct Agent {
    pub ep: Endpoint,
    pub script: Script,
    pub events: Vec<(Instant, Event)>,
    scheduled: Vec<(Instant, Action)>,
}

impl Agent {
    pub fn new(local: &str, script: Script, seed: u64) -> Agent {
        let mut rng = cec_sim::Rng::new(seed);
        let mut ep = Endpoint::new(EndpointConfig::default(), move || rng.next_u64());
        ep.set_local_address(TransportKind::Udp, addr(local));
        Agent {
            ep,
            script,
            events: Vec::new(),
            scheduled: Vec::new(),
        }
    }

    fn run_app(&mut self, now: Instant) {
        while let Some(event) = self.ep.poll_event() {
            match &event {
                Event::Request { tx, request, .. }
                    if request.method() == Some(&cec_sip_msg::Method::Invite) =>
                {
                    if let Some((code, reliable, sdp)) = self.script.ring {
                        let body = sdp.then(|| Bytes::from_static(SDP_ANSWER));
                        self.ep
                            .provisional(now, *tx, code, "Ringing", body, reliable)
                            .unwrap();
                    }
                    let at = now + self.script.answer_after.unwrap_or_default();
                    match self.script.reject {
                        Some(code) => self.scheduled.push((at, Action::Reject(*tx, code))),
                        None if self.script.answer_after.is_some() => {
                            self.scheduled.push((at, Action::Answer(*tx)));
                        }
                        None => {}
                    }
                }
                Event::Request { tx, .. } => {
                    let _ = self.ep.respond_status(now, *tx, 200, "OK");
                }
                Event::DialogRequest { tx, request, .. } => {
                    let offer = !request.body().is_empty();
                    let is_invite = request.method() == Some(&cec_sip_msg::Method::Invite);
                    if offer || is_invite {
                        let _ = self
                            .ep
                            .answer(now, *tx, Some(Bytes::from_static(SDP_ANSWER)));
                    } else {
                        let _ = self.ep.respond_status(now, *tx, 200, "OK");
                    }
                }
                Event::Response {
                    dialog: Some(dialog),
                    response,
                    core,
                    ..
                } if core.cseq.method == cec_sip_msg::Method::Invite
                    && response.status().is_some_and(|s| (200..300).contains(&s)) =>
                {
                    let already = self
                        .scheduled
                        .iter()
                        .any(|(_, a)| matches!(a, Action::Bye(d) if d == dialog));
                    if let Some(after) = self.script.bye_after.filter(|_| !already) {
                        self.scheduled.push((now + after, Action::Bye(*dialog)));
                    }
                }
                Event::Acked { dialog, .. } => {
                    if let Some(after) = self.script.bye_after {
                        self.scheduled.push((now + after, Action::Bye(*dialog)));
                    }
                }
                _ => {}
            }
            self.events.push((now, event));
        }
    }

    fn run_scheduled(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) =
            self.scheduled.drain(..).partition(|(at, _)| *at <= now);
        self.scheduled = later;
        for (_, action) in due {
            match action {
                Action::Answer(tx) => {
                    // A reliable 18x with SDP must be PRACKed before the 2xx (RFC 3262 §3):
                    // an application waits and tries again.
                    if let Err(cec_sip::DialogError::ProvisionalPending) =
                        self.ep
                            .answer(now, tx, Some(Bytes::from_static(SDP_ANSWER)))
                    {
                        self.scheduled
                            .push((now + Duration::from_millis(100), Action::Answer(tx)));
                    }
                }
                Action::Reject(tx, code) => {
                    let _ = self.ep.respond_status(now, tx, code, "Rejected");
                }
                Action::Bye(dialog) => {
                    let _ = self.ep.bye(now, dialog);
                }
            }
        }
        self.run_app(now);
    }

    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| pred(e)).count()
    }

    pub fn first(&self, pred: impl Fn(&Event) -> bool) -> Option<&(Instant, Event)> {
        self.events.iter().find(|(_, e)| pred(e))
    }
}

impl Node<SocketAddr, Bytes> for Agent {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: Bytes) {
        match parse_datagram(packet.clone()) {
            Ok(message) => {
                self.ep
                    .handle_message(now, message, Peer::new(TransportKind::Udp, from));
            }
            Err(error) => {
                self.ep
                    .handle_malformed(&packet, &error, Peer::new(TransportKind::Udp, from));
            }
        }
        self.run_app(now);
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.ep.poll_transmit().map(|t| (t.to.addr, t.bytes))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let app = self.scheduled.iter().map(|(at, _)| *at).min();
        match (self.ep.poll_timeout(), app) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.run_app(now);
        self.run_scheduled(now);
    }
}

/// A simulation with Alice (caller) and Bob (callee), packets labelled by their first line.
pub fn two_agents(seed: u64, alice: Script, bob: Script) -> Simulation<SocketAddr, Bytes> {
    let mut sim = Simulation::new(seed);
    sim.net.set_labeler(|packet: &Bytes| first_line(packet));
    sim.add_node(addr(ALICE), Agent::new(ALICE, alice, seed ^ 0xA11CE));
    sim.add_node(addr(BOB), Agent::new(BOB, bob, seed ^ 0xB0B));
    sim
}

pub fn first_line(packet: &Bytes) -> String {
    let end = packet
        .iter()
        .position(|&b| b == b'\r')
        .unwrap_or(packet.len());
    String::from_utf8_lossy(&packet[..end]).into_owned()
}

/// Packet predicate helpers for rules.
pub fn is_request(packet: &Bytes, method: &str) -> bool {
    packet.starts_with(method.as_bytes()) && packet.get(method.len()) == Some(&b' ')
}

pub fn is_response(packet: &Bytes, status: u16, cseq_method: &str) -> bool {
    let Ok(message) = parse_datagram(packet.clone()) else {
        return false;
    };
    message.status() == Some(status)
        && message
            .cseq()
            .is_ok_and(|c| c.method.as_bytes() == cseq_method.as_bytes())
}

/// Alice calls Bob.
pub fn call(
    sim: &mut Simulation<SocketAddr, Bytes>,
    extra: impl FnOnce(&mut OutgoingInvite),
) -> cec_sip::TransactionId {
    let now = sim.now();
    let mut invite = OutgoingInvite {
        request_uri: Uri::parse(&Bytes::from_static(b"sip:bob@127.0.0.1:5062")).unwrap(),
        from: NameAddr::new(Uri::parse(&Bytes::from_static(b"sip:alice@127.0.0.1:5061")).unwrap()),
        to: NameAddr::new(Uri::parse(&Bytes::from_static(b"sip:bob@127.0.0.1:5062")).unwrap()),
        destination: Peer::new(TransportKind::Udp, addr(BOB)),
        sdp: Some(Bytes::from_static(SDP_OFFER)),
        supports_100rel: true,
        session_expires: None,
        extra_headers: Vec::new(),
        fallback_destinations: Vec::new(),
        credentials: None,
    };
    extra(&mut invite);
    alice(sim).ep.invite(now, invite).unwrap()
}

pub fn alice(sim: &mut Simulation<SocketAddr, Bytes>) -> &mut Agent {
    sim.node_mut::<Agent>(addr(ALICE)).unwrap()
}

pub fn bob(sim: &mut Simulation<SocketAddr, Bytes>) -> &mut Agent {
    sim.node_mut::<Agent>(addr(BOB)).unwrap()
}

pub fn is_answered(event: &Event) -> bool {
    matches!(event, Event::Response { response, core, .. }
        if core.cseq.method == cec_sip_msg::Method::Invite && response.status().is_some_and(|s| (200..300).contains(&s)))
}

pub fn status_of(message: &Message) -> u16 {
    message.status().unwrap_or(0)
}
