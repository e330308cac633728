//! Scripted faults on top of random ones: rules that drop exactly N matching packets,
//! delay or duplicate them, rule order and removal, and partitions that heal.

use std::time::{Duration, Instant};

use cec_sim::{
    Delivery, DropReason, LinkConfig, Network, Rule, RuleAction, TraceEvent, VirtualClock,
};

const UAC: &str = "uac";
const UAS: &str = "uas";
const PROXY: &str = "proxy";

type Net = Network<&'static str, &'static str>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn net(seed: u64) -> (Net, Instant) {
    let mut net = Network::new(seed);
    net.set_default_link(LinkConfig::perfect().with_delay(ms(10)));
    net.enable_trace(true);
    (net, VirtualClock::start().base())
}

fn drain_all(net: &mut Net) -> Vec<Delivery<&'static str, &'static str>> {
    let mut out = Vec::new();
    while let Some(at) = net.next_delivery() {
        while let Some(delivery) = net.pop_due(at) {
            out.push(delivery);
        }
    }
    out
}

fn is_prack(_: &&str, _: &&str, packet: &&str) -> bool {
    packet.starts_with("PRACK")
}

#[test]
fn drop_rule_drops_exactly_the_first_n_matches() {
    let (mut net, t0) = net(1);
    let rule = net.add_rule(Rule::new(RuleAction::Drop { times: 2 }, is_prack));
    let script = ["INVITE", "PRACK 1", "BYE", "PRACK 2", "PRACK 3", "PRACK 4"];
    for (i, packet) in script.into_iter().enumerate() {
        net.send(t0 + ms(i as u64), UAC, UAS, packet);
    }
    let delivered: Vec<&str> = drain_all(&mut net).iter().map(|d| d.packet).collect();
    assert_eq!(delivered, ["INVITE", "BYE", "PRACK 3", "PRACK 4"]);
    assert_eq!(net.stats().dropped_by_rule, 2);
    assert_eq!(net.stats().dropped_random, 0);
    let rule_state = net.rule(rule).unwrap();
    assert_eq!(rule_state.hits(), 2);
    assert!(!rule_state.is_active());
    let rule_drops = net
        .trace()
        .iter()
        .filter(|e| {
            matches!(e.event, TraceEvent::Dropped { reason: DropReason::Rule(id), .. } if id == rule)
        })
        .count();
    assert_eq!(rule_drops, 2);
}

#[test]
fn rules_see_the_direction() {
    let (mut net, t0) = net(2);
    net.add_rule(Rule::new(
        RuleAction::Drop { times: 10 },
        |from: &&str, to: &&str, _: &&str| *from == UAS && *to == UAC,
    ));
    net.send(t0, UAC, UAS, "INVITE");
    net.send(t0, UAS, UAC, "200 OK");
    net.send(t0, UAS, PROXY, "NOTIFY");
    let delivered: Vec<&str> = drain_all(&mut net).iter().map(|d| d.packet).collect();
    assert_eq!(delivered, ["INVITE", "NOTIFY"]);
}

#[test]
fn delay_rule_delays_only_as_often_as_asked() {
    let (mut net, t0) = net(3);
    let is_ok = |_: &&str, _: &&str, p: &&str| *p == "200 OK";
    net.add_rule(Rule::new(RuleAction::Delay(ms(300)), is_ok).times(1));
    net.send(t0, UAS, UAC, "200 OK");
    net.send(t0 + ms(1), UAS, UAC, "200 OK"); // retransmission: not delayed
    net.send(t0 + ms(2), UAS, UAC, "180 Ringing");
    let arrivals: Vec<(&str, Duration)> = drain_all(&mut net)
        .iter()
        .map(|d| (d.packet, d.at - t0))
        .collect();
    assert_eq!(
        arrivals,
        [
            ("200 OK", ms(11)),
            ("180 Ringing", ms(12)),
            ("200 OK", ms(310))
        ]
    );
}

#[test]
fn duplicate_rule_delivers_twice() {
    let (mut net, t0) = net(4);
    net.add_rule(Rule::new(
        RuleAction::Duplicate,
        |_: &&str, _: &&str, p: &&str| *p == "ACK",
    ));
    net.send(t0, UAC, UAS, "ACK");
    net.send(t0, UAC, UAS, "BYE");
    let delivered: Vec<(&str, u32)> = drain_all(&mut net)
        .iter()
        .map(|d| (d.packet, d.copy))
        .collect();
    assert_eq!(delivered, [("ACK", 0), ("ACK", 1), ("BYE", 0)]);
    assert_eq!(net.stats().duplicated, 1);
}

#[test]
fn every_matching_rule_applies_until_a_drop() {
    let (mut net, t0) = net(5);
    let any = |_: &&str, _: &&str, _: &&str| true;
    net.add_rule(Rule::new(RuleAction::Delay(ms(5)), any));
    net.add_rule(Rule::new(RuleAction::Delay(ms(7)), any));
    let drop = net.add_rule(Rule::new(RuleAction::Drop { times: 1 }, any));
    let duplicate_once = net.add_rule(Rule::new(RuleAction::Duplicate, any).times(1));
    net.send(t0, UAC, UAS, "first");
    net.send(t0, UAC, UAS, "second");
    let arrivals: Vec<(&str, Duration, u32)> = drain_all(&mut net)
        .iter()
        .map(|d| (d.packet, d.at - t0, d.copy))
        .collect();
    assert_eq!(arrivals, [("second", ms(22), 0), ("second", ms(22), 1)]);
    assert_eq!(net.rule(drop).unwrap().hits(), 1);
    assert_eq!(net.rule(duplicate_once).unwrap().hits(), 1);
}

#[test]
fn removed_rule_stops_acting() {
    let (mut net, t0) = net(6);
    let id = net.add_rule(Rule::new(RuleAction::Drop { times: 100 }, is_prack));
    net.send(t0, UAC, UAS, "PRACK 1");
    assert!(net.remove_rule(id));
    assert!(!net.remove_rule(id));
    assert!(net.rule(id).is_none());
    net.send(t0, UAC, UAS, "PRACK 2");
    let delivered: Vec<&str> = drain_all(&mut net).iter().map(|d| d.packet).collect();
    assert_eq!(delivered, ["PRACK 2"]);
}

#[test]
fn rules_act_before_random_loss() {
    // With every packet lost at random, the rule still gets its two drops first.
    let (mut net, t0) = net(7);
    net.set_default_link(LinkConfig::lossy(1.0));
    net.add_rule(Rule::new(RuleAction::Drop { times: 2 }, is_prack));
    for _ in 0..5 {
        net.send(t0, UAC, UAS, "PRACK");
    }
    let stats = net.stats();
    assert_eq!((stats.dropped_by_rule, stats.dropped_random), (2, 3));
}

#[test]
fn partition_drops_both_ways_then_heals() {
    let (mut net, t0) = net(8);
    net.send(t0, UAC, UAS, "before"); // arrives at 10 ms, before the partition
    assert_eq!(net.pop_due(t0 + ms(10)).unwrap().packet, "before");
    net.partition(UAC, UAS, t0 + ms(1_000));
    net.send(t0 + ms(20), UAC, UAS, "during a->b");
    net.send(t0 + ms(20), UAS, UAC, "during b->a");
    net.send(t0 + ms(20), UAC, PROXY, "elsewhere");
    net.send(t0 + ms(1_000), UAC, UAS, "after");
    let delivered: Vec<&str> = drain_all(&mut net).iter().map(|d| d.packet).collect();
    assert_eq!(delivered, ["elsewhere", "after"]);
    assert_eq!(net.stats().dropped_by_partition, 2);
}

#[test]
fn packet_in_flight_into_a_partition_is_lost() {
    let (mut net, t0) = net(9);
    net.set_default_link(LinkConfig::perfect().with_delay(ms(100)));
    net.send(t0, UAC, UAS, "in flight"); // would arrive at 100 ms
    net.send(t0 + ms(50), UAC, PROXY, "other");
    assert_eq!(net.pop_due(t0 + ms(50)), None);
    net.partition(UAC, UAS, t0 + ms(200));
    let delivered: Vec<&str> = drain_all(&mut net).iter().map(|d| d.packet).collect();
    assert_eq!(delivered, ["other"]);
    assert_eq!(net.stats().dropped_by_partition, 1);
}

#[test]
fn heal_ends_a_partition_early() {
    let (mut net, t0) = net(10);
    net.partition(UAS, UAC, t0 + ms(10_000));
    net.send(t0, UAC, UAS, "cut");
    net.heal(UAC, UAS);
    net.send(t0 + ms(1), UAC, UAS, "healed");
    let delivered: Vec<&str> = drain_all(&mut net).iter().map(|d| d.packet).collect();
    assert_eq!(delivered, ["healed"]);
}
