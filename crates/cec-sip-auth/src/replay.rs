//! Nonce-count replay protection with bounded memory.
//!
//! For each nonce that authenticated a request we keep the highest `nc` seen; a request
//! must carry a higher one. Entries are keyed by the nonce's sequence number, which orders
//! them by age. When the table is full the oldest entry is dropped and its sequence number
//! becomes a watermark: a nonce at or below it that is not in the table has lost its history,
//! so it is treated as stale (the client is re-challenged, never let through twice).
//! Expired entries are dropped first; their nonces are refused as stale by their age anyway.

use std::collections::BTreeMap;

use crate::nonce::NonceInfo;

/// Result of checking one nonce count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NcCheck {
    /// Higher than any before: recorded.
    Fresh,
    /// Equal to or lower than one already seen.
    Replayed,
    /// The nonce's history was evicted: ask for a new nonce.
    Forgotten,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    highest_nc: u32,
    created_ms: u64,
}

/// Highest nonce count per nonce, bounded to `capacity` entries.
#[derive(Debug)]
pub(crate) struct NonceCounts {
    capacity: usize,
    entries: BTreeMap<u64, Entry>,
    evicted_through: Option<u64>,
}

impl NonceCounts {
    pub(crate) fn new(capacity: usize) -> Self {
        NonceCounts {
            capacity: capacity.max(1),
            entries: BTreeMap::new(),
            evicted_through: None,
        }
    }

    /// Checks `nc` for the nonce and records it when fresh. `expired_before_ms`: entries
    /// created before this time may be dropped.
    pub(crate) fn check(&mut self, nonce: NonceInfo, nc: u32, expired_before_ms: u64) -> NcCheck {
        if let Some(entry) = self.entries.get_mut(&nonce.seq) {
            if nc <= entry.highest_nc {
                return NcCheck::Replayed;
            }
            entry.highest_nc = nc;
            return NcCheck::Fresh;
        }
        if self.evicted_through.is_some_and(|mark| nonce.seq <= mark) {
            return NcCheck::Forgotten;
        }
        if nc == 0 {
            return NcCheck::Replayed;
        }
        self.make_room(expired_before_ms);
        self.entries.insert(
            nonce.seq,
            Entry {
                highest_nc: nc,
                created_ms: nonce.created_ms,
            },
        );
        NcCheck::Fresh
    }

    fn make_room(&mut self, expired_before_ms: u64) {
        // Sequence order is creation order, so expired entries sit at the front.
        while let Some(entry) = self.entries.first_entry() {
            if entry.get().created_ms >= expired_before_ms {
                break;
            }
            entry.remove();
        }
        while self.entries.len() >= self.capacity {
            let Some((seq, _)) = self.entries.pop_first() else {
                break;
            };
            self.evicted_through = Some(self.evicted_through.map_or(seq, |m| m.max(seq)));
        }
    }

    /// Number of nonces tracked.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce(seq: u64, created_ms: u64) -> NonceInfo {
        NonceInfo { created_ms, seq }
    }

    #[test]
    fn counts_must_increase() {
        let mut t = NonceCounts::new(10);
        assert_eq!(t.check(nonce(1, 0), 1, 0), NcCheck::Fresh);
        assert_eq!(t.check(nonce(1, 0), 1, 0), NcCheck::Replayed);
        assert_eq!(t.check(nonce(1, 0), 3, 0), NcCheck::Fresh);
        assert_eq!(t.check(nonce(1, 0), 2, 0), NcCheck::Replayed);
        assert_eq!(t.check(nonce(2, 0), 1, 0), NcCheck::Fresh, "own history");
        assert_eq!(
            t.check(nonce(3, 0), 0, 0),
            NcCheck::Replayed,
            "nc starts at 1"
        );
    }

    #[test]
    fn bounded_with_a_watermark() {
        let mut t = NonceCounts::new(3);
        for seq in 1..=10 {
            assert_eq!(t.check(nonce(seq, 0), 1, 0), NcCheck::Fresh);
            assert!(t.len() <= 3);
        }
        // Seq 7 was evicted: its history is gone, so it must not authenticate again.
        assert_eq!(t.check(nonce(7, 0), 2, 0), NcCheck::Forgotten);
        assert_eq!(t.check(nonce(10, 0), 1, 0), NcCheck::Replayed);
        assert_eq!(t.check(nonce(11, 0), 1, 0), NcCheck::Fresh);
    }

    #[test]
    fn expired_entries_leave_without_raising_the_watermark() {
        let mut t = NonceCounts::new(2);
        assert_eq!(t.check(nonce(1, 100), 1, 0), NcCheck::Fresh);
        assert_eq!(t.check(nonce(2, 200), 1, 0), NcCheck::Fresh);
        // Everything created before 250 is expired: both go, nothing is marked forgotten.
        assert_eq!(t.check(nonce(3, 300), 1, 250), NcCheck::Fresh);
        assert_eq!(t.len(), 1);
        assert_eq!(t.evicted_through, None);
    }
}
