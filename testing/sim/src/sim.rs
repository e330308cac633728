//! The driver: runs sans-IO nodes over a [`Network`] on a [`VirtualClock`].

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::{Address, Network, VirtualClock};

/// A sans-IO state machine the simulation can drive: the shape of every protocol core in
/// OpenCEC. Wrap an endpoint in a small adapter implementing this.
pub trait Node<A, P> {
    /// A packet arrived from `from`.
    fn handle_packet(&mut self, now: Instant, from: A, packet: P);
    /// The next packet to send, and to whom; `None` when there is nothing to send.
    fn poll_transmit(&mut self, now: Instant) -> Option<(A, P)>;
    /// When the node next wants [`Node::handle_timeout`]; `None` if no timer is armed.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The time is `now` (at or after the last [`Node::poll_timeout`]).
    fn handle_timeout(&mut self, now: Instant);
}

/// A node the simulation can also hand back as its concrete type.
trait DynNode<A, P>: Node<A, P> {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_node_mut(&mut self) -> &mut dyn Node<A, P>;
}

impl<A, P, N: Node<A, P> + Any> DynNode<A, P> for N {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_node_mut(&mut self) -> &mut dyn Node<A, P> {
        self
    }
}

/// Bounds that stop a misbehaving node from hanging a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Steps one `run_*` call may take.
    pub max_steps: u64,
    /// Consecutive steps without virtual time moving (a timer that keeps firing at the
    /// same instant, or two nodes ping-ponging over zero-delay links).
    pub max_steps_per_instant: u64,
    /// Packets one node may emit after one input.
    pub max_transmits_per_input: usize,
}

impl Default for Limits {
    /// 1,000,000 steps per run, 10,000 steps at one instant, 10,000 packets per input.
    fn default() -> Self {
        Self {
            max_steps: 1_000_000,
            max_steps_per_instant: 10_000,
            max_transmits_per_input: 10_000,
        }
    }
}

/// Why a run stopped early: a node (or the test's setup) would otherwise have hung.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError<A> {
    /// One `run_*` call took [`Limits::max_steps`] steps.
    StepLimit {
        /// Steps taken.
        steps: u64,
        /// Virtual time since the clock's base when it stopped.
        elapsed: Duration,
    },
    /// Virtual time did not move for [`Limits::max_steps_per_instant`] steps.
    Stalled {
        /// Virtual time since the clock's base.
        elapsed: Duration,
        /// The node whose timer or packet was handled last.
        node: Option<A>,
    },
    /// A node kept returning packets from `poll_transmit`.
    TransmitFlood {
        /// The node.
        node: A,
        /// Virtual time since the clock's base.
        elapsed: Duration,
    },
}

impl<A: fmt::Debug> fmt::Display for SimError<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StepLimit { steps, elapsed } => write!(
                f,
                "simulation took {steps} steps without finishing (at +{elapsed:?}); \
                 print Simulation::trace_text() to see the traffic"
            ),
            Self::Stalled { elapsed, node } => write!(
                f,
                "virtual time stuck at +{elapsed:?}, last node {node:?}: a timer that \
                 fires without moving its deadline, or a ping-pong over zero-delay links"
            ),
            Self::TransmitFlood { node, elapsed } => write!(
                f,
                "node {node:?} kept returning packets from poll_transmit at +{elapsed:?}"
            ),
        }
    }
}

impl<A: fmt::Debug> std::error::Error for SimError<A> {}

/// The next thing to happen.
#[derive(Debug, Clone, Copy)]
enum Event<A> {
    Delivery,
    Timeout(A),
}

/// Sans-IO nodes on a simulated network, driven event by event in virtual time.
///
/// Each step moves the clock to the earliest of the next packet arrival and the next node
/// timeout (a timeout in the past fires at the current time; at equal times packets go
/// first, then timers in address order), hands it to the node, and sends everything the
/// node then returns from `poll_transmit` through the network. Before each step every
/// node's `poll_transmit` is drained, so a test can poke a node through
/// [`Simulation::node_mut`] between runs.
pub struct Simulation<A, P> {
    /// Virtual time.
    pub clock: VirtualClock,
    /// The network between the nodes (set links, rules and partitions here).
    pub net: Network<A, P>,
    /// Bounds against nodes that would hang a test.
    pub limits: Limits,
    nodes: BTreeMap<A, Box<dyn DynNode<A, P>>>,
    steps: u64,
    steps_at_this_instant: u64,
    undeliverable: u64,
}

impl<A: Address, P: Clone> Simulation<A, P> {
    /// An empty simulation on a clock started now, with randomness from `seed` and the
    /// network trace on.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self::from_base(seed, VirtualClock::start().base())
    }

    /// As [`Simulation::new`], with the clock starting at `base` (two simulations with the
    /// same base and seed produce identical traces).
    #[must_use]
    pub fn from_base(seed: u64, base: Instant) -> Self {
        let mut net = Network::new(seed);
        net.enable_trace(true);
        Self {
            clock: VirtualClock::from_base(base),
            net,
            limits: Limits::default(),
            nodes: BTreeMap::new(),
            steps: 0,
            steps_at_this_instant: 0,
            undeliverable: 0,
        }
    }

    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Places `node` at `addr` (replacing any node there).
    pub fn add_node<N: Node<A, P> + 'static>(&mut self, addr: A, node: N) {
        self.nodes.insert(addr, Box::new(node));
    }

    /// Takes the node at `addr` off the network (a crash): packets to it are counted in
    /// [`Simulation::undeliverable`]. False if there was none.
    pub fn remove_node(&mut self, addr: A) -> bool {
        self.nodes.remove(&addr).is_some()
    }

    /// The node at `addr` as its concrete type.
    #[must_use]
    pub fn node<T: 'static>(&self, addr: A) -> Option<&T> {
        self.nodes.get(&addr)?.as_any().downcast_ref()
    }

    /// The node at `addr` as its concrete type, to inspect or poke it. Packets it queues
    /// are sent at the start of the next step.
    pub fn node_mut<T: 'static>(&mut self, addr: A) -> Option<&mut T> {
        self.nodes.get_mut(&addr)?.as_any_mut().downcast_mut()
    }

    /// The node at `addr` through the [`Node`] trait.
    pub fn node_dyn_mut(&mut self, addr: A) -> Option<&mut dyn Node<A, P>> {
        Some(self.nodes.get_mut(&addr)?.as_node_mut())
    }

    /// Cuts both directions between `a` and `b` for `duration` from now.
    pub fn partition(&mut self, a: A, b: A, duration: Duration) {
        let now = self.clock.now();
        self.net.observe(now);
        let until = now.checked_add(duration);
        // An unrepresentable end is "for good": as late as the clock can express.
        let until = until.unwrap_or_else(|| far_future(now));
        self.net.partition(a, b, until);
    }

    /// Steps taken since the simulation was built.
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Packets that arrived at an address with no node.
    #[must_use]
    pub fn undeliverable(&self) -> u64 {
        self.undeliverable
    }

    /// The network trace as text, times relative to the clock's base.
    #[must_use]
    pub fn trace_text(&self) -> String {
        self.net.format_trace(self.clock.base())
    }

    /// Processes the next event (a packet arrival or a node timeout). `Ok(false)` when
    /// nothing is scheduled any more.
    pub fn step(&mut self) -> Result<bool, SimError<A>> {
        self.step_before(None)
    }

    /// Runs every event up to and including `deadline`, then sets the clock to it.
    pub fn run_until(&mut self, deadline: Instant) -> Result<(), SimError<A>> {
        let mut steps = 0;
        while self.step_before(Some(deadline))? {
            steps += 1;
            self.check_step_limit(steps)?;
        }
        self.clock.advance_to(deadline);
        Ok(())
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) -> Result<(), SimError<A>> {
        let deadline = self.deadline_after(duration);
        self.run_until(deadline)
    }

    /// Runs until nothing is in flight and no node has a timer or a packet to send, for at
    /// most `limit` of virtual time. True if it went quiet; the clock then stays at the
    /// moment it did, otherwise it ends at the limit.
    pub fn run_until_quiet(&mut self, limit: Duration) -> Result<bool, SimError<A>> {
        self.run_until_condition(limit, Self::is_quiet)
    }

    /// Runs until `done` holds (checked before every step), for at most `limit` of
    /// virtual time. True if it held; otherwise the clock ends at the limit.
    pub fn run_until_condition(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool, SimError<A>> {
        let deadline = self.deadline_after(limit);
        let mut steps = 0;
        loop {
            self.flush()?;
            if done(self) {
                return Ok(true);
            }
            if !self.step_before(Some(deadline))? {
                self.clock.advance_to(deadline);
                return Ok(done(self));
            }
            steps += 1;
            self.check_step_limit(steps)?;
        }
    }

    /// Nothing in flight and no timer armed. Packets a node has queued but not yet
    /// returned from `poll_transmit` are not seen: call [`Simulation::flush`] first
    /// ([`Simulation::run_until_quiet`] does).
    #[must_use]
    pub fn is_quiet(&self) -> bool {
        self.net.in_flight() == 0
            && self
                .nodes
                .values()
                .all(|node| node.poll_timeout().is_none())
    }

    /// Sends whatever every node has queued, at the current time.
    pub fn flush(&mut self) -> Result<(), SimError<A>> {
        let addrs: Vec<A> = self.nodes.keys().copied().collect();
        addrs.into_iter().try_for_each(|addr| self.drain(addr))
    }

    /// One step, unless the next event is after `deadline`.
    fn step_before(&mut self, deadline: Option<Instant>) -> Result<bool, SimError<A>> {
        self.flush()?;
        let Some((at, event)) = self.next_event() else {
            return Ok(false);
        };
        if deadline.is_some_and(|deadline| at > deadline) {
            return Ok(false);
        }
        let before = self.clock.now();
        let now = self.clock.advance_to(at);
        self.steps += 1;
        self.steps_at_this_instant = if now == before {
            self.steps_at_this_instant + 1
        } else {
            0
        };
        let node = match event {
            Event::Delivery => self.deliver(now)?,
            Event::Timeout(addr) => {
                self.net.record_timeout(now, addr);
                if let Some(node) = self.nodes.get_mut(&addr) {
                    node.handle_timeout(now);
                }
                self.drain(addr)?;
                Some(addr)
            }
        };
        if self.steps_at_this_instant >= self.limits.max_steps_per_instant {
            let elapsed = self.clock.elapsed();
            return Err(SimError::Stalled { elapsed, node });
        }
        Ok(true)
    }

    /// Hands the next due packet to its node; returns the node.
    fn deliver(&mut self, now: Instant) -> Result<Option<A>, SimError<A>> {
        // None: the packet was dropped by a partition on arrival.
        let Some(delivery) = self.net.pop_due(now) else {
            return Ok(None);
        };
        let Some(node) = self.nodes.get_mut(&delivery.to) else {
            self.undeliverable += 1;
            return Ok(None);
        };
        node.handle_packet(now, delivery.from, delivery.packet);
        self.drain(delivery.to)?;
        Ok(Some(delivery.to))
    }

    /// Sends everything `addr` returns from `poll_transmit`.
    fn drain(&mut self, addr: A) -> Result<(), SimError<A>> {
        let now = self.clock.now();
        let Some(node) = self.nodes.get_mut(&addr) else {
            return Ok(());
        };
        let mut sent = 0;
        while let Some((to, packet)) = node.poll_transmit(now) {
            if sent >= self.limits.max_transmits_per_input {
                let elapsed = self.clock.elapsed();
                return Err(SimError::TransmitFlood {
                    node: addr,
                    elapsed,
                });
            }
            sent += 1;
            self.net.send(now, addr, to, packet);
        }
        Ok(())
    }

    /// The earliest event; packets before timers at equal times, timers by address.
    fn next_event(&self) -> Option<(Instant, Event<A>)> {
        let now = self.clock.now();
        let timer = self
            .nodes
            .iter()
            .filter_map(|(&addr, node)| Some((node.poll_timeout()?.max(now), addr)))
            .min();
        let delivery = self.net.next_delivery().map(|at| at.max(now));
        match (delivery, timer) {
            (Some(at), Some((timer_at, _))) if at <= timer_at => Some((at, Event::Delivery)),
            (_, Some((timer_at, addr))) => Some((timer_at, Event::Timeout(addr))),
            (Some(at), None) => Some((at, Event::Delivery)),
            (None, None) => None,
        }
    }

    fn check_step_limit(&self, steps: u64) -> Result<(), SimError<A>> {
        if steps >= self.limits.max_steps {
            let elapsed = self.clock.elapsed();
            return Err(SimError::StepLimit { steps, elapsed });
        }
        Ok(())
    }

    fn deadline_after(&self, duration: Duration) -> Instant {
        let now = self.clock.now();
        now.checked_add(duration).unwrap_or_else(|| far_future(now))
    }
}

/// The latest instant reachable from `now` by halving steps (about 292 years ahead on
/// 64-bit platforms): used when a caller's duration overflows `Instant`.
fn far_future(now: Instant) -> Instant {
    let mut end = now;
    let mut step = Duration::MAX;
    while !step.is_zero() {
        if let Some(later) = end.checked_add(step) {
            end = later;
        } else {
            step /= 2;
        }
    }
    end
}

impl<A: fmt::Debug, P> fmt::Debug for Simulation<A, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulation")
            .field("clock", &self.clock)
            .field("net", &self.net)
            .field("nodes", &self.nodes.keys().collect::<Vec<_>>())
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}
