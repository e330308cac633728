//! The caller's media at admission: answering the carrier's SDP offer (or, for an INVITE
//! without SDP, offering ours in the 200 and applying the answer from the ACK), allocating
//! the caller's leg, and the capabilities used for answers and re-offers.

use std::time::Instant;

use bytes::Bytes;
use cec_media::{LegConfig, StreamIds};
use cec_sdp::{Codec, Direction, LocalCapabilities, LocalSdpSession, SessionDescription};
use cec_sip::Peer;
use cec_sip_msg::Message;

use super::inbound::Refusal;
use super::release::Ending;
use super::{Env, Switch};
use crate::config::Trunk;

/// The caller's side as negotiated: our SDP session, capabilities for re-offers, the leg,
/// the caller's media addresses and the SDP for our 18x/200.
pub(crate) struct Negotiated {
    pub sdp: LocalSdpSession,
    pub caps: LocalCapabilities,
    pub allocated: crate::env::AllocatedLeg,
    pub remote: (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>),
    pub body: Bytes,
}

pub(crate) fn no_ports() -> Refusal {
    Refusal {
        retry_after: Some(5),
        ..Refusal::new(503, "Service Unavailable", "no media ports")
    }
}

impl Switch {
    /// Answers the caller's offer: negotiates, allocates the leg, builds our answer.
    pub(crate) fn answer_caller(
        &mut self,
        env: &mut Env<'_>,
        request: &Message,
        source: Peer,
        trunk: &Trunk,
    ) -> Result<Negotiated, Refusal> {
        let offer = parse_sdp(request.body())
            .ok_or_else(|| Refusal::new(488, "Not Acceptable Here", "no usable SDP offer"))?;
        let caps = trunk_caps(trunk);
        let address = env.media.sdp_address(source.addr);
        let mut sdp = LocalSdpSession::new((self.random)() >> 1, 1, address);
        // The leg needs the negotiated codec and our SDP the leg's port: negotiate without
        // a port first (same inputs, same choice), then answer for real.
        let probe = cec_sdp::answer(
            &offer,
            &caps,
            &cec_sdp::AnswerParams::new(sdp.origin(), address, 9),
        )
        .map_err(|_| Refusal::new(488, "Not Acceptable Here", "no common codec"))?;
        let stream = probe
            .media
            .audio()
            .ok_or_else(|| Refusal::new(488, "Not Acceptable Here", "no audio stream"))?;
        let ids = StreamIds::random(&mut self.random);
        let mut leg_config = LegConfig::from_negotiated(stream, ids, self.settings.ntp)
            .map_err(|_| Refusal::new(488, "Not Acceptable Here", "unsupported codec"))?;
        leg_config.rtp_timeout = self.settings.rtp_timeout;
        let remote = (leg_config.remote_rtp, leg_config.remote_rtcp);
        let caps = preferring(&stream.codec);
        let allocated = env.media.allocate(leg_config).ok_or_else(no_ports)?;
        match sdp.answer(&offer, &caps, vec![allocated.port], Direction::SendRecv) {
            Ok(answer) => Ok(Negotiated {
                sdp,
                caps,
                allocated,
                remote,
                body: Bytes::from(answer.sdp.to_string()),
            }),
            Err(_) => {
                env.media.release(allocated.leg);
                Err(Refusal::new(488, "Not Acceptable Here", "no common codec"))
            }
        }
    }

    /// An INVITE without SDP (late offer): the leg starts with our preferred codec and no
    /// remote address; our offer goes in the 200 and the ACK's answer completes the leg.
    pub(crate) fn offer_to_caller(
        &mut self,
        env: &mut Env<'_>,
        source: Peer,
        trunk: &Trunk,
    ) -> Result<Negotiated, Refusal> {
        let caps = trunk_caps(trunk);
        let address = env.media.sdp_address(source.addr);
        let mut sdp = LocalSdpSession::new((self.random)() >> 1, 1, address);
        let ids = StreamIds::random(&mut self.random);
        let mut leg_config =
            LegConfig::from_negotiated(&super::agents::unanswered_stream(), ids, self.settings.ntp)
                .map_err(|_| Refusal::new(500, "Server Internal Error", "no leg configuration"))?;
        leg_config.rtp_timeout = self.settings.rtp_timeout;
        let allocated = env.media.allocate(leg_config).ok_or_else(no_ports)?;
        let offer = sdp.offer(&caps, allocated.port, Direction::SendRecv);
        Ok(Negotiated {
            sdp,
            caps,
            allocated,
            remote: (None, None),
            body: Bytes::from(offer.to_string()),
        })
    }

    /// The ACK of our 200 to an offerless INVITE carries the caller's answer.
    pub(crate) fn on_caller_ack(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: u64,
        ack: &Message,
    ) {
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        if !call.customer.awaiting_answer {
            return;
        }
        call.customer.awaiting_answer = false;
        let side = &mut call.customer.side;
        let stream = parse_sdp(ack.body())
            .and_then(|sdp| side.sdp.process_answer(&sdp).ok())
            .and_then(|media| media.audio().cloned());
        match stream {
            Some(stream) if apply_stream(side, &stream, env.media) => {}
            _ => self.release(
                now,
                env,
                no,
                Ending::system("no usable SDP answer in the caller's ACK"),
            ),
        }
    }
}

/// Our capabilities towards a trunk: its codec order (PCMA first by default).
pub(crate) fn trunk_caps(trunk: &Trunk) -> LocalCapabilities {
    let codecs: Vec<Codec> = trunk
        .codecs
        .iter()
        .filter_map(|name| match name.to_ascii_uppercase().as_str() {
            "PCMA" => Some(Codec::pcma()),
            "PCMU" => Some(Codec::pcmu()),
            _ => None,
        })
        .collect();
    if codecs.is_empty() {
        LocalCapabilities::default()
    } else {
        LocalCapabilities::with_codecs(codecs)
    }
}

/// Capabilities for answers and re-offers: `codec` first, then the other G.711 law.
pub(crate) fn preferring(codec: &Codec) -> LocalCapabilities {
    if codec.name.eq_ignore_ascii_case("PCMU") {
        LocalCapabilities::with_codecs(vec![Codec::pcmu(), Codec::pcma()])
    } else {
        LocalCapabilities::with_codecs(vec![Codec::pcma(), Codec::pcmu()])
    }
}

pub(crate) fn parse_sdp(body: &Bytes) -> Option<SessionDescription> {
    if body.is_empty() {
        return None;
    }
    SessionDescription::parse(std::str::from_utf8(body).ok()?).ok()
}

/// Applies a negotiated stream to a call side and its media leg: codec, payload types,
/// direction and addresses (a hold address, 0.0.0.0, keeps the last usable one), and
/// answers re-offers with this codec first from now on. `false` when the stream is not
/// G.711 (nothing changes).
pub(crate) fn apply_stream(
    side: &mut crate::call::Side,
    stream: &cec_sdp::NegotiatedStream,
    media: &mut dyn crate::env::MediaControl,
) -> bool {
    let Ok(mut update) = cec_media::Renegotiation::from_negotiated(stream) else {
        return false;
    };
    match update.remote_rtp {
        Some(rtp) => side.remote = (Some(rtp), update.remote_rtcp),
        None => (update.remote_rtp, update.remote_rtcp) = side.remote,
    }
    side.caps = preferring(&stream.codec);
    media.renegotiate(side.leg, update);
    true
}
