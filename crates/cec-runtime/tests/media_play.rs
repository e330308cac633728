//! Playback on media legs (queue tones, hold music, prompts) over real loopback sockets,
//! on the shard loop `CEC_MEDIA_IO` selects. Pins that `MediaEngine::play` sends a
//! playlist as G.711 in the leg's codec at 50 packets a second, paced by real time, in
//! the leg's own stream (SSRC kept, sequence +1, timestamp +160 per packet, and across
//! switches a timestamp step that matches the time that passed); that a caller put in a
//! queue, bridged, held (by `play` on the bridged leg, or `unbridge` + `play`) and resumed
//! (by `bridge`, or `stop_play` + `bridge`) hears one continuous stream, the tone while
//! held and only the agent while bridged, and the agent hears nothing while the caller
//! is held, also when the commands are issued without waiting for each other; that a finite playlist reports `PlaybackFinished`, `stop_play` silences a leg
//! at once, an interruptible prompt stops at a digit; that release frees a playing leg's
//! ports and placement, a renegotiation moves the playback to the new codec, and a shard
//! with nothing playing wakes no more often than its 50 ms timer tick.

mod media_common;

use std::net::UdpSocket as StdSocket;
use std::time::{Duration, Instant};

use cec_media::{LegEvent, PlayItem, Playlist, Renegotiation, Repeat, Tone};
use cec_rtp::dtmf::TelephoneEvent;
use cec_rtp::g711::G711;
use cec_runtime::media::{LegHandle, MediaEngine, MediaEvent};
use cec_sdp::Direction;
use media_common::capture::{Got, Peer, strongest};
use media_common::{A_SSRC, B_SSRC, WAIT, engine, leg_config, wait_event};
use tokio::sync::mpsc;

/// The queue tone the tests play.
const TONE: f64 = 800.0;
/// What the agent says (a tone the caller must hear only while bridged).
const AGENT_VOICE: f64 = 1400.0;
/// What the caller says.
const CALLER_VOICE: f64 = 2000.0;
const ALL: [f64; 3] = [TONE, AGENT_VOICE, CALLER_VOICE];
/// Port pairs per test engine: plenty, so that tests running at once cannot use up a
/// range another test picked before its legs bound it.
const PAIRS: u16 = 16;
/// How long each step of the hold test lasts.
const PHASE: Duration = Duration::from_millis(400);
/// Slack for datagrams already on their way when a command took effect.
const IN_FLIGHT: Duration = Duration::from_millis(30);
/// A gap in a played stream this long is a stall of the shard (see `assert_segments`).
const STALL: Duration = Duration::from_millis(90);

fn forever(frequency: f64) -> Playlist {
    Playlist {
        items: vec![PlayItem::Tone {
            tone: Tone::continuous(frequency),
            duration: Duration::from_secs(1),
        }],
        repeat: Repeat::Forever,
        barge_in: false,
    }
}

fn allocate(engine: &MediaEngine, peer: &Peer, codec: G711, ssrc: u32) -> LegHandle {
    engine
        .allocate_leg(leg_config(peer.addr(), codec, ssrc))
        .unwrap()
}

/// Checks that `got` is one stream: `ssrc` throughout, sequence +1 per packet, timestamp
/// +160 per packet within a segment; where a new segment starts (marker bit) the
/// timestamp advances by whole frames, at least one, matching the time that passed.
/// Returns where segments started after the first packet: (packet index, gap before it).
fn one_stream(got: &[Got], ssrc: u32) -> Vec<(usize, Duration)> {
    let mut segments = Vec::new();
    for (index, pair) in got.windows(2).enumerate() {
        let [previous, next] = pair else { continue };
        let index = index + 1;
        assert_eq!(next.ssrc, ssrc, "packet {index}: SSRC");
        assert_eq!(
            next.seq,
            previous.seq.wrapping_add(1),
            "packet {index}: sequence continuity"
        );
        let step = next.timestamp.wrapping_sub(previous.timestamp);
        if next.marker {
            let gap = next.at.duration_since(previous.at);
            segments.push((index, gap));
            assert!(
                step >= 160 && step % 160 == 0,
                "packet {index}: step {step}"
            );
            let passed = gap.as_secs_f64() * 1000.0;
            let stamped = f64::from(step) / 8.0;
            assert!(
                (stamped - passed).abs() <= 40.0,
                "packet {index}: timestamp moved {stamped} ms, {passed:.1} ms passed"
            );
        } else {
            assert_eq!(step, 160, "packet {index}: timestamp +160");
        }
    }
    segments
}

/// Checks that new segments started at the packets `expected` and nowhere else, except
/// after a stall: a shard thread descheduled for over 100 ms (a loaded machine) starts
/// afresh, its timestamp moved by the time that passed (checked by [`one_stream`]).
fn assert_segments(segments: &[(usize, Duration)], expected: &[usize]) {
    for index in expected {
        assert!(
            segments.iter().any(|(at, _)| at == index),
            "no new segment at packet {index}: {segments:?}"
        );
    }
    for (index, gap) in segments {
        assert!(
            expected.contains(index) || *gap >= STALL,
            "packet {index} started a new segment after only {gap:?}: {segments:?}"
        );
    }
}

/// Packets whose tone differs from the one before (where the caller's source switched).
fn switches(got: &[Got]) -> Vec<usize> {
    (1..got.len())
        .filter(|&i| got[i].tone(&ALL) != got[i - 1].tone(&ALL))
        .collect()
}

/// Waits until the latest packet `peer` received carries `tone`; returns when it saw it.
async fn hears(peer: &Peer, tone: f64) -> Instant {
    let deadline = Instant::now() + WAIT;
    while peer.got().last().and_then(|p| p.tone(&ALL)) != Some(tone) {
        assert!(
            Instant::now() < deadline,
            "{tone} Hz not heard within the wait"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Instant::now()
}

/// Packets `peer` received more than [`IN_FLIGHT`] after `since`.
fn after(peer: &Peer, since: Instant) -> usize {
    peer.got()
        .iter()
        .filter(|p| p.at > since + IN_FLIGHT)
        .count()
}

/// Runs of consecutive packets carrying the same tone: (tone, packets).
fn runs(got: &[Got]) -> Vec<(f64, usize)> {
    let mut runs: Vec<(f64, usize)> = Vec::new();
    for (index, packet) in got.iter().enumerate() {
        let tone = packet
            .tone(&ALL)
            .unwrap_or_else(|| panic!("packet {index} carries none of {ALL:?}"));
        match runs.last_mut() {
            Some((last, count)) if *last == tone => *count += 1,
            _ => runs.push((tone, 1)),
        }
    }
    runs
}

/// Events of `leg` that arrived so far (others are dropped).
fn events_of(events: &mut mpsc::Receiver<MediaEvent>, leg: &LegHandle) -> Vec<LegEvent> {
    std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| e.leg == leg.id)
        .map(|e| e.event)
        .collect()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within the wait: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_goes_out_as_paced_g711_in_the_legs_codec_and_stream() {
    let (engine, _events, _) = engine(PAIRS);
    for (codec, pt, ssrc) in [(G711::Alaw, 8, 0xA0A0_0001), (G711::Ulaw, 0, 0xA0A0_0002)] {
        let peer = Peer::bind(0x7777).await;
        let leg = allocate(&engine, &peer, codec, ssrc);
        let asked = Instant::now();
        engine.play(leg.id, forever(TONE)).await.unwrap();
        let got = peer.wait_for(50).await;
        let got = &got[..50];
        // Paced by real time: frame n is due 20 ms after frame n - 1, from the first.
        let fiftieth = got[49].at.duration_since(asked);
        assert!(
            fiftieth >= Duration::from_millis(980),
            "{codec:?}: 50 packets in {fiftieth:?} (a burst)"
        );
        assert!(
            fiftieth < Duration::from_millis(1_600),
            "{codec:?}: 50 packets took {fiftieth:?}"
        );
        assert!(got.iter().all(|p| p.pt == pt && p.payload.len() == 160));
        assert_eq!(
            (got[0].seq, got[0].timestamp),
            (1000, 50_000),
            "the leg's stream"
        );
        assert!(got[0].marker, "the first packet of a talkspurt is marked");
        assert_segments(&one_stream(got, ssrc), &[]);
        // The decoded audio is the tone, packet by packet and over the whole second.
        for (index, packet) in got.iter().enumerate() {
            assert_eq!(
                packet.tone(&[TONE, 1000.0, 600.0]),
                Some(TONE),
                "packet {index}"
            );
        }
        let samples: Vec<i16> = got.iter().flat_map(Got::samples).collect();
        assert_eq!(strongest(&samples, &[TONE, 790.0, 810.0]), Some(TONE));
        engine.release(leg.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_bridge_hold_and_resume_keep_one_stream_for_the_caller() {
    let (engine, _events, _) = engine(PAIRS);
    let caller = Peer::bind(0x1111).await;
    let agent = Peer::bind(0x2222).await;
    // On different shards (spread by id): the bridge moves the agent's leg.
    let a = allocate(&engine, &caller, G711::Alaw, A_SSRC);
    let b = allocate(&engine, &agent, G711::Alaw, B_SSRC);
    let caller_talks = caller.talk(a.local_rtp, G711::Alaw, CALLER_VOICE, 0x1111);
    let agent_talks = agent.talk(b.local_rtp, G711::Alaw, AGENT_VOICE, 0x2222);

    // Queued: the caller hears the queue tone.
    engine.play(a.id, forever(TONE)).await.unwrap();
    tokio::time::sleep(PHASE).await;
    // An agent answers.
    engine.bridge(a.id, b.id).await.unwrap();
    hears(&caller, AGENT_VOICE).await;
    hears(&agent, CALLER_VOICE).await;
    tokio::time::sleep(PHASE).await;
    // Held with one command: play on the bridged leg ends the bridge.
    engine.play(a.id, forever(TONE)).await.unwrap();
    let held = Instant::now();
    tokio::time::sleep(PHASE).await;
    assert_eq!(
        after(&agent, held),
        0,
        "held by play: the agent hears nothing"
    );
    // Resumed with one command: bridge ends the playback.
    engine.bridge(a.id, b.id).await.unwrap();
    hears(&caller, AGENT_VOICE).await;
    tokio::time::sleep(PHASE).await;
    // Held and resumed the way the call core does it.
    engine.unbridge(a.id).await.unwrap();
    engine.play(a.id, forever(TONE)).await.unwrap();
    let held = Instant::now();
    tokio::time::sleep(PHASE).await;
    assert_eq!(after(&agent, held), 0, "held by unbridge + play");
    engine.stop_play(a.id).await.unwrap();
    engine.bridge(a.id, b.id).await.unwrap();
    hears(&caller, AGENT_VOICE).await;
    tokio::time::sleep(PHASE).await;
    caller_talks.abort();
    agent_talks.abort();
    tokio::time::sleep(IN_FLIGHT).await;

    let got = caller.got();
    // One stream: each switch (tone -> agent -> tone ...) starts a new segment.
    assert_segments(&one_stream(&got, A_SSRC), &switches(&got));
    let runs = runs(&got);
    let tones: Vec<f64> = runs.iter().map(|(tone, _)| *tone).collect();
    assert_eq!(
        tones,
        [TONE, AGENT_VOICE, TONE, AGENT_VOICE, TONE, AGENT_VOICE],
        "what the caller heard, in order: {runs:?}"
    );
    assert!(runs.iter().all(|(_, count)| *count >= 5), "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_resume_apply_in_call_order_for_a_caller_that_does_not_wait() {
    let (engine, _events, _) = engine(PAIRS);
    let caller = Peer::bind(0x1212).await;
    let agent = Peer::bind(0x2323).await;
    let a = allocate(&engine, &caller, G711::Ulaw, A_SSRC);
    let b = allocate(&engine, &agent, G711::Alaw, B_SSRC);
    engine.bridge(a.id, b.id).await.unwrap();
    let caller_talks = caller.talk(a.local_rtp, G711::Ulaw, CALLER_VOICE, 0x1212);
    let agent_talks = agent.talk(b.local_rtp, G711::Alaw, AGENT_VOICE, 0x2323);
    hears(&caller, AGENT_VOICE).await;

    // The SIP application is synchronous: it issues the commands and drops the futures.
    drop(engine.unbridge(a.id));
    drop(engine.play(a.id, forever(TONE)));
    let held = hears(&caller, TONE).await;
    tokio::time::sleep(PHASE).await;
    assert_eq!(after(&agent, held), 0, "the agent hears nothing while held");

    drop(engine.stop_play(a.id));
    drop(engine.bridge(a.id, b.id));
    hears(&caller, AGENT_VOICE).await;
    hears(&agent, CALLER_VOICE).await;
    caller_talks.abort();
    agent_talks.abort();
    let got = caller.got();
    assert_eq!(switches(&got).len(), 2, "agent, tone, agent");
    assert_segments(&one_stream(&got, A_SSRC), &switches(&got));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finite_playlist_reports_its_end_and_stop_play_silences_the_leg_at_once() {
    let (engine, mut events, _) = engine(PAIRS);
    let peer = Peer::bind(0x3333).await;
    let leg = allocate(&engine, &peer, G711::Ulaw, 0xF1F1_0001);
    let beep = Playlist::once(PlayItem::Tone {
        tone: Tone::continuous(TONE),
        duration: Duration::from_millis(300),
    });
    engine.play(leg.id, beep).await.unwrap();
    wait_event(&mut events, |e| {
        (e.leg == leg.id && e.event == LegEvent::PlaybackFinished).then_some(())
    })
    .await;
    tokio::time::sleep(IN_FLIGHT).await;
    assert_eq!(
        peer.count(),
        15,
        "300 ms is 15 packets, all out when it is reported"
    );
    assert!(
        peer.arriving_within(Duration::from_millis(200))
            .await
            .is_empty(),
        "nothing after the end"
    );

    // Hold music until stopped: no end is reported, and nothing is sent after the stop.
    engine.play(leg.id, forever(TONE)).await.unwrap();
    peer.wait_for(25).await;
    engine.stop_play(leg.id).await.unwrap();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(after(&peer, stopped), 0, "packets after stop_play");
    let got = peer.got();
    // The second playlist continued the stream of the first.
    assert_segments(&one_stream(&got, 0xF1F1_0001), &[15]);
    assert!(got.iter().all(|p| p.tone(&ALL) == Some(TONE)));
    let reported = events_of(&mut events, &leg);
    assert!(
        !reported.contains(&LegEvent::PlaybackFinished),
        "stop_play is not an end: {reported:?}"
    );
    // Stopping a leg that plays nothing is fine; an unknown leg is an error.
    engine.stop_play(leg.id).await.unwrap();
    engine.release(leg.id);
    wait_until("leg released", || engine.stats().legs == 0).await;
    assert!(engine.stop_play(leg.id).await.is_err());
    assert!(engine.play(leg.id, forever(TONE)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digit_interrupts_only_a_playlist_that_allows_barge_in() {
    let (engine, mut events, _) = engine(PAIRS);
    let mut peer = Peer::bind(0x4444).await;
    let leg = allocate(&engine, &peer, G711::Alaw, 0xD7D7_0001);
    let digit = |event: u8| {
        TelephoneEvent {
            event,
            end: false,
            volume: 10,
            duration: 160,
        }
        .to_bytes()
    };

    // Hold music ignores digits (they are still reported).
    engine.play(leg.id, forever(TONE)).await.unwrap();
    peer.wait_for(5).await;
    peer.send(leg.local_rtp, 101, &digit(7)).await;
    let seen = wait_event(&mut events, |e| match e.event {
        LegEvent::Dtmf { digit } if e.leg == leg.id => Some(digit),
        _ => None,
    })
    .await;
    assert_eq!(seen, '7');
    assert!(
        peer.arriving_within(Duration::from_millis(200)).await.len() >= 5,
        "still playing"
    );

    // A prompt with barge-in stops at the digit: reported after the digit itself.
    let prompt = Playlist {
        items: vec![PlayItem::Tone {
            tone: Tone::continuous(TONE),
            duration: Duration::from_secs(10),
        }],
        repeat: Repeat::Once,
        barge_in: true,
    };
    engine.play(leg.id, prompt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    peer.send(leg.local_rtp, 101, &digit(5)).await;
    wait_event(&mut events, |e| {
        (e.leg == leg.id && e.event == LegEvent::PlaybackInterrupted { digit: '5' }).then_some(())
    })
    .await;
    // Reported once the player stopped: nothing is sent after that.
    let interrupted = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(after(&peer, interrupted), 0, "packets after the barge-in");
    let reported = events_of(&mut events, &leg);
    assert!(
        !reported.iter().any(|e| matches!(
            e,
            LegEvent::PlaybackFinished | LegEvent::PlaybackInterrupted { .. }
        )),
        "one report only: {reported:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digit_is_reported_before_the_interruption() {
    let (engine, mut events, _) = engine(PAIRS);
    let mut peer = Peer::bind(0x4545).await;
    let leg = allocate(&engine, &peer, G711::Ulaw, 0xD7D7_0002);
    let prompt = Playlist {
        items: vec![PlayItem::Silence(Duration::from_secs(10))],
        repeat: Repeat::Once,
        barge_in: true,
    };
    engine.play(leg.id, prompt).await.unwrap();
    let body = TelephoneEvent {
        event: 11,
        end: false,
        volume: 10,
        duration: 160,
    }
    .to_bytes();
    peer.send(leg.local_rtp, 101, &body).await;
    let mut reported = Vec::new();
    while !matches!(reported.last(), Some(LegEvent::PlaybackInterrupted { .. })) {
        let event = wait_event(&mut events, |e| (e.leg == leg.id).then(|| e.event.clone()));
        reported.push(event.await);
    }
    assert_eq!(
        reported,
        [
            LegEvent::Dtmf { digit: '#' },
            LegEvent::PlaybackInterrupted { digit: '#' }
        ]
    );
    engine
        .play(leg.id, Playlist::once(PlayItem::Silence(Duration::ZERO)))
        .await
        .unwrap();
    let ended = wait_event(&mut events, |e| (e.leg == leg.id).then(|| e.event.clone())).await;
    assert_eq!(
        ended,
        LegEvent::PlaybackFinished,
        "an empty playlist ends at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_playing_legs_frees_their_ports_and_placement() {
    let (engine, _events, _) = engine(PAIRS);
    let caller = Peer::bind(0x5555).await;
    let agent = Peer::bind(0x6666).await;
    let a = allocate(&engine, &caller, G711::Alaw, A_SSRC);
    let b = allocate(&engine, &agent, G711::Ulaw, B_SSRC);
    engine.play(a.id, forever(TONE)).await.unwrap();
    engine.play(b.id, Playlist::hold_pattern()).await.unwrap();
    caller.wait_for(5).await;
    agent.wait_for(5).await;
    engine.release(a.id);
    engine.release(b.id);
    wait_until("legs released", || {
        engine.stats().legs == 0 && engine.placement().iter().all(|&n| n == 0)
    })
    .await;
    // The ports are closed once the shard dropped the legs: nothing is sent after that.
    let released = Instant::now();
    for port in [a.local_rtp, a.local_rtcp, b.local_rtp, b.local_rtcp] {
        StdSocket::bind(port).unwrap_or_else(|e| panic!("{port} still bound: {e}"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for peer in [&caller, &agent] {
        assert_eq!(after(peer, released), 0, "packets after release");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renegotiating_a_playing_leg_moves_the_playback_to_the_new_codec() {
    let (engine, _events, _) = engine(PAIRS);
    let peer = Peer::bind(0x8888).await;
    let leg = allocate(&engine, &peer, G711::Alaw, 0xC0DE_C0DE);
    engine.play(leg.id, forever(TONE)).await.unwrap();
    peer.wait_for(10).await;
    let pcmu = Renegotiation {
        codec: G711::Ulaw,
        payload_type: 0,
        telephone_event: Some(101),
        direction: Direction::SendRecv,
        remote_rtp: Some(peer.addr()),
        remote_rtcp: None,
    };
    engine.renegotiate(leg.id, pcmu).await.unwrap();
    let switched = peer.count();
    let got = peer.wait_for(switched + 10).await;
    engine.release(leg.id);
    let types: Vec<u8> = got.iter().map(|p| p.pt).collect();
    let first_pcmu = types.iter().position(|&pt| pt == 0).expect("PCMU packets");
    assert!(first_pcmu >= 10 && first_pcmu <= switched, "{types:?}");
    assert!(types[first_pcmu..].iter().all(|&pt| pt == 0), "{types:?}");
    // The stream goes on unbroken.
    assert_segments(&one_stream(&got, 0xC0DE_C0DE), &[]);
    // Decoded with its own codec, every packet is the tone.
    assert!(got.iter().all(|p| p.tone(&ALL) == Some(TONE)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridging_two_playing_legs_stops_both_playbacks() {
    let (engine, _events, _) = engine(PAIRS);
    let caller = Peer::bind(0x9999).await;
    let agent = Peer::bind(0xAAAA).await;
    let a = allocate(&engine, &caller, G711::Alaw, A_SSRC);
    let b = allocate(&engine, &agent, G711::Ulaw, B_SSRC);
    engine.play(a.id, forever(TONE)).await.unwrap();
    engine.play(b.id, forever(TONE)).await.unwrap();
    caller.wait_for(5).await;
    agent.wait_for(5).await;
    engine.bridge(a.id, b.id).await.unwrap();
    let bridged = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for peer in [&caller, &agent] {
        assert_eq!(after(peer, bridged), 0, "playback after the bridge");
    }
    // The bridge relays (and transcodes) as usual.
    let talk = caller.talk(a.local_rtp, G711::Alaw, CALLER_VOICE, 0x9999);
    let before = agent.count();
    let got = agent.wait_for(before + 5).await;
    talk.abort();
    assert!(
        got[before..]
            .iter()
            .all(|p| p.pt == 0 && p.tone(&ALL) == Some(CALLER_VOICE))
    );
}

/// Wake-ups of all shards over `window`.
async fn wakeups_during(engine: &MediaEngine, window: Duration) -> u64 {
    let before = engine.stats().wakeups;
    tokio::time::sleep(window).await;
    engine.stats().wakeups - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_wakes_every_20_ms_only_while_something_plays() {
    let (engine, _events, _) = engine(PAIRS);
    let caller = Peer::bind(0xBBBB).await;
    let agent = Peer::bind(0xCCCC).await;
    let a = allocate(&engine, &caller, G711::Alaw, A_SSRC);
    let _b = allocate(&engine, &agent, G711::Alaw, B_SSRC);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = Duration::from_secs(1);
    // Two shards with a 50 ms tick: 40 wake-ups a second, plus a little for timer slack.
    let idle_limit = 40 + 15;
    let idle = wakeups_during(&engine, second).await;
    assert!(idle <= idle_limit, "idle: {idle} wake-ups in 1 s");

    engine.play(a.id, forever(TONE)).await.unwrap();
    let playing = wakeups_during(&engine, second).await;
    // One shard at 50 a second instead of 20 (its timers run on the play clock's ticks,
    // not on wake-ups of their own); the other unchanged.
    assert!(
        playing >= idle + 10 && playing <= 70 + 15,
        "playing: {playing} wake-ups in 1 s (idle {idle})"
    );

    engine.stop_play(a.id).await.unwrap();
    let stopped = wakeups_during(&engine, second).await;
    assert!(
        stopped <= idle_limit,
        "after stop_play: {stopped} wake-ups in 1 s"
    );

    // A playing leg that goes away another way stops the clock too.
    engine.play(a.id, forever(TONE)).await.unwrap();
    caller.wait_for(caller.count() + 3).await;
    engine.release(a.id);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let released = wakeups_during(&engine, second).await;
    assert!(
        released <= idle_limit,
        "after release: {released} wake-ups in 1 s"
    );
}
