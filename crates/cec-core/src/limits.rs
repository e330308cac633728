//! Admission limits: concurrent calls and new calls per second, per trunk and per tenant.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Which limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    /// Concurrent calls.
    Concurrent,
    /// Calls per second.
    Rate,
}

#[derive(Debug, Default)]
struct Counter {
    active: u32,
    window_start: Option<Instant>,
    in_window: u32,
}

/// Counters for one kind of owner (trunks or tenants).
#[derive(Debug, Default)]
pub struct Limits {
    counters: HashMap<String, Counter>,
}

impl Limits {
    /// Whether a new call for `owner` fits `max_calls` and `max_cps` at `now`.
    pub fn check(
        &self,
        now: Instant,
        owner: &str,
        max_calls: u32,
        max_cps: u32,
    ) -> Result<(), LimitHit> {
        let Some(counter) = self.counters.get(owner) else {
            return Ok(());
        };
        if counter.active >= max_calls {
            return Err(LimitHit::Concurrent);
        }
        let in_window = match counter.window_start {
            Some(start) if now.saturating_duration_since(start) < Duration::from_secs(1) => {
                counter.in_window
            }
            _ => 0,
        };
        if in_window >= max_cps {
            return Err(LimitHit::Rate);
        }
        Ok(())
    }

    /// Counts an admitted call.
    pub fn admit(&mut self, now: Instant, owner: &str) {
        let counter = self.counters.entry(owner.to_owned()).or_default();
        counter.active += 1;
        match counter.window_start {
            Some(start) if now.saturating_duration_since(start) < Duration::from_secs(1) => {
                counter.in_window += 1;
            }
            _ => {
                counter.window_start = Some(now);
                counter.in_window = 1;
            }
        }
    }

    /// A call of `owner` ended.
    pub fn release(&mut self, owner: &str) {
        if let Some(counter) = self.counters.get_mut(owner) {
            counter.active = counter.active.saturating_sub(1);
        }
    }

    /// Calls in progress for `owner`.
    pub fn active(&self, owner: &str) -> u32 {
        self.counters.get(owner).map_or(0, |c| c.active)
    }

    /// Calls in progress over every owner.
    pub fn total_active(&self) -> u32 {
        self.counters.values().map(|c| c.active).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_and_rate_are_enforced_and_freed() {
        let t0 = cec_sim::VirtualClock::start().now();
        let mut limits = Limits::default();
        assert_eq!(limits.check(t0, "t", 2, 10), Ok(()));
        limits.admit(t0, "t");
        limits.admit(t0, "t");
        assert_eq!(limits.check(t0, "t", 2, 10), Err(LimitHit::Concurrent));
        limits.release("t");
        assert_eq!(limits.check(t0, "t", 2, 2), Err(LimitHit::Rate));
        assert_eq!(limits.check(t0 + Duration::from_secs(1), "t", 2, 2), Ok(()));
        limits.release("t");
        limits.release("t");
        assert_eq!(limits.active("t"), 0);
    }
}
