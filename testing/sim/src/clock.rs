//! The virtual clock: a test's only notion of "now".

use std::time::{Duration, Instant};

/// Virtual time for a simulation. It only moves when the test (or [`crate::Simulation`])
/// moves it, and never backwards.
///
/// `std::time::Instant` has no public constructor, so the clock is anchored at one real
/// instant (the base) and everything else is the base plus a virtual offset. Two clocks
/// built with [`VirtualClock::from_base`] on the same base produce identical instants,
/// which is what a determinism test compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualClock {
    base: Instant,
    now: Instant,
}

impl VirtualClock {
    /// A clock anchored at the real current instant.
    #[must_use]
    // The one real clock read in the crate: `Instant` cannot be built any other way, and
    // only the anchor comes from it; virtual time never reads the real clock again.
    #[allow(clippy::disallowed_methods)]
    pub fn start() -> Self {
        Self::from_base(Instant::now())
    }

    /// A clock anchored at `base` (its virtual time starts there).
    #[must_use]
    pub fn from_base(base: Instant) -> Self {
        Self { base, now: base }
    }

    /// The current virtual instant.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The instant the clock started at.
    #[must_use]
    pub fn base(&self) -> Instant {
        self.base
    }

    /// Virtual time since the base.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(self.base)
    }

    /// Moves the clock forward by `by` and returns the new now. An advance the platform's
    /// `Instant` cannot represent (centuries) leaves the clock where it was.
    pub fn advance(&mut self, by: Duration) -> Instant {
        if let Some(later) = self.now.checked_add(by) {
            self.now = later;
        }
        self.now
    }

    /// Moves the clock to `to` if that is later than now (never backwards) and returns
    /// the new now.
    pub fn advance_to(&mut self, to: Instant) -> Instant {
        self.now = self.now.max(to);
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_and_never_goes_back() {
        let mut clock = VirtualClock::start();
        let base = clock.now();
        assert_eq!(clock.base(), base);
        assert_eq!(clock.elapsed(), Duration::ZERO);
        let t1 = clock.advance(Duration::from_millis(250));
        assert_eq!(t1, base + Duration::from_millis(250));
        assert_eq!(clock.elapsed(), Duration::from_millis(250));
        assert_eq!(clock.advance_to(base + Duration::from_millis(100)), t1);
        assert_eq!(clock.now(), t1);
        let t2 = clock.advance_to(base + Duration::from_secs(2));
        assert_eq!(t2, base + Duration::from_secs(2));
        assert_eq!(clock.elapsed(), Duration::from_secs(2));
        assert_eq!(clock.advance(Duration::MAX), t2);
    }

    #[test]
    fn clocks_on_the_same_base_agree() {
        let a = VirtualClock::start();
        let mut b = VirtualClock::from_base(a.base());
        let mut a = a;
        a.advance(Duration::from_secs(3));
        b.advance(Duration::from_secs(1));
        b.advance(Duration::from_secs(2));
        assert_eq!(a, b);
    }
}
