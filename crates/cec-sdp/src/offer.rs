//! RFC 3264 §5 and §7: building our offers and processing the answers to them.

use std::net::IpAddr;

use crate::attribute::{Attribute, Direction, Fmtp};
use crate::codec::{Codec, LocalCapabilities};
use crate::error::{NegotiationError, NotAcceptableReason};
use crate::model::{Connection, MediaDescription, Origin, Protocol, SessionDescription};
use crate::negotiated::{
    NegotiatedMedia, NegotiatedStream, RejectReason, StreamOutcome, declared_direction, remote_of,
};

/// Inputs of [`build_offer`] that are not capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferParams {
    /// Our `o=` line (session id and version are chosen by the caller).
    pub origin: Origin,
    /// Our `s=` (default `-`).
    pub session_name: String,
    /// Our media address, written in `c=`.
    pub local_address: IpAddr,
    /// Our RTP port.
    pub rtp_port: u16,
    /// Offered direction (sendonly to hold).
    pub direction: Direction,
}

impl OfferParams {
    /// Sendrecv, `s=-`.
    pub fn new(origin: Origin, local_address: IpAddr, rtp_port: u16) -> Self {
        Self {
            origin,
            session_name: "-".to_owned(),
            local_address,
            rtp_port,
            direction: Direction::SendRecv,
        }
    }
}

/// Builds an offer with one `m=audio` line over RTP/AVP listing our codecs in preference
/// order, telephone-event (PT 101 unless taken, then the first free in 96-127), ptime.
pub fn build_offer(caps: &LocalCapabilities, params: &OfferParams) -> SessionDescription {
    let mut sdp = SessionDescription::new(params.origin.clone());
    sdp.session_name = Some(params.session_name.clone());
    sdp.connections = vec![Connection::new(params.local_address)];
    let mut m = MediaDescription::new("audio", params.rtp_port, Protocol::RtpAvp, Vec::new());
    let mut used: Vec<u8> = Vec::new();
    for c in &caps.codecs {
        if used.contains(&c.payload_type) || c.payload_type > 127 || c.is_telephone_event() {
            continue;
        }
        used.push(c.payload_type);
        m.formats.push(c.payload_type.to_string());
        m.attributes
            .push(Attribute::RtpMap(c.rtpmap(c.payload_type)));
        if let Some(params) = &c.fmtp {
            let fmtp = Fmtp {
                format: c.payload_type.to_string(),
                params: params.clone(),
            };
            m.attributes.push(Attribute::Fmtp(fmtp));
        }
    }
    if let Some(te) = &caps.telephone_event {
        let free = |pt: &u8| !used.contains(pt);
        let pt = Some(te.payload_type)
            .filter(|pt| *pt <= 127 && free(pt))
            .or_else(|| (96..=127).find(free));
        if let Some(pt) = pt {
            m.formats.push(pt.to_string());
            let codec = Codec::new("telephone-event", te.clock_rate, pt);
            m.attributes.push(Attribute::RtpMap(codec.rtpmap(pt)));
            let fmtp = Fmtp {
                format: pt.to_string(),
                params: te.events.clone(),
            };
            m.attributes.push(Attribute::Fmtp(fmtp));
        }
    }
    if let Some(p) = caps.ptime {
        m.attributes.push(Attribute::Ptime(p));
    }
    if let Some(p) = caps.maxptime {
        m.attributes.push(Attribute::MaxPtime(p));
    }
    m.attributes.push(Attribute::Direction(params.direction));
    sdp.media.push(m);
    sdp
}

/// Processes the answer to our offer (RFC 3264 §7).
///
/// The answer must have exactly as many `m=` lines as the offer; port 0 rejects a
/// stream; an accepted stream must pick a codec we offered (matched by codec, so a
/// re-numbered dynamic payload type is accepted and the answer's number is used).
/// If every stream is rejected the result is `NotAcceptable { AllStreamsRejected }`.
pub fn process_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<NegotiatedMedia, NegotiationError> {
    if offer.media.len() != answer.media.len() {
        return Err(NegotiationError::MediaCountMismatch {
            offered: offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let mut streams = Vec::with_capacity(offer.media.len());
    for (index, (o, a)) in offer.media.iter().zip(&answer.media).enumerate() {
        if !a.media.eq_ignore_ascii_case(&o.media) {
            return Err(NegotiationError::MediaTypeMismatch {
                index,
                offered: o.media.clone(),
                answered: a.media.clone(),
            });
        }
        if a.port == 0 || o.port == 0 {
            let reason = RejectReason::RejectedByPeer;
            streams.push(StreamOutcome::Rejected { index, reason });
            continue;
        }
        streams.push(StreamOutcome::Accepted(accepted(
            offer, o, answer, a, index,
        )?));
    }
    let media = NegotiatedMedia { streams };
    if media.audio().is_none() {
        let reason = NotAcceptableReason::AllStreamsRejected;
        return Err(NegotiationError::NotAcceptable { reason });
    }
    Ok(media)
}

fn accepted(
    offer: &SessionDescription,
    o: &MediaDescription,
    answer: &SessionDescription,
    a: &MediaDescription,
    index: usize,
) -> Result<NegotiatedStream, NegotiationError> {
    let ours: Vec<Codec> = o
        .payload_types()
        .into_iter()
        .filter_map(|pt| Codec::from_media(o, pt))
        .collect();
    let theirs: Vec<Codec> = a
        .payload_types()
        .into_iter()
        .filter_map(|pt| Codec::from_media(a, pt))
        .filter(|c| ours.iter().any(|x| x.same_codec(c)))
        .collect();
    let codec = theirs
        .iter()
        .find(|c| !c.is_telephone_event() && !c.is_comfort_noise())
        .map(|c| {
            let ours = ours.iter().find(|x| x.same_codec(c));
            let fmtp = a
                .fmtp(&c.payload_type.to_string())
                .map(|f| f.params.clone())
                .or_else(|| {
                    ours.and_then(|x| o.fmtp(&x.payload_type.to_string()))
                        .map(|f| f.params.clone())
                });
            Codec { fmtp, ..c.clone() }
        })
        .ok_or(NegotiationError::CodecNotOffered { index })?;
    let telephone_event = theirs
        .iter()
        .find(|c| c.is_telephone_event() && c.clock_rate == codec.clock_rate)
        .map(|c| c.payload_type);
    let remote = remote_of(answer, a, index)?;
    let direction = declared_direction(answer, a)
        .reversed()
        .intersect(offer.media_direction(o));
    Ok(NegotiatedStream {
        index,
        local_port: o.port,
        remote_address: remote.address,
        remote_ip: remote.ip,
        remote_rtp_port: a.port,
        remote_rtcp_port: remote.rtcp_port,
        remote_rtcp_address: remote.rtcp_address,
        codec,
        telephone_event,
        ptime: a.ptime().or_else(|| o.ptime()).unwrap_or(20),
        direction,
    })
}
