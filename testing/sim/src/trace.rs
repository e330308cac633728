//! Statistics and the event log a failing test can print.

use std::fmt::{self, Write as _};
use std::time::Instant;

use crate::RuleId;

/// Counters over everything a [`crate::Network`] did.
///
/// Every packet sent and every duplicate made ends up in exactly one of `delivered`,
/// `dropped_random`, `dropped_by_rule` and `dropped_by_partition`, or is still in flight:
/// `sent + duplicated == delivered + dropped() + in_flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets handed to [`crate::Network::send`].
    pub sent: u64,
    /// Copies handed back by [`crate::Network::pop_due`].
    pub delivered: u64,
    /// Copies lost to a link's random `loss` (or whose delivery time would overflow).
    pub dropped_random: u64,
    /// Packets dropped by a [`crate::Rule`].
    pub dropped_by_rule: u64,
    /// Copies dropped because their endpoints were partitioned at send or arrival time.
    pub dropped_by_partition: u64,
    /// Extra copies made, by the link's `duplicate` probability or by a rule.
    pub duplicated: u64,
}

impl Stats {
    /// All drops, whatever the cause.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped_random + self.dropped_by_rule + self.dropped_by_partition
    }
}

/// Why a packet (or one copy of it) was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The link's random loss.
    Random,
    /// A scripted rule.
    Rule(RuleId),
    /// A partition between the two endpoints.
    Partition,
    /// The delivery time is past what `Instant` can represent.
    TimeOverflow,
}

/// One event in the network's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent<A> {
    /// A packet was handed to the network; `packet` numbers sends from 0.
    Sent {
        /// Send number.
        packet: u64,
        /// Sender.
        from: A,
        /// Destination.
        to: A,
    },
    /// A copy of a packet will be delivered at `deliver_at` (copy 0 is the original).
    Scheduled {
        /// Send number.
        packet: u64,
        /// Copy number; 0 is the original.
        copy: u32,
        /// Sender.
        from: A,
        /// Destination.
        to: A,
        /// When it will arrive.
        deliver_at: Instant,
    },
    /// A copy of a packet was dropped.
    Dropped {
        /// Send number.
        packet: u64,
        /// Copy number; 0 is the original.
        copy: u32,
        /// Sender.
        from: A,
        /// Destination.
        to: A,
        /// Why.
        reason: DropReason,
    },
    /// A copy of a packet was handed to the receiver.
    Delivered {
        /// Send number.
        packet: u64,
        /// Copy number; 0 is the original.
        copy: u32,
        /// Sender.
        from: A,
        /// Destination.
        to: A,
    },
    /// A node's timer fired (recorded by [`crate::Simulation`]).
    Timeout {
        /// The node.
        node: A,
    },
}

/// A timestamped [`TraceEvent`] with the packet's label, if a labeller is set
/// ([`crate::Network::set_labeler`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry<A> {
    /// When it happened (virtual time).
    pub at: Instant,
    /// What happened.
    pub event: TraceEvent<A>,
    /// The packet's label, e.g. "INVITE" or "200 OK".
    pub label: Option<String>,
}

impl<A: fmt::Debug> TraceEntry<A> {
    /// One line for a log: time since `base`, the event, the label.
    #[must_use]
    pub fn display(&self, base: Instant) -> impl fmt::Display + '_ {
        DisplayEntry { entry: self, base }
    }
}

struct DisplayEntry<'a, A> {
    entry: &'a TraceEntry<A>,
    base: Instant,
}

impl<A: fmt::Debug> fmt::Display for DisplayEntry<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = self.entry.at.saturating_duration_since(self.base);
        write!(f, "+{:>10.6}s ", offset.as_secs_f64())?;
        match &self.entry.event {
            TraceEvent::Sent { packet, from, to } => {
                write!(f, "#{packet} {from:?} -> {to:?} sent")?;
            }
            TraceEvent::Scheduled {
                packet,
                copy,
                from,
                to,
                deliver_at,
            } => {
                let arrival = deliver_at.saturating_duration_since(self.base);
                write!(
                    f,
                    "#{packet}.{copy} {from:?} -> {to:?} arrives at +{:.6}s",
                    arrival.as_secs_f64()
                )?;
            }
            TraceEvent::Dropped {
                packet,
                copy,
                from,
                to,
                reason,
            } => write!(
                f,
                "#{packet}.{copy} {from:?} -> {to:?} dropped ({reason:?})"
            )?,
            TraceEvent::Delivered {
                packet,
                copy,
                from,
                to,
            } => write!(f, "#{packet}.{copy} {from:?} -> {to:?} delivered")?,
            TraceEvent::Timeout { node } => write!(f, "{node:?} timeout")?,
        }
        if let Some(label) = &self.entry.label {
            write!(f, " {label}")?;
        }
        Ok(())
    }
}

/// The whole trace, one line per entry, times relative to `base`.
#[must_use]
pub fn format_trace<A: fmt::Debug>(trace: &[TraceEntry<A>], base: Instant) -> String {
    let mut out = String::new();
    for entry in trace {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{}", entry.display(base));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_every_event_kind() {
        let base = crate::VirtualClock::start().now();
        let at = base + Duration::from_millis(1_500);
        let entry = |event, label: Option<&str>| TraceEntry {
            at,
            event,
            label: label.map(str::to_owned),
        };
        let (from, to) = ('a', 'b');
        let trace = vec![
            entry(
                TraceEvent::Sent {
                    packet: 3,
                    from,
                    to,
                },
                Some("INVITE"),
            ),
            entry(
                TraceEvent::Scheduled {
                    packet: 3,
                    copy: 1,
                    from,
                    to,
                    deliver_at: at + Duration::from_millis(20),
                },
                None,
            ),
            entry(
                TraceEvent::Dropped {
                    packet: 3,
                    copy: 0,
                    from,
                    to,
                    reason: DropReason::Rule(RuleId(4)),
                },
                None,
            ),
            entry(
                TraceEvent::Delivered {
                    packet: 3,
                    copy: 1,
                    from,
                    to,
                },
                None,
            ),
            entry(TraceEvent::Timeout { node: 'b' }, None),
        ];
        let text = format_trace(&trace, base);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "+  1.500000s #3 'a' -> 'b' sent INVITE",
                "+  1.500000s #3.1 'a' -> 'b' arrives at +1.520000s",
                "+  1.500000s #3.0 'a' -> 'b' dropped (Rule(RuleId(4)))",
                "+  1.500000s #3.1 'a' -> 'b' delivered",
                "+  1.500000s 'b' timeout",
            ]
        );
    }

    #[test]
    fn dropped_sums_the_causes() {
        let stats = Stats {
            dropped_random: 1,
            dropped_by_rule: 2,
            dropped_by_partition: 4,
            ..Stats::default()
        };
        assert_eq!(stats.dropped(), 7);
    }
}
