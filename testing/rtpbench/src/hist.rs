//! A fixed-resolution histogram of microseconds (1 µs buckets up to 200 ms, one overflow
//! bucket): recording never allocates, percentiles are exact to the microsecond.

/// Buckets of 1 µs; the last one holds everything above.
const BUCKETS: usize = 200_000;

/// Counts of microsecond values.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS + 1],
            total: 0,
            sum: 0,
        }
    }
}

impl Histogram {
    /// Records one value in microseconds.
    pub fn record(&mut self, micros: u64) {
        let bucket = usize::try_from(micros).unwrap_or(BUCKETS).min(BUCKETS);
        if let Some(count) = self.counts.get_mut(bucket) {
            *count += 1;
        }
        self.total += 1;
        self.sum += u128::from(micros);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.sum += other.sum;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Mean in microseconds (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The smallest value with at least `p` (0..=1) of the values at or below it.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (micros, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return micros as u64;
            }
        }
        BUCKETS as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact() {
        let mut h = Histogram::default();
        (1..=100).for_each(|v| h.record(v));
        assert_eq!(
            (h.percentile(0.5), h.percentile(0.99), h.percentile(1.0)),
            (50, 99, 100)
        );
        let mut other = Histogram::default();
        other.record(1_000_000);
        h.merge(&other);
        assert_eq!(h.count(), 101);
        assert_eq!(h.percentile(1.0), BUCKETS as u64);
        assert!((Histogram::default().mean()).abs() < f64::EPSILON);
    }
}
