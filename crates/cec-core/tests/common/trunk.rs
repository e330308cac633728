//! The carrier's side of a trunk: a SIP endpoint acting as the UAC that sends customers'
//! calls (INVITE with an SDP offer, PRACK through the endpoint), answers the platform's
//! UPDATE or re-INVITE with an SDP answer, and hangs up (BYE) or cancels on command.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use cec_sdp::{Direction, LocalCapabilities, LocalSdpSession, SessionDescription};
use cec_sim::Node;
use cec_sip::{
    DialogId, Endpoint, EndpointConfig, Event, OutgoingInvite, Peer, TerminationReason,
    TransactionId, TransportKind,
};
use cec_sip_msg::{Method, NameAddr, Uri, parse_datagram};

/// How a customer's call is placed.
#[derive(Debug, Clone, Default)]
pub struct CallSpec {
    /// Called number.
    pub called: String,
    /// Calling number.
    pub caller: String,
    /// `Supported: 100rel`.
    pub rel100: bool,
    /// Ask for a session timer (we refresh).
    pub session_expires: Option<u32>,
    /// Answer digest challenges with these.
    pub credentials: Option<cec_sip_auth::Credentials>,
}

/// One customer call.
#[derive(Debug, Clone)]
pub struct TrunkCall {
    /// Our INVITE.
    pub invite: TransactionId,
    /// Its dialog (early or confirmed).
    pub dialog: Option<DialogId>,
    /// Our SDP session.
    pub sdp: LocalSdpSession,
    /// Final and provisional statuses the INVITE got, in order.
    pub statuses: Vec<u16>,
    /// The final response's Retry-After, if any.
    pub retry_after: Option<u32>,
    /// Whether a 2xx arrived.
    pub answered: bool,
    /// How the dialog ended.
    pub ended: Option<TerminationReason>,
    /// Offers the platform sent in the dialog (`UPDATE` / `INVITE`), in order.
    pub reoffers: Vec<Method>,
    /// We cancelled it (a 2xx that crosses the CANCEL then gets a BYE, RFC 3261 §9.1).
    pub cancelled: bool,
    /// Our re-INVITE in progress (carrier-side hold / resume).
    pub reinvite: Option<TransactionId>,
    /// Statuses our re-INVITEs got.
    pub reinvite_statuses: Vec<u16>,
}

/// The carrier.
pub struct TrunkUa {
    /// The SIP endpoint.
    pub ep: Endpoint,
    /// Where it is.
    pub local: SocketAddr,
    /// The platform.
    pub platform: SocketAddr,
    /// Calls placed, in order.
    pub calls: Vec<TrunkCall>,
    /// Every endpoint event.
    pub events: Vec<(Instant, Event)>,
    /// Takes `UPDATE` out of the Allow header of our INVITEs.
    pub no_update: bool,
    next_session: u64,
}

impl TrunkUa {
    /// A carrier at `local` sending to `platform`.
    pub fn new(local: SocketAddr, platform: SocketAddr, seed: u64) -> TrunkUa {
        let mut rng = cec_sim::Rng::new(seed);
        let mut ep = Endpoint::new(EndpointConfig::default(), move || rng.next_u64());
        ep.set_local_address(TransportKind::Udp, local);
        TrunkUa {
            ep,
            local,
            platform,
            calls: Vec::new(),
            events: Vec::new(),
            no_update: false,
            next_session: 1000,
        }
    }

    /// Places a call; returns its index in [`TrunkUa::calls`].
    pub fn call(&mut self, now: Instant, spec: &CallSpec) -> usize {
        self.next_session += 1;
        let ip = self.local.ip();
        let mut sdp = LocalSdpSession::new(self.next_session, 1, ip);
        let port = 30000 + 2 * self.calls.len() as u16;
        let offer = sdp.offer(&LocalCapabilities::default(), port, Direction::SendRecv);
        let uri = |s: String| Uri::parse(&Bytes::from(s)).expect("URI");
        let invite = OutgoingInvite {
            request_uri: uri(format!("sip:{}@{}", spec.called, self.platform)),
            from: NameAddr::new(uri(format!("sip:{}@{}", spec.caller, self.local))),
            to: NameAddr::new(uri(format!("sip:{}@{}", spec.called, self.platform))),
            destination: Peer::new(TransportKind::Udp, self.platform),
            sdp: Some(Bytes::from(offer.to_string())),
            supports_100rel: spec.rel100,
            session_expires: spec.session_expires,
            extra_headers: Vec::new(),
            fallback_destinations: Vec::new(),
            credentials: spec.credentials.clone(),
        };
        let tx = self.ep.invite(now, invite).expect("INVITE sent");
        self.calls.push(TrunkCall {
            invite: tx,
            dialog: None,
            sdp,
            statuses: Vec::new(),
            retry_after: None,
            answered: false,
            ended: None,
            reoffers: Vec::new(),
            cancelled: false,
            reinvite: None,
            reinvite_statuses: Vec::new(),
        });
        self.calls.len() - 1
    }

    /// Hangs call `i` up; false when it has no confirmed dialog.
    pub fn bye(&mut self, now: Instant, i: usize) -> bool {
        match self.calls[i].dialog {
            Some(dialog) => self.ep.bye(now, dialog).is_ok(),
            None => false,
        }
    }

    /// Cancels call `i`'s INVITE.
    pub fn cancel(&mut self, now: Instant, i: usize) -> bool {
        let sent = self.ep.cancel(now, self.calls[i].invite).is_ok();
        self.calls[i].cancelled |= sent;
        sent
    }

    /// The customer's side holds (`hold`) or resumes call `i` with a re-INVITE.
    pub fn reinvite(&mut self, now: Instant, i: usize, hold: bool) -> bool {
        let call = &mut self.calls[i];
        let live = call.answered && call.ended.is_none();
        super::send_reoffer(
            &mut self.ep,
            now,
            call.dialog,
            live,
            &mut call.sdp,
            &mut call.reinvite,
            hold,
        )
    }

    fn call_of_dialog(&mut self, dialog: DialogId) -> Option<&mut TrunkCall> {
        self.calls.iter_mut().find(|c| c.dialog == Some(dialog))
    }

    fn run_app(&mut self, now: Instant) {
        while let Some(event) = self.ep.poll_event() {
            match &event {
                Event::Response {
                    tx,
                    dialog,
                    response,
                    core,
                } if core.cseq.method == Method::Invite => {
                    let status = response.status().unwrap_or(0);
                    if let Some(call) = self.calls.iter_mut().find(|c| c.reinvite == Some(*tx))
                        && status >= 200
                    {
                        call.reinvite = None;
                        call.reinvite_statuses.push(status);
                        if let Some(sdp) = parse(response.body()) {
                            let _ = call.sdp.process_answer(&sdp);
                        }
                    }
                    if let Some(call) = self.calls.iter_mut().find(|c| c.invite == *tx) {
                        call.statuses.push(status);
                        if dialog.is_some() && status < 300 {
                            call.dialog = *dialog;
                        }
                        if let Some(sdp) = parse(response.body()) {
                            let _ = call.sdp.process_answer(&sdp);
                        }
                        if (200..300).contains(&status) {
                            call.answered = true;
                            // Our CANCEL lost the race with the answer: hang up.
                            if call.cancelled
                                && let Some(dialog) = *dialog
                            {
                                let _ = self.ep.bye(now, dialog);
                            }
                        }
                        if status >= 300 {
                            call.retry_after =
                                response.retry_after().ok().flatten().map(|r| r.delta);
                        }
                    }
                }
                Event::DialogRequest {
                    dialog,
                    tx,
                    request,
                } => {
                    let tx = *tx;
                    let method = request.method().cloned();
                    let offer = parse(request.body());
                    let answer = match (self.call_of_dialog(*dialog), offer) {
                        (Some(call), Some(offer)) => {
                            if let Some(m) = method {
                                call.reoffers.push(m);
                            }
                            call.sdp
                                .answer(
                                    &offer,
                                    &LocalCapabilities::default(),
                                    vec![30000],
                                    Direction::SendRecv,
                                )
                                .ok()
                                .map(|a| Bytes::from(a.sdp.to_string()))
                        }
                        _ => None,
                    };
                    match answer {
                        Some(body) => {
                            let _ = self.ep.answer(now, tx, Some(body));
                        }
                        None => {
                            let _ = self.ep.respond_status(now, tx, 200, "OK");
                        }
                    }
                }
                Event::DialogTerminated { dialog, reason } => {
                    let (dialog, reason) = (*dialog, *reason);
                    if let Some(call) = self.call_of_dialog(dialog) {
                        call.ended = Some(reason);
                    }
                }
                Event::Request { tx, .. } => {
                    let _ = self.ep.respond_status(now, *tx, 200, "OK");
                }
                Event::Retargeted { from, to, .. } => {
                    // Re-sent with credentials (or to the next target): same call.
                    if let Some(call) = self.calls.iter_mut().find(|c| c.invite == *from) {
                        call.invite = *to;
                    }
                }
                _ => {}
            }
            self.events.push((now, event));
        }
    }
}

pub(crate) fn parse(body: &Bytes) -> Option<SessionDescription> {
    if body.is_empty() {
        return None;
    }
    SessionDescription::parse(std::str::from_utf8(body).ok()?).ok()
}

/// The INVITE with `UPDATE` taken out of its Allow header.
fn without_update(packet: Bytes) -> Bytes {
    if !packet.starts_with(b"INVITE ") {
        return packet;
    }
    let text = String::from_utf8_lossy(&packet);
    Bytes::from(text.replacen(", UPDATE", "", 1))
}

impl Node<SocketAddr, Bytes> for TrunkUa {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: Bytes) {
        let peer = Peer::new(TransportKind::Udp, from);
        match parse_datagram(packet.clone()) {
            Ok(message) => self.ep.handle_message(now, message, peer),
            Err(error) => self.ep.handle_malformed(&packet, &error, peer),
        }
        self.run_app(now);
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        let t = self.ep.poll_transmit()?;
        let bytes = if self.no_update {
            without_update(t.bytes)
        } else {
            t.bytes
        };
        Some((t.to.addr, bytes))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.ep.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.run_app(now);
    }
}
