//! Counters for metrics and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Transport counters, updated with relaxed atomics.
#[derive(Debug, Default)]
pub struct TransportStats {
    /// Messages delivered to the endpoint (well formed).
    pub received: AtomicU64,
    /// Messages written to a socket or connection.
    pub sent: AtomicU64,
    /// Messages and keep-alives dropped by the per-source rate limit.
    pub dropped_rate_limited: AtomicU64,
    /// Accepted connections closed at once by a connection cap.
    pub rejected_connections: AtomicU64,
    /// Datagrams and stream messages that failed to parse.
    pub parse_errors: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// See [`TransportStats::received`].
    pub received: u64,
    /// See [`TransportStats::sent`].
    pub sent: u64,
    /// See [`TransportStats::dropped_rate_limited`].
    pub dropped_rate_limited: u64,
    /// See [`TransportStats::rejected_connections`].
    pub rejected_connections: u64,
    /// See [`TransportStats::parse_errors`].
    pub parse_errors: u64,
}

impl TransportStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            received: self.received.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            dropped_rate_limited: self.dropped_rate_limited.load(Ordering::Relaxed),
            rejected_connections: self.rejected_connections.load(Ordering::Relaxed),
            parse_errors: self.parse_errors.load(Ordering::Relaxed),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
