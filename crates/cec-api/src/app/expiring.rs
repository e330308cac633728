//! A small map whose entries are trusted for a fixed time: the one mechanism behind the
//! API's short-lived caches (tenants, verified token principals).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Entries older than `ttl` are treated as absent; expired ones are pruned once the map
/// holds more than `capacity` entries, so memory stays bounded.
pub(crate) struct Expiring<V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V: Clone> Expiring<V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Expiring {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (V, Instant)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value for `key` if it was stored less than the lifetime ago.
    pub(crate) fn get(&self, key: &str, now: Instant) -> Option<V> {
        self.lock()
            .get(key)
            .filter(|(_, at)| now.duration_since(*at) < self.ttl)
            .map(|(value, _)| value.clone())
    }

    /// Stores `value` under `key` as of `now`.
    pub(crate) fn insert(&self, key: String, value: V, now: Instant) {
        let mut entries = self.lock();
        if entries.len() > self.capacity {
            entries.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
        }
        entries.insert(key, (value, now));
    }

    /// Forgets `key`.
    pub(crate) fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_are_pruned_beyond_capacity() {
        let start = Instant::now();
        let map = Expiring::new(Duration::from_secs(5), 2);
        map.insert("a".into(), 1, start);
        assert_eq!(map.get("a", start + Duration::from_secs(4)), Some(1));
        assert_eq!(map.get("a", start + Duration::from_secs(5)), None);
        map.insert("b".into(), 2, start);
        map.insert("c".into(), 3, start);
        // Over capacity at a later time: the expired entries go.
        map.insert("d".into(), 4, start + Duration::from_secs(6));
        assert_eq!(map.lock().len(), 1);
        map.remove("d");
        assert_eq!(map.get("d", start + Duration::from_secs(6)), None);
        map.insert("e".into(), 5, start);
        map.clear();
        assert_eq!(map.get("e", start), None);
    }
}
