//! What a one-way link does to the packets sent over it.

use std::time::Duration;

/// Behaviour of a one-way link (`from` to `to`).
///
/// For each packet the network, in this order: applies scripted [`crate::Rule`]s; makes
/// a random duplicate with probability `duplicate`; then for the original and each copy
/// independently, loses it with probability `loss`, or delivers it after
/// `delay` + a uniform extra delay in `[0, jitter)` + `reorder_delay` with probability
/// `reorder`, behind any queueing the `bandwidth` limit imposes.
///
/// Probabilities outside `[0, 1]` behave as the nearest bound (NaN as 0).
///
/// ```
/// use std::time::Duration;
/// use cec_sim::LinkConfig;
///
/// // A trunk with 60 ms of one-way delay, up to 20 ms of jitter and 1 % loss.
/// let trunk = LinkConfig {
///     delay: Duration::from_millis(60),
///     jitter: Duration::from_millis(20),
///     loss: 0.01,
///     ..LinkConfig::perfect()
/// };
/// assert_eq!(trunk.duplicate, 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// Fixed one-way propagation delay.
    pub delay: Duration,
    /// Upper bound of a uniform random extra delay; packets sent closer together than this
    /// can arrive out of order.
    pub jitter: Duration,
    /// Probability that a packet (or a duplicate of it) is lost.
    pub loss: f64,
    /// Probability that a packet is delivered twice (each copy takes its own delay).
    pub duplicate: f64,
    /// Probability that a packet is held back by `reorder_delay`, so that packets sent
    /// after it overtake it.
    pub reorder: f64,
    /// The extra delay of a packet picked for reordering.
    pub reorder_delay: Duration,
    /// Optional rate limit: packets queue behind each other on the link.
    pub bandwidth: Option<Bandwidth>,
}

/// A link's rate limit. Packets are serialized one after another (an unbounded FIFO in
/// front of the link), then take the link's delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bandwidth {
    /// At most this many packets per second, whatever their size.
    PacketsPerSecond(u64),
    /// At most this many bytes per second, with sizes from
    /// [`crate::Network::set_packet_size`]; without a size function every packet counts
    /// as one byte.
    BytesPerSecond(u64),
}

impl Bandwidth {
    /// How long a packet of `size` bytes occupies the link. A zero rate is treated as one
    /// unit per second (the slowest representable link) rather than an infinite wait.
    #[must_use]
    pub fn serialization_time(&self, size: usize) -> Duration {
        let (units, rate) = match *self {
            Self::PacketsPerSecond(rate) => (1, rate),
            Self::BytesPerSecond(rate) => (u64::try_from(size).unwrap_or(u64::MAX), rate),
        };
        let nanos = u128::from(units) * 1_000_000_000 / u128::from(rate.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl LinkConfig {
    /// No delay, loss, jitter, duplication or reordering: packets arrive at the instant
    /// they are sent, in send order.
    #[must_use]
    pub const fn perfect() -> Self {
        Self {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            bandwidth: None,
        }
    }

    /// A 20 ms link that loses packets with probability `loss` and does nothing else.
    #[must_use]
    pub const fn lossy(loss: f64) -> Self {
        Self {
            delay: Duration::from_millis(20),
            loss,
            ..Self::perfect()
        }
    }

    /// A plausible wide-area path: 40 ms delay, 0-20 ms jitter, 0.5 % loss, 0.1 %
    /// duplication, 1 % of packets held back 50 ms.
    #[must_use]
    pub const fn wan() -> Self {
        Self {
            delay: Duration::from_millis(40),
            jitter: Duration::from_millis(20),
            loss: 0.005,
            duplicate: 0.001,
            reorder: 0.01,
            reorder_delay: Duration::from_millis(50),
            bandwidth: None,
        }
    }

    /// This link with a different fixed delay.
    #[must_use]
    pub const fn with_delay(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }

    /// This link with a different jitter bound.
    #[must_use]
    pub const fn with_jitter(self, jitter: Duration) -> Self {
        Self { jitter, ..self }
    }

    /// This link with a different loss probability.
    #[must_use]
    pub const fn with_loss(self, loss: f64) -> Self {
        Self { loss, ..self }
    }

    /// This link with a different duplication probability.
    #[must_use]
    pub const fn with_duplicate(self, duplicate: f64) -> Self {
        Self { duplicate, ..self }
    }

    /// This link with reordering: probability `reorder`, held back by `by`.
    #[must_use]
    pub const fn with_reorder(self, reorder: f64, by: Duration) -> Self {
        Self {
            reorder,
            reorder_delay: by,
            ..self
        }
    }

    /// This link with a rate limit.
    #[must_use]
    pub const fn with_bandwidth(self, bandwidth: Bandwidth) -> Self {
        Self {
            bandwidth: Some(bandwidth),
            ..self
        }
    }
}

impl Default for LinkConfig {
    /// [`LinkConfig::perfect`].
    fn default() -> Self {
        Self::perfect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        let perfect = LinkConfig::perfect();
        assert_eq!(perfect.delay, Duration::ZERO);
        assert_eq!(perfect.loss, 0.0);
        assert_eq!(LinkConfig::default(), perfect);
        let lossy = LinkConfig::lossy(0.3);
        assert_eq!(lossy.loss, 0.3);
        assert_eq!(lossy.delay, Duration::from_millis(20));
        assert_eq!(lossy.jitter, Duration::ZERO);
        let wan = LinkConfig::wan();
        assert!(wan.delay > Duration::ZERO && wan.jitter > Duration::ZERO);
        assert!(wan.loss > 0.0 && wan.loss < 0.05);
        assert!(wan.reorder > 0.0 && wan.reorder_delay > Duration::ZERO);
    }

    #[test]
    fn builders_set_one_field_each() {
        let link = LinkConfig::perfect()
            .with_delay(Duration::from_millis(5))
            .with_jitter(Duration::from_millis(2))
            .with_loss(0.1)
            .with_duplicate(0.2)
            .with_reorder(0.3, Duration::from_millis(7))
            .with_bandwidth(Bandwidth::PacketsPerSecond(50));
        assert_eq!(
            link,
            LinkConfig {
                delay: Duration::from_millis(5),
                jitter: Duration::from_millis(2),
                loss: 0.1,
                duplicate: 0.2,
                reorder: 0.3,
                reorder_delay: Duration::from_millis(7),
                bandwidth: Some(Bandwidth::PacketsPerSecond(50)),
            }
        );
    }

    #[test]
    fn serialization_time() {
        assert_eq!(
            Bandwidth::PacketsPerSecond(50).serialization_time(9_999),
            Duration::from_millis(20)
        );
        assert_eq!(
            Bandwidth::BytesPerSecond(8_000).serialization_time(160),
            Duration::from_millis(20)
        );
        assert_eq!(
            Bandwidth::BytesPerSecond(0).serialization_time(2),
            Duration::from_secs(2)
        );
        assert_eq!(
            Bandwidth::BytesPerSecond(1).serialization_time(usize::MAX),
            Duration::from_nanos(u64::MAX)
        );
    }
}
