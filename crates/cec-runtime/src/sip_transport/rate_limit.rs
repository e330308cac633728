//! Per-source-IP token buckets. Pure: time is an argument, so the policy is
//! unit-tested without sleeping.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::config::RateLimit;

/// Sources tracked before idle buckets are pruned; beyond it, after pruning,
/// new sources share one overflow bucket (a spoofed-source flood cannot grow
/// memory without bound).
const MAX_SOURCES: usize = 65_536;

/// How often a source that is being limited is logged.
const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// The decision for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver it.
    Allow,
    /// Drop it. `log` is `Some(n)` at most once per [`LOG_INTERVAL`] per
    /// source, with the number of drops since the last log line.
    Drop { log: Option<u64> },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    unlogged_drops: u64,
    last_log: Option<Instant>,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            updated: now,
            unlogged_drops: 0,
            last_log: None,
        }
    }

    fn refill(&mut self, rate: f64, burst: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.updated = now;
    }

    fn take(&mut self, now: Instant) -> Verdict {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allow;
        }
        self.unlogged_drops += 1;
        let due = self
            .last_log
            .is_none_or(|at| now.saturating_duration_since(at) >= LOG_INTERVAL);
        if !due {
            return Verdict::Drop { log: None };
        }
        self.last_log = Some(now);
        let n = std::mem::take(&mut self.unlogged_drops);
        Verdict::Drop { log: Some(n) }
    }
}

/// Token buckets keyed by source IP.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
    overflow: Option<Bucket>,
    max_sources: usize,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter::with_max_sources(limit, MAX_SOURCES)
    }

    fn with_max_sources(limit: RateLimit, max_sources: usize) -> RateLimiter {
        RateLimiter {
            rate: f64::from(limit.per_second),
            burst: f64::from(limit.burst.max(1)),
            buckets: HashMap::new(),
            overflow: None,
            max_sources,
        }
    }

    /// Charges one message from `source` at `now`.
    pub(crate) fn check(&mut self, source: IpAddr, now: Instant) -> Verdict {
        let (rate, burst) = (self.rate, self.burst);
        if !self.buckets.contains_key(&source) && self.buckets.len() >= self.max_sources {
            self.prune(now);
            if self.buckets.len() >= self.max_sources {
                let shared = self
                    .overflow
                    .get_or_insert_with(|| Bucket::full(burst, now));
                shared.refill(rate, burst, now);
                return shared.take(now);
            }
        }
        let bucket = self
            .buckets
            .entry(source)
            .or_insert_with(|| Bucket::full(burst, now));
        bucket.refill(rate, burst, now);
        bucket.take(now)
    }

    /// Forgets sources whose bucket has refilled: they behave exactly like
    /// a new source.
    fn prune(&mut self, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        self.buckets.retain(|_, b| {
            b.refill(rate, burst, now);
            b.tokens < burst
        });
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimit { per_second, burst })
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn allowed(l: &mut RateLimiter, source: IpAddr, n: usize, now: Instant) -> usize {
        (0..n)
            .filter(|_| l.check(source, now) == Verdict::Allow)
            .count()
    }

    #[test]
    fn burst_then_sustained_rate() {
        let mut l = limiter(10, 5);
        let t0 = Instant::now();
        assert_eq!(allowed(&mut l, ip(1), 20, t0), 5);
        // 10/s: after 300 ms three more tokens, no more.
        let t1 = t0 + Duration::from_millis(300);
        assert_eq!(allowed(&mut l, ip(1), 20, t1), 3);
        // Refill never exceeds the burst.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(allowed(&mut l, ip(1), 20, t2), 5);
    }

    #[test]
    fn sources_are_independent() {
        let mut l = limiter(1, 2);
        let now = Instant::now();
        assert_eq!(allowed(&mut l, ip(1), 10, now), 2);
        assert_eq!(allowed(&mut l, ip(2), 10, now), 2);
    }

    #[test]
    fn drops_are_logged_once_per_second_with_a_count() {
        let mut l = limiter(1, 1);
        let t0 = Instant::now();
        assert_eq!(l.check(ip(1), t0), Verdict::Allow);
        assert_eq!(l.check(ip(1), t0), Verdict::Drop { log: Some(1) });
        assert_eq!(l.check(ip(1), t0), Verdict::Drop { log: None });
        assert_eq!(l.check(ip(1), t0), Verdict::Drop { log: None });
        let t1 = t0 + Duration::from_millis(999);
        // One token back after 999 ms? No: 0.999 tokens.
        assert_eq!(l.check(ip(1), t1), Verdict::Drop { log: None });
        let t2 = t0 + Duration::from_millis(1500);
        // 1.5 s since start: a token is back (it was only partly used).
        assert_eq!(l.check(ip(1), t2), Verdict::Allow);
        assert_eq!(l.check(ip(1), t2), Verdict::Drop { log: Some(4) });
    }

    #[test]
    fn idle_sources_are_pruned_and_overflow_is_shared() {
        let mut l = RateLimiter::with_max_sources(
            RateLimit {
                per_second: 1,
                burst: 2,
            },
            3,
        );
        let t0 = Instant::now();
        for i in 1..=3 {
            assert_eq!(l.check(ip(i), t0), Verdict::Allow);
        }
        // Table full of active sources: newcomers share the overflow bucket.
        assert_eq!(allowed(&mut l, ip(9), 5, t0), 2);
        assert_eq!(allowed(&mut l, ip(10), 5, t0), 0);
        assert_eq!(l.tracked(), 3);
        // Later the old buckets are full again and get pruned.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(allowed(&mut l, ip(11), 5, t1), 2);
        assert_eq!(l.tracked(), 1);
    }
}
