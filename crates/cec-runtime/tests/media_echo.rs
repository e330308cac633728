//! A lone leg in echo mode (the echo-test number) on real loopback sockets: every RTP
//! packet a caller sends comes back once, from the leg's port, with its payload intact, in
//! the leg's own stream (our SSRC, sequence +1 and timestamp +160 per packet); RFC 4733
//! events come back too; a leg not in echo mode sends nothing back; echo is refused for
//! bridged and unknown legs; release stops the echo and frees the ports.

mod media_common;

use std::time::Duration;

use cec_rtp::dtmf::TelephoneEvent;
use cec_rtp::g711::G711;
use cec_runtime::media::MediaError;
use media_common::{Endpoint, engine, leg_config, parse};

const LEG_SSRC: u32 = 0xEC40_EC40;
const CALLER_SSRC: u32 = 0x1234_5678;

/// A payload that differs per packet, so a reorder or a stale buffer shows.
fn payload(index: usize) -> [u8; 160] {
    std::array::from_fn(|i| (index * 13 + i) as u8)
}

/// Nothing arrives on `endpoint` within `window`.
async fn silent(endpoint: &Endpoint, window: Duration) -> bool {
    let mut buf = [0u8; 2048];
    loop {
        match tokio::time::timeout(window, endpoint.socket.recv_from(&mut buf)).await {
            Err(_) => return true,
            // Our RTCP reports are not echoes.
            Ok(Ok((len, _))) if cec_rtp::packet::is_rtcp(&buf[..len]) => {}
            Ok(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_leg_sends_every_packet_back_in_its_own_stream() {
    let (engine, _events, _) = engine(4);
    let mut caller = Endpoint::bind(CALLER_SSRC).await;
    // The caller's starting numbers are far from the leg's, so a packet sent back
    // unchanged (no rewrite) fails the checks below.
    caller.seq = 40_000;
    caller.timestamp = 7_777_777;
    let leg = engine
        .allocate_leg(leg_config(caller.addr(), G711::Alaw, LEG_SSRC))
        .unwrap();
    engine.echo(leg.id).await.unwrap();

    const COUNT: usize = 40;
    let mut previous: Option<(u16, u32)> = None;
    for index in 0..COUNT {
        caller.send(leg.local_rtp, 8, &payload(index)).await;
        let (data, from, _) = caller.recv().await;
        assert_eq!(from, leg.local_rtp, "echoed from the leg's port");
        let packet = parse(&data);
        assert_eq!(packet.payload(), &payload(index)[..], "packet {index}");
        assert_eq!((packet.payload_type(), packet.ssrc()), (8, LEG_SSRC));
        match previous {
            Some((seq, ts)) => {
                assert_eq!(packet.sequence(), seq.wrapping_add(1), "sequence +1");
                assert_eq!(packet.timestamp(), ts.wrapping_add(160), "timestamp +160");
            }
            None => assert_eq!(packet.sequence(), 1000, "the leg's first sequence number"),
        }
        previous = Some((packet.sequence(), packet.timestamp()));
    }
    // One echo per packet: nothing more is queued.
    assert!(silent(&caller, Duration::from_millis(200)).await);

    // RFC 4733 events come back with the leg's telephone-event type and stream.
    let event = TelephoneEvent {
        event: 5,
        end: false,
        volume: 10,
        duration: 160,
    };
    let body = event.to_bytes();
    caller.send(leg.local_rtp, 101, &body).await;
    let (data, _, _) = caller.recv().await;
    let packet = parse(&data);
    assert_eq!((packet.payload_type(), packet.ssrc()), (101, LEG_SSRC));
    assert_eq!(packet.payload(), &body[..]);
    let (seq, _) = previous.unwrap();
    assert_eq!(packet.sequence(), seq.wrapping_add(1));

    // Release stops the echo and frees the ports.
    engine.release(leg.id);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(engine.stats().legs, 0);
    caller.send(leg.local_rtp, 8, &payload(0)).await;
    assert!(silent(&caller, Duration::from_millis(300)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leg_echoes_only_when_asked_and_never_in_a_bridge() {
    let (engine, _events, _) = engine(4);
    let mut caller = Endpoint::bind(CALLER_SSRC).await;
    let agent = Endpoint::bind(0x2222).await;
    let plain = engine
        .allocate_leg(leg_config(caller.addr(), G711::Ulaw, LEG_SSRC))
        .unwrap();
    caller.send(plain.local_rtp, 0, &payload(1)).await;
    assert!(
        silent(&caller, Duration::from_millis(300)).await,
        "a plain leg does not echo"
    );

    let a = engine
        .allocate_leg(leg_config(caller.addr(), G711::Alaw, 0xA))
        .unwrap();
    let b = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, 0xB))
        .unwrap();
    engine.bridge(a.id, b.id).await.unwrap();
    for bridged in [a.id, b.id] {
        assert!(matches!(
            engine.echo(bridged).await,
            Err(MediaError::AlreadyBridged(id)) if id == bridged
        ));
    }
    engine.release(plain.id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        engine.echo(plain.id).await,
        Err(MediaError::UnknownLeg(id)) if id == plain.id
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_takes_effect_even_when_the_caller_does_not_wait_for_it() {
    let (engine, _events, _) = engine(2);
    let mut caller = Endpoint::bind(CALLER_SSRC).await;
    let leg = engine
        .allocate_leg(leg_config(caller.addr(), G711::Ulaw, LEG_SSRC))
        .unwrap();
    // A synchronous caller (the SIP application) drops the future at once.
    drop(engine.echo(leg.id));
    caller.send(leg.local_rtp, 0, &payload(3)).await;
    let (data, _, _) = caller.recv().await;
    assert_eq!(parse(&data).payload(), &payload(3)[..]);
}
