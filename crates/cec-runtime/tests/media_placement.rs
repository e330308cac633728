//! Where new legs go. With `pack_legs` set, the engine fills the first shard up to that
//! many legs before using the next (light load stays on one thread, where datagrams batch
//! per wake-up), then the least loaded one; ended legs make room again. With `pack_legs`
//! 0 legs spread by id. Either way a bridged call relays (its second leg moves to the
//! first one's shard when they were placed apart).

mod media_common;

use std::time::{Duration, Instant};

use cec_rtp::g711::G711;
use cec_runtime::media::{MediaConfig, MediaEngine};
use media_common::{Endpoint, free_range, io_mode, leg_config, parse, start_engine};

fn engine(pack_legs: usize) -> MediaEngine {
    let config = MediaConfig {
        rtp_ports: free_range(24),
        shards: 2,
        io: io_mode(),
        pack_legs,
        ..MediaConfig::default()
    };
    start_engine(config).0
}

async fn placement_becomes(engine: &MediaEngine, expected: &[usize]) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while engine.placement() != expected {
        assert!(
            Instant::now() < deadline,
            "placement {:?}, expected {expected:?}",
            engine.placement()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legs_fill_the_first_shard_then_the_least_loaded_and_ended_legs_make_room() {
    let engine = engine(2);
    let mut caller = Endpoint::bind(0x1111).await;
    let agent = Endpoint::bind(0x2222).await;
    let a = engine
        .allocate_leg(leg_config(caller.addr(), G711::Alaw, 1))
        .unwrap();
    let b = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, 2))
        .unwrap();
    assert_eq!(engine.placement(), [2, 0], "both on the first shard");
    let c = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, 3))
        .unwrap();
    let d = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, 4))
        .unwrap();
    assert_eq!(engine.placement(), [2, 2]);
    // All full: the least loaded (the first of equals) takes the next.
    let e = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, 5))
        .unwrap();
    assert_eq!(engine.placement(), [3, 2]);

    // A call whose legs sit on different shards still relays.
    engine.bridge(a.id, c.id).await.unwrap();
    caller.send(a.local_rtp, 8, &[0xD5; 160]).await;
    let (data, from, _) = agent.recv().await;
    assert_eq!(
        (from, parse(&data).payload()),
        (c.local_rtp, &[0xD5; 160][..])
    );

    // Releasing counts against the shard the leg was placed on, wherever it runs now.
    engine.release(c.id);
    engine.release(b.id);
    placement_becomes(&engine, &[2, 1]).await;
    for leg in [a.id, d.id, e.id] {
        engine.release(leg);
    }
    placement_becomes(&engine, &[0, 0]).await;
    // Releasing twice (or an unknown leg) does not drive a count below zero.
    engine.release(a.id);
    let f = engine
        .allocate_leg(leg_config(agent.addr(), G711::Alaw, 6))
        .unwrap();
    assert_eq!(engine.placement(), [1, 0]);
    engine.release(f.id);
    placement_becomes(&engine, &[0, 0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_packing_legs_spread_over_the_shards() {
    let engine = engine(0);
    let peer = Endpoint::bind(0x1111).await;
    let legs: Vec<_> = (0..20)
        .map(|i| {
            engine
                .allocate_leg(leg_config(peer.addr(), G711::Alaw, i))
                .unwrap()
        })
        .collect();
    let placement = engine.placement();
    assert_eq!(placement.iter().sum::<usize>(), 20);
    assert!(placement.iter().all(|&n| n >= 4), "{placement:?}");
    for leg in legs {
        engine.release(leg.id);
    }
    placement_becomes(&engine, &[0, 0]).await;
}
