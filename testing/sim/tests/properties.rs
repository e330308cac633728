//! Invariants over arbitrary links, traffic and seeds: every packet is accounted for
//! exactly once, nothing arrives early or later than the link allows, deliveries come
//! out in time order, a seed always replays the same run, and the generator's ranges hold.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cec_sim::{Delivery, LinkConfig, Network, Rng, Rule, RuleAction, VirtualClock};
use proptest::prelude::*;

fn link() -> impl Strategy<Value = LinkConfig> {
    (
        0u64..100,
        0u64..50,
        0.0f64..=1.0,
        0.0f64..=1.0,
        0.0f64..=1.0,
        0u64..100,
    )
        .prop_map(
            |(delay, jitter, loss, duplicate, reorder, reorder_by)| LinkConfig {
                delay: Duration::from_millis(delay),
                jitter: Duration::from_millis(jitter),
                loss,
                duplicate,
                reorder,
                reorder_delay: Duration::from_millis(reorder_by),
                bandwidth: None,
            },
        )
}

/// (gap before this send in ms, from, to)
fn traffic() -> impl Strategy<Value = Vec<(u64, u8, u8)>> {
    prop::collection::vec((0u64..20, 0u8..3, 0u8..3), 0..150)
}

const RULE_DELAY: Duration = Duration::from_millis(40);

/// The network after a run, its deliveries, and each packet's send time.
type Played = (Network<u8, u32>, Vec<Delivery<u8, u32>>, Vec<Instant>);

/// Sends the traffic, popping what is due as time goes by; returns the deliveries and
/// each packet's send time.
fn play(seed: u64, link: LinkConfig, traffic: &[(u64, u8, u8)], base: Instant) -> Played {
    let mut net = Network::new(seed);
    net.set_default_link(link);
    net.add_rule(Rule::new(
        RuleAction::Drop { times: 2 },
        |_: &u8, _: &u8, p: &u32| p % 5 == 1,
    ));
    net.add_rule(Rule::new(
        RuleAction::Delay(RULE_DELAY),
        |_: &u8, _: &u8, p: &u32| p.is_multiple_of(3),
    ));
    net.add_rule(Rule::new(
        RuleAction::Duplicate,
        |from: &u8, _: &u8, _: &u32| *from == 2,
    ));
    let mut now = base;
    let mut deliveries = Vec::new();
    let mut sent_at = Vec::new();
    for (i, &(gap, from, to)) in traffic.iter().enumerate() {
        now += Duration::from_millis(gap);
        while let Some(delivery) = net.pop_due(now) {
            assert!(delivery.at <= now, "popped a packet before its time");
            deliveries.push(delivery);
        }
        net.send(now, from, to, i as u32);
        sent_at.push(now);
    }
    while let Some(at) = net.next_delivery() {
        deliveries.extend(net.pop_due(at));
    }
    (net, deliveries, sent_at)
}

proptest! {
    #[test]
    fn every_packet_is_accounted_for_once(seed: u64, link in link(), traffic in traffic()) {
        let base = VirtualClock::start().base();
        let (net, deliveries, _) = play(seed, link, &traffic, base);
        let stats = net.stats();
        prop_assert_eq!(stats.sent, traffic.len() as u64);
        prop_assert_eq!(net.in_flight(), 0);
        prop_assert_eq!(stats.sent + stats.duplicated, stats.delivered + stats.dropped());
        prop_assert_eq!(stats.delivered, deliveries.len() as u64);
        let copies: BTreeSet<(u64, u32)> =
            deliveries.iter().map(|d| (d.packet_id, d.copy)).collect();
        prop_assert_eq!(copies.len(), deliveries.len(), "a copy was delivered twice");
        prop_assert!(stats.dropped_by_rule <= 2);
    }

    #[test]
    fn arrivals_respect_the_link(seed: u64, link in link(), traffic in traffic()) {
        let base = VirtualClock::start().base();
        let (_, deliveries, sent_at) = play(seed, link, &traffic, base);
        for pair in deliveries.windows(2) {
            prop_assert!(pair[0].at <= pair[1].at, "out of time order");
        }
        for d in &deliveries {
            let (sent_from, sent_to) = (traffic[d.packet as usize].1, traffic[d.packet as usize].2);
            prop_assert_eq!((d.from, d.to), (sent_from, sent_to));
            prop_assert_eq!(u64::from(d.packet), d.packet_id);
            let transit = d.at - sent_at[d.packet as usize];
            let rule_delay = if d.packet.is_multiple_of(3) { RULE_DELAY } else { Duration::ZERO };
            let least = link.delay + rule_delay;
            let most = least + link.jitter + link.reorder_delay;
            prop_assert!(transit >= least, "{transit:?} < {least:?}");
            prop_assert!(transit <= most, "{transit:?} > {most:?}");
        }
    }

    #[test]
    fn a_seed_replays_exactly(seed: u64, link in link(), traffic in traffic()) {
        let base = VirtualClock::start().base();
        let (net1, first, _) = play(seed, link, &traffic, base);
        let (net2, second, _) = play(seed, link, &traffic, base);
        prop_assert_eq!(first, second);
        prop_assert_eq!(net1.stats(), net2.stats());
    }

    #[test]
    fn gen_range_stays_in_range(seed: u64, start: u64, len in 1u64..=u64::MAX) {
        let end = start.saturating_add(len);
        prop_assume!(end > start);
        let mut rng = Rng::new(seed);
        for _ in 0..16 {
            let v = rng.gen_range(start..end);
            prop_assert!(v >= start && v < end);
        }
    }

    #[test]
    fn duration_between_stays_in_range(seed: u64, lo: u64, hi: u64) {
        let (lo, hi) = (Duration::from_nanos(lo), Duration::from_nanos(hi));
        let mut rng = Rng::new(seed);
        let d = rng.duration_between(lo, hi);
        if hi > lo {
            prop_assert!(d >= lo && d < hi);
        } else {
            prop_assert_eq!(d, lo);
        }
    }

    #[test]
    fn chance_is_monotone_in_p(seed: u64, p in 0.0f64..=1.0, q in 0.0f64..=1.0) {
        // The same draw decides both: a higher probability never turns a hit into a miss.
        let (low, high) = if p <= q { (p, q) } else { (q, p) };
        let hit_low = Rng::new(seed).chance(low);
        let hit_high = Rng::new(seed).chance(high);
        prop_assert!(!hit_low || hit_high);
    }
}
