//! Two RTP endpoints on real loopback sockets bridged through the media engine: every
//! packet arrives once, with its payload intact (or A-law -> µ-law transcoded when the
//! legs' codecs differ), in the far leg's continuous stream (sequence +1, timestamp +160,
//! the leg's own SSRC), promptly; DTMF and RTP timeouts come out as events; releasing a
//! leg frees its ports and stops the relay.

mod media_common;

use std::time::{Duration, Instant};

use cec_media::LegEvent;
use cec_rtp::dtmf::TelephoneEvent;
use cec_rtp::g711::{G711, alaw_to_ulaw};
use cec_runtime::media::MediaError;
use media_common::{
    A_SSRC, B_SSRC, Call, Endpoint, bridged_call, engine, leg_config, parse, wait_event,
};

/// A payload that differs per packet, so a reorder or a stale buffer shows.
fn payload(index: usize) -> [u8; 160] {
    std::array::from_fn(|i| (index * 7 + i) as u8)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_pcma_legs_relay_every_packet_in_order_and_promptly() {
    let (engine, _events, _) = engine(8);
    let Call {
        mut caller,
        mut agent,
        a,
        b,
    } = bridged_call(&engine, G711::Alaw, G711::Alaw).await;

    const COUNT: usize = 60;
    let mut delays = Vec::new();
    let mut previous: Option<(u16, u32)> = None;
    for index in 0..COUNT {
        let sent_at = Instant::now();
        caller.send(a.local_rtp, 8, &payload(index)).await;
        let (data, from, received_at) = agent.recv().await;
        delays.push(received_at - sent_at);
        assert_eq!(from, b.local_rtp, "relayed from the agent leg's port");
        let packet = parse(&data);
        assert_eq!(packet.payload(), &payload(index)[..], "packet {index}");
        assert_eq!((packet.payload_type(), packet.ssrc()), (8, B_SSRC));
        if let Some((seq, ts)) = previous {
            assert_eq!(
                packet.sequence(),
                seq.wrapping_add(1),
                "sequence continuity"
            );
            assert_eq!(
                packet.timestamp(),
                ts.wrapping_add(160),
                "timestamp continuity"
            );
        }
        previous = Some((packet.sequence(), packet.timestamp()));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // And the other way round.
    for index in 0..10 {
        agent.send(b.local_rtp, 8, &payload(index)).await;
        let (data, from, _) = caller.recv().await;
        assert_eq!(from, a.local_rtp);
        let packet = parse(&data);
        assert_eq!(packet.payload(), &payload(index)[..]);
        assert_eq!(packet.ssrc(), A_SSRC);
    }
    delays.sort();
    let median = delays[delays.len() / 2];
    let p90 = delays[delays.len() * 9 / 10];
    assert!(
        median < Duration::from_millis(3),
        "median relay delay {median:?}"
    );
    assert!(p90 < Duration::from_millis(10), "p90 relay delay {p90:?}");
    // A shard publishes its counters after each batch, just after the batch's sends.
    let deadline = Instant::now() + media_common::WAIT;
    let mut stats = engine.stats();
    while stats.datagrams_sent < COUNT as u64 + 10 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
        stats = engine.stats();
    }
    assert_eq!(stats.datagrams_received, COUNT as u64 + 10);
    assert_eq!(stats.datagrams_sent, COUNT as u64 + 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_relayed_completely() {
    let (engine, _events, _) = engine(8);
    let Call {
        mut caller,
        agent,
        a,
        ..
    } = bridged_call(&engine, G711::Alaw, G711::Alaw).await;
    // More than one recvmmsg batch at once, to exercise the batched path.
    const COUNT: usize = 100;
    for index in 0..COUNT {
        caller.send(a.local_rtp, 8, &payload(index)).await;
    }
    let first = parse(&agent.recv().await.0).sequence();
    for index in 1..COUNT {
        let (data, _, _) = agent.recv().await;
        let packet = parse(&data);
        assert_eq!(packet.sequence(), first.wrapping_add(index as u16));
        assert_eq!(packet.payload(), &payload(index)[..]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alaw_to_ulaw_legs_are_transcoded() {
    let (engine, _events, _) = engine(8);
    let Call {
        mut caller,
        agent,
        a,
        ..
    } = bridged_call(&engine, G711::Alaw, G711::Ulaw).await;
    for index in 0..20 {
        let sent = payload(index);
        caller.send(a.local_rtp, 8, &sent).await;
        let (data, _, _) = agent.recv().await;
        let packet = parse(&data);
        assert_eq!(packet.payload_type(), 0, "PCMU on the agent leg");
        let expected: Vec<u8> = sent.iter().map(|&code| alaw_to_ulaw(code)).collect();
        assert_eq!(packet.payload(), &expected[..], "packet {index}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtmf_is_relayed_and_reported_once() {
    let (engine, mut events, _) = engine(8);
    let Call {
        mut caller,
        agent,
        a,
        ..
    } = bridged_call(&engine, G711::Alaw, G711::Alaw).await;
    for (duration, end) in [(160, false), (320, false), (480, true)] {
        let event = TelephoneEvent {
            event: 5,
            end,
            volume: 10,
            duration,
        };
        caller.send(a.local_rtp, 101, &event.to_bytes()).await;
        caller.timestamp = caller.timestamp.wrapping_sub(160); // one event, one timestamp
        let (data, _, _) = agent.recv().await;
        let packet = parse(&data);
        assert_eq!(packet.payload_type(), 101);
        assert_eq!(TelephoneEvent::parse(packet.payload()).unwrap(), event);
    }
    let digit = wait_event(&mut events, |e| match e.event {
        LegEvent::Dtmf { digit } if e.leg == a.id => Some(digit),
        _ => None,
    })
    .await;
    assert_eq!(digit, '5');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_raises_an_rtp_timeout_event() {
    let (engine, mut events, _) = engine(4);
    let peer = Endpoint::bind(0x1111).await;
    let mut config = leg_config(peer.addr(), G711::Alaw, A_SSRC);
    config.rtp_timeout = Duration::from_millis(200);
    let started = Instant::now();
    let leg = engine.allocate_leg(config).unwrap();
    let silent_for = wait_event(&mut events, |e| match e.event {
        LegEvent::RtpTimeout { silent_for } if e.leg == leg.id => Some(silent_for),
        _ => None,
    })
    .await;
    assert!(silent_for >= Duration::from_millis(200), "{silent_for:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_frees_the_ports_and_stops_the_relay() {
    let (engine, _events, _) = engine(4);
    let Call {
        mut caller,
        agent,
        a,
        b,
    } = bridged_call(&engine, G711::Alaw, G711::Alaw).await;
    caller.send(a.local_rtp, 8, &payload(0)).await;
    agent.recv().await;
    assert_eq!(engine.stats().legs, 2);

    engine.release(b.id);
    let deadline = Instant::now() + Duration::from_secs(2);
    while engine.stats().legs != 1 {
        assert!(
            Instant::now() < deadline,
            "ports of the released leg not freed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Its port is closed (binding it works again) and nothing reaches the agent.
    std::net::UdpSocket::bind(b.local_rtp).expect("released RTP port rebinds");
    caller.send(a.local_rtp, 8, &payload(1)).await;
    let mut buf = [0u8; 2048];
    let late = tokio::time::timeout(Duration::from_millis(200), agent.socket.recv(&mut buf)).await;
    assert!(late.is_err(), "relayed after release");

    // The partner can be bridged again.
    let c = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, B_SSRC))
        .unwrap();
    engine.bridge(a.id, c.id).await.unwrap();
    caller.send(a.local_rtp, 8, &payload(2)).await;
    let (data, from, _) = agent.recv().await;
    assert_eq!(
        (from, parse(&data).payload()),
        (c.local_rtp, &payload(2)[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_rejects_bad_requests() {
    let (engine, _events, _) = engine(8);
    let peer = Endpoint::bind(0x1111).await;
    let legs: Vec<_> = (0..3)
        .map(|i| {
            engine
                .allocate_leg(leg_config(peer.addr(), G711::Alaw, i))
                .unwrap()
        })
        .collect();
    let (a, b, c) = (legs[0].id, legs[1].id, legs[2].id);
    assert!(matches!(
        engine.bridge(a, a).await,
        Err(MediaError::SelfBridge(_))
    ));
    engine.bridge(a, b).await.unwrap();
    assert!(matches!(engine.bridge(c, b).await, Err(MediaError::AlreadyBridged(id)) if id == b));
    assert!(matches!(engine.bridge(a, c).await, Err(MediaError::AlreadyBridged(id)) if id == a));
    engine.release(c);
    assert!(matches!(engine.bridge(a, c).await, Err(MediaError::UnknownLeg(id)) if id == c));
}
