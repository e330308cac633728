//! A bridged call held and resumed, over real loopback sockets on the shard loop
//! `CEC_MEDIA_IO` selects, keeps one outgoing stream on each leg: sequence numbers +1
//! from the first packet to the last, timestamps +160 while a source is relayed and, at
//! each change, moved on by the time that passed. The bug this pins: relayed packets were
//! numbered with the source's sequence number plus an offset fixed when the first bridge
//! was made, so after hold (`play` on the caller's leg, or `unbridge`) and resume
//! (`bridge` again) the leg that stayed silent showed its peer a sequence gap as large as
//! the number of packets the caller sent while held (loss in the agent's RTCP, a jitter
//! buffer glitch). Checked for hold by `play`, for `unbridge` with both legs silent, and
//! for an echo test followed by bridges.

mod media_common;

use std::time::Duration;

use cec_media::{PlayItem, Playlist, Repeat, Tone};
use cec_rtp::g711::G711;
use cec_runtime::media::{LegHandle, MediaEngine};
use media_common::capture::{Got, Peer};
use media_common::{A_SSRC, B_SSRC, engine, leg_config};

/// Port pairs per test engine (plenty: see `media_play.rs`).
const PAIRS: u16 = 16;
/// How long the call talks between changes.
const PHASE: Duration = Duration::from_millis(400);
/// How long the caller is held (about 50 of its packets not relayed to the agent).
const HOLD: Duration = Duration::from_secs(1);
/// Slack between a timestamp step and the arrival gap: frame rounding and delivery.
const SLACK_MS: f64 = 40.0;

fn allocate(engine: &MediaEngine, peer: &Peer, codec: G711, ssrc: u32) -> LegHandle {
    engine
        .allocate_leg(leg_config(peer.addr(), codec, ssrc))
        .unwrap()
}

/// A caller and an agent, each with a leg of `codecs`, both talking (2 kHz and 1.4 kHz)
/// from now on; `tag` tells the three tests' peers apart.
struct Talking {
    caller: Peer,
    agent: Peer,
    a: LegHandle,
    b: LegHandle,
    talks: [tokio::task::JoinHandle<()>; 2],
}

async fn talking(engine: &MediaEngine, codecs: (G711, G711), tag: u32) -> Talking {
    let caller = Peer::bind(tag).await;
    let agent = Peer::bind(tag + 0x1111).await;
    let a = allocate(engine, &caller, codecs.0, A_SSRC);
    let b = allocate(engine, &agent, codecs.1, B_SSRC);
    let talks = [
        caller.talk(a.local_rtp, codecs.0, 2000.0, tag),
        agent.talk(b.local_rtp, codecs.1, 1400.0, tag + 0x1111),
    ];
    Talking {
        caller,
        agent,
        a,
        b,
        talks,
    }
}

impl Talking {
    /// Both stop talking; what is in flight arrives.
    async fn hang_up(&self) {
        for talk in &self.talks {
            talk.abort();
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
}

fn hold_music() -> Playlist {
    Playlist {
        items: vec![PlayItem::Tone {
            tone: Tone::continuous(800.0),
            duration: Duration::from_secs(1),
        }],
        repeat: Repeat::Forever,
        barge_in: false,
    }
}

/// Waits until `peer` has received `more` packets beyond those it has now.
async fn receives(peer: &Peer, more: usize) {
    let _ = peer.wait_for(peer.count() + more).await;
}

/// Checks that `got` is one stream: `ssrc` throughout, sequence +1 per packet, timestamp
/// +160 within a segment; where a new segment starts (marker bit) the timestamp moves on
/// by at least the time that passed (within [`SLACK_MS`]) and not much more. Returns the
/// gaps before the segments that started after the first packet.
fn one_stream(got: &[Got], ssrc: u32, who: &str) -> Vec<Duration> {
    assert!(!got.is_empty(), "{who}: nothing received");
    assert_eq!(got[0].ssrc, ssrc, "{who}: SSRC");
    let mut gaps = Vec::new();
    for (index, pair) in got.windows(2).enumerate() {
        let [previous, next] = pair else { continue };
        let index = index + 1;
        assert_eq!(next.ssrc, ssrc, "{who}: packet {index} SSRC");
        assert_eq!(
            next.seq,
            previous.seq.wrapping_add(1),
            "{who}: packet {index} sequence (no gap, no repeat)"
        );
        let step = next.timestamp.wrapping_sub(previous.timestamp);
        if next.marker {
            let gap = next.at.duration_since(previous.at);
            gaps.push(gap);
            let passed = gap.as_secs_f64() * 1000.0;
            let stamped = f64::from(step) / 8.0;
            assert!(
                step >= 160 && step % 160 == 0,
                "{who}: packet {index} step {step}"
            );
            assert!(
                stamped + SLACK_MS >= passed && stamped <= passed + SLACK_MS,
                "{who}: packet {index}: timestamp moved {stamped} ms, {passed:.1} ms passed"
            );
        } else {
            assert_eq!(step, 160, "{who}: packet {index} timestamp +160");
        }
    }
    gaps
}

/// Whether one of `gaps` is the hold (at least most of [`HOLD`]).
fn has_hold(gaps: &[Duration]) -> bool {
    gaps.iter().any(|gap| *gap >= HOLD.mul_f64(0.8))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_silent_agent_leg_continues_by_one_after_hold_by_play_and_resume() {
    let (engine, _events, _) = engine(PAIRS);
    let call = talking(&engine, (G711::Alaw, G711::Ulaw), 0x1111).await;
    let Talking {
        caller,
        agent,
        a,
        b,
        ..
    } = &call;
    engine.bridge(a.id, b.id).await.unwrap();
    receives(agent, 10).await;
    receives(caller, 10).await;
    tokio::time::sleep(PHASE).await;

    // Hold: the caller hears music and goes on talking, to nobody.
    engine.play(a.id, hold_music()).await.unwrap();
    tokio::time::sleep(HOLD).await;
    // Resume: the same caller is relayed to the agent again.
    let before = agent.count();
    engine.bridge(a.id, b.id).await.unwrap();
    receives(agent, 10).await;
    tokio::time::sleep(PHASE).await;
    call.hang_up().await;

    let got = agent.got();
    assert!(got.len() >= before + 20, "{} packets", got.len());
    let gaps = one_stream(&got, B_SSRC, "agent");
    assert!(has_hold(&gaps), "the hold is a segment: {gaps:?}");
    let got = caller.got();
    let gaps = one_stream(&got, A_SSRC, "caller");
    assert!(gaps.len() >= 2, "agent, music, agent: {gaps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_legs_continue_by_one_after_unbridge_and_bridge_with_nothing_played() {
    let (engine, _events, _) = engine(PAIRS);
    let call = talking(&engine, (G711::Ulaw, G711::Ulaw), 0x3333).await;
    let Talking {
        caller,
        agent,
        a,
        b,
        ..
    } = &call;
    engine.bridge(a.id, b.id).await.unwrap();
    receives(agent, 10).await;
    receives(caller, 10).await;
    tokio::time::sleep(PHASE).await;

    // Split; both go on talking, and neither leg sends anything.
    engine.unbridge(a.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (quiet_caller, quiet_agent) = (caller.count(), agent.count());
    tokio::time::sleep(HOLD).await;
    assert_eq!(
        (caller.count(), agent.count()),
        (quiet_caller, quiet_agent),
        "nothing sent while unbridged"
    );
    engine.bridge(a.id, b.id).await.unwrap();
    receives(agent, 10).await;
    receives(caller, 10).await;
    tokio::time::sleep(PHASE).await;
    call.hang_up().await;

    for (peer, ssrc, who) in [(agent, B_SSRC, "agent"), (caller, A_SSRC, "caller")] {
        let gaps = one_stream(&peer.got(), ssrc, who);
        assert!(has_hold(&gaps), "{who}: the split is a segment: {gaps:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_test_then_bridges_keep_both_streams_continuous() {
    let (engine, _events, _) = engine(PAIRS);
    let call = talking(&engine, (G711::Alaw, G711::Alaw), 0x5555).await;
    let Talking {
        caller,
        agent,
        a,
        b,
        ..
    } = &call;

    // Echo, then bridge, then echo again (the agent's leg silent), then bridge again.
    engine.echo(a.id).await.unwrap();
    receives(caller, 10).await;
    tokio::time::sleep(PHASE).await;
    engine.bridge(a.id, b.id).await.unwrap();
    receives(agent, 10).await;
    tokio::time::sleep(PHASE).await;
    engine.unbridge(a.id).await.unwrap();
    engine.echo(a.id).await.unwrap();
    tokio::time::sleep(HOLD).await;
    engine.bridge(a.id, b.id).await.unwrap();
    receives(agent, 10).await;
    tokio::time::sleep(PHASE).await;
    call.hang_up().await;

    let gaps = one_stream(&agent.got(), B_SSRC, "agent");
    assert!(
        has_hold(&gaps),
        "agent: the second echo is a segment: {gaps:?}"
    );
    let gaps = one_stream(&caller.got(), A_SSRC, "caller");
    assert!(gaps.len() >= 3, "echo, agent, echo, agent: {gaps:?}");
}
