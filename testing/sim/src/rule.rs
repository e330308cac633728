//! Scripted faults: "drop the first two PRACKs", "delay the 200 OK by 300 ms".

use std::fmt;
use std::time::Duration;

/// What a [`Rule`] does to a packet it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Drop the packet; the rule is used up after `times` drops.
    Drop {
        /// How many matching packets to drop.
        times: usize,
    },
    /// Add this much delay on top of the link's.
    Delay(Duration),
    /// Deliver one extra copy (with its own link delay).
    Duplicate,
}

/// Handle of a rule added with [`crate::Network::add_rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub(crate) u64);

/// Predicate deciding whether a rule applies to a packet: `(from, to, packet)`.
type Matcher<A, P> = Box<dyn Fn(&A, &A, &P) -> bool>;

/// A scripted fault: a predicate on `(from, to, packet)` and an action.
///
/// Rules are checked at send time, in the order they were added, before any random link
/// behaviour. Every matching rule with uses left applies; a drop ends the evaluation.
///
/// ```
/// use std::time::Duration;
/// use cec_sim::{Rule, RuleAction};
///
/// // Drop the first two packets that start with "PRACK".
/// let drop_pracks = Rule::new(RuleAction::Drop { times: 2 }, |_from: &u8, _to: &u8, p: &String| {
///     p.starts_with("PRACK")
/// });
/// // Delay the first 200 OK (not its retransmissions) by 300 ms.
/// let late_ok = Rule::new(RuleAction::Delay(Duration::from_millis(300)), |_: &u8, _: &u8, p: &String| {
///     p.starts_with("SIP/2.0 200")
/// })
/// .times(1);
/// # let _ = (drop_pracks, late_ok);
/// ```
pub struct Rule<A, P> {
    pub(crate) matcher: Matcher<A, P>,
    pub(crate) action: RuleAction,
    /// Uses left; `None` is unlimited.
    pub(crate) remaining: Option<usize>,
    /// How many packets the rule has acted on.
    pub(crate) hits: usize,
}

impl<A, P> Rule<A, P> {
    /// A rule applying `action` to packets `matcher` accepts. A `Drop { times }` rule is
    /// used up after `times` drops; the others apply to every match until limited with
    /// [`Rule::times`].
    #[must_use]
    pub fn new(action: RuleAction, matcher: impl Fn(&A, &A, &P) -> bool + 'static) -> Self {
        let remaining = match action {
            RuleAction::Drop { times } => Some(times),
            RuleAction::Delay(_) | RuleAction::Duplicate => None,
        };
        Self {
            matcher: Box::new(matcher),
            action,
            remaining,
            hits: 0,
        }
    }

    /// Limits the rule to its first `n` matching packets (for a drop rule this replaces
    /// `times`).
    #[must_use]
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    /// The rule's action.
    #[must_use]
    pub fn action(&self) -> RuleAction {
        self.action
    }

    /// How many packets the rule has acted on so far.
    #[must_use]
    pub fn hits(&self) -> usize {
        self.hits
    }

    /// Whether the rule can still act.
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.remaining != Some(0)
    }

    /// Applies the rule to a packet if it matches and has uses left; returns whether it
    /// acted.
    pub(crate) fn try_apply(&mut self, from: &A, to: &A, packet: &P) -> bool {
        if !self.is_active() || !(self.matcher)(from, to, packet) {
            return false;
        }
        if let Some(left) = &mut self.remaining {
            *left -= 1;
        }
        self.hits += 1;
        true
    }
}

impl<A, P> fmt::Debug for Rule<A, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("action", &self.action)
            .field("remaining", &self.remaining)
            .field("hits", &self.hits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_rule_is_used_up_after_times() {
        let mut rule = Rule::new(RuleAction::Drop { times: 2 }, |_: &u8, _: &u8, p: &u32| {
            *p > 10
        });
        assert!(!rule.try_apply(&1, &2, &5));
        assert!(rule.try_apply(&1, &2, &11));
        assert!(rule.try_apply(&1, &2, &12));
        assert!(!rule.is_active());
        assert!(!rule.try_apply(&1, &2, &13));
        assert_eq!(rule.hits(), 2);
    }

    #[test]
    fn delay_rule_is_unlimited_until_limited() {
        let delay = RuleAction::Delay(Duration::from_millis(1));
        let mut rule = Rule::new(delay, |_: &u8, _: &u8, _: &u32| true);
        assert!((0..100).all(|i| rule.try_apply(&1, &2, &i)));
        assert_eq!(rule.action(), delay);
        let mut once = Rule::new(RuleAction::Duplicate, |_: &u8, _: &u8, _: &u32| true).times(1);
        assert!(once.try_apply(&1, &2, &0));
        assert!(!once.try_apply(&1, &2, &0));
        assert!(format!("{once:?}").contains("Duplicate"));
    }
}
