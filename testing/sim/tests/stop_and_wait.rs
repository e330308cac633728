//! A tiny stop-and-wait protocol run through the simulator: the sender sends one numbered
//! message, waits for its acknowledgement and retransmits on a timer; the receiver
//! acknowledges everything and keeps each message once, in order.
//!
//! It pins that the driver delivers packets, fires timers and drains transmits the way a
//! sans-IO SIP transaction needs ("INVITE over UDP with 30 % loss completes"), and it is
//! the worked example of writing [`Node`] adapters and asserting on the outcome.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use cec_sim::{LinkConfig, Node, Rule, RuleAction, Simulation, VirtualClock};

const SENDER: &str = "sender";
const RECEIVER: &str = "receiver";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Msg {
    Data { seq: u32, payload: u32 },
    Ack { seq: u32 },
}

/// Sends `payloads` one at a time; retransmits after `rto` without an ack (if enabled).
struct Sender {
    payloads: Vec<u32>,
    next: usize,
    rto: Duration,
    retransmit: bool,
    send_now: bool,
    retransmit_at: Option<Instant>,
    retransmissions: u32,
    done_at: Option<Instant>,
}

impl Sender {
    fn new(count: u32, retransmit: bool) -> Self {
        Self {
            payloads: (0..count).map(|i| i * 10).collect(),
            next: 0,
            rto: Duration::from_millis(200),
            retransmit,
            send_now: true,
            retransmit_at: None,
            retransmissions: 0,
            done_at: None,
        }
    }
}

impl Node<&'static str, Msg> for Sender {
    fn handle_packet(&mut self, now: Instant, _from: &'static str, packet: Msg) {
        let Msg::Ack { seq } = packet else { return };
        if seq as usize != self.next {
            return; // a late duplicate ack for an earlier message
        }
        self.next += 1;
        self.retransmit_at = None;
        self.send_now = self.next < self.payloads.len();
        if !self.send_now {
            self.done_at = Some(now);
        }
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<(&'static str, Msg)> {
        if !self.send_now {
            return None;
        }
        let payload = *self.payloads.get(self.next)?;
        self.send_now = false;
        if self.retransmit {
            self.retransmit_at = Some(now + self.rto);
        }
        let seq = self.next as u32;
        Some((RECEIVER, Msg::Data { seq, payload }))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.retransmit_at
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.retransmit_at.is_some_and(|at| at <= now) {
            self.retransmit_at = None;
            self.retransmissions += 1;
            self.send_now = true;
        }
    }
}

/// Acknowledges every message; keeps the next expected one.
#[derive(Default)]
struct Receiver {
    expected: u32,
    received: Vec<u32>,
    acks: VecDeque<(&'static str, u32)>,
}

impl Node<&'static str, Msg> for Receiver {
    fn handle_packet(&mut self, _now: Instant, from: &'static str, packet: Msg) {
        let Msg::Data { seq, payload } = packet else {
            return;
        };
        if seq == self.expected {
            self.received.push(payload);
            self.expected += 1;
        }
        if seq < self.expected {
            self.acks.push_back((from, seq));
        }
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(&'static str, Msg)> {
        let (to, seq) = self.acks.pop_front()?;
        Some((to, Msg::Ack { seq }))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) {}
}

fn simulation(seed: u64, base: Instant, link: LinkConfig, count: u32, retransmit: bool) -> Sim {
    let mut sim = Simulation::from_base(seed, base);
    sim.net.set_default_link(link);
    sim.net.set_labeler(|msg: &Msg| format!("{msg:?}"));
    sim.add_node(SENDER, Sender::new(count, retransmit));
    sim.add_node(RECEIVER, Receiver::default());
    sim
}

type Sim = Simulation<&'static str, Msg>;

fn sender_done(sim: &Sim) -> bool {
    sim.node::<Sender>(SENDER)
        .is_some_and(|s| s.done_at.is_some())
}

fn expected_payloads(count: u32) -> Vec<u32> {
    (0..count).map(|i| i * 10).collect()
}

#[test]
fn completes_under_30_percent_loss_for_many_seeds() {
    let base = VirtualClock::start().base();
    for seed in 0..20 {
        let mut sim = simulation(seed, base, LinkConfig::lossy(0.3), 50, true);
        let done = sim
            .run_until_condition(Duration::from_secs(120), sender_done)
            .unwrap();
        assert!(done, "seed {seed} did not finish:\n{}", sim.trace_text());
        let receiver = sim.node::<Receiver>(RECEIVER).unwrap();
        assert_eq!(receiver.received, expected_payloads(50), "seed {seed}");
        let sender = sim.node::<Sender>(SENDER).unwrap();
        assert!(sender.retransmissions > 0, "seed {seed}: loss never bit");
        assert!(sim.net.stats().dropped_random > 0);
    }
}

#[test]
fn without_retransmission_loss_stalls_the_transfer() {
    // The same run with the timer off goes quiet part-way: the simulator really loses
    // packets and the timer is what recovers them.
    let base = VirtualClock::start().base();
    let mut sim = simulation(3, base, LinkConfig::lossy(0.3), 50, false);
    assert!(sim.run_until_quiet(Duration::from_secs(120)).unwrap());
    assert!(!sender_done(&sim));
    assert!(sim.node::<Receiver>(RECEIVER).unwrap().received.len() < 50);
}

#[test]
fn exactly_once_in_order_over_a_wan_with_duplicates_and_reordering() {
    let base = VirtualClock::start().base();
    let link = LinkConfig::wan()
        .with_duplicate(0.2)
        .with_reorder(0.2, Duration::from_millis(300));
    let mut sim = simulation(11, base, link, 100, true);
    let done = sim
        .run_until_condition(Duration::from_secs(300), sender_done)
        .unwrap();
    assert!(done, "{}", sim.trace_text());
    assert!(sim.net.stats().duplicated > 0);
    assert_eq!(
        sim.node::<Receiver>(RECEIVER).unwrap().received,
        expected_payloads(100)
    );
}

#[test]
fn a_lost_ack_costs_exactly_one_timeout() {
    let base = VirtualClock::start().base();
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(20));
    let mut sim = simulation(0, base, link, 3, true);
    let first_ack = |_: &&str, _: &&str, msg: &Msg| *msg == Msg::Ack { seq: 0 };
    let rule = sim
        .net
        .add_rule(Rule::new(RuleAction::Drop { times: 1 }, first_ack));
    assert!(sim.run_until_quiet(Duration::from_secs(10)).unwrap());
    let sender = sim.node::<Sender>(SENDER).unwrap();
    assert_eq!(sender.retransmissions, 1);
    // Data 0 at 0 ms, its ack dropped; retransmitted at 200 ms, acked at 240 ms; then two
    // more round trips of 40 ms each.
    assert_eq!(sender.done_at.unwrap() - base, Duration::from_millis(320));
    assert_eq!(sim.clock.elapsed(), Duration::from_millis(320));
    assert_eq!(sim.net.rule(rule).unwrap().hits(), 1);
    // Data 0 twice, ack 0 twice (one dropped), then data and ack for 1 and 2.
    let stats = sim.net.stats();
    assert_eq!(
        (stats.sent, stats.delivered, stats.dropped_by_rule),
        (8, 7, 1)
    );
}

#[test]
fn same_seed_replays_the_same_run_and_another_seed_does_not() {
    let base = VirtualClock::start().base();
    let run = |seed| {
        let mut sim = simulation(seed, base, LinkConfig::wan().with_loss(0.2), 30, true);
        assert!(
            sim.run_until_condition(Duration::from_secs(60), sender_done)
                .unwrap()
        );
        (sim.net.trace().to_vec(), sim.clock.now(), sim.net.stats())
    };
    let first = run(42);
    assert!(first.0.len() > 100);
    assert_eq!(first, run(42));
    assert_ne!(first.0, run(43).0);
}
