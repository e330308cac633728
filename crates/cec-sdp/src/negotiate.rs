//! RFC 3264 §6: answering an offer.

use std::net::IpAddr;

use crate::attribute::{Attribute, Direction, Fmtp};
use crate::codec::{Codec, LocalCapabilities};
use crate::error::{NegotiationError, NotAcceptableReason};
use crate::model::{Connection, MediaDescription, Origin, Protocol, SessionDescription, Timing};
use crate::negotiated::{
    Answer, NegotiatedMedia, NegotiatedStream, RejectReason, StreamOutcome, declared_direction,
    remote_of,
};

/// Inputs of [`answer`] that are not capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerParams {
    /// Our `o=` line (session id and version are chosen by the caller).
    pub origin: Origin,
    /// Our `s=` (default `-`).
    pub session_name: String,
    /// Our media address, written in `c=`.
    pub local_address: IpAddr,
    /// Our RTP ports, consumed in order by the accepted streams; acceptable streams
    /// beyond the last port are rejected. Give one port to accept one audio stream.
    pub rtp_ports: Vec<u16>,
    /// The direction we want (usually sendrecv; sendonly when we hold).
    pub direction: Direction,
}

impl AnswerParams {
    /// One RTP port, sendrecv, `s=-`.
    pub fn new(origin: Origin, local_address: IpAddr, rtp_port: u16) -> Self {
        Self {
            origin,
            session_name: "-".to_owned(),
            local_address,
            rtp_ports: vec![rtp_port],
            direction: Direction::SendRecv,
        }
    }
}

/// What we picked for an acceptable offered stream.
struct Choice {
    /// Voice codecs, ours preferred first, with the offerer's payload types.
    voice: Vec<Codec>,
    /// Offered telephone-event payload type.
    telephone_event: Option<u8>,
}

/// Answers `offer` (RFC 3264 §6): one answer `m=` line per offered one, in order.
///
/// Audio over RTP/AVP with a common codec is accepted (our codec preference, the
/// offerer's payload type numbers); everything else gets port 0. If nothing can be
/// accepted the result is [`NegotiationError::NotAcceptable`] (SIP 488).
pub fn answer(
    offer: &SessionDescription,
    caps: &LocalCapabilities,
    params: &AnswerParams,
) -> Result<Answer, NegotiationError> {
    if offer.media.is_empty() {
        return Err(NegotiationError::NotAcceptable {
            reason: NotAcceptableReason::NoMedia,
        });
    }
    if params.rtp_ports.is_empty() {
        return Err(NegotiationError::NoLocalPort);
    }
    let mut sdp = SessionDescription::new(params.origin.clone());
    sdp.session_name = Some(params.session_name.clone());
    sdp.connections = vec![Connection::new(params.local_address)];
    if let Some(t) = offer.timing.first() {
        sdp.timing = vec![Timing {
            start: t.start,
            stop: t.stop,
            repeats: Vec::new(),
        }];
    }
    let mut ports = params.rtp_ports.iter().copied();
    let mut streams = Vec::with_capacity(offer.media.len());
    for (index, m) in offer.media.iter().enumerate() {
        let outcome = match choose(m, caps) {
            Ok(choice) => match ports.next() {
                Some(port) => {
                    let (line, stream) = accept(offer, m, index, port, caps, params, &choice)?;
                    sdp.media.push(line);
                    StreamOutcome::Accepted(stream)
                }
                None => reject(&mut sdp, m, index, RejectReason::NoLocalPort),
            },
            Err(reason) => reject(&mut sdp, m, index, reason),
        };
        streams.push(outcome);
    }
    let media = NegotiatedMedia { streams };
    if media.audio().is_none() {
        return Err(NegotiationError::NotAcceptable {
            reason: not_acceptable_reason(&media),
        });
    }
    Ok(Answer { sdp, media })
}

fn not_acceptable_reason(media: &NegotiatedMedia) -> NotAcceptableReason {
    let has = |r: RejectReason| {
        media
            .streams
            .iter()
            .any(|s| matches!(s, StreamOutcome::Rejected { reason, .. } if *reason == r))
    };
    if has(RejectReason::NoCommonCodec) {
        NotAcceptableReason::NoCommonCodec
    } else if has(RejectReason::UnsupportedProfile) {
        NotAcceptableReason::UnsupportedProfile
    } else {
        NotAcceptableReason::NoAudio
    }
}

fn reject(
    sdp: &mut SessionDescription,
    m: &MediaDescription,
    index: usize,
    reason: RejectReason,
) -> StreamOutcome {
    sdp.media.push(MediaDescription::new(
        &m.media,
        0,
        m.protocol.clone(),
        m.formats.clone(),
    ));
    StreamOutcome::Rejected { index, reason }
}

/// Decides whether an offered `m=` line is acceptable and with which codecs.
fn choose(m: &MediaDescription, caps: &LocalCapabilities) -> Result<Choice, RejectReason> {
    if !m.media.eq_ignore_ascii_case("audio") {
        return Err(RejectReason::NotAudio);
    }
    if m.port == 0 {
        return Err(RejectReason::DisabledByOfferer);
    }
    if m.protocol != Protocol::RtpAvp {
        return Err(RejectReason::UnsupportedProfile);
    }
    let offered: Vec<Codec> = m
        .payload_types()
        .into_iter()
        .filter_map(|pt| Codec::from_media(m, pt))
        .collect();
    let mut voice = Vec::new();
    for ours in &caps.codecs {
        if ours.is_telephone_event() || ours.is_comfort_noise() {
            continue;
        }
        let Some(theirs) = offered.iter().find(|o| o.same_codec(ours)) else {
            continue;
        };
        let pt = theirs.payload_type;
        if voice.iter().any(|v: &Codec| v.payload_type == pt) {
            continue;
        }
        let offered_fmtp = || m.fmtp(&pt.to_string()).map(|f| f.params.clone());
        let fmtp = ours.fmtp.clone().or_else(offered_fmtp);
        voice.push(Codec {
            payload_type: pt,
            fmtp,
            ..ours.clone()
        });
    }
    let Some(clock) = voice.first().map(|c| c.clock_rate) else {
        return Err(RejectReason::NoCommonCodec);
    };
    if !caps.answer_all_common_codecs {
        voice.truncate(1);
    }
    let telephone_event = caps.telephone_event.as_ref().and_then(|_| {
        offered
            .iter()
            .find(|o| o.is_telephone_event() && o.clock_rate == clock)
            .map(|o| o.payload_type)
    });
    Ok(Choice {
        voice,
        telephone_event,
    })
}

/// Builds the answer `m=` line and the negotiated stream for an accepted offer line.
fn accept(
    offer: &SessionDescription,
    m: &MediaDescription,
    index: usize,
    port: u16,
    caps: &LocalCapabilities,
    params: &AnswerParams,
    choice: &Choice,
) -> Result<(MediaDescription, NegotiatedStream), NegotiationError> {
    let remote = remote_of(offer, m, index)?;
    let direction = declared_direction(offer, m)
        .reversed()
        .intersect(params.direction);
    let mut formats: Vec<String> = choice
        .voice
        .iter()
        .map(|c| c.payload_type.to_string())
        .collect();
    let mut attributes = Vec::new();
    for c in &choice.voice {
        attributes.push(Attribute::RtpMap(c.rtpmap(c.payload_type)));
        if let Some(params) = &c.fmtp {
            let format = c.payload_type.to_string();
            attributes.push(Attribute::Fmtp(Fmtp {
                format,
                params: params.clone(),
            }));
        }
    }
    if let (Some(pt), Some(te)) = (choice.telephone_event, &caps.telephone_event) {
        formats.push(pt.to_string());
        let codec = Codec::new("telephone-event", te.clock_rate, pt);
        attributes.push(Attribute::RtpMap(codec.rtpmap(pt)));
        let fmtp = Fmtp {
            format: pt.to_string(),
            params: te.events.clone(),
        };
        attributes.push(Attribute::Fmtp(fmtp));
    }
    if let Some(p) = caps.ptime {
        attributes.push(Attribute::Ptime(p));
    }
    if let Some(p) = caps.maxptime {
        attributes.push(Attribute::MaxPtime(p));
    }
    attributes.push(Attribute::Direction(direction));
    let mut line = MediaDescription::new(&m.media, port, Protocol::RtpAvp, formats);
    line.attributes = attributes;
    let codec = choice
        .voice
        .first()
        .cloned()
        .ok_or(NegotiationError::CodecNotOffered { index })?;
    let stream = NegotiatedStream {
        index,
        local_port: port,
        remote_address: remote.address,
        remote_ip: remote.ip,
        remote_rtp_port: m.port,
        remote_rtcp_port: remote.rtcp_port,
        remote_rtcp_address: remote.rtcp_address,
        codec,
        telephone_event: choice.telephone_event,
        ptime: m.ptime().or(caps.ptime).unwrap_or(20),
        direction,
    };
    Ok((line, stream))
}
