//! The simulated network: links, scripted rules, partitions and the in-flight queue.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::trace::format_trace;
use crate::{Address, DropReason, LinkConfig, Rng, Rule, RuleAction, RuleId, Stats};
use crate::{TraceEntry, TraceEvent};

/// A function of a packet: its size, its trace label.
type PacketFn<P, T> = Box<dyn Fn(&P) -> T>;

/// A packet handed to its receiver by [`Network::pop_due`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<A, P> {
    /// The virtual instant it arrived.
    pub at: Instant,
    /// Sender.
    pub from: A,
    /// Receiver.
    pub to: A,
    /// The packet.
    pub packet: P,
    /// Send number (see [`TraceEvent::Sent`]).
    pub packet_id: u64,
    /// 0 for the original, 1 and up for duplicates.
    pub copy: u32,
}

/// A packet copy on its way.
struct InFlight<A, P> {
    packet_id: u64,
    copy: u32,
    from: A,
    to: A,
    packet: P,
    label: Option<String>,
}

/// Both directions between `a` and `b` are cut from `since` until `until`.
#[derive(Debug, Clone, Copy)]
struct Partition<A> {
    a: A,
    b: A,
    /// `None`: since before anything the network has seen.
    since: Option<Instant>,
    until: Instant,
}

impl<A: Address> Partition<A> {
    fn cuts(&self, from: A, to: A, at: Instant) -> bool {
        let pair = (from == self.a && to == self.b) || (from == self.b && to == self.a);
        pair && self.since.is_none_or(|since| since <= at) && at < self.until
    }
}

/// A deterministic network of one-way links between addresses of type `A` carrying
/// packets of type `P`.
///
/// [`Network::send`] decides a packet's fate at once (rules, loss, duplication, delay) and
/// queues the copies that survive; [`Network::pop_due`] hands them out in delivery-time
/// order, ties in send order. All randomness comes from the seed given to
/// [`Network::new`], so the same seed and the same calls give the same outcome.
pub struct Network<A, P> {
    rng: Rng,
    default_link: LinkConfig,
    links: BTreeMap<(A, A), LinkConfig>,
    rules: Vec<(RuleId, Rule<A, P>)>,
    next_rule_id: u64,
    partitions: Vec<Partition<A>>,
    in_flight: BTreeMap<(Instant, u64), InFlight<A, P>>,
    /// Increments per scheduled copy: breaks delivery-time ties in send order.
    next_order: u64,
    next_packet_id: u64,
    /// When each rate-limited link finishes serializing what is queued on it.
    link_busy_until: BTreeMap<(A, A), Instant>,
    /// The latest `now` any call has passed in: the start of a new partition.
    latest_now: Option<Instant>,
    packet_size: Option<PacketFn<P, usize>>,
    labeler: Option<PacketFn<P, String>>,
    stats: Stats,
    trace: Option<Vec<TraceEntry<A>>>,
}

impl<A: Address, P: Clone> Network<A, P> {
    /// A network whose links are all [`LinkConfig::perfect`], with randomness from `seed`
    /// and the trace off.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            default_link: LinkConfig::perfect(),
            links: BTreeMap::new(),
            rules: Vec::new(),
            next_rule_id: 0,
            partitions: Vec::new(),
            in_flight: BTreeMap::new(),
            next_order: 0,
            next_packet_id: 0,
            link_busy_until: BTreeMap::new(),
            latest_now: None,
            packet_size: None,
            labeler: None,
            stats: Stats::default(),
            trace: None,
        }
    }

    /// The link used between addresses without a link of their own.
    pub fn set_default_link(&mut self, link: LinkConfig) {
        self.default_link = link;
    }

    /// The one-way link from `from` to `to`.
    pub fn set_link(&mut self, from: A, to: A, link: LinkConfig) {
        self.links.insert((from, to), link);
    }

    /// The same link in both directions between `a` and `b`.
    pub fn set_link_both(&mut self, a: A, b: A, link: LinkConfig) {
        self.set_link(a, b, link);
        self.set_link(b, a, link);
    }

    /// The link in force from `from` to `to`.
    #[must_use]
    pub fn link(&self, from: A, to: A) -> &LinkConfig {
        self.links.get(&(from, to)).unwrap_or(&self.default_link)
    }

    /// Adds a scripted fault (checked after the ones added before it).
    pub fn add_rule(&mut self, rule: Rule<A, P>) -> RuleId {
        let id = RuleId(self.next_rule_id);
        self.next_rule_id += 1;
        self.rules.push((id, rule));
        id
    }

    /// Removes a rule; false if it was not there.
    pub fn remove_rule(&mut self, id: RuleId) -> bool {
        let before = self.rules.len();
        self.rules.retain(|(rule_id, _)| *rule_id != id);
        self.rules.len() != before
    }

    /// The rule with this id, to check how often it fired.
    #[must_use]
    pub fn rule(&self, id: RuleId) -> Option<&Rule<A, P>> {
        self.rules
            .iter()
            .find(|(rule_id, _)| *rule_id == id)
            .map(|(_, rule)| rule)
    }

    /// Cuts both directions between `a` and `b` until `until`: packets sent, or arriving,
    /// from now (the latest time the network has been told about) until then are dropped.
    pub fn partition(&mut self, a: A, b: A, until: Instant) {
        let since = self.latest_now.map(|latest| latest.min(until));
        self.partitions.push(Partition { a, b, since, until });
    }

    /// Ends every partition between `a` and `b` at once.
    pub fn heal(&mut self, a: A, b: A) {
        self.partitions
            .retain(|p| !((p.a == a && p.b == b) || (p.a == b && p.b == a)));
    }

    /// Sizes packets for [`crate::Bandwidth::BytesPerSecond`] links.
    pub fn set_packet_size(&mut self, size: impl Fn(&P) -> usize + 'static) {
        self.packet_size = Some(Box::new(size));
    }

    /// Names packets in the trace (e.g. the SIP method or status line).
    pub fn set_labeler(&mut self, label: impl Fn(&P) -> String + 'static) {
        self.labeler = Some(Box::new(label));
    }

    /// Turns the event log on or off (off drops what was recorded).
    pub fn enable_trace(&mut self, on: bool) {
        self.trace = on.then(|| self.trace.take().unwrap_or_default());
    }

    /// Everything recorded since the trace was turned on.
    #[must_use]
    pub fn trace(&self) -> &[TraceEntry<A>] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// The trace as text, one event per line, times relative to `base` (usually
    /// [`crate::VirtualClock::base`]).
    #[must_use]
    pub fn format_trace(&self, base: Instant) -> String {
        format_trace(self.trace(), base)
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Packet copies scheduled but not yet delivered or dropped.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Sends `packet` from `from` to `to` at `now`: decides its fate and queues the copies
    /// that will arrive.
    pub fn send(&mut self, now: Instant, from: A, to: A, packet: P) {
        self.observe(now);
        let packet_id = self.next_packet_id;
        self.next_packet_id += 1;
        self.stats.sent += 1;
        let label = self.label(&packet);
        self.record(
            now,
            TraceEvent::Sent {
                packet: packet_id,
                from,
                to,
            },
            &label,
        );
        let drop = |reason| TraceEvent::Dropped {
            packet: packet_id,
            copy: 0,
            from,
            to,
            reason,
        };
        if self.partitioned(from, to, now) {
            self.stats.dropped_by_partition += 1;
            self.record(now, drop(DropReason::Partition), &label);
            return;
        }
        let mut extra_delay = Duration::ZERO;
        let mut copies: u32 = 1;
        for (id, rule) in &mut self.rules {
            if !rule.try_apply(&from, &to, &packet) {
                continue;
            }
            match rule.action {
                RuleAction::Drop { .. } => {
                    let reason = DropReason::Rule(*id);
                    self.stats.dropped_by_rule += 1;
                    self.record(now, drop(reason), &label);
                    return;
                }
                RuleAction::Delay(by) => extra_delay = extra_delay.saturating_add(by),
                RuleAction::Duplicate => copies = copies.saturating_add(1),
            }
        }
        let link = *self.link(from, to);
        if self.rng.chance(link.duplicate) {
            copies = copies.saturating_add(1);
        }
        self.stats.duplicated += u64::from(copies - 1);
        let mut original = Some(packet);
        for copy in 0..copies {
            let payload = if copy + 1 < copies {
                original.clone()
            } else {
                original.take()
            };
            let Some(payload) = payload else { break };
            let copy = InFlight {
                packet_id,
                copy,
                from,
                to,
                packet: payload,
                label: label.clone(),
            };
            self.transmit_copy(now, &link, extra_delay, copy);
        }
    }

    /// The earliest instant a queued copy arrives.
    #[must_use]
    pub fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.keys().next().map(|&(at, _)| at)
    }

    /// The next copy due at or before `now`, in delivery-time order (ties in send order).
    /// Copies arriving while their endpoints are partitioned are dropped on the way.
    pub fn pop_due(&mut self, now: Instant) -> Option<Delivery<A, P>> {
        self.observe(now);
        loop {
            let entry = self.in_flight.first_entry()?;
            if entry.key().0 > now {
                return None;
            }
            let ((at, _), flight) = entry.remove_entry();
            let (packet, copy, from, to) = (flight.packet_id, flight.copy, flight.from, flight.to);
            if self.partitioned(from, to, at) {
                self.stats.dropped_by_partition += 1;
                let reason = DropReason::Partition;
                let event = TraceEvent::Dropped {
                    packet,
                    copy,
                    from,
                    to,
                    reason,
                };
                self.record(at, event, &flight.label);
                continue;
            }
            self.stats.delivered += 1;
            let event = TraceEvent::Delivered {
                packet,
                copy,
                from,
                to,
            };
            self.record(at, event, &flight.label);
            return Some(Delivery {
                at,
                from,
                to,
                packet: flight.packet,
                packet_id: packet,
                copy,
            });
        }
    }

    /// Records a node timer firing (the simulation driver calls this).
    pub(crate) fn record_timeout(&mut self, now: Instant, node: A) {
        self.observe(now);
        self.record(now, TraceEvent::Timeout { node }, &None);
    }

    /// Random loss, delay, jitter, reordering and queueing for one copy.
    fn transmit_copy(
        &mut self,
        now: Instant,
        link: &LinkConfig,
        extra_delay: Duration,
        flight: InFlight<A, P>,
    ) {
        let departs = self.serialize(now, link, flight.from, flight.to, &flight.packet);
        let dropped = |network: &mut Self, reason| {
            network.stats.dropped_random += 1;
            let event = TraceEvent::Dropped {
                packet: flight.packet_id,
                copy: flight.copy,
                from: flight.from,
                to: flight.to,
                reason,
            };
            network.record(now, event, &flight.label);
        };
        if self.rng.chance(link.loss) {
            dropped(self, DropReason::Random);
            return;
        }
        let mut delay = link.delay.saturating_add(extra_delay);
        if !link.jitter.is_zero() {
            let jitter = self.rng.duration_between(Duration::ZERO, link.jitter);
            delay = delay.saturating_add(jitter);
        }
        if link.reorder > 0.0 && self.rng.chance(link.reorder) {
            delay = delay.saturating_add(link.reorder_delay);
        }
        let Some(at) = departs.and_then(|departs| departs.checked_add(delay)) else {
            dropped(self, DropReason::TimeOverflow);
            return;
        };
        let event = TraceEvent::Scheduled {
            packet: flight.packet_id,
            copy: flight.copy,
            from: flight.from,
            to: flight.to,
            deliver_at: at,
        };
        self.record(now, event, &flight.label);
        let order = self.next_order;
        self.next_order += 1;
        self.in_flight.insert((at, order), flight);
    }

    /// When the packet leaves the sender's end of the link, after the ones queued before
    /// it on a rate-limited link; `None` if that is past what `Instant` can hold.
    fn serialize(
        &mut self,
        now: Instant,
        link: &LinkConfig,
        from: A,
        to: A,
        packet: &P,
    ) -> Option<Instant> {
        let Some(bandwidth) = link.bandwidth else {
            return Some(now);
        };
        let size = self.packet_size.as_ref().map_or(1, |size| size(packet));
        let busy_until = self.link_busy_until.entry((from, to)).or_insert(now);
        let start = (*busy_until).max(now);
        let done = start.checked_add(bandwidth.serialization_time(size))?;
        *busy_until = done;
        Some(done)
    }

    fn partitioned(&self, from: A, to: A, at: Instant) -> bool {
        self.partitions.iter().any(|p| p.cuts(from, to, at))
    }

    /// Tells the network the time without sending anything (a partition starts then).
    pub(crate) fn observe(&mut self, now: Instant) {
        self.latest_now = Some(self.latest_now.map_or(now, |latest| latest.max(now)));
    }

    fn label(&self, packet: &P) -> Option<String> {
        match (&self.trace, &self.labeler) {
            (Some(_), Some(label)) => Some(label(packet)),
            _ => None,
        }
    }

    fn record(&mut self, at: Instant, event: TraceEvent<A>, label: &Option<String>) {
        if let Some(trace) = &mut self.trace {
            trace.push(TraceEntry {
                at,
                event,
                label: label.clone(),
            });
        }
    }
}

impl<A: fmt::Debug, P> fmt::Debug for Network<A, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("default_link", &self.default_link)
            .field("links", &self.links)
            .field("rules", &self.rules)
            .field("partitions", &self.partitions)
            .field("in_flight", &self.in_flight.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
