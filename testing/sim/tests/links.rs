//! What a link does to packets: delay, loss rate, jitter and reordering, duplication,
//! bandwidth queueing, delivery order and per-link configuration.

use std::time::{Duration, Instant};

use cec_sim::{Bandwidth, Delivery, LinkConfig, Network, VirtualClock};

const A: u8 = 1;
const B: u8 = 2;
const C: u8 = 3;

fn base() -> Instant {
    VirtualClock::start().base()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Every delivery, popping at each arrival time.
fn drain_all(net: &mut Network<u8, u32>) -> Vec<Delivery<u8, u32>> {
    let mut out = Vec::new();
    while let Some(at) = net.next_delivery() {
        while let Some(delivery) = net.pop_due(at) {
            out.push(delivery);
        }
    }
    out
}

/// Sends `count` packets numbered from 0, `spacing` apart.
fn send_numbered(net: &mut Network<u8, u32>, start: Instant, count: u32, spacing: Duration) {
    for i in 0..count {
        net.send(start + spacing * i, A, B, i);
    }
}

/// How many adjacent pairs of deliveries are out of send order.
fn inversions(deliveries: &[Delivery<u8, u32>]) -> usize {
    deliveries
        .windows(2)
        .filter(|w| w[0].packet > w[1].packet)
        .count()
}

#[test]
fn fixed_delay_is_exact_and_not_early() {
    let t0 = base();
    let mut net = Network::new(1);
    net.set_default_link(LinkConfig::perfect().with_delay(ms(20)));
    net.send(t0, A, B, 7);
    assert_eq!(net.next_delivery(), Some(t0 + ms(20)));
    assert_eq!(net.pop_due(t0 + ms(19)), None);
    let delivery = net.pop_due(t0 + ms(25)).unwrap();
    assert_eq!(
        (delivery.at, delivery.from, delivery.to),
        (t0 + ms(20), A, B)
    );
    assert_eq!(
        (delivery.packet, delivery.packet_id, delivery.copy),
        (7, 0, 0)
    );
    assert_eq!(net.pop_due(t0 + ms(25)), None);
    assert_eq!(net.stats().delivered, 1);
}

#[test]
fn loss_rate_converges_to_configured_probability() {
    let t0 = base();
    let mut net = Network::new(2024);
    net.set_default_link(LinkConfig::lossy(0.3));
    send_numbered(&mut net, t0, 100_000, Duration::from_micros(10));
    let stats = net.stats();
    // Binomial(100k, 0.3): sigma is 145, so +-1000 is about 7 sigma.
    assert!(
        (29_000..31_000).contains(&stats.dropped_random),
        "dropped {} of 100000",
        stats.dropped_random
    );
    assert_eq!(
        drain_all(&mut net).len() as u64,
        100_000 - stats.dropped_random
    );
    assert_eq!(net.stats().delivered + net.stats().dropped_random, 100_000);
}

#[test]
fn zero_and_full_loss() {
    let t0 = base();
    let mut none = Network::new(3);
    none.set_default_link(LinkConfig::lossy(0.0));
    send_numbered(&mut none, t0, 1_000, ms(1));
    assert_eq!(none.stats().dropped_random, 0);
    let mut all = Network::new(3);
    all.set_default_link(LinkConfig::lossy(1.0));
    send_numbered(&mut all, t0, 1_000, ms(1));
    assert_eq!(all.stats().dropped_random, 1_000);
    assert_eq!(all.next_delivery(), None);
}

#[test]
fn jitter_stays_in_bounds_and_reorders() {
    let t0 = base();
    let mut net = Network::new(5);
    net.set_default_link(LinkConfig::perfect().with_delay(ms(30)).with_jitter(ms(20)));
    send_numbered(&mut net, t0, 1_000, ms(1));
    let deliveries = drain_all(&mut net);
    assert_eq!(deliveries.len(), 1_000);
    for d in &deliveries {
        let sent = t0 + ms(1) * d.packet;
        let transit = d.at - sent;
        assert!(
            transit >= ms(30) && transit < ms(50),
            "packet {} took {transit:?}",
            d.packet
        );
    }
    let out_of_order = inversions(&deliveries);
    assert!(out_of_order > 100, "only {out_of_order} inversions");
    assert!(deliveries.windows(2).all(|w| w[0].at <= w[1].at));

    let mut steady = Network::new(5);
    steady.set_default_link(LinkConfig::perfect().with_delay(ms(30)));
    send_numbered(&mut steady, t0, 1_000, ms(1));
    assert_eq!(inversions(&drain_all(&mut steady)), 0);
}

#[test]
fn reorder_holds_back_the_configured_share() {
    let t0 = base();
    let mut net = Network::new(6);
    net.set_default_link(
        LinkConfig::perfect()
            .with_delay(ms(10))
            .with_reorder(0.1, ms(50)),
    );
    send_numbered(&mut net, t0, 10_000, ms(1));
    let deliveries = drain_all(&mut net);
    let held_back = deliveries
        .iter()
        .filter(|d| d.at - (t0 + ms(1) * d.packet) == ms(60))
        .count();
    let on_time = deliveries
        .iter()
        .filter(|d| d.at - (t0 + ms(1) * d.packet) == ms(10))
        .count();
    assert_eq!(held_back + on_time, 10_000);
    assert!((850..1_150).contains(&held_back), "{held_back} held back");
    assert!(inversions(&deliveries) > 500);
}

#[test]
fn duplicates_are_counted_and_delivered() {
    let t0 = base();
    let mut net = Network::new(8);
    net.set_default_link(LinkConfig::perfect().with_delay(ms(5)).with_duplicate(0.2));
    send_numbered(&mut net, t0, 10_000, ms(1));
    let stats = net.stats();
    assert!(
        (1_800..2_200).contains(&stats.duplicated),
        "{}",
        stats.duplicated
    );
    let deliveries = drain_all(&mut net);
    assert_eq!(deliveries.len() as u64, 10_000 + stats.duplicated);
    let copies: Vec<_> = deliveries.iter().filter(|d| d.copy == 1).collect();
    assert_eq!(copies.len() as u64, stats.duplicated);
    for copy in copies {
        assert_eq!(u64::from(copy.packet), copy.packet_id);
        let originals = deliveries
            .iter()
            .filter(|d| d.packet_id == copy.packet_id && d.copy == 0)
            .count();
        assert_eq!(originals, 1);
    }
}

#[test]
fn ties_are_delivered_in_send_order() {
    let t0 = base();
    let mut net = Network::new(9);
    net.set_default_link(LinkConfig::perfect().with_delay(ms(3)));
    for i in 0..100 {
        net.send(t0, A, B, i);
    }
    let order: Vec<u32> = drain_all(&mut net).iter().map(|d| d.packet).collect();
    assert_eq!(order, (0..100).collect::<Vec<_>>());
}

#[test]
fn links_are_directional_and_override_the_default() {
    let t0 = base();
    let mut net = Network::new(10);
    net.set_default_link(LinkConfig::perfect().with_delay(ms(1)));
    net.set_link(A, B, LinkConfig::perfect().with_delay(ms(100)));
    net.set_link_both(A, C, LinkConfig::lossy(1.0));
    assert_eq!(net.link(B, A).delay, ms(1));
    net.send(t0, A, B, 1);
    net.send(t0, B, A, 2);
    net.send(t0, A, C, 3);
    net.send(t0, C, A, 4);
    let arrivals: Vec<(u32, Duration)> = drain_all(&mut net)
        .iter()
        .map(|d| (d.packet, d.at - t0))
        .collect();
    assert_eq!(arrivals, [(2, ms(1)), (1, ms(100))]);
    assert_eq!(net.stats().dropped_random, 2);
}

#[test]
fn packet_rate_limit_queues_packets() {
    let t0 = base();
    let mut net = Network::new(11);
    let link = LinkConfig::perfect()
        .with_delay(ms(10))
        .with_bandwidth(Bandwidth::PacketsPerSecond(50));
    net.set_default_link(link);
    send_numbered(&mut net, t0, 5, Duration::ZERO);
    // A packet sent after the queue has drained is not held up.
    net.send(t0 + ms(500), A, B, 5);
    let arrivals: Vec<Duration> = drain_all(&mut net).iter().map(|d| d.at - t0).collect();
    assert_eq!(arrivals, [ms(30), ms(50), ms(70), ms(90), ms(110), ms(530)]);
}

#[test]
fn byte_rate_limit_uses_packet_size() {
    let t0 = base();
    let mut net = Network::new(12);
    net.set_default_link(LinkConfig::perfect().with_bandwidth(Bandwidth::BytesPerSecond(8_000)));
    // The packet value is its size in bytes.
    net.set_packet_size(|size: &u32| *size as usize);
    net.send(t0, A, B, 160);
    net.send(t0, A, B, 80);
    net.send(t0, B, A, 800); // the other direction has its own queue
    let arrivals: Vec<(u32, Duration)> = drain_all(&mut net)
        .iter()
        .map(|d| (d.packet, d.at - t0))
        .collect();
    assert_eq!(arrivals, [(160, ms(20)), (80, ms(30)), (800, ms(100))]);
}

#[test]
fn wan_preset_loses_some_and_delivers_most() {
    let t0 = base();
    let mut net = Network::new(13);
    net.set_default_link(LinkConfig::wan());
    send_numbered(&mut net, t0, 10_000, ms(20));
    let deliveries = drain_all(&mut net);
    let stats = net.stats();
    assert!(
        stats.dropped_random > 10 && stats.dropped_random < 150,
        "{stats:?}"
    );
    assert!(stats.duplicated > 0, "{stats:?}");
    assert_eq!(
        deliveries.len() as u64 + stats.dropped(),
        10_000 + stats.duplicated
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.at - (t0 + ms(20) * d.packet) >= ms(40))
    );
}

#[test]
fn delay_past_what_instant_holds_is_a_drop_not_a_panic() {
    let t0 = base();
    let mut net = Network::new(14);
    net.enable_trace(true);
    net.set_default_link(LinkConfig::perfect().with_delay(Duration::MAX));
    net.send(t0, A, B, 1);
    assert_eq!(net.stats().dropped_random, 1);
    assert_eq!(net.next_delivery(), None);
    let last = &net.trace().last().unwrap().event;
    assert!(
        matches!(
            last,
            cec_sim::TraceEvent::Dropped {
                reason: cec_sim::DropReason::TimeOverflow,
                ..
            }
        ),
        "{last:?}"
    );
}

#[test]
fn trace_is_off_by_default_and_can_be_switched() {
    let t0 = base();
    let mut net = Network::new(15);
    net.set_labeler(|_: &u32| panic!("labels are only computed for the trace"));
    net.send(t0, A, B, 1);
    assert!(net.trace().is_empty());
    net.set_labeler(|p: &u32| format!("n{p}"));
    net.enable_trace(true);
    net.send(t0, A, B, 2);
    let _ = net.pop_due(t0);
    let _ = net.pop_due(t0);
    // Sent, scheduled and delivered for packet 2; packet 1's delivery too.
    assert_eq!(net.trace().len(), 4);
    assert_eq!(net.trace()[0].label.as_deref(), Some("n2"));
    assert!(
        net.format_trace(t0).contains("#1.0 1 -> 2 delivered n2"),
        "{}",
        net.format_trace(t0)
    );
    net.enable_trace(false);
    assert!(net.trace().is_empty());
}
