//! The driver's contract with sans-IO nodes: event order, timeouts in the past, clock
//! handling at deadlines, draining transmits, node access, and the limits that turn a
//! node which would hang a test into an error.

use std::time::{Duration, Instant};

use cec_sim::{LinkConfig, Node, SimError, Simulation, TraceEvent, VirtualClock};

type Sim = Simulation<u8, u32>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Records what happened to it; sends what it is told to; has one optional timer.
#[derive(Default)]
struct Probe {
    log: Vec<(Duration, String)>,
    base: Option<Instant>,
    outbox: Vec<(u8, u32)>,
    timer: Option<Instant>,
    /// Re-arm the timer this far ahead each time it fires (None: one-shot).
    period: Option<Duration>,
    /// Never clear the timer (a buggy node).
    stuck: bool,
    /// Answer every packet with packet + 1 to the sender.
    echo: bool,
}

impl Probe {
    fn at(base: Instant) -> Self {
        Self {
            base: Some(base),
            ..Self::default()
        }
    }

    fn note(&mut self, now: Instant, what: String) {
        let offset = self.base.map_or(Duration::ZERO, |base| now - base);
        self.log.push((offset, what));
    }
}

impl Node<u8, u32> for Probe {
    fn handle_packet(&mut self, now: Instant, from: u8, packet: u32) {
        self.note(now, format!("packet {packet} from {from}"));
        if self.echo {
            self.outbox.push((from, packet + 1));
        }
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(u8, u32)> {
        if self.outbox.is_empty() {
            None
        } else {
            Some(self.outbox.remove(0))
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timer
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.note(now, "timeout".to_owned());
        if self.stuck {
            return;
        }
        self.timer = self.period.map(|period| now + period);
    }
}

/// Returns a packet from every poll_transmit, forever.
struct Flooder;

impl Node<u8, u32> for Flooder {
    fn handle_packet(&mut self, _: Instant, _: u8, _: u32) {}
    fn poll_transmit(&mut self, _: Instant) -> Option<(u8, u32)> {
        Some((2, 0))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _: Instant) {}
}

fn sim() -> (Sim, Instant) {
    let base = VirtualClock::start().base();
    let mut sim = Simulation::from_base(1, base);
    sim.net
        .set_default_link(LinkConfig::perfect().with_delay(ms(10)));
    (sim, base)
}

fn log(sim: &Sim, addr: u8) -> Vec<(Duration, String)> {
    sim.node::<Probe>(addr).unwrap().log.clone()
}

#[test]
fn step_processes_one_event_and_reports_when_idle() {
    let (mut sim, base) = sim();
    let mut sender = Probe::at(base);
    sender.outbox.push((2, 5));
    sim.add_node(1, sender);
    sim.add_node(2, Probe::at(base));
    assert!(sim.step().unwrap());
    assert_eq!(sim.clock.elapsed(), ms(10));
    assert_eq!(log(&sim, 2), [(ms(10), "packet 5 from 1".to_owned())]);
    assert!(!sim.step().unwrap());
    assert_eq!(sim.steps(), 1);
}

#[test]
fn packets_go_before_timers_at_the_same_instant_and_timers_by_address() {
    let (mut sim, base) = sim();
    let mut sender = Probe::at(base);
    sender.outbox.push((3, 1));
    sim.add_node(1, sender);
    let mut late = Probe::at(base);
    late.timer = Some(base + ms(10));
    sim.add_node(3, late);
    let mut early_addr = Probe::at(base);
    early_addr.timer = Some(base + ms(10));
    sim.add_node(2, early_addr);
    sim.run_for(ms(100)).unwrap();
    let order: Vec<&TraceEvent<u8>> = sim
        .net
        .trace()
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                TraceEvent::Delivered { .. } | TraceEvent::Timeout { .. }
            )
        })
        .map(|e| &e.event)
        .collect();
    assert!(
        matches!(order[0], TraceEvent::Delivered { to: 3, .. }),
        "{order:?}"
    );
    assert_eq!(order[1], &TraceEvent::Timeout { node: 2 });
    assert_eq!(order[2], &TraceEvent::Timeout { node: 3 });
    assert_eq!(order.len(), 3);
}

#[test]
fn timeout_in_the_past_fires_now_and_the_clock_never_goes_back() {
    let (mut sim, base) = sim();
    sim.clock.advance(ms(5_000));
    let mut node = Probe::at(base);
    node.timer = Some(base + ms(1_000));
    sim.add_node(1, node);
    assert!(sim.step().unwrap());
    assert_eq!(sim.clock.elapsed(), ms(5_000));
    assert_eq!(log(&sim, 1), [(ms(5_000), "timeout".to_owned())]);
}

#[test]
fn run_until_stops_at_the_deadline_and_sets_the_clock() {
    let (mut sim, base) = sim();
    let mut node = Probe::at(base);
    node.timer = Some(base + ms(100));
    node.period = Some(ms(100));
    sim.add_node(1, node);
    sim.run_until(base + ms(350)).unwrap();
    assert_eq!(sim.clock.elapsed(), ms(350));
    let times: Vec<Duration> = log(&sim, 1).into_iter().map(|(at, _)| at).collect();
    assert_eq!(times, [ms(100), ms(200), ms(300)]);
    // An event exactly at the deadline runs.
    sim.run_until(base + ms(400)).unwrap();
    assert_eq!(log(&sim, 1).len(), 4);
    sim.run_for(ms(250)).unwrap();
    assert_eq!(sim.clock.elapsed(), ms(650));
    assert_eq!(log(&sim, 1).len(), 6);
}

#[test]
fn run_until_quiet_gives_up_at_the_limit_on_a_periodic_timer() {
    let (mut sim, base) = sim();
    let mut node = Probe::at(base);
    node.timer = Some(base + ms(100));
    node.period = Some(ms(100));
    sim.add_node(1, node);
    assert!(!sim.run_until_quiet(ms(1_000)).unwrap());
    assert_eq!(sim.clock.elapsed(), ms(1_000));
    assert!(!sim.is_quiet());
}

#[test]
fn run_until_quiet_stops_when_quiet() {
    let (mut sim, base) = sim();
    let mut ping = Probe::at(base);
    ping.outbox.push((2, 1));
    ping.timer = Some(base + ms(15));
    sim.add_node(1, ping);
    sim.add_node(
        2,
        Probe {
            echo: true,
            ..Probe::at(base)
        },
    );
    assert!(sim.run_until_quiet(ms(10_000)).unwrap());
    // The echo comes back at 20 ms, after the one-shot timer at 15 ms.
    assert_eq!(sim.clock.elapsed(), ms(20));
    assert_eq!(
        log(&sim, 1),
        [
            (ms(15), "timeout".to_owned()),
            (ms(20), "packet 2 from 2".to_owned())
        ]
    );
}

#[test]
fn poking_a_node_between_runs_sends_its_packets() {
    let (mut sim, base) = sim();
    sim.add_node(1, Probe::at(base));
    sim.add_node(2, Probe::at(base));
    sim.run_for(ms(50)).unwrap();
    assert!(
        sim.node_mut::<Flooder>(1).is_none(),
        "wrong type must not downcast"
    );
    sim.node_mut::<Probe>(1).unwrap().outbox.push((2, 9));
    sim.run_for(ms(50)).unwrap();
    assert_eq!(log(&sim, 2), [(ms(60), "packet 9 from 1".to_owned())]);
    let now = sim.now();
    sim.node_dyn_mut(2).unwrap().handle_timeout(now);
    assert_eq!(log(&sim, 2).len(), 2);
    assert!(sim.node_dyn_mut(7).is_none());
}

#[test]
fn packets_to_missing_or_removed_nodes_are_counted() {
    let (mut sim, base) = sim();
    let mut sender = Probe::at(base);
    sender.outbox.extend([(9, 1), (2, 2)]);
    sim.add_node(1, sender);
    sim.add_node(2, Probe::at(base));
    assert!(sim.remove_node(2));
    assert!(!sim.remove_node(2));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(sim.undeliverable(), 2);
}

#[test]
fn a_timer_that_never_moves_is_reported_not_hung() {
    let (mut sim, base) = sim();
    let mut node = Probe::at(base);
    node.timer = Some(base + ms(30));
    node.stuck = true;
    sim.add_node(4, node);
    let err = sim.run_for(ms(1_000)).unwrap_err();
    assert_eq!(
        err,
        SimError::Stalled {
            elapsed: ms(30),
            node: Some(4)
        }
    );
    assert!(
        err.to_string().contains("virtual time stuck at +30ms"),
        "{err}"
    );
    // The first firing moved the clock to 30 ms; then the limit's worth at 30 ms.
    assert_eq!(sim.steps(), sim.limits.max_steps_per_instant + 1);
}

#[test]
fn zero_delay_ping_pong_is_reported_as_stalled() {
    let (mut sim, base) = sim();
    sim.net.set_default_link(LinkConfig::perfect());
    sim.add_node(
        1,
        Probe {
            echo: true,
            ..Probe::at(base)
        },
    );
    sim.add_node(
        2,
        Probe {
            echo: true,
            ..Probe::at(base)
        },
    );
    sim.node_mut::<Probe>(1).unwrap().outbox.push((2, 0));
    let err = sim.run_until_quiet(ms(1_000)).unwrap_err();
    assert!(
        matches!(err, SimError::Stalled { elapsed, .. } if elapsed.is_zero()),
        "{err:?}"
    );
}

#[test]
fn step_limit_bounds_a_run() {
    let (mut sim, base) = sim();
    sim.limits.max_steps = 100;
    let mut node = Probe::at(base);
    node.timer = Some(base + ms(1));
    node.period = Some(ms(1));
    sim.add_node(1, node);
    let err = sim.run_for(Duration::from_secs(3_600)).unwrap_err();
    assert_eq!(
        err,
        SimError::StepLimit {
            steps: 100,
            elapsed: ms(100)
        }
    );
    assert!(err.to_string().contains("100 steps"));
}

#[test]
fn a_node_that_never_stops_sending_is_reported() {
    let (mut sim, _) = sim();
    sim.limits.max_transmits_per_input = 50;
    sim.add_node(1, Flooder);
    let err = sim.step().unwrap_err();
    assert_eq!(
        err,
        SimError::TransmitFlood {
            node: 1,
            elapsed: Duration::ZERO
        }
    );
    assert_eq!(sim.net.stats().sent, 50);
}

#[test]
fn partition_helper_cuts_from_now_for_a_duration() {
    let (mut sim, base) = sim();
    sim.add_node(1, Probe::at(base));
    sim.add_node(2, Probe::at(base));
    sim.run_for(ms(100)).unwrap();
    sim.partition(1, 2, ms(500));
    sim.node_mut::<Probe>(1).unwrap().outbox.push((2, 1));
    sim.run_for(ms(500)).unwrap();
    sim.node_mut::<Probe>(1).unwrap().outbox.push((2, 2));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(log(&sim, 2), [(ms(610), "packet 2 from 1".to_owned())]);
    assert_eq!(sim.net.stats().dropped_by_partition, 1);
    assert!(
        sim.trace_text().contains("dropped (Partition)"),
        "{}",
        sim.trace_text()
    );
}

#[test]
fn huge_durations_do_not_panic() {
    let (mut sim, base) = sim();
    let mut node = Probe::at(base);
    node.timer = Some(base + ms(10));
    sim.add_node(1, node);
    sim.partition(1, 2, Duration::MAX);
    assert!(sim.run_until_quiet(Duration::MAX).unwrap());
    assert_eq!(sim.clock.elapsed(), ms(10));
    sim.run_for(Duration::MAX).unwrap();
    assert!(sim.clock.elapsed() > Duration::from_secs(100 * 365 * 24 * 3_600));
}
