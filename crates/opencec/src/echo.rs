//! The echo-test number (as Asterisk's `*43`, FreeSWITCH's 9196), part of the interim SIP
//! application: a caller dials `sip.echo_number`, hears ringback for `sip.echo_ring_ms`, the
//! call is answered and every RTP packet the caller sends comes back (a media leg in echo
//! mode), so a newcomer can check a phone's audio path. We hang up after
//! `sip.echo_max_duration_s`. Every way a call ends (CANCEL, BYE either way, no ACK,
//! transaction failure) releases the media leg and the call's timer.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_media::quality::NtpClock;
use cec_media::{LegConfig, Renegotiation, StreamIds};
use cec_runtime::media::{LegId, MediaEngine};
use cec_sdp::{
    AnswerParams, Codec, Direction, LocalCapabilities, LocalSdpSession, NegotiatedStream,
    SessionDescription,
};
use cec_sip::{DialogId, Endpoint, Peer, TerminationReason, TransactionId, TransportKind};
use cec_sip_msg::{Message, Method};
use tracing::{debug, info};

/// What the echo test needs from the configuration and the running process.
pub struct EchoSettings {
    /// User part of the Request-URI that reaches the echo test (non-empty).
    pub number: String,
    /// Ringing time before the answer.
    pub ring: Duration,
    /// We send BYE after this.
    pub max_duration: Duration,
    /// `sip.public_address`, written in our SDP when set.
    pub public_ip: Option<IpAddr>,
    /// Our SIP listeners: the SDP address is the listen IP of the transport an INVITE
    /// came on.
    pub listeners: Vec<(TransportKind, SocketAddr)>,
}

/// One echo call, from the INVITE to its release.
struct EchoCall {
    invite: TransactionId,
    dialog: Option<DialogId>,
    leg: LegId,
    rtp_port: u16,
    sdp: LocalSdpSession,
    /// What re-offers are answered with: the current codec first (no needless switch),
    /// the other G.711 law second.
    caps: LocalCapabilities,
    /// The caller's RTP/RTCP addresses from the last SDP that had usable ones (a hold
    /// offer's 0.0.0.0 keeps them).
    remote: (Option<SocketAddr>, Option<SocketAddr>),
    answer: Bytes,
    /// When to answer (while ringing) or to hang up (once answered).
    deadline: Instant,
    answered: bool,
}

/// The echo-test calls of the interim SIP application.
pub struct EchoService {
    settings: EchoSettings,
    media: MediaEngine,
    random: Box<dyn FnMut() -> u64 + Send>,
    ntp: NtpClock,
    calls: Vec<EchoCall>,
}

/// Why an INVITE to the echo number is refused: the SIP status and reason phrase.
type Refusal = (u16, &'static str);

const NOT_ACCEPTABLE: Refusal = (488, "Not Acceptable Here");

impl EchoService {
    /// The service; `random` draws SSRCs and SDP session ids, `ntp` maps instants to the
    /// wall clock for RTCP.
    pub fn new(
        settings: EchoSettings,
        media: MediaEngine,
        random: impl FnMut() -> u64 + Send + 'static,
        ntp: NtpClock,
    ) -> EchoService {
        EchoService {
            settings,
            media,
            random: Box::new(random),
            ntp,
            calls: Vec::new(),
        }
    }

    /// Whether `request` (an out-of-dialog INVITE) dials the echo number.
    pub fn is_echo_call(&self, request: &Message) -> bool {
        request
            .request_uri()
            .and_then(|uri| uri.user())
            .is_some_and(|user| user == self.settings.number.as_bytes())
    }

    /// Whether `dialog` is one of ours.
    pub fn owns_dialog(&self, dialog: DialogId) -> bool {
        self.calls.iter().any(|c| c.dialog == Some(dialog))
    }

    /// Calls in progress (ringing or answered).
    #[cfg(test)]
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// An INVITE to the echo number: allocate the leg, ring, answer later.
    pub fn on_invite(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: TransactionId,
        request: &Message,
        source: Peer,
    ) {
        match self.start_call(now, endpoint, tx, request, source) {
            Ok(()) => {}
            Err((code, reason)) => {
                debug!(%tx, from = %source.addr, code, "echo call refused");
                let _ = endpoint.respond_status(now, tx, code, reason);
            }
        }
    }

    fn start_call(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: TransactionId,
        request: &Message,
        source: Peer,
    ) -> Result<(), Refusal> {
        // Late offer (no SDP in the INVITE) is not supported yet: we would have to offer
        // in the 200 and learn the codec from the ACK.
        let offer = parse_sdp(request.body()).ok_or(NOT_ACCEPTABLE)?;
        let ip = self.sdp_address(source);
        let caps = LocalCapabilities::default();
        let session_id = (self.random)() >> 1;
        let mut sdp = LocalSdpSession::new(session_id, 1, ip);
        // The leg needs the negotiated codec and our SDP needs the leg's port: negotiate
        // once without a port (same inputs, same choice), then answer for real.
        let params = AnswerParams::new(sdp.origin(), ip, 9);
        let probe = cec_sdp::answer(&offer, &caps, &params).map_err(|_| NOT_ACCEPTABLE)?;
        let stream = probe.media.audio().ok_or(NOT_ACCEPTABLE)?;
        let ids = StreamIds::random(&mut self.random);
        let config =
            LegConfig::from_negotiated(stream, ids, self.ntp).map_err(|_| NOT_ACCEPTABLE)?;
        let caps = preferring(stream);
        let remote = (config.remote_rtp, config.remote_rtcp);
        let handle = self
            .media
            .allocate_leg(config)
            .map_err(|_| (503, "Service Unavailable"))?;
        let leg = handle.id;
        let rtp_port = handle.local_rtp.port();
        let answer = match sdp.answer(&offer, &caps, vec![rtp_port], Direction::SendRecv) {
            Ok(answer) => Bytes::from(answer.sdp.to_string()),
            Err(_) => {
                self.media.release(leg);
                return Err(NOT_ACCEPTABLE);
            }
        };
        let dialog = match endpoint.provisional(now, tx, 180, "Ringing", None, false) {
            Ok(dialog) => dialog,
            Err(error) => {
                // The INVITE is gone already (e.g. cancelled in the same batch).
                debug!(%tx, %error, %leg, "echo call not rung; leg released");
                self.media.release(leg);
                return Ok(());
            }
        };
        debug!(%tx, %dialog, %leg, rtp_port, "echo call ringing");
        self.calls.push(EchoCall {
            invite: tx,
            dialog: Some(dialog),
            leg,
            rtp_port,
            sdp,
            caps,
            remote,
            answer,
            deadline: now + self.settings.ring,
            answered: false,
        });
        if self.settings.ring.is_zero() {
            self.handle_timeout(now, endpoint);
        }
        Ok(())
    }

    /// Where the caller must send RTP: the public address if configured, else the IP of
    /// the listener the INVITE came on (or, for a wildcard listener, the local address
    /// the system routes towards the caller from).
    fn sdp_address(&self, source: Peer) -> IpAddr {
        if let Some(ip) = self.settings.public_ip {
            return ip;
        }
        let listen = self
            .settings
            .listeners
            .iter()
            .find(|(kind, _)| *kind == source.transport)
            .map(|(_, addr)| addr.ip());
        match listen {
            Some(ip) if !ip.is_unspecified() => ip,
            _ => crate::media_control::route_towards(source.addr)
                .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        }
    }

    /// A CANCEL ended a ringing call (the endpoint answered 200 and 487).
    pub fn on_cancelled(&mut self, invite: TransactionId) {
        self.end_where(|c| c.invite == invite, "cancelled");
    }

    /// A dialog ended (BYE either way, no ACK, failed transaction...).
    pub fn on_dialog_terminated(&mut self, dialog: DialogId, reason: TerminationReason) {
        let why = match reason {
            TerminationReason::RemoteBye => "caller hung up",
            TerminationReason::LocalBye => "hung up by us",
            // A CANCEL ends the early dialog through its 487.
            TerminationReason::Cancelled | TerminationReason::Rejected(487) => "cancelled",
            TerminationReason::Rejected(_) => "rejected",
            TerminationReason::AckTimeout => "no ACK",
            _ => "dialog ended",
        };
        self.end_where(|c| c.dialog == Some(dialog), why);
    }

    /// A transaction failed (e.g. the connection an INVITE came on closed while ringing).
    pub fn on_transaction_timeout(&mut self, tx: TransactionId) {
        self.end_where(
            |c| c.invite == tx && !c.answered,
            "INVITE transaction failed",
        );
    }

    /// A request inside an echo dialog: re-INVITE and UPDATE get the same SDP back (hold
    /// is allowed), INFO is accepted, everything else is not implemented.
    pub fn on_dialog_request(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        dialog: DialogId,
        tx: TransactionId,
        request: &Message,
    ) {
        let Some(call) = self.calls.iter_mut().find(|c| c.dialog == Some(dialog)) else {
            let _ = endpoint.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
            return;
        };
        match request.method() {
            Some(Method::Invite | Method::Update) => {
                let body = if request.body().is_empty() {
                    // No offer: ours (the last SDP sent) goes in the 200.
                    Some(call.answer.clone())
                } else {
                    reanswer(call, &self.media, request.body())
                };
                match body {
                    Some(body) => {
                        let _ = endpoint.answer(now, tx, Some(body));
                    }
                    None => {
                        let _ = endpoint.respond_status(now, tx, 488, "Not Acceptable Here");
                    }
                }
            }
            Some(Method::Info) => {
                let _ = endpoint.respond_status(now, tx, 200, "OK");
            }
            _ => {
                let _ = endpoint.respond_status(now, tx, 501, "Not Implemented");
            }
        }
    }

    /// The next answer or hang-up.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls.iter().map(|c| c.deadline).min()
    }

    /// Answers calls that have rung long enough and hangs up calls that lasted too long.
    pub fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
        let mut index = 0;
        while let Some(call) = self.calls.get_mut(index) {
            if call.deadline > now {
                index += 1;
                continue;
            }
            if call.answered {
                let call = self.calls.swap_remove(index);
                if let Some(dialog) = call.dialog {
                    // The dialog's end comes back as an event; the call is gone by then.
                    let _ = endpoint.bye(now, dialog);
                }
                self.media.release(call.leg);
                info!(leg = %call.leg, "echo call ended: time limit reached");
                debug!(leg = %call.leg, "echo call released");
                continue;
            }
            match endpoint.answer(now, call.invite, Some(call.answer.clone())) {
                Ok(dialog) => {
                    call.dialog = Some(dialog);
                    call.answered = true;
                    call.deadline = now + self.settings.max_duration;
                    // Queued now, ahead of any later release; the outcome (it cannot fail
                    // for a lone leg we own) is not awaited on the SIP thread.
                    drop(self.media.echo(call.leg));
                    info!(%dialog, leg = %call.leg, rtp_port = call.rtp_port, "echo call answered");
                    index += 1;
                }
                Err(error) => {
                    let call = self.calls.swap_remove(index);
                    self.media.release(call.leg);
                    debug!(leg = %call.leg, %error, "echo call could not be answered; released");
                }
            }
        }
    }

    fn end_where(&mut self, matches: impl Fn(&EchoCall) -> bool, why: &str) {
        let mut index = 0;
        while let Some(call) = self.calls.get(index) {
            if matches(call) {
                let call = self.calls.swap_remove(index);
                self.media.release(call.leg);
                if call.answered {
                    info!(leg = %call.leg, reason = why, "echo call ended");
                }
                debug!(leg = %call.leg, reason = why, "echo call released");
            } else {
                index += 1;
            }
        }
    }
}

/// Answers a re-offer on the call's port, in the current codec if offered, else the other
/// G.711 law (the leg switches, its stream continuing); applies the new terms (codec,
/// remote address, direction) to the leg. `None` when the offer cannot be answered (488).
fn reanswer(call: &mut EchoCall, media: &MediaEngine, body: &Bytes) -> Option<Bytes> {
    let offer = parse_sdp(body)?;
    let answer = call
        .sdp
        .answer(&offer, &call.caps, vec![call.rtp_port], Direction::SendRecv)
        .ok()?;
    let stream = answer.media.audio()?;
    let mut update = Renegotiation::from_negotiated(stream).ok()?;
    // A hold address (0.0.0.0) keeps the last usable one: the leg latches again on the
    // next packet anyway.
    match update.remote_rtp {
        Some(rtp) => call.remote = (Some(rtp), update.remote_rtcp),
        None => (update.remote_rtp, update.remote_rtcp) = call.remote,
    }
    call.caps = preferring(stream);
    // Queued before the 200 goes out; the outcome (it cannot fail for a leg we own) is
    // not awaited on the SIP thread.
    drop(media.renegotiate(call.leg, update));
    let body = Bytes::from(answer.sdp.to_string());
    call.answer = body.clone();
    Some(body)
}

/// Our capabilities for answers: the negotiated codec first, then the other G.711 law
/// (and DTMF).
fn preferring(stream: &NegotiatedStream) -> LocalCapabilities {
    let (first, second) = if stream.codec.name.eq_ignore_ascii_case("PCMU") {
        (Codec::pcmu(), Codec::pcma())
    } else {
        (Codec::pcma(), Codec::pcmu())
    };
    LocalCapabilities::with_codecs(vec![first, second])
}

fn parse_sdp(body: &Bytes) -> Option<SessionDescription> {
    if body.is_empty() {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    SessionDescription::parse(text).ok()
}

#[cfg(test)]
#[path = "echo/tests.rs"]
mod tests;
