//! Helpers shared by the integration tests: tone synthesis and Goertzel tone detection.
#![allow(dead_code)]

use cec_media::{FRAME_SAMPLES, Frame};

/// Frame `index` of a continuous sine at `freq` Hz and peak `amplitude`.
pub fn sine_frame(freq: f64, amplitude: f64, index: u64) -> Frame {
    let mut frame = [0i16; FRAME_SAMPLES];
    for (i, s) in frame.iter_mut().enumerate() {
        let n = index * FRAME_SAMPLES as u64 + i as u64;
        let t = n as f64 / 8000.0;
        *s = (amplitude * (std::f64::consts::TAU * freq * t).sin()) as i16;
    }
    frame
}

/// Power of `freq` in `samples` (Goertzel), normalised so a full-length sine of peak
/// amplitude A gives about A^2 / 4.
pub fn goertzel(samples: &[i16], freq: f64) -> f64 {
    let n = samples.len() as f64;
    let coeff = 2.0 * (std::f64::consts::TAU * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s = f64::from(*x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

/// Whether `freq` is clearly present (peak amplitude above ~1000).
pub fn has_tone(samples: &[i16], freq: f64) -> bool {
    goertzel(samples, freq) > 1000.0 * 1000.0 / 4.0 * 0.5
}

/// Whether `freq` is absent (below ~1 % of the amplitude of a present tone).
pub fn lacks_tone(samples: &[i16], freq: f64) -> bool {
    goertzel(samples, freq) < 50.0 * 50.0 / 4.0
}

/// An arbitrary origin for simulated time (only differences matter).
pub fn origin() -> std::time::Instant {
    cec_sim::VirtualClock::start().now()
}

/// Milliseconds after `origin`.
pub fn at(origin: std::time::Instant, ms: u64) -> std::time::Instant {
    origin + std::time::Duration::from_millis(ms)
}

/// Deterministic pseudo-random numbers (SplitMix64) for simulated networks.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// An SDP stream as negotiated with a peer at `remote` (RTCP on the next port).
pub fn negotiated(
    remote: std::net::SocketAddr,
    codec: cec_sdp::Codec,
    telephone_event: Option<u8>,
) -> cec_sdp::NegotiatedStream {
    cec_sdp::NegotiatedStream {
        index: 0,
        local_port: 40_000,
        remote_address: remote.ip().to_string(),
        remote_ip: Some(remote.ip()),
        remote_rtp_port: remote.port(),
        remote_rtcp_port: Some(remote.port() + 1),
        remote_rtcp_address: None,
        codec,
        telephone_event,
        ptime: 20,
        direction: cec_sdp::Direction::SendRecv,
    }
}

/// A leg for a peer at `remote`, with fixed identifiers derived from `seed`.
pub fn leg(
    now: std::time::Instant,
    remote: std::net::SocketAddr,
    codec: cec_sdp::Codec,
    telephone_event: Option<u8>,
    seed: u64,
) -> cec_media::leg::MediaLeg {
    let mut rng = Rng(seed);
    let ids = cec_media::leg::StreamIds::random(|| rng.next_u64());
    let ntp = cec_media::quality::NtpClock {
        origin: now,
        ntp_at_origin: 3_900_000_000 << 32,
    };
    let stream = negotiated(remote, codec, telephone_event);
    let config = cec_media::leg::LegConfig::from_negotiated(&stream, ids, ntp).unwrap();
    cec_media::leg::MediaLeg::new(now, config)
}

/// An RTP packet with the given header fields and payload.
pub fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    cec_rtp::packet::RtpHeader {
        marker,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
        ..Default::default()
    }
    .to_vec(payload)
    .unwrap()
}

/// Drains a leg's RTP transmits (RTCP skipped) as owned datagrams.
pub fn drain_rtp(
    leg: &mut cec_media::leg::MediaLeg,
    now: std::time::Instant,
) -> Vec<(std::net::SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(t) = leg.poll_transmit(now) {
        if t.channel == cec_media::leg::Channel::Rtp {
            out.push((t.to, t.bytes.to_vec()));
        }
    }
    out
}

/// Parses a datagram the test knows is RTP.
pub fn parse(bytes: &[u8]) -> cec_rtp::packet::RtpPacket<'_> {
    cec_rtp::packet::RtpPacket::parse(bytes).unwrap()
}
