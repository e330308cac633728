//! The io_uring loop (`IoMode::Uring`) under many bridged calls at once: each shard
//! receives through multishot receives into a shared ring of kernel-picked buffers and
//! sends the datagrams of a pass, for many sockets, with its next wait. Pins that every
//! packet of every call reaches the right far end, once, with its payload intact (a
//! buffer recycled or reused too early would show as another call's or another round's
//! payload), in both directions; that releasing calls while the others keep sending
//! leaves the others untouched; and that `IoMode::Mmsg` (the epoll loop) relays the same
//! traffic the same way (so both modes stay interchangeable).

mod media_common;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use cec_rtp::g711::G711;
use cec_rtp::packet::{RtpHeader, RtpPacket};
use cec_runtime::media::{IoMode, LegHandle, MediaEngine};
use media_common::{engine_with, leg_config};

/// One RTP endpoint (caller or agent) on a blocking socket.
struct Peer {
    socket: UdpSocket,
    seq: u16,
}

impl Peer {
    fn bind() -> Self {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        Self { socket, seq: 1 }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    fn send(&mut self, to: SocketAddr, payload: &[u8]) {
        let header = RtpHeader {
            payload_type: 8,
            sequence: self.seq,
            timestamp: u32::from(self.seq) * 160,
            ssrc: 0x5EED_0000 | u32::from(self.seq),
            ..RtpHeader::default()
        };
        let mut buf = [0u8; 1500];
        let len = header.write(payload, &mut buf).unwrap();
        self.socket.send_to(&buf[..len], to).unwrap();
        self.seq = self.seq.wrapping_add(1);
    }

    /// Payloads of the next `count` RTP datagrams (fewer if the socket stays quiet), then
    /// of any that are already waiting beyond them.
    fn drain(&self, count: usize) -> Vec<Vec<u8>> {
        let mut buf = [0u8; 2048];
        let mut payloads = Vec::new();
        loop {
            if payloads.len() == count {
                self.socket.set_nonblocking(true).unwrap();
            }
            let Ok((len, _)) = self.socket.recv_from(&mut buf) else {
                break;
            };
            if cec_rtp::packet::is_rtcp(&buf[..len]) {
                continue;
            }
            payloads.push(RtpPacket::parse(&buf[..len]).unwrap().payload().to_vec());
        }
        self.socket.set_nonblocking(false).unwrap();
        payloads
    }
}

/// 160 bytes saying which call, which direction and which round, different everywhere.
fn payload(call: usize, towards_agent: bool, round: usize) -> Vec<u8> {
    let seed = call * 131 + round * 7 + usize::from(towards_agent) * 61;
    let mut bytes: Vec<u8> = (0..160).map(|i| (seed + i * 13) as u8).collect();
    bytes[0] = call as u8;
    bytes[1] = u8::from(towards_agent);
    bytes[2] = round as u8;
    bytes
}

struct Call {
    caller: Peer,
    agent: Peer,
    a: LegHandle,
    b: LegHandle,
}

fn bridged_calls(engine: &MediaEngine, count: usize) -> Vec<Call> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    (0..count)
        .map(|n| {
            let (caller, agent) = (Peer::bind(), Peer::bind());
            let ssrc = n as u32 * 2;
            let a = engine
                .allocate_leg(leg_config(caller.addr(), G711::Alaw, 0x1000 + ssrc))
                .unwrap();
            let b = engine
                .allocate_leg(leg_config(agent.addr(), G711::Alaw, 0x1001 + ssrc))
                .unwrap();
            runtime.block_on(engine.bridge(a.id, b.id)).unwrap();
            Call {
                caller,
                agent,
                a,
                b,
            }
        })
        .collect()
}

/// Every call sends `rounds` packets each way, all calls interleaved, then checks that each
/// far end got exactly its own call's payloads, in order.
fn exchange(calls: &mut [(usize, &mut Call)], rounds: std::ops::Range<usize>) {
    for round in rounds.clone() {
        for (n, call) in calls.iter_mut() {
            let (to_a, to_b) = (call.a.local_rtp, call.b.local_rtp);
            call.caller.send(to_a, &payload(*n, true, round));
            call.agent.send(to_b, &payload(*n, false, round));
        }
        // Paced a little, as real calls are: the relay sees many sockets per pass.
        std::thread::sleep(Duration::from_millis(2));
    }
    for (n, call) in calls.iter() {
        let expected_at_agent: Vec<_> = rounds.clone().map(|r| payload(*n, true, r)).collect();
        let expected_at_caller: Vec<_> = rounds.clone().map(|r| payload(*n, false, r)).collect();
        let at_agent = call.agent.drain(expected_at_agent.len());
        let at_caller = call.caller.drain(expected_at_caller.len());
        assert_eq!(at_agent, expected_at_agent, "call {n} towards the agent");
        assert_eq!(at_caller, expected_at_caller, "call {n} towards the caller");
    }
}

fn relays_many_calls(io: IoMode) -> u64 {
    const CALLS: usize = 40;
    const ROUNDS: usize = 25;
    let (engine, _events, _) = engine_with(2 * CALLS as u16 + 4, io);
    let mut calls = bridged_calls(&engine, CALLS);
    let mut all: Vec<_> = calls.iter_mut().enumerate().collect();
    exchange(&mut all, 0..ROUNDS);
    let stats = engine.stats();
    assert_eq!(stats.send_failures, 0);
    let relayed = (2 * CALLS * ROUNDS) as u64;
    assert!(stats.datagrams_received >= relayed, "{stats:?}");
    // RTCP reports may add a few of our own sends.
    assert!(stats.datagrams_sent >= relayed, "{stats:?}");
    stats.datagrams_sent
}

#[test]
fn uring_relays_every_packet_of_many_calls_intact() {
    relays_many_calls(IoMode::Uring);
}

#[test]
fn mmsg_relays_the_same_traffic() {
    relays_many_calls(IoMode::Mmsg);
}

#[test]
fn auto_resolves_to_a_real_mode_and_mmsg_stays_mmsg() {
    let (auto, _events, _) = engine_with(2, IoMode::Auto);
    let refused = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .is_ok_and(|value| value.trim() != "0");
    if refused {
        assert_eq!(auto.io_mode(), IoMode::Mmsg);
    } else {
        // Allowed by the sysctl; a container may still refuse it (seccomp).
        assert_ne!(auto.io_mode(), IoMode::Auto);
    }
    let (forced, _events, _) = engine_with(2, IoMode::Mmsg);
    assert_eq!(forced.io_mode(), IoMode::Mmsg);
}

#[test]
fn releasing_calls_mid_stream_leaves_the_other_calls_intact() {
    const CALLS: usize = 24;
    let (engine, _events, _) = engine_with(2 * CALLS as u16 + 4, IoMode::Uring);
    let mut calls = bridged_calls(&engine, CALLS);
    {
        let mut all: Vec<_> = calls.iter_mut().enumerate().collect();
        exchange(&mut all, 0..5);
    }
    // Every other call sends a burst and is released at once, while its sends may still
    // be queued or in flight; the others keep sending through the same shards.
    for (n, call) in calls.iter_mut().enumerate().filter(|(n, _)| n % 2 == 0) {
        for round in 5..15 {
            call.caller.send(call.a.local_rtp, &payload(n, true, round));
        }
        engine.release(call.a.id);
        engine.release(call.b.id);
    }
    let mut kept: Vec<_> = calls
        .iter_mut()
        .enumerate()
        .filter(|(n, _)| n % 2 == 1)
        .collect();
    exchange(&mut kept, 5..30);
    // A released call's agent got at most its own payloads, never another call's.
    for (n, call) in calls.iter().enumerate().filter(|(n, _)| n % 2 == 0) {
        let own: HashMap<_, _> = (5..15).map(|r| (payload(n, true, r), r)).collect();
        for got in call.agent.drain(0) {
            assert!(own.contains_key(&got), "call {n} got a foreign payload");
        }
    }
    assert_eq!(engine.stats().legs, CALLS);
}
