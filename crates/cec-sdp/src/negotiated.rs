//! Negotiation results handed to the media engine.

use std::net::{IpAddr, SocketAddr};

use crate::attribute::Direction;
use crate::codec::Codec;
use crate::error::NegotiationError;
use crate::model::{MediaDescription, SessionDescription};

/// One accepted RTP stream: everything the media engine needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NegotiatedStream {
    /// Index of the `m=` line (0-based).
    pub index: usize,
    /// Our RTP port for this stream.
    pub local_port: u16,
    /// Peer's connection address, verbatim (may be an FQDN or `0.0.0.0`).
    pub remote_address: String,
    /// Peer's connection address as an IP, when it is one.
    pub remote_ip: Option<IpAddr>,
    /// Peer's RTP port.
    pub remote_rtp_port: u16,
    /// Peer's RTCP port: `a=rtcp`, else RTP port + 1 (`None` if that overflows).
    pub remote_rtcp_port: Option<u16>,
    /// Peer's RTCP address when `a=rtcp` names one.
    pub remote_rtcp_address: Option<String>,
    /// The voice codec; `codec.payload_type` is the payload type to send and expect.
    pub codec: Codec,
    /// RFC 4733 telephone-event payload type, when negotiated.
    pub telephone_event: Option<u8>,
    /// Packetisation time to send with, in ms (peer's `a=ptime`, else ours, else 20).
    pub ptime: u32,
    /// Our direction: whether we send and/or receive on this stream.
    pub direction: Direction,
}

impl NegotiatedStream {
    /// Where to send RTP, when the peer address is an IP.
    pub fn remote_rtp_addr(&self) -> Option<SocketAddr> {
        self.remote_ip
            .map(|ip| SocketAddr::new(ip, self.remote_rtp_port))
    }
}

/// Why a stream is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The offerer had already disabled it (port 0).
    DisabledByOfferer,
    /// Not an audio stream.
    NotAudio,
    /// Audio over a profile other than RTP/AVP.
    UnsupportedProfile,
    /// No codec in common.
    NoCommonCodec,
    /// More acceptable streams than local ports given.
    NoLocalPort,
    /// The peer answered port 0.
    RejectedByPeer,
}

/// Outcome for one `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamOutcome {
    /// The stream is in use.
    Accepted(NegotiatedStream),
    /// The stream is not in use (port 0 in the answer).
    Rejected {
        /// Index of the `m=` line (0-based).
        index: usize,
        /// Why.
        reason: RejectReason,
    },
}

/// Result of a negotiation, one entry per `m=` line in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NegotiatedMedia {
    /// Per `m=` line.
    pub streams: Vec<StreamOutcome>,
}

impl NegotiatedMedia {
    /// Accepted streams in `m=` order.
    pub fn accepted(&self) -> impl Iterator<Item = &NegotiatedStream> {
        self.streams.iter().filter_map(|s| match s {
            StreamOutcome::Accepted(n) => Some(n),
            StreamOutcome::Rejected { .. } => None,
        })
    }

    /// The first accepted stream (the call's audio for a contact center).
    pub fn audio(&self) -> Option<&NegotiatedStream> {
        self.accepted().next()
    }
}

/// Result of [`crate::answer`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Answer {
    /// The answer to send.
    pub sdp: SessionDescription,
    /// What was negotiated.
    pub media: NegotiatedMedia,
}

/// The direction the writer of `sdp` declared for `m`, with `c=0.0.0.0` (RFC 2543 hold)
/// meaning the writer does not want to receive.
pub(crate) fn declared_direction(sdp: &SessionDescription, m: &MediaDescription) -> Direction {
    let dir = sdp.media_direction(m);
    if sdp.media_connection(m).is_some_and(|c| c.is_hold_address()) {
        dir.intersect(Direction::SendOnly)
    } else {
        dir
    }
}

/// The peer's transport parameters for a stream; the rest is filled by the caller.
pub(crate) struct Remote {
    pub(crate) address: String,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) rtcp_port: Option<u16>,
    pub(crate) rtcp_address: Option<String>,
}

pub(crate) fn remote_of(
    sdp: &SessionDescription,
    m: &MediaDescription,
    index: usize,
) -> Result<Remote, NegotiationError> {
    let conn = sdp
        .media_connection(m)
        .ok_or(NegotiationError::MissingConnection { index })?;
    let rtcp = m.rtcp();
    Ok(Remote {
        address: conn.address.clone(),
        ip: conn.ip(),
        rtcp_port: rtcp.map_or(m.port.checked_add(1), |r| Some(r.port)),
        rtcp_address: rtcp
            .and_then(|r| r.connection.as_ref())
            .map(|c| c.address.clone()),
    })
}
