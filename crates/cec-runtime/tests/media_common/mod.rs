//! Helpers for the media engine tests: a random free port range per test, leg
//! configurations, and a tiny RTP endpoint on a tokio UDP socket.

#![allow(dead_code)] // Each test file uses a different subset.

pub mod capture;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket as StdSocket};
use std::time::{Duration, Instant};

use cec_media::quality::{NtpClock, QualityThresholds};
use cec_media::{LegConfig, StreamIds};
use cec_rtp::g711::G711;
use cec_rtp::packet::{RtpHeader, RtpPacket};
use cec_runtime::media::{IoMode, MediaConfig, MediaEngine, MediaEvent, PortRange};
use cec_sdp::Direction;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Upper bound on any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(5);

fn random() -> u64 {
    RandomState::new().hash_one(Instant::now())
}

/// `pairs` even/odd pairs, all currently bindable, at a random place in 20000-32767 (below
/// Linux's ephemeral range, so other tests' port-0 sockets do not land there).
pub fn free_range(pairs: u16) -> PortRange {
    for _ in 0..200 {
        let first = 20_000 + 2 * (random() % 6_000) as u16;
        let last = first + 2 * pairs - 1;
        let all_free =
            (first..=last).all(|port| StdSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
        if all_free {
            return PortRange::new(first, last).unwrap();
        }
    }
    panic!("no free port range found");
}

/// The I/O mode the media tests run in: `CEC_MEDIA_IO=mmsg|uring|auto` (default auto), so
/// the whole suite can be run once per mode. A forced `uring` must really be io_uring.
pub fn io_mode() -> IoMode {
    match std::env::var("CEC_MEDIA_IO").as_deref() {
        Ok("mmsg") => IoMode::Mmsg,
        Ok("uring") => IoMode::Uring,
        Ok("auto") | Err(_) => IoMode::Auto,
        Ok(other) => panic!("CEC_MEDIA_IO={other}: expected mmsg, uring or auto"),
    }
}

/// Starts an engine in `io` mode; checks that a forced mode is the one in use.
pub fn start_engine(config: MediaConfig) -> (MediaEngine, mpsc::Receiver<MediaEvent>) {
    let asked = config.io;
    let (engine, events) = MediaEngine::start(config).unwrap();
    match asked {
        IoMode::Mmsg | IoMode::Uring => assert_eq!(engine.io_mode(), asked),
        _ => assert_ne!(engine.io_mode(), IoMode::Auto),
    }
    (engine, events)
}

pub fn engine(pairs: u16) -> (MediaEngine, mpsc::Receiver<MediaEvent>, PortRange) {
    engine_with(pairs, io_mode())
}

pub fn engine_with(pairs: u16, io: IoMode) -> (MediaEngine, mpsc::Receiver<MediaEvent>, PortRange) {
    let range = free_range(pairs);
    let config = MediaConfig {
        rtp_ports: range,
        shards: 2,
        io,
        // Spread legs by id, so bridges move legs between shards (packing would put
        // these few legs all on one).
        pack_legs: 0,
        ..MediaConfig::default()
    };
    let (engine, events) = start_engine(config);
    (engine, events, range)
}

pub fn leg_config(remote: SocketAddr, codec: G711, ssrc: u32) -> LegConfig {
    LegConfig {
        remote_rtp: Some(remote),
        remote_rtcp: None,
        codec,
        payload_type: match codec {
            G711::Alaw => 8,
            G711::Ulaw => 0,
        },
        telephone_event: Some(101),
        direction: Direction::SendRecv,
        ids: StreamIds {
            ssrc,
            initial_seq: 1000,
            initial_timestamp: 50_000,
        },
        latching: true,
        rtp_timeout: Duration::from_secs(30),
        rtcp_interval: Duration::from_secs(5),
        cname: format!("{ssrc:08x}@test"),
        ntp: NtpClock {
            origin: Instant::now(),
            ntp_at_origin: 0,
        },
        thresholds: QualityThresholds::default(),
        playout_delay: Duration::from_millis(60),
        plc: true,
    }
}

/// An RTP endpoint on loopback.
pub struct Endpoint {
    pub socket: UdpSocket,
    pub ssrc: u32,
    pub seq: u16,
    pub timestamp: u32,
}

impl Endpoint {
    pub async fn bind(ssrc: u32) -> Self {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        Self {
            socket,
            ssrc,
            seq: 1,
            timestamp: 0,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends one packet with payload type `pt` and advances seq/timestamp (by 160).
    pub async fn send(&mut self, to: SocketAddr, pt: u8, payload: &[u8]) {
        let header = RtpHeader {
            payload_type: pt,
            sequence: self.seq,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            ..RtpHeader::default()
        };
        let mut buf = [0u8; 1500];
        let len = header.write(payload, &mut buf).unwrap();
        self.socket.send_to(&buf[..len], to).await.unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(160);
    }

    /// Receives one RTP datagram (RTCP is skipped) within [`WAIT`].
    pub async fn recv(&self) -> (Vec<u8>, SocketAddr, Instant) {
        let mut buf = [0u8; 2048];
        loop {
            let (len, from) = tokio::time::timeout(WAIT, self.socket.recv_from(&mut buf))
                .await
                .expect("no packet within the wait")
                .unwrap();
            let data = buf[..len].to_vec();
            if !cec_rtp::packet::is_rtcp(&data) {
                return (data, from, Instant::now());
            }
        }
    }
}

/// Parses a received datagram (test helper: panics on garbage).
pub fn parse(data: &[u8]) -> RtpPacket<'_> {
    RtpPacket::parse(data).unwrap()
}

/// The next event for `leg` matching `pick`, within [`WAIT`].
pub async fn wait_event<T>(
    events: &mut mpsc::Receiver<MediaEvent>,
    mut pick: impl FnMut(&MediaEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("event not seen within the wait")
            .expect("event channel closed");
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

/// A caller and an agent endpoint, each with a leg of its own (caller's `a` in `a_codec`
/// with SSRC [`A_SSRC`], agent's `b` in `b_codec` with [`B_SSRC`]), not yet bridged.
pub struct Call {
    pub caller: Endpoint,
    pub agent: Endpoint,
    pub a: cec_runtime::media::LegHandle,
    pub b: cec_runtime::media::LegHandle,
}

/// Our SSRC on the caller's leg in [`call`].
pub const A_SSRC: u32 = 0xA1A1_A1A1;
/// Our SSRC on the agent's leg in [`call`].
pub const B_SSRC: u32 = 0xB2B2_B2B2;

/// Binds the two endpoints and allocates their legs.
pub async fn call(engine: &MediaEngine, a_codec: G711, b_codec: G711) -> Call {
    let caller = Endpoint::bind(0x1111).await;
    let agent = Endpoint::bind(0x2222).await;
    let a = engine
        .allocate_leg(leg_config(caller.addr(), a_codec, A_SSRC))
        .unwrap();
    let b = engine
        .allocate_leg(leg_config(agent.addr(), b_codec, B_SSRC))
        .unwrap();
    Call {
        caller,
        agent,
        a,
        b,
    }
}

/// [`call`] with the two legs bridged.
pub async fn bridged_call(engine: &MediaEngine, a_codec: G711, b_codec: G711) -> Call {
    let call = call(engine, a_codec, b_codec).await;
    engine.bridge(call.a.id, call.b.id).await.unwrap();
    call
}
