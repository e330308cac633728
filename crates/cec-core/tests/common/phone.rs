//! An agent's SIP phone: rings (180) on an INVITE, then answers with an SDP answer after a
//! configurable delay, rejects, or never answers; holds (re-INVITE sendonly) and resumes,
//! and hangs up on command.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sdp::{Direction, LocalCapabilities, LocalSdpSession, SessionDescription};
use cec_sim::Node;
use cec_sip::{
    DialogId, Endpoint, EndpointConfig, Event, Peer, TerminationReason, TransactionId,
    TransportKind,
};
use cec_sip_msg::{Method, parse_datagram};

use super::trunk::parse;

/// What the phone does with an incoming call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Answer this long after the INVITE.
    AnswerAfter(Duration),
    /// Reject with this status this long after the INVITE.
    Reject(u16, Duration),
    /// Ring until cancelled.
    Never,
}

/// One incoming call.
#[derive(Debug, Clone)]
pub struct PhoneCall {
    /// The INVITE.
    pub invite: TransactionId,
    /// The dialog.
    pub dialog: Option<DialogId>,
    /// The offer in the INVITE.
    pub offer: Option<SessionDescription>,
    /// Our SDP session.
    pub sdp: LocalSdpSession,
    /// Caller ID (From display name).
    pub caller_id: Option<String>,
    /// The INVITE's headers we look at (`Call-Info`).
    pub call_info: Option<String>,
    /// Whether we sent a 2xx.
    pub answered: bool,
    /// Whether the INVITE was cancelled.
    pub cancelled: bool,
    /// Whether the ACK arrived.
    pub acked: bool,
    /// How the dialog ended.
    pub ended: Option<TerminationReason>,
    /// Our re-INVITE in progress (hold / resume).
    pub reinvite: Option<TransactionId>,
    /// Statuses our re-INVITEs got.
    pub reinvite_statuses: Vec<u16>,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Answer(usize),
    Reject(usize, u16),
}

/// The phone.
pub struct Phone {
    /// The SIP endpoint.
    pub ep: Endpoint,
    /// What it does with calls.
    pub behavior: Behavior,
    /// Calls received, in order.
    pub calls: Vec<PhoneCall>,
    /// Every endpoint event.
    pub events: Vec<(Instant, Event)>,
    port: u16,
    scheduled: Vec<(Instant, Action)>,
}

impl Phone {
    /// A phone at `local`.
    pub fn new(local: SocketAddr, behavior: Behavior, seed: u64) -> Phone {
        let mut rng = cec_sim::Rng::new(seed);
        let mut ep = Endpoint::new(EndpointConfig::default(), move || rng.next_u64());
        ep.set_local_address(TransportKind::Udp, local);
        Phone {
            ep,
            behavior,
            calls: Vec::new(),
            events: Vec::new(),
            port: 40000 + local.port(),
            scheduled: Vec::new(),
        }
    }

    /// Answers call `i` now.
    pub fn answer(&mut self, now: Instant, i: usize) -> bool {
        let port = self.port;
        let call = &mut self.calls[i];
        let Some(offer) = call.offer.clone() else {
            return false;
        };
        if call.answered || call.cancelled {
            return false;
        }
        let Ok(answer) = call.sdp.answer(
            &offer,
            &LocalCapabilities::default(),
            vec![port],
            Direction::SendRecv,
        ) else {
            return false;
        };
        match self
            .ep
            .answer(now, call.invite, Some(Bytes::from(answer.sdp.to_string())))
        {
            Ok(dialog) => {
                call.dialog = Some(dialog);
                call.answered = true;
                true
            }
            Err(_) => false,
        }
    }

    /// Rejects call `i` now with `status`.
    pub fn reject(&mut self, now: Instant, i: usize, status: u16) -> bool {
        let call = &self.calls[i];
        if call.answered || call.cancelled {
            return false;
        }
        self.ep
            .respond_status(now, call.invite, status, "Rejected")
            .is_ok()
    }

    /// Puts call `i` on hold (re-INVITE sendonly).
    pub fn hold(&mut self, now: Instant, i: usize) -> bool {
        self.reoffer(now, i, true)
    }

    /// Resumes call `i` (re-INVITE sendrecv).
    pub fn resume(&mut self, now: Instant, i: usize) -> bool {
        self.reoffer(now, i, false)
    }

    fn reoffer(&mut self, now: Instant, i: usize, hold: bool) -> bool {
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

    /// Hangs call `i` up.
    pub fn bye(&mut self, now: Instant, i: usize) -> bool {
        match self.calls[i].dialog {
            Some(dialog) if self.calls[i].answered => self.ep.bye(now, dialog).is_ok(),
            _ => false,
        }
    }

    /// The call of `dialog`.
    fn call_of_dialog(&mut self, dialog: DialogId) -> Option<&mut PhoneCall> {
        self.calls.iter_mut().find(|c| c.dialog == Some(dialog))
    }

    fn run_app(&mut self, now: Instant) {
        while let Some(event) = self.ep.poll_event() {
            match &event {
                Event::Request { tx, request, .. } if request.method() == Some(&Method::Invite) => {
                    let tx = *tx;
                    let caller_id = request.from().ok().and_then(|f| {
                        f.display_name
                            .as_ref()
                            .map(|d| String::from_utf8_lossy(d).trim_matches('"').to_owned())
                    });
                    let call_info = request
                        .header(&cec_sip_msg::HeaderName::Other(Bytes::from_static(
                            b"Call-Info",
                        )))
                        .map(|h| String::from_utf8_lossy(h.value()).into_owned());
                    let ip = self.ep_ip();
                    let dialog = self
                        .ep
                        .provisional(now, tx, 180, "Ringing", None, false)
                        .ok();
                    self.calls.push(PhoneCall {
                        invite: tx,
                        dialog,
                        offer: parse(request.body()),
                        sdp: LocalSdpSession::new(7000 + self.calls.len() as u64, 1, ip),
                        caller_id,
                        call_info,
                        answered: false,
                        cancelled: false,
                        acked: false,
                        ended: None,
                        reinvite: None,
                        reinvite_statuses: Vec::new(),
                    });
                    let i = self.calls.len() - 1;
                    match self.behavior {
                        Behavior::AnswerAfter(after) => {
                            self.scheduled.push((now + after, Action::Answer(i)));
                        }
                        Behavior::Reject(status, after) => {
                            self.scheduled
                                .push((now + after, Action::Reject(i, status)));
                        }
                        Behavior::Never => {}
                    }
                }
                Event::Request { tx, .. } => {
                    let _ = self.ep.respond_status(now, *tx, 200, "OK");
                }
                Event::Cancelled { invite } => {
                    if let Some(call) = self.calls.iter_mut().find(|c| c.invite == *invite) {
                        call.cancelled = true;
                    }
                }
                Event::DialogRequest {
                    dialog,
                    tx,
                    request,
                } => {
                    let tx = *tx;
                    let port = self.port;
                    let offer = parse(request.body());
                    let answer = match (self.call_of_dialog(*dialog), offer) {
                        (Some(call), Some(offer)) => call
                            .sdp
                            .answer(
                                &offer,
                                &LocalCapabilities::default(),
                                vec![port],
                                Direction::SendRecv,
                            )
                            .ok()
                            .map(|a| Bytes::from(a.sdp.to_string())),
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
                Event::Response { tx, response, .. } => {
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
                }
                Event::Acked { dialog, .. } => {
                    let dialog = *dialog;
                    if let Some(call) = self.call_of_dialog(dialog) {
                        call.acked = true;
                    }
                }
                Event::DialogTerminated { dialog, reason } => {
                    let (dialog, reason) = (*dialog, *reason);
                    if let Some(call) = self.call_of_dialog(dialog) {
                        call.ended = Some(reason);
                    }
                }
                _ => {}
            }
            self.events.push((now, event));
        }
    }

    fn ep_ip(&self) -> std::net::IpAddr {
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
    }

    fn run_scheduled(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) =
            self.scheduled.drain(..).partition(|(at, _)| *at <= now);
        self.scheduled = later;
        for (_, action) in due {
            match action {
                Action::Answer(i) => {
                    self.answer(now, i);
                }
                Action::Reject(i, status) => {
                    self.reject(now, i, status);
                }
            }
        }
        self.run_app(now);
    }
}

impl Node<SocketAddr, Bytes> for Phone {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: Bytes) {
        let peer = Peer::new(TransportKind::Udp, from);
        match parse_datagram(packet.clone()) {
            Ok(message) => self.ep.handle_message(now, message, peer),
            Err(error) => self.ep.handle_malformed(&packet, &error, peer),
        }
        self.run_app(now);
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.ep.poll_transmit().map(|t| (t.to.addr, t.bytes))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let app = self.scheduled.iter().map(|(at, _)| *at).min();
        [self.ep.poll_timeout(), app].into_iter().flatten().min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.run_app(now);
        self.run_scheduled(now);
    }
}
