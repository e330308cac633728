//! Leg configuration, from the negotiated SDP plus the caller's random identifiers.

use std::net::SocketAddr;
use std::time::Duration;

use cec_rtp::g711::G711;
use cec_sdp::{Direction, NegotiatedStream};

use crate::jitter::JitterConfig;
use crate::quality::{NtpClock, QualityThresholds};

/// Random per-stream identifiers (RFC 3550 §5.1, §8): the caller draws them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamIds {
    /// Our SSRC.
    pub ssrc: u32,
    /// First sequence number.
    pub initial_seq: u16,
    /// First RTP timestamp.
    pub initial_timestamp: u32,
}

impl StreamIds {
    /// Draws the identifiers from an injected random source.
    pub fn random(mut next: impl FnMut() -> u64) -> Self {
        let value = next();
        Self {
            ssrc: value as u32,
            initial_seq: (value >> 32) as u16,
            initial_timestamp: next() as u32,
        }
    }
}

/// Everything a [`super::MediaLeg`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LegConfig {
    /// Where the SDP says to send RTP (`None` for an FQDN or a hold address: wait to latch).
    pub remote_rtp: Option<SocketAddr>,
    /// Where the SDP says to send RTCP.
    pub remote_rtcp: Option<SocketAddr>,
    /// The voice codec.
    pub codec: G711,
    /// Its payload type (sent and expected).
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when negotiated.
    pub telephone_event: Option<u8>,
    /// Our direction (hold: sendonly / recvonly / inactive).
    pub direction: Direction,
    /// Our identifiers.
    pub ids: StreamIds,
    /// Symmetric RTP: send to where the peer's packets come from (NAT traversal).
    pub latching: bool,
    /// Raise [`super::LegEvent::RtpTimeout`] after this long without packets while
    /// receiving.
    pub rtp_timeout: Duration,
    /// Interval between our RTCP reports (and quality evaluations).
    pub rtcp_interval: Duration,
    /// CNAME in our RTCP SDES.
    pub cname: String,
    /// Wall-clock mapping for RTCP sender reports.
    pub ntp: NtpClock,
    /// Quality alert limits.
    pub thresholds: QualityThresholds,
    /// Jitter-buffer delay assumed at the listener, for the MOS estimate.
    pub playout_delay: Duration,
    /// Whether the listener conceals loss, for the MOS estimate.
    pub plc: bool,
}

/// Why a leg cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegError {
    /// The negotiated voice codec is not G.711 at 8 kHz.
    #[error("unsupported codec {name}/{clock_rate} (only PCMA and PCMU at 8000 Hz)")]
    UnsupportedCodec {
        /// Encoding name.
        name: String,
        /// Clock rate.
        clock_rate: u32,
    },
    /// The negotiated packetisation time is not 20 ms.
    #[error("unsupported ptime {0} ms (only 20 ms)")]
    UnsupportedPtime(u32),
}

impl LegConfig {
    /// A configuration for an accepted SDP stream with default timers (30 s RTP timeout,
    /// 5 s RTCP, default quality limits).
    pub fn from_negotiated(
        stream: &NegotiatedStream,
        ids: StreamIds,
        ntp: NtpClock,
    ) -> Result<Self, LegError> {
        let terms = Renegotiation::from_negotiated(stream)?;
        Ok(Self {
            remote_rtp: terms.remote_rtp,
            remote_rtcp: terms.remote_rtcp,
            codec: terms.codec,
            payload_type: terms.payload_type,
            telephone_event: terms.telephone_event,
            direction: terms.direction,
            ids,
            latching: true,
            rtp_timeout: Duration::from_secs(30),
            rtcp_interval: Duration::from_secs(5),
            cname: format!("{:08x}@opencec", ids.ssrc),
            ntp,
            thresholds: QualityThresholds::default(),
            playout_delay: JitterConfig::default().depth as u32 * crate::frame::FRAME_DURATION,
            plc: true,
        })
    }
}

/// What an SDP offer/answer decides for a leg, as applied to a live leg by
/// [`super::MediaLeg::renegotiate`] (an answer, a re-INVITE or an UPDATE). Our
/// identifiers, timers and thresholds are not part of it: they never change mid-call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renegotiation {
    /// The voice codec.
    pub codec: G711,
    /// Its payload type (sent and expected).
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when negotiated.
    pub telephone_event: Option<u8>,
    /// Our direction.
    pub direction: Direction,
    /// Where the SDP says to send RTP (`None` for an FQDN or a hold address).
    pub remote_rtp: Option<SocketAddr>,
    /// Where the SDP says to send RTCP.
    pub remote_rtcp: Option<SocketAddr>,
}

impl Renegotiation {
    /// The terms of an accepted SDP stream: G.711 at 8 kHz and 20 ms only; the
    /// unspecified address (RFC 2543 hold) and port 0 are not destinations.
    pub fn from_negotiated(stream: &NegotiatedStream) -> Result<Self, LegError> {
        let codec = &stream.codec;
        let law = match codec.name.to_ascii_uppercase().as_str() {
            "PCMA" if codec.clock_rate == 8000 => G711::Alaw,
            "PCMU" if codec.clock_rate == 8000 => G711::Ulaw,
            _ => {
                return Err(LegError::UnsupportedCodec {
                    name: codec.name.clone(),
                    clock_rate: codec.clock_rate,
                });
            }
        };
        if stream.ptime != 20 {
            return Err(LegError::UnsupportedPtime(stream.ptime));
        }
        let usable = |addr: SocketAddr| !addr.ip().is_unspecified() && addr.port() != 0;
        let remote_rtp = stream.remote_rtp_addr().filter(|a| usable(*a));
        let remote_rtcp = match (&stream.remote_rtcp_address, stream.remote_rtcp_port) {
            (None, Some(port)) => stream.remote_ip.map(|ip| SocketAddr::new(ip, port)),
            (Some(address), Some(port)) => address.parse().ok().map(|ip| SocketAddr::new(ip, port)),
            (_, None) => None,
        }
        .filter(|a| usable(*a));
        Ok(Self {
            codec: law,
            payload_type: codec.payload_type,
            telephone_event: stream.telephone_event,
            direction: stream.direction,
            remote_rtp,
            remote_rtcp,
        })
    }
}
