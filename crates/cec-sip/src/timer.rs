//! A table of named timers. Every state machine in this crate keeps its deadlines here instead
//! of in scattered fields, so the driver asks one question (`next_deadline`) and a test can ask
//! which timer fires next and why.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// The SIP timer values (RFC 3261 §17.1.1.1, Table 4). Defaults are the RFC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerValues {
    /// RTT estimate, 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Maximum time a message remains in the network, 5 s.
    pub t4: Duration,
    /// How long an INVITE server transaction waits for the application before it sends
    /// 100 Trying itself (RFC 3261 §17.2.1 says 200 ms).
    pub trying_delay: Duration,
}

impl Default for TimerValues {
    fn default() -> Self {
        TimerValues {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            trying_delay: Duration::from_millis(200),
        }
    }
}

impl TimerValues {
    /// 64·T1: timers B, F, H, J (unreliable), L and M.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// Deadlines keyed by `K` (for example `(TransactionId, TimerName)`). Setting a key that is
/// already set replaces its deadline. Ties fire in the order they were set.
#[derive(Debug)]
pub struct TimerTable<K: Copy + Eq + Hash + Ord> {
    by_key: HashMap<K, (Instant, u64)>,
    by_deadline: BTreeSet<(Instant, u64, K)>,
    sequence: u64,
}

impl<K: Copy + Eq + Hash + Ord> Default for TimerTable<K> {
    fn default() -> Self {
        TimerTable {
            by_key: HashMap::new(),
            by_deadline: BTreeSet::new(),
            sequence: 0,
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> TimerTable<K> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `key` to fire at `deadline`, replacing any earlier setting of the same key.
    pub fn set(&mut self, key: K, deadline: Instant) {
        self.cancel(key);
        self.sequence += 1;
        self.by_key.insert(key, (deadline, self.sequence));
        self.by_deadline.insert((deadline, self.sequence, key));
    }

    /// Disarms `key`; returns whether it was armed.
    pub fn cancel(&mut self, key: K) -> bool {
        match self.by_key.remove(&key) {
            Some((deadline, seq)) => {
                self.by_deadline.remove(&(deadline, seq, key));
                true
            }
            None => false,
        }
    }

    /// Disarms every key matching `pred`. This scans the whole table: on hot paths cancel the
    /// known keys one by one instead.
    pub fn cancel_where(&mut self, mut pred: impl FnMut(&K) -> bool) {
        let doomed: Vec<K> = self.by_key.keys().filter(|k| pred(k)).copied().collect();
        for key in doomed {
            self.cancel(key);
        }
    }

    /// The deadline of `key`, if armed.
    pub fn deadline(&self, key: K) -> Option<Instant> {
        self.by_key.get(&key).map(|(d, _)| *d)
    }

    /// The earliest deadline and its key.
    pub fn next(&self) -> Option<(Instant, K)> {
        self.by_deadline.first().map(|(d, _, k)| (*d, *k))
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next().map(|(d, _)| d)
    }

    /// Removes and returns the earliest key whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<K> {
        let (deadline, seq, key) = *self.by_deadline.first()?;
        if deadline > now {
            return None;
        }
        self.by_deadline.remove(&(deadline, seq, key));
        self.by_key.remove(&key);
        Some(key)
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Every armed key with its deadline, earliest first (for tests and diagnostics).
    pub fn iter(&self) -> impl Iterator<Item = (Instant, K)> + '_ {
        self.by_deadline.iter().map(|(d, _, k)| (*d, *k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_then_insertion_order_and_replaces_on_reset() {
        let base = crate::test_support::base_instant();
        let mut table = TimerTable::new();
        table.set(1u32, base + Duration::from_millis(30));
        table.set(2, base + Duration::from_millis(10));
        table.set(3, base + Duration::from_millis(10));
        table.set(1, base + Duration::from_millis(5));
        assert_eq!(table.next(), Some((base + Duration::from_millis(5), 1)));
        assert_eq!(table.pop_expired(base), None);
        assert_eq!(table.deadline(3), Some(base + Duration::from_millis(10)));
        assert_eq!(table.deadline(9), None);
        assert!(!table.is_empty());
        let fired: Vec<u32> =
            std::iter::from_fn(|| table.pop_expired(base + Duration::from_secs(1))).collect();
        assert_eq!(fired, vec![1, 2, 3]);
        assert!(table.is_empty());
        // Equal deadlines fire in the order they were set, not in key order.
        table.set(7, base);
        table.set(5, base);
        table.set(6, base);
        let fired: Vec<u32> = std::iter::from_fn(|| table.pop_expired(base)).collect();
        assert_eq!(fired, vec![7, 5, 6]);
    }

    #[test]
    fn cancel_where_disarms_only_matching_keys() {
        let base = crate::test_support::base_instant();
        let mut table = TimerTable::new();
        for k in 0..10u32 {
            table.set(k, base + Duration::from_millis(u64::from(k)));
        }
        table.cancel_where(|k| k % 2 == 0);
        assert_eq!(table.len(), 5);
        assert!(table.iter().all(|(_, k)| k % 2 == 1));
        assert!(!table.cancel(4));
        assert!(table.cancel(5));
    }
}
