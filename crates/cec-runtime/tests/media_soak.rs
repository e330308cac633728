//! Random sequences of engine commands — allocate, bridge, unbridge, echo, renegotiate,
//! play, stop playing, release — over a pool of legs spread across two shards, while their peers keep sending
//! RTP at them (so legs move between shards and sockets are cancelled and closed with
//! datagrams in flight). Pins that nothing leaks or wedges: afterwards every port is free
//! and rebindable, the placement counts are back to zero, and a new call still relays.
//! Seeded, so a failure names the seed that reproduces it; `MEDIA_SOAK_SEEDS=N` adds N
//! seeds for a longer soak.

mod media_common;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use cec_media::{PlayItem, Playlist, Renegotiation, Tone};
use cec_rtp::g711::G711;
use cec_rtp::packet::RtpHeader;
use cec_runtime::media::{LegHandle, LegId, MediaConfig};
use cec_sdp::Direction;
use media_common::{Call, bridged_call, free_range, io_mode, leg_config, parse, start_engine};

const PAIRS: u16 = 24;
const OPERATIONS: usize = 600;

/// SplitMix64: a reproducible stream from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn rtp(seq: u16, pt: u8) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: pt,
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 0x50AC_0000 | u32::from(seq % 7),
        ..RtpHeader::default()
    };
    let mut buf = [0u8; 1500];
    let len = header.write(&[0x55; 160], &mut buf).unwrap();
    buf[..len].to_vec()
}

struct Live {
    handle: LegHandle,
    peer: UdpSocket,
}

fn run(seed: u64) {
    let config = MediaConfig {
        rtp_ports: free_range(PAIRS),
        shards: 2,
        io: io_mode(),
        // Small, so placement fills one shard and spills to the other.
        pack_legs: 5,
        ..MediaConfig::default()
    };
    let range = config.rtp_ports;
    let (engine, mut events) = start_engine(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Events are drained so the channel never fills.
    let drain = std::thread::spawn(move || while events.blocking_recv().is_some() {});
    let mut rng = Rng(seed);
    let mut live: HashMap<LegId, Live> = HashMap::new();
    let mut seq = 0u16;
    for _ in 0..OPERATIONS {
        let ids: Vec<LegId> = live.keys().copied().collect();
        let pick = |rng: &mut Rng| ids.get(rng.below(ids.len().max(1))).copied();
        match rng.below(12) {
            0 | 1 => {
                let peer = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
                let codec = if rng.below(2) == 0 {
                    G711::Alaw
                } else {
                    G711::Ulaw
                };
                let config = leg_config(peer.local_addr().unwrap(), codec, rng.next() as u32);
                if let Ok(handle) = engine.allocate_leg(config) {
                    live.insert(handle.id, Live { handle, peer });
                }
            }
            2 => {
                if let (Some(a), Some(b)) = (pick(&mut rng), pick(&mut rng)) {
                    let _ = runtime.block_on(engine.bridge(a, b));
                }
            }
            3 => {
                if let Some(leg) = pick(&mut rng) {
                    let _ = runtime.block_on(engine.unbridge(leg));
                }
            }
            4 => {
                if let Some(leg) = pick(&mut rng) {
                    let _ = runtime.block_on(engine.echo(leg));
                }
            }
            5 => {
                if let Some(leg) = pick(&mut rng)
                    && let Some(live) = live.get(&leg)
                {
                    let ulaw = rng.below(2) == 0;
                    let update = engine.renegotiate(
                        leg,
                        Renegotiation {
                            codec: if ulaw { G711::Ulaw } else { G711::Alaw },
                            payload_type: if ulaw { 0 } else { 8 },
                            telephone_event: Some(101),
                            direction: Direction::SendRecv,
                            remote_rtp: Some(live.peer.local_addr().unwrap()),
                            remote_rtcp: None,
                        },
                    );
                    let _ = runtime.block_on(update);
                }
            }
            6 => {
                if let Some(leg) = pick(&mut rng)
                    && live.remove(&leg).is_some()
                {
                    engine.release(leg);
                }
            }
            7 => {
                if let Some(leg) = pick(&mut rng) {
                    // Hold music, or a prompt short enough to end during the run.
                    let playlist = if rng.below(2) == 0 {
                        Playlist::hold_pattern()
                    } else {
                        Playlist::once(PlayItem::Tone {
                            tone: Tone::beep(),
                            duration: Duration::from_millis(20 * rng.below(4) as u64),
                        })
                    };
                    let _ = runtime.block_on(engine.play(leg, playlist));
                }
            }
            8 => {
                if let Some(leg) = pick(&mut rng) {
                    let _ = runtime.block_on(engine.stop_play(leg));
                }
            }
            _ => {
                // Traffic: a few legs' peers send, one datagram each.
                for _ in 0..4 {
                    if let Some(leg) = pick(&mut rng)
                        && let Some(live) = live.get(&leg)
                    {
                        seq = seq.wrapping_add(1);
                        let pt = if rng.below(2) == 0 { 8 } else { 0 };
                        let _ = live.peer.send_to(&rtp(seq, pt), live.handle.local_rtp);
                    }
                }
            }
        }
    }
    for leg in live.keys() {
        engine.release(*leg);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while engine.stats().legs != 0 || engine.placement().iter().any(|&n| n != 0) {
        assert!(
            Instant::now() < deadline,
            "seed {seed}: legs {} placement {:?} after releasing all",
            engine.stats().legs,
            engine.placement()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Every port of the range is free again.
    for port in (range.first()..=range.last()).step_by(2) {
        let rtp: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
        assert!(
            UdpSocket::bind(rtp).is_ok(),
            "seed {seed}: port {port} still bound"
        );
    }
    // And the engine still relays a fresh call.
    runtime.block_on(async {
        let Call {
            mut caller,
            agent,
            a,
            b,
        } = bridged_call(&engine, G711::Alaw, G711::Alaw).await;
        caller.send(a.local_rtp, 8, &[0x11; 160]).await;
        let (data, from, _) = agent.recv().await;
        assert_eq!(
            (from, parse(&data).payload()),
            (b.local_rtp, &[0x11; 160][..])
        );
    });
    drop(engine);
    drain.join().unwrap();
}

#[test]
fn random_command_sequences_under_traffic_leak_nothing() {
    // MEDIA_SOAK_SEEDS=N runs N more seeds (a longer soak by hand).
    let extra: u64 = std::env::var("MEDIA_SOAK_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    for seed in [1, 2, 3, 0xC0FFEE].into_iter().chain(1000..1000 + extra) {
        run(seed);
    }
}
