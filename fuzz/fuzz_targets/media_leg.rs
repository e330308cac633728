//! cec-media fuzz target: arbitrary datagrams into a bridged pair of legs (RTP port, RTCP
//! port, timers) and arbitrary bytes as a WAV prompt must never panic.
#![no_main]

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cec_media::bridge::{Bridge, End};
use cec_media::leg::{LegConfig, MediaLeg, StreamIds};
use cec_media::quality::NtpClock;
use cec_media::Prompt;
use cec_sdp::{Codec, Direction, NegotiatedStream};
use libfuzzer_sys::fuzz_target;

fn leg(now: Instant, remote: SocketAddr, codec: Codec, event: Option<u8>) -> Option<MediaLeg> {
    let stream = NegotiatedStream {
        index: 0,
        local_port: 40_000,
        remote_address: remote.ip().to_string(),
        remote_ip: Some(remote.ip()),
        remote_rtp_port: remote.port(),
        remote_rtcp_port: Some(remote.port() + 1),
        remote_rtcp_address: None,
        codec,
        telephone_event: event,
        ptime: 20,
        direction: Direction::SendRecv,
    };
    let ids = StreamIds { ssrc: 1, initial_seq: 2, initial_timestamp: 3 };
    let ntp = NtpClock { origin: now, ntp_at_origin: 1 << 63 };
    LegConfig::from_negotiated(&stream, ids, ntp).ok().map(|c| MediaLeg::new(now, c))
}

fuzz_target!(|data: &[u8]| {
    let _ = Prompt::from_wav(Cursor::new(data));
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let from: SocketAddr = "198.51.100.7:5004".parse().unwrap();
    let agent: SocketAddr = "192.0.2.20:7078".parse().unwrap();
    let (Some(a), Some(b)) = (
        leg(t0, from, Codec::pcma(), Some(101)),
        leg(t0, agent, Codec::pcmu(), None),
    ) else {
        return;
    };
    let mut bridge = Bridge::new(a, b);
    // Split the input into datagrams at 0xFE bytes.
    for (i, datagram) in data.split(|b| *b == 0xFE).enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 20);
        let _ = bridge.handle_packet(now, End::A, from, datagram);
        let _ = bridge.handle_packet(now, End::B, agent, datagram);
        let _ = bridge.leg_mut(End::A).handle_rtcp(now, from, datagram);
        bridge.leg_mut(End::B).handle_timeout(now + Duration::from_secs(6));
        for end in [End::A, End::B] {
            while bridge.leg_mut(end).poll_transmit(now).is_some() {}
            while bridge.leg_mut(end).poll_event().is_some() {}
        }
    }
});
