//! A live leg's negotiation changing under real traffic, and bridges ended without
//! releasing. Pins that `MediaEngine::renegotiate` switches a bridged leg from PCMA (the
//! offer it was allocated with) to PCMU (the answer): from then on the engine transcodes
//! both ways, and the far side sees one continuous stream (sequence +1, timestamp +160,
//! same SSRC) across the switch, once the awaited renegotiation has been applied (an unknown
//! leg gets an error). And that `MediaEngine::unbridge` stops the relay at once,
//! keeps both legs (and their ports) usable alone — echo, a new bridge — with either leg
//! named, across shards, and rejects legs that are not bridged or unknown.

mod media_common;

use std::time::{Duration, Instant};

use cec_media::Renegotiation;
use cec_rtp::g711::{G711, alaw_to_ulaw, ulaw_to_alaw};
use cec_runtime::media::{MediaEngine, MediaError};
use cec_sdp::Direction;
use media_common::{A_SSRC, B_SSRC, Call, Endpoint, bridged_call, call, engine, leg_config, parse};

fn payload(index: usize) -> [u8; 160] {
    std::array::from_fn(|i| (index * 11 + i * 3) as u8)
}

fn pcmu_answer(agent: &Endpoint) -> Renegotiation {
    Renegotiation {
        codec: G711::Ulaw,
        payload_type: 0,
        telephone_event: Some(101),
        direction: Direction::SendRecv,
        remote_rtp: Some(agent.addr()),
        remote_rtcp: None,
    }
}

/// Nothing arrives at `endpoint` within 200 ms.
async fn stays_quiet(endpoint: &Endpoint) {
    let mut buf = [0u8; 2048];
    let late = tokio::time::timeout(
        Duration::from_millis(200),
        endpoint.socket.recv_from(&mut buf),
    )
    .await;
    assert!(late.is_err(), "a datagram arrived: {late:?}");
}

async fn wait_legs(engine: &MediaEngine, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while engine.stats().legs != count {
        assert!(Instant::now() < deadline, "legs: {}", engine.stats().legs);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_switches_a_bridged_leg_to_pcmu_and_the_stream_stays_continuous() {
    let (engine, _events, _) = engine(8);
    // The agent's leg is allocated with the offer (PCMA); the agent answers PCMU.
    let Call {
        mut caller,
        mut agent,
        a,
        b,
    } = bridged_call(&engine, G711::Alaw, G711::Alaw).await;

    let mut last: Option<(u16, u32)> = None;
    let mut check_continuity = |data: &[u8]| {
        let packet = parse(data);
        assert_eq!(packet.ssrc(), B_SSRC, "the agent leg's own SSRC throughout");
        if let Some((seq, ts)) = last {
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
        last = Some((packet.sequence(), packet.timestamp()));
    };
    for index in 0..5 {
        caller.send(a.local_rtp, 8, &payload(index)).await;
        let (data, _, _) = agent.recv().await;
        check_continuity(&data);
        let packet = parse(&data);
        assert_eq!(packet.payload_type(), 8, "PCMA before the answer");
        assert_eq!(packet.payload(), &payload(index)[..]);
    }

    engine.renegotiate(b.id, pcmu_answer(&agent)).await.unwrap();
    for index in 5..15 {
        let sent = payload(index);
        caller.send(a.local_rtp, 8, &sent).await;
        let (data, _, _) = agent.recv().await;
        check_continuity(&data);
        let packet = parse(&data);
        assert_eq!(packet.payload_type(), 0, "PCMU after the answer");
        let expected: Vec<u8> = sent.iter().map(|&code| alaw_to_ulaw(code)).collect();
        assert_eq!(packet.payload(), &expected[..], "packet {index} transcoded");
    }
    // The agent's µ-law reaches the caller as A-law.
    for index in 0..5 {
        let sent = payload(100 + index);
        agent.send(b.local_rtp, 0, &sent).await;
        let (data, from, _) = caller.recv().await;
        assert_eq!(from, a.local_rtp);
        let packet = parse(&data);
        assert_eq!((packet.payload_type(), packet.ssrc()), (8, A_SSRC));
        let expected: Vec<u8> = sent.iter().map(|&code| ulaw_to_alaw(code)).collect();
        assert_eq!(packet.payload(), &expected[..]);
    }
    // A renegotiation for a leg that is gone fails, and changes nothing else.
    let gone = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, 0xD4D4_D4D4))
        .unwrap();
    engine.release(gone.id);
    assert!(matches!(
        engine.renegotiate(gone.id, pcmu_answer(&agent)).await,
        Err(MediaError::UnknownLeg(id)) if id == gone.id
    ));
    caller.send(a.local_rtp, 8, &payload(50)).await;
    agent.recv().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbridge_stops_the_relay_and_leaves_both_legs_usable() {
    let (engine, _events, _) = engine(8);
    let Call {
        mut caller,
        mut agent,
        a,
        b,
    } = call(&engine, G711::Alaw, G711::Alaw).await;
    assert!(matches!(engine.unbridge(a.id).await, Err(MediaError::NotBridged(id)) if id == a.id));
    engine.bridge(a.id, b.id).await.unwrap();
    caller.send(a.local_rtp, 8, &payload(0)).await;
    agent.recv().await;

    // Named by the leg that moved to its partner's shard for the bridge.
    engine.unbridge(b.id).await.unwrap();
    caller.send(a.local_rtp, 8, &payload(1)).await;
    agent.send(b.local_rtp, 8, &payload(2)).await;
    stays_quiet(&agent).await;
    stays_quiet(&caller).await;
    assert_eq!(engine.stats().legs, 2, "both legs keep their ports");
    assert!(matches!(
        engine.unbridge(a.id).await,
        Err(MediaError::NotBridged(_))
    ));

    // Alone, each leg works: the caller's echoes back to it.
    engine.echo(a.id).await.unwrap();
    caller.send(a.local_rtp, 8, &payload(3)).await;
    let (data, from, _) = caller.recv().await;
    assert_eq!(
        (from, parse(&data).payload()),
        (a.local_rtp, &payload(3)[..])
    );

    // The agent's leg joins a new caller; commands for it still find it.
    let mut second = Endpoint::bind(0x3333).await;
    let c = engine
        .allocate_leg(leg_config(second.addr(), G711::Alaw, 0xC3C3_C3C3))
        .unwrap();
    engine.bridge(c.id, b.id).await.unwrap();
    second.send(c.local_rtp, 8, &payload(4)).await;
    let (data, from, _) = agent.recv().await;
    assert_eq!(
        (from, parse(&data).payload()),
        (b.local_rtp, &payload(4)[..])
    );
    engine.unbridge(c.id).await.unwrap();

    for leg in [a.id, b.id, c.id] {
        engine.release(leg);
    }
    wait_legs(&engine, 0).await;
    assert!(matches!(engine.unbridge(b.id).await, Err(MediaError::UnknownLeg(id)) if id == b.id));
}
